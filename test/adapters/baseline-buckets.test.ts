import fc from 'fast-check';
import { encodeEntry, memberBytesAtMost } from '../../lambda/adapters/baseline-buckets';
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
  fc.record({
    phase: fc.nat(167),
    size: number,
    occurrences: fc.nat(),
    last: number,
    period: fc.option(fc.constantFrom('daily' as const, 'weekly' as const), { nil: undefined }),
  }),
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
  })
  .map(
    (b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as unknown as Baseline,
  );

/** `prev` as a fold leaves it: the current baseline with some of its profile's slots (or all of it) different, or its jobs shared. */
const prevOf = (current: Baseline) =>
  fc.oneof(
    baselineArb,
    fc
      .tuple(
        baselineArb,
        fc.uniqueArray(fc.nat(PROFILE_SLOTS - 1), { maxLength: PROFILE_SLOTS }),
        fc.boolean(),
      )
      .map(([prev, changed, sameJobs]) => {
        const chars = (current.profile ?? 'A'.repeat(3 * PROFILE_SLOTS)).split('');
        for (const slot of changed) chars.splice(slot * 3, 3, 'x', 'Y', '9');
        return {
          ...prev,
          profile: chars.join(''),
          ...(sameJobs && current.jobs !== undefined ? { jobs: current.jobs } : {}),
        };
      }),
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

  it('is exact for an entry whose every field is there and at its longest, prev with a whole profile', () => {
    const longest = -0.0000012345678901234567;
    const full: Baseline = {
      mean: longest,
      variance: longest,
      dataPoints: 123_456,
      lastWindow: 1_793_577_600_000,
      clockAtLastFold: 98_765,
      lastAlertWindow: 1_793_570_400_000,
      lastAlertCount: 4_321,
      profile: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(1 + s / 7))),
      withinHour: { variance: quantizeSlotMean(0.5), index: quantizeSlotMean(2), count: 12_345 },
      jobs: [{ phase: 167, period: 'weekly', size: longest, occurrences: 12, last: 1_793_577_600_000 }],
      // Never negative in a real entry; here only its length counts.
      tailScore: longest,
    };
    const prev: Baseline = {
      ...full,
      lastWindow: full.lastWindow - 3_600_000,
      // Every slot different: kept whole.
      profile: encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(100 + s))),
      jobs: [{ ...full.jobs![0]!, occurrences: 11 }],
    };
    const key = '123456789012|10.123.45.67';
    const exact = Buffer.byteLength(
      `${JSON.stringify(key)}:${JSON.stringify(encodeEntry(full, prev, 1_801_353_600))}`,
    );
    expect(String(longest)).toHaveLength(25);
    expect(memberBytesAtMost(key, full, prev, 1_801_353_600)).toBe(exact);
  });

  it('is close to a steady-state entry with rhythm state: under 200 bytes more (a patched prev profile, counted whole)', () => {
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
    expect(bound - exact).toBeLessThan(200);
  });
});
