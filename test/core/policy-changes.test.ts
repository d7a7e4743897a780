/**
 * The pure part of change-aware alerts: reading egress-policy changes from CloudTrail records,
 * relating them to alerted sources through interfaces, groups, subnets and ACLs, choosing the
 * likely cause, and the policyChangeSpikes setting.
 */
import {
  causeSearchRange,
  causeTimingText,
  explainAlerts,
  likelyCauseText,
  noCauseText,
  parsePolicyChange,
  resolveDetectorConfig,
  type Alert,
  type ChangeLookupOutcome,
  type NetworkTopology,
  type PolicyChange,
} from '../../lambda/core';
import {
  DEPLOYER,
  authorizeSecurityGroupEgress,
  createNetworkAclEntry,
  deleteNetworkAclEntry,
  modifyInstanceGroups,
  modifyInstanceType,
  modifyNetworkInterfaceGroups,
  modifyNetworkInterfaceSourceDestCheck,
  modifySecurityGroupRules,
  replaceNetworkAclAssociation,
  replaceNetworkAclEntry,
  revokeSecurityGroupEgress,
  runInstances,
} from '../support/cloudtrail-records';
import { spikeAlert } from '../support/change-cause-fixtures';

const W = Date.parse('2026-11-27T15:00:00Z');
const at = (minutes: number) => W + minutes * 60_000;
const config = resolveDetectorConfig({});

const SG_APP = 'sg-0a1b2c3d4e5f60001';
const SG_OTHER = 'sg-0a1b2c3d4e5f60002';
const ACL_A = 'acl-0a1b2c3d4e5f60001';
const ACL_B = 'acl-0a1b2c3d4e5f60002';

function eni(n: number, subnet: 'a' | 'b', groups: string[], address: string) {
  return {
    networkInterfaceId: `eni-0000000000000000${n}`,
    accountId: '123456789012',
    vpcId: 'vpc-0a1b2c3d4e5f60001',
    subnetId: `subnet-0a1b2c3d4e5f6000${subnet === 'a' ? 1 : 2}`,
    instanceId: `i-0000000000000000${n}`,
    groupIds: groups,
    addresses: [address],
  };
}

const TOPOLOGY: NetworkTopology = {
  interfaces: [
    eni(1, 'a', [SG_APP], '10.0.1.10'),
    eni(2, 'a', [SG_APP], '10.0.1.11'),
    eni(3, 'b', [SG_APP], '10.0.2.12'),
    eni(4, 'b', [SG_OTHER], '10.0.2.13'),
    { ...eni(5, 'b', [SG_OTHER], '2600:1f18:4a3b:ab00::10') },
  ],
  subnetAcls: [
    {
      subnetId: 'subnet-0a1b2c3d4e5f60001',
      networkAclId: ACL_A,
      associationId: 'aclassoc-0a1b2c3d4e5f60001',
    },
    {
      subnetId: 'subnet-0a1b2c3d4e5f60002',
      networkAclId: ACL_B,
      associationId: 'aclassoc-0a1b2c3d4e5f60002',
    },
  ],
  securityGroupRules: [
    { ruleId: 'sgr-0a1b2c3d4e5f60001', groupId: SG_APP, isEgress: true },
    { ruleId: 'sgr-0a1b2c3d4e5f60002', groupId: SG_APP, isEgress: false },
  ],
};

const spike = (srcIp: string, severity: Alert['severity'] = 'high'): Alert => spikeAlert(srcIp, { severity });

function massSpike(srcIps: string[]): Alert {
  return {
    alertId: '2026-11-27T15:00:00Z/mass-spike',
    kind: 'mass-spike',
    preset: 'recommended',
    severity: 'medium',
    windowStart: '2026-11-27T15:00:00Z',
    windowEnd: '2026-11-27T16:00:00Z',
    srcIps,
    blockedCount: 100 * srcIps.length,
    uniqueDestinations: null,
    baseline: null,
    zScore: null,
    members: srcIps.map((srcIp) => ({ srcIp, blockedCount: 100, zScore: 40 })),
  };
}

const complete = (): ChangeLookupOutcome => ({ status: 'complete' });
const changes = (...records: unknown[]): PolicyChange[] =>
  records.map((r) => parsePolicyChange(r)).filter((c): c is PolicyChange => c !== undefined);

describe('parsePolicyChange', () => {
  it('reads an egress revoke: group, time, caller, what was removed, and that it tightens', () => {
    const change = parsePolicyChange(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
        at: at(-8),
        eventId: 'e-1',
      }),
    );
    expect(change).toEqual({
      eventId: 'e-1',
      eventName: 'RevokeSecurityGroupEgress',
      eventTime: at(-8),
      accountId: '123456789012',
      region: 'us-east-1',
      principal: DEPLOYER,
      target: { kind: 'security-group', groupId: SG_APP },
      description: 'egress tcp/443 to 0.0.0.0/0 removed',
      effect: 'tightens',
    });
  });

  it('describes several permissions, all traffic, port ranges and IPv6 ranges', () => {
    const change = parsePolicyChange(
      authorizeSecurityGroupEgress(
        SG_APP,
        [
          { protocol: '-1', cidr: '10.0.0.0/8' },
          { protocol: 'udp', fromPort: 1024, toPort: 65535, ipv6Cidr: '::/0' },
        ],
        { at: at(-30) },
      ),
    );
    expect(change?.description).toBe('egress all traffic to 10.0.0.0/8; udp/1024-65535 to ::/0 added');
    expect(change?.effect).toBe('loosens');
  });

  it('reads ModifySecurityGroupRules in its wrapped form, one rule or several, with the rule ids', () => {
    const one = parsePolicyChange(
      modifySecurityGroupRules(
        SG_APP,
        [{ ruleId: 'sgr-0a1b2c3d4e5f60001', protocol: 'tcp', fromPort: 443, cidr: '10.0.0.0/8' }],
        {
          at: at(-5),
        },
      ),
    );
    expect(one).toMatchObject({
      target: { kind: 'security-group', groupId: SG_APP },
      ruleIds: ['sgr-0a1b2c3d4e5f60001'],
      description: 'rule sgr-0a1b2c3d4e5f60001 changed to tcp/443 with 10.0.0.0/8',
      effect: 'changes',
    });
    const two = parsePolicyChange(
      modifySecurityGroupRules(
        SG_APP,
        [
          { ruleId: 'sgr-0a1b2c3d4e5f60001', protocol: 'tcp', fromPort: 443, cidr: '10.0.0.0/8' },
          { ruleId: 'sgr-0a1b2c3d4e5f60002', protocol: '-1', cidr: '0.0.0.0/0' },
        ],
        { at: at(-5) },
      ),
    );
    expect(two?.ruleIds).toEqual(['sgr-0a1b2c3d4e5f60001', 'sgr-0a1b2c3d4e5f60002']);
  });

  it('reads egress network ACL entries, and ingress ones as ingress (they relate only through a forwarding interface)', () => {
    const deny = {
      ruleNumber: 90,
      egress: true,
      action: 'deny' as const,
      protocol: '6',
      cidr: '198.51.100.77/32',
      fromPort: 443,
    };
    expect(parsePolicyChange(createNetworkAclEntry(ACL_A, deny, { at: at(-3) }))).toMatchObject({
      target: { kind: 'network-acl', networkAclId: ACL_A },
      description: 'egress entry 90 added: deny tcp/443 to 198.51.100.77/32',
      effect: 'tightens',
    });
    expect(
      parsePolicyChange(replaceNetworkAclEntry(ACL_A, { ...deny, action: 'allow' }, { at: at(-3) })),
    ).toMatchObject({
      description: 'egress entry 90 replaced with allow tcp/443 to 198.51.100.77/32',
      effect: 'changes',
    });
    expect(
      parsePolicyChange(deleteNetworkAclEntry(ACL_A, { ruleNumber: 100, egress: true }, { at: at(-3) })),
    ).toMatchObject({
      description: 'egress entry 100 deleted',
    });
    expect(
      parsePolicyChange(createNetworkAclEntry(ACL_A, { ...deny, egress: false }, { at: at(-3) })),
    ).toMatchObject({
      target: { kind: 'network-acl', networkAclId: ACL_A, ingress: true },
      description: 'ingress entry 90 added: deny tcp/443 from 198.51.100.77/32',
      effect: 'tightens',
    });
    expect(
      parsePolicyChange(deleteNetworkAclEntry(ACL_A, { ruleNumber: 100, egress: false }, { at: at(-3) })),
    ).toMatchObject({ description: 'ingress entry 100 deleted', effect: 'changes' });
  });

  it('reads association and group-set changes, and ignores other attribute changes', () => {
    expect(
      parsePolicyChange(
        replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', ACL_B, 'aclassoc-0a1b2c3d4e5f6000a', {
          at: at(-1),
        }),
      ),
    ).toMatchObject({
      target: {
        kind: 'network-acl-association',
        networkAclId: ACL_B,
        associationId: 'aclassoc-0a1b2c3d4e5f6000a',
      },
    });
    expect(
      parsePolicyChange(modifyNetworkInterfaceGroups('eni-00000000000000001', [SG_OTHER], { at: at(-1) })),
    ).toMatchObject({
      target: { kind: 'interface-groups', networkInterfaceId: 'eni-00000000000000001', groupIds: [SG_OTHER] },
      description: `security groups set to ${SG_OTHER}`,
    });
    expect(
      parsePolicyChange(modifyInstanceGroups('i-00000000000000001', [SG_OTHER], { at: at(-1) })),
    ).toMatchObject({
      target: { kind: 'instance-groups', instanceId: 'i-00000000000000001' },
    });
    expect(
      parsePolicyChange(modifyNetworkInterfaceSourceDestCheck('eni-00000000000000001', { at: at(-1) })),
    ).toBeUndefined();
    expect(
      parsePolicyChange(modifyInstanceType('i-00000000000000001', 'm7g.large', { at: at(-1) })),
    ).toBeUndefined();
  });

  it('ignores failed calls, other events, and records without valid ids or times', () => {
    const ok = revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
      at: at(-8),
    });
    expect(parsePolicyChange(ok)).toBeDefined();
    expect(
      parsePolicyChange(
        revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
          at: at(-8),
          errorCode: 'Client.UnauthorizedOperation',
        }),
      ),
    ).toBeUndefined();
    expect(parsePolicyChange(runInstances('i-00000000000000001', { at: at(-8) }))).toBeUndefined();
    expect(
      parsePolicyChange({
        ...ok,
        requestParameters: { ...(ok.requestParameters as object), groupId: 'sg-<script>' },
      }),
    ).toBeUndefined();
    expect(parsePolicyChange({ ...ok, eventTime: 'yesterday' })).toBeUndefined();
    expect(parsePolicyChange({ ...ok, eventSource: 'elasticloadbalancing.amazonaws.com' })).toBeUndefined();
    expect(parsePolicyChange('not a record')).toBeUndefined();
  });

  it('keeps control characters and oversized text out of what it reads', () => {
    const record = revokeSecurityGroupEgress(
      SG_APP,
      [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }],
      {
        at: at(-8),
        principal: `arn:aws:iam::123456789012:user/evil\n<!channel>${'x'.repeat(400)}`,
      },
    );
    const principal = parsePolicyChange(record)!.principal;
    expect(principal).not.toMatch(/\n/);
    expect(principal.length).toBeLessThanOrEqual(256);
  });
});

describe('explainAlerts', () => {
  const evidence = (list: PolicyChange[], lookupFor = complete) => ({
    changes: list,
    topology: TOPOLOGY,
    lookupFor,
  });

  it("names the revoke on a source's group, with when and who, and counts the related changes", () => {
    const revoke = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
        at: at(-8),
        eventId: 'revoke',
      }),
    );
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence(revoke), config);
    expect(alert?.likelyCause).toEqual({
      eventId: 'revoke',
      eventName: 'RevokeSecurityGroupEgress',
      eventTime: '2026-11-27T14:52:00Z',
      principal: DEPLOYER,
      resource: SG_APP,
      description: 'egress tcp/443 to 0.0.0.0/0 removed',
      accountId: '123456789012',
      region: 'us-east-1',
      consoleUrl:
        'https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/revoke',
      minutesFromWindowStart: -8,
    });
    expect(alert?.causeLookup).toEqual({
      status: 'found',
      from: '2026-11-27T13:00:00Z',
      to: '2026-11-27T16:10:00Z',
      relatedChanges: 1,
    });
    expect(alert?.severity).toBe('high');
    expect(likelyCauseText(alert!.likelyCause!, alert!)).toBe(
      `RevokeSecurityGroupEgress on ${SG_APP} (egress tcp/443 to 0.0.0.0/0 removed) by ${DEPLOYER} at 14:52 UTC, 8 minutes before the window`,
    );
  });

  it("does not attach a change to a group, ACL, interface or instance that is not the source's", () => {
    const unrelated = changes(
      revokeSecurityGroupEgress(SG_OTHER, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-8) }),
      createNetworkAclEntry(
        ACL_B,
        { ruleNumber: 5, egress: true, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0' },
        { at: at(-8) },
      ),
      modifyNetworkInterfaceGroups('eni-00000000000000003', [SG_OTHER], { at: at(-8) }),
      modifyInstanceGroups('i-00000000000000003', [SG_OTHER], { at: at(-8) }),
      replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', ACL_B, 'aclassoc-0a1b2c3d4e5f60002', {
        at: at(-8),
      }),
    );
    expect(unrelated).toHaveLength(5);
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence(unrelated), config);
    expect(alert?.likelyCause).toBeUndefined();
    expect(alert?.causeLookup).toEqual({
      status: 'none',
      from: '2026-11-27T13:00:00Z',
      to: '2026-11-27T16:10:00Z',
    });
    expect(noCauseText(alert!.causeLookup!)).toBe(
      'none found: no egress-policy change of its security groups or network ACL in CloudTrail from 2026-11-27 13:00 to 16:10 UTC',
    );
  });

  it('relates each kind of change through the right fact', () => {
    const cases: [string, unknown][] = [
      [
        'network ACL of its subnet',
        createNetworkAclEntry(
          ACL_A,
          { ruleNumber: 5, egress: true, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0' },
          { at: at(-8) },
        ),
      ],
      [
        'its subnet moved to another ACL',
        replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', ACL_A, 'aclassoc-0a1b2c3d4e5f60001', {
          at: at(-8),
        }),
      ],
      [
        'its interface group set',
        modifyNetworkInterfaceGroups('eni-00000000000000001', [SG_OTHER], { at: at(-8) }),
      ],
      ['its instance group set', modifyInstanceGroups('i-00000000000000001', [SG_OTHER], { at: at(-8) })],
      [
        'an egress rule of its group modified',
        modifySecurityGroupRules(
          SG_APP,
          [{ ruleId: 'sgr-0a1b2c3d4e5f60001', protocol: 'tcp', fromPort: 443, cidr: '10.0.0.0/8' }],
          { at: at(-8) },
        ),
      ],
    ];
    for (const [name, record] of cases) {
      const [alert] = explainAlerts([spike('10.0.1.10')], evidence(changes(record)), config);
      expect({ name, status: alert?.causeLookup?.status }).toEqual({ name, status: 'found' });
    }
  });

  it('does not attach a ModifySecurityGroupRules that changed only ingress rules (DescribeSecurityGroupRules tells)', () => {
    const ingressOnly = changes(
      modifySecurityGroupRules(
        SG_APP,
        [{ ruleId: 'sgr-0a1b2c3d4e5f60002', protocol: 'tcp', fromPort: 22, cidr: '10.0.0.0/8' }],
        { at: at(-8) },
      ),
    );
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence(ingressOnly), config);
    expect(alert?.causeLookup?.status).toBe('none');
  });

  it('attaches a ModifySecurityGroupRules with at least one egress rule among others, and not one whose rule the topology does not list', () => {
    const rule = (ruleId: string) => ({ ruleId, protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' });
    const mixed = changes(
      modifySecurityGroupRules(SG_APP, [rule('sgr-0a1b2c3d4e5f60002'), rule('sgr-0a1b2c3d4e5f60001')], {
        at: at(-8),
      }),
    );
    expect(explainAlerts([spike('10.0.1.10')], evidence(mixed), config)[0]?.causeLookup?.status).toBe(
      'found',
    );
    // A rule DescribeSecurityGroupRules did not return (deleted since, or another account's) is not known to be egress.
    const unknown = changes(
      modifySecurityGroupRules(SG_APP, [rule('sgr-0a1b2c3d4e5f60009')], { at: at(-8) }),
    );
    expect(explainAlerts([spike('10.0.1.10')], evidence(unknown), config)[0]?.causeLookup?.status).toBe(
      'none',
    );
  });

  it('finds an IPv6 source whatever form its address is written in, and an interface named by the records', () => {
    const acl = changes(
      createNetworkAclEntry(
        ACL_B,
        { ruleNumber: 5, egress: true, action: 'deny', protocol: '-1', ipv6Cidr: '::/0' },
        { at: at(-2) },
      ),
    );
    const [v6] = explainAlerts([spike('2600:1f18:4a3b:ab00:0:0:0:10')], evidence(acl), config);
    expect(v6?.causeLookup?.status).toBe('found');
    // An address EC2 does not list (a NAT gateway's interface logged it): related through the interface id.
    const byInterface = {
      ...spike('10.9.9.9'),
      details: { topDestinations: [], totalDestinations: 0, interfaceIds: ['eni-00000000000000004'] },
    };
    const [viaEni] = explainAlerts([byInterface], evidence(acl), config);
    expect(viaEni?.causeLookup?.status).toBe('found');
  });

  it('prefers a change that can only block more, then the latest before the window ends', () => {
    const list = changes(
      authorizeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 80, cidr: '0.0.0.0/0' }], {
        at: at(-2),
        eventId: 'authorize',
      }),
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
        at: at(-90),
        eventId: 'old-revoke',
      }),
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 22, cidr: '0.0.0.0/0' }], {
        at: at(-20),
        eventId: 'revoke',
      }),
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 25, cidr: '0.0.0.0/0' }], {
        at: at(65),
        eventId: 'after-end',
      }),
    );
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence(list), config);
    expect(alert?.likelyCause?.eventId).toBe('revoke');
    expect(alert?.causeLookup?.relatedChanges).toBe(4);
  });

  it("counts a change at the window's very end as made by its end: the latest of those, before one made after", () => {
    const revokeAt = (minutes: number, eventId: string) =>
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
        at: at(minutes),
        eventId,
      });
    const list = changes(revokeAt(-20, 'before'), revokeAt(60, 'at-end'), revokeAt(61, 'after-end'));
    expect(explainAlerts([spike('10.0.1.10')], evidence(list), config)[0]?.likelyCause?.eventId).toBe(
      'at-end',
    );
  });

  it('orders changes alike in effect and time by event id, whatever order the records came in', () => {
    const revoke = (eventId: string) =>
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
        at: at(-5),
        eventId,
      });
    for (const order of [
      ['e-2', 'e-1'],
      ['e-1', 'e-2'],
    ]) {
      const list = changes(...order.map(revoke));
      expect(explainAlerts([spike('10.0.1.10')], evidence(list), config)[0]?.likelyCause?.eventId).toBe(
        'e-1',
      );
    }
  });

  it('searches from exactly the lookback before the window through exactly its end plus the longest aggregation (10 minutes)', () => {
    for (const minutes of [-120, 70]) {
      const list = changes(
        revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(minutes) }),
      );
      const [alert] = explainAlerts([spike('10.0.1.10')], evidence(list), config);
      expect([minutes, alert?.likelyCause?.minutesFromWindowStart]).toEqual([minutes, minutes]);
    }
  });

  it('leaves the account out of a likely cause whose record names none (no key left undefined)', () => {
    const [named] = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-5) }),
    );
    expect(named!.accountId).toMatch(/^\d{12}$/);
    const { accountId: _accountId, ...withoutAccount } = named!;
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence([withoutAccount]), config);
    expect(alert?.likelyCause?.eventId).toBe(named!.eventId);
    expect(alert?.likelyCause).not.toHaveProperty('accountId');
  });

  it('searches the lookback before the window through its end plus 10 minutes, less when the lag leaves CloudTrail less than 10 minutes to deliver', () => {
    expect(causeSearchRange(W, config)).toEqual({ from: at(-120), to: at(70) });
    expect(causeSearchRange(W, resolveDetectorConfig({ lagMinutes: 60 }))).toEqual({
      from: at(-120),
      to: at(70),
    });
    // The lookup runs about lagMinutes after the end; the last 10 minutes before it are not settled.
    expect(causeSearchRange(W, resolveDetectorConfig({ lagMinutes: 15 }))).toEqual({
      from: at(-120),
      to: at(65),
    });
    expect(causeSearchRange(W, resolveDetectorConfig({ lagMinutes: 11 }))).toEqual({
      from: at(-120),
      to: at(61),
    });
    for (const lagMinutes of [10, 5, 0])
      expect(causeSearchRange(W, resolveDetectorConfig({ lagMinutes }))).toEqual({
        from: at(-120),
        to: at(60),
      });
    const list = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-121) }),
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(71) }),
    );
    expect(explainAlerts([spike('10.0.1.10')], evidence(list), config)[0]?.causeLookup?.status).toBe('none');
    const wider = resolveDetectorConfig({ changeLookbackMinutes: 180 });
    expect(
      explainAlerts([spike('10.0.1.10')], evidence(list), wider)[0]?.likelyCause?.minutesFromWindowStart,
    ).toBe(-121);
  });

  it('for a mass spike, names the change that explains most members, and how many', () => {
    const list = changes(
      createNetworkAclEntry(
        ACL_A,
        {
          ruleNumber: 90,
          egress: true,
          action: 'deny',
          protocol: '6',
          cidr: '198.51.100.77/32',
          fromPort: 443,
        },
        { at: at(-8), eventId: 'acl-a' },
      ),
      createNetworkAclEntry(
        ACL_B,
        {
          ruleNumber: 90,
          egress: true,
          action: 'deny',
          protocol: '6',
          cidr: '198.51.100.77/32',
          fromPort: 443,
        },
        { at: at(-7), eventId: 'acl-b' },
      ),
    );
    const members = ['10.0.1.10', '10.0.1.11', '10.0.2.12', '10.0.2.13', '10.0.1.10'.replace('10', '99')];
    const [alert] = explainAlerts([massSpike(members)], evidence(list), config);
    expect(alert?.likelyCause).toMatchObject({ eventId: 'acl-b', explains: 2, of: 5 });
    // acl-a explains 10.0.1.10 and 10.0.1.11; acl-b 10.0.2.12 and 10.0.2.13: a tie goes to the later.
    expect(alert?.causeLookup).toMatchObject({ status: 'found', relatedChanges: 2, membersExplained: 4 });
    expect(likelyCauseText(alert!.likelyCause!, alert!)).toMatch(
      /at 14:53 UTC, 7 minutes before the window; explains 2 of 5 sources$/,
    );
    const three = changes(
      createNetworkAclEntry(
        ACL_A,
        {
          ruleNumber: 90,
          egress: true,
          action: 'deny',
          protocol: '6',
          cidr: '198.51.100.77/32',
          fromPort: 443,
        },
        { at: at(-8), eventId: 'acl-a' },
      ),
      revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
        at: at(-9),
        eventId: 'sg-app',
      }),
    );
    expect(explainAlerts([massSpike(members)], evidence(three), config)[0]?.likelyCause).toMatchObject({
      eventId: 'sg-app',
      explains: 3,
      of: 5,
    });
  });

  it('says the lookup was unavailable (with the reason) when it failed, and a found cause is still shown when incomplete', () => {
    const throttled = () => ({
      status: 'unavailable' as const,
      reason: 'CloudTrail LookupEvents throttled (ThrottlingException)',
    });
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence([], throttled), config);
    expect(alert?.causeLookup).toEqual({
      status: 'unavailable',
      from: '2026-11-27T13:00:00Z',
      to: '2026-11-27T16:10:00Z',
      reason: 'CloudTrail LookupEvents throttled (ThrottlingException)',
    });
    expect(noCauseText(alert!.causeLookup!)).toBe(
      'not known: CloudTrail LookupEvents throttled (ThrottlingException); the alert went out without it',
    );
    const partial = () => ({
      status: 'incomplete' as const,
      reason: 'the per-run bound of 30 LookupEvents calls was reached',
    });
    const revoke = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-8) }),
    );
    const [found] = explainAlerts([spike('10.0.1.10')], evidence(revoke, partial), config);
    expect(found?.causeLookup).toMatchObject({
      status: 'found',
      reason: 'lookup incomplete: the per-run bound of 30 LookupEvents calls was reached',
    });
    const [none] = explainAlerts([spike('10.0.1.10')], evidence([], partial), config);
    expect(none?.causeLookup?.status).toBe('unavailable');
  });

  it('downgrade: an explained spike becomes low and keeps what it was; unexplained ones and partly explained mass spikes stay', () => {
    const downgrade = resolveDetectorConfig({ policyChangeSpikes: 'downgrade' });
    const revoke = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-8) }),
    );
    const [explained, unexplained, mass, newSource] = explainAlerts(
      [
        spike('10.0.1.10', 'high'),
        spike('10.0.2.13', 'medium'),
        massSpike(['10.0.1.10', '10.0.1.11', '10.0.2.12', '10.0.2.13']),
        { ...spike('10.0.1.11'), kind: 'new-source', severity: 'low' },
      ],
      evidence(revoke),
      downgrade,
    );
    expect(explained).toMatchObject({ severity: 'low', downgradedFrom: 'high' });
    expect(unexplained).toMatchObject({ severity: 'medium', causeLookup: { status: 'none' } });
    expect(unexplained?.downgradedFrom).toBeUndefined();
    // 3 of 4 members explained: a member nothing explains may be what the alert is really about.
    expect(mass).toMatchObject({ severity: 'medium', likelyCause: { explains: 3, of: 4 } });
    expect(newSource?.causeLookup).toBeUndefined();
    const whole = explainAlerts(
      [massSpike(['10.0.1.10', '10.0.1.11', '10.0.2.12'])],
      evidence(revoke),
      downgrade,
    )[0];
    expect(whole).toMatchObject({ severity: 'low', downgradedFrom: 'medium' });
  });

  it('downgrade: names a change that can only allow more, but never lowers an alert for it', () => {
    // Prepare: an egress rule added to the source's group (and an ACL allow entry to its
    // subnet's) just before the window: neither can block anything
    const downgrade = resolveDetectorConfig({ policyChangeSpikes: 'downgrade' });
    const added = changes(
      authorizeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 1, cidr: '192.0.2.1/32' }], {
        at: at(-5),
        eventId: 'harmless-rule',
      }),
      createNetworkAclEntry(
        ACL_A,
        { ruleNumber: 90, egress: true, action: 'allow', protocol: '6', fromPort: 1, cidr: '192.0.2.1/32' },
        { at: at(-4), eventId: 'harmless-entry' },
      ),
    );

    // Act
    const [spikeAlert, mass] = explainAlerts(
      [spike('10.0.1.10', 'high'), massSpike(['10.0.1.10', '10.0.1.11'])],
      evidence(added),
      downgrade,
    );

    // Assess: named, the severity kept
    expect(spikeAlert?.likelyCause?.eventId).toMatch(/^harmless-/);
    expect(spikeAlert?.severity).toBe('high');
    expect(spikeAlert?.downgradedFrom).toBeUndefined();
    expect(mass?.likelyCause).toBeDefined();
    expect(mass).toMatchObject({ severity: 'medium' });
    expect(mass?.downgradedFrom).toBeUndefined();
    // A revoke beside them still downgrades (the one that can block is the cause).
    const withRevoke = [
      ...added,
      ...changes(
        revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
          at: at(-9),
          eventId: 'revoke',
        }),
      ),
    ];
    const [revoked] = explainAlerts([spike('10.0.1.10', 'high')], evidence(withRevoke), downgrade);
    expect(revoked).toMatchObject({
      severity: 'low',
      downgradedFrom: 'high',
      likelyCause: { eventId: 'revoke' },
    });
  });

  it('counts whole minutes from the window start down: a change 24 s before the end is 59 minutes into the window', () => {
    const late = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(60) - 24_000 }),
    );
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence(late), config);
    expect(alert?.likelyCause?.minutesFromWindowStart).toBe(59);
    expect(causeTimingText(alert!.likelyCause!, 60)).toBe('59 minutes into the window');
  });

  it("says the cause is not known, not none found, when EC2 knows no interface holding the source's address", () => {
    const revoke = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-8) }),
    );
    const [gone, mass] = explainAlerts(
      [spike('10.0.9.99'), massSpike(['10.0.9.99', '10.0.2.13'])],
      evidence(revoke),
      config,
    );
    expect(gone?.causeLookup).toMatchObject({
      status: 'unavailable',
      reason:
        "the source's network interface is not known to EC2 (deleted since?), so no change could be related to it",
    });
    expect(noCauseText(gone!.causeLookup!)).toMatch(
      /^not known: the source's network interface is not known to EC2/,
    );
    expect(mass?.causeLookup).toMatchObject({
      status: 'unavailable',
      reason:
        "1 of 2 sources' network interfaces are not known to EC2 (deleted since?), so no change could be related to them",
    });
    // Every interface known and nothing related: none found, as before.
    const [known] = explainAlerts([spike('10.0.2.13')], evidence(revoke), config);
    expect(known?.causeLookup?.status).toBe('none');
  });

  it('ranks any change made by the window end above a later one, and does not downgrade on a later one', () => {
    // Prepare: the subnet's ACL replaced with "deny all" 5 minutes before the window (changes),
    // and an egress rule of the source's group revoked 5 minutes after its end (tightens).
    const downgrade = resolveDetectorConfig({ policyChangeSpikes: 'downgrade' });
    const before = replaceNetworkAclEntry(
      ACL_A,
      { ruleNumber: 100, egress: true, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0' },
      { at: at(-5), eventId: 'before-window' },
    );
    const after = revokeSecurityGroupEgress(SG_APP, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
      at: at(65),
      eventId: 'after-window',
    });

    // Act
    const [both] = explainAlerts([spike('10.0.1.10')], evidence(changes(before, after)), downgrade);
    const [onlyAfter] = explainAlerts([spike('10.0.1.10')], evidence(changes(after)), downgrade);

    // Assess
    expect(both?.likelyCause?.eventId).toBe('before-window');
    expect(both).toMatchObject({ severity: 'low', downgradedFrom: 'high' });
    // Named (it reached the last minutes of the window's records), but the spike stays as it was.
    expect(onlyAfter?.likelyCause).toMatchObject({ eventId: 'after-window', minutesFromWindowStart: 65 });
    expect(onlyAfter?.severity).toBe('high');
    expect(onlyAfter?.downgradedFrom).toBeUndefined();
    // At the window's end instant itself: made by the end, so it downgrades.
    const atEnd = revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(60) });
    const [endSpike] = explainAlerts([spike('10.0.1.10')], evidence(changes(atEnd)), downgrade);
    expect(endSpike).toMatchObject({ severity: 'low', downgradedFrom: 'high' });
  });

  describe('an address that interfaces in two VPCs hold', () => {
    // Prepare: 10.0.1.10 is also held in another VPC by an interface of SG_OTHER.
    const otherVpc = {
      ...eni(6, 'b', [SG_OTHER], '10.0.1.10'),
      vpcId: 'vpc-0a1b2c3d4e5f60002',
    };
    const topology: NetworkTopology = { ...TOPOLOGY, interfaces: [...TOPOLOGY.interfaces, otherVpc] };
    const downgrade = resolveDetectorConfig({ policyChangeSpikes: 'downgrade' });
    const revokeOther = changes(
      revokeSecurityGroupEgress(SG_OTHER, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-8) }),
    );
    const explain = (alert: Alert) =>
      explainAlerts([alert], { changes: revokeOther, topology, lookupFor: complete }, downgrade)[0];

    it("blames no change of the other VPC's interface when the records name the source's interface", () => {
      const alert = explain({
        ...spike('10.0.1.10'),
        details: { topDestinations: [], totalDestinations: 0, interfaceIds: ['eni-00000000000000001'] },
      });
      expect(alert?.likelyCause).toBeUndefined();
      expect(alert).toMatchObject({ severity: 'high', causeLookup: { status: 'none' } });
    });

    it('relates nothing and says why when neither a VPC nor an interface tells them apart', () => {
      const alert = explain(spike('10.0.1.10'));
      expect(alert?.likelyCause).toBeUndefined();
      expect(alert?.severity).toBe('high');
      expect(alert?.causeLookup).toMatchObject({
        status: 'unavailable',
        reason: 'the address is held in 2 VPCs and the records name neither its VPC nor a known interface',
      });
    });

    it('relates through the VPC the records name', () => {
      const alert = explain({ ...spike('10.0.1.10'), vpcId: 'vpc-0a1b2c3d4e5f60002' });
      expect(alert).toMatchObject({
        severity: 'low',
        downgradedFrom: 'high',
        likelyCause: { resource: SG_OTHER },
      });
    });
  });

  it('off: alerts are returned unchanged', () => {
    const revoke = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(-8) }),
    );
    const alerts = [spike('10.0.1.10')];
    expect(
      explainAlerts(alerts, evidence(revoke), resolveDetectorConfig({ policyChangeSpikes: 'off' })),
    ).toEqual(alerts);
  });

  it('describes changes after the window start and after its end', () => {
    const list = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(63) }),
    );
    const [alert] = explainAlerts([spike('10.0.1.10')], evidence(list), config);
    expect(likelyCauseText(alert!.likelyCause!, alert!)).toMatch(
      /at 16:03 UTC, 3 minutes after the window's end$/,
    );
    const inside = changes(
      revokeSecurityGroupEgress(SG_APP, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(12) }),
    );
    const [within] = explainAlerts([spike('10.0.1.10')], evidence(inside), config);
    expect(likelyCauseText(within!.likelyCause!, within!)).toMatch(/12 minutes into the window$/);
  });
});
