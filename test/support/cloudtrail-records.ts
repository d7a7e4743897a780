/**
 * CloudTrail event records as CloudTrail writes them (the `CloudTrailEvent` string of
 * LookupEvents, and the elements of `Records` in the log files delivered to S3), for the
 * egress-relevant EC2 calls: the shapes of `requestParameters` and `responseElements` follow the
 * EC2 Query API's CloudTrail form (`{"items": [...]}` lists, lowerCamelCase), and the newer
 * ModifySecurityGroupRules its wrapped form (`ModifySecurityGroupRulesRequest`).
 */
import { randomUUID } from 'node:crypto';

export const TEST_ACCOUNT = '123456789012';
export const TEST_REGION = 'us-east-1';
export const DEPLOYER = `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/Deployer/jane`;

export interface RecordOptions {
  /** Epoch ms or ISO time. */
  at: number | string;
  /** @default a random UUID */
  eventId?: string;
  /** @default TEST_ACCOUNT */
  accountId?: string;
  /** @default TEST_REGION */
  region?: string;
  /** The caller's ARN. @default DEPLOYER */
  principal?: string;
  /** A failed call: CloudTrail records it with an errorCode and no change happened. */
  errorCode?: string;
}

export type CloudTrailRecord = Record<string, unknown> & {
  eventID: string;
  eventName: string;
  eventTime: string;
  awsRegion: string;
  recipientAccountId: string;
  userIdentity: Record<string, unknown> & { arn?: string; accountId?: string; type?: string };
};

const isoSeconds = (at: number | string): string =>
  new Date(typeof at === 'number' ? at : Date.parse(at)).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function cloudTrailRecord(
  eventName: string,
  requestParameters: Record<string, unknown> | null,
  responseElements: Record<string, unknown> | null,
  options: RecordOptions,
): CloudTrailRecord {
  const accountId = options.accountId ?? TEST_ACCOUNT;
  const principal = options.principal ?? DEPLOYER;
  const session = /:assumed-role\/([^/]+)\//.exec(principal);
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: session ? 'AssumedRole' : 'IAMUser',
      principalId: `AROAEXAMPLE:${principal.split('/').at(-1) ?? 'user'}`,
      arn: principal,
      accountId,
      accessKeyId: 'ASIAEXAMPLEKEY',
      ...(session
        ? {
            sessionContext: {
              sessionIssuer: {
                type: 'Role',
                arn: `arn:aws:iam::${accountId}:role/${session[1]}`,
                accountId,
                userName: session[1],
              },
              attributes: { creationDate: isoSeconds(options.at), mfaAuthenticated: 'false' },
            },
          }
        : {}),
    },
    eventTime: isoSeconds(options.at),
    eventSource: 'ec2.amazonaws.com',
    eventName,
    awsRegion: options.region ?? TEST_REGION,
    sourceIPAddress: '192.0.2.200',
    userAgent: 'aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.1 os/linux',
    ...(options.errorCode
      ? { errorCode: options.errorCode, errorMessage: `You are not authorized to perform this operation.` }
      : {}),
    requestParameters,
    responseElements: options.errorCode ? null : responseElements,
    requestID: randomUUID(),
    eventID: options.eventId ?? randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      clientProvidedHostHeader: `ec2.${options.region ?? TEST_REGION}.amazonaws.com`,
    },
  };
}

export interface Permission {
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidr?: string;
  ipv6Cidr?: string;
  /** A rule that names a security group (its members' addresses) instead of a CIDR. */
  groupId?: string;
}

function ipPermissions(permissions: readonly Permission[]): Record<string, unknown> {
  return {
    items: permissions.map((p) => ({
      ipProtocol: p.protocol,
      ...(p.fromPort === undefined ? {} : { fromPort: p.fromPort, toPort: p.toPort ?? p.fromPort }),
      groups: p.groupId ? { items: [{ groupId: p.groupId }] } : {},
      ipRanges: p.cidr ? { items: [{ cidrIp: p.cidr }] } : {},
      ipv6Ranges: p.ipv6Cidr ? { items: [{ cidrIpv6: p.ipv6Cidr }] } : {},
      prefixListIds: {},
    })),
  };
}

const okResponse = (extra: Record<string, unknown> = {}) => ({
  requestId: randomUUID(),
  _return: true,
  ...extra,
});

export const revokeSecurityGroupEgress = (
  groupId: string,
  permissions: readonly Permission[],
  options: RecordOptions,
): CloudTrailRecord =>
  cloudTrailRecord(
    'RevokeSecurityGroupEgress',
    { groupId, ipPermissions: ipPermissions(permissions) },
    okResponse(),
    options,
  );

export const authorizeSecurityGroupEgress = (
  groupId: string,
  permissions: readonly Permission[],
  options: RecordOptions,
): CloudTrailRecord =>
  cloudTrailRecord(
    'AuthorizeSecurityGroupEgress',
    { groupId, ipPermissions: ipPermissions(permissions) },
    okResponse({ securityGroupRuleSet: { items: [] } }),
    options,
  );

/**
 * An ingress rule change: egress-relevant only through an interface that forwards a host's
 * packets (an appliance's, such as a NAT instance's).
 */
export const authorizeSecurityGroupIngress = (
  groupId: string,
  permissions: readonly Permission[],
  options: RecordOptions,
): CloudTrailRecord =>
  cloudTrailRecord(
    'AuthorizeSecurityGroupIngress',
    { groupId, ipPermissions: ipPermissions(permissions) },
    okResponse(),
    options,
  );

export const revokeSecurityGroupIngress = (
  groupId: string,
  permissions: readonly Permission[],
  options: RecordOptions,
): CloudTrailRecord =>
  cloudTrailRecord(
    'RevokeSecurityGroupIngress',
    { groupId, ipPermissions: ipPermissions(permissions) },
    okResponse(),
    options,
  );

export const modifySecurityGroupRules = (
  groupId: string,
  rules: readonly { ruleId: string; protocol: string; fromPort?: number; toPort?: number; cidr?: string }[],
  options: RecordOptions,
): CloudTrailRecord => {
  const entries = rules.map((r, i) => ({
    SecurityGroupRuleId: r.ruleId,
    SecurityGroupRule: {
      IpProtocol: r.protocol,
      ...(r.fromPort === undefined ? {} : { FromPort: r.fromPort, ToPort: r.toPort ?? r.fromPort }),
      ...(r.cidr ? { CidrIpv4: r.cidr } : {}),
    },
    tag: i + 1,
  }));
  return cloudTrailRecord(
    'ModifySecurityGroupRules',
    {
      ModifySecurityGroupRulesRequest: {
        GroupId: groupId,
        // One rule: an object; several: a list (as CloudTrail writes the newer APIs).
        SecurityGroupRule: entries.length === 1 ? entries[0] : entries,
      },
    },
    { ModifySecurityGroupRulesResponse: { requestId: randomUUID(), return: true } },
    options,
  );
};

/**
 * ModifyManagedPrefixList in the newer APIs' wrapped form, as ModifySecurityGroupRules: the
 * query API's entry names (`AddEntry`, `RemoveEntry`), one entry an object, several a list.
 */
export const modifyManagedPrefixList = (
  prefixListId: string,
  entries: { add?: readonly string[]; remove?: readonly string[]; name?: string },
  options: RecordOptions,
): CloudTrailRecord => {
  const list = (cidrs: readonly string[]) => {
    const items = cidrs.map((cidr, i) => ({ Cidr: cidr, tag: i + 1 }));
    return items.length === 1 ? items[0] : items;
  };
  return cloudTrailRecord(
    'ModifyManagedPrefixList',
    {
      ModifyManagedPrefixListRequest: {
        PrefixListId: prefixListId,
        CurrentVersion: 3,
        ...(entries.name === undefined ? {} : { PrefixListName: entries.name }),
        ...(entries.add?.length ? { AddEntry: list(entries.add) } : {}),
        ...(entries.remove?.length ? { RemoveEntry: list(entries.remove) } : {}),
      },
    },
    {
      ModifyManagedPrefixListResponse: {
        requestId: randomUUID(),
        prefixList: { prefixListId, state: 'modify-in-progress', version: 3 },
      },
    },
    options,
  );
};

export interface AclEntry {
  ruleNumber: number;
  egress: boolean;
  action: 'allow' | 'deny';
  /** IANA number as a string, `-1` for all. */
  protocol: string;
  cidr?: string;
  ipv6Cidr?: string;
  fromPort?: number;
  toPort?: number;
}

function aclEntryParameters(networkAclId: string, entry: AclEntry): Record<string, unknown> {
  return {
    networkAclId,
    ruleNumber: entry.ruleNumber,
    egress: entry.egress,
    ruleAction: entry.action,
    icmpTypeCode: {},
    portRange:
      entry.fromPort === undefined ? {} : { from: entry.fromPort, to: entry.toPort ?? entry.fromPort },
    aclProtocol: entry.protocol,
    ...(entry.cidr ? { cidrBlock: entry.cidr } : {}),
    ...(entry.ipv6Cidr ? { ipv6CidrBlock: entry.ipv6Cidr } : {}),
  };
}

export const createNetworkAclEntry = (networkAclId: string, entry: AclEntry, options: RecordOptions) =>
  cloudTrailRecord('CreateNetworkAclEntry', aclEntryParameters(networkAclId, entry), okResponse(), options);

export const replaceNetworkAclEntry = (networkAclId: string, entry: AclEntry, options: RecordOptions) =>
  cloudTrailRecord('ReplaceNetworkAclEntry', aclEntryParameters(networkAclId, entry), okResponse(), options);

export const deleteNetworkAclEntry = (
  networkAclId: string,
  entry: { ruleNumber: number; egress: boolean },
  options: RecordOptions,
) =>
  cloudTrailRecord(
    'DeleteNetworkAclEntry',
    { networkAclId, ruleNumber: entry.ruleNumber, egress: entry.egress },
    okResponse(),
    options,
  );

export const replaceNetworkAclAssociation = (
  associationId: string,
  networkAclId: string,
  newAssociationId: string,
  options: RecordOptions,
) =>
  cloudTrailRecord(
    'ReplaceNetworkAclAssociation',
    { associationId, networkAclId },
    { requestId: randomUUID(), newAssociationId },
    options,
  );

export const modifyNetworkInterfaceGroups = (
  networkInterfaceId: string,
  groupIds: readonly string[],
  options: RecordOptions,
) =>
  cloudTrailRecord(
    'ModifyNetworkInterfaceAttribute',
    { networkInterfaceId, groupSet: { items: groupIds.map((groupId) => ({ groupId })) } },
    okResponse(),
    options,
  );

/** An attribute change that is not a group set (source/destination check): not egress-relevant. */
export const modifyNetworkInterfaceSourceDestCheck = (networkInterfaceId: string, options: RecordOptions) =>
  cloudTrailRecord(
    'ModifyNetworkInterfaceAttribute',
    { networkInterfaceId, sourceDestCheck: { value: false } },
    okResponse(),
    options,
  );

export const modifyInstanceGroups = (
  instanceId: string,
  groupIds: readonly string[],
  options: RecordOptions,
) =>
  cloudTrailRecord(
    'ModifyInstanceAttribute',
    { instanceId, groupSet: { items: groupIds.map((groupId) => ({ groupId })) } },
    okResponse(),
    options,
  );

/** An instance-type change: a ModifyInstanceAttribute that is not egress-relevant. */
export const modifyInstanceType = (instanceId: string, instanceType: string, options: RecordOptions) =>
  cloudTrailRecord(
    'ModifyInstanceAttribute',
    { instanceId, instanceType: { value: instanceType } },
    okResponse(),
    options,
  );

/** A record of another service (a control for the filters). */
export const runInstances = (instanceId: string, options: RecordOptions) =>
  cloudTrailRecord(
    'RunInstances',
    { instancesSet: { items: [{ imageId: 'ami-0123456789abcdef0', minCount: 1, maxCount: 1 }] } },
    okResponse({ instancesSet: { items: [{ instanceId }] } }),
    options,
  );
