/**
 * Memory: peak RSS (`process.resourceUsage().maxRSS`) of the detector process of the scale runs
 * (the Lambda handler bundled as the stack bundles it: config, SDK clients, adapters, engine),
 * the local endpoints running in another process so their memory is not counted; in a first
 * window (every source new) and a steady-state window (every baseline read back, decided and
 * rewritten with its `prev` and rhythm state).
 *
 * 100,000 sources: target 256 MB. 1,000,000 sources across 200 accounts (bench/support/
 * org-scale.ts): target 1,024 MB, the function's default memory. Also printed: the same
 * process with its code loaded (the peer) and the V8 heap in use at most (sampled every 200 ms).
 * The process runs with the function's heap cap (detectorNodeOptions at 1,024 MB); V8 collects
 * lazily without one: `BENCH_DETECTOR_NODE_FLAGS=--max-old-space-size=4096` shows a run uncapped.
 *
 * Ratio = the larger peak RSS of the 1,000,000-source windows / its 1,024 MB target (below 1: met).
 */
import type { BenchResult } from './run';
import { hundredThousandRun, SCALE_SOURCES } from './scale';
import { mb, orgRun, ORG_RSS_TARGET_MB, thousands, windowLabel } from './support/org-scale';
import type { ScaleRun } from './support/scale-run';

const RSS_TARGET_100K_MB = 256;

function report(run: ScaleRun, targetMb: number): number {
  let worst = 0;
  for (const [index, window] of run.windows.entries()) {
    const job = window.job;
    const peak = job.peakRssBytes / 2 ** 20;
    worst = Math.max(worst, peak);
    console.log(
      `${thousands(run.sources)} sources, ${windowLabel(index)}: peak RSS ${peak.toFixed(0)} MB ` +
        `(target < ${targetMb} MB: ${peak < targetMb ? 'met' : 'NOT met'}), heap in use at most ${mb(job.peakHeapUsedBytes)} MB, ` +
        `loaded-code RSS ${mb(job.loadedRssBytes)} MB`,
    );
  }
  return worst;
}

export async function run(): Promise<BenchResult> {
  const base = await hundredThousandRun();
  const baseWorst = report(base, RSS_TARGET_100K_MB);
  const org = await orgRun();
  const worst = report(org, ORG_RSS_TARGET_MB);
  const peaks = org.windows.map((w) => `${mb(w.job.peakRssBytes)}`).join(' and ');
  return {
    name: 'memory',
    summary:
      `${thousands(org.sources)} sources: detector peak RSS ${peaks} MB (first and steady-state window; target < ${ORG_RSS_TARGET_MB} MB: ` +
      `${worst < ORG_RSS_TARGET_MB ? 'met' : 'NOT met'}); ${thousands(SCALE_SOURCES)} sources: ${base.windows.map((w) => mb(w.job.peakRssBytes)).join(' and ')} MB ` +
      `(target < ${RSS_TARGET_100K_MB} MB: ${baseWorst < RSS_TARGET_100K_MB ? 'met' : 'NOT met'}); loaded code ${mb(org.windows[0]!.job.loadedRssBytes)} MB; ` +
      `ratio = larger 1,000,000-source peak / ${ORG_RSS_TARGET_MB} MB target`,
    ratio: worst / ORG_RSS_TARGET_MB,
  };
}
