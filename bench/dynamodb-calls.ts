/**
 * DynamoDB requests per window, counted by the local DynamoDB endpoint, against two bounds:
 *
 * - bucket bound (what the store can do at best): ceil(B/100) BatchGetItem (B baseline buckets
 *   holding the N sources seen) + ceil(W/25) BatchWriteItem (W buckets holding the M baselines
 *   changed) + a small constant C = 8 (lease put and delete, state read, pending-outbox query,
 *   parked-alerts count, the window's outbox query, the window-in-flight mark and the watermark
 *   update);
 * - the per-source minimum (one item per source, the layout before the buckets):
 *   ceil(N/100) + ceil(M/25) + C.
 *
 * Quiet windows (no alert), so no outbox writes. B and W come from the sources themselves
 * (bucketOf over the seeded and the written sources), not from what the detector sent.
 *
 * N = 1,000: a first window (every source new) and a second (every baseline read back and
 * rewritten); N = 10,000: a first window; N = 100,000: the scale run's window. Ratio = worst
 * actual / bucket bound.
 */
import { BASELINE_BUCKETS, bucketOf } from '../lambda/adapters/baseline-buckets';
import type { BenchResult } from './run';
import { hundredThousandRun, SCALE_SOURCES } from './scale';
import { scaleRun, type ScaleWindow } from './support/scale-run';

const CONSTANT = 8;

interface Row {
  sources: number;
  window: string;
  actual: number;
  perSource: number;
  bucketBound: number;
  bucketsRead: number;
  bucketsWritten: number;
  batchGet: number;
  batchWrite: number;
  other: number;
}

const bucketsOf = (srcIps: Iterable<string>) =>
  new Set([...srcIps].map((ip) => bucketOf(ip, BASELINE_BUCKETS))).size;

function row(sources: number, label: string, w: ScaleWindow): Row {
  const counts = w.stats.dynamo.requestCounts;
  const seen = w.job.summaries[0]?.sourcesEvaluated ?? NaN;
  const changed = w.written.length;
  const bucketsRead = bucketsOf(w.oracle.keys());
  const bucketsWritten = bucketsOf(w.written.map(([ip]) => ip));
  const actual = Object.values(counts).reduce((a, b) => a + b, 0);
  const batchGet = counts.BatchGetItem ?? 0;
  const batchWrite = counts.BatchWriteItem ?? 0;
  return {
    sources,
    window: label,
    actual,
    perSource: Math.ceil(seen / 100) + Math.ceil(changed / 25) + CONSTANT,
    bucketBound: Math.ceil(bucketsRead / 100) + Math.ceil(bucketsWritten / 25) + CONSTANT,
    bucketsRead,
    bucketsWritten,
    batchGet,
    batchWrite,
    other: actual - batchGet - batchWrite,
  };
}

export async function run(): Promise<BenchResult> {
  const rows: Row[] = [];
  for (const [n, windows] of [
    [1_000, 2],
    [10_000, 1],
  ] as const) {
    const result = await scaleRun(n, windows);
    result.windows.forEach((w, i) => rows.push(row(n, i === 0 ? 'first (all new)' : 'second', w)));
  }
  const big = await hundredThousandRun();
  const first = big.windows[0];
  if (first) rows.push(row(SCALE_SOURCES, 'first (all new)', first));

  console.log(
    `baseline buckets: ${BASELINE_BUCKETS}\n` +
      'sources | window          | buckets read/written | BatchGetItem | BatchWriteItem | other | actual | bucket bound | per-source minimum',
  );
  for (const r of rows) {
    console.log(
      `${r.sources.toLocaleString('en-US').padStart(7)} | ${r.window.padEnd(15)} | ${`${r.bucketsRead}/${r.bucketsWritten}`.padStart(20)} | ` +
        `${String(r.batchGet).padStart(12)} | ${String(r.batchWrite).padStart(14)} | ${String(r.other).padStart(5)} | ` +
        `${String(r.actual).padStart(6)} | ${String(r.bucketBound).padStart(12)} | ${String(r.perSource).padStart(18)}`,
    );
  }
  const worst = rows.reduce((a, b) => (b.actual / b.bucketBound > a.actual / a.bucketBound ? b : a));
  const figures = (label: (r: Row) => boolean) =>
    rows
      .filter(label)
      .map(
        (r) =>
          `N=${r.sources.toLocaleString('en-US')} ${r.actual} (bound ${r.bucketBound}; per-source ${r.perSource})`,
      )
      .join(', ');
  return {
    name: 'dynamodb-calls',
    summary:
      `requests per window vs the bucket bound ceil(B/100)+ceil(W/25)+${CONSTANT} and the per-source minimum ` +
      `ceil(N/100)+ceil(M/25)+${CONSTANT}: ${figures((r) => r.window !== 'second')}; ` +
      `steady-state window ${figures((r) => r.window === 'second')}; ratio = worst actual / bucket bound`,
    ratio: worst.actual / worst.bucketBound,
  };
}
