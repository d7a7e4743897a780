import fc from 'fast-check';
import {
  baselineBefore,
  CorruptItemError,
  decodeEntry,
  encodeEntry,
  memberBytesAtMost,
} from '../../lambda/adapters/baseline-buckets';
import { encodeProfile, PROFILE_SLOTS, quantizeSlotMean, type Baseline } from '../../lambda/core';

// Any double (the longest texts JSON gives included), and whole numbers of any size.
const number = fc.oneof(
  fc.double({ noDefaultInfinity: true, noNaN: true }),
  fc.double({ min: 1e-7, max: 1e-5, noNaN: true }).map((x) => -x),
  fc.integer(),
  fc.integer({ min: 0, max: 2 ** 45 }),
  fc.constantFrom(0, -0, 1e20, 1e21 - 65536, -(1e21 - 65536), 2 ** 53, Number.MAX_VALUE, 5e-324),
);
const profile = fc
  .array(fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: Number.NaN }), {
    minLength: PROFILE_SLOTS,
    maxLength: PROFILE_SLOTS,
  })
  .map((values) => encodeProfile(values.map(quantizeSlotMean)));
const jobs = fc.array(
  fc
    .record({
      phase: fc.nat(167),
      size: number,
      occurrences: fc.nat(),
      last: number,
      period: fc.option(fc.constantFrom('daily' as const, 'weekly' as const, 'monthly' as const), {
        nil: undefined,
      }),
      // The spread of its runs and the runs it rests on, both or neither.
      spread: fc.option(
        fc.tuple(
          fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e12, noNaN: true })),
          fc.integer({ min: 1, max: 8 }),
        ),
        { nil: undefined },
      ),
    })
    .map(({ spread, period, ...job }) => ({
      ...job,
      ...(period === undefined ? {} : { period }),
      ...(spread === undefined ? {} : { spread: spread[0], spreadRuns: spread[1] }),
    })),
  { maxLength: 4 },
);
const baselineArb: fc.Arbitrary<Baseline> = fc
  .record({
    mean: number,
    variance: number,
    dataPoints: number,
    lastWindow: number,
    clockAtLastFold: number,
    lastAlertWindow: fc.option(number, { nil: undefined }),
    lastAlertCount: fc.option(number, { nil: undefined }),
    lastElevatedWindow: fc.option(number, { nil: undefined }),
    profile: fc.option(profile, { nil: undefined }),
    withinHour: fc.option(
      fc.record({
        variance: fc.double({ min: 0, max: 1e6, noNaN: true }),
        index: fc.double({ min: 0, max: 1e3, noNaN: true }),
        count: fc.nat(),
      }),
      {
        nil: undefined,
      },
    ),
    jobs: fc.option(jobs, { nil: undefined }),
    tailScore: fc.option(number, { nil: undefined }),
    slotSpread: fc.option(profile, { nil: undefined }),
  })
  .map(
    (b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as unknown as Baseline,
  );

/** `text` (or the unset profile) with the slots in `changed` set to another code. */
const withSlots = (text: string | undefined, changed: readonly number[]): string => {
  const chars = (text ?? 'A'.repeat(3 * PROFILE_SLOTS)).split('');
  for (const slot of changed) chars.splice(slot * 3, 3, 'x', 'Y', '9');
  return chars.join('');
};
const changedSlots = fc.uniqueArray(fc.nat(PROFILE_SLOTS - 1), { maxLength: PROFILE_SLOTS });

/**
 * `prev` as a fold leaves it: the current baseline with some of its profile's and slot spread's
 * slots (or all of them) different, or its jobs shared.
 */
const prevOf = (current: Baseline) =>
  fc.oneof(
    baselineArb,
    fc
      .tuple(baselineArb, changedSlots, changedSlots, fc.boolean())
      .map(([prev, changed, spreadChanged, sameJobs]) => ({
        ...prev,
        profile: withSlots(current.profile, changed),
        slotSpread: withSlots(current.slotSpread, spreadChanged),
        ...(sameJobs && current.jobs !== undefined ? { jobs: current.jobs } : {}),
      })),
  );

describe('memberBytesAtMost', () => {
  it('is never less than the bytes of the member the bucket holds, with or without prev', () => {
    fc.assert(
      fc.property(
        baselineArb.chain((current) =>
          fc.tuple(fc.constant(current), fc.option(prevOf(current), { nil: undefined })),
        ),
        fc.oneof(fc.string(), fc.constant('123456789012|10.0.0.1'), fc.constant('123456789012|2001:db8::1')),
        number,
        ([current, prev], key, expiresAt) => {
          const member = `${JSON.stringify(key)}:${JSON.stringify(encodeEntry(current, prev, expiresAt))}`;
          expect(memberBytesAtMost(key, current, prev, expiresAt)).toBeGreaterThanOrEqual(
            Buffer.byteLength(member, 'utf8'),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('is exact for an entry whose every field is there and at its longest, prev with a whole profile and slot spread', () => {
    const longest = -0.0000012345678901234567;
    const full: Baseline = {
      mean: longest,
      variance: longest,
      dataPoints: 123_456,
      lastWindow: 1_793_577_600_000,
      clockAtLastFold: 98_765,
      lastAlertWindow: 1_793_570_400_000,
      lastAlertCount: 4_321,
      lastElevatedWindow: 1_793_574_000_000,
      profile: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(1 + s / 7))),
      withinHour: { variance: quantizeSlotMean(0.5), index: quantizeSlotMean(2), count: 12_345 },
      jobs: [
        {
          phase: 167,
          period: 'weekly',
          size: longest,
          occurrences: 12,
          last: 1_793_577_600_000,
          // Never negative in a real entry; here only its length counts.
          spread: longest,
          spreadRuns: 8,
        },
      ],
      // Never negative in a real entry; here only its length counts.
      tailScore: longest,
      slotSpread: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(2 + s / 3))),
    };
    const prev: Baseline = {
      ...full,
      lastWindow: full.lastWindow - 3_600_000,
      // Every slot different: kept whole.
      profile: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(100 + s))),
      jobs: [{ ...full.jobs![0]!, occurrences: 11 }],
      slotSpread: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(200 + s))),
    };
    const key = '123456789012|10.123.45.67';
    const exact = Buffer.byteLength(
      `${JSON.stringify(key)}:${JSON.stringify(encodeEntry(full, prev, 1_801_353_600))}`,
    );
    expect(String(longest)).toHaveLength(25);
    expect(memberBytesAtMost(key, full, prev, 1_801_353_600)).toBe(exact);
    // Both texts whole in prev, as the bound counts them.
    const stored = encodeEntry(full, prev, 1_801_353_600);
    expect((stored[8] as unknown[])[7]).toBe(prev.profile);
    expect((stored[8] as unknown[])[11]).toBe(prev.slotSpread);
  });

  it('is close to a steady-state entry with rhythm state: under 210 bytes more (a patched prev profile, counted whole; absent trailing fields as nulls), under 320 with a slot spread', () => {
    const prev: Baseline = {
      mean: 3.4117647058823533,
      variance: 1.2345678901234567,
      dataPoints: 40,
      lastWindow: 1_793_577_600_000,
      clockAtLastFold: 40,
      profile: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(1 + s / 7))),
      withinHour: { variance: quantizeSlotMean(0.5), index: quantizeSlotMean(2), count: 12 },
    };
    const current: Baseline = {
      ...prev,
      mean: 3.4571428571428573,
      variance: 1.2201587301587302,
      dataPoints: 41,
      lastWindow: prev.lastWindow + 3_600_000,
      clockAtLastFold: 41,
      profile: `${prev.profile!.slice(0, 30)}Zzz${prev.profile!.slice(33)}`,
    };
    const key = '123456789012|10.123.45.67';
    const exact = Buffer.byteLength(
      `${JSON.stringify(key)}:${JSON.stringify(encodeEntry(current, prev, 1_801_353_600))}`,
    );
    const bound = memberBytesAtMost(key, current, prev, 1_801_353_600);
    expect(bound).toBeGreaterThanOrEqual(exact);
    expect(bound - exact).toBeLessThan(210);
    // With a slot spread changed in the same slot: prev keeps it as a patch, which the bound
    // counts whole as it does the profile's.
    const spread = encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(0.5 + s)));
    const prevSpread: Baseline = { ...prev, slotSpread: spread };
    const currentSpread: Baseline = {
      ...current,
      slotSpread: `${spread.slice(0, 30)}Zzz${spread.slice(33)}`,
    };
    const entry = encodeEntry(currentSpread, prevSpread, 1_801_353_600);
    expect((entry[8] as unknown[])[11]).toEqual([10, spread.slice(30, 33)]);
    const exactSpread = Buffer.byteLength(`${JSON.stringify(key)}:${JSON.stringify(entry)}`);
    const boundSpread = memberBytesAtMost(key, currentSpread, prevSpread, 1_801_353_600);
    expect(boundSpread).toBeGreaterThanOrEqual(exactSpread);
    expect(boundSpread - exactSpread).toBeLessThan(320);
  });
});

describe('bucket entries: the slot spread', () => {
  const KEY = 'BASELINES#3/123456789012|10.0.0.1';
  const HOUR = 3_600_000;
  const EXPIRES = 1_801_353_600;
  /** A slot spread with a few unset slots, as one folded in some slots only is. */
  const spread = encodeProfile(
    Array.from({ length: PROFILE_SLOTS }, (_, s) => (s % 7 === 3 ? Number.NaN : quantizeSlotMean(0.25 + s))),
  );
  const prev: Baseline = {
    mean: 3.5,
    variance: 1.25,
    dataPoints: 40,
    lastWindow: 1_793_577_600_000,
    clockAtLastFold: 40,
    profile: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(1 + s / 7))),
    tailScore: 0.0125,
    slotSpread: spread,
  };
  /** `prev` folded once more, its slot spread with `changed` slots different. */
  const folded = (changed: readonly number[]): Baseline => ({
    ...prev,
    mean: 3.75,
    dataPoints: 41,
    lastWindow: prev.lastWindow + HOUR,
    clockAtLastFold: 41,
    slotSpread: withSlots(spread, changed),
  });
  /** The entry as a bucket's `records` gives it back: through JSON. */
  const stored = (baseline: Baseline, before: Baseline | undefined): unknown[] =>
    JSON.parse(JSON.stringify(encodeEntry(baseline, before, EXPIRES))) as unknown[];

  it('keeps the slot spread last in the entry and reads it back exactly, prev holding the one slot a fold changed', () => {
    const current = folded([10]);
    const entry = stored(current, prev);
    expect(entry).toHaveLength(14);
    expect(entry[13]).toBe(current.slotSpread);
    expect((entry[8] as unknown[])[11]).toEqual([10, spread.slice(30, 33)]);
    expect(decodeEntry(entry, KEY)).toEqual({ baseline: current, prev, expiresAt: EXPIRES });
    // A retry of the entry's window starts from prev, slot spread and all.
    expect(baselineBefore(entry, current.lastWindow, current.lastWindow, KEY)).toEqual(prev);
    expect(baselineBefore(entry, undefined, current.lastWindow, KEY)).toEqual(current);
  });

  it('keeps prev whole beyond 16 changed slots, and patches up to 16', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => i * 3);
    const patched = stored(folded(sixteen), prev);
    expect((patched[8] as unknown[])[11]).toEqual(
      sixteen.flatMap((s) => [s, spread.slice(3 * s, 3 * s + 3)]),
    );
    expect(decodeEntry(patched, KEY).prev).toEqual(prev);
    const whole = stored(folded([...sixteen, 47]), prev);
    expect((whole[8] as unknown[])[11]).toBe(spread);
    expect(decodeEntry(whole, KEY).prev).toEqual(prev);
  });

  it('patches an unchanged slot spread with one slot, and keeps a prev without one as none', () => {
    const same = stored({ ...prev, lastWindow: prev.lastWindow + HOUR }, prev);
    expect((same[8] as unknown[])[11]).toEqual([0, spread.slice(0, 3)]);
    expect(decodeEntry(same, KEY).prev).toEqual(prev);
    // The fold that first made a slot spread: prev had none (its trailing null left out).
    const { slotSpread: _, ...before } = prev;
    const first = stored(folded([5]), before);
    expect(first[8] as unknown[]).toHaveLength(11);
    expect(decodeEntry(first, KEY).prev).toStrictEqual(before);
    // A prev with a slot spread beside an entry without one: kept whole.
    const { slotSpread: __, ...current } = folded([]);
    const dropped = stored(current, prev);
    expect((dropped[8] as unknown[])[11]).toBe(spread);
    expect(decodeEntry(dropped, KEY)).toEqual({ baseline: current, prev, expiresAt: EXPIRES });
  });

  it('reads an entry written before the slot spread (13 fields, prev 11) as having none', () => {
    const { slotSpread: _, ...current } = folded([]);
    const { slotSpread: __, ...before } = prev;
    const old = stored(current, before);
    expect(old).toHaveLength(13);
    expect((old[8] as unknown[]).length).toBe(11);
    const decoded = decodeEntry(old, KEY);
    expect(decoded.baseline).toStrictEqual(current);
    expect(decoded.prev).toStrictEqual(before);
    expect(decoded.baseline).not.toHaveProperty('slotSpread');
  });

  it.each([
    ['too short', 'AAAA'],
    ['not base64url', `${'A'.repeat(143)}=`],
    ['not text', 12],
    ['a patch (only prev holds those)', [3, 'AAA']],
  ])('refuses an entry whose slot spread is %s, naming the field', (_, bad) => {
    const entry = stored(folded([10]), prev);
    entry[13] = bad;
    expect(() => decodeEntry(entry, KEY)).toThrow(CorruptItemError);
    expect(() => decodeEntry(entry, KEY)).toThrow(
      `item ${KEY}: slotSpread is not a 144-character base64url slot spread`,
    );
  });

  it.each([
    ['a slot outside the 48', [48, 'AAA'], 'slotSpread patch does not fit the slotSpread'],
    ['a code of two characters', [4, 'AA'], 'slotSpread patch does not fit the slotSpread'],
    ['an odd length', [4, 'AAA', 5], 'slotSpread patch does not fit the slotSpread'],
    ['empty', [], 'slotSpread patch does not fit the slotSpread'],
    ['a code not base64url', [4, 'A=A'], 'slotSpread patch is not base64url'],
    ['whole but malformed', 'AAAA', 'slotSpread is not a 144-character base64url slot spread'],
  ])("refuses prev's slot spread that is %s, naming the field", (_, bad, problem) => {
    const entry = stored(folded([10]), prev);
    (entry[8] as unknown[])[11] = bad;
    expect(() => decodeEntry(entry, KEY)).toThrow(`item ${KEY} prev: ${problem}`);
    // The entry's own baseline does not need prev.
    expect(baselineBefore(entry, undefined, prev.lastWindow, KEY)).toEqual(folded([10]));
  });

  it("refuses prev's slot spread patch beside an entry without a slot spread", () => {
    const entry = stored(folded([10]), prev);
    entry.length = 13;
    expect(() => decodeEntry(entry, KEY)).toThrow(
      `item ${KEY} prev: slotSpread patch does not fit the slotSpread`,
    );
  });
});

describe("bucket entries: a job's spread", () => {
  const JOB_KEY = '123456789012|10.0.0.9';
  const base: Baseline = {
    mean: 4,
    variance: 6,
    dataPoints: 400,
    lastWindow: 1_793_577_600_000,
    clockAtLastFold: 400,
  };
  const job = { phase: 74, period: 'weekly' as const, size: 140, occurrences: 4, last: 1_793_577_600_000 };
  const stored = (baseline: Baseline): unknown[] =>
    JSON.parse(JSON.stringify(encodeEntry(baseline, undefined, 1_801_353_600))) as unknown[];

  it('keeps a job with the spread of its runs as seven numbers and reads it back exactly', () => {
    const withSpread: Baseline = { ...base, jobs: [{ ...job, spread: 1834, spreadRuns: 3 }] };
    const entry = stored(withSpread);
    expect(entry[11]).toEqual([[74, 2, 140, 4, 1_793_577_600_000, 1834, 3]]);
    expect(decodeEntry(entry, JOB_KEY).baseline).toStrictEqual(withSpread);
  });

  it('keeps a monthly job as period 3', () => {
    const monthly: Baseline = { ...base, jobs: [{ ...job, period: 'monthly', spread: 90, spreadRuns: 2 }] };
    const entry = stored(monthly);
    expect(entry[11]).toEqual([[74, 3, 140, 4, 1_793_577_600_000, 90, 2]]);
    expect(decodeEntry(entry, JOB_KEY).baseline).toStrictEqual(monthly);
  });

  it('reads a job written before spreads were (five numbers) as having none', () => {
    const entry = stored({ ...base, jobs: [job] });
    expect(entry[11]).toEqual([[74, 2, 140, 4, 1_793_577_600_000]]);
    const decoded = decodeEntry(entry, JOB_KEY).baseline.jobs![0]!;
    expect(decoded).toStrictEqual(job);
    expect(decoded).not.toHaveProperty('spread');
  });

  it.each([
    ['six numbers (a spread without its runs)', [74, 2, 140, 4, 1_793_577_600_000, 1834], 'a job is not'],
    ['a negative spread', [74, 2, 140, 4, 1_793_577_600_000, -1, 3], "a job's spread must be at least 0"],
    [
      'no runs',
      [74, 2, 140, 4, 1_793_577_600_000, 1834, 0],
      "a job's spread must be at least 0 over 1-8 runs",
    ],
    [
      'more runs than it keeps',
      [74, 2, 140, 4, 1_793_577_600_000, 1834, 9],
      'over 1-8 runs (got 1834 over 9)',
    ],
    ['runs that are no whole number', [74, 2, 140, 4, 1_793_577_600_000, 1834, 2.5], 'over 1-8 runs'],
  ])('refuses a job with %s, naming what is wrong', (_, bad, problem) => {
    const entry = stored({ ...base, jobs: [job] });
    entry[11] = [bad];
    expect(() => decodeEntry(entry, JOB_KEY)).toThrow(CorruptItemError);
    expect(() => decodeEntry(entry, JOB_KEY)).toThrow(problem);
  });
});
