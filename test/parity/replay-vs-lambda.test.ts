/**
 * The replay and the Lambda decide the same alerts on the same flow log lines (test/parity/parity.ts
 * runs both). Each case also checks that its alerts are the ones it is about, so that two sides
 * agreeing on nothing cannot pass.
 */
import { withEndpoints, type Endpoints } from '../e2e/harness';
import { isoTime } from '../../lambda/core';
import {
  blockedLines,
  byKey,
  ordinaryTraffic,
  runParityCase,
  skipDataLine,
  v2Line,
  type DecidedAlert,
  type ParityCase,
} from './parity';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const D0 = Date.parse('2026-11-24T00:00:00Z');
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.1.13', '172.16.4.2', '192.168.7.7'];

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

const summary = (alerts: DecidedAlert[]) => alerts.map((a) => `${a.kind} ${a.windowStart} ${a.source}`);

/** Three days of ordinary traffic; on the third a spike at 10:00 and a new source at 14:00. */
const threeDays = (): string[] => [
  ...ordinaryTraffic(D0, 72, SOURCES, 7),
  ...blockedLines(D0 + 2 * DAY + 10 * HOUR, '10.0.1.11', 400, 20),
  ...blockedLines(D0 + 2 * DAY + 14 * HOUR, '10.0.9.9', 150, 5),
];

/** One day from a fresh start: busy sources from the first hour, a newcomer at 15:00. */
const freshDay = (): string[] => [
  ...ordinaryTraffic(D0, 20, SOURCES, 11),
  ...SOURCES.slice(0, 3).flatMap((s) => blockedLines(D0, s, 120, 4)),
  ...blockedLines(D0 + 15 * HOUR, '10.0.9.9', 150, 5),
];

describe('replay vs Lambda: the same alerts on the same flow logs', () => {
  it('a few days of ordinary traffic with a spike and a new source, after a two-day bootstrap in both', async () => {
    // Act
    const result = await runParityCase(endpoints, {
      name: 'bootstrap',
      files: [{ name: 'flows.log', lines: threeDays() }],
      bootstrapDays: 2,
    });

    // Assess
    expect(summary(result.lambda)).toEqual(
      expect.arrayContaining([
        `spike ${isoTime(D0 + 2 * DAY + 10 * HOUR)} 10.0.1.11`,
        `new-source ${isoTime(D0 + 2 * DAY + 14 * HOUR)} 10.0.9.9`,
      ]),
    );
    expect(result.replay).toEqual(result.lambda);
  });

  it('a spike, a new source and a mass spike carry the same content in both (a mass spike without details)', async () => {
    // Prepare: on the third day, 5 of the 6 sources spike together at 18:00
    const massHour = D0 + 2 * DAY + 18 * HOUR;
    const lines = [...threeDays(), ...SOURCES.slice(0, 5).flatMap((s) => blockedLines(massHour, s, 300, 12))];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'content',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: 2,
    });

    // Assess: the alerts the case is about, with their content
    const of = (kind: string) => result.lambda.find((a) => a.kind === kind);
    expect(of('spike')?.content).toMatchObject({
      uniqueDestinations: 20,
      details: { totalDestinations: expect.any(Number), interfaceIds: ['eni-00000000000100111'] },
    });
    expect(of('new-source')?.content.details?.topDestinations).toHaveLength(10);
    // A mass spike's members are its content: no details, as the engine builds it.
    expect(of('mass-spike')).toMatchObject({
      windowStart: isoTime(massHour),
      content: { uniqueDestinations: null },
    });
    expect(of('mass-spike')?.content.details).toBeUndefined();
    expect(of('mass-spike')?.content.members).toHaveLength(5);
    expect(result.replay).toEqual(result.lambda);
  });

  it('mass spikes of a spreading step mark the same held-back members with the same last alert in both', async () => {
    // Prepare: three hosts alert at 10:00; at 11:00 they are held back (300 < 2 x 200) beside three
    // that cross the line; at 12:00 the first three escalate (450) and the others are held back
    const quiet = Array.from({ length: 8 }, (_, i) => `10.0.1.${10 + i}`);
    const held = ['10.0.7.1', '10.0.7.2', '10.0.7.3'];
    const fresh = ['10.0.8.1', '10.0.8.2', '10.0.8.3'];
    const at = (hour: number) => D0 + 2 * DAY + hour * HOUR;
    const lines = [
      ...ordinaryTraffic(D0, 72, [...quiet, ...held, ...fresh], 7),
      ...held.flatMap((s) => blockedLines(at(10), s, 200, 12)),
      ...held.flatMap((s) => blockedLines(at(11), s, 300, 12)),
      ...fresh.flatMap((s) => blockedLines(at(11), s, 200, 12)),
      ...held.flatMap((s) => blockedLines(at(12), s, 450, 12)),
      ...fresh.flatMap((s) => blockedLines(at(12), s, 300, 12)),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'last-alerted',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: 2,
    });

    // Assess: 11:00 marks the first three with 10:00, 12:00 the other three with 11:00, in both
    const marked = (hour: number) =>
      result.lambda
        .filter((a) => a.kind === 'mass-spike' && a.windowStart === isoTime(at(hour)))
        .flatMap((a) => a.content.members ?? [])
        .filter((m) => m.includes(' @'));
    expect(marked(11)).toHaveLength(3);
    expect(marked(11).every((m) => m.endsWith(`@${isoTime(at(10))}`))).toBe(true);
    expect(marked(12)).toHaveLength(3);
    expect(marked(12).every((m) => m.endsWith(`@${isoTime(at(11))}`))).toBe(true);
    expect(result.replay).toEqual(result.lambda);
  });

  it('tied IPv6 destinations: the same top ten, in the same order, in both', async () => {
    // Prepare: a new source sends 10 records to each of 14 IPv6 destinations, a tie the address
    // decides; code-unit order puts `2001:db80::…` before `2001:db8::…`, localeCompare after
    const tied = Array.from({ length: 7 }, (_, i) => [`2001:db8::${i + 1}`, `2001:db80::${i + 1}`]).flat();
    const newcomerHour = D0 + 5 * HOUR;
    const lines = [
      ...ordinaryTraffic(D0, 6, SOURCES.slice(0, 2), 5),
      ...tied.flatMap((dst, d) =>
        Array.from({ length: 10 }, (_, i) =>
          v2Line({ at: newcomerHour + (d * 10 + i) * 10_000, src: '10.0.5.5', dst }),
        ),
      ),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'tied-ipv6',
      files: [{ name: 'flows.log', lines }],
    });

    // Assess
    const newcomer = result.lambda.find((a) => a.source === '10.0.5.5');
    expect(newcomer?.content.details?.topDestinations).toEqual(
      [...tied]
        .sort()
        .slice(0, 10)
        .map((address) => `${address} 443/6 x10`),
    );
    expect(result.replay).toEqual(result.lambda);
  });

  it('a fresh start: the first window only learns in both (busy sources are no new-source flood)', async () => {
    // Act
    const result = await runParityCase(endpoints, {
      name: 'fresh',
      files: [{ name: 'flows.log', lines: freshDay() }],
    });

    // Assess
    expect(summary(result.lambda)).toEqual([`new-source ${isoTime(D0 + 15 * HOUR)} 10.0.9.9`]);
    expect(result.replay).toEqual(result.lambda);
  });

  it('a dry run on a fresh detector decides what the replay decides', async () => {
    // Act
    const result = await runParityCase(endpoints, {
      name: 'dry-run',
      files: [{ name: 'flows.log', lines: freshDay() }],
      lambda: 'dry-run',
    });

    // Assess
    expect(summary(result.lambda)).toEqual([`new-source ${isoTime(D0 + 15 * HOUR)} 10.0.9.9`]);
    expect(result.replay).toEqual(result.lambda);
  });

  it('a SKIPDATA record straddling a window boundary makes both windows incomplete in both', async () => {
    // Prepare: the record runs from 09:55 into 10:05 on the third day; a new source at 10:00
    const lines = [
      ...threeDays(),
      skipDataLine(D0 + 2 * DAY + 9 * HOUR + 55 * 60_000, D0 + 2 * DAY + 10 * HOUR + 5 * 60_000),
      ...blockedLines(D0 + 2 * DAY + 10 * HOUR, '10.0.8.8', 130, 3),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'skipdata',
      files: [{ name: 'flows.log', lines }],
    } satisfies ParityCase);

    // Assess: every alert of the 10:00 window says its counts are a lower bound
    const at10 = result.lambda.filter((a) => a.windowStart === isoTime(D0 + 2 * DAY + 10 * HOUR));
    expect(at10.map((a) => a.source)).toEqual(expect.arrayContaining(['10.0.8.8']));
    expect(at10.every((a) => a.incompleteWindow)).toBe(true);
    expect(result.replay).toEqual(result.lambda);
  });

  it('IPv4-mapped IPv6 addresses are IPv6 in both: a mapped source is not internal, a mapped destination is external', async () => {
    // Prepare: ::ffff:10.0.0.9 is not inside 10.0.0.0/8 (IPv6); ::ffff:10.1.2.3 is not an internal destination
    const newcomerHour = D0 + 2 * DAY + 11 * HOUR;
    const lines = [
      ...threeDays(),
      ...Array.from({ length: 150 }, (_, i) =>
        v2Line({ at: newcomerHour + i * 20_000, src: '::ffff:10.0.0.9', dst: '8.8.8.8' }),
      ),
      ...Array.from({ length: 150 }, (_, i) =>
        v2Line({ at: newcomerHour + i * 20_000, src: '10.0.7.7', dst: '::ffff:10.1.2.3' }),
      ),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'mapped',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: 2,
    });

    // Assess
    const newcomers = result.lambda
      .filter((a) => a.windowStart === isoTime(newcomerHour))
      .map((a) => a.source);
    expect(newcomers).toEqual(['10.0.7.7']);
    expect(result.replay).toEqual(result.lambda);
  });

  it('REJECT records whose destination is no address (-, abc, 10.0.0.999) count in neither: no new source from them', async () => {
    // Prepare: a newcomer whose 150 records all name an unreadable destination, beside a real one
    const newcomerHour = D0 + 2 * DAY + 11 * HOUR;
    const lines = [
      ...threeDays(),
      ...Array.from({ length: 150 }, (_, i) =>
        v2Line({ at: newcomerHour + i * 20_000, src: '10.0.6.6', dst: ['-', 'abc', '10.0.0.999'][i % 3]! }),
      ),
      ...blockedLines(newcomerHour, '10.0.5.5', 150, 5),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'unreadable-destinations',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: 2,
    });

    // Assess
    const newcomers = result.lambda
      .filter((a) => a.windowStart === isoTime(newcomerHour))
      .map((a) => a.source);
    expect(newcomers).toEqual(['10.0.5.5']);
    expect(result.replay).toEqual(result.lambda);
  });

  it('a source whose records are in the first and the last of 51 log groups (two queries of 50): the same unique destinations in both', async () => {
    // Prepare: 10 destinations, the same ones in both groups; the other groups one quiet record each
    const files = Array.from({ length: 51 }, (_, i) => ({
      name: `g${String(i).padStart(2, '0')}.log`,
      logGroup: `g${String(i).padStart(2, '0')}`,
      lines:
        i === 0 || i === 50
          ? [...blockedLines(D0, '10.0.2.2', 3, 3), ...blockedLines(D0 + 2 * HOUR, '10.0.5.5', 80, 10)]
          : [v2Line({ at: D0 + 1000, src: '10.0.1.1', dst: '203.0.113.99' })],
    }));

    // Act
    const result = await runParityCase(endpoints, {
      name: 'groups51',
      files,
      config: { newSourceMinCount: 100 },
    });

    // Assess
    const alert = result.lambda.find((a) => a.source === '10.0.5.5');
    expect(alert).toMatchObject({ kind: 'new-source', blockedCount: 160 });
    expect(alert?.content.uniqueDestinations).toBe(10);
    expect(result.replay).toEqual(result.lambda);
  });

  it('one IPv6 address written three ways is three sources in both, each alert with the destinations of its own records', async () => {
    // Prepare
    const hour = D0 + 2 * HOUR;
    const forms = ['FD00:1::5', 'fd00:1:0:0:0:0:0:5', 'fd00:1::5'];
    const destinations = ['203.0.113.1', '2001:db8::1', '198.51.100.7'];
    const lines = [
      ...blockedLines(D0, '10.0.1.1', 5, 2),
      ...forms.flatMap((src, f) =>
        Array.from({ length: 20 + f }, (_, i) =>
          v2Line({ at: hour + i * 60_000 + f * 1000, src, dst: destinations[(i + f) % (f + 1)]! }),
        ),
      ),
      ...blockedLines(D0 + 3 * HOUR, '10.0.1.1', 5, 2),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'ipv6-forms',
      files: [{ name: 'f.log', lines }],
      config: { newSourceMinCount: 10, internalCidrs: ['10.0.0.0/8', 'fd00::/8'] },
    });

    // Assess: form f sends to f + 1 destinations
    const bySource = new Map(result.lambda.map((a) => [a.source, a]));
    expect(forms.map((f) => bySource.get(f)?.content.uniqueDestinations)).toEqual([1, 2, 3]);
    expect(forms.map((f) => bySource.get(f)?.content.details?.totalDestinations)).toEqual([1, 2, 3]);
    expect(result.replay).toEqual(result.lambda);
  });

  it("an IPv6 address written two ways of which one form alerts: its alert has its own records' destinations only, in both", async () => {
    // Prepare: the alerting form, 20 records to one destination; the other form, 3 records (below
    // newSourceMinCount) to two other destinations
    const hour = D0 + 2 * HOUR;
    const lines = [
      ...blockedLines(D0, '10.0.1.1', 5, 2),
      ...Array.from({ length: 20 }, (_, i) =>
        v2Line({ at: hour + i * 60_000, src: 'fd00:1::5', dst: '203.0.113.1' }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        v2Line({
          at: hour + i * 60_000 + 500,
          src: 'FD00:1::5',
          dst: i % 2 === 0 ? '198.51.100.7' : '2001:db8::1',
        }),
      ),
      ...blockedLines(D0 + 3 * HOUR, '10.0.1.1', 5, 2),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'ipv6-one-form-alerts',
      files: [{ name: 'f.log', lines }],
      config: { newSourceMinCount: 10, internalCidrs: ['10.0.0.0/8', 'fd00::/8'] },
    });

    // Assess
    const alert = result.lambda.find((a) => a.source === 'fd00:1::5');
    expect(result.lambda.map((a) => a.source)).not.toContain('FD00:1::5');
    expect(alert?.content.uniqueDestinations).toBe(1);
    expect(alert?.content.details?.totalDestinations).toBe(1);
    expect(result.replay).toEqual(result.lambda);
  });

  it('a directory with an empty file beside the data (the replay reads both, the Lambda has only records)', async () => {
    // Act: the empty file sorts last, where it used to reset the replay's window range
    const result = await runParityCase(endpoints, {
      name: 'empty-file',
      files: [
        { name: 'flows.log', lines: threeDays() },
        { name: 'zz-empty.log', lines: [] },
      ],
      bootstrapDays: 2,
    });

    // Assess
    expect(result.lambda.length).toBeGreaterThanOrEqual(2);
    expect(result.replay).toEqual(result.lambda);
  });

  it('a CloudWatch Logs export of the events the Lambda reads (gzip, each line after its event time)', async () => {
    // Act
    const result = await runParityCase(endpoints, {
      name: 'cloudwatch-export',
      files: [{ name: '000000.gz', lines: threeDays(), cloudWatchExport: 'gzip' }],
      bootstrapDays: 2,
    });

    // Assess
    expect(summary(result.lambda)).toEqual(
      expect.arrayContaining([
        `spike ${isoTime(D0 + 2 * DAY + 10 * HOUR)} 10.0.1.11`,
        `new-source ${isoTime(D0 + 2 * DAY + 14 * HOUR)} 10.0.9.9`,
      ]),
    );
    expect(result.replay).toEqual(result.lambda);
  });

  it('two accounts with the same addresses in their own log groups, a rhythmic source and a weekly job', async () => {
    // Prepare: accounts A and B both use 10.0.1.10 and 10.0.1.12, each with its own traffic, in
    // its own log group (the replay reads both files). B's 10.0.1.10 runs a weekly job (Tuesdays
    // 03:00, days 0, 7 and 14); A's 10.0.2.20 is busy in office hours and quiet at night. Two
    // weeks are learnt; on day 15 B's 10.0.1.12 spikes at 10:00 and A's 10.0.2.20 sends its
    // daytime volume at 02:00.
    const A = '111111111111';
    const B = '222222222222';
    const days = 16;
    const hours = days * 24;
    const rhythmic: string[] = [];
    for (let h = 0; h < hours; h += 1) {
      const hourOfDay = h % 24;
      const busy = hourOfDay >= 8 && hourOfDay < 18;
      const count = busy ? 36 + ((h * 7) % 9) : 1 + (h % 3);
      rhythmic.push(...blockedLines(D0 + h * HOUR, '10.0.2.20', count, 4, A));
    }
    const job = [0, 7, 14].flatMap((day) =>
      blockedLines(D0 + day * DAY + 3 * HOUR, '10.0.1.10', 150 + day, 6, B),
    );
    const filesOfA = [
      ...ordinaryTraffic(D0, hours, ['10.0.1.10', '10.0.1.12'], 21, A),
      ...rhythmic,
      ...blockedLines(D0 + 15 * DAY + 2 * HOUR, '10.0.2.20', 40, 4, A),
    ];
    const filesOfB = [
      ...ordinaryTraffic(D0, hours, ['10.0.1.10', '10.0.1.12'], 22, B),
      ...job,
      ...blockedLines(D0 + 15 * DAY + 10 * HOUR, '10.0.1.12', 400, 20, B),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'accounts',
      files: [
        { name: 'account-a.log', lines: filesOfA, logGroup: 'account-a' },
        { name: 'account-b.log', lines: filesOfB, logGroup: 'account-b' },
      ],
      bootstrapDays: 14,
    });

    // Assess: the alerts are the ones the case is about, each naming its own account's source
    const alerts = byKey(result.lambda);
    expect(alerts).toEqual(
      expect.arrayContaining([
        `spike ${isoTime(D0 + 15 * DAY + 10 * HOUR)} ${B}|10.0.1.12`,
        `spike ${isoTime(D0 + 15 * DAY + 2 * HOUR)} ${A}|10.0.2.20`,
      ]),
    );
    // The job's third occurrence (day 14, 03:00) is a known weekly job: no alert for it.
    expect(result.lambda.filter((a) => a.windowStart === isoTime(D0 + 14 * DAY + 3 * HOUR))).toEqual([]);
    // A's 10.0.1.12 never alerts with B's; the rhythmic source's office hours are usual.
    expect(alerts.filter((a) => a.includes(`${A}|10.0.1.12`))).toEqual([]);
    expect(
      result.lambda.filter(
        (a) => a.keys === `${A}|10.0.2.20` && a.windowStart !== isoTime(D0 + 15 * DAY + 2 * HOUR),
      ),
    ).toEqual([]);
    expect(result.replay).toEqual(result.lambda);
  });
});
