/**
 * WindowDecider, the one-source-at-a-time form of evaluateWindow that the Lambda streams a
 * window through (detector-run.ts): it must decide, count and order a window's sources exactly
 * as evaluateWindow does.
 */
import { evaluateWindow, isMatureSource, WindowDecider } from '../../lambda/core/detect';
import { HOUR, T0, recommendedConfig, storedBaseline, windowInput } from './engine-fixtures';

const config = recommendedConfig();
const mature = storedBaseline({ mean: 5, variance: 5, dataPoints: 100 });
// In count order: a compared source, a new one, one whose window was already folded, a second compared one.
const input = windowInput(
  { steady: 6, fresh: 5, folded: 7, spiking: 400 },
  { steady: mature, folded: { ...mature, lastWindow: T0 }, spiking: mature },
);

describe('evaluateWindow', () => {
  it('lists new and already-folded sources first, then the compared ones, each in count order', () => {
    const result = evaluateWindow(input, config);
    expect(result.decisions.map((d) => [d.srcIp, d.outcome])).toEqual([
      ['fresh', 'new-source-quiet'],
      ['folded', 'already-folded'],
      ['steady', 'normal'],
      ['spiking', 'spike'],
    ]);
    // Only the sources with a new baseline, in the same order (the folded one is left as it was).
    expect([...result.updatedBaselines.keys()]).toEqual(['fresh', 'steady', 'spiking']);
    expect(result.stats.sourcesSeen).toBe(4);
    // A decision without a tail (new, or a count whose point probability alone rules a spike
    // out) has no tailProbability field at all, as the type's comment says.
    const [fresh, , steady, spiking] = result.decisions;
    expect('tailProbability' in fresh!).toBe(false);
    expect('tailProbability' in steady!).toBe(false);
    expect(spiking!.tailProbability).toBeLessThan(1e-6);
  });

  it('stores no jobs field for a source whose every recurring-job candidate has lapsed', () => {
    const lapsed = {
      ...mature,
      jobs: [{ phase: 5, size: 300, occurrences: 1, last: T0 - 60 * 24 * HOUR }],
    };
    const result = evaluateWindow(windowInput({ a: 6 }, { a: lapsed }), config);
    const next = result.updatedBaselines.get('a')!;
    expect(next.dataPoints).toBe(101);
    expect('jobs' in next).toBe(false);
  });
});

describe('WindowDecider', () => {
  it('streams the window to the decisions, alerts and figures evaluateWindow gives', () => {
    const whole = evaluateWindow(input, config);
    let matureSources = 0;
    for (const [key, x] of input.counts) {
      if (x > 0 && isMatureSource(input.baselines.get(key), input, config)) matureSources += 1;
    }
    const decider = new WindowDecider(input, config, matureSources);
    const results = [...input.counts].map(
      ([key, x]) => [key, decider.decide(key, x, input.baselines.get(key))] as const,
    );
    // `compared` says which sources had a baseline to be compared with: not the new, not the already folded.
    expect(results.map(([key, r]) => [key, r.compared])).toEqual([
      ['steady', true],
      ['fresh', false],
      ['folded', false],
      ['spiking', true],
    ]);
    expect(new Map(results.map(([key, r]) => [key, r.decision]))).toEqual(
      new Map(whole.decisions.map((d) => [d.srcIp, d])),
    );
    const outcome = decider.finish();
    expect(outcome.stats).toEqual(whole.stats);
    expect(outcome.stats.sourcesSeen).toBe(4);
    expect(outcome.alerts).toEqual(whole.alerts);
    expect(outcome.alerted).toEqual([{ srcIp: 'spiking', count: 400 }]);
    expect(outcome.clockAfter).toBe(whole.clockAfter);
    expect(outcome.windowEnd).toBe(whole.windowEnd);
  });
});
