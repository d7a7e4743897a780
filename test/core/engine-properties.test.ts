/** Properties of the engine that must hold for any data (fast-check). */
import fc from 'fast-check';
import gammaln from '@stdlib/math-base-special-gammaln';
import {
  foldedBaseline,
  foldZeros,
  spreadOf,
  updateMoments,
  type Baseline,
} from '../../lambda/core/baseline';
import { bootstrapBaselines, type HistoryWindow } from '../../lambda/core/bootstrap';
import type { DetectorConfig } from '../../lambda/core/config';
import { evaluateWindow } from '../../lambda/core/detect';
import { foldProfile } from '../../lambda/core/rhythm';
import { logFactorial } from '../../lambda/core/tail-probability';
import { HOUR, T0, escuConfig, recommendedConfig, storedBaseline } from './engine-fixtures';

const SOURCES = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];

/** A count that is usually modest, sometimes zero, sometimes a burst. */
const countArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }) },
);

const windowCountsArb = fc
  .tuple(...SOURCES.map(() => fc.option(countArb, { nil: undefined })))
  .map(
    (counts) =>
      new Map(
        SOURCES.flatMap((ip, i) => (counts[i] === undefined ? [] : [[ip, counts[i]] as [string, number]])),
      ),
  );

const historyArb = (minLength: number, maxLength: number) =>
  fc
    .array(
      // Nine windows in ten complete. Drawn by fast-check, so a failure's printed seed replays it.
      fc.record({ counts: windowCountsArb, complete: fc.nat({ max: 9 }).map((n) => n > 0) }),
      {
        minLength,
        maxLength,
      },
    )
    .map((rows): HistoryWindow[] => rows.map((row, i) => ({ windowStart: T0 + i * HOUR, ...row })));

const baselineArb = fc
  .record({
    mean: fc.double({ min: 0, max: 5000, noNaN: true }),
    cv: fc.double({ min: 0, max: 3, noNaN: true }),
    dataPoints: fc.integer({ min: 1, max: 5000 }),
  })
  .map(({ mean, cv, dataPoints }) => storedBaseline({ mean, variance: (cv * mean) ** 2, dataPoints }));

const configArb = fc.constantFrom<DetectorConfig>(
  recommendedConfig(),
  escuConfig(),
  recommendedConfig({ baselineWindow: 48 }),
);

/** Evaluates windows in order from `start`, applying each window's updates. */
function run(
  history: readonly HistoryWindow[],
  config: DetectorConfig,
  learnOnly: boolean,
  start = { baselines: new Map<string, Baseline>(), clock: 0 },
) {
  const baselines = new Map(start.baselines);
  let clock = start.clock;
  for (const window of history) {
    const result = evaluateWindow({ ...window, baselines, clock }, config, { learnOnly });
    for (const [ip, baseline] of result.updatedBaselines) baselines.set(ip, baseline);
    clock = result.clockAfter;
  }
  return { baselines, clock };
}

const closeRelative = (a: number, b: number) =>
  Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe('engine properties', () => {
  it('evaluating the same window twice is a no-op the second time', () => {
    fc.assert(
      fc.property(configArb, historyArb(1, 40), windowCountsArb, (config, history, counts) => {
        const before = run(history, config, false);
        const window = { windowStart: T0 + history.length * HOUR, counts, complete: true };
        const first = evaluateWindow({ ...window, baselines: before.baselines, clock: before.clock }, config);
        const applied = new Map(before.baselines);
        for (const [ip, baseline] of first.updatedBaselines) applied.set(ip, baseline);
        const again = evaluateWindow({ ...window, baselines: applied, clock: first.clockAfter }, config);
        expect(again.updatedBaselines.size).toBe(0);
        expect(again.alerts).toEqual([]);
        expect(again.decisions.every((d) => d.outcome === 'already-folded')).toBe(true);
        expect(again.decisions).toHaveLength([...counts.values()].filter((x) => x > 0).length);
      }),
      { numRuns: 150 },
    );
  });

  it('an older window arriving after a newer one changes nothing (windows fold in order only)', () => {
    fc.assert(
      fc.property(configArb, historyArb(2, 40), (config, history) => {
        const inOrder = run(history, config, false);
        const late = history[history.length - 2]!;
        const result = evaluateWindow(
          { ...late, baselines: inOrder.baselines, clock: inOrder.clock },
          config,
        );
        expect(result.updatedBaselines.size).toBe(0);
        expect(result.alerts).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('the order of sources inside a window does not matter', () => {
    fc.assert(
      fc.property(configArb, historyArb(1, 40), windowCountsArb, (config, history, counts) => {
        const before = run(history, config, false);
        const window = {
          windowStart: T0 + history.length * HOUR,
          complete: true,
          baselines: before.baselines,
          clock: before.clock,
        };
        const forward = evaluateWindow({ ...window, counts }, config);
        const backward = evaluateWindow({ ...window, counts: new Map([...counts].reverse()) }, config);
        expect(new Map([...backward.updatedBaselines].sort())).toEqual(
          new Map([...forward.updatedBaselines].sort()),
        );
        expect(backward.alerts).toEqual(forward.alerts);
      }),
      { numRuns: 100 },
    );
  });

  it('foldZeros(b, k) equals folding 0 k times', () => {
    fc.assert(
      fc.property(
        baselineArb,
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 2, max: 2000 }),
        (baseline, k, baselineWindow) => {
          const config = recommendedConfig({ baselineWindow });
          let manual: Pick<Baseline, 'mean' | 'variance' | 'dataPoints'> = baseline;
          for (let i = 0; i < k; i += 1) manual = updateMoments(manual, 0, config);
          const folded = foldZeros(baseline, k, config);
          expect(folded.dataPoints).toBe(manual.dataPoints);
          expect(closeRelative(folded.mean, manual.mean)).toBe(true);
          expect(closeRelative(folded.variance, manual.variance)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('foldedBaseline equals the spread of the baseline, its updated moments and the bookkeeping', () => {
    fc.assert(
      fc.property(
        baselineArb,
        fc.option(
          fc.record({ lastAlertWindow: fc.integer({ min: 0, max: 1e6 }), lastAlertCount: fc.nat() }),
          {
            nil: undefined,
          },
        ),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        configArb,
        fc.integer({ min: 0, max: 1000 }),
        (stored, alert, x, config, clock) => {
          const before: Baseline = { ...stored, ...alert };
          const expected = {
            ...before,
            ...updateMoments(before, x, config),
            lastWindow: T0,
            clockAtLastFold: clock,
            // With rhythm the window's slot of the profile learns it too (rhythm.test.ts).
            ...(config.rhythm
              ? { profile: foldProfile(before.profile, T0, x, before.dataPoints, config) }
              : {}),
          };
          const folded = foldedBaseline(before, x, T0, clock, config);
          // Same fields, values bit for bit (key order may differ; every store writes fields by name).
          expect(folded).toStrictEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('logFactorial remembers exactly what gammaln(k + 1) gives, inside and past its table', () => {
    for (const k of [0, 1, 2, 17, 4095, 4096, 10_000, 1e6]) {
      expect(Object.is(logFactorial(k), gammaln(k + 1))).toBe(true);
      expect(Object.is(logFactorial(k), gammaln(k + 1))).toBe(true); // the remembered value
    }
  });

  // A flat series folds to exactly mean = level, variance = 0, n = length (checked first, cheaply
  // for any length); the detection property then runs on that baseline for any level and length.
  // The end-to-end variant runs shorter series through evaluateWindow window by window (stdlib's
  // Poisson tail is slow for means in the thousands, so long series there would slow the suite).
  it('a flat series folds to mean = level, variance = 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 1500 }), (level, length) => {
        let moments = { mean: level, variance: 0, dataPoints: 1 };
        for (let i = 1; i < length; i += 1) moments = updateMoments(moments, level, recommendedConfig());
        expect(moments).toEqual({ mean: level, variance: 0, dataPoints: length });
      }),
      { numRuns: 50 },
    );
  });

  it('recommended never alerts on a flat series followed by flat + 1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 24, max: 100_000 }),
        (level, length) => {
          const config = recommendedConfig();
          const flat = storedBaseline({ mean: level, variance: 0, dataPoints: length });
          const result = evaluateWindow(
            {
              windowStart: T0,
              complete: true,
              clock: flat.clockAtLastFold,
              counts: new Map([['10.0.0.1', level + 1]]),
              baselines: new Map([['10.0.0.1', flat]]),
            },
            config,
          );
          expect(result.alerts).toEqual([]);
          expect(result.decisions[0]?.outcome).toBe('normal');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('recommended never alerts anywhere along a flat series and its flat + 1 (end to end)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 24, max: 60 }), (level, length) => {
        const config = recommendedConfig();
        const series = [...Array<number>(length).fill(level), level + 1];
        let baselines = new Map<string, Baseline>();
        let clock = 0;
        series.forEach((x, i) => {
          const result = evaluateWindow(
            {
              windowStart: T0 + i * HOUR,
              complete: true,
              counts: new Map([['10.0.0.1', x]]),
              baselines,
              clock,
            },
            config,
          );
          // The first window may be a new-source alert (level >= 100); no window may be a spike.
          expect(result.alerts.filter((a) => a.kind !== 'new-source')).toEqual([]);
          if (i > 0) expect(result.alerts).toEqual([]);
          baselines = new Map([...baselines, ...result.updatedBaselines]);
          clock = result.clockAfter;
        });
      }),
      { numRuns: 15 },
    );
  });

  it('a spike raises the mean by at most a * k * sd (the cap)', () => {
    fc.assert(
      fc.property(baselineArb, fc.double({ min: 5, max: 1000, noNaN: true }), (stored, excess) => {
        const config = recommendedConfig({ cooldownMinutes: 0 });
        const mature = { ...stored, dataPoints: Math.max(stored.dataPoints, config.minDataPoints) };
        const sd = spreadOf(mature.mean, mature.variance, config);
        const x = Math.ceil(mature.mean + excess * sd + config.minBlockedCount);
        const result = evaluateWindow(
          {
            windowStart: T0,
            complete: true,
            clock: mature.clockAtLastFold,
            counts: new Map([['a', x]]),
            baselines: new Map([['a', mature]]),
          },
          config,
        );
        const updated = result.updatedBaselines.get('a')!;
        const a = 1 / Math.min(mature.dataPoints + 1, config.baselineWindow);
        if (result.decisions[0]?.outcome === 'spike') {
          expect(updated.mean - mature.mean).toBeLessThanOrEqual(
            a * config.deviationThreshold * sd * (1 + 1e-12) + 1e-9,
          );
        } else {
          // Not a spike: the window is taught in full.
          expect(updated.mean).toBeCloseTo(mature.mean + (x - mature.mean) * a, 6);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('bootstrapping then evaluating equals evaluating (learnOnly) everything', () => {
    fc.assert(
      fc.property(historyArb(2, 70), fc.double({ min: 0, max: 1, noNaN: true }), (history, splitAt) => {
        const config = recommendedConfig({ baselineWindow: 48 });
        const split = Math.floor(splitAt * history.length);
        const learned = bootstrapBaselines(history.slice(0, split), config);
        const continued = run(history.slice(split), config, false, learned);
        const allLearned = run(history, config, true);
        expect(continued.clock).toBe(allLearned.clock);
        expect([...continued.baselines.keys()].sort()).toEqual([...allLearned.baselines.keys()].sort());
        for (const [ip, expected] of allLearned.baselines) {
          const actual = continued.baselines.get(ip)!;
          expect(actual.dataPoints).toBe(expected.dataPoints);
          expect(closeRelative(actual.mean, expected.mean)).toBe(true);
          expect(closeRelative(actual.variance, expected.variance)).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});
