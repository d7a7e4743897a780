/**
 * The source's own tail (spike-test.ts): the exceedance score, its expectation where the model is
 * right, the widening it gives, how it is folded and decayed, and what it does to a fleet with
 * heavy-tailed sources among negative binomial ones.
 */
import { foldedBaseline, foldZeros, type Baseline } from '../../lambda/core/baseline';
import { evaluateWindow } from '../../lambda/core/detect';
import { gaussian, negativeBinomial, poisson, seededRandom } from '../../lambda/core/random';
import {
  exceedanceScore,
  MAX_TAIL_SCORE,
  MAX_TAIL_WIDENING,
  spikeTail,
  stepPosition,
  TAIL_LEVEL,
  TAIL_MEMORY,
  tailWidening,
  widenedTail,
  widenedThreshold,
} from '../../lambda/core/spike-test';
import fc from 'fast-check';
import { pointProbability, tailReaches, upperTailProbability } from '../../lambda/core/tail-probability';
import { encodeProfile, PROFILE_SLOTS, quantizeSlotMean, rhythmModel } from '../../lambda/core/rhythm';
import { escuConfig, HOUR, recommendedConfig, storedBaseline, T0, windowInput } from './engine-fixtures';

const config = recommendedConfig();
const SOURCE = '123456789012|10.0.0.1';
const AT = { source: SOURCE, windowStart: T0 };
const EXPECTED = TAIL_LEVEL * (1 - Math.exp(-MAX_TAIL_SCORE));

/** E[score] under the model itself: each count's probability times its score averaged over positions. */
function expectedScore(mean: number, variance: number): number {
  let sum = 0;
  // The positions of 256 windows' hashes: as good as a uniform grid for this average.
  const positions = 256;
  for (let k = 0; k < 100_000; k += 1) {
    const p = pointProbability(k, mean, variance, config.meanFloor);
    if (k > mean * 3 + 200 && p < 1e-12) break;
    if (!(p > 0)) continue;
    let scores = 0;
    for (let i = 0; i < positions; i += 1)
      scores += exceedanceScore(
        k,
        { mean, variance },
        { source: SOURCE, windowStart: T0 + i * HOUR },
        0,
        config,
      );
    sum += (p * scores) / positions;
  }
  return sum;
}

describe('exceedanceScore', () => {
  it.each([
    ['Poisson, mean 2', 2, 2],
    ['Poisson, mean 40', 40, 40],
    ['negative binomial, mean 0.8, size 0.5', 0.8, 0.8 + 0.8 ** 2 / 0.5],
    ['negative binomial, mean 3, size 3', 3, 3 + 9 / 3],
    ['negative binomial, mean 50, size 3', 50, 50 + 2500 / 3],
    ['negative binomial, mean 200, size 9', 200, 200 + 40_000 / 9],
  ])('averages TAIL_LEVEL x E[min(Exp(1), cap)] where the model is right: %s', (_name, mean, variance) => {
    expect(expectedScore(mean, variance) / EXPECTED).toBeCloseTo(1, 1);
  });

  it('is 0 at or below 1.5 sd above the mean, and for a count that would spike on the model', () => {
    const model = { mean: 50, variance: 50 + 2500 / 3 };
    expect(exceedanceScore(50 + 1.5 * Math.sqrt(model.variance), model, AT, 1e-5, config)).toBe(0);
    // Beyond the 1-in-100 line: it scores, unless its tail is under the window's threshold.
    expect(exceedanceScore(200, model, AT, 1e-5, config)).toBeGreaterThan(0);
    expect(exceedanceScore(200, model, AT, 1e-2, config)).toBe(0);
    // Under minBlockedCount a count cannot spike: it scores whatever the threshold.
    const sparse = { mean: 0.3, variance: 0.6 };
    expect(exceedanceScore(6, sparse, AT, 1e-2, config)).toBeGreaterThan(0);
  });

  it('is at most MAX_TAIL_SCORE, however far out', () => {
    expect(exceedanceScore(10_000, { mean: 50, variance: 900 }, AT, 0, config)).toBe(MAX_TAIL_SCORE);
    expect(exceedanceScore(60, { mean: 2, variance: 2 }, AT, 0, config)).toBe(MAX_TAIL_SCORE);
  });

  it('places a count on its step by a hash of the source and window: uniform, and the same each time', () => {
    const positions = Array.from({ length: 20_000 }, (_, w) =>
      stepPosition('123456789012|10.0.0.1', T0 + w * HOUR),
    );
    expect(positions.every((p) => p >= 0 && p < 1)).toBe(true);
    for (let decile = 0; decile < 10; decile += 1) {
      const share = positions.filter((p) => Math.floor(p * 10) === decile).length / positions.length;
      expect(share).toBeGreaterThan(0.09);
      expect(share).toBeLessThan(0.11);
    }
    expect(stepPosition('123456789012|10.0.0.1', T0)).toBe(positions[0]);
    expect(stepPosition('123456789012|10.0.0.2', T0)).not.toBe(positions[0]);
  });
});

/** exceedanceScore as its definition reads, with the tail always computed (no shortcut). */
function scoreByDefinition(
  x: number,
  model: { mean: number; variance: number },
  at: { source: string; windowStart: number },
  threshold: number,
): number {
  const m = Math.max(model.mean, config.meanFloor);
  if (!(x > m + 1.5 * Math.sqrt(Math.max(model.variance, m)))) return 0;
  const tail = upperTailProbability(x, model.mean, model.variance, config.meanFloor);
  const step = pointProbability(x, model.mean, model.variance, config.meanFloor);
  const u = Math.max(0, tail - (1 - stepPosition(at.source, at.windowStart)) * step);
  if (!(u < TAIL_LEVEL) || (x >= config.minBlockedCount && !(tail >= threshold))) return 0;
  return Math.min(Math.log(TAIL_LEVEL / u), MAX_TAIL_SCORE);
}

describe('tailReaches, the shortcut that spares most exceedance scores their incomplete beta', () => {
  it('says "reached" only where P(X > x) + weight P(X = x) is at least the level', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3_000 }),
        fc.double({ min: 0, max: 1_000, noNaN: true }),
        fc.double({ min: 0, max: 30, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.constantFrom(1e-4, 1e-3, 0.01, 0.1),
        (x, mean, dispersion, weight, level) => {
          const variance = mean * (1 + dispersion);
          if (!tailReaches(x, weight, mean, variance, config.meanFloor, level)) return;
          const tail = upperTailProbability(x, mean, variance, config.meanFloor);
          const point = pointProbability(x, mean, variance, config.meanFloor);
          expect(tail - (1 - weight) * point).toBeGreaterThanOrEqual(level);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('shows it for counts a little past the mean, and not for counts beyond the line', () => {
    const model = { mean: 50, variance: 50 + 2500 / 3 }; // sd 29.7
    expect(tailReaches(100, 0.5, model.mean, model.variance, 0.5, TAIL_LEVEL)).toBe(true);
    expect(tailReaches(200, 0.5, model.mean, model.variance, 0.5, TAIL_LEVEL)).toBe(false);
    expect(tailReaches(4, 0.5, 1, 1, 0.5, TAIL_LEVEL)).toBe(true); // Poisson(1): P(X > 4) = 0.0037, P(X = 4) = 0.015
    expect(tailReaches(4, 0, 1, 1, 0.5, TAIL_LEVEL)).toBe(false);
  });

  it('never says "reached" below the line, on a grid of the models and counts exceedanceScore asks about', () => {
    // Counts beyond mean + 1.5 sd (where exceedanceScore asks), Poisson and over-dispersed,
    // means on both sides of the floor, every kind of step position.
    const wrong: object[] = [];
    for (const mean of [0.1, 0.4, 1, 2.5, 7, 30, 150]) {
      for (const dispersion of [0, 0.3, 1.5, 8, 40]) {
        const variance = mean * (1 + dispersion);
        const m = Math.max(mean, config.meanFloor);
        const sd = Math.sqrt(Math.max(variance, m));
        for (let x = Math.floor(m + 1.5 * sd) + 1; x <= m + 7 * sd + 3; x += 1) {
          const tail = upperTailProbability(x, mean, variance, config.meanFloor);
          const point = pointProbability(x, mean, variance, config.meanFloor);
          for (const weight of [0, 0.05, 0.3, 0.6, 0.95]) {
            for (const level of [TAIL_LEVEL, 1e-3]) {
              const value = tail - (1 - weight) * point;
              if (tailReaches(x, weight, mean, variance, config.meanFloor, level) && !(value >= level))
                wrong.push({ x, mean, variance, weight, level, value });
            }
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps its margin: "not shown" for a level a hair above the value, "reached" for one a little below', () => {
    // Counts far enough out that the terms it adds soon make up the whole tail, so its lower
    // bound comes within rounding of the value: only the margin then tells the two levels apart.
    for (const [x, mean, variance, weight] of [
      [10, 1, 1, 0.5],
      [30, 5, 10, 0.3],
      [6, 2, 2, 0.9],
    ] as const) {
      const value =
        upperTailProbability(x, mean, variance, config.meanFloor) -
        (1 - weight) * pointProbability(x, mean, variance, config.meanFloor);
      expect(tailReaches(x, weight, mean, variance, config.meanFloor, value * (1 + 1e-7))).toBe(false);
      expect(tailReaches(x, weight, mean, variance, config.meanFloor, value * (1 - 1e-5))).toBe(true);
    }
  });

  it('leaves every score as the definition gives it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000 }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.constantFrom(0, 1e-6, 1e-4, 1e-2),
        (x, mean, dispersion, window, threshold) => {
          const model = { mean, variance: mean * (1 + dispersion) };
          const at = { source: SOURCE, windowStart: T0 + window * HOUR };
          expect(exceedanceScore(x, model, at, threshold, config)).toBe(
            scoreByDefinition(x, model, at, threshold),
          );
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('tailWidening', () => {
  const N = config.baselineWindow;
  it('is 1 without a score, at the expected score, and within a standard deviation of noise above it', () => {
    expect(tailWidening(undefined, 2 * N, config)).toBe(1);
    expect(tailWidening(0, 2 * N, config)).toBe(1);
    expect(tailWidening(EXPECTED, 2 * N, config)).toBe(1);
    const sd = Math.sqrt((2 * TAIL_LEVEL) / (2 * N)) / TAIL_LEVEL;
    expect(tailWidening(EXPECTED * (1 + 0.99 * sd), 2 * N, config)).toBe(1);
  });

  it('grows with the score beyond noise, at most MAX_TAIL_WIDENING', () => {
    const at = (ratio: number) => tailWidening(EXPECTED * ratio, 2 * N, config);
    expect(at(1.5)).toBeGreaterThan(1);
    expect(at(1.7)).toBeGreaterThan(at(1.5));
    expect(at(10)).toBe(MAX_TAIL_WIDENING);
  });

  it('asks more of a young source: the same score widens less on fewer windows', () => {
    expect(tailWidening(EXPECTED * 1.6, 100, config)).toBeLessThan(
      tailWidening(EXPECTED * 1.6, 2 * N, config),
    );
  });

  it('widens the tail exactly where it tightens the threshold', () => {
    for (const w of [1, 1.2, MAX_TAIL_WIDENING])
      for (const t of [1e-3, 4e-5, 1e-7]) {
        const tight = widenedThreshold(t, w);
        expect(tight).toBeLessThanOrEqual(t);
        expect(widenedTail(tight * 0.999, w)).toBeLessThan(t);
        expect(widenedTail(tight * 1.001, w)).toBeGreaterThan(t);
      }
    expect(widenedThreshold(0.5, 2)).toBe(0.5);
    expect(widenedTail(0.02, 2)).toBe(0.02);
  });

  it('spikeTail decides on the widened tail: a count that spikes on the model does not on a widened one', () => {
    const model = { mean: 50, variance: 900, dataPoints: 1440 };
    const threshold = 4e-5;
    const x = 280;
    expect(spikeTail(x, model, threshold, config)!).toBeLessThan(threshold);
    const widened = spikeTail(x, { ...model, tailWidening: MAX_TAIL_WIDENING }, threshold, config);
    expect(widened === undefined || widened >= threshold).toBe(true);
  });
});

describe('the tail score in the baseline', () => {
  const base = storedBaseline({ mean: 20, variance: 120, dataPoints: 2000 });
  it('is absent until a window scores, then a running mean over TAIL_MEMORY baseline windows', () => {
    const quiet = foldedBaseline(base, 20, T0, 101, config);
    expect(quiet.tailScore).toBeUndefined();
    const scored = foldedBaseline(base, 80, T0, 101, config, 2);
    expect(scored.tailScore).toBeCloseTo(2 / (TAIL_MEMORY * config.baselineWindow), 12);
    const next = foldedBaseline(scored, 20, T0 + HOUR, 102, config);
    expect(next.tailScore).toBeCloseTo(
      scored.tailScore! * (1 - 1 / (TAIL_MEMORY * config.baselineWindow)),
      12,
    );
  });

  it.each([
    ['young', 300],
    ['mature', 5000],
  ])('decays over missed windows as folding that many zero-score windows does (%s)', (_name, dataPoints) => {
    let folded: Baseline = { ...base, dataPoints, tailScore: 0.03 };
    const closed = foldZeros(folded, 2500, config);
    for (let i = 0; i < 2500; i += 1) folded = foldedBaseline(folded, 0, T0 + i * HOUR, 101 + i, config);
    expect(closed.tailScore!).toBeCloseTo(folded.tailScore!, 10);
  });

  it("is taught by a source's other hours, not by its daily job's hour (its own spread and rules judge that)", () => {
    // Every hour at 4 but 00:00 at 60, the profile's daily job; the other hours vary about their
    // 4 with a variance of 8. A fleet's threshold (4e-5), so that a count beyond the 1-in-100 line
    // is no spike.
    const fleet = recommendedConfig({
      massSpikeMinSources: 0,
      cooldownMinutes: 0,
      falseAlertBudgetPerDay: 0.001,
    });
    const values = Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s % 24 === 0 ? 60 : 4));
    const at = (windowStart: number) =>
      storedBaseline({
        mean: values.reduce((a, b) => a + b, 0) / PROFILE_SLOTS,
        variance: 200,
        dataPoints: 21 * 24,
        lastWindow: windowStart - HOUR,
        profile: encodeProfile(values),
        withinHour: { variance: 8, index: 2, count: 21 * 24 },
      });
    const decide = (windowStart: number, x: number) => {
      const result = evaluateWindow(
        windowInput({ [SOURCE]: x }, { [SOURCE]: at(windowStart) }, { windowStart }),
        fleet,
      );
      return { decision: result.decisions[0]!, next: result.updatedBaselines.get(SOURCE)! };
    };
    // 90 at the job's hour: beyond the 1-in-100 line of the hour's model, no spike, not scored.
    const job = decide(T0, 90);
    expect(job.decision.outcome).toBe('normal');
    const stored = at(T0);
    const model = rhythmModel(stored.profile, stored.withinHour, 200, 21 * 24, 24, fleet)!;
    expect(model.dailyJob).toBeDefined();
    expect(
      exceedanceScore(90, { mean: model.mean, variance: model.curveVariance }, AT, 4e-5, fleet),
    ).toBeGreaterThan(0);
    expect(job.next.tailScore).toBeUndefined();
    // 14 at 03:00, beyond that hour's line, is scored.
    const quiet = decide(T0 + 3 * HOUR, 14);
    expect(quiet.decision.outcome).toBe('normal');
    expect(quiet.next.tailScore).toBeGreaterThan(0);
  });

  it('is never kept by splunk-escu', () => {
    const escu = escuConfig();
    const stored = storedBaseline({ mean: 5, variance: 5, dataPoints: 1000 });
    const result = evaluateWindow(windowInput({ '10.0.0.1': 40 }, { '10.0.0.1': stored }), escu);
    expect(result.updatedBaselines.get('10.0.0.1')!.tailScore).toBeUndefined();
  });
});

/**
 * 60 heavy-tailed sources (Poisson at 5-80 an hour times a log-normal factor of shape 0.75, drawn
 * each hour) among 140 negative binomial ones (size 3), 40 days of hours, the first 30 learnt: the
 * same fleet with the tail score kept and with it thrown away after every window (the detector
 * before it, whose model is the negative binomial of two moments).
 */
function fleetAlerts(keepTailScore: boolean): { heavy: number; steady: number } {
  const random = seededRandom(20260601);
  const sources = 200;
  const heavy = 60;
  const rates = Array.from({ length: sources }, () => 5 * Math.pow(16, random()));
  const fleetConfig = recommendedConfig({
    rhythm: false,
    jobOccurrencesToLearn: 0,
    cooldownMinutes: 0,
    massSpikeMinSources: 0,
  });
  const keys = rates.map((_r, s) => `123456789012|10.0.${s >> 8}.${s & 255}`);
  const baselines = new Map<string, Baseline>();
  const sigma = 0.75;
  const alerts = { heavy: 0, steady: 0 };
  let clock = 0;
  for (let w = 0; w < 40 * 24; w += 1) {
    const counts = new Map<string, number>();
    rates.forEach((rate, s) => {
      const x =
        s < heavy
          ? poisson(random, rate * Math.exp(sigma * gaussian(random) - (sigma * sigma) / 2))
          : negativeBinomial(random, rate, rate + (rate * rate) / 3);
      if (x > 0) counts.set(keys[s]!, x);
    });
    const result = evaluateWindow(
      { windowStart: T0 + w * HOUR, counts, complete: true, baselines, clock },
      fleetConfig,
      { learnOnly: w < 30 * 24 },
    );
    for (const [key, next] of result.updatedBaselines) {
      if (!keepTailScore) delete next.tailScore;
      baselines.set(key, next);
    }
    clock = result.clockAfter;
    for (const alert of result.alerts)
      if (alert.kind === 'spike')
        alerts[keys.indexOf(`${alert.accountId}|${alert.srcIp}`) < heavy ? 'heavy' : 'steady'] += 1;
  }
  return alerts;
}

describe('a fleet with heavy-tailed sources', () => {
  it('alerts on them far less with the tail score, and about as often on the negative binomial sources', () => {
    const before = fleetAlerts(false);
    const after = fleetAlerts(true);
    // Measured: heavy 29 -> 12, steady 7 -> 6 (the budget's share of the 140 is 0.7 a day x 10 days).
    expect(before.heavy).toBeGreaterThanOrEqual(20);
    expect(after.heavy).toBeLessThanOrEqual(before.heavy / 2);
    expect(after.steady).toBeGreaterThanOrEqual(before.steady - 2);
    expect(after.steady).toBeLessThanOrEqual(before.steady);
  });
});
