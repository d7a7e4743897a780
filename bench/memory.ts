/**
 * Memory at 100,000 sources: peak RSS (`process.resourceUsage().maxRSS`) of the detector process
 * of the scale run (the Lambda handler bundled as the stack bundles it: config, SDK clients,
 * adapters, engine), the local endpoints running in another process so their memory is not
 * counted.
 *
 * Peer: the same process just before the invocation, all code loaded. Ratio = peak RSS / loaded
 * RSS: what 100,000 sources add on top of the code. V8 collects lazily when nothing caps its
 * heap; `BENCH_DETECTOR_NODE_FLAGS=--max-old-space-size=128 npm run bench -- memory` shows the
 * same run under a cap.
 */
import type { BenchResult } from './run';
import { SCALE_SOURCES } from './scale';
import { scaleRun } from './support/scale-run';

const RSS_BUDGET_MB = 256;

export async function run(): Promise<BenchResult> {
  const result = await scaleRun(SCALE_SOURCES);
  const job = result.windows[0]?.job;
  if (job === undefined) throw new Error('scale run produced no window');
  const mb = (bytes: number) => bytes / 2 ** 20;
  const peak = mb(job.peakRssBytes);
  return {
    name: 'memory',
    summary:
      `${result.sources.toLocaleString('en-US')} sources: detector peak RSS ${peak.toFixed(0)} MB ` +
      `(target < ${RSS_BUDGET_MB} MB: ${peak < RSS_BUDGET_MB ? 'met' : 'NOT met'}), ` +
      `heap in use at most ${mb(job.peakHeapUsedBytes).toFixed(0)} MB (sampled every 20 ms), ` +
      `loaded-code RSS ${mb(job.loadedRssBytes).toFixed(0)} MB; ratio = peak RSS / loaded RSS`,
    ratio: job.peakRssBytes / job.loadedRssBytes,
  };
}
