/**
 * The job bands of the spike line (alert-threshold.ts) at their edges:
 * - a learned weekly job's band of quiet runs starts where detect.ts isJobRun starts to
 *   take a count, with growth factors whose quotient and product round differently (the closed
 *   form floor(size / factor) + 1 then needs its correction, one way or the other), and where
 *   twice the compared mean is the larger bound; in a few steps even for a huge job;
 * - smallestSpikeCount where the tail's first spike is a weekly job's run, alone and beside a
 *   daily job moved by an hour whose band of quiet counts lies above, around or below the weekly
 *   job's bound: the engine (evaluateWindow), count by count, is the reference.
 */
import {
  comparedModel,
  grownRunFrom,
  isSpikeCount,
  smallestSpikeCount,
} from '../../lambda/core/alert-threshold';
import type { Baseline } from '../../lambda/core/baseline';
import type { DetectorConfig } from '../../lambda/core/config';
import { evaluateWindow, isJobRun } from '../../lambda/core/detect';
import {
  calendarOf,
  encodeProfile,
  PROFILE_SLOTS,
  quantizeSlotMean,
  type JobMatch,
  type RecurringJob,
} from '../../lambda/core/rhythm';
import { T0, recommendedConfig, storedBaseline, windowInput } from './engine-fixtures';

const SOURCE = '10.0.0.1';
const WEEK = 7 * 86_400_000;

function engine(stored: Baseline, config: DetectorConfig, count: number) {
  const r = evaluateWindow(windowInput({ [SOURCE]: count }, { [SOURCE]: stored }), config);
  const o = r.decisions.find((d) => d.srcIp === SOURCE)?.outcome;
  return { spike: o === 'spike' || o === 'spike-in-cooldown', threshold: r.stats.threshold };
}

/** A learned weekly job at T0's window of the week. */
function weeklyJob(config: DetectorConfig, size: number): RecurringJob {
  const phase = calendarOf(config).place(T0).weekPhase;
  return { phase, period: 'weekly', size, occurrences: 3, last: T0 - WEEK };
}

describe("a learned weekly job's band of quiet runs starts where isJobRun does", () => {
  /**
   * Every count below the job's growth, in the band exactly where the engine takes it for a run
   * of the job (isWeeklyJobRun, against the compared mean): the band's lower edge is the smallest
   * such count, found here by trying each one.
   */
  function expectBandAsEngine(factor: number, size: number, flatMean: number) {
    const config = recommendedConfig({ jobGrowthFactor: factor, minBlockedCount: 1 });
    const job = weeklyJob(config, size);
    const stored = storedBaseline({ mean: flatMean, variance: flatMean + 1, dataPoints: 500, jobs: [job] });
    const model = comparedModel(stored, 100, T0, config);
    const band = model.learnedJob!;
    const spikeFrom = grownRunFrom(band.runs, null, config);
    const match: JobMatch = { job, index: 0, period: 'weekly' };
    let smallestRun: number | undefined;
    for (let x = 0; x <= spikeFrom + 1; x += 1) {
      const run = isJobRun(x, match, model.mean, true, null, config);
      if (run && smallestRun === undefined) smallestRun = x;
      expect({ x, inBand: x >= band.runsFrom && x < spikeFrom }).toEqual({ x, inBand: run });
    }
    return { quietFrom: band.runsFrom, smallestRun };
  }

  // Found by trying every size from 1 to 2000 with the factor 1.1 (products and quotients of
  // 1.1 round apart; 1.2, 1.3, 1.5, 2.5 and 3.3 gave no such size): 187 / 1.1 rounds up to
  // 170.00000000000003, whose floor 170 already has 170 x 1.1 = 187.00000000000003 > 187, so
  // floor(size / factor) + 1 is one too many; 33 / 1.1 rounds down to 29.999999999999996, and
  // 30 x 1.1 is exactly 33, not more, so it is one too few.
  it.each([
    [187, 'the closed form one too many'],
    [363, 'the closed form one too many'],
    [748, 'the closed form one too many'],
    [33, 'the closed form one too few'],
    [264, 'the closed form one too few'],
    [100, 'the closed form right'],
  ])('factor 1.1, a job of %d (%s)', (size) => {
    const { quietFrom, smallestRun } = expectBandAsEngine(1.1, size, 1);
    expect(quietFrom).toBe(smallestRun);
  });

  it('factor 1.1, a job of 187: 170 is a run (170 x 1.1 > 187 in floating point), 169 is not', () => {
    const { quietFrom } = expectBandAsEngine(1.1, 187, 1);
    expect(170 * 1.1 > 187).toBe(true);
    expect(169 * 1.1 > 187).toBe(false);
    expect(quietFrom).toBe(170);
  });

  it('twice the compared mean, where it is the larger bound: the band starts just above it', () => {
    // A job of 150 and a flat mean of 100: half the job is 75, twice the mean 200, so the first
    // run is 201 (200 is not more than twice the mean).
    const { quietFrom, smallestRun } = expectBandAsEngine(2, 150, 100);
    expect(smallestRun).toBe(201);
    expect(quietFrom).toBe(201);
  });

  it('a job of 10^12 records (below the line\'s "never", 2^40): its edge in a few steps', () => {
    // Too many counts to try: the edge is checked as the definition says, the first count whose
    // product with the factor exceeds the size. A search that walked from a far guess (10^12
    // steps) would not return in any test's time.
    const config = recommendedConfig({ jobGrowthFactor: 3, minBlockedCount: 1 });
    const size = 1e12;
    const stored = storedBaseline({ mean: 5, variance: 6, dataPoints: 500, jobs: [weeklyJob(config, size)] });
    const quietFrom = comparedModel(stored, 100, T0, config).learnedJob!.runsFrom;
    expect(quietFrom * 3 > size).toBe(true);
    expect((quietFrom - 1) * 3 > size).toBe(false);
  });
});

describe("smallestSpikeCount where the tail's first spike is a weekly job's run", () => {
  const config = recommendedConfig({ massSpikeMinSources: 0, cooldownMinutes: 0 });
  const SIZE = 18;

  /**
   * A rhythmic source quiet at T0's hour (`at`), busy in office hours, whose next hour holds
   * `next` (a daily job moved by an hour where it stands out), with a learned weekly job of 18
   * at T0. The flat variance is wide (sd 200): no count below several hundred is a burst against
   * the flat baseline, so the weekly job's band decides by isJobRun alone.
   */
  function source(at: number, next: number, background: number, size = SIZE): Baseline {
    const values = Array.from({ length: PROFILE_SLOTS }, (_, slot) => {
      const hour = slot % 24;
      return quantizeSlotMean(hour === 0 ? at : hour === 1 ? next : hour >= 8 && hour < 19 ? 40 : background);
    });
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return storedBaseline({
      mean,
      variance: 40_000,
      dataPoints: 21 * 24,
      profile: encodeProfile(values),
      withinHour: { variance: 10, index: 1.2, count: 21 * 24 },
      jobs: [weeklyJob(config, size)],
    });
  }

  /** The line's answer, checked against the engine count by count up to it and a little past. */
  function lineAsEngine(stored: Baseline) {
    const { threshold } = engine(stored, config, 1);
    const model = comparedModel(stored, 100, T0, config);
    const line = smallestSpikeCount(model, threshold, config);
    expect(line).not.toBeNull();
    let engineFirst: number | undefined;
    for (let x = 0; x <= line! + 20; x += 1) {
      const spike = engine(stored, config, x).spike;
      if (spike && engineFirst === undefined) engineFirst = x;
      expect({ x, line: isSpikeCount(x, model, threshold, config) }).toEqual({ x, line: spike });
    }
    expect(line).toBe(engineFirst);
    // The tail's first spike, without the job or the moved daily job.
    const bare = { ...model };
    delete bare.learnedJob;
    delete bare.movedDailyJob;
    let tailFirst = 1;
    while (!isSpikeCount(tailFirst, bare, threshold, config)) tailFirst += 1;
    // The job's bound: where its run has grown (no spread here: twice its size).
    const job = { ...model.learnedJob!, spikeFrom: grownRunFrom(model.learnedJob!.runs, threshold, config) };
    return { line: line!, model, tailFirst, job, moved: model.movedDailyJob };
  }

  it("alone, below the job's runs by size: a spike of the hour at twice its mean is a run too, the first spike is the job's bound", () => {
    // A job of 40: its runs by size start above half of it, past the tail's first spike, which
    // is at twice the hour's mean or more (spikeRunFrom): the job's run, quiet (isJobRun).
    const { line, tailFirst, job } = lineAsEngine(source(4, 4, 4, 40));
    expect(tailFirst).toBeLessThan(job.runsFrom);
    expect(tailFirst).toBeGreaterThanOrEqual(job.spikeRunFrom);
    expect(line).toBe(job.spikeFrom);
  });

  it("alone: the job's runs are quiet, the first spike is the job's bound", () => {
    const { line, tailFirst, job, moved } = lineAsEngine(source(4, 4, 4));
    expect(moved).toBeUndefined();
    expect(tailFirst).toBeGreaterThanOrEqual(job.runsFrom);
    expect(tailFirst).toBeLessThan(job.spikeFrom);
    expect(line).toBe(job.spikeFrom);
    expect(line).toBe(2 * SIZE);
  });

  it("beside a moved daily job whose quiet band holds the job's bound: the learned job's bound (its grown run)", () => {
    // The learned job decides its own runs, the tail's spikes among them: from its bound up they
    // are the job grown, whatever the moved daily job's band says.
    const { line, tailFirst, job, moved } = lineAsEngine(source(2, 62, 2));
    expect(tailFirst).toBeLessThan(moved!.quietFrom);
    expect(job.spikeFrom).toBeGreaterThan(moved!.quietFrom);
    expect(job.spikeFrom).toBeLessThan(moved!.spikeFrom);
    expect(line).toBe(job.spikeFrom);
  });

  it("beside a moved daily job whose quiet band starts at the job's bound: the learned job's bound", () => {
    // 2 + 69 (quantized 69.006) is 71.006: its band is quiet from 36 (36 x 2 > 71.006, 35 x 2
    // is not), the weekly job's bound 2 x 18.
    const { line, job, moved } = lineAsEngine(source(2, 69, 2));
    expect(job.spikeFrom).toBe(moved!.quietFrom);
    expect(line).toBe(job.spikeFrom);
  });

  it("beside a moved daily job whose quiet band starts above the job's bound: the bound", () => {
    const { line, job, moved } = lineAsEngine(source(2, 150, 2));
    expect(job.spikeFrom).toBeLessThan(moved!.quietFrom);
    expect(line).toBe(job.spikeFrom);
  });

  it("beside a moved daily job whose quiet band ends in the job's runs: the job's bound", () => {
    // The tail's first spike lies in the moved job's band, whose end lies in the weekly job's
    // band of runs (quiet): the first spike is the weekly job's bound, past both.
    const { line, tailFirst, job, moved } = lineAsEngine(source(2, 12, 2));
    expect(tailFirst).toBeGreaterThanOrEqual(moved!.quietFrom);
    expect(tailFirst).toBeLessThan(moved!.spikeFrom);
    expect(moved!.spikeFrom).toBeGreaterThanOrEqual(job.runsFrom);
    expect(moved!.spikeFrom).toBeLessThan(job.spikeFrom);
    expect(line).toBe(job.spikeFrom);
  });
});
