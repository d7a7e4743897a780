/**
 * End to end, the reliability and security contracts: duplicate and concurrent invocations,
 * crashes between the steps of a commit, failed queries and publishes, invalid payloads and
 * query-injection attempts.
 */
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DetectorStore } from '../../lambda/adapters/dynamo-baseline-store';
import { ConfigError } from '../../lambda/core';
import { AlertsNotPublishedError, DryRunWindowError, runDetector } from '../../lambda/detector-run';
import { InvalidPayloadError } from '../../lambda/manual-payload';
import { loadRuntimeConfig } from '../../lambda/runtime-config';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import {
  HOUR,
  InjectedCrash,
  WRITE_OPERATIONS,
  blocked,
  history,
  newDetector,
  numberAttr,
  runDeps,
  startEndpoints,
  type Detector,
  type Endpoints,
  key,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const RUN_AT = '2026-11-27T10:12:00Z'; // W is the latest closed window
const NEW_SOURCE = '10.0.5.5';
const ALERT_ID = `2026-11-27T09:00:00Z/${key(NEW_SOURCE)}`;
const QUIET = Array.from({ length: 40 }, (_, i) => `10.2.${i}.9`);

let endpoints: Endpoints;

beforeAll(async () => {
  endpoints = await startEndpoints();
});

afterAll(async () => {
  await endpoints.stop();
});

beforeEach(() => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

/**
 * 40 quiet sources seen in W-1h and W, and in W a first-seen source with 150 blocked records
 * (a `new-source` alert). W-1h is committed; W is due.
 */
async function detectorWithDueAlert(): Promise<Detector> {
  const detector = await newDetector(endpoints);
  endpoints.logs.seed(detector.logGroup, [
    ...QUIET.flatMap((s, i) => blocked(W - HOUR, s, 1 + (i % 4))),
    ...QUIET.flatMap((s, i) => blocked(W, s, 2 + (i % 3))),
    ...blocked(W, NEW_SOURCE, 150),
  ]);
  detector.clock.set('2026-11-27T09:12:00Z');
  await detector.invoke({});
  detector.clock.set(RUN_AT);
  endpoints.sns.reset();
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  return detector;
}

/** The baseline items, without the bookkeeping that legitimately differs between runs. */
async function baselines(detector: Detector): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [key, item] of await detector.items()) {
    if (key.startsWith('SRC#')) out[key] = item;
  }
  return out;
}

const publishedIds = () =>
  endpoints.sns.published.map((p) => (JSON.parse(p.perProtocol!.sqs!) as PublishedAlert).alertId);

/** A store whose `method` does its work and then the process dies. */
function crashAfter(method: 'commitWindowBaselines', options: { keepLease?: boolean } = {}) {
  return (store: DetectorStore): DetectorStore =>
    new Proxy(store, {
      get(target, property, receiver) {
        if (property === method) {
          return async (...args: Parameters<DetectorStore['commitWindowBaselines']>) => {
            await target.commitWindowBaselines(...args);
            throw new InjectedCrash(`after ${method}`);
          };
        }
        // A killed process releases nothing: the lease stays until it expires.
        if (property === 'releaseLease' && options.keepLease) return async () => undefined;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
}

describe('duplicate invocations', () => {
  it('sequential: the second delivery of the same event folds nothing and alerts nothing', async () => {
    // Prepare
    const detector = await detectorWithDueAlert();
    const event = { id: 'same-event', source: 'aws.events', 'detail-type': 'Scheduled Event' };

    // Act
    const first = await detector.invoke(event);
    const afterFirst = await baselines(detector);
    const second = await detector.invoke(event);

    // Assess
    expect(first).toMatchObject({ windows: ['2026-11-27T09:00:00Z'], alertsDecided: 1, alertsPublished: 1 });
    expect(second).toMatchObject({
      windows: [],
      alertsDecided: 0,
      alertsPublished: 0,
      pendingRepublished: 0,
    });
    expect(publishedIds()).toEqual([ALERT_ID]);
    expect(await baselines(detector)).toEqual(afterFirst);
    expect(numberAttr(afterFirst[`SRC#${key(QUIET[0]!)}|BASELINE`] as never, 'dataPoints')).toBe(2);
  });

  it('concurrent: one invocation holds the lease and does the work, the other does nothing', async () => {
    // Prepare
    const detector = await detectorWithDueAlert();

    // Act
    const summaries = await Promise.all([
      detector.invoke({}),
      detector.invoke({}),
      detector.invoke({ mode: 'detect' }),
    ]);

    // Assess
    const workers = summaries.filter((s) => s.leaseHeld !== true);
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ windows: ['2026-11-27T09:00:00Z'], alertsPublished: 1 });
    expect(
      summaries
        .filter((s) => s.leaseHeld === true)
        .every((s) => s.windows.length === 0 && s.alertsPublished === 0),
    ).toBe(true);
    expect(publishedIds()).toEqual([ALERT_ID]);
    const items = await detector.items();
    expect(numberAttr(items.get(`SRC#${key(QUIET[5]!)}|BASELINE`), 'dataPoints')).toBe(2);
    expect(numberAttr(items.get(`SRC#${key(NEW_SOURCE)}|BASELINE`), 'dataPoints')).toBe(1);
    expect(items.has('LEASE|RUN')).toBe(false);
  });
});

describe('crashes', () => {
  it('after the commit and before publishing: the retry publishes the alert once, with the same alertId', async () => {
    // Prepare
    const detector = await detectorWithDueAlert();

    // Act 1: the run commits W, then dies.
    await expect(
      runDetector(runDeps(detector, { wrapStore: crashAfter('commitWindowBaselines') }), {}),
    ).rejects.toThrow(InjectedCrash);

    // Assess 1
    expect(endpoints.sns.publishCalls).toBe(0);
    let items = await detector.items();
    expect(items.get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('pending');
    expect(numberAttr(items.get('STATE|DETECTOR'), 'watermark')).toBe(W);

    // Act 2: Lambda's retry, then the next hour's run.
    const retry = await detector.invoke({});
    const next = await detector.invoke({});

    // Assess 2
    expect(retry).toMatchObject({ windows: [], pendingRepublished: 1, alertsPublished: 1 });
    expect(next).toMatchObject({ windows: [], pendingRepublished: 0, alertsPublished: 0 });
    expect(publishedIds()).toEqual([ALERT_ID]);
    items = await detector.items();
    expect(items.get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('sent');
  });

  it('killed with the lease held: nothing runs until the lease expires, then the alert goes out once', async () => {
    // Prepare
    const detector = await detectorWithDueAlert();
    await expect(
      runDetector(
        runDeps(detector, {
          wrapStore: crashAfter('commitWindowBaselines', { keepLease: true }),
          remainingMs: 60_000,
        }),
        {},
      ),
    ).rejects.toThrow(InjectedCrash);

    // Act
    const blockedRun = await detector.invoke({});
    detector.clock.set('2026-11-27T10:15:00Z'); // past the 60 s run + 60 s margin
    const afterExpiry = await detector.invoke({});

    // Assess
    expect(blockedRun.leaseHeld).toBe(true);
    expect(detector.metrics.published.at(-2)?.some((m) => m.name === 'RunSucceeded')).toBe(false);
    expect(afterExpiry).toMatchObject({ pendingRepublished: 1, alertsPublished: 1 });
    expect(publishedIds()).toEqual([ALERT_ID]);
  });

  it('half-way through the baseline batches: the retry folds every source exactly once and alerts once', async () => {
    // Prepare: a twin detector that never crashes is the reference.
    const crashed = await detectorWithDueAlert();
    const reference = await detectorWithDueAlert();
    await reference.invoke({});
    const expected = await baselines(reference);
    endpoints.sns.reset();
    // BatchWriteItem calls of the window: 1 = outbox, 2 = baselines 1-25, 3 = baselines 26-41.
    let batchWrites = 0;
    const client = crashed.runtime.clients.dynamodb;
    const dying = {
      send: ((command: Parameters<DynamoDBClient['send']>[0]) => {
        if (command instanceof BatchWriteItemCommand && (batchWrites += 1) === 3)
          throw new InjectedCrash('before the second baseline batch');
        return client.send(command);
      }) as DynamoDBClient['send'],
    };

    // Act
    await expect(runDetector(runDeps(crashed, { dynamoClient: dying }), {})).rejects.toThrow(InjectedCrash);
    const halfway = await baselines(crashed);
    const retry = await crashed.invoke({});

    // Assess
    const foldedBeforeCrash = Object.values(halfway).filter(
      (item) => numberAttr(item as never, 'lastWindow') === W,
    ).length;
    expect(foldedBeforeCrash).toBe(25);
    expect(retry).toMatchObject({
      windows: ['2026-11-27T09:00:00Z'],
      pendingRepublished: 1,
      alertsPublished: 1,
      alertsDecided: 1,
    });
    expect(publishedIds()).toEqual([ALERT_ID]);
    expect(await baselines(crashed)).toEqual(expected);
  });
  it('half-way through a mass spike: the retry sees every source as before the window and decides the same', async () => {
    // Prepare: mature after six windows (minDataPoints 6, bootstrapped: the estimation-adjusted
    // tail rightly distrusts a baseline of one or two windows); in W, 20 of 41 sources spike at once.
    const config = { detectorConfig: { minDataPoints: 6 } };
    const spikers = QUIET.slice(0, 20);
    const historyWindows = [6, 5, 4, 3, 2, 1].map((h) => W - h * HOUR);
    const seed = (detector: Detector) => {
      endpoints.logs.seed(detector.logGroup, [
        ...historyWindows.flatMap((w) =>
          [...QUIET, NEW_SOURCE].flatMap((s, i) => blocked(w, s, 3 + (i % 4))),
        ),
        ...[...QUIET, NEW_SOURCE].flatMap((s, i) => blocked(W, s, spikers.includes(s) ? 200 : 3 + (i % 4))),
      ]);
      detector.clock.set(RUN_AT);
    };
    const reference = await newDetector(endpoints, config);
    const crashed = await newDetector(endpoints, config);
    seed(reference);
    seed(crashed);
    reference.clock.set('2026-11-27T09:12:00Z');
    crashed.clock.set('2026-11-27T09:12:00Z');
    await reference.invoke({ mode: 'bootstrap', days: 1 });
    await crashed.invoke({ mode: 'bootstrap', days: 1 });
    reference.clock.set(RUN_AT);
    crashed.clock.set(RUN_AT);
    const expectedRun = await reference.invoke({});
    const expected = await baselines(reference);
    endpoints.sns.reset();
    let batchWrites = 0;
    const client = crashed.runtime.clients.dynamodb;
    const dying = {
      send: ((command: Parameters<DynamoDBClient['send']>[0]) => {
        if (command instanceof BatchWriteItemCommand && (batchWrites += 1) === 3)
          throw new InjectedCrash('before the second baseline batch');
        return client.send(command);
      }) as DynamoDBClient['send'],
    };

    // Act
    await expect(runDetector(runDeps(crashed, { dynamoClient: dying }), {})).rejects.toThrow(InjectedCrash);
    const halfway = await baselines(crashed);
    const retry = await crashed.invoke({});

    // Assess
    expect(expectedRun).toMatchObject({ spikes: 20, alertsDecided: 1 });
    const spikersFoldedBeforeCrash = spikers.filter(
      (s) => numberAttr(halfway[`SRC#${key(s)}|BASELINE`] as never, 'lastWindow') === W,
    );
    expect(spikersFoldedBeforeCrash.length).toBeGreaterThan(0); // the retry must see these as they were before W
    expect(retry).toMatchObject({ spikes: 20, alertsDecided: 1, alertsPublished: 1, pendingRepublished: 1 });
    expect(publishedIds()).toEqual(['2026-11-27T09:00:00Z/mass-spike']);
    expect(await baselines(crashed)).toEqual(expected);
  });

  it('between the outbox batches (splunk-escu, 30 alerts): the retry publishes every alert exactly once', async () => {
    // Prepare: 30 sources spike in W, so the window's outbox items and their pending markers take
    // three BatchWriteItem calls (25 + 25 + 10), of which the second dies.
    const config = { detectorConfig: { preset: 'splunk-escu' } };
    const spikers = Array.from({ length: 30 }, (_, i) => `10.3.${i}.7`);
    const seed = (detector: Detector) => {
      endpoints.logs.seed(detector.logGroup, [
        ...history(W, 6, [...spikers, ...QUIET.slice(0, 10)]),
        ...spikers.flatMap((s) => blocked(W, s, 200)),
        ...QUIET.slice(0, 10).flatMap((s) => blocked(W, s, 3)),
      ]);
      detector.clock.set('2026-11-27T09:12:00Z');
    };
    const reference = await newDetector(endpoints, config);
    const crashed = await newDetector(endpoints, config);
    seed(reference);
    seed(crashed);
    await reference.invoke({ mode: 'bootstrap', days: 1 });
    await crashed.invoke({ mode: 'bootstrap', days: 1 });
    reference.clock.set(RUN_AT);
    crashed.clock.set(RUN_AT);
    const expectedRun = await reference.invoke({});
    const expectedIds = publishedIds().sort();
    const expected = await baselines(reference);
    endpoints.sns.reset();
    let batchWrites = 0;
    const client = crashed.runtime.clients.dynamodb;
    const dying = {
      send: ((command: Parameters<DynamoDBClient['send']>[0]) => {
        if (command instanceof BatchWriteItemCommand && (batchWrites += 1) === 2)
          throw new InjectedCrash('before the second outbox batch');
        return client.send(command);
      }) as DynamoDBClient['send'],
    };

    // Act
    await expect(runDetector(runDeps(crashed, { dynamoClient: dying }), {})).rejects.toThrow(InjectedCrash);
    const keysAfterCrash = [...(await crashed.items()).keys()];
    const outboxAfterCrash = keysAfterCrash.filter((k) => k.startsWith('OUTBOX|'));
    const pendingAfterCrash = keysAfterCrash.filter((k) => k.startsWith('PENDING|'));
    const retry = await crashed.invoke({});
    const next = await crashed.invoke({});

    // Assess
    expect(expectedRun).toMatchObject({ alertsDecided: 30, alertsPublished: 30 });
    expect(expectedIds).toHaveLength(30);
    // A part of the window's alerts was written, each with or without its marker.
    expect(outboxAfterCrash.length).toBeGreaterThan(0);
    expect(outboxAfterCrash.length).toBeLessThan(30);
    expect(retry).toMatchObject({
      windows: ['2026-11-27T09:00:00Z'],
      pendingRepublished: pendingAfterCrash.length,
      alertsDecided: 30,
    });
    expect(retry.alertsPublished).toBe(30);
    expect(next).toMatchObject({ windows: [], alertsPublished: 0 });
    const ids = publishedIds();
    expect(new Set(ids).size).toBe(ids.length); // nothing published twice
    expect(ids.sort()).toEqual(expectedIds);
    const items = await crashed.items();
    const outbox = [...items].filter(([k]) => k.startsWith('OUTBOX|'));
    expect(outbox).toHaveLength(30);
    expect(outbox.every(([, item]) => item.status?.S === 'sent')).toBe(true);
    expect([...items.keys()].filter((k) => k.startsWith('PENDING|'))).toEqual([]);
    expect(await baselines(crashed)).toEqual(expected);
  });
});

describe('failures', () => {
  it('a publish that fails leaves the committed alert pending; the next run publishes it', async () => {
    // Prepare: InternalError on every attempt the SDK makes.
    const detector = await detectorWithDueAlert();
    endpoints.sns.failNextPublishes(10, 'InternalError');

    // Act
    const failed = detector.invoke({});

    // Assess
    await expect(failed).rejects.toThrow(AlertsNotPublishedError);
    await expect(failed).rejects.toThrow(
      new RegExp(`stay pending in the outbox and will be retried: ${ALERT_ID.replace(/[.|]/g, '\\$&')}`),
    );
    expect(detector.metrics.last('RunSucceeded')).toBeUndefined();
    const items = await detector.items();
    expect(items.get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('pending');
    expect(numberAttr(items.get(`OUTBOX|${ALERT_ID}`), 'attempts')).toBeGreaterThanOrEqual(1);
    endpoints.sns.reset();
    const next = await detector.invoke({});
    expect(next).toMatchObject({ pendingRepublished: 1, alertsPublished: 1 });
    expect(publishedIds()).toEqual([ALERT_ID]);
  });

  it('a details query that fails does not hold the alert back: it goes out without destinations', async () => {
    // Prepare
    const detector = await detectorWithDueAlert();
    const deps = runDeps(detector);
    const source = deps.source;
    deps.source = {
      countWindow: (window, deadline) => source.countWindow(window, deadline),
      history: (from, to, deadline) => source.history(from, to, deadline),
      details: () => Promise.reject(new Error('MalformedQueryException: injected')),
    };

    // Act
    const summary = await runDetector(deps, {});

    // Assess
    expect(summary).toMatchObject({ alertsDecided: 1, alertsPublished: 1 });
    expect(publishedIds()).toEqual([ALERT_ID]);
    const raw = JSON.parse(endpoints.sns.published[0]!.perProtocol!.sqs!) as PublishedAlert;
    expect(raw.details).toBeUndefined();
    expect(raw.blockedCount).toBe(150);
  });

  it.each(['Failed', 'Timeout', 'Cancelled'] as const)(
    'a count query that ends %s fails the run with a clear error and changes no state',
    async (status) => {
      // Prepare
      const detector = await detectorWithDueAlert();
      const before = await detector.items();
      // Every try: the adapter starts a Failed or Timeout query 3 times (a Cancelled one once).
      endpoints.logs.endNextQueriesWith(status, status === 'Cancelled' ? 1 : 3);

      // Act
      const run = detector.invoke({});

      // Assess: nothing changed but the failed attempt, counted towards skipping the window
      await expect(run).rejects.toThrow(
        new RegExp(
          `Logs Insights count query \\S+ for window \\[2026-11-27T09:00:00Z, 2026-11-27T10:00:00Z\\) ended with status ${status}`,
        ),
      );
      const after = await detector.items();
      const { failingWindow, failedAttempts, lastFailure, ...state } = after.get('STATE|DETECTOR')!;
      after.set('STATE|DETECTOR', state);
      expect(after).toEqual(before);
      expect([failingWindow, failedAttempts]).toEqual([{ N: String(W) }, { N: '1' }]);
      expect(lastFailure?.S).toMatch(/^QueryFailedError: /);
      expect(endpoints.sns.publishCalls).toBe(0);
      expect(detector.metrics.last('RunSucceeded')).toBeUndefined();
    },
  );
});

describe('bad input', () => {
  // Rejected payloads change nothing, so the tests can share one detector with a window due.
  let shared: Detector;
  beforeAll(async () => {
    shared = await detectorWithDueAlert();
  });

  it.each([
    [
      { mode: 'dry-run', windowStart: '2026-11-27T09:30:00Z' },
      /payload\.windowStart: must be aligned to 60-minute UTC windows/,
    ],
    [{ mode: 'bootstrap', days: 365 }, /payload\.days/],
    [{ mode: 'detect', force: true }, /Unrecognized key: "force"/],
    [
      { mode: 'dry-run', windowStart: '2026-11-27T09:00:00Z" | filter srcAddr like /./ | display @message' },
      /payload\.windowStart: must be an ISO-8601 time/,
    ],
  ])('rejects the manual payload %j before touching any state', async (event, message) => {
    // Act
    const run = shared.invoke(event);

    // Assess
    await expect(run).rejects.toThrow(InvalidPayloadError);
    await expect(run).rejects.toThrow(message);
    expect(endpoints.dynamo.requests).toHaveLength(0);
    expect(endpoints.logs.queriesStarted).toBe(0);
    expect(endpoints.sns.publishCalls).toBe(0);
  });

  it.each([
    [
      'internalCidrs',
      { internalCidrs: ['10.0.0.0/8") or isPresent(@message) or ("'] },
      /DETECTOR_CONFIG\.internalCidrs\[0\]: invalid CIDR/,
    ],
    [
      'excludeDestinationCidrs',
      { excludeDestinationCidrs: ['0.0.0.0/0 | display @message'] },
      /DETECTOR_CONFIG\.excludeDestinationCidrs\[0\]: invalid CIDR/,
    ],
    [
      'flowLogFormat',
      { flowLogFormat: 'version srcaddr dstaddr action start" | display @message | filter "' },
      /DETECTOR_CONFIG\.flowLogFormat: unknown flow log field/,
    ],
  ])(
    'rejects a query-injection attempt in DETECTOR_CONFIG %s at cold start',
    async (_field, detectorConfig, message) => {
      // Prepare
      const detector = await newDetector(endpoints);

      // Act
      const load = () =>
        loadRuntimeConfig({ ...detector.env, DETECTOR_CONFIG: JSON.stringify(detectorConfig) } as Record<
          string,
          string
        >);

      // Assess
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(message);
      expect(endpoints.logs.callCounts.StartQuery ?? 0).toBe(0);
      expect(endpoints.dynamo.requests).toHaveLength(0);
    },
  );

  it('names every bad environment variable at cold start', () => {
    expect(() =>
      loadRuntimeConfig({
        LOG_GROUP_IDENTIFIERS: '/vpc/flows',
        TOPIC_ARN: 'not-an-arn',
        ENRICH_WITH_EC2: 'yes',
      }),
    ).toThrow(
      /TABLE_NAME: .*\(not set\)[\s\S]*TOPIC_ARN: not an SNS topic ARN \(got "not-an-arn"\)|TOPIC_ARN: not an SNS topic ARN \(got "not-an-arn"\)[\s\S]*TABLE_NAME/,
    );
  });

  it.each(['2026-11-27T08:00:00Z', '2026-11-27T05:00:00Z'])(
    'refuses a dry run of window %s, at or before the watermark, naming the watermark',
    async (windowStart) => {
      // Act: the watermark is W-1h (08:00); sources folded since would come back already folded.
      const before = await shared.items();
      const run = shared.invoke({ mode: 'dry-run', windowStart });

      // Assess
      await expect(run).rejects.toThrow(DryRunWindowError);
      await expect(run).rejects.toThrow(
        `dry-run window ${windowStart} is already committed (watermark 2026-11-27T08:00:00Z); dry-run evaluates windows after the watermark`,
      );
      for (const operation of WRITE_OPERATIONS) expect(endpoints.dynamo.count(operation)).toBe(0);
      expect(endpoints.logs.queriesStarted).toBe(0);
      expect(await shared.items()).toEqual(before);
    },
  );

  it('refuses a dry run of a window that has not closed', async () => {
    await expect(shared.invoke({ mode: 'dry-run', windowStart: '2026-11-27T10:00:00Z' })).rejects.toThrow(
      /dry-run window 2026-11-27T10:00:00Z has not closed yet \(the latest closed window starts 2026-11-27T09:00:00Z\)/,
    );
    for (const operation of WRITE_OPERATIONS) expect(endpoints.dynamo.count(operation)).toBe(0);
  });
});
