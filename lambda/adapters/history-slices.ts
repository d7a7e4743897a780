/**
 * How a bootstrap's history is queried, for every flow source: in slices (a day each by default),
 * the newest first, a few slices at a time, until the run's time runs out.
 *
 * A Lambda function runs for at most 900 s, and a month of a busy log group can take longer to
 * scan: one query after another, a bootstrap that ran out of time wrote nothing, and every day it
 * had counted (and was billed for) was lost. A few at a time, a month fits where one at a time
 * would not; newest first, a run that still runs out of time has counted the most recent days,
 * and what it has is a shorter history, not one with a hole before today.
 */
import { QueryThrottledError, QueryTimeoutError } from './errors';
import type { HistoryGap } from './ports';

/** What a slice's query came to: counted (or a gap of failed queries), or stopped by the run's deadline. */
export type SliceOutcome = 'counted' | 'out-of-time';

/**
 * True for the errors that mean the run's time is up: a query still running at the deadline, or
 * throttled until no retry fits before it. A failed query is a gap of its own, not the end.
 */
export function isOutOfTime(error: unknown): boolean {
  return error instanceof QueryTimeoutError || error instanceof QueryThrottledError;
}

export interface HistorySlicesOptions {
  /** The windows of the history, oldest first (indexes into them are what the callbacks get). */
  windows: number;
  /** Slices in flight at once. */
  concurrency: number;
  /** Whether the first slice runs alone: where its result sizes the rest (Logs Insights' row limit). */
  firstAlone: boolean;
  /**
   * With firstAlone, slices run one at a time until they hold this many windows (so that a
   * short newest slice is not all the rest is sized from). @default 0: the first only
   */
  aloneWindows?: number;
  /** The number of windows the next slice should hold (it may change as slices come back). */
  sliceWindows: () => number;
  /**
   * Where a slice ending before window `end` begins, given the size asked for: within
   * [end - size, end). Default: end - size (slices counted back from the newest window).
   */
  sliceBegin?: (end: number, size: number) => number;
  /** No slice starts at or after the deadline (epoch ms on `now`): it would be stopped at once, billed. */
  deadline: number;
  now: () => number;
  /**
   * Queries windows [begin, end) and folds what they hold; a part that fails is the callee's gap.
   * 'out-of-time' once the run's time is up (isOutOfTime): no slice starts after it.
   */
  runSlice: (begin: number, end: number) => Promise<SliceOutcome>;
}

/**
 * Runs the slices newest first, `concurrency` at a time (the first alone if asked). Returns the
 * index of the oldest window the history holds: 0 when every slice was queried, more when the
 * run's time ran out first. The oldest slices stopped by the deadline are left out with those
 * never started (a shorter history, as if fewer days were asked for); a newer one stopped by it,
 * with older slices counted, stays a gap. An error from a slice stops new slices from starting;
 * the slices in flight end (each within the deadline) before it is thrown, so no query outlives
 * the call.
 */
export async function runHistorySlices(options: HistorySlicesOptions): Promise<number> {
  let next = options.windows;
  let outOfTime = false;
  let failure: { error: unknown } | undefined;
  const stopped: Array<{ begin: number; end: number }> = [];
  let oldestStarted = options.windows;
  const take = (): { begin: number; end: number } | undefined => {
    if (failure !== undefined || outOfTime || next === 0) return undefined;
    if (options.now() >= options.deadline) {
      outOfTime = true;
      return undefined;
    }
    const end = next;
    const size = Math.max(1, options.sliceWindows());
    const asked = options.sliceBegin?.(end, size) ?? end - size;
    // Never empty, never longer than asked.
    const begin = Math.max(0, end - size, Math.min(end - 1, asked));
    next = begin;
    oldestStarted = begin;
    return { begin, end };
  };
  const run = async (slice: { begin: number; end: number }): Promise<void> => {
    try {
      if ((await options.runSlice(slice.begin, slice.end)) === 'out-of-time') {
        outOfTime = true;
        stopped.push(slice);
      }
    } catch (error) {
      failure ??= { error };
    }
  };
  const worker = async (): Promise<void> => {
    for (let slice = take(); slice !== undefined; slice = take()) await run(slice);
  };
  if (options.firstAlone) {
    let alone = 0;
    do {
      const slice = take();
      if (slice === undefined) break;
      await run(slice);
      alone += slice.end - slice.begin;
    } while (alone < (options.aloneWindows ?? 0) && failure === undefined && !outOfTime);
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (failure !== undefined) throw failure.error;
  if (!outOfTime) return 0;
  // Slices end next to each other: walk up from the oldest started while it was stopped.
  let from = oldestStarted;
  for (;;) {
    const at = stopped.find((slice) => slice.begin === from);
    if (at === undefined) return from;
    from = at.end;
  }
}

/**
 * HistorySlicesOptions.sliceBegin for slices that start on whole multiples of their length in time
 * (whole UTC days for a day of windows), counted from the epoch: a bootstrap run again an hour or a
 * day later then asks the very same queries for the days it shares with the run before, and can
 * read their kept results (CompletedQueries); only the newest slice, up to the last window, is
 * shorter. `starts` are the history's window starts, oldest first.
 */
export function alignedSliceBegin(
  starts: readonly number[],
  windowLength: number,
): (end: number, size: number) => number {
  return (end, size) => {
    const lastStart = starts[end - 1]!;
    const sliceStart = Math.floor(lastStart / (size * windowLength)) * size * windowLength;
    return Math.max(0, end - 1 - Math.floor((lastStart - sliceStart) / windowLength));
  };
}

/** The parts of `gaps` from `heldFrom` on (a shorter history holds nothing before it). */
export function gapsFrom(gaps: HistoryGap[], heldFrom: number): HistoryGap[] {
  return gaps
    .filter((gap) => gap.to > heldFrom)
    .map((gap) => ({ ...gap, from: Math.max(gap.from, heldFrom) }));
}
