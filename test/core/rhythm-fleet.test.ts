/**
 * Rhythm-aware baselines on flat fleets: a fleet simulation (about 25 s), apart from rhythm.test.ts
 * so that mutation testing, which leaves the fleet simulations out (jest.stryker.config.js), can
 * still run the focused rhythm tests.
 */
import { negativeBinomial, seededRandom } from '../../lambda/core';
import { MONDAY, config, runWindows } from './rhythm-fixtures';

describe('rhythm-aware detection on flat fleets', () => {
  it('a source with no rhythm decides as without rhythm (flat fleets, within a few alerts)', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const rates = Array.from({ length: 60 }, () => 0.5 * Math.pow(400, random()));
      const fleet = (data: () => number) => () => {
        const counts = new Map<string, number>();
        rates.forEach((m, s) => {
          const x = negativeBinomial(data, m, m + (m * m) / 3);
          if (x > 0) counts.set(`10.0.0.${s}`, x);
        });
        return counts;
      };
      const on = runWindows(config(), MONDAY, 21 * 24, fleet(seededRandom(seed + 100)));
      const off = runWindows(
        config({ rhythm: false, jobOccurrencesToLearn: 0 }),
        MONDAY,
        21 * 24,
        fleet(seededRandom(seed + 100)),
      );
      const idsOn = new Set(on.alerts.map((a) => a.alertId));
      const idsOff = new Set(off.alerts.map((a) => a.alertId));
      const differing =
        [...idsOn].filter((id) => !idsOff.has(id)).length + [...idsOff].filter((id) => !idsOn.has(id)).length;
      expect(idsOff.size).toBeGreaterThan(5); // the fleet does alert: the comparison means something
      expect(differing).toBeLessThanOrEqual(Math.max(2, 0.1 * idsOff.size));
    }
  });
});
