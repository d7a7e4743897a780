import { detectorSchedule } from '../../lib/schedule';

describe('detectorSchedule', () => {
  it.each([
    // window, lag, margin, expression, once per window
    [60, 10, 2, 'cron(12 * * * ? *)', true],
    [60, 70, 2, 'cron(12 * * * ? *)', true],
    [15, 10, 2, 'cron(12,27,42,57 * * * ? *)', true],
    [5, 0, 1, 'cron(1,6,11,16,21,26,31,36,41,46,51,56 * * * ? *)', true],
    [120, 10, 2, 'cron(12 0,2,4,6,8,10,12,14,16,18,20,22 * * ? *)', true],
    [360, 30, 5, 'cron(35 0,6,12,18 * * ? *)', true],
    [1440, 10, 2, 'cron(12 0 * * ? *)', true],
    [1440, 90, 0, 'cron(30 1 * * ? *)', true],
    // 90-minute windows cannot be one cron: every 30 minutes at the right offset.
    [90, 10, 2, 'cron(12,42 * * * ? *)', false],
  ])('window %i min, lag %i, margin %i -> %s', (windowMinutes, lag, margin, expression, oncePerWindow) => {
    expect(detectorSchedule(windowMinutes, lag, margin)).toEqual({ expression, oncePerWindow });
  });

  it('fires at every due time of a window that does not divide an hour', () => {
    // Prepare: 45-minute windows, due 12 minutes after each close.
    const { expression } = detectorSchedule(45, 10, 2);
    const minutes = expression
      .replace(/^cron\(([\d,]+) .*$/, '$1')
      .split(',')
      .map(Number);
    // Act / Assess: every due time of a day lands on one of the cron's minutes.
    for (let close = 0; close < 1440; close += 45) {
      expect(minutes).toContain((close + 12) % 60);
    }
  });

  it('rejects a window that does not divide a day', () => {
    expect(() => detectorSchedule(7, 10, 2)).toThrow(/must divide a day/);
  });
});
