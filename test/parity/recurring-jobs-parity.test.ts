/**
 * Recurring jobs over a long horizon: the replay and the Lambda (test/parity/parity.ts runs both)
 * decide the same alerts, and keep the same jobs, for a weekly job whose runs vary in size (it
 * keeps its runs' spread, and a run has grown by isGrownRun, lambda/core/spike-test.ts) and a
 * monthly job (the same hour on the 1st of each month, matchJob in lambda/core/rhythm.ts), beside
 * ordinary traffic from several sources, over four months of hourly windows.
 *
 * Both sides learn the first 90 days (the most a Lambda bootstrap takes, lambda/manual-payload.ts)
 * and then decide the last 32 days window by window, the Lambda as the schedule runs it: the
 * monthly job's fourth and fifth runs and the weekly job's last five runs fall there. The case also
 * checks that its alerts are the ones it is about, so that two sides agreeing on nothing cannot
 * pass.
 */
import { key, withEndpoints, type Endpoints } from '../e2e/harness';
import { isoTime } from '../../lambda/core';
import { blockedLines, byKey, ordinaryTraffic, runParityCase, type DecidedAlert } from './parity';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A Thursday: the weekly job runs on Thursdays at 02:00 UTC, from day 7 on. */
const D0 = Date.parse('2026-12-31T00:00:00Z');
const WEEKLY = '10.0.3.30';
const MONTHLY = '10.0.4.40';
const SOURCES = [
  '10.0.1.10',
  '10.0.1.11',
  '10.0.1.12',
  '10.0.1.13',
  '172.16.4.2',
  '192.168.7.7',
  WEEKLY,
  MONTHLY,
];
/** The most days a Lambda bootstrap learns (manual-payload.ts); the replay learns the same days. */
const BOOTSTRAP_DAYS = 90;
/** Hours of data: through 1 May (day 121) 05:00, the hour after the monthly job's last run. */
const HOURS = 121 * 24 + 6;

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

const inWindow = (alerts: DecidedAlert[], windowStart: number) =>
  alerts.filter((a) => a.windowStart === isoTime(windowStart));

describe('replay vs Lambda: recurring jobs over four months', () => {
  it('a weekly job of varying runs alerts as grown at 4x but not at 2x, a monthly job learnt in the bootstrap stays quiet, the same in both', async () => {
    // Prepare: the weekly job's runs vary from 125 to 340 (about 220, give or take 95) while it is
    // learnt; after the bootstrap it runs 230, then 470 (over twice its usual size, within its
    // runs' spread: quiet), then 1,160 (about 4x: grown), then 260 and 230. The monthly job runs
    // about 150 records at 04:00 on 1 January, February, March (learnt as monthly: 31 and 28 days
    // apart), April and May.
    const learntRuns = [220, 130, 310, 125, 335, 140, 320, 130, 340, 135, 300, 140].map((size, i) => ({
      at: D0 + (7 + 7 * i) * DAY + 2 * HOUR,
      size,
    }));
    const laterRuns = [230, 470, 1160, 260, 230].map((size, i) => ({
      at: D0 + (91 + 7 * i) * DAY + 2 * HOUR,
      size,
    }));
    const twiceAt = laterRuns[1]!.at;
    const grownAt = laterRuns[2]!.at;
    const monthlyRuns = [
      { at: Date.parse('2027-01-01T04:00:00Z'), size: 150 },
      { at: Date.parse('2027-02-01T04:00:00Z'), size: 165 },
      { at: Date.parse('2027-03-01T04:00:00Z'), size: 140 },
      { at: Date.parse('2027-04-01T04:00:00Z'), size: 155 },
      { at: Date.parse('2027-05-01T04:00:00Z'), size: 170 },
    ];
    const laterMonthly = monthlyRuns.slice(3).map((run) => run.at);
    const lines = [
      ...ordinaryTraffic(D0, HOURS, SOURCES, 31),
      ...[...learntRuns, ...laterRuns].flatMap((run) => blockedLines(run.at, WEEKLY, run.size, 5)),
      ...monthlyRuns.flatMap((run) => blockedLines(run.at, MONTHLY, run.size, 4)),
    ];
    // The runs the case is about are decided after the bootstrap, not learnt in it.
    const firstDecided = D0 + BOOTSTRAP_DAYS * DAY;
    expect(Math.min(...laterRuns.map((run) => run.at), ...laterMonthly)).toBeGreaterThan(firstDecided);

    // Act
    const result = await runParityCase(endpoints, {
      name: 'recurring-jobs',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: BOOTSTRAP_DAYS,
      storedKeys: [key(WEEKLY), key(MONTHLY)],
    });

    // Assess: the one alert of 32 days is the weekly job grown, in both, as the job grown
    expect(byKey(result.lambda)).toEqual([`spike ${isoTime(grownAt)} ${key(WEEKLY)}`]);
    expect(result.replay).toEqual(result.lambda);
    const grown = result.lambda[0]!;
    const job = grown.content.recurringJob;
    expect(job).toMatchObject({ period: 'weekly', at: 'Thu 02:00', timezone: 'UTC' });
    expect(job?.usualSpread).toBeGreaterThan(0);
    expect(grown.blockedCount).toBeGreaterThanOrEqual(4 * job!.usualSize);
    // The run at over twice its usual size is within the job's spread: quiet in both.
    expect(inWindow(result.replay, twiceAt)).toEqual([]);
    expect(inWindow(result.lambda, twiceAt)).toEqual([]);
    // The monthly job's runs after the bootstrap are its own: quiet in both.
    for (const at of laterMonthly) {
      expect(inWindow(result.replay, at)).toEqual([]);
      expect(inWindow(result.lambda, at)).toEqual([]);
    }
    // Both keep the same jobs: a weekly job of 17 runs with its spread, a monthly one of 5.
    const stored = result.stored!;
    const jobsOf = (side: 'replay' | 'lambda', address: string) => stored[side].get(key(address))?.jobs;
    for (const address of [WEEKLY, MONTHLY]) {
      expect(jobsOf('replay', address)).toEqual(jobsOf('lambda', address));
    }
    expect(jobsOf('lambda', WEEKLY)).toEqual([
      expect.objectContaining({ period: 'weekly', occurrences: 17, spreadRuns: 8 }),
    ]);
    expect(jobsOf('lambda', MONTHLY)).toEqual([
      expect.objectContaining({ period: 'monthly', occurrences: 5, last: laterMonthly[1] }),
    ]);
    // About 30 s alone; four times that on a machine shared with other jobs (CI run 112 took over 120 s).
  }, 300_000);
});
