/**
 * A host's egress through a NAT gateway: the gateway's interface logs the host's packet (source
 * the host, destination the outside) as it enters the gateway's subnet, where that subnet's
 * network ACL's ingress entries can refuse it. Such a REJECT counts under the host, on the
 * gateway's interface; a change to those ingress entries explains it. An ingress entry never
 * explains a block the host's own interface logged (ingress entries refuse what reaches a subnet
 * from outside, not what its hosts send).
 */
import { type Alert, type NetworkTopology, type PolicyChange } from '../../lambda/core';
import { explainOne, massSpikeAlert, readChange, spikeAlert } from '../support/change-cause-fixtures';
import { createNetworkAclEntry, replaceNetworkAclEntry } from '../support/cloudtrail-records';

const W = Date.parse('2026-11-27T15:00:00Z');
const at = (minutes: number) => W + minutes * 60_000;
const HOST = '10.0.1.21';
const HOST_ENI = 'eni-0000000000000000a';
const NAT_ENI = 'eni-0000000000000000b';
const HOST_ACL = 'acl-0a1b2c3d4e5f6000a';
const NAT_ACL = 'acl-0a1b2c3d4e5f6000b';

const TOPOLOGY: NetworkTopology = {
  interfaces: [
    {
      networkInterfaceId: HOST_ENI,
      vpcId: 'vpc-0a1b2c3d',
      subnetId: 'subnet-0a1b2c3d4e5f6000a',
      groupIds: ['sg-0a1b2c3d4e5f6000a'],
      addresses: [HOST],
    },
    // The NAT gateway's interface: another subnet, no security groups, its own address.
    {
      networkInterfaceId: NAT_ENI,
      vpcId: 'vpc-0a1b2c3d',
      subnetId: 'subnet-0a1b2c3d4e5f6000b',
      groupIds: [],
      addresses: ['10.0.0.5'],
    },
  ],
  subnetAcls: [
    { subnetId: 'subnet-0a1b2c3d4e5f6000a', networkAclId: HOST_ACL },
    { subnetId: 'subnet-0a1b2c3d4e5f6000b', networkAclId: NAT_ACL },
  ],
  securityGroupRules: [],
};

const spikeLoggedOn = (interfaceIds: string[]): Alert =>
  spikeAlert(HOST, { details: { topDestinations: [], totalDestinations: 0, interfaceIds } });

const ingressDeny = (acl: string, eventId: string) =>
  readChange(
    createNetworkAclEntry(
      acl,
      { ruleNumber: 50, egress: false, action: 'deny', protocol: '-1', cidr: '10.0.1.0/24' },
      { at: at(-6), eventId },
    ),
  );

const explain = (alert: Alert, changes: PolicyChange[]) => explainOne(alert, changes, TOPOLOGY, 'downgrade');

describe("a NAT gateway's subnet's ingress entries", () => {
  it("explain a host's blocks logged on the gateway's interface, and lower the alert", () => {
    const alert = explain(spikeLoggedOn([NAT_ENI]), [ingressDeny(NAT_ACL, 'nat-ingress')]);
    expect(alert.likelyCause).toMatchObject({
      eventId: 'nat-ingress',
      eventName: 'CreateNetworkAclEntry',
      resource: NAT_ACL,
      description: 'ingress entry 50 added: deny all traffic from 10.0.1.0/24',
    });
    expect(alert).toMatchObject({ severity: 'low', downgradedFrom: 'high' });
  });

  it("explain nothing the host's own interface logged", () => {
    const alert = explain(spikeLoggedOn([HOST_ENI]), [ingressDeny(NAT_ACL, 'nat-ingress')]);
    expect(alert.likelyCause).toBeUndefined();
    expect(alert.causeLookup?.status).toBe('none');
  });

  it("the host's own subnet's ingress entries explain nothing, wherever its blocks were logged", () => {
    for (const interfaceIds of [[HOST_ENI], [NAT_ENI], [HOST_ENI, NAT_ENI]]) {
      const alert = explain(spikeLoggedOn(interfaceIds), [ingressDeny(HOST_ACL, 'host-ingress')]);
      expect({ interfaceIds, cause: alert.likelyCause?.eventId }).toEqual({ interfaceIds, cause: undefined });
    }
  });

  it('an interface EC2 does not know forwards nothing: its ingress entries cannot be related', () => {
    const alert = explain(spikeLoggedOn(['eni-0000000000000000f']), [ingressDeny(NAT_ACL, 'nat-ingress')]);
    expect(alert.likelyCause).toBeUndefined();
  });

  it("an entry for other sources' range explains nothing: its CIDR must hold the source", () => {
    const otherRange = readChange(
      createNetworkAclEntry(
        NAT_ACL,
        { ruleNumber: 60, egress: false, action: 'deny', protocol: '-1', cidr: '10.0.9.0/24' },
        { at: at(-5), eventId: 'other-range' },
      ),
    );
    expect(explain(spikeLoggedOn([NAT_ENI]), [otherRange]).likelyCause).toBeUndefined();
  });

  it("a replaced entry narrowed to other hosts' range still explains this host (its record holds the new CIDR only)", () => {
    // The gateway subnet's inbound allow went from 10.0.0.0/16 to 10.0.2.0/24: 10.0.1.21 is now refused.
    const narrowed = readChange(
      replaceNetworkAclEntry(
        NAT_ACL,
        { ruleNumber: 100, egress: false, action: 'allow', protocol: '-1', cidr: '10.0.2.0/24' },
        { at: at(-5), eventId: 'narrowed-allow' },
      ),
    );
    expect(explain(spikeLoggedOn([NAT_ENI]), [narrowed]).likelyCause?.eventId).toBe('narrowed-allow');
  });

  it("the host's own interface is never forwarding, its address in a prefix delegated to it (EKS prefix delegation)", () => {
    // The records name the host's interface, whose address list lacks the pod's address: it is in
    // the interface's delegated prefix. The host's own subnet's ingress entry explains nothing.
    const topology: NetworkTopology = {
      ...TOPOLOGY,
      interfaces: [
        { ...TOPOLOGY.interfaces[0]!, addresses: ['10.0.1.5'], prefixes: ['10.0.1.16/28'] },
        TOPOLOGY.interfaces[1]!,
      ],
    };
    const pod = spikeAlert('10.0.1.21', {
      details: { topDestinations: [], totalDestinations: 0, interfaceIds: [HOST_ENI] },
    });
    expect(explainOne(pod, [ingressDeny(HOST_ACL, 'host-ingress')], topology, 'downgrade')).toMatchObject({
      severity: 'high',
      causeLookup: { status: 'none' },
    });
  });

  it("a transit gateway attachment's subnet's ingress entries explain nothing (not evaluated for traffic from the gateway)", () => {
    const topology: NetworkTopology = {
      ...TOPOLOGY,
      interfaces: [TOPOLOGY.interfaces[0]!, { ...TOPOLOGY.interfaces[1]!, interfaceType: 'transit_gateway' }],
    };
    const alert = explainOne(
      spikeLoggedOn([NAT_ENI]),
      [ingressDeny(NAT_ACL, 'tgw-ingress')],
      topology,
      'downgrade',
    );
    expect(alert.likelyCause).toBeUndefined();
    expect(alert.severity).toBe('high');
  });

  it('a mass spike, whose members carry no interfaces, says the ingress entry could not be related rather than "none found"', () => {
    const mass = massSpikeAlert([HOST, '10.0.1.22']);
    const alert = explain(mass, [ingressDeny(NAT_ACL, 'nat-ingress')]);
    expect(alert.causeLookup).toMatchObject({ status: 'unavailable' });
    expect(alert.causeLookup?.reason).toContain('a network ACL ingress entry changed in the range');
    // An added entry for a range none of the members is in could not have blocked them: none found.
    const outside = readChange(
      createNetworkAclEntry(
        NAT_ACL,
        { ruleNumber: 70, egress: false, action: 'deny', protocol: '-1', cidr: '192.0.2.0/24' },
        { at: at(-5), eventId: 'outside' },
      ),
    );
    const bothKnown: NetworkTopology = {
      ...TOPOLOGY,
      interfaces: [
        ...TOPOLOGY.interfaces,
        { ...TOPOLOGY.interfaces[0]!, networkInterfaceId: 'eni-0000000000000000c', addresses: ['10.0.1.22'] },
      ],
    };
    expect(explainOne(mass, [outside], bothKnown).causeLookup?.status).toBe('none');
    expect(explainOne(mass, [ingressDeny(NAT_ACL, 'nat-ingress')], bothKnown).causeLookup?.status).toBe(
      'unavailable',
    );
  });

  it('a replaced ingress entry may block or allow: named, as a change', () => {
    const replaced = readChange(
      replaceNetworkAclEntry(
        NAT_ACL,
        { ruleNumber: 100, egress: false, action: 'allow', protocol: '6', fromPort: 443, cidr: '10.0.0.0/8' },
        { at: at(-2), eventId: 'nat-replace' },
      ),
    );
    expect(replaced).toMatchObject({
      target: { kind: 'network-acl', networkAclId: NAT_ACL, ingress: true },
      description: 'ingress entry 100 replaced with allow tcp/443 from 10.0.0.0/8',
      effect: 'changes',
    });
    expect(explain(spikeLoggedOn([HOST_ENI, NAT_ENI]), [replaced]).likelyCause?.eventId).toBe('nat-replace');
  });
});
