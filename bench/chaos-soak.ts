/**
 * Chaos soak: 520 consecutive hourly runs of the detector (runDetector with the adapters the
 * handler builds, against the local endpoints) under seeded random faults, checked against a
 * fault-free run of the same data through the Lambda handler.
 *
 * Faults, one drawn per scheduled run (seeded), with the SDK's own retries off so that each
 * reaches the adapters: DynamoDB throttling (the run fails), UnprocessedItems / UnprocessedKeys, a Logs Insights query ending Failed or
 * Timeout, Logs Insights throttling, a crash at a random DynamoDB or SNS call (an InjectedCrash;
 * every later call of that run fails too, as in a dead process; half of the crashes that land on
 * a publish happen after SNS accepted it), a duplicate invocation, two concurrent invocations, SNS
 * publish errors. A failed run is not retried on the spot: the next scheduled run catches up, as
 * with Lambda. After the last window, fault-free runs drain what is left.
 *
 * Invariants against the fault-free run: (1) identical baselines (every attribute the engine
 * reads), (2) identical watermark and clock, (3) every alert decided there published here at
 * least once with its alertId, and nothing else, (4) no alert left pending, (5) no alert
 * published twice unless the run that published it failed afterwards (crash after publish, a
 * failure before it was marked sent). Ratio = invariants held / invariants checked.
 *
 * 40 sources (a few more appear as new sources), quiet counts 2-7 an hour, an occasional spike
 * (150-400) in one window of eight, a new source over the threshold every 50 windows and a mass spike at window 300.
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoBaselineStore } from '../lambda/adapters/dynamo-baseline-store';
import { LogsInsightsFlowSource } from '../lambda/adapters/logs-insights-flow-source';
import { SnsAlertPublisher } from '../lambda/adapters/sns-alert-publisher';
import { seededRandom } from '../lambda/core';
import { runDetector, type DetectorDeps } from '../lambda/detector-run';
import {
  blocked,
  HOUR,
  InjectedCrash,
  newDetector,
  startEndpoints,
  type Detector,
  type Endpoints,
} from '../test/e2e/harness';
import type { LogEvent } from '../test/support/local-logs-insights';
import type { BenchResult } from './run';

const WINDOWS = 520;
const BASE_SOURCES = 40;
const T0 = Date.UTC(2026, 0, 5, 0);
const SEED = 20261127;
const runTime = (w: number) => new Date(T0 + (w + 1) * HOUR + 15 * 60_000).toISOString();

const FAULTS = [
  'none',
  'dynamodb-throttling',
  'unprocessed-items',
  'unprocessed-keys',
  'query-failed',
  'query-timeout',
  'logs-throttling',
  'crash',
  'duplicate-invocation',
  'concurrent-invocations',
  'sns-errors',
] as const;
type Fault = (typeof FAULTS)[number];

/** The seeded data: per window, the blocked records of every active source. */
function seedData(): LogEvent[] {
  const random = seededRandom(SEED);
  const sources = Array.from({ length: BASE_SOURCES }, (_, i) => `10.20.${i >> 8}.${i & 255}`);
  const events: LogEvent[] = [];
  for (let w = 0; w < WINDOWS; w += 1) {
    const windowStart = T0 + w * HOUR;
    if (w > 0 && w % 50 === 0) {
      // A new source over the new-source threshold (100): an alert, then a regular.
      const src = `10.30.0.${w / 50}`;
      sources.push(src);
      events.push(...blocked(windowStart, src, 120));
      continue;
    }
    const spiking = random() < 1 / 8 ? Math.floor(random() * sources.length) : -1;
    sources.forEach((src, i) => {
      let count = 2 + Math.floor(random() * 6);
      if (i === spiking) count = 150 + Math.floor(random() * 250);
      if (w === 300 && i < 12) count = 200; // mass spike: 12 of the ~45 mature sources at once
      events.push(...blocked(windowStart, src, count));
    });
  }
  return events;
}

/** Crashes the run at its `crashAt`-th DynamoDB/SNS call; every later call fails too. */
class CrashPlan {
  calls = 0;
  crashed = false;
  constructor(
    readonly crashAt: number | undefined,
    readonly afterPublish: boolean,
  ) {}
}

interface RunRecord {
  published: string[];
}

function alertIdOf(input: unknown): string {
  const message = (input as { Message?: string }).Message ?? '{}';
  const perProtocol = JSON.parse(message) as { sqs?: string };
  return (JSON.parse(perProtocol.sqs ?? '{}') as { alertId?: string }).alertId ?? '?';
}

function wrapDynamo(client: DynamoDBClient, plan: CrashPlan): Pick<DynamoDBClient, 'send'> {
  return {
    send: (async (command: Parameters<DynamoDBClient['send']>[0]) => {
      plan.calls += 1;
      if (plan.crashed || plan.calls === plan.crashAt) {
        plan.crashed = true;
        throw new InjectedCrash(`at call ${plan.calls} (${command.constructor.name})`);
      }
      return client.send(command);
    }) as DynamoDBClient['send'],
  };
}

function wrapSns(client: SNSClient, plan: CrashPlan, record: RunRecord): Pick<SNSClient, 'send'> {
  return {
    send: (async (command: Parameters<SNSClient['send']>[0]) => {
      plan.calls += 1;
      if (plan.crashed) throw new InjectedCrash('after an earlier crash');
      const crashNow = plan.calls === plan.crashAt;
      if (crashNow && !plan.afterPublish) {
        plan.crashed = true;
        throw new InjectedCrash(`before publish (call ${plan.calls})`);
      }
      const output = await client.send(command);
      record.published.push(alertIdOf(command.input));
      if (crashNow) {
        plan.crashed = true;
        throw new InjectedCrash(`after publish (call ${plan.calls})`);
      }
      return output;
    }) as SNSClient['send'],
  };
}

interface Clients {
  logs: CloudWatchLogsClient;
  dynamodb: DynamoDBClient;
  sns: SNSClient;
}

function chaosDeps(detector: Detector, clients: Clients, plan: CrashPlan, record: RunRecord): DetectorDeps {
  const { runtime } = detector;
  const now = detector.clock.now;
  const deadline = now() + 300_000;
  const fast = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    config: runtime.config.detector,
    source: new LogsInsightsFlowSource({
      client: clients.logs,
      logGroupIdentifiers: runtime.config.logGroupIdentifiers,
      config: runtime.config.detector,
      now,
      sleep: fast,
      pollIntervalMs: 1,
      maxPollIntervalMs: 1,
      retryBaseDelayMs: 1,
    }),
    store: new DynamoBaselineStore({
      client: wrapDynamo(clients.dynamodb, plan),
      tableName: runtime.config.tableName,
      baselineTtlDays: runtime.config.baselineTtlDays,
      deadline,
      now,
      sleep: fast,
    }),
    publisher: new SnsAlertPublisher({
      client: wrapSns(clients.sns, plan, record),
      topicArn: runtime.config.topicArn,
      format: { region: runtime.config.region, logGroupIdentifiers: runtime.config.logGroupIdentifiers },
    }),
    logger: new Logger({ serviceName: 'chaos', logLevel: 'SILENT' }),
    metrics: detector.metrics,
    now,
    deadline,
    runId: randomUUID(),
  };
}

/** What the comparison reads from a table: baselines and state, attribute by attribute. */
async function tableState(detector: Detector): Promise<{
  baselines: Map<string, string>;
  state: string;
  outbox: Map<string, string>;
}> {
  const items = await detector.items();
  const baselines = new Map<string, string>();
  const outbox = new Map<string, string>();
  let state = '';
  // Every stored field of a source but its expiry (the runs' clocks differ): the
  // numbers, its previous window and the rhythm (profile, jobs, slot spread) as JSON.
  const stateOf = (item: Record<string, AttributeValue>): string =>
    Object.keys(item)
      .filter((name) => name !== 'expiresAt')
      .sort()
      .map((name) => `${name}=${item[name]?.N ?? item[name]?.S ?? '-'}`)
      .join(' ');
  for (const [key, item] of items) {
    if (key.startsWith('SRC#')) baselines.set(key, stateOf(item));
    else if (key.startsWith('STATE|')) state = `watermark=${item.watermark?.N} clock=${item.clock?.N}`;
    else if (key.startsWith('OUTBOX|')) outbox.set(key.slice('OUTBOX|'.length), item.status?.S ?? '?');
  }
  return { baselines, state, outbox };
}

export async function run(): Promise<BenchResult> {
  // The SDK's notice that it will require Node 22 next year would only add noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const events = seedData();
  const [refEndpoints, chaosEndpoints]: [Endpoints, Endpoints] = await Promise.all([
    startEndpoints(),
    startEndpoints(),
  ]);
  try {
    // Fault-free reference, through the handler, alongside the chaos runs (both mostly wait on I/O).
    const reference = await newDetector(refEndpoints);
    refEndpoints.logs.seed(reference.logGroup, events);
    const referenceDone = (async () => {
      const started = Date.now();
      for (let w = 0; w < WINDOWS; w += 1) {
        reference.clock.set(runTime(w));
        await reference.invoke({});
      }
      return (Date.now() - started) / 1000;
    })();

    // The same data under faults.
    const chaos = await newDetector(chaosEndpoints);
    chaosEndpoints.logs.seed(chaos.logGroup, events);
    // SDK retries off: every injected error reaches the adapters (which retry throttling and
    // unprocessed items themselves) or fails the run, and no SDK backoff slows the soak down.
    const clients: Clients = {
      logs: new CloudWatchLogsClient({ ...chaosEndpoints.logs.clientConfig(), maxAttempts: 1 }),
      dynamodb: new DynamoDBClient({ ...chaosEndpoints.dynamo.clientConfig(), maxAttempts: 1 }),
      sns: new SNSClient({ ...chaosEndpoints.sns.clientConfig(), maxAttempts: 1 }),
    };
    const random = seededRandom(SEED + 1);
    const injected = new Map<Fault, number>(FAULTS.map((f) => [f, 0]));
    const published: string[] = [];
    const exposed = new Set<string>(); // published by a run that then failed: may go out again
    let failedRuns = 0;
    let runs = 0;
    const invokeOnce = async (plan: CrashPlan): Promise<void> => {
      const record: RunRecord = { published: [] };
      runs += 1;
      try {
        await runDetector(chaosDeps(chaos, clients, plan, record), {});
      } catch {
        failedRuns += 1;
        for (const id of record.published) exposed.add(id);
      } finally {
        published.push(...record.published);
      }
    };
    const d = chaosEndpoints;
    for (let w = 0; w < WINDOWS; w += 1) {
      chaos.clock.set(runTime(w));
      const fault = w < 3 ? 'none' : (FAULTS[Math.floor(random() * FAULTS.length)] ?? 'none');
      injected.set(fault, (injected.get(fault) ?? 0) + 1);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const upTo = (n: number) => 1 + Math.floor(random() * n);
      let plan = new CrashPlan(undefined, false);
      switch (fault) {
        case 'dynamodb-throttling':
          d.dynamo.injectThrottling(
            pick(['BatchGetItem', 'BatchWriteItem', 'GetItem', 'Query', 'UpdateItem', 'PutItem']),
            upTo(2),
            pick(['ProvisionedThroughputExceededException', 'ThrottlingException'] as const),
          );
          break;
        case 'unprocessed-items':
          d.dynamo.injectUnprocessedItems(upTo(3));
          break;
        case 'unprocessed-keys':
          d.dynamo.injectUnprocessedKeys(upTo(3));
          break;
        case 'query-failed':
          d.logs.endNextQueriesWith('Failed', 1);
          break;
        case 'query-timeout':
          d.logs.endNextQueriesWith('Timeout', 1);
          break;
        case 'logs-throttling':
          d.logs.injectErrors(
            pick(['StartQuery', 'GetQueryResults'] as const),
            pick(['ThrottlingException', 'LimitExceededException'] as const),
            upTo(3),
          );
          break;
        case 'crash':
          plan = new CrashPlan(upTo(16), random() < 0.5);
          break;
        case 'sns-errors':
          d.sns.failNextPublishes(upTo(4), pick(['InternalError', 'Throttled'] as const));
          break;
        default:
          break;
      }
      if (fault === 'concurrent-invocations') {
        await Promise.all([
          invokeOnce(new CrashPlan(undefined, false)),
          invokeOnce(new CrashPlan(undefined, false)),
        ]);
      } else {
        await invokeOnce(plan);
        if (fault === 'duplicate-invocation') await invokeOnce(new CrashPlan(undefined, false));
      }
      // Injections not consumed by this run do not leak into the next one.
      d.dynamo.resetCounters();
      d.logs.resetCounters();
      d.sns.reset(); // (published alerts are recorded by the wrapped client, not read from here)
    }
    // Drain: fault-free runs later in the last hour (past any crashed run's lease) until caught up.
    const last = Date.parse(runTime(WINDOWS - 1));
    for (let k = 1; k <= 6; k += 1) {
      chaos.clock.set(new Date(last + k * 7 * 60_000).toISOString());
      await invokeOnce(new CrashPlan(undefined, false));
    }

    const refSeconds = await referenceDone;
    const refPublished = refEndpoints.sns.published.map((p) => alertIdOf({ Message: p.message }));
    for (const client of Object.values(clients)) client.destroy();

    // Invariants.
    const [ref, got] = await Promise.all([tableState(reference), tableState(chaos)]);
    const baselineDiffs = [...new Set([...ref.baselines.keys(), ...got.baselines.keys()])].filter(
      (k) => ref.baselines.get(k) !== got.baselines.get(k),
    );
    const refIds = new Set(refPublished);
    const gotIds = new Set(published);
    const missing = [...refIds].filter((id) => !gotIds.has(id));
    const unexpected = [...gotIds].filter((id) => !refIds.has(id));
    const pending = [...got.outbox].filter(([, status]) => status !== 'sent').map(([id]) => id);
    const times = new Map<string, number>();
    for (const id of published) times.set(id, (times.get(id) ?? 0) + 1);
    const duplicates = [...times].filter(([, n]) => n > 1).map(([id]) => id);
    const unexplained = duplicates.filter((id) => !exposed.has(id));
    const invariants: [string, boolean, string][] = [
      [
        'baselines identical',
        baselineDiffs.length === 0,
        `${ref.baselines.size} sources, ${baselineDiffs.length} differ`,
      ],
      [
        'watermark and clock identical',
        ref.state === got.state && ref.state !== '',
        `${got.state} vs ${ref.state}`,
      ],
      [
        'every decided alert published, with its alertId',
        missing.length === 0 && unexpected.length === 0 && refIds.size === refPublished.length,
        `${refIds.size} decided, ${missing.length} missing, ${unexpected.length} unexpected`,
      ],
      ['no alert left pending', pending.length === 0, `${pending.length} pending`],
      [
        'no duplicate publish but after a failed run',
        unexplained.length === 0,
        `${duplicates.length} published twice or more, ${unexplained.length} unexplained`,
      ],
    ];
    const faults = [...injected].filter(([f]) => f !== 'none');
    const faultCount = faults.reduce((sum, [, n]) => sum + n, 0);
    console.log(`reference: ${WINDOWS} windows in ${refSeconds.toFixed(1)} s, ${refPublished.length} alerts`);
    console.log(`faults injected: ${faults.map(([f, n]) => `${f} ${n}`).join(', ')}`);
    console.log(`chaos runs: ${runs} (${failedRuns} failed and were caught up by a later run)`);
    for (const [name, held, detail] of invariants)
      console.log(`  ${held ? 'held  ' : 'BROKEN'} ${name}: ${detail}`);
    if (baselineDiffs.length > 0) {
      for (const k of baselineDiffs.slice(0, 3))
        console.log(`    ${k}: ${got.baselines.get(k)} vs reference ${ref.baselines.get(k)}`);
    }
    if (missing.length + unexpected.length + unexplained.length > 0) {
      console.log(
        `    missing ${missing.slice(0, 5).join(', ')}; unexpected ${unexpected.slice(0, 5).join(', ')}; unexplained ${unexplained.slice(0, 5).join(', ')}`,
      );
    }
    const held = invariants.filter(([, ok]) => ok).length;
    return {
      name: 'chaos-soak',
      summary:
        `${WINDOWS} windows, ${faultCount} faults injected, ${runs} runs (${failedRuns} failed, caught up), ` +
        `${refIds.size} alerts, ${duplicates.length} duplicate publishes (all after a failed run: ${unexplained.length === 0}); ` +
        `invariants held ${held}/${invariants.length}; ratio = invariants held / checked`,
      ratio: held / invariants.length,
    };
  } finally {
    await Promise.all([refEndpoints.stop(), chaosEndpoints.stop()]);
  }
}
