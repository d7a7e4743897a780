/**
 * Reading CloudTrail records as they vary: the fields LookupEvents' `CloudTrailEvent` and the S3
 * log files may leave out or write another way (no eventSource, errorCode null, the account only
 * in userIdentity, the unwrapped ModifySecurityGroupRules, `egress` as a string), and records
 * that are malformed or hostile: an id, time, account or Region that is not in its AWS shape is
 * not read (nothing unchecked reaches an alert's resource or link), and odd list items are
 * skipped rather than thrown on. What the main suite (policy-changes.test.ts) does not cover.
 */
import {
  explainAlerts,
  likelyCauseText,
  parsePolicyChange,
  resolveDetectorConfig,
  type Alert,
  type NetworkTopology,
} from '../../lambda/core';
import {
  cloudTrailRecord,
  createNetworkAclEntry,
  deleteNetworkAclEntry,
  modifyInstanceGroups,
  modifyNetworkInterfaceGroups,
  replaceNetworkAclAssociation,
  replaceNetworkAclEntry,
  revokeSecurityGroupEgress,
} from '../support/cloudtrail-records';

const AT = Date.parse('2026-11-27T14:52:00Z');
const SG = 'sg-0a1b2c3d4e5f60001';
const ACL = 'acl-0a1b2c3d4e5f60001';
const ENI = 'eni-00000000000000001';

const revoke = () =>
  revokeSecurityGroupEgress(SG, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
    at: AT,
    eventId: 'e-1',
  });

describe('records with fields left out or written another way', () => {
  it('reads a record without eventSource, and one whose errorCode is null (the call succeeded)', () => {
    const { eventSource: _source, ...withoutSource } = revoke();
    expect(parsePolicyChange(withoutSource)?.eventId).toBe('e-1');
    expect(parsePolicyChange({ ...revoke(), errorCode: null })?.eventId).toBe('e-1');
  });

  it('takes the account from userIdentity when the record has no recipientAccountId, and only a 12-digit one', () => {
    const { recipientAccountId: _account, ...withoutRecipient } = revoke();
    expect(parsePolicyChange(withoutRecipient)?.accountId).toBe('123456789012');
    const record = { ...withoutRecipient, userIdentity: { ...revoke().userIdentity, accountId: '1234' } };
    expect(parsePolicyChange(record)).not.toHaveProperty('accountId');
    expect(parsePolicyChange({ ...withoutRecipient, userIdentity: 'root' })).not.toHaveProperty('accountId');
    expect(parsePolicyChange({ ...revoke(), recipientAccountId: '12345678901x' })).not.toHaveProperty(
      'accountId',
    );
  });

  it('reads no account or Region that is not text, even one whose text form has the right shape', () => {
    expect(parsePolicyChange({ ...revoke(), recipientAccountId: 123456789012 })).not.toHaveProperty(
      'accountId',
    );
    expect(parsePolicyChange({ ...revoke(), recipientAccountId: ['123456789012'] })).not.toHaveProperty(
      'accountId',
    );
    expect(parsePolicyChange({ ...revoke(), awsRegion: ['eu-central-1'] })).not.toHaveProperty('region');
  });

  it('reads nothing from a record that is not an object', () => {
    for (const record of [null, undefined, 'RevokeSecurityGroupEgress', 42, [revoke()]])
      expect(parsePolicyChange(record)).toBeUndefined();
  });

  it('keeps a Region only in its AWS shape', () => {
    expect(parsePolicyChange({ ...revoke(), awsRegion: 'eu-central-1' })?.region).toBe('eu-central-1');
    expect(parsePolicyChange({ ...revoke(), awsRegion: 'us-gov-west-1' })?.region).toBe('us-gov-west-1');
    for (const awsRegion of ['US-EAST-1', 'us-east-1/../x', 'useast1', 42])
      expect(parsePolicyChange({ ...revoke(), awsRegion })).not.toHaveProperty('region');
  });

  it('reads ModifySecurityGroupRules written without its request wrapper', () => {
    const change = parsePolicyChange(
      cloudTrailRecord(
        'ModifySecurityGroupRules',
        {
          GroupId: SG,
          SecurityGroupRule: {
            SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001',
            SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv4: '10.0.0.0/8' },
          },
        },
        { return: true },
        { at: AT },
      ),
    );
    expect(change).toMatchObject({
      target: { kind: 'security-group', groupId: SG },
      description: 'rule sgr-0a1b2c3d4e5f60001 changed to tcp/443 with 10.0.0.0/8',
    });
  });

  it('reads a network ACL entry whose egress flag is the string "true" or "false", and none without the flag', () => {
    const entry = createNetworkAclEntry(
      ACL,
      {
        ruleNumber: 90,
        egress: true,
        action: 'deny',
        protocol: '6',
        fromPort: 443,
        cidr: '198.51.100.77/32',
      },
      { at: AT },
    );
    const request = entry.requestParameters as Record<string, unknown>;
    expect(
      parsePolicyChange({ ...entry, requestParameters: { ...request, egress: 'true' } })?.description,
    ).toBe('egress entry 90 added: deny tcp/443 to 198.51.100.77/32');
    expect(
      parsePolicyChange({ ...entry, requestParameters: { ...request, egress: 'false' } })?.description,
    ).toBe('ingress entry 90 added: deny tcp/443 from 198.51.100.77/32');
    const { egress: _egress, ...withoutFlag } = request;
    expect(parsePolicyChange({ ...entry, requestParameters: withoutFlag })).toBeUndefined();
  });

  it('reads an ACL entry without a port range, and with its protocol under `protocol`', () => {
    const record = cloudTrailRecord(
      'CreateNetworkAclEntry',
      {
        networkAclId: ACL,
        ruleNumber: 80,
        egress: true,
        ruleAction: 'deny',
        protocol: '17',
        cidrBlock: '0.0.0.0/0',
      },
      { _return: true },
      { at: AT },
    );
    expect(parsePolicyChange(record)?.description).toBe('egress entry 80 added: deny udp to 0.0.0.0/0');
  });

  it('reads an association change without the new association id, and refuses one without a valid ACL id', () => {
    const moved = replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', ACL, 'not-an-association', {
      at: AT,
    });
    expect(parsePolicyChange(moved)?.target).toEqual({ kind: 'network-acl-association', networkAclId: ACL });
    const bad = replaceNetworkAclAssociation(
      'aclassoc-0a1b2c3d4e5f60009',
      'acl-<x>',
      'aclassoc-0a1b2c3d4e5f60001',
      {
        at: AT,
      },
    );
    expect(parsePolicyChange(bad)).toBeUndefined();
  });
});

describe('what each kind of change reads as', () => {
  it('a ModifySecurityGroupRules of several rules describes each; one without a valid group id is not read', () => {
    const entries = [
      {
        SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001',
        SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv4: '10.0.0.0/8' },
      },
      {
        SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60002',
        SecurityGroupRule: {
          IpProtocol: 'udp',
          FromPort: 53,
          ToPort: 53,
          PrefixListId: 'pl-0a1b2c3d4e5f60001',
        },
      },
    ];
    const modify = (GroupId: string) =>
      parsePolicyChange(
        cloudTrailRecord(
          'ModifySecurityGroupRules',
          { ModifySecurityGroupRulesRequest: { GroupId, SecurityGroupRule: entries } },
          { ModifySecurityGroupRulesResponse: { return: true } },
          { at: AT },
        ),
      );
    expect(modify(SG)).toMatchObject({
      description:
        'rules sgr-0a1b2c3d4e5f60001 changed to tcp/443 with 10.0.0.0/8; sgr-0a1b2c3d4e5f60002 changed to udp/53 with pl-0a1b2c3d4e5f60001',
      effect: 'changes',
    });
    expect(modify('sg-<x>')).toBeUndefined();
  });

  it('a network ACL entry names its ACL, and one without a valid ACL id is not read', () => {
    const entry = {
      ruleNumber: 90,
      egress: true,
      action: 'deny' as const,
      protocol: '-1',
      cidr: '0.0.0.0/0',
    };
    expect(parsePolicyChange(replaceNetworkAclEntry(ACL, entry, { at: AT }))?.target).toEqual({
      kind: 'network-acl',
      networkAclId: ACL,
    });
    expect(parsePolicyChange(deleteNetworkAclEntry(ACL, entry, { at: AT }))).toMatchObject({
      target: { kind: 'network-acl', networkAclId: ACL },
      effect: 'changes',
    });
    expect(parsePolicyChange(createNetworkAclEntry('acl-<x>', entry, { at: AT }))).toBeUndefined();
    expect(parsePolicyChange(deleteNetworkAclEntry('acl-0A1B2C3D', entry, { at: AT }))).toBeUndefined();
  });

  it('a new ACL association, a new group set of an interface or an instance may block or allow: "changes"', () => {
    const effects = [
      replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', ACL, 'aclassoc-0a1b2c3d4e5f60001', {
        at: AT,
      }),
      modifyNetworkInterfaceGroups(ENI, [SG], { at: AT }),
      modifyInstanceGroups('i-00000000000000001', [SG], { at: AT }),
    ].map((record) => parsePolicyChange(record)?.effect);
    expect(effects).toEqual(['changes', 'changes', 'changes']);
    expect(parsePolicyChange(modifyInstanceGroups('i-<x>', [SG], { at: AT }))).toBeUndefined();
  });
});

describe('calls that succeeded but changed nothing, or less than they asked', () => {
  const unknownPermission = (cidrIp: string, ipProtocol: unknown = 'tcp', port: unknown = 443) => ({
    ipProtocol,
    fromPort: port,
    toPort: port,
    ipRanges: { items: [{ cidrIp }] },
  });
  const revokeOf = (cidrs: string[], responseElements: Record<string, unknown>) => ({
    ...revokeSecurityGroupEgress(
      SG,
      cidrs.map((cidr) => ({ protocol: 'tcp', fromPort: 443, cidr })),
      { at: AT, eventId: 'e-1' },
    ),
    responseElements: { requestId: 'r-1', _return: true, ...responseElements },
  });

  it('a revoke of rules the group lacks (EC2 lists them as unknown and removes nothing) is no change', () => {
    const record = revokeOf(['0.0.0.0/0'], {
      unknownIpPermissionSet: { items: [unknownPermission('0.0.0.0/0')] },
    });
    expect(parsePolicyChange(record)).toBeUndefined();
    // Written another way: the protocol's number, the ports as text.
    const numbered = revokeOf(['0.0.0.0/0'], {
      unknownIpPermissionSet: { items: [unknownPermission('0.0.0.0/0', '6', '443')] },
    });
    expect(parsePolicyChange(numbered)).toBeUndefined();
    // The control: the same revoke with nothing unknown tightens.
    expect(parsePolicyChange(revokeOf(['0.0.0.0/0'], {}))).toMatchObject({
      description: 'egress tcp/443 to 0.0.0.0/0 removed',
      effect: 'tightens',
    });
  });

  it('a revoke of which EC2 knew one CIDR of two names only the one it removed', () => {
    const record = revokeOf(['0.0.0.0/0', '203.0.113.0/24'], {
      unknownIpPermissionSet: { items: [unknownPermission('0.0.0.0/0')] },
    });
    expect(parsePolicyChange(record)).toMatchObject({
      description: 'egress tcp/443 to 203.0.113.0/24 removed',
      effect: 'tightens',
    });
  });

  it('unknown rules EC2 gives in a form not matched to the request: a change, not claimed to tighten', () => {
    const record = revokeOf(['0.0.0.0/0'], {
      unknownIpPermissionSet: { items: [unknownPermission('0.0.0.0/0', 'udp')] },
    });
    expect(parsePolicyChange(record)).toMatchObject({
      description: 'egress tcp/443 to 0.0.0.0/0 removed (EC2 reported rules the group did not have)',
      effect: 'changes',
    });
  });

  it('a permission with no CIDR, list or group is matched by its traffic alone', () => {
    const bare = (responseElements: Record<string, unknown>) => ({
      ...revokeOf([], responseElements),
      requestParameters: { groupId: SG, ipPermissions: { items: [{ ipProtocol: '-1' }] } },
    });
    // EC2 did not know it: no change
    expect(
      parsePolicyChange(bare({ unknownIpPermissionSet: { items: [{ ipProtocol: '-1' }] } })),
    ).toBeUndefined();
    // EC2 did not know another: this one was removed, but EC2's answer is not all accounted for
    expect(
      parsePolicyChange(
        bare({ unknownIpPermissionSet: { items: [{ ipProtocol: 'udp', fromPort: 53, toPort: 53 }] } }),
      ),
    ).toMatchObject({
      description: 'egress all traffic removed (EC2 reported rules the group did not have)',
      effect: 'changes',
    });
  });

  it('a revoke by rule ids that EC2 answers with unknown rules is a change, not dropped', () => {
    const record = {
      ...revokeOf([], { unknownIpPermissionSet: { items: [unknownPermission('0.0.0.0/0')] } }),
      requestParameters: {
        groupId: SG,
        securityGroupRuleIds: { items: [{ securityGroupRuleId: 'sgr-0a1b2c3d4e5f60001' }] },
      },
    };
    expect(parsePolicyChange(record)).toMatchObject({
      description: 'egress rule sgr-0a1b2c3d4e5f60001 removed (EC2 reported rules the group did not have)',
      effect: 'changes',
    });
  });

  it('a call EC2 answered `return: false` is no change, in either way of writing the answer', () => {
    for (const answer of [false, 'false'])
      expect(parsePolicyChange(revokeOf(['0.0.0.0/0'], { _return: answer }))).toBeUndefined();
    const { responseElements: _ok, ...authorize } = revokeOf(['0.0.0.0/0'], {});
    expect(
      parsePolicyChange({
        ...authorize,
        eventName: 'AuthorizeSecurityGroupEgress',
        responseElements: { return: false },
      }),
    ).toBeUndefined();
    const modify = (responseElements: Record<string, unknown>) =>
      parsePolicyChange(
        cloudTrailRecord(
          'ModifySecurityGroupRules',
          {
            ModifySecurityGroupRulesRequest: {
              GroupId: SG,
              SecurityGroupRule: {
                SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001',
                SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv4: '10.0.0.0/8' },
              },
            },
          },
          responseElements,
          { at: AT },
        ),
      );
    expect(modify({ ModifySecurityGroupRulesResponse: { requestId: 'r-2', return: false } })).toBeUndefined();
    // Beside the wrapper's other keys: the wrapped answer is still read
    expect(modify({ requestId: 'r-3', ModifySecurityGroupRulesResponse: { return: false } })).toBeUndefined();
    expect(modify({ ModifySecurityGroupRulesResponse: { requestId: 'r-2', return: true } })).toMatchObject({
      effect: 'changes',
    });
    // An answer nested under another key is not read as the call's.
    expect(
      parsePolicyChange(revokeOf(['0.0.0.0/0'], { revokedSecurityGroupRuleSet: { return: false } })),
    ).toMatchObject({ effect: 'tightens' });
  });
});

describe('malformed and hostile records', () => {
  it('refuses an event id that is not 1-128 word characters or dashes, and a time that is not a string', () => {
    expect(parsePolicyChange({ ...revoke(), eventID: 42 })).toBeUndefined();
    expect(parsePolicyChange({ ...revoke(), eventID: 'e 1' })).toBeUndefined();
    expect(parsePolicyChange({ ...revoke(), eventID: 'e/../1' })).toBeUndefined();
    expect(parsePolicyChange({ ...revoke(), eventID: 'e'.repeat(129) })).toBeUndefined();
    expect(parsePolicyChange({ ...revoke(), eventID: 'e'.repeat(128) })?.eventId).toBe('e'.repeat(128));
    expect(parsePolicyChange({ ...revoke(), eventTime: AT })).toBeUndefined();
    expect(parsePolicyChange({ ...revoke(), eventTime: ['2026-11-27T14:52:00Z'] })).toBeUndefined();
    expect(parsePolicyChange({ ...revoke(), eventName: 42 })).toBeUndefined();
  });

  it('refuses a record whose request is missing or not an object', () => {
    expect(parsePolicyChange({ ...revoke(), requestParameters: null })).toBeUndefined();
    expect(parsePolicyChange({ ...revoke(), requestParameters: `groupId=${SG}` })).toBeUndefined();
    const regroup = modifyNetworkInterfaceGroups(ENI, [SG], { at: AT });
    expect(parsePolicyChange({ ...regroup, requestParameters: [ENI] })).toBeUndefined();
  });

  it('skips list items that are not objects, and reads the rest', () => {
    const record = cloudTrailRecord(
      'RevokeSecurityGroupEgress',
      {
        groupId: SG,
        ipPermissions: {
          items: [
            null,
            'tcp/22',
            {
              ipProtocol: 'tcp',
              fromPort: 443,
              toPort: 443,
              ipRanges: { items: [null, '10.0.0.0/8', { cidrIp: '0.0.0.0/0' }] },
              ipv6Ranges: { items: [null, 7] },
              prefixListIds: { items: [null] },
              groups: { items: [null, { groupId: 'sg-<x>' }, { groupId: 'sg-0a1b2c3d4e5f60009' }] },
            },
          ],
        },
      },
      { _return: true },
      { at: AT },
    );
    expect(parsePolicyChange(record)?.description).toBe(
      'egress tcp/443 to 0.0.0.0/0, sg-0a1b2c3d4e5f60009 removed',
    );
    const groups = cloudTrailRecord(
      'ModifyNetworkInterfaceAttribute',
      { networkInterfaceId: ENI, groupSet: { items: [null, SG, { groupId: 'sg-0a1b2c3d4e5f60002' }] } },
      { _return: true },
      { at: AT },
    );
    expect(parsePolicyChange(groups)?.target).toEqual({
      kind: 'interface-groups',
      networkInterfaceId: ENI,
      groupIds: ['sg-0a1b2c3d4e5f60002'],
    });
  });

  it('reads a modified rule whose new form is missing as all traffic', () => {
    const record = cloudTrailRecord(
      'ModifySecurityGroupRules',
      {
        ModifySecurityGroupRulesRequest: {
          GroupId: SG,
          SecurityGroupRule: { SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001' },
        },
      },
      { return: true },
      { at: AT },
    );
    expect(parsePolicyChange(record)?.description).toBe('rule sgr-0a1b2c3d4e5f60001 changed to all traffic');
  });
});

describe('a cause without an account or Region', () => {
  const topology: NetworkTopology = {
    interfaces: [{ networkInterfaceId: ENI, groupIds: [SG], addresses: ['10.0.1.10'] }],
    subnetAcls: [],
    securityGroupRules: [],
  };
  const spike: Alert = {
    alertId: '2026-11-27T15:00:00Z/10.0.1.10',
    kind: 'spike',
    preset: 'recommended',
    severity: 'high',
    windowStart: '2026-11-27T15:00:00Z',
    windowEnd: '2026-11-27T16:00:00Z',
    srcIp: '10.0.1.10',
    blockedCount: 400,
    uniqueDestinations: 3,
    baseline: { mean: 4, sd: 2, dataPoints: 300 },
    zScore: 198,
  };

  it('has no account, Region or console link rather than guessed ones', () => {
    const { recipientAccountId: _a, awsRegion: _r, ...bare } = revoke();
    const change = parsePolicyChange({
      ...bare,
      userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::x' },
    });
    expect(change).toBeDefined();
    const [alert] = explainAlerts(
      [spike],
      { changes: [change!], topology, lookupFor: () => ({ status: 'complete' }) },
      resolveDetectorConfig({}),
    );
    expect(alert?.likelyCause).toEqual({
      eventId: 'e-1',
      eventName: 'RevokeSecurityGroupEgress',
      eventTime: '2026-11-27T14:52:00Z',
      principal: 'arn:aws:sts::x',
      resource: SG,
      description: 'egress tcp/443 to 0.0.0.0/0 removed',
      minutesFromWindowStart: -8,
    });
  });

  it('says "explains N of N sources" when a cause names no total', () => {
    const text = likelyCauseText(
      {
        eventId: 'e-1',
        eventName: 'CreateNetworkAclEntry',
        eventTime: '2026-11-27T14:52:00Z',
        principal: 'jane',
        resource: ACL,
        description: 'egress entry 90 added: deny all traffic to 0.0.0.0/0',
        minutesFromWindowStart: -8,
        explains: 4,
      },
      spike,
    );
    expect(text).toBe(
      `CreateNetworkAclEntry on ${ACL} (egress entry 90 added: deny all traffic to 0.0.0.0/0) by jane at 14:52 UTC, 8 minutes before the window; explains 4 of 4 sources`,
    );
  });
});
