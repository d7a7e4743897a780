/**
 * The Organization-scale run shared by the scale, memory and cpu-time benchmarks (issue 14): one
 * million sources in one window across 200 member accounts whose address plans overlap (every
 * address is a source in two accounts: 500,000 addresses), detected twice by the Lambda handler
 * against the local endpoints: a first window (every source new) and a second (every baseline
 * read back, decided and rewritten with its `prev` and rhythm state: the steady state). Quiet
 * counts are 1-2 records a source (1.5 million counted records a window, and one each of the
 * records that must not count every 100 sources), so the local endpoints can hold a window.
 *
 * Also the model of the run's time on Lambda, since the local endpoints answer at their own
 * speed, not the services': see modelledRun.
 */
import { parseCidr, RFC1918_CIDRS } from '../../lambda/core';
import { scaleRun, type ScaleRun, type ScaleWindow } from './scale-run';

export const ORG_SOURCES = 1_000_000;
export const ORG_ACCOUNTS = 200;
/** Peak RSS target: the function's default memory (1,024 MB). */
export const ORG_RSS_TARGET_MB = 1024;
/** CPU target for one window of the Organization. */
export const ORG_CPU_TARGET_S = 30;
/** The Lambda timeout the whole run (queries included) must fit in. */
export const LAMBDA_TIMEOUT_S = 900;

export function orgRun(): Promise<ScaleRun> {
  return scaleRun(ORG_SOURCES, 2, {
    accounts: ORG_ACCOUNTS,
    maxCount: 2,
    uncountedEvery: 100,
    sharedAddresses: 2,
    // The local endpoints take far longer than the services over a million sources' records (their
    // queries run one at a time on this machine's CPU): the run's time on Lambda is modelled instead.
    remainingMs: 6 * 3_600_000,
  });
}

export const windowLabel = (index: number): string =>
  index === 0 ? 'first window (all new)' : 'steady-state window';

/** What the model assumes, stated where the figures are printed. */
export const MODEL = {
  /**
   * Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB: at 1,024 MB
   * the measured CPU seconds take 1,769/1,024 as long.
   */
  cpuStretch: 1769 / 1024,
  /** A Logs Insights query's fixed time: scheduling, and polls from 1 s growing to 5 s. */
  queryFixedS: 10,
  /**
   * Assumed scan rate of one Logs Insights query (AWS publishes none): 0.5 GB/s. The headroom
   * figure says how slow a query may be before the run would not fit.
   */
  scanBytesPerS: 0.5e9,
  /** Parts of a split query run at once (LogsInsightsFlowSource splitConcurrency). */
  splitConcurrency: 4,
  /**
   * One DynamoDB batch call's round trip (items of ~200 KB), 8 in flight (the store's); the
   * bucket reads of a million-source window 2 at a time (answers of 14 MB: bucketReadConcurrency).
   */
  dynamoCallS: 0.1,
  dynamoInFlight: 8,
  bucketReadsInFlight: 2,
  /**
   * On-demand write throughput: a table serves up to double its previous peak at once; a new
   * table starts at 4,000 write units a second. A steady detector's table has seen this window's
   * peak every hour, so the model takes the table's default maximum, 40,000 a second, and says
   * what a new table would take.
   */
  writeUnitsPerS: 40_000,
  newTableWriteUnitsPerS: 4_000,
} as const;

export interface ModelledRun {
  cpuS: number;
  queryWaves: number;
  queryS: number;
  dynamoS: number;
  totalS: number;
  /** Seconds a query may take, the rest as modelled, for the run to fit in the Lambda timeout. */
  maxQueryS: number;
  writeUnits: number;
  newTableWriteS: number;
}

/**
 * The window's time on Lambda: the measured CPU, stretched to a 1,024 MB function's share of a
 * vCPU; the Logs Insights queries by split level (a part starts when its parent came back full),
 * `splitConcurrency` at a time, each `queryFixedS` plus its bytes at `scanBytesPerS`; the DynamoDB
 * calls `dynamoInFlight` at a time (the bucket reads `bucketReadsInFlight`), or the write units at the table's rate if that is longer.
 */
export function modelledRun(window: ScaleWindow, writtenBytes: number): ModelledRun {
  const summary = window.job.summaries[0];
  const queries = window.stats.logs.queries;
  const bytesPerQuery = (summary?.bytesScanned ?? 0) / Math.max(1, summary?.queries ?? 1);
  const perQueryS = MODEL.queryFixedS + bytesPerQuery / MODEL.scanBytesPerS;
  const levels = new Map<number, number>();
  for (const q of queries) {
    const level = splitLevel(q.queryString);
    levels.set(level, (levels.get(level) ?? 0) + 1);
  }
  let queryWaves = 0;
  for (const count of levels.values()) queryWaves += Math.ceil(count / MODEL.splitConcurrency);
  const cpuS = (window.job.runCpuMicros / 1e6) * MODEL.cpuStretch;
  const calls = Object.values(window.stats.dynamo.requestCounts).reduce((a, b) => a + b, 0);
  const reads = window.stats.dynamo.requestCounts.BatchGetItem ?? 0;
  // Writes are billed (and throttled) per 1 KB of each item; reads are a quarter of that.
  const writeUnits = Math.ceil(writtenBytes / 1024);
  const dynamoS = Math.max(
    (reads * MODEL.dynamoCallS) / MODEL.bucketReadsInFlight +
      ((calls - reads) * MODEL.dynamoCallS) / MODEL.dynamoInFlight,
    writeUnits / MODEL.writeUnitsPerS,
  );
  const queryS = queryWaves * perQueryS;
  const rest = cpuS + dynamoS;
  return {
    cpuS,
    queryWaves,
    queryS,
    dynamoS,
    totalS: rest + queryS,
    maxQueryS: (LAMBDA_TIMEOUT_S - rest) / Math.max(1, queryWaves),
    writeUnits,
    newTableWriteS: writeUnits / MODEL.newTableWriteUnitsPerS,
  };
}

const INTERNAL = RFC1918_CIDRS.map((cidr) => parseCidr(cidr));

/**
 * How deep in the split a count query is: 0 for the first query (no narrowing), 1 for an
 * internal CIDR, one more per halving below it (a narrowing's prefix length over its CIDR's).
 */
export function splitLevel(queryString: string): number {
  const match = /isIpInSubnet\(srcAddr, "([^"]+)"\)/.exec(queryString);
  if (match === null) return 0;
  const narrowing = parseCidr(match[1]!);
  const parent = INTERNAL.find(
    (c) =>
      c.address.kind() === narrowing.address.kind() &&
      c.prefixLength <= narrowing.prefixLength &&
      narrowing.address.match(c.address, c.prefixLength),
  );
  return 1 + (parent === undefined ? 0 : narrowing.prefixLength - parent.prefixLength);
}

/** MB with no decimals. */
export const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
export const thousands = (n: number): string => n.toLocaleString('en-US');
