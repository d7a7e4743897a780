/**
 * Change-aware alerts: which egress-policy change, made shortly before a spike, explains it.
 *
 * VPC flow logs record REJECT for exactly two reasons: a security group (stateful; only its egress
 * rules can refuse traffic a host starts) or a network ACL (stateless; its egress entries) refused
 * the packet. So the changes that can turn accepted egress into blocked egress are changes to
 * those: egress rules of a group, egress entries of an ACL, which ACL a subnet uses, which
 * groups an interface (or an instance's primary interface) has, and the entries of a managed
 * prefix list a group's egress rule names; and, where a NAT gateway or an appliance forwards the
 * host's packets (its interface logs them), that subnet's ACL ingress entries and the appliance's
 * groups' ingress rules. This module reads them from
 * CloudTrail records (LookupEvents' `CloudTrailEvent`, or log files as delivered to S3), relates
 * them to alerted sources through the network facts EC2 gives (interface -> groups and subnet,
 * subnet -> ACL), and says in the alert which one most likely explains it.
 *
 * Pure: the Lambda (CloudTrail LookupEvents + EC2 Describe calls) and the replay (log files + an
 * interface map) feed the same facts to `explainAlerts`, so both give the same causes.
 */
import { inAnyCidr, parseAddress, parseCidr, type Cidr } from './addresses';
import { consoleOrigin } from './console-url';
import type { DetectorConfig } from './config';
import type { Alert, Severity } from './detect';
import { isoTime, windowMs } from './windows';

/** The CloudTrail event names (all `ec2.amazonaws.com`) that can change what egress is blocked. */
export const EGRESS_CHANGE_EVENT_NAMES = [
  'AuthorizeSecurityGroupEgress',
  'RevokeSecurityGroupEgress',
  'ModifySecurityGroupRules',
  'CreateNetworkAclEntry',
  'ReplaceNetworkAclEntry',
  'DeleteNetworkAclEntry',
  'ReplaceNetworkAclAssociation',
  'ModifyNetworkInterfaceAttribute',
  'ModifyInstanceAttribute',
  'ModifyManagedPrefixList',
  'RestoreManagedPrefixListVersion',
  // An appliance's (a NAT instance's) group: its ingress rules refuse the hosts' packets it
  // forwards. Read last: ingress rules change far more often (deploys, load balancer and cluster
  // controllers), and their pages must not use up the per-run bound before the rest is read.
  'AuthorizeSecurityGroupIngress',
  'RevokeSecurityGroupIngress',
] as const;
export type EgressChangeEventName = (typeof EGRESS_CHANGE_EVENT_NAMES)[number];

export const POLICY_CHANGE_MODES = ['annotate', 'downgrade', 'off'] as const;
export type PolicyChangeMode = (typeof POLICY_CHANGE_MODES)[number];

/** What a change touched, in the terms the relation to a source needs. */
export type ChangeTarget =
  | {
      kind: 'security-group';
      groupId: string;
      /**
       * `ingress`: ingress rules. They refuse packets entering an interface of the group, which
       * blocks a host's egress only where the records were logged on an interface that forwards
       * the host's packets (an appliance's, such as a NAT instance's).
       */
      ingress?: true;
      /**
       * The ingress rules' CIDRs, when every rule named only CIDRs: the sources they match
       * (absent: a rule named a group or a prefix list, or rules by id only, whose sources are
       * not known).
       */
      sourceCidrs?: string[];
    }
  /**
   * `ingress`: an ingress entry. It refuses packets entering the ACL's subnet, which blocks a
   * host's egress only where the records were logged on an interface that forwards the host's
   * packets (a NAT gateway's or an appliance's, in another subnet).
   */
  | {
      kind: 'network-acl';
      networkAclId: string;
      ingress?: true;
      /** An added ingress entry's CIDR: the sources it matches (absent for a replaced or deleted one). */
      sourceCidr?: string;
    }
  /** A subnet moved to `networkAclId`; `associationId` is the new association (the response's). */
  | { kind: 'network-acl-association'; networkAclId: string; associationId?: string }
  | { kind: 'interface-groups'; networkInterfaceId: string; groupIds: string[] }
  | { kind: 'instance-groups'; instanceId: string; groupIds: string[] }
  /** A customer-managed prefix list's entries: they reach every egress rule that names the list. */
  | { kind: 'prefix-list'; prefixListId: string };

/**
 * `tightens`: can only block more (a revoke, a deny entry added); `loosens`: can only allow more
 * (an authorize, an allow entry added), so it explains a spike only when nothing else does;
 * `changes`: either (a replaced entry, a new group set).
 */
export type ChangeEffect = 'tightens' | 'changes' | 'loosens';

/** One egress-relevant management event, as read from its CloudTrail record. */
export interface PolicyChange {
  eventId: string;
  eventName: EgressChangeEventName;
  /** Epoch ms. */
  eventTime: number;
  /** The account the event happened in (`recipientAccountId`). */
  accountId?: string;
  region?: string;
  /** Who made it: the caller's ARN (an assumed role's session ARN), else its principal id. */
  principal: string;
  target: ChangeTarget;
  /** `egress tcp/443 to 0.0.0.0/0 removed`. */
  description: string;
  effect: ChangeEffect;
  /**
   * ModifySecurityGroupRules: the rules modified. CloudTrail gives their ids only; whether a rule
   * is an egress rule is told by DescribeSecurityGroupRules (`NetworkTopology.securityGroupRules`).
   */
  ruleIds?: string[];
}

/** An interface as EC2 describes it: what relates a source to groups, a subnet and an instance. */
export interface InterfaceFacts {
  networkInterfaceId: string;
  /** The owner account. */
  accountId?: string;
  vpcId?: string;
  subnetId?: string;
  instanceId?: string;
  groupIds: string[];
  /** Private IPv4 (primary and secondary) and IPv6 addresses. */
  addresses: string[];
  /** Prefixes delegated to the interface (`Ipv4Prefixes`, `Ipv6Prefixes`): its addresses too. */
  prefixes?: string[];
  /** EC2's `InterfaceType`: `interface`, `nat_gateway`, `transit_gateway`, ... */
  interfaceType?: string;
}

/** The prefixes delegated to an interface (EKS prefix delegation, IPv6 prefixes): its addresses too. */
export function prefixesOf(eni: {
  Ipv4Prefixes?: { Ipv4Prefix?: string }[];
  Ipv6Prefixes?: { Ipv6Prefix?: string }[];
}): { prefixes?: string[] } {
  const prefixes = [
    ...(eni.Ipv4Prefixes ?? []).flatMap((p) => (p.Ipv4Prefix ? [p.Ipv4Prefix] : [])),
    ...(eni.Ipv6Prefixes ?? []).flatMap((p) => (p.Ipv6Prefix ? [p.Ipv6Prefix] : [])),
  ];
  return prefixes.length === 0 ? {} : { prefixes };
}

/** A subnet's network ACL association. */
export interface SubnetAcl {
  subnetId: string;
  networkAclId: string;
  associationId?: string;
}

/** A security group rule as EC2 describes it (DescribeSecurityGroupRules). */
export interface SecurityGroupRuleFacts {
  ruleId: string;
  groupId: string;
  isEgress: boolean;
  /** The managed prefix list the rule names, where it names one. */
  prefixListId?: string;
}

/** What EC2 says about the alerted sources' network: one batch per run (Lambda) or a file (replay). */
export interface NetworkTopology {
  interfaces: InterfaceFacts[];
  subnetAcls: SubnetAcl[];
  /**
   * Security group rules: id -> group and direction (for ModifySecurityGroupRules), and the prefix
   * list a rule names (for ModifyManagedPrefixList: the source's groups' rules).
   */
  securityGroupRules: SecurityGroupRuleFacts[];
}

export const EMPTY_TOPOLOGY: NetworkTopology = { interfaces: [], subnetAcls: [], securityGroupRules: [] };

/** How the lookup of one account's changes went. */
export interface ChangeLookupOutcome {
  /**
   * `complete`: every egress-relevant event of the range was read. `incomplete`: some were
   * (throttled or failed part-way, the per-run bound reached, a Describe call failed): a cause
   * found is real, "none" cannot be claimed. `unavailable`: nothing could be read.
   */
  status: 'complete' | 'incomplete' | 'unavailable';
  /** Why it is not complete, for the alert: `CloudTrail LookupEvents throttled (ThrottlingException)`. */
  reason?: string;
}

/** The cause shown in an alert (raw JSON `likelyCause`). */
export interface LikelyCause {
  eventId: string;
  eventName: string;
  /** ISO-8601 UTC. */
  eventTime: string;
  principal: string;
  /** The group, ACL, interface or instance changed. */
  resource: string;
  description: string;
  accountId?: string;
  region?: string;
  /** The CloudTrail console page of the event (in its account and Region). */
  consoleUrl?: string;
  /** Minutes from the window's start to the change: negative before it. */
  minutesFromWindowStart: number;
  /** Mass spike: members this change explains, of how many. */
  explains?: number;
  of?: number;
}

/** Whether and how the cause was looked up (raw JSON `causeLookup`). */
export interface CauseLookup {
  /** `found`: `likelyCause` is set. `none`: every change of the range was read, none relates. `unavailable`: see `reason`. */
  status: 'found' | 'none' | 'unavailable';
  /** The CloudTrail event times searched (ISO-8601). */
  from: string;
  to: string;
  /** Changes in the range that relate to the alert's source(s). */
  relatedChanges?: number;
  /** Mass spike: members some related change explains. */
  membersExplained?: number;
  /** Why the lookup is incomplete or unavailable. */
  reason?: string;
}

// ---------------------------------------------------------------------------------------------
// Reading CloudTrail records

const ID_PATTERNS = {
  group: /^sg-[0-9a-f]{8,17}$/,
  acl: /^acl-[0-9a-f]{8,17}$/,
  association: /^aclassoc-[0-9a-f]{8,17}$/,
  eni: /^eni-[0-9a-f]{8,17}$/,
  instance: /^i-[0-9a-f]{8,17}$/,
  rule: /^sgr-[0-9a-f]{8,17}$/,
  prefixList: /^pl-[0-9a-f]{8,17}$/,
} as const;

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** Free text from a record (principals) is cut to this and stripped of control characters. */
const MAX_TEXT = 256;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0
    ? value.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').slice(0, MAX_TEXT)
    : undefined;
const idOf = (value: unknown, pattern: RegExp): string | undefined =>
  typeof value === 'string' && pattern.test(value) ? value : undefined;
/**
 * CloudTrail writes EC2 lists as `{"items": [...]}`, an empty one as `{}`; newer APIs as a bare
 * value or array.
 */
const itemsOf = (value: unknown): unknown[] => {
  if (Array.isArray(value)) return value;
  if (isObject(value) && Array.isArray(value.items)) return value.items;
  if (isObject(value) && Object.keys(value).length === 0) return [];
  return value === undefined || value === null ? [] : [value];
};

const PROTOCOL_NAMES: Record<string, string> = {
  '-1': 'all',
  '1': 'icmp',
  '6': 'tcp',
  '17': 'udp',
  '58': 'icmpv6',
};

function protocolName(protocol: unknown): string {
  const p = typeof protocol === 'number' ? String(protocol) : typeof protocol === 'string' ? protocol : '';
  if (p === '' || p === '-1' || p === 'all') return 'all';
  if (/^[a-z0-9]{1,10}$/.test(p)) return PROTOCOL_NAMES[p] ?? (/^\d+$/.test(p) ? `proto ${p}` : p);
  return '?';
}

function portsText(from: unknown, to: unknown): string {
  const f = typeof from === 'number' ? from : Number(from);
  const t = typeof to === 'number' ? to : Number(to);
  if (!Number.isInteger(f) || f < 0) return '';
  if (!Number.isInteger(t) || t === f) return `/${f}`;
  return t < 0 ? '' : `/${f}-${t}`;
}

/** `tcp/443`, `all traffic`, `udp/1024-65535`. */
function trafficText(protocol: unknown, from: unknown, to: unknown): string {
  const name = protocolName(protocol);
  if (name === 'all') return 'all traffic';
  return `${name}${name === 'icmp' || name === 'icmpv6' ? '' : portsText(from, to)}`;
}

const CIDR = /^[0-9a-fA-F:.]{2,45}\/\d{1,3}$/;
const cidrOf = (value: unknown): string | undefined =>
  typeof value === 'string' && CIDR.test(value) ? value : undefined;

/** What one EC2 IpPermission reaches: CIDRs, prefix lists, groups. */
function permissionTargets(permission: Json): string[] {
  const targets: string[] = [];
  for (const range of itemsOf(permission.ipRanges))
    if (isObject(range)) targets.push(cidrOf(range.cidrIp) ?? '');
  for (const range of itemsOf(permission.ipv6Ranges))
    if (isObject(range)) targets.push(cidrOf(range.cidrIpv6) ?? '');
  for (const list of itemsOf(permission.prefixListIds))
    if (isObject(list)) targets.push(idOf(list.prefixListId, ID_PATTERNS.prefixList) ?? '');
  // A group named by name (a default VPC's) stays a target: its members are as unknown as an id's.
  for (const group of itemsOf(permission.groups))
    if (isObject(group))
      targets.push(idOf(group.groupId, ID_PATTERNS.group) ?? groupNameText(group.groupName) ?? '');
  return targets.filter((t) => t !== '');
}

/** `group web-servers`: a security group named by its name (at most 64 characters shown). */
const groupNameText = (name: unknown): string | undefined => {
  const shown = text(name);
  return shown === undefined ? undefined : `group ${shown.slice(0, 64)}`;
};

/**
 * An ingress call's permissions: `ipPermissions`, or the older top-level form the ingress calls
 * still take (`CidrIp`, `IpProtocol`, `FromPort`, `ToPort`, `SourceSecurityGroupName`), which
 * CloudTrail writes beside an empty `ipPermissions`.
 */
function ingressPermissions(request: Json): EgressPermission[] {
  const nested = egressPermissions(request.ipPermissions);
  if (nested.length > 0) return nested;
  const { ipProtocol, fromPort, toPort, cidrIp, sourceSecurityGroupName } = request;
  if (ipProtocol === undefined && cidrIp === undefined && sourceSecurityGroupName === undefined) return [];
  const targets = [cidrOf(cidrIp) ?? text(cidrIp), groupNameText(sourceSecurityGroupName)].filter(
    (t): t is string => t !== undefined,
  );
  return [{ traffic: trafficText(ipProtocol ?? '-1', fromPort, toPort), targets }];
}

/** One EC2 IpPermission of a record: its traffic (`tcp/443`) and what it reaches. */
interface EgressPermission {
  traffic: string;
  targets: string[];
}

function egressPermissions(value: unknown): EgressPermission[] {
  return itemsOf(value)
    .filter(isObject)
    .map((p) => ({
      traffic: trafficText(p.ipProtocol, p.fromPort, p.toPort),
      targets: permissionTargets(p),
    }));
}

/**
 * What a RevokeSecurityGroupEgress removed: the permissions asked for less those EC2 answered it
 * did not know (`unknownIpPermissionSet`: a revoke of rules the group lacks succeeds and removes
 * nothing of them), or undefined when EC2 knew none of them. `partly`: EC2 listed unknown rules
 * it gave in another form than the request's ("in some cases ... in a different format from the
 * request parameter", says the EC2 reference), so what was removed is not known exactly.
 */
function revokedPermissions(
  asked: EgressPermission[],
  response: Json,
): { permissions: EgressPermission[]; partly: boolean } | undefined {
  const unknown = egressPermissions(response.unknownIpPermissionSet);
  if (unknown.length === 0) return { permissions: asked, partly: false };
  const unknownKeys = new Set(
    unknown.flatMap((p) =>
      p.targets.length === 0 ? [p.traffic] : p.targets.map((t) => `${p.traffic} to ${t}`),
    ),
  );
  const matched = new Set<string>();
  const permissions = asked.flatMap((p) => {
    if (p.targets.length === 0) {
      if (!unknownKeys.has(p.traffic)) return [p];
      matched.add(p.traffic);
      return [];
    }
    const targets = p.targets.filter((t) => {
      const key = `${p.traffic} to ${t}`;
      if (!unknownKeys.has(key)) return true;
      matched.add(key);
      return false;
    });
    return targets.length === 0 ? [] : [{ traffic: p.traffic, targets }];
  });
  if (asked.length > 0 && permissions.length === 0) return undefined;
  return { permissions, partly: matched.size < unknownKeys.size };
}

/**
 * `egress tcp/443 to 0.0.0.0/0 removed`, `ingress tcp/443 from 10.0.0.0/16 added` for each
 * permission (at most 3 shown).
 */
function securityGroupRulesText(
  permissions: readonly EgressPermission[],
  request: Json,
  verb: 'added' | 'removed',
  direction: 'egress' | 'ingress',
): string {
  const preposition = direction === 'egress' ? 'to' : 'from';
  const parts = permissions.map(({ traffic, targets }) => {
    const to =
      targets.length === 0
        ? ''
        : ` ${preposition} ${targets.slice(0, 3).join(', ')}${targets.length > 3 ? ` and ${targets.length - 3} more` : ''}`;
    return `${traffic}${to}`;
  });
  const ruleIds = itemsOf(request.securityGroupRuleIds)
    .map((r) => (isObject(r) ? idOf(r.securityGroupRuleId, ID_PATTERNS.rule) : idOf(r, ID_PATTERNS.rule)))
    .filter((id): id is string => id !== undefined);
  if (parts.length === 0 && ruleIds.length > 0)
    return `${direction} rule${ruleIds.length > 1 ? 's' : ''} ${listText(ruleIds)} ${verb}`;
  if (parts.length === 0) return `${direction} rules ${verb}`;
  return `${direction} ${listText(parts)} ${verb}`;
}

function listText(items: readonly string[], max = 3): string {
  return items.length <= max
    ? items.join('; ')
    : `${items.slice(0, max).join('; ')} and ${items.length - max} more`;
}

/** `deny tcp/443 to 198.51.100.77/32`. */
function aclEntryText(request: Json, ingress: boolean): string {
  const action = request.ruleAction === 'deny' ? 'deny' : request.ruleAction === 'allow' ? 'allow' : '?';
  const range = isObject(request.portRange) ? request.portRange : {};
  const cidr = cidrOf(request.cidrBlock) ?? cidrOf(request.ipv6CidrBlock);
  return `${action} ${trafficText(request.aclProtocol ?? request.protocol, range.from, range.to)}${cidr ? ` ${ingress ? 'from' : 'to'} ${cidr}` : ''}`;
}

const ruleNumberOf = (request: Json): string => {
  const n = Number(request.ruleNumber);
  return Number.isInteger(n) && n > 0 ? ` ${n}` : '';
};

function groupSetOf(request: Json): string[] | undefined {
  if (request.groupSet === undefined) return undefined;
  return itemsOf(request.groupSet)
    .map((g) => (isObject(g) ? idOf(g.groupId, ID_PATTERNS.group) : undefined))
    .filter((id): id is string => id !== undefined);
}

/** The rules a ModifySecurityGroupRules request names, with what each was changed to. */
function modifiedRules(request: Json): { ruleId: string; to: string }[] {
  return itemsOf(request.SecurityGroupRule)
    .filter(isObject)
    .flatMap((entry) => {
      const ruleId = idOf(entry.SecurityGroupRuleId, ID_PATTERNS.rule);
      if (ruleId === undefined) return [];
      const rule = isObject(entry.SecurityGroupRule) ? entry.SecurityGroupRule : {};
      const target =
        cidrOf(rule.CidrIpv4) ??
        cidrOf(rule.CidrIpv6) ??
        idOf(rule.PrefixListId, ID_PATTERNS.prefixList) ??
        idOf(rule.ReferencedGroupId, ID_PATTERNS.group);
      return [
        {
          ruleId,
          // (The record does not say whether the rule is an egress or an ingress one: `with`.)
          to: `${trafficText(rule.IpProtocol, rule.FromPort, rule.ToPort)}${target ? ` with ${target}` : ''}`,
        },
      ];
    });
}

const isFalse = (value: unknown): boolean => value === false || value === 'false';

function answeredFalse(response: Json): boolean {
  if (isFalse(response._return) || isFalse(response.return)) return true;
  return Object.entries(response).some(
    ([key, inner]) =>
      key.endsWith('Response') && isObject(inner) && (isFalse(inner.return) || isFalse(inner.Return)),
  );
}

function principalOf(record: Json): string {
  const identity = isObject(record.userIdentity) ? record.userIdentity : {};
  return (
    text(identity.arn) ??
    (identity.type === 'AWSService' ? text(identity.invokedBy) : undefined) ??
    text(identity.principalId) ??
    text(identity.type) ??
    'unknown'
  );
}

/**
 * The egress-policy change a CloudTrail record holds, or undefined: another event, a call that
 * failed (`errorCode`), an ingress ACL entry, an attribute change that is not a group set, or a
 * record without the ids it needs (ids are checked against their AWS shapes: nothing unchecked
 * from a record reaches an alert's resource or link).
 */
export function parsePolicyChange(record: unknown): PolicyChange | undefined {
  if (!isObject(record)) return undefined;
  const eventName = record.eventName;
  if (typeof eventName !== 'string' || !(EGRESS_CHANGE_EVENT_NAMES as readonly string[]).includes(eventName))
    return undefined;
  if (record.eventSource !== undefined && record.eventSource !== 'ec2.amazonaws.com') return undefined;
  if (record.errorCode !== undefined && record.errorCode !== null) return undefined;
  // A call answered `return: false` changed nothing (EC2 answers true or an error; the newer APIs
  // wrap their answer in `<Action>Response`).
  if (isObject(record.responseElements) && answeredFalse(record.responseElements)) return undefined;
  const eventId =
    typeof record.eventID === 'string' && /^[\w-]{1,128}$/.test(record.eventID) ? record.eventID : undefined;
  const eventTime = typeof record.eventTime === 'string' ? Date.parse(record.eventTime) : NaN;
  if (eventId === undefined || !Number.isFinite(eventTime)) return undefined;
  const request = isObject(record.requestParameters) ? record.requestParameters : {};
  const response = isObject(record.responseElements) ? record.responseElements : {};
  const accountText =
    record.recipientAccountId ?? (isObject(record.userIdentity) ? record.userIdentity.accountId : undefined);
  const base = {
    eventId,
    eventName: eventName as EgressChangeEventName,
    eventTime,
    ...(typeof accountText === 'string' && ACCOUNT_ID.test(accountText) ? { accountId: accountText } : {}),
    ...(typeof record.awsRegion === 'string' && REGION.test(record.awsRegion)
      ? { region: record.awsRegion }
      : {}),
    principal: principalOf(record),
  };
  const change = (
    target: ChangeTarget,
    description: string,
    effect: ChangeEffect,
    extra: Partial<PolicyChange> = {},
  ): PolicyChange => ({ ...base, target, description, effect, ...extra });

  switch (eventName as EgressChangeEventName) {
    case 'AuthorizeSecurityGroupEgress':
    case 'RevokeSecurityGroupEgress': {
      const groupId = idOf(request.groupId, ID_PATTERNS.group);
      if (groupId === undefined) return undefined;
      if (eventName === 'AuthorizeSecurityGroupEgress')
        return change(
          { kind: 'security-group', groupId },
          securityGroupRulesText(egressPermissions(request.ipPermissions), request, 'added', 'egress'),
          'loosens',
        );
      const revoked = revokedPermissions(egressPermissions(request.ipPermissions), response);
      if (revoked === undefined) return undefined;
      // Part of it unknown to EC2 in a form not matched to the request: it removed something,
      // not necessarily what the text lists, so no claim that it tightened.
      return change(
        { kind: 'security-group', groupId },
        `${securityGroupRulesText(revoked.permissions, request, 'removed', 'egress')}${revoked.partly ? ' (EC2 reported rules the group did not have)' : ''}`,
        revoked.partly ? 'changes' : 'tightens',
      );
    }
    case 'AuthorizeSecurityGroupIngress':
    case 'RevokeSecurityGroupIngress': {
      const groupId = idOf(request.groupId, ID_PATTERNS.group);
      if (groupId === undefined) return undefined;
      const revoke = eventName === 'RevokeSecurityGroupIngress';
      const asked = ingressPermissions(request);
      const revoked = revoke ? revokedPermissions(asked, response) : undefined;
      if (revoke && revoked === undefined) return undefined;
      const permissions = revoked?.permissions ?? asked;
      const targets = permissions.flatMap((p) => p.targets);
      const onlyCidrs =
        permissions.length > 0 &&
        permissions.every((p) => p.targets.length > 0) &&
        targets.every((t) => cidrOf(t) !== undefined);
      const target: ChangeTarget = {
        kind: 'security-group',
        groupId,
        ingress: true,
        ...(onlyCidrs ? { sourceCidrs: targets } : {}),
      };
      if (!revoke)
        return change(target, securityGroupRulesText(permissions, request, 'added', 'ingress'), 'loosens');
      return change(
        target,
        `${securityGroupRulesText(permissions, request, 'removed', 'ingress')}${revoked!.partly ? ' (EC2 reported rules the group did not have)' : ''}`,
        revoked!.partly ? 'changes' : 'tightens',
      );
    }
    case 'ModifySecurityGroupRules': {
      const inner = wrapped(request, 'ModifySecurityGroupRulesRequest');
      const groupId = idOf(inner.GroupId, ID_PATTERNS.group);
      const rules = modifiedRules(inner);
      if (groupId === undefined || rules.length === 0) return undefined;
      return change(
        { kind: 'security-group', groupId },
        `rule${rules.length > 1 ? 's' : ''} ${listText(rules.map((r) => `${r.ruleId} changed to ${r.to}`))}`,
        'changes',
        { ruleIds: rules.map((r) => r.ruleId) },
      );
    }
    case 'CreateNetworkAclEntry':
    case 'ReplaceNetworkAclEntry':
    case 'DeleteNetworkAclEntry': {
      // Egress entries refuse what leaves a host's subnet; ingress entries what enters a subnet,
      // which matters where a NAT gateway or an appliance forwards the host's packets (relates).
      const egress = request.egress === true || request.egress === 'true';
      const ingress = request.egress === false || request.egress === 'false';
      if (!egress && !ingress) return undefined;
      const networkAclId = idOf(request.networkAclId, ID_PATTERNS.acl);
      if (networkAclId === undefined) return undefined;
      const entryCidr = cidrOf(request.cidrBlock) ?? cidrOf(request.ipv6CidrBlock);
      const target: ChangeTarget = {
        kind: 'network-acl',
        networkAclId,
        ...(ingress ? { ingress: true } : {}),
        // An added entry matches only its CIDR's sources. A replaced entry's record holds its new
        // CIDR only: narrowing an allow blocks sources outside the new one, so it keeps none.
        ...(ingress && entryCidr !== undefined && eventName === 'CreateNetworkAclEntry'
          ? { sourceCidr: entryCidr }
          : {}),
      };
      const direction = ingress ? 'ingress' : 'egress';
      const rule = ruleNumberOf(request);
      if (eventName === 'DeleteNetworkAclEntry')
        return change(target, `${direction} entry${rule} deleted`, 'changes');
      const entry = aclEntryText(request, ingress);
      if (eventName === 'ReplaceNetworkAclEntry')
        return change(target, `${direction} entry${rule} replaced with ${entry}`, 'changes');
      return change(
        target,
        `${direction} entry${rule} added: ${entry}`,
        request.ruleAction === 'deny' ? 'tightens' : request.ruleAction === 'allow' ? 'loosens' : 'changes',
      );
    }
    case 'ReplaceNetworkAclAssociation': {
      const networkAclId = idOf(request.networkAclId, ID_PATTERNS.acl);
      if (networkAclId === undefined) return undefined;
      const associationId = idOf(response.newAssociationId, ID_PATTERNS.association);
      return change(
        { kind: 'network-acl-association', networkAclId, ...(associationId ? { associationId } : {}) },
        `a subnet moved to network ACL ${networkAclId}`,
        'changes',
      );
    }
    case 'ModifyNetworkInterfaceAttribute': {
      const networkInterfaceId = idOf(request.networkInterfaceId, ID_PATTERNS.eni);
      const groupIds = groupSetOf(request);
      if (networkInterfaceId === undefined || groupIds === undefined) return undefined;
      return change(
        { kind: 'interface-groups', networkInterfaceId, groupIds },
        `security groups set to ${groupIds.join(', ') || 'none'}`,
        'changes',
      );
    }
    case 'ModifyInstanceAttribute': {
      const instanceId = idOf(request.instanceId, ID_PATTERNS.instance);
      const groupIds = groupSetOf(request);
      if (instanceId === undefined || groupIds === undefined) return undefined;
      return change(
        { kind: 'instance-groups', instanceId, groupIds },
        `security groups set to ${groupIds.join(', ') || 'none'}`,
        'changes',
      );
    }
    case 'ModifyManagedPrefixList': {
      const inner = wrapped(request, 'ModifyManagedPrefixListRequest');
      const prefixListId = idOf(inner.PrefixListId ?? inner.prefixListId, ID_PATTERNS.prefixList);
      if (prefixListId === undefined) return undefined;
      const added = prefixListEntries(inner, ['AddEntry', 'AddEntries', 'addEntry', 'addEntries']);
      const removed = prefixListEntries(inner, [
        'RemoveEntry',
        'RemoveEntries',
        'removeEntry',
        'removeEntries',
      ]);
      const parts = [
        ...(removed.length > 0 ? [`${listText(removed)} removed`] : []),
        ...(added.length > 0 ? [`${listText(added)} added`] : []),
      ];
      if (parts.length === 0) {
        // A new name or a larger MaxEntries changes no rule. Anything else in the request (a form
        // of the entries this reading does not know) may have: named, with no claim of its effect.
        const known = new Set([
          'PrefixListId',
          'prefixListId',
          'CurrentVersion',
          'currentVersion',
          'PrefixListName',
          'prefixListName',
          'MaxEntries',
          'maxEntries',
          'DryRun',
          'dryRun',
        ]);
        if (Object.keys(inner).every((key) => known.has(key))) return undefined;
        return change({ kind: 'prefix-list', prefixListId }, 'entries changed', 'changes');
      }
      // A security group rule only allows: entries removed from a list it names can only block
      // more, entries added only allow more.
      return change(
        { kind: 'prefix-list', prefixListId },
        `prefix list entr${added.length + removed.length > 1 ? 'ies' : 'y'} ${parts.join(' and ')}`,
        added.length === 0 ? 'tightens' : removed.length === 0 ? 'loosens' : 'changes',
      );
    }
    case 'RestoreManagedPrefixListVersion': {
      const inner = wrapped(request, 'RestoreManagedPrefixListVersionRequest');
      const prefixListId = idOf(inner.PrefixListId ?? inner.prefixListId, ID_PATTERNS.prefixList);
      if (prefixListId === undefined) return undefined;
      const version = inner.PreviousVersion ?? inner.previousVersion;
      const known =
        (typeof version === 'number' && Number.isSafeInteger(version) && version >= 0) ||
        (typeof version === 'string' && /^\d{1,9}$/.test(version));
      return change(
        { kind: 'prefix-list', prefixListId },
        `prefix list restored to ${known ? `version ${version}` : 'an earlier version'}`,
        'changes',
      );
    }
  }
}

/** The newer EC2 APIs' CloudTrail form wraps the request in `<Action>Request`. */
const wrapped = (request: Json, key: string): Json => (isObject(request[key]) ? request[key] : request);

/** The CIDRs of a ModifyManagedPrefixList request's entries (one: an object; several: a list). */
function prefixListEntries(request: Json, keys: readonly string[]): string[] {
  return keys.flatMap((key) =>
    itemsOf(request[key]).flatMap((entry) => {
      const cidr = isObject(entry) ? cidrOf(entry.Cidr ?? entry.cidr) : undefined;
      return cidr === undefined ? [] : [cidr];
    }),
  );
}

/** The changed resource's id. */
export function changedResource(change: PolicyChange): string {
  const t = change.target;
  switch (t.kind) {
    case 'security-group':
      return t.groupId;
    case 'network-acl':
    case 'network-acl-association':
      return t.networkAclId;
    case 'interface-groups':
      return t.networkInterfaceId;
    case 'instance-groups':
      return t.instanceId;
    case 'prefix-list':
      return t.prefixListId;
  }
}

/** The CloudTrail console's page of one event (it opens in the event's account and Region). */
export function cloudTrailEventUrl(region: string, eventId: string): string {
  const r = encodeURIComponent(region);
  return `${consoleOrigin(region)}/cloudtrailv2/home?region=${r}#/events/${encodeURIComponent(eventId)}`;
}

// ---------------------------------------------------------------------------------------------
// Relating changes to sources

/**
 * The longest aggregation interval of a flow log (minutes): a record that starts in a window
 * holds packets of at most this long after its start.
 */
export const MAX_AGGREGATION_MINUTES = 10;

/**
 * How long after a call its event may still be missing from CloudTrail's event history:
 * CloudTrail delivers events "within an average of about 5 minutes" of the call, without a
 * guarantee. The Lambda calls a lookup complete only up to this long before it looks.
 */
export const CLOUDTRAIL_DELIVERY_MINUTES = 10;

/**
 * The CloudTrail event times searched for a window: the lookback before it through its end plus
 * the longest aggregation interval, or less when the lag leaves less time than that for CloudTrail
 * to deliver events. A record counted in the window starts in it and aggregates packets for up to
 * 10 minutes, so a change made just after the end can still show in it; a change made later cannot
 * have caused anything the window counted. The Lambda looks about `lagMinutes` after the window's
 * end and CloudTrail may still lack the events of the last CLOUDTRAIL_DELIVERY_MINUTES, so the
 * search ends that long before the lookup: with the default lag (20) at the end plus 10 minutes,
 * with a lag of 10 or less (the stack's own 1-minute flow logs) at the window's end. The replay
 * searches the same range.
 */
export function causeSearchRange(
  windowStart: number,
  config: Pick<DetectorConfig, 'windowMinutes' | 'lagMinutes' | 'changeLookbackMinutes'>,
): { from: number; to: number } {
  const afterEnd = Math.min(
    MAX_AGGREGATION_MINUTES,
    Math.max(0, config.lagMinutes - CLOUDTRAIL_DELIVERY_MINUTES),
  );
  return {
    from: windowStart - config.changeLookbackMinutes * 60_000,
    to: windowStart + windowMs(config) + afterEnd * 60_000,
  };
}

/** An alerted source as the relation needs it. */
export interface SourceRef {
  accountId?: string;
  vpcId?: string;
  address: string;
  /** The interfaces its records were logged on (the details query), where known. */
  interfaceIds?: readonly string[];
}

const canonical = (address: string): string => parseAddress(address)?.toString() ?? address;

/**
 * Whether an interface the source's records were logged on forwards the source's packets rather
 * than being the source's own: EC2 knows it, and it does not hold the source's address (a NAT
 * gateway's, an appliance's). There a packet from the host enters the interface's subnet, whose
 * ACL's ingress entries can refuse it.
 */
function forwards(facts: InterfaceFacts, source: SourceRef): boolean {
  if (facts.addresses.length === 0 && (facts.prefixes ?? []).length === 0) return false;
  if (!(source.interfaceIds ?? []).includes(facts.networkInterfaceId)) return false;
  // A NAT gateway's, or an instance's that forwards (an appliance). Not a transit gateway
  // attachment's: its subnet's ingress entries are not evaluated for traffic from the transit
  // gateway, and a record does not say which way the packet crossed (AWS, "Network ACLs for
  // transit gateways"); nor an endpoint's or a load balancer's.
  if (facts.interfaceType !== undefined && !FORWARDING_TYPES.has(facts.interfaceType)) return false;
  return !holdsAddress(facts, source.address);
}

const FORWARDING_TYPES = new Set(['interface', 'nat_gateway']);

/** Whether the interface holds the address: one of its addresses, or in a prefix delegated to it. */
function holdsAddress(facts: InterfaceFacts, address: string): boolean {
  const key = canonical(address);
  if (facts.addresses.some((held) => canonical(held) === key)) return true;
  const parsed = parseAddress(address);
  return parsed !== undefined && inAnyCidr(parsed, cidrsOf(facts.prefixes ?? []));
}

const cidrsOf = (texts: readonly string[]): Cidr[] =>
  texts.flatMap((text) => {
    try {
      return [parseCidr(text)];
    } catch {
      return [];
    }
  });

/** Indexes over a topology, built once per explanation. */
class TopologyIndex {
  private readonly byAddress = new Map<string, InterfaceFacts[]>();
  private readonly byId = new Map<string, InterfaceFacts>();
  private readonly aclOfSubnet = new Map<string, SubnetAcl>();
  private readonly rules = new Map<string, { groupId: string; isEgress: boolean }>();
  /** Per security group, the prefix lists its egress rules name. */
  private readonly egressPrefixLists = new Map<string, Set<string>>();

  constructor(topology: NetworkTopology) {
    for (const facts of topology.interfaces) {
      this.byId.set(facts.networkInterfaceId, facts);
      for (const address of facts.addresses) {
        const key = canonical(address);
        const list = this.byAddress.get(key);
        if (list) list.push(facts);
        else this.byAddress.set(key, [facts]);
      }
    }
    for (const acl of topology.subnetAcls) this.aclOfSubnet.set(acl.subnetId, acl);
    for (const rule of topology.securityGroupRules) {
      this.rules.set(rule.ruleId, rule);
      if (!rule.isEgress || rule.prefixListId === undefined) continue;
      const lists = this.egressPrefixLists.get(rule.groupId);
      if (lists) lists.add(rule.prefixListId);
      else this.egressPrefixLists.set(rule.groupId, new Set([rule.prefixListId]));
    }
  }

  /**
   * The source's interfaces: those its records name, and those holding its address in its
   * account and VPC. Private addresses repeat across VPCs: where the records name no VPC, the
   * VPCs of the interfaces they name decide; where nothing does and the address is held in more
   * than one VPC, the address relates nothing (`ambiguousVpcs`: how many VPCs hold it).
   */
  interfacesOf(source: SourceRef): { interfaces: InterfaceFacts[]; ambiguousVpcs?: number } {
    const found = new Map<string, InterfaceFacts>();
    const namedVpcs = new Set<string>();
    for (const id of source.interfaceIds ?? []) {
      const facts = this.byId.get(id);
      found.set(id, facts ?? { networkInterfaceId: id, groupIds: [], addresses: [] });
      if (facts?.vpcId !== undefined) namedVpcs.add(facts.vpcId);
    }
    const vpc = source.vpcId;
    const holders = (this.byAddress.get(canonical(source.address)) ?? []).filter(
      (facts) =>
        (source.accountId === undefined ||
          facts.accountId === undefined ||
          facts.accountId === source.accountId) &&
        (facts.vpcId === undefined ||
          (vpc !== undefined ? facts.vpcId === vpc : namedVpcs.size === 0 || namedVpcs.has(facts.vpcId))),
    );
    const holderVpcs = new Set(holders.flatMap((facts) => (facts.vpcId === undefined ? [] : [facts.vpcId])));
    // (With the VPC known, every holder is in it.)
    if (namedVpcs.size === 0 && holderVpcs.size > 1)
      return { interfaces: [...found.values()], ambiguousVpcs: holderVpcs.size };
    for (const facts of holders) found.set(facts.networkInterfaceId, facts);
    return { interfaces: [...found.values()] };
  }

  /** Whether the change touched the policy that decides this interface's egress. */
  relates(change: PolicyChange, facts: InterfaceFacts, source: SourceRef): boolean {
    const t = change.target;
    switch (t.kind) {
      case 'security-group': {
        if (!facts.groupIds.includes(t.groupId)) return false;
        // Ingress rules only through an interface that forwards the source's packets (an
        // appliance's), and only rules whose CIDRs (where known) hold the source.
        if (t.ingress === true) return forwards(facts, source) && holdsSource(t.sourceCidrs, source);
        // ModifySecurityGroupRules: when one of its rules is an egress rule of that group, or an
        // ingress rule of it on an interface that forwards the source's packets.
        if (change.ruleIds === undefined) return true;
        const forwarding = forwards(facts, source);
        return change.ruleIds.some((id) => {
          const rule = this.rules.get(id);
          return rule !== undefined && (rule.isEgress || forwarding);
        });
      }
      case 'network-acl':
        // An ingress entry only through an interface that forwards the source's packets, and only
        // one whose CIDR matches the source (an entry for other hosts does not refuse its packets).
        if (t.ingress === true) {
          if (!forwards(facts, source)) return false;
          if (!holdsSource(t.sourceCidr === undefined ? undefined : [t.sourceCidr], source)) return false;
        }
        return (
          facts.subnetId !== undefined &&
          this.aclOfSubnet.get(facts.subnetId)?.networkAclId === t.networkAclId
        );
      case 'network-acl-association': {
        const acl = facts.subnetId === undefined ? undefined : this.aclOfSubnet.get(facts.subnetId);
        if (acl === undefined) return false;
        return t.associationId !== undefined && acl.associationId !== undefined
          ? acl.associationId === t.associationId
          : acl.networkAclId === t.networkAclId;
      }
      case 'interface-groups':
        return facts.networkInterfaceId === t.networkInterfaceId;
      case 'instance-groups':
        return facts.instanceId === t.instanceId;
      case 'prefix-list':
        // Network ACL entries take CIDRs only: a list reaches the source through its groups.
        return facts.groupIds.some(
          (groupId) => this.egressPrefixLists.get(groupId)?.has(t.prefixListId) === true,
        );
    }
  }
}

const EFFECT_RANK: Record<ChangeEffect, number> = { tightens: 2, changes: 1, loosens: 0 };

/**
 * Orders the changes that relate to one source (or explain the same number of a mass spike's
 * members): changes made by the window's end before those after it (those can reach only the
 * last minutes of the window's records); then what can only block more, then what may, then what
 * can only allow more; among equals the latest first (the change closest before the blocking is
 * the likelier cause).
 */
function compareCauses(windowEnd: number) {
  return (a: PolicyChange, b: PolicyChange): number =>
    Number(a.eventTime > windowEnd) - Number(b.eventTime > windowEnd) ||
    EFFECT_RANK[b.effect] - EFFECT_RANK[a.effect] ||
    b.eventTime - a.eventTime ||
    (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

/** What the explanation needs: the changes read, the network facts, and how each account's lookup went. */
export interface ChangeEvidence {
  changes: readonly PolicyChange[];
  topology: NetworkTopology;
  /**
   * How the lookup of a source's account (undefined: the records name none) went for the event
   * times `range`.
   */
  lookupFor(accountId: string | undefined, range: { from: number; to: number }): ChangeLookupOutcome;
}

/** The sources an alert is about, for the relation: a spike's own, a mass spike's members. */
export function alertSourceRefs(alert: Alert): SourceRef[] {
  type Located = { accountId?: string; vpcId?: string };
  const where = (located: Located) => ({
    ...(located.accountId === undefined ? {} : { accountId: located.accountId }),
    ...(located.vpcId === undefined ? {} : { vpcId: located.vpcId }),
  });
  if (alert.kind === 'mass-spike') {
    const members = alert.members ?? [];
    if (members.length > 0)
      return members.map((member) => ({ address: member.srcIp, ...where(member as Located) }));
    return (alert.srcIps ?? []).map((address) => ({ address }));
  }
  if (alert.srcIp === undefined) return [];
  return [
    {
      address: alert.srcIp,
      ...where(alert as Located),
      ...(alert.details ? { interfaceIds: alert.details.interfaceIds } : {}),
    },
  ];
}

/**
 * Whether an ingress rule's or entry's CIDRs hold the source: true where they are not known (a
 * rule naming a group or a prefix list, an entry replaced) or none parses strictly (it narrows
 * nothing then: the relation stands).
 */
function holdsSource(texts: readonly string[] | undefined, source: SourceRef): boolean {
  const cidrs = cidrsOf(texts ?? []);
  if (cidrs.length === 0) return true;
  const parsed = parseAddress(source.address);
  return parsed !== undefined && inAnyCidr(parsed, cidrs);
}

/**
 * An ingress entry or ingress rule change (which relates only through a forwarding interface)
 * whose CIDRs (where known) hold one of the sources' addresses.
 */
function ingressChangeMayHold(change: PolicyChange, sources: readonly SourceRef[]): boolean {
  // A rule or entry added that can only allow more blocks nothing (named when it relates, never
  // a reason the search could not answer).
  if (change.effect === 'loosens') return false;
  const t = change.target;
  if (t.kind === 'network-acl' && t.ingress === true) {
    const cidrs = t.sourceCidr === undefined ? undefined : [t.sourceCidr];
    return sources.some((source) => holdsSource(cidrs, source));
  }
  if (t.kind === 'security-group' && t.ingress === true)
    return sources.some((source) => holdsSource(t.sourceCidrs, source));
  return false;
}

/**
 * Whether a change could relate to a source at all: an interface's or an instance's group set
 * belongs to the change's account; security groups, network ACLs (a shared VPC's are its
 * owner's) and prefix lists can be another account's.
 */
export function mayRelate(change: PolicyChange, source: Pick<SourceRef, 'accountId'>): boolean {
  if (change.target.kind !== 'interface-groups' && change.target.kind !== 'instance-groups') return true;
  return (
    change.accountId === undefined || source.accountId === undefined || change.accountId === source.accountId
  );
}

/** Alerts whose cause is looked up: spikes and mass spikes (a new source has no "before" to change). */
export const wantsCause = (alert: Alert): boolean => alert.kind === 'spike' || alert.kind === 'mass-spike';

/**
 * Adds `likelyCause` and `causeLookup` to each spike and mass-spike alert and applies the
 * `policyChangeSpikes` setting: `downgrade` lowers an explained spike (a mass spike whose members
 * related changes all explain) to severity `low`, keeping the original in `downgradedFrom`.
 * Other alerts are returned as they are. Never drops an alert.
 */
export function explainAlerts(
  alerts: readonly Alert[],
  evidence: ChangeEvidence,
  config: Pick<
    DetectorConfig,
    'windowMinutes' | 'lagMinutes' | 'changeLookbackMinutes' | 'policyChangeSpikes'
  >,
): Alert[] {
  if (config.policyChangeSpikes === 'off') return [...alerts];
  const index = new TopologyIndex(evidence.topology);
  return alerts.map((alert) => {
    if (!wantsCause(alert)) return alert;
    const windowStart = Date.parse(alert.windowStart);
    const windowEnd = Date.parse(alert.windowEnd);
    const range = causeSearchRange(windowStart, config);
    const inRange = evidence.changes.filter((c) => c.eventTime >= range.from && c.eventTime <= range.to);
    const sources = alertSourceRefs(alert);
    // Per source, the changes that relate to it; per change, the sources it explains.
    const explainedBy = new Map<string, Set<number>>();
    let ambiguousVpcs = 0;
    let unknownInterfaces = 0;
    const relatedPerSource = sources.map((source, sourceIndex) => {
      const held = index.interfacesOf(source);
      const interfaces = held.interfaces;
      ambiguousVpcs = Math.max(ambiguousVpcs, held.ambiguousVpcs ?? 0);
      // (A source that is no address, from an old state file, can have no interface to know.)
      const unknown = interfaces.length === 0 && (held.ambiguousVpcs ?? 0) === 0;
      // (Only where a change read could have related: another account's interface or instance
      // group set never does, and the Lambda does not describe this account's sources for it.)
      if (unknown && parseAddress(source.address) !== undefined && inRange.some((c) => mayRelate(c, source)))
        unknownInterfaces += 1;
      const related: number[] = [];
      inRange.forEach((change, i) => {
        if (!interfaces.some((facts) => index.relates(change, facts, source))) return;
        related.push(i);
        let set = explainedBy.get(change.eventId);
        if (!set) explainedBy.set(change.eventId, (set = new Set()));
        set.add(sourceIndex);
      });
      return related;
    });
    const relatedIndexes = [...new Set(relatedPerSource.flat())];
    const lookups = [...new Set(sources.map((s) => s.accountId))].map((a) => evidence.lookupFor(a, range));
    const notComplete = lookups.find((l) => l.status !== 'complete');
    const lookupBase = { from: isoTime(range.from), to: isoTime(range.to) };
    if (relatedIndexes.length === 0) {
      const reason =
        notComplete !== undefined
          ? (notComplete.reason ?? 'the lookup did not complete')
          : ambiguousVpcs > 0
            ? `the address is held in ${ambiguousVpcs} VPCs and the records name neither its VPC nor a known interface`
            : !sources.some((s) => (s.interfaceIds ?? []).length > 0) &&
                inRange.some((c) => ingressChangeMayHold(c, sources))
              ? // A NAT gateway's subnet's ingress entry (or an appliance's ingress rule) blocks every
                // host behind it at once; but it relates only through the interfaces a source's
                // records were logged on, which a mass spike's members do not carry, nor a spike
                // whose details could not be read (or whose format has no interface-id): "none
                // found" would not be true.
                `${inRange.some((c) => c.target.kind === 'network-acl' && ingressChangeMayHold(c, sources)) ? 'a network ACL ingress entry' : "a security group's ingress rules"} changed in the range; it relates only through the interfaces the records were logged on (a NAT gateway's or an appliance's), which ${alert.kind === 'mass-spike' ? "a mass spike's members do not carry: see the members' own records" : "this alert's details do not name: see the source's own records"}`
              : unknownInterfaces > 0
                ? // Changes were read, but with the source's security groups and subnet unknown none
                  // could be related: "none found" would claim a search that could not relate
                  // anything (an Auto Scaling or EKS interface since gone). With no change in the
                  // range at all, none found is true whatever the interfaces.
                  `${sources.length === 1 ? "the source's network interface is" : `${unknownInterfaces} of ${sources.length} sources' network interfaces are`} not known to EC2 (deleted since?), so no change could be related to ${sources.length === 1 ? 'it' : 'them'}`
                : undefined;
      const causeLookup: CauseLookup =
        reason === undefined
          ? { status: 'none', ...lookupBase }
          : { status: 'unavailable', ...lookupBase, reason };
      return { ...alert, causeLookup };
    }
    const compare = compareCauses(windowEnd);
    const candidates = relatedIndexes.map((i) => inRange[i] as PolicyChange);
    // A mass spike: the change that explains most members (ties ordered as for one source).
    const count = (c: PolicyChange) => explainedBy.get(c.eventId)?.size ?? 0;
    candidates.sort((a, b) => count(b) - count(a) || compare(a, b));
    const best = candidates[0] as PolicyChange;
    const mass = alert.kind === 'mass-spike';
    const membersExplained = relatedPerSource.filter((r) => r.length > 0).length;
    const likelyCause: LikelyCause = {
      eventId: best.eventId,
      eventName: best.eventName,
      eventTime: isoTime(best.eventTime),
      principal: best.principal,
      resource: changedResource(best),
      description: best.description,
      ...(best.accountId === undefined ? {} : { accountId: best.accountId }),
      ...(best.region === undefined
        ? {}
        : { region: best.region, consoleUrl: cloudTrailEventUrl(best.region, best.eventId) }),
      // Whole minutes down: a change 24 s before the window's end is 59 minutes into it, not 60.
      minutesFromWindowStart: Math.floor((best.eventTime - windowStart) / 60_000),
      ...(mass ? { explains: count(best), of: sources.length } : {}),
    };
    const causeLookup: CauseLookup = {
      status: 'found',
      ...lookupBase,
      relatedChanges: candidates.length,
      ...(mass ? { membersExplained } : {}),
      ...(notComplete === undefined
        ? {}
        : { reason: `lookup incomplete: ${notComplete.reason ?? 'not every change could be read'}` }),
    };
    const explained: Alert = { ...alert, likelyCause, causeLookup };
    // A change that can only allow more (an egress rule or ACL allow entry added) is named, but
    // it cannot explain more blocking: it never lowers an alert (else anyone who may edit a
    // security group could quiet a real spike by adding a harmless rule just before it).
    const canBlock = (i: number) => (inRange[i] as PolicyChange).effect !== 'loosens';
    const everyMember = !mass || relatedPerSource.every((related) => related.some(canBlock));
    // A change made after the window's end reached only the tail of its records: it is named,
    // but it does not make the spike expected.
    const beforeEnd = best.eventTime <= windowEnd;
    if (
      config.policyChangeSpikes === 'downgrade' &&
      best.effect !== 'loosens' &&
      everyMember &&
      beforeEnd &&
      alert.severity !== 'low'
    )
      return { ...explained, severity: 'low', downgradedFrom: alert.severity };
    return explained;
  });
}

/** `8 minutes before the window`, `12 minutes into the window`, `3 minutes after the window's end`. */
export function causeTimingText(
  cause: Pick<LikelyCause, 'minutesFromWindowStart'>,
  windowMinutes: number,
): string {
  const m = cause.minutesFromWindowStart;
  const minutes = (n: number) => `${n} minute${n === 1 ? '' : 's'}`;
  if (m < 0) return `${minutes(-m)} before the window`;
  if (m < windowMinutes) return m === 0 ? 'as the window began' : `${minutes(m)} into the window`;
  return `${minutes(m - windowMinutes)} after the window's end`;
}

/**
 * One line for people: `RevokeSecurityGroupEgress on sg-0abc (egress tcp/443 to 0.0.0.0/0
 * removed) by arn:aws:sts::123456789012:assumed-role/Deployer/jane at 14:52 UTC, 8 minutes before
 * the window`, and for a mass spike `; explains 38 of 40 sources`.
 */
export function likelyCauseText(cause: LikelyCause, alert: Pick<Alert, 'windowStart' | 'windowEnd'>): string {
  const windowStart = Date.parse(alert.windowStart);
  const windowMinutes = Math.round((Date.parse(alert.windowEnd) - windowStart) / 60_000);
  const at = Date.parse(cause.eventTime);
  const sameDay = Math.floor(at / 86_400_000) === Math.floor(windowStart / 86_400_000);
  const clock = new Date(at)
    .toISOString()
    .slice(sameDay ? 11 : 0, 16)
    .replace('T', ' ');
  const explains =
    cause.explains === undefined
      ? ''
      : `; explains ${cause.explains} of ${cause.of ?? cause.explains} sources`;
  return (
    `${cause.eventName} on ${cause.resource} (${cause.description}) by ${cause.principal} ` +
    `at ${clock} UTC, ${causeTimingText(cause, windowMinutes)}${explains}`
  );
}

/** When no cause is shown: why (`none`: nothing related was changed; `unavailable`: the lookup failed). */
export function noCauseText(lookup: CauseLookup): string {
  const span = `${lookup.from.replace('T', ' ').replace(/:00Z$|Z$/, '')} to ${lookup.to.slice(11, 16)} UTC`;
  if (lookup.status === 'none')
    return `none found: no egress-policy change of its security groups or network ACL in CloudTrail from ${span}`;
  return `not known: ${lookup.reason ?? 'the lookup did not complete'}; the alert went out without it`;
}

/** The severity an alert had before `downgrade` lowered it. */
export type DowngradedFrom = Exclude<Severity, 'low'>;
