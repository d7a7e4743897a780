/**
 * A slot's own spread (rhythm.ts foldSlotSpread, slotSpreadWithZeros, and rhythmModel's use of
 * it): how it is kept, how the lazy zero-fill decays it, when the hour's model takes it, and what
 * it does for a fleet of backups whose last, partial hour varies from night to night.
 */
import type { Baseline } from '../../lambda/core/baseline';
import { poisson, seededRandom } from '../../lambda/core/random';
import {
  calendarOf,
  decodeProfile,
  encodeProfile,
  encodeValue,
  foldProfile,
  foldSlotSpread,
  PROFILE_SLOTS,
  quantizeSlotMean,
  rhythmModel,
  slotSpreadWithZeros,
} from '../../lambda/core/rhythm';
import { evaluateWindow, type Alert } from '../../lambda/core';
import { config, DAY, HOUR, MONDAY } from './rhythm-fixtures';

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const near = (actual: number, expected: number) => expect(actual / expected).toBeCloseTo(1, 3);
const profileOf = (level: (slot: number) => number): string =>
  encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(level(s))));

describe('foldSlotSpread', () => {
  // Daily windows: every weekday falls in slot 0, so its spread is that of the weekdays' counts.
  const daily = config({ windowMinutes: 1440 });
  const SHARE = 5 / (7 * 24);
  const memory = Math.round(720 * SHARE); // the slot's window: 21

  it("is the mean of d^2 n / (n + 1) over the slot's windows, d the distance from the slot's mean before each", () => {
    // Folded as foldedBaseline folds them with rhythm on (the profile after the spread).
    let profile = foldProfile(undefined, MONDAY, 10, 0, daily);
    let spread: string | undefined;
    // Before the i-th window after the first, the slot has seen i windows.
    let dataPoints = Math.round(1 / SHARE);
    const counts = [14, 7, 12, 30, 9, 11, 10, 2, 16, 8]; // Tuesday onwards, weekdays only
    const terms: number[] = [];
    let t = MONDAY;
    for (const x of counts) {
      t += DAY;
      while ([0, 6].includes(new Date(t).getUTCDay())) t += DAY;
      const slotMean = decodeProfile(profile)[0]!;
      const seen = Math.max(1, Math.round(dataPoints * SHARE));
      terms.push(((x - slotMean) ** 2 * seen) / (seen + 1));
      spread = foldSlotSpread(spread, profile, t, x, dataPoints, daily);
      profile = foldProfile(profile, t, x, dataPoints, daily);
      dataPoints = Math.round((terms.length + 1) / SHARE);
    }
    expect(terms.length).toBeLessThan(memory); // still an exact mean
    near(decodeProfile(spread)[0]!, terms.reduce((a, b) => a + b, 0) / terms.length);
    // The weekend slots were never folded: no spread there.
    expect(decodeProfile(spread)[24]).toBeNaN();
  });

  it('weights a distance 1/N once the slot has seen its window', () => {
    const profile = profileOf(() => 10);
    const spread = profileOf(() => 4);
    const dataPoints = Math.round(40 / SHARE); // 40 windows of the slot seen
    const next = foldSlotSpread(spread, profile, MONDAY, 16, dataPoints, daily);
    const term = (36 * 40) / 41;
    near(decodeProfile(next)[0]!, quantizeSlotMean(4) + (term - quantizeSlotMean(4)) / memory);
  });

  it("starts with the slot's second window, and is left as it is without a profile", () => {
    // A slot with no mean yet: its first window sets the mean, there is no distance.
    const unset = encodeProfile(new Array<number>(PROFILE_SLOTS).fill(Number.NaN));
    expect(foldSlotSpread(undefined, unset, MONDAY, 12, 0, daily)).toBeUndefined();
    expect(foldSlotSpread(undefined, undefined, MONDAY, 12, 0, daily)).toBeUndefined();
    const first = foldSlotSpread(
      undefined,
      profileOf(() => 10),
      MONDAY,
      12,
      Math.round(1 / SHARE),
      daily,
    );
    near(decodeProfile(first)[0]!, (12 - quantizeSlotMean(10)) ** 2 / 2);
    expect(decodeProfile(first)[1]).toBeNaN();
  });
});

describe('slotSpreadWithZeros', () => {
  // Hourly windows from a Friday evening into the weekend: the stretches touch one slot, a few, most.
  const hourly = config();
  const calendar = calendarOf(hourly);
  const means = Array.from({ length: PROFILE_SLOTS }, (_, s) =>
    s % 7 === 3 ? Number.NaN : s % 7 === 5 ? 0 : quantizeSlotMean(2 + s * 0.5),
  );
  const spreads = Array.from({ length: PROFILE_SLOTS }, (_, s) =>
    s % 11 === 4 ? Number.NaN : quantizeSlotMean(1 + s * 0.25),
  );
  const profile = encodeProfile(means);
  const spread = encodeProfile(spreads);
  const slotText = (text: string, s: number) => text.slice(3 * s, 3 * s + 3);

  it.each([1, 3, 6, 47, 60, 200])(
    "folds %i missed windows' zeros into their slots: d is the slot's mean, pooled then decayed",
    (missed) => {
      const last = Date.UTC(2026, 2, 6, 20);
      const dataPoints = 400;
      const zeros = calendar.slotCounts(last + HOUR, missed);
      const after = slotSpreadWithZeros(spread, profile, last, missed, dataPoints, hourly)!;
      for (let s = 0; s < PROFILE_SLOTS; s += 1) {
        const k = zeros[s]!;
        const mean = means[s]!;
        if (k === 0 || Number.isNaN(mean)) {
          expect({ s, text: slotText(after, s) }).toEqual({ s, text: slotText(spread, s) });
          continue;
        }
        const share = calendar.shares[s]!;
        const window = Math.max(2, Math.round(720 * share));
        const seen = Math.max(1, Math.round(dataPoints * share));
        const term = (mean * mean * seen) / (seen + 1);
        const old = spreads[s]!;
        const held = Number.isNaN(old) ? 0 : seen - 1;
        const pooled = Math.min(k, Math.max(0, window - held));
        let expected = Number.isNaN(old) ? term : old;
        if (pooled > 0) expected = (expected * held + term * pooled) / (held + pooled);
        const keep = (1 - 1 / window) ** (k - pooled);
        expected = keep * expected + (1 - keep) * term;
        expect({ s, text: slotText(after, s) }).toEqual({ s, text: encodeValue(expected) });
      }
    },
  );

  it('gives the spread back as it is for no missed window, and none for none', () => {
    expect(slotSpreadWithZeros(spread, profile, MONDAY, 0, 400, hourly)).toBe(spread);
    expect(slotSpreadWithZeros(undefined, profile, MONDAY, 5, 400, hourly)).toBeUndefined();
    expect(() => slotSpreadWithZeros('A'.repeat(141), profile, MONDAY, 5, 400, hourly)).toThrow(
      'a profile has 144 characters, got 141',
    );
  });
});

describe("the hour's model with a slot's own spread", () => {
  const cfg = config();
  // Business hours on weekdays (slots 8-17), quiet otherwise: a rhythm the model takes.
  const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
  const within = { variance: 0.3 * (40 + 320) + 0.7 * 7.2, index: 0.3 * 9 + 0.7 * 1.8, count: 400 };
  const dataPoints = 21 * 24;
  const model = (spreadAt3?: number) =>
    rhythmModel(
      business,
      within,
      400,
      dataPoints,
      3,
      cfg,
      spreadAt3 === undefined ? undefined : profileOf((s) => (s === 3 ? spreadAt3 : 1)),
    )!;

  it("takes the slot's spread where it clearly exceeds the curve's variance, and keeps the curve's beside it", () => {
    const plain = model();
    expect(plain.curveVariance).toBe(plain.variance);
    const wide = model(400);
    const estimate = plain.variance - (plain.a * plain.mean + plain.phi * plain.mean ** 2);
    near(wide.variance, quantizeSlotMean(400) + estimate);
    expect(wide.curveVariance).toBe(plain.variance);
    expect(wide.mean).toBe(plain.mean);
    expect(wide.samples).toBe(plain.samples);
  });

  it('leaves the curve where the spread is within its noise, or below the curve', () => {
    const plain = model();
    const curve = plain.a * plain.mean + plain.phi * plain.mean ** 2;
    // About 15 distances behind a weekday slot's spread here: noise sqrt(2 / 15) = 0.37, twice that 0.73.
    expect(model(curve * 1.5).variance).toBe(plain.variance);
    expect(model(curve * 0.2).variance).toBe(plain.variance);
    expect(model(curve * 3).variance).toBeGreaterThan(plain.variance);
  });
});

describe('a fleet of backups whose last hour varies', () => {
  // 40 sources, each with background traffic and a nightly backup from 01:00 that lasts two hours
  // and a part of a third: the 03:00 window gets none of it one night and nearly all the next.
  // Five weeks learnt, two detected. Without the slot's spread (the spread taken out of every
  // baseline after each window, as before it was kept) the full nights at 03:00 are spikes.
  const SOURCES = 40;
  const cfg = config();
  const keys = Array.from({ length: SOURCES }, (_, i) => `123456789012|10.0.0.${i + 1}`);

  function run(keepSpread: boolean, extra?: { key: string; at: number; count: number }) {
    const random = seededRandom(20261207);
    const baselines = new Map<string, Baseline>();
    let clock = 0;
    const alerts: Alert[] = [];
    const learnt = 35 * 24;
    for (let w = 0; w < 49 * 24; w += 1) {
      const t = MONDAY + w * HOUR;
      const hour = w % 24;
      const counts = new Map<string, number>();
      for (const key of keys) {
        const size = 150;
        let mean = 3;
        if (hour === 1 || hour === 2) mean += size;
        if (hour === 3) mean += size * random();
        counts.set(key, poisson(random, mean));
      }
      if (extra !== undefined && extra.at === w) counts.set(extra.key, extra.count);
      const result = evaluateWindow({ windowStart: t, counts, complete: true, baselines, clock }, cfg, {
        learnOnly: w < learnt,
      });
      for (const [key, b] of result.updatedBaselines) {
        if (!keepSpread) delete b.slotSpread;
        baselines.set(key, b);
      }
      clock = result.clockAfter;
      alerts.push(...result.alerts);
    }
    return alerts;
  }

  it('is quiet at the varying hour with the spread, and alerts there without it', () => {
    const withSpread = run(true);
    const without = run(false);
    const atThree = (alerts: Alert[]) => alerts.filter((a) => new Date(a.windowStart).getUTCHours() === 3);
    expect(atThree(without).length).toBeGreaterThanOrEqual(5);
    expect(atThree(withSpread).length).toBeLessThanOrEqual(atThree(without).length / 5);
  });

  it('still alerts on a burst at that hour well beyond what it ever held, and at a quiet hour', () => {
    const day40 = 40 * 24;
    const burstAtThree = run(true, { key: keys[0]!, at: day40 + 3, count: 900 });
    expect(
      burstAtThree.some((a) => a.srcIp === '10.0.0.1' && a.windowStart === iso(MONDAY + (day40 + 3) * HOUR)),
    ).toBe(true);
    const burstAtTen = run(true, { key: keys[1]!, at: day40 + 10, count: 60 });
    expect(
      burstAtTen.some((a) => a.srcIp === '10.0.0.2' && a.windowStart === iso(MONDAY + (day40 + 10) * HOUR)),
    ).toBe(true);
  });
});
