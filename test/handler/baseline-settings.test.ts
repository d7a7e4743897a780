/**
 * What a stored baseline means beyond its numbers (lambda/baseline-settings.ts): which setting
 * changes make baselines mean something else, and which do not.
 */
import {
  baselineSettingsChange,
  baselineSettingsOf,
  decodeBaselineSettings,
  encodeBaselineSettings,
  sourceKeyShape,
} from '../../lambda/baseline-settings';
import { resolveDetectorConfig } from '../../lambda/core';

const settings = (overrides: Record<string, unknown> = {}) =>
  baselineSettingsOf(resolveDetectorConfig({ preset: 'recommended', ...overrides }));

describe('baseline settings', () => {
  it('keeps preset, window length and the calendar, with rhythm off too (the weekend as a set)', () => {
    expect(settings({ weekendDays: ['Sun', 'Fri'], timezone: 'Asia/Dubai' })).toEqual({
      preset: 'recommended',
      windowMinutes: 60,
      rhythm: { timezone: 'Asia/Dubai', weekendDays: ['Fri', 'Sun'] },
    });
    expect(settings({ rhythm: false, timezone: 'Asia/Dubai' })).toEqual({
      preset: 'recommended',
      windowMinutes: 60,
      rhythm: { timezone: 'Asia/Dubai', weekendDays: ['Sat', 'Sun'] },
    });
  });

  it('names each change that makes the baselines mean something else', () => {
    const learnt = settings();
    expect(baselineSettingsChange(learnt, settings({ windowMinutes: 30 }))).toBe(
      '60-minute -> 30-minute windows',
    );
    expect(baselineSettingsChange(learnt, settings({ preset: 'splunk-escu', rhythm: false }))).toBe(
      'preset recommended -> splunk-escu',
    );
    expect(
      baselineSettingsChange(learnt, settings({ timezone: 'America/New_York', weekendDays: ['Fri', 'Sat'] })),
    ).toBe('time zone UTC -> America/New_York, weekend Sat,Sun -> Fri,Sat');
  });

  it('refuses another calendar with rhythm off too: profiles learnt before it was turned off are still stored', () => {
    expect(baselineSettingsChange(settings(), settings({ rhythm: false, timezone: 'Asia/Tokyo' }))).toBe(
      'time zone UTC -> Asia/Tokyo',
    );
  });

  it('accepts what changes no baseline: the weekend listed in another order, rhythm turned on or off, other settings', () => {
    const learnt = settings();
    expect(baselineSettingsChange(learnt, settings({ weekendDays: ['Sun', 'Sat'] }))).toBeUndefined();
    expect(baselineSettingsChange(learnt, settings({ rhythm: false }))).toBeUndefined();
    expect(baselineSettingsChange(settings({ rhythm: false }), learnt)).toBeUndefined();
    expect(
      baselineSettingsChange(learnt, settings({ minBlockedCount: 50, cooldownMinutes: 60 })),
    ).toBeUndefined();
  });

  it("names a change of the Lambda's bucket count, reading a state item from before it was kept as 2,048", () => {
    const lambda = (buckets: number | undefined) => ({
      ...settings(),
      ...(buckets === undefined ? {} : { baselineBuckets: buckets }),
    });
    expect(baselineSettingsChange(lambda(2048), lambda(4096))).toBe(
      "2048 -> 4096 baseline buckets (baselineBuckets: each source's baseline is in another item)",
    );
    expect(baselineSettingsChange(lambda(undefined), lambda(4096))).toBe(
      "2048 -> 4096 baseline buckets (baselineBuckets: each source's baseline is in another item)",
    );
    expect(baselineSettingsChange(lambda(undefined), lambda(2048))).toBeUndefined();
    // The replay's state file has no buckets.
    expect(baselineSettingsChange(lambda(undefined), lambda(undefined))).toBeUndefined();
    expect(decodeBaselineSettings(encodeBaselineSettings(lambda(512)))).toEqual(lambda(512));
    expect(
      decodeBaselineSettings(JSON.stringify({ ...lambda(undefined), baselineBuckets: 0 })),
    ).toBeUndefined();
  });

  it('keys sources by the fields the flow log format (or Security Lake) gives, and names a change of them', () => {
    const v2 =
      '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}';
    expect(sourceKeyShape(undefined)).toBe('account|address');
    expect(sourceKeyShape(v2)).toBe('account|address');
    expect(sourceKeyShape(`${v2} \${vpc-id}`)).toBe('account|vpc|address');
    expect(sourceKeyShape('${srcaddr} ${dstaddr} ${action} ${start}')).toBe('no account|address');
    expect(sourceKeyShape(undefined, true)).toBe('account|vpc|address');
    const config = resolveDetectorConfig({ preset: 'recommended' });
    expect(
      baselineSettingsChange(
        baselineSettingsOf(config, sourceKeyShape(v2)),
        baselineSettingsOf(config, sourceKeyShape(`${v2} \${vpc-id}`)),
      ),
    ).toBe('source keys account|address -> account|vpc|address (the flow log fields)');
    expect(
      baselineSettingsChange(baselineSettingsOf(config), baselineSettingsOf(config, 'account|vpc|address')),
    ).toBeUndefined();
  });

  it('reads back what it writes, and nothing from a value it cannot read', () => {
    const learnt = settings({ timezone: 'Europe/Paris' });
    expect(decodeBaselineSettings(encodeBaselineSettings(learnt))).toEqual(learnt);
    expect(decodeBaselineSettings(undefined)).toBeUndefined();
    expect(decodeBaselineSettings('{"preset":"recommended"')).toBeUndefined();
    expect(decodeBaselineSettings('{"preset":"recommended"}')).toBeUndefined();
    expect(
      decodeBaselineSettings('{"preset":"recommended","windowMinutes":60,"rhythm":{"timezone":3}}'),
    ).toBeUndefined();
  });
});
