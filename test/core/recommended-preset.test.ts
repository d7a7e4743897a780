/**
 * The recommended preset: exact warm-up, lazy zero-fill, comparison with the pre-window baseline,
 * the spike cap, new-source alerts, cooldown and escalation, mass-spike grouping, severities,
 * stable alert ids, idempotence, and the tail probability against direct pmf summation.
 */
import { foldZeros, newBaseline, updateMoments, type Baseline } from '../../lambda/core/baseline';
import { alertIdFor, evaluateWindow } from '../../lambda/core/detect';
import {
  estimationAdjustedTail,
  expectOverNormal,
  meanUncertainTail,
  normalUpperQuantile,
  normalUpperTail,
  pointProbability,
  upperTailProbability,
} from '../../lambda/core/tail-probability';
import fc from 'fast-check';
import { HOUR, T0, escuConfig, recommendedConfig, storedBaseline, windowInput } from './engine-fixtures';

/** P(X >= k) by summing the pmf's upper tail in log space (no library, no 1 - cdf). */
function tailBySummation(logPmf: (j: number) => number, k: number): number {
  let total = 0;
  for (let j = k; j < k + 200_000; j += 1) {
    const term = Math.exp(logPmf(j));
    total += term;
    if (term < total * 1e-17 && j > k + 10) break;
  }
  return total;
}

function poissonLogPmf(mean: number): (j: number) => number {
  const logFactorial = [0];
  return (j) => {
    for (let i = logFactorial.length; i <= j; i += 1) logFactorial.push(logFactorial[i - 1]! + Math.log(i));
    return -mean + j * Math.log(mean) - logFactorial[j]!;
  };
}

/** NB(size r, success p): pmf(j+1) = pmf(j) (j + r)/(j + 1) (1 - p), pmf(0) = p^r. */
function negativeBinomialLogPmf(mean: number, variance: number): (j: number) => number {
  const p = mean / variance;
  const r = (mean * mean) / (variance - mean);
  const logs = [r * Math.log(p)];
  return (j) => {
    for (let i = logs.length; i <= j; i += 1)
      logs.push(logs[i - 1]! + Math.log((i - 1 + r) / i) + Math.log1p(-p));
    return logs[j]!;
  };
}

const population = (xs: number[]) => {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return { mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length };
};

describe('warm-up: a = 1/min(n+1, N)', () => {
  const config = recommendedConfig();

  it.each([
    ['a short mixed series', [3, 7, 0, 12, 5, 5, 9]],
    ['mostly zeros', [0, 0, 0, 1]],
    ['a burst then silence', [1000, 1, 1, 1, 250, 0, 0, 0, 0, 17]],
    ['500 points (still below N = 720)', Array.from({ length: 500 }, (_, i) => (i * 37) % 101)],
  ])('gives the exact population mean and variance: %s', (_name, xs) => {
    let moments = newBaseline(xs[0]!, T0, 1) as Pick<Baseline, 'mean' | 'variance' | 'dataPoints'>;
    for (const x of xs.slice(1)) moments = updateMoments(moments, x, config);
    const direct = population(xs);
    expect(moments.dataPoints).toBe(xs.length);
    expect(moments.mean).toBeCloseTo(direct.mean, 9);
    expect(Math.abs(moments.variance - direct.variance)).toBeLessThanOrEqual(
      1e-9 * Math.max(1, direct.variance),
    );
  });

  it('switches to the ESCU form a = 1/N once n reaches N', () => {
    // N = 4: 2, 4, 6, 8 give the exact mean 5 and population variance (9 + 1 + 1 + 9)/4 = 5.
    // The fifth point 9 uses a = 1/4: mean' = 5 + (9 - 5)/4 = 6; var' = 3/4 * 5 + 1/4 * (9 - 6)(9 - 5) = 6.75.
    const small = recommendedConfig({ baselineWindow: 4 });
    let moments = newBaseline(2, T0, 1) as Pick<Baseline, 'mean' | 'variance' | 'dataPoints'>;
    for (const x of [4, 6, 8]) moments = updateMoments(moments, x, small);
    expect(moments).toEqual({ mean: 5, variance: 5, dataPoints: 4 });
    expect(updateMoments(moments, 9, small)).toEqual({ mean: 6, variance: 6.75, dataPoints: 5 });
  });
});

describe('lazy zero-fill', () => {
  const config = recommendedConfig();
  // 30 windows of 10 folded (mean 10, var 0), clock 98; this window's clock is 100: two missed windows.
  // Compared with: the population stats of 30 tens and 2 zeros: mean 300/32 = 9.375,
  // var 3000/32 - 9.375^2 = 93.75 - 87.890625 = 5.859375, n 32.
  // After folding x = 10: 33 values, mean 310/33 = 9.3939394, var 3100/33 - mean^2 = 5.6932966.
  const stored = storedBaseline({
    mean: 10,
    variance: 0,
    dataPoints: 30,
    clockAtLastFold: 98,
    lastWindow: T0 - 3 * HOUR,
  });

  it('counts the complete windows a source missed as zeros before comparing', () => {
    const result = evaluateWindow(windowInput({ a: 10 }, { a: stored }, { clock: 100 }), config);
    expect(result.decisions[0]?.compared).toEqual({ mean: 9.375, sd: 3.0619, dataPoints: 32 }); // sd = max(sqrt 5.86, sqrt 9.375, 1)
    const updated = result.updatedBaselines.get('a');
    expect(updated?.mean).toBeCloseTo(310 / 33, 12);
    expect(updated?.variance).toBeCloseTo(5.6932966, 6);
    expect(updated?.dataPoints).toBe(33);
    expect(updated?.clockAtLastFold).toBe(101);
  });

  it('does not advance the clock for incomplete windows, so they add no zeros', () => {
    // Window T0 is incomplete (SKIPDATA): the clock stays at 100; b, absent there, misses nothing.
    const b = storedBaseline({ mean: 10, variance: 0, dataPoints: 30, clockAtLastFold: 100 });
    const incomplete = evaluateWindow(windowInput({ a: 5 }, { b }, { clock: 100, complete: false }), config);
    expect(incomplete.clockAfter).toBe(100);
    expect(incomplete.updatedBaselines.get('a')?.clockAtLastFold).toBe(100);
    const next = evaluateWindow(
      windowInput({ b: 10 }, { b }, { windowStart: T0 + HOUR, clock: incomplete.clockAfter }),
      config,
    );
    expect(next.decisions[0]?.compared).toEqual({ mean: 10, sd: 3.1623, dataPoints: 30 });
    // Had window T0 been complete, b would have missed one window: mean 300/31.
    const complete = evaluateWindow(windowInput({ a: 5 }, { b }, { clock: 100 }), config);
    const after = evaluateWindow(
      windowInput({ b: 10 }, { b }, { windowStart: T0 + HOUR, clock: complete.clockAfter }),
      config,
    );
    expect(after.decisions[0]?.compared?.mean).toBeCloseTo(300 / 31, 4);
    expect(after.decisions[0]?.compared?.dataPoints).toBe(31);
  });

  it('adds no zeros across a data gap (windows nobody evaluated)', () => {
    // Six hours without a run: the window start jumps but the complete-window clock does not.
    const gapped = storedBaseline({
      mean: 10,
      variance: 0,
      dataPoints: 30,
      clockAtLastFold: 100,
      lastWindow: T0 - 6 * HOUR,
    });
    const result = evaluateWindow(windowInput({ a: 10 }, { a: gapped }, { clock: 100 }), config);
    expect(result.decisions[0]?.compared?.dataPoints).toBe(30);
    expect(result.updatedBaselines.get('a')).toMatchObject({ mean: 10, variance: 0, dataPoints: 31 });
  });

  it.each([
    // [N, n, zeros]: past the warm-up, across it, and a long silence with the largest N allowed
    // (a loop capped at 50,000 zeros once left the mean at 0.61 x instead of e^-0.6 = 0.55 x here).
    [720, 5000, 10_000],
    [720, 700, 100],
    [100_000, 200_000, 60_000],
    [100_000, 10, 150_000],
  ])('folds zeros exactly in closed form (N = %i, n = %i, %i zeros)', (baselineWindow, dataPoints, zeros) => {
    const config = recommendedConfig({ baselineWindow });
    const start = { mean: 100, variance: 400, dataPoints };
    let manual = start;
    for (let i = 0; i < zeros; i += 1) manual = updateMoments(manual, 0, config);
    const folded = foldZeros(start, zeros, config);
    expect(folded.dataPoints).toBe(dataPoints + zeros);
    expect(folded.mean / manual.mean).toBeCloseTo(1, 9);
    expect(folded.variance / manual.variance).toBeCloseTo(1, 9);
  });

  it('folds zeros like folding 0 one at a time', () => {
    const start = { mean: 7, variance: 3, dataPoints: 5 };
    let manual = start;
    for (let i = 0; i < 3; i += 1) manual = updateMoments(manual, 0, config);
    const folded = foldZeros(start, 3, config);
    expect(folded.dataPoints).toBe(manual.dataPoints);
    expect(folded.mean).toBeCloseTo(manual.mean, 12);
    expect(folded.variance).toBeCloseTo(manual.variance, 12);
    expect(foldZeros(start, 0, config)).toBe(start);
    expect(foldZeros(start, 3, recommendedConfig({ preset: 'splunk-escu' }))).toBe(start);
  });
});

describe('comparison, cap and severities', () => {
  const config = recommendedConfig();

  it('compares with the baseline before this window', () => {
    // mean 20, var 30: sd = max(sqrt 30, sqrt 20, 1) = 5.4772; z = (40 - 20)/5.4772 = 3.6515.
    const stored = storedBaseline({ mean: 20, variance: 30, dataPoints: 100 });
    const result = evaluateWindow(windowInput({ a: 40 }, { a: stored }), config);
    expect(result.decisions[0]).toMatchObject({
      compared: { mean: 20, sd: 5.4772, dataPoints: 100 },
      zScore: 3.6515,
    });
    // The plug-in NB tail (about 1.1e-3) is below the threshold 1/24, so it is reported corrected for
    // estimation from 100 windows.
    const plugIn = upperTailProbability(40, 20, 30, 0.5);
    expect(plugIn).toBeLessThan(1 / 24);
    expect(result.decisions[0]?.tailProbability).toBeCloseTo(
      estimationAdjustedTail(plugIn, 20, 30, 0.5, 100),
      15,
    );
  });

  it('reports the plug-in tail where it is at or above the threshold (the correction only raises it)', () => {
    const stored = storedBaseline({ mean: 20, variance: 30, dataPoints: 100 });
    const result = evaluateWindow(windowInput({ a: 25 }, { a: stored }), config);
    expect(result.decisions[0]?.outcome).toBe('normal');
    expect(result.decisions[0]?.tailProbability).toBe(upperTailProbability(25, 20, 30, 0.5));
  });

  it('uses max(sqrt(var), sqrt(mean), 1) as the spread', () => {
    // A flat source (var 0) at mean 0.25: sd = 1, so z = (10 - 0.25)/1 = 9.75.
    const stored = storedBaseline({ mean: 0.25, variance: 0, dataPoints: 100 });
    const result = evaluateWindow(windowInput({ a: 10 }, { a: stored }), config);
    expect(result.decisions[0]).toMatchObject({ compared: { sd: 1 }, zScore: 9.75 });
  });

  it('caps what a spike teaches the baseline at mean + k sd', () => {
    // mean 10, var 10, n 100, x 1000 (a spike): fed = 10 + 3 sqrt(10) = 19.486833, a = 1/101:
    // mean' = 10 + 9.486833/101 = 10.093929; var' = 100/101 * 10 + (19.486833 - 10.093929) * 9.486833/101 = 10.783252.
    const stored = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });
    const result = evaluateWindow(windowInput({ a: 1000 }, { a: stored }), config);
    expect(result.decisions[0]?.outcome).toBe('spike');
    const updated = result.updatedBaselines.get('a');
    expect(updated?.mean).toBeCloseTo(10.093929, 5);
    expect(updated?.variance).toBeCloseTo(10.783252, 5);
    // A normal window teaches fully: x = 12 gives mean 10 + 2/101.
    const normal = evaluateWindow(windowInput({ a: 12 }, { a: stored }), config);
    expect(normal.updatedBaselines.get('a')?.mean).toBeCloseTo(10 + 2 / 101, 12);
  });

  it.each([
    // One mature source: threshold = 1 / (24 * 1). Poisson(10) tails by summation decide the verdict.
    [15, 'normal'],
    [22, 'spike'],
    [40, 'spike'],
    [9, 'normal'],
  ])('with mean 10, var 10, x = %i is %s; severity follows the tail probability', (x, outcome) => {
    const stored = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });
    const result = evaluateWindow(windowInput({ a: x }, { a: stored }), config);
    // The verdict uses the Poisson tail corrected for a baseline estimated from 100 windows.
    const p = estimationAdjustedTail(tailBySummation(poissonLogPmf(10), x), 10, 10, 0.5, 100);
    const threshold = 1 / 24;
    expect(result.stats.threshold).toBeCloseTo(threshold, 15);
    expect(result.decisions[0]?.outcome).toBe(outcome);
    expect(outcome === 'spike').toBe(p < threshold);
    if (outcome === 'spike') {
      expect(result.alerts[0]).toMatchObject({
        kind: 'spike',
        threshold,
        severity: p < threshold * 0.001 ? 'high' : 'medium',
      });
      expect((result.alerts[0]?.tailProbability ?? Number.NaN) / p).toBeCloseTo(1, 9);
    }
  });

  it('grades x = 22 medium and x = 40 high (p 1.1e-3 and 1.8e-10 against 1/24 x 0.001 = 4.2e-5)', () => {
    const stored = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });
    const severity = (x: number) =>
      evaluateWindow(windowInput({ a: x }, { a: stored }), config).alerts[0]?.severity;
    expect(severity(22)).toBe('medium');
    expect(severity(40)).toBe('high');
    // The tail grades it, not the z-score: 5.5 sd above a mean of 1,000 (z under ESCU's 2 x 3)
    // has a tail near 1e-8, far below 4.2e-5: high.
    const busy = storedBaseline({ mean: 1000, variance: 1000, dataPoints: 100 });
    const [alert] = evaluateWindow(windowInput({ a: 1174 }, { a: busy }), config).alerts;
    expect(alert?.zScore).toBeLessThan(6);
    expect(alert?.tailProbability).toBeLessThan(1e-6);
    expect(alert?.severity).toBe('high');
  });

  it('grades high only a tail below threshold x highSeverityThresholdRatio, not one on it', () => {
    const stored = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });
    const tailOf30 = evaluateWindow(windowInput({ a: 30 }, { a: stored }), config).alerts[0]!
      .tailProbability!;
    // Ratio 0.5 and a budget of 48 x that tail put threshold x ratio exactly on it.
    const cfg = recommendedConfig({ falseAlertBudgetPerDay: 48 * tailOf30, highSeverityThresholdRatio: 0.5 });
    const severity = (x: number) => evaluateWindow(windowInput({ a: x }, { a: stored }), cfg).alerts[0];
    expect(severity(30)!.threshold! * 0.5).toBe(tailOf30);
    expect(severity(30)).toMatchObject({ tailProbability: tailOf30, severity: 'medium' });
    expect(severity(31)?.severity).toBe('high');
  });

  it('never calls a count at or below the mean a spike, however heavy-tailed the model', () => {
    // mean 10, sd 10,000: a negative binomial this over-dispersed puts P(X >= 10) near 1e-5,
    // below the 1/24 threshold of a lone source; a count at the mean is still not unusual.
    const wild = storedBaseline({ mean: 10, variance: 1e8, dataPoints: 720 });
    const atMean = evaluateWindow(windowInput({ a: 10 }, { a: wild }), config);
    expect(atMean.decisions[0]).toMatchObject({ outcome: 'normal', zScore: 0 });
    expect(atMean.decisions[0]?.tailProbability).toBeUndefined();
    expect(atMean.alerts).toEqual([]);
  });

  it('calls a count a spike only when its tail is below the threshold, not at it', () => {
    // One mature source: the threshold is the day's budget over 24 windows. A budget of 24 x the
    // tail of 30 puts the threshold exactly on that tail (a plug-in tail at or above the
    // threshold is what the engine reports, uncorrected).
    const source = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });
    const tail = upperTailProbability(30, 10, 10, config.meanFloor);
    const onTheTail = recommendedConfig({ falseAlertBudgetPerDay: tail * 24 });
    expect(onTheTail.falseAlertBudgetPerDay / 24).toBe(tail);
    const result = evaluateWindow(windowInput({ a: 30 }, { a: source }), onTheTail);
    expect(result.stats.threshold).toBe(tail);
    expect(result.decisions[0]).toMatchObject({ outcome: 'normal', tailProbability: tail });
    // Nor is it a burst that starts a recurring-job candidate (the same rule, P < threshold).
    expect(result.updatedBaselines.get('a')?.jobs).toBeUndefined();
    // Below the threshold the tail is corrected for the baseline being an estimate (some six
    // times the plug-in value here): a threshold ten times as large is above even that, a spike.
    const above = recommendedConfig({ falseAlertBudgetPerDay: tail * 24 * 10 });
    const spike = evaluateWindow(windowInput({ a: 30 }, { a: source }), above);
    expect(spike.decisions[0]?.outcome).toBe('spike');
    expect(spike.updatedBaselines.get('a')?.jobs).toEqual([{ phase: 0, size: 30, occurrences: 1, last: T0 }]);
  });

  it('needs minBlockedCount records and minDataPoints of history', () => {
    // mean 0.5 var 0.5: P(X >= 9) is about 1e-9, far below the threshold, but 9 < 10.
    const quiet = storedBaseline({ mean: 0.5, variance: 0.5, dataPoints: 100 });
    expect(evaluateWindow(windowInput({ a: 9 }, { a: quiet }), config).decisions[0]?.outcome).toBe(
      'below-minimum',
    );
    expect(evaluateWindow(windowInput({ a: 10 }, { a: quiet }), config).decisions[0]?.outcome).toBe('spike');
    const young = storedBaseline({ mean: 10, variance: 10, dataPoints: 23 });
    const warmingUp = evaluateWindow(windowInput({ a: 500 }, { a: young }), config).decisions[0];
    expect(warmingUp?.outcome).toBe('warming-up');
    // A young baseline decides nothing, so no tail is worked out (or reported) for it.
    expect(warmingUp?.tailProbability).toBeUndefined();
    const grown = storedBaseline({ mean: 10, variance: 10, dataPoints: 24 });
    expect(evaluateWindow(windowInput({ a: 500 }, { a: grown }), config).decisions[0]?.outcome).toBe('spike');
  });
});

describe("the window's threshold", () => {
  it("spreads the day's budget over the mature sources that sent records in the window, and no others", () => {
    const mature = storedBaseline({ mean: 5, variance: 5, dataPoints: 100 });
    const result = evaluateWindow(
      windowInput(
        {
          mature: 5,
          quiet: 0,
          young: 5,
          brandNew: 5,
          folded: 5,
          caughtUp: 5,
          atEdge: 5,
          zerosToEdge: 5,
          shortOfEdge: 5,
        },
        {
          mature,
          quiet: mature, // mature, but no records this window
          young: storedBaseline({ mean: 5, variance: 5, dataPoints: 3 }),
          folded: { ...mature, lastWindow: T0 }, // this window was already folded in
          // 20 folds and 10 complete windows missed since: the zeros make 30 >= minDataPoints (24)
          caughtUp: storedBaseline({ mean: 5, variance: 5, dataPoints: 20, clockAtLastFold: 90 }),
          // Exactly minDataPoints (24), folded or with the zeros (14 + 10); one short (13 + 10) is not.
          atEdge: storedBaseline({ mean: 5, variance: 5, dataPoints: 24 }),
          zerosToEdge: storedBaseline({ mean: 5, variance: 5, dataPoints: 14, clockAtLastFold: 90 }),
          shortOfEdge: storedBaseline({ mean: 5, variance: 5, dataPoints: 13, clockAtLastFold: 90 }),
        },
      ),
      recommendedConfig(),
    );
    expect(result.stats.matureSources).toBe(4);
    expect(result.stats.threshold).toBe(1 / (24 * 4));
  });

  it('is the whole budget for the window when no source is mature yet', () => {
    const result = evaluateWindow(windowInput({ brandNew: 5 }), recommendedConfig());
    expect(result.stats.matureSources).toBe(0);
    expect(result.stats.threshold).toBe(1 / 24);
  });
});

describe('new sources', () => {
  const config = recommendedConfig();

  it.each([
    [99, 'new-source-quiet', 0],
    [100, 'new-source', 1],
  ])('x = %i gives %s', (x, outcome, alerts) => {
    const result = evaluateWindow(windowInput({ '10.9.9.9': x }), config);
    expect(result.decisions[0]?.outcome).toBe(outcome);
    expect(result.alerts).toHaveLength(alerts);
    expect(result.updatedBaselines.get('10.9.9.9')).toMatchObject({ mean: x, variance: 0, dataPoints: 1 });
    if (alerts > 0) {
      expect(result.alerts[0]).toMatchObject({
        kind: 'new-source',
        severity: 'low',
        srcIp: '10.9.9.9',
        blockedCount: x,
        baseline: null,
        zScore: null,
        alertId: '2026-03-01T00:00:00Z/10.9.9.9',
      });
      expect(result.updatedBaselines.get('10.9.9.9')).toMatchObject({
        lastAlertWindow: T0,
        lastAlertCount: x,
      });
    }
  });

  it('does not alert while learning', () => {
    const result = evaluateWindow(windowInput({ '10.9.9.9': 5000 }), config, { learnOnly: true });
    expect(result.alerts).toEqual([]);
    expect(result.updatedBaselines.get('10.9.9.9')?.lastAlertWindow).toBeUndefined();
  });
});

describe('cooldown and escalation', () => {
  const config = recommendedConfig();
  const alerted = (hoursAgo: number) =>
    storedBaseline({
      mean: 10,
      variance: 10,
      dataPoints: 100,
      lastAlertWindow: T0 - hoursAgo * HOUR,
      lastAlertCount: 100,
    });

  it.each([
    // [hours since the last alert, x, outcome]
    [1, 150, 'spike-in-cooldown'], // 150 < 2 x 100 inside 240 minutes
    [3, 199, 'spike-in-cooldown'],
    [1, 200, 'spike'], // escalation: 200 >= 2 x 100
    [4, 150, 'spike'], // 240 minutes have passed
  ])('%i h after an alert at 100, x = %i is %s', (hoursAgo, x, outcome) => {
    const result = evaluateWindow(windowInput({ a: x }, { a: alerted(hoursAgo) }), config);
    expect(result.decisions[0]?.outcome).toBe(outcome);
    const suppressed = outcome === 'spike-in-cooldown';
    expect(result.alerts).toHaveLength(suppressed ? 0 : 1);
    expect(result.stats.suppressedByCooldown).toBe(suppressed ? 1 : 0);
    const updated = result.updatedBaselines.get('a');
    // A suppressed spike keeps the earlier alert as the reference; an alert becomes the new one.
    expect(updated?.lastAlertWindow).toBe(suppressed ? T0 - hoursAgo * HOUR : T0);
    expect(updated?.lastAlertCount).toBe(suppressed ? 100 : x);
    // Either way the spike teaches the baseline at most mean + 3 sd.
    expect(updated?.mean).toBeCloseTo(10 + (3 * Math.sqrt(10)) / 101, 9);
  });

  it('is off when cooldownMinutes is 0', () => {
    const result = evaluateWindow(
      windowInput({ a: 150 }, { a: alerted(1) }),
      recommendedConfig({ cooldownMinutes: 0 }),
    );
    expect(result.decisions[0]?.outcome).toBe('spike');
  });

  // The model is mean 10, variance 10. A window is up when its chance is below 0.1 over the
  // windows of a cooldown: 0.025 for 4 hourly windows, where 18 is (P(X >= 18) = 0.014) and 17 is
  // not (0.027); 0.1 / 24 for 10-minute windows, where 18 is not and 21 is (0.0016). With a budget
  // of one false alert in 1,000 days, none of them is a spike.
  it.each([
    // [window minutes, hours since the last alert, x, outcome, carried]
    [60, 3, 18, 'normal', true], // up, inside the cooldown
    [60, 3, 150, 'spike-in-cooldown', true], // a spike held back is up too
    [60, 3, 17, 'normal', false], // not up
    [60, 4, 18, 'normal', false], // the cooldown has ended: nothing to carry on
    [10, 3, 18, 'normal', false], // six times the windows: noise must be rarer to carry
    [10, 3, 21, 'normal', true],
  ])(
    '%i-minute windows, %i h after an alert, x = %i (%s) carries the cooldown on from this window: %s',
    (windowMinutes, hoursAgo, x, outcome, carried) => {
      const cfg = recommendedConfig({ falseAlertBudgetPerDay: 0.001, windowMinutes });
      const result = evaluateWindow(windowInput({ a: x }, { a: alerted(hoursAgo) }), cfg);
      expect(result.decisions[0]?.outcome).toBe(outcome);
      const updated = result.updatedBaselines.get('a')!;
      expect(updated.lastElevatedWindow).toBe(carried ? T0 : undefined);
      // The alert it carries on stays the reference for escalation.
      expect(updated.lastAlertWindow).toBe(T0 - hoursAgo * HOUR);
      expect(updated.lastAlertCount).toBe(100);
    },
  );

  it('a spike held back carries the cooldown on even under the line (one source alone: its spike line is lower)', () => {
    // Alone, the source gets the whole budget (1/24 a window): 17 (P = 0.027) is a spike, though
    // not up by the line of 0.025.
    const result = evaluateWindow(windowInput({ a: 17 }, { a: alerted(3) }), config);
    expect(result.decisions[0]?.outcome).toBe('spike-in-cooldown');
    expect(result.updatedBaselines.get('a')!.lastElevatedWindow).toBe(T0);
  });

  it.each([
    // [hours since the last alert, hours since the last elevated window, x, outcome]
    [6, 3, 150, 'spike-in-cooldown'], // 6 h after the alert, but 3 h after the source was last up
    [6, 4, 150, 'spike'], // 240 minutes after the last elevated window
    [6, 1, 200, 'spike'], // escalation over the alert's count still alerts
  ])(
    '%i h after an alert and %i h after its last elevated window, x = %i is %s',
    (alertHoursAgo, elevatedHoursAgo, x, outcome) => {
      const before = { ...alerted(alertHoursAgo), lastElevatedWindow: T0 - elevatedHoursAgo * HOUR };
      const result = evaluateWindow(windowInput({ a: x }, { a: before }), config);
      expect(result.decisions[0]?.outcome).toBe(outcome);
      const updated = result.updatedBaselines.get('a')!;
      if (outcome === 'spike') {
        // A new alert starts a new episode.
        expect(updated).toMatchObject({ lastAlertWindow: T0, lastAlertCount: x });
        expect(updated.lastElevatedWindow).toBeUndefined();
      } else {
        expect(updated.lastElevatedWindow).toBe(T0);
      }
    },
  );

  it('is not carried on by splunk-escu, whose cooldown runs from the alert alone', () => {
    const escu = escuConfig({ cooldownMinutes: 240 });
    const before = storedBaseline({
      mean: 10,
      variance: 10,
      dataPoints: 1000,
      lastAlertWindow: T0 - 3 * HOUR,
      lastAlertCount: 100,
    });
    const result = evaluateWindow(windowInput({ a: 17 }, { a: before }), escu);
    expect(result.decisions[0]?.outcome).toBe('normal');
    expect(result.updatedBaselines.get('a')!.lastElevatedWindow).toBeUndefined();
  });
});

describe('mass spikes', () => {
  const config = recommendedConfig();
  const fleet = (total: number, spiking: number) => {
    const counts: Record<string, number> = {};
    const baselines: Record<string, Baseline> = {};
    for (let i = 0; i < total; i += 1) {
      const ip = `10.0.0.${i + 1}`;
      counts[ip] = i < spiking ? 500 + i : 10;
      baselines[ip] = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });
    }
    return windowInput(counts, baselines);
  };

  it('groups >= 5 spiking sources that are >= 20% of the mature sources into one alert', () => {
    const result = evaluateWindow(fleet(10, 5), config);
    expect(result.alerts).toHaveLength(1);
    const alert = result.alerts[0]!;
    expect(alert).toMatchObject({
      kind: 'mass-spike',
      severity: 'medium',
      alertId: '2026-03-01T00:00:00Z/mass-spike',
      srcIps: ['10.0.0.5', '10.0.0.4', '10.0.0.3', '10.0.0.2', '10.0.0.1'],
      blockedCount: 500 + 501 + 502 + 503 + 504,
    });
    expect(alert.srcIp).toBeUndefined();
    expect(alert.members?.map((m) => m.blockedCount)).toEqual([504, 503, 502, 501, 500]);
    // Every member counts as alerted, so the rollout does not re-alert per source next hour.
    for (const ip of alert.srcIps ?? [])
      expect(result.updatedBaselines.get(ip)).toMatchObject({ lastAlertWindow: T0 });
  });

  // A budget of 100 false alerts a day expects about 4 false spikes an hour: 5 are not improbable,
  // so only massSpikeFraction groups them.
  const generous = recommendedConfig({ falseAlertBudgetPerDay: 100 });

  it('groups spikes that are exactly 20% of the mature sources (25 sources, 5 spikes), and not one fewer', () => {
    expect(evaluateWindow(fleet(25, 5), generous).alerts.map((a) => a.kind)).toEqual(['mass-spike']);
    expect(evaluateWindow(fleet(26, 5), generous).alerts.map((a) => a.kind)).toEqual(Array(5).fill('spike'));
  });

  it.each([
    [30, 5, 100, 'below 20% of the mature sources, and 4 false spikes an hour expected'],
    [10, 4, 1, 'fewer than massSpikeMinSources'],
  ])(
    'keeps individual alerts for %i sources with %i spikes at a budget of %i a day (%s)',
    (total, spiking, budget) => {
      const result = evaluateWindow(
        fleet(total, spiking),
        recommendedConfig({ falseAlertBudgetPerDay: budget }),
      );
      expect(result.alerts).toHaveLength(spiking);
      expect(result.alerts.every((a) => a.kind === 'spike')).toBe(true);
    },
  );

  it('groups spikes too many for the budget however small a part of the fleet they are (a rollout to one team)', () => {
    // 5 spikes among 1,000 sources (0.5%): at one false alert a day, 5 false spikes in one hour
    // have a chance of about 1e-9 (Poisson with mean 1/24)
    const result = evaluateWindow(fleet(1_000, 5), config);
    expect(result.alerts.map((a) => a.kind)).toEqual(['mass-spike']);
    expect(result.alerts[0]?.members).toHaveLength(5);
  });

  it.each([
    // [budget a day, spikes among 1,000 sources, grouped]: the spikes must be improbable, < 1e-6
    [10, 6, false], // P(N >= 6 | 10/24) = 5.1e-6
    [10, 7, true], // 3.0e-7
    [100, 12, false], // 1.3e-3: a generous budget's noise is not grouped
  ])(
    'at a budget of %i a day, %i spikes among 1,000 sources are one mass spike: %s',
    (budget, spiking, grouped) => {
      const result = evaluateWindow(
        fleet(1_000, spiking),
        recommendedConfig({ falseAlertBudgetPerDay: budget }),
      );
      expect(result.alerts.map((a) => a.kind)).toEqual(
        grouped ? ['mass-spike'] : Array(spiking).fill('spike'),
      );
    },
  );

  it('groups by the fraction alone in splunk-escu, which has no budget', () => {
    const escu = escuConfig({ massSpikeMinSources: 5 });
    expect(evaluateWindow(fleet(1_000, 5), escu).alerts.map((a) => a.kind)).toEqual(Array(5).fill('spike'));
    expect(evaluateWindow(fleet(25, 5), escu).alerts.map((a) => a.kind)).toEqual(['mass-spike']);
  });

  it('raises no mass spike when every spiking source is still in its cooldown', () => {
    const input = fleet(10, 5);
    // Each spiking source alerted an hour ago at a count its new one does not double.
    const inCooldown = new Map(
      [...input.baselines].map(([ip, b]) => [
        ip,
        Number(ip.split('.')[3]) <= 5 ? { ...b, lastAlertWindow: T0 - HOUR, lastAlertCount: 400 } : b,
      ]),
    );
    const result = evaluateWindow({ ...input, baselines: inCooldown }, config);
    expect(result.decisions.filter((d) => d.outcome === 'spike-in-cooldown')).toHaveLength(5);
    expect(result.alerts).toEqual([]);
  });

  /** Five spike (500-504); three of them (10.0.0.1-3) alerted an hour ago at 400: held back, under 2 x 400. */
  function threeHeldBack() {
    const input = fleet(10, 5);
    const held = (ip: string) => Number(ip.split('.')[3]) <= 3;
    const baselines = new Map(
      [...input.baselines].map(([ip, b]) => [
        ip,
        held(ip) ? { ...b, lastAlertWindow: T0 - HOUR, lastAlertCount: 400 } : b,
      ]),
    );
    return { ...input, baselines };
  }

  it('a mass spike with members a cooldown held back: the fresh ones take its alert state, the held-back ones keep theirs, carried on by the window', () => {
    const result = evaluateWindow(threeHeldBack(), config);
    expect(result.alerts.map((a) => [a.kind, a.srcIps?.length])).toEqual([['mass-spike', 5]]);
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
      expect(result.updatedBaselines.get(ip)).toMatchObject({
        lastAlertWindow: T0 - HOUR,
        lastAlertCount: 400,
        lastElevatedWindow: T0,
      });
    for (const ip of ['10.0.0.4', '10.0.0.5']) {
      const next = result.updatedBaselines.get(ip)!;
      expect(next).toMatchObject({ lastAlertWindow: T0, lastAlertCount: Number(ip.split('.')[3]) + 499 });
      expect(next.lastElevatedWindow).toBeUndefined();
    }
  });

  it('marks the members a cooldown held back with their last alert: a repeated mass spike says which members it only repeats', () => {
    const [mass] = evaluateWindow(threeHeldBack(), config).alerts;
    expect(mass?.members?.map((m) => [m.srcIp, m.lastAlertedAt])).toEqual([
      ['10.0.0.5', undefined],
      ['10.0.0.4', undefined],
      ['10.0.0.3', '2026-02-28T23:00:00Z'],
      ['10.0.0.2', '2026-02-28T23:00:00Z'],
      ['10.0.0.1', '2026-02-28T23:00:00Z'],
    ]);
  });

  it('is off when massSpikeMinSources is 0', () => {
    const result = evaluateWindow(fleet(10, 6), recommendedConfig({ massSpikeMinSources: 0 }));
    expect(result.alerts.map((a) => a.kind)).toEqual(Array(6).fill('spike'));
  });
});

describe('alert ids and idempotence', () => {
  const config = recommendedConfig();
  const stored = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });

  it('derives a stable alertId from the window and the source', () => {
    const first = evaluateWindow(windowInput({ '10.0.0.1': 500 }, { '10.0.0.1': stored }), config);
    const again = evaluateWindow(windowInput({ '10.0.0.1': 500 }, { '10.0.0.1': stored }), config);
    expect(first.alerts[0]?.alertId).toBe('2026-03-01T00:00:00Z/10.0.0.1');
    expect(again.alerts[0]?.alertId).toBe(first.alerts[0]?.alertId);
    expect(alertIdFor(T0 + HOUR, '10.0.0.1')).toBe('2026-03-01T01:00:00Z/10.0.0.1');
  });

  it('marks an alert from an incomplete window (its counts are a lower bound), and only such an alert', () => {
    const partial = evaluateWindow(
      windowInput({ '10.0.0.1': 500 }, { '10.0.0.1': stored }, { complete: false }),
      config,
    );
    expect(partial.alerts[0]).toMatchObject({ kind: 'spike', incompleteWindow: true });
    const whole = evaluateWindow(windowInput({ '10.0.0.1': 500 }, { '10.0.0.1': stored }), config);
    expect(whole.alerts[0]).not.toHaveProperty('incompleteWindow');
  });

  it("gives the window's start and end on the alert", () => {
    const hourly = evaluateWindow(windowInput({ '10.0.0.1': 500 }, { '10.0.0.1': stored }), config);
    expect(hourly.alerts[0]).toMatchObject({
      windowStart: '2026-03-01T00:00:00Z',
      windowEnd: '2026-03-01T01:00:00Z',
    });
    const quarter = evaluateWindow(
      windowInput({ '10.0.0.1': 500 }, { '10.0.0.1': stored }, { windowStart: T0 + 15 * 60_000 }),
      recommendedConfig({ windowMinutes: 15 }),
    );
    expect(quarter.alerts[0]).toMatchObject({
      windowStart: '2026-03-01T00:15:00Z',
      windowEnd: '2026-03-01T00:30:00Z',
    });
  });

  it('lists alerts largest first, equal counts in alertId order, whatever order the counts came in', () => {
    const counts: [string, number][] = [
      ['10.0.0.9', 500],
      ['10.0.0.10', 500],
      ['10.0.0.11', 900],
    ];
    for (const order of [counts, [...counts].reverse()]) {
      const result = evaluateWindow(
        windowInput(Object.fromEntries(order), Object.fromEntries(order.map(([ip]) => [ip, stored]))),
        recommendedConfig({ massSpikeMinSources: 0 }),
      );
      // '10.0.0.10' sorts before '10.0.0.9' as text.
      expect(result.alerts.map((a) => a.srcIp)).toEqual(['10.0.0.11', '10.0.0.10', '10.0.0.9']);
    }
  });

  it.each([
    ['the same window', T0],
    ['an older window', T0 + 5 * HOUR],
  ])('treats %s as already folded and changes nothing', (_name, lastWindow) => {
    const folded = { ...stored, lastWindow };
    const result = evaluateWindow(windowInput({ a: 5000 }, { a: folded }), config);
    expect(result.decisions[0]?.outcome).toBe('already-folded');
    expect(result.updatedBaselines.size).toBe(0);
    expect(result.alerts).toEqual([]);
  });
});

describe('estimationAdjustedTail', () => {
  it.each([
    // Student's t table: t(10 df) upper 2.5% point 2.228139, t(30 df) 2.042272, t(5 df) upper 0.5% 4.032143.
    // With a near-normal count (Poisson with a huge mean: kurtosis ~ 0) and n = df + 1 windows,
    // nu = n - 1 and t = z sqrt((n - 1)/(n + 1)); so the plug-in p = P(Z >= t / sqrt((n - 1)/(n + 1)))
    // must come back as the table's tail.
    [11, 2.228139, 0.025],
    [31, 2.042272, 0.025],
    [6, 4.032143, 0.005],
  ])('matches Student t with n - 1 df for a near-normal model (n = %i)', (n, tTable, tail) => {
    const plugIn = normalUpperTail(tTable / Math.sqrt((n - 1) / (n + 1)));
    expect(estimationAdjustedTail(plugIn, 1e9, 1e9, 0.5, n)).toBeCloseTo(tail, 5);
  });

  it("takes Satterthwaite's degrees of freedom from the negative binomial's excess kurtosis", () => {
    // nu = 2 / (2 / (n - 1) + K / n): with n = 21 windows and K = 2.1, nu = 2 / (0.1 + 0.1) = 10.
    // NB(100, v) has K = 6 (v - 100) / 100^2 + 1 / v; solve K = 2.1 for v.
    const kurtosis = (v: number): number => (6 * (v - 100)) / 100 ** 2 + 1 / v;
    let v = 3600;
    for (let i = 0; i < 50; i += 1) v -= (kurtosis(v) - 2.1) / (6 / 100 ** 2 - 1 / v ** 2);
    expect(kurtosis(v)).toBeCloseTo(2.1, 12);
    // Student's t(10 df) upper 2.5% point: 2.228139, reached from z = t / sqrt((n - 1) / (n + 1)).
    const plugIn = normalUpperTail(2.228139 / Math.sqrt(20 / 22));
    expect(estimationAdjustedTail(plugIn, 100, v, 0.5, 21)).toBeCloseTo(0.025, 5);
  });

  it('never lowers p, and shrinks towards p as the baseline grows', () => {
    const p = 4e-6;
    const ratios = [24, 100, 336, 720, 10_000, 1e7].map(
      (n) => estimationAdjustedTail(p, 100, 3433, 0.5, n) / p,
    );
    for (let i = 1; i < ratios.length; i += 1) expect(ratios[i]!).toBeLessThan(ratios[i - 1]!);
    expect(ratios[ratios.length - 1]!).toBeCloseTo(1, 3);
    expect(ratios[ratios.length - 1]!).toBeGreaterThanOrEqual(1);
  });

  it('corrects more for an over-dispersed model (noisier variance estimates)', () => {
    expect(estimationAdjustedTail(1e-6, 100, 3433, 0.5, 336)).toBeGreaterThan(
      estimationAdjustedTail(1e-6, 100, 100, 0.5, 336),
    );
  });

  it('corrects more for a small-mean count (its kurtosis 1/m) than for a near-normal one', () => {
    expect(estimationAdjustedTail(1e-4, 1, 1, 0.5, 10)).toBeGreaterThan(
      estimationAdjustedTail(1e-4, 1e9, 1e9, 0.5, 10),
    );
  });

  it.each([0.5, 0.9, 1, 0])('leaves p = %d alone', (p) => {
    expect(estimationAdjustedTail(p, 10, 20, 0.5, 100)).toBe(p);
  });

  it.each([
    [0.025, 1.959964],
    [1e-3, 3.090232],
    [1e-9, 5.997807],
    [1e-20, 9.26234],
  ])('normalUpperQuantile(%d) = %d', (p, z) => {
    expect(normalUpperQuantile(p)).toBeCloseTo(z, 5);
    expect(normalUpperTail(normalUpperQuantile(p)) / p).toBeCloseTo(1, 10);
  });
});

describe('expectOverNormal (24-point Gauss-Hermite)', () => {
  it("integrates the standard normal's moments: E[1] = 1, E[Z] = 0, E[Z^2] = 1, E[Z^4] = 3, E[Z^6] = 15", () => {
    expect(expectOverNormal(() => 1)).toBeCloseTo(1, 14);
    expect(expectOverNormal((z) => z)).toBeCloseTo(0, 14);
    expect(expectOverNormal((z) => z * z)).toBeCloseTo(1, 13);
    expect(expectOverNormal((z) => z ** 4)).toBeCloseTo(3, 12);
    expect(expectOverNormal((z) => z ** 6)).toBeCloseTo(15, 10);
  });
});

describe('meanUncertainTail', () => {
  /** E[P(X >= x | mean G)] for G log-normal with E[G] = 1, Var[G] = relativeVariance: the normal integrated on a fine grid. */
  function byIntegration(x: number, mean: number, a: number, phi: number, relativeVariance: number): number {
    const s2 = Math.log1p(relativeVariance);
    const s = Math.sqrt(s2);
    const h = 0.002;
    let sum = 0;
    for (let z = -9; z <= 9; z += h) {
      const m = mean * Math.exp(s * z - s2 / 2);
      sum +=
        (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) *
        upperTailProbability(x, m, a * m + phi * m * m, 0.5) *
        h;
    }
    return sum;
  }

  it.each([
    // [x, mean, a, phi, relativeVariance]
    [40, 10, 1, 0.1, 0.1],
    [25, 10, 1.5, 0, 0.05],
    [200, 100, 1, 0.05, 0.2],
    [12, 3, 1, 0.2, 0.3],
  ])(
    'P(X >= %d), mean %d, variance %d m + %d m^2, relative variance %d: the average over the log-normal mean',
    (x, mean, a, phi, relativeVariance) => {
      const tail = meanUncertainTail(x, mean, a, phi, relativeVariance, 0.5);
      expect(tail / byIntegration(x, mean, a, phi, relativeVariance)).toBeCloseTo(1, 4);
      // Heavier than the plug-in tail, as a scale mixture is.
      expect(tail).toBeGreaterThan(upperTailProbability(x, mean, a * mean + phi * mean * mean, 0.5));
    },
  );
});

describe('upperTailProbability against direct pmf summation', () => {
  it.each([
    // [x, mean, variance] — Poisson when variance <= mean
    [20, 10, 10],
    [15, 3, 2],
    [1, 3, 3],
    [60, 20, 20],
    [250, 100, 100],
  ])('Poisson: P(X >= %i) with mean %d (variance %d)', (x, mean, variance) => {
    const reference = tailBySummation(poissonLogPmf(mean), x);
    expect(upperTailProbability(x, mean, variance, 0.5) / reference).toBeCloseTo(1, 9);
  });

  it.each([
    [50, 20, 60],
    [300, 100, 1100],
    [60, 5, 30],
    [12, 0.8, 3],
    [2000, 500, 25_500],
  ])('negative binomial: P(X >= %i) with mean %d and variance %d', (x, mean, variance) => {
    const reference = tailBySummation(negativeBinomialLogPmf(mean, variance), x);
    expect(upperTailProbability(x, mean, variance, 0.5) / reference).toBeCloseTo(1, 8);
  });

  it('floors the mean, so a near-silent source is compared with Poisson(0.5)', () => {
    const reference = tailBySummation(poissonLogPmf(0.5), 6);
    expect(upperTailProbability(6, 0.01, 0, 0.5) / reference).toBeCloseTo(1, 9);
  });

  it('is 1 for x <= 0 and decreases in x', () => {
    // Both models (Poisson: variance <= mean), at zero and below it.
    for (const x of [0, -1, -2.5]) {
      expect(upperTailProbability(x, 10, 20, 0.5)).toBe(1);
      expect(upperTailProbability(x, 10, 10, 0.5)).toBe(1);
    }
    const tails = [5, 10, 20, 40].map((x) => upperTailProbability(x, 10, 20, 0.5));
    for (let i = 1; i < tails.length; i += 1) expect(tails[i]!).toBeLessThan(tails[i - 1]!);
  });
});

describe('pointProbability, the cheap lower bound that spares most tail computations', () => {
  it.each([
    [20, 10, 10],
    [1, 3, 3],
    [250, 100, 100],
  ])('Poisson: P(X = %i) with mean %d equals the pmf', (x, mean, variance) => {
    expect(pointProbability(x, mean, variance, 0.5) / Math.exp(poissonLogPmf(mean)(x))).toBeCloseTo(1, 9);
  });

  it.each([
    [50, 20, 60],
    [12, 0.8, 3],
    [2000, 500, 25_500],
  ])('negative binomial: P(X = %i) with mean %d and variance %d equals the pmf', (x, mean, variance) => {
    const reference = Math.exp(negativeBinomialLogPmf(mean, variance)(x));
    expect(pointProbability(x, mean, variance, 0.5) / reference).toBeCloseTo(1, 8);
  });

  it('never exceeds the upper tail it bounds', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 5_000, noNaN: true }),
        fc.double({ min: 0, max: 2_000, noNaN: true }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        (x, mean, dispersion) => {
          const variance = mean * (1 + dispersion); // Poisson at 0, ever more over-dispersed above
          const point = pointProbability(x, mean, variance, 0.5);
          const tail = upperTailProbability(x, mean, variance, 0.5);
          expect(point).toBeLessThanOrEqual(tail * (1 + 1e-9) + 1e-300);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never exceeds the upper tail it bounds, for a variance a hair above the mean either', () => {
    // v = m (1 + f 10^-e), e up to 16: the negative binomial's size m / 10^-e reaches 1e18, where
    // its log-gamma difference and incomplete beta lose their digits; both are Poisson's there.
    let nearPoisson = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.double({ min: 0.5, max: 2_000, noNaN: true }),
        fc.integer({ min: 0, max: 16 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (x, mean, e, f) => {
          runs += 1;
          const variance = mean * (1 + f * 10 ** -e);
          if (variance > mean && (mean * mean) / (variance - mean) > 1e10) nearPoisson += 1;
          const point = pointProbability(x, mean, variance, 0.5);
          const tail = upperTailProbability(x, mean, variance, 0.5);
          expect(point).toBeLessThanOrEqual(tail * (1 + 1e-9) + 1e-300);
          // And both are close to Poisson's, which the model tends to.
          const poissonTail = upperTailProbability(x, mean, mean, 0.5);
          if (e > 8 && poissonTail > 1e-200) expect(tail / poissonTail).toBeCloseTo(1, 2);
        },
      ),
      { numRuns: 500, seed: 1616 },
    );
    // A share of the cases, not a number of them: the mutation run caps every property's cases.
    expect(nearPoisson).toBeGreaterThan(runs / 10);
  });

  it('makes a larger count never less unusual than a smaller one when the variance is a hair above the mean', () => {
    // Found by the spike line's property: NB(38, 38 + 1.4e-13) (size 1e16) called 80 a spike, 81 not.
    const variance = 38.00000000000014;
    let previous = 1;
    for (let x = 39; x <= 200; x += 1) {
      const tail = upperTailProbability(x, 38, variance, 0.5);
      expect(tail).toBeLessThanOrEqual(previous);
      expect(pointProbability(x, 38, variance, 0.5)).toBeLessThanOrEqual(tail * (1 + 1e-9));
      previous = tail;
    }
  });

  it('leaves out the tail of a count far from a spike, with the same outcome', () => {
    // Threshold 0.01 / 24 = 4.2e-4 for a lone source; P(X = 23) under NB(20, 30) is about 0.06.
    const strict = recommendedConfig({ falseAlertBudgetPerDay: 0.01 });
    const stored = storedBaseline({ mean: 20, variance: 30, dataPoints: 100 });
    const result = evaluateWindow(windowInput({ a: 23 }, { a: stored }), strict);
    expect(result.decisions[0]?.outcome).toBe('normal');
    expect(result.decisions[0]?.tailProbability).toBeUndefined();
    expect(upperTailProbability(23, 20, 30, 0.5)).toBeGreaterThan(2 * (0.01 / 24));
    // Near the threshold the tail is computed and decides.
    const near = evaluateWindow(windowInput({ a: 45 }, { a: stored }), strict);
    expect(near.decisions[0]?.tailProbability).toBeDefined();
  });
});
