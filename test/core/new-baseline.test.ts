/**
 * A source's first baseline (newBaseline): the flat moments of its one window, and, where the
 * rhythm is learned (recommended preset, rhythm on), its hour's profile slot holding that count
 * and every other slot unset. Each case was a mutant that survived the engine's whole mutation run.
 */
import { newBaseline } from '../../lambda/core/baseline';
import { calendarOf, decodeProfile, quantizeSlotMean } from '../../lambda/core/rhythm';
import { T0, escuConfig, recommendedConfig } from './engine-fixtures';

describe('newBaseline', () => {
  it("holds the first count in its hour's slot of the profile, where the rhythm is learned", () => {
    const config = recommendedConfig({ rhythm: true });
    const first = newBaseline(37, T0, 5, config);
    expect(first).toMatchObject({ mean: 37, variance: 0, dataPoints: 1, lastWindow: T0, clockAtLastFold: 5 });
    const slots = decodeProfile(first.profile);
    const slot = calendarOf(config).place(T0).slot;
    // On the stored grid (a few parts in 10,000).
    expect(slots[slot]).toBe(quantizeSlotMean(37));
    expect(Math.abs((slots[slot] as number) / 37 - 1)).toBeLessThan(1e-3);
    expect([...slots].filter((value, s) => s !== slot && !Number.isNaN(value))).toEqual([]);
  });

  it.each([
    ['splunk-escu', escuConfig()],
    ['recommended with rhythm off', recommendedConfig({ rhythm: false })],
    ['no config', undefined],
  ])('keeps no profile under %s', (_name, config) => {
    expect(newBaseline(37, T0, 5, config).profile).toBeUndefined();
  });
});
