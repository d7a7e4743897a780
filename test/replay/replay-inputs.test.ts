/**
 * The replay facing odd input: files with no records beside real data, start times far from the
 * rest of the data, a fresh replay's first window, SKIPDATA across window boundaries.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  DEFAULT_FLOW_LOG_FORMAT,
  EgressFilter,
  parseFlowLogFormat,
  resolveDetectorConfig,
  type Alert,
} from '../../lambda/core';
import { scanChunk } from '../../lambda/replay/file-reader';
import { FlowLineScanner } from '../../lambda/replay/flow-line-scanner';
import { V2_HEADER, generateSample } from '../../scripts/flow-log-sample';
import { MemoryBaselineStore } from '../../lambda/replay/memory-store';
import { runReplay, type ReplayResult } from '../../lambda/replay/replay';
import { toHumanText } from '../../lambda/replay/text-output';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'replay-inputs-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const comparable = (alerts: readonly Alert[]) => JSON.parse(JSON.stringify(alerts)) as unknown;

/** The parts of a result that must not depend on files that hold no records. */
const decided = (result: ReplayResult) => ({
  alerts: comparable(result.alerts),
  firstWindow: result.summary.firstWindow,
  lastWindow: result.summary.lastWindow,
  windows: result.summary.windows,
  recordsCounted: result.summary.recordsCounted,
  baselines: result.store.toJSON(result.config),
});

describe('files with no datable row', () => {
  it('change nothing but the summary, in any file order', async () => {
    // Prepare: real data in two files, and beside them an empty file, a header-only file and a
    // stray text file, named so that they sort before, between and after the data.
    const config = resolveDetectorConfig({});
    const lines = [...generateSample({ days: 3, hosts: 12, seed: 21 })].join('').split('\n');
    const half = Math.floor(lines.length / 2);
    const data = join(dir, 'nodata-case');
    await fs.mkdir(data);
    await fs.writeFile(join(data, 'b-data.log'), lines.slice(0, half).join('\n'));
    await fs.writeFile(join(data, 'd-data.log'), lines.slice(half).join('\n'));
    const alone = await runReplay({ inputs: [join(data, 'b-data.log'), join(data, 'd-data.log')], config });
    await fs.writeFile(join(data, 'a-empty.log'), '');
    await fs.writeFile(join(data, 'c-header-only.log'), `${V2_HEADER}\n`);
    await fs.writeFile(join(data, 'e-notes.txt'), 'exported from the console on Monday\nsee the ticket\n');
    await fs.writeFile(join(data, 'f-empty.log.gz'), gzipSync(''));
    // Zero bytes under a gzip or Parquet name (a download cut off before its first byte).
    await fs.writeFile(join(data, 'g-zero-bytes.log.gz'), '');
    await fs.writeFile(join(data, 'h-zero-bytes.log.parquet'), '');
    const names = [
      'a-empty.log',
      'b-data.log',
      'c-header-only.log',
      'd-data.log',
      'e-notes.txt',
      'f-empty.log.gz',
      'g-zero-bytes.log.gz',
      'h-zero-bytes.log.parquet',
    ];
    // Act: the directory, and the files named in several orders.
    const orders = [
      [data],
      names.map((n) => join(data, n)),
      [...names].reverse().map((n) => join(data, n)),
      [
        'h-zero-bytes.log.parquet',
        'd-data.log',
        'a-empty.log',
        'e-notes.txt',
        'b-data.log',
        'f-empty.log.gz',
        'g-zero-bytes.log.gz',
        'c-header-only.log',
      ].map((n) => join(data, n)),
    ];
    const results = await Promise.all(orders.map((inputs) => runReplay({ inputs, config })));
    // Assess
    expect(alone.alerts.length).toBeGreaterThan(0);
    for (const result of results) expect(decided(result)).toEqual(decided(alone));
    expect(alone.summary.filesWithoutRecords).toBe(0);
    for (const result of results) {
      expect(result.summary).toMatchObject({
        files: 8,
        filesWithoutRecords: 6,
        malformedLines: 2,
        headerLines: 2,
      });
    }
  });

  it('read once when two inputs reach them (a directory and a file in it, a link): counts as if named once', async () => {
    // Prepare
    const config = resolveDetectorConfig({});
    const data = join(dir, 'overlap-case');
    await fs.mkdir(join(data, 'sub'), { recursive: true });
    await fs.writeFile(
      join(data, 'sub', 'a.log'),
      [...generateSample({ days: 2, hosts: 8, seed: 7 })].join(''),
    );
    await fs.symlink(join(data, 'sub', 'a.log'), join(data, 'link.log'));
    const once = await runReplay({ inputs: [join(data, 'sub', 'a.log')], config });

    // Act
    const overlapping = await runReplay({
      inputs: [data, join(data, 'sub', 'a.log'), join(data, 'sub')],
      config,
    });

    // Assess
    expect(overlapping.summary).toMatchObject({
      files: 1,
      filesNamedTwice: 1, // one file, reached four times
      recordsCounted: once.summary.recordsCounted,
    });
    expect(decided(overlapping)).toEqual(decided(once));
    expect(once.summary.filesNamedTwice).toBe(0);
  });

  it('are counted even when the data is split into ranges scanned apart', async () => {
    const config = resolveDetectorConfig({});
    const lines = [...generateSample({ days: 2, hosts: 8, seed: 5 })].join('');
    const data = join(dir, 'ranges-case');
    await fs.mkdir(data);
    await fs.writeFile(join(data, 'data.log'), lines);
    await fs.writeFile(join(data, 'empty.log'), '');
    // Ranges of a few KB: many chunks of one file, none of them without records.
    const result = await runReplay({ inputs: [data], config, parallelBytes: 4096, workers: 2 });
    expect(result.summary.chunks).toBeGreaterThan(3);
    expect(result.summary.filesWithoutRecords).toBe(1);
  });
});

/** Flow log lines for `count` blocked records from `src` in the window starting at `windowMs`. */
function blocked(src: string, windowMs: number, count: number, dst = '203.0.113.9'): string[] {
  const start = Math.floor(windowMs / 1000);
  return Array.from(
    { length: count },
    (_, i) =>
      `2 123456789012 eni-0abc ${src} ${dst} ${40000 + i} 443 6 1 60 ${start + (i % 3000)} ${start + (i % 3000) + 30} REJECT OK`,
  );
}

const HOUR = 3_600_000;
const W0 = Date.UTC(2026, 9, 1);

describe('a fresh replay', () => {
  it('learns its first window, as a fresh Lambda does, and says so', async () => {
    // Prepare: 40 busy sources in the first window (each above newSourceMinCount), and one new
    // busy source three hours later.
    const config = resolveDetectorConfig({});
    const lines: string[] = [];
    for (let i = 0; i < 40; i += 1) lines.push(...blocked(`10.0.1.${i + 1}`, W0, 150 + i));
    lines.push(...blocked('10.0.9.9', W0 + 3 * HOUR, 200));
    const path = join(dir, 'fresh.log');
    await fs.writeFile(path, lines.join('\n'));
    // Act
    const result = await runReplay({ inputs: [path], config });
    // Assess: no flood; the later newcomer still alerts; every first-window source has a baseline.
    expect(result.alerts.map((a) => [a.kind, a.srcIp, a.windowStart])).toEqual([
      ['new-source', '10.0.9.9', '2026-10-01T03:00:00Z'],
    ]);
    expect(result.summary).toMatchObject({ firstWindowLearnOnly: true, windows: 4, detectedWindows: 4 });
    // The same whether --state was left out or names a new file: the text says "no state yet".
    expect(toHumanText(result, { inputs: [path] })).toContain(
      'the first only learned baselines, as a new detector does (no state yet, and no --bootstrap-days)',
    );
    expect(result.store.baselines.get('123456789012|10.0.1.1')).toMatchObject({ mean: 150, dataPoints: 1 });
    expect(result.store.baselines.get('123456789012|10.0.1.1')?.lastAlertWindow).toBeUndefined();
  });

  it('detects from its first window when it continues a state or bootstraps', async () => {
    const config = resolveDetectorConfig({});
    const path = join(dir, 'continued.log');
    await fs.writeFile(path, [...blocked('10.0.1.1', W0 + 24 * HOUR, 150)].join('\n'));
    const earlier = join(dir, 'earlier.log');
    await fs.writeFile(earlier, [...blocked('10.0.2.2', W0, 5)].join('\n'));
    const first = await runReplay({ inputs: [earlier], config });
    expect(first.summary.firstWindowLearnOnly).toBe(true);
    const continued = await runReplay({ inputs: [path], config, store: first.store });
    expect(continued.summary.firstWindowLearnOnly).toBe(false);
    expect(continued.alerts.map((a) => a.kind)).toEqual(['new-source']);
    const bootstrapped = await runReplay({ inputs: [earlier, path], config, bootstrapDays: 1 });
    expect(bootstrapped.summary).toMatchObject({ firstWindowLearnOnly: false, bootstrapWindows: 24 });
    expect(bootstrapped.alerts.map((a) => a.kind)).toEqual(['new-source']);
  });
});

describe('alert details', () => {
  it('rank destinations by records, then address, port and protocol, and count them all', async () => {
    // Prepare: a quiet first window (a fresh replay learns it), then a new source with 150
    // records to 24 (address, port, protocol) destinations with many ties, from two interfaces
    // and rows without one.
    const config = resolveDetectorConfig({});
    const t = Math.floor((W0 + HOUR) / 1000);
    const lines = blocked('10.0.0.1', W0, 3);
    const expected = new Map<string, number>();
    let row = 0;
    for (let a = 0; a < 8; a += 1) {
      for (const [port, protocol] of [
        [443, 6],
        [443, 17],
        [53, 17],
      ] as const) {
        const address = a % 2 === 0 ? `198.51.100.${20 - a}` : `2001:db8::${a}`;
        const count = [10, 10, 6, 6, 6, 4, 4, 4][a] as number;
        expected.set(`${address} ${port} ${protocol}`, count);
        for (let i = 0; i < count; i += 1, row += 1) {
          const eni = ['eni-1', 'eni-2', '-'][row % 3] as string;
          lines.push(
            `2 123456789012 ${eni} 10.0.5.5 ${address} ${40000 + i} ${port} ${protocol} 1 60 ${t + row} ${t + row + 5} REJECT OK`,
          );
        }
      }
    }
    const path = join(dir, 'details.log');
    await fs.writeFile(path, lines.join('\n'));
    // Act: details tallied by the count pass (gzip-like budget) and read again (budget 0).
    const results = [
      await runReplay({ inputs: [path], config }),
      await runReplay({ inputs: [path], config, detailsBudget: 0 }),
    ];
    // Assess
    const ranked = [...expected]
      .map(([key, count]) => {
        const [address = '', port, protocol] = key.split(' ');
        return { address, port: Number(port), protocol: Number(protocol), count };
      })
      .sort(
        (x, y) =>
          y.count - x.count ||
          (x.address < y.address ? -1 : x.address > y.address ? 1 : 0) ||
          x.port - y.port ||
          x.protocol - y.protocol,
      );
    for (const result of results) {
      expect(result.alerts).toHaveLength(1);
      expect(result.alerts[0]).toMatchObject({
        kind: 'new-source',
        srcIp: '10.0.5.5',
        blockedCount: row,
        uniqueDestinations: 8,
        details: {
          topDestinations: ranked.slice(0, 10),
          totalDestinations: 24,
          interfaceIds: ['eni-1', 'eni-2'],
        },
      });
    }
  });
});

describe('SKIPDATA', () => {
  // One rule for every path: each window a SKIPDATA record's [start, end] overlaps is incomplete.
  const skipRow = (format: 'v2' | 'end-first') => {
    const [start, end] = [Math.floor(W0 / 1000) + 3500, Math.floor(W0 / 1000) + 3700];
    return format === 'v2'
      ? `2 123456789012 eni-0a2 - - - - - - - ${start} ${end} - SKIPDATA`
      : `2 ${end} eni-0a2 - - - - - - - ${start} - SKIPDATA`;
  };
  const END_FIRST =
    'version end interface-id srcaddr dstaddr srcport dstport protocol packets bytes start action log-status';

  it.each([
    ['v2', undefined],
    ['end-first', END_FIRST],
  ] as const)(
    '(%s format) marks both windows of a row straddling their boundary, on every path and in gzip',
    async (format, fields) => {
      const text = `${skipRow(format)}\n`;
      const plain = join(dir, `skip-${format}.log`);
      const gzipped = join(dir, `skip-${format}.log.gz`);
      await fs.writeFile(plain, text);
      await fs.writeFile(gzipped, gzipSync(text));
      const windows: number[][] = [];
      for (const paths of [
        { fastPaths: false },
        { fastPaths: true, kernel: false },
        { fastPaths: true, kernel: true },
      ]) {
        for (const chunk of [
          { path: plain, gzip: false, from: 0, to: text.length },
          { path: gzipped, gzip: true, from: 0, to: 0 },
        ]) {
          const scanner = new FlowLineScanner({
            filter: new EgressFilter(resolveDetectorConfig({})),
            windowMinutes: 60,
            fields: fields === undefined ? DEFAULT_FLOW_LOG_FORMAT : parseFlowLogFormat(fields),
            mode: 'count',
            ...paths,
          });
          await scanChunk(chunk, scanner);
          const result = scanner.takeResult();
          expect(result.stats).toMatchObject({ skipDataRecords: 1, malformedLines: 0 });
          windows.push([...result.skipDataWindows].sort());
        }
      }
      expect(windows).toEqual(Array.from({ length: 6 }, () => [W0, W0 + HOUR]));
    },
  );

  it('makes the alerts of both windows say incompleteWindow, and counts both as incomplete', async () => {
    // Prepare: a quiet first window (a fresh replay learns it), a new source with a burst in the
    // second, and a SKIPDATA row from the end of the first into the second.
    const config = resolveDetectorConfig({});
    const lines = [...blocked('10.0.0.1', W0, 3), ...blocked('10.0.5.5', W0 + HOUR, 150), skipRow('v2')];
    const path = join(dir, 'skip-alert.log');
    await fs.writeFile(path, lines.join('\n'));
    // Act
    const result = await runReplay({ inputs: [path], config });
    // Assess
    expect(result.alerts.map((a) => [a.kind, a.srcIp, a.windowStart, a.incompleteWindow])).toEqual([
      ['new-source', '10.0.5.5', '2026-10-01T01:00:00Z', true],
    ]);
    expect(result.summary).toMatchObject({ windows: 2, incompleteWindows: 2, skipDataRecords: 1 });
  });
});

describe('start times far from the rest of the data', () => {
  const absurd = [
    // The cases: no epoch seconds at all, a millisecond timestamp, the year 2100.
    `2 123456789012 eni-0bad 10.0.0.10 203.0.113.9 40000 443 6 1 60 999999999999999 999999999999999 REJECT OK`,
    `2 123456789012 eni-0bad 10.0.0.10 203.0.113.9 40000 443 6 1 60 1790812800000 1790812800060 REJECT OK`,
    `2 123456789012 eni-0bad 10.0.0.10 203.0.113.9 40000 443 6 1 60 4102444800 4102444860 REJECT OK`,
    `2 123456789012 eni-0bad 10.0.0.10 203.0.113.9 40000 443 6 1 60 4102444800 4102444860 ACCEPT OK`,
    // 1970, and rows that cannot count: they would stretch the range all the same.
    `2 123456789012 eni-0bad 10.0.0.10 203.0.113.9 40000 443 6 1 60 86400 86460 REJECT OK`,
    `2 123456789012 eni-0bad - - - - - - - 4102444800 4102445400 - NODATA`,
    `2 123456789012 eni-0bad - - - - - - - 4102444800 4102445400 - SKIPDATA`,
  ];
  const v2Lines = () => [...generateSample({ days: 2, hosts: 10, seed: 8 })].join('').trimEnd().split('\n');

  it.each([
    ['plain, in the kernel', false, undefined],
    ['gzip, in the kernel', true, undefined],
    ['plain, a custom format (JavaScript paths)', false, 'v3'],
  ] as const)('are malformed lines with a reason, and change nothing else (%s)', async (_, gzip, format) => {
    // Prepare: two days of data with the absurd rows spread through it.
    let lines = v2Lines();
    if (format === 'v3') {
      // The same records in another field order: version srcaddr dstaddr ... log-status account-id.
      lines = lines.map((l) => {
        const f = l.split(' ');
        return [f[0], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13], f[1], f[2]].join(
          ' ',
        );
      });
      lines[0] =
        'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status account-id interface-id';
    }
    const rows =
      format === 'v3'
        ? absurd.map((l) => {
            const f = l.split(' ');
            return [
              f[0],
              f[3],
              f[4],
              f[5],
              f[6],
              f[7],
              f[8],
              f[9],
              f[10],
              f[11],
              f[12],
              f[13],
              f[1],
              f[2],
            ].join(' ');
          })
        : absurd;
    const mixed = [...lines];
    rows.forEach((row, i) =>
      mixed.splice(1 + Math.floor(((i + 1) * (lines.length - 1)) / (rows.length + 1)), 0, row),
    );
    const write = async (name: string, text: string) => {
      const path = join(dir, `${name}${gzip ? '.log.gz' : '.log'}`);
      await fs.writeFile(path, gzip ? gzipSync(text) : text);
      return path;
    };
    const clean = await write(`clean-${format ?? 'v2'}`, lines.join('\n'));
    const dirty = await write(`dirty-${format ?? 'v2'}`, mixed.join('\n'));
    const config = resolveDetectorConfig({});
    // Act
    const [expected, result] = await Promise.all([
      runReplay({ inputs: [clean], config }),
      runReplay({ inputs: [dirty], config }),
    ]);
    // Assess
    expect(decided(result)).toEqual(decided(expected));
    expect(result.summary.windows).toBe(48);
    expect(result.summary.malformedLines).toBe(absurd.length);
    // The first five, in file order (a scanner keeps five examples).
    const far = (start: string) =>
      `start ${start} is implausibly far from the rest of the data (most of it is from about 2026-09-30 to 2026-10-03; a start is plausible from 2025-09-29 to 2027-10-04)`;
    expect(result.malformedExamples.map((e) => e.reason)).toEqual([
      'start 999999999999999 is not a time in epoch seconds (after 2106; milliseconds?)',
      'start 1790812800000 is not a time in epoch seconds (after 2106; milliseconds?)',
      far('4102444800 (2100-01-01T00:00:00Z)'),
      far('4102444800 (2100-01-01T00:00:00Z)'),
      far('86400 (1970-01-02T00:00:00Z)'),
    ]);
  });

  it('are refused alike by the kernel, the JavaScript fast paths and the general path', () => {
    const good = blocked('10.0.0.10', W0, 2);
    const buffer = Buffer.from(`${[...good, ...absurd].join('\n')}\n`, 'latin1');
    const band = { low: Math.floor(W0 / 1000) - 86_400, high: Math.floor(W0 / 1000) + 86_400, why: 'a test' };
    for (const paths of [
      { fastPaths: false },
      { fastPaths: true, kernel: false },
      { fastPaths: true, kernel: true },
    ]) {
      for (const startBand of [undefined, band]) {
        const scanner = new FlowLineScanner({
          filter: new EgressFilter(resolveDetectorConfig({})),
          windowMinutes: 60,
          fields: DEFAULT_FLOW_LOG_FORMAT,
          mode: 'count',
          maxExamples: 10,
          startBand,
          ...paths,
        });
        scanner.beginFile('absurd.log');
        scanner.scan(buffer, 0, buffer.length, 0);
        const result = scanner.takeResult();
        // Without a band only the two that are no epoch seconds at all; with it, every one.
        expect(result.stats.malformedLines).toBe(startBand ? absurd.length : 2);
        expect(result.examples.map((e) => e.reason.split(' (')[0])).toEqual(
          startBand
            ? [
                'start 999999999999999 is not a time in epoch seconds',
                'start 1790812800000 is not a time in epoch seconds',
                ...Array.from({ length: 5 }, (_, i) => `start ${i === 2 ? 86400 : 4102444800}`),
              ]
            : [
                'start 999999999999999 is not a time in epoch seconds',
                'start 1790812800000 is not a time in epoch seconds',
              ],
        );
        expect(result.counts.get(W0)?.get('123456789012|10.0.0.10')).toBe(2);
        expect(result.stats.recordsCounted).toBe(startBand ? 2 : 4);
        expect([...result.startHistogram.values()].reduce((a, b) => a + b, 0)).toBe(startBand ? 2 : 7);
      }
    }
  });

  it("are malformed in a small resumed input too: the state file's watermark weighs in as data", async () => {
    // Prepare: two days replayed into a store, then a delivery of three rows, one of them of 2100
    const config = resolveDetectorConfig({});
    const store = new MemoryBaselineStore();
    const days = join(dir, 'resume-days.log');
    await fs.writeFile(days, v2Lines().join('\n'));
    await runReplay({ inputs: [days], config, store });
    const watermark = store.watermark!;
    const next = watermark + HOUR;
    const delivery = join(dir, 'resume-delivery.log');
    await fs.writeFile(delivery, [V2_HEADER.trim(), ...blocked('10.0.0.10', next, 2), absurd[2]].join('\n'));

    // Act
    const result = await runReplay({ inputs: [delivery], config, store });

    // Assess: the far row is a malformed line, the run evaluates the delivery's hour only
    expect(result.summary).toMatchObject({ malformedLines: 1, windows: 1, recordsCounted: 2 });
    expect(result.malformedExamples[0]?.reason).toMatch(
      /^start 4102444800 \(2100-01-01T00:00:00Z\) is implausibly far/,
    );
    expect(store.watermark).toBe(next);
  });

  it('bounds the windows evaluated, naming the option that lifts the bound', async () => {
    // Two rows 20 years apart: no bulk to tell which is right, so both stand; the span decides.
    const path = join(dir, 'two-rows.log');
    await fs.writeFile(
      path,
      [...blocked('10.0.0.1', W0, 1), ...blocked('10.0.0.1', W0 + 20 * 365 * 24 * HOUR, 1)].join('\n'),
    );
    const config = resolveDetectorConfig({});
    await expect(runReplay({ inputs: [path], config, maxWindows: 100_000 })).rejects.toThrow(
      'the input spans 175,201 windows of 60 minutes (2026-10-01T00:00:00Z to 2046-09-26T00:00:00Z), more than --max-windows allows (100,000); raise --max-windows to evaluate them all',
    );
    const minutes = resolveDetectorConfig({ windowMinutes: 1 });
    await expect(runReplay({ inputs: [path], config: minutes })).rejects.toThrow(
      'more than --max-windows allows (1,000,000)',
    );
    const lifted = await runReplay({ inputs: [path], config, maxWindows: 175_201 });
    expect(lifted.summary).toMatchObject({ windows: 175_201, malformedLines: 0 });
  });
});

describe('a CloudWatch Logs export (aws logs create-export-task)', () => {
  it('decides the same alerts and counts as the same records delivered to S3: plain, gzip and split into ranges', async () => {
    // Prepare: the sample as an S3 delivery (a header, then records) and as an export (each
    // record after its event time, `<ISO-8601> <message>`, as the export task writes it)
    const config = resolveDetectorConfig({});
    const delivered = [...generateSample({ days: 3, hosts: 12, seed: 33 })].join('');
    const exported = delivered
      .split('\n')
      .filter((row) => row !== '' && row !== V2_HEADER)
      .map((row) => `${new Date(Number(row.split(' ')[10]) * 1000).toISOString()} ${row}\n`)
      .join('');
    const data = join(dir, 'export-case');
    await fs.mkdir(data);
    const paths = {
      delivered: join(data, 'delivered.log'),
      plain: join(data, '000000'),
      gzip: join(data, '000000.gz'),
    };
    await fs.writeFile(paths.delivered, delivered);
    await fs.writeFile(paths.plain, exported);
    await fs.writeFile(paths.gzip, gzipSync(exported));
    // Act
    const s3 = await runReplay({ inputs: [paths.delivered], config });
    const exports = await Promise.all([
      runReplay({ inputs: [paths.plain], config }),
      runReplay({ inputs: [paths.gzip], config }),
      runReplay({ inputs: [paths.plain], config, parallelBytes: 4096, workers: 2 }),
    ]);
    // Assess
    expect(s3.alerts.length).toBeGreaterThan(0);
    expect(s3.summary.malformedLines).toBe(0);
    const records = (result: ReplayResult) => ({
      malformedLines: result.summary.malformedLines,
      okRecords: result.summary.okRecords,
      rejectRecords: result.summary.rejectRecords,
      recordsCounted: result.summary.recordsCounted,
    });
    expect(exports[2]?.summary.chunks).toBeGreaterThan(3);
    for (const result of exports) {
      expect(decided(result)).toEqual(decided(s3));
      expect(records(result)).toEqual(records(s3));
      expect(result.summary.linesRead).toBe(s3.summary.linesRead - 1); // no header line
    }
  });
});

describe('a file that starts with a UTF-8 byte order mark', () => {
  it('reads its header and records as without it: plain, gzip and split into ranges', async () => {
    // Prepare: the sample in a custom format (addresses first), saved with a BOM as PowerShell's
    // UTF8 encoding writes it
    const config = resolveDetectorConfig({});
    const fields = V2_HEADER.split(' ');
    const order = [
      'srcaddr',
      'dstaddr',
      'start',
      'end',
      'action',
      'log-status',
      'account-id',
      'interface-id',
    ];
    const custom = [...generateSample({ days: 3, hosts: 12, seed: 41 })]
      .join('')
      .split('\n')
      .filter((row) => row !== '' && row !== V2_HEADER)
      .map((row) => {
        const values = row.split(' ');
        return order.map((name) => values[fields.indexOf(name)]).join(' ');
      });
    const text = `${order.join(' ')}\n${custom.join('\n')}\n`;
    const data = join(dir, 'bom-case');
    await fs.mkdir(data);
    const paths = {
      plain: join(data, 'plain.log'),
      bom: join(data, 'bom.log'),
      gzip: join(data, 'bom.log.gz'),
    };
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    await fs.writeFile(paths.plain, text);
    await fs.writeFile(paths.bom, bom);
    await fs.writeFile(paths.gzip, gzipSync(bom));

    // Act
    const without = await runReplay({ inputs: [paths.plain], config });
    const withBom = await Promise.all([
      runReplay({ inputs: [paths.bom], config }),
      runReplay({ inputs: [paths.gzip], config }),
      runReplay({ inputs: [paths.bom], config, parallelBytes: 4096, workers: 2 }),
    ]);

    // Assess
    expect(without.summary).toMatchObject({ malformedLines: 0, headerLines: 1 });
    expect(without.alerts.length).toBeGreaterThan(0);
    expect(withBom[2]?.summary.chunks).toBeGreaterThan(3);
    for (const result of withBom) {
      expect(result.summary).toMatchObject({
        malformedLines: 0,
        headerLines: 1,
        recordsCounted: without.summary.recordsCounted,
      });
      expect(decided(result)).toEqual(decided(without));
    }
  });
  it('gives an alert of the first lines its details (the details pass re-reads from the file start, past the mark)', async () => {
    // Prepare: a custom format; a new source busy in the file's first hour
    const config = resolveDetectorConfig({});
    const t0 = Date.parse('2026-03-02T00:00:00Z') / 1000;
    const rows = ['srcaddr dstaddr dstport protocol start end action log-status account-id interface-id'];
    for (let i = 0; i < 20; i += 1)
      rows.push(`10.0.0.1 203.0.113.${i % 5} 443 6 ${t0 + i} ${t0 + 60} REJECT OK 123456789012 eni-0a1`);
    for (let i = 0; i < 150; i += 1)
      rows.push(
        `10.0.0.9 198.51.100.${i % 50} ${1000 + i} 6 ${t0 + 3600 + i} ${t0 + 3660} REJECT OK 123456789012 eni-0b2`,
      );
    const text = `${rows.join('\n')}\n`;
    const data = join(dir, 'bom-details-case');
    await fs.mkdir(data);
    await fs.writeFile(join(data, 'plain.log'), text);
    await fs.writeFile(
      join(data, 'bom.log'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
    );

    // Act
    const without = await runReplay({ inputs: [join(data, 'plain.log')], config });
    const withBom = await runReplay({ inputs: [join(data, 'bom.log')], config });

    // Assess
    expect(without.alerts).toHaveLength(1);
    expect(without.alerts[0]?.details?.totalDestinations).toBe(150);
    expect(withBom.alerts).toEqual(without.alerts);
  });
});

describe('a plain file of deliveries in two formats, concatenated', () => {
  it('reads the same whatever the number of ranges it is split into', async () => {
    // Prepare: a v2 delivery, then one whose header puts the addresses first (zcat a.gz b.gz > all.log)
    const config = resolveDetectorConfig({});
    const lines = [...generateSample({ days: 3, hosts: 12, seed: 8 })]
      .join('')
      .split('\n')
      .filter((row) => row !== '' && row !== V2_HEADER);
    const half = Math.floor(lines.length / 2);
    const reordered = lines.slice(half).map((row) => {
      const f = row.split(' ');
      return [f[3], f[4], ...f.slice(0, 3), ...f.slice(5)].join(' ');
    });
    const otherHeader =
      'srcaddr dstaddr version account-id interface-id srcport dstport protocol packets bytes start end action log-status';
    const path = join(dir, 'concatenated.log');
    await fs.writeFile(
      path,
      `${V2_HEADER}\n${lines.slice(0, half).join('\n')}\n${otherHeader}\n${reordered.join('\n')}\n`,
    );
    // Act
    const one = await runReplay({ inputs: [path], config, workers: 1 });
    const ranged = await runReplay({ inputs: [path], config, parallelBytes: 4096, workers: 2 });
    // Assess
    expect(ranged.summary.chunks).toBeGreaterThan(3);
    expect(one.summary).toMatchObject({ malformedLines: 0, headerLines: 2 });
    expect(one.alerts.length).toBeGreaterThan(0);
    expect(decided(ranged)).toEqual(decided(one));
    const stats = (result: ReplayResult) =>
      Object.fromEntries(
        ['linesRead', 'malformedLines', 'headerLines', 'okRecords', 'rejectRecords', 'recordsCounted'].map(
          (k) => [k, result.summary[k as keyof typeof result.summary]],
        ),
      );
    expect(stats(ranged)).toEqual(stats(one));
  });
});
