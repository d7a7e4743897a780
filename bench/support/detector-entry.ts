/**
 * The detector process (see detector-process.ts): bundled with esbuild and forked; receives one
 * DetectorJob over IPC, runs the Lambda handler for each invocation, answers with its figures.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createLambdaRuntime } from '../../lambda/lambda-runtime';
import { loadRuntimeConfig } from '../../lambda/runtime-config';
import type { RunSummary } from '../../lambda/detector-run';
import type { DetectorJob, DetectorJobResult } from './detector-process';

async function runJob(job: DetectorJob): Promise<DetectorJobResult> {
  let base = Date.parse(job.invocations[0]?.nowIso ?? '1970-01-01T00:00:00Z');
  let realStart = Date.now();
  const now = () => base + (Date.now() - realStart);
  const runtime = createLambdaRuntime(loadRuntimeConfig(job.env), {
    now,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
    logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
    flowSourceOptions: {
      pollIntervalMs: 1,
      maxPollIntervalMs: 1,
      retryBaseDelayMs: 1,
      ...(job.rowLimit === undefined ? {} : { rowLimit: job.rowLimit }),
    },
  });
  const loadedRssBytes = process.resourceUsage().maxRSS * 1024;
  // The heap in use, sampled: how much of the peak RSS is live data and how much garbage not yet collected.
  let peakHeapUsedBytes = 0;
  const sampler = setInterval(() => {
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, process.memoryUsage().heapUsed);
  }, 20);
  const cpuBefore = process.cpuUsage();
  const wallBefore = Date.now();
  const summaries: RunSummary[] = [];
  for (const invocation of job.invocations) {
    base = Date.parse(invocation.nowIso);
    realStart = Date.now();
    summaries.push(
      await runtime.handler(invocation.event ?? {}, {
        getRemainingTimeInMillis: () => 900_000,
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
    runWallMs: Date.now() - wallBefore,
    peakHeapUsedBytes,
  };
  if (job.sdkFloorRequests !== undefined && job.sdkFloorRequests > 0) {
    result.sdkFloorCpuMicros = await sdkFloor(job.env, job.sdkFloorRequests);
  }
  return result;
}

process.once('message', (job) => {
  runJob(job as DetectorJob).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: error instanceof Error ? error.stack : String(error) }),
  );
});

/** CPU of `requests` BatchWriteItem calls of 25 baseline-shaped items through a bare client. */
async function sdkFloor(env: Record<string, string>, requests: number): Promise<number> {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: env.DYNAMODB_ENDPOINT,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const prev = JSON.stringify({ mean: 3, variance: 2, dataPoints: 1, lastWindow: 0, clockAtLastFold: 0 });
  const before = process.cpuUsage();
  for (let r = 0; r < requests; r += 1) {
    const batch: WriteRequest[] = Array.from({ length: 25 }, (_, i) => ({
      PutRequest: {
        Item: {
          pk: { S: `FLOOR#10.${r % 256}.${i}.${r >> 8}` },
          sk: { S: 'BASELINE' },
          mean: { N: '3.5' },
          variance: { N: '1.25' },
          dataPoints: { N: '2' },
          lastWindow: { N: '1793577600000' },
          clockAtLastFold: { N: '2' },
          prev: { S: prev },
          expiresAt: { N: '1801353600' },
        },
      },
    }));
    await client.send(new BatchWriteItemCommand({ RequestItems: { [env.TABLE_NAME ?? '']: batch } }));
  }
  const cpu = process.cpuUsage(before);
  client.destroy();
  return cpu.user + cpu.system;
}
