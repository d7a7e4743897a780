import fc from 'fast-check';
import {
  BaselineTable,
  decodeProfile,
  encodeProfile,
  PROFILE_SLOTS,
  quantizeSlotMean,
  UNSET_PROFILE,
  type Baseline,
} from '../../lambda/core';

const double = fc.double({ noNaN: true, noDefaultInfinity: true });
/** A profile or slot spread: 48 slots, some unset. */
const slotText = fc
  .array(fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: Number.NaN }), {
    minLength: PROFILE_SLOTS,
    maxLength: PROFILE_SLOTS,
  })
  .map((values) => encodeProfile(values.map(quantizeSlotMean)));
const baselineArb: fc.Arbitrary<Baseline> = fc
  .record({
    mean: double,
    variance: double,
    dataPoints: fc.integer({ min: 1, max: 10_000 }),
    lastWindow: fc.integer({ min: 0, max: 2 ** 45 }),
    clockAtLastFold: fc.integer({ min: 0, max: 1e9 }),
    lastAlertWindow: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
    lastAlertCount: fc.option(fc.integer({ min: 0, max: 1e9 }), { nil: undefined }),
    lastElevatedWindow: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
    profile: fc.option(slotText, { nil: undefined }),
    withinHour: fc.option(fc.record({ variance: double, index: double, count: fc.nat() }), {
      nil: undefined,
    }),
    jobs: fc.option(
      fc.array(
        fc.record({
          phase: fc.nat(167),
          size: fc.nat(),
          occurrences: fc.nat(),
          last: fc.nat(),
          period: fc.constantFrom('daily' as const, 'weekly' as const),
        }),
        { maxLength: 4 },
      ),
      { nil: undefined },
    ),
    tailScore: fc.option(double, { nil: undefined }),
    slotSpread: fc.option(slotText, { nil: undefined }),
  })
  // Optional fields absent, not undefined: the shape the engine and the stores make.
  .map(
    (b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as unknown as Baseline,
  );

describe('BaselineTable', () => {
  it('gives back every baseline exactly as stored, absent ones as undefined, whatever was there before', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(baselineArb, { nil: undefined }), { maxLength: 30 }),
        baselineArb,
        (rows, old) => {
          const table = new BaselineTable(rows.length);
          rows.forEach((_, i) => table.set(i, old));
          rows.forEach((row, i) => table.set(i, row));
          rows.forEach((row, i) => {
            expect(table.get(i)).toEqual(row);
            expect(table.has(i)).toBe(row !== undefined);
            expect(table.maturity(i)).toEqual(
              row === undefined
                ? undefined
                : {
                    dataPoints: row.dataPoints,
                    lastWindow: row.lastWindow,
                    clockAtLastFold: row.clockAtLastFold,
                  },
            );
          });
        },
      ),
    );
  });

  it('gives back every profile and slot spread kept beside another table, whatever slots differ (none, a few, many, all)', () => {
    // A profile like `profile` with the slots in `changed` set to another value.
    const changedProfile = (profile: string | undefined, changed: number[], value: number) => {
      const values = Array.from({ length: PROFILE_SLOTS }, (_, s) =>
        profile === undefined ? Number.NaN : decodeProfile(profile)[s]!,
      );
      for (const s of changed) values[s] = quantizeSlotMean(value);
      return encodeProfile(values);
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.option(baselineArb, { nil: undefined }),
            baselineArb,
            fc.uniqueArray(fc.nat(PROFILE_SLOTS - 1), { maxLength: PROFILE_SLOTS }),
            fc.double({ min: 0, max: 1e6, noNaN: true }),
            fc.option(fc.uniqueArray(fc.nat(PROFILE_SLOTS - 1), { maxLength: PROFILE_SLOTS }), {
              nil: undefined,
            }),
          ),
          { maxLength: 20 },
        ),
        (rows) => {
          const before = new BaselineTable(rows.length);
          rows.forEach(([old], i) => before.set(i, old));
          const after = new BaselineTable(rows.length, { profilesBesides: before });
          // The slot spread changed in its own slots, or none (an entry without one).
          const expected = rows.map(([old, next, changed, value, spreadChanged]) => {
            const { slotSpread: _, ...row } = next;
            return {
              ...row,
              profile: changedProfile(old?.profile, changed, value),
              ...(spreadChanged === undefined
                ? {}
                : { slotSpread: changedProfile(old?.slotSpread, spreadChanged, value / 3) }),
            };
          });
          // Written twice: what an index held before leaves nothing behind.
          expected.forEach((row, i) =>
            after.set(i, {
              ...row,
              profile: changedProfile(undefined, [i], 7),
              slotSpread: changedProfile(undefined, [0, 1, 2, 3, 4, i], 9),
            }),
          );
          expected.forEach((row, i) => after.set(i, row));
          expected.forEach((row, i) => expect(after.get(i)).toEqual(row));
          // The table before is as it was.
          rows.forEach(([old], i) => expect(before.get(i)).toEqual(old));
        },
      ),
    );
  });

  /** A profile whose every slot is set (slot s at s + 1), and a baseline holding a profile. */
  const base = encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s + 1)));
  const b = (profile: string): Baseline => ({
    mean: 1,
    variance: 0,
    dataPoints: 5,
    lastWindow: 0,
    clockAtLastFold: 0,
    profile,
  });

  it('reads back a profile beside another that differs in any one character of a slot, or beside none', () => {
    /** `profile` with the character at `at` replaced by another of the profile alphabet. */
    const changedAt = (profile: string, at: number): string =>
      profile.slice(0, at) + (profile[at] === 'A' ? 'B' : 'A') + profile.slice(at + 1);
    const before = new BaselineTable(4);
    before.set(0, b(base));
    before.set(1, b(base));
    before.set(2, b(base));
    // Index 3: absent before (its base is the unset profile).
    const after = new BaselineTable(4, { profilesBesides: before });
    const slot = 7 * 3; // the eighth slot's three characters
    const changed = [changedAt(base, slot), changedAt(base, slot + 1), changedAt(base, slot + 2)];
    changed.forEach((profile, i) => after.set(i, b(profile)));
    const fromUnset = changedAt(UNSET_PROFILE, slot + 1);
    after.set(3, b(fromUnset));
    changed.forEach((profile, i) => expect(after.get(i)?.profile).toBe(profile));
    expect(after.get(3)?.profile).toBe(fromUnset);
    // Set again with fewer changed slots: the earlier patch leaves nothing behind.
    after.set(0, b(changedAt(changedAt(base, 0), 3 * 40)));
    after.set(0, b(changedAt(base, 3 * 40 + 2)));
    expect(after.get(0)?.profile).toBe(changedAt(base, 3 * 40 + 2));
    after.set(1, b(base));
    expect(after.get(1)?.profile).toBe(base);
  });

  it('keeps a change of up to four slots as a patch, and only a larger one whole', () => {
    /** `profile` with the first character of each of `slots` replaced. */
    const changed = (profile: string, slots: number[]): string =>
      [...profile]
        .map((ch, i) => (slots.includes(Math.floor(i / 3)) && i % 3 === 0 ? (ch === 'A' ? 'B' : 'A') : ch))
        .join('');
    const before = new BaselineTable(3);
    before.set(0, b(base));
    before.set(1, b(UNSET_PROFILE));
    // Index 2: absent before.
    const after = new BaselineTable(3, { profilesBesides: before });
    const cases: [number, string][] = [
      [0, changed(base, [0])],
      [0, changed(base, [47])],
      [0, changed(base, [0, 1, 46, 47])],
      [1, changed(UNSET_PROFILE, [5])],
      [2, changed(UNSET_PROFILE, [3, 30])],
      [2, base.slice(0, 3) + UNSET_PROFILE.slice(3)],
    ];
    for (const [index, profile] of cases) {
      after.set(index, b(profile));
      expect(after.get(index)?.profile).toBe(profile);
      expect(after.profilesKeptWhole).toBe(0);
    }
    after.set(0, b(changed(base, [0, 1, 2, 3, 4])));
    expect(after.get(0)?.profile).toBe(changed(base, [0, 1, 2, 3, 4]));
    expect(after.profilesKeptWhole).toBe(1);
    // Set again as a patch: no longer kept whole.
    after.set(0, b(changed(base, [9])));
    expect(after.get(0)?.profile).toBe(changed(base, [9]));
    expect(after.profilesKeptWhole).toBe(0);
  });

  it("keeps a slot spread's change of up to four slots as a patch beside the table before, a larger one whole, apart from the profile", () => {
    /** `text` with the first character of each of `slots` replaced. */
    const changed = (text: string, slots: number[]): string =>
      [...text]
        .map((ch, i) => (slots.includes(Math.floor(i / 3)) && i % 3 === 0 ? (ch === 'A' ? 'B' : 'A') : ch))
        .join('');
    const spread = encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(0.5 + s / 2)),
    );
    const withSpread = (slotSpread: string, profile = base): Baseline => ({ ...b(profile), slotSpread });
    const before = new BaselineTable(3);
    before.set(0, withSpread(spread));
    // Index 1: a profile but no slot spread yet (the unset one is its base); index 2: absent.
    before.set(1, b(base));
    const after = new BaselineTable(3, { profilesBesides: before });
    // Index 2's profile as new as its slot spread: the unset one with a slot set.
    const cases: [number, string, string][] = [
      [0, spread, base],
      [0, changed(spread, [7]), base],
      [0, changed(spread, [0, 1, 46, 47]), base],
      [1, changed(UNSET_PROFILE, [7]), base],
      [2, changed(UNSET_PROFILE, [3, 30]), changed(UNSET_PROFILE, [3])],
    ];
    for (const [index, slotSpread, profile] of cases) {
      after.set(index, withSpread(slotSpread, profile));
      expect(after.get(index)).toEqual(withSpread(slotSpread, profile));
      expect([after.slotSpreadsKeptWhole, after.profilesKeptWhole]).toEqual([0, 0]);
    }
    // Five slots: whole, the profile beside it still a patch, and the other way round.
    after.set(0, withSpread(changed(spread, [0, 1, 2, 3, 4])));
    expect(after.get(0)).toEqual(withSpread(changed(spread, [0, 1, 2, 3, 4])));
    expect([after.slotSpreadsKeptWhole, after.profilesKeptWhole]).toEqual([1, 0]);
    after.set(0, withSpread(changed(spread, [9]), changed(base, [0, 1, 2, 3, 4])));
    expect(after.get(0)).toEqual(withSpread(changed(spread, [9]), changed(base, [0, 1, 2, 3, 4])));
    expect([after.slotSpreadsKeptWhole, after.profilesKeptWhole]).toEqual([0, 1]);
    // Set again without one: none kept, none read back.
    after.set(0, b(base));
    expect(after.get(0)).toStrictEqual(b(base));
    expect([after.slotSpreadsKeptWhole, after.profilesKeptWhole]).toEqual([0, 0]);
    // The table before is as it was.
    expect(before.get(0)).toEqual(withSpread(spread));
    expect(before.get(1)).toStrictEqual(b(base));
  });

  it('keeps a fold-sized profile and slot spread change in 16 bytes each, not a second profile and slot spread', () => {
    const before = new BaselineTable(1000);
    const after = new BaselineTable(1000, { profilesBesides: before });
    expect(before.bytes).toBe(1000 * (96 + 1 + 144 + 144));
    expect(after.bytes).toBe(1000 * (96 + 1 + 16 + 16));
    expect(() => new BaselineTable(999, { profilesBesides: before })).toThrow(
      /profiles are kept beside a table of 1000 entries, not 999/,
    );
    expect(() => new BaselineTable(1000, { profilesBesides: after })).toThrow(
      /beside a table that keeps its own whole/,
    );
  });

  it('refuses an index outside the table and a profile that is not 144 ASCII characters', () => {
    const table = new BaselineTable(2);
    const b: Baseline = { mean: 1, variance: 0, dataPoints: 1, lastWindow: 0, clockAtLastFold: 0 };
    expect(() => table.get(2)).toThrow(/index 2 is outside the table \(size 2\)/);
    expect(() => table.set(-1, b)).toThrow(RangeError);
    expect(() => table.set(0, { ...b, profile: 'AAA' })).toThrow(
      /profile of entry 0 is not 144 ASCII characters/,
    );
    expect(() => table.set(1, { ...b, profile: `${'A'.repeat(143)}é` })).toThrow(/not 144 ASCII characters/);
    // 143 characters in 144 UTF-8 bytes: the length alone says so.
    expect(() => table.set(1, { ...b, profile: `${'A'.repeat(142)}é` })).toThrow(/not 144 ASCII characters/);
    expect(table.has(0)).toBe(false);
  });

  it('refuses a slot spread that is not 144 ASCII characters, naming it, and keeps nothing of that baseline', () => {
    const table = new BaselineTable(2);
    const b: Baseline = { mean: 1, variance: 0, dataPoints: 1, lastWindow: 0, clockAtLastFold: 0 };
    const spread = encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s)));
    table.set(0, { ...b, slotSpread: spread });
    expect(() => table.set(0, { ...b, mean: 2, slotSpread: 'AAA' })).toThrow(
      'slotSpread of entry 0 is not 144 ASCII characters',
    );
    expect(() => table.set(1, { ...b, slotSpread: `${'A'.repeat(142)}é` })).toThrow(
      'slotSpread of entry 1 is not 144 ASCII characters',
    );
    expect(table.has(0)).toBe(false);
    expect(table.has(1)).toBe(false);
    // Beside another table: a profile that would be kept whole is not, when the slot spread is refused.
    const after = new BaselineTable(2, { profilesBesides: table });
    const profile = encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s + 1)));
    expect(() => after.set(0, { ...b, profile, slotSpread: 'AAA' })).toThrow(/slotSpread of entry 0/);
    expect(after.profilesKeptWhole).toBe(0);
    expect(after.has(0)).toBe(false);
  });
  it('refuses a size that is not a whole number, naming it', () => {
    expect(() => new BaselineTable(-1)).toThrow('table size must be a whole number, got -1');
    expect(() => new BaselineTable(2.5)).toThrow('table size must be a whole number, got 2.5');
    expect(new BaselineTable(0).size).toBe(0);
  });

  it('holds 385 bytes a source outside the heap: 96 of numbers, 1 of flags, 144 of profile, 144 of slot spread', () => {
    expect(new BaselineTable(1000).bytes).toBe(1000 * (12 * 8 + 1 + 144 + 144));
  });
  it('gives back a baseline with only the fields it was stored with (no optional field set to undefined)', () => {
    const table = new BaselineTable(1);
    const bare: Baseline = { mean: 3, variance: 2, dataPoints: 40, lastWindow: 7, clockAtLastFold: 9 };
    table.set(0, bare);
    expect(table.get(0)).toStrictEqual(bare);
    expect(Object.keys(table.get(0)!).sort()).toEqual(Object.keys(bare).sort());
  });
});
