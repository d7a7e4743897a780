/**
 * spikeTail, the recommended preset's test on one count: which tail it computes for which model.
 * (Its shortcuts and the estimation-error correction are pinned where the decisions are made,
 * recommended-preset.test.ts and alert-threshold.test.ts.)
 */
import { spikeTail } from '../../lambda/core/spike-test';
import { upperTailProbability } from '../../lambda/core/tail-probability';

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
