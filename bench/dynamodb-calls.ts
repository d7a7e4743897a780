/**
 * DynamoDB requests per window, counted by the local DynamoDB endpoint, against the minimum:
 * ceil(N/100) BatchGetItem (N sources seen) + ceil(M/25) BatchWriteItem (M baselines changed) +
 * a small constant C = 6 (lease put and delete, state read, pending-outbox query, the window's
 * outbox query, the watermark update). Quiet windows (no alert), so no outbox writes.
 *
 * N = 1,000: a first window (every source new) and a second (every baseline read back and
 * rewritten); N = 10,000: a first window; N = 100,000: the scale run's window. Ratio = worst
 * actual / minimum.
 */
import type { BenchResult } from './run';
import { SCALE_SOURCES } from './scale';
import { scaleRun, type ScaleWindow } from './support/scale-run';

const CONSTANT = 6;

interface Row {
  sources: number;
  window: string;
  actual: number;
  minimum: number;
  batchGet: number;
  batchWrite: number;
  other: number;
}

function row(sources: number, label: string, w: ScaleWindow): Row {
  const counts = w.stats.dynamo.requestCounts;
  const seen = w.job.summaries[0]?.sourcesEvaluated ?? NaN;
  const changed = w.written.length;
  const actual = Object.values(counts).reduce((a, b) => a + b, 0);
  const batchGet = counts.BatchGetItem ?? 0;
  const batchWrite = counts.BatchWriteItem ?? 0;
  return {
    sources,
    window: label,
    actual,
    minimum: Math.ceil(seen / 100) + Math.ceil(changed / 25) + CONSTANT,
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
  const big = await scaleRun(SCALE_SOURCES);
  const first = big.windows[0];
  if (first) rows.push(row(SCALE_SOURCES, 'first (all new)', first));

  console.log('sources | window          | BatchGetItem | BatchWriteItem | other | actual | minimum');
  for (const r of rows) {
    console.log(
      `${r.sources.toLocaleString('en-US').padStart(7)} | ${r.window.padEnd(15)} | ${String(r.batchGet).padStart(12)} | ` +
        `${String(r.batchWrite).padStart(14)} | ${String(r.other).padStart(5)} | ${String(r.actual).padStart(6)} | ${String(r.minimum).padStart(7)}`,
    );
  }
  const worst = rows.reduce((a, b) => (b.actual / b.minimum > a.actual / a.minimum ? b : a));
  const figures = rows
    .filter((r) => r.window !== 'second')
    .map((r) => `N=${r.sources.toLocaleString('en-US')} ${r.actual} vs ${r.minimum}`)
    .join(', ');
  const steady = rows
    .filter((r) => r.window === 'second')
    .map((r) => `N=${r.sources.toLocaleString('en-US')} ${r.actual} vs ${r.minimum}`)
    .join(', ');
  return {
    name: 'dynamodb-calls',
    summary:
      `requests per window vs ceil(N/100)+ceil(M/25)+${CONSTANT}: ${figures}; steady-state window ${steady}; ` +
      'ratio = worst actual / minimum',
    ratio: worst.actual / worst.minimum,
  };
}
