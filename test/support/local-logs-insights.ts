/**
 * A local CloudWatch Logs endpoint for tests: speaks the AWS JSON 1.1 protocol of `StartQuery`,
 * `GetQueryResults` and `StopQuery` as the real `@aws-sdk/client-cloudwatch-logs` sends them,
 * evaluates Logs Insights queries (the subset in `logs-insights-query.ts`) over seeded events,
 * and enforces the service's documented limits: 10,000-character queries, 1 to 50 log groups,
 * 10,000 rows per page and 100,000 per query, the Scheduled -> Running -> Complete progression,
 * and LimitExceededException past the concurrent-query limit. Tests can inject the failures the
 * detector must survive.
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

export type LogsAction = 'StartQuery' | 'GetQueryResults' | 'StopQuery';
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
} as const;

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
}

/** What the endpoint recorded about one accepted StartQuery. */
export interface StartedQuery {
  queryId: string;
  queryString: string;
  logGroupNames: string[];
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
  /** Adds events to a log group (creating it). Timestamps are epoch milliseconds. */
  seed(logGroupName: string, events: readonly LogEvent[]): void;
  /** Removes every event of a log group (a benchmark seeding one large window after another). */
  clear(logGroupName: string): void;
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

interface QueryState {
  info: StartedQuery;
  rows: { field: string; value: string }[][];
  statistics: Record<string, number>;
  pollsSeen: number;
  finalStatus: 'Complete' | FailedQueryStatus;
}

function* mapLazily<T, U>(items: readonly T[], map: (item: T) => U): Generator<U> {
  for (const item of items) yield map(item);
}

const LOG_GROUP_ARN = /^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:([.\-_/#A-Za-z0-9]+)$/;
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

  const logGroups = new Map<string, StoredEvent[]>();
  const queries = new Map<string, QueryState>();
  let callCounts: Record<LogsAction, number> = { StartQuery: 0, GetQueryResults: 0, StopQuery: 0 };
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
    const groupNames = resolveLogGroups(request);
    for (const name of groupNames) {
      if (!logGroups.has(name))
        throw new ServiceError('ResourceNotFoundException', `Log group '${name}' does not exist`);
    }
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
    for (const name of groupNames) {
      const groupEvents = logGroups.get(name) ?? [];
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
      logGroupNames: groupNames,
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
        logGroupsScanned: groupNames.length,
      },
      pollsSeen: 0,
      finalStatus: ending?.status ?? fault?.status ?? 'Complete',
    });
    startedQueries.push(info);
    peakActiveQueries = Math.max(peakActiveQueries, activeQueries());
    return { queryId };
  };

  const resolveLogGroups = (request: Record<string, unknown>): string[] => {
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
      const name = arn?.[1] ?? item;
      if (!LOG_GROUP_NAME.test(name)) {
        throw new ServiceError(
          'InvalidParameterException',
          `${JSON.stringify(item)} is not a valid log group name or ARN`,
        );
      }
      return name;
    });
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
    if (query === undefined)
      throw new ServiceError('ResourceNotFoundException', `Query ${queryId} does not exist`);
    return query;
  };

  const handlers: Record<LogsAction, (request: Record<string, unknown>) => Record<string, unknown>> = {
    StartQuery: startQuery,
    GetQueryResults: getQueryResults,
    StopQuery: stopQuery,
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
    seed(logGroupName, events) {
      if (!LOG_GROUP_NAME.test(logGroupName))
        throw new Error(`invalid log group name ${JSON.stringify(logGroupName)}`);
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
      const stored = events.map((event): StoredEvent => {
        ptrCounter += 1;
        return {
          ...event,
          ptr: `ptr-${ptrCounter.toString(36)}`,
          messageBytes: Buffer.byteLength(event.message, 'utf8'),
        };
      });
      const merged = [...(logGroups.get(logGroupName) ?? []), ...stored];
      merged.sort((a, b) => a.timestamp - b.timestamp);
      logGroups.set(logGroupName, merged);
    },
    clear(logGroupName) {
      logGroups.delete(logGroupName);
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
      callCounts = { StartQuery: 0, GetQueryResults: 0, StopQuery: 0 };
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
