/**
 * The detector process (see detector-process.ts): bundled with esbuild and forked; receives one
 * DetectorJob over IPC, runs the Lambda handler for each invocation, answers with its figures.
 */
// As the handler does, first: the detector's V8 flags.
import '../../lambda/v8-tuning';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_BATCH_CONCURRENCY } from '../../lambda/adapters/dynamo-baseline-store';
import { createLambdaRuntime } from '../../lambda/lambda-runtime';
import { loadRuntimeConfig } from '../../lambda/runtime-config';
import type { RunSummary } from '../../lambda/detector-run';
import type { DetectorJob, DetectorJobResult } from './detector-process';

/** How often the heap in use is sampled. */
const HEAP_SAMPLE_MS = 200;

async function runJob(job: DetectorJob): Promise<DetectorJobResult> {
  let base = Date.parse(job.invocations[0]?.nowIso ?? '1970-01-01T00:00:00Z');
  let realStart = Date.now();
  const now = () => base + (Date.now() - realStart);
  if (job.sdkFloor !== undefined) return sdkFloorJob(job.env, job.sdkFloor);
  const runtime = createLambdaRuntime(loadRuntimeConfig(job.env), {
    now,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
    // BENCH_DETECTOR_LOG_LEVEL=INFO: the run's log lines, e.g. between --trace-gc's to see its phases.
    logger: new Logger({
      serviceName: 'bench',
      logLevel: (process.env.BENCH_DETECTOR_LOG_LEVEL ?? 'SILENT') as 'SILENT',
    }),
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
    flowSourceOptions: {
      pollIntervalMs: 1,
      maxPollIntervalMs: 1,
      retryBaseDelayMs: 1,
      ...(job.rowLimit === undefined ? {} : { rowLimit: job.rowLimit }),
    },
  });
  const loadedRssBytes = process.resourceUsage().maxRSS * 1024;
  // The heap in use, sampled: how much of the peak RSS is live data and how much garbage not yet
  // collected. getHeapStatistics, not process.memoryUsage(), which also reads /proc each time.
  // Every HEAP_SAMPLE_MS: the sampler's CPU is the process's, counted in the CPU figure, and a
  // 20 ms timer cost it 5-8 ms of CPU a second on the development machine (some 7 s of a
  // million-source window that took 20 minutes against the local endpoints).
  let peakHeapUsedBytes = 0;
  // BENCH_DETECTOR_TIMELINE=<file>: also the heap, RSS and memory outside the heap once a second,
  // written to <file>.<pid> at the end (where in the window the peak falls).
  const timelineFile = process.env.BENCH_DETECTOR_TIMELINE;
  const timeline: string[] = [];
  const started = Date.now();
  let lastMark = 0;
  const sampler = setInterval(() => {
    const used = getHeapStatistics().used_heap_size;
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, used);
    if (timelineFile !== undefined && Date.now() - lastMark >= 1000) {
      lastMark = Date.now();
      const { rss, external } = process.memoryUsage();
      const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
      const cpu = process.cpuUsage();
      timeline.push(
        `${((lastMark - started) / 1000).toFixed(0)} s: heap ${mib(used)} MB, RSS ${mib(rss)} MB, ` +
          `outside the heap ${mib(external)} MB, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
      );
    }
  }, HEAP_SAMPLE_MS);
  const cpuBefore = process.cpuUsage();
  const wallBefore = Date.now();
  const summaries: RunSummary[] = [];
  for (const invocation of job.invocations) {
    base = Date.parse(invocation.nowIso);
    realStart = Date.now();
    summaries.push(
      await runtime.handler(invocation.event ?? {}, {
        getRemainingTimeInMillis: () => job.remainingMs ?? 900_000,
        awsRequestId: randomUUID(),
      }),
    );
  }
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  const result: DetectorJobResult = {
    summaries,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    loadedRssBytes,
    runCpuMicros: cpu.user + cpu.system,
    runSystemCpuMicros: cpu.system,
    runWallMs: Date.now() - wallBefore,
    peakHeapUsedBytes,
  };
  if (timelineFile !== undefined) {
    // The window's figures too, should a later window of the run fail before they are reported.
    timeline.push(
      `end: peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MB, heap in use at most ` +
        `${(peakHeapUsedBytes / 2 ** 20).toFixed(0)} MB, CPU ${(result.runCpuMicros / 1e6).toFixed(1)} s ` +
        `(system ${(result.runSystemCpuMicros / 1e6).toFixed(1)} s), wall ${(result.runWallMs / 1000).toFixed(0)} s`,
    );
    writeFileSync(`${timelineFile}.${process.pid}`, `${timeline.join('\n')}\n`);
  }
  return result;
}

process.once('message', (job) => {
  runJob(job as DetectorJob).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: error instanceof Error ? error.stack : String(error) }),
  );
});

/**
 * The peer of bench/cpu-time.ts: the DynamoDB batches of the per-source layout (one item per
 * source, as the store kept baselines before the buckets) without the detector. The DynamoDB
 * client is the handler's own (createLambdaRuntime: same client configuration, same lean JSON
 * paths), in a fresh process as the detector's, sending BatchGetItem calls of 100 absent keys and
 * BatchWriteItem calls of 25 items shaped like a new source's per-source baseline item (the first
 * window has no `prev`), as many as that layout took for the window, as many at once as the store
 * sends them.
 */
async function sdkFloorJob(
  env: Record<string, string>,
  floor: NonNullable<DetectorJob['sdkFloor']>,
): Promise<DetectorJobResult> {
  const runtime = createLambdaRuntime(loadRuntimeConfig(env), {
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
  });
  const client: DynamoDBClient = runtime.clients.dynamodb;
  const table = env.TABLE_NAME ?? '';
  const loadedRssBytes = process.resourceUsage().maxRSS * 1024;
  const before = process.cpuUsage();
  const wallBefore = Date.now();
  // As many in flight as the store keeps (DynamoBaselineStore's batchConcurrency).
  await inFlight(floor.batchGets, DEFAULT_BATCH_CONCURRENCY, async (r) => {
    const Keys = Array.from({ length: 100 }, (_, i) => ({
      pk: { S: `SRC#FLOOR.${r}.${i}` },
      sk: { S: 'BASELINE' },
    }));
    await client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys, ConsistentRead: true } } }));
  });
  await inFlight(floor.batchWrites, DEFAULT_BATCH_CONCURRENCY, async (r) => {
    const batch: WriteRequest[] = Array.from({ length: 25 }, (_, i) => ({
      PutRequest: {
        Item: {
          pk: { S: `SRC#FLOOR.${r}.${i}` },
          sk: { S: 'BASELINE' },
          mean: { N: '3' },
          variance: { N: '0' },
          dataPoints: { N: '1' },
          lastWindow: { N: '1793577600000' },
          clockAtLastFold: { N: '1' },
          expiresAt: { N: '1801353600' },
        },
      },
    }));
    await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
  });
  const cpu = process.cpuUsage(before);
  runtime.clients.dynamodb.destroy();
  return {
    summaries: [],
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    loadedRssBytes,
    runCpuMicros: cpu.user + cpu.system,
    runSystemCpuMicros: cpu.system,
    runWallMs: Date.now() - wallBefore,
    peakHeapUsedBytes: 0,
  };
}

/** Runs call(0..count-1), `limit` at a time. */
async function inFlight(count: number, limit: number, call: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await call(index);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}
