/**
 * End-to-end harness: the Lambda runtime (config parse, real SDK clients, adapters, detector
 * run) against the local DynamoDB (dynalite), Logs Insights and SNS endpoints, with a fake clock
 * that moves with real time from wherever a test sets it.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  createLambdaRuntime,
  type LambdaRuntime,
  type LambdaRuntimeOptions,
} from '../../lambda/lambda-runtime';
import { loadRuntimeConfig, type RuntimeEnvironment } from '../../lambda/runtime-config';
import type { DetectorDeps, RunMetrics, RunSummary } from '../../lambda/detector-run';
import { DynamoBaselineStore, type DetectorStore } from '../../lambda/adapters/dynamo-baseline-store';
import { LogsInsightsFlowSource } from '../../lambda/adapters/logs-insights-flow-source';
import { bucketOfItem, unpackBucketItem, type StoredBaseline } from '../../lambda/adapters/baseline-buckets';
import { SnsAlertPublisher } from '../../lambda/adapters/sns-alert-publisher';
import { sourceKey } from '../../lambda/core/source-key';
import { createTable, startLocalDynamoDb, type LocalDynamoDb } from '../support/local-dynamodb';
import {
  startLocalLogsInsights,
  type LocalLogsInsights,
  type LogEvent,
} from '../support/local-logs-insights';
import { startLocalSns, type LocalSns } from '../support/local-sns';

export const HOUR = 3_600_000;
/** The account flowRecord writes unless told otherwise. */
export const ACCOUNT = '123456789012';
/** The source key of `address` in `account` (lambda/core/source-key.ts). */
export const key = (address: string, account = ACCOUNT): string => sourceKey({ accountId: account, address });
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:egress-alerts';
export const LOG_GROUP = '/vpc/flow-logs';
export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/**
 * The lag the e2e tests run with unless they set one: 10 minutes, what the stack sets for the
 * 1-minute flow logs it creates, so a run 12 minutes after a window's end evaluates it. A test of
 * the default lag passes `env: { DETECTOR_CONFIG: ... }` itself.
 */
export const E2E_LAG_MINUTES = 10;
/** Writes DynamoDB operations (the lease's PutItem/DeleteItem included). */
export const WRITE_OPERATIONS = [
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
];

export class RecordingMetrics implements RunMetrics {
  readonly stored: { name: string; unit: string; value: number }[] = [];
  readonly published: { name: string; unit: string; value: number }[][] = [];
  addMetric(name: string, unit: string, value: number): this {
    this.stored.push({ name, unit, value });
    return this;
  }
  publishStoredMetrics(): void {
    this.published.push(this.stored.splice(0));
  }
  /** The value of `name` in the last published batch, or undefined. */
  last(name: string): number | undefined {
    return this.published.at(-1)?.find((m) => m.name === name)?.value;
  }
}

/** A clock at `set()` that moves on with real time, so deadlines and polls behave. */
export class TestClock {
  private base = 0;
  private realStart = Date.now();
  set(iso: string): void {
    this.base = Date.parse(iso);
    this.realStart = Date.now();
  }
  readonly now = (): number => this.base + (Date.now() - this.realStart);
  /** Moves the clock on by `ms` at once (a sleep that costs no real time). */
  advance(ms: number): void {
    this.base += Math.max(0, ms);
  }
}

export interface Endpoints {
  dynamo: LocalDynamoDb;
  logs: LocalLogsInsights;
  sns: LocalSns;
  dynamoClient: DynamoDBClient;
  stop(): Promise<void>;
}

export async function startEndpoints(): Promise<Endpoints> {
  const [dynamo, logs, sns] = await Promise.all([
    startLocalDynamoDb(),
    startLocalLogsInsights(),
    startLocalSns({ topics: [TOPIC_ARN] }),
  ]);
  const dynamoClient = new DynamoDBClient(dynamo.clientConfig());
  return {
    dynamo,
    logs,
    sns,
    dynamoClient,
    async stop() {
      dynamoClient.destroy();
      await Promise.all([dynamo.stop(), logs.stop(), sns.stop()]);
    },
  };
}

let tables = 0;

export interface Detector {
  runtime: LambdaRuntime;
  tableName: string;
  logGroup: string;
  clock: TestClock;
  metrics: RecordingMetrics;
  env: RuntimeEnvironment;
  /** Invokes the handler as Lambda does: an event and a context with the time left. */
  invoke(event: unknown, remainingMs?: number): Promise<RunSummary>;
  /**
   * Every item of the table, keyed `pk|sk`, with the baseline buckets unpacked into one
   * `SRC#<source key>|BASELINE` entry per source (attributes mean, variance, dataPoints, lastWindow,
   * clockAtLastFold, lastAlertWindow, lastAlertCount, expiresAt as numbers, prev as JSON): the
   * per-source view the tests compare, whichever bucket a source landed in.
   */
  items(): Promise<Map<string, Record<string, AttributeValue>>>;
}

/** One source's baseline entry shaped as the per-source items of the earlier table layout. */
function sourceView({ baseline, prev, expiresAt }: StoredBaseline): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(baseline))
    if (typeof value === 'number') item[name] = { N: String(value) };
  if (prev !== undefined) item.prev = { S: JSON.stringify(prev) };
  item.expiresAt = { N: String(expiresAt) };
  return item;
}

const silentLogger = () => new Logger({ serviceName: 'e2e', logLevel: 'SILENT' });

/** A detector with its own table and log group on the shared endpoints. */
export async function newDetector(
  endpoints: Endpoints,
  options: {
    detectorConfig?: Record<string, unknown>;
    env?: Partial<RuntimeEnvironment>;
    runtime?: LambdaRuntimeOptions;
    /**
     * The runtime's sleeps move the test clock on by their length (and cost no real time), so
     * code that paces itself on the clock (CloudTrail lookups: two calls a second) meets a
     * rate-limited endpoint on the same clock as it would in real time. @default false
     */
    sleepAdvancesClock?: boolean;
  } = {},
): Promise<Detector> {
  tables += 1;
  const tableName = `e2e-${tables}`;
  const logGroup = `${LOG_GROUP}-${tables}`;
  await createTable(endpoints.dynamoClient, tableName);
  endpoints.dynamo.resetCounters();
  const clock = new TestClock();
  const metrics = new RecordingMetrics();
  const env: RuntimeEnvironment = {
    LOG_GROUP_IDENTIFIERS: logGroup,
    TABLE_NAME: tableName,
    TOPIC_ARN,
    DETECTOR_CONFIG: JSON.stringify({ lagMinutes: E2E_LAG_MINUTES, ...options.detectorConfig }),
    LOGS_ENDPOINT: endpoints.logs.endpoint,
    DYNAMODB_ENDPOINT: endpoints.dynamo.endpoint,
    SNS_ENDPOINT: endpoints.sns.endpoint,
    AWS_REGION: 'us-east-1',
    ...options.env,
  };
  const runtime = createLambdaRuntime(loadRuntimeConfig(env as Record<string, string>), {
    now: clock.now,
    credentials: CREDENTIALS,
    sleep: (ms) => {
      if (options.sleepAdvancesClock) clock.advance(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
    logger: silentLogger(),
    metrics,
    flowSourceOptions: { pollIntervalMs: 1, maxPollIntervalMs: 1, retryBaseDelayMs: 1 },
    ...options.runtime,
  });
  return {
    runtime,
    tableName,
    logGroup,
    clock,
    metrics,
    env,
    invoke: (event, remainingMs = 300_000) =>
      runtime.handler(event, { getRemainingTimeInMillis: () => remainingMs, awsRequestId: randomUUID() }),
    async items() {
      const all = new Map<string, Record<string, AttributeValue>>();
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await endpoints.dynamoClient.send(
          new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }),
        );
        for (const item of page.Items ?? []) {
          if (bucketOfItem(item) === undefined) all.set(`${item.pk?.S}|${item.sk?.S}`, item);
          else
            for (const [srcIp, stored] of unpackBucketItem(item))
              all.set(`SRC#${srcIp}|BASELINE`, sourceView(stored));
        }
        start = page.LastEvaluatedKey;
      } while (start);
      return new Map([...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    },
  };
}

/** One default-format (v2) flow log record as CloudWatch Logs holds it. */
export function flowRecord(
  startMs: number,
  src: string,
  dst: string,
  options: {
    action?: 'ACCEPT' | 'REJECT';
    dstPort?: number;
    protocol?: number;
    eni?: string;
    status?: 'OK' | 'SKIPDATA' | 'NODATA';
    /** The account-id field. @default ACCOUNT */
    account?: string;
  } = {},
): LogEvent {
  const start = Math.floor(startMs / 1000);
  const status = options.status ?? 'OK';
  const eni =
    options.eni ??
    `eni-0${src
      .replace(/[^0-9]/g, '')
      .padStart(16, '0')
      .slice(-16)}`;
  const account = options.account ?? ACCOUNT;
  const message =
    status === 'OK'
      ? `2 ${account} ${eni} ${src} ${dst} 49152 ${options.dstPort ?? 443} ${options.protocol ?? 6} 3 180 ${start} ${start + 60} ${options.action ?? 'REJECT'} OK`
      : `2 ${account} ${eni} - - - - - - - ${start} ${start + 60} - ${status}`;
  return { timestamp: startMs, message, logStream: `${eni}-all` };
}

/** `count` blocked records from `src` in the window starting at `windowStart`, spread over its minutes. */
export function blocked(
  windowStart: number,
  src: string,
  count: number,
  destinations = 3,
  account = ACCOUNT,
): LogEvent[] {
  return Array.from({ length: count }, (_, i) =>
    flowRecord(windowStart + ((i * 37) % 59) * 60_000 + 1_000, src, `203.0.113.${(i % destinations) + 1}`, {
      dstPort: i % 2 === 0 ? 443 : 8443,
      account,
    }),
  );
}

/** A quiet, varied history: per source 2-7 blocked records an hour for `hours` hours before `until`. */
export function history(
  until: number,
  hours: number,
  sources: readonly string[],
  account = ACCOUNT,
): LogEvent[] {
  const events: LogEvent[] = [];
  for (let h = hours; h >= 1; h -= 1) {
    const windowStart = until - h * HOUR;
    sources.forEach((src, i) =>
      events.push(...blocked(windowStart, src, 2 + ((h * 7 + i * 3) % 6), 3, account)),
    );
  }
  return events;
}

export const numberAttr = (
  item: Record<string, AttributeValue> | undefined,
  name: string,
): number | undefined => (item?.[name]?.N === undefined ? undefined : Number(item[name].N));

/**
 * The same dependencies the handler builds, for tests that must reach inside a run (a crash
 * between two steps): real adapters on the detector's clients, with optional wrappers.
 */
export function runDeps(
  detector: Detector,
  options: {
    dynamoClient?: Pick<DynamoDBClient, 'send'>;
    wrapStore?: (store: DetectorStore) => DetectorStore;
    remainingMs?: number;
    sleep?: (ms: number) => Promise<void>;
  } = {},
): DetectorDeps {
  const { runtime } = detector;
  const now = detector.clock.now;
  const deadline = now() + (options.remainingMs ?? 300_000);
  const fast = () => new Promise<void>((resolve) => setImmediate(resolve));
  const store = new DynamoBaselineStore({
    client: options.dynamoClient ?? runtime.clients.dynamodb,
    tableName: runtime.config.tableName,
    baselineTtlDays: runtime.config.baselineTtlDays,
    deadline,
    now,
    sleep: fast,
  });
  return {
    config: runtime.config.detector,
    source: new LogsInsightsFlowSource({
      client: runtime.clients.logs,
      logGroupIdentifiers: runtime.config.logGroupIdentifiers,
      config: runtime.config.detector,
      now,
      sleep: fast,
      pollIntervalMs: 1,
      maxPollIntervalMs: 1,
    }),
    store: options.wrapStore ? options.wrapStore(store) : store,
    publisher: new SnsAlertPublisher({
      client: runtime.clients.sns,
      topicArn: runtime.config.topicArn,
      format: { region: runtime.config.region, logGroupIdentifiers: runtime.config.logGroupIdentifiers },
    }),
    logger: silentLogger(),
    metrics: detector.metrics,
    now,
    deadline,
    runId: randomUUID(),
    sleep: options.sleep ?? fast,
  };
}

export class InjectedCrash extends Error {
  constructor(where: string) {
    super(`injected crash ${where}`);
    this.name = 'InjectedCrash';
  }
}
