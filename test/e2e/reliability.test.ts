/**
 * End to end, the reliability and security contracts: duplicate and concurrent invocations,
 * crashes between the steps of a commit, failed queries and publishes, invalid payloads and
 * query-injection attempts.
 */
import { QueryInjectionError } from '../../lambda/adapters/errors';
import { ConfigError, type DetectorConfig } from '../../lambda/core';
import { createLambdaRuntime } from '../../lambda/lambda-runtime';
import { AlertsNotPublishedError, DryRunWindowError, LeaseHeldError } from '../../lambda/detector-run';
import { InvalidPayloadError } from '../../lambda/manual-payload';
import { loadRuntimeConfig } from '../../lambda/runtime-config';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import {
  CREDENTIALS,
  HOUR,
  InjectedCrash,
  WRITE_OPERATIONS,
  blocked,
  history,
  newDetector,
  numberAttr,
  silentLogger,
  withEndpoints,
  type AwsCall,
  type CrashPlan,
  type Detector,
  type Endpoints,
  key,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const RUN_AT = '2026-11-27T10:12:00Z'; // W is the latest closed window
const NEW_SOURCE = '10.0.5.5';
const ALERT_ID = `2026-11-27T09:00:00Z/${key(NEW_SOURCE)}`;
const QUIET = Array.from({ length: 40 }, (_, i) => `10.2.${i}.9`);
/** The details query (`stats count(*) as n by flowSrcAddr, flowDstAddr, ...`), not the count query. */
const DETAILS_QUERY = /\| stats count\(\*\) as n by /;

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

beforeEach(() => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

/** The records of window W (the quiet sources and the new one). */
const IN_W = [...QUIET.flatMap((s, i) => blocked(W, s, 2 + (i % 3))), ...blocked(W, NEW_SOURCE, 150)];
/**
 * 40 quiet sources seen in W-1h and W, and in W a first-seen source with 150 blocked records
 * (a `new-source` alert). W-1h is committed; W is due.
 */
async function detectorWithDueAlert(detectorConfig?: Record<string, unknown>): Promise<Detector> {
  const detector = await newDetector(endpoints, { detectorConfig });
  endpoints.logs.seed(detector.logGroup, [
    ...QUIET.flatMap((s, i) => blocked(W - HOUR, s, 1 + (i % 4))),
    ...IN_W,
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

/** The watermark update, the last write of a window's commit. */
const isWatermarkUpdate = (call: AwsCall) =>
  call.service === 'dynamodb' &&
  call.operation === 'UpdateItem' &&
  (call.input.Key as { pk?: { S?: string } } | undefined)?.pk?.S === 'STATE' &&
  String(call.input.UpdateExpression).startsWith('SET watermark');

/** The run dies once its commit (outbox, baselines, watermark) is done, before it publishes. */
const crashAfterCommit = (options: { killed?: boolean } = {}): CrashPlan => ({
  at: isWatermarkUpdate,
  after: true,
  ...options,
});

/** The run dies as its `n`-th BatchWriteItem call goes out (that batch is not written). */
function crashAtBatchWrite(n: number): CrashPlan {
  let batchWrites = 0;
  return {
    at: (call) =>
      call.service === 'dynamodb' && call.operation === 'BatchWriteItem' && (batchWrites += 1) === n,
  };
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
    await expect(detector.invoke({}, { crash: crashAfterCommit() })).rejects.toThrow(InjectedCrash);

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
      detector.invoke({}, { crash: crashAfterCommit({ killed: true }), remainingMs: 60_000 }),
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

  /** A detector six windows behind (one a run) whose next scheduled run was killed holding the lease. */
  async function behindWithLeaseHeld(): Promise<Detector> {
    const detector = await newDetector(endpoints, { detectorConfig: { maxCatchUpWindows: 1 } });
    endpoints.logs.seed(detector.logGroup, blocked(W - 6 * HOUR, '10.0.0.9', 3));
    detector.clock.set('2026-11-27T04:12:00Z');
    await detector.invoke({}); // the first window: watermark 03:00
    detector.clock.set(RUN_AT); // 04:00 to 09:00 due, one a run
    let queries = 0;
    await expect(
      detector.invoke(
        {},
        {
          crash: { at: (c) => c.service === 'logs' && (queries += 1) === 1, killed: true },
          remainingMs: 600_000,
        },
      ),
    ).rejects.toThrow(InjectedCrash);
    return detector;
  }

  it('a scheduled run that finds the lease held reports no window figures: its zeros would silence FallingBehind', async () => {
    // Prepare
    const detector = await behindWithLeaseHeld();

    // Act
    const held = await detector.invoke({});

    // Assess: it looked at nothing, so it says nothing of the backlog (FallingBehind alarms on
    // the minimum of WindowsBehind: one zero a period would keep it quiet while runs overlap)
    expect(held.leaseHeld).toBe(true);
    const names = detector.metrics.published.at(-1)!.map((m) => m.name);
    for (const name of ['WindowsBehind', 'WindowsCaughtUp', 'SourcesEvaluated', 'Spikes', 'RunSucceeded'])
      expect(names).not.toContain(name);
  });

  it.each([
    [{ mode: 'skip', windowStart: '2026-11-27T04:00:00Z' }],
    [{ mode: 'bootstrap', days: 1, overwrite: true }],
  ])(
    'a manual %j that finds the lease held fails with LeaseHeldError and changes nothing',
    async (payload) => {
      // Prepare
      const detector = await behindWithLeaseHeld();
      const before = await detector.items();

      // Act
      const run = detector.invoke(payload);

      // Assess: an error a script sees (not a success that did nothing), and no state touched
      await expect(run).rejects.toThrow(LeaseHeldError);
      await expect(run).rejects.toThrow(
        new RegExp(`^${payload.mode}: the detector's lease is held .*nothing was done`),
      );
      expect(await detector.items()).toEqual(before);
    },
  );

  it('a manual republish-parked that finds the lease held sends nothing and leaves the parked alert parked', async () => {
    // Prepare: an alert SNS refused is parked; then a run dies holding the lease
    const detector = await detectorWithDueAlert({ maxAlertRefusals: 1 });
    endpoints.sns.failNextPublishes(1_000, 'AuthorizationError');
    expect((await detector.invoke({})).alertsParked).toBe(1);
    detector.clock.set('2026-11-27T11:12:00Z');
    await expect(
      detector.invoke({}, { crash: { at: (c) => c.service === 'logs', killed: true }, remainingMs: 600_000 }),
    ).rejects.toThrow(InjectedCrash);
    endpoints.sns.reset(); // the topic's policy mended
    const before = await detector.items();
    expect(before.get(`PARKED|${ALERT_ID}`)?.status?.S).toBe('parked');

    // Act
    const run = detector.invoke({ mode: 'republish-parked' });

    // Assess: refused, nothing published, the alert still parked
    await expect(run).rejects.toThrow(LeaseHeldError);
    expect(endpoints.sns.publishCalls).toBe(0);
    expect(await detector.items()).toEqual(before);
  });

  it('after publishing and before marking it sent: the retry publishes the same alert once more, then never again', async () => {
    // Prepare: the process dies at its first DynamoDB call after the publish (markSent's read).
    const detector = await detectorWithDueAlert();
    let publishedYet = false;
    const crash: CrashPlan = {
      at: (call) => {
        if (call.operation === 'Publish') publishedYet = true;
        return publishedYet && call.service === 'dynamodb';
      },
      killed: true,
    };

    // Act 1
    await expect(detector.invoke({}, { crash, remainingMs: 60_000 })).rejects.toThrow(InjectedCrash);

    // Assess 1: out, but still pending in the outbox.
    expect(publishedIds()).toEqual([ALERT_ID]);
    expect((await detector.items()).get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('pending');

    // Act 2: the next runs, once the dead run's lease has expired.
    detector.clock.set('2026-11-27T10:15:00Z');
    const retry = await detector.invoke({});
    const next = await detector.invoke({});

    // Assess 2: at least once, never more than once after a run that finished.
    expect(retry).toMatchObject({ windows: [], pendingRepublished: 1, alertsPublished: 1 });
    expect(next).toMatchObject({ windows: [], pendingRepublished: 0, alertsPublished: 0 });
    expect(publishedIds()).toEqual([ALERT_ID, ALERT_ID]);
    const [first, again] = endpoints.sns.published;
    expect(again!.perProtocol).toEqual(first!.perProtocol);
    expect((await detector.items()).get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('sent');
  });

  it('half-way through the baseline batches: the retry folds every source exactly once and alerts once', async () => {
    // Prepare: a twin detector that never crashes is the reference.
    const crashed = await detectorWithDueAlert();
    const reference = await detectorWithDueAlert();
    await reference.invoke({});
    const expected = await baselines(reference);
    endpoints.sns.reset();

    // Act: BatchWriteItem calls of the window: 1 = pending markers, 2 = outbox, 3 = baselines
    // 1-25, 4 = baselines 26-41; the run dies before the fourth.
    await expect(crashed.invoke({}, { crash: crashAtBatchWrite(4) })).rejects.toThrow(InjectedCrash);
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
  it("half-way through the baseline batches, then a pending publish fails: the window's retry sends it, and the run succeeds", async () => {
    // Prepare: the run dies after the outbox batch; in the next run the pending phase's publish
    // fails on each of the SDK's tries, the window's own retry publishes the alert
    const crashed = await detectorWithDueAlert();
    await expect(crashed.invoke({}, { crash: crashAtBatchWrite(3) })).rejects.toThrow(InjectedCrash);
    endpoints.sns.reset();
    endpoints.sns.failNextPublishes(3, 'InternalError');

    // Act
    const retry = await crashed.invoke({});

    // Assess: sent once, marked sent, and no "stays pending" failure for it
    expect(retry).toMatchObject({ windows: ['2026-11-27T09:00:00Z'], alertsPublished: 1 });
    expect(publishedIds()).toEqual([ALERT_ID]);
    expect((await crashed.items()).get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('sent');
    expect(crashed.metrics.last('RunSucceeded')).toBe(1);
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

    // Act: the run dies before its second baseline batch (after the marker and outbox batches).
    await expect(crashed.invoke({}, { crash: crashAtBatchWrite(4) })).rejects.toThrow(InjectedCrash);
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
    // Prepare: 30 sources spike in W, so the window's pending markers take two BatchWriteItem
    // calls (25 + 5), then its outbox items two more, of which the second dies.
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

    // Act: the run dies before its second outbox batch.
    await expect(crashed.invoke({}, { crash: crashAtBatchWrite(4) })).rejects.toThrow(InjectedCrash);
    const keysAfterCrash = [...(await crashed.items()).keys()];
    const outboxAfterCrash = keysAfterCrash.filter((k) => k.startsWith('OUTBOX|'));
    const pendingAfterCrash = keysAfterCrash.filter((k) => k.startsWith('PENDING|'));
    const retry = await crashed.invoke({});
    const next = await crashed.invoke({});

    // Assess
    expect(expectedRun).toMatchObject({ alertsDecided: 30, alertsPublished: 30 });
    expect(expectedIds).toHaveLength(30);
    // A part of the window's alerts was written, each with its marker.
    expect(outboxAfterCrash.length).toBeGreaterThan(0);
    expect(outboxAfterCrash.length).toBeLessThan(30);
    expect(pendingAfterCrash).toHaveLength(30);
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

  it.each([1, 2, 3, 4])(
    'a crash at outbox batch %i, then the window skipped: every alert written goes out, none stays pending',
    async (crashAt) => {
      // Prepare: 30 spikes in W (markers in two BatchWriteItem calls, outbox items in two more,
      // several at once); the run dies at one of them, and the operator then skips W.
      const spikers = Array.from({ length: 30 }, (_, i) => `10.3.${i}.7`);
      const detector = await newDetector(endpoints, { detectorConfig: { preset: 'splunk-escu' } });
      endpoints.logs.seed(detector.logGroup, [
        ...history(W, 6, [...spikers, ...QUIET.slice(0, 10)]),
        ...spikers.flatMap((s) => blocked(W, s, 200)),
        ...QUIET.slice(0, 10).flatMap((s) => blocked(W, s, 3)),
      ]);
      detector.clock.set('2026-11-27T09:12:00Z');
      await detector.invoke({ mode: 'bootstrap', days: 1 });
      detector.clock.set(RUN_AT);
      endpoints.sns.reset();

      // Act
      await expect(detector.invoke({}, { crash: crashAtBatchWrite(crashAt) })).rejects.toThrow(InjectedCrash);
      const written = new Set(
        [...(await detector.items()).keys()]
          .filter((k) => k.startsWith('OUTBOX|') || k.startsWith('PENDING|'))
          .map((k) => k.slice(k.indexOf('|') + 1)),
      );
      const skip = await detector.invoke({ mode: 'skip', windowStart: '2026-11-27T09:00:00Z' });
      detector.clock.set('2026-11-27T11:12:00Z');
      await detector.invoke({});
      detector.clock.set('2026-11-27T12:12:00Z');
      await detector.invoke({});

      // Assess: what reached DynamoDB (an outbox item or its marker) went out, once; nothing is
      // left pending where no run would read it.
      expect(skip.skippedWindows).toEqual(['2026-11-27T09:00:00Z']);
      const ids = publishedIds();
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual([...written].sort());
      const items = await detector.items();
      const stillPending = [...items]
        .filter(([k, item]) => k.startsWith('OUTBOX|') && item.status?.S === 'pending')
        .map(([k]) => k);
      expect(stillPending).toEqual([]);
      expect([...items.keys()].filter((k) => k.startsWith('PENDING|'))).toEqual([]);
    },
  );

  /** A detector on a manual clock whose window W has 300 spikes (splunk-escu): 30 s of publishing at 10 a second. */
  async function detectorWithManyAlerts(): Promise<Detector> {
    const spikers = Array.from({ length: 300 }, (_, i) => `10.3.${Math.floor(i / 200)}.${(i % 200) + 1}`);
    const detector = await newDetector(endpoints, {
      detectorConfig: { preset: 'splunk-escu' },
      manualClock: true,
    });
    endpoints.logs.seed(detector.logGroup, [
      ...history(W, 6, spikers),
      ...spikers.flatMap((s) => blocked(W, s, 200)),
    ]);
    detector.clock.set('2026-11-27T09:12:00Z');
    await detector.invoke({ mode: 'bootstrap', days: 1 });
    detector.clock.set(RUN_AT);
    endpoints.sns.reset();
    return detector;
  }

  it('more alerts than the time left: publishing stops at the deadline, the rest stay pending, the next run sends them, none twice', async () => {
    // Prepare: Lambda says 25 s are left (the run's deadline is 5 s before that).
    const detector = await detectorWithManyAlerts();

    // Act
    const first = await detector.invoke({}, { remainingMs: 25_000 });
    const publishedFirst = publishedIds().length;
    const pendingAfterFirst = [...(await detector.items()).keys()].filter((k) => k.startsWith('PENDING|'));
    detector.clock.set('2026-11-27T11:12:00Z');
    const second = await detector.invoke({});

    // Assess
    expect(first.alertsDecided).toBe(300);
    expect(first.alertsPublished).toBe(publishedFirst);
    expect(publishedFirst).toBeGreaterThan(100);
    expect(publishedFirst).toBeLessThan(300);
    expect(first.alertsDeferred).toBe(300 - publishedFirst);
    expect(pendingAfterFirst).toHaveLength(300 - publishedFirst);
    expect(second.pendingRepublished).toBe(300 - publishedFirst);
    expect(second.alertsDeferred).toBeUndefined();
    const ids = publishedIds();
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    expect([...(await detector.items()).keys()].filter((k) => k.startsWith('PENDING|'))).toEqual([]);
  });

  it('a backlog of pending alerts leaves the due window the time a window needs; the rest wait for the next run', async () => {
    // Prepare: 300 alerts left pending (the first run died after its commit, before publishing),
    // then the next hour's run with a minute left: all 300 at 10 a second would take 30 s of it.
    const detector = await detectorWithManyAlerts();
    await expect(detector.invoke({}, { crash: crashAfterCommit() })).rejects.toThrow(InjectedCrash);
    expect(endpoints.sns.publishCalls).toBe(0);
    detector.clock.set('2026-11-27T11:12:00Z');
    const start = detector.clock.now();
    let windowStartedAt: number | undefined;

    // Act: Lambda says 65 s are left (the run's deadline is 60 s away)
    const second = await detector.invoke(
      {},
      {
        remainingMs: 65_000,
        crash: {
          at: (call) => {
            if (windowStartedAt === undefined && call.operation === 'StartQuery') windowStartedAt = call.at;
            return false;
          },
        },
      },
    );

    // Assess: the pending phase stopped 45 s before the deadline; the window was evaluated
    expect(second.pendingRepublished).toBeGreaterThan(100);
    expect(second.pendingRepublished).toBeLessThan(300);
    expect(second.alertsDeferred).toBe(300 - second.pendingRepublished);
    expect(windowStartedAt! - start).toBeLessThanOrEqual(15_000 + 1_000);
    expect(second.windows).toEqual(['2026-11-27T10:00:00Z']);
    expect(second.skippedWindows).toEqual([]);
  });

  it('killed by the timeout while publishing: the retry republishes at most the one burst not yet marked sent', async () => {
    // Prepare
    const detector = await detectorWithManyAlerts();
    const start = detector.clock.now();

    // Act: the process dies 12 s into the run, in the middle of publishing.
    await expect(
      detector.invoke({}, { crash: { at: (call) => call.at >= start + 12_000, killed: true } }),
    ).rejects.toThrow(InjectedCrash);
    const publishedBeforeKill = publishedIds().length;
    detector.clock.set('2026-11-27T11:12:00Z');
    await detector.invoke({});

    // Assess
    expect(publishedBeforeKill).toBeGreaterThan(50);
    const ids = publishedIds();
    expect(new Set(ids).size).toBe(300);
    expect(ids.length - 300).toBeLessThanOrEqual(10);
  });
});

describe('failures', () => {
  it('starts no query once the run has no time left for one: a failed attempt, then the skip, as a query stopped at once was', async () => {
    // Prepare: 20 s left each run, so the queries' deadline (less the commit's reserve and the
    // safety margin) has passed when the count query is due (the review of this change)
    const detector = await detectorWithDueAlert({ maxWindowAttempts: 2 });
    const from = detector.calls.length;

    // Act
    const first = detector.invoke({}, { remainingMs: 20_000 });
    await expect(first).rejects.toThrow(
      /^Logs Insights count query for window .* was not started: the deadline .* had passed$/,
    );
    const second = await detector.invoke({}, { remainingMs: 20_000 });

    // Assess: the window failed its two attempts and was skipped, with no query started (and
    // billed) only to be stopped
    expect(second.skippedWindows).toEqual(['2026-11-27T09:00:00Z']);
    expect(detector.calls.slice(from).filter((c) => c.service === 'logs')).toEqual([]);
  });

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

  it('an alert SNS refuses in maxAlertRefusals runs is parked: runs succeed again, the metric counts it, and republish-parked sends it once mended', async () => {
    // Prepare: the topic's policy denies every publish (AuthorizationError, HTTP 403).
    const detector = await detectorWithDueAlert({ maxAlertRefusals: 2 });
    endpoints.sns.failNextPublishes(1_000, 'AuthorizationError');
    const runsBefore = detector.metrics.published.length;
    const metricOfRuns = (name: string) =>
      detector.metrics.published.slice(runsBefore).map((run) => run.find((m) => m.name === name)?.value);

    // Act: two runs are refused; the third finds nothing pending.
    await expect(detector.invoke({})).rejects.toThrow(AlertsNotPublishedError);
    const pendingAfterFirst = (await detector.items()).get(`PENDING|${ALERT_ID}`);
    detector.clock.set('2026-11-27T11:12:00Z');
    const second = await detector.invoke({});
    const callsAfterSecond = endpoints.sns.publishCalls;
    const items = await detector.items();
    detector.clock.set('2026-11-27T12:12:00Z');
    const third = await detector.invoke({});

    // Assess: pending after one refusal; parked after the second, and that run succeeded
    expect(pendingAfterFirst?.status?.S).toBe('pending');
    expect(numberAttr(pendingAfterFirst, 'refusals')).toBe(1);
    expect(second).toMatchObject({ alertsParked: 1, pendingRepublished: 0 });
    // Every run counts the alerts waiting: none, then one, still one
    expect(metricOfRuns('AlertsParked')).toEqual([0, 1, 1]);
    expect(second.parkedAlertsWaiting).toBe(1);
    expect(metricOfRuns('RunSucceeded')).toEqual([undefined, 1, 1]);
    expect(items.get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('parked');
    expect(items.get(`OUTBOX|${ALERT_ID}`)?.parkReason?.S).toMatch(/AuthorizationError/);
    expect(items.get(`PENDING|${ALERT_ID}`)).toBeUndefined();
    expect(items.get(`PARKED|${ALERT_ID}`)?.status?.S).toBe('parked');
    expect(third.alertsParked).toBeUndefined();
    expect(endpoints.sns.publishCalls).toBe(callsAfterSecond); // not tried again

    // Act: the policy is mended; the operator republishes
    endpoints.sns.reset();
    const republished = await detector.invoke({ mode: 'republish-parked' });

    // Assess
    expect(republished).toMatchObject({
      mode: 'republish-parked',
      alertsPublished: 1,
      pendingRepublished: 1,
      parkedAlertsWaiting: 0,
    });
    expect(detector.metrics.last('AlertsParked')).toBe(0);
    expect(publishedIds()).toEqual([ALERT_ID]);
    const after = await detector.items();
    expect(after.get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('sent');
    expect(after.get(`PARKED|${ALERT_ID}`)).toBeUndefined();
    expect(after.get(`PENDING|${ALERT_ID}`)).toBeUndefined();
    expect((await detector.invoke({ mode: 'republish-parked' })).alertsPublished).toBe(0);
  });

  it.each(['InternalError', 'KMSThrottling'] as const)(
    'an alert that fails with %s (an outage or a throttle, not a refusal) is never parked, however many runs it fails',
    async (code) => {
      // Prepare
      const detector = await detectorWithDueAlert({ maxAlertRefusals: 1 });
      endpoints.sns.failNextPublishes(1_000, code);

      // Act
      for (const runAt of ['2026-11-27T10:12:00Z', '2026-11-27T11:12:00Z', '2026-11-27T12:12:00Z']) {
        detector.clock.set(runAt);
        await expect(detector.invoke({})).rejects.toThrow(AlertsNotPublishedError);
      }

      // Assess
      const items = await detector.items();
      expect(items.get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('pending');
      expect(numberAttr(items.get(`PENDING|${ALERT_ID}`), 'attempts')).toBe(3);
      expect(numberAttr(items.get(`PENDING|${ALERT_ID}`), 'refusals')).toBe(0);
      expect(items.get(`PARKED|${ALERT_ID}`)).toBeUndefined();
      endpoints.sns.reset();
      detector.clock.set('2026-11-27T13:12:00Z');
      await detector.invoke({});
      expect(publishedIds()).toEqual([ALERT_ID]);
    },
  );

  it('a republish-parked that SNS refuses again leaves the alert pending, its refusals counted afresh', async () => {
    // Prepare: parked after one refusal
    const detector = await detectorWithDueAlert({ maxAlertRefusals: 2 });
    endpoints.sns.failNextPublishes(1_000, 'KMSDisabled');
    await expect(detector.invoke({})).rejects.toThrow(AlertsNotPublishedError);
    detector.clock.set('2026-11-27T11:12:00Z');
    expect((await detector.invoke({})).alertsParked).toBe(1);

    // Act: the key is still disabled
    const again = detector.invoke({ mode: 'republish-parked' });

    // Assess
    await expect(again).rejects.toThrow(AlertsNotPublishedError);
    const items = await detector.items();
    expect(items.get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('pending');
    expect(numberAttr(items.get(`PENDING|${ALERT_ID}`), 'refusals')).toBe(1);
    expect(items.get(`PARKED|${ALERT_ID}`)).toBeUndefined();
  });

  it.each(['Failed', 'Timeout'] as const)(
    'a details query that ends %s does not hold the alert back: it goes out without destinations, and the failed query counts in the scan figures',
    async (status) => {
      // Prepare: the endpoint ends every details query of the run (any retry too) in `status`,
      // while the count query completes.
      const detector = await detectorWithDueAlert();
      const windowBytes = IN_W.reduce((sum, e) => sum + Buffer.byteLength(e.message), 0);
      const stop = endpoints.logs.endQueriesMatching(status, (q) => DETAILS_QUERY.test(q.queryString));

      // Act
      const summary = await detector.invoke({}).finally(stop);

      // Assess
      expect(summary).toMatchObject({ alertsDecided: 1, alertsPublished: 1 });
      expect(publishedIds()).toEqual([ALERT_ID]);
      const raw = JSON.parse(endpoints.sns.published[0]!.perProtocol!.sqs!) as PublishedAlert;
      expect(raw.details).toBeUndefined();
      expect(raw.blockedCount).toBe(150);
      const queries = endpoints.logs.startedQueries;
      const details = queries.filter((q) => DETAILS_QUERY.test(q.queryString));
      expect(details.length).toBeGreaterThanOrEqual(1);
      expect(details.every((q) => q.status === status)).toBe(true);
      expect(queries.filter((q) => !DETAILS_QUERY.test(q.queryString)).map((q) => q.status)).toEqual([
        'Complete',
      ]);
      // Every query started is in the run's figures, the failed details query included; bytes
      // come from the completed count query (a failed query hands back no statistics).
      expect(summary.queries).toBe(queries.length);
      expect(summary.bytesScanned).toBe(windowBytes);
      expect(detector.metrics.last('BytesScanned')).toBe(windowBytes);
      expect((await detector.items()).get(`OUTBOX|${ALERT_ID}`)?.status?.S).toBe('sent');
    },
  );

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

  const INJECTIONS: [string, Partial<DetectorConfig>, RegExp][] = [
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
  ];

  it.each(INJECTIONS)(
    'rejects a query-injection attempt in DETECTOR_CONFIG %s at cold start, naming the field',
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
    },
  );

  it.each(INJECTIONS)(
    'refuses to build a query from %s even past the config schema: the run fails before any query or state',
    async (_field, detectorConfig) => {
      // Prepare: a runtime whose detector config skipped validation (the second line of defence:
      // the query builder validates everything it interpolates).
      const detector = await newDetector(endpoints);
      const config = detector.runtime.config;
      const runtime = createLambdaRuntime(
        { ...config, detector: { ...config.detector, ...detectorConfig } },
        { now: detector.clock.now, credentials: CREDENTIALS, logger: silentLogger() },
      );
      detector.clock.set(RUN_AT);
      endpoints.logs.seed(detector.logGroup, IN_W);

      // Act
      const run = runtime.handler({}, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'injection' });

      // Assess
      await expect(run).rejects.toThrow(QueryInjectionError);
      expect(endpoints.logs.queryStrings).toEqual([]);
      expect(endpoints.dynamo.requests).toHaveLength(0);
    },
  );

  it('names every bad environment variable at cold start', () => {
    // Act
    const load = () =>
      loadRuntimeConfig({
        LOG_GROUP_IDENTIFIERS: '/vpc/flows',
        TOPIC_ARN: 'not-an-arn',
        ENRICH_WITH_EC2: 'yes',
      });

    // Assess: one line per bad variable, each naming what it got.
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/^TABLE_NAME: .*\(not set\)$/m);
    expect(load).toThrow(/^TOPIC_ARN: not an SNS topic ARN \(got "not-an-arn"\)$/m);
    expect(load).toThrow(/^ENRICH_WITH_EC2: .*"true"\|"false" \(got "yes"\)$/m);
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
