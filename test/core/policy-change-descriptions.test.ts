/**
 * How a CloudTrail record's egress change is described to the reader (`likelyCause.description`,
 * the "Likely cause" line) and who it is attributed to, for the record shapes the main suite
 * (policy-changes.test.ts) does not reach: protocols by number or missing, ports missing or open
 * ended, many targets, revokes by rule id, ACL entries without a CIDR or an action, empty group
 * sets, and callers without an ARN. Each expected text is written out from the format the docs
 * give (`egress tcp/443 to 0.0.0.0/0 removed`), not computed.
 */
import { changedResource, parsePolicyChange, type PolicyChange } from '../../lambda/core';
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

/** An egress permission as CloudTrail writes it, with the fields given (no defaults added). */
function permission(fields: Record<string, unknown>, cidrs: string[] = ['0.0.0.0/0']) {
  return {
    ...fields,
    groups: {},
    ipRanges: cidrs.length === 0 ? {} : { items: cidrs.map((cidrIp) => ({ cidrIp })) },
    ipv6Ranges: {},
    prefixListIds: {},
  };
}

function revokeWith(requestParameters: Record<string, unknown>): PolicyChange {
  const change = parsePolicyChange(
    cloudTrailRecord(
      'RevokeSecurityGroupEgress',
      { groupId: SG, ...requestParameters },
      { _return: true },
      {
        at: AT,
      },
    ),
  );
  if (change === undefined) throw new Error('the revoke was not read');
  return change;
}

const revokeOf = (...permissions: Record<string, unknown>[]): string =>
  revokeWith({ ipPermissions: { items: permissions } }).description;

describe('describing the traffic of a security group rule', () => {
  it('names well-known protocols, shows other protocol numbers as numbers, and all traffic when none is given', () => {
    expect(revokeOf(permission({ ipProtocol: '47' }))).toBe('egress proto 47 to 0.0.0.0/0 removed');
    expect(revokeOf(permission({ ipProtocol: 50 }))).toBe('egress proto 50 to 0.0.0.0/0 removed');
    expect(revokeOf(permission({ ipProtocol: 6, fromPort: 443, toPort: 443 }))).toBe(
      'egress tcp/443 to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'icmpv6' }))).toBe('egress icmpv6 to 0.0.0.0/0 removed');
    expect(revokeOf(permission({}))).toBe('egress all traffic to 0.0.0.0/0 removed');
    expect(revokeOf(permission({ ipProtocol: 'all' }))).toBe('egress all traffic to 0.0.0.0/0 removed');
  });

  it('shows a protocol it cannot read as ?, never the record text', () => {
    expect(revokeOf(permission({ ipProtocol: 'tcp<script>', fromPort: 443, toPort: 443 }))).toBe(
      'egress ?/443 to 0.0.0.0/0 removed',
    );
    // Only a whole short name or number is a protocol: not text that merely ends like one.
    expect(revokeOf(permission({ ipProtocol: '<b>tcp' }))).toBe('egress ? to 0.0.0.0/0 removed');
    expect(revokeOf(permission({ ipProtocol: 'tcp tcp' }))).toBe('egress ? to 0.0.0.0/0 removed');
    expect(revokeOf(permission({ ipProtocol: 'a1234567890' }))).toBe('egress ? to 0.0.0.0/0 removed');
    expect(revokeOf(permission({ ipProtocol: 'a123456789' }))).toBe('egress a123456789 to 0.0.0.0/0 removed');
    // A name that starts with digits is a name, not a protocol number.
    expect(revokeOf(permission({ ipProtocol: '4over6' }))).toBe('egress 4over6 to 0.0.0.0/0 removed');
  });

  it('leaves the ports out when there are none, when they are negative, and for ICMP (type and code)', () => {
    expect(revokeOf(permission({ ipProtocol: 'tcp' }))).toBe('egress tcp to 0.0.0.0/0 removed');
    expect(revokeOf(permission({ ipProtocol: 'udp', fromPort: -1, toPort: -1 }))).toBe(
      'egress udp to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 1024, toPort: -1 }))).toBe(
      'egress tcp to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 8080 }))).toBe(
      'egress tcp/8080 to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'icmp', fromPort: 8, toPort: 0 }))).toBe(
      'egress icmp to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: '58', fromPort: 128, toPort: 0 }))).toBe(
      'egress icmpv6 to 0.0.0.0/0 removed',
    );
  });

  it('shows every TCP port (0-65535) as a range', () => {
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 0, toPort: 65535 }))).toBe(
      'egress tcp/0-65535 to 0.0.0.0/0 removed',
    );
    // A range is shown as the record writes it (the reader judges it), even one ending at 0.
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 80, toPort: 0 }))).toBe(
      'egress tcp/80-0 to 0.0.0.0/0 removed',
    );
  });

  it('reads ports written as numeric strings as well as numbers', () => {
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: '443', toPort: '443' }))).toBe(
      'egress tcp/443 to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'udp', fromPort: '1024', toPort: '65535' }))).toBe(
      'egress udp/1024-65535 to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'udp', fromPort: 1024, toPort: '65535' }))).toBe(
      'egress udp/1024-65535 to 0.0.0.0/0 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 'https', toPort: 'https' }))).toBe(
      'egress tcp to 0.0.0.0/0 removed',
    );
  });

  it('shows at most three targets of a rule and counts the rest; a rule without a target has no "to"', () => {
    const cidrs = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '198.18.0.0/15'];
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 443, toPort: 443 }, cidrs))).toBe(
      'egress tcp/443 to 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and 2 more removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 443, toPort: 443 }, cidrs.slice(0, 3)))).toBe(
      'egress tcp/443 to 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 removed',
    );
    expect(revokeOf(permission({ ipProtocol: 'tcp', fromPort: 443, toPort: 443 }, []))).toBe(
      'egress tcp/443 removed',
    );
  });

  it('names prefix lists and groups as targets, and drops targets that are not ids or CIDRs', () => {
    expect(
      revokeOf({
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        ipRanges: { items: [{ cidrIp: 'everywhere' }] },
        prefixListIds: { items: [{ prefixListId: 'pl-0a1b2c3d4e5f60001' }, { prefixListId: 'pl-x' }] },
        groups: { items: [{ groupId: 'sg-0a1b2c3d4e5f60009' }] },
      }),
    ).toBe('egress tcp/443 to pl-0a1b2c3d4e5f60001, sg-0a1b2c3d4e5f60009 removed');
  });

  it('shows at most three rules of a change and counts the rest', () => {
    const ports = [22, 25, 80, 443, 8443];
    expect(
      revokeOf(...ports.map((port) => permission({ ipProtocol: 'tcp', fromPort: port, toPort: port }))),
    ).toBe('egress tcp/22 to 0.0.0.0/0; tcp/25 to 0.0.0.0/0; tcp/80 to 0.0.0.0/0 and 2 more removed');
  });
});

describe('describing a revoke by rule id (SecurityGroupRuleIds)', () => {
  const RULE_1 = 'sgr-0a1b2c3d4e5f60001';
  const RULE_2 = 'sgr-0a1b2c3d4e5f60002';

  it('names the one rule, or the rules, it removed', () => {
    expect(
      revokeWith({ securityGroupRuleIds: { items: [{ securityGroupRuleId: RULE_1 }] } }).description,
    ).toBe(`egress rule ${RULE_1} removed`);
    expect(
      revokeWith({
        securityGroupRuleIds: { items: [{ securityGroupRuleId: RULE_1 }, { securityGroupRuleId: RULE_2 }] },
      }).description,
    ).toBe(`egress rules ${RULE_1}; ${RULE_2} removed`);
    // The bare form of the newer APIs: a list of ids.
    expect(revokeWith({ securityGroupRuleIds: [RULE_2] }).description).toBe(`egress rule ${RULE_2} removed`);
  });

  it('leaves out what is not a rule id, and says "egress rules removed" when nothing names them', () => {
    expect(
      revokeWith({
        securityGroupRuleIds: {
          items: [{ securityGroupRuleId: 'sgr-<b>' }, { securityGroupRuleId: RULE_1 }],
        },
      }).description,
    ).toBe(`egress rule ${RULE_1} removed`);
    expect(
      revokeWith({ securityGroupRuleIds: { items: [{ securityGroupRuleId: 'nope' }] } }).description,
    ).toBe('egress rules removed');
    expect(revokeWith({}).description).toBe('egress rules removed');
  });

  it('shows at most three rule ids and counts the rest', () => {
    const ids = [1, 2, 3, 4, 5].map((n) => `sgr-0a1b2c3d4e5f6000${n}`);
    expect(
      revokeWith({
        securityGroupRuleIds: { items: ids.map((securityGroupRuleId) => ({ securityGroupRuleId })) },
      }).description,
    ).toBe(
      'egress rules sgr-0a1b2c3d4e5f60001; sgr-0a1b2c3d4e5f60002; sgr-0a1b2c3d4e5f60003 and 2 more removed',
    );
  });
});

describe('describing several permissions', () => {
  it('lists three permissions in full and says how many more there are beyond three', () => {
    const ports = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        permission({ ipProtocol: 'tcp', fromPort: 440 + i, toPort: 440 + i }),
      );
    expect(revokeOf(...ports(3))).toBe(
      'egress tcp/440 to 0.0.0.0/0; tcp/441 to 0.0.0.0/0; tcp/442 to 0.0.0.0/0 removed',
    );
    expect(revokeOf(...ports(4))).toBe(
      'egress tcp/440 to 0.0.0.0/0; tcp/441 to 0.0.0.0/0; tcp/442 to 0.0.0.0/0 and 1 more removed',
    );
  });

  it('describes the permissions a request gives, not the rule ids it also names', () => {
    const change = revokeWith({
      ipPermissions: { items: [permission({ ipProtocol: 'tcp', fromPort: 443, toPort: 443 })] },
      securityGroupRuleIds: { items: [{ securityGroupRuleId: 'sgr-0a1b2c3d4e5f60001' }] },
    });
    expect(change.description).toBe('egress tcp/443 to 0.0.0.0/0 removed');
  });
});

describe('describing ModifySecurityGroupRules', () => {
  const modify = (entries: unknown) =>
    parsePolicyChange(
      cloudTrailRecord(
        'ModifySecurityGroupRules',
        { ModifySecurityGroupRulesRequest: { GroupId: SG, SecurityGroupRule: entries } },
        { ModifySecurityGroupRulesResponse: { return: true } },
        { at: AT },
      ),
    );

  it('skips entries without a valid rule id and reads the others', () => {
    const change = modify([
      { SecurityGroupRuleId: 'sgr-bad', SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 22, ToPort: 22 } },
      {
        SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001',
        SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv6: '::/0' },
      },
    ]);
    expect(change).toMatchObject({
      ruleIds: ['sgr-0a1b2c3d4e5f60001'],
      description: 'rule sgr-0a1b2c3d4e5f60001 changed to tcp/443 with ::/0',
    });
  });

  it('reads a rule changed to a prefix list or a group, and one without a target', () => {
    expect(
      modify({
        SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001',
        SecurityGroupRule: { IpProtocol: '-1', ReferencedGroupId: 'sg-0a1b2c3d4e5f60009' },
      })?.description,
    ).toBe('rule sgr-0a1b2c3d4e5f60001 changed to all traffic with sg-0a1b2c3d4e5f60009');
    expect(
      modify({
        SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001',
        SecurityGroupRule: { IpProtocol: 'udp', FromPort: 53, ToPort: 53 },
      })?.description,
    ).toBe('rule sgr-0a1b2c3d4e5f60001 changed to udp/53');
  });

  it('is not read when no entry names a valid rule', () => {
    expect(
      modify([{ SecurityGroupRuleId: 'sgr-bad', SecurityGroupRule: { IpProtocol: 'tcp' } }]),
    ).toBeUndefined();
  });
});

describe('describing network ACL entries', () => {
  const entry = { ruleNumber: 100, egress: true, protocol: '6', fromPort: 443 } as const;

  it('an allow entry added can only allow more; one without an action may do either and shows ?', () => {
    expect(
      parsePolicyChange(
        createNetworkAclEntry(ACL, { ...entry, action: 'allow', cidr: '0.0.0.0/0' }, { at: AT }),
      ),
    ).toMatchObject({ description: 'egress entry 100 added: allow tcp/443 to 0.0.0.0/0', effect: 'loosens' });
    const record = createNetworkAclEntry(ACL, { ...entry, action: 'deny', cidr: '0.0.0.0/0' }, { at: AT });
    const request = { ...(record.requestParameters as Record<string, unknown>) };
    delete request.ruleAction;
    expect(parsePolicyChange({ ...record, requestParameters: request })).toMatchObject({
      description: 'egress entry 100 added: ? tcp/443 to 0.0.0.0/0',
      effect: 'changes',
    });
  });

  it('an entry without a CIDR has no "to"; an entry without a valid rule number shows none', () => {
    expect(
      parsePolicyChange(replaceNetworkAclEntry(ACL, { ...entry, action: 'deny' }, { at: AT }))?.description,
    ).toBe('egress entry 100 replaced with deny tcp/443');
    expect(
      parsePolicyChange(deleteNetworkAclEntry(ACL, { ruleNumber: 0, egress: true }, { at: AT }))?.description,
    ).toBe('egress entry deleted');
    expect(
      parsePolicyChange(
        createNetworkAclEntry(
          ACL,
          { ...entry, ruleNumber: Number.NaN, action: 'deny', cidr: '10.0.0.0/8' },
          { at: AT },
        ),
      )?.description,
    ).toBe('egress entry added: deny tcp/443 to 10.0.0.0/8');
  });
});

describe('describing group sets', () => {
  it('says "none" when an interface or instance is left without groups, and lists several', () => {
    expect(
      parsePolicyChange(modifyNetworkInterfaceGroups('eni-00000000000000001', [], { at: AT }))?.description,
    ).toBe('security groups set to none');
    expect(parsePolicyChange(modifyInstanceGroups('i-00000000000000001', [], { at: AT }))?.description).toBe(
      'security groups set to none',
    );
    expect(
      parsePolicyChange(
        modifyInstanceGroups('i-00000000000000001', ['sg-0a1b2c3d4e5f60001', 'sg-0a1b2c3d4e5f60002'], {
          at: AT,
        }),
      )?.description,
    ).toBe('security groups set to sg-0a1b2c3d4e5f60001, sg-0a1b2c3d4e5f60002');
  });
});

describe('describing interface group sets and subnet moves', () => {
  it('lists every group an interface is left with, and reads no change without a valid interface id', () => {
    const groups = ['sg-0a1b2c3d4e5f60001', 'sg-0a1b2c3d4e5f60002'];
    expect(
      parsePolicyChange(modifyNetworkInterfaceGroups('eni-00000000000000001', groups, { at: AT }))
        ?.description,
    ).toBe('security groups set to sg-0a1b2c3d4e5f60001, sg-0a1b2c3d4e5f60002');
    expect(parsePolicyChange(modifyNetworkInterfaceGroups('eni-bad', groups, { at: AT }))).toBeUndefined();
  });

  it('says which network ACL a subnet moved to, and that ACL is the changed resource', () => {
    const moved = parsePolicyChange(
      replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60001', ACL, 'aclassoc-0a1b2c3d4e5f60002', {
        at: AT,
      }),
    );
    expect(moved?.description).toBe(`a subnet moved to network ACL ${ACL}`);
    expect(changedResource(moved!)).toBe(ACL);
  });

  it('names the network ACL of an entry change as the changed resource', () => {
    const entry = parsePolicyChange(
      deleteNetworkAclEntry(ACL, { ruleNumber: 100, egress: true }, { at: AT }),
    );
    expect(changedResource(entry!)).toBe(ACL);
  });

  it('skips ModifySecurityGroupRules entries that are not objects (null, text) and reads the rest', () => {
    const change = parsePolicyChange(
      cloudTrailRecord(
        'ModifySecurityGroupRules',
        {
          ModifySecurityGroupRulesRequest: {
            GroupId: SG,
            SecurityGroupRule: [
              null,
              'sgr-0a1b2c3d4e5f60009',
              {
                SecurityGroupRuleId: 'sgr-0a1b2c3d4e5f60001',
                SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv4: '0.0.0.0/0' },
              },
            ],
          },
        },
        { ModifySecurityGroupRulesResponse: { return: true } },
        { at: AT },
      ),
    );
    expect(change).toMatchObject({
      ruleIds: ['sgr-0a1b2c3d4e5f60001'],
      description: 'rule sgr-0a1b2c3d4e5f60001 changed to tcp/443 with 0.0.0.0/0',
    });
  });
});

describe('ids that are not text', () => {
  it('reads no change whose group id is not text (a list, an object), even one that spells a valid id', () => {
    const revoke = (groupId: unknown) =>
      parsePolicyChange(
        cloudTrailRecord(
          'RevokeSecurityGroupEgress',
          { groupId, ipPermissions: { items: [permission({ ipProtocol: '-1' })] } },
          { _return: true },
          { at: AT },
        ),
      );
    expect(revoke(SG)?.target).toEqual({ kind: 'security-group', groupId: SG });
    expect(revoke([SG])).toBeUndefined();
    expect(revoke({ toString: () => SG })).toBeUndefined();
  });
});

describe('who made a change', () => {
  const base = revokeSecurityGroupEgress(SG, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
    at: AT,
  });
  const principalWith = (userIdentity: unknown) => parsePolicyChange({ ...base, userIdentity })?.principal;

  it('is the caller ARN, else the service that called for an AWS service, else the principal id, else the identity type', () => {
    expect(
      principalWith({ type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/jane', principalId: 'AIDA1' }),
    ).toBe('arn:aws:iam::123456789012:user/jane');
    expect(principalWith({ type: 'AWSService', invokedBy: 'autoscaling.amazonaws.com' })).toBe(
      'autoscaling.amazonaws.com',
    );
    // invokedBy counts only for an AWS service caller (anyone else's is a hint, not an identity).
    expect(
      principalWith({
        type: 'AssumedRole',
        invokedBy: 'autoscaling.amazonaws.com',
        principalId: 'AROA1:jane',
      }),
    ).toBe('AROA1:jane');
    expect(principalWith({ type: 'Root' })).toBe('Root');
  });

  it('skips an empty ARN or principal id for the next that names someone', () => {
    expect(principalWith({ type: 'AssumedRole', arn: '', principalId: 'AROA1:jane' })).toBe('AROA1:jane');
    expect(principalWith({ type: 'Root', arn: '', principalId: '' })).toBe('Root');
  });

  it('is "unknown" when the record names no one', () => {
    expect(principalWith({})).toBe('unknown');
    expect(principalWith(undefined)).toBe('unknown');
  });

  it('writes a run of control characters or line separators in a name as one space (one line for email and Slack)', () => {
    expect(principalWith({ type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/ja\r\nne' })).toBe(
      'arn:aws:iam::123456789012:user/ja ne',
    );
    expect(principalWith({ type: 'AssumedRole', principalId: 'AROA1:\u2028jane\u0007' })).toBe(
      'AROA1: jane ',
    );
  });
});
