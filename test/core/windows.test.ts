import { resolveDetectorConfig } from '../../lambda/core/config';
import {
  alignToWindow,
  dueWindows,
  isoTime,
  latestClosedWindow,
  MAX_SKIPDATA_WINDOWS,
  skipDataWindows,
  windowsBetween,
} from '../../lambda/core/windows';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 2, 1, 12); // 2026-03-01T12:00:00Z
const hourly = resolveDetectorConfig({});

describe('alignToWindow', () => {
  it.each([
    [60, T0, T0],
    [60, T0 + 59 * MINUTE + 59_999, T0],
    [60, T0 - 1, T0 - HOUR],
    [15, T0 + 14 * MINUTE, T0],
    [15, T0 + 16 * MINUTE, T0 + 15 * MINUTE],
    [1440, T0, Date.UTC(2026, 2, 1)],
  ])('%i-minute windows: %i -> %i', (windowMinutes, time, start) => {
    expect(alignToWindow(time, resolveDetectorConfig({ windowMinutes }))).toBe(start);
  });
});

describe('latestClosedWindow (lag)', () => {
  it.each([
    // A run at 12:05 with a 10-minute lag: 11:00-12:00 ended only 5 minutes ago, so 10:00-11:00.
    [T0 + 5 * MINUTE, 10, T0 - 2 * HOUR],
    // At exactly 12:10 the 11:00-12:00 window has aged the full lag.
    [T0 + 10 * MINUTE, 10, T0 - HOUR],
    [T0 + 59 * MINUTE, 10, T0 - HOUR],
    [T0, 0, T0 - HOUR],
  ])('now %i, lag %i min -> window starting %i', (now, lagMinutes, start) => {
    const window = latestClosedWindow(now, resolveDetectorConfig({ lagMinutes }));
    expect(window).toEqual({ start, end: start + HOUR });
  });
});

describe('dueWindows', () => {
  // Two minutes past the default lag, as the schedule runs: latest closed window 11:00-12:00.
  const now = T0 + (hourly.lagMinutes + 2) * MINUTE;

  it("without a watermark is only the latest closed window (history is bootstrap's job)", () => {
    expect(dueWindows(now, undefined, hourly)).toEqual({
      windows: [{ start: T0 - HOUR, end: T0 }],
      deferred: 0,
    });
  });

  it('is empty when the watermark is the latest closed window (a duplicate run)', () => {
    expect(dueWindows(now, T0 - HOUR, hourly)).toEqual({ windows: [], deferred: 0 });
  });

  it('is empty when the watermark is ahead of the clock', () => {
    expect(dueWindows(now, T0 + 5 * HOUR, hourly)).toEqual({ windows: [], deferred: 0 });
  });

  it('catches up missed windows oldest first', () => {
    const due = dueWindows(now, T0 - 4 * HOUR, hourly);
    expect(due.windows.map((w) => w.start)).toEqual([T0 - 3 * HOUR, T0 - 2 * HOUR, T0 - HOUR]);
    expect(due.deferred).toBe(0);
  });

  it('bounds the catch-up by maxCatchUpWindows and reports the rest as deferred', () => {
    const due = dueWindows(now, T0 - 31 * HOUR, hourly);
    expect(due.windows).toHaveLength(24);
    expect(due.windows[0]?.start).toBe(T0 - 30 * HOUR);
    expect(due.windows[23]?.start).toBe(T0 - 7 * HOUR);
    expect(due.deferred).toBe(6);
    const small = dueWindows(now, T0 - 31 * HOUR, resolveDetectorConfig({ maxCatchUpWindows: 2 }));
    expect(small.windows.map((w) => w.start)).toEqual([T0 - 30 * HOUR, T0 - 29 * HOUR]);
    expect(small.deferred).toBe(28);
  });

  it.each([T0 - HOUR + 1, T0 - 30 * MINUTE])(
    'rejects a watermark not aligned to the windows (%i)',
    (watermark) => {
      expect(() => dueWindows(now, watermark, hourly)).toThrow(RangeError);
      expect(() => dueWindows(now, watermark, hourly)).toThrow('is not aligned to 60-minute windows');
    },
  );

  it('accepts a 15-minute watermark with 15-minute windows', () => {
    const quarter = resolveDetectorConfig({ windowMinutes: 15, lagMinutes: 10 });
    const due = dueWindows(T0 + 12 * MINUTE, T0 - 45 * MINUTE, quarter);
    // Latest closed: ends at align(12:02) = 12:00, so 11:45-12:00; due after 11:15: 11:30, 11:45.
    expect(due.windows.map((w) => w.start)).toEqual([T0 - 30 * MINUTE, T0 - 15 * MINUTE]);
  });
});

describe('windowsBetween and isoTime', () => {
  it('lists the whole aligned windows inside [from, to)', () => {
    expect(windowsBetween(T0 - 90 * MINUTE, T0 + HOUR, hourly)).toEqual([T0 - HOUR, T0]);
    expect(windowsBetween(T0, T0 + 59 * MINUTE, hourly)).toEqual([]);
  });

  it('prints UTC without milliseconds', () => {
    expect(isoTime(T0)).toBe('2026-03-01T12:00:00Z');
    expect(isoTime(T0 + 1)).toBe('2026-03-01T12:00:00.001Z');
  });
});

describe('skipDataWindows', () => {
  const S = T0 / 1000;
  it("marks every window the [start, end] interval overlaps, the end's window included", () => {
    // 12:55 to 13:05 straddles the 13:00 boundary: both hours may have lost records.
    expect(skipDataWindows(S + 55 * 60, S + 65 * 60, hourly)).toEqual([T0, T0 + HOUR]);
    // Ending exactly on the boundary still touches the next window (the interval is closed).
    expect(skipDataWindows(S + 50 * 60, S + 60 * 60, hourly)).toEqual([T0, T0 + HOUR]);
    expect(skipDataWindows(S + 10 * 60, S + 20 * 60, hourly)).toEqual([T0]);
  });

  it('takes only the start window when the end is before the start, and is bounded', () => {
    expect(skipDataWindows(S + 10 * 60, S, hourly)).toEqual([T0]);
    // An end in an earlier window: still the start's window, not none.
    expect(skipDataWindows(S + 10 * 60, S - 2 * 3600, hourly)).toEqual([T0]);
    const marked = skipDataWindows(S, S + 365 * 86_400, hourly);
    expect(marked).toHaveLength(MAX_SKIPDATA_WINDOWS);
    expect(marked[0]).toBe(T0);
  });
});
