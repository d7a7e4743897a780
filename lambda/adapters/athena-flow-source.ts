/**
 * FlowCountSource over Amazon Athena: the queries of athena-query.ts run in a workgroup (which
 * enforces the results location, their encryption and a per-query bytes-scanned cutoff), polled to
 * completion within the caller's deadline, their rows paged with GetQueryResults (at most 1,000 a
 * page; the first row of the first page is the header), or, past a page budget, read from the
 * query's CSV result object in S3 in one GET instead of hundreds of paged calls.
 *
 * Handled as the Logs Insights source handles them: QUEUED and RUNNING are polled with growing
 * intervals; at the deadline the query is stopped (StopQueryExecution) and QueryTimeoutError
 * thrown; TooManyRequestsException (the account's concurrent-query quota, or request rate) is
 * retried with backoff while the next try fits the deadline, then QueryThrottledError; a query
 * that ends FAILED for a reason worth another try (a system error, one Athena marks retryable, or
 * one it gives no AthenaError for) is started again up to `maxQueryAttempts` times; CANCELLED
 * (someone stopped it, or it crossed the workgroup's bytes-scanned cutoff) is not retried: the run
 * fails the window and the next run tries it again, as for any failing window (maxWindowAttempts,
 * then skipped).
 *
 * Every query's DataScannedInBytes is added to the statistics, so the run summary and the
 * BytesScanned metric show what Athena billed for (at least 10 MB a query).
 *
 * A bootstrap's history query that finished is kept (CompletedQueries: its execution id, by a
 * hash of its workgroup, database, SQL, parameters and the table's fingerprint; not when it
 * started within the delivery allowance of its slice's end), and its slices start on whole UTC
 * days: a bootstrap run again within 7 days (after one that ran out of time, or any other) reads
 * the days it counted from their results instead of scanning (and paying for) them again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { retryWithBackoff } from './query-retry';
import { compareDestinations } from '../destination-order';
import type { AthenaClient, GetQueryExecutionCommandOutput, Row as AthenaRow } from '@aws-sdk/client-athena';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  accountOfRecord,
  parseSourceKey,
  skipDataWindows,
  sourceKey,
  vpcOfRecord,
  windowMs,
  windowsBetween,
  type AlertDetails,
  type DestinationCount,
  type DetectorConfig,
  type Window,
} from '../core';
import {
  NOT_STARTED,
  QueryFailedError,
  QueryThrottledError,
  QueryTimeoutError,
  ResultReadTimeoutError,
  UnexpectedQueryResultError,
  type QueryKind,
} from './errors';
import {
  alignedSliceBegin,
  gapsFrom,
  isOutOfTime,
  runHistorySlices,
  type SliceOutcome,
} from './history-slices';
import { ATHENA_COLUMNS, AthenaQueryBuilder, type AthenaQuery } from './athena-query';
import type { AthenaFlowTable } from './athena-table';
import type {
  CompletedQueries,
  FlowCountSource,
  FormatCheck,
  HistoryGap,
  HistoryResult,
  QueryStatistics,
  WindowCounts,
} from './ports';

/**
 * The Athena and S3 client modules, loaded on first use: a detector reading CloudWatch Logs never
 * pays for them at cold start (the bundle leaves them out, as the EC2 client: detector-bundling.ts).
 */
export function loadAthenaModules(): {
  athena: typeof import('@aws-sdk/client-athena');
  s3: typeof import('@aws-sdk/client-s3');
} {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    athena: require('@aws-sdk/client-athena') as typeof import('@aws-sdk/client-athena'),
    s3: require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3'),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** GetQueryResults' MaxResults maximum. */
export const ATHENA_PAGE_SIZE = 1000;

const RETRYABLE_ERRORS = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'InternalServerException',
  'ServiceUnavailableException',
]);
const RUNNING_STATES = new Set(['QUEUED', 'RUNNING']);
/**
 * AthenaError.ErrorCategory: 1 system, 2 user, 3 other. A system error may pass on another try;
 * a user error fails the same way again, and another error only passes if Athena says it might
 * (`Retryable`).
 */
const SYSTEM_ERROR_CATEGORY = 1;

export interface AthenaFlowSourceOptions {
  athena: AthenaClient;
  /** Reads a query's CSV result object when its rows pass the page budget. */
  s3: S3Client;
  /** The workgroup queries run in (its enforced settings say where results go). */
  workGroup: string;
  table: AthenaFlowTable;
  config: DetectorConfig;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** First wait between GetQueryExecution polls; grows 1.5x per poll. @default 500 */
  pollIntervalMs?: number;
  /** @default 5000 */
  maxPollIntervalMs?: number;
  /** First retry delay after throttling or a failed try; doubles per attempt (with jitter) up to 20 s. @default 1000 */
  retryBaseDelayMs?: number;
  /** Tries of a query that ends FAILED for a reason worth retrying. @default 3 */
  maxQueryAttempts?: number;
  /**
   * GetQueryResults pages (1,000 rows each) read before the rest is read from the CSV result
   * object in S3 instead. @default 5
   */
  pageBudget?: number;
  /** Sources per details query. @default 1000 */
  detailsSourcesPerQuery?: number;
  /** Destinations kept per source in details. @default 10 */
  topDestinations?: number;
  /** Windows per history query. @default one UTC day of windows */
  historySliceWindows?: number;
  /**
   * Where a bootstrap keeps its finished history queries (the detector's table): a bootstrap run
   * again reads the days it counted from their results instead of scanning them again. Without
   * it, slices are counted back from the newest window and nothing is kept.
   */
  completedQueries?: CompletedQueries;
  /**
   * A fingerprint of the table's definition (the stack's hash of its location, partitions,
   * columns and SerDe): part of a kept query's key, as the SQL names the table but not what it
   * reads. A table changed since (its prefix mended, an account added) is queried afresh.
   */
  tableFingerprint?: string;
}

/**
 * How long a finished history query is kept for a rerun: the stack's results bucket keeps result
 * objects 7 days (`athenaResultsRetentionDays`), Athena its query history 45; less an hour, so
 * that a read does not start just as the object expires. A result gone sooner (a shorter
 * retention, another workgroup's lifecycle) fails to read, and its days are queried afresh.
 */
const KEPT_RESULT_MS = 7 * 86_400_000 - 3_600_000;
/**
 * Tries of each call reading a kept result: what error Athena gives for a result object that is
 * gone is not documented, and a server error retried to the deadline would spend the run's time
 * on what a fresh query gives.
 */
const KEPT_READ_ATTEMPTS = 2;

/**
 * History slices (a day each) queried at once: a month in a function's 900 s where one at a time
 * may not fit. Few, as the account's active DML query quota (it varies by Region and counts
 * queued queries too) is shared with other users; a query beyond it is throttled and retried.
 */
const HISTORY_CONCURRENCY = 4;

export class AthenaSourceOptionsError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`AthenaFlowSource option ${option}: ${message}`);
    this.name = 'AthenaSourceOptionsError';
  }
}

/** A result row: column name -> value (absent: NULL). */
export type ResultRow = Record<string, string | undefined>;

interface QueryRun {
  kind: QueryKind;
  window: Window;
  deadline: number;
  stats: QueryStatistics;
}

const emptyStats = (): QueryStatistics => ({
  queries: 0,
  bytesScanned: 0,
  recordsScanned: 0,
  recordsMatched: 0,
});

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The source key a row is counted under (lambda/core/source-key.ts): its account (`-` where the
 * flow log format has no `account-id` or the record names none), its VPC where the table has one
 * (a flow log format with `vpc-id`; Security Lake's `src_endpoint.vpc_uid`) and its address as
 * the record wrote it, as the Logs Insights source keys its rows. Undefined for a row without an
 * address (the counting filter lets none through).
 */
export function sourceKeyOfRow(row: ResultRow): string | undefined {
  const address = row[ATHENA_COLUMNS.source];
  if (address === undefined || address === '' || address === '-') return undefined;
  return sourceKey({
    accountId: accountOfRecord(row[ATHENA_COLUMNS.account]),
    vpcId: vpcOfRecord(row[ATHENA_COLUMNS.vpc]),
    address,
  });
}

export class AthenaFlowSource implements FlowCountSource {
  private readonly athena: AthenaClient;
  private readonly s3: S3Client;
  private readonly workGroup: string;
  private readonly config: DetectorConfig;
  private readonly queries: AthenaQueryBuilder;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly pollIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxQueryAttempts: number;
  private readonly pageBudget: number;
  private readonly detailsSourcesPerQuery: number;
  private readonly topDestinations: number;
  private readonly historySliceWindows: number;
  private readonly completedQueries: CompletedQueries | undefined;
  private readonly tableFingerprint: string | undefined;

  private readonly database: string;

  constructor(options: AthenaFlowSourceOptions) {
    if (!/^[a-zA-Z0-9._-]{1,128}$/.test(options.workGroup)) {
      throw new AthenaSourceOptionsError(
        'workGroup',
        `${JSON.stringify(options.workGroup)} is not a workgroup name`,
      );
    }
    this.athena = options.athena;
    this.s3 = options.s3;
    this.workGroup = options.workGroup;
    this.config = options.config;
    this.queries = new AthenaQueryBuilder(options.config, options.table);
    // Validated as a Glue name by the query builder, which quotes it into every query.
    this.database = options.table.database;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 500);
    this.maxPollIntervalMs = Math.max(
      this.pollIntervalMs,
      positive('maxPollIntervalMs', options.maxPollIntervalMs ?? 5000),
    );
    this.retryBaseDelayMs = positive('retryBaseDelayMs', options.retryBaseDelayMs ?? 1000);
    this.maxQueryAttempts = integerIn('maxQueryAttempts', options.maxQueryAttempts ?? 3, 1, 10);
    this.pageBudget = integerIn('pageBudget', options.pageBudget ?? 5, 1, 10_000);
    this.detailsSourcesPerQuery = integerIn(
      'detailsSourcesPerQuery',
      options.detailsSourcesPerQuery ?? 1000,
      1,
      5000,
    );
    this.topDestinations = integerIn('topDestinations', options.topDestinations ?? 10, 1, 10_000);
    this.historySliceWindows = integerIn(
      'historySliceWindows',
      options.historySliceWindows ?? Math.max(1, Math.floor(1440 / options.config.windowMinutes)),
      1,
      100_000,
    );
    this.completedQueries = options.completedQueries;
    this.tableFingerprint = options.tableFingerprint;
  }

  async countWindow(window: Window, deadline: number): Promise<WindowCounts> {
    const run: QueryRun = { kind: 'count', window, deadline, stats: emptyStats() };
    const counts = new Map<string, number>();
    const uniqueDestinations = new Map<string, number>();
    let skippedRecords = 0;
    let skipDataLastEnd: number | undefined;
    const rows = await this.runQuery(run, this.queries.countQuery(window));
    for (const row of rows) {
      const records = readCount(row, ATHENA_COLUMNS.records, run);
      if (row[ATHENA_COLUMNS.skipData] === 'true') {
        skippedRecords += records;
        const end = this.readSeconds(row[ATHENA_COLUMNS.lastEnd]);
        if (end !== undefined) skipDataLastEnd = Math.max(skipDataLastEnd ?? end, end);
        continue;
      }
      const key = this.keyOf(row, run);
      if (key === undefined) continue; // an OK REJECT record names its source; defensively ignore one that does not
      counts.set(key, (counts.get(key) ?? 0) + records);
      const unique = readCount(row, ATHENA_COLUMNS.destinations, run);
      uniqueDestinations.set(key, (uniqueDestinations.get(key) ?? 0) + unique);
    }
    return {
      windowStart: window.start,
      counts,
      uniqueDestinations,
      complete: skippedRecords === 0,
      skippedRecords,
      ...(skippedRecords === 0
        ? {}
        : { skipDataThrough: this.skipDataThrough(window.start, skipDataLastEnd) }),
      stats: run.stats,
    };
  }

  async checkFormat(
    window: Window,
    deadline: number,
    stats?: QueryStatistics,
  ): Promise<FormatCheck | undefined> {
    // The window's last 10 minutes, as in Logs Insights: their partitions are what is sampled.
    const slice = { start: Math.max(window.start, window.end - 10 * 60_000), end: window.end };
    const query = this.queries.formatCheckQuery(slice);
    if (query === undefined) return undefined;
    const run: QueryRun = { kind: 'format-check', window: slice, deadline, stats: emptyStats() };
    try {
      const [row] = await this.runQuery(run, query);
      return {
        from: slice.start,
        to: slice.end,
        recordsScanned: row === undefined ? 0 : readCount(row, ATHENA_COLUMNS.sampled, run),
        notInFormat: row === undefined ? 0 : readCount(row, ATHENA_COLUMNS.notInFormat, run),
      };
    } finally {
      if (stats !== undefined) {
        stats.queries += run.stats.queries;
        stats.bytesScanned += run.stats.bytesScanned;
        stats.recordsScanned += run.stats.recordsScanned;
        stats.recordsMatched += run.stats.recordsMatched;
      }
    }
  }

  async details(
    window: Window,
    keys: readonly string[],
    deadline: number,
    stats?: QueryStatistics,
  ): Promise<Map<string, AlertDetails>> {
    const run: QueryRun = { kind: 'details', window, deadline, stats: emptyStats() };
    try {
      const perSource = new Map<
        string,
        { destinations: Map<string, DestinationCount>; interfaces: Set<string> }
      >();
      for (const key of keys) perSource.set(key, { destinations: new Map(), interfaces: new Set() });
      // The queries select the keys' addresses; rows are matched back by key, so the same
      // address in another account (or VPC) is not this alert's.
      const addresses = [...new Set([...perSource.keys()].map((key) => parseSourceKey(key).address))];
      for (let i = 0; i < addresses.length; i += this.detailsSourcesPerQuery) {
        const chunk = addresses.slice(i, i + this.detailsSourcesPerQuery);
        const rows = await this.runQuery(run, this.queries.detailsQuery(window, chunk));
        for (const row of rows) {
          const key = this.keyOf(row, run);
          const target = key === undefined ? undefined : perSource.get(key);
          if (target === undefined) continue;
          const address = row[ATHENA_COLUMNS.destination] ?? '-';
          const port = readOptionalNumber(row[ATHENA_COLUMNS.port]);
          const protocol = readOptionalNumber(row[ATHENA_COLUMNS.protocol]);
          const count = readCount(row, ATHENA_COLUMNS.records, run);
          const destinationKey = `${address} ${port ?? '-'} ${protocol ?? '-'}`;
          const existing = target.destinations.get(destinationKey);
          if (existing) existing.count += count;
          else target.destinations.set(destinationKey, { address, port, protocol, count });
          const interfaceId = row[ATHENA_COLUMNS.interfaceId];
          if (interfaceId !== undefined && interfaceId !== '' && interfaceId !== '-')
            target.interfaces.add(interfaceId);
        }
      }
      const details = new Map<string, AlertDetails>();
      for (const [key, collected] of perSource) {
        const destinations = [...collected.destinations.values()].sort(compareDestinations);
        details.set(key, {
          topDestinations: destinations.slice(0, this.topDestinations),
          totalDestinations: destinations.length,
          interfaceIds: [...collected.interfaces].sort(),
        });
      }
      return details;
    } finally {
      if (stats !== undefined) addStatistics(stats, run.stats);
    }
  }

  async history(from: number, to: number, deadline: number): Promise<HistoryResult> {
    const starts = windowsBetween(from, to, this.config);
    const length = windowMs(this.config);
    const windows = new Map<
      number,
      { windowStart: number; counts: Map<string, number>; complete: boolean }
    >();
    for (const start of starts) windows.set(start, { windowStart: start, counts: new Map(), complete: true });
    const stats = emptyStats();
    let gaps: HistoryGap[] = [];
    let skipDataThrough: number | undefined;
    let stoppedBy: Error | undefined;
    let reusedQueries = 0;
    // Slices newest first, a few at a time, until the run's time runs out (runHistorySlices).
    const runSlice = async (begin: number, end: number): Promise<SliceOutcome> => {
      const part = starts.slice(begin, end);
      const slice: Window = { start: part[0]!, end: part[part.length - 1]! + length };
      const run: QueryRun = { kind: 'history', window: slice, deadline, stats };
      let rows: ResultRow[];
      try {
        const query = this.queries.historyQuery(slice);
        const kept = await this.keptHistoryRows(run, query);
        if (kept !== undefined) reusedQueries += 1;
        rows = kept ?? (await this.runHistoryQuery(run, query));
      } catch (error) {
        // A slice whose query still fails after its retries is a gap, never zeros (as in the
        // Logs Insights source); one stopped by the run's deadline too, and no slice starts after it.
        const outOfTime = isOutOfTime(error);
        if (!(outOfTime || error instanceof QueryFailedError)) throw error;
        gaps.push({ from: slice.start, to: slice.end, error: error as Error });
        for (const start of part) windows.get(start)!.complete = false;
        if (!outOfTime) return 'counted';
        stoppedBy ??= error as Error;
        return 'out-of-time';
      }
      const skipped = new Map<number, number | undefined>();
      for (const row of rows) {
        const windowStart = this.readWindowStart(row, run);
        const target = windows.get(windowStart);
        if (target === undefined || windowStart < slice.start || windowStart >= slice.end) {
          throw new UnexpectedQueryResultError(
            'history',
            undefined,
            `window_start ${row[ATHENA_COLUMNS.windowStart]} is outside the queried slice`,
            'Athena',
          );
        }
        const records = readCount(row, ATHENA_COLUMNS.records, run);
        if (row[ATHENA_COLUMNS.skipData] === 'true') {
          if (records === 0) continue;
          const end = this.readSeconds(row[ATHENA_COLUMNS.lastEnd]);
          const seen = skipped.get(windowStart);
          skipped.set(windowStart, end === undefined ? seen : Math.max(seen ?? end, end));
          continue;
        }
        const key = this.keyOf(row, run);
        if (key === undefined) continue;
        target.counts.set(key, (target.counts.get(key) ?? 0) + records);
      }
      for (const [windowStart, lastEnd] of skipped) {
        const through = this.skipDataThrough(windowStart, lastEnd);
        skipDataThrough = Math.max(skipDataThrough ?? through, through);
        for (let w = windowStart; w <= through; w += length) {
          const target = windows.get(w);
          if (target !== undefined) target.complete = false;
        }
      }
      return 'counted';
    };
    const heldFrom = await runHistorySlices({
      windows: starts.length,
      concurrency: HISTORY_CONCURRENCY,
      // Nothing is sized from the first slice here.
      firstAlone: false,
      sliceWindows: () => this.historySliceWindows,
      // Where finished queries are kept, slices start on whole UTC days (of a day's slices), so
      // that a rerun asks the same queries for the days it shares with this run.
      ...(this.completedQueries === undefined ? {} : { sliceBegin: alignedSliceBegin(starts, length) }),
      deadline,
      now: () => this.now(),
      runSlice,
    });
    const held = starts.slice(heldFrom);
    gaps = gapsFrom(gaps, held[0] ?? to);
    return {
      windows: held.map((start) => windows.get(start)!),
      stats,
      gaps: gaps.sort((a, b) => a.from - b.from),
      ...(heldFrom === 0 ? {} : { heldFrom: held[0] ?? to }),
      ...(stoppedBy === undefined ? {} : { stoppedBy }),
      ...(skipDataThrough === undefined ? {} : { skipDataThrough }),
      ...(reusedQueries === 0 ? {} : { reusedQueries }),
    };
  }

  /**
   * Runs a history query and keeps its execution id for a rerun (best effort), unless it started
   * before the files of its last windows could all be in S3 (the delivery allowance, or the lag).
   */
  private async runHistoryQuery(run: QueryRun, query: AthenaQuery): Promise<ResultRow[]> {
    const startedAt = this.now();
    const { rows, queryId } = await this.runQueryWithId(run, query);
    const kept = this.completedQueries;
    // A history that could not be kept for a rerun is still this run's history.
    if (kept !== undefined && startedAt >= query.window.end + this.queries.deliveryReachMs)
      await kept
        .remember(this.historyQueryKey(query), queryId, startedAt + KEPT_RESULT_MS)
        .catch(() => undefined);
    return rows;
  }

  /**
   * The rows of the same history query an earlier bootstrap finished, read from its results; or
   * undefined: nothing kept, the execution unknown (past Athena's 45 days of history), not
   * SUCCEEDED, its result object gone, a row outside the slice (a sanity check on the answer: the
   * key, a hash of everything asked, is what identifies the query), any error (the query is then
   * run), or the run's deadline reached (no read starts or goes on past it; the slice is then out
   * of time, as any slice at the deadline).
   */
  private async keptHistoryRows(run: QueryRun, query: AthenaQuery): Promise<ResultRow[] | undefined> {
    const kept = this.completedQueries;
    if (kept === undefined || this.now() >= run.deadline) return undefined;
    try {
      const queryId = await kept.queryIdFor(this.historyQueryKey(query));
      if (queryId === undefined || this.now() >= run.deadline) return undefined;
      const response = await this.withRetry(
        run,
        'GetQueryExecution',
        () =>
          this.athena.send(
            new (loadAthenaModules().athena.GetQueryExecutionCommand)({ QueryExecutionId: queryId }),
          ),
        KEPT_READ_ATTEMPTS,
      );
      const execution = response.QueryExecution;
      // The key is a hash of what the query asked, its parameters included; GetQueryExecution
      // does not return the parameters (the API reference), nor promise the SQL verbatim, so what
      // is checked is the answer: finished, and no row outside this slice.
      if (execution?.Status?.State !== 'SUCCEEDED') return undefined;
      const rows = await this.readResults(run, queryId, execution.ResultConfiguration?.OutputLocation, {
        kept: true,
      });
      const inSlice = (row: ResultRow) => {
        const windowStart = this.readWindowStart(row, run);
        return windowStart >= run.window.start && windowStart < run.window.end;
      };
      return rows.every(inSlice) ? rows : undefined;
    } catch {
      return undefined;
    }
  }

  /** What identifies a history query's result: its workgroup, database, table, SQL and parameters. */
  private historyQueryKey(query: AthenaQuery): string {
    const asked = ['athena', this.workGroup, this.database, query.sql, query.parameters];
    return createHash('sha256')
      .update(JSON.stringify(this.tableFingerprint === undefined ? asked : [...asked, this.tableFingerprint]))
      .digest('hex');
  }

  /**
   * A row's source key; a row whose account, VPC or address makes no key (the counting filter
   * lets none through) is the service answering something else: an error naming it.
   */
  private keyOf(row: ResultRow, run: QueryRun): string | undefined {
    try {
      return sourceKeyOfRow(row);
    } catch (error) {
      throw new UnexpectedQueryResultError(
        run.kind,
        undefined,
        `source ${JSON.stringify(row[ATHENA_COLUMNS.source])}: ${(error as Error).message}`,
        'Athena',
      );
    }
  }

  private skipDataThrough(windowStart: number, lastEnd: number | undefined): number {
    const startSeconds = windowStart / 1000;
    return skipDataWindows(startSeconds, lastEnd ?? startSeconds, this.config).at(-1) ?? windowStart;
  }

  /** A time column of the results as epoch seconds (flow logs write seconds, Security Lake ms). */
  private readSeconds(text: string | undefined): number | undefined {
    const value = readOptionalNumber(text);
    if (value === null) return undefined;
    return this.queries.timeUnitMs === 1000 ? value : Math.floor(value / 1000);
  }

  private readWindowStart(row: ResultRow, run: QueryRun): number {
    const value = readOptionalNumber(row[ATHENA_COLUMNS.windowStart]);
    if (value === null) {
      throw new UnexpectedQueryResultError(
        run.kind,
        undefined,
        `window_start ${JSON.stringify(row[ATHENA_COLUMNS.windowStart])} is not a time`,
        'Athena',
      );
    }
    return value * this.queries.timeUnitMs;
  }

  /** Runs a query, starting it again after a FAILED worth retrying; returns its rows. */
  private async runQuery(run: QueryRun, query: AthenaQuery): Promise<ResultRow[]> {
    return (await this.runQueryWithId(run, query)).rows;
  }

  /** runQuery, with the id of the execution whose rows these are. */
  private async runQueryWithId(
    run: QueryRun,
    query: AthenaQuery,
  ): Promise<{ rows: ResultRow[]; queryId: string }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.runQueryOnce(run, query);
      } catch (error) {
        if (!(error instanceof RetryableFailure)) throw error;
        const failure = error.failure;
        const ceiling = Math.min(20_000, this.retryBaseDelayMs * 2 ** (attempt - 1));
        const delay = ceiling / 2 + this.random() * (ceiling / 2);
        if (attempt >= this.maxQueryAttempts || this.now() + delay >= run.deadline) {
          throw new QueryFailedError(
            failure.queryId,
            failure.status,
            failure.window,
            failure.kind,
            attempt,
            failure.reason,
            'Athena',
          );
        }
        await this.sleep(delay);
      }
    }
  }

  private async runQueryOnce(
    run: QueryRun,
    query: AthenaQuery,
  ): Promise<{ rows: ResultRow[]; queryId: string }> {
    // Past the deadline a query would be started (and billed) only to be cancelled at once.
    if (this.now() >= run.deadline)
      throw new QueryTimeoutError('', run.window, run.kind, run.deadline, NOT_STARTED, undefined, 'Athena');
    // One token for every try of this start: a retry after an answer that was lost (a timeout, a
    // 500 after the query started) gets the same query back instead of starting and billing another.
    const clientRequestToken = randomUUID();
    const started = await this.withRetry(run, 'StartQueryExecution', () =>
      this.athena.send(
        new (loadAthenaModules().athena.StartQueryExecutionCommand)({
          QueryString: query.sql,
          ClientRequestToken: clientRequestToken,
          WorkGroup: this.workGroup,
          // The session in the table's database (the role may read it), not Athena's `default`,
          // which the role is granted nothing on.
          QueryExecutionContext: { Database: this.database },
          ...(query.parameters.length === 0 ? {} : { ExecutionParameters: query.parameters }),
        }),
      ),
    );
    const queryId = started.QueryExecutionId;
    if (queryId === undefined || queryId === '') {
      throw new UnexpectedQueryResultError(
        run.kind,
        undefined,
        'StartQueryExecution returned no id',
        'Athena',
      );
    }
    run.stats.queries += 1;
    let execution: GetQueryExecutionCommandOutput['QueryExecution'];
    try {
      execution = await this.pollUntilDone(run, queryId);
    } catch (error) {
      // A query left running keeps scanning, and billing: stop it whatever went wrong.
      if (!(error instanceof QueryTimeoutError)) await this.stopQuietly(queryId);
      throw error;
    }
    run.stats.bytesScanned += execution?.Statistics?.DataScannedInBytes ?? 0;
    const state = execution?.Status?.State ?? 'UNKNOWN';
    const reason = execution?.Status?.StateChangeReason;
    if (state !== 'SUCCEEDED') {
      const failure = new QueryFailedError(queryId, state, run.window, run.kind, 1, reason, 'Athena');
      const athenaError = execution?.Status?.AthenaError;
      // No AthenaError: no reason given either way, so a bounded retry as for Logs Insights.
      const retryable =
        state === 'FAILED' &&
        (athenaError === undefined ||
          athenaError.Retryable === true ||
          athenaError.ErrorCategory === SYSTEM_ERROR_CATEGORY);
      throw retryable ? new RetryableFailure(failure) : failure;
    }
    return {
      rows: await this.readResults(run, queryId, execution?.ResultConfiguration?.OutputLocation),
      queryId,
    };
  }

  private async pollUntilDone(
    run: QueryRun,
    queryId: string,
  ): Promise<GetQueryExecutionCommandOutput['QueryExecution']> {
    let delay = this.pollIntervalMs;
    let state = 'QUEUED';
    for (;;) {
      const wait = Math.min(delay, run.deadline - this.now());
      if (wait <= 0) {
        const stopError = await this.stopQuietly(queryId);
        throw new QueryTimeoutError(queryId, run.window, run.kind, run.deadline, state, stopError, 'Athena');
      }
      await this.sleep(wait);
      const response = await this.withRetry(run, 'GetQueryExecution', () =>
        this.athena.send(
          new (loadAthenaModules().athena.GetQueryExecutionCommand)({ QueryExecutionId: queryId }),
        ),
      );
      state = response.QueryExecution?.Status?.State ?? 'UNKNOWN';
      if (!RUNNING_STATES.has(state)) return response.QueryExecution;
      delay = Math.min(delay * 1.5, this.maxPollIntervalMs);
    }
  }

  /**
   * The rows of a SUCCEEDED query: pages of 1,000 (the header row first) while within the page
   * budget; a bigger result is read whole from its CSV object in S3 (one request, however many
   * rows), which is what the results bucket is for. For a `kept` result (which the run can query
   * instead), no page is asked for at or past the run's deadline, and a call is tried at most
   * KEPT_READ_ATTEMPTS times.
   */
  private async readResults(
    run: QueryRun,
    queryId: string,
    outputLocation: string | undefined,
    { kept = false } = {},
  ): Promise<ResultRow[]> {
    const rows: ResultRow[] = [];
    let header: string[] | undefined;
    let nextToken: string | undefined;
    for (let page = 0; page < this.pageBudget; page += 1) {
      if (kept && this.now() >= run.deadline)
        throw new QueryTimeoutError(
          queryId,
          run.window,
          run.kind,
          run.deadline,
          'SUCCEEDED',
          undefined,
          'Athena',
        );
      const token = nextToken;
      const response = await this.withRetry(
        run,
        'GetQueryResults',
        () =>
          this.athena.send(
            new (loadAthenaModules().athena.GetQueryResultsCommand)({
              QueryExecutionId: queryId,
              MaxResults: ATHENA_PAGE_SIZE,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
          ),
        kept ? KEPT_READ_ATTEMPTS : undefined,
      );
      const pageRows = response.ResultSet?.Rows ?? [];
      let from = 0;
      if (header === undefined) {
        header = pageRows[0]?.Data?.map((datum) => datum.VarCharValue ?? '') ?? [];
        if (header.length === 0) {
          throw new UnexpectedQueryResultError(run.kind, queryId, 'the result has no header row', 'Athena');
        }
        from = 1;
      }
      for (let i = from; i < pageRows.length; i += 1) rows.push(toRow(header, pageRows[i]!));
      nextToken = response.NextToken;
      if (nextToken === undefined || nextToken === '') return rows;
    }
    if (outputLocation === undefined) {
      throw new UnexpectedQueryResultError(
        run.kind,
        queryId,
        `more than ${this.pageBudget * ATHENA_PAGE_SIZE} rows and no result location to read them from`,
        'Athena',
      );
    }
    return this.readResultObject(run, queryId, outputLocation);
  }

  private async readResultObject(
    run: QueryRun,
    queryId: string,
    outputLocation: string,
  ): Promise<ResultRow[]> {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(outputLocation);
    if (match === null) {
      throw new UnexpectedQueryResultError(
        run.kind,
        queryId,
        `result location ${outputLocation} is not an S3 URI`,
        'Athena',
      );
    }
    const [, bucket, key] = match;
    // The read keeps to the run's deadline like the queries: a stuck connection would otherwise
    // hold the run until Lambda kills it. The signal aborts the request and its body alike.
    const remaining = run.deadline - this.now();
    const timedOut = () =>
      new ResultReadTimeoutError(queryId, run.window, run.kind, run.deadline, outputLocation);
    if (!(remaining > 0)) throw timedOut();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), remaining);
    let text: string;
    try {
      const response = await this.s3.send(
        new (loadAthenaModules().s3.GetObjectCommand)({ Bucket: bucket, Key: key }),
        { abortSignal: abort.signal },
      );
      text = (await response.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (abort.signal.aborted) throw timedOut();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const records = parseCsv(text);
    const header = records.shift();
    if (header === undefined || header.length === 0) {
      throw new UnexpectedQueryResultError(
        run.kind,
        queryId,
        `result object ${outputLocation} has no header`,
        'Athena',
      );
    }
    return records.map((record) => {
      const row: ResultRow = {};
      header.forEach((name, i) => {
        const value = record[i];
        if (name !== null && value !== undefined && value !== null) row[name] = value;
      });
      return row;
    });
  }

  private async stopQuietly(queryId: string): Promise<unknown> {
    try {
      await this.athena.send(
        new (loadAthenaModules().athena.StopQueryExecutionCommand)({ QueryExecutionId: queryId }),
      );
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** Retries throttling and server errors with backoff and jitter while the next try fits the deadline. */
  private withRetry<T>(
    run: QueryRun,
    operation: string,
    call: () => Promise<T>,
    maxAttempts?: number,
  ): Promise<T> {
    return retryWithBackoff(call, {
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      retryable: RETRYABLE_ERRORS,
      baseDelayMs: this.retryBaseDelayMs,
      deadline: run.deadline,
      clock: { now: () => this.now(), sleep: (ms) => this.sleep(ms), random: () => this.random() },
      giveUp: (attempt, error) =>
        new QueryThrottledError(operation, run.window, run.kind, attempt, error, 'Athena'),
    });
  }
}

/** A FAILED query worth starting again (internal: runQuery decides). */
class RetryableFailure extends Error {
  constructor(readonly failure: QueryFailedError) {
    super(failure.message);
    this.name = 'RetryableFailure';
  }
}

function toRow(header: readonly string[], row: AthenaRow): ResultRow {
  const result: ResultRow = {};
  const data = row.Data ?? [];
  header.forEach((name, i) => {
    const value = data[i]?.VarCharValue;
    if (value !== undefined) result[name] = value;
  });
  return result;
}

/**
 * Athena's CSV result object: RFC 4180, every value in double quotes (a quote doubled inside), a
 * NULL as an empty unquoted field. Returns records of values, null for NULL.
 */
export function parseCsv(text: string): (string | null)[][] {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return records;
  for (;;) {
    let value: string | null;
    if (text[i] === '"') {
      let out = '';
      i += 1;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote < 0) throw new Error('CSV: unterminated quoted field');
        out += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          out += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      value = out;
    } else {
      let end = i;
      while (end < n && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end += 1;
      const raw = text.slice(i, end);
      value = raw === '' ? null : raw;
      i = end;
    }
    record.push(value);
    if (i >= n) {
      records.push(record);
      return records;
    }
    const c = text[i];
    if (c === ',') {
      i += 1;
      continue;
    }
    if (c === '\r') i += 1;
    if (text[i] === '\n') i += 1;
    records.push(record);
    record = [];
    if (i >= n) return records;
  }
}

function addStatistics(total: QueryStatistics, more: QueryStatistics): void {
  total.queries += more.queries;
  total.bytesScanned += more.bytesScanned;
  total.recordsScanned += more.recordsScanned;
  total.recordsMatched += more.recordsMatched;
}

function readCount(row: ResultRow, column: string, run: QueryRun): number {
  const text = row[column];
  const value = text === undefined ? NaN : Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new UnexpectedQueryResultError(
      run.kind,
      undefined,
      `column ${column} is ${JSON.stringify(text)}, not a count`,
      'Athena',
    );
  }
  return value;
}

function readOptionalNumber(text: string | undefined): number | null {
  if (text === undefined || text === '' || text === '-') return null;
  const value = Number(text);
  return Number.isInteger(value) ? value : null;
}

function positive(option: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new AthenaSourceOptionsError(option, `must be a positive number, got ${value}`);
  return value;
}

function integerIn(option: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AthenaSourceOptionsError(option, `must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}
