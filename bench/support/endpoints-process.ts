/**
 * The local DynamoDB, Logs Insights and SNS endpoints in a process of their own, driven over IPC,
 * so a benchmark can measure the detector's process (memory, CPU) without the endpoints' share.
 *
 * `startRemoteEndpoints()` forks this file (through tsx) and returns a small client; the child
 * seeds synthetic windows itself (bench/support/flow-data.ts) from a compact description.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { bucketItemBytes, bucketOfItem, unpackBucketItem } from '../../lambda/adapters/baseline-buckets';
import { createTable, startLocalDynamoDb, type LocalDynamoDb } from '../../test/support/local-dynamodb';
import { startLocalLogsInsights, type LocalLogsInsights } from '../../test/support/local-logs-insights';
import { startLocalSns, type LocalSns } from '../../test/support/local-sns';
import type { LogEvent } from '../../test/support/logs-insights-query';
import { CHILD_ENV } from './detector-process';
import { accountIds, internalSources, quietCounts, windowEventsOf } from './flow-data';

export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:egress-alerts';

/** A synthetic window: `sources` scattered internal sources with seeded quiet counts, some raised. */
export interface WindowSpec {
  logGroup: string;
  windowStart: number;
  sources: number;
  sourceSeed: number;
  countSeed: number;
  /** Source index -> count, replacing the quiet count (spikes). */
  overrides?: Record<number, number>;
  /** Member accounts the sources are spread over (source i in account i mod accounts). @default 1 */
  accounts?: number;
  /** Quiet counts are 1..maxCount. @default 5 */
  maxCount?: number;
  /** One each of the records that must not count every this many sources. @default 10 */
  uncountedEvery?: number;
  /**
   * Sources per address: k > 1 gives sources i and i + 1 ... i + k - 1 one address in k
   * accounts (an Organization's shared address plans). @default 1
   */
  sharedAddresses?: number;
}

export interface EndpointStats {
  dynamo: {
    requestCounts: Record<string, number>;
    batchGetKeyCount: number;
    batchWriteItemCount: number;
  };
  logs: {
    callCounts: Record<string, number>;
    queries: { queryString: string; limit: number | undefined; rowCount: number; status: string }[];
  };
  sns: { publishCalls: number; published: { subject: string; alertId: string | undefined }[] };
}

export type EndpointCommand =
  | { type: 'createTable'; tableName: string }
  | { type: 'seedWindow'; spec: WindowSpec }
  | { type: 'seedEvents'; logGroup: string; events: LogEvent[] }
  | { type: 'stats' }
  | { type: 'writtenBaselines'; tableName: string; windowStart?: number }
  | { type: 'bucketSizes'; tableName: string }
  | { type: 'resetCounters' }
  | { type: 'stop' };

interface WrittenRequest {
  PutRequest?: { Item?: Record<string, AttributeValue> };
}

interface Endpoints {
  dynamo: string;
  logs: string;
  sns: string;
}

export function specEvents(spec: WindowSpec): LogEvent[] {
  return [...specEventsOf(spec)];
}

/** The window's records one at a time: a million sources' records are not held twice. */
export function specEventsOf(spec: WindowSpec): Generator<LogEvent> {
  const shared = spec.sharedAddresses ?? 1;
  const addresses = internalSources(Math.ceil(spec.sources / shared), spec.sourceSeed);
  const sources =
    shared === 1
      ? addresses
      : Array.from({ length: spec.sources }, (_, i) => addresses[Math.floor(i / shared)]!);
  const counts = quietCounts(spec.sources, spec.countSeed, spec.maxCount);
  for (const [index, count] of Object.entries(spec.overrides ?? {})) counts[Number(index)] = count;
  return windowEventsOf(spec.windowStart, sources, counts, {
    ...(spec.accounts === undefined ? {} : { accounts: accountIds(spec.accounts) }),
    ...(spec.uncountedEvery === undefined ? {} : { uncountedEvery: spec.uncountedEvery }),
  });
}

export interface RemoteEndpoints {
  endpoints: Endpoints;
  createTable(tableName: string): Promise<void>;
  seedWindow(spec: WindowSpec): Promise<{ events: number }>;
  seedEvents(logGroup: string, events: LogEvent[]): Promise<void>;
  stats(): Promise<EndpointStats>;
  /**
   * The last baseline each source was written with (BatchWriteItem bodies as the endpoint
   * received them since the last reset): [srcIp, mean, dataPoints][].
   */
  /** Baselines written by BatchWriteItem (folded in `windowStart`, when given): [srcIp, mean, dataPoints]. */
  writtenBaselines(tableName: string, windowStart?: number): Promise<[string, number, number][]>;
  /** The baseline bucket items in the table: how many, and their sizes (DynamoDB's item size). */
  bucketSizes(tableName: string): Promise<BucketSizes>;
  resetCounters(): Promise<void>;
  stop(): Promise<void>;
}

export interface BucketSizes {
  items: number;
  /** Entries in all. */
  sources: number;
  largestBytes: number;
  /** Entries of the largest bucket. */
  largestSources: number;
  totalBytes: number;
}

/** Forks the endpoints process and waits for its endpoints. */
export async function startRemoteEndpoints(): Promise<RemoteEndpoints> {
  const child: ChildProcess = fork(__filename, ['--serve'], {
    // A million-source window is some 1.5 GB of seeded records here (bench/scale.ts); two windows'
    // records and a split query's intermediate groups came near an 8 GB cap.
    // A larger young generation: a query over a million-source window makes some 5 million
    // short-lived objects, most of which would otherwise be promoted and collected again.
    execArgv: ['--import', 'tsx', '--max-old-space-size=12288', '--max-semi-space-size=64'],
    env: { ...process.env, ...CHILD_ENV },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = new Promise<Endpoints>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`endpoints process exited (${code}) before it was ready`)));
    child.on('message', (raw) => {
      const message = raw as { ready?: Endpoints; id?: number; result?: unknown; error?: string };
      if (message.ready) {
        resolve(message.ready);
        return;
      }
      const entry = message.id === undefined ? undefined : waiting.get(message.id);
      if (!entry || message.id === undefined) return;
      waiting.delete(message.id);
      if (message.error !== undefined) entry.reject(new Error(message.error));
      else entry.resolve(message.result);
    });
  });
  const endpoints = await ready;
  child.on('exit', () => {
    for (const entry of waiting.values()) entry.reject(new Error('endpoints process exited'));
    waiting.clear();
  });
  const call = <T>(command: EndpointCommand): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      nextId += 1;
      waiting.set(nextId, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id: nextId, command });
    });
  return {
    endpoints,
    createTable: (tableName) => call({ type: 'createTable', tableName }),
    seedWindow: (spec) => call({ type: 'seedWindow', spec }),
    seedEvents: (logGroup, events) => call({ type: 'seedEvents', logGroup, events }),
    stats: () => call({ type: 'stats' }),
    writtenBaselines: (tableName, windowStart) => call({ type: 'writtenBaselines', tableName, windowStart }),
    bucketSizes: (tableName) => call({ type: 'bucketSizes', tableName }),
    resetCounters: () => call({ type: 'resetCounters' }),
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call({ type: 'stop' }).catch(() => undefined);
      await exited;
    },
  };
}

async function serve(): Promise<void> {
  const [dynamo, logs, sns]: [LocalDynamoDb, LocalLogsInsights, LocalSns] = await Promise.all([
    startLocalDynamoDb(),
    startLocalLogsInsights(),
    startLocalSns({ topics: [TOPIC_ARN] }),
  ]);
  const dynamoClient = new DynamoDBClient(dynamo.clientConfig());
  const handle = async (command: EndpointCommand): Promise<unknown> => {
    switch (command.type) {
      case 'createTable':
        await createTable(dynamoClient, command.tableName);
        return undefined;
      case 'seedWindow': {
        // One window at a time: a million sources' records of two windows would not fit here.
        logs.clear(command.spec.logGroup);
        const events = specEvents(command.spec);
        logs.seed(command.spec.logGroup, events);
        return { events: events.length };
      }
      case 'seedEvents':
        logs.seed(command.logGroup, command.events);
        return undefined;
      case 'stats': {
        const stats: EndpointStats = {
          dynamo: {
            requestCounts: { ...dynamo.requestCounts },
            batchGetKeyCount: dynamo.batchGetKeyCount,
            batchWriteItemCount: dynamo.batchWriteItemCount,
          },
          logs: {
            callCounts: { ...logs.callCounts },
            queries: logs.startedQueries.map((q) => ({
              queryString: q.queryString,
              limit: q.limit,
              rowCount: q.rowCount,
              status: q.status,
            })),
          },
          sns: {
            publishCalls: sns.publishCalls,
            published: sns.published.map((p) => ({
              subject: p.subject ?? '',
              alertId: alertIdOf(p.perProtocol?.sqs),
            })),
          },
        };
        return stats;
      }
      case 'writtenBaselines': {
        const last = new Map<string, [string, number, number]>();
        for (const request of dynamo.requests) {
          if (request.operation !== 'BatchWriteItem') continue;
          const items = (request.body.RequestItems as Record<string, WrittenRequest[]> | undefined)?.[
            command.tableName
          ];
          for (const write of items ?? []) {
            const item = write.PutRequest?.Item;
            if (item === undefined || bucketOfItem(item) === undefined) continue;
            // A bucket carries its untouched sources too: only the entries folded in this window count.
            for (const [ip, { baseline }] of unpackBucketItem(item)) {
              if (command.windowStart === undefined || baseline.lastWindow === command.windowStart)
                last.set(ip, [ip, baseline.mean, baseline.dataPoints]);
            }
          }
        }
        return [...last.values()];
      }
      case 'bucketSizes': {
        const sizes: BucketSizes = {
          items: 0,
          sources: 0,
          largestBytes: 0,
          largestSources: 0,
          totalBytes: 0,
        };
        let startKey: Record<string, AttributeValue> | undefined;
        do {
          const page = await dynamoClient.send(
            new ScanCommand({ TableName: command.tableName, ExclusiveStartKey: startKey }),
          );
          for (const item of page.Items ?? []) {
            const bucket = bucketOfItem(item);
            if (bucket === undefined) continue;
            const bytes = bucketItemBytes(bucket, item.records?.S ?? '');
            const entries = Number(item.sources?.N ?? 0);
            sizes.items += 1;
            sizes.sources += entries;
            sizes.totalBytes += bytes;
            if (bytes > sizes.largestBytes) {
              sizes.largestBytes = bytes;
              sizes.largestSources = entries;
            }
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined);
        return sizes;
      }
      case 'resetCounters':
        dynamo.resetCounters();
        logs.resetCounters();
        sns.reset();
        return undefined;
      case 'stop':
        dynamoClient.destroy();
        await Promise.all([dynamo.stop(), logs.stop(), sns.stop()]);
        setImmediate(() => process.exit(0));
        return undefined;
    }
  };
  process.on('message', (raw) => {
    const { id, command } = raw as { id: number; command: EndpointCommand };
    handle(command).then(
      (result) => process.send?.({ id, result }),
      (error: unknown) => process.send?.({ id, error: error instanceof Error ? error.stack : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: { dynamo: dynamo.endpoint, logs: logs.endpoint, sns: sns.endpoint } });
}

function alertIdOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as { alertId?: unknown };
    return typeof parsed.alertId === 'string' ? parsed.alertId : undefined;
  } catch {
    return undefined;
  }
}

if (require.main === module && process.argv.includes('--serve')) {
  serve().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
