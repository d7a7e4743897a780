/**
 * smallestSpikeCount inverts the engine's spike test: at the count it returns, evaluateWindow
 * says "spike", and one below it does not, for either preset, any baseline and any window
 * threshold; where it returns null no count spikes.
 */
import fc from 'fast-check';
import {
  comparedModel,
  isSpikeCount,
  smallestSpikeCount,
  windowThreshold,
} from '../../lambda/core/alert-threshold';
import type { Baseline } from '../../lambda/core/baseline';
import { encodeProfile, PROFILE_SLOTS, quantizeSlotMean } from '../../lambda/core/rhythm';
import type { DetectorConfig } from '../../lambda/core/config';
import { evaluateWindow } from '../../lambda/core/detect';
import { HOUR, T0, escuConfig, recommendedConfig, storedBaseline, windowInput } from './engine-fixtures';

const SOURCE = '10.0.0.1';
/** Mature sources at their usual level: they widen the fleet (M) without spiking. */
const filler = (i: number): [string, Baseline] => [
  `10.1.0.${i + 1}`,
  storedBaseline({ mean: 50, variance: 100, dataPoints: 1000 }),
];

interface Case {
  config: DetectorConfig;
  stored: Baseline;
  fillers: number;
}

/** Does the engine decide a spike (alerted or held back by a cooldown) for SOURCE at `count`? */
function engineSpikes(
  { config, stored, fillers }: Case,
  count: number,
): { spike: boolean; threshold: number | null; matureSources: number } {
  const others = Array.from({ length: fillers }, (_, i) => filler(i));
  const result = evaluateWindow(
    windowInput(
      { [SOURCE]: count, ...Object.fromEntries(others.map(([ip]) => [ip, 50])) },
      { [SOURCE]: stored, ...Object.fromEntries(others) },
    ),
    config,
  );
  const decision = result.decisions.find((d) => d.srcIp === SOURCE);
  return {
    spike: decision?.outcome === 'spike' || decision?.outcome === 'spike-in-cooldown',
    threshold: result.stats.threshold,
    matureSources: result.stats.matureSources,
  };
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    preset: fc.constantFrom('recommended' as const, 'splunk-escu' as const),
    baselineWindow: fc.integer({ min: 2, max: 2000 }),
    deviationThreshold: fc.double({ min: 0.5, max: 8, noNaN: true }),
    minDataPoints: fc.integer({ min: 0, max: 50 }),
    minBlockedCount: fc.integer({ min: 0, max: 50 }),
    falseAlertBudgetPerDay: fc.double({ min: 0.01, max: 100, noNaN: true }),
    meanFloor: fc.double({ min: 0.1, max: 5, noNaN: true }),
    windowMinutes: fc.constantFrom(15, 60, 1440),
    mean: fc.oneof(fc.double({ min: 0, max: 3, noNaN: true }), fc.double({ min: 0, max: 2000, noNaN: true })),
    cv: fc.double({ min: 0, max: 3, noNaN: true }),
    dataPoints: fc.integer({ min: 1, max: 3000 }),
    missedWindows: fc.integer({ min: 0, max: 500 }),
    cooldown: fc.boolean(),
    fillers: fc.integer({ min: 0, max: 30 }),
  })
  // N - 1 = k^2 exactly is ESCU's knife edge (never a spike in exact arithmetic; rounding decides).
  .filter((c) => Math.abs(c.baselineWindow - 1 - c.deviationThreshold ** 2) > 1e-6)
  .map((c) => {
    const make = c.preset === 'splunk-escu' ? escuConfig : recommendedConfig;
    return {
      // N and k past the schema, which refuses ESCU's N - 1 <= k^2 (no count could spike): the
      // engine's own guard for it is under test here too.
      config: {
        ...make({
          minDataPoints: c.minDataPoints,
          minBlockedCount: c.minBlockedCount,
          falseAlertBudgetPerDay: c.falseAlertBudgetPerDay,
          meanFloor: c.meanFloor,
          windowMinutes: c.windowMinutes,
          massSpikeMinSources: 0,
        }),
        baselineWindow: c.baselineWindow,
        deviationThreshold: c.deviationThreshold,
      },
      stored: storedBaseline({
        mean: c.mean,
        variance: (c.cv * c.mean) ** 2,
        dataPoints: c.dataPoints,
        clockAtLastFold: 100 - c.missedWindows,
        ...(c.cooldown ? { lastAlertWindow: T0 - 2 * HOUR, lastAlertCount: 1 } : {}),
      }),
      fillers: c.fillers,
    };
  });

/** Rhythmic baselines: a random profile, as a fold over three weeks would leave one. */
const rhythmicCaseArb: fc.Arbitrary<Case> = fc
  .record({
    levels: fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 300, noNaN: true })), {
      minLength: PROFILE_SLOTS,
      maxLength: PROFILE_SLOTS,
    }),
    withinVariance: fc.double({ min: 0.1, max: 5000, noNaN: true }),
    withinIndex: fc.double({ min: 0.5, max: 30, noNaN: true }),
    fillers: fc.integer({ min: 0, max: 30 }),
    budget: fc.double({ min: 0.01, max: 10, noNaN: true }),
    // Recurring-job learning on (the default) or off: off, a profile's daily-job hour has no
    // rule of its own, only the tail decides it.
    jobs: fc.boolean(),
  })
  .map((c) => {
    const values = c.levels.map((v) => quantizeSlotMean(v));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length + c.withinVariance;
    return {
      config: recommendedConfig({
        massSpikeMinSources: 0,
        falseAlertBudgetPerDay: c.budget,
        ...(c.jobs ? {} : { jobOccurrencesToLearn: 0 }),
      }),
      stored: storedBaseline({
        mean,
        variance,
        dataPoints: 21 * 24,
        profile: encodeProfile(values),
        withinHour: { variance: c.withinVariance, index: c.withinIndex, count: 21 * 24 },
      }),
      fillers: c.fillers,
    };
  });

describe('isSpikeCount', () => {
  it('says "spike" exactly where the engine does, at any count (property, both presets)', () => {
    let spikes = 0;
    let quiet = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        caseArb,
        // Counts the guards decide (0, under minBlockedCount), around the mean and far above it.
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 100_000 })),
        (c, count) => {
          runs += 1;
          const { threshold } = engineSpikes(c, 1);
          const model = comparedModel(c.stored, 100, T0, c.config);
          const expected = engineSpikes(c, count).spike;
          expect(isSpikeCount(count, model, threshold, c.config)).toBe(expected);
          if (expected) spikes += 1;
          else quiet += 1;
        },
      ),
      { numRuns: 300, seed: 4242, endOnFailure: true },
    );
    // Shares of the cases, not numbers of them: the mutation run caps every property's cases.
    expect(spikes).toBeGreaterThan(runs / 6);
    expect(quiet).toBeGreaterThan(runs / 6);
  });
});

describe('smallestSpikeCount', () => {
  it('is where the engine starts to say "spike" for rhythm-aware baselines too (property)', () => {
    let rhythmic = 0;
    let runs = 0;
    fc.assert(
      fc.property(rhythmicCaseArb, (c) => {
        runs += 1;
        const { threshold } = engineSpikes(c, 1);
        const model = comparedModel(c.stored, 100, T0, c.config);
        if (model.rhythm !== undefined) rhythmic += 1;
        const count = smallestSpikeCount(model, threshold, c.config);
        if (count === null) return;
        expect(engineSpikes(c, count).spike).toBe(true);
        if (count > 1) expect(engineSpikes(c, count - 1).spike).toBe(false);
      }),
      { numRuns: 150, seed: 2026, endOnFailure: true },
    );
    // The profiles were rhythmic enough for the hour's model to decide in most cases.
    expect(rhythmic).toBeGreaterThan(runs / 2);
  });

  it('is where the engine starts to say "spike" (property, both presets)', () => {
    let found = 0;
    let never = 0;
    let runs = 0;
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 10_000_000 }), (c, hint) => {
        runs += 1;
        const { threshold, matureSources } = engineSpikes(c, 1);
        // The window's threshold as the report computes it for windows a source was not seen in.
        if (c.config.preset === 'recommended')
          expect(windowThreshold(c.config, matureSources)).toBe(threshold);
        const model = comparedModel(c.stored, 100, T0, c.config);
        const count = smallestSpikeCount(model, threshold, c.config);
        if (count === null) {
          never += 1;
          for (const x of [1, 10, 1_000, 1_000_000, 1_000_000_000])
            expect(engineSpikes(c, x).spike).toBe(false);
          return;
        }
        found += 1;
        expect(engineSpikes(c, count).spike).toBe(true);
        if (count > 1) expect(engineSpikes(c, count - 1).spike).toBe(false);
        // A hint only changes where the search starts.
        expect(smallestSpikeCount(model, threshold, c.config, hint)).toBe(count);
      }),
      { numRuns: 400, seed: 1313, endOnFailure: true },
    );
    // The generator reached both outcomes, mostly the interesting one.
    expect(found).toBeGreaterThan(runs / 2);
    expect(never).toBeGreaterThan(runs / 80);
  });

  it.each([
    ["before the band: the tail's first spike", { quietFrom: 23, spikeFrom: 40 }, 22],
    ["at the band's start: the band's end", { quietFrom: 22, spikeFrom: 40 }, 40],
    ["inside the band: the band's end", { quietFrom: 15, spikeFrom: 30 }, 30],
    ['a band ending below minBlockedCount: minBlockedCount', { quietFrom: 1, spikeFrom: 5 }, 10],
  ])('with a moved daily job, %s', (_name, band, expected) => {
    // Poisson(10) at 1e-3: the tail spikes from 22; the band's counts are the job's, quiet.
    const config = recommendedConfig();
    const model = { mean: 10, variance: 10, dataPoints: 720, movedDailyJob: band };
    expect(smallestSpikeCount(model, 1e-3, config)).toBe(expected);
    expect(isSpikeCount(expected, model, 1e-3, config)).toBe(true);
    expect(isSpikeCount(expected - 1, model, 1e-3, config)).toBe(false);
    // Inside the band nothing spikes; from its end up everything does.
    expect(isSpikeCount(band.quietFrom, model, 1e-3, config)).toBe(false);
    expect(isSpikeCount(band.spikeFrom - 1, model, 1e-3, config)).toBe(false);
  });

  it("with a moved daily job and a tail that never spikes, spikes from the band's end (a grown job)", () => {
    const config = recommendedConfig();
    const model = {
      mean: 10,
      variance: 1e30,
      dataPoints: 720,
      movedDailyJob: { quietFrom: 20, spikeFrom: 50 },
    };
    expect(smallestSpikeCount(model, 1e-3, config)).toBe(50);
    expect(isSpikeCount(50, model, 1e-3, config)).toBe(true);
    expect(isSpikeCount(49, model, 1e-3, config)).toBe(false);
    expect(isSpikeCount(19, model, 1e-3, config)).toBe(false);
  });

  it('matches known tails: Poisson(10) at a 1e-3 threshold spikes from 22 (P(X >= 21) = 0.0016, P(X >= 22) = 0.0007)', () => {
    const config = recommendedConfig();
    const model = { mean: 10, variance: 10, dataPoints: 720 };
    expect(smallestSpikeCount(model, 1e-3, config)).toBe(22);
  });

  it.each([
    ['ESCU, a flat baseline: any count above the mean', { mean: 5, variance: 0, dataPoints: 10 }, 6],
    // x - mean > 3 sqrt(720 x 16 / (719 - 9)) = 12.08...: 10 + 12.08 -> 23
    ['ESCU, mean 10 and variance 16', { mean: 10, variance: 16, dataPoints: 100 }, 23],
    ['ESCU, a baseline too young (n + 1 <= 5)', { mean: 5, variance: 4, dataPoints: 4 }, null],
  ])('%s', (_name, model, expected) => {
    expect(smallestSpikeCount(model, null, escuConfig())).toBe(expected);
  });

  it('is null where nothing can spike: a young recommended baseline, no threshold, ESCU with N - 1 <= k^2', () => {
    expect(
      smallestSpikeCount({ mean: 5, variance: 5, dataPoints: 23 }, 1e-3, recommendedConfig()),
    ).toBeNull();
    expect(
      smallestSpikeCount({ mean: 5, variance: 5, dataPoints: 500 }, null, recommendedConfig()),
    ).toBeNull();
    // Past the schema, which refuses it: the engine's own guard.
    const tight = { ...escuConfig({ deviationThreshold: 3 }), baselineWindow: 9 };
    expect(smallestSpikeCount({ mean: 5, variance: 4, dataPoints: 100 }, null, tight)).toBeNull();
    expect(isSpikeCount(1_000_000, { mean: 5, variance: 4, dataPoints: 100 }, null, tight)).toBe(false);
  });

  it('respects minBlockedCount and the mean in the recommended preset', () => {
    // A near-silent source: the tail alone would flag a handful; minBlockedCount (10) decides.
    expect(smallestSpikeCount({ mean: 0.1, variance: 0.1, dataPoints: 720 }, 1e-3, recommendedConfig())).toBe(
      10,
    );
    const noMinimum = recommendedConfig({ minBlockedCount: 0 });
    expect(smallestSpikeCount({ mean: 0.1, variance: 0.1, dataPoints: 720 }, 1e-3, noMinimum)).toBeLessThan(
      10,
    );
  });
});

describe('comparedModel', () => {
  it('gives a source younger than minDataPoints its flat baseline, as the engine compares it, even with a rhythm in its profile', () => {
    // A steep day/night profile over 200 windows: rhythmic from rhythmMinDays (7 days, 168
    // windows), but minDataPoints is 300 here, so the source is not mature yet.
    const values = Array.from({ length: PROFILE_SLOTS }, (_, s) =>
      quantizeSlotMean(s % 24 >= 8 && s % 24 < 18 ? 40 : 2),
    );
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length + 10;
    const fields = {
      mean,
      variance,
      profile: encodeProfile(values),
      withinHour: { variance: 10, index: 1.5, count: 200 },
    };
    const young = recommendedConfig({ minDataPoints: 300 });
    expect(comparedModel(storedBaseline({ ...fields, dataPoints: 200 }), 100, T0, young)).toEqual({
      mean,
      variance,
      dataPoints: 200,
    });
    // Mature (300 windows), the same profile gives the hour's model.
    expect(
      comparedModel(storedBaseline({ ...fields, dataPoints: 300 }), 100, T0, young).rhythm,
    ).toBeDefined();
  });
});

describe('isSpikeCount at fixed points', () => {
  const config = recommendedConfig({ minBlockedCount: 1 });
  const flat = { mean: 4, variance: 6, dataPoints: 500 };

  it('says no at a count just above the mean, and yes from a job bound up', () => {
    expect(isSpikeCount(5, flat, 1e-3, config)).toBe(false);
    expect(isSpikeCount(40, flat, 1e-3, config)).toBe(true);
    // A daily job of 2.5 (no spread of its runs): grown at twice that, 5.
    expect(isSpikeCount(5, { ...flat, dailyJob: { size: 2.5, samples: 0 } }, 1e-3, config)).toBe(true);
    expect(isSpikeCount(4, { ...flat, dailyJob: { size: 2.5, samples: 0 } }, 1e-3, config)).toBe(false);
  });

  it('never calls a count at the mean a spike, however heavy-tailed the model (as evaluateWindow)', () => {
    // mean 10, sd 10,000: P(X >= 10) is near 1e-5, under a lone source's 1/24.
    const wild = { mean: 10, variance: 1e8, dataPoints: 720 };
    expect(isSpikeCount(10, wild, 1 / 24, config)).toBe(false);
    // Nor under a threshold of 1 or more (a large budget over a small fleet), which every tail is under.
    const poisson = { mean: 10, variance: 10, dataPoints: 720 };
    expect(isSpikeCount(10, poisson, 2, config)).toBe(false);
    expect(isSpikeCount(11, poisson, 2, config)).toBe(true);
  });

  it('decides a source from exactly minDataPoints data points on, not before (as evaluateWindow)', () => {
    const mature = recommendedConfig({ minDataPoints: 24 });
    const at = (dataPoints: number) => ({ mean: 4, variance: 6, dataPoints });
    // No windows missed (clock 100 at the last fold), so the stored data points are the model's.
    for (const [dataPoints, spike] of [
      [23, false],
      [24, true],
    ] as const) {
      const stored = storedBaseline({ ...at(dataPoints), clockAtLastFold: 100 });
      expect(engineSpikes({ config: mature, stored, fillers: 0 }, 400).spike).toBe(spike);
      expect(isSpikeCount(400, comparedModel(stored, 100, T0, mature), 1e-3, mature)).toBe(spike);
      // The line: none before, the engine's first spike from then on.
      const line = smallestSpikeCount(comparedModel(stored, 100, T0, mature), 1e-3, mature);
      if (!spike) expect(line).toBeNull();
      else {
        expect(line).not.toBeNull();
        expect(isSpikeCount(line!, comparedModel(stored, 100, T0, mature), 1e-3, mature)).toBe(true);
        expect(isSpikeCount(line! - 1, comparedModel(stored, 100, T0, mature), 1e-3, mature)).toBe(false);
      }
    }
  });

  it('splunk-escu decides a source whose data points with this window exceed minDataPoints, and the line says so', () => {
    // ESCU folds the window in first: with minDataPoints 5, 5 stored data points (6 with the window) decide, 4 do not.
    const escu = escuConfig();
    for (const [dataPoints, decides] of [
      [4, false],
      [5, true],
    ] as const) {
      const stored = storedBaseline({ mean: 10, variance: 4, dataPoints });
      const line = smallestSpikeCount(comparedModel(stored, 100, T0, escu), null, escu);
      expect(engineSpikes({ config: escu, stored, fillers: 0 }, 1000).spike).toBe(decides);
      if (!decides) expect(line).toBeNull();
      else {
        expect(line).not.toBeNull();
        expect(engineSpikes({ config: escu, stored, fillers: 0 }, line!).spike).toBe(true);
        expect(engineSpikes({ config: escu, stored, fillers: 0 }, line! - 1).spike).toBe(false);
      }
    }
  });

  it('splunk-escu: a count equal to its constant baseline is no spike (x > mean + k sd, strictly)', () => {
    const escu = escuConfig();
    const stored = storedBaseline({ mean: 5, variance: 0, dataPoints: 100 });
    expect(engineSpikes({ config: escu, stored, fillers: 0 }, 5).spike).toBe(false);
    expect(isSpikeCount(5, comparedModel(stored, 100, T0, escu), null, escu)).toBe(false);
    expect(isSpikeCount(6, comparedModel(stored, 100, T0, escu), null, escu)).toBe(true);
  });
});
