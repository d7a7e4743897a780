/**
 * The splunk-escu preset against vectors derived by hand from the SPL quoted in DESIGN.md:
 *
 *   newAvg   = avg + (latestCount - avg) / 720
 *   newStdev = sqrt(((stdev^2 * 719 + (latestCount - newAvg) * (latestCount - avg)) / 720))
 *   numDataPoints = numDataPoints + 1            (only when the source had records)
 *   isSpike  = latestCount > newAvg + 3 * newStdev AND numDataPoints > 5
 *
 * i.e. with N = baselineWindow: mean' = mean + (x - mean)/N, var' = ((N-1) var + (x-mean')(x-mean))/N,
 * and the comparison uses mean', sd' = sqrt(var') AFTER x is folded in. Some vectors use a small N
 * (16, 4) so every intermediate value is exact in binary and can be checked by hand.
 */
import fc from 'fast-check';
import { bootstrapBaselines } from '../../lambda/core/bootstrap';
import { evaluateWindow } from '../../lambda/core/detect';
import { escuBaselineFromHistory } from '../../lambda/core/baseline';
import { resolveDetectorConfig } from '../../lambda/core/config';
import { HOUR, T0, escuConfig, storedBaseline, windowInput } from './engine-fixtures';

interface EscuVector {
  name: string;
  N: number;
  mean: number;
  variance: number;
  n: number;
  x: number;
  /** Hand-derived mean', var' and verdict. */
  mean1: number;
  var1: number;
  spike: boolean;
  severity?: 'high' | 'medium';
}

// prettier-ignore
const vectors: EscuVector[] = [
  {
    // N=720, mean 10, var 4, n 10, x 20:
    // mean' = 10 + 10/720 = 10.0138889
    // var'  = (719*4 + (20 - 10.0138889)*(20 - 10))/720 = (2876 + 99.861111)/720 = 4.1331404
    // sd' = 2.0330126; mean' + 3 sd' = 16.1129 < 20: spike. z = 9.9861111/2.0330126 = 4.912 < 6: medium.
    name: 'a moderate spike (medium)',
    N: 720, mean: 10, variance: 4, n: 10, x: 20,
    mean1: 10.0138889, var1: 4.1331404, spike: true, severity: 'medium',
  },
  {
    // N=720, mean 10, var 4, n 10, x 40:
    // mean' = 10 + 30/720 = 10.0416667
    // var'  = (2876 + (40 - 10.0416667)*30)/720 = (2876 + 898.75)/720 = 5.2427083
    // sd' = 2.2897 ; z = 29.9583333/2.2897 = 13.08 >= 2k = 6: high.
    name: 'a large spike (high at z >= 2k)',
    N: 720, mean: 10, variance: 4, n: 10, x: 40,
    mean1: 10.0416667, var1: 5.2427083, spike: true, severity: 'high',
  },
  {
    // N=16, mean 8, var 6, n 10, x 20 (all exact in binary):
    // mean' = 8 + 12/16 = 8.75; var' = (15*6 + (20 - 8.75)*12)/16 = (90 + 135)/16 = 14.0625; sd' = 3.75
    // mean' + 3 sd' = 8.75 + 11.25 = 20 == x: not a spike (the SPL's comparison is strict >).
    name: 'exactly at mean\' + 3 sd\' (strict >: no spike)',
    N: 16, mean: 8, variance: 6, n: 10, x: 20,
    mean1: 8.75, var1: 14.0625, spike: false,
  },
  {
    // N=16, mean 8, var 6, n 10, x 21: mean' = 8 + 13/16 = 8.8125
    // var' = (90 + (21 - 8.8125)*13)/16 = (90 + 158.4375)/16 = 15.52734375; sd' = 3.94048
    // mean' + 3 sd' = 20.634 < 21: spike. z = 12.1875/3.94048 = 3.093: medium.
    name: 'one above the threshold',
    N: 16, mean: 8, variance: 6, n: 10, x: 21,
    mean1: 8.8125, var1: 15.52734375, spike: true, severity: 'medium',
  },
  {
    // N=4, mean 10, var 4, n 10, x 40: mean' = 10 + 30/4 = 17.5
    // var' = (3*4 + (40 - 17.5)*30)/4 = (12 + 675)/4 = 171.75; sd' = 13.1053
    // mean' + 3 sd' = 56.8 > 40: NOT a spike although the pre-window baseline (10 + 3*2 = 16) is far
    // exceeded: the post-update comparison lets the current point mask itself.
    name: 'post-update comparison masks a spike the pre-window baseline would flag',
    N: 4, mean: 10, variance: 4, n: 10, x: 40,
    mean1: 17.5, var1: 171.75, spike: false,
  },
  {
    // Flat history (sigma 0): N=720, mean 5, var 0, n 10, x 6:
    // mean' = 5 + 1/720 = 5.0013889; var' = (0 + (6 - 5.0013889)*1)/720 = 0.0013870; sd' = 0.0372426
    // mean' + 3 sd' = 5.1131 < 6: ESCU alerts on flat + 1. z = 0.9986111/0.0372426 = 26.8: high.
    name: 'flat history then flat + 1 (ESCU alerts)',
    N: 720, mean: 5, variance: 0, n: 10, x: 6,
    mean1: 5.0013889, var1: 0.0013870, spike: true, severity: 'high',
  },
  {
    // Flat history, same value again: mean' = 5, var' = 0, sd' = 0; 5 > 5 + 0 is false.
    name: 'flat history, same value again',
    N: 720, mean: 5, variance: 0, n: 10, x: 5,
    mean1: 5, var1: 0, spike: false,
  },
];

describe('splunk-escu arithmetic (hand-derived vectors)', () => {
  it.each(vectors)('$name', ({ N, mean, variance, n, x, mean1, var1, spike, severity }) => {
    // Prepare
    // Past the schema: it refuses N = 4 with k = 3 (N - 1 <= k^2, never a spike), which one vector shows.
    const config = { ...escuConfig(), baselineWindow: N };
    const input = windowInput(
      { '10.0.0.1': x },
      { '10.0.0.1': storedBaseline({ mean, variance, dataPoints: n }) },
    );
    // Act
    const result = evaluateWindow(input, config);
    // Assess
    const updated = result.updatedBaselines.get('10.0.0.1');
    expect(updated?.mean).toBeCloseTo(mean1, 6);
    expect(updated?.variance).toBeCloseTo(var1, 6);
    expect(updated?.dataPoints).toBe(n + 1);
    expect(updated?.lastWindow).toBe(T0);
    const decision = result.decisions[0];
    expect(decision?.outcome).toBe(spike ? 'spike' : 'normal');
    // The comparison is against the baseline after folding x in.
    expect(decision?.compared?.mean).toBeCloseTo(mean1, 3);
    expect(decision?.compared?.sd).toBeCloseTo(Math.sqrt(var1), 3);
    expect(decision?.compared?.dataPoints).toBe(n + 1);
    expect(result.alerts).toHaveLength(spike ? 1 : 0);
    if (spike) {
      expect(result.alerts[0]).toMatchObject({ kind: 'spike', srcIp: '10.0.0.1', blockedCount: x, severity });
      expect(result.alerts[0]?.zScore).toBeCloseTo((x - mean1) / Math.sqrt(var1), 2);
      expect(result.alerts[0]?.tailProbability).toBeUndefined();
    }
  });

  it.each([
    // numDataPoints > 5 is checked on n' = n + 1: n = 4 gives n' = 5 (too few), n = 5 gives n' = 6.
    // x = 100 against mean 10, var 4 (N=720): mean' = 10.125, var' = (2876 + 89.875 * 90)/720 = 15.229,
    // so mean' + 3 sd' = 10.125 + 3 * 3.902 = 21.8 < 100.
    [4, 'warming-up', 0],
    [5, 'spike', 1],
  ])('numDataPoints boundary: stored n = %i gives %s', (n, outcome, alerts) => {
    const input = windowInput(
      { '10.0.0.1': 100 },
      { '10.0.0.1': storedBaseline({ mean: 10, variance: 4, dataPoints: n }) },
    );
    const result = evaluateWindow(input, escuConfig());
    expect(result.decisions[0]?.outcome).toBe(outcome);
    expect(result.alerts).toHaveLength(alerts);
    expect(result.updatedBaselines.get('10.0.0.1')?.dataPoints).toBe(n + 1);
  });

  it('starts a source without a baseline row at n = 1, mean = x, var = 0, without an alert', () => {
    const result = evaluateWindow(windowInput({ '10.0.0.9': 7000 }), escuConfig());
    expect(result.updatedBaselines.get('10.0.0.9')).toEqual({
      mean: 7000,
      variance: 0,
      dataPoints: 1,
      lastWindow: T0,
      clockAtLastFold: 101,
    });
    expect(result.decisions[0]?.outcome).toBe('new-source-quiet');
    expect(result.alerts).toEqual([]);
    expect(result.stats.newSources).toBe(1);
  });

  it('leaves every baseline unchanged in a window without records (zeros are ignored)', () => {
    const stored = storedBaseline({ mean: 10, variance: 4, dataPoints: 50 });
    const result = evaluateWindow(windowInput({ '10.0.0.1': 0 }, { '10.0.0.1': stored }), escuConfig());
    expect(result.updatedBaselines.size).toBe(0);
    expect(result.decisions).toEqual([]);
    expect(result.alerts).toEqual([]);
  });

  it('folds no zeros for windows a source missed: the next record is folded into the stored baseline', () => {
    // Stored clock 100, this window's clock 150: 50 windows without records, none of which count.
    // mean' = 10 + (12 - 10)/720 = 10.0027778 exactly as if the source had never been away.
    const stored = storedBaseline({ mean: 10, variance: 4, dataPoints: 50, lastWindow: T0 - 50 * HOUR });
    const result = evaluateWindow(
      windowInput({ '10.0.0.1': 12 }, { '10.0.0.1': stored }, { clock: 150 }),
      escuConfig(),
    );
    expect(result.updatedBaselines.get('10.0.0.1')?.mean).toBeCloseTo(10.0027778, 6);
    expect(result.updatedBaselines.get('10.0.0.1')?.dataPoints).toBe(51);
  });
});

describe('splunk-escu against the SPL written out literally, bit for bit', () => {
  // The SPL's lookup row: the standard deviation is stored, squared again with pow() at each fold.
  interface SplRow {
    avg: number;
    stdev: number;
    numDataPoints: number;
  }
  const splBaseline = (counts: number[]): SplRow => {
    const n = counts.length;
    const avg = counts.reduce((s, c) => s + c, 0) / n;
    const stdev = n < 2 ? 0 : Math.sqrt(counts.reduce((s, c) => s + (c - avg) * (c - avg), 0) / (n - 1));
    return { avg, stdev, numDataPoints: n };
  };
  const splFold = (row: SplRow, latestCount: number): SplRow & { isSpike: boolean } => {
    const newAvg = row.avg + (latestCount - row.avg) / 720;
    const newStdev = Math.sqrt(
      (Math.pow(row.stdev, 2) * 719 + (latestCount - newAvg) * (latestCount - row.avg)) / 720,
    );
    const numDataPoints = row.numDataPoints + 1;
    return {
      avg: newAvg,
      stdev: newStdev,
      numDataPoints,
      isSpike: latestCount > newAvg + 3 * newStdev && numDataPoints > 5,
    };
  };

  it('gives the same mean, standard deviation and decision every window, from the same bootstrap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 80 }),
        (bootstrapCounts, liveCounts) => {
          const config = escuConfig();
          let row = splBaseline(bootstrapCounts);
          let stored = escuBaselineFromHistory(bootstrapCounts, T0 - HOUR, bootstrapCounts.length);
          expect(stored.mean).toBe(row.avg);
          expect(Math.sqrt(stored.variance)).toBe(row.stdev);
          liveCounts.forEach((x, i) => {
            const windowStart = T0 + i * HOUR;
            const result = evaluateWindow(
              windowInput(x > 0 ? { a: x } : {}, { a: stored }, { windowStart }),
              config,
            );
            if (x === 0) return; // no records: the SPL's coalesce keeps the row, as the fold does
            const spl = splFold(row, x);
            const next = result.updatedBaselines.get('a')!;
            expect(next.mean).toBe(spl.avg);
            expect(Math.sqrt(next.variance)).toBe(spl.stdev);
            expect(next.dataPoints).toBe(spl.numDataPoints);
            expect(result.decisions[0]?.outcome === 'spike').toBe(spl.isSpike);
            row = spl;
            stored = next;
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('splunk-escu bootstrap (the support search)', () => {
  const config = escuConfig();
  const history = (rows: Array<Record<string, number>>) =>
    rows.map((counts, i) => ({
      windowStart: T0 + i * HOUR,
      complete: true,
      counts: new Map(Object.entries(counts)),
    }));

  it.each<[string, Array<Record<string, number>>, number, number, number]>([
    // Active windows 4, 6, 8 (the zero/absent windows are not data points): mean 6,
    // sample variance ((4-6)^2 + 0 + (8-6)^2)/(3-1) = 4, n = 3.
    ['three active windows among five', [{ a: 4 }, {}, { a: 6 }, { a: 0 }, { a: 8 }], 6, 4, 3],
    // A single active window: sample sd is defined as 0.
    ['a single active window', [{ a: 5 }, {}, {}], 5, 0, 1],
    // 1, 2, 3, 4: mean 2.5, sample variance (2.25 + 0.25 + 0.25 + 2.25)/3 = 5/3.
    ['four active windows', [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }], 2.5, 5 / 3, 4],
  ])('%s', (_name, rows, mean, variance, dataPoints) => {
    const result = bootstrapBaselines(history(rows), config);
    const baseline = result.baselines.get('a');
    expect(baseline?.mean).toBeCloseTo(mean, 12);
    expect(baseline?.variance).toBeCloseTo(variance, 12);
    expect(baseline?.dataPoints).toBe(dataPoints);
    expect(baseline?.lastWindow).toBe(T0 + (rows.length - 1) * HOUR);
    expect(result.clock).toBe(rows.length);
  });

  it('replaces existing baselines with the history (the lookup is rebuilt)', () => {
    const start = {
      baselines: new Map([['a', storedBaseline({ mean: 999, variance: 1, dataPoints: 400 })]]),
    };
    const result = bootstrapBaselines(history([{ a: 2 }, { a: 4 }]), config, start);
    // The lookup keeps stdev = sqrt(2); the variance is its square, as the next fold's pow(stdev, 2).
    expect(result.baselines.get('a')).toMatchObject({ mean: 3, variance: Math.SQRT2 ** 2, dataPoints: 2 });
  });

  it('rejects an empty active history and out-of-order windows', () => {
    expect(() => escuBaselineFromHistory([], T0, 0)).toThrow(RangeError);
    expect(() => escuBaselineFromHistory([], T0, 0)).toThrow('a baseline needs at least one active window');
    const backwards = [...history([{ a: 1 }, { a: 2 }])].reverse();
    expect(() => bootstrapBaselines(backwards, config)).toThrow('increasing window order');
  });
});

describe('splunk-escu with explicit keys (explicit values win over the preset bundle)', () => {
  const flat = { mean: 10, variance: 4, dataPoints: 100, lastWindow: 0, clockAtLastFold: 1 };
  const sources = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}`);
  const input = {
    windowStart: 10 * HOUR,
    counts: new Map(sources.map((s) => [s, 200])),
    complete: true,
    baselines: new Map(sources.map((s) => [s, flat])),
    clock: 1,
  };

  it('alerts per source with the bundle defaults (no grouping, no minimum)', () => {
    const result = evaluateWindow(input, resolveDetectorConfig({ preset: 'splunk-escu' }));
    expect(result.alerts.map((a) => a.kind)).toEqual(Array(10).fill('spike'));
    expect(result.alerts[0]).not.toHaveProperty('threshold');
    expect(result.alerts[0]).not.toHaveProperty('tailProbability');
  });

  it('groups into one mass-spike when massSpikeMinSources is set', () => {
    const result = evaluateWindow(
      input,
      resolveDetectorConfig({ preset: 'splunk-escu', massSpikeMinSources: 2 }),
    );
    expect(result.alerts).toHaveLength(1);
    expect(result.alerts[0]).toMatchObject({ kind: 'mass-spike', blockedCount: 2000 });
    expect(result.alerts[0]?.srcIps).toHaveLength(10);
    // ESCU has no tail-probability threshold: the alert says none rather than null.
    expect(result.alerts[0]).not.toHaveProperty('threshold');
  });

  it("gives a count at a flat source's mean a z-score of 0 (no spread: no distance either)", () => {
    const flatTen = storedBaseline({ mean: 10, variance: 0, dataPoints: 100 });
    const result = evaluateWindow(windowInput({ flat: 10 }, { flat: flatTen }), escuConfig());
    expect(result.decisions[0]).toMatchObject({ outcome: 'normal', zScore: 0 });
  });

  it('counts as mature, for mass-spike grouping, a source whose baseline after this window has more than minDataPoints points (no zeros folded)', () => {
    const at = (dataPoints: number, clockAtLastFold = 100) =>
      storedBaseline({ mean: 10, variance: 4, dataPoints, clockAtLastFold });
    const result = evaluateWindow(
      windowInput(
        { five: 12, four: 12, fourMissedTen: 12 },
        // minDataPoints 5: 5 + 1 > 5 is mature, 4 + 1 is not, and ESCU adds no zeros for missed windows.
        { five: at(5), four: at(4), fourMissedTen: at(4, 90) },
      ),
      escuConfig(),
    );
    expect(result.stats.matureSources).toBe(1);
  });

  it('holds back spikes under minBlockedCount when it is set', () => {
    const result = evaluateWindow(
      input,
      resolveDetectorConfig({ preset: 'splunk-escu', minBlockedCount: 1000 }),
    );
    expect(result.alerts).toEqual([]);
    expect(result.decisions.map((d) => d.outcome)).toEqual(Array(10).fill('below-minimum'));
  });
});
