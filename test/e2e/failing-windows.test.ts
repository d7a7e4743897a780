/**
 * End to end, a window that fails on every try (a count query that always times out, a corrupt
 * item...): each failed run is counted; at `maxWindowAttempts` the window is skipped (a gap: not
 * counted, no zeros, the clock stays), the operations metric says so, and the windows after it
 * go on. An operator can skip a named range of windows with the `skip` mode.
 */
import { SkipRefusedError } from '../../lambda/detector-run';
import { InvalidPayloadError } from '../../lambda/manual-payload';
import {
  HOUR,
  InjectedCrash,
  blocked,
  newDetector,
  numberAttr,
  withEndpoints,
  type CrashPlan,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

beforeEach(() => {
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

/** W-1h committed (clock 1); W, W+1h and W+2h hold records. */
async function runningDetector(detectorConfig: Record<string, unknown> = {}): Promise<Detector> {
  const detector = await newDetector(endpoints, { detectorConfig });
  endpoints.logs.seed(
    detector.logGroup,
    [W - HOUR, W, W + HOUR, W + 2 * HOUR].flatMap((w) => SOURCES.flatMap((s, i) => blocked(w, s, 3 + i))),
  );
  detector.clock.set(runTimeFor(W - HOUR));
  await detector.invoke({});
  return detector;
}

async function stateOf(detector: Detector) {
  const items = await detector.items();
  return { state: items.get('STATE|DETECTOR'), items };
}

describe('a window that fails on every try', () => {
  it('is skipped after maxWindowAttempts failed runs: a gap, the alarm metric, and the next window goes on', async () => {
    // Prepare: W's count query always times out (service-side)
    const detector = await runningDetector({ maxWindowAttempts: 3 });
    const baselinesBefore = [...(await detector.items())].filter(([k]) => k.startsWith('SRC#'));
    const stop = endpoints.logs.endQueriesMatching('Timeout', (q) => q.startTime === W / 1000);
    detector.clock.set(runTimeFor(W));

    try {
      // Act 1: two runs fail and are counted
      await expect(detector.invoke({})).rejects.toThrow(/ended with status Timeout/);
      await expect(detector.invoke({})).rejects.toThrow(/ended with status Timeout/);
      const counted = numberAttr((await stateOf(detector)).state, 'failedAttempts');

      // Act 2: the third skips W; an hour later the next run goes on with W+1h
      const third = await detector.invoke({});
      const afterSkip = await stateOf(detector);
      detector.clock.set(runTimeFor(W + HOUR));
      const next = await detector.invoke({});

      // Assess
      expect(counted).toBe(2);
      expect(third).toMatchObject({ skippedWindows: ['2026-11-27T09:00:00Z'], windows: [] });
      expect(detector.metrics.published.at(-2)?.find((m) => m.name === 'WindowsSkipped')?.value).toBe(1);
      expect(numberAttr(afterSkip.state, 'watermark')).toBe(W);
      expect(numberAttr(afterSkip.state, 'clock')).toBe(1); // W is not a quiet window
      expect(afterSkip.state?.failedAttempts).toBeUndefined();
      expect(afterSkip.items.get('SKIPPED|2026-11-27T09:00:00Z')).toMatchObject({
        windows: { N: '1' },
        attempts: { N: '3' },
        manual: { BOOL: false },
        reason: { S: expect.stringMatching(/^QueryFailedError: .* ended with status Timeout/) },
      });
      // No baseline moved for W: no zeros folded in.
      expect([...afterSkip.items].filter(([k]) => k.startsWith('SRC#'))).toEqual(baselinesBefore);
      expect(next.windows).toEqual(['2026-11-27T10:00:00Z']);
      expect(numberAttr((await stateOf(detector)).state, 'clock')).toBe(2);
      expect(detector.metrics.last('WindowsSkipped')).toBe(0);
    } finally {
      stop();
    }
  });

  it("is not skipped on a fresh detector (nothing waits behind it): the next run's window still only learns", async () => {
    // Prepare: a detector with no state; its first window's count query always times out
    const detector = await newDetector(endpoints, { detectorConfig: { maxWindowAttempts: 3 } });
    const busy = Array.from({ length: 5 }, (_, i) => `10.4.${i}.7`);
    endpoints.logs.seed(
      detector.logGroup,
      [W, W + HOUR].flatMap((w) => busy.flatMap((s) => blocked(w, s, 150))),
    );
    const stop = endpoints.logs.endQueriesMatching('Timeout', (q) => q.startTime === W / 1000);
    detector.clock.set(runTimeFor(W));

    try {
      // Act: the scheduled run and Lambda's two retries all fail; an hour later the next window
      for (let run = 0; run < 3; run += 1)
        await expect(detector.invoke({})).rejects.toThrow(/ended with status Timeout/);
      const afterFailures = await stateOf(detector);
      detector.clock.set(runTimeFor(W + HOUR));
      const next = await detector.invoke({});

      // Assess: W was not skipped (a skip would set a watermark with no baselines behind it, and
      // the next window would alert on every busy source as new)
      expect(afterFailures.state?.watermark).toBeUndefined();
      expect(afterFailures.items.get('SKIPPED|2026-11-27T09:00:00Z')).toBeUndefined();
      expect(next).toMatchObject({
        windows: ['2026-11-27T10:00:00Z'],
        firstWindowLearnOnly: true,
        alertsPublished: 0,
      });
      expect(endpoints.sns.published).toHaveLength(0);
    } finally {
      stop();
    }
  });

  it('starts counting afresh once the window is committed', async () => {
    // Prepare: W fails twice, then the service recovers
    const detector = await runningDetector({ maxWindowAttempts: 3 });
    const stop = endpoints.logs.endQueriesMatching('Failed', (q) => q.startTime === W / 1000);
    detector.clock.set(runTimeFor(W));
    await expect(detector.invoke({})).rejects.toThrow(/ended with status Failed/);
    await expect(detector.invoke({})).rejects.toThrow(/ended with status Failed/);
    stop();

    // Act
    const recovered = await detector.invoke({});

    // Assess
    expect(recovered).toMatchObject({ windows: ['2026-11-27T09:00:00Z'], skippedWindows: [] });
    const { state } = await stateOf(detector);
    expect(state?.failedAttempts).toBeUndefined();
    expect(state?.failingWindow).toBeUndefined();
    expect(numberAttr(state, 'clock')).toBe(2);
  });
});

describe('the skip mode', () => {
  it('moves the watermark over a named range of closed windows without counting them', async () => {
    // Prepare
    const detector = await runningDetector();
    detector.clock.set(runTimeFor(W + 2 * HOUR));

    // Act
    const skip = await detector.invoke({
      mode: 'skip',
      windowStart: '2026-11-27T09:00:00Z',
      windowEnd: '2026-11-27T11:00:00Z',
    });
    const next = await detector.invoke({});

    // Assess
    expect(skip.skippedWindows).toEqual(['2026-11-27T09:00:00Z', '2026-11-27T10:00:00Z']);
    expect(skip.windows).toEqual([]);
    expect(next.windows).toEqual(['2026-11-27T11:00:00Z']);
    const { state, items } = await stateOf(detector);
    expect(numberAttr(state, 'watermark')).toBe(W + 2 * HOUR);
    expect(numberAttr(state, 'clock')).toBe(2); // W-1h and W+2h
    expect(items.get('SKIPPED|2026-11-27T09:00:00Z')).toMatchObject({
      windows: { N: '2' },
      lastWindow: { S: '2026-11-27T10:00:00Z' },
      manual: { BOOL: true },
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'not the window after the watermark',
      { windowStart: '2026-11-27T10:00:00Z' },
      'must be the window after the watermark (2026-11-27T08:00:00Z), 2026-11-27T09:00:00Z',
    ],
    [
      'ending in a window not yet closed',
      { windowStart: '2026-11-27T09:00:00Z', windowEnd: '2026-11-27T12:00:00Z' },
      'window 2026-11-27T11:00:00Z has not closed yet',
    ],
  ])('refuses a range %s and changes nothing', async (_case, range, message) => {
    // Prepare
    const detector = await runningDetector();
    detector.clock.set(runTimeFor(W + HOUR));
    const before = await detector.items();

    // Act
    const skip = detector.invoke({ mode: 'skip', ...range });

    // Assess
    await expect(skip).rejects.toThrow(SkipRefusedError);
    await expect(skip).rejects.toThrow(message);
    expect(await detector.items()).toEqual(before);
  });

  it('refuses a detector that has not committed a window, and a malformed payload, changing nothing', async () => {
    // Prepare
    const detector = await newDetector(endpoints);
    detector.clock.set(runTimeFor(W));

    // Act & Assess
    await expect(detector.invoke({ mode: 'skip', windowStart: '2026-11-27T09:00:00Z' })).rejects.toThrow(
      /skip refused: the detector has not committed a window yet/,
    );
    await expect(detector.invoke({ mode: 'skip', windowStart: '2026-11-27T09:10:00Z' })).rejects.toThrow(
      InvalidPayloadError,
    );
    expect([...(await detector.items()).keys()]).toEqual([]);
  });
});

describe('a commit that stopped part-way through its baseline writes', () => {
  // Enough sources for three bucket batches: the commit is stopped after the first.
  const MANY = Array.from({ length: 60 }, (_, i) => `10.3.${i}.7`);
  const seedMany = (detector: Detector, windows: number[]) =>
    endpoints.logs.seed(
      detector.logGroup,
      windows.flatMap((w) => MANY.flatMap((s, i) => blocked(w, s, 3 + ((i + w / HOUR) % 4)))),
    );
  let batchWrites = 0;
  const stopAtSecondBucketBatch = (killed: boolean): CrashPlan => {
    batchWrites = 0;
    return {
      at: (call) => call.service === 'dynamodb' && call.operation === 'BatchWriteItem' && ++batchWrites === 2,
      killed,
    };
  };
  /** Each source's stored entry (baseline, prev, expiry), by key. */
  async function baselinesOf(detector: Detector): Promise<Map<string, string>> {
    const entries = new Map<string, string>();
    for (const [key, item] of await detector.items())
      if (key.startsWith('SRC#')) entries.set(key, JSON.stringify(item));
    return entries;
  }
  const holdingFold = (items: Awaited<ReturnType<Detector['items']>>, window: number) =>
    [...items].filter(([key, item]) => key.startsWith('SRC#') && numberAttr(item, 'lastWindow') === window);

  it('is rolled back when its window is then skipped after maxWindowAttempts: the same baselines as a clean skip', async () => {
    // Prepare: W-1h committed on both; W's commit fails after its first bucket batch (no alerts:
    // the first BatchWriteItem is that batch); the twin skips W cleanly
    const [stopped, twin] = [
      await newDetector(endpoints, { detectorConfig: { maxWindowAttempts: 1 } }),
      await newDetector(endpoints, { detectorConfig: { maxWindowAttempts: 1 } }),
    ];
    for (const detector of [stopped, twin]) {
      seedMany(detector, [W - HOUR, W, W + HOUR, W + 2 * HOUR]);
      detector.clock.set(runTimeFor(W - HOUR));
      await detector.invoke({});
      detector.clock.set(runTimeFor(W));
    }

    // Act: the failing attempt is the only one allowed, so its run skips W; then two windows more
    const skipping = await stopped.invoke({}, { crash: stopAtSecondBucketBatch(false) });
    const afterSkip = await stopped.items();
    await twin.invoke({ mode: 'skip', windowStart: '2026-11-27T09:00:00Z' });
    for (const w of [W + HOUR, W + 2 * HOUR])
      for (const detector of [stopped, twin]) {
        detector.clock.set(runTimeFor(w));
        await detector.invoke({});
      }

    // Assess: the crash had written W into some sources; the skip put them back, and the summary
    // counts W as skipped, not evaluated
    expect(batchWrites).toBeGreaterThanOrEqual(2);
    expect(skipping.skippedWindows).toEqual(['2026-11-27T09:00:00Z']);
    expect(skipping.windows).toEqual([]);
    expect(skipping.sourcesEvaluated).toBe(0);
    expect(skipping.foldRolledBack?.window).toBe('2026-11-27T09:00:00Z');
    expect(skipping.foldRolledBack?.entries).toBeGreaterThanOrEqual(10);
    expect(holdingFold(afterSkip, W)).toEqual([]);
    expect(afterSkip.get('STATE|DETECTOR')?.foldingWindow).toBeUndefined();
    const [a, b] = [await baselinesOf(stopped), await baselinesOf(twin)];
    expect(a.size).toBe(MANY.length);
    expect(a).toEqual(b);
  });

  it('is rolled back by a manual skip after the run was killed', async () => {
    // Prepare: as above, but the process dies (the lease stays until it expires)
    const [stopped, twin] = [await newDetector(endpoints), await newDetector(endpoints)];
    for (const detector of [stopped, twin]) {
      seedMany(detector, [W - HOUR, W, W + HOUR]);
      detector.clock.set(runTimeFor(W - HOUR));
      await detector.invoke({});
      detector.clock.set(runTimeFor(W));
    }
    await expect(stopped.invoke({}, { crash: stopAtSecondBucketBatch(true) })).rejects.toThrow(InjectedCrash);
    const folded = holdingFold(await stopped.items(), W).length;
    const marked = (await stopped.items()).get('STATE|DETECTOR');

    // Act: once the lease has expired, both skip W; then the next window
    const skips = [];
    for (const detector of [stopped, twin]) {
      detector.clock.set('2026-11-27T10:20:00Z');
      skips.push(await detector.invoke({ mode: 'skip', windowStart: '2026-11-27T09:00:00Z' }));
      detector.clock.set(runTimeFor(W + HOUR));
      await detector.invoke({});
    }

    // Assess
    expect(folded).toBeGreaterThanOrEqual(10);
    expect(folded).toBeLessThan(MANY.length);
    expect(numberAttr(marked, 'foldingWindow')).toBe(W);
    expect(skips[0]?.foldRolledBack).toEqual({ window: '2026-11-27T09:00:00Z', entries: folded });
    expect(skips[1]?.foldRolledBack).toBeUndefined();
    expect(await baselinesOf(stopped)).toEqual(await baselinesOf(twin));
  });

  it("of a detector's first window is rolled back when the next run takes the latest window instead", async () => {
    // Prepare: no state; the first window's commit is killed after its first bucket batch, the
    // twin's first window fails at its count query (nothing written)
    const [stopped, twin] = [await newDetector(endpoints), await newDetector(endpoints)];
    for (const detector of [stopped, twin]) {
      seedMany(detector, [W, W + HOUR, W + 2 * HOUR]);
      detector.clock.set(runTimeFor(W));
    }
    await expect(stopped.invoke({}, { crash: stopAtSecondBucketBatch(true) })).rejects.toThrow(InjectedCrash);
    const folded = holdingFold(await stopped.items(), W).length;
    const stop = endpoints.logs.endQueriesMatching('Failed', (q) => q.startTime === W / 1000);
    try {
      await expect(twin.invoke({})).rejects.toThrow(/ended with status Failed/);
    } finally {
      stop();
    }

    // Act: an hour later each takes the latest window (it learns), then the next
    const runs = [];
    for (const w of [W + HOUR, W + 2 * HOUR])
      for (const detector of [stopped, twin]) {
        detector.clock.set(runTimeFor(w));
        runs.push(await detector.invoke({}));
      }

    // Assess: W is folded nowhere, as in the twin that never wrote it
    expect(folded).toBeGreaterThanOrEqual(10);
    expect(runs[0]).toMatchObject({
      windows: ['2026-11-27T10:00:00Z'],
      firstWindowLearnOnly: true,
      foldRolledBack: { window: '2026-11-27T09:00:00Z', entries: folded },
    });
    expect(runs[2]?.foldRolledBack).toBeUndefined();
    expect(holdingFold(await stopped.items(), W)).toEqual([]);
    expect(await baselinesOf(stopped)).toEqual(await baselinesOf(twin));
  });
});
