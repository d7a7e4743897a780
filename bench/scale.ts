/**
 * Correctness at scale, end to end through the Lambda handler against the local endpoints: every
 * source's count, as written to its DynamoDB baseline, against a direct count over the seeded
 * records: no source lost, none double counted, none cut off at a row limit.
 *
 * - 100,000 sources in one window (ten 10,000-row pages, at the 100,000-row limit of one Logs
 *   Insights query, so the count query must be split).
 * - The Organization (bench/support/org-scale.ts): 1,000,000 sources across 200 accounts in a
 *   first and a steady-state window. The count query comes back full several times and is split
 *   by CIDR until every part is below the limit; a source's count is its first baseline's mean
 *   in the first window (dataPoints 1) and twice its second mean less its first in the second
 *   (dataPoints 2). Also measured: the baseline buckets (their size against DynamoDB's 400 KB
 *   item limit, so the capacity of the table), and the run's modelled time on Lambda.
 *
 * Peer: the direct count. Ratio = records the detector counted / records counted directly, over
 * the Organization's windows (1 is exact; any lost or doubled source moves it and the mismatch
 * count).
 */
import { BASELINE_BUCKET_MAX_BYTES, BASELINE_BUCKETS } from '../lambda/adapters/baseline-buckets';
import type { BenchResult } from './run';
import { MODEL, modelledRun, orgRun, thousands, windowLabel, LAMBDA_TIMEOUT_S } from './support/org-scale';
import { scaleRun, type ScaleWindow } from './support/scale-run';

export const SCALE_SOURCES = 100_000;

/** The 100,000-source run of scale, memory and cpu-time (a first and a steady-state window). */
export const hundredThousandRun = () => scaleRun(SCALE_SOURCES, 2, { sdkFloor: true });

interface Check {
  mismatches: number;
  lost: number;
  wrong: number;
  extra: number;
  expectedRecords: number;
  countedRecords: number;
}

/**
 * The detector's count of each source, read back from what it wrote: a first baseline's mean
 * (dataPoints 1), or, folded onto `previous` (the first window's counts), 2 x mean - previous
 * (dataPoints 2: the recommended preset's mean moves halfway).
 */
export function check(
  window: ScaleWindow,
  previous?: ReadonlyMap<string, number>,
): Check & { counted: Map<string, number> } {
  const counted = new Map<string, number>();
  let wrong = 0;
  for (const [key, mean, dataPoints] of window.written) {
    const before = previous?.get(key);
    const count = before === undefined ? mean : 2 * mean - before;
    if (dataPoints !== (before === undefined ? 1 : 2)) wrong += 1;
    counted.set(key, count);
  }
  let lost = 0;
  let expectedRecords = 0;
  for (const [key, count] of window.oracle) {
    expectedRecords += count;
    const got = counted.get(key);
    if (got === undefined) lost += 1;
    else if (got !== count) wrong += 1;
  }
  const extra = [...counted.keys()].filter((key) => !window.oracle.has(key)).length;
  const countedRecords = [...counted.values()].reduce((sum, c) => sum + c, 0);
  return { mismatches: lost + wrong + extra, lost, wrong, extra, expectedRecords, countedRecords, counted };
}

function queriesLine(window: ScaleWindow): string {
  const queries = window.stats.logs.queries;
  const full = queries.filter((q) => q.limit !== undefined && q.rowCount >= q.limit).length;
  return (
    `${queries.length} count queries (${full} came back full at the ${thousands(queries[0]?.limit ?? 0)}-row limit and were split, ` +
    `${queries.length - full} complete, largest ${thousands(Math.max(...queries.filter((q) => q.rowCount < (q.limit ?? Infinity)).map((q) => q.rowCount)))} rows)`
  );
}

export async function run(): Promise<BenchResult> {
  const base = await hundredThousandRun();
  const baseFirst = base.windows[0];
  if (baseFirst === undefined) throw new Error('scale run produced no window');
  const baseCheck = check(baseFirst);
  console.log(
    `${thousands(SCALE_SOURCES)} sources: seeded ${thousands(baseFirst.events)} records; ${queriesLine(baseFirst)}; ` +
      `mismatches ${baseCheck.mismatches}`,
  );

  const org = await orgRun();
  let mismatches = 0;
  let expected = 0;
  let counted = 0;
  let previous: Map<string, number> | undefined;
  for (const [index, window] of org.windows.entries()) {
    const result = check(window, previous);
    previous = result.counted;
    mismatches += result.mismatches;
    expected += result.expectedRecords;
    counted += result.countedRecords;
    const summary = window.job.summaries[0];
    console.log(
      `${thousands(window.oracle.size)} sources, ${windowLabel(index)}: seeded ${thousands(window.events)} records; ${queriesLine(window)}; ` +
        `sources evaluated ${thousands(summary?.sourcesEvaluated ?? 0)}; mismatches ${result.mismatches} ` +
        `(lost ${result.lost}, wrong ${result.wrong}, extra ${result.extra})`,
    );
  }

  const { buckets } = org;
  const entryBytes = buckets.totalBytes / Math.max(1, buckets.sources);
  // The table is full when its fullest bucket reaches the limit: the sources it holds then, at the same spread.
  const capacity = Math.floor(
    buckets.sources * (BASELINE_BUCKET_MAX_BYTES / Math.max(1, buckets.largestBytes)),
  );
  console.log(
    `baseline buckets: ${thousands(buckets.items)} of ${thousands(BASELINE_BUCKETS)} items, ${thousands(buckets.sources)} entries ` +
      `(${entryBytes.toFixed(0)} bytes each with rhythm state and prev), ${(buckets.totalBytes / 1e6).toFixed(0)} MB in all; ` +
      `fullest ${thousands(buckets.largestBytes)} bytes (${thousands(buckets.largestSources)} entries) of the ${thousands(BASELINE_BUCKET_MAX_BYTES)}-byte bucket limit ` +
      `(DynamoDB items: 400 KB): capacity about ${thousands(capacity)} sources at this spread`,
  );

  const steady = org.windows[org.windows.length - 1]!;
  const model = modelledRun(steady, buckets.totalBytes);
  const requests = Object.values(steady.stats.dynamo.requestCounts).reduce((a, b) => a + b, 0);
  console.log(
    `modelled on Lambda (steady-state window, 1,024 MB): CPU ${model.cpuS.toFixed(0)} s (measured x ${MODEL.cpuStretch.toFixed(2)}, the function's share of a vCPU) + ` +
      `DynamoDB ${model.dynamoS.toFixed(0)} s (${requests} requests, ${thousands(model.writeUnits)} write units) + ` +
      `Logs Insights ${model.queryS.toFixed(0)} s (${model.queryWaves} query times, up to ${MODEL.splitConcurrency} at once, a part after the full result it was split from, each ${MODEL.queryFixedS} s + its bytes at an assumed ${MODEL.scanBytesPerS / 1e9} GB/s) ` +
      `= ${model.totalS.toFixed(0)} s of the ${LAMBDA_TIMEOUT_S} s timeout; a query may take up to ${model.maxQueryS.toFixed(0)} s before the run would not fit; ` +
      `a new on-demand table (4,000 write units/s at first) would take ${model.newTableWriteS.toFixed(0)} s for the writes`,
  );
  return {
    name: 'scale',
    summary:
      `${thousands(org.sources)} sources across ${thousands(200)} accounts, two windows: mismatches ${mismatches} (target 0; ` +
      `100,000 sources: ${baseCheck.mismatches}); buckets fullest ${thousands(buckets.largestBytes)} of ${thousands(BASELINE_BUCKET_MAX_BYTES)} bytes, ` +
      `capacity about ${(capacity / 1e6).toFixed(2)} M sources with ${thousands(BASELINE_BUCKETS)} buckets; modelled run ${model.totalS.toFixed(0)} s of ${LAMBDA_TIMEOUT_S} s; ` +
      'ratio = records counted by the detector / records counted directly (1,000,000-source windows)',
    ratio: counted / expected,
  };
}
