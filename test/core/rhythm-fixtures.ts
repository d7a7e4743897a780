/** Shared by the rhythm tests (rhythm.test.ts, rhythm-fleet.test.ts, the job and burst tests). */
import {
  bootstrapBaselines,
  evaluateWindow,
  resolveDetectorConfig,
  type Alert,
  type Baseline,
  type DetectorConfig,
  type DetectorConfigInput,
  type HistoryWindow,
  type WindowResult,
} from '../../lambda/core';
import { seededRandom } from '../../lambda/core/random';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** A Monday, 00:00 UTC. */
export const MONDAY = Date.UTC(2026, 0, 5);

export const config = (extra: DetectorConfigInput = {}): DetectorConfig =>
  resolveDetectorConfig({ cooldownMinutes: 0, massSpikeMinSources: 0, ...extra });
/**
 * One noisy source alone gets the whole fleet's budget (p < 1/24 a window: about one false alert
 * a day by design); this budget gives it the threshold it would have in a fleet of some fifty.
 */
export const ONE_OF_A_FLEET: DetectorConfigInput = { falseAlertBudgetPerDay: 0.02 };

/** Evaluates `windows` hourly windows from `start`, one source per entry of `countsAt`. */
export function runWindows(
  cfg: DetectorConfig,
  start: number,
  windows: number,
  countsAt: (t: number, w: number) => Map<string, number>,
  from: { baselines?: Map<string, Baseline>; clock?: number } = {},
): { results: WindowResult[]; alerts: Alert[]; baselines: Map<string, Baseline>; clock: number } {
  const baselines = new Map(from.baselines ?? []);
  let clock = from.clock ?? 0;
  const results: WindowResult[] = [];
  const alerts: Alert[] = [];
  for (let w = 0; w < windows; w += 1) {
    const t = start + w * HOUR;
    const result = evaluateWindow(
      { windowStart: t, counts: countsAt(t, w), complete: true, baselines, clock },
      cfg,
    );
    for (const [ip, b] of result.updatedBaselines) baselines.set(ip, b);
    clock = result.clockAfter;
    results.push(result);
    alerts.push(...result.alerts);
  }
  return { results, alerts, baselines, clock };
}

export const isWeekendUtc = (t: number): boolean => [0, 6].includes(new Date(t).getUTCDay());

/**
 * The smallest count (from minBlockedCount, at most 1,000) that alerts at `burstAt` on one source
 * whose counts are `count(t)`: bootstrapped over `bootstrapDays` days from MONDAY, then evaluated
 * window by window up to the burst.
 */
export function smallestAlertingBurst(
  cfg: DetectorConfig,
  count: (t: number) => number,
  bootstrapDays: number,
  burstAt: number,
): number {
  const source = '10.0.0.1';
  const history: HistoryWindow[] = Array.from({ length: bootstrapDays * 24 }, (_, w) => ({
    windowStart: MONDAY + w * HOUR,
    complete: true,
    counts: new Map([[source, count(MONDAY + w * HOUR)]]),
  }));
  const start = MONDAY + bootstrapDays * DAY;
  const before = runWindows(
    cfg,
    start,
    (burstAt - start) / HOUR,
    (t) => new Map([[source, count(t)]]),
    bootstrapBaselines(history, cfg),
  );
  const alerts = (burst: number) =>
    evaluateWindow(
      {
        windowStart: burstAt,
        counts: new Map([[source, burst]]),
        complete: true,
        baselines: before.baselines,
        clock: before.clock,
      },
      cfg,
    ).alerts.length > 0;
  let burst = cfg.minBlockedCount;
  while (!alerts(burst) && burst < 1000) burst += 1;
  return burst;
}

/**
 * Bursts planted in a fleet, and how many are found: source i (10.0.0.i) counts `hosts[i](t)`;
 * two bursts of `burst` a source at detected windows drawn from `placeSeed`, none where
 * `nearJob(w, i)` (w: the window's index from the start of detection); `days` days bootstrapped
 * from MONDAY, the next `days` detected. An alert at a planted burst is found, any other counted.
 */
export function plantedBursts(
  cfg: DetectorConfig,
  options: {
    hosts: Array<(t: number) => number>;
    days: number;
    burst: number;
    placeSeed: number;
    nearJob: (w: number, i: number) => boolean;
  },
): { found: number; injected: number; others: number } {
  const { hosts, days, burst, nearJob } = options;
  const place = seededRandom(options.placeSeed);
  const bursts = new Map<number, Set<number>>();
  for (let i = 0; i < hosts.length; i += 1) {
    for (let k = 0; k < 2; k += 1) {
      let w: number;
      do w = Math.floor(place() * days * 24);
      while (nearJob(w, i));
      bursts.set(w, (bursts.get(w) ?? new Set()).add(i));
    }
  }
  const counts = (t: number, detected?: number): Map<string, number> => {
    const map = new Map<string, number>();
    hosts.forEach((host, i) => {
      let x = host(t);
      if (detected !== undefined && bursts.get(detected)?.has(i) === true) x = Math.max(x, burst);
      if (x > 0) map.set(`10.0.0.${i}`, x);
    });
    return map;
  };
  const history: HistoryWindow[] = Array.from({ length: days * 24 }, (_, w) => ({
    windowStart: MONDAY + w * HOUR,
    complete: true,
    counts: counts(MONDAY + w * HOUR),
  }));
  const detected = runWindows(cfg, MONDAY + days * DAY, days * 24, counts, bootstrapBaselines(history, cfg));
  let found = 0;
  let others = 0;
  detected.results.forEach((result, w) => {
    for (const alert of result.alerts) {
      if (bursts.get(w)?.has(Number(alert.srcIp!.split('.')[3])) === true) found += 1;
      else others += 1;
    }
  });
  return { found, injected: 2 * hosts.length, others };
}
