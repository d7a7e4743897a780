/**
 * Correctness at scale: one window with 100,000 distinct sources (ten 10,000-row pages, and at
 * the 100,000-row limit of one Logs Insights query, so the count query must be split) detected
 * end to end by the Lambda handler against the local endpoints. Every source's count, as written
 * to its DynamoDB baseline (a new source's mean is its first count, dataPoints 1), is compared
 * with a direct count over the seeded records: no source lost, none double counted.
 *
 * Peer: the direct count. Ratio = records the detector counted / records counted directly (1 is
 * exact; any lost or doubled source moves it and the mismatch count).
 */
import type { BenchResult } from './run';
import { scaleRun } from './support/scale-run';

export const SCALE_SOURCES = 100_000;

export async function run(): Promise<BenchResult> {
  const result = await scaleRun(SCALE_SOURCES);
  const window = result.windows[0];
  if (window === undefined) throw new Error('scale run produced no window');
  const written = new Map(window.written.map(([ip, mean, dataPoints]) => [ip, { mean, dataPoints }]));
  let mismatches = 0;
  let lost = 0;
  let expectedRecords = 0;
  for (const [ip, count] of window.oracle) {
    expectedRecords += count;
    const baseline = written.get(ip);
    if (baseline === undefined) lost += 1;
    else if (baseline.mean !== count || baseline.dataPoints !== 1) mismatches += 1;
  }
  const extra = [...written.keys()].filter((ip) => !window.oracle.has(ip)).length;
  const countedRecords = [...written.values()].reduce((sum, b) => sum + b.mean, 0);
  const queries = window.stats.logs.queries;
  const summary = window.job.summaries[0];
  console.log(
    `seeded ${window.events.toLocaleString('en-US')} records; count queries: ` +
      queries.map((q) => `${q.rowCount.toLocaleString('en-US')} rows`).join(', ') +
      `; GetQueryResults calls ${window.stats.logs.callCounts.GetQueryResults}; ` +
      `sources evaluated ${summary?.sourcesEvaluated}; wall ${(window.job.runWallMs / 1000).toFixed(1)} s`,
  );
  return {
    name: 'scale',
    summary:
      `${window.oracle.size.toLocaleString('en-US')} sources in one window, ${queries.length} queries issued ` +
      `(one full at the 100,000-row limit, then split), mismatches ${mismatches + lost + extra} ` +
      `(lost ${lost}, wrong ${mismatches}, extra ${extra}; target 0); ` +
      'ratio = records counted by the detector / records counted directly',
    ratio: countedRecords / expectedRecords,
  };
}
