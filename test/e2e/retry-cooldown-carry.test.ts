/**
 * A retry that reuses an earlier attempt's alerts (the outbox holds them) while its own decision
 * differs: late records raised a source's count to an escalation the published attempt did not
 * see. What was published held the source back in its cooldown; its baseline must keep that
 * cooldown, carried on by the window (it was up), not restore its state as if the window had not
 * been seen.
 */
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
