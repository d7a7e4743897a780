/**
 * CPU at 100,000 sources: `process.cpuUsage()` of the detector process of the scale run over the
 * invocation (the local endpoints run in another process and are not counted).
 *
 * Peer: the SDK's own cost. The same process then sends SDK_FLOOR_REQUESTS BatchWriteItem calls
 * of 25 baseline-shaped items through a bare DynamoDBClient; their CPU per request, times the
 * DynamoDB requests the detector made, is the floor any design with one item per source pays.
 * Ratio = detector CPU / that floor (1 would mean the engine, adapters and Logs Insights results
 * cost nothing beside the DynamoDB requests).
 */
import type { BenchResult } from './run';
import { SCALE_SOURCES } from './scale';
import { scaleRun, SDK_FLOOR_REQUESTS } from './support/scale-run';

const CPU_TARGET_S = 5;

export async function run(): Promise<BenchResult> {
  const result = await scaleRun(SCALE_SOURCES);
  const window = result.windows[0];
  if (window === undefined) throw new Error('scale run produced no window');
  const { job, stats } = window;
  const requests = Object.values(stats.dynamo.requestCounts).reduce((a, b) => a + b, 0);
  const floorPerRequest = (job.sdkFloorCpuMicros ?? NaN) / SDK_FLOOR_REQUESTS;
  const floor = floorPerRequest * requests;
  const cpuS = job.runCpuMicros / 1e6;
  console.log(
    `detector CPU ${cpuS.toFixed(1)} s for ${requests.toLocaleString('en-US')} DynamoDB requests ` +
      `(${(job.runCpuMicros / requests / 1000).toFixed(2)} ms each, all included) and ` +
      `${Object.values(stats.logs.callCounts).reduce((a, b) => a + b, 0)} Logs Insights calls; ` +
      `bare SDK BatchWriteItem: ${(floorPerRequest / 1000).toFixed(2)} ms CPU each; wall ${(job.runWallMs / 1000).toFixed(1)} s (mostly dynalite)`,
  );
  return {
    name: 'cpu-time',
    summary:
      `${result.sources.toLocaleString('en-US')} sources: detector CPU ${cpuS.toFixed(1)} s ` +
      `(target a few s, < ${CPU_TARGET_S} s: ${cpuS < CPU_TARGET_S ? 'met' : 'NOT met'}); ` +
      `bare-SDK floor for its ${requests.toLocaleString('en-US')} DynamoDB requests ${(floor / 1e6).toFixed(1)} s; ` +
      'ratio = detector CPU / bare-SDK floor',
    ratio: job.runCpuMicros / floor,
  };
}
