/**
 * A local AWS CloudTrail endpoint for tests: `LookupEvents` in the AWS JSON 1.1 protocol as the
 * real `@aws-sdk/client-cloudtrail` sends it (`X-Amz-Target: CloudTrail_20131101.LookupEvents`,
 * times as epoch seconds), over seeded event records, with the documented limits of the API:
 *
 * - two requests a second per account and Region: more is `ThrottlingException` (the account is
 *   the one the request's access key belongs to, the Region the one it is signed for);
 * - at most 50 events a page (`MaxResults` 1-50, default 50), `NextToken` only with the same
 *   parameters (`InvalidNextTokenException`);
 * - at most one lookup attribute, of the documented keys (`InvalidLookupAttributesException`);
 * - `StartTime` after `EndTime` (`InvalidTimeRangeException`), an `EventCategory` other than
 *   `insight` (`InvalidEventCategoryException`);
 * - management events of the last 90 days, newest first, in the caller's account and Region only.
 *
 * Events become visible when seeded, or from `visibleAt` (CloudTrail delivers most within about
 * five minutes of the call, without a guarantee). Faults can be injected.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  listenOnLoopback,
  localClientConfig,
  newRequestId,
  readBody,
  type LocalClientConfig,
} from './local-endpoint';

/** The API's limits (CloudTrail API reference, LookupEvents). */
export const CLOUDTRAIL_LIMITS = {
  requestsPerSecond: 2,
  maxResults: 50,
  maxAttributeValueLength: 2000,
  retentionDays: 90,
} as const;

export const LOOKUP_ATTRIBUTE_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const;

export type CloudTrailErrorCode =
  | 'ThrottlingException'
  | 'AccessDeniedException'
  | 'OperationNotPermittedException'
  | 'InternalFailure'
  | 'ServiceUnavailableException';

export interface LocalCloudTrailOptions {
  /** The clock the rate limit, the 90 days and `visibleAt` are read on. @default Date.now */
  now?: () => number;
  /** Access key id -> account; keys not listed belong to `defaultAccountId`. */
  accounts?: Record<string, string>;
  /** @default '123456789012' */
  defaultAccountId?: string;
}

/** One LookupEvents call as received (rejected ones too). */
export interface LookupEventsCall {
  accountId: string;
  region: string;
  /** On the endpoint's clock. */
  at: number;
  request: Record<string, unknown>;
  /** The error code answered, or undefined for a page of events. */
  error?: string;
  events?: number;
}

export interface SeededRecord {
  record: Record<string, unknown>;
  /** Epoch ms from which LookupEvents returns it. @default always */
  visibleAt?: number;
}

export interface LocalCloudTrail {
  endpoint: string;
  /** Adds event records (CloudTrail's JSON records; account and Region from `recipientAccountId` and `awsRegion`). */
  seed(...records: (Record<string, unknown> | SeededRecord)[]): void;
  /** Every LookupEvents call, in order. */
  readonly calls: readonly LookupEventsCall[];
  /** Calls answered with ThrottlingException by the rate limit (not injected). */
  readonly throttled: number;
  /** The next `count` calls (of any account) fail with `code`. */
  injectErrors(code: CloudTrailErrorCode, count?: number): void;
  /** Every call fails with `code` until the returned function is called. */
  failAll(code: CloudTrailErrorCode): () => void;
  resetCounters(): void;
  clientConfig(): LocalClientConfig;
  stop(): Promise<void>;
}

class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

const STATUS: Record<CloudTrailErrorCode, number> = {
  ThrottlingException: 400,
  AccessDeniedException: 400,
  OperationNotPermittedException: 400,
  InternalFailure: 500,
  ServiceUnavailableException: 503,
};

interface StoredRecord {
  record: Record<string, unknown>;
  accountId: string;
  region: string;
  eventTime: number;
  eventId: string;
  visibleAt: number;
}

/** The resources CloudTrail lists for an EC2 call: the ids in its request. */
function resourcesOf(record: Record<string, unknown>): { ResourceType: string; ResourceName: string }[] {
  const request = (record.requestParameters ?? {}) as Record<string, unknown>;
  const wrapped = (request.ModifySecurityGroupRulesRequest ?? {}) as Record<string, unknown>;
  const out: { ResourceType: string; ResourceName: string }[] = [];
  const add = (type: string, value: unknown) => {
    if (typeof value === 'string') out.push({ ResourceType: type, ResourceName: value });
  };
  add('AWS::EC2::SecurityGroup', request.groupId ?? wrapped.GroupId);
  add('AWS::EC2::NetworkAcl', request.networkAclId);
  add('AWS::EC2::NetworkInterface', request.networkInterfaceId);
  add('AWS::EC2::Instance', request.instanceId);
  return out;
}

function usernameOf(record: Record<string, unknown>): string | undefined {
  const identity = (record.userIdentity ?? {}) as Record<string, unknown>;
  if (typeof identity.userName === 'string') return identity.userName;
  // An assumed role's user name in Event history is its session name.
  const arn = typeof identity.arn === 'string' ? identity.arn : '';
  const session = /:assumed-role\/[^/]+\/(.+)$/.exec(arn);
  return session?.[1];
}

function attributeValue(record: StoredRecord, key: string): string | undefined {
  const r = record.record;
  switch (key) {
    case 'EventId':
      return record.eventId;
    case 'EventName':
      return typeof r.eventName === 'string' ? r.eventName : undefined;
    case 'EventSource':
      return typeof r.eventSource === 'string' ? r.eventSource : undefined;
    case 'ReadOnly':
      return String(r.readOnly === true);
    case 'Username':
      return usernameOf(r);
    case 'AccessKeyId':
      return ((r.userIdentity ?? {}) as Record<string, unknown>).accessKeyId as string | undefined;
    default:
      return undefined;
  }
}

function matches(record: StoredRecord, attribute: { key: string; value: string } | undefined): boolean {
  if (attribute === undefined) return true;
  if (attribute.key === 'ResourceName')
    return resourcesOf(record.record).some((r) => r.ResourceName === attribute.value);
  if (attribute.key === 'ResourceType')
    return resourcesOf(record.record).some((r) => r.ResourceType === attribute.value);
  return attributeValue(record, attribute.key) === attribute.value;
}

/** Epoch seconds as the AWS JSON protocol sends timestamps (a number, possibly fractional). */
function timestamp(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ServiceError('SerializationException', `${name} must be a timestamp in epoch seconds`);
  }
  return value * 1000;
}

export async function startLocalCloudTrail(options: LocalCloudTrailOptions = {}): Promise<LocalCloudTrail> {
  const now = options.now ?? Date.now;
  const defaultAccount = options.defaultAccountId ?? '123456789012';
  let records: StoredRecord[] = [];
  let calls: LookupEventsCall[] = [];
  let throttled = 0;
  let injected: { code: CloudTrailErrorCode; remaining: number }[] = [];
  let failing: CloudTrailErrorCode | undefined;
  /** Accepted calls per account and Region, on the endpoint's clock (the rate window). */
  const accepted = new Map<string, number[]>();
  const tokens = new Map<string, { query: string; offset: number }>();

  const lookupEvents = (request: Record<string, unknown>, accountId: string, region: string) => {
    const attributes = request.LookupAttributes;
    if (attributes !== undefined && !Array.isArray(attributes))
      throw new ServiceError('SerializationException', 'LookupAttributes must be a list');
    const list = (attributes ?? []) as unknown[];
    if (list.length > 1) {
      throw new ServiceError(
        'InvalidLookupAttributesException',
        'You can only specify one lookup attribute per request.',
      );
    }
    let attribute: { key: string; value: string } | undefined;
    if (list.length === 1) {
      const a = list[0] as Record<string, unknown>;
      const key = a?.AttributeKey;
      const value = a?.AttributeValue;
      if (typeof key !== 'string' || !(LOOKUP_ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
        throw new ServiceError('InvalidLookupAttributesException', `Invalid AttributeKey: ${String(key)}`);
      }
      const weighted = typeof value === 'string' ? value.length + (value.match(/[_ ,\n]/g) ?? []).length : 0;
      if (
        typeof value !== 'string' ||
        value.length === 0 ||
        weighted > CLOUDTRAIL_LIMITS.maxAttributeValueLength
      ) {
        throw new ServiceError(
          'InvalidLookupAttributesException',
          `AttributeValue must be 1 to ${CLOUDTRAIL_LIMITS.maxAttributeValueLength} characters`,
        );
      }
      attribute = { key, value };
    }
    if (request.EventCategory !== undefined && request.EventCategory !== 'insight') {
      throw new ServiceError(
        'InvalidEventCategoryException',
        `Invalid EventCategory: ${String(request.EventCategory)}`,
      );
    }
    const maxResults = request.MaxResults ?? CLOUDTRAIL_LIMITS.maxResults;
    if (
      typeof maxResults !== 'number' ||
      !Number.isInteger(maxResults) ||
      maxResults < 1 ||
      maxResults > CLOUDTRAIL_LIMITS.maxResults
    ) {
      throw new ServiceError(
        'InvalidMaxResultsException',
        `MaxResults must be from 1 to ${CLOUDTRAIL_LIMITS.maxResults}, got ${String(maxResults)}`,
      );
    }
    const clock = now();
    const start = timestamp(request.StartTime, 'StartTime');
    const end = timestamp(request.EndTime, 'EndTime');
    if (start !== undefined && end !== undefined && start > end) {
      throw new ServiceError('InvalidTimeRangeException', 'StartTime is after EndTime.');
    }
    const query = JSON.stringify({
      attribute,
      start,
      end,
      maxResults,
      category: request.EventCategory,
      accountId,
      region,
    });
    let offset = 0;
    if (request.NextToken !== undefined) {
      const token = typeof request.NextToken === 'string' ? tokens.get(request.NextToken) : undefined;
      if (token === undefined || token.query !== query) {
        throw new ServiceError(
          'InvalidNextTokenException',
          'The token is not valid, or was used with different parameters.',
        );
      }
      offset = token.offset;
    }
    const oldest = clock - CLOUDTRAIL_LIMITS.retentionDays * 86_400_000;
    const selected =
      request.EventCategory === 'insight'
        ? []
        : records
            .filter(
              (r) =>
                r.accountId === accountId &&
                r.region === region &&
                r.visibleAt <= clock &&
                r.eventTime >= oldest &&
                (start === undefined || r.eventTime >= start) &&
                (end === undefined || r.eventTime <= end) &&
                matches(r, attribute),
            )
            .sort((a, b) => b.eventTime - a.eventTime || (a.eventId < b.eventId ? -1 : 1));
    const page = selected.slice(offset, offset + maxResults);
    let nextToken: string | undefined;
    if (offset + page.length < selected.length) {
      nextToken = `ct-${newRequestId()}`;
      tokens.set(nextToken, { query, offset: offset + page.length });
    }
    return {
      Events: page.map((r) => {
        const identity = (r.record.userIdentity ?? {}) as Record<string, unknown>;
        const username = usernameOf(r.record);
        return {
          EventId: r.eventId,
          EventName: r.record.eventName,
          ReadOnly: String(r.record.readOnly === true),
          ...(typeof identity.accessKeyId === 'string' ? { AccessKeyId: identity.accessKeyId } : {}),
          EventTime: r.eventTime / 1000,
          EventSource: r.record.eventSource,
          ...(username === undefined ? {} : { Username: username }),
          Resources: resourcesOf(r.record),
          CloudTrailEvent: JSON.stringify(r.record),
        };
      }),
      ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = (await readBody(req)).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    // The credential scope names the access key and the Region: `Credential=AKID/20261127/us-east-1/cloudtrail/aws4_request`.
    const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/cloudtrail\//.exec(
      String(req.headers.authorization ?? ''),
    );
    const accountId = (scope && options.accounts?.[scope[1] as string]) ?? defaultAccount;
    const region = scope?.[2] ?? 'us-east-1';
    const call: LookupEventsCall = { accountId, region, at: now(), request: {} };
    try {
      const action = target.replace(/^com\.amazonaws\.cloudtrail\.v20131101\./, '');
      if (req.method !== 'POST' || action !== 'CloudTrail_20131101.LookupEvents') {
        throw new ServiceError(
          'UnknownOperationException',
          `Operation ${target || '(none)'} is not supported here`,
        );
      }
      if (!/^application\/x-amz-json-1\.1/.test(String(req.headers['content-type'] ?? ''))) {
        throw new ServiceError('SerializationException', 'Content-Type must be application/x-amz-json-1.1');
      }
      if (scope === null)
        throw new ServiceError('MissingAuthenticationTokenException', 'Request is missing a signature');
      let request: unknown;
      try {
        request = JSON.parse(body || '{}');
      } catch {
        throw new ServiceError('SerializationException', 'request body is not JSON');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request))
        throw new ServiceError('SerializationException', 'request body must be a JSON object');
      call.request = request as Record<string, unknown>;
      calls.push(call);
      if (failing !== undefined) throw new ServiceError(failing, `Injected ${failing}`, STATUS[failing]);
      const fault = injected.find((i) => i.remaining > 0);
      if (fault !== undefined) {
        fault.remaining -= 1;
        throw new ServiceError(fault.code, `Injected ${fault.code}`, STATUS[fault.code]);
      }
      // The rate limit: at most two accepted calls in any second, per account and Region.
      const key = `${accountId}/${region}`;
      const recent = (accepted.get(key) ?? []).filter((t) => t > call.at - 1000);
      if (recent.length >= CLOUDTRAIL_LIMITS.requestsPerSecond) {
        throttled += 1;
        accepted.set(key, recent);
        throw new ServiceError('ThrottlingException', 'Rate exceeded');
      }
      recent.push(call.at);
      accepted.set(key, recent);
      const page = lookupEvents(call.request, accountId, region);
      call.events = page.Events.length;
      send(res, 200, page);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      call.error = error.code;
      res.setHeader('x-amzn-ErrorType', error.code);
      send(res, error.httpStatus, { __type: error.code, message: error.message });
    }
  };

  const server = await listenOnLoopback(handle);
  return {
    endpoint: server.endpoint,
    seed(...items) {
      for (const item of items) {
        const seeded: SeededRecord = isSeeded(item) ? item : { record: item };
        const r = seeded.record;
        const eventTime = typeof r.eventTime === 'string' ? Date.parse(r.eventTime) : NaN;
        if (typeof r.eventID !== 'string' || !Number.isFinite(eventTime)) {
          throw new Error(
            `not a CloudTrail record (needs eventID and an ISO eventTime): ${JSON.stringify(r).slice(0, 200)}`,
          );
        }
        records.push({
          record: r,
          accountId: typeof r.recipientAccountId === 'string' ? r.recipientAccountId : defaultAccount,
          region: typeof r.awsRegion === 'string' ? r.awsRegion : 'us-east-1',
          eventTime,
          eventId: r.eventID,
          visibleAt: seeded.visibleAt ?? Number.NEGATIVE_INFINITY,
        });
      }
    },
    get calls() {
      return [...calls];
    },
    get throttled() {
      return throttled;
    },
    injectErrors(code, count = 1) {
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`count must be a positive integer, got ${count}`);
      injected.push({ code, remaining: count });
    },
    failAll(code) {
      failing = code;
      return () => {
        failing = undefined;
      };
    },
    resetCounters() {
      calls = [];
      throttled = 0;
      injected = [];
      failing = undefined;
      accepted.clear();
    },
    clientConfig: () => localClientConfig(server.endpoint),
    stop: async () => {
      records = [];
      await server.stop();
    },
  };
}

function isSeeded(item: Record<string, unknown> | SeededRecord): item is SeededRecord {
  return typeof item.record === 'object' && item.record !== null && !('eventID' in item);
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/x-amz-json-1.1');
  res.setHeader('x-amzn-RequestId', newRequestId());
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
