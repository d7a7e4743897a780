/**
 * End to end, the one SKIPDATA rule: every window a SKIPDATA record's [start, end] overlaps is
 * incomplete (its counts a lower bound, its alerts flagged, and it does not advance the zero-fill
 * clock), also when the record starts in an earlier window, in the same run, in a later run, in a
 * dry run and past the end of a bootstrap's history.
 */
import type { LogEvent } from '../support/local-logs-insights';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import {
  HOUR,
  blocked,
  newDetector,
  numberAttr,
  withEndpoints,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const MINUTE = 60_000;
const QUIET = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];
const NEW_SOURCE = '10.0.5.5';

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

beforeEach(() => endpoints.sns.reset());

/** A SKIPDATA record: its capture interval [start, end] lost records. */
function skipData(start: number, end: number): LogEvent {
  const eni = 'eni-0aaaabbbbccccdddd';
  return {
    timestamp: start,
    message: `2 123456789012 ${eni} - - - - - - - ${start / 1000} ${end / 1000} - SKIPDATA`,
    logStream: `${eni}-all`,
  };
}

/** Quiet sources in W and W+1h, a SKIPDATA record from 09:55 to 10:05, a new source in W+1h. */
async function straddlingDetector(): Promise<Detector> {
  const detector = await newDetector(endpoints);
  endpoints.logs.seed(detector.logGroup, [
    ...QUIET.flatMap((s) => [...blocked(W, s, 3), ...blocked(W + HOUR, s, 4)]),
    skipData(W + 55 * MINUTE, W + HOUR + 5 * MINUTE),
    ...blocked(W + HOUR, NEW_SOURCE, 150),
  ]);
  return detector;
}

const runAt = (windowStart: number) => new Date(windowStart + HOUR + 12 * MINUTE).toISOString();
const state = async (detector: Detector) => (await detector.items()).get('STATE|DETECTOR');
const published = () => endpoints.sns.published.map((p) => JSON.parse(p.perProtocol!.sqs!) as PublishedAlert);

describe('SKIPDATA straddling a window boundary', () => {
  it('makes the next window incomplete in a later run: no clock advance, alerts flagged', async () => {
    // Prepare
    const detector = await straddlingDetector();
    detector.clock.set(runAt(W));
    const first = await detector.invoke({});
    const afterFirst = await state(detector);

    // Act
    detector.clock.set(runAt(W + HOUR));
    const second = await detector.invoke({});

    // Assess
    expect(first.incompleteWindows).toBe(1);
    expect(numberAttr(afterFirst, 'skipDataThrough')).toBe(W + HOUR);
    expect(second).toMatchObject({
      windows: ['2026-11-27T10:00:00Z'],
      incompleteWindows: 1,
      alertsPublished: 1,
    });
    expect(numberAttr(await state(detector), 'clock')).toBe(0);
    expect(published()).toEqual([expect.objectContaining({ srcIp: NEW_SOURCE, incompleteWindow: true })]);
  });

  it('makes the next window incomplete in the same run (catch-up)', async () => {
    // Prepare: W-1h committed, then W and W+1h due together
    const detector = await straddlingDetector();
    detector.clock.set(runAt(W - HOUR));
    await detector.invoke({});

    // Act
    detector.clock.set(runAt(W + HOUR));
    const summary = await detector.invoke({});

    // Assess
    expect(summary).toMatchObject({
      windows: ['2026-11-27T09:00:00Z', '2026-11-27T10:00:00Z'],
      incompleteWindows: 2,
    });
    expect(numberAttr(await state(detector), 'clock')).toBe(1); // W-1h only
    expect(published()).toEqual([expect.objectContaining({ srcIp: NEW_SOURCE, incompleteWindow: true })]);
  });

  it('applies the same rule in a dry run of the next window', async () => {
    // Prepare
    const detector = await straddlingDetector();
    detector.clock.set(runAt(W));
    await detector.invoke({});

    // Act
    detector.clock.set(runAt(W + HOUR));
    const dry = await detector.invoke({ mode: 'dry-run' });

    // Assess
    expect(dry.incompleteWindows).toBe(1);
    expect(dry.dryRunAlerts).toEqual([
      expect.objectContaining({ srcIp: NEW_SOURCE, incompleteWindow: true, wouldPublish: true }),
    ]);
  });

  it('carries a record at the end of the bootstrap history into the first scheduled window', async () => {
    // Prepare: a day of history ending at W+1h; the record runs from 09:55 into 10:05
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [
      ...Array.from({ length: 26 }, (_, h) => W - 24 * HOUR + h * HOUR).flatMap((w) =>
        QUIET.flatMap((s) => blocked(w, s, 3)),
      ),
      skipData(W + 55 * MINUTE, W + HOUR + 5 * MINUTE),
      skipData(W - 10 * HOUR + 30 * MINUTE, W - 8 * HOUR + 30 * MINUTE),
    ]);
    detector.clock.set(runAt(W));

    // Act
    const boot = await detector.invoke({ mode: 'bootstrap', days: 1 });
    const stateAfterBoot = await state(detector);
    detector.clock.set(runAt(W + HOUR));
    const next = await detector.invoke({});

    // Assess: 24 history windows, of which W-10h, W-9h, W-8h and W are incomplete
    expect(boot.bootstrap).toMatchObject({ windows: 24, watermark: '2026-11-27T09:00:00Z' });
    expect(boot.incompleteWindows).toBe(4);
    expect(numberAttr(stateAfterBoot, 'clock')).toBe(20);
    expect(numberAttr(stateAfterBoot, 'skipDataThrough')).toBe(W + HOUR);
    expect(next.incompleteWindows).toBe(1);
    expect(numberAttr(await state(detector), 'clock')).toBe(20);
  });

  it('re-evaluates an incomplete latest window in a dry run with nothing due from the clock it was evaluated with', async () => {
    // Prepare: a source seen for three windows, silent for two (zeros the clock counts), then a
    // spike in W, which a SKIPDATA record inside it makes incomplete; the schedule runs each hour
    // (a short history suffices: minDataPoints 4, so the source's spike is compared with its baseline)
    const detector = await newDetector(endpoints, { detectorConfig: { minDataPoints: 4 } });
    const SPIKING = '10.0.7.7';
    endpoints.logs.seed(detector.logGroup, [
      ...[-5, -4, -3, -2, -1, 0].flatMap((h) => QUIET.flatMap((s) => blocked(W + h * HOUR, s, 3))),
      ...[-5, -4, -3].flatMap((h) => blocked(W + h * HOUR, SPIKING, 2)),
      ...blocked(W, SPIKING, 150),
      skipData(W + 20 * MINUTE, W + 25 * MINUTE),
    ]);
    for (const h of [-5, -4, -3, -2, -1, 0]) {
      detector.clock.set(runAt(W + h * HOUR));
      await detector.invoke({});
    }
    const scheduled = published().find((alert) => alert.srcIp === SPIKING);

    // Act: nothing is due, so the dry run re-evaluates W from the baselines it started from
    const dryRun = await detector.invoke({ mode: 'dry-run' });

    // Assess: the same alert, from the same baseline (its zeros counted on the same clock)
    expect(numberAttr(await state(detector), 'clock')).toBe(5);
    expect(scheduled).toMatchObject({ kind: 'spike', incompleteWindow: true });
    expect(dryRun.windows).toEqual(['2026-11-27T09:00:00Z']);
    const again = dryRun.dryRunAlerts?.find((alert) => alert.srcIp === SPIKING);
    expect(again?.baseline).toEqual(scheduled?.baseline);
    expect(again?.alertId).toBe(scheduled?.alertId);
  });
});
