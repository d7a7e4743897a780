/**
 * Jobs that are most of their source's blocked traffic (review 7, finding 1): their runs are in
 * the source's flat variance, so they are no flat bursts, and only the hour's model sees them. A
 * run the hour's model calls a spike at jobGrowthFactor x its expectation, or a run of a job's
 * size or larger at its time, is the job's occurrence: a rescheduled job is learnt at its new
 * hour (two alerts, quiet from its third run) and its growth still alerts; a burst is not learnt
 * after one occurrence. Seeded noise (lambda/core/random.ts), one source, UTC.
 */
import { negativeBinomial, seededRandom } from '../../lambda/core/random';
import { DAY, HOUR, MONDAY, ONE_OF_A_FLEET, config, runWindows } from './rhythm-fixtures';

const SOURCE = '10.0.0.5';
const cfg = config(ONE_OF_A_FLEET);
const DAYS = 56;
/** Alerts before this are the source's first weeks (learning); the scenarios look after it. */
const LEARNT = MONDAY + 21 * DAY;

/**
 * A source blocked at about 3 an hour, plus a job of `size(day)` records at `hour(day)` UTC
 * (no run where size is 0); `extra` adds a count at a window.
 */
function source(
  seed: number,
  job: { hour: (day: number) => number; size: (day: number) => number },
  extra: (t: number) => number = () => 0,
) {
  const random = seededRandom(seed);
  const counts = new Map<number, number>();
  for (let w = 0; w < DAYS * 24; w += 1) {
    const t = MONDAY + w * HOUR;
    const day = Math.floor(w / 24);
    let x = negativeBinomial(random, 3, 6);
    const size = job.size(day);
    if (size > 0 && w % 24 === job.hour(day)) x += negativeBinomial(random, size, size + (size * size) / 30);
    counts.set(t, x + extra(t));
  }
  return (t: number) => new Map([[SOURCE, counts.get(t) ?? 0]]);
}

const after = (from: number) => (a: { windowStart: string }) => Date.parse(a.windowStart) >= from;

describe('a job that is most of its source’s blocked traffic', () => {
  it('moved by three hours alerts on its first two runs in the new hour, then is quiet (before: every night)', () => {
    const movedOn = 30;
    const run = runWindows(
      cfg,
      MONDAY,
      DAYS * 24,
      source(1, { hour: (day) => (day < movedOn ? 1 : 4), size: () => 200 }),
    );
    const late = run.alerts.filter(after(LEARNT)).map((a) => a.windowStart);
    expect(late).toEqual([
      new Date(MONDAY + movedOn * DAY + 4 * HOUR).toISOString().replace('.000', ''),
      new Date(MONDAY + (movedOn + 1) * DAY + 4 * HOUR).toISOString().replace('.000', ''),
    ]);
    // From its third run it is a learnt daily job at its new hour.
    const last = run.results.at(-1 - 19)!; // day 55, 04:00
    expect(last.windowStart).toBe(MONDAY + 55 * DAY + 4 * HOUR);
    expect(last.decisions[0]?.outcome).toBe('recurring-job');
  });

  it('still alerts when it grows to three times its size, in its hour and after a move', () => {
    const grownOn = 40;
    const inPlace = runWindows(
      cfg,
      MONDAY,
      DAYS * 24,
      source(2, { hour: () => 1, size: (day) => (day === grownOn ? 600 : 200) }),
    );
    const grownInPlace = inPlace.alerts.find(
      (a) => Date.parse(a.windowStart) === MONDAY + grownOn * DAY + HOUR,
    );
    expect(grownInPlace?.recurringJob).toMatchObject({ period: 'daily', at: '01:00' });
    const moved = runWindows(
      cfg,
      MONDAY,
      DAYS * 24,
      source(2, { hour: (day) => (day < 30 ? 1 : 4), size: (day) => (day === grownOn ? 600 : 200) }),
    );
    const grown = moved.alerts.find((a) => Date.parse(a.windowStart) === MONDAY + grownOn * DAY + 4 * HOUR);
    expect(grown?.recurringJob).toMatchObject({ period: 'daily', at: '04:00' });
  });
});

describe('a burst on a source is not learnt as a job after one occurrence', () => {
  it('a one-off burst repeated at the same hour alerts on its first two runs, then is a job', () => {
    const burstDays = [30, 31, 32, 33];
    const at = burstDays.map((day) => MONDAY + day * DAY + 15 * HOUR);
    const run = runWindows(
      cfg,
      MONDAY,
      DAYS * 24,
      source(6, { hour: () => 1, size: () => 200 }, (t) => (at.includes(t) ? 400 : 0)),
    );
    expect(run.alerts.filter(after(LEARNT)).map((a) => Date.parse(a.windowStart))).toEqual(at.slice(0, 2));
  });

  it('a burst seen once alerts, and a second one a day later at the same hour alerts too', () => {
    const at = [MONDAY + 30 * DAY + 15 * HOUR, MONDAY + 31 * DAY + 15 * HOUR];
    const run = runWindows(
      cfg,
      MONDAY,
      DAYS * 24,
      source(7, { hour: () => 1, size: () => 200 }, (t) => (at.includes(t) ? 400 : 0)),
    );
    // At the bursts' hour. The source's other hours are judged at the fleet's threshold (the job's
    // runs are no part of their variance): on this seed one of them, 16 at a Friday's 22:00 where
    // about 3 is usual, is beyond it, as on the source's own counts (negative binomial of mean 3
    // and variance 6: P(X >= 16) = 6.6e-4, the threshold 8.3e-4).
    const atFifteen = (a: { windowStart: string }) => new Date(a.windowStart).getUTCHours() === 15;
    expect(
      run.alerts
        .filter(after(LEARNT))
        .filter(atFifteen)
        .map((a) => Date.parse(a.windowStart)),
    ).toEqual(at);
  });
});
