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
import { parseCidr } from '../../lambda/core';
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
 * vCPU; the Logs Insights queries in the order they were started, `splitConcurrency` at a time,
 * each `queryFixedS` plus its bytes at `scanBytesPerS`, a part not before the full result it was
 * split from (queryTimeline; the parts of a kept split plan start at once); the DynamoDB
 * calls `dynamoInFlight` at a time (the bucket reads `bucketReadsInFlight`), or the write units at the table's rate if that is longer.
 */
export function modelledRun(window: ScaleWindow, writtenBytes: number): ModelledRun {
  const summary = window.job.summaries[0];
  const queries = window.stats.logs.queries;
  const bytesPerQuery = (summary?.bytesScanned ?? 0) / Math.max(1, summary?.queries ?? 1);
  const perQueryS = MODEL.queryFixedS + bytesPerQuery / MODEL.scanBytesPerS;
  const queryWaves = queryTimeline(queries, MODEL.splitConcurrency);
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

/**
 * How long the queries take, in query times, `concurrency` at a time in the order they were
 * started: a query starts when a slot is free and not before the full result it was split from
 * came back (its parent: the latest full query started before it whose narrowing holds its own;
 * none for the first query and for the parts of a kept split plan).
 */
export function queryTimeline(
  queries: ReadonlyArray<{ queryString: string; rowCount: number; limit?: number }>,
  concurrency: number,
): number {
  const narrowings = queries.map((q) => narrowingOf(q.queryString));
  const finish: number[] = [];
  const slots = Array.from({ length: concurrency }, () => 0);
  queries.forEach((query, i) => {
    let ready = 0;
    for (let j = i - 1; j >= 0; j -= 1) {
      const earlier = queries[j]!;
      if (earlier.rowCount < (earlier.limit ?? Infinity)) continue;
      if (holds(narrowings[j], narrowings[i])) {
        ready = finish[j]!;
        break;
      }
    }
    slots.sort((a, b) => a - b);
    finish[i] = Math.max(ready, slots[0]!) + 1;
    slots[0] = finish[i]!;
  });
  return Math.max(0, ...finish);
}

/** The CIDR a count query is narrowed to (` and isIpInSubnet(flowSrcAddr, ...)`), or undefined for the whole window. */
function narrowingOf(queryString: string): ReturnType<typeof parseCidr> | undefined {
  const match = / and isIpInSubnet\(flowSrcAddr, "([^"]+)"\)/.exec(queryString);
  return match === null ? undefined : parseCidr(match[1]!);
}

function holds(
  outer: ReturnType<typeof parseCidr> | undefined,
  inner: ReturnType<typeof parseCidr> | undefined,
): boolean {
  if (outer === undefined) return true;
  if (inner === undefined) return false;
  return (
    outer.address.kind() === inner.address.kind() &&
    outer.prefixLength <= inner.prefixLength &&
    inner.address.match(outer.address, outer.prefixLength)
  );
}

/** MB with no decimals. */
export const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
export const thousands = (n: number): string => n.toLocaleString('en-US');
