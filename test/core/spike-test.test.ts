/**
 * spikeTail, the recommended preset's test on one count: which tail it computes for which model.
 * (Its shortcuts and the estimation-error correction are pinned where the decisions are made,
 * recommended-preset.test.ts and alert-threshold.test.ts.)
 */
import { dailyJobRuns, isGrownRun, jobRuns, MIN_SPREAD_RUNS, spikeTail } from '../../lambda/core/spike-test';
import { estimationAdjustedTail, upperTailProbability } from '../../lambda/core/tail-probability';

const config = { meanFloor: 1, baselineWindow: 168 };

describe('spikeTail', () => {
  // An hour's model: mean 10, variance a m + phi m^2 = 1.5 * 10 + 0.05 * 100 = 20.
  const rhythm = { a: 1.5, phi: 0.05, relativeVariance: 0.2 };
  const model = { mean: 10, variance: 20, dataPoints: 500, samples: 10_000 };
  const threshold = 0.01;

  it("averages a rhythm model's tail over the uncertainty of the hour's mean: heavier than the plug-in tail", () => {
    for (const x of [30, 40, 60]) {
      const flat = spikeTail(x, model, threshold, config)!;
      const hourly = spikeTail(x, { ...model, rhythm }, threshold, config)!;
      // The flat model's is its plug-in tail, raised a little for estimation error (10,000 samples).
      const plugIn = upperTailProbability(x, 10, 20, 1);
      expect(flat).toBeGreaterThanOrEqual(plugIn);
      expect(flat).toBeLessThan(1.1 * plugIn);
      expect(hourly).toBeGreaterThan(2 * flat);
    }
  });

  it('is the plug-in tail for a rhythm model whose mean is certain', () => {
    const certain = { ...rhythm, relativeVariance: 0 };
    for (const x of [30, 40, 60])
      expect(spikeTail(x, { ...model, rhythm: certain }, threshold, config)).toBeCloseTo(
        spikeTail(x, model, threshold, config)!,
        12,
      );
  });
});

describe("isGrownRun: a job's run has grown", () => {
  const config = { jobGrowthFactor: 2, meanFloor: 0.5 };
  const varying = { size: 50, spread: 900, samples: 8 };

  it('is at the factor without a spread, whatever the runs counted, and with a spread over fewer than two runs', () => {
    expect(MIN_SPREAD_RUNS).toBe(2);
    for (const job of [
      { size: 50, samples: 0 },
      { size: 50, samples: 8 },
      { ...varying, samples: 1 },
    ]) {
      expect([isGrownRun(99, job, 1e-4, config), isGrownRun(100, job, 1e-4, config)]).toEqual([false, true]);
    }
  });

  it('is at the factor for a small job without a spread, however many runs it has (not a Poisson tail)', () => {
    // Poisson(3) puts 6 at a tail of 0.08: a job of 3 with no spread still has grown at 6.
    expect(isGrownRun(6, { size: 3, samples: 8 }, 1e-4, config)).toBe(true);
  });

  it('is at the factor for a steady job, whose spread is no larger than its size (not a Poisson tail)', () => {
    // Poisson(20) puts 40 at a tail of 5e-5, beyond a fleet's threshold of 4e-5: a steady job of
    // 20 that doubles has grown all the same; one whose runs vary more than that is judged by them.
    for (const spread of [0, 4, 20])
      expect([
        isGrownRun(39, { size: 20, spread, samples: 5 }, 4e-5, config),
        isGrownRun(40, { size: 20, spread, samples: 5 }, 4e-5, config),
      ]).toEqual([false, true]);
    expect(isGrownRun(40, { size: 20, spread: 21, samples: 5 }, 4e-5, config)).toBe(false);
  });

  it('takes a spread over exactly two runs', () => {
    expect(isGrownRun(100, { ...varying, samples: 2 }, 1e-4, config)).toBe(false);
  });

  it("is strictly beyond the threshold on the job's own runs: a tail equal to it is not", () => {
    const tail = upperTailProbability(200, 50, 900, config.meanFloor);
    expect(isGrownRun(200, varying, tail, config)).toBe(false);
    expect(isGrownRun(200, varying, tail * (1 + 1e-9), config)).toBe(true);
  });

  describe("for a daily job the profile holds (a slot's mean and spread, estimates from its windows)", () => {
    const slot = { ...varying, samples: 12, slotEstimate: true };

    it('is beyond the threshold on the tail corrected for those estimates, which a plain tail below it may not be', () => {
      const threshold = 1e-4;
      const plain = (x: number) => upperTailProbability(x, 50, 900, config.meanFloor);
      const corrected = (x: number, windows: number) =>
        estimationAdjustedTail(plain(x), 50, 900, config.meanFloor, windows);
      // 300 is beyond the threshold on the plain tail, not on the corrected one: a learnt job has
      // grown there, the slot's daily job has not.
      expect([plain(300) < threshold, corrected(300, 12) < threshold]).toEqual([true, false]);
      expect(isGrownRun(300, varying, threshold, config)).toBe(true);
      expect(isGrownRun(300, slot, threshold, config)).toBe(false);
      // Where the corrected tail is beyond it, it has grown: over 40 windows, from some count past 300.
      const wider = { ...slot, samples: 40 };
      let bound = 300;
      while (!(corrected(bound, 40) < threshold)) bound += 1;
      expect(bound).toBeGreaterThan(300);
      expect([
        isGrownRun(bound - 1, wider, threshold, config),
        isGrownRun(bound, wider, threshold, config),
      ]).toEqual([false, true]);
      // Fewer windows behind the slot, a wider tail: not yet there.
      expect(isGrownRun(bound, slot, threshold, config)).toBe(false);
    });

    it('is at the factor where a run of the factor is already beyond the threshold on its runs (a steady job)', () => {
      // Runs of 50 with a spread of 60 (a little more than counts of 50 vary by chance): 100 is
      // beyond a fleet's threshold of 4e-5 on them, but not once corrected for 12 windows.
      const steady = { size: 50, spread: 60, samples: 12, slotEstimate: true };
      expect(upperTailProbability(100, 50, 60, config.meanFloor)).toBeLessThan(4e-5);
      expect(
        estimationAdjustedTail(
          upperTailProbability(100, 50, 60, config.meanFloor),
          50,
          60,
          config.meanFloor,
          12,
        ),
      ).toBeGreaterThan(4e-5);
      expect([isGrownRun(99, steady, 4e-5, config), isGrownRun(100, steady, 4e-5, config)]).toEqual([
        false,
        true,
      ]);
    });
  });
});

describe('jobRuns and dailyJobRuns', () => {
  it('give a job without a spread no spread field at all, and no runs behind it', () => {
    expect(jobRuns({ size: 100 })).toStrictEqual({ size: 100, samples: 0 });
    expect(jobRuns({ size: 100, spread: 400, spreadRuns: 3 })).toStrictEqual({
      size: 100,
      spread: 400,
      samples: 3,
    });
    // A daily job the profile holds is a slot's estimate (isGrownRun corrects its tail for that).
    expect(dailyJobRuns({ dailyJob: 60 })).toStrictEqual({ size: 60, samples: 0, slotEstimate: true });
    expect(dailyJobRuns({ dailyJob: 60, dailyJobSpread: 90, dailyJobSamples: 12 })).toStrictEqual({
      size: 60,
      spread: 90,
      samples: 12,
      slotEstimate: true,
    });
  });
});
