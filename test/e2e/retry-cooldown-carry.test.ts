/**
 * A retry that reuses an earlier attempt's alerts (the outbox holds them) while its own decision
 * differs: late records raised a source's count to an escalation the published attempt did not
 * see. What was published held the source back in its cooldown; its baseline must keep that
 * cooldown, carried on by the window (it was up), not restore its state as if the window had not
 * been seen.
 */
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import {
  HOUR,
  InjectedCrash,
  blocked,
  history,
  key,
  newDetector,
  numberAttr,
  withEndpoints,
  type CrashPlan,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const S = '10.0.7.7';
const NEW_SOURCE = '10.0.5.5';
const QUIET = Array.from({ length: 12 }, (_, i) => `10.2.${i}.9`);

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

/** A crash at the run's n-th BatchWriteItem (the outbox written, the baselines not yet). */
function crashAtBatchWrite(n: number): CrashPlan {
  let batchWrites = 0;
  return {
    at: (call) =>
      call.service === 'dynamodb' && call.operation === 'BatchWriteItem' && (batchWrites += 1) === n,
  };
}

it('a retry whose own count escalated a held-back source keeps the cooldown it was published in, carried on by the window', async () => {
  // Prepare: S alerts at W-1h (200); at W it is at 300 (under 2 x 200: held back, and up); a new
  // source alerts at W, so W has an outbox.
  const detector = await newDetector(endpoints, {
    detectorConfig: { minDataPoints: 6, massSpikeMinSources: 0 },
  });
  endpoints.logs.seed(detector.logGroup, [
    ...history(W - HOUR, 8, [...QUIET, S]),
    ...QUIET.flatMap((s, i) => blocked(W - HOUR, s, 2 + (i % 4))),
    ...blocked(W - HOUR, S, 200, 20),
    ...QUIET.flatMap((s, i) => blocked(W, s, 2 + (i % 4))),
    ...blocked(W, S, 300, 20),
    ...blocked(W, NEW_SOURCE, 150, 5),
  ]);
  detector.clock.set('2026-11-27T08:12:00Z');
  await detector.invoke({ mode: 'bootstrap', days: 1 });
  detector.clock.set('2026-11-27T09:12:00Z');
  expect(await detector.invoke({})).toMatchObject({ windows: ['2026-11-27T08:00:00Z'], alertsDecided: 1 });

  // Act: W's first attempt decides (S held back, the new source alerted), writes its outbox and
  // dies before the baselines; late records of W raise S to 450 (an escalation), and the retry
  // reuses the published alerts.
  detector.clock.set('2026-11-27T10:12:00Z');
  await expect(detector.invoke({}, { crash: crashAtBatchWrite(3) })).rejects.toThrow(InjectedCrash);
  endpoints.logs.seed(detector.logGroup, blocked(W, S, 150, 7));
  const retry = await detector.invoke({});

  // Assess: S's cooldown is the one published (from W-1h), carried on by W.
  expect(retry.windows).toEqual(['2026-11-27T09:00:00Z']);
  const item = (await detector.items()).get(`SRC#${key(S)}|BASELINE`);
  expect(numberAttr(item, 'lastAlertWindow')).toBe(W - HOUR);
  expect(numberAttr(item, 'lastAlertCount')).toBe(200);
  expect(numberAttr(item, 'lastElevatedWindow')).toBe(W);
}, 120_000);

it('splunk-escu keeps its cooldown counted from the alert in such a retry too (no carry)', async () => {
  // Prepare: as above, with ESCU's arithmetic and a cooldown of its own; S at 390 at W (under
  // 2 x 200: held back), B new in W's spike so W has an outbox.
  const detector = await newDetector(endpoints, {
    detectorConfig: { preset: 'splunk-escu', cooldownMinutes: 240 },
  });
  endpoints.logs.seed(detector.logGroup, [
    ...history(W - HOUR, 20, [...QUIET, S, NEW_SOURCE]),
    ...QUIET.flatMap((s, i) => blocked(W - HOUR, s, 2 + (i % 4))),
    ...blocked(W - HOUR, S, 200, 20),
    ...blocked(W - HOUR, NEW_SOURCE, 4, 3),
    ...QUIET.flatMap((s, i) => blocked(W, s, 2 + (i % 4))),
    ...blocked(W, S, 390, 20),
    ...blocked(W, NEW_SOURCE, 300, 5),
  ]);
  detector.clock.set('2026-11-27T08:12:00Z');
  await detector.invoke({ mode: 'bootstrap', days: 1 });
  detector.clock.set('2026-11-27T09:12:00Z');
  await detector.invoke({});

  // Act: W's first attempt dies after its outbox; late records make S's own count an escalation.
  detector.clock.set('2026-11-27T10:12:00Z');
  await expect(detector.invoke({}, { crash: crashAtBatchWrite(3) })).rejects.toThrow(InjectedCrash);
  endpoints.logs.seed(detector.logGroup, blocked(W, S, 60, 7));
  const retry = await detector.invoke({});

  // Assess
  expect(retry.windows).toEqual(['2026-11-27T09:00:00Z']);
  const item = (await detector.items()).get(`SRC#${key(S)}|BASELINE`);
  expect(numberAttr(item, 'lastAlertWindow')).toBe(W - HOUR);
  expect(item?.lastElevatedWindow).toBeUndefined();
}, 120_000);

describe('a retry that reuses a mass spike', () => {
  const HELD = ['10.0.7.1', '10.0.7.2', '10.0.7.3'];
  const FRESH = ['10.0.8.1', '10.0.8.2', '10.0.8.3'];

  /**
   * W-1h: HELD alert at 200. W: HELD at 300 (under 2 x 200: held back by their cooldowns) and
   * FRESH cross at 200: a mass spike of six. W+1h: HELD at 450 (an escalation, 2 x 200) and FRESH
   * at 300. With `crash`, W's first attempt writes its outbox and dies before the baselines, and
   * the retry reuses the stored mass spike.
   */
  async function run(crash: boolean) {
    const detector = await newDetector(endpoints, { detectorConfig: { minDataPoints: 6 } });
    endpoints.logs.seed(detector.logGroup, [
      ...history(W - HOUR, 8, [...QUIET, ...HELD, ...FRESH]),
      ...[-1, 0, 1].flatMap((h) => QUIET.flatMap((s, i) => blocked(W + h * HOUR, s, 2 + (i % 4)))),
      ...FRESH.flatMap((s, i) => blocked(W - HOUR, s, 2 + (i % 4))),
      ...HELD.flatMap((s) => blocked(W - HOUR, s, 200, 20)),
      ...HELD.flatMap((s) => blocked(W, s, 300, 20)),
      ...FRESH.flatMap((s) => blocked(W, s, 200, 20)),
      ...HELD.flatMap((s) => blocked(W + HOUR, s, 450, 20)),
      ...FRESH.flatMap((s) => blocked(W + HOUR, s, 300, 20)),
    ]);
    detector.clock.set('2026-11-27T08:12:00Z');
    await detector.invoke({ mode: 'bootstrap', days: 1 });
    detector.clock.set('2026-11-27T09:12:00Z');
    await detector.invoke({});
    detector.clock.set('2026-11-27T10:12:00Z');
    endpoints.sns.reset();
    if (crash) {
      await expect(detector.invoke({}, { crash: crashAtBatchWrite(3) })).rejects.toThrow(InjectedCrash);
      // the outbox was written, the baselines not yet
      expect(numberAttr((await detector.items()).get(`SRC#${key(HELD[0]!)}|BASELINE`), 'lastWindow')).toBe(
        W - HOUR,
      );
    }
    await detector.invoke({});
    const stored = numberAttr(
      (await detector.items()).get(`SRC#${key(HELD[0]!)}|BASELINE`),
      'lastAlertWindow',
    );
    detector.clock.set('2026-11-27T11:12:00Z');
    await detector.invoke({});
    const alerts = endpoints.sns.published.map((p) => JSON.parse(p.perProtocol!.sqs!) as PublishedAlert);
    return {
      stored,
      alerts: alerts.map(
        (a) =>
          `${a.windowStart} ${a.kind} ` +
          (a.members ?? []).map((m) => `${m.srcIp}${m.lastAlertedAt ? `@${m.lastAlertedAt}` : ''}`).join(','),
      ),
    };
  }

  it('leaves its held-back members the alert state they had, as a run without the crash does (an independent review)', async () => {
    // Act
    const plain = await run(false);
    const retried = await run(true);

    // Assess: the held-back members keep their 08:00 alert; their 10:00 escalation is a mass spike
    expect(plain.stored).toBe(W - HOUR);
    expect(plain.alerts).toEqual([
      '2026-11-27T09:00:00Z mass-spike ' +
        '10.0.7.1@2026-11-27T08:00:00Z,10.0.7.2@2026-11-27T08:00:00Z,10.0.7.3@2026-11-27T08:00:00Z,10.0.8.1,10.0.8.2,10.0.8.3',
      '2026-11-27T10:00:00Z mass-spike ' +
        '10.0.7.1,10.0.7.2,10.0.7.3,10.0.8.1@2026-11-27T09:00:00Z,10.0.8.2@2026-11-27T09:00:00Z,10.0.8.3@2026-11-27T09:00:00Z',
    ]);
    expect(retried).toEqual(plain);
  }, 240_000);
});
