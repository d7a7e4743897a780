/**
 * isJobRun at each edge: a run of a job's size is more than the job's size divided by the growth
 * factor, below where its run has grown (the size times the factor, or further out for a job whose
 * runs vary: isGrownRun; a daily job's: or larger), more than the factor times what
 * the window is compared with, and at minBlockedCount or more, at a weekly or a daily job's time; anything else, or no
 * job at that time, is not.
 */
import { isJobRun } from '../../lambda/core/detect';
import type { JobMatch } from '../../lambda/core/rhythm';

const config = { minBlockedCount: 10, jobGrowthFactor: 2, meanFloor: 0.5 };
const weekly = (size: number): JobMatch => ({
  job: { phase: 30, period: 'weekly', size, occurrences: 3, last: 0 },
  index: 0,
  period: 'weekly',
});

describe('isJobRun', () => {
  it('takes a run inside the job band above twice the usual level', () => {
    expect(isJobRun(100, weekly(100), 5, false, null, config)).toBe(true);
  });

  it('needs more than half the job: exactly half is no run', () => {
    expect(isJobRun(51, weekly(100), 5, false, null, config)).toBe(true);
    expect(isJobRun(50, weekly(100), 5, false, null, config)).toBe(false);
  });

  it('needs less than twice a weekly job: exactly twice is its growth, no run', () => {
    expect(isJobRun(199, weekly(100), 5, false, null, config)).toBe(true);
    expect(isJobRun(200, weekly(100), 5, false, null, config)).toBe(false);
  });

  it("ends a weekly job's runs where its run has grown: further out for a job whose runs vary", () => {
    const varying: JobMatch = { ...weekly(100), job: { ...weekly(100).job, spread: 2500, spreadRuns: 5 } };
    // Runs about 50 either side of 100: 250 is one of its runs at a fleet's threshold.
    expect(isJobRun(250, varying, 5, false, 1e-4, config)).toBe(true);
    expect(isJobRun(250, weekly(100), 5, false, 1e-4, config)).toBe(false);
    // Far beyond its runs it has grown, and a spread resting on one run does not count.
    expect(isJobRun(1000, varying, 5, false, 1e-4, config)).toBe(false);
    const once: JobMatch = { ...varying, job: { ...varying.job, spreadRuns: 1 } };
    expect(isJobRun(250, once, 5, false, 1e-4, config)).toBe(false);
  });

  it("takes a daily job's run of twice its size or more too (jobEvent tells a grown one)", () => {
    const daily: JobMatch = { job: { ...weekly(100).job, period: 'daily' }, index: 0, period: 'daily' };
    expect(isJobRun(200, daily, 5, true, null, config)).toBe(true);
    expect(isJobRun(5000, daily, 5, true, null, config)).toBe(true);
  });

  it('needs more than twice the usual level: exactly twice is no run', () => {
    expect(isJobRun(60, weekly(100), 29.5, false, null, config)).toBe(true);
    expect(isJobRun(60, weekly(100), 30, false, null, config)).toBe(false);
  });

  it('needs minBlockedCount: one under it is no run, at it is', () => {
    expect(isJobRun(10, weekly(15), 1, false, null, config)).toBe(true);
    expect(isJobRun(9, weekly(15), 1, false, null, config)).toBe(false);
  });

  it("is a weekly or a daily job's, and needs a job at that time", () => {
    expect(isJobRun(100, undefined, 5, false, null, config)).toBe(false);
    const daily: JobMatch = { job: { ...weekly(100).job, period: 'daily' }, index: 0, period: 'daily' };
    expect(isJobRun(100, daily, 5, true, null, config)).toBe(true);
    // A daily job's run by its size only where the hour's model decides.
    expect(isJobRun(100, daily, 5, false, null, config)).toBe(false);
    expect(isJobRun(100, daily, 50, true, null, config)).toBe(false);
  });
});
