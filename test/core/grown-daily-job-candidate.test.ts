/**
 * A grown daily job's run and the source's jobs (detect.ts, commit 5b391ea "a grown daily job's
 * run that is no burst starts a job of its own"): a run clearly larger than the daily job the
 * profile holds at its hour alerts as that job grown; where the run is no burst it also starts a
 * job candidate (or is the next run of one being learnt), so that a weekly job whose runs lift
 * its weekday slot is learnt from its next runs. Not where the run is a burst (jobEvent has
 * already taken it) nor where it matches a job about to be learnt. A daily job is never taken
 * for a weekly job at this hour (hasWeeklyJobAt), and a daily match keeps its job's phase.
 */
import type { Baseline } from '../../lambda/core/baseline';
import { evaluateWindow, hasWeeklyJobAt, isFlatBurst } from '../../lambda/core/detect';
import { comparedModel, grownRunFrom } from '../../lambda/core/alert-threshold';
import { isGrownRun } from '../../lambda/core/spike-test';
import { upperTailProbability } from '../../lambda/core/tail-probability';
import {
  calendarOf,
  encodeProfile,
  matchJob,
  PROFILE_SLOTS,
  quantizeSlotMean,
  type RecurringJob,
} from '../../lambda/core/rhythm';
import { HOUR, T0, recommendedConfig, storedBaseline, windowInput } from './engine-fixtures';

const SOURCE = '10.0.0.1';
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const config = recommendedConfig({ massSpikeMinSources: 0, cooldownMinutes: 0 });
const calendar = calendarOf(config);
/** T0 (Sunday 1 March 2026, 00:00 UTC) is the first window of the week. */
const PHASE = calendar.place(T0).weekPhase;
/** The same time a day earlier, in the local week. */
const DAY_BEFORE =
  (PHASE - calendar.windowsPerDay + 7 * calendar.windowsPerDay) % (7 * calendar.windowsPerDay);

/**
 * A source with a nightly job at 00:00 of 50 records (4 at every other hour): the profile holds
 * it as a daily job, so 100 (twice it) or more at 00:00 is that job grown. Its flat variance is
 * wide (sd 200 by default): a run of 120 is no burst against the flat baseline; with sd 20, 700
 * is.
 */
function source(jobs?: RecurringJob[], variance = 40_000): Baseline {
  const values = Array.from({ length: PROFILE_SLOTS }, (_, slot) =>
    quantizeSlotMean(slot % 24 === 0 ? 50 : 4),
  );
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return storedBaseline({
    mean,
    variance,
    dataPoints: 21 * 24,
    profile: encodeProfile(values),
    withinHour: { variance: 10, index: 1.2, count: 21 * 24 },
    ...(jobs === undefined ? {} : { jobs }),
  });
}

function run(stored: Baseline, count: number, at = T0, clock = 100) {
  const r = evaluateWindow(
    windowInput({ [SOURCE]: count }, { [SOURCE]: stored }, { windowStart: at, clock }),
    config,
  );
  const alert = r.alerts.find((a) => a.srcIp === SOURCE);
  return {
    outcome: r.decisions.find((d) => d.srcIp === SOURCE)?.outcome,
    grownDailyJob: alert?.recurringJob?.period === 'daily',
    jobs: r.updatedBaselines.get(SOURCE)?.jobs,
    next: r.updatedBaselines.get(SOURCE)!,
    clockAfter: r.clockAfter,
    threshold: r.stats.threshold,
  };
}

/** Is `count` a burst against the source's flat baseline at T0 (isBurst for a rhythmic source)? */
function isBurst(stored: Baseline, count: number): boolean {
  const model = comparedModel(stored, 100, T0, config);
  const flat = { mean: stored.mean, variance: stored.variance, dataPoints: stored.dataPoints };
  expect(model.rhythm).toBeDefined();
  return isFlatBurst(count, flat, { mature: true, rhythmic: true }, run(stored, count).threshold, config);
}

describe("a grown daily job's run that is no burst", () => {
  it('alerts as the daily job grown and starts a job candidate at its time', () => {
    const stored = source();
    expect(grownRunFrom(comparedModel(stored, 100, T0, config).dailyJob!, null, config)).toBe(100);
    expect(isBurst(stored, 120)).toBe(false);
    const r = run(stored, 120);
    expect({ outcome: r.outcome, grown: r.grownDailyJob }).toEqual({ outcome: 'spike', grown: true });
    expect(r.jobs).toEqual([{ phase: PHASE, size: 120, occurrences: 1, last: T0 }]);
  });

  it("so that the next week's run of its size is the job's second occurrence, learnt as weekly", () => {
    const first = run(source(), 120);
    // A week later: the windows between were complete and the source was not in them.
    const second = run(first.next, 124, T0 + WEEK, first.clockAfter + 7 * 24 - 1);
    expect(second.jobs).toEqual([
      // The spread of its runs: (124 - 120)^2, times 1 / 2 for the first run's own error.
      {
        phase: PHASE,
        period: 'weekly',
        size: 122,
        occurrences: 2,
        last: T0 + WEEK,
        spread: 8,
        spreadRuns: 1,
      },
    ]);
  });

  it('is the next run of a candidate a day before, at the same time of day: a daily job of two', () => {
    const candidate: RecurringJob = { phase: DAY_BEFORE, size: 120, occurrences: 1, last: T0 - DAY };
    const r = run(source([candidate]), 120);
    expect(r.grownDailyJob).toBe(true);
    // The job keeps the window of the week of its first occurrence (RecurringJob.phase).
    expect(r.jobs).toEqual([
      { phase: DAY_BEFORE, period: 'daily', size: 120, occurrences: 2, last: T0, spread: 0, spreadRuns: 1 },
    ]);
  });

  it("learns a job seen twice from its third run, the hour's spike being its run (isJobRun), not a grown daily job", () => {
    // Seen twice, daily, first a week ago at this very window of the week; a third run learns it.
    const daily: RecurringJob = { phase: PHASE, period: 'daily', size: 120, occurrences: 2, last: T0 - DAY };
    expect(config.jobOccurrencesToLearn).toBe(3);
    const r = run(source([daily]), 120);
    expect({ outcome: r.outcome, grown: r.grownDailyJob }).toEqual({
      outcome: 'recurring-job',
      grown: false,
    });
    expect(r.jobs).toEqual([{ ...daily, occurrences: 3, last: T0, spread: 0, spreadRuns: 1 }]);
  });
});

describe("a grown daily job's run that is a burst", () => {
  it('starts one candidate, from the burst, not a second one', () => {
    const stored = source(undefined, 400);
    expect(grownRunFrom(comparedModel(stored, 100, T0, config).dailyJob!, null, config)).toBe(100);
    expect(isBurst(stored, 700)).toBe(true);
    const r = run(stored, 700);
    expect({ outcome: r.outcome, grown: r.grownDailyJob }).toEqual({ outcome: 'spike', grown: true });
    expect(r.jobs).toEqual([{ phase: PHASE, size: 700, occurrences: 1, last: T0 }]);
  });
});

describe('hasWeeklyJobAt and a daily job', () => {
  it('a daily job first seen at this window of the week is no weekly job: the daily job grown alerts', () => {
    const daily: RecurringJob = { phase: PHASE, period: 'daily', size: 120, occurrences: 2, last: T0 - DAY };
    // Well above the hour's level (2 x 50), at this very window of the week: still a daily job's.
    expect(hasWeeklyJobAt([daily], T0, 50, config)).toBe(false);
    // A job seen once there may be a weekly job's first run, and a weekly job is one.
    const { period: _daily, ...once } = { ...daily, occurrences: 1 };
    expect(hasWeeklyJobAt([once], T0, 50, config)).toBe(true);
    expect(hasWeeklyJobAt([{ ...daily, period: 'weekly' }], T0, 50, config)).toBe(true);
  });
});

describe('matchJob, a daily match', () => {
  it("gives no new phase: a job's phase moves only for a weekly job on UTC time", () => {
    const candidate: RecurringJob = { phase: DAY_BEFORE, size: 120, occurrences: 1, last: T0 - DAY };
    const match = matchJob([candidate], T0, PHASE, calendar.windowsPerDay);
    expect(match).toEqual({ job: candidate, index: 0, period: 'daily' });
    expect(match).not.toHaveProperty('phase');
  });
});

describe("a daily job's own variation (its slot's spread, isGrownRun)", () => {
  // A fleet-sized threshold: with one source and the default budget it would be 1 / 24.
  const fleet = recommendedConfig({
    massSpikeMinSources: 0,
    cooldownMinutes: 0,
    falseAlertBudgetPerDay: 0.001,
  });
  /** The source above with its slots' own spreads: `atJob` at the job's hour (00:00), Poisson-like elsewhere. */
  const withSpread = (atJob: number): Baseline => ({
    ...source(),
    slotSpread: encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, slot) => quantizeSlotMean(slot % 24 === 0 ? atJob : 4)),
    ),
  });
  const decide = (stored: Baseline, count: number) => {
    const r = evaluateWindow(
      windowInput({ [SOURCE]: count }, { [SOURCE]: stored }, { windowStart: T0, clock: 100 }),
      fleet,
    );
    return {
      outcome: r.decisions.find((d) => d.srcIp === SOURCE)?.outcome,
      grown: r.alerts.find((a) => a.srcIp === SOURCE)?.recurringJob?.period === 'daily',
      jobs: r.updatedBaselines.get(SOURCE)?.jobs,
      threshold: r.stats.threshold!,
    };
  };
  /** The spike line's bound for the daily job (alert-threshold.ts), at the engine's threshold. */
  const grownFrom = (stored: Baseline, threshold: number): number => {
    const job = comparedModel(stored, 100, T0, fleet).dailyJob;
    expect(job).toBeDefined();
    return grownRunFrom(job!, threshold, fleet);
  };

  it('is the factor times the level without a spread, or with one resting on a single run', () => {
    expect(grownRunFrom({ size: 50, samples: 0 }, 1e-4, fleet)).toBe(100);
    expect(grownRunFrom({ size: 50, spread: 900, samples: 1 }, 1e-4, fleet)).toBe(100);
    expect(grownRunFrom({ size: 50, spread: 900, samples: 2 }, null, fleet)).toBe(100);
  });

  it("is where the run is beyond the threshold on the job's own runs, and never below the factor", () => {
    // Steady runs (sd 10 about 50): twice the level is already far out, the factor decides.
    expect(grownRunFrom({ size: 50, spread: 100, samples: 8 }, 1e-4, fleet)).toBe(100);
    // Runs that vary (sd 30): twice the level is well inside them.
    const varying = { size: 50, spread: 900, samples: 8 };
    const bound = grownRunFrom(varying, 1e-4, fleet);
    expect(bound).toBeGreaterThan(150);
    expect(upperTailProbability(bound, 50, 900, fleet.meanFloor)).toBeLessThan(1e-4);
    expect(upperTailProbability(bound - 1, 50, 900, fleet.meanFloor)).toBeGreaterThanOrEqual(1e-4);
    expect([isGrownRun(bound, varying, 1e-4, fleet), isGrownRun(bound - 1, varying, 1e-4, fleet)]).toEqual([
      true,
      false,
    ]);
    // A tighter threshold (a larger fleet) moves it further out.
    expect(grownRunFrom(varying, 1e-6, fleet)).toBeGreaterThan(bound);
  });

  it('keeps a job whose runs vary (skipped nights, sizes) from alerting as grown within that variation, on the spike line too', () => {
    const varying = withSpread(900);
    const within = decide(varying, 120);
    expect({ outcome: within.outcome, grown: within.grown }).toEqual({ outcome: 'normal', grown: false });
    // Still a run clearly above the job's level: it starts a job candidate, as a grown run does.
    expect(within.jobs).toEqual([{ phase: PHASE, size: 120, occurrences: 1, last: T0 }]);
    const bound = grownFrom(varying, within.threshold);
    expect(bound).toBeGreaterThan(120);
    expect(decide(varying, bound)).toMatchObject({ outcome: 'spike', grown: true });
    expect(decide(varying, bound - 1)).toMatchObject({ outcome: 'normal', grown: false });
  });

  it('alerts on a steady job grown to twice its level, as without the spread', () => {
    const steady = withSpread(60);
    const r = decide(steady, 100);
    expect({ outcome: r.outcome, grown: r.grown }).toEqual({ outcome: 'spike', grown: true });
    expect(grownFrom(steady, r.threshold)).toBe(100);
  });
});
