/**
 * A host's egress through an appliance (a NAT instance, a firewall instance): the appliance's
 * interface logs the host's packet (source the host, destination the outside) as it arrives,
 * where the appliance's security groups' ingress rules can refuse it. Such a REJECT counts under
 * the host, on the appliance's interface; a change to those ingress rules explains it. An ingress
 * rule never explains a block the host's own interface logged (a group lets the replies to a
 * host's own connections back in whatever its ingress rules say).
 */
import {
  EGRESS_CHANGE_EVENT_NAMES,
  parsePolicyChange,
  type Alert,
  type NetworkTopology,
  type PolicyChange,
} from '../../lambda/core';
import { explainOne, massSpikeAlert, readChange, spikeAlert } from '../support/change-cause-fixtures';
import {
  authorizeSecurityGroupIngress,
  cloudTrailRecord,
  modifySecurityGroupRules,
  revokeSecurityGroupIngress,
} from '../support/cloudtrail-records';

const W = Date.parse('2026-11-27T15:00:00Z');
const at = (minutes: number) => W + minutes * 60_000;
const HOST = '10.0.1.21';
const HOST_ENI = 'eni-0000000000000000a';
const APPLIANCE_ENI = 'eni-0000000000000000b';
const HOST_SG = 'sg-0a1b2c3d4e5f6000a';
const APPLIANCE_SG = 'sg-0a1b2c3d4e5f6000b';

const TOPOLOGY: NetworkTopology = {
  interfaces: [
    {
      networkInterfaceId: HOST_ENI,
      vpcId: 'vpc-0a1b2c3d',
      subnetId: 'subnet-0a1b2c3d4e5f6000a',
      groupIds: [HOST_SG],
      addresses: [HOST],
      interfaceType: 'interface',
    },
    // The NAT instance's interface: another subnet, its own group and address.
    {
      networkInterfaceId: APPLIANCE_ENI,
      vpcId: 'vpc-0a1b2c3d',
      subnetId: 'subnet-0a1b2c3d4e5f6000b',
      groupIds: [APPLIANCE_SG],
      addresses: ['10.0.0.9'],
      interfaceType: 'interface',
    },
  ],
  subnetAcls: [],
  securityGroupRules: [
    { ruleId: 'sgr-0000000000000000a', groupId: APPLIANCE_SG, isEgress: false },
    { ruleId: 'sgr-0000000000000000b', groupId: HOST_SG, isEgress: false },
  ],
};

const spikeLoggedOn = (interfaceIds: string[]): Alert =>
  spikeAlert(HOST, { details: { topDestinations: [], totalDestinations: 0, interfaceIds } });

const revokeFrom = (groupId: string, cidr: string, eventId: string) =>
  readChange(revokeSecurityGroupIngress(groupId, [{ protocol: '-1', cidr }], { at: at(-6), eventId }));

const explain = (alert: Alert, changes: PolicyChange[], topology = TOPOLOGY) =>
  explainOne(alert, changes, topology, 'downgrade');

describe("an appliance's security group ingress rules", () => {
  it('are read from CloudTrail: a revoke tightens, an authorize loosens, each with its CIDRs', () => {
    expect(revokeFrom(APPLIANCE_SG, '10.0.0.0/16', 'revoke')).toMatchObject({
      eventName: 'RevokeSecurityGroupIngress',
      target: { kind: 'security-group', groupId: APPLIANCE_SG, ingress: true, sourceCidrs: ['10.0.0.0/16'] },
      description: 'ingress all traffic from 10.0.0.0/16 removed',
      effect: 'tightens',
    });
    const added = readChange(
      authorizeSecurityGroupIngress(APPLIANCE_SG, [{ protocol: 'tcp', fromPort: 443, cidr: '10.0.0.0/16' }], {
        at: at(-6),
        eventId: 'authorize',
      }),
    );
    expect(added).toMatchObject({
      target: { kind: 'security-group', ingress: true },
      description: 'ingress tcp/443 from 10.0.0.0/16 added',
      effect: 'loosens',
    });
  });

  it("explain a host's blocks logged on the appliance's interface, and lower the alert", () => {
    const alert = explain(spikeLoggedOn([APPLIANCE_ENI]), [
      revokeFrom(APPLIANCE_SG, '10.0.0.0/16', 'revoke'),
    ]);
    expect(alert.likelyCause).toMatchObject({
      eventId: 'revoke',
      eventName: 'RevokeSecurityGroupIngress',
      resource: APPLIANCE_SG,
    });
    expect(alert).toMatchObject({ severity: 'low', downgradedFrom: 'high' });
  });

  it("explain nothing the host's own interface logged, nor through the host's own group", () => {
    // The appliance's rule, but the blocks were logged on the host's own interface.
    const own = explain(spikeLoggedOn([HOST_ENI]), [revokeFrom(APPLIANCE_SG, '10.0.0.0/16', 'revoke')]);
    expect(own.likelyCause).toBeUndefined();
    expect(own.causeLookup?.status).toBe('none');
    // The host's own group's ingress rule, wherever the blocks were logged.
    for (const interfaceIds of [[HOST_ENI], [APPLIANCE_ENI], [HOST_ENI, APPLIANCE_ENI]]) {
      const alert = explain(spikeLoggedOn(interfaceIds), [revokeFrom(HOST_SG, '10.0.0.0/16', 'host-rule')]);
      expect({ interfaceIds, cause: alert.likelyCause?.eventId }).toEqual({ interfaceIds, cause: undefined });
    }
  });

  it("a rule for other sources' range explains nothing; one naming a group (members unknown) may", () => {
    const other = revokeFrom(APPLIANCE_SG, '10.0.9.0/24', 'other-range');
    expect(explain(spikeLoggedOn([APPLIANCE_ENI]), [other]).likelyCause).toBeUndefined();
    const byGroup = readChange(
      revokeSecurityGroupIngress(APPLIANCE_SG, [{ protocol: '-1', groupId: HOST_SG }], {
        at: at(-4),
        eventId: 'by-group',
      }),
    );
    expect(byGroup.target).toEqual({ kind: 'security-group', groupId: APPLIANCE_SG, ingress: true });
    expect(byGroup.description).toBe(`ingress all traffic from ${HOST_SG} removed`);
    expect(explain(spikeLoggedOn([APPLIANCE_ENI]), [byGroup]).likelyCause?.eventId).toBe('by-group');
  });

  it('ModifySecurityGroupRules on an ingress rule relates through the appliance only', () => {
    const applianceRule = readChange(
      modifySecurityGroupRules(
        APPLIANCE_SG,
        [{ ruleId: 'sgr-0000000000000000a', protocol: 'tcp', fromPort: 443, cidr: '10.0.2.0/24' }],
        { at: at(-3), eventId: 'modify-appliance' },
      ),
    );
    expect(explain(spikeLoggedOn([APPLIANCE_ENI]), [applianceRule]).likelyCause?.eventId).toBe(
      'modify-appliance',
    );
    expect(explain(spikeLoggedOn([HOST_ENI]), [applianceRule]).likelyCause).toBeUndefined();
    const hostRule = readChange(
      modifySecurityGroupRules(
        HOST_SG,
        [{ ruleId: 'sgr-0000000000000000b', protocol: 'tcp', fromPort: 22, cidr: '10.0.0.0/8' }],
        { at: at(-3), eventId: 'modify-host' },
      ),
    );
    expect(explain(spikeLoggedOn([HOST_ENI, APPLIANCE_ENI]), [hostRule]).likelyCause).toBeUndefined();
  });

  it('a mass spike, whose members carry no interfaces, says the ingress rule could not be related rather than "none found"', () => {
    const mass = massSpikeAlert([HOST, '10.0.1.22']);
    const bothKnown: NetworkTopology = {
      ...TOPOLOGY,
      interfaces: [
        ...TOPOLOGY.interfaces,
        { ...TOPOLOGY.interfaces[0]!, networkInterfaceId: 'eni-0000000000000000c', addresses: ['10.0.1.22'] },
      ],
    };
    const alert = explain(mass, [revokeFrom(APPLIANCE_SG, '10.0.0.0/16', 'revoke')], bothKnown);
    expect(alert.causeLookup).toMatchObject({ status: 'unavailable' });
    expect(alert.causeLookup?.reason).toContain("a security group's ingress rules changed in the range");
    // An ingress rule added can only allow more: it makes no search unanswerable.
    const added = readChange(
      authorizeSecurityGroupIngress(APPLIANCE_SG, [{ protocol: 'tcp', fromPort: 22, cidr: '10.0.0.0/8' }], {
        at: at(-6),
        eventId: 'added',
      }),
    );
    expect(explain(mass, [added], bothKnown).causeLookup?.status).toBe('none');
    // A rule for a range none of the members is in could not have blocked them: none found.
    expect(
      explain(mass, [revokeFrom(APPLIANCE_SG, '192.0.2.0/24', 'outside')], bothKnown).causeLookup?.status,
    ).toBe('none');
  });
  describe('the older top-level form of the ingress calls (CidrIp, IpProtocol, FromPort, ToPort)', () => {
    // CloudTrail writes it beside an empty ipPermissions (boto3 revoke_security_group_ingress(GroupId=...,
    // IpProtocol='tcp', FromPort=22, ToPort=22, CidrIp=...)).
    const legacy = (response: Record<string, unknown> = { requestId: 'r', _return: true }) =>
      cloudTrailRecord(
        'RevokeSecurityGroupIngress',
        {
          groupId: APPLIANCE_SG,
          ipPermissions: {},
          ipProtocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          cidrIp: '203.0.113.5/32',
        },
        response,
        { at: at(-6), eventId: 'legacy' },
      );

    it('is read with its CIDR, so an SSH rule for another address neither explains nor lowers the spike', () => {
      const change = readChange(legacy());
      expect(change).toMatchObject({
        description: 'ingress tcp/22 from 203.0.113.5/32 removed',
        target: { sourceCidrs: ['203.0.113.5/32'] },
        effect: 'tightens',
      });
      const alert = explain(spikeLoggedOn([APPLIANCE_ENI]), [change]);
      expect(alert.likelyCause).toBeUndefined();
      expect(alert.severity).toBe('high');
    });

    it('a revoke of a rule the group did not have changed nothing', () => {
      const unknown = {
        items: [
          {
            ipProtocol: 'tcp',
            fromPort: 22,
            toPort: 22,
            groups: {},
            ipRanges: { items: [{ cidrIp: '203.0.113.5/32' }] },
            ipv6Ranges: {},
            prefixListIds: {},
          },
        ],
      };
      expect(
        parsePolicyChange(legacy({ requestId: 'r', _return: true, unknownIpPermissionSet: unknown })),
      ).toBeUndefined();
    });

    it('a source group named by name is an unknown source range: the relation stands', () => {
      const byName = readChange(
        cloudTrailRecord(
          'RevokeSecurityGroupIngress',
          { groupId: APPLIANCE_SG, ipPermissions: {}, sourceSecurityGroupName: 'web-servers' },
          { requestId: 'r', _return: true },
          { at: at(-6), eventId: 'by-name' },
        ),
      );
      expect(byName.description).toBe('ingress all traffic from group web-servers removed');
      expect(byName.target).toEqual({ kind: 'security-group', groupId: APPLIANCE_SG, ingress: true });
      expect(explain(spikeLoggedOn([APPLIANCE_ENI]), [byName]).likelyCause?.eventId).toBe('by-name');
    });
  });

  it('are read last, so that frequent ingress changes cannot use up the lookup bound before the rest', () => {
    expect(EGRESS_CHANGE_EVENT_NAMES.slice(-2)).toEqual([
      'AuthorizeSecurityGroupIngress',
      'RevokeSecurityGroupIngress',
    ]);
  });

  it('a spike whose details name no interface (the details query failed) says the ingress rule could not be related', () => {
    const alert = explain(spikeAlert(HOST), [revokeFrom(APPLIANCE_SG, '10.0.0.0/16', 'revoke')]);
    expect(alert.causeLookup).toMatchObject({ status: 'unavailable' });
    expect(alert.causeLookup?.reason).toContain("this alert's details do not name");
    // One that names its interfaces, none of them forwarding: none found.
    expect(
      explain(spikeLoggedOn([HOST_ENI]), [revokeFrom(APPLIANCE_SG, '10.0.0.0/16', 'revoke')]).causeLookup
        ?.status,
    ).toBe('none');
  });
});
