/**
 * When a baseline is forgotten, the same in the Lambda (lambda/adapters/dynamo-baseline-store.ts)
 * and the replay (lambda/replay): a source not folded for more than the baseline TTL
 * (BASELINE_TTL_DAYS, `--baseline-ttl-days`) is a new source again. The rule is on window time,
 * not on the clock of the run or on DynamoDB's TTL deletion (which removes an item only some time
 * after its expiry): a window starting after its baseline's expiry does not see it, whenever the
 * window is evaluated.
 */

/** The default TTL, days: the Lambda's BASELINE_TTL_DAYS and the replay's --baseline-ttl-days. */
export const DEFAULT_BASELINE_TTL_DAYS = 90;

const DAY_SECONDS = 86_400;

/** The expiry (epoch seconds) of a baseline last folded in the window starting at `lastWindow` (ms). */
export function baselineExpiresAt(lastWindow: number, ttlDays: number): number {
  return Math.floor(lastWindow / 1000) + ttlDays * DAY_SECONDS;
}

/** Whether a baseline expiring at `expiresAt` (epoch seconds) is forgotten in the window starting at `windowStart` (ms). */
export function expiredBefore(expiresAt: number, windowStart: number): boolean {
  return expiresAt < Math.floor(windowStart / 1000);
}
