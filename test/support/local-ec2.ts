/**
 * A local Amazon EC2 endpoint for tests: speaks the EC2 Query protocol as the real
 * `@aws-sdk/client-ec2` sends it (a form-encoded POST, `Action=...&Version=2016-11-15`, lists as
 * `Filter.1.Value.1`) and answers in EC2's XML (`<DescribeInstancesResponse>` with `<item>` list
 * members, errors as `<Response><Errors><Error><Code>`). It holds seeded network interfaces and
 * instances and enforces the documented rules of the describe calls: the 200 filter values per
 * call, MaxResults 5..1000 and never with a list of ids, ids that do not exist or are malformed,
 * NextToken paging, and the refusal of an unpaginated call in an account with many resources.
 *
 * Operations are entries of one table (`DESCRIBES`), each a resource list with its id parameter
 * and its filters, so more describe calls are one entry and one `add...` each. For change-aware
 * alerts it also answers DescribeNetworkAcls (subnet associations) and DescribeSecurityGroupRules
 * (whether a rule is an egress rule), and describes an interface's secondary private and IPv6
 * addresses (`addresses.private-ip-address`, `ipv6-addresses.ipv6-address`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  callerOf,
  listenOnLoopback,
  localClientConfig,
  newRequestId,
  readBody,
  type LocalClientConfig,
  type RequestCaller,
} from './local-endpoint';

export const EC2_API_VERSION = '2016-11-15';

/** The account of a resource without an `ownerId`. */
const DEFAULT_OWNER = '123456789012';

/** Service limits (EC2 API reference: Filter, pagination, the describe calls' MaxResults). */
export const EC2_LIMITS = {
  /** `FilterLimitExceeded` past this many filter values in one call (all filters together). */
  maxFilterValues: 200,
  minMaxResults: 5,
  maxMaxResults: 1_000,
} as const;

export interface Tag {
  key: string;
  value: string;
}

export interface LocalNetworkInterface {
  networkInterfaceId: string;
  subnetId: string;
  vpcId: string;
  availabilityZone?: string;
  description?: string;
  /** `interface`, `lambda`, `nat_gateway`, `vpc_endpoint`, ... @default 'interface' */
  interfaceType?: string;
  privateIpAddress?: string;
  /** Secondary private IPv4 addresses (the primary is `privateIpAddress`). */
  secondaryPrivateIpAddresses?: string[];
  ipv6Addresses?: string[];
  /** Prefixes delegated to the interface (prefix delegation: `ipv4PrefixSet`, `ipv6PrefixSet`). */
  ipv4Prefixes?: string[];
  ipv6Prefixes?: string[];
  macAddress?: string;
  ownerId?: string;
  status?: 'available' | 'in-use' | 'attaching' | 'detaching' | 'associated';
  requesterManaged?: boolean;
  groups?: { groupId: string; groupName: string }[];
  attachment?: { instanceId?: string; instanceOwnerId?: string; deviceIndex?: number; status?: string };
  tags?: Tag[];
}

export interface LocalInstance {
  instanceId: string;
  /** Instances launched together share one; @default 'r-' + the instance id's digits. */
  reservationId?: string;
  instanceType?: string;
  state?: 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
  subnetId?: string;
  vpcId?: string;
  privateIpAddress?: string;
  ownerId?: string;
  tags?: Tag[];
}

export interface LocalNetworkAcl {
  networkAclId: string;
  vpcId: string;
  /** @default false */
  isDefault?: boolean;
  /** The subnets using this ACL (each subnet has exactly one association). */
  associations: { associationId: string; subnetId: string }[];
  ownerId?: string;
  tags?: Tag[];
}

export interface LocalSecurityGroupRule {
  securityGroupRuleId: string;
  groupId: string;
  isEgress: boolean;
  /** `tcp`, `udp`, `icmp`, `-1`... @default '-1' */
  ipProtocol?: string;
  fromPort?: number;
  toPort?: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  /** A managed prefix list the rule names (`pl-...`). */
  prefixListId?: string;
  groupOwnerId?: string;
  description?: string;
  tags?: Tag[];
}

export type Ec2Action =
  'DescribeNetworkInterfaces' | 'DescribeInstances' | 'DescribeNetworkAcls' | 'DescribeSecurityGroupRules';

export interface LocalEc2Options {
  /**
   * An unpaginated describe call (no MaxResults) over more resources than this, without a filter
   * that narrows it server side, is refused (RequestLimitExceeded): AWS documents that such calls
   * fail, time out or are throttled in accounts with many resources. @default 1000
   */
  unpaginatedLimit?: number;
  /**
   * Items per page when a page would hold more (MaxResults is an upper bound: a page may hold
   * fewer, with a NextToken). @default no smaller pages than MaxResults
   */
  pageSize?: number;
  /**
   * Who signed a call (local-sts.ts's `authenticate`): each caller is served the resources of its
   * own account only (`ownerId`, or a rule's `groupOwnerId`; default 123456789012), as every
   * account is its own EC2, and credentials the function does not accept are `AuthFailure`
   * (HTTP 401). @default every caller sees every resource
   */
  authenticate?: (
    caller: RequestCaller,
  ) => { ok: true; identity: { accountId: string } } | { ok: false; message: string };
}

/** One call as the endpoint received it. */
export interface Ec2Request {
  action: string;
  params: Record<string, string>;
}

export interface LocalEc2 {
  endpoint: string;
  addNetworkInterfaces(...interfaces: LocalNetworkInterface[]): void;
  addInstances(...instances: LocalInstance[]): void;
  /** Adds (or replaces, by id) network ACLs; a subnet moved to another ACL must be removed from its old one. */
  addNetworkAcls(...acls: LocalNetworkAcl[]): void;
  addSecurityGroupRules(...rules: LocalSecurityGroupRule[]): void;
  /** Every call received, in order, rejected ones included. */
  readonly requests: readonly Ec2Request[];
  /** Calls per action. */
  count(action: string): number;
  /** The next `count` calls of `action` fail with `code` (HTTP `status`, default 400; 503 for RequestLimitExceeded). */
  injectErrors(action: Ec2Action, code: string, count?: number, status?: number): void;
  /** Forgets requests and injections; resources stay. */
  resetCounters(): void;
  clientConfig(): LocalClientConfig;
  stop(): Promise<void>;
}

export class Ec2ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

// ---------------------------------------------------------------------------------------------
// XML

/** An XML element's content: text, child elements in order, or a list (`<item>` members). */
type XmlValue = string | number | boolean | XmlObject | XmlValue[] | undefined;
interface XmlObject {
  [name: string]: XmlValue;
}

const escapeXml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

function xmlElement(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value))
    return `<${name}>${value.map((item) => xmlElement('item', item)).join('')}</${name}>`;
  if (typeof value === 'object') {
    const children = Object.entries(value)
      .map(([child, v]) => xmlElement(child, v))
      .join('');
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function xmlResponse(action: string, body: XmlObject): string {
  const children = Object.entries({ requestId: newRequestId(), ...body })
    .map(([name, value]) => xmlElement(name, value))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/">${children}</${action}Response>`;
}

function xmlError(error: Ec2ServiceError): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(error.code)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error></Errors><RequestID>${newRequestId()}</RequestID></Response>`
  );
}

const tagSet = (tags: readonly Tag[] | undefined): XmlValue =>
  tags === undefined || tags.length === 0 ? undefined : tags.map((t) => ({ key: t.key, value: t.value }));

// ---------------------------------------------------------------------------------------------
// Query parameters

/** `Prefix.1`, `Prefix.2`, ... in order (EC2 lists are 1-based and flattened). */
function listParam(params: Record<string, string>, prefix: string): string[] {
  const values: string[] = [];
  for (let i = 1; params[`${prefix}.${i}`] !== undefined; i += 1) values.push(params[`${prefix}.${i}`]!);
  return values;
}

interface Filter {
  name: string;
  values: string[];
}

function filtersOf(params: Record<string, string>): Filter[] {
  const filters: Filter[] = [];
  for (let i = 1; params[`Filter.${i}.Name`] !== undefined; i += 1) {
    filters.push({ name: params[`Filter.${i}.Name`]!, values: listParam(params, `Filter.${i}.Value`) });
  }
  return filters;
}

/** EC2 filter values match whole strings, with `*` (any run) and `?` (one character) as wildcards. */
function filterPattern(value: string): RegExp {
  const body = value
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

// ---------------------------------------------------------------------------------------------
// The describe calls

interface DescribeSpec<T> {
  /** The list parameter of ids (`NetworkInterfaceId`, `InstanceId`). */
  idParam: string;
  idOf: (resource: T) => string;
  idPattern: RegExp;
  malformedCode: string;
  notFoundCode: string;
  /** Filter name -> the resource's values for it (a resource matches when any value matches). */
  filters: Record<string, (resource: T) => readonly (string | undefined)[]>;
  /** Filters that narrow the call server side, so that an unpaginated call over many resources works. */
  narrowingFilters: readonly string[];
  tagsOf: (resource: T) => readonly Tag[] | undefined;
  /** The response body for one page. */
  render: (page: T[], nextToken: string | undefined) => XmlObject;
}

const networkInterfaceSpec: DescribeSpec<LocalNetworkInterface> = {
  idParam: 'NetworkInterfaceId',
  idOf: (eni) => eni.networkInterfaceId,
  idPattern: /^eni-[0-9a-f]{8,17}$/,
  malformedCode: 'InvalidNetworkInterfaceId.Malformed',
  notFoundCode: 'InvalidNetworkInterfaceID.NotFound',
  filters: {
    'network-interface-id': (e) => [e.networkInterfaceId],
    'vpc-id': (e) => [e.vpcId],
    'subnet-id': (e) => [e.subnetId],
    'availability-zone': (e) => [e.availabilityZone],
    description: (e) => [e.description],
    'interface-type': (e) => [e.interfaceType ?? 'interface'],
    'private-ip-address': (e) => [e.privateIpAddress],
    'addresses.private-ip-address': (e) => [e.privateIpAddress, ...(e.secondaryPrivateIpAddresses ?? [])],
    'ipv6-addresses.ipv6-address': (e) => e.ipv6Addresses ?? [],
    'mac-address': (e) => [e.macAddress],
    status: (e) => [e.status ?? (e.attachment ? 'in-use' : 'available')],
    'attachment.instance-id': (e) => [e.attachment?.instanceId],
    'group-id': (e) => (e.groups ?? []).map((g) => g.groupId),
    'owner-id': (e) => [e.ownerId ?? '123456789012'],
  },
  narrowingFilters: [
    'addresses.private-ip-address',
    'group-id',
    'ipv6-addresses.ipv6-address',
    'mac-address',
    'private-dns-name',
    'private-ip-address',
    'subnet-id',
    'vpc-id',
  ],
  tagsOf: (e) => e.tags,
  render: (page, nextToken) => ({
    networkInterfaceSet: page.map((e) => ({
      networkInterfaceId: e.networkInterfaceId,
      subnetId: e.subnetId,
      vpcId: e.vpcId,
      availabilityZone: e.availabilityZone ?? 'us-east-1a',
      description: e.description ?? '',
      ownerId: e.ownerId ?? '123456789012',
      requesterManaged: e.requesterManaged ?? false,
      status: e.status ?? (e.attachment ? 'in-use' : 'available'),
      macAddress: e.macAddress,
      privateIpAddress: e.privateIpAddress,
      privateIpAddressesSet:
        e.privateIpAddress === undefined
          ? undefined
          : [
              { privateIpAddress: e.privateIpAddress, primary: true },
              ...(e.secondaryPrivateIpAddresses ?? []).map((a) => ({ privateIpAddress: a, primary: false })),
            ],
      ipv6AddressesSet:
        e.ipv6Addresses === undefined || e.ipv6Addresses.length === 0
          ? undefined
          : e.ipv6Addresses.map((a) => ({ ipv6Address: a })),
      ipv4PrefixSet:
        e.ipv4Prefixes === undefined ? undefined : e.ipv4Prefixes.map((p) => ({ ipv4Prefix: p })),
      ipv6PrefixSet:
        e.ipv6Prefixes === undefined ? undefined : e.ipv6Prefixes.map((p) => ({ ipv6Prefix: p })),
      sourceDestCheck: true,
      groupSet: (e.groups ?? []).map((g) => ({ groupId: g.groupId, groupName: g.groupName })),
      attachment:
        e.attachment === undefined
          ? undefined
          : {
              attachmentId: `eni-attach-${e.networkInterfaceId.slice(4)}`,
              instanceId: e.attachment.instanceId,
              instanceOwnerId: e.attachment.instanceOwnerId ?? e.ownerId ?? '123456789012',
              deviceIndex: e.attachment.deviceIndex ?? 0,
              status: e.attachment.status ?? 'attached',
              deleteOnTermination: true,
            },
      tagSet: tagSet(e.tags),
      interfaceType: e.interfaceType ?? 'interface',
    })),
    nextToken,
  }),
};

const instanceSpec: DescribeSpec<LocalInstance> = {
  idParam: 'InstanceId',
  idOf: (i) => i.instanceId,
  idPattern: /^i-[0-9a-f]{8,17}$/,
  malformedCode: 'InvalidInstanceID.Malformed',
  notFoundCode: 'InvalidInstanceID.NotFound',
  filters: {
    'instance-id': (i) => [i.instanceId],
    'instance-state-name': (i) => [i.state ?? 'running'],
    'instance-type': (i) => [i.instanceType ?? 't3.micro'],
    'vpc-id': (i) => [i.vpcId],
    'subnet-id': (i) => [i.subnetId],
    'private-ip-address': (i) => [i.privateIpAddress],
    'reservation-id': (i) => [reservationOf(i)],
    'owner-id': (i) => [i.ownerId ?? '123456789012'],
  },
  narrowingFilters: [],
  tagsOf: (i) => i.tags,
  render: (page, nextToken) => {
    // Consecutive instances of one reservation share its item.
    const reservations: { id: string; instances: LocalInstance[] }[] = [];
    for (const instance of page) {
      const id = reservationOf(instance);
      const last = reservations.at(-1);
      if (last?.id === id) last.instances.push(instance);
      else reservations.push({ id, instances: [instance] });
    }
    return {
      reservationSet: reservations.map((r) => ({
        reservationId: r.id,
        ownerId: r.instances[0]?.ownerId ?? '123456789012',
        groupSet: [],
        instancesSet: r.instances.map((i) => ({
          instanceId: i.instanceId,
          imageId: 'ami-0123456789abcdef0',
          instanceState: { code: STATE_CODES[i.state ?? 'running'], name: i.state ?? 'running' },
          instanceType: i.instanceType ?? 't3.micro',
          subnetId: i.subnetId,
          vpcId: i.vpcId,
          privateIpAddress: i.privateIpAddress,
          tagSet: tagSet(i.tags),
        })),
      })),
      nextToken,
    };
  },
};

const networkAclSpec: DescribeSpec<LocalNetworkAcl> = {
  idParam: 'NetworkAclId',
  idOf: (acl) => acl.networkAclId,
  idPattern: /^acl-[0-9a-f]{8,17}$/,
  malformedCode: 'InvalidNetworkAclID.Malformed',
  notFoundCode: 'InvalidNetworkAclID.NotFound',
  filters: {
    'network-acl-id': (a) => [a.networkAclId],
    'vpc-id': (a) => [a.vpcId],
    default: (a) => [String(a.isDefault ?? false)],
    'association.subnet-id': (a) => a.associations.map((x) => x.subnetId),
    'association.association-id': (a) => a.associations.map((x) => x.associationId),
    'association.network-acl-id': (a) => a.associations.map(() => a.networkAclId),
    'owner-id': (a) => [a.ownerId ?? '123456789012'],
  },
  narrowingFilters: ['association.subnet-id', 'association.association-id', 'network-acl-id', 'vpc-id'],
  tagsOf: (a) => a.tags,
  render: (page, nextToken) => ({
    networkAclSet: page.map((a) => ({
      associationSet: a.associations.map((x) => ({
        networkAclAssociationId: x.associationId,
        networkAclId: a.networkAclId,
        subnetId: x.subnetId,
      })),
      entrySet: [],
      default: a.isDefault ?? false,
      networkAclId: a.networkAclId,
      tagSet: tagSet(a.tags),
      vpcId: a.vpcId,
      ownerId: a.ownerId ?? '123456789012',
    })),
    nextToken,
  }),
};

const securityGroupRuleSpec: DescribeSpec<LocalSecurityGroupRule> = {
  idParam: 'SecurityGroupRuleId',
  idOf: (r) => r.securityGroupRuleId,
  idPattern: /^sgr-[0-9a-f]{8,17}$/,
  malformedCode: 'InvalidSecurityGroupRuleId.Malformed',
  notFoundCode: 'InvalidSecurityGroupRuleId.NotFound',
  filters: {
    'security-group-rule-id': (r) => [r.securityGroupRuleId],
    'group-id': (r) => [r.groupId],
  },
  narrowingFilters: ['security-group-rule-id', 'group-id'],
  tagsOf: (r) => r.tags,
  render: (page, nextToken) => ({
    securityGroupRuleSet: page.map((r) => ({
      securityGroupRuleId: r.securityGroupRuleId,
      groupId: r.groupId,
      groupOwnerId: r.groupOwnerId ?? '123456789012',
      isEgress: r.isEgress,
      ipProtocol: r.ipProtocol ?? '-1',
      fromPort: r.fromPort ?? -1,
      toPort: r.toPort ?? -1,
      cidrIpv4: r.cidrIpv4,
      cidrIpv6: r.cidrIpv6,
      prefixListId: r.prefixListId,
      description: r.description,
      tagSet: tagSet(r.tags),
    })),
    nextToken,
  }),
};

const STATE_CODES: Record<NonNullable<LocalInstance['state']>, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

function reservationOf(instance: LocalInstance): string {
  return instance.reservationId ?? `r-${instance.instanceId.slice(2)}`;
}

/** Everything the endpoint holds, by kind. */
interface Resources {
  networkInterfaces: Map<string, LocalNetworkInterface>;
  instances: Map<string, LocalInstance>;
  networkAcls: Map<string, LocalNetworkAcl>;
  securityGroupRules: Map<string, LocalSecurityGroupRule>;
}

type TokenStore = Map<string, { action: string; query: string; offset: number }>;
type DescribeSettings = Required<Omit<LocalEc2Options, 'authenticate'>>;
type DescribeCall = (
  action: string,
  resources: Resources,
  params: Record<string, string>,
  options: DescribeSettings,
  tokens: TokenStore,
) => string;

const describeOf =
  <T>(spec: DescribeSpec<T>, pick: (resources: Resources) => ReadonlyMap<string, T>): DescribeCall =>
  (action, resources, params, options, tokens) =>
    describe(action, spec, pick(resources), params, options, tokens);

/** The operations: one describe call per resource kind. */
const DESCRIBES: Record<Ec2Action, DescribeCall> = {
  DescribeNetworkInterfaces: describeOf(networkInterfaceSpec, (r) => r.networkInterfaces),
  DescribeInstances: describeOf(instanceSpec, (r) => r.instances),
  DescribeNetworkAcls: describeOf(networkAclSpec, (r) => r.networkAcls),
  DescribeSecurityGroupRules: describeOf(securityGroupRuleSpec, (r) => r.securityGroupRules),
};

/** Runs one describe call of `spec` over `resources`. */
function describe<T>(
  action: string,
  spec: DescribeSpec<T>,
  resources: ReadonlyMap<string, T>,
  params: Record<string, string>,
  options: DescribeSettings,
  tokens: TokenStore,
): string {
  const ids = listParam(params, spec.idParam);
  const filters = filtersOf(params);
  const maxResultsText = params.MaxResults;
  let maxResults: number | undefined;
  if (maxResultsText !== undefined) {
    maxResults = Number(maxResultsText);
    if (
      !Number.isInteger(maxResults) ||
      maxResults < EC2_LIMITS.minMaxResults ||
      maxResults > EC2_LIMITS.maxMaxResults
    ) {
      throw new Ec2ServiceError(
        'InvalidParameterValue',
        `Value ( ${maxResultsText} ) for parameter maxResults is invalid. Expecting a value between ${EC2_LIMITS.minMaxResults} and ${EC2_LIMITS.maxMaxResults}.`,
      );
    }
    if (ids.length > 0) {
      throw new Ec2ServiceError(
        'InvalidParameterCombination',
        `The parameter ${spec.idParam}s cannot be used with the parameter maxResults`,
      );
    }
  }
  const filterValues = filters.reduce((sum, f) => sum + f.values.length, 0);
  if (filterValues > EC2_LIMITS.maxFilterValues) {
    throw new Ec2ServiceError(
      'FilterLimitExceeded',
      `The maximum number of filter values specified on a single call is ${EC2_LIMITS.maxFilterValues}`,
    );
  }
  for (const filter of filters) {
    const known = filter.name in spec.filters || filter.name === 'tag-key' || filter.name.startsWith('tag:');
    if (!known) throw new Ec2ServiceError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    if (filter.values.length === 0)
      throw new Ec2ServiceError('InvalidParameterValue', `The filter '${filter.name}' has no values`);
  }
  for (const id of ids) {
    if (!spec.idPattern.test(id)) throw new Ec2ServiceError(spec.malformedCode, `Invalid id: "${id}"`);
  }
  const missing = ids.filter((id) => !resources.has(id));
  if (missing.length > 0) {
    throw new Ec2ServiceError(
      spec.notFoundCode,
      `The ${spec.idParam} ID '${missing.join(', ')}' does not exist`,
    );
  }
  const unpaginated = maxResults === undefined && ids.length === 0;
  const narrowed = filters.some((f) => spec.narrowingFilters.includes(f.name));
  if (unpaginated && !narrowed && resources.size > options.unpaginatedLimit) {
    throw new Ec2ServiceError(
      'RequestLimitExceeded',
      `${action} without MaxResults over ${resources.size} resources: use pagination`,
      503,
    );
  }

  // The query a NextToken belongs to: the same ids, filters and MaxResults.
  const query = JSON.stringify({ ids, filters, maxResults });
  let offset = 0;
  if (params.NextToken !== undefined) {
    const token = tokens.get(params.NextToken);
    if (token === undefined || token.action !== action || token.query !== query) {
      throw new Ec2ServiceError(
        'InvalidPaginationToken',
        `The pagination token ${params.NextToken} is invalid`,
      );
    }
    offset = token.offset;
  }

  const patterns = filters.map((f) => ({ ...f, patterns: f.values.map(filterPattern) }));
  const matches = (resource: T): boolean =>
    patterns.every((f) => {
      let values: readonly (string | undefined)[];
      if (f.name === 'tag-key') values = (spec.tagsOf(resource) ?? []).map((t) => t.key);
      else if (f.name.startsWith('tag:')) {
        const key = f.name.slice('tag:'.length);
        values = (spec.tagsOf(resource) ?? []).filter((t) => t.key === key).map((t) => t.value);
      } else values = spec.filters[f.name]!(resource);
      return values.some((v) => v !== undefined && f.patterns.some((p) => p.test(v)));
    });
  const selected = (ids.length > 0 ? ids.map((id) => resources.get(id)!) : [...resources.values()]).filter(
    matches,
  );
  const size = Math.min(maxResults ?? Number.POSITIVE_INFINITY, options.pageSize);
  const page = selected.slice(offset, offset + size);
  let nextToken: string | undefined;
  if (offset + page.length < selected.length) {
    nextToken = `token-${tokens.size + 1}-${newRequestId().slice(-8)}`;
    tokens.set(nextToken, { action, query, offset: offset + page.length });
  }
  return xmlResponse(action, spec.render(page, nextToken));
}

// ---------------------------------------------------------------------------------------------

export async function startLocalEc2(options: LocalEc2Options = {}): Promise<LocalEc2> {
  const settings: DescribeSettings = {
    unpaginatedLimit: options.unpaginatedLimit ?? 1_000,
    pageSize: options.pageSize ?? Number.POSITIVE_INFINITY,
  };
  if (!(settings.pageSize >= 1))
    throw new RangeError(`pageSize must be at least 1, got ${settings.pageSize}`);
  const resources: Resources = {
    networkInterfaces: new Map(),
    instances: new Map(),
    networkAcls: new Map(),
    securityGroupRules: new Map(),
  };
  const tokens = new Map<string, { action: string; query: string; offset: number }>();
  let requests: Ec2Request[] = [];
  let injected: { action: string; code: string; status: number; remaining: number }[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = (await readBody(req)).toString('utf8');
    const params = Object.fromEntries(new URLSearchParams(body));
    const action = params.Action ?? '';
    requests.push({ action, params });
    let status = 200;
    let xml: string;
    try {
      if (
        req.method !== 'POST' ||
        !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')
      ) {
        throw new Ec2ServiceError('InvalidRequest', 'EC2 Query requests are form-encoded POSTs');
      }
      if (!(action in DESCRIBES))
        throw new Ec2ServiceError(
          'InvalidAction',
          `The action ${action || '(none)'} is not valid for this web service.`,
        );
      if (params.Version !== EC2_API_VERSION)
        throw new Ec2ServiceError(
          'InvalidParameterValue',
          `Version ${String(params.Version)} is not supported here`,
        );
      const fault = injected.find((i) => i.action === action && i.remaining > 0);
      if (fault !== undefined) {
        fault.remaining -= 1;
        throw new Ec2ServiceError(fault.code, `Injected ${fault.code} for ${action}`, fault.status);
      }
      if (params.DryRun === 'true') {
        throw new Ec2ServiceError(
          'DryRunOperation',
          'Request would have succeeded, but DryRun flag is set.',
          412,
        );
      }
      xml = DESCRIBES[action as Ec2Action](action, visibleTo(callerOf(req)), params, settings, tokens);
    } catch (error) {
      if (!(error instanceof Ec2ServiceError)) throw error;
      status = error.status;
      xml = xmlError(error);
    }
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/xml;charset=UTF-8');
    res.setHeader('Content-Length', Buffer.byteLength(xml));
    res.end(xml);
  };

  /** The resources a caller may see: its own account's when callers are authenticated. */
  const visibleTo = (caller: RequestCaller): Resources => {
    if (options.authenticate === undefined) return resources;
    const who = options.authenticate(caller);
    if (!who.ok)
      throw new Ec2ServiceError(
        'AuthFailure',
        `AWS was not able to validate the provided access credentials (${who.message})`,
        401,
      );
    const account = who.identity.accountId;
    const own = <T>(all: Map<string, T>, ownerOf: (resource: T) => string | undefined) =>
      new Map([...all].filter(([, r]) => (ownerOf(r) ?? DEFAULT_OWNER) === account));
    return {
      networkInterfaces: own(resources.networkInterfaces, (r) => r.ownerId),
      instances: own(resources.instances, (r) => r.ownerId),
      networkAcls: own(resources.networkAcls, (r) => r.ownerId),
      securityGroupRules: own(resources.securityGroupRules, (r) => r.groupOwnerId),
    };
  };

  const server = await listenOnLoopback(handle);
  const add = <T>(store: Map<string, T>, spec: DescribeSpec<T>, items: T[]) => {
    for (const item of items) {
      const id = spec.idOf(item);
      if (!spec.idPattern.test(id)) throw new Error(`not a valid ${spec.idParam}: ${id}`);
      store.set(id, item);
    }
  };
  return {
    endpoint: server.endpoint,
    addNetworkInterfaces: (...items) => add(resources.networkInterfaces, networkInterfaceSpec, items),
    addInstances: (...items) => add(resources.instances, instanceSpec, items),
    addNetworkAcls: (...items) => add(resources.networkAcls, networkAclSpec, items),
    addSecurityGroupRules: (...items) => add(resources.securityGroupRules, securityGroupRuleSpec, items),
    get requests() {
      return [...requests];
    },
    count: (action) => requests.filter((r) => r.action === action).length,
    injectErrors(action, code, count = 1, status = code === 'RequestLimitExceeded' ? 503 : 400) {
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`count must be a positive integer, got ${count}`);
      injected.push({ action, code, status, remaining: count });
    },
    resetCounters() {
      requests = [];
      injected = [];
    },
    clientConfig: () => localClientConfig(server.endpoint),
    stop: () => server.stop(),
  };
}
