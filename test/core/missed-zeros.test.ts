/**
 * withMissedZeros: the baseline a recommended source is compared against after windows it was
 * absent from (no records: a count of zero). The zeros go into its flat moments, and with
 * rhythm on into the hourly slots of the windows missed; with rhythm off the stored profile is
 * left as it is (it is neither used nor taught).
 */
import { withMissedZeros, type Baseline } from '../../lambda/core/baseline';
import { decodeProfile, encodeProfile, PROFILE_SLOTS } from '../../lambda/core/rhythm';
import { HOUR, T0, recommendedConfig } from './engine-fixtures';

const PROFILE = encodeProfile(Array.from({ length: PROFILE_SLOTS }, () => 10));
/** 100 windows of 10, the last one the window before T0 (a Sunday, 00:00 UTC). */
const stored: Baseline = {
  mean: 10,
  variance: 4,
  dataPoints: 100,
  lastWindow: T0 - HOUR,
  clockAtLastFold: 90,
  profile: PROFILE,
  withinHour: { variance: 4, index: 1, count: 80 },
};

describe('withMissedZeros', () => {
  it('folds a zero for each complete window missed into the flat moments', () => {
    // 10 windows missed (clock 90 -> 100): the mean of 100 tens and 10 zeros.
    const zeroed = withMissedZeros(stored, 100, recommendedConfig({ rhythm: false }));
    expect(zeroed.dataPoints).toBe(110);
    expect(zeroed.mean).toBeCloseTo(1000 / 110, 10);
    expect(zeroed.variance).toBeGreaterThan(stored.variance);
  });

  it('leaves the profile and the within-hour figures alone with rhythm off', () => {
    const zeroed = withMissedZeros(stored, 100, recommendedConfig({ rhythm: false }));
    expect(zeroed.profile).toBe(PROFILE);
    expect(zeroed.withinHour).toEqual(stored.withinHour);
  });

  it('with rhythm on, lowers the slots of the windows missed and only those', () => {
    const zeroed = withMissedZeros(stored, 100, recommendedConfig());
    const before = decodeProfile(PROFILE);
    const after = decodeProfile(zeroed.profile);
    // The missed windows are the 10 after the last fold: Sunday 00:00-09:00, weekend slots 24-33.
    const missedSlots = new Set(Array.from({ length: 10 }, (_, h) => 24 + h));
    for (let slot = 0; slot < PROFILE_SLOTS; slot += 1) {
      if (missedSlots.has(slot)) expect(after[slot]).toBeLessThan(before[slot]!);
      else expect(after[slot]).toBe(before[slot]);
    }
  });

  it("with rhythm on, counts each missed window in the within-hour figures, a distance of its slot's mean", () => {
    const zeroed = withMissedZeros(stored, 100, recommendedConfig());
    // Ten windows measured more, each 10 from its slot's mean of 10: both running means grow.
    expect(zeroed.withinHour?.count).toBe(90);
    expect(zeroed.withinHour?.variance).toBeGreaterThan(stored.withinHour!.variance);
    expect(zeroed.withinHour?.index).toBeGreaterThan(stored.withinHour!.index);
  });

  it('gives a baseline nothing was missed since back as it is', () => {
    expect(withMissedZeros(stored, 90, recommendedConfig())).toEqual(stored);
  });
});
