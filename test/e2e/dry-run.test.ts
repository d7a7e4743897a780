/**
 * End to end, a dry run on a detector without state decides what the schedule would: its first
 * window only learns (no `new-source` for every busy source), the windows after it are decided.
 */
import { HOUR, blocked, newDetector, startEndpoints, type Endpoints } from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const BUSY = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;

beforeAll(async () => {
  endpoints = await startEndpoints();
});

afterAll(async () => {
  await endpoints.stop();
});

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
