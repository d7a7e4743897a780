/**
 * The lazy zero-fill of the rhythm state (rhythm.ts profileWithZeros, withinHourWithZeros): the
 * windows a source was absent from are zeros, folded into the slots they fall in as the flat
 * baseline folds its zeros: an exact mean while the memory is not full, then exponential
 * weighting with 1/N per zero. Daily windows put every missed weekday into one slot (weekday
 * 00:00), so the expected values below are those sums written out by hand.
 */
import { resolveDetectorConfig } from '../../lambda/core/config';
import {
  calendarOf,
  decodeProfile,
  encodeProfile,
  encodeValue,
  foldWithinHour,
  PROFILE_SLOTS,
  profileWithZeros,
  quantizeSlotMean,
  withinHourWithZeros,
} from '../../lambda/core/rhythm';
import { T0 } from './engine-fixtures';

/** Daily windows; the last fold was Sunday 2026-03-01, so 5 missed windows are Monday to Friday. */
const config = resolveDetectorConfig({ windowMinutes: 1440 });
const SUNDAY = T0;
const WEEKDAY_SLOT = 0;
/** The weekday 00:00 slot's share of a week's windows (5 of 7 days x 24 hours of slots). */
const SHARE = 5 / (7 * 24);
const v = quantizeSlotMean(10);
const profile = encodeProfile(
  Array.from({ length: PROFILE_SLOTS }, (_, s) => (s === WEEKDAY_SLOT ? v : quantizeSlotMean(3))),
);
/** Data points before the gap that give the slot `seen` windows of its own. */
const dataPointsFor = (seen: number) => Math.round(seen / SHARE);
const near = (actual: number, expected: number) => expect(actual / expected).toBeCloseTo(1, 3);

describe('profileWithZeros', () => {
  // The slot's memory: 720 windows x its share, 21.4, rounded: 21.
  const N = Math.round(720 * SHARE);

  it('averages the zeros in exactly while the slot has seen fewer windows than its memory', () => {
    const after = decodeProfile(profileWithZeros(profile, SUNDAY, 5, dataPointsFor(10), config));
    near(after[WEEKDAY_SLOT]!, (10 * v) / 15); // 10 windows of v and 5 zeros
    expect(after[WEEKDAY_SLOT + 1]).toBe(quantizeSlotMean(3)); // other slots untouched
    expect(after[24]).toBe(quantizeSlotMean(3));
  });

  it('weights each zero 1/N once the memory is full, and pools the rest first', () => {
    const full = decodeProfile(profileWithZeros(profile, SUNDAY, 5, dataPointsFor(40), config));
    near(full[WEEKDAY_SLOT]!, v * (1 - 1 / N) ** 5);
    // 18 seen: 3 zeros fill the memory (an exact mean of 21), the other 2 decay it.
    const mixed = decodeProfile(profileWithZeros(profile, SUNDAY, 5, dataPointsFor(18), config));
    near(mixed[WEEKDAY_SLOT]!, ((18 * v) / 21) * (1 - 1 / N) ** 2);
  });

  it('gives the profile back as it is when nothing was missed, and no profile for none', () => {
    expect(profileWithZeros(profile, SUNDAY, 0, dataPointsFor(10), config)).toBe(profile);
    // A source without a profile (rhythm learnt nothing yet) gets none from its zeros either.
    expect(profileWithZeros(undefined, SUNDAY, 5, dataPointsFor(10), config)).toBeUndefined();
  });
});

describe('profileWithZeros over hourly windows (a few slots spliced in, or the profile written anew)', () => {
  // Hourly windows: an absence of k windows touches up to min(k, 48) slots (fewer where the
  // weekend comes round), so the stretches below cover one touched slot, a few, and most. Each touched slot is checked against the
  // documented arithmetic on its own decoded value, each untouched one for its three characters.
  const hourly = resolveDetectorConfig({});
  const calendar = calendarOf(hourly);
  const values = Array.from({ length: PROFILE_SLOTS }, (_, s) =>
    s % 7 === 3 ? Number.NaN : s % 7 === 5 ? 0 : quantizeSlotMean(1 + s * 0.37),
  );
  const text = encodeProfile(values);
  const slotText = (profile: string, s: number) => profile.slice(3 * s, 3 * s + 3);
  const dataPoints = 400;

  it.each([1, 2, 3, 4, 5, 6, 11, 47, 48, 60, 200])('after %i missed windows', (missed) => {
    const last = Date.UTC(2026, 2, 6, 20); // a Friday evening: the stretch crosses into the weekend
    const zeros = calendar.slotCounts(last + 3_600_000, missed);
    const after = profileWithZeros(text, last, missed, dataPoints, hourly)!;
    expect(after).toHaveLength(text.length);
    for (let s = 0; s < PROFILE_SLOTS; s += 1) {
      const k = zeros[s]!;
      if (k === 0) {
        expect({ s, text: slotText(after, s) }).toEqual({ s, text: slotText(text, s) });
        continue;
      }
      const value = values[s]!;
      let expected = 0;
      if (!(Number.isNaN(value) || value === 0)) {
        const share = calendar.shares[s]!;
        const memory = Math.max(2, Math.round(720 * share));
        const seen = Math.max(1, Math.round(dataPoints * share));
        const pooled = Math.min(k, Math.max(0, memory - seen));
        expected = pooled > 0 ? (value * seen) / (seen + pooled) : value;
        expected *= (1 - 1 / memory) ** (k - pooled);
      }
      expect({ s, text: slotText(after, s) }).toEqual({ s, text: encodeValue(expected) });
    }
  });
});

describe('profileWithZeros after a zero-fill that failed', () => {
  it('gives the same profile as before: a count that stopped part-way is not taken for the last one', () => {
    // The slot counts of the last stretch are remembered for the next call; a time the zone's
    // formatter refuses (past JavaScript's last date) stops a count part-way through.
    const zoned = resolveDetectorConfig({ timezone: 'Europe/Berlin' });
    const text = encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(2 + s)));
    const last = Date.UTC(2026, 2, 6, 20);
    const before = profileWithZeros(text, last, 30, 400, zoned);
    expect(() => profileWithZeros(text, 8.64e15 - 3_600_000, 30, 400, zoned)).toThrow(RangeError);
    expect(profileWithZeros(text, last, 30, 400, zoned)).toBe(before);
  });
});

describe('slotCounts in UTC (by arithmetic) and in a zone (by the formatter)', () => {
  it('counts the same windows into the same slots', () => {
    // Etc/UTC has UTC's clock but goes through Intl.DateTimeFormat, as any other zone does.
    for (const weekendDays of [['Sat', 'Sun'], ['Fri', 'Sat'], []] as const) {
      const utc = calendarOf({ timezone: 'UTC', weekendDays: [...weekendDays], windowMinutes: 60 });
      const zone = calendarOf({ timezone: 'Etc/UTC', weekendDays: [...weekendDays], windowMinutes: 60 });
      // Before 1970 too, where the remainder of a day is negative.
      for (const first of [
        Date.UTC(2026, 2, 1),
        Date.UTC(2026, 2, 6, 20),
        Date.UTC(2027, 0, 1, 5),
        Date.UTC(1969, 11, 30, 7),
      ])
        for (const count of [1, 5, 23, 100, 167, 170, 400])
          expect({ weekendDays, first, count, counts: [...utc.slotCounts(first, count)] }).toEqual({
            weekendDays,
            first,
            count,
            counts: [...zone.slotCounts(first, count)],
          });
    }
  });

  it("counts a zone's windows by its local hours, as place() gives them, across a clock change", () => {
    // Berlin's clocks went forward on 2026-03-29: a stretch over it, less than a week long.
    const berlin = calendarOf({ timezone: 'Europe/Berlin', weekendDays: ['Sat', 'Sun'], windowMinutes: 60 });
    const first = Date.UTC(2026, 2, 27, 18);
    const count = 100;
    const expected = new Array<number>(PROFILE_SLOTS).fill(0);
    for (let i = 0; i < count; i += 1) expected[berlin.place(first + i * 3_600_000).slot]! += 1;
    expect([...berlin.slotCounts(first, count)]).toEqual(expected);
    // Not UTC's hours: 18:00 UTC on a Friday is 19:00 in Berlin.
    const utc = calendarOf({ timezone: 'UTC', weekendDays: ['Sat', 'Sun'], windowMinutes: 60 });
    expect([...utc.slotCounts(first, count)]).not.toEqual(expected);
  });
});

describe('the zero-fills refuse a profile of the wrong length', () => {
  it('says how long a profile is and how long this one was', () => {
    const short = 'A'.repeat(PROFILE_SLOTS * 3 - 3);
    expect(() => profileWithZeros(short, SUNDAY, 5, dataPointsFor(10), config)).toThrow(
      'a profile has 144 characters, got 141',
    );
    expect(() =>
      withinHourWithZeros({ variance: 4, index: 1, count: 3 }, short, SUNDAY, 5, dataPointsFor(10), config),
    ).toThrow('a profile has 144 characters, got 141');
  });
});

describe('withinHourWithZeros', () => {
  // Each zero's distance from its slot's mean is the mean itself: a term of v^2 x seen / (seen + 1),
  // and v^2 x seen / (seen + 1) / max(v, 1) for the index.
  const seen = 10;
  const term = (v * v * seen) / (seen + 1);
  const within = (count: number) => ({ variance: 4, index: 1, count });
  const zeroed = (count: number, missed = 5) =>
    withinHourWithZeros(within(count), profile, SUNDAY, missed, dataPointsFor(seen), config)!;

  it('averages the zeros in exactly while fewer than baselineWindow windows were measured', () => {
    const after = zeroed(3);
    expect(after.count).toBe(8);
    near(after.variance, (3 * 4 + 5 * term) / 8);
    near(after.index, (3 * 1 + (5 * term) / v) / 8);
  });

  it('weights each zero 1/N once baselineWindow windows were measured, and pools the rest first', () => {
    const keep = (k: number) => (1 - 1 / 720) ** k;
    const full = zeroed(720);
    expect(full.count).toBe(725);
    near(full.variance, keep(5) * 4 + (1 - keep(5)) * term);
    near(full.index, keep(5) * 1 + (1 - keep(5)) * (term / v));
    // 717 measured: 2 zeros pooled (up to 719), 3 decay.
    const mixed = zeroed(717);
    const pooled = (717 * 4 + 2 * term) / 719;
    near(mixed.variance, keep(3) * pooled + (1 - keep(3)) * term);
  });

  it('equals folding the zeros one window at a time, across the end of the memory (a short one)', () => {
    // The closed form against foldWithinHour zero by zero, with the same slot means and sample
    // counts (the closed form holds both as they were at the last fold): equal to within the
    // grid's rounding at each step. A memory of 4 windows puts the change from exact mean to
    // 1/N weights among a handful of zeros, where a step either side of it shows. Weekday zeros
    // only (Monday to Friday): the closed form folds a run of zeros with their average term, as
    // one at a time does when they share a slot; across slots the order would count, and with a
    // memory this short it counts for much more than with the usual 720 windows.
    const short = resolveDetectorConfig({ windowMinutes: 1440, baselineWindow: 4 });
    const DAY = 86_400_000;
    for (const count of [1, 2, 3, 4, 6])
      for (const missed of [1, 2, 3, 4, 5]) {
        const start = { variance: 4, index: 1, count };
        let stepped = start;
        for (let i = 1; i <= missed; i += 1)
          stepped = foldWithinHour(stepped, profile, SUNDAY + i * DAY, 0, dataPointsFor(seen), short)!;
        const closed = withinHourWithZeros(start, profile, SUNDAY, missed, dataPointsFor(seen), short)!;
        expect({ count, missed, closed: closed.count }).toEqual({ count, missed, closed: stepped.count });
        expect({ count, missed, ratio: closed.variance / stepped.variance }).toEqual({
          count,
          missed,
          ratio: expect.closeTo(1, 3),
        });
        expect({ count, missed, ratio: closed.index / stepped.index }).toEqual({
          count,
          missed,
          ratio: expect.closeTo(1, 3),
        });
      }
  });

  it("leaves out a daily job's hour (5x both neighbouring hours), whose zeros are its skipped runs", () => {
    const job = encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, s) => (s === WEEKDAY_SLOT ? quantizeSlotMean(40) : 3)),
    );
    expect(withinHourWithZeros(within(3), job, SUNDAY, 5, dataPointsFor(seen), config)).toEqual(within(3));
  });

  it('starts the statistics from the zeros where there were none (a source seen only at its daily job)', () => {
    const started = withinHourWithZeros(undefined, profile, SUNDAY, 5, dataPointsFor(seen), config)!;
    expect(started.count).toBe(5);
    near(started.variance, term);
    near(started.index, term / v);
    expect(withinHourWithZeros(undefined, profile, SUNDAY, 0, dataPointsFor(seen), config)).toBeUndefined();
  });

  it('changes nothing without missed windows or where the missed windows fall in slots never seen', () => {
    expect(zeroed(3, 0)).toEqual(within(3));
    const unseen = encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, s) => (s === WEEKDAY_SLOT ? Number.NaN : 3)),
    );
    expect(withinHourWithZeros(within(3), unseen, SUNDAY, 5, dataPointsFor(seen), config)).toEqual(within(3));
  });
});

describe('foldWithinHour (one window measured, the running means the zero-fill continues)', () => {
  const MONDAY = SUNDAY + 86_400_000; // in the weekday 00:00 slot, whose mean is v
  const seen = 10;
  const fed = 25;
  const term = ((fed - v) ** 2 * seen) / (seen + 1);
  const fold = (within: { variance: number; index: number; count: number } | undefined) =>
    foldWithinHour(within, profile, MONDAY, fed, dataPointsFor(seen), config)!;

  it('starts at the first window measured', () => {
    expect(fold(undefined)).toEqual({
      variance: quantizeSlotMean(term),
      index: quantizeSlotMean(term / v),
      count: 1,
    });
  });

  it('moves each mean 1/(count + 1) of the way to the new term, then 1/baselineWindow', () => {
    const young = fold({ variance: 4, index: 1, count: 3 });
    expect(young.count).toBe(4);
    near(young.variance, 4 + (term - 4) / 4);
    near(young.index, 1 + (term / v - 1) / 4);
    // (An index of 2 keeps the term under the cap on a window above its hour, 50 x 2 x 3 at the
    // busier neighbour's level: within-hour-outlier.test.ts.)
    const full = fold({ variance: 4, index: 2, count: 720 });
    expect(full.count).toBe(721);
    near(full.variance, 4 + (term - 4) / 720);
    near(full.index, 2 + (term / v - 2) / 720);
  });

  it("measures nothing at a daily job's hour, at 5x or more of both neighbouring hours (or the floor)", () => {
    // The other hours' variance is fitted to these statistics; the job's runs vary on their own.
    const within = { variance: 4, index: 1, count: 3 };
    const jobAt = (level: number, neighbours: number) =>
      encodeProfile(
        Array.from({ length: PROFILE_SLOTS }, (_, s) =>
          s === WEEKDAY_SLOT ? level : s === 23 || s === 1 ? neighbours : 3,
        ),
      );
    const job = quantizeSlotMean(40);
    expect(foldWithinHour(within, jobAt(job, 3), MONDAY, fed, dataPointsFor(seen), config)).toBe(within);
    // Exactly 5x the floor that stands for neighbours at 0, and a hair below it.
    const floor = job / 5;
    const atFloor = (meanFloor: number) =>
      foldWithinHour(within, jobAt(job, 0), MONDAY, fed, dataPointsFor(seen), { ...config, meanFloor });
    expect(atFloor(floor)).toBe(within);
    expect(atFloor(floor * 1.001)!.count).toBe(4);
  });

  it('measures nothing without a profile or before the slot has a mean', () => {
    const within = { variance: 4, index: 1, count: 3 };
    expect(foldWithinHour(within, undefined, MONDAY, fed, dataPointsFor(seen), config)).toBe(within);
    const unseen = encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, s) => (s === WEEKDAY_SLOT ? Number.NaN : 3)),
    );
    expect(foldWithinHour(within, unseen, MONDAY, fed, dataPointsFor(seen), config)).toBe(within);
  });
});
