/**
 * Which start times are plausible, given the rest of the data. One row with a start of
 * 999999999999999, a millisecond timestamp or a year-2100 time among records of 2026 would make
 * the replay evaluate every window in between (hundreds of millions of them: it hung until memory
 * ran out). Such a row is a malformed line instead, with a reason, by two rules:
 *
 * - a start past MAX_START_SECONDS (2106-02-07, the end of 32-bit epoch seconds) is no time in
 *   epoch seconds at all (the scanner applies this to every row from the start);
 * - a start outside the band around the bulk of the data: the 1st to the 99th percentile of all
 *   rows' start times, widened on each side by that spread or by a year, whichever is more. Data
 *   that is spread out (years of exports) keeps all of it; a few rows far from everything else
 *   do not count. A resumed run's state weighs in as data (anchorAtState). Otherwise, with fewer
 *   than a hundred rows the percentiles are the extremes, and nothing is cut: the window limit
 *   (`--max-windows`) still bounds the run.
 *
 * Percentiles come from the scanners' start histograms (START_BUCKET_BITS: buckets of 65,536 s,
 * about 18 hours), exact row counts from every path; the band is aligned to whole windows.
 */
import { isoTime } from '../core/windows';
import { MAX_START_SECONDS, type StartBand } from './flow-line-scanner';
import { START_BUCKET_BITS } from './line-kernel';

const BUCKET_SECONDS = 2 ** START_BUCKET_BITS;
/** The band reaches at least this far beyond the 1st and 99th percentiles (a year and a day). */
export const MIN_START_MARGIN_SECONDS = 366 * 86_400;
/** The share of rows each tail may hold and still be cut when it lies outside the band. */
const TAIL_SHARE = 0.01;

/** The weight of a resumed run's state in the band: at least this many rows (see anchorAtState). */
const STATE_ANCHOR_ROWS = 100;

/**
 * A resumed run's state file is data too: its watermark goes into the histogram weighing as much
 * as this run's rows, and at least as much as a hundred. A small input (one hourly delivery) is
 * otherwise too few rows for percentiles, and one corrupt start among them (the year 2100) made
 * the run evaluate every window up to it and save that far watermark, so every later run skipped
 * its data as already evaluated. Data that really is far from the state (most of the input) still
 * spans the band.
 */
export function anchorAtState(histogram: Map<number, number>, watermarkMs: number): void {
  let rows = 0;
  for (const n of histogram.values()) rows += n;
  if (rows === 0) return;
  const bucket = Math.floor(watermarkMs / 1000 / BUCKET_SECONDS);
  histogram.set(bucket, (histogram.get(bucket) ?? 0) + Math.max(STATE_ANCHOR_ROWS, rows));
}

/** Adds `from`'s buckets into `into`. */
export function addHistogram(into: Map<number, number>, from: ReadonlyMap<number, number>): void {
  for (const [bucket, rows] of from) into.set(bucket, (into.get(bucket) ?? 0) + rows);
}

/**
 * The band of plausible starts (epoch seconds, inclusive, whole windows) for rows whose starts
 * fall in `histogram` (bucket -> rows); undefined when there are none.
 */
export function plausibleStartBand(
  histogram: ReadonlyMap<number, number>,
  windowMinutes: number,
): StartBand | undefined {
  const buckets = [...histogram].filter(([, rows]) => rows > 0).sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, rows]) => sum + rows, 0);
  if (total === 0) return undefined;
  const tail = total * TAIL_SHARE;
  let seen = 0;
  let lowBucket = 0;
  for (const [bucket, rows] of buckets) {
    seen += rows;
    lowBucket = bucket;
    if (seen > tail) break;
  }
  seen = 0;
  let highBucket = 0;
  for (let i = buckets.length - 1; i >= 0; i -= 1) {
    const [bucket, rows] = buckets[i] as [number, number];
    seen += rows;
    highBucket = bucket;
    if (seen > tail) break;
  }
  const bulkLow = lowBucket * BUCKET_SECONDS;
  const bulkHigh = (highBucket + 1) * BUCKET_SECONDS - 1;
  const margin = Math.max(bulkHigh - bulkLow, MIN_START_MARGIN_SECONDS);
  const windowSeconds = windowMinutes * 60;
  const low = Math.max(0, Math.floor((bulkLow - margin) / windowSeconds) * windowSeconds);
  const high = Math.min(
    MAX_START_SECONDS,
    Math.floor((bulkHigh + margin) / windowSeconds) * windowSeconds + windowSeconds - 1,
  );
  const day = (seconds: number): string => isoTime(Math.min(seconds, MAX_START_SECONDS) * 1000).slice(0, 10);
  return {
    low,
    high,
    why: `most of it is from about ${day(bulkLow)} to ${day(bulkHigh)}; a start is plausible from ${day(low)} to ${day(high)}`,
  };
}
