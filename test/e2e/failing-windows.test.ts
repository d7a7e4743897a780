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
  blocked,
  newDetector,
  numberAttr,
  startEndpoints,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;

beforeAll(async () => {
  endpoints = await startEndpoints();
});

afterAll(async () => {
  await endpoints.stop();
});

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
