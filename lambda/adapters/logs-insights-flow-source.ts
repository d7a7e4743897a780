/**
 * FlowCountSource over CloudWatch Logs Insights: runs the queries built by FlowQueryBuilder,
 * polls them to completion within the caller's deadline, retries throttling, pages results and
 * never returns a result the service may have cut at the row limit.
 *
 * Row limit. A `stats` result with more groups than the query's `limit` is cut without an error.
 * Each query is started with `limit = rowLimit` (default 100,000, StartQuery's maximum: results
 * come 10,000 rows per GetQueryResults page with nextToken, and pages are free while every split
 * re-scans, and is billed for, the whole window: with a 10,000 limit a window of 12,000 sources
 * took 8 scans, with 100,000 it takes one; 100,000 sources take four). A result with
 * `rows >= rowLimit` is treated as cut and
 * re-queried on parts of the address space (`splitNarrowing`): count and history first by the
 * disjoint internal CIDRs, then by halves (`10.0.0.0/8` -> two `/9`s, IPv6 alike), jumping
 * straight to the common prefix of the addresses seen when they share a long one (IPv6 hosts of
 * one /64); details halve the source list, and one source that still overflows (a scan) gets its
 * top destinations and an estimated total in two queries instead. A single address that still
 * overflows, or more than `maxQueriesPerCall` queries in one call (in bootstrap: per history
 * slice, halved in time first), throws RowLimitExceededError: never a silent cut.
 *
 * More than 50 log groups. StartQuery reads at most 50 log groups, so the groups (configured,
 * or discovered by prefix in linked accounts: log-group-discovery.ts) are queried in parts of at
 * most 50, and each part is split on its own when its result reaches the row limit. The parts
 * read disjoint records, so counts add up across parts; within one part the narrowed queries of a
 * split each report all of the part's SKIPDATA records, so those are taken once per part (the
 * largest) and added across parts. Distinct destinations add up too: exact while a source's
 * records are in one part, an upper bound when they are spread over several.
 */
import { createHash } from 'node:crypto';
import {
  alignedSliceBegin,
  gapsFrom,
  isOutOfTime,
  runHistorySlices,
  type SliceOutcome,
} from './history-slices';
import { retryWithBackoff } from './query-retry';
import { compareDestinations } from '../destination-order';
import {
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type CloudWatchLogsClient,
  type GetQueryResultsCommandOutput,
  type ResultField,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  alignToWindow,
  identityOfKey,
  skipDataWindows,
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
  RowLimitExceededError,
  UnexpectedQueryResultError,
  type QueryKind,
} from './errors';
import {
  accountNarrowings,
  FlowQueryBuilder,
  NO_ACCOUNT,
  RESULT_COLUMNS,
  SKIPDATA_SOURCE,
  canonicalSourceKey,
  historyBinMinutes,
  jumpPrefix,
  queryTimeRange,
  validatedIp,
  splitNarrowingAt,
  type Narrowing,
  type SourceMatching,
} from './logs-insights-query';
import {
  encodePlan,
  leavesOf,
  partFingerprint,
  restorePlan,
  splitAhead,
  SplitPlanError,
  type SampledSource,
  type SplitNode,
} from './count-split-plan';
import { fixedLogGroups, logGroupParts, type LogGroupResolver } from './log-group-discovery';
import type {
  CompletedQueries,
  CountWindowOptions,
  FlowCountSource,
  HistoryGap,
  HistoryResult,
  FormatCheck,
  QueryStatistics,
  SourceDetails,
  WindowCounts,
} from './ports';

/** A format check reads a window's last 10 minutes. */
const FORMAT_CHECK_SLICE_MS = 10 * 60_000;

/** Rows of a full result sampled to split ahead (count-split-plan.ts splitAhead). */
const SPLIT_AHEAD_SAMPLE = 5_000;
/** A part estimated at this share of the row limit or more is split before it is queried. */
const SPLIT_AHEAD_FILL = 0.8;
/** Fewer sampled sources in a part than this say too little to split it ahead. */
const SPLIT_AHEAD_MIN_SAMPLE = 20;
/** Levels split ahead below a full result's own split (at most 2^6 parts of each). */
const SPLIT_AHEAD_LEVELS = 6;

/** Rows per GetQueryResults call (service maximum). */
export const PAGE_SIZE = 10_000;
/** StartQuery's maximum `limit`. */
export const MAX_ROW_LIMIT = 100_000;
export const DEFAULT_ROW_LIMIT = MAX_ROW_LIMIT;

const RETRYABLE_ERRORS = new Set([
  'LimitExceededException',
  'ThrottlingException',
  'ServiceUnavailableException',
]);
const RUNNING_STATUSES = new Set(['Scheduled', 'Running']);
/** End states worth another try. `Cancelled` is not: someone stopped the query on purpose. */
const RETRYABLE_STATUSES = new Set(['Failed', 'Timeout', 'Unknown']);
/** The statuses AWS documents as a query's end (`Unknown` is not among them). */
const ENDED_STATUSES = new Set(['Failed', 'Cancelled', 'Timeout', 'Complete']);

export interface LogsInsightsFlowSourceOptions {
  client: CloudWatchLogsClient;
  /** Flow log group names or ARNs (ARNs for cross-account); more than 50 are queried in parts. */
  logGroupIdentifiers?: string[];
  /** Where the log groups come from instead (discovery by prefix); resolved once, at the first query. */
  logGroups?: LogGroupResolver;
  config: DetectorConfig;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  /** First wait between GetQueryResults polls; grows 1.5x per poll up to maxPollIntervalMs. @default 1000 */
  pollIntervalMs?: number;
  /** @default 5000 */
  maxPollIntervalMs?: number;
  /** First retry delay after throttling; doubles per attempt (with jitter) up to 20 s. @default 1000 */
  retryBaseDelayMs?: number;
  /** StartQuery `limit`; a result reaching it is split and re-queried. @default 100,000 */
  rowLimit?: number;
  /** Destinations kept per source in details. @default 10 */
  topDestinations?: number;
  /** Bound on queries (splits included) per call, against runaway splitting. @default 256 */
  maxQueriesPerCall?: number;
  /** Windows per history query; one day of windows by default. */
  historySliceWindows?: number;
  /**
   * Where a bootstrap keeps its finished history queries, so that a rerun (after one that ran out
   * of time) reads the slices already counted from their stored results instead of scanning them
   * again; the history's slices then start on whole days (UTC), so that a rerun hours later slices
   * the days alike. Absent: every history query is started, its slices counted back from the end.
   */
  completedQueries?: CompletedQueries;
  /**
   * Tries of a query that ends Failed, Timeout or Unknown (a service-side failure, often
   * transient) before QueryFailedError; the next try waits a backoff that starts at
   * retryBaseDelayMs and only starts if it fits before the deadline. @default 3
   */
  maxQueryAttempts?: number;
  /** Queries of one split (an over-limit window's parts) run at once. @default 4 */
  splitConcurrency?: number;
  /**
   * Split the parts of a full result further where its rows say they would come back full too
   * (count-split-plan.ts splitAhead); false: one halving at a time. @default true
   */
  splitAhead?: boolean;
}

export class FlowSourceOptionsError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`LogsInsightsFlowSource option ${option}: ${message}`);
    this.name = 'FlowSourceOptionsError';
  }
}

type Row = Record<string, string>;

interface QueryRun {
  kind: QueryKind;
  /** The log groups this query reads (one part of at most 50). */
  groups: readonly string[];
  /** For errors: the window (or history slice) the query covers. */
  window: Window;
  deadline: number;
  stats: QueryStatistics;
  /** Queries left in this call's budget. */
  budget: { remaining: number };
  /** History queries read again from an earlier run's finished query (CompletedQueries). */
  reused?: { queries: number };
}

interface QueryResult {
  rows: Row[];
  /** The row limit was reached: the result may have been cut. */
  full: boolean;
  /** The query's `recordsMatched` statistic (undefined when the service gave none). */
  recordsMatched?: number;
  /** The query whose rows these are. */
  queryId?: string;
}

/** How long CloudWatch Logs keeps a query's results for GetQueryResults (its quotas page). */
const QUERY_RESULTS_KEPT_MS = 7 * 86_400_000;
/** A kept query is not read in its last hour: a read started then could find its results gone. */
const QUERY_RESULTS_MARGIN_MS = 3_600_000;

/**
 * A slice length that divides a day (the largest not above `windows`), or `windows` itself when
 * it is a day or more: slices aligned on it then start on day boundaries, and a rerun whose
 * sources per window differ a little still slices, and so queries, the days alike.
 */
function steadySliceWindows(windows: number, windowsPerDay: number): number {
  if (windows >= windowsPerDay) return windows;
  return daySliceLengths(windowsPerDay).find((size) => size <= windows) ?? windows;
}

/** The slice lengths (in windows) that divide a day, longest first; none when windows do not divide it. */
function daySliceLengths(windowsPerDay: number): number[] {
  if (!Number.isInteger(windowsPerDay)) return [];
  const lengths: number[] = [];
  for (let size = windowsPerDay; size >= 1; size -= 1) if (windowsPerDay % size === 0) lengths.push(size);
  return lengths;
}

/**
 * Keys looked up for one slice of a bootstrap's history (three BatchGetItem requests): every
 * aligned piece of a day's divisors for hourly to 15-minute windows, lengths of 4 windows and
 * more for 5-minute ones.
 */
const MAX_KEPT_LOOKUPS = 300;

/**
 * The pieces of each length in `sizes` (windows, largest first) aligned on multiples of that
 * length that overlap `slice`, up to `limit` in all (the largest lengths first).
 */
function alignedPieces(
  slice: Window,
  windowLength: number,
  sizes: readonly number[],
  limit: number,
): Window[] {
  const pieces: Window[] = [];
  for (const size of sizes) {
    const span = size * windowLength;
    const first = Math.floor(slice.start / span);
    const last = Math.ceil(slice.end / span) - 1;
    if (pieces.length + (last - first + 1) > limit) continue;
    for (let k = first; k <= last; k += 1) pieces.push({ start: k * span, end: (k + 1) * span });
  }
  return pieces;
}

/** What identifies a history query for reuse: its log groups, time range, query string and row limit. */
function historyQueryKey(
  groups: readonly string[],
  range: { startTime: number; endTime: number },
  queryString: string,
  rowLimit: number,
): string {
  return createHash('sha256')
    .update(JSON.stringify([groups, range.startTime, range.endTime, queryString, rowLimit]))
    .digest('hex');
}

const emptyStats = (): QueryStatistics => ({
  queries: 0,
  bytesScanned: 0,
  recordsScanned: 0,
  recordsMatched: 0,
});

function addStatistics(total: QueryStatistics, more: QueryStatistics): void {
  total.queries += more.queries;
  total.bytesScanned += more.bytesScanned;
  total.recordsScanned += more.recordsScanned;
  total.recordsMatched += more.recordsMatched;
}

/** The source addresses of a result's rows, for where its split jumps (read only as far as needed). */
function* seenSources(rows: readonly Row[]): Generator<string> {
  for (const row of rows) yield row[RESULT_COLUMNS.source] ?? '';
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class LogsInsightsFlowSource implements FlowCountSource {
  private readonly client: CloudWatchLogsClient;
  private readonly logGroups: LogGroupResolver;
  private parts: Promise<string[][]> | undefined;
  private readonly config: DetectorConfig;
  private readonly queries: FlowQueryBuilder;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly pollIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly retryBaseDelayMs: number;
  private readonly rowLimit: number;
  private readonly topDestinations: number;
  private readonly maxQueriesPerCall: number;
  private readonly historySliceWindows: number;
  private readonly completedQueries: CompletedQueries | undefined;
  private readonly maxQueryAttempts: number;
  private readonly splitConcurrency: number;
  private readonly splitAheadOn: boolean;

  constructor(options: LogsInsightsFlowSourceOptions) {
    if (options.logGroups !== undefined) {
      this.logGroups = options.logGroups;
    } else {
      const groups = options.logGroupIdentifiers ?? [];
      if (groups.length < 1) {
        throw new FlowSourceOptionsError(
          'logGroupIdentifiers',
          'needs at least one log group (or logGroups)',
        );
      }
      const blank = groups.findIndex((g) => typeof g !== 'string' || g.trim() === '');
      if (blank >= 0) throw new FlowSourceOptionsError('logGroupIdentifiers', `entry ${blank} is empty`);
      this.logGroups = fixedLogGroups(groups);
    }
    this.client = options.client;
    this.config = options.config;
    this.queries = new FlowQueryBuilder(options.config);
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 1000);
    this.maxPollIntervalMs = Math.max(
      this.pollIntervalMs,
      positive('maxPollIntervalMs', options.maxPollIntervalMs ?? 5000),
    );
    this.retryBaseDelayMs = positive('retryBaseDelayMs', options.retryBaseDelayMs ?? 1000);
    this.rowLimit = integerIn('rowLimit', options.rowLimit ?? DEFAULT_ROW_LIMIT, 1, MAX_ROW_LIMIT);
    this.topDestinations = integerIn('topDestinations', options.topDestinations ?? 10, 1, 10_000);
    this.maxQueriesPerCall = integerIn('maxQueriesPerCall', options.maxQueriesPerCall ?? 256, 1, 100_000);
    this.maxQueryAttempts = integerIn('maxQueryAttempts', options.maxQueryAttempts ?? 3, 1, 10);
    this.splitConcurrency = integerIn('splitConcurrency', options.splitConcurrency ?? 4, 1, 50);
    this.splitAheadOn = options.splitAhead ?? true;
    this.completedQueries = options.completedQueries;
    this.historySliceWindows = integerIn(
      'historySliceWindows',
      // One day per query; fewer windows when the row limit is tiny, so one source's windows always fit.
      options.historySliceWindows ??
        Math.max(1, Math.min(1440 / options.config.windowMinutes, Math.floor(this.rowLimit / 2))),
      1,
      100_000,
    );
  }

  async countWindow(
    window: Window,
    deadline: number,
    options: CountWindowOptions = {},
  ): Promise<WindowCounts> {
    const parts = await this.logGroupParts();
    const stats = emptyStats();
    // Where the last window's split ended (count-split-plan.ts): its parts are queried straight
    // away instead of being found again through full results.
    const fingerprints = parts.map((groups) => partFingerprint(groups, this.queries.countQuery()));
    const { trees, planNote } = this.restoredTrees(options.splitPlan, fingerprints);
    const runs = parts.map((groups) => this.newRun('count', window, deadline, groups, stats));
    const counts = new Map<string, number>();
    const uniqueDestinations = new Map<string, number>();
    // Per log group part: the narrowed queries of one part each see all of its SKIPDATA records.
    const skippedByPart = parts.map(() => 0);
    let skipDataLastEnd: number | undefined;
    let maxDeliveryDelayMs: number | undefined;
    // Each complete result is folded as it arrives and dropped: at 100,000 sources the rows of
    // every part held until the last one came back were some 100,000 objects more at the peak.
    await this.collectBySourceSplit(
      runs,
      queryTimeRange(window),
      (n) => this.queries.countQuery(n),
      (rows, part) => {
        const run = runs[part]!;
        // SKIPDATA groups by account: the result's SKIPDATA rows add up to the part's.
        let skippedHere = 0;
        for (const row of rows) {
          const count = readCount(row, RESULT_COLUMNS.blockedCount, run);
          const delay = readOptionalNumber(row[RESULT_COLUMNS.maxDeliveryDelay]);
          if (delay !== null) maxDeliveryDelayMs = Math.max(maxDeliveryDelayMs ?? delay, delay);
          const key = this.sourceKeyOf(row, run);
          if (key === undefined) {
            skippedHere += count;
            const end = readOptionalNumber(row[RESULT_COLUMNS.lastEnd]);
            if (end !== null) skipDataLastEnd = Math.max(skipDataLastEnd ?? end, end);
            continue;
          }
          counts.set(key, (counts.get(key) ?? 0) + count);
          const unique = readCount(row, RESULT_COLUMNS.uniqueDestinations, run);
          uniqueDestinations.set(key, (uniqueDestinations.get(key) ?? 0) + unique);
        }
        // Every narrowed query of a part reports all of the part's SKIPDATA records: the same number.
        skippedByPart[part] = Math.max(skippedByPart[part]!, skippedHere);
      },
      trees,
    );
    const splitPlan = encodePlan(
      new Map(fingerprints.map((fingerprint, part) => [fingerprint, trees[part]!])),
      this.rowLimit / 2,
    );
    const skippedRecords = skippedByPart.reduce((sum, n) => sum + n, 0);
    return {
      windowStart: window.start,
      counts,
      uniqueDestinations,
      complete: skippedRecords === 0,
      skippedRecords,
      ...(skippedRecords === 0
        ? {}
        : { skipDataThrough: this.skipDataThrough(window.start, skipDataLastEnd) }),
      ...(maxDeliveryDelayMs === undefined ? {} : { maxDeliveryDelayMs }),
      stats,
      splitPlan,
      ...(planNote === undefined ? {} : { splitPlanNote: planNote }),
    };
  }

  /** One split tree per log group part: from the kept plan where it has the part, else one query. */
  private restoredTrees(
    plan: string | undefined,
    fingerprints: readonly string[],
  ): { trees: SplitNode[]; planNote?: string } {
    const fresh = (): SplitNode[] => fingerprints.map(() => ({ narrowing: undefined }));
    if (plan === undefined) return { trees: fresh() };
    try {
      const derive = (narrowing: Narrowing | undefined, jump: string | undefined) =>
        this.derivedNarrowings(narrowing, jump);
      return {
        trees: fingerprints.map(
          (fingerprint) =>
            restorePlan(plan, fingerprint, derive, this.maxQueriesPerCall) ?? { narrowing: undefined },
        ),
      };
    } catch (error) {
      if (!(error instanceof SplitPlanError)) throw error;
      return { trees: fresh(), planNote: error.message };
    }
  }

  /**
   * The last window that SKIPDATA records starting in the window at `windowStart` make
   * incomplete, the latest of them ending at `lastEnd` (epoch seconds; unknown: their own window).
   */
  private skipDataThrough(windowStart: number, lastEnd: number | undefined): number {
    const startSeconds = windowStart / 1000;
    return skipDataWindows(startSeconds, lastEnd ?? startSeconds, this.config).at(-1) ?? windowStart;
  }

  async details(
    window: Window,
    srcIps: readonly string[],
    deadline: number,
    stats?: QueryStatistics,
  ): Promise<Map<string, SourceDetails>> {
    const runStats = emptyStats();
    try {
      const parts = await this.logGroupParts();
      return await this.collectDetails(
        parts.map((groups) => this.newRun('details', window, deadline, groups, runStats)),
        window,
        srcIps,
      );
    } finally {
      if (stats !== undefined) addStatistics(stats, runStats);
    }
  }

  /**
   * Details over every log group part, merged: a destination's counts add up across parts, the
   * interfaces are the union, and a source that overflowed a part on its own (a scan) brings its
   * top destinations and its estimated total (a lower bound of the merged total).
   */
  private async collectDetails(
    runs: readonly QueryRun[],
    window: Window,
    keys: readonly string[],
  ): Promise<Map<string, SourceDetails>> {
    const range = queryTimeRange(window);
    // Rows are matched back to the requested key as written, or else, for a key with no row as
    // written, through a canonical key (IPv6 may be written differently in the logs than in the
    // request): the same address written two ways is two sources (two alerts), each its own rows.
    const requestedByKey = new Map<string, string>();
    for (const key of keys) {
      const canonical = canonicalSourceKey(key);
      if (canonical !== undefined && !requestedByKey.has(canonical)) requestedByKey.set(canonical, key);
    }
    const perSource = new Map<
      string,
      {
        destinations: Map<string, DestinationCount>;
        interfaces: Set<string>;
        leastTotal: number;
        /** A part's rows of it overflowed: its destinations are a sample. */
        sampled: boolean;
      }
    >();
    for (const key of keys)
      perSource.set(key, { destinations: new Map(), interfaces: new Set(), leastTotal: 0, sampled: false });
    const addDestination = (target: NonNullable<ReturnType<typeof perSource.get>>, d: DestinationCount) => {
      const destinationKey = `${d.address} ${d.port ?? '-'} ${d.protocol ?? '-'}`;
      const existing = target.destinations.get(destinationKey);
      if (existing) existing.count += d.count;
      else target.destinations.set(destinationKey, { ...d });
    };

    const addRow = (target: NonNullable<ReturnType<typeof perSource.get>>, row: Row, run: QueryRun) => {
      addDestination(target, {
        address: row[RESULT_COLUMNS.destination] ?? '-',
        port: readOptionalNumber(row[RESULT_COLUMNS.destinationPort]),
        protocol: readOptionalNumber(row[RESULT_COLUMNS.protocol]),
        count: readCount(row, RESULT_COLUMNS.detailCount, run),
      });
      const interfaceId = row[RESULT_COLUMNS.interfaceId];
      if (interfaceId !== undefined && interfaceId !== '' && interfaceId !== '-')
        target.interfaces.add(interfaceId);
    };
    const exactlyFound = new Set<string>();
    const otherForms: { requested: string; row: Row; run: QueryRun }[] = [];

    const chunks = this.queries.detailsQueries(keys).map((chunk) => chunk.srcIps);
    for (const run of runs) {
      const pending: Array<{ srcIps: string[] }> = chunks.map((chunk) => ({ srcIps: chunk }));
      while (pending.length > 0) {
        const item = pending.shift()!;
        const result = await this.runQuery(run, range, this.queries.detailsQuery(item.srcIps));
        if (result.full) {
          const single = item.srcIps.length === 1 ? item.srcIps[0] : undefined;
          if (single === undefined) {
            pending.unshift(...this.splitDetails(item));
            continue;
          }
          // Splitting the destination space would rescan the window per part, costing the most on
          // the alerts that matter: ask for the top destinations and the spread instead.
          // Whether the rows that overflowed were all this source's as written (not another way
          // of writing its IPv6 address): only then do they prove its spread (scanDetails).
          const ownRows = result.rows.every((row) => this.queries.rowKey(row) === single);
          const scanned = await this.scanDetails(run, range, single, ownRows);
          const target = perSource.get(single)!;
          for (const d of scanned.topDestinations) addDestination(target, d);
          for (const id of scanned.interfaceIds) target.interfaces.add(id);
          target.leastTotal = Math.max(target.leastTotal, scanned.totalDestinations);
          target.sampled = true;
          continue;
        }
        for (const row of result.rows) {
          const written = this.queries.rowKey(row);
          if (written !== undefined && perSource.has(written)) {
            addRow(perSource.get(written)!, row, run);
            exactlyFound.add(written);
            continue;
          }
          const canonical = this.queries.rowKey(row, true);
          const requested = canonical === undefined ? undefined : requestedByKey.get(canonical);
          // A source not asked for (the same address in an account of a key without one) is not this alert's.
          if (requested !== undefined) otherForms.push({ requested, row, run });
        }
      }
    }
    // An address the logs write otherwise than the key asked for: its rows, but only for a key
    // none were found for as written. Where the key's own form is in the logs, the other forms
    // are other sources (their own count keys, their own alerts), not this one's.
    for (const { requested, row, run } of otherForms)
      if (!exactlyFound.has(requested)) addRow(perSource.get(requested)!, row, run);

    const details = new Map<string, SourceDetails>();
    for (const [ip, collected] of perSource) {
      const destinations = [...collected.destinations.values()].sort(compareDestinations);
      details.set(ip, {
        topDestinations: destinations.slice(0, this.topDestinations),
        totalDestinations: Math.max(destinations.length, collected.leastTotal),
        interfaceIds: [...collected.interfaces].sort(),
        // Not for a sample, nor for a source the details found nothing of (the count's figure stays).
        ...(collected.sampled || destinations.length === 0
          ? {}
          : { distinctAddresses: new Set(destinations.map((d) => d.address)).size }),
      });
    }
    return details;
  }

  async checkFormat(window: Window, deadline: number, stats?: QueryStatistics): Promise<FormatCheck> {
    // The window's last minutes: a sample of every log group at a small part of a window's scan.
    const from = Math.max(window.start, window.end - FORMAT_CHECK_SLICE_MS);
    const slice = { start: from, end: window.end };
    const runStats = emptyStats();
    let notInFormat = 0;
    try {
      for (const groups of await this.logGroupParts()) {
        const run = this.newRun('format-check', slice, deadline, groups, runStats);
        const result = await this.runQuery(run, queryTimeRange(slice), this.queries.formatCheckQuery());
        for (const row of result.rows) notInFormat += readCount(row, RESULT_COLUMNS.notInFormat, run);
      }
    } finally {
      if (stats !== undefined) addStatistics(stats, runStats);
    }
    return { from, to: window.end, recordsScanned: runStats.recordsScanned, notInFormat };
  }

  async history(from: number, to: number, deadline: number): Promise<HistoryResult> {
    const starts = windowsBetween(from, to, this.config);
    const windows = new Map<
      number,
      { windowStart: number; counts: Map<string, number>; complete: boolean }
    >();
    for (const start of starts) windows.set(start, { windowStart: start, counts: new Map(), complete: true });
    const stats = emptyStats();
    const skipData = { through: undefined as number | undefined };
    let gaps: HistoryGap[] = [];
    const groupParts = await this.logGroupParts();
    // A slice that overflows is halved in TIME first: each half scans only its own hours, so the
    // halves together cost the bytes of the slice once more at most per level, where an address
    // split rescans the whole slice per part. Only a single window that overflows is split by
    // address. Each slice has its own query budget, and once a slice has shown how many sources
    // a window holds, later slices are sized to fit the row limit in one query.
    const sizing = { sliceWindows: this.historySliceWindows, sourcesPerWindow: 0 };
    // Slices newest first, a few at a time, until the run's time runs out (runHistorySlices); each
    // slice of every log group part, one part after another, folded into the same windows (counts
    // add up).
    const stop: { by?: Error } = {};
    const reused = { queries: 0 };
    const length = windowMs(this.config);
    const heldFrom = await runHistorySlices({
      windows: starts.length,
      concurrency: this.splitConcurrency,
      firstAlone: true,
      // Aligned, the newest slice may be an hour of today: the rest are sized once a whole slice
      // has come back too (one full result at most, as when the newest slice was a whole day).
      ...(this.completedQueries === undefined ? {} : { aloneWindows: this.historySliceWindows }),
      sliceWindows: () => sizing.sliceWindows,
      // Where finished queries are kept, slices start on whole multiples of their length (whole
      // UTC days by default), so that a rerun an hour or a day later asks the same queries for
      // the days it shares with this one and can read them again (CompletedQueries); only the
      // newest slice, up to `to`, is shorter. Without, they are counted back from `to`.
      ...(this.completedQueries === undefined ? {} : { sliceBegin: alignedSliceBegin(starts, length) }),
      deadline,
      now: () => this.now(),
      runSlice: async (begin, end) => {
        for (const groups of groupParts) {
          const run = { groups, deadline, stats, skipData, gaps, sizing, stop, reused };
          if ((await this.historySlice(starts.slice(begin, end), windows, run)) === 'out-of-time') {
            return 'out-of-time';
          }
        }
        return 'counted';
      },
    });
    const held = starts.slice(heldFrom);
    gaps = gapsFrom(gaps, held[0] ?? to);
    // A window one part could not count is a gap for every part: the other parts' counts alone
    // would read as zeros for the sources of the part that failed.
    for (const gap of gaps) {
      for (const start of held) {
        if (start >= gap.from && start < gap.to) windows.get(start)!.counts = new Map();
      }
    }
    return {
      windows: held.map((start) => windows.get(start)!),
      stats,
      // Each part reports its own failures: a stretch every part failed on is one gap, not one per part.
      gaps: mergeGaps(gaps),
      ...(heldFrom === 0 ? {} : { heldFrom: held[0] ?? to }),
      ...(stop.by === undefined ? {} : { stoppedBy: stop.by }),
      ...(skipData.through === undefined ? {} : { skipDataThrough: skipData.through }),
      ...(reused.queries === 0 ? {} : { reusedQueries: reused.queries }),
    };
  }

  /** A slice of the history for one log group part: counted, its failed parts gaps, or stopped by the deadline. */
  private async historySlice(
    sliceStarts: readonly number[],
    windows: Map<number, { windowStart: number; counts: Map<string, number>; complete: boolean }>,
    history: {
      groups: readonly string[];
      deadline: number;
      stats: QueryStatistics;
      skipData: { through: number | undefined };
      gaps: HistoryGap[];
      sizing: { sliceWindows: number; sourcesPerWindow: number };
      /** The first error that stopped the history at the deadline. */
      stop: { by?: Error };
      reused: { queries: number };
    },
  ): Promise<SliceOutcome> {
    const { groups, deadline, stats, skipData, gaps, sizing, stop, reused } = history;
    const length = windowMs(this.config);
    const binsPerWindow = this.config.windowMinutes / historyBinMinutes(this.config.windowMinutes);
    const budget = { remaining: this.maxQueriesPerCall };
    const parts: number[][] = [[...sliceStarts]];
    while (parts.length > 0) {
      const part = parts.shift()!;
      const sliceStart = part[0]!;
      const sliceEnd = part[part.length - 1]! + length;
      const slice: Window = { start: sliceStart, end: sliceEnd };
      const run: QueryRun = { kind: 'history', groups, window: slice, deadline, stats, budget, reused };
      let rowSets: Row[][];
      // Kept queries of earlier bootstraps that cover the part, however they were sliced.
      const kept = this.completedQueries === undefined ? undefined : await this.keptRows(run, slice);
      try {
        if (kept !== undefined) {
          rowSets = [kept];
        } else if (part.length > 1) {
          const result = await this.runQuery(run, queryTimeRange(slice), this.queries.historyQuery());
          if (result.full) {
            const middle = Math.ceil(part.length / 2);
            parts.unshift(part.slice(0, middle), part.slice(middle));
            continue;
          }
          rowSets = [result.rows];
        } else {
          rowSets = await this.collectBySourceSplit([run], queryTimeRange(slice), (n) =>
            this.queries.historyQuery(n),
          );
        }
      } catch (error) {
        // A part whose query still fails after its retries (or cannot be split under the row
        // limit) is a gap in the history, never zeros: its windows are left without counts and
        // incomplete, so the baselines' clock skips them, and the caller decides what to do. At
        // the run's deadline the whole slice is a gap (halves already counted included: the
        // log group parts after this one never counted them), and no slice starts after it.
        const outOfTime = isOutOfTime(error);
        if (!(outOfTime || error instanceof QueryFailedError || error instanceof RowLimitExceededError)) {
          throw error;
        }
        const lost = outOfTime ? sliceStarts : part;
        gaps.push({ from: lost[0]!, to: lost[lost.length - 1]! + length, error: error as Error });
        for (const start of lost) windows.get(start)!.complete = false;
        if (outOfTime) {
          stop.by ??= error as Error;
          return 'out-of-time';
        }
        continue;
      }
      sizing.sourcesPerWindow = Math.max(sizing.sourcesPerWindow, maxSourcesPerBin(rowSets));
      this.foldHistoryRows(rowSets, windows, slice, run, skipData);
    }
    // +1: the SKIPDATA row a bin may add; a window binned in parts has a row per part.
    sizing.sliceWindows = steadySliceWindows(
      Math.min(
        this.historySliceWindows,
        Math.max(1, Math.floor(this.rowLimit / ((sizing.sourcesPerWindow + 1) * binsPerWindow))),
      ),
      1440 / this.config.windowMinutes,
    );
    return 'counted';
  }

  private foldHistoryRows(
    rowSets: readonly Row[][],
    windows: Map<number, { windowStart: number; counts: Map<string, number>; complete: boolean }>,
    slice: Window,
    run: QueryRun,
    skipData: { through: number | undefined },
  ): void {
    const sliceStart = slice.start;
    const sliceEnd = slice.end;
    const skipped = new Map<number, { count: number; lastEnd: number | undefined }>();
    for (const rows of rowSets) {
      // SKIPDATA groups by account: a result's rows of one bin add up; results (narrowed queries,
      // each reporting all of them) give the same total.
      const skippedHere = new Map<number, { count: number; lastEnd: number | undefined }>();
      for (const row of rows) {
        const windowStart = readBin(row[RESULT_COLUMNS.windowBin], this.config.windowMinutes, run);
        // A window binned in parts (historyBinMinutes) gets each part's counts added up.
        const target = windows.get(windowStart);
        if (target === undefined || windowStart < sliceStart || windowStart >= sliceEnd) {
          throw new UnexpectedQueryResultError(
            'history',
            undefined,
            `bin ${row[RESULT_COLUMNS.windowBin]} is outside the queried slice [${sliceStart}, ${sliceEnd})`,
          );
        }
        const count = readCount(row, RESULT_COLUMNS.blockedCount, run);
        const key = this.sourceKeyOf(row, run);
        if (key === undefined) {
          const seen = skippedHere.get(windowStart);
          const end = readOptionalNumber(row[RESULT_COLUMNS.lastEnd]);
          skippedHere.set(windowStart, {
            count: (seen?.count ?? 0) + count,
            lastEnd: end === null ? seen?.lastEnd : Math.max(seen?.lastEnd ?? end, end),
          });
          continue;
        }
        target.counts.set(key, (target.counts.get(key) ?? 0) + count);
      }
      for (const [windowStart, here] of skippedHere) {
        const seen = skipped.get(windowStart);
        skipped.set(windowStart, {
          count: Math.max(seen?.count ?? 0, here.count),
          lastEnd:
            here.lastEnd === undefined
              ? seen?.lastEnd
              : Math.max(seen?.lastEnd ?? here.lastEnd, here.lastEnd),
        });
      }
    }
    // Every window a SKIPDATA record overlaps is incomplete, also those of later slices.
    for (const [windowStart, { count, lastEnd }] of skipped) {
      if (count === 0) continue;
      const through = this.skipDataThrough(windowStart, lastEnd);
      skipData.through = Math.max(skipData.through ?? through, through);
      for (let w = windowStart; w <= through; w += windowMs(this.config)) {
        const target = windows.get(w);
        if (target !== undefined) target.complete = false;
      }
    }
  }

  /**
   * The source key of a count or history row; undefined for the SKIPDATA group (no address).
   * A row of an address that is not one (the counting filter lets none through) is the service
   * answering something else: an error naming it, never a source made up.
   */
  private sourceKeyOf(row: Row, run: QueryRun): string | undefined {
    if (isSkipDataSource(row[RESULT_COLUMNS.source])) return undefined;
    try {
      return this.queries.rowKey(row);
    } catch (error) {
      throw new UnexpectedQueryResultError(
        run.kind,
        undefined,
        `source ${JSON.stringify(row[RESULT_COLUMNS.source])}: ${(error as Error).message}`,
      );
    }
  }

  /** A run of queries over one log group part, with its own query budget. */
  private newRun(
    kind: QueryKind,
    window: Window,
    deadline: number,
    groups: readonly string[],
    stats: QueryStatistics,
  ): QueryRun {
    return { kind, groups, window, deadline, stats, budget: { remaining: this.maxQueriesPerCall } };
  }

  /** The log groups in parts of at most 50, resolved once per source (one run). */
  private logGroupParts(): Promise<string[][]> {
    this.parts ??= this.logGroups.logGroups().then(logGroupParts);
    // A failed resolution is not kept: the next call tries again.
    this.parts.catch(() => {
      this.parts = undefined;
    });
    return this.parts;
  }

  /**
   * Runs `build()` over each log group part (one run each) and, while a part's result is full,
   * re-runs it on halves of the internal address space (the disjoint internal CIDRs first, then
   * halves of each). Returns the row sets of the queries whose results were complete (within a
   * part their sources are disjoint), or hands each to `consume` with its part's index as it
   * completes and keeps none.
   */
  private async collectBySourceSplit(
    runs: readonly QueryRun[],
    range: { startTime: number; endTime: number },
    build: (narrowing?: Narrowing) => string,
    consume?: (rows: Row[], part: number) => void,
    trees: SplitNode[] = runs.map(() => ({ narrowing: undefined })),
  ): Promise<Row[][]> {
    const rowSets: Row[][] = [];
    // Each part's tree grows as its full results are split; a kept plan's tree starts at its leaves.
    const pending: Array<{ part: number; node: SplitNode }> = trees.flatMap((tree, part) =>
      leavesOf(tree).map((node) => ({ part, node })),
    );
    let running = 0;
    let failure: { error: unknown } | undefined;
    // Idle workers wait here for a running part to finish (it may add children).
    let waiting: Array<() => void> = [];
    const wake = (): void => {
      const woken = waiting;
      waiting = [];
      for (const resolve of woken) resolve();
    };
    // The parts of a split run a few at a time (splitConcurrency): each scans the whole window,
    // so one after another a split took as long as its parts together. Few, because the account's
    // 100 concurrent queries are shared (LimitExceededException is retried with backoff).
    const worker = async (): Promise<void> => {
      while (failure === undefined) {
        if (pending.length === 0) {
          if (running === 0) return;
          await new Promise<void>((resolve) => waiting.push(resolve));
          continue;
        }
        const { part, node } = pending.shift()!;
        const narrowing = node.narrowing;
        const run = runs[part]!;
        running += 1;
        try {
          const result = await this.runQuery(run, range, build(narrowing));
          if (!result.full) {
            node.rows = result.rows.length;
            if (consume) consume(result.rows, part);
            else rowSets.push(result.rows);
            continue;
          }
          const split = this.childNarrowings(narrowing, seenSources(result.rows));
          if (split === undefined) {
            throw new RowLimitExceededError(
              run.kind,
              run.window,
              narrowing?.cidr,
              this.rowLimit,
              this.queries.fields.accountId === undefined
                ? 'a single address'
                : `a single address in ${narrowing?.accounts === NO_ACCOUNT ? 'no account' : 'a single account'}`,
            );
          }
          node.children = split.children.map((child) => ({ narrowing: child }));
          if (split.jump !== undefined) node.jump = split.jump;
          // At most half of the queries left: the parts that still come back full need the rest.
          this.splitAheadOf(node, result, Math.floor((run.budget.remaining - pending.length) / 2));
          // Depth first keeps the queue short; order does not matter for the merged result.
          pending.unshift(...leavesOf(node).map((leaf) => ({ part, node: leaf })));
        } catch (error) {
          failure ??= { error };
        } finally {
          running -= 1;
          wake();
        }
      }
    };
    await Promise.all(Array.from({ length: this.splitConcurrency }, worker));
    if (failure !== undefined) throw failure.error;
    return rowSets;
  }

  /**
   * Splits the parts of a node just split further where its full result says they would come
   * back full too (count-split-plan.ts splitAhead): a sample of at most SPLIT_AHEAD_SAMPLE of its
   * rows, each standing for recordsMatched / (the rows' counts) rows of the whole.
   */
  private splitAheadOf(node: SplitNode, result: QueryResult, budget: number): void {
    const matched = result.recordsMatched;
    if (!this.splitAheadOn || matched === undefined || budget <= 0) return;
    let counted = 0;
    for (const row of result.rows) {
      const count = Number(row[RESULT_COLUMNS.blockedCount]);
      if (!Number.isFinite(count) || count < 0) return; // not a counting query's rows
      counted += count;
    }
    // What the rows came back with is all there is, as far as the statistic says: plain halves.
    if (counted <= 0 || matched <= counted) return;
    const step = Math.max(1, Math.floor(result.rows.length / SPLIT_AHEAD_SAMPLE));
    const sample: SampledSource[] = [];
    for (let i = 0; i < result.rows.length; i += step) {
      const row = result.rows[i]!;
      const text = row[RESULT_COLUMNS.source] ?? '';
      let address: SampledSource['address'];
      try {
        address = validatedIp(text);
      } catch {
        continue; // SKIPDATA rows have no address
      }
      sample.push({ text, address, account: row[RESULT_COLUMNS.account] });
    }
    if (sample.length === 0) return;
    splitAhead(node, sample, {
      rowsPerSample: ((matched / counted) * result.rows.length) / sample.length,
      splitAt: SPLIT_AHEAD_FILL * this.rowLimit,
      minSample: SPLIT_AHEAD_MIN_SAMPLE,
      maxLevels: SPLIT_AHEAD_LEVELS,
      budget: { nodes: budget - (node.children?.length ?? 0) },
      split: (narrowing, seen) => this.childNarrowings(narrowing, seen),
    });
  }

  /**
   * The parts to re-query a full result in: the disjoint internal CIDRs first, then halves
   * (jumping to the common prefix of the addresses seen: splitNarrowing), and a single address
   * by account.
   */
  private childNarrowings(
    narrowing: Narrowing | undefined,
    seen: Iterable<string>,
  ): { children: Narrowing[]; jump?: string } | undefined {
    const space = this.queries.sourceSplitSpace();
    const part: Narrowing = narrowing ?? { field: 'srcAddr', cidr: space[0]! };
    const jump =
      (narrowing === undefined && space.length > 1) || part.accounts !== undefined
        ? undefined
        : jumpPrefix(part, seen);
    const children = this.derivedNarrowings(narrowing, jump);
    if (children === undefined) return undefined;
    return { children, ...(jump === undefined ? {} : { jump }) };
  }

  /**
   * The parts of a split, given where it jumped (childNarrowings): also how a kept split plan's
   * parts are derived again (count-split-plan.ts). Throws for a jump that is not one.
   */
  private derivedNarrowings(
    narrowing: Narrowing | undefined,
    jump: string | undefined,
  ): Narrowing[] | undefined {
    const space = this.queries.sourceSplitSpace();
    if (narrowing === undefined && space.length > 1) {
      if (jump !== undefined) throw new Error('the internal CIDRs are split without a jump');
      return space.map((cidr) => ({ field: 'srcAddr' as const, cidr }));
    }
    const part: Narrowing = narrowing ?? { field: 'srcAddr', cidr: space[0]! };
    const byAccount = (): Narrowing[] | undefined =>
      accountNarrowings(part, this.queries.fields.accountId !== undefined);
    // A single address that still overflows is that address in many accounts (an Organization's
    // shared address plans): it is split by account id, digit by digit.
    if (part.accounts !== undefined) {
      if (jump !== undefined) throw new Error('an account split has no jump');
      return byAccount();
    }
    return splitNarrowingAt(part, jump) ?? byAccount();
  }

  /** A full details result over several sources: halve the source list. */
  private splitDetails(item: { srcIps: string[] }): Array<{ srcIps: string[] }> {
    const middle = Math.ceil(item.srcIps.length / 2);
    return [{ srcIps: item.srcIps.slice(0, middle) }, { srcIps: item.srcIps.slice(middle) }];
  }

  /**
   * Details of one source with more (destination, port, protocol, interface) groups than the row
   * limit, in two queries whatever the spread: its `topDestinations` largest groups, and its
   * interfaces with their distinct destination addresses and ports. `totalDestinations` is then
   * an estimate of the distinct (address, port, protocol) groups: the largest of those counts
   * and of what the overflowing query already proved (rowLimit groups over its interfaces), when
   * its rows were the ones matched here (`overflowRowsOwn`, or matched by /128 as they were). A
   * lower bound but for count_distinct, which AWS documents as "just an approximation" for a
   * field of very high cardinality, as this source's destinations are.
   */
  private async scanDetails(
    run: QueryRun,
    range: { startTime: number; endTime: number },
    key: string,
    overflowRowsOwn: boolean,
  ): Promise<AlertDetails> {
    // The source as its key writes it, as the details query's rows are matched (the same IPv6
    // address written otherwise is another source, with records of its own); by /128 only when
    // no record writes it so, as the details query then matched the key's other forms.
    let matching: SourceMatching = 'as-written';
    let top = await this.runQuery(
      run,
      range,
      this.queries.topDestinationsQuery(key, this.topDestinations, matching),
    );
    if (top.rows.length === 0 && identityOfKey(key).address.includes(':')) {
      matching = 'address';
      top = await this.runQuery(
        run,
        range,
        this.queries.topDestinationsQuery(key, this.topDestinations, matching),
      );
    }
    const spread = await this.runQuery(run, range, this.queries.destinationSpreadQuery(key, matching));
    const topDestinations: DestinationCount[] = top.rows
      .map((row) => ({
        address: row[RESULT_COLUMNS.destination] ?? '-',
        port: readOptionalNumber(row[RESULT_COLUMNS.destinationPort]),
        protocol: readOptionalNumber(row[RESULT_COLUMNS.protocol]),
        count: readCount(row, RESULT_COLUMNS.detailCount, run),
      }))
      .sort(compareDestinations)
      .slice(0, this.topDestinations);
    const interfaces = new Set<string>();
    let distinct = 0;
    for (const row of spread.rows) {
      const interfaceId = row[RESULT_COLUMNS.interfaceId];
      if (interfaceId !== undefined && interfaceId !== '' && interfaceId !== '-') interfaces.add(interfaceId);
      distinct = Math.max(
        distinct,
        readCount(row, RESULT_COLUMNS.distinctAddresses, run),
        row[RESULT_COLUMNS.distinctPorts] === undefined
          ? 0
          : readCount(row, RESULT_COLUMNS.distinctPorts, run),
      );
    }
    const provenByOverflow =
      overflowRowsOwn || matching === 'address' ? Math.ceil(this.rowLimit / Math.max(1, interfaces.size)) : 0;
    return {
      topDestinations,
      totalDestinations: Math.max(distinct, provenByOverflow, topDestinations.length),
      interfaceIds: [...interfaces].sort(),
    };
  }

  /**
   * Runs a query; one that ends Failed, Timeout or Unknown is started again (up to
   * maxQueryAttempts tries, with backoff, while the next try fits before the deadline).
   */
  private async runQuery(
    run: QueryRun,
    range: { startTime: number; endTime: number },
    queryString: string,
  ): Promise<QueryResult> {
    // A bootstrap's history query that an earlier run finished is read again, not scanned again.
    const kept = run.kind === 'history' ? this.completedQueries : undefined;
    const key =
      kept === undefined ? undefined : historyQueryKey(run.groups, range, queryString, this.rowLimit);
    if (kept !== undefined && key !== undefined) {
      const reused = await this.readFinishedQuery(run, kept, key);
      if (reused !== undefined) return reused;
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        const startedAt = this.now();
        const result = await this.runQueryOnce(run, range, queryString);
        // A full result is kept too: a rerun reads it (free) to learn it must split, as this run did.
        if (kept !== undefined && key !== undefined && result.queryId !== undefined) {
          // Best effort: a history that could not be kept for a rerun is still this run's history.
          await kept
            .remember(key, result.queryId, startedAt + QUERY_RESULTS_KEPT_MS - QUERY_RESULTS_MARGIN_MS)
            .catch(() => undefined);
        }
        return result;
      } catch (error) {
        if (!(error instanceof QueryFailedError) || !RETRYABLE_STATUSES.has(error.status)) throw error;
        const ceiling = Math.min(20_000, this.retryBaseDelayMs * 2 ** (attempt - 1));
        const delay = ceiling / 2 + this.random() * (ceiling / 2);
        if (attempt >= this.maxQueryAttempts || this.now() + delay >= run.deadline) {
          throw attempt === 1
            ? error
            : new QueryFailedError(error.queryId, error.status, error.window, error.kind, attempt);
        }
        await this.sleep(delay);
      }
    }
  }

  /** StartQuery, poll to completion, page the rows; statistics are added to `run.stats`. */
  private async runQueryOnce(
    run: QueryRun,
    range: { startTime: number; endTime: number },
    queryString: string,
  ): Promise<QueryResult> {
    if (run.budget.remaining <= 0) {
      throw new RowLimitExceededError(
        run.kind,
        run.window,
        undefined,
        this.rowLimit,
        `splitting needed more than ${this.maxQueriesPerCall} queries`,
      );
    }
    // Past the deadline a query would be started (and billed) only to be stopped at once.
    if (this.now() >= run.deadline)
      throw new QueryTimeoutError('', run.window, run.kind, run.deadline, NOT_STARTED);
    run.budget.remaining -= 1;
    const started = await this.withRetry(run, 'StartQuery', () =>
      this.client.send(
        new StartQueryCommand({
          logGroupIdentifiers: [...run.groups],
          startTime: range.startTime,
          endTime: range.endTime,
          queryString,
          limit: this.rowLimit,
        }),
      ),
    );
    const queryId = started.queryId;
    if (queryId === undefined || queryId === '') {
      throw new UnexpectedQueryResultError(run.kind, undefined, 'StartQuery returned no queryId');
    }
    run.stats.queries += 1;

    const maxItems = Math.min(this.rowLimit, PAGE_SIZE);
    let response: GetQueryResultsCommandOutput;
    try {
      response = await this.pollUntilComplete(run, queryId, maxItems);
    } catch (error) {
      // A query left running keeps scanning (and billing) and holds a slot of the account's
      // concurrency quota: stop it whatever went wrong while polling. `Failed`, `Cancelled` and
      // `Timeout` are end states; `Unknown` (or no status) is not said to be one, so such a query
      // is stopped before it is tried again (StopQuery on a finished query only answers false).
      const ended = error instanceof QueryFailedError && ENDED_STATUSES.has(error.status);
      if (!ended && !(error instanceof QueryTimeoutError)) await this.stopQuietly(queryId);
      throw error;
    }

    const statistics = response.statistics;
    run.stats.bytesScanned += statistics?.bytesScanned ?? 0;
    run.stats.recordsScanned += statistics?.recordsScanned ?? 0;
    run.stats.recordsMatched += statistics?.recordsMatched ?? 0;

    const rows = await this.allRows(run, queryId, response, maxItems);
    const recordsMatched = statistics?.recordsMatched;
    return {
      rows,
      full: rows.length >= this.rowLimit,
      queryId,
      ...(recordsMatched === undefined ? {} : { recordsMatched }),
    };
  }

  /** A finished query's rows: its first page, and the pages after it. */
  private async allRows(
    run: QueryRun,
    queryId: string,
    first: GetQueryResultsCommandOutput,
    maxItems: number,
  ): Promise<Row[]>;
  private async allRows(
    run: QueryRun,
    queryId: string,
    first: GetQueryResultsCommandOutput,
    maxItems: number,
    options: { stopAtDeadline: true },
  ): Promise<Row[] | undefined>;
  private async allRows(
    run: QueryRun,
    queryId: string,
    first: GetQueryResultsCommandOutput,
    maxItems: number,
    options: { stopAtDeadline?: boolean } = {},
  ): Promise<Row[] | undefined> {
    const rows = (first.results ?? []).map(toRow);
    let nextToken = first.nextToken;
    while (nextToken !== undefined && nextToken !== '' && rows.length < this.rowLimit) {
      // A kept result is not worth reading past the deadline (a fresh one's pages are: it was paid for).
      if (options.stopAtDeadline === true && this.now() >= run.deadline) return undefined;
      const token = nextToken;
      const page = await this.withRetry(run, 'GetQueryResults', () =>
        this.client.send(new GetQueryResultsCommand({ queryId, nextToken: token, maxItems })),
      );
      if (page.status !== undefined && page.status !== 'Complete') {
        throw new QueryFailedError(queryId, page.status, run.window, run.kind);
      }
      const more = page.results ?? [];
      if (more.length === 0) break;
      rows.push(...more.map(toRow));
      nextToken = page.nextToken;
    }
    return rows;
  }

  /**
   * The stored result of the finished query kept for `key`, read as the query would have been
   * (its row limit and budget alike, so a slice splits as it did), or undefined when there is
   * none or it cannot be read (expired, refused, unfinished, throttled): the caller queries.
   */
  private async readFinishedQuery(
    run: QueryRun,
    kept: CompletedQueries,
    key: string,
  ): Promise<QueryResult | undefined> {
    if (run.budget.remaining <= 0 || this.now() >= run.deadline) return undefined;
    let queryId: string | undefined;
    try {
      queryId = await kept.queryIdFor(key);
    } catch {
      return undefined;
    }
    const read = queryId === undefined ? undefined : await this.readKeptQuery(run, queryId, { full: true });
    if (read === undefined) return undefined;
    run.budget.remaining -= 1;
    if (run.reused !== undefined) run.reused.queries += 1;
    return {
      rows: read.rows,
      full: read.rows.length >= this.rowLimit,
      queryId,
      ...(read.recordsMatched === undefined ? {} : { recordsMatched: read.recordsMatched }),
    };
  }

  /**
   * The rows of a kept query, read before the run's deadline; undefined when it cannot be read
   * (expired, unknown, unfinished, throttled, refused), or came back full unless `full` is asked
   * for (keptRows uses results as they are; a full one was split).
   */
  private async readKeptQuery(
    run: QueryRun,
    queryId: string,
    accept: { full: boolean } = { full: false },
  ): Promise<{ rows: Row[]; recordsMatched?: number } | undefined> {
    // A read past the deadline would eat the time kept for writing what was counted.
    try {
      if (this.now() >= run.deadline) return undefined;
      const maxItems = Math.min(this.rowLimit, PAGE_SIZE);
      const first = await this.withRetry(run, 'GetQueryResults', () =>
        this.client.send(new GetQueryResultsCommand({ queryId, maxItems })),
      );
      if (first.status !== 'Complete' || this.now() >= run.deadline) return undefined;
      const rows = await this.allRows(run, queryId, first, maxItems, { stopAtDeadline: true });
      if (rows === undefined || (!accept.full && rows.length >= this.rowLimit)) return undefined;
      const recordsMatched = first.statistics?.recordsMatched;
      return { rows, ...(recordsMatched === undefined ? {} : { recordsMatched }) };
    } catch {
      return undefined;
    }
  }

  /**
   * The rows of `slice` from kept queries of earlier bootstraps that together cover it, or
   * undefined (it is then queried). A rerun may slice a day otherwise than the run that kept its
   * queries (slices are sized from the sources seen so far): any aligned piece of a length that
   * divides a day (or of the slice length) is looked up (up to MAX_KEPT_LOOKUPS keys), and
   * the largest kept pieces are read, each only for the windows of the slice it covers.
   */
  private async keptRows(run: QueryRun, slice: Window): Promise<Row[] | undefined> {
    const kept = this.completedQueries;
    if (kept === undefined || run.budget.remaining <= 0 || this.now() >= run.deadline) return undefined;
    const length = windowMs(this.config);
    const queryString = this.queries.historyQuery();
    const pieces = alignedPieces(slice, length, this.pieceSizes(), MAX_KEPT_LOOKUPS).map((piece) => ({
      ...piece,
      key: historyQueryKey(run.groups, queryTimeRange(piece), queryString, this.rowLimit),
    }));
    let ids: Map<string, string>;
    try {
      ids = await kept.queryIdsFor(pieces.map((piece) => piece.key));
    } catch {
      return undefined;
    }
    const chosen: { from: number; to: number; queryId: string }[] = [];
    for (let at = slice.start; at < slice.end;) {
      let best: (typeof pieces)[number] | undefined;
      for (const piece of pieces) {
        if (
          piece.start <= at &&
          piece.end > at &&
          ids.has(piece.key) &&
          (best === undefined || piece.end > best.end)
        )
          best = piece;
      }
      if (best === undefined) return undefined;
      const to = Math.min(best.end, slice.end);
      chosen.push({ from: at, to, queryId: ids.get(best.key)! });
      at = to;
    }
    const rows: Row[] = [];
    for (const { from, to, queryId } of chosen) {
      const read = await this.readKeptQuery(run, queryId);
      if (read === undefined) return undefined;
      for (const row of read.rows) {
        const windowStart = readBin(row[RESULT_COLUMNS.windowBin], this.config.windowMinutes, run);
        if (windowStart >= from && windowStart < to) rows.push(row);
      }
    }
    run.budget.remaining -= 1;
    if (run.reused !== undefined) run.reused.queries += chosen.length;
    return rows;
  }

  /** Slice lengths a history may have been cut into (in windows): the day's divisors, and the slice length. */
  private pieceSizes(): number[] {
    const sizes = new Set([this.historySliceWindows, ...daySliceLengths(1440 / this.config.windowMinutes)]);
    return [...sizes].sort((a, b) => b - a);
  }

  /** Polls with growing intervals until Complete; the last wait ends at the deadline. */
  private async pollUntilComplete(
    run: QueryRun,
    queryId: string,
    maxItems: number,
  ): Promise<GetQueryResultsCommandOutput> {
    let delay = this.pollIntervalMs;
    let status = 'Scheduled';
    for (;;) {
      const wait = Math.min(delay, run.deadline - this.now());
      if (wait <= 0) {
        const stopError = await this.stopQuietly(queryId);
        throw new QueryTimeoutError(queryId, run.window, run.kind, run.deadline, status, stopError);
      }
      await this.sleep(wait);
      const response = await this.withRetry(run, 'GetQueryResults', () =>
        this.client.send(new GetQueryResultsCommand({ queryId, maxItems })),
      );
      status = response.status ?? 'Unknown';
      if (status === 'Complete') return response;
      if (!RUNNING_STATUSES.has(status)) throw new QueryFailedError(queryId, status, run.window, run.kind);
      delay = Math.min(delay * 1.5, this.maxPollIntervalMs);
    }
  }

  private async stopQuietly(queryId: string): Promise<unknown> {
    try {
      await this.client.send(new StopQueryCommand({ queryId }));
      return undefined;
    } catch (error) {
      // The query may have finished meanwhile; the timeout is what the caller must hear about.
      return error;
    }
  }

  /**
   * Retries LimitExceededException (the concurrent query quota), ThrottlingException and
   * ServiceUnavailableException with exponential backoff and jitter, as long as the next attempt
   * can start before the deadline. The SDK's standard strategy also retries them, but only twice
   * within a second or two: a quota held by other users' queries needs longer.
   */
  private withRetry<T>(run: QueryRun, operation: string, call: () => Promise<T>): Promise<T> {
    return retryWithBackoff(call, {
      retryable: RETRYABLE_ERRORS,
      baseDelayMs: this.retryBaseDelayMs,
      deadline: run.deadline,
      clock: { now: () => this.now(), sleep: (ms) => this.sleep(ms), random: () => this.random() },
      giveUp: (attempt, error) => new QueryThrottledError(operation, run.window, run.kind, attempt, error),
    });
  }
}

/** The most sources (SKIPDATA aside) any one window bin of a history result holds. */
function maxSourcesPerBin(rowSets: readonly Row[][]): number {
  const perBin = new Map<string, number>();
  for (const rows of rowSets) {
    for (const row of rows) {
      if (isSkipDataSource(row[RESULT_COLUMNS.source])) continue;
      const bin = row[RESULT_COLUMNS.windowBin] ?? '';
      perBin.set(bin, (perBin.get(bin) ?? 0) + 1);
    }
  }
  let most = 0;
  for (const sources of perBin.values()) most = Math.max(most, sources);
  return most;
}

function toRow(fields: ResultField[]): Row {
  const row: Row = {};
  for (const { field, value } of fields) {
    if (field !== undefined && value !== undefined) row[field] = value;
  }
  return row;
}

/** SKIPDATA records group under `-` (or no value at all, should the service drop the `-`). */
function isSkipDataSource(source: string | undefined): source is undefined | typeof SKIPDATA_SOURCE | '' {
  return source === undefined || source === '' || source === SKIPDATA_SOURCE;
}

function readCount(row: Row, column: string, run: QueryRun): number {
  const text = row[column];
  const value = text === undefined ? NaN : Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new UnexpectedQueryResultError(
      run.kind,
      undefined,
      `column ${column} is ${JSON.stringify(text)}, not a count`,
    );
  }
  return value;
}

function readOptionalNumber(text: string | undefined): number | null {
  if (text === undefined || text === '' || text === '-') return null;
  const value = Number(text);
  return Number.isInteger(value) ? value : null;
}

/** `bin()` values come back as `2026-11-27 16:00:00.000` (UTC); epoch ms and ISO are accepted too. */
/** The start of the window a `bin()` value (the start of a bin of historyBinMinutes) falls in. */
function readBin(text: string | undefined, windowMinutes: number, run: QueryRun): number {
  let ms = NaN;
  if (text !== undefined) {
    if (/^\d+$/.test(text)) ms = Number(text);
    else if (/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?Z?$/.test(text)) {
      ms = Date.parse(`${text.replace(' ', 'T').replace(/Z$/, '')}Z`);
    }
  }
  if (!Number.isFinite(ms)) {
    throw new UnexpectedQueryResultError(
      run.kind,
      undefined,
      `bin value ${JSON.stringify(text)} is not a timestamp`,
    );
  }
  const binMinutes = historyBinMinutes(windowMinutes);
  if (alignToWindow(ms, { windowMinutes: binMinutes }) !== ms) {
    throw new UnexpectedQueryResultError(
      run.kind,
      undefined,
      `bin value ${text} is not aligned to ${binMinutes}-minute bins`,
    );
  }
  return alignToWindow(ms, { windowMinutes });
}

function positive(option: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new FlowSourceOptionsError(option, `must be a positive number, got ${value}`);
  return value;
}

function integerIn(option: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FlowSourceOptionsError(option, `must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/**
 * The gaps as disjoint stretches in time order: overlapping or touching ones (the same slice
 * failing in several log group parts, or a part's halves) become one, with the first error.
 */
export function mergeGaps(gaps: readonly HistoryGap[]): HistoryGap[] {
  const merged: HistoryGap[] = [];
  for (const gap of [...gaps].sort((a, b) => a.from - b.from)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && gap.from <= last.to) last.to = Math.max(last.to, gap.to);
    else merged.push({ ...gap });
  }
  return merged;
}
