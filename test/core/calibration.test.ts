/**
 * The recommended preset keeps to its false-alert budget as the fleet grows, where a fixed
 * "mean + 3 sd" rule does not (DESIGN.md "Calibrated threshold"). Seeded versions of
 * bench/calibration.ts: negative-binomial counts with shape 3, rates 0.5-500/h, 3-10x spikes
 * injected at known points, cooldown and mass-spike grouping off so they cannot hide false alerts.
 *
 * The expectation is never the detector's own output: an oracle that knows every source's true
 * model and flags P(X >= x) below the same window thresholds gives the false alerts a perfectly
 * calibrated detector would raise on these counts (computed exactly, from the true tails: no
 * counting noise), and the spikes that can be told from noise at that budget (recall is judged
 * on those: most 3x spikes of a quiet or very noisy source cannot, by ANY detector).
 *
 * What the bands catch (measured with seeds 1-3; the fixed seed here is one of many that pass):
 * the recommended preset raises 1.01-1.21x the oracle's false alerts (its baselines are
 * estimates); with the threshold 1.5x too loose 1.56-1.79x, 1.5x too strict 0.63-0.78x. Enough
 * false alerts are counted for that: ~360 at 40 sources over 400 days (budget 1/day) and ~680 at
 * 200 sources over 30 days with a budget of 24/day (the calibration must hold at any budget; a
 * larger one makes a month enough). The estimation-error correction matters in far tails and
 * young baselines, which a fleet run would need many months of 1,000+ sources to count: a focused
 * run below measures it directly.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type {
  EstimationCalibrationCell,
  EstimationCalibrationOptions,
  SimulationOptions,
  SimulationResult,
} from '../../bench/calibration';

interface Runs {
  simulate: SimulationOptions[];
  estimation: EstimationCalibrationOptions;
}

/**
 * Runs the simulations in a plain Node process (TypeScript through tsx). Inside Jest 30 every
 * global lookup (Math.imul, Math.log, ...) goes through the sandbox's global Proxy and costs
 * about a microsecond, which makes these numeric loops some 50x slower than in Node itself.
 */
function runOutsideJest(runs: Runs): {
  simulate: SimulationResult[];
  estimation: EstimationCalibrationCell[];
} {
  const script =
    "const { simulate, estimationCalibration } = require('./bench/calibration.ts');" +
    'const runs = JSON.parse(process.argv[1]);' +
    'process.stdout.write(JSON.stringify({ simulate: runs.simulate.map((o) => simulate(o)), ' +
    'estimation: estimationCalibration(runs.estimation) }));';
  const output = execFileSync(process.execPath, ['--import', 'tsx', '-e', script, JSON.stringify(runs)], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(output) as { simulate: SimulationResult[]; estimation: EstimationCalibrationCell[] };
}

const SEED = 2;
/** The oracle's false alerts times these bounds: the recommended preset's must fall between. */
const LOWER = 0.85;
const UPPER = 1.4;

describe('calibrated threshold (simulation)', () => {
  let calibration: { result: SimulationResult }[];
  let small: SimulationResult;
  let large: SimulationResult;
  let estimation: EstimationCalibrationCell[];

  beforeAll(() => {
    const recommendedOnly = { rules: ['recommended'] as const, bootstrapDays: 7, seed: SEED };
    const runs = runOutsideJest({
      simulate: [
        { ...recommendedOnly, sources: 40, detectDays: 400 },
        { ...recommendedOnly, sources: 200, detectDays: 30, overrides: { falseAlertBudgetPerDay: 24 } },
        // The fixed rule's growth with the fleet (recommended-3sd comes with recommended).
        { rules: ['recommended', 'splunk-escu'], sources: 40, bootstrapDays: 7, detectDays: 60 },
        { rules: ['recommended', 'splunk-escu'], sources: 1_000, bootstrapDays: 7, detectDays: 4 },
      ],
      // A false-alert probability of 1e-5 per source-window: a fleet of about 4,000 sources at
      // one false alert a day. 72 and 168 windows: baselines of three days and of a week.
      estimation: {
        targetProbability: 1e-5,
        historyWindows: [72, 168],
        rates: [3, 30, 300],
        replications: 300,
      },
    });
    const [forty, twoHundred] = runs.simulate as [SimulationResult, SimulationResult];
    [, , small, large] = runs.simulate as [
      SimulationResult,
      SimulationResult,
      SimulationResult,
      SimulationResult,
    ];
    calibration = [{ result: forty }, { result: twoHundred }];
    estimation = runs.estimation;
  }, 120_000);

  it.each([
    ['40 sources, a budget of 1 a day, 400 days', 0],
    ['200 sources, a budget of 24 a day, 30 days', 1],
  ])('recommended raises about the false alerts an oracle with the true model does (%s)', (_label, i) => {
    const { result } = calibration[i as number]!;
    const { falseAlerts, falseAlertsPerDay } = result.rules.recommended;
    // Enough false alerts to tell a 1.5x error from counting noise (see the file comment).
    expect(falseAlerts).toBeGreaterThanOrEqual(300);
    const ratio = falseAlertsPerDay / result.oracleFalseAlertsPerDay;
    expect(ratio).toBeGreaterThanOrEqual(LOWER);
    expect(ratio).toBeLessThanOrEqual(UPPER);
  });

  it.each([
    ['40 sources, 400 days', 0],
    ['200 sources, budget 24, 30 days', 1],
    ['1,000 sources, 4 days', 2],
  ])('recommended finds at least 85%% of the spikes an oracle can (%s)', (_label, i) => {
    const result = [...calibration.map((c) => c.result), large][i as number]!;
    expect(result.detectableSpikes).toBeGreaterThanOrEqual(20);
    expect(result.rules.recommended.recallOfDetectable).toBeGreaterThanOrEqual(0.85);
  });

  it('the fixed mean + 3 sd rule grows with the fleet, far past the budget', () => {
    const fixedSmall = small.rules['splunk-escu'].falseAlertsPerDay;
    const fixedLarge = large.rules['splunk-escu'].falseAlertsPerDay;
    expect(fixedSmall).toBeGreaterThan(2 * small.oracleFalseAlertsPerDay);
    // 25x the sources: the fixed rule's false alerts scale with them (allowing for noise).
    expect(fixedLarge).toBeGreaterThan(10 * fixedSmall);
    // The same fixed rule on the recommended baselines behaves alike: it is the threshold, not ESCU's quirks.
    expect(large.rules['recommended-3sd'].falseAlertsPerDay).toBeGreaterThan(
      10 * small.rules['recommended-3sd'].falseAlertsPerDay,
    );
    expect(fixedLarge).toBeGreaterThan(50 * large.oracleFalseAlertsPerDay + 50);
  });

  it.each([72, 168])(
    'baselines learnt from %i windows flag counts as rarely as the true model does at a far tail (the estimation-error correction)',
    (windows) => {
      // Plug-in tails from estimated moments understate far tails (convexity: underestimated
      // variances do not cancel out); without the correction this ratio is about 2 at a week's
      // baseline and about 6 at three days'. With it, the true false-alert rate of the learnt
      // baselines, averaged over rates 3, 30 and 300 an hour, is about the target.
      const cells = estimation.filter((c) => c.historyWindows === windows);
      expect(cells).toHaveLength(3);
      const ratio = cells.reduce((sum, c) => sum + c.realized / c.oracle, 0) / cells.length;
      expect(ratio).toBeGreaterThanOrEqual(0.5);
      expect(ratio).toBeLessThanOrEqual(1.3);
    },
  );
});
