/**
 * One large detection run shared by the scale, memory-cpu and dynamodb-calls benchmarks: the
 * endpoints in one process, seeded with `sources` distinct sources per window; each window
 * detected by the Lambda handler in a fresh detector process (bench/support/detector-process.ts).
 * Memoised per (sources, windows) so `npm run bench` pays for the 100,000-source run once.
 */
import { resolveDetectorConfig } from '../../lambda/core/config';
import { directCount, HOUR } from './flow-data';
import { runDetectorProcess, type DetectorJobResult } from './detector-process';
import {
  specEventsOf,
  startRemoteEndpoints,
  TOPIC_ARN,
  type EndpointStats,
  type WindowSpec,
} from './endpoints-process';

export const SCALE_T0 = Date.UTC(2026, 10, 2, 0);
const TABLE = 'bench-scale';
const LOG_GROUP = '/vpc/bench-scale';

export interface ScaleWindow {
  windowStart: number;
  /** Blocked records per source, counted directly from the seeded records (the oracle). */
  oracle: Map<string, number>;
  events: number;
  job: DetectorJobResult;
  /**
   * First window only: the BatchGetItem and BatchWriteItem calls the per-source layout (one item
   * per source, before the baseline buckets) needed for this window, sent through the handler's
   * DynamoDB client alone, in a process of its own (bench/cpu-time.ts's peer).
   */
  sdkFloor?: { batchGets: number; batchWrites: number; job: DetectorJobResult };
  /** Endpoint counters for this window alone. */
  stats: EndpointStats;
  /** Baselines written in this window: [srcIp, mean, dataPoints]. */
  written: [string, number, number][];
}

export interface ScaleRun {
  sources: number;
  windows: ScaleWindow[];
  /** Baseline bucket items after the last window: how many, their size in bytes (largest, all). */
  buckets: {
    items: number;
    sources: number;
    largestBytes: number;
    largestSources: number;
    totalBytes: number;
  };
}

/** How a run's windows are made (bench/support/endpoints-process.ts WindowSpec). */
export interface ScaleShape {
  /** Member accounts the sources are spread over. @default 1 */
  accounts?: number;
  /** Quiet counts 1..maxCount. @default 5 */
  maxCount?: number;
  /** Records that must not count, one each every this many sources. @default 10 */
  uncountedEvery?: number;
  /** Sources per address, each in another account (WindowSpec sharedAddresses). @default 1 */
  sharedAddresses?: number;
  /** The detector's deadline (DetectorJob remainingMs). @default Lambda's 15 minutes */
  remainingMs?: number;
  /** Measure the SDK floor of the per-source layout after the first window (cpu-time's peer). @default false */
  sdkFloor?: boolean;
}

const cache = new Map<string, Promise<ScaleRun>>();

export function scaleRun(sources: number, windows = 1, shape: ScaleShape = {}): Promise<ScaleRun> {
  const key = `${sources}/${windows}/${JSON.stringify(shape)}`;
  let run = cache.get(key);
  if (run === undefined) {
    run = execute(sources, windows, shape);
    cache.set(key, run);
  }
  return run;
}

const DEFAULT_LAG_MINUTES = resolveDetectorConfig({}).lagMinutes;

async function execute(sources: number, windowCount: number, shape: ScaleShape): Promise<ScaleRun> {
  const endpoints = await startRemoteEndpoints();
  try {
    await endpoints.createTable(TABLE);
    const env = {
      LOG_GROUP_IDENTIFIERS: LOG_GROUP,
      TABLE_NAME: TABLE,
      TOPIC_ARN,
      DETECTOR_CONFIG: '{}',
      LOGS_ENDPOINT: endpoints.endpoints.logs,
      DYNAMODB_ENDPOINT: endpoints.endpoints.dynamo,
      SNS_ENDPOINT: endpoints.endpoints.sns,
      AWS_REGION: 'us-east-1',
    };
    const windows: ScaleWindow[] = [];
    for (let w = 0; w < windowCount; w += 1) {
      const windowStart = SCALE_T0 + w * HOUR;
      const spec: WindowSpec = {
        logGroup: LOG_GROUP,
        windowStart,
        sources,
        sourceSeed: 1,
        countSeed: 2 + w,
        ...(shape.accounts === undefined ? {} : { accounts: shape.accounts }),
        ...(shape.maxCount === undefined ? {} : { maxCount: shape.maxCount }),
        ...(shape.uncountedEvery === undefined ? {} : { uncountedEvery: shape.uncountedEvery }),
        ...(shape.sharedAddresses === undefined ? {} : { sharedAddresses: shape.sharedAddresses }),
      };
      const { events } = await endpoints.seedWindow(spec);
      const oracle = directCount(specEventsOf(spec), windowStart, windowStart + HOUR);
      await endpoints.resetCounters();
      const job = await runDetectorProcess({
        env,
        ...(shape.remainingMs === undefined ? {} : { remainingMs: shape.remainingMs }),
        // The default lag plus a margin after the window's end, as the stack schedules it.
        invocations: [
          { nowIso: new Date(windowStart + HOUR + (DEFAULT_LAG_MINUTES + 5) * 60_000).toISOString() },
        ],
      });
      const [stats, written] = await Promise.all([
        endpoints.stats(),
        endpoints.writtenBaselines(TABLE, windowStart),
      ]);
      let sdkFloor: ScaleWindow['sdkFloor'];
      if (w === 0 && shape.sdkFloor === true) {
        // In a process of its own, after the counters were read: the floor's requests are not the
        // detector's. As many calls as the per-source layout took (one item per source): 100
        // sources per BatchGetItem, 25 baselines per BatchWriteItem.
        const batchGets = Math.ceil(oracle.size / 100);
        const batchWrites = Math.ceil(written.length / 25);
        const floorJob = await runDetectorProcess({
          env,
          invocations: [],
          sdkFloor: { batchGets, batchWrites },
        });
        sdkFloor = { batchGets, batchWrites, job: floorJob };
      }
      windows.push({ windowStart, oracle, events, job, stats, written, ...(sdkFloor ? { sdkFloor } : {}) });
    }
    return { sources, windows, buckets: await endpoints.bucketSizes(TABLE) };
  } finally {
    await endpoints.stop();
  }
}
