/**
 * The replay facing odd input: files with no records beside real data, start times far from the
 * rest of the data, a fresh replay's first window, SKIPDATA across window boundaries.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { resolveDetectorConfig, type Alert } from '../../lambda/core';
import { V2_HEADER, generateSample } from '../../scripts/flow-log-sample';
import { runReplay, type ReplayResult } from '../../lambda/replay/replay';

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
    const names = [
      'a-empty.log',
      'b-data.log',
      'c-header-only.log',
      'd-data.log',
      'e-notes.txt',
      'f-empty.log.gz',
    ];
    // Act: the directory, and the files named in several orders.
    const orders = [
      [data],
      names.map((n) => join(data, n)),
      [...names].reverse().map((n) => join(data, n)),
      ['d-data.log', 'a-empty.log', 'e-notes.txt', 'b-data.log', 'f-empty.log.gz', 'c-header-only.log'].map(
        (n) => join(data, n),
      ),
    ];
    const results = await Promise.all(orders.map((inputs) => runReplay({ inputs, config })));
    // Assess
    expect(alone.alerts.length).toBeGreaterThan(0);
    for (const result of results) expect(decided(result)).toEqual(decided(alone));
    expect(alone.summary.filesWithoutRecords).toBe(0);
    for (const result of results) {
      expect(result.summary).toMatchObject({
        files: 6,
        filesWithoutRecords: 4,
        malformedLines: 2,
        headerLines: 2,
      });
    }
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
