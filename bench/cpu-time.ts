/**
 * CPU at 100,000 sources: `process.cpuUsage()` of the detector process of the scale run over the
 * invocation (the local endpoints run in another process and are not counted).
 *
 * Peer: the SDK's own cost for the DynamoDB requests of the per-source layout (one item per
 * source, as baselines were kept before the buckets): a fresh process builds the handler's
 * runtime (createLambdaRuntime: the same client configuration) and sends through its DynamoDB
 * client ceil(N/100) BatchGetItem (100 keys) and ceil(N/25) BatchWriteItem (25 per-source
 * baseline items), nothing else. That floor was what the detector's CPU could not go below with
 * one item per source. Ratio = detector CPU / that floor: below 1 means the whole run (engine,
 * adapters, Logs Insights results, the ~50 bucket requests) now costs less than the old layout's
 * DynamoDB requests alone.
 */
import type { BenchResult } from './run';
import { SCALE_SOURCES } from './scale';
import { scaleRun } from './support/scale-run';

const CPU_TARGET_S = 5;

export async function run(): Promise<BenchResult> {
  const result = await scaleRun(SCALE_SOURCES);
  const window = result.windows[0];
  if (window === undefined) throw new Error('scale run produced no window');
  const { job, stats, sdkFloor } = window;
  if (sdkFloor === undefined) throw new Error('scale run measured no SDK floor');
  const requests = Object.values(stats.dynamo.requestCounts).reduce((a, b) => a + b, 0);
  const logsCalls = Object.values(stats.logs.callCounts).reduce((a, b) => a + b, 0);
  const floorRequests = sdkFloor.batchGets + sdkFloor.batchWrites;
  const floorCpu = sdkFloor.job.runCpuMicros;
  const ms = (micros: number) => (micros / 1000).toFixed(2);
  const s = (micros: number) => (micros / 1e6).toFixed(1);
  console.log(
    `detector: CPU ${s(job.runCpuMicros)} s (system ${s(job.runSystemCpuMicros)} s), ` +
      `${requests.toLocaleString('en-US')} DynamoDB requests and ${logsCalls} Logs Insights calls: ` +
      `${ms(job.runCpuMicros / requests)} ms per DynamoDB request, everything included; wall ${s(job.runWallMs * 1000)} s (mostly dynalite)`,
  );
  console.log(
    `per-source SDK floor: the handler's DynamoDB client alone, ${sdkFloor.batchGets.toLocaleString('en-US')} BatchGetItem + ` +
      `${sdkFloor.batchWrites.toLocaleString('en-US')} BatchWriteItem (what one item per source took): CPU ${s(floorCpu)} s ` +
      `(system ${s(sdkFloor.job.runSystemCpuMicros)} s), ${ms(floorCpu / floorRequests)} ms per request`,
  );
  const cpuS = job.runCpuMicros / 1e6;
  return {
    name: 'cpu-time',
    summary:
      `${result.sources.toLocaleString('en-US')} sources: detector CPU ${cpuS.toFixed(1)} s with ` +
      `${requests.toLocaleString('en-US')} DynamoDB requests (target a few s, < ${CPU_TARGET_S} s: ${cpuS < CPU_TARGET_S ? 'met' : 'NOT met'}); ` +
      `SDK floor of the per-source layout's ${floorRequests.toLocaleString('en-US')} batch calls ${s(floorCpu)} s ` +
      `(${ms(floorCpu / floorRequests)} ms each); ratio = detector CPU / that floor`,
    ratio: job.runCpuMicros / floorCpu,
  };
}
