/**
 * End to end, a dry run on a detector without state decides what the schedule would: its first
 * window only learns (no `new-source` for every busy source), the windows after it are decided.
 */
import {
  HOUR,
  blocked,
  history,
  newDetector,
  withEndpoints,
  timedPolls,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const BUSY = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

describe('dry run on a detector without state', () => {
  it('learns the first window as the schedule would, alerting nothing, and says so', async () => {
    // Prepare: busy sources, each over newSourceMinCount (100) in W
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(
      detector.logGroup,
      BUSY.flatMap((s) => blocked(W, s, 150)),
    );
    detector.clock.set(runTimeFor(W));

    // Act
    const dry = await detector.invoke({ mode: 'dry-run' });
    const scheduled = await detector.invoke({});

    // Assess: the same decision as the scheduled run, which alerts nothing either
    expect(dry).toMatchObject({
      windows: ['2026-11-27T09:00:00Z'],
      firstWindowLearnOnly: true,
      dryRunAlerts: [],
    });
    expect(scheduled).toMatchObject({ firstWindowLearnOnly: true, alertsDecided: 0 });
    expect(endpoints.sns.publishCalls).toBe(0);
  });

  it('over a range, learns the first window and decides the next ones from it', async () => {
    // Prepare: the busy sources in W and W+1h; a newcomer in W+1h
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [
      ...BUSY.flatMap((s) => [...blocked(W, s, 150), ...blocked(W + HOUR, s, 150)]),
      ...blocked(W + HOUR, '10.0.5.5', 120),
    ]);
    detector.clock.set(runTimeFor(W + HOUR));

    // Act
    const dry = await detector.invoke({
      mode: 'dry-run',
      windowStart: '2026-11-27T09:00:00Z',
      windowEnd: '2026-11-27T11:00:00Z',
    });

    // Assess
    expect(dry.firstWindowLearnOnly).toBe(true);
    expect(dry.dryRunAlerts?.map((a) => [a.kind, a.windowStart, a.srcIp, a.wouldPublish])).toEqual([
      ['new-source', '2026-11-27T10:00:00Z', '10.0.5.5', true],
    ]);
    expect([...(await detector.items()).keys()]).toEqual([]);
  });
});

describe('dry run over a range longer than the baseline TTL', () => {
  const QUIET = ['10.0.2.1', '10.0.2.2', '10.0.2.3', '10.0.2.4', '10.0.2.5'];
  const RETURNING = '10.0.3.9';
  const BACK = W + 26 * HOUR; // 26 h after its last window, with a TTL of one day
  const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

  async function bootstrapped() {
    const detector = await newDetector(endpoints, {
      detectorConfig: { maxCatchUpWindows: 48 },
      env: { BASELINE_TTL_DAYS: '1' },
    });
    const events = [...history(W, 48, [...QUIET, RETURNING])];
    for (let w = W; w <= BACK; w += HOUR) events.push(...QUIET.flatMap((s, i) => blocked(w, s, 3 + (i % 4))));
    events.push(...blocked(W, RETURNING, 5), ...blocked(BACK, RETURNING, 300));
    endpoints.logs.seed(detector.logGroup, events);
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({ mode: 'bootstrap', days: 2 });
    return detector;
  }

  it('forgets a source silent past the TTL within the range, as the scheduled runs do', async () => {
    // Prepare: the scheduled runs, window by window.
    const scheduled = await bootstrapped();
    const published: string[] = [];
    for (let w = W; w <= BACK; w += HOUR) {
      endpoints.sns.reset();
      scheduled.clock.set(runTimeFor(w));
      await scheduled.invoke({});
      for (const message of endpoints.sns.published) {
        const alert = JSON.parse(message.perProtocol!.sqs!) as {
          kind: string;
          srcIp: string;
          windowStart: string;
        };
        published.push(`${alert.kind} ${alert.srcIp} ${alert.windowStart}`);
      }
    }

    // Act: one dry run over the same windows on a detector bootstrapped the same way.
    const dry = await bootstrapped();
    dry.clock.set(runTimeFor(BACK));
    const summary = await dry.invoke({ mode: 'dry-run', windowStart: at(W), windowEnd: at(BACK + HOUR) });

    // Assess: the returning source is new again in both (not a spike against a forgotten baseline).
    expect(published).toContain(`new-source ${RETURNING} ${at(BACK)}`);
    expect((summary.dryRunAlerts ?? []).map((a) => `${a.kind} ${a.srcIp} ${a.windowStart}`)).toEqual(
      published,
    );
  }, 300_000);
});

describe('dry run with nothing due after a skip', () => {
  it('does not re-evaluate the latest window when it was skipped (it decided nothing), and says so', async () => {
    // Prepare: a running detector, then the next window, which holds a busy source, skipped
    const detector = await newDetector(endpoints);
    const quiet = Array.from({ length: 40 }, (_, i) => `10.2.${i}.9`);
    endpoints.logs.seed(detector.logGroup, [
      ...quiet.flatMap((s, i) => blocked(W - HOUR, s, 1 + (i % 4))),
      ...quiet.flatMap((s, i) => blocked(W, s, 2 + (i % 3))),
      ...blocked(W, '10.0.5.5', 150),
    ]);
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({});
    detector.clock.set(runTimeFor(W));
    const skip = await detector.invoke({ mode: 'skip', windowStart: '2026-11-27T09:00:00Z' });
    endpoints.logs.resetCounters();

    // Act
    const dry = await detector.invoke({ mode: 'dry-run' });

    // Assess
    expect(skip.skippedWindows).toEqual(['2026-11-27T09:00:00Z']);
    expect(dry).toMatchObject({ windows: [], latestWindowSkipped: '2026-11-27T09:00:00Z' });
    expect(dry.dryRunAlerts ?? []).toEqual([]);
    expect(endpoints.logs.startedQueries).toHaveLength(0);
  });

  it('re-evaluates the latest window as before once a later window was committed', async () => {
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(
      detector.logGroup,
      [W - HOUR, W, W + HOUR].flatMap((w) => blocked(w, '10.0.1.10', 5)),
    );
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({});
    detector.clock.set(runTimeFor(W));
    await detector.invoke({ mode: 'skip', windowStart: '2026-11-27T09:00:00Z' });
    detector.clock.set(runTimeFor(W + HOUR));
    await detector.invoke({});

    const dry = await detector.invoke({ mode: 'dry-run' });

    expect(dry.windows).toEqual(['2026-11-27T10:00:00Z']);
    expect(dry.latestWindowSkipped).toBeUndefined();
  });
});

describe("dry run with nothing due after a new detector's first (learn-only) window", () => {
  it('does not re-evaluate that window (it learnt, decided nothing), and says so', async () => {
    // Prepare: busy sources, each over newSourceMinCount (100), in the detector's first window
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(
      detector.logGroup,
      BUSY.flatMap((s) => blocked(W, s, 150)),
    );
    detector.clock.set(runTimeFor(W));
    const first = await detector.invoke({});
    endpoints.logs.resetCounters();

    // Act: the operator's dry run right after the deploy's first run
    const dry = await detector.invoke({ mode: 'dry-run' });

    // Assess: the schedule decided nothing in W; neither does the dry run (re-evaluated from no
    // baselines, every busy source would be a new-source alert it "would publish")
    expect(first).toMatchObject({ firstWindowLearnOnly: true, alertsDecided: 0 });
    expect(dry).toMatchObject({ windows: [], latestWindowLearnOnly: '2026-11-27T09:00:00Z' });
    expect(dry.dryRunAlerts ?? []).toEqual([]);
    expect(endpoints.logs.startedQueries).toHaveLength(0);
  });

  it('decides the next window from what the first learnt once it is due', async () => {
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [
      ...BUSY.flatMap((s) => [...blocked(W, s, 150), ...blocked(W + HOUR, s, 150)]),
      ...blocked(W + HOUR, '10.0.5.5', 150),
    ]);
    detector.clock.set(runTimeFor(W));
    await detector.invoke({});
    detector.clock.set(runTimeFor(W + HOUR));

    const dry = await detector.invoke({ mode: 'dry-run' });

    expect(dry.windows).toEqual(['2026-11-27T10:00:00Z']);
    expect(dry.latestWindowLearnOnly).toBeUndefined();
    expect(dry.dryRunAlerts?.map((a) => [a.kind, a.srcIp])).toEqual([['new-source', '10.0.5.5']]);
  });
});

describe('dry run with nothing due after a bootstrap', () => {
  it("does not re-evaluate the bootstrap's last window (it learnt it, decided nothing), and says so", async () => {
    // Prepare: a day of history of two busy sources (each window over newSourceMinCount), learnt
    // by a bootstrap whose last window is the latest closed one
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(
      detector.logGroup,
      Array.from({ length: 24 }, (_, h) => W - 23 * HOUR + h * HOUR).flatMap((w) =>
        ['10.0.1.10', '10.0.1.11'].flatMap((s) => blocked(w, s, 120 + ((w / HOUR) % 7))),
      ),
    );
    detector.clock.set(runTimeFor(W));
    const boot = await detector.invoke({ mode: 'bootstrap', days: 1 });
    endpoints.logs.resetCounters();

    // Act
    const dry = await detector.invoke({ mode: 'dry-run' });

    // Assess: no new-source alert for sources the bootstrap learnt (their entries keep no
    // pre-window baseline to decide the window from), and no query
    expect(boot.bootstrap).toMatchObject({ watermark: '2026-11-27T09:00:00Z' });
    expect(dry).toMatchObject({ windows: [], latestWindowBootstrapped: '2026-11-27T09:00:00Z' });
    expect(dry.dryRunAlerts ?? []).toEqual([]);
    expect(endpoints.logs.startedQueries).toHaveLength(0);
  });

  it('decides the next window from the bootstrap once it is due', async () => {
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [
      ...Array.from({ length: 25 }, (_, h) => W - 23 * HOUR + h * HOUR).flatMap((w) =>
        ['10.0.1.10', '10.0.1.11'].flatMap((s) => blocked(w, s, 120 + ((w / HOUR) % 7))),
      ),
      ...blocked(W + HOUR, '10.0.5.5', 150),
    ]);
    detector.clock.set(runTimeFor(W));
    await detector.invoke({ mode: 'bootstrap', days: 1 });
    detector.clock.set(runTimeFor(W + HOUR));

    const dry = await detector.invoke({ mode: 'dry-run' });

    expect(dry.windows).toEqual(['2026-11-27T10:00:00Z']);
    expect(dry.latestWindowBootstrapped).toBeUndefined();
    expect(dry.dryRunAlerts?.map((a) => [a.kind, a.srcIp])).toEqual([['new-source', '10.0.5.5']]);
  });
});

describe('dry run over a range longer than the time left', () => {
  /**
   * A detector with W committed whose polls take `pollMs` (`slow`: see timedPolls); in W+1h a new
   * source bursts (a new-source alert), every window has a quiet source.
   */
  async function timedDetector(pollMs: number, slow?: { window: number; pollMs: number }) {
    const holder: { detector?: Detector } = {};
    const detector = await newDetector(endpoints, {
      manualClock: true,
      runtime: timedPolls(endpoints, () => holder.detector!.clock, pollMs, slow),
    });
    holder.detector = detector;
    endpoints.logs.seed(detector.logGroup, [
      ...Array.from({ length: 8 }, (_, h) => W + h * HOUR).flatMap((w) => blocked(w, '10.0.1.10', 4)),
      ...blocked(W + HOUR, '10.0.5.5', 150),
    ]);
    detector.clock.set(runTimeFor(W));
    await detector.invoke({});
    detector.clock.set(runTimeFor(W + 7 * HOUR));
    endpoints.logs.resetCounters();
    return detector;
  }
  const range = { mode: 'dry-run', windowStart: '2026-11-27T10:00:00Z', windowEnd: '2026-11-27T16:00:00Z' };

  it('stops before a window that will not fit, and returns what it evaluated with the rest deferred', async () => {
    // Prepare: every poll takes 20 s, so a query takes about a minute (large log groups)
    const detector = await timedDetector(20_000);

    // Act: six windows, five minutes (the first, with its alert's details query, takes two)
    const dry = await detector.invoke(range, 300_000);

    // Assess: the first windows' alerts, the rest counted, no query stopped at the deadline
    expect(dry.windows[0]).toBe('2026-11-27T10:00:00Z');
    expect(dry.deferredWindows).toBeGreaterThan(0);
    expect(dry.windows.length + dry.deferredWindows).toBe(6);
    expect(dry.dryRunAlerts?.map((a) => [a.kind, a.srcIp, a.wouldPublish])).toEqual([
      ['new-source', '10.0.5.5', true],
    ]);
    expect(endpoints.logs.callCounts.StopQuery).toBe(0);
  });

  it('a window whose query the deadline stops, after the first, is left out: the windows before it are returned', async () => {
    // Prepare: W+3h's query takes minutes
    const detector = await timedDetector(1_000, { window: W + 3 * HOUR, pollMs: 200_000 });

    // Act
    const dry = await detector.invoke(range, 300_000);

    // Assess
    expect(dry.windows).toEqual(['2026-11-27T10:00:00Z', '2026-11-27T11:00:00Z']);
    expect(dry.deferredWindows).toBe(4);
    expect(dry.dryRunAlerts?.map((a) => [a.kind, a.srcIp])).toEqual([['new-source', '10.0.5.5']]);
    expect(endpoints.logs.callCounts.StopQuery).toBe(1);
  });
});
