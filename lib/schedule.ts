/**
 * When the detector runs: a cron expression (UTC) that fires `lagMinutes + marginMinutes` after
 * each window closes. The handler evaluates "the newest window that ended at least lagMinutes
 * ago", so the margin is what keeps a schedule that fires a few seconds early or a clock that
 * is slightly off from evaluating the window before.
 */

export interface DetectorSchedule {
  /** EventBridge Scheduler cron expression, UTC. */
  expression: string;
  /** True when the schedule fires exactly once per window; false when it fires more often. */
  oncePerWindow: boolean;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * One cron expression for any window length that divides a day.
 *
 * - windows that divide an hour (5, 15, 60 minutes...): the minutes of the hour, every hour;
 * - windows that are whole hours (120, 360, 1440 minutes...): one minute, listed hours;
 * - others (45, 90 minutes...): cron cannot say "every 90 minutes from midnight", so the schedule
 *   fires every gcd(window, 60) minutes at the right offset. The extra runs find no window due
 *   and return at once (a run is cheap when nothing is due).
 */
export function detectorSchedule(
  windowMinutes: number,
  lagMinutes: number,
  marginMinutes: number,
): DetectorSchedule {
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || 1440 % windowMinutes !== 0) {
    throw new RangeError(`windowMinutes must divide a day (1440 minutes), got ${windowMinutes}`);
  }
  const offset = lagMinutes + marginMinutes;
  if (windowMinutes % 60 === 0) {
    const runsPerDay = 1440 / windowMinutes;
    const hours = new Set<number>();
    for (let k = 0; k < runsPerDay; k += 1) hours.add(Math.floor((k * windowMinutes + offset) / 60) % 24);
    const hourField = hours.size === 24 ? '*' : [...hours].sort((a, b) => a - b).join(',');
    return { expression: `cron(${offset % 60} ${hourField} * * ? *)`, oncePerWindow: true };
  }
  const step = gcd(windowMinutes, 60);
  const minutes = new Set<number>();
  for (let j = 0; j < 60 / step; j += 1) minutes.add((offset + j * step) % 60);
  const minuteField = [...minutes].sort((a, b) => a - b).join(',');
  return { expression: `cron(${minuteField} * * * ? *)`, oncePerWindow: step === windowMinutes };
}
