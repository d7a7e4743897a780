/**
 * Window arithmetic. Windows are aligned to UTC (start is a multiple of the window length since
 * the epoch) and identified by their start time in epoch milliseconds.
 */
import type { DetectorConfig } from './config';

/** The window length in ms. (Here rather than in config.ts, so the replay's scan workers load without the schema library.) */
export const windowMs = (config: Pick<DetectorConfig, 'windowMinutes'>): number =>
  config.windowMinutes * 60_000;

type WindowConfig = Pick<DetectorConfig, 'windowMinutes' | 'lagMinutes' | 'maxCatchUpWindows'>;

export interface Window {
  start: number;
  end: number;
}

export function alignToWindow(timeMs: number, config: Pick<DetectorConfig, 'windowMinutes'>): number {
  const length = windowMs(config);
  return Math.floor(timeMs / length) * length;
}

export function windowAt(start: number, config: Pick<DetectorConfig, 'windowMinutes'>): Window {
  return { start, end: start + windowMs(config) };
}

/** The newest window that ended at least `lagMinutes` before `now`. */
export function latestClosedWindow(nowMs: number, config: WindowConfig): Window {
  const end = alignToWindow(nowMs - config.lagMinutes * 60_000, config);
  return windowAt(end - windowMs(config), config);
}

export interface DueWindows {
  /** Windows to evaluate now, oldest first. */
  windows: Window[];
  /** Due windows left for later runs because of `maxCatchUpWindows`. */
  deferred: number;
}

/**
 * The windows a run at `now` must evaluate, given the start of the last committed window
 * (the watermark). Without a watermark only the latest closed window is due: history is
 * bootstrap's job, not catch-up's.
 */
export function dueWindows(nowMs: number, watermark: number | undefined, config: WindowConfig): DueWindows {
  const latest = latestClosedWindow(nowMs, config);
  if (watermark === undefined) return { windows: [latest], deferred: 0 };
  const length = windowMs(config);
  if (watermark % length !== 0) {
    throw new RangeError(
      `watermark ${new Date(watermark).toISOString()} is not aligned to ${config.windowMinutes}-minute windows`,
    );
  }
  const total = Math.max(0, (latest.start - watermark) / length);
  const count = Math.min(total, config.maxCatchUpWindows);
  const windows: Window[] = [];
  for (let i = 1; i <= count; i += 1) windows.push(windowAt(watermark + i * length, config));
  return { windows, deferred: total - count };
}

/** Every window start in [from, to), aligned. */
export function windowsBetween(
  fromMs: number,
  toMs: number,
  config: Pick<DetectorConfig, 'windowMinutes'>,
): number[] {
  const length = windowMs(config);
  const starts: number[] = [];
  for (let start = Math.ceil(fromMs / length) * length; start + length <= toMs; start += length)
    starts.push(start);
  return starts;
}

export const isoTime = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * Windows a SKIPDATA record makes incomplete: its [start, end] capture interval (epoch seconds)
 * may have lost records anywhere in it, so every window it overlaps is missing records, from the
 * window holding `start` to the window holding `end` (`end` before `start`: the start's window
 * only). Bounded to MAX_SKIPDATA_WINDOWS so a corrupt end time cannot mark years of windows; an
 * aggregation interval is at most 10 minutes. The one rule for the replay and the Lambda.
 */
export function skipDataWindows(
  startSeconds: number,
  endSeconds: number,
  config: Pick<DetectorConfig, 'windowMinutes'>,
): number[] {
  const length = windowMs(config);
  const first = alignToWindow(startSeconds * 1000, config);
  const last = endSeconds >= startSeconds ? alignToWindow(endSeconds * 1000, config) : first;
  const windows: number[] = [];
  for (let w = first; w <= last && windows.length < MAX_SKIPDATA_WINDOWS; w += length) windows.push(w);
  return windows;
}

/** The most windows one SKIPDATA record can mark incomplete (see skipDataWindows). */
export const MAX_SKIPDATA_WINDOWS = 48;
