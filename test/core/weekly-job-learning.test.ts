/**
 * Weekly jobs learnt whatever their first run and the clocks do (docs/design.md "Recurring jobs":
 * "it costs two alerts per job at most, none after a 30-day bootstrap"):
 * - a weekly job whose first run falls in the source's first day, while its baseline warms up
 *   and takes that run in full, or is its very first window, is still learnt from its next runs
 *   (review 6, finding 1);
 * - a weekly job at a fixed UTC time stays quiet when the clocks change in `timezone`, its
 *   runs a whole number of weeks apart in UTC but an hour apart in the local week (finding 2).
 * One source, hourly windows, deterministic counts.
 */
import { comparedModel, isSpikeCount } from '../../lambda/core/alert-threshold';
import type { Baseline } from '../../lambda/core/baseline';
import type { DetectorConfig } from '../../lambda/core/config';
import { evaluateWindow, type Alert, type Outcome } from '../../lambda/core/detect';
import { HOUR, config as rhythmConfig, ONE_OF_A_FLEET } from './rhythm-fixtures';

const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const SOURCE = '10.0.0.7';
/** A background of a few records an hour, varied but the same on every run. */
const BACKGROUND = [2, 4, 1, 3, 5, 2, 0, 3, 6, 2, 1, 4, 3, 2, 5, 1, 3];
/** The job's runs, a little different each week. */
const JOB_SIZES = [150, 162, 141, 155, 170, 148, 158, 144, 166, 151, 160, 147];

interface JobRun {
  at: string;
  count: number;
  outcome: Outcome | undefined;
  alert: Alert | undefined;
  /** What the spike line (alert-threshold.ts) says of this count: it must agree with the engine. */
  lineSays: boolean;
}

/** `weeks` weeks of hourly windows from `start`, the job at `start + jobOffset` every week. */
function runJob(
  cfg: DetectorConfig,
  start: number,
  weeks: number,
  jobOffset: number,
  background = BACKGROUND,
  jobSizes = JOB_SIZES,
): JobRun[] {
  let stored: Baseline | undefined;
  let clock = 0;
  const runs: JobRun[] = [];
  for (let w = 0; w < weeks * 7 * 24; w += 1) {
    const t = start + w * HOUR;
    const week = Math.floor((t - start - jobOffset) / WEEK);
    const isJob = t - start >= jobOffset && (t - start - jobOffset) % WEEK === 0;
    const count = isJob ? jobSizes[week % jobSizes.length]! : background[w % background.length]!;
    const baselines = new Map(stored === undefined ? [] : [[SOURCE, stored]]);
    const counts = new Map(count > 0 ? [[SOURCE, count]] : []);
    const result = evaluateWindow({ windowStart: t, counts, complete: true, baselines, clock }, cfg);
    if (isJob) {
      const lineSays =
        stored !== undefined &&
        isSpikeCount(count, comparedModel(stored, clock, t, cfg), result.stats.threshold, cfg);
      runs.push({
        at: new Date(t).toISOString(),
        count,
        outcome: result.decisions.find((d) => d.srcIp === SOURCE)?.outcome,
        alert: result.alerts.find((a) => a.srcIp === SOURCE),
        lineSays,
      });
    }
    stored = result.updatedBaselines.get(SOURCE) ?? stored;
    clock = result.clockAfter;
  }
  return runs;
}

describe('a weekly job whose first run falls in the first day of history', () => {
  // Wednesday 3 June 2026, 00:00 UTC; the job at 03:00 that day, the source's fourth window.
  const start = Date.UTC(2026, 5, 3);
  const runs = runJob(rhythmConfig(ONE_OF_A_FLEET), start, 12, 3 * HOUR);

  it('is learnt from its next runs: quiet from its third, however the first taught the baseline', () => {
    expect(runs.map((r) => r.at.slice(0, 10))).toHaveLength(12);
    // The first run is the source's first day (warming up); the second may alert, as any
    // job's second occurrence may; from the third on every run is the job's, and quiet.
    for (const run of runs.slice(2)) {
      expect({ at: run.at, outcome: run.outcome, alert: run.alert?.recurringJob }).toEqual({
        at: run.at,
        outcome: 'recurring-job',
        alert: undefined,
      });
    }
  });

  it('is never taken for a daily job grown', () => {
    expect(runs.filter((r) => r.alert?.recurringJob !== undefined)).toEqual([]);
  });

  it("agrees with the spike line at the job's runs", () => {
    for (const run of runs.slice(1))
      expect({ at: run.at, spike: run.lineSays }).toEqual({
        at: run.at,
        spike: run.alert !== undefined,
      });
  });
});

describe("a weekly job whose first run is the source's first window", () => {
  // The job at 00:00 on Wednesday 3 June 2026: the new source's baseline starts at its size, and
  // its flat variance keeps the later runs from being bursts for months; a quieter background
  // and runs that vary more than above.
  const runs = runJob(
    rhythmConfig(ONE_OF_A_FLEET),
    Date.UTC(2026, 5, 3),
    12,
    0,
    [1, 0, 2, 1, 0, 1, 3, 0, 1, 2, 0, 1, 1],
    [112, 90, 130, 100, 150, 85, 120, 95, 140, 105, 125, 98],
  );

  it('is learnt from its next runs too: two alerts at most, none after a 30-day bootstrap', () => {
    expect(runs[0]!.outcome).toBe('new-source');
    const spikes = runs.filter((r) => r.alert?.kind === 'spike');
    expect(spikes.length).toBeLessThanOrEqual(2);
    expect(spikes.filter((r) => r.at >= '2026-07-03')).toEqual([]);
    expect(runs.slice(5).filter((r) => r.outcome !== 'recurring-job')).toEqual([]);
  });

  it("agrees with the spike line at the job's runs", () => {
    for (const run of runs.slice(1))
      expect({ at: run.at, spike: run.lineSays }).toEqual({ at: run.at, spike: run.alert !== undefined });
  });
});

describe('a weekly job on UTC time when the clocks change in `timezone`', () => {
  // Monday 2 February 2026, 00:00 UTC; the job every Wednesday at 02:00 UTC, which is 03:00 in
  // Berlin until 29 March and 04:00 after it (and back to 03:00 on 25 October).
  const start = Date.UTC(2026, 1, 2);
  const cfg = rhythmConfig({ ...ONE_OF_A_FLEET, timezone: 'Europe/Berlin' });

  it('stays quiet after the clocks go forward', () => {
    const runs = runJob(cfg, start, 12, 2 * DAY + 2 * HOUR);
    const afterChange = runs.filter((r) => r.at >= '2026-03-29');
    expect(afterChange.length).toBeGreaterThanOrEqual(4);
    expect(runs.slice(2).filter((r) => r.outcome !== 'recurring-job')).toEqual([]);
    expect(runs.filter((r) => r.alert !== undefined && r.at >= '2026-03-01')).toEqual([]);
  });

  it('stays quiet after the clocks go back', () => {
    // From Monday 7 September 2026: the change is on Sunday 25 October.
    const runs = runJob(cfg, Date.UTC(2026, 8, 7), 12, 2 * DAY + 2 * HOUR);
    expect(runs.filter((r) => r.at >= '2026-10-25').length).toBeGreaterThanOrEqual(4);
    expect(runs.slice(2).filter((r) => r.outcome !== 'recurring-job')).toEqual([]);
  });
});
