/**
 * A job on the same day of every month (the 1st, 03:00) is learnt as a monthly job: before, every
 * run alerted, month after month (28-31 days apart it matched neither a daily nor a weekly job, and
 * a candidate seen once is kept only 35 days). Now its second run alerts, its third on are quiet,
 * and a run at 3x its size alerts as the monthly job grown. A job first seen in February runs
 * again exactly four weeks later: that second run makes it a monthly job too, not a weekly one
 * (which then missed its April run and alerted on April's and May's). A job on a weekday of the
 * month (the second Tuesday's patches) runs four or five weeks apart, and is quiet whichever gap
 * comes first.
 */
import { bootstrapBaselines, negativeBinomial, seededRandom, type HistoryWindow } from '../../lambda/core';
import { HOUR, config as rhythmConfig, runWindows } from './rhythm-fixtures';

const SOURCE = '123456789012|10.0.0.7';
const config = rhythmConfig();
/** July: the job's run there is three times its usual size (its runs vary like a gamma of shape 20). */
const GROWN_MONTH = 6;

const firstOfMonth = (d: Date): boolean => d.getUTCDate() === 1;
const secondTuesday = (d: Date): boolean => d.getUTCDay() === 2 && d.getUTCDate() > 7 && d.getUTCDate() <= 14;

/**
 * A source with light noise and a job at 03:00 on the days `runsOn` picks (about 100, 300 in July), bootstrapped over the
 * month of its first run (seen once there) and detected from the next month to August: the job
 * windows' alerts by month, and the jobs the source keeps at the end.
 */
function monthlyJob(seed: number, firstMonth: number, runsOn: (d: Date) => boolean) {
  const random = seededRandom(seed);
  const countsAt = (t: number): Map<string, number> => {
    const d = new Date(t);
    let x = negativeBinomial(random, 2, 2 + 4 / 3);
    if (runsOn(d) && d.getUTCHours() === 3)
      x += d.getUTCMonth() === GROWN_MONTH ? 300 : negativeBinomial(random, 100, 100 + 100 ** 2 / 20);
    return x > 0 ? new Map([[SOURCE, x]]) : new Map();
  };
  const first = Date.UTC(2026, firstMonth, 1);
  const detectFrom = Date.UTC(2026, firstMonth + 1, 1);
  const history: HistoryWindow[] = Array.from({ length: (detectFrom - first) / HOUR }, (_, w) => ({
    windowStart: first + w * HOUR,
    complete: true,
    counts: countsAt(first + w * HOUR),
  }));
  const learned = bootstrapBaselines(history, config);
  const detected = runWindows(
    config,
    detectFrom,
    (Date.UTC(2026, 7, 1) - detectFrom) / HOUR,
    countsAt,
    learned,
  );
  const jobAlerts = detected.results.flatMap((result, w) => {
    const d = new Date(detectFrom + w * HOUR);
    if (!runsOn(d) || d.getUTCHours() !== 3) return [];
    return result.alerts.map((alert) => ({ month: d.toISOString().slice(0, 7), job: alert.recurringJob }));
  });
  return {
    second: new Date(detectFrom).toISOString().slice(0, 7),
    jobAlerts,
    jobs: detected.baselines.get(SOURCE)!.jobs,
  };
}

it.each([
  [1, 0],
  [2, 0],
  [1, 1],
  [2, 1],
])(
  'alerts on the second run of a monthly job, not on the next ones, and on its growth (seed %i, first run in month %i)',
  (seed, firstMonth) => {
    const { second, jobAlerts, jobs } = monthlyJob(seed, firstMonth, firstOfMonth);
    // The second run is still being learnt (it alerts where its tail says so: in February after
    // a January bootstrap); the next ones to June are quiet; July's has grown.
    const later = jobAlerts.filter((a) => a.month !== second);
    expect(later.map((a) => a.month)).toEqual(['2026-07']);
    expect(later[0]!.job).toMatchObject({ period: 'monthly', at: '03:00', occurrences: 6 - firstMonth });
    for (const a of jobAlerts.filter((a) => a.month === second)) expect(a.job).toBeUndefined();
    if (firstMonth === 0) expect(jobAlerts[0]!.month).toBe('2026-02');
    expect(jobs).toContainEqual(expect.objectContaining({ period: 'monthly' }));
  },
);

// 2026's second Tuesdays are 28, 28, 35, 28, 28 and 35 days apart from January's: from January the
// job is first seen four weeks before its second run (monthly, then five weeks on in April), from
// March five weeks before (weekly, which may skip a week).
it.each([
  [1, 0, 'monthly'],
  [2, 0, 'monthly'],
  [1, 2, 'weekly'],
  [2, 2, 'weekly'],
])(
  'a job on the second Tuesday of each month is quiet from its third run, four or five weeks apart (seed %i, first run in month %i)',
  (seed, firstMonth, period) => {
    const { second, jobAlerts, jobs } = monthlyJob(seed, firstMonth, secondTuesday);
    const later = jobAlerts.filter((a) => a.month !== second);
    expect(later.map((a) => a.month)).toEqual(['2026-07']);
    expect(later[0]!.job).toMatchObject({ period, at: period === 'weekly' ? 'Tue 03:00' : '03:00' });
    expect(jobs).toContainEqual(expect.objectContaining({ period }));
  },
);
