/**
 * A weekly job in the hour beside a daily job's is learnt (detect.ts, a daily job moved by an
 * hour). Its slot and the daily job's stand out together, so the hour's model takes its runs for
 * the daily job moved by an hour: a run of the daily job's size is quiet, a clearly larger one is
 * the daily job grown. Such runs did not start a job of their own, so the weekly job was never
 * learnt and a varying one alerted at most of its larger runs, week after week: on the hosts
 * below, 39 alerts at the weekly job's hour over 12 weeks, and the weekly job learnt on 1 host of
 * 20. Such runs now start a job of their own, as at a daily job's hour (a weekly job's first runs
 * there): 21 alerts, the weekly job learnt on 17 hosts (the rest are grown runs of a varying job).
 */
import {
  bootstrapBaselines,
  calendarOf,
  negativeBinomial,
  seededRandom,
  type HistoryWindow,
} from '../../lambda/core';
import { DAY, HOUR, MONDAY, config as rhythmConfig, runWindows } from './rhythm-fixtures';

describe('hosts with a daily job at 02:00 and a weekly one on Sundays at 03:00', () => {
  // The threshold a host has in a fleet of 300. Each host is about 2 an hour; the daily job about
  // 150 and the weekly one about 200, both varying (gamma shape 3, some 58% from run to run).
  const cfg = rhythmConfig({ falseAlertBudgetPerDay: 1 / 300 });
  const HOSTS = 20;
  const WEEKS = 12;
  const isWeeklyRun = (t: number) => new Date(t).getUTCDay() === 0 && new Date(t).getUTCHours() === 3;

  function host(seed: number) {
    const random = seededRandom(seed);
    const count = (t: number): number => {
      let x = negativeBinomial(random, 2, 2 + 4 / 3);
      if (new Date(t).getUTCHours() === 2) x += negativeBinomial(random, 150, 150 + 150 ** 2 / 3);
      if (isWeeklyRun(t)) x += negativeBinomial(random, 200, 200 + 200 ** 2 / 3);
      return x;
    };
    const history: HistoryWindow[] = Array.from({ length: 30 * 24 }, (_, w) => ({
      windowStart: MONDAY + w * HOUR,
      complete: true,
      counts: new Map([['s', count(MONDAY + w * HOUR)]]),
    }));
    const start = MONDAY + 30 * DAY;
    const run = runWindows(
      cfg,
      start,
      WEEKS * 7 * 24,
      (t) => new Map([['s', count(t)]]),
      bootstrapBaselines(history, cfg),
    );
    const alertsAtWeeklyRuns = run.results.filter(
      (r, w) => isWeeklyRun(start + w * HOUR) && r.alerts.length > 0,
    ).length;
    const weeklyPhase = calendarOf(cfg).place(MONDAY + 6 * DAY + 3 * HOUR).weekPhase;
    const learnt = (run.baselines.get('s')?.jobs ?? []).some(
      (job) =>
        job.period === 'weekly' && job.phase === weeklyPhase && job.occurrences >= cfg.jobOccurrencesToLearn,
    );
    return { alertsAtWeeklyRuns, learnt };
  }

  const hosts = Array.from({ length: HOSTS }, (_, i) => host(i + 1));

  it('learn the weekly job', () => {
    expect(hosts.filter((h) => h.learnt).length).toBeGreaterThanOrEqual(0.75 * HOSTS);
  });

  it('alert at its runs about once a host in 12 weeks, not at most of its larger runs', () => {
    const alerts = hosts.reduce((sum, h) => sum + h.alertsAtWeeklyRuns, 0);
    expect(alerts).toBeLessThanOrEqual(1.25 * HOSTS);
  });
});
