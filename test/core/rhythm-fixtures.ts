/** Shared by the rhythm tests (rhythm.test.ts, rhythm-fleet.test.ts). */
import {
  evaluateWindow,
  resolveDetectorConfig,
  type Alert,
  type Baseline,
  type DetectorConfig,
  type DetectorConfigInput,
  type WindowResult,
} from '../../lambda/core';

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
