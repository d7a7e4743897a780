import { InvalidPayloadError, parseInvocation } from '../../lambda/manual-payload';
import { resolveDetectorConfig } from '../../lambda/core';

const config = resolveDetectorConfig({});
const config15 = resolveDetectorConfig({ windowMinutes: 15, maxCatchUpWindows: 4 });
const T = (iso: string) => Date.parse(iso);

describe('parseInvocation', () => {
  it.each([
    [
      'an EventBridge rule event',
      { version: '0', id: 'x', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
    ],
    ['an empty payload', {}],
    ["the stack's EventBridge Scheduler payload", { source: 'egress-spike-detector.schedule' }],
    ['no payload', undefined],
    ['JSON null', null],
  ])('treats %s as a scheduled run', (_name, event) => {
    expect(parseInvocation(event, config)).toEqual({ mode: 'scheduled' });
  });

  it.each([
    [{ mode: 'detect' }, { mode: 'detect' }],
    [{ mode: 'test-alert' }, { mode: 'test-alert' }],
    [{ mode: 'republish-parked' }, { mode: 'republish-parked' }],
    [{ mode: 'dry-run' }, { mode: 'dry-run' }],
    [
      { mode: 'dry-run', windowStart: '2026-11-27T09:00:00Z' },
      { mode: 'dry-run', windowStart: T('2026-11-27T09:00:00Z') },
    ],
    [
      { mode: 'dry-run', windowStart: '1970-01-01T00:00:00Z' },
      { mode: 'dry-run', windowStart: 0 },
    ],
    [
      { mode: 'dry-run', windowStart: '2026-11-27T11:00:00+02:00', windowEnd: '2026-11-27T12:00:00Z' },
      { mode: 'dry-run', windowStart: T('2026-11-27T09:00:00Z'), windowEnd: T('2026-11-27T12:00:00Z') },
    ],
    [{ mode: 'bootstrap' }, { mode: 'bootstrap', days: 30, overwrite: false }],
    [
      { mode: 'bootstrap', days: 7, overwrite: true },
      { mode: 'bootstrap', days: 7, overwrite: true },
    ],
    [
      { mode: 'skip', windowStart: '2026-11-27T09:00:00Z' },
      { mode: 'skip', windowStart: T('2026-11-27T09:00:00Z') },
    ],
    [
      { mode: 'skip', windowStart: '2026-11-27T09:00:00Z', windowEnd: '2026-11-27T12:00:00Z' },
      { mode: 'skip', windowStart: T('2026-11-27T09:00:00Z'), windowEnd: T('2026-11-27T12:00:00Z') },
    ],
  ])('accepts %j', (event, expected) => {
    expect(parseInvocation(event, config)).toEqual(expected);
  });

  it.each([
    [
      { mode: 'Detect' },
      ['mode'],
      /payload\.mode: must be one of "detect", "dry-run", "bootstrap", "skip", "test-alert", "republish-parked" \(got "Detect"\)/,
    ],
    [{ mode: 'skip' }, ['windowStart'], /payload\.windowStart: /],
    [{ mode: 'skip', windowStart: '2026-11-27T09:30:00Z' }, ['windowStart'], /must be aligned to 60-minute/],
    [
      { mode: 'skip', windowStart: '2026-11-27T09:00:00Z', windowEnd: '2026-11-27T08:00:00Z' },
      ['windowEnd'],
      /must be after windowStart/,
    ],
    [
      { mode: 'skip', windowStart: '2026-10-01T00:00:00Z', windowEnd: '2026-11-27T09:00:00Z' },
      ['windowEnd'],
      /spans 1377 windows; a skip moves over at most 744/,
    ],
    [{ mode: 'skip', windowStart: '2026-11-27T09:00:00Z', days: 1 }, ['days'], /Unrecognized key: "days"/],
    [
      { mode: 'detect', windowStart: '2026-11-27T09:00:00Z' },
      ['windowStart'],
      /Unrecognized key: "windowStart"/,
    ],
    [{ mode: 'test-alert', days: 3 }, ['days'], /Unrecognized key: "days"/],
    [{ mode: 'republish-parked', alertIds: [] }, ['alertIds'], /Unrecognized key: "alertIds"/],
    [{ mode: 'bootstrap', days: 0 }, ['days'], /payload\.days: .*>=1.*\(got 0\)/],
    [{ mode: 'bootstrap', days: 91 }, ['days'], /payload\.days: .*<=90.*\(got 91\)/],
    [{ mode: 'bootstrap', days: '30' }, ['days'], /payload\.days: .*number/],
    [{ mode: 'bootstrap', overwrite: 'yes' }, ['overwrite'], /payload\.overwrite/],
    [
      { mode: 'dry-run', windowStart: '2026-11-27T09:30:00Z' },
      ['windowStart'],
      /must be aligned to 60-minute UTC windows/,
    ],
    // The grammar takes years 0000-9999; Logs Insights refuses times before 1970 (after state was read).
    [
      { mode: 'dry-run', windowStart: '0000-01-01T00:00:00Z' },
      ['windowStart'],
      /payload\.windowStart: must not be before 1970-01-01T00:00:00Z/,
    ],
    [
      { mode: 'dry-run', windowStart: '1969-12-31T23:00:00Z' },
      ['windowStart'],
      /payload\.windowStart: must not be before 1970-01-01T00:00:00Z/,
    ],
    [
      { mode: 'skip', windowStart: '1969-12-31T22:00:00Z', windowEnd: '1969-12-31T23:00:00Z' },
      ['windowStart', 'windowEnd'],
      /must not be before 1970/,
    ],
    [{ mode: 'dry-run', windowStart: '2026-11-27 09:00' }, ['windowStart'], /must be an ISO-8601 time/],
    [
      { mode: 'dry-run', windowStart: '2026-11-27T09:00:00' },
      ['windowStart'],
      /must be an ISO-8601 time with Z or an offset/,
    ],
    [
      { mode: 'dry-run', windowEnd: '2026-11-27T09:00:00Z' },
      ['windowEnd'],
      /payload\.windowEnd: needs windowStart/,
    ],
    [
      { mode: 'dry-run', windowStart: '2026-11-27T09:00:00Z', windowEnd: '2026-11-27T09:00:00Z' },
      ['windowEnd'],
      /must be after windowStart/,
    ],
    [
      { mode: 'dry-run', windowStart: '2026-11-26T00:00:00Z', windowEnd: '2026-11-27T09:00:00Z' },
      ['windowEnd'],
      /spans 33 windows; a dry run evaluates at most maxCatchUpWindows \(24\)/,
    ],
    // Not a schedule's event and no mode: refused, so a misspelt dry run commits and publishes nothing.
    [{ Mode: 'dry-run' }, ['mode', 'Mode'], /no "mode", and "Mode" is not a field of a scheduled event/],
    [
      { dryRun: true, days: 3 },
      ['mode', 'dryRun', 'days'],
      /"dryRun", "days" are not fields of a scheduled event/,
    ],
    [
      { source: 'egress-spike-detector.schedule', windowStart: '2026-11-27T09:00:00Z' },
      ['mode', 'windowStart'],
      /names its mode, one of "detect", "dry-run", "bootstrap", "skip", "test-alert", "republish-parked"/,
    ],
    ['dry-run', ['payload'], /a string \(got "dry-run"\); a manual invocation is an object with "mode"/],
    [[{ mode: 'bootstrap' }], ['payload'], /an array/],
    [42, ['payload'], /a number/],
    // Query injection through a payload field never reaches a query: the grammar rejects it first.
    [
      { mode: 'dry-run', windowStart: '2026-11-27T09:00:00Z" | filter srcAddr like /./ | limit 1' },
      ['windowStart'],
      /must be an ISO-8601 time/,
    ],
  ])('rejects %j naming the field', (event, fields, message) => {
    let caught: unknown;
    try {
      parseInvocation(event, config);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidPayloadError);
    expect((caught as InvalidPayloadError).fields).toEqual(fields);
    expect((caught as InvalidPayloadError).message).toMatch(message);
  });

  it('aligns to the configured window length', () => {
    expect(parseInvocation({ mode: 'dry-run', windowStart: '2026-11-27T09:15:00Z' }, config15)).toEqual({
      mode: 'dry-run',
      windowStart: T('2026-11-27T09:15:00Z'),
    });
    expect(() =>
      parseInvocation(
        { mode: 'dry-run', windowStart: '2026-11-27T09:15:00Z', windowEnd: '2026-11-27T10:30:00Z' },
        config15,
      ),
    ).toThrow(/spans 5 windows/);
  });
});
