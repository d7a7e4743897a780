/**
 * The replay's state file: what a run continues from is checked for consistency, not only shape,
 * because a watermark or window that is off makes every later window come out empty or wrong.
 */
import { encodeProfile, PROFILE_SLOTS, quantizeSlotMean, resolveDetectorConfig } from '../../lambda/core';
import { MemoryBaselineStore, StateFileError } from '../../lambda/replay/memory-store';

const config = resolveDetectorConfig({});
const HOUR = 3_600_000;
const W = Date.UTC(2026, 9, 5, 12);
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A source key: 10.0.0.5 in account 123456789012. */
const SOURCE = '123456789012|10.0.0.5';
const baseline = {
  mean: 4,
  variance: 2,
  dataPoints: 30,
  lastWindow: iso(W - 2 * HOUR),
  clockAtLastFold: 28,
  lastAlertWindow: iso(W - 5 * HOUR),
  lastAlertCount: 17,
  lastElevatedWindow: iso(W - 3 * HOUR),
};
const valid = {
  version: 1,
  preset: 'recommended',
  windowMinutes: 60,
  sourceKeys: 'account|address',
  rhythm: { timezone: 'UTC', weekendDays: ['Sat', 'Sun'] },
  clock: 30,
  watermark: iso(W),
  baselines: { [SOURCE]: baseline },
};

const load = (state: unknown) => MemoryBaselineStore.fromJson(JSON.stringify(state), 's.json', config);

describe('MemoryBaselineStore.fromJson consistency checks', () => {
  it('loads a consistent state, and writes it back the same', () => {
    const store = load(valid);
    expect(store.watermark).toBe(W);
    expect(store.toJSON(config)).toEqual(valid);
    // No watermark and no baselines: a state saved before any window, like no state at all.
    expect(load({ ...valid, clock: 0, watermark: null, baselines: {} }).watermark).toBeUndefined();
  });

  it('keeps the SKIPDATA carry past the watermark, and writes none when it does not reach past it', () => {
    // Prepare: a carry two windows past the watermark
    const carrying = { ...valid, skipDataThrough: iso(W + 2 * HOUR) };

    // Act
    const store = load(carrying);

    // Assess: read and written back as it was; a carry the watermark has passed is not written
    expect(store.skipDataThrough).toBe(W + 2 * HOUR);
    expect(store.toJSON(config)).toEqual(carrying);
    store.watermark = W + 2 * HOUR;
    expect(store.toJSON(config)).not.toHaveProperty('skipDataThrough');
  });

  it("keeps a source's tail score, and reads a file from before it (no tailScore) as no evidence", () => {
    const scored = { ...valid, baselines: { [SOURCE]: { ...baseline, tailScore: 0.0213 } } };
    const store = load(scored);
    expect(store.baselines.get(SOURCE)!.tailScore).toBe(0.0213);
    expect(store.toJSON(config)).toEqual(scored);
    expect(load(valid).baselines.get(SOURCE)!.tailScore).toBeUndefined();
  });

  it.each([
    ['below 0', -0.01],
    ['above what a mean of capped scores can be', 5],
    ['not a number', '0.02'],
  ])('refuses a tail score %s, naming the field', (_, tailScore) => {
    expect(() => load({ ...valid, baselines: { [SOURCE]: { ...baseline, tailScore } } })).toThrow(
      /"s\.json"\.baselines\.123456789012\|10\.0\.0\.5\.tailScore/,
    );
  });

  it("keeps a source's slot spread exactly, and reads a file from before it (no slotSpread) as none", () => {
    // Unset slots (NaN) beside set ones, as a spread folded in a few slots only is.
    const slotSpread = encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, s) => (s % 5 === 0 ? Number.NaN : quantizeSlotMean(s / 4))),
    );
    const spread = { ...valid, baselines: { [SOURCE]: { ...baseline, slotSpread } } };
    const store = load(spread);
    expect(store.baselines.get(SOURCE)!.slotSpread).toBe(slotSpread);
    expect(store.toJSON(config)).toEqual(spread);
    expect(load(valid).baselines.get(SOURCE)!).not.toHaveProperty('slotSpread');
    expect(store.toJSON(config).baselines[SOURCE]).toHaveProperty('slotSpread', slotSpread);
  });

  it.each([
    ['too short', 'AAAA', 'must be a 144-character base64url slot spread'],
    [
      'of 144 characters not all base64url',
      `${'A'.repeat(143)}+`,
      'must be a 144-character base64url slot spread',
    ],
    ['not text', 12, 'Invalid input: expected string, received number'],
  ])('refuses a slot spread %s, naming the field', (_, slotSpread, problem) => {
    const bad = JSON.stringify({ ...valid, baselines: { [SOURCE]: { ...baseline, slotSpread } } });
    expect(() => MemoryBaselineStore.fromJson(bad, 's.json', config)).toThrow(StateFileError);
    expect(() => MemoryBaselineStore.fromJson(bad, 's.json', config)).toThrow(
      `"s.json".baselines.123456789012|10.0.0.5.slotSpread: ${problem}`,
    );
  });

  it.each([
    [
      'a watermark off the window grid',
      { ...valid, watermark: iso(W + 30 * 60_000) },
      '"s.json".watermark',
      'not aligned to 60-minute windows',
    ],
    [
      'a lastWindow off the grid',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastWindow: iso(W - HOUR + 1000) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastWindow',
      'not aligned to 60-minute windows',
    ],
    [
      'a lastWindow after the watermark',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastWindow: iso(W + HOUR) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastWindow',
      'after the watermark 2026-10-05T12:00:00Z',
    ],
    [
      'a lastAlertWindow off the grid',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastAlertWindow: iso(W - 5 * HOUR + 60_000) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastAlertWindow',
      'not aligned to 60-minute windows',
    ],
    [
      'a lastAlertWindow after the watermark',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastAlertWindow: iso(W + 3 * HOUR) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastAlertWindow',
      'after the watermark',
    ],
    [
      'a lastAlertWindow after the window last folded in',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastAlertWindow: iso(W - HOUR) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastAlertWindow',
      "after the baseline's lastWindow 2026-10-05T10:00:00Z",
    ],
    [
      'a window carrying the cooldown on from before its alert',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastElevatedWindow: iso(W - 6 * HOUR) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastElevatedWindow',
      'must be after lastAlertWindow 2026-10-05T07:00:00Z',
    ],
    [
      'a window carrying the cooldown on that was never folded in',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastElevatedWindow: iso(W - HOUR) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastElevatedWindow',
      "not after the baseline's lastWindow 2026-10-05T10:00:00Z",
    ],
    [
      'a window carrying the cooldown on off the grid',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastElevatedWindow: iso(W - 3 * HOUR + 60_000) } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastElevatedWindow',
      'not aligned to 60-minute windows',
    ],
    [
      'a window carrying a cooldown on without its alert',
      {
        ...valid,
        baselines: {
          [SOURCE]: { ...baseline, lastAlertWindow: undefined, lastAlertCount: undefined },
        },
      },
      '"s.json".baselines.123456789012|10.0.0.5.lastElevatedWindow',
      'without lastAlertWindow',
    ],
    [
      'an alert count without its window',
      { ...valid, baselines: { [SOURCE]: { ...baseline, lastAlertWindow: undefined } } },
      '"s.json".baselines.123456789012|10.0.0.5.lastAlertCount',
      'without lastAlertWindow',
    ],
    [
      'a fold ahead of the clock',
      { ...valid, baselines: { [SOURCE]: { ...baseline, clockAtLastFold: 31 } } },
      '"s.json".baselines.123456789012|10.0.0.5.clockAtLastFold',
      'after the clock (30)',
    ],
    [
      'a SKIPDATA carry off the window grid',
      { ...valid, skipDataThrough: iso(W + HOUR + 60_000) },
      '"s.json".skipDataThrough',
      'not aligned to 60-minute windows',
    ],
    [
      'a SKIPDATA carry the watermark has passed',
      { ...valid, skipDataThrough: iso(W) },
      '"s.json".skipDataThrough',
      'not after the watermark 2026-10-05T12:00:00Z',
    ],
    [
      'a SKIPDATA carry further than one record reaches',
      { ...valid, skipDataThrough: iso(W + 49 * HOUR) },
      '"s.json".skipDataThrough',
      'more than 48 windows after the watermark',
    ],
    [
      'a SKIPDATA carry without a watermark',
      { ...valid, clock: 0, watermark: null, baselines: {}, skipDataThrough: iso(W) },
      '"s.json".skipDataThrough',
      'the watermark is null',
    ],
    [
      'baselines without a watermark',
      { ...valid, watermark: null },
      '"s.json".watermark',
      'null, but the file holds baselines',
    ],
    [
      'a baseline keyed by something that is not a source key',
      { ...valid, baselines: { 'db-server': baseline } },
      '"s.json".baselines.db-server',
      'not a source key',
    ],
    [
      'a baseline keyed by an account and something that is not an IP address',
      { ...valid, baselines: { '123456789012|db-server': baseline } },
      '"s.json".baselines.123456789012|db-server',
      '"db-server" is not an IP address',
    ],
    [
      'a file from before sources were keyed by account (no sourceKeys, keys that are addresses)',
      { ...valid, sourceKeys: undefined, baselines: { '10.0.0.5': baseline } },
      'state file "s.json" was written before sources were keyed by account and address',
      'its 1 baselines are keyed by address alone and cannot be used. Relearn them',
    ],
    [
      'a sourceKeys of another format',
      { ...valid, sourceKeys: 'address' },
      '"s.json".sourceKeys',
      'account|address',
    ],
  ])('refuses %s, naming the field', (_, state, field, problem) => {
    let error: unknown;
    try {
      load(state);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StateFileError);
    expect((error as Error).message).toContain(field);
    expect((error as Error).message).toContain(problem);
  });
});
