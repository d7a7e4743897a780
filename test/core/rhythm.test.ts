/**
 * Rhythm-aware baselines (lambda/core/rhythm.ts): the profile codec and calendar, the hour's
 * expectation, recurring jobs, and the behaviour the issue asks for, end to end through
 * evaluateWindow and bootstrapBaselines.
 */
import fc from 'fast-check';
import {
  bootstrapBaselines,
  evaluateWindow,
  calendarOf,
  decodeProfile,
  decodeValue,
  encodeProfile,
  encodeValue,
  addCandidate,
  isProfileText,
  liveJobs,
  matchJob,
  MAX_JOBS,
  recordOccurrence,
  SPREAD_MEMORY,
  negativeBinomial,
  PROFILE_LENGTH,
  PROFILE_SLOTS,
  quantizeSlotMean,
  resolveDetectorConfig,
  rhythmModel,
  seededRandom,
  type RecurringJob,
  foldProfile,
  type Alert,
  type Baseline,
  type DetectorConfig,
  type DetectorConfigInput,
  type HistoryWindow,
  type WindowResult,
} from '../../lambda/core';

import {
  comparedModel,
  grownRunFrom,
  isSpikeCount,
  smallestSpikeCount,
  windowThreshold,
} from '../../lambda/core/alert-threshold';
import { spreadOf } from '../../lambda/core/baseline';
import { DAY, HOUR, MONDAY, ONE_OF_A_FLEET, config, isWeekendUtc, runWindows } from './rhythm-fixtures';

describe('profile codec', () => {
  it('quantises to the grid once: a quantised value comes back unchanged, within 0.01% of the input', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-5, max: 1e9, noNaN: true }), (value) => {
        const q = quantizeSlotMean(value);
        expect(quantizeSlotMean(q)).toBe(q);
        expect(Math.abs(q - value) / value).toBeLessThan(1e-4);
      }),
      { seed: 12, numRuns: 500 },
    );
    expect(quantizeSlotMean(0)).toBe(0);
    expect(quantizeSlotMean(1e-9)).toBe(0);
  });

  it('encodes 48 slots in 144 base64url characters and decodes them exactly (NaN: never seen)', () => {
    const values = Array.from({ length: PROFILE_SLOTS }, (_, s) =>
      s === 3 ? Number.NaN : s === 4 ? 0 : quantizeSlotMean(0.37 * (s + 1) ** 2),
    );
    const text = encodeProfile(values);
    expect(text).toHaveLength(PROFILE_LENGTH);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(isProfileText(text)).toBe(true);
    const back = Array.from(decodeProfile(text));
    expect(Number.isNaN(back[3])).toBe(true);
    expect(back.filter((_, s) => s !== 3)).toEqual(values.filter((_, s) => s !== 3));
  });

  it('refuses text that is not a profile', () => {
    expect(isProfileText('A'.repeat(PROFILE_LENGTH - 1))).toBe(false);
    expect(isProfileText(`${'A'.repeat(PROFILE_LENGTH - 1)}*`)).toBe(false);
    expect(isProfileText(`${'A'.repeat(PROFILE_LENGTH - 1)}é`)).toBe(false);
    expect(isProfileText(`é${'A'.repeat(PROFILE_LENGTH - 1)}`)).toBe(false);
    expect(isProfileText('A'.repeat(PROFILE_LENGTH))).toBe(true);
    expect(isProfileText(42)).toBe(false);
    // The first code past ASCII, just outside the character table.
    expect(isProfileText(`${'A'.repeat(PROFILE_LENGTH - 1)}\u0080`)).toBe(false);
    // Something with a length that is not a string (a JavaScript caller's array of characters).
    expect(isProfileText(Array.from({ length: PROFILE_LENGTH }, () => 'A'))).toBe(false);
    expect(() => decodeProfile('AAA')).toThrow(/144 characters/);
    expect([...decodeProfile(undefined)].every(Number.isNaN)).toBe(true);
    expect(() => decodeProfile(`${'A'.repeat(15)}*${'A'.repeat(PROFILE_LENGTH - 16)}`)).toThrow(
      'profile has a character outside base64url at slot 5',
    );
    // Past ASCII, outside the character table: refused as well, not read as code 0.
    expect(() => decodeProfile(`${'A'.repeat(16)}é${'A'.repeat(PROFILE_LENGTH - 17)}`)).toThrow(
      'profile has a character outside base64url at slot 5',
    );
  });

  it('writes one value (a withinHour figure) in three base64url characters and reads it back', () => {
    // Code 1 is zero; 2 + (log2(v) + 20) x 4096 otherwise: 1 is code 81922 = 20, 0, 2 in base 64.
    expect(encodeValue(0)).toBe('AAB');
    expect(encodeValue(1)).toBe('UAC');
    expect(decodeValue('AAB')).toBe(0);
    expect(decodeValue('UAC')).toBe(1);
    for (const v of [0.37, 2.5, 1234.5, 6e9]) expect(decodeValue(encodeValue(v))).toBe(quantizeSlotMean(v));
  });

  it('writes a value just below the smallest step as that step, and one further below as zero', () => {
    // The grid's smallest step is 2^-20; between 2^-20.5 and it (a slot mean decayed by a long
    // absence) a value once came back as about 1.6e13.
    const smallest = 2 ** -20;
    for (const v of [smallest, 0.9 * smallest, 0.75 * smallest, smallest / Math.SQRT2]) {
      expect({ v, back: decodeValue(encodeValue(v)) }).toEqual({ v, back: smallest });
      expect({ v, quantized: quantizeSlotMean(v) }).toEqual({ v, quantized: smallest });
      expect({ v, slot: decodeProfile(encodeProfile(new Array(PROFILE_SLOTS).fill(v)))[7] }).toEqual({
        v,
        slot: smallest,
      });
    }
    for (const v of [0.7 * smallest, 1e-7, 0])
      expect({ v, back: decodeValue(encodeValue(v)) }).toEqual({ v, back: 0 });
  });

  it('refuses a value that is not three base64url characters or is the unset code, saying which', () => {
    expect(() => decodeValue('UACA')).toThrow('a value has 3 characters, got 4');
    expect(() => decodeValue('UA')).toThrow('a value has 3 characters, got 2');
    expect(() => decodeValue('AAA')).toThrow('a value cannot be the unset code');
    // A stray character in each of the three places of a value.
    for (const text of ['*AC', 'U*C', 'UA*'])
      expect(() => decodeValue(text)).toThrow('profile has a character outside base64url at slot 0');
  });
});

describe('calendar', () => {
  it('places UTC windows by hour and weekday/weekend', () => {
    const calendar = calendarOf(config());
    expect(calendar.place(MONDAY)).toEqual({ slot: 0, weekPhase: 24, label: 'Mon 00:00' });
    const saturday3 = MONDAY + 5 * DAY + 3 * HOUR;
    expect(calendar.place(saturday3)).toEqual({ slot: 27, weekPhase: 6 * 24 + 3, label: 'Sat 03:00' });
  });

  it('places 15-minute windows in a time zone by their minute too', () => {
    // 2026-03-01 00:15 UTC is 01:15 in Berlin (UTC+1): the sixth quarter hour of Sunday.
    const calendar = calendarOf(config({ timezone: 'Europe/Berlin', windowMinutes: 15 }));
    expect(calendar.place(Date.UTC(2026, 2, 1, 0, 15))).toEqual({
      slot: 24 + 1,
      weekPhase: 5,
      label: 'Sun 01:15',
    });
  });

  it('follows a time zone through a daylight-saving change', () => {
    // Europe/Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on Sunday 2026-03-29.
    const calendar = calendarOf(config({ timezone: 'Europe/Berlin' }));
    const sunday = Date.UTC(2026, 2, 29);
    expect(calendar.place(sunday).label).toBe('Sun 01:00');
    expect(calendar.place(sunday).slot).toBe(24 + 1);
    expect(calendar.place(sunday + HOUR).label).toBe('Sun 03:00');
    expect(calendar.place(sunday + HOUR).slot).toBe(24 + 3);
    // Monday 07:00 UTC is 09:00 in Berlin: a weekday morning.
    expect(calendar.place(sunday + DAY + 7 * HOUR)).toMatchObject({ slot: 9, label: 'Mon 09:00' });
  });

  it('takes any weekend, and counts a week of windows into each slot by its share', () => {
    const calendar = calendarOf(config({ weekendDays: ['Fri', 'Sat'] }));
    const friday = MONDAY + 4 * DAY;
    expect(calendar.place(friday + 10 * HOUR).slot).toBe(34);
    expect(calendar.place(MONDAY + 6 * DAY + 10 * HOUR).slot).toBe(10); // Sunday is a weekday here
    const counts = calendar.slotCounts(MONDAY, 7 * 24 + 5);
    for (let s = 0; s < PROFILE_SLOTS; s += 1) {
      const perWeek = s < 24 ? 5 : 2;
      expect(counts[s]).toBe(perWeek + (s < 5 ? 1 : 0));
    }
  });
});

describe("the hour's expectation", () => {
  /** A profile whose slots hold exactly `level(slot)`, as if learned over `days` days. */
  const profileOf = (level: (slot: number) => number): string =>
    encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(level(s))));
  const cfg = config();

  it('keeps the flat baseline for a flat profile, a young source, or no measured spread', () => {
    const flat = profileOf(() => 10);
    const within = { variance: 30, index: 3, count: 400 };
    expect(rhythmModel(flat, within, 30, 21 * 24, 3, cfg)).toBeUndefined();
    const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
    expect(rhythmModel(business, within, 300, 6 * 24, 3, cfg)).toBeUndefined();
    expect(rhythmModel(business, undefined, 300, 21 * 24, 3, cfg)).toBeUndefined();
  });

  it('keeps the flat baseline while the slot means rest on about one window each, however wide their spread', () => {
    // Two days of hourly windows: every slot has seen about one window (noise weight C = 1), so
    // its mean is as noisy as a single count; a third day gives the weekday slots two (C = 0.64).
    const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
    const within = { variance: 10, index: 2, count: 72 };
    const young = config({ rhythmMinDays: 2 });
    expect(rhythmModel(business, within, 400, 2 * 24, 3, young)).toBeUndefined();
    expect(rhythmModel(business, within, 400, 3 * 24, 3, young)).toBeDefined();
  });

  it('takes a spread of the slot means that noise could make for no rhythm, and a wider one for one', () => {
    // Slot means 10 +- d: a spread of d^2 against within-hour noise of 30 over 21 days.
    const within = { variance: 30, index: 3, count: 400 };
    const alternating = (d: number) => profileOf((s) => (s % 2 === 0 ? 10 + d : 10 - d));
    expect(rhythmModel(alternating(2), within, 34, 21 * 24, 3, cfg)).toBeUndefined();
    expect(rhythmModel(alternating(4), within, 46, 21 * 24, 3, cfg)).toBeDefined();
  });

  it("learns an hour's variance from the hours at a level like it (within 3x), by their share of the week", () => {
    const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
    const within = { variance: 0.3 * (40 + 320) + 0.7 * 7.2, index: 0.3 * 9 + 0.7 * 1.8, count: 400 };
    // Night (slot 3): the 14 weekday night hours and the 24 weekend hours, 118 of 168 hour-slots of a week.
    expect(rhythmModel(business, within, 400, 21 * 24, 3, cfg)!.samples).toBeCloseTo((400 * 118) / 168, 6);
    // Day (slot 12): the 10 weekday day hours, 50 of 168.
    expect(rhythmModel(business, within, 400, 21 * 24, 12, cfg)!.samples).toBeCloseTo((400 * 50) / 168, 6);
  });

  it('counts an hour at exactly 3x this hour\'s level as like it ("within 3x" includes 3x)', () => {
    // Weekday nights at 0, weekend hours at 1.5, weekday day hours at 40. The night hour's level is
    // the mean floor (its expectation is below it): with the floor at a third of the weekend's slot
    // mean, the weekend hours stand at exactly 3x the night's level.
    const weekend = quantizeSlotMean(1.5);
    const floor = weekend / 3;
    expect(floor * 3).toBe(weekend); // the boundary itself, not a value beside it
    const profile = profileOf((s) => (s >= 24 ? 1.5 : s >= 8 && s < 18 ? 40 : 0));
    const within = { variance: 100, index: 3, count: 400 };
    const night = rhythmModel(profile, within, 400, 21 * 24, 3, config({ meanFloor: floor }))!;
    expect(night.mean).toBeLessThan(floor);
    // The 14 weekday night hours (70 of 168) and the 24 weekend hours (48), not the day hours.
    expect(night.samples).toBeCloseTo((400 * 118) / 168, 6);
  });

  it('takes two adjacent hours for a daily job moved by an hour at exactly 5x the hours either side, and not beside a busy hour', () => {
    // 06:00 at 2 and 07:00 at 0.5: together 2.5, exactly 5x the mean floor (0.5) that stands for
    // the empty 05:00 and 08:00 (all grid values, so the sum is exact). Neither hour alone is 5x
    // its neighbours, so it is no daily job of its own hour.
    const within = { variance: 0.5, index: 0.5, count: 400 };
    const jobAtSix = (eight: number) =>
      profileOf((s) => (s % 24 === 6 ? 2 : s % 24 === 7 ? 0.5 : s % 24 === 8 ? eight : 0));
    expect(cfg.meanFloor).toBe(0.5);
    const moved = rhythmModel(jobAtSix(0), within, 1, 21 * 24, 6, cfg)!;
    expect([moved.dailyJob, moved.movedDailyJob]).toEqual([undefined, 2.5]);
    // With 08:00 at 4 the pair is not 5x the hour after it: no moved job.
    const busyAfter = rhythmModel(jobAtSix(4), within, 1, 21 * 24, 6, cfg)!;
    expect([busyAfter.dailyJob, busyAfter.movedDailyJob]).toEqual([undefined, undefined]);
  });

  it("gives the hour's variance as a mu + phi mu^2 plus the variance of the mean's own estimate", () => {
    const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
    const within = { variance: 0.3 * (40 + 320) + 0.7 * 7.2, index: 0.3 * 9 + 0.7 * 1.8, count: 400 };
    for (const slot of [3, 12]) {
      const m = rhythmModel(business, within, 400, 21 * 24, slot, cfg)!;
      const estimate = m.relativeVariance * m.mean * m.mean;
      expect(estimate).toBeGreaterThan(0);
      expect(m.variance).toBeCloseTo(m.a * m.mean + m.phi * m.mean * m.mean + estimate, 9);
    }
  });

  // A weekday slot has seen 15 windows in 21 days (21 x 5/7), a weekend slot 6 (21 x 2/7). After
  // 100 days each slot mean is exponentially weighted with 1/N (N: 720 windows x its share, 21 for
  // a weekday slot, 9 for a weekend one), which stands on about 2N - 1 windows: 41 and 17, not the
  // 71 and 29 it has seen.
  it.each([
    [21, 15, 6],
    [100, 41, 17],
  ])(
    "shrinks the hour's mean toward the week's by tau^2 / (tau^2 + its estimate's noise at the rate's upper bound) (%i days: slots of %i and %i windows)",
    (days, weekdaySamples, weekendSamples) => {
      // Worked by hand from the model (docs/design.md "Rhythm-aware baselines"): business hours,
      // weekdays 08-18 at 40 (50 of the week's 168 hour-slots), every other hour at 4 (118), over
      // 21 days; a within-hour variance W = 113.04 and index I = 3.96, overdispersed (W > I m).
      const [day, night] = [quantizeSlotMean(40), quantizeSlotMean(4)];
      const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
      const within = { variance: 113.04, index: 3.96, count: 400 };
      const model = rhythmModel(business, within, 400, days * 24, 3, cfg)!;
      const mean = (50 * day + 118 * night) / 168;
      const between = (50 * day ** 2 + 118 * night ** 2) / 168 - mean ** 2;
      // The noise weight C = sum of share / samples over the 48 slots.
      const noiseWeight = 24 * (5 / 168 / weekdaySamples) + 24 * (2 / 168 / weekendSamples);
      const tau2 = between - 113.04 * noiseWeight;
      const phi = (113.04 - 3.96 * mean) / between;
      expect(phi).toBeGreaterThan(0.2); // overdispersed: the hour's variance grows as mu^2
      expect(3.96 - phi * mean).toBeLessThan(1); // so a is held at 1 (at least Poisson)
      expect(model.phi).toBeCloseTo(phi, 9);
      expect(model.a).toBe(1);
      // Slot 3 (weekday 03:00): its rate's upper bound, two standard errors above 4.
      const rate = night + 2 * Math.sqrt((night + phi * night ** 2) / weekdaySamples);
      const noise = (rate + phi * rate ** 2) / weekdaySamples;
      const weight = tau2 / (tau2 + noise);
      const expected = mean + weight * (night - mean);
      expect(model.mean).toBeCloseTo(expected, 9);
      expect(model.variance).toBeCloseTo(expected + phi * expected ** 2 + weight * noise, 9);
      expect(model.relativeVariance).toBeCloseTo((weight * noise) / expected ** 2, 9);
    },
  );

  it('takes a rhythm from exactly rhythmMinDays of history, and not a window sooner', () => {
    const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
    const within = { variance: 30, index: 3, count: 400 };
    expect(rhythmModel(business, within, 300, 7 * 24, 3, cfg)).toBeDefined();
    expect(rhythmModel(business, within, 300, 7 * 24 - 1, 3, cfg)).toBeUndefined();
  });

  it('without weekend days, reads no weekend slot (they are never learnt)', () => {
    const noWeekend = config({ weekendDays: [] });
    const weekdaysOnly = encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, s) => (s >= 24 ? Number.NaN : s >= 8 && s < 18 ? 40 : 4)),
    );
    const within = { variance: 30, index: 3, count: 400 };
    expect(rhythmModel(weekdaysOnly, within, 300, 21 * 24, 3, noWeekend)).toBeDefined();
    // The same profile with a weekend is incomplete: its weekend slots were never seen.
    expect(rhythmModel(weekdaysOnly, within, 300, 21 * 24, 3, cfg)).toBeUndefined();
  });

  it("takes an hour as a daily job's only at 5x or more of both neighbouring hours (or the floor)", () => {
    // Weekday 03:00 at 40 among night hours at 4 (business hours at 40 give the rhythm); its
    // neighbours 02:00 and 04:00 set as each case says.
    const withNeighbours = (earlier: number, later: number, job = 40) =>
      profileOf((s) =>
        s === 3 ? job : s === 2 ? earlier : s === 4 ? later : s < 24 && s >= 8 && s < 18 ? 40 : 4,
      );
    const within = { variance: 100, index: 3, count: 400 };
    const jobOf = (profile: string, floor = 0.5) =>
      rhythmModel(profile, within, 400, 21 * 24, 3, config({ meanFloor: floor }))?.dailyJob;
    expect(jobOf(withNeighbours(4, 4))).toBe(quantizeSlotMean(40));
    expect(jobOf(withNeighbours(10, 4))).toBeUndefined(); // only 4x the hour before
    expect(jobOf(withNeighbours(4, 10))).toBeUndefined(); // only 4x the hour after
    // Exactly 5x both, through the floor (the neighbours at 0 count as the floor).
    const job = quantizeSlotMean(40);
    const floor = job / 5;
    expect(5 * floor).toBe(job); // the boundary itself, not a value beside it
    expect(jobOf(withNeighbours(0, 0), floor)).toBe(job);
    expect(jobOf(withNeighbours(0, 0), floor * 1.001)).toBeUndefined();
  });

  describe('a source whose only rhythm is a daily job', () => {
    // 02:00 at 150 on every day, every other hour at 3; within the other hours the windows vary
    // with a variance of 5 (the within-hour statistics leave the job's hour out); 30 days seen.
    const nightly = profileOf((s) => (s % 24 === 2 ? 150 : 3));
    const within = { variance: 5, index: 1.7, count: 720 };
    const dataPoints = 30 * 24;
    const level = quantizeSlotMean(3);

    it('is flat at its other hours: their mean, their variance at that level, and that mean as an estimate', () => {
      const m = rhythmModel(nightly, within, 500, dataPoints, 10, cfg)!;
      // The other hours: 23 weekday slots of 21 windows (share 5/168 each) and 23 weekend slots
      // of 9 (2/168), 161/168 of the week; their mean's own error per unit of variance.
      const whole = 161 / 168;
      const meanNoise = 23 * ((5 / 168 / whole) ** 2 / 21) + 23 * ((2 / 168 / whole) ** 2 / 9);
      expect(m.dailyJob).toBeUndefined();
      expect(m.mean).toBeCloseTo(level, 12);
      expect(m.a).toBeCloseTo(5 / level, 12);
      expect(m.phi).toBe(0);
      expect(m.variance).toBeCloseTo(5 + 5 * meanNoise, 12);
      expect(m.relativeVariance).toBeCloseTo((5 * meanNoise) / level ** 2, 12);
      expect(m.samples).toBeCloseTo(720 * whole, 9);
      // No hour of them has a spread of its own, as a flat source's hours have none.
      const spread = profileOf((s) => (s === 10 ? 50 : 5));
      expect(rhythmModel(nightly, within, 500, dataPoints, 10, cfg, spread)).toEqual(m);
      // Without the job the same hours are a flat source: its flat baseline decides.
      expect(
        rhythmModel(
          profileOf(() => 3),
          within,
          5,
          dataPoints,
          10,
          cfg,
        ),
      ).toBeUndefined();
    });

    it("judges the job's hour on the slot's own spread, which the curve (fitted without it) knows nothing of", () => {
      const plain = rhythmModel(nightly, within, 500, dataPoints, 2, cfg)!;
      expect(plain.dailyJob).toBe(quantizeSlotMean(150));
      expect(plain.variance).toBe(plain.curveVariance);
      const curve = plain.a * plain.mean + plain.phi * plain.mean ** 2;
      // A spread 1.3x the curve's: within the bar another hour's spread must pass (about 1.6x for
      // 21 windows), and the job's hour's variance all the same, for its slot mean's error too.
      const own = quantizeSlotMean(1.3 * curve);
      const m = rhythmModel(
        nightly,
        within,
        500,
        dataPoints,
        2,
        cfg,
        profileOf((s) => (s === 2 ? own : 5)),
      )!;
      expect(m.a * m.mean + m.phi * m.mean ** 2).toBeCloseTo(own, 9);
      expect(m.relativeVariance).toBeGreaterThan(plain.relativeVariance);
      // Below the curve, the curve stays.
      const low = rhythmModel(
        nightly,
        within,
        500,
        dataPoints,
        2,
        cfg,
        profileOf((s) => (s === 2 ? curve / 2 : 5)),
      )!;
      expect(low.variance).toBe(plain.variance);
    });
  });

  it("expects a business-hours source's night level at night and its day level by day", () => {
    const business = profileOf((s) => (s < 24 && s >= 8 && s < 18 ? 40 : 4));
    const within = { variance: 0.3 * (40 + 320) + 0.7 * 7.2, index: 0.3 * 9 + 0.7 * 1.8, count: 400 };
    const night = rhythmModel(business, within, 400, 21 * 24, 3, cfg)!;
    const day = rhythmModel(business, within, 400, 21 * 24, 10, cfg)!;
    expect(night.mean).toBeGreaterThan(3.5);
    expect(night.mean).toBeLessThan(4.6);
    expect(day.mean).toBeGreaterThan(36);
    expect(day.mean).toBeLessThan(42);
    // The variance follows each hour: a quiet hour is not given the busy hours' spread.
    expect(night.variance).toBeLessThan(20);
    expect(day.variance).toBeGreaterThan(200);
  });
});

describe('rhythm-aware detection', () => {
  it('a pure rhythm (counts exactly following an hour-of-day x weekday/weekend profile) never alerts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })), {
          minLength: PROFILE_SLOTS,
          maxLength: PROFILE_SLOTS,
        }),
        (levels) => {
          const cfg = config();
          const calendar = calendarOf(cfg);
          const countsAt = (t: number) => {
            const x = levels[calendar.place(t).slot]!;
            return new Map(x > 0 ? [['10.0.0.1', x]] : []);
          };
          const history: HistoryWindow[] = Array.from({ length: 14 * 24 }, (_, w) => ({
            windowStart: MONDAY + w * HOUR,
            counts: countsAt(MONDAY + w * HOUR),
            complete: true,
          }));
          const learned = bootstrapBaselines(history, cfg);
          const detected = runWindows(cfg, MONDAY + 14 * DAY, 14 * 24, countsAt, learned);
          expect(detected.alerts).toEqual([]);
        },
      ),
      { seed: 7, numRuns: 25 },
    );
  });

  it('a steep daily rhythm that the flat baseline alerts on is quiet with rhythm', () => {
    // Quiet all day, 150 at 02:00: the flat baseline (mean about 6) sees a spike every night.
    const countsAt = (t: number) => new Map([['10.0.0.1', new Date(t).getUTCHours() === 2 ? 150 : 1]]);
    const flat = runWindows(config({ rhythm: false, jobOccurrencesToLearn: 0 }), MONDAY, 21 * 24, countsAt);
    const rhythmic = runWindows(config(), MONDAY, 21 * 24, countsAt);
    expect(flat.alerts.length).toBeGreaterThan(0);
    // With rhythm the source learns its night (and the job) within days, then stays quiet.
    expect(rhythmic.alerts.filter((a) => Date.parse(a.windowStart) >= MONDAY + 7 * DAY)).toEqual([]);
  });

  it('finds an off-hours burst that the flat baseline misses, and says what is usual at that hour', () => {
    const random = seededRandom(5);
    const level = (t: number) =>
      !isWeekendUtc(t) && new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 18 ? 60 : 4;
    const burstAt = MONDAY + 20 * DAY + 3 * HOUR; // Sunday 03:00
    const countsAt = (t: number) => {
      const m = level(t);
      // 1.5x the daytime level: some 20x what is usual at 03:00 on a Sunday.
      const x = t === burstAt ? 90 : negativeBinomial(random, m, m + (m * m) / 5);
      return new Map(x > 0 ? [['10.0.0.1', x]] : []);
    };
    const data = Array.from({ length: 21 * 24 }, (_, w) => countsAt(MONDAY + w * HOUR));
    const rhythmic = runWindows(config(ONE_OF_A_FLEET), MONDAY, 21 * 24, (_t, w) => data[w]!);
    const flat = runWindows(
      config({ ...ONE_OF_A_FLEET, rhythm: false, jobOccurrencesToLearn: 0 }),
      MONDAY,
      21 * 24,
      (_t, w) => data[w]!,
    );
    const found = rhythmic.alerts.find((a) => Date.parse(a.windowStart) === burstAt);
    expect(found).toBeDefined();
    expect(found!.expected).toMatchObject({ at: 'Sun 03:00', timezone: 'UTC' });
    expect(found!.expected!.usual).toBeLessThan(10);
    expect(flat.alerts.find((a) => Date.parse(a.windowStart) === burstAt)).toBeUndefined();
  });
});

describe('what a source is compared with below minBlockedCount', () => {
  // Three weeks of business hours (60 by day on weekdays, 4 otherwise): a learned rhythm.
  const cfg = config();
  const level = (t: number) =>
    !isWeekendUtc(t) && new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 18 ? 60 : 4;
  // Learnt when the test runs, not when the suite is collected (the mutation run collects every suite for each mutant).
  let learned: ReturnType<typeof runWindows>;
  beforeAll(() => {
    learned = runWindows(cfg, MONDAY, 21 * 24, (t) => new Map([['10.0.0.1', level(t)]]));
  });
  const night = MONDAY + 21 * DAY + 3 * HOUR; // Monday 03:00
  const decide = (x: number) =>
    evaluateWindow(
      {
        windowStart: night,
        counts: new Map([['10.0.0.1', x]]),
        complete: true,
        baselines: learned.baselines,
        clock: learned.clock,
      },
      cfg,
    ).decisions[0]!;

  it("is the flat baseline: the hour's model is worked out only where the count could be a spike", () => {
    expect(cfg.minBlockedCount).toBe(10);
    const below = decide(9);
    expect(below.outcome).toBe('normal');
    expect(below.model).toBeUndefined();
    // The z-score is against the flat baseline: below its mean (some 20), so negative.
    expect(below.zScore).toBeLessThan(0);
    const at = decide(10);
    expect(at.model?.mean).toBeGreaterThan(3);
    expect(at.model!.mean).toBeLessThan(6);
    // What is reported as compared with stays the flat baseline, its spread included.
    const flat = learned.baselines.get('10.0.0.1')!;
    for (const decision of [below, at])
      expect(decision.compared).toEqual({
        mean: Math.round(flat.mean * 1e4) / 1e4,
        sd: Math.round(spreadOf(flat.mean, flat.variance, cfg) * 1e4) / 1e4,
        dataPoints: flat.dataPoints,
      });
    expect(at.compared!.sd).toBeGreaterThan(Math.sqrt(at.model!.variance) * 1.5);
  });
});

describe('recurring jobs', () => {
  /** Background of about 3 an hour, and `job(t)` added where it runs. */
  function jobSource(job: (t: number) => number, seed = 3) {
    const random = seededRandom(seed);
    return (t: number) => new Map([['10.0.0.9', negativeBinomial(random, 3, 4) + job(t)]]);
  }
  const isAt = (t: number, day: number, hour: number) =>
    new Date(t).getUTCDay() === day && new Date(t).getUTCHours() === hour;

  it('a weekly job alerts until its third occurrence, is quiet from then on, and alerts again at 2x its size', () => {
    const weeks = 6;
    const job = (t: number): number => {
      if (!isAt(t, 3, 2)) return 0; // Wednesday 02:00
      const week = Math.floor((t - MONDAY) / (7 * DAY));
      return week === 4 ? 330 : 140 + 5 * week;
    };
    const run = runWindows(config(), MONDAY, weeks * 7 * 24, jobSource(job));
    const occurrences = run.results.filter((r) => isAt(r.windowStart, 3, 2));
    const outcome = (r: WindowResult) => r.decisions.find((d) => d.srcIp === '10.0.0.9')!.outcome;
    expect(occurrences.map(outcome)).toEqual([
      'spike',
      'spike',
      'recurring-job',
      'recurring-job',
      'spike',
      'recurring-job',
    ]);
    const grown = occurrences[4]!.alerts[0]!;
    expect(grown.recurringJob).toMatchObject({ period: 'weekly', at: 'Wed 02:00' });
    expect(grown.recurringJob!.usualSize).toBeGreaterThan(140);
    expect(grown.recurringJob!.usualSize).toBeLessThan(160);
    // The learned job does not teach the hour its size: the job's hour still expects little.
    const last = run.baselines.get('10.0.0.9')!;
    const slotMean = decodeProfile(last.profile)[
      calendarOf(config()).place(MONDAY + 2 * DAY + 2 * HOUR).slot
    ]!;
    expect(slotMean).toBeLessThan(40);
  });

  /** The outcome for the job's source at each of the job's windows (Wednesdays 02:00). */
  function jobOutcomes(sizes: readonly number[], extra: DetectorConfigInput = {}): string[] {
    const job = (t: number): number => (isAt(t, 3, 2) ? sizes[Math.floor((t - MONDAY) / (7 * DAY))]! : 0);
    const run = runWindows(config(extra), MONDAY, sizes.length * 7 * 24, jobSource(job));
    return run.results
      .filter((r) => isAt(r.windowStart, 3, 2))
      .map((r) => r.decisions.find((d) => d.srcIp === '10.0.0.9')!.outcome);
  }

  it('a job seen once whose next run is another size starts over at that size', () => {
    // 150, then 600 (4x: not the same job): the candidate restarts at 600, which then needs its
    // own three occurrences before it is a job.
    expect(jobOutcomes([150, 600, 600, 600])).toEqual(['spike', 'spike', 'spike', 'recurring-job']);
  });

  it('a job seen twice keeps its count when a run of another size comes between', () => {
    // Four occurrences to learn: 150 twice, a 600 at the same time (a candidate of its own), then
    // 150 twice more: the job's fourth occurrence is its own, so it is learned and quiet.
    expect(jobOutcomes([150, 150, 600, 150, 150], { jobOccurrencesToLearn: 4 })).toEqual([
      'spike',
      'spike',
      'spike',
      'spike',
      'recurring-job',
    ]);
  });

  it('a burst at a new time still alerts after a job is learned', () => {
    const job = (t: number): number => (isAt(t, 3, 2) ? 150 : 0);
    const newBurst = MONDAY + 4 * 7 * DAY + 3 * DAY + 14 * HOUR; // Wednesday 14:00 of week 5
    const run = runWindows(config(), MONDAY, 5 * 7 * 24, (t) => {
      const counts = jobSource(job)(t);
      if (t === newBurst) counts.set('10.0.0.9', 150);
      return counts;
    });
    expect(run.alerts.some((a) => Date.parse(a.windowStart) === newBurst)).toBe(true);
  });

  it("a daily job becomes its hour's usual level without blinding the rest of the day", () => {
    // 120 records at 01:00 every night on a background of about 3; a burst of 40 at 14:00 on day 15.
    const burst = MONDAY + 15 * DAY + 14 * HOUR;
    const source = jobSource((t) => (new Date(t).getUTCHours() === 1 ? 120 : 0), 4);
    const data = Array.from({ length: 21 * 24 }, (_, w) => {
      const counts = source(MONDAY + w * HOUR);
      if (MONDAY + w * HOUR === burst) counts.set('10.0.0.9', 40);
      return counts;
    });
    const rhythmic = runWindows(config(ONE_OF_A_FLEET), MONDAY, data.length, (_t, w) => data[w]!);
    const flat = runWindows(
      config({ ...ONE_OF_A_FLEET, rhythm: false, jobOccurrencesToLearn: 0 }),
      MONDAY,
      data.length,
      (_t, w) => data[w]!,
    );
    const afterWeek = (alerts: Alert[]) =>
      alerts.filter((a) => Date.parse(a.windowStart) >= MONDAY + 7 * DAY);
    // The nightly job is quiet once learned, and the burst in the afternoon is found...
    expect(afterWeek(rhythmic.alerts).map((a) => Date.parse(a.windowStart))).toEqual([burst]);
    // ...where the flat baseline, its variance inflated by the job, is blind to it.
    expect(flat.alerts.some((a) => Date.parse(a.windowStart) === burst)).toBe(false);
  });

  it("names a grown job's time as the zone has it, off the hour too (a weekly job at 02:30 in Kolkata)", () => {
    const kolkata = resolveDetectorConfig({
      timezone: 'Asia/Kolkata',
      cooldownMinutes: 0,
      massSpikeMinSources: 0,
    });
    const start = Date.UTC(2026, 0, 5); // a Monday
    const jobAt = (week: number) => start + week * 7 * DAY + 2 * DAY + 21 * HOUR; // Wed 21:00Z, Thu 02:30 IST
    const sizes = [140, 145, 150, 155, 330];
    const source = jobSource((t) => {
      const week = Math.floor((t - start) / (7 * DAY));
      return t === jobAt(week) ? (sizes[week] ?? 0) : 0;
    });
    const { alerts } = runWindows(kolkata, start, sizes.length * 7 * 24, source);
    const grown = alerts.filter((a) => a.recurringJob !== undefined);
    expect(grown.map((a) => [a.windowStart, a.recurringJob?.period, a.recurringJob?.at])).toEqual([
      ['2026-02-04T21:00:00Z', 'weekly', 'Thu 02:30'],
    ]);
  });

  describe('a daily job moved by an hour (on UTC time when the clocks change, or rescheduled)', () => {
    // A source blocked only when its backup runs, at 06:00 UTC: 02:00 in New York in summer,
    // 01:00 from 1 November 2026, when the clocks go back.
    const newYork = resolveDetectorConfig({
      ...ONE_OF_A_FLEET,
      timezone: 'America/New_York',
      massSpikeMinSources: 0,
    });
    const START = Date.parse('2026-09-07T00:00:00Z');
    const FALL_BACK = Date.parse('2026-11-01T06:00:00Z');
    const backup = (grownOn?: number) => (t: number) =>
      new Map([
        ['10.0.0.7', new Date(t).getUTCHours() === 6 ? (t === grownOn ? 400 : 120 + ((t / HOUR) % 11)) : 0],
      ]);
    const outcomeAt = (results: WindowResult[], t: number) =>
      results.find((r) => r.windowStart === t)?.decisions[0]?.outcome;

    it('stays quiet when its local hour changes: its runs in the next hour are the job, and teach that hour', () => {
      const days = 70;
      const { results, alerts } = runWindows(newYork, START, days * 24, backup());
      // Learnt in its first two weeks; no alert after, through the change and after it.
      expect(alerts.filter((a) => Date.parse(a.windowStart) >= START + 14 * DAY)).toEqual([]);
      expect(outcomeAt(results, FALL_BACK)).toBe('recurring-job');
      // It is a learnt daily job, which follows its runs exactly a day later in UTC to the new hour.
      expect(outcomeAt(results, START + (days - 1) * DAY + 6 * HOUR)).toBe('recurring-job');
    });

    it('alerts on a run at jobGrowthFactor x its size, saying it is the daily job grown', () => {
      const grown = FALL_BACK + 2 * DAY;
      const { alerts } = runWindows(newYork, START, 60 * 24, backup(grown));
      const late = alerts.filter((a) => Date.parse(a.windowStart) >= START + 14 * DAY);
      expect(late.map((a) => [a.windowStart, a.kind, a.recurringJob?.period, a.recurringJob?.at])).toEqual([
        ['2026-11-03T06:00:00Z', 'spike', 'daily', '01:00'],
      ]);
      // It is the learnt daily job's run (followed a day later in UTC to its new hour): quiet below
      // jobGrowthFactor x its size, a spike from it up, in the engine and the spike line alike.
      const { baselines, clock } = runWindows(newYork, START, (grown - START) / HOUR, backup());
      const model = comparedModel(baselines.get('10.0.0.7')!, clock, grown, newYork);
      const threshold = windowThreshold(newYork, 1);
      const job = { spikeFrom: grownRunFrom(model.learnedJob!.runs, threshold, newYork) };
      expect(job.spikeFrom).toBeGreaterThan(240);
      const decide = (x: number) =>
        evaluateWindow(
          { windowStart: grown, counts: new Map([['10.0.0.7', x]]), complete: true, baselines, clock },
          newYork,
        ).decisions[0]?.outcome;
      expect([decide(job.spikeFrom), isSpikeCount(job.spikeFrom, model, threshold, newYork)]).toEqual([
        'spike',
        true,
      ]);
      expect([decide(job.spikeFrom - 1), isSpikeCount(job.spikeFrom - 1, model, threshold, newYork)]).toEqual(
        ['recurring-job', false],
      );
      expect(smallestSpikeCount(model, threshold, newYork)).toBe(job.spikeFrom);
    });

    it('is where the spike line says: the engine and the spike line agree at the moved hour', () => {
      const { baselines, clock } = runWindows(newYork, START, (FALL_BACK - START) / HOUR + 24, backup());
      const windowStart = FALL_BACK + DAY;
      const model = comparedModel(baselines.get('10.0.0.7')!, clock, windowStart, newYork);
      const band = model.movedDailyJob!;
      // The job's size then is about 125: quiet from 63, a grown job from 250.
      expect(band).toEqual({ quietFrom: 63, spikeFrom: 250 });
      const threshold = windowThreshold(newYork, 1);
      const decide = (x: number) =>
        evaluateWindow(
          { windowStart, counts: new Map([['10.0.0.7', x]]), complete: true, baselines, clock },
          newYork,
        ).decisions[0]?.outcome;
      const spikeFrom = smallestSpikeCount(model, threshold, newYork)!;
      expect(decide(spikeFrom)).toBe('spike');
      expect(decide(spikeFrom - 1)).not.toBe('spike');
      for (const x of [
        spikeFrom,
        band.quietFrom - 1,
        band.quietFrom,
        130,
        band.spikeFrom - 1,
        band.spikeFrom,
        1000,
      ])
        expect([x, isSpikeCount(x, model, threshold, newYork)]).toEqual([x, decide(x) === 'spike']);
      expect([decide(band.quietFrom), decide(band.spikeFrom - 1), decide(band.spikeFrom)]).toEqual([
        'recurring-job',
        'recurring-job',
        'spike',
      ]);
    });
  });

  it('bootstrap learns jobs and rhythm: a deployed detector is quiet on them from its first window', () => {
    const job = (t: number): number => (isAt(t, 3, 2) ? 140 : new Date(t).getUTCHours() === 1 ? 90 : 0);
    const source = jobSource(job, 11);
    const data = Array.from({ length: 5 * 7 * 24 }, (_, w) => source(MONDAY + w * HOUR));
    const cfg = config();
    const history: HistoryWindow[] = data.slice(0, 30 * 24).map((counts, w) => ({
      windowStart: MONDAY + w * HOUR,
      counts,
      complete: true,
    }));
    const learned = bootstrapBaselines(history, cfg);
    const after = runWindows(cfg, MONDAY + 30 * DAY, 5 * 24, (_t, w) => data[30 * 24 + w]!, learned);
    expect(after.alerts).toEqual([]);
    // Both are learned jobs (and their hours are not taught their sizes).
    const baseline = learned.baselines.get('10.0.0.9')!;
    expect(baseline.jobs?.some((j) => j.period === 'weekly' && j.occurrences >= 3)).toBe(true);
    expect(baseline.jobs?.some((j) => j.period === 'daily' && j.occurrences >= 3)).toBe(true);
  });
});

describe('bootstrap with rhythm', () => {
  it('bootstrap then fold equals folding every window (profiles, within-hour and jobs included)', () => {
    const cfg = config();
    const random = seededRandom(21);
    const data = Array.from({ length: 24 * 24 }, (_, w) => {
      const t = MONDAY + w * HOUR;
      const counts = new Map<string, number>();
      for (let s = 0; s < 12; s += 1) {
        const busy = !isWeekendUtc(t) && new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 18;
        const m = (s + 1) * (busy && s % 2 === 0 ? 4 : 1);
        const x =
          negativeBinomial(random, m, m + (m * m) / 4) +
          (s === 3 && new Date(t).getUTCHours() === 2 ? 100 : 0);
        if (x > 0) counts.set(`10.0.0.${s}`, x);
      }
      return counts;
    });
    const all = runWindows(cfg, MONDAY, data.length, (_t, w) => data[w]!);
    const split = 17 * 24 + 5;
    const history: HistoryWindow[] = data.slice(0, split).map((counts, w) => ({
      windowStart: MONDAY + w * HOUR,
      counts,
      complete: true,
    }));
    const learned = bootstrapBaselines(history, cfg);
    const rest = runWindows(
      cfg,
      MONDAY + split * HOUR,
      data.length - split,
      (_t, w) => data[split + w]!,
      learned,
    );
    // Alert bookkeeping (cooldown) is not learned by a bootstrap; everything a fold learns is.
    const learnedState = (baselines: Map<string, Baseline>) =>
      new Map(
        [...baselines].map(([ip, b]) => {
          const { lastAlertWindow: _w, lastAlertCount: _c, lastElevatedWindow: _e, ...state } = b;
          return [ip, state];
        }),
      );
    expect(learnedState(rest.baselines)).toEqual(learnedState(all.baselines));
    // And the profiles are really there: the test compares rhythm state, not empty fields.
    expect(
      [...rest.baselines.values()].every((b) => b.profile !== undefined && b.withinHour !== undefined),
    ).toBe(true);
  });
});

describe('time zones', () => {
  it('follows local business hours through a daylight-saving change with `timezone`', () => {
    // Busy 09:00-17:00 New York time on weekdays; New York moves to UTC-4 on 2026-03-08.
    const zone = 'America/New_York';
    const local = calendarOf(config({ timezone: zone }));
    const start = Date.UTC(2026, 1, 16); // Monday 2026-02-16
    const random = seededRandom(8);
    const busyAt = (t: number) => {
      const place = local.place(t);
      const hour = place.slot % 24;
      return place.slot < 24 && hour >= 9 && hour < 17;
    };
    const burst = Date.UTC(2026, 2, 15, 7); // Sunday 03:00 in New York, after the change
    const countsAt = (t: number) => {
      const m = busyAt(t) ? 50 : 3;
      const x = t === burst ? 120 : negativeBinomial(random, m, m + (m * m) / 6);
      return new Map(x > 0 ? [['10.0.0.2', x]] : []);
    };
    const data = Array.from({ length: 35 * 24 }, (_, w) => countsAt(start + w * HOUR));
    const run = (cfg: DetectorConfig) => runWindows(cfg, start, data.length, (_t, w) => data[w]!);
    const zoned = run(config({ ...ONE_OF_A_FLEET, timezone: zone }));
    const late = (alerts: Alert[]) => alerts.filter((a) => Date.parse(a.windowStart) >= start + 14 * DAY);
    expect(late(zoned.alerts).map((a) => a.windowStart)).toEqual(['2026-03-15T07:00:00Z']);
    expect(late(zoned.alerts)[0]!.expected).toMatchObject({ at: 'Sun 03:00', timezone: zone });
  });

  it('rejects an unknown time zone and a week without weekdays', () => {
    expect(() => resolveDetectorConfig({ timezone: 'Mars/Olympus' })).toThrow(
      /timezone: must be an IANA time zone/,
    );
    expect(() => resolveDetectorConfig({ weekendDays: ['Sat', 'Sat'] })).toThrow(
      /weekendDays: lists a day twice/,
    );
    expect(() =>
      resolveDetectorConfig({ weekendDays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] }),
    ).toThrow(/at most 6 weekend days/);
    expect(() => resolveDetectorConfig({ preset: 'splunk-escu', rhythm: true })).toThrow(
      /recommended-preset feature/,
    );
    expect(() => resolveDetectorConfig({ jobOccurrencesToLearn: 1 })).toThrow(/0 \(off\) or at least 2/);
  });
});

describe('matchJob', () => {
  const WEDNESDAY_2AM = MONDAY + 2 * DAY + 2 * HOUR;
  const phase = 3 * 24 + 2;
  const job = { phase, period: 'weekly' as const, size: 150, occurrences: 3, last: WEDNESDAY_2AM };

  it('matches a weekly job a week on, at the same window of the week', () => {
    expect(matchJob([job], WEDNESDAY_2AM + 7 * DAY, phase, 24)).toMatchObject({ index: 0, period: 'weekly' });
    expect(matchJob([job], WEDNESDAY_2AM + 7 * DAY + HOUR, phase + 1, 24)).toBeUndefined();
  });

  it('matches a daily job a day on at the same window of the day, not at another hour', () => {
    const daily = { ...job, period: 'daily' as const };
    expect(matchJob([daily], WEDNESDAY_2AM + DAY, phase + 24, 24)).toMatchObject({
      index: 0,
      period: 'daily',
    });
    expect(matchJob([daily], WEDNESDAY_2AM + DAY + 12 * HOUR, phase + 36, 24)).toBeUndefined();
    expect(matchJob([daily], WEDNESDAY_2AM + DAY + HOUR, phase + 25, 24)).toBeUndefined();
  });

  it('does not take the window a job was last seen in (evaluated again, as a dry run does) for its next occurrence', () => {
    expect(matchJob([job], WEDNESDAY_2AM, phase, 24)).toBeUndefined();
    expect(
      matchJob([{ ...job, last: WEDNESDAY_2AM + 7 * DAY }], WEDNESDAY_2AM + 7 * DAY, phase, 24),
    ).toBeUndefined();
    expect(matchJob(undefined, WEDNESDAY_2AM, phase, 24)).toBeUndefined();
  });
});

describe('matchJob across a daylight-saving change', () => {
  const SUNDAY_1AM = MONDAY - DAY + HOUR;
  const phase = 1;
  const weekly = { phase, period: 'weekly' as const, size: 200, occurrences: 1, last: SUNDAY_1AM };

  it("does not take the fall-back's repeated hour (the same local window an hour later) for the next run", () => {
    // Both 01:00s of the night the clocks go back have one place in the week and in the day.
    expect(matchJob([weekly], SUNDAY_1AM + HOUR, phase, 24)).toBeUndefined();
    expect(matchJob([{ ...weekly, period: undefined }], SUNDAY_1AM + HOUR, phase, 24)).toBeUndefined();
    expect(matchJob([weekly], SUNDAY_1AM + 7 * DAY, phase, 24)).toMatchObject({ period: 'weekly' });
  });

  it('takes a weekly run on UTC time whose local window moved with the clocks, at its new phase', () => {
    // Whole weeks later in UTC, an hour later in the local week (the clocks went forward between).
    const at = SUNDAY_1AM + 7 * DAY;
    for (const job of [weekly, { ...weekly, period: undefined }, { ...weekly, occurrences: 4 }]) {
      const match = matchJob([job], at, phase + 1, 24);
      expect(match).toMatchObject({ period: 'weekly', phase: phase + 1 });
      expect(recordOccurrence([job], match!, 200, at)[0]).toMatchObject({ phase: phase + 1, last: at });
    }
    expect(matchJob([weekly], SUNDAY_1AM + 14 * DAY, phase - 1, 24)).toMatchObject({ phase: phase - 1 });
    // Not a whole number of weeks in UTC: no match at another window of the week.
    expect(matchJob([weekly], at + HOUR, phase + 1, 24)).toBeUndefined();
    // A daily job seen within its week matches exactly whole days later in UTC, and moves too;
    // an hour off in UTC it does not.
    const daily = { ...weekly, period: 'daily' as const, last: at - DAY };
    expect(matchJob([daily], at, phase + 1, 24)).toEqual({
      job: daily,
      index: 0,
      period: 'daily',
      phase: phase + 1,
    });
    expect(matchJob([daily], at + HOUR, phase + 2, 24)).toBeUndefined();
    // At its own phase a weekly job keeps it.
    expect(matchJob([weekly], at, phase, 24)).toEqual({ job: weekly, index: 0, period: 'weekly' });
  });

  it('takes a daily run 23 hours after the last (the day the clocks go forward), not sooner', () => {
    const daily = { phase, period: 'daily' as const, size: 200, occurrences: 3, last: SUNDAY_1AM };
    expect(matchJob([daily], SUNDAY_1AM + 23 * HOUR, phase + 24, 24)).toMatchObject({ period: 'daily' });
    expect(matchJob([daily], SUNDAY_1AM + 23 * HOUR - 1, phase + 24, 24)).toBeUndefined();
  });
});

describe('job bookkeeping', () => {
  const WEEK = 7 * DAY;
  const WED_2AM = MONDAY + 2 * DAY + 2 * HOUR;
  const phase = 3 * 24 + 2;
  const at = WED_2AM + 4 * WEEK;
  const job = (fields: Partial<RecurringJob> = {}): RecurringJob => ({
    phase,
    period: 'weekly',
    size: 150,
    occurrences: 3,
    last: at - WEEK,
    ...fields,
  });

  it('matchJob prefers an established job, then the same time of week over the same time of day, then a known period', () => {
    // A candidate seen once at this hour yesterday (daily?) and a weekly job with three occurrences.
    const daily = { phase: phase - 24, size: 150, occurrences: 1, last: at - DAY };
    expect(matchJob([daily, job()], at, phase, 24)).toMatchObject({ index: 1, period: 'weekly' });
    expect(matchJob([job(), daily], at, phase, 24)).toMatchObject({ index: 0, period: 'weekly' });
    // Equal occurrences: the same time of week wins over the same time of day.
    const weeklyOnce = { phase, size: 150, occurrences: 1, last: at - WEEK };
    expect(matchJob([daily, weeklyOnce], at, phase, 24)).toMatchObject({ index: 1, period: 'weekly' });
    // Equal occurrences and period: a job whose period is known wins over a candidate.
    const known = job({ occurrences: 1 });
    expect(matchJob([weeklyOnce, known], at, phase, 24)).toMatchObject({ index: 1 });
    expect(matchJob([known, weeklyOnce], at, phase, 24)).toMatchObject({ index: 0 });
    // Occurrences count first, whatever the rest: an established daily job at this time of day
    // wins over a burst seen once at this time of week.
    const establishedDaily = {
      phase: phase - 24,
      period: 'daily' as const,
      size: 150,
      occurrences: 3,
      last: at - DAY,
    };
    expect(matchJob([weeklyOnce, establishedDaily], at, phase, 24)).toMatchObject({
      index: 1,
      period: 'daily',
    });
    // A tie on all of these: the job kept longest (listed first) wins.
    expect(matchJob([weeklyOnce, { ...weeklyOnce, size: 300 }], at, phase, 24)).toMatchObject({ index: 0 });
  });

  it('matchJob takes a daily job up to a week after its last run, a candidate up to three days, a weekly job up to five weeks', () => {
    const dailyJob = {
      phase: phase - 24,
      period: 'daily' as const,
      size: 150,
      occurrences: 3,
      last: at - 7 * DAY,
    };
    expect(matchJob([dailyJob], at, phase, 24)).toMatchObject({ period: 'daily' });
    expect(matchJob([{ ...dailyJob, last: at - 7 * DAY - HOUR }], at, phase, 24)).toMatchObject({
      period: 'daily',
    });
    expect(matchJob([{ ...dailyJob, last: at - 8 * DAY }], at, phase, 24)).toBeUndefined();
    const candidate = { phase: phase - 24, size: 150, occurrences: 1, last: at - 3 * DAY };
    expect(matchJob([candidate], at, phase, 24)).toMatchObject({ period: 'daily' });
    expect(matchJob([{ ...candidate, last: at - 4 * DAY }], at, phase, 24)).toBeUndefined();
    expect(matchJob([job({ last: at - 5 * WEEK })], at, phase, 24)).toMatchObject({ period: 'weekly' });
    // An hour of slack for a daylight-saving change in between.
    expect(matchJob([job({ last: at - 5 * WEEK - HOUR })], at, phase, 24)).toMatchObject({
      period: 'weekly',
    });
    expect(matchJob([job({ last: at - 6 * WEEK })], at, phase, 24)).toBeUndefined();
    // A weekly job is not a daily one at another day's same hour; a daily job stays daily at its own time of week.
    expect(matchJob([job({ last: at - DAY })], at + DAY, phase + 24, 24)).toBeUndefined();
    expect(matchJob([{ ...dailyJob, phase, last: at - WEEK }], at, phase, 24)).toMatchObject({
      period: 'daily',
    });
  });

  it('recordOccurrence counts the run and moves the size a share of the way toward it', () => {
    const jobs = [job({ occurrences: 1, period: undefined, size: 100 })];
    const once = recordOccurrence(jobs, { job: jobs[0]!, index: 0, period: 'weekly' }, 200, at);
    // Second occurrence: the mean of the two, and the first spread: (200 - 100)^2, times 1 / 2
    // for the single run's own error.
    expect(once).toEqual([
      { phase, period: 'weekly', size: 150, occurrences: 2, last: at, spread: 5000, spreadRuns: 1 },
    ]);
    const many = [job({ occurrences: 9, size: 100 })];
    // Past four occurrences the size moves a quarter of the way.
    expect(recordOccurrence(many, { job: many[0]!, index: 0, period: 'weekly' }, 200, at)[0]).toMatchObject({
      size: 125,
      occurrences: 10,
    });
    expect(jobs[0]!.occurrences).toBe(1); // the input is not changed
  });

  it("recordOccurrence keeps the spread of a job's runs about the size expected before each", () => {
    // A size that is a mean of four runs: a new run differs from it by (1 + 1 / 4) spreads, so a
    // difference of 100 counts as 100^2 x 4 / 5 = 8,000. Over SPREAD_MEMORY runs the spread
    // moves an eighth of the way: 400 + (8,000 - 400) / 8 = 1,350.
    const settled = [job({ occurrences: 9, size: 100, spread: 400, spreadRuns: SPREAD_MEMORY })];
    expect(SPREAD_MEMORY).toBe(8);
    expect(
      recordOccurrence(settled, { job: settled[0]!, index: 0, period: 'weekly' }, 200, at)[0],
    ).toMatchObject({
      spread: 1350,
      spreadRuns: SPREAD_MEMORY,
    });
    // Third run of a job whose spread rests on one: the mean of the two (5,000 and 100^2 x 2 / 3).
    const young = [job({ occurrences: 2, size: 100, spread: 5000, spreadRuns: 1 })];
    expect(recordOccurrence(young, { job: young[0]!, index: 0, period: 'weekly' }, 200, at)[0]).toMatchObject(
      {
        spread: 5833,
        spreadRuns: 2,
      },
    );
    // A job kept before spreads were: its spread starts at this run.
    const kept = [job({ occurrences: 9, size: 100 })];
    expect(recordOccurrence(kept, { job: kept[0]!, index: 0, period: 'weekly' }, 200, at)[0]).toMatchObject({
      spread: 8000,
      spreadRuns: 1,
    });
  });

  it('matchJob finds a monthly job: 28-31 days later at the same time of day, 56-62 for a known one that skipped a month, 4-5 weeks for one on a weekday of the month', () => {
    // A burst seen once at 02:00 a month ago (on another weekday: 31 days is not whole weeks).
    const once = { phase: (phase + 4 * 24) % (7 * 24), size: 150, occurrences: 1, last: at - 31 * DAY };
    expect(matchJob([once], at, phase, 24)).toEqual({ job: once, index: 0, period: 'monthly' });
    // (28 days later is whole weeks: see below.)
    for (const days of [29, 30, 31])
      expect(matchJob([{ ...once, last: at - days * DAY }], at, phase, 24)?.period).toBe('monthly');
    // Not at another time of day, nor 27 or 32 days later.
    expect(
      matchJob([{ ...once, phase: once.phase + 1, last: at - 31 * DAY + HOUR }], at, phase, 24),
    ).toBeUndefined();
    expect(matchJob([{ ...once, last: at - 27 * DAY }], at, phase, 24)).toBeUndefined();
    expect(matchJob([{ ...once, last: at - 32 * DAY }], at, phase, 24)).toBeUndefined();
    // A known monthly job also two months on (one skipped), but not three.
    const monthly = { ...once, period: 'monthly' as const, occurrences: 3 };
    expect(matchJob([{ ...monthly, last: at - 61 * DAY }], at, phase, 24)?.period).toBe('monthly');
    expect(matchJob([{ ...monthly, last: at - 92 * DAY }], at, phase, 24)).toBeUndefined();
    // A monthly job is never taken for a weekly one (28 days at the same time of week) or a daily
    // one (a burst at its hour a day later), which would change its period.
    expect(matchJob([{ ...monthly, phase, last: at - 28 * DAY }], at, phase, 24)?.period).toBe('monthly');
    expect(matchJob([{ ...monthly, phase, last: at - DAY }], at, phase, 24)).toBeUndefined();
    // A job seen once 28 days before is monthly (a monthly job first seen in February; it used to
    // be taken as weekly and missed its next month), at the same time of week or in UTC whole
    // weeks; three or five weeks later it is weekly, as is a known weekly job four weeks on.
    expect(matchJob([{ ...once, last: at - 28 * DAY }], at, phase, 24)?.period).toBe('monthly');
    expect(matchJob([{ ...once, phase, last: at - 28 * DAY }], at, phase, 24)?.period).toBe('monthly');
    expect(matchJob([{ ...once, phase, last: at - 28 * DAY + HOUR }], at, phase, 24)?.period).toBe('monthly');
    for (const weeks of [3, 5])
      expect(matchJob([{ ...once, phase, last: at - weeks * 7 * DAY }], at, phase, 24)?.period).toBe(
        'weekly',
      );
    const weekly = { ...once, phase, period: 'weekly' as const, occurrences: 3, last: at - 28 * DAY };
    expect(matchJob([weekly], at, phase, 24)?.period).toBe('weekly');
    // A known monthly job on a weekday of the month (the second Tuesday) also four or five weeks
    // later at the same time of week, eight to ten with a month skipped; not a day earlier in the
    // week, nor eleven weeks on; a job on a day of the month (another weekday) not 32-35 days on.
    const weekday = { ...monthly, phase };
    for (const weeks of [4, 5, 8, 9, 10])
      expect(matchJob([{ ...weekday, last: at - weeks * 7 * DAY }], at, phase, 24)?.period).toBe('monthly');
    expect(matchJob([{ ...weekday, phase: phase - 24, last: at - 34 * DAY }], at, phase, 24)).toBeUndefined();
    expect(matchJob([{ ...weekday, last: at - 77 * DAY }], at, phase, 24)).toBeUndefined();
    for (const gap of [32 * DAY, 33 * DAY, 34 * DAY, 35 * DAY - HOUR])
      expect(matchJob([{ ...monthly, last: at - gap }], at, phase, 24)).toBeUndefined();
    // A job seen once five weeks before at the same time of week is weekly, not monthly.
    expect(matchJob([{ ...once, phase, last: at - 35 * DAY }], at, phase, 24)?.period).toBe('weekly');
    // Kept while it may still come: ten weeks for a monthly job.
    expect(liveJobs([{ ...monthly, last: at - 70 * DAY }], at)).toHaveLength(1);
    expect(liveJobs([{ ...monthly, last: at - 71 * DAY }], at)).toBeUndefined();
  });

  it('addCandidate keeps at most MAX_JOBS, replacing the least established and then the longest unseen', () => {
    expect(addCandidate(undefined, 149.6, at, phase)).toEqual([
      { phase, size: 150, occurrences: 1, last: at },
    ]);
    const full = [
      job({ phase: 1, occurrences: 5, last: at - DAY }),
      job({ phase: 2, occurrences: 2, last: at - DAY }),
      job({ phase: 3, occurrences: 2, last: at - 2 * DAY }),
      job({ phase: 4, occurrences: 3, last: at - 3 * DAY }),
    ];
    expect(full).toHaveLength(MAX_JOBS);
    const next = addCandidate(full, 80, at, phase);
    expect(next.map((j) => j.phase)).toEqual([1, 2, phase, 4]);
    const fewest = addCandidate(
      [...full.slice(0, 3), job({ phase: 4, occurrences: 1, last: at - DAY })],
      80,
      at,
      phase,
    );
    expect(fewest.map((j) => j.phase)).toEqual([1, 2, 3, phase]);
    // A tie on occurrences goes to the longest unseen, wherever it stands in the list.
    const olderFirst = [
      full[0]!,
      { ...full[1]!, last: at - 2 * DAY },
      { ...full[2]!, last: at - DAY },
      full[3]!,
    ];
    expect(addCandidate(olderFirst, 80, at, phase).map((j) => j.phase)).toEqual([1, phase, 3, 4]);
  });

  it('liveJobs forgets a candidate after five weeks, a daily job after a week, a weekly one after five weeks', () => {
    const candidate = job({ occurrences: 1, period: undefined, last: at - 35 * DAY });
    const daily = job({ period: 'daily', last: at - 7 * DAY });
    const weekly = job({ last: at - 5 * WEEK });
    const all = [candidate, daily, weekly];
    expect(liveJobs(all, at)).toBe(all);
    // An hour of slack for a daylight-saving change, to the millisecond.
    expect(liveJobs(all, at + HOUR)).toBe(all);
    expect(liveJobs(all, at + HOUR + 1)).toBeUndefined();
    expect(liveJobs(all, at + 2 * HOUR)).toBeUndefined();
    expect(liveJobs([daily, job({ last: at - WEEK })], at + DAY)).toEqual([job({ last: at - WEEK })]);
    expect(liveJobs(undefined, at)).toBeUndefined();
    // From its second occurrence a job has its period's limit, not a candidate's.
    expect(liveJobs([job({ period: 'daily', occurrences: 2, last: at - 8 * DAY })], at)).toBeUndefined();
  });
});

describe('foldProfile', () => {
  it('moves a slot toward what it is fed, and only that slot', () => {
    const cfg = config();
    const start = encodeProfile(Array.from({ length: PROFILE_SLOTS }, () => quantizeSlotMean(10)));
    // A Monday 05:00 window of a source with three weeks of history: about 15 windows in that slot.
    const folded = decodeProfile(foldProfile(start, MONDAY + 21 * DAY + 5 * HOUR, 40, 21 * 24 + 5, cfg));
    expect(folded[5]).toBeCloseTo(10 + 30 / 16, 2);
    for (let s = 0; s < PROFILE_SLOTS; s += 1) if (s !== 5) expect(folded[s]).toBe(quantizeSlotMean(10));
  });

  it('places a window before 1970 in its UTC hour and weekday like any other', () => {
    // 1969-12-30 was a Tuesday: its 07:00 window is weekday slot 7, and only that slot moves.
    const cfg = config();
    const tuesday = Date.UTC(1969, 11, 30, 7);
    expect(calendarOf(cfg).place(tuesday)).toMatchObject({ slot: 7, label: 'Tue 07:00' });
    const start = encodeProfile(Array.from({ length: PROFILE_SLOTS }, () => quantizeSlotMean(10)));
    const text = foldProfile(start, tuesday, 40, 0, cfg);
    expect(text).toHaveLength(PROFILE_LENGTH);
    const folded = decodeProfile(text);
    // A slot seen once (no history) takes the mean of its two windows: (10 + 40) / 2.
    expect(folded[7]).toBe(quantizeSlotMean(25));
    for (let s = 0; s < PROFILE_SLOTS; s += 1) if (s !== 7) expect(folded[s]).toBe(quantizeSlotMean(10));
  });
});
