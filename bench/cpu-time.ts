/**
 * CPU: `process.cpuUsage()` of the detector process of the scale runs over the invocation (the
 * local endpoints run in another process and are not counted), in a first and a steady-state
 * window.
 *
 * 1,000,000 sources across 200 accounts (bench/support/org-scale.ts): target 30 s.
 * 100,000 sources: target 5 s, beside its peer: the SDK's own cost for the DynamoDB requests of
 * the per-source layout (one item per source, as baselines were kept before the buckets), the
 * handler's runtime (createLambdaRuntime: the same client configuration) sending ceil(N/100)
 * BatchGetItem (100 keys) and ceil(N/25) BatchWriteItem (25 per-source baseline items), nothing
 * else, in a process of its own.
 *
 * Ratio = the larger CPU of the 1,000,000-source windows / its 30 s target (below 1: met).
 */
import type { BenchResult } from './run';
import { hundredThousandRun, SCALE_SOURCES } from './scale';
import { orgRun, ORG_CPU_TARGET_S, thousands, windowLabel } from './support/org-scale';
import type { ScaleRun } from './support/scale-run';

const CPU_TARGET_100K_S = 5;
const s = (micros: number) => (micros / 1e6).toFixed(1);
const ms = (micros: number) => (micros / 1000).toFixed(2);

function report(run: ScaleRun, targetS: number): number {
  let worst = 0;
  for (const [index, window] of run.windows.entries()) {
    const { job, stats } = window;
    const requests = Object.values(stats.dynamo.requestCounts).reduce((a, b) => a + b, 0);
    const logsCalls = Object.values(stats.logs.callCounts).reduce((a, b) => a + b, 0);
    const cpuS = job.runCpuMicros / 1e6;
    worst = Math.max(worst, cpuS);
    console.log(
      `${thousands(run.sources)} sources, ${windowLabel(index)}: CPU ${s(job.runCpuMicros)} s (system ${s(job.runSystemCpuMicros)} s; ` +
        `target < ${targetS} s: ${cpuS < targetS ? 'met' : 'NOT met'}), ${thousands(requests)} DynamoDB requests and ${logsCalls} Logs Insights calls; ` +
        `wall ${s(job.runWallMs * 1000)} s (mostly the local endpoints)`,
    );
  }
  return worst;
}

export async function run(): Promise<BenchResult> {
  const base = await hundredThousandRun();
  const baseWorst = report(base, CPU_TARGET_100K_S);
  const floor = base.windows[0]?.sdkFloor;
  if (floor === undefined) throw new Error('scale run measured no SDK floor');
  const floorRequests = floor.batchGets + floor.batchWrites;
  console.log(
    `per-source SDK floor at ${thousands(SCALE_SOURCES)} sources: the handler's DynamoDB client alone, ${thousands(floor.batchGets)} BatchGetItem + ` +
      `${thousands(floor.batchWrites)} BatchWriteItem (what one item per source took): CPU ${s(floor.job.runCpuMicros)} s ` +
      `(${ms(floor.job.runCpuMicros / floorRequests)} ms per request); the detector's first window is ` +
      `${((base.windows[0]!.job.runCpuMicros / floor.job.runCpuMicros) * 100).toFixed(0)}% of it`,
  );
  const org = await orgRun();
  const worst = report(org, ORG_CPU_TARGET_S);
  return {
    name: 'cpu-time',
    summary:
      `${thousands(org.sources)} sources: detector CPU ${org.windows.map((w) => s(w.job.runCpuMicros)).join(' and ')} s (first and steady-state window; ` +
      `target < ${ORG_CPU_TARGET_S} s: ${worst < ORG_CPU_TARGET_S ? 'met' : 'NOT met'}); ${thousands(SCALE_SOURCES)} sources: ` +
      `${base.windows.map((w) => s(w.job.runCpuMicros)).join(' and ')} s (target < ${CPU_TARGET_100K_S} s: ${baseWorst < CPU_TARGET_100K_S ? 'met' : 'NOT met'}; ` +
      `per-source SDK floor ${s(floor.job.runCpuMicros)} s); ratio = larger 1,000,000-source CPU / ${ORG_CPU_TARGET_S} s target`,
    ratio: worst / ORG_CPU_TARGET_S,
  };
}
