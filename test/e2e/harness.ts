/**
 * End-to-end harness: the Lambda runtime exactly as production wires it (`createLambdaRuntime`:
 * config parse, real SDK clients, adapters, the handler's timeout margin, the EC2 enricher, the
 * alert format) against the local DynamoDB (dynalite), Logs Insights and SNS endpoints. The test
 * options are only the endpoints, static credentials, the clock, `sleep`, a silent logger and
 * recording metrics. Every AWS call the runtime makes is recorded (with the clock's time) by a
 * middleware added to its clients, and a test can make a run die at any of them (`invoke(event,
 * { crash })`): the crash tests go through the same handler as everything else.
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
import type { RunLogger, RunMetrics, RunSummary } from '../../lambda/detector-run';
import { bucketOfItem, unpackBucketItem, type StoredBaseline } from '../../lambda/adapters/baseline-buckets';
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

/**
 * The detector's clock. By default it stands at `set()` and moves on with real time, so deadlines
 * and polls behave as in Lambda. A manual clock (`new TestClock({ manual: true })`) does not
 * follow real time at all: it moves only by `advance()` and by the runtime's `sleep`, so a test
 * can assert on time (publish pacing, deadlines) whatever the machine's load.
 */
export class TestClock {
  private base = 0;
  private realStart = Date.now();
  readonly manual: boolean;
  constructor(options: { manual?: boolean } = {}) {
    this.manual = options.manual === true;
  }
  set(iso: string): void {
    const ms = Date.parse(iso);
    if (!Number.isFinite(ms)) throw new RangeError(`TestClock.set: not a time: ${iso}`);
    this.base = ms;
    this.realStart = Date.now();
  }
  /** Moves the clock on by `ms` at once (a sleep that costs no real time). */
  advance(ms: number): void {
    this.base += Math.max(0, ms);
  }
  readonly now = (): number => this.base + (this.manual ? 0 : Date.now() - this.realStart);
}

export interface Endpoints {
  dynamo: LocalDynamoDb;
  logs: LocalLogsInsights;
  sns: LocalSns;
  dynamoClient: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * Starts the local endpoints before a file's tests and stops them after, handing them to `use`:
 * `let endpoints: Endpoints; withEndpoints((started) => (endpoints = started));`
 */
export function withEndpoints(use: (endpoints: Endpoints) => void): void {
  let started: Endpoints | undefined;
  beforeAll(async () => {
    started = await startEndpoints();
    use(started);
  });
  afterAll(async () => {
    await started?.stop();
  });
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

export type AwsService = 'dynamodb' | 'logs' | 'sns' | 'ec2';

/** One call the runtime's SDK clients made (SDK retries are one call). */
export interface AwsCall {
  service: AwsService;
  /** The operation, e.g. `BatchWriteItem`, `StartQuery`, `Publish`. */
  operation: string;
  input: Record<string, unknown>;
  /** The detector's clock when the call went out. */
  at: number;
}

/**
 * Where an invocation dies. `at` picks the fatal call (it sees every call of the invocation in
 * order); with `after` the call reaches its endpoint and is answered first (the work is done, the
 * process dies before it hears back). The run then unwinds through its own error handling, as
 * for any exception; with `killed`, every later AWS call of the invocation fails too, as in a
 * process that is gone (nothing is released: a lease stays until it expires).
 */
export interface CrashPlan {
  at: (call: AwsCall) => boolean;
  after?: boolean;
  killed?: boolean;
}

export interface InvokeOptions {
  /** What `context.getRemainingTimeInMillis()` answers. @default 300000 */
  remainingMs?: number;
  crash?: CrashPlan;
}

export interface Detector {
  runtime: LambdaRuntime;
  tableName: string;
  logGroup: string;
  clock: TestClock;
  metrics: RecordingMetrics;
  env: RuntimeEnvironment;
  /** Every AWS call of the runtime's clients since the detector was made, oldest first. */
  readonly calls: AwsCall[];
  /**
   * Invokes the handler as Lambda does: an event and a context with the time left (a number is
   * `remainingMs`).
   */
  invoke(event: unknown, options?: number | InvokeOptions): Promise<RunSummary>;
  /**
   * Every item of the table, keyed `pk|sk`, with the baseline buckets unpacked into one
   * `SRC#<source key>|BASELINE` entry per source (every field of its baseline: the numbers as
   * numbers, prev, the profile, jobs and slot spread as JSON; expiresAt): the per-source view the
   * tests compare, whichever bucket a source landed in.
   */
  items(): Promise<Map<string, Record<string, AttributeValue>>>;
}

/** One source's baseline entry shaped as the per-source items of the earlier table layout. */
function sourceView({ baseline, prev, expiresAt }: StoredBaseline): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {};
  // Every field: numbers as DynamoDB numbers, the rest (profile, jobs, slot spread, ...) as JSON, so
  // that a test comparing items before and after sees any change to a source's state.
  for (const [name, value] of Object.entries(baseline)) {
    if (typeof value === 'number') item[name] = { N: String(value) };
    else if (value !== undefined) item[name] = { S: JSON.stringify(value) };
  }
  if (prev !== undefined) item.prev = { S: JSON.stringify(prev) };
  item.expiresAt = { N: String(expiresAt) };
  return item;
}

/** The flow log format check (FlowQueryBuilder.formatCheckQuery): a container's first run makes one per part. */
export const isFormatCheck = (query: { queryString: string }): boolean =>
  /\| stats count\(\*\) as notInFormat$/.test(query.queryString);

export const silentLogger = () => new Logger({ serviceName: 'e2e', logLevel: 'SILENT' });

/** A run's warnings as the test reads them: the message and the fields logged with it. */
export interface LoggedWarning {
  message: string;
  extra: Record<string, unknown>;
}

/** A logger that keeps the run's warnings (in `warnings`) and drops the rest. */
export function warningLogger(): { logger: RunLogger; warnings: LoggedWarning[] } {
  const warnings: LoggedWarning[] = [];
  const logger: RunLogger = {
    info: () => undefined,
    error: () => undefined,
    warn: (message, ...extra) =>
      warnings.push({ message, extra: Object.assign({}, ...extra) as Record<string, unknown> }),
    appendKeys: () => undefined,
    removeKeys: () => undefined,
  };
  return { logger, warnings };
}

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: object }) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/**
 * Records each call of `client` and applies the invocation's crash plan. Added before the client
 * sends anything (the runtime's clients cache their resolved middleware per command type).
 */
function watchCalls(
  client: MiddlewareClient,
  service: AwsService,
  clock: TestClock,
  calls: AwsCall[],
  crash: () => { plan: CrashPlan; dead: boolean } | undefined,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const call: AwsCall = {
        service,
        operation: (context.commandName ?? '?').replace(/Command$/, ''),
        input: args.input as Record<string, unknown>,
        at: clock.now(),
      };
      calls.push(call);
      const current = crash();
      if (current === undefined) return next(args);
      if (current.dead) throw new InjectedCrash(`(process gone) at ${service} ${call.operation}`);
      if (!current.plan.at(call)) return next(args);
      if (current.plan.after === true) await next(args);
      current.dead = current.plan.killed === true;
      throw new InjectedCrash(
        `${current.plan.after === true ? 'after' : 'before'} ${service} ${call.operation}`,
      );
    },
    { step: 'initialize', name: 'e2eHarnessCalls' },
  );
}

/** A detector with its own table and log group on the shared endpoints. */
export async function newDetector(
  endpoints: Endpoints,
  options: {
    detectorConfig?: Record<string, unknown>;
    env?: Partial<RuntimeEnvironment>;
    runtime?: LambdaRuntimeOptions;
    /** A clock that moves only by `advance()` and the runtime's sleeps (TestClock). */
    manualClock?: boolean;
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
  const clock = new TestClock({ manual: options.manualClock === true });
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
    // Never waits in real time (one turn of the event loop, so the local endpoints' answers get
    // through); on a manual clock, or with sleepAdvancesClock, moves the clock on by `ms`.
    sleep: (ms) => {
      if (clock.manual || options.sleepAdvancesClock) clock.advance(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
    logger: silentLogger(),
    metrics,
    flowSourceOptions: { pollIntervalMs: 1, maxPollIntervalMs: 1, retryBaseDelayMs: 1 },
    ...options.runtime,
  });
  const calls: AwsCall[] = [];
  let crash: { plan: CrashPlan; dead: boolean } | undefined;
  for (const [service, client] of Object.entries(runtime.clients)) {
    if (client !== undefined)
      watchCalls(client as unknown as MiddlewareClient, service as AwsService, clock, calls, () => crash);
  }
  return {
    runtime,
    tableName,
    logGroup,
    clock,
    metrics,
    env,
    calls,
    async invoke(event, invokeOptions = {}) {
      const { remainingMs = 300_000, crash: plan } =
        typeof invokeOptions === 'number' ? { remainingMs: invokeOptions } : invokeOptions;
      crash = plan === undefined ? undefined : { plan, dead: false };
      try {
        return await runtime.handler(event, {
          getRemainingTimeInMillis: () => remainingMs,
          awsRequestId: randomUUID(),
        });
      } finally {
        crash = undefined;
      }
    },
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
/**
 * Runtime options (newDetector's `runtime`, with `manualClock`) under which each Logs Insights poll
 * takes `pollMs` of test time and no real time, or `slow.pollMs` while the latest query started
 * is one of the window starting `slow.window`: queries as slow as on large groups. `clock` is the
 * detector's (asked at each poll, so it may be set once newDetector returns).
 */
export function timedPolls(
  endpoints: Endpoints,
  clock: () => TestClock,
  pollMs: number,
  slow?: { window: number; pollMs: number },
): LambdaRuntimeOptions {
  return {
    flowSourceOptions: { pollIntervalMs: pollMs, maxPollIntervalMs: pollMs, retryBaseDelayMs: 1 },
    sleep: (ms) => {
      const latest = endpoints.logs.startedQueries.at(-1);
      const slowNow = slow !== undefined && latest?.startTime === slow.window / 1000;
      clock().advance(slowNow ? Math.max(ms, slow.pollMs) : ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}

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

export class InjectedCrash extends Error {
  constructor(where: string) {
    super(`injected crash ${where}`);
    this.name = 'InjectedCrash';
  }
}
