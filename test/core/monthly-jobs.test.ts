/**
 * A job on the same day of every month (the 1st, 03:00) is learnt as a monthly job: before, every
 * run alerted, month after month (28-31 days apart it matched neither a daily nor a weekly job, and
 * a candidate seen once is kept only 35 days). Now its second run alerts, its third on are quiet,
 * and a run at 3x its size alerts as the monthly job grown.
 */
import { bootstrapBaselines, negativeBinomial, seededRandom, type HistoryWindow } from '../../lambda/core';
import { DAY, HOUR, config as rhythmConfig, runWindows } from './rhythm-fixtures';

const JANUARY = Date.UTC(2026, 0, 1);
const SOURCE = '123456789012|10.0.0.7';
const config = rhythmConfig();

it.each([1, 2])(
  'alerts on the second run of a monthly job, not on the next ones, and on its growth (seed %i)',
  (seed) => {
    const random = seededRandom(seed);
    const grownMonth = 6; // July
    const count = (t: number): number => {
      const d = new Date(t);
      let x = negativeBinomial(random, 2, 2 + 4 / 3);
      if (d.getUTCDate() === 1 && d.getUTCHours() === 3) {
        const size = d.getUTCMonth() === grownMonth ? 300 : 100;
        x += negativeBinomial(random, size, size + (size * size) / 20);
      }
      return x;
    };
    const countsAt = (t: number): Map<string, number> => {
      const x = count(t);
      return x > 0 ? new Map([[SOURCE, x]]) : new Map();
    };
    // A month bootstrapped: the January run is seen once.
    const history: HistoryWindow[] = Array.from({ length: 31 * 24 }, (_, w) => ({
      windowStart: JANUARY + w * HOUR,
      complete: true,
      counts: countsAt(JANUARY + w * HOUR),
    }));
    const learned = bootstrapBaselines(history, config);
    const detectFrom = JANUARY + 31 * DAY;
    const detected = runWindows(
      config,
      detectFrom,
      (Date.UTC(2026, 7, 1) - detectFrom) / HOUR,
      countsAt,
      learned,
    );
    const jobAlerts = detected.results.flatMap((result, w) => {
      const d = new Date(detectFrom + w * HOUR);
      if (d.getUTCDate() !== 1 || d.getUTCHours() !== 3) return [];
      return result.alerts.map((alert) => ({ month: d.toISOString().slice(0, 7), job: alert.recurringJob }));
    });
    // February: the second run, still being learnt; March-June quiet; July grown.
    expect(jobAlerts.map((a) => a.month)).toEqual(['2026-02', '2026-07']);
    expect(jobAlerts[0]!.job).toBeUndefined();
    expect(jobAlerts[1]!.job).toMatchObject({ period: 'monthly', at: '03:00', occurrences: 6 });
    expect(detected.baselines.get(SOURCE)!.jobs).toContainEqual(
      expect.objectContaining({ period: 'monthly' }),
    );
  },
);
