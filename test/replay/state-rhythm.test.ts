/**
 * Replay state files keep rhythm state (profiles, within-hour statistics, recurring jobs, slot
 * spreads) exactly, and refuse a file whose rhythms follow another time zone or weekend.
 */
import {
  encodeProfile,
  PROFILE_SLOTS,
  quantizeSlotMean,
  resolveDetectorConfig,
  type Baseline,
} from '../../lambda/core';
import { MemoryBaselineStore, StateFileError } from '../../lambda/replay/memory-store';

const W = Date.parse('2026-11-27T09:00:00Z');

describe('replay state files with rhythm', () => {
  const config = resolveDetectorConfig({ timezone: 'Europe/Berlin' });
  const rhythmic: Baseline = {
    mean: 12.5,
    variance: 40,
    dataPoints: 400,
    lastWindow: W,
    clockAtLastFold: 400,
    profile: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s / 3))),
    withinHour: { variance: quantizeSlotMean(21.5), index: quantizeSlotMean(1.75), count: 380 },
    jobs: [
      {
        phase: 74,
        period: 'weekly',
        size: 140,
        occurrences: 4,
        last: W - 7 * 86_400_000,
        spread: 1834,
        spreadRuns: 3,
      },
      { phase: 3, size: 60, occurrences: 1, last: W - 2 * 86_400_000 },
      {
        phase: 27,
        period: 'monthly',
        size: 300,
        occurrences: 3,
        last: W - 20 * 86_400_000,
        spread: 900,
        spreadRuns: 2,
      },
    ],
    slotSpread: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s * 2.5))),
  };

  it('saves and loads rhythm state exactly', () => {
    const store = new MemoryBaselineStore();
    store.commitWindow(W, new Map([['123456789012|10.0.0.1', rhythmic]]), 400);
    const text = JSON.stringify(store.toJSON(config));
    const loaded = MemoryBaselineStore.fromJson(text, 'state.json', config);
    expect(loaded.baselines.get('123456789012|10.0.0.1')).toEqual(rhythmic);
    expect(JSON.parse(text).rhythm).toEqual({ timezone: 'Europe/Berlin', weekendDays: ['Sat', 'Sun'] });
  });

  it('takes the weekend as a set of days: the order a config lists them in does not matter, another day does', () => {
    const store = new MemoryBaselineStore();
    store.commitWindow(W, new Map([['123456789012|10.0.0.1', rhythmic]]), 400);
    const text = JSON.stringify(
      store.toJSON(resolveDetectorConfig({ timezone: 'Europe/Berlin', weekendDays: ['Sun', 'Sat'] })),
    );
    const loaded = MemoryBaselineStore.fromJson(text, 'state.json', config);
    expect(loaded.baselines.get('123456789012|10.0.0.1')).toEqual(rhythmic);
    const friday = resolveDetectorConfig({ timezone: 'Europe/Berlin', weekendDays: ['Fri', 'Sat'] });
    expect(() => MemoryBaselineStore.fromJson(text, 'state.json', friday)).toThrow(
      /with weekend Sun,Sat, this run uses Europe\/Berlin with weekend Fri,Sat/,
    );
  });

  it('refuses a file built in another time zone, and a malformed profile, changing nothing', () => {
    const store = new MemoryBaselineStore();
    store.commitWindow(W, new Map([['123456789012|10.0.0.1', rhythmic]]), 400);
    const text = JSON.stringify(store.toJSON(config));
    expect(() => MemoryBaselineStore.fromJson(text, 'state.json', resolveDetectorConfig({}))).toThrow(
      /holds rhythms in time zone Europe\/Berlin .* this run uses UTC/,
    );
    const bad = JSON.parse(text);
    bad.baselines['123456789012|10.0.0.1'].profile = 'AAAA';
    expect(() => MemoryBaselineStore.fromJson(JSON.stringify(bad), 'state.json', config)).toThrow(
      StateFileError,
    );
    expect(() => MemoryBaselineStore.fromJson(JSON.stringify(bad), 'state.json', config)).toThrow(/profile/);
  });

  it.each([
    [
      'a spread without the runs it rests on',
      { spread: 1834 },
      /jobs\[0\]\.spreadRuns.*both be set or both be absent/,
    ],
    ['runs without a spread', { spreadRuns: 3 }, /jobs\[0\]\.spreadRuns.*both be set or both be absent/],
    ['a negative spread', { spread: -1, spreadRuns: 3 }, /jobs\[0\]\.spread/],
    ['more runs than a spread keeps', { spread: 1834, spreadRuns: 9 }, /jobs\[0\]\.spreadRuns/],
  ])("refuses a job's spread with %s, naming the field", (_, fields, message) => {
    const store = new MemoryBaselineStore();
    store.commitWindow(W, new Map([['123456789012|10.0.0.1', rhythmic]]), 400);
    const bad = JSON.parse(JSON.stringify(store.toJSON(config)));
    const job = bad.baselines['123456789012|10.0.0.1'].jobs[0];
    delete job.spread;
    delete job.spreadRuns;
    Object.assign(job, fields);
    const load = () => MemoryBaselineStore.fromJson(JSON.stringify(bad), 'state.json', config);
    expect(load).toThrow(StateFileError);
    expect(load).toThrow(message);
  });
});
