/**
 * isWeeklyJobRun at each edge: a run of a weekly job's size is more than the job's size divided
 * by the growth factor, less than the size times it, more than the factor times what the window
 * is compared with, and at minBlockedCount or more; anything else, or a daily match, is not.
 */
import { isWeeklyJobRun } from '../../lambda/core/detect';
import type { JobMatch } from '../../lambda/core/rhythm';

const config = { minBlockedCount: 10, jobGrowthFactor: 2 };
const weekly = (size: number): JobMatch => ({
  job: { phase: 30, period: 'weekly', size, occurrences: 3, last: 0 },
  index: 0,
  period: 'weekly',
});

describe('isWeeklyJobRun', () => {
  it('takes a run inside the job band above twice the usual level', () => {
    expect(isWeeklyJobRun(100, weekly(100), 5, config)).toBe(true);
  });

  it('needs more than half the job: exactly half is no run', () => {
    expect(isWeeklyJobRun(51, weekly(100), 5, config)).toBe(true);
    expect(isWeeklyJobRun(50, weekly(100), 5, config)).toBe(false);
  });

  it('needs less than twice the job: exactly twice is its growth, no run', () => {
    expect(isWeeklyJobRun(199, weekly(100), 5, config)).toBe(true);
    expect(isWeeklyJobRun(200, weekly(100), 5, config)).toBe(false);
  });

  it('needs more than twice the usual level: exactly twice is no run', () => {
    expect(isWeeklyJobRun(60, weekly(100), 29.5, config)).toBe(true);
    expect(isWeeklyJobRun(60, weekly(100), 30, config)).toBe(false);
  });

  it('needs minBlockedCount: one under it is no run, at it is', () => {
    expect(isWeeklyJobRun(10, weekly(15), 1, config)).toBe(true);
    expect(isWeeklyJobRun(9, weekly(15), 1, config)).toBe(false);
  });

  it('is only for a weekly match', () => {
    expect(isWeeklyJobRun(100, undefined, 5, config)).toBe(false);
    expect(isWeeklyJobRun(100, { ...weekly(100), period: 'daily' }, 5, config)).toBe(false);
  });
});
