/**
 * A local CloudWatch Logs endpoint for tests: speaks the AWS JSON 1.1 protocol of `StartQuery`,
 * `GetQueryResults`, `StopQuery` and `DescribeLogGroups` as the real
 * `@aws-sdk/client-cloudwatch-logs` sends them, evaluates Logs Insights queries (the subset in
 * `logs-insights-query.ts`) over seeded events, and enforces the service's documented limits:
 * 10,000-character queries, 1 to 50 log groups, 10,000 rows per page and 100,000 per query, the
 * Scheduled -> Running -> Complete progression, LimitExceededException past the
 * concurrent-query limit, and a query's results readable for 7 days after it started (the
 * service clock, `now`). Tests can inject the failures the detector must survive.
 *
 * Accounts: the endpoint answers as one account (`accountId`) of one Region. Log groups may be
 * seeded in other accounts (by ARN); they are visible only while their account is linked to this
 * one as a source account of CloudWatch cross-account observability (`linkedAccounts`,
 * `linkAccount`): a monitoring account queries them by ARN and lists them with
 * `DescribeLogGroups(includeLinkedAccounts: true)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  compileQuery,
  evaluateQuery,
  eventRow,
  FLOW_LOG_V2_FIELDS,
  QueryCompileError,
  type CompiledQuery,
  type LogEvent,
  type StoredEvent,
} from './logs-insights-query';
import {
  listenOnLoopback,
  localClientConfig,
  newRequestId,
  readBody,
  type LocalClientConfig,
} from './local-endpoint';

export type { LogEvent } from './logs-insights-query';

export type LogsAction = 'StartQuery' | 'GetQueryResults' | 'StopQuery' | 'DescribeLogGroups';
export type LogsErrorCode =
  | 'LimitExceededException'
  | 'ThrottlingException'
  | 'ServiceUnavailableException'
  | 'InvalidParameterException'
  | 'ResourceNotFoundException'
  | 'MalformedQueryException';
export type QueryStatus =
  'Scheduled' | 'Running' | 'Complete' | 'Failed' | 'Cancelled' | 'Timeout' | 'Unknown';
/** The statuses a query can be made to end in instead of Complete. */
export type FailedQueryStatus = 'Failed' | 'Cancelled' | 'Timeout' | 'Unknown';

/** Service limits (AWS API reference and Logs Insights quotas). */
export const LOGS_INSIGHTS_LIMITS = {
  maxQueryStringLength: 10_000,
  maxLogGroups: 50,
  maxRowsPerPage: 10_000,
  maxRowsPerQuery: 100_000,
  /** Rows returned when neither StartQuery `limit` nor a `limit` command says otherwise (current AWS docs). */
  defaultRowLimit: 10_000,
  maxConcurrentQueries: 100,
  /** How long GetQueryResults can read a query's results (CloudWatch Logs quotas: 7 days). */
  resultsKeptMs: 7 * 86_400_000,
  /** DescribeLogGroups `limit`: 1 to 50, default 50. */
  maxDescribeLogGroupsLimit: 50,
  /** DescribeLogGroups `accountIdentifiers`: at most 20. */
  maxAccountIdentifiers: 20,
} as const;

/** Log classes (`logGroupClass`); Logs Insights cannot query the Delivery class. */
export type LogGroupClass = 'STANDARD' | 'INFREQUENT_ACCESS' | 'DELIVERY';

/** The account the endpoint answers as unless `accountId` says otherwise. */
export const DEFAULT_LOCAL_ACCOUNT = '123456789012';

export interface LocalLogsInsightsOptions {
  /** Scheduled + Running queries allowed at once; one more gets LimitExceededException. @default 100 */
  maxConcurrentQueries?: number;
  /** GetQueryResults calls that answer Scheduled before the query runs. @default 1 */
  scheduledPolls?: number;
  /** GetQueryResults calls that answer Running (with partial results) before it ends. @default 1 */
  runningPolls?: number;
  /** Row cap when neither the request nor the query sets one. @default 10000 */
  defaultRowLimit?: number;
  /**
   * Reject references to fields that are neither built in (`@message`, ...), the v2 flow log
   * fields, `knownFields`, nor defined earlier in the query (`parse ... as`, `stats ... as`). The
   * real service treats an unknown field as empty; here a misspelt name fails loudly. @default true
   */
  strictFieldNames?: boolean;
  /** More fields seeded events may carry (only matters with strictFieldNames). */
  knownFields?: readonly string[];
  /**
   * The service's clock (epoch ms). When set, a query sees only the events ingested by then
   * (`ingestionTime`, default the event's timestamp, at or before `now()`): an event still on its
   * way is invisible, as in CloudWatch Logs. Unset: every seeded event is visible.
   */
  now?: () => number;
  /** The account the caller is in (the monitoring account, when accounts are linked). @default 123456789012 */
  accountId?: string;
  /** The endpoint's Region: log group ARNs of other Regions are not found. @default us-east-1 */
  region?: string;
  /** Source accounts linked to `accountId` (cross-account observability). @default none */
  linkedAccounts?: readonly string[];
}

export interface SeedOptions {
  /** @default STANDARD */
  logGroupClass?: LogGroupClass;
}

/** What the endpoint recorded about one accepted StartQuery. */
export interface StartedQuery {
  queryId: string;
  queryString: string;
  logGroupNames: string[];
  /** The queried log groups' ARNs (without `:*`), in request order. */
  logGroupArns: string[];
  startTime: number;
  endTime: number;
  /** The StartQuery `limit` parameter, if sent. */
  limit: number | undefined;
  /** Rows the query produced after the row cap. */
  rowCount: number;
  status: QueryStatus;
}

export interface LocalLogsInsights {
  endpoint: string;
  /**
   * Adds events to a log group (creating it): a name (in `accountId`) or a log group ARN of this
   * Region (any account; another account's group is visible once that account is linked).
   * Timestamps are epoch milliseconds. The options apply when the call creates the group.
   */
  seed(logGroup: string, events: readonly LogEvent[], options?: SeedOptions): void;
  /** Links a source account to this (monitoring) account, or unlinks it. */
  linkAccount(accountId: string): void;
  unlinkAccount(accountId: string): void;
  /** Removes every event of a log group (a benchmark seeding one large window after another). */
  clear(logGroup: string): void;
  /** Calls received per action, injected failures and rejected requests included. */
  readonly callCounts: Readonly<Record<LogsAction, number>>;
  /** Queries accepted by StartQuery. */
  readonly queriesStarted: number;
  /** Every query string StartQuery received, in order, accepted or not. */
  readonly queryStrings: readonly string[];
  /** Details of the accepted queries, in order. */
  readonly startedQueries: readonly StartedQuery[];
  /** Queries now Scheduled or Running. */
  readonly activeQueries: number;
  /** The most queries Scheduled or Running at once since the last resetCounters(). */
  readonly peakActiveQueries: number;
  /** The next `count` calls of `action` fail with `code` before any validation. */
  injectErrors(action: LogsAction, code: LogsErrorCode, count?: number): void;
  /** The next `count` queries started end in `status` instead of Complete (after the usual progression). */
  endNextQueriesWith(status: FailedQueryStatus, count?: number): void;
  /**
   * A fault rate: every `n`th query started from now on (the nth, 2nth, ...) ends in `status`, until
   * the returned function is called. Deterministic, so a test can say which query fails.
   */
  endEveryNthQueryWith(status: FailedQueryStatus, n: number): () => void;
  /** Every query started from now on that `match`es ends in `status`, until the returned function is called. */
  endQueriesMatching(status: FailedQueryStatus, match: (query: StartedQuery) => boolean): () => void;
  /** Sets (or clears) the service clock of the `now` option. */
  setClock(now: (() => number) | undefined): void;
  /** Forgets counters, logs and pending injections; seeded events and queries stay. */
  resetCounters(): void;
  clientConfig(): LocalClientConfig;
  stop(): Promise<void>;
}

export function localLogsClientConfig(endpoint: string): LocalClientConfig {
  return localClientConfig(endpoint);
}

class ServiceError extends Error {
  constructor(
    readonly code: LogsErrorCode | 'UnknownOperationException' | 'SerializationException',
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }

  get httpStatus(): number {
    return this.code === 'ServiceUnavailableException' ? 500 : 400;
  }
}

interface StoredLogGroup {
  accountId: string;
  name: string;
  logGroupClass: LogGroupClass;
  creationTime: number;
  events: StoredEvent[];
}

interface QueryState {
  info: StartedQuery;
  rows: { field: string; value: string }[][];
  statistics: Record<string, number>;
  pollsSeen: number;
  finalStatus: 'Complete' | FailedQueryStatus;
  /** When StartQuery accepted it (the service clock). */
  startedAt: number;
}

function* mapLazily<T, U>(items: readonly T[], map: (item: T) => U): Generator<U> {
  for (const item of items) yield map(item);
}

const LOG_GROUP_ARN = /^arn:(aws[a-z-]*):logs:([a-z0-9-]+):(\d{12}):log-group:([.\-_/#A-Za-z0-9]+)$/;
const ACCOUNT_ID = /^\d{12}$/;
// StartQuery: "If you specify an ARN, use the format arn:aws:logs:region:account-id:log-group:log_group_name.
// Don't include an * at the end." The `:*` form other Logs APIs and IAM use is refused.
const LOG_GROUP_ARN_WITH_STAR = /^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[.\-_/#A-Za-z0-9]+:\*$/;
const LOG_GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
// Epoch seconds beyond this are milliseconds sent by mistake (year 5138).
const MAX_EPOCH_SECONDS = 100_000_000_000;

export async function startLocalLogsInsights(
  options: LocalLogsInsightsOptions = {},
): Promise<LocalLogsInsights> {
  const maxConcurrentQueries = options.maxConcurrentQueries ?? LOGS_INSIGHTS_LIMITS.maxConcurrentQueries;
  const scheduledPolls = options.scheduledPolls ?? 1;
  const runningPolls = options.runningPolls ?? 1;
  const defaultRowLimit = options.defaultRowLimit ?? LOGS_INSIGHTS_LIMITS.defaultRowLimit;
  const knownFields =
    options.strictFieldNames === false ? undefined : [...FLOW_LOG_V2_FIELDS, ...(options.knownFields ?? [])];
  for (const [name, value] of Object.entries({
    maxConcurrentQueries,
    scheduledPolls,
    runningPolls,
    defaultRowLimit,
  })) {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }

  const accountId = options.accountId ?? DEFAULT_LOCAL_ACCOUNT;
  const region = options.region ?? 'us-east-1';
  if (!ACCOUNT_ID.test(accountId)) throw new RangeError(`accountId must be 12 digits, got ${accountId}`);
  const linked = new Set<string>();
  const link = (id: string): void => {
    if (!ACCOUNT_ID.test(id)) throw new RangeError(`a linked account must be 12 digits, got ${id}`);
    if (id !== accountId) linked.add(id);
  };
  for (const id of options.linkedAccounts ?? []) link(id);
  /** Log groups by `<account>:<name>`. */
  const logGroups = new Map<string, StoredLogGroup>();
  const groupKey = (account: string, name: string): string => `${account}:${name}`;
  const arnOf = (group: Pick<StoredLogGroup, 'accountId' | 'name'>): string =>
    `arn:aws:logs:${region}:${group.accountId}:log-group:${group.name}`;
  const visible = (account: string): boolean => account === accountId || linked.has(account);
  const queries = new Map<string, QueryState>();
  let callCounts: Record<LogsAction, number> = {
    StartQuery: 0,
    GetQueryResults: 0,
    StopQuery: 0,
    DescribeLogGroups: 0,
  };
  let queryStrings: string[] = [];
  let startedQueries: StartedQuery[] = [];
  let injectedErrors: { action: LogsAction; code: LogsErrorCode; remaining: number }[] = [];
  let endings: { status: FailedQueryStatus; remaining: number }[] = [];
  let faultRules: {
    status: FailedQueryStatus;
    applies: (query: StartedQuery, ordinal: number) => boolean;
  }[] = [];
  let queryCounter = 0;
  let ptrCounter = 0;
  let peakActiveQueries = 0;
  let clock = options.now;

  const activeQueries = (): number =>
    [...queries.values()].filter((q) => q.info.status === 'Scheduled' || q.info.status === 'Running').length;

  const addFaultRule = (rule: (typeof faultRules)[number]): (() => void) => {
    faultRules.push(rule);
    return () => {
      faultRules = faultRules.filter((r) => r !== rule);
    };
  };

  const startQuery = (request: Record<string, unknown>): Record<string, unknown> => {
    const queryString = request.queryString;
    if (typeof queryString === 'string') queryStrings.push(queryString);
    if (typeof queryString !== 'string' || queryString.length === 0) {
      throw new ServiceError('InvalidParameterException', 'queryString is required');
    }
    if (queryString.length > LOGS_INSIGHTS_LIMITS.maxQueryStringLength) {
      throw new ServiceError(
        'InvalidParameterException',
        `1 validation error detected: Value at 'queryString' failed to satisfy constraint: Member must have length less than or equal to ${LOGS_INSIGHTS_LIMITS.maxQueryStringLength}`,
      );
    }
    if (request.queryLanguage !== undefined && request.queryLanguage !== 'CWLI') {
      throw new ServiceError(
        'InvalidParameterException',
        `queryLanguage ${String(request.queryLanguage)} is not supported here (CWLI only)`,
      );
    }
    const startTime = epochSeconds(request.startTime, 'startTime');
    const endTime = epochSeconds(request.endTime, 'endTime');
    if (endTime < startTime)
      throw new ServiceError(
        'InvalidParameterException',
        'endTime must be greater than or equal to startTime',
      );
    const limit = request.limit;
    if (
      limit !== undefined &&
      (!Number.isInteger(limit) ||
        (limit as number) < 1 ||
        (limit as number) > LOGS_INSIGHTS_LIMITS.maxRowsPerQuery)
    ) {
      throw new ServiceError(
        'InvalidParameterException',
        `limit must be between 1 and ${LOGS_INSIGHTS_LIMITS.maxRowsPerQuery}, got ${String(limit)}`,
      );
    }
    const groups = resolveLogGroups(request);
    let compiled: CompiledQuery;
    try {
      compiled = compileQuery(queryString, knownFields);
    } catch (error) {
      if (!(error instanceof QueryCompileError)) throw error;
      throw new ServiceError('MalformedQueryException', error.message, {
        queryCompileError: {
          location: { startCharOffset: error.startCharOffset, endCharOffset: error.endCharOffset },
          message: error.message,
        },
      });
    }
    if (activeQueries() >= maxConcurrentQueries) {
      throw new ServiceError(
        'LimitExceededException',
        `Account maximum query concurrency limit of [${maxConcurrentQueries}] reached.`,
      );
    }

    // The query sees the events present now: a snapshot, newest first (the service's default order).
    const fromMs = startTime * 1000;
    const toMs = endTime * 1000 + 999;
    const ingestedBy = clock?.() ?? Number.POSITIVE_INFINITY;
    const events: StoredEvent[] = [];
    for (const group of groups) {
      const groupEvents = group.events;
      // Each group is kept sorted by time: find the range by binary search.
      for (let i = firstAtOrAfter(groupEvents, fromMs); i < groupEvents.length; i += 1) {
        const event = groupEvents[i] as StoredEvent;
        if (event.timestamp > toMs) break;
        if ((event.ingestionTime ?? event.timestamp) > ingestedBy) continue; // not delivered yet
        events.push(event);
      }
    }
    events.sort((a, b) => b.timestamp - a.timestamp);
    const rowCap = Math.min(
      compiled.limitCommand ?? Number.POSITIVE_INFINITY,
      (limit as number | undefined) ?? Number.POSITIVE_INFINITY,
      compiled.limitCommand === undefined && limit === undefined ? defaultRowLimit : Number.POSITIVE_INFINITY,
      LOGS_INSIGHTS_LIMITS.maxRowsPerQuery,
    );
    // Rows made one at a time as the query reads them: a million-source window's are not all held.
    const result = evaluateQuery(compiled, mapLazily(events, eventRow), rowCap);

    queryCounter += 1;
    const queryId = `00000000-0000-4000-9000-${queryCounter.toString(16).padStart(12, '0')}`;
    const ending = endings.find((e) => e.remaining > 0);
    if (ending !== undefined) ending.remaining -= 1;
    const info: StartedQuery = {
      queryId,
      queryString,
      logGroupNames: groups.map((g) => g.name),
      logGroupArns: groups.map(arnOf),
      startTime,
      endTime,
      limit: limit as number | undefined,
      rowCount: result.rows.length,
      status: scheduledPolls > 0 ? 'Scheduled' : 'Running',
    };
    const fault = faultRules.find((rule) => rule.applies(info, queryCounter));
    queries.set(queryId, {
      info,
      rows: result.rows,
      statistics: {
        recordsMatched: result.recordsMatched,
        recordsScanned: events.length,
        estimatedRecordsSkipped: 0,
        bytesScanned: events.reduce((sum, e) => sum + e.messageBytes, 0),
        estimatedBytesSkipped: 0,
        logGroupsScanned: groups.length,
      },
      pollsSeen: 0,
      finalStatus: ending?.status ?? fault?.status ?? 'Complete',
      startedAt: (clock ?? Date.now)(),
    });
    startedQueries.push(info);
    peakActiveQueries = Math.max(peakActiveQueries, activeQueries());
    return { queryId };
  };

  /**
   * The log groups a StartQuery names: names are this account's; ARNs may name a linked source
   * account's groups (another account's, or another Region's, are not found). A Delivery-class
   * group cannot be queried.
   */
  const resolveLogGroups = (request: Record<string, unknown>): StoredLogGroup[] => {
    const given = (['logGroupName', 'logGroupNames', 'logGroupIdentifiers'] as const).filter(
      (key) => request[key] !== undefined,
    );
    if (given.length !== 1) {
      throw new ServiceError(
        'InvalidParameterException',
        'Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified',
      );
    }
    const key = given[0] as (typeof given)[number];
    const raw = request[key];
    const list = key === 'logGroupName' ? [raw] : raw;
    if (!Array.isArray(list) || list.length === 0 || list.some((item) => typeof item !== 'string')) {
      throw new ServiceError('InvalidParameterException', `${key} must be a non-empty list of strings`);
    }
    if (list.length > LOGS_INSIGHTS_LIMITS.maxLogGroups) {
      throw new ServiceError(
        'InvalidParameterException',
        `${key} may name at most ${LOGS_INSIGHTS_LIMITS.maxLogGroups} log groups, got ${list.length}`,
      );
    }
    return (list as string[]).map((item) => {
      if (key === 'logGroupIdentifiers' && LOG_GROUP_ARN_WITH_STAR.test(item)) {
        throw new ServiceError(
          'InvalidParameterException',
          `${JSON.stringify(item)}: a log group ARN in logGroupIdentifiers must not end in :*`,
        );
      }
      const arn = key === 'logGroupIdentifiers' ? LOG_GROUP_ARN.exec(item) : null;
      const name = arn?.[4] ?? item;
      if (!LOG_GROUP_NAME.test(name)) {
        throw new ServiceError(
          'InvalidParameterException',
          `${JSON.stringify(item)} is not a valid log group name or ARN`,
        );
      }
      const account = arn?.[3] ?? accountId;
      const group = logGroups.get(groupKey(account, name));
      // Another account's group is out of reach unless that account is linked (the service's
      // exact answer for an unlinked account is unverified; not found is what the caller can see).
      if (group === undefined || !visible(account) || (arn !== null && arn[2] !== region)) {
        throw new ServiceError('ResourceNotFoundException', `Log group '${item}' does not exist`);
      }
      if (group.logGroupClass === 'DELIVERY') {
        throw new ServiceError(
          'InvalidParameterException',
          `Log group '${item}' is in the Delivery log class, which Logs Insights cannot query`,
        );
      }
      return group;
    });
  };

  /**
   * DescribeLogGroups as documented: `limit` 1..50 (default 50), `logGroupNamePrefix` and
   * `logGroupNamePattern` mutually exclusive, `logGroupIdentifiers` (up to 50) with no other
   * filter but `includeLinkedAccounts`, `includeLinkedAccounts` adding the linked source accounts'
   * groups (only those of `accountIdentifiers`, up to 20, when given), results ASCII-sorted by
   * name, `nextToken` paging.
   */
  const describeLogGroups = (request: Record<string, unknown>): Record<string, unknown> => {
    const limit = request.limit ?? LOGS_INSIGHTS_LIMITS.maxDescribeLogGroupsLimit;
    if (
      !Number.isInteger(limit) ||
      (limit as number) < 1 ||
      (limit as number) > LOGS_INSIGHTS_LIMITS.maxDescribeLogGroupsLimit
    ) {
      throw new ServiceError(
        'InvalidParameterException',
        `1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${LOGS_INSIGHTS_LIMITS.maxDescribeLogGroupsLimit}`,
      );
    }
    const prefix = request.logGroupNamePrefix;
    const pattern = request.logGroupNamePattern;
    const identifiers = request.logGroupIdentifiers;
    if (prefix !== undefined && pattern !== undefined) {
      throw new ServiceError(
        'InvalidParameterException',
        'logGroupNamePrefix and logGroupNamePattern are mutually exclusive',
      );
    }
    if (prefix !== undefined && (typeof prefix !== 'string' || !LOG_GROUP_NAME.test(prefix))) {
      throw new ServiceError(
        'InvalidParameterException',
        `logGroupNamePrefix ${JSON.stringify(prefix)} is not valid`,
      );
    }
    if (
      pattern !== undefined &&
      (typeof pattern !== 'string' || !/^[.\-_/#A-Za-z0-9]{0,512}$/.test(pattern))
    ) {
      throw new ServiceError(
        'InvalidParameterException',
        `logGroupNamePattern ${JSON.stringify(pattern)} is not valid`,
      );
    }
    const includeLinked = request.includeLinkedAccounts === true;
    const accounts = request.accountIdentifiers;
    if (accounts !== undefined) {
      if (
        !Array.isArray(accounts) ||
        accounts.length > LOGS_INSIGHTS_LIMITS.maxAccountIdentifiers ||
        accounts.some((a) => typeof a !== 'string' || !ACCOUNT_ID.test(a))
      ) {
        throw new ServiceError(
          'InvalidParameterException',
          `accountIdentifiers must be at most ${LOGS_INSIGHTS_LIMITS.maxAccountIdentifiers} 12-digit account IDs`,
        );
      }
    }
    let byIdentifier: Set<string> | undefined;
    if (identifiers !== undefined) {
      if (
        prefix !== undefined ||
        pattern !== undefined ||
        request.logGroupClass !== undefined ||
        accounts !== undefined
      ) {
        throw new ServiceError(
          'InvalidParameterException',
          'logGroupIdentifiers can be combined with includeLinkedAccounts only',
        );
      }
      if (
        !Array.isArray(identifiers) ||
        identifiers.length < 1 ||
        identifiers.length > LOGS_INSIGHTS_LIMITS.maxLogGroups ||
        identifiers.some((i) => typeof i !== 'string')
      ) {
        throw new ServiceError(
          'InvalidParameterException',
          'logGroupIdentifiers must list 1 to 50 log groups',
        );
      }
      byIdentifier = new Set(
        (identifiers as string[]).map((i) => {
          const arn = LOG_GROUP_ARN.exec(i);
          return arn === null ? groupKey(accountId, i) : groupKey(arn[3]!, arn[4]!);
        }),
      );
    }
    const accountFilter =
      includeLinked && Array.isArray(accounts) && accounts.length > 0
        ? new Set(accounts as string[])
        : undefined;
    const listed = [...logGroups.values()]
      .filter((g) =>
        g.accountId === accountId
          ? accountFilter === undefined || accountFilter.has(g.accountId)
          : includeLinked &&
            linked.has(g.accountId) &&
            (accountFilter === undefined || accountFilter.has(g.accountId)),
      )
      .filter((g) => byIdentifier === undefined || byIdentifier.has(groupKey(g.accountId, g.name)))
      .filter((g) => typeof prefix !== 'string' || g.name.startsWith(prefix))
      .filter((g) => typeof pattern !== 'string' || g.name.includes(pattern))
      .filter((g) => request.logGroupClass === undefined || g.logGroupClass === request.logGroupClass)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.accountId < b.accountId ? -1 : 1));
    const requestKey = JSON.stringify({
      prefix,
      pattern,
      identifiers,
      includeLinked,
      accounts,
      cls: request.logGroupClass,
    });
    const offset = decodeListToken(request.nextToken, requestKey);
    const page = listed.slice(offset, offset + (limit as number));
    const response: Record<string, unknown> = {
      logGroups: page.map((g) => ({
        logGroupName: g.name,
        creationTime: g.creationTime,
        metricFilterCount: 0,
        arn: `${arnOf(g)}:*`,
        storedBytes: g.events.reduce((sum, e) => sum + e.messageBytes, 0),
        logGroupClass: g.logGroupClass,
        logGroupArn: arnOf(g),
      })),
    };
    if (offset + page.length < listed.length) {
      response.nextToken = encodeListToken(requestKey, offset + page.length);
    }
    return response;
  };

  const getQueryResults = (request: Record<string, unknown>): Record<string, unknown> => {
    const query = lookupQuery(request.queryId);
    const maxItems = request.maxItems ?? LOGS_INSIGHTS_LIMITS.maxRowsPerPage;
    if (
      !Number.isInteger(maxItems) ||
      (maxItems as number) < 1 ||
      (maxItems as number) > LOGS_INSIGHTS_LIMITS.maxRowsPerPage
    ) {
      throw new ServiceError(
        'InvalidParameterException',
        `maxItems must be between 1 and ${LOGS_INSIGHTS_LIMITS.maxRowsPerPage}, got ${String(maxItems)}`,
      );
    }
    const offset = decodeToken(request.nextToken, query.info.queryId);

    // Each poll moves a query along: Scheduled (scheduledPolls), Running (runningPolls), then its end.
    if (query.info.status === 'Scheduled' || query.info.status === 'Running') {
      query.pollsSeen += 1;
      query.info.status =
        query.pollsSeen <= scheduledPolls
          ? 'Scheduled'
          : query.pollsSeen <= scheduledPolls + runningPolls
            ? 'Running'
            : query.finalStatus;
    }
    const status = query.info.status;
    const response: Record<string, unknown> = {
      queryLanguage: 'CWLI',
      status,
      statistics: scaledStatistics(query),
    };
    if (status === 'Running') {
      // Partial results while running: a prefix, never paged.
      response.results = query.rows.slice(0, Math.min(Math.ceil(query.rows.length / 2), maxItems as number));
    } else if (status === 'Complete') {
      const page = query.rows.slice(offset, offset + (maxItems as number));
      response.results = page;
      if (offset + page.length < query.rows.length) {
        response.nextToken = encodeToken(query.info.queryId, offset + page.length);
      }
    } else {
      response.results = [];
    }
    return response;
  };

  const scaledStatistics = (query: QueryState): Record<string, number> => {
    if (query.info.status === 'Scheduled') {
      return Object.fromEntries(Object.keys(query.statistics).map((key) => [key, 0]));
    }
    return { ...query.statistics };
  };

  const stopQuery = (request: Record<string, unknown>): Record<string, unknown> => {
    const query = lookupQuery(request.queryId);
    if (query.info.status !== 'Scheduled' && query.info.status !== 'Running') return { success: false };
    query.info.status = 'Cancelled';
    return { success: true };
  };

  const lookupQuery = (queryId: unknown): QueryState => {
    if (typeof queryId !== 'string' || queryId.length === 0) {
      throw new ServiceError('InvalidParameterException', 'queryId is required');
    }
    const query = queries.get(queryId);
    // Past the time its results are kept, a query is gone as if it never ran.
    if (query === undefined || (clock ?? Date.now)() - query.startedAt >= LOGS_INSIGHTS_LIMITS.resultsKeptMs)
      throw new ServiceError('ResourceNotFoundException', `Query ${queryId} does not exist`);
    return query;
  };

  const handlers: Record<LogsAction, (request: Record<string, unknown>) => Record<string, unknown>> = {
    StartQuery: startQuery,
    GetQueryResults: getQueryResults,
    StopQuery: stopQuery,
    DescribeLogGroups: describeLogGroups,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix, action] = target.split('.');
    try {
      if (
        req.method !== 'POST' ||
        prefix !== 'Logs_20140328' ||
        action === undefined ||
        !(action in handlers)
      ) {
        throw new ServiceError(
          'UnknownOperationException',
          `Operation ${target || '(none)'} is not supported here`,
        );
      }
      const logsAction = action as LogsAction;
      callCounts[logsAction] += 1;
      const injected = injectedErrors.find((e) => e.action === logsAction && e.remaining > 0);
      if (injected !== undefined) {
        injected.remaining -= 1;
        throw new ServiceError(injected.code, `Injected ${injected.code} for ${logsAction}`);
      }
      let request: unknown;
      try {
        request = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new ServiceError('SerializationException', 'request body is not JSON');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        throw new ServiceError('SerializationException', 'request body must be a JSON object');
      }
      send(res, 200, handlers[logsAction](request as Record<string, unknown>));
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      res.setHeader('x-amzn-ErrorType', error.code);
      send(res, error.httpStatus, { __type: error.code, message: error.message, ...error.extra });
    }
  };

  const server = await listenOnLoopback(handle);

  return {
    endpoint: server.endpoint,
    seed(logGroup, events, seedOptions = {}) {
      const arn = LOG_GROUP_ARN.exec(logGroup);
      const name = arn?.[4] ?? logGroup;
      const account = arn?.[3] ?? accountId;
      if (!LOG_GROUP_NAME.test(name)) throw new Error(`invalid log group name ${JSON.stringify(logGroup)}`);
      if (arn !== null && arn[2] !== region)
        throw new Error(`log group ${logGroup} is not in this endpoint's Region (${region})`);
      for (const event of events) {
        if (!Number.isFinite(event.timestamp) || typeof event.message !== 'string') {
          throw new Error(
            `invalid event ${JSON.stringify(event)}: needs a numeric timestamp (ms) and a message`,
          );
        }
        if (event.ingestionTime !== undefined && !Number.isFinite(event.ingestionTime)) {
          throw new Error(`invalid event ${JSON.stringify(event)}: ingestionTime must be epoch ms`);
        }
      }
      const key = groupKey(account, name);
      const group = logGroups.get(key) ?? {
        accountId: account,
        name,
        logGroupClass: seedOptions.logGroupClass ?? 'STANDARD',
        creationTime: Date.UTC(2024, 0, 1) + logGroups.size,
        events: [],
      };
      // "Field discovery is supported only for log groups in the Standard log class": elsewhere
      // a flow log message has no discovered fields (null: looked at, none).
      const discovered = group.logGroupClass === 'STANDARD';
      const stored = events.map((event): StoredEvent => {
        ptrCounter += 1;
        return {
          ...event,
          ptr: `ptr-${ptrCounter.toString(36)}`,
          messageBytes: Buffer.byteLength(event.message, 'utf8'),
          ...(discovered ? {} : { flowTokens: null }),
        };
      });
      const merged = [...group.events, ...stored];
      merged.sort((a, b) => a.timestamp - b.timestamp);
      logGroups.set(key, { ...group, events: merged });
    },
    linkAccount: link,
    unlinkAccount(id) {
      linked.delete(id);
    },
    clear(logGroup) {
      const arn = LOG_GROUP_ARN.exec(logGroup);
      logGroups.delete(groupKey(arn?.[3] ?? accountId, arn?.[4] ?? logGroup));
    },
    get callCounts() {
      return { ...callCounts };
    },
    get queriesStarted() {
      return startedQueries.length;
    },
    get queryStrings() {
      return [...queryStrings];
    },
    get startedQueries() {
      return startedQueries.map((q) => ({ ...q }));
    },
    get activeQueries() {
      return activeQueries();
    },
    get peakActiveQueries() {
      return peakActiveQueries;
    },
    injectErrors(action, code, count = 1) {
      assertCount(count);
      injectedErrors.push({ action, code, remaining: count });
    },
    endNextQueriesWith(status, count = 1) {
      assertCount(count);
      endings.push({ status, remaining: count });
    },
    endEveryNthQueryWith(status, n) {
      assertCount(n);
      const first = queryCounter;
      return addFaultRule({ status, applies: (_query, ordinal) => (ordinal - first) % n === 0 });
    },
    endQueriesMatching(status, match) {
      return addFaultRule({ status, applies: (query) => match(query) });
    },
    setClock(now) {
      clock = now;
    },
    resetCounters() {
      callCounts = { StartQuery: 0, GetQueryResults: 0, StopQuery: 0, DescribeLogGroups: 0 };
      queryStrings = [];
      startedQueries = [];
      injectedErrors = [];
      endings = [];
      faultRules = [];
      peakActiveQueries = activeQueries();
    },
    clientConfig: () => localClientConfig(server.endpoint),
    stop: () => server.stop(),
  };
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/x-amz-json-1.1');
  res.setHeader('x-amzn-RequestId', newRequestId());
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function epochSeconds(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ServiceError(
      'InvalidParameterException',
      `${name} must be a non-negative whole number of epoch seconds`,
    );
  }
  if (value >= MAX_EPOCH_SECONDS) {
    throw new ServiceError(
      'InvalidParameterException',
      `${name} ${value} looks like milliseconds; it is in epoch seconds`,
    );
  }
  return value;
}

function encodeToken(queryId: string, offset: number): string {
  return Buffer.from(JSON.stringify({ queryId, offset }), 'utf8').toString('base64url');
}

function decodeToken(token: unknown, queryId: string): number {
  if (token === undefined) return 0;
  if (typeof token === 'string') {
    try {
      const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
        queryId?: unknown;
        offset?: unknown;
      };
      if (
        decoded.queryId === queryId &&
        Number.isInteger(decoded.offset) &&
        (decoded.offset as number) >= 0
      ) {
        return decoded.offset as number;
      }
    } catch {
      // Falls through to the error below.
    }
  }
  throw new ServiceError('InvalidParameterException', 'The specified nextToken is not valid for this query');
}

function encodeListToken(requestKey: string, offset: number): string {
  return Buffer.from(JSON.stringify({ requestKey, offset }), 'utf8').toString('base64url');
}

/** A DescribeLogGroups token is valid for the request (the same filters) that returned it. */
function decodeListToken(token: unknown, requestKey: string): number {
  if (token === undefined) return 0;
  if (typeof token === 'string') {
    try {
      const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
        requestKey?: unknown;
        offset?: unknown;
      };
      if (
        decoded.requestKey === requestKey &&
        Number.isInteger(decoded.offset) &&
        (decoded.offset as number) >= 0
      )
        return decoded.offset as number;
    } catch {
      // Falls through to the error below.
    }
  }
  throw new ServiceError(
    'InvalidParameterException',
    'The specified nextToken is not valid for this request',
  );
}

function assertCount(count: number): void {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`count must be a positive integer, got ${count}`);
}

/** Index of the first event at or after `ms` in events sorted by time. */
function firstAtOrAfter(events: readonly StoredEvent[], ms: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((events[middle] as StoredEvent).timestamp < ms) low = middle + 1;
    else high = middle;
  }
  return low;
}
