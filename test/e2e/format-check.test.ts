/**
 * End to end, the flow log format check: a log group whose flow log writes another format than
 * flowLogFormat counts nothing and reads as quiet; the run says so (summary, error log, the
 * RecordsNotInFormat metric) after the detector's first window, and again after the first window
 * of each UTC day, whatever the runs in between.
 */
import { HOUR, blocked, isFormatCheck, newDetector, withEndpoints, type Endpoints } from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const MIDNIGHT = Date.parse('2026-11-28T00:00:00Z');
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

beforeEach(() => {
  endpoints.logs.resetCounters();
});

describe('flow log format check', () => {
  it('a log group written in another format (v2 plus vpc-id) counts nothing; said after the first window and after the first window of the next UTC day, not between', async () => {
    // Prepare: the default v2 format configured, records with a vpc-id appended
    const detector = await newDetector(endpoints);
    const withVpc = (events: ReturnType<typeof blocked>) =>
      events.map((e) => ({ ...e, message: `${e.message} vpc-0a1b2c3d` }));
    endpoints.logs.seed(detector.logGroup, [
      ...withVpc(blocked(W, '10.0.1.5', 40)),
      ...withVpc(blocked(W + HOUR, '10.0.1.5', 40)),
      ...withVpc(blocked(MIDNIGHT, '10.0.1.5', 40)),
    ]);

    // Act: the first window; the next; then a run that catches up to 01:00 (the 00:00 window in it)
    detector.clock.set(runTimeFor(W));
    const first = await detector.invoke({});
    const firstMetric = detector.metrics.last('RecordsNotInFormat');
    detector.clock.set(runTimeFor(W + HOUR));
    const second = await detector.invoke({});
    const secondMetric = detector.metrics.last('RecordsNotInFormat');
    detector.clock.set(runTimeFor(MIDNIGHT + HOUR));
    const nextDay = await detector.invoke({});

    // Assess
    expect(first.sourcesEvaluated).toBe(0);
    expect(first.formatCheck).toMatchObject({ from: '2026-11-27T09:50:00Z', to: '2026-11-27T10:00:00Z' });
    expect(first.formatCheck!.notInFormat).toBeGreaterThan(0);
    expect(first.formatCheck!.notInFormat).toBe(first.formatCheck!.recordsScanned);
    expect(firstMetric).toBe(first.formatCheck!.notInFormat);
    expect(second.formatCheck).toBeUndefined();
    expect(secondMetric).toBeUndefined();
    expect(nextDay.windows).toContain('2026-11-28T00:00:00Z');
    expect(nextDay.formatCheck).toMatchObject({ from: '2026-11-28T00:50:00Z', to: '2026-11-28T01:00:00Z' });
    expect(nextDay.formatCheck!.notInFormat).toBeGreaterThan(0);
    expect(endpoints.logs.startedQueries.filter(isFormatCheck)).toHaveLength(2);
  });

  it('a new deploy set up as the README says (bootstrap, then the schedule) hears of a wrong format from the bootstrap and its first window', async () => {
    // Prepare
    const detector = await newDetector(endpoints);
    const withVpc = (events: ReturnType<typeof blocked>) =>
      events.map((e) => ({ ...e, message: `${e.message} vpc-0a1b2c3d` }));
    endpoints.logs.seed(detector.logGroup, [
      ...withVpc(blocked(W - 2 * HOUR, '10.0.1.5', 40)),
      ...withVpc(blocked(W - HOUR, '10.0.1.5', 40)),
      ...withVpc(blocked(W, '10.0.1.5', 40)),
    ]);

    // Act
    detector.clock.set(runTimeFor(W - HOUR));
    const boot = await detector.invoke({ mode: 'bootstrap', days: 1 });
    detector.clock.set(runTimeFor(W));
    const first = await detector.invoke({});
    detector.clock.set(runTimeFor(W + HOUR));
    const second = await detector.invoke({});

    // Assess: the bootstrap learnt nothing, and both it and the first scheduled window say why
    expect(boot.bootstrap?.sources).toBe(0);
    expect(boot.formatCheck?.notInFormat).toBeGreaterThan(0);
    expect(first.formatCheck?.notInFormat).toBeGreaterThan(0);
    expect(second.formatCheck).toBeUndefined();
  });

  it('records in the configured format: the check finds none, and its scan is billed in BytesScanned, not in the window figures', async () => {
    // Prepare
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, blocked(W, '10.0.1.5', 40));

    // Act
    detector.clock.set(runTimeFor(W));
    const run = await detector.invoke({});

    // Assess
    expect(run.sourcesEvaluated).toBe(1);
    expect(run.formatCheck).toMatchObject({ notInFormat: 0 });
    expect(run.formatCheck!.recordsScanned).toBeGreaterThan(0);
    expect(run.formatCheck!.bytesScanned).toBeGreaterThan(0);
    expect(detector.metrics.last('RecordsNotInFormat')).toBe(0);
    expect(detector.metrics.last('BytesScanned')).toBe(run.bytesScanned + run.formatCheck!.bytesScanned);
    expect(run.queries).toBe(1);
  });
});
