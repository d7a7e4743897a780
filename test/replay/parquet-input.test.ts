/**
 * The replay over VPC flow logs in Parquet, as VPC Flow Logs delivers them to S3 and
 * `aws s3 sync` downloads them (Hive-compatible hourly directories, GZIP pages, AWS's column
 * names; DuckDB writes the files): the same records give the same result as the text files.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolveDetectorConfig, type Alert } from '../../lambda/core';
import type { FlowLogLocation } from '../../lambda/adapters/athena-table';
import { fieldsOfParquetColumns } from '../../lambda/replay/parquet-reader';
import { InputFileError } from '../../lambda/replay/file-reader';
import { runReplay, type ReplayResult } from '../../lambda/replay/replay';
import { generateSample, V2_HEADER } from '../../scripts/flow-log-sample';
import { writeFlowLogObjects } from '../support/flow-log-objects';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'replay-parquet-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const TEXT: FlowLogLocation = {
  bucket: 'text',
  prefix: 'vpc',
  hiveCompatible: false,
  hourlyPartitions: false,
  fileFormat: 'plain-text',
  accounts: ['123456789012'],
  regions: ['eu-west-1'],
  firstYear: 2024,
};
const PARQUET: FlowLogLocation = {
  ...TEXT,
  bucket: 'parquet',
  hiveCompatible: true,
  hourlyPartitions: true,
  fileFormat: 'parquet',
};

const comparable = (alerts: readonly Alert[]) => JSON.parse(JSON.stringify(alerts)) as unknown;

/** What must not depend on the file format. */
const decided = (result: ReplayResult) => ({
  alerts: comparable(result.alerts),
  firstWindow: result.summary.firstWindow,
  lastWindow: result.summary.lastWindow,
  windows: result.summary.windows,
  recordsCounted: result.summary.recordsCounted,
  incompleteWindows: result.summary.incompleteWindows,
  baselines: result.store.toJSON(result.config),
});

const sampleLines = (seed: number): string[] =>
  [...generateSample({ days: 3, hosts: 12, seed })]
    .join('')
    .split('\n')
    .filter((line) => line.length > 0);

describe('the replay over Parquet flow logs', () => {
  it('gives the text files’ alerts, details and baselines on the same records (default format, Hive hourly directories)', async () => {
    // Arrange
    const lines = sampleLines(31);
    const root = join(dir, 'v2');
    const text = await writeFlowLogObjects(root, TEXT, lines, { deliveryDelayMs: 7 * 60_000 });
    const parquet = await writeFlowLogObjects(root, PARQUET, lines, { deliveryDelayMs: 7 * 60_000 });
    expect(parquet.keys.every((key) => /\/hour=\d\d\/[^/]+\.log\.parquet$/.test(key))).toBe(true);
    expect(text.keys.every((key) => key.endsWith('.log.gz'))).toBe(true);
    const config = resolveDetectorConfig({});

    // Act
    const fromText = await runReplay({ inputs: [join(root, 'text')], config });
    const fromParquet = await runReplay({ inputs: [join(root, 'parquet')], config });

    // Assess
    expect(fromText.alerts.length).toBeGreaterThan(0);
    expect(fromText.alerts.some((a) => (a.details?.topDestinations.length ?? 0) > 0)).toBe(true);
    expect(decided(fromParquet)).toEqual(decided(fromText));
    expect(fromParquet.summary.recordsCounted).toBeGreaterThan(0);
  }, 60_000);

  it('reads a custom format by column name, whatever the column order', async () => {
    // Arrange: a v5-style custom format, with fields the detector does not read
    const format =
      '${vpc-id} ${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction}';
    const lines = sampleLines(32).map((line) => {
      if (line.startsWith('version')) return line;
      return `vpc-0a1b2c3d ${line} egress`;
    });
    const root = join(dir, 'custom');
    await writeFlowLogObjects(root, TEXT, lines, { flowLogFormat: format });
    await writeFlowLogObjects(root, PARQUET, lines, { flowLogFormat: format });
    const config = resolveDetectorConfig({ flowLogFormat: format });

    // Act
    const fromText = await runReplay({ inputs: [join(root, 'text')], config });
    const fromParquet = await runReplay({ inputs: [join(root, 'parquet')], config });

    // Assess
    expect(fromText.alerts.length).toBeGreaterThan(0);
    expect(decided(fromParquet)).toEqual(decided(fromText));
  }, 60_000);

  it('keys sources by account and, where the file has vpc_id, by VPC, as the text of the same format', async () => {
    // Arrange: two accounts and two VPCs with the same address plan, in a format with vpc-id
    const format = `${V2_HEADER} vpc-id`;
    const t = 1790812800;
    const lines = (['123456789012', '210987654321'] as const).flatMap((account, a) =>
      ['vpc-0aaa', 'vpc-0bbb'].flatMap((vpc, v) =>
        Array.from(
          { length: 40 + 10 * (2 * a + v) },
          (_, i) =>
            `2 ${account} eni-0a1b ${'10.0.0.5'} 198.51.100.${(i % 5) + 1} 40000 443 6 1 60 ${t + 3600 * Math.floor(i / 10) + i} ${t + 3600 * Math.floor(i / 10) + i + 30} REJECT OK ${vpc}`,
        ),
      ),
    );
    const root = join(dir, 'vpc');
    await writeFlowLogObjects(root, { ...TEXT, accounts: ['123456789012', '210987654321'] }, lines, {
      flowLogFormat: format,
    });
    await writeFlowLogObjects(root, { ...PARQUET, accounts: ['123456789012', '210987654321'] }, lines, {
      flowLogFormat: format,
    });
    const config = resolveDetectorConfig({ flowLogFormat: format });

    // Act
    const fromText = await runReplay({ inputs: [join(root, 'text')], config });
    const fromParquet = await runReplay({ inputs: [join(root, 'parquet')], config });

    // Assess
    const keys = Object.keys(fromParquet.store.toJSON(fromParquet.config).baselines ?? {}).sort();
    expect(keys).toEqual([
      '123456789012|vpc-0aaa|10.0.0.5',
      '123456789012|vpc-0bbb|10.0.0.5',
      '210987654321|vpc-0aaa|10.0.0.5',
      '210987654321|vpc-0bbb|10.0.0.5',
    ]);
    expect(decided(fromParquet)).toEqual(decided(fromText));
  });

  it('counts the files whose format is not the configured one (the Lambda reads them by the configured format), text by position, Parquet by the fields the detector reads', async () => {
    // Arrange: the same records in a format with vpc-id, as text (a header line a file) and Parquet
    const format = `${V2_HEADER} vpc-id`;
    const t = 1790812800;
    const lines = Array.from(
      { length: 30 },
      (_, i) =>
        `2 123456789012 eni-0a1b 10.0.0.5 198.51.100.${(i % 5) + 1} 40000 443 6 1 60 ${t + 3600 * Math.floor(i / 10) + i} ${t + 3600 * Math.floor(i / 10) + i + 30} REJECT OK vpc-0aaa`,
    );
    const root = join(dir, 'other-format');
    const text = await writeFlowLogObjects(root, TEXT, lines, { flowLogFormat: format });
    const parquet = await writeFlowLogObjects(root, PARQUET, lines, { flowLogFormat: format });
    const reordered = `vpc-id ${V2_HEADER}`;

    // Act
    const run = (inputs: string, flowLogFormat?: string) =>
      runReplay({ inputs: [join(root, inputs)], config: resolveDetectorConfig({ flowLogFormat }) });
    const asConfigured = await Promise.all([run('text', format), run('parquet', format)]);
    const asV2 = await Promise.all([run('text'), run('parquet')]);
    const inOtherOrder = await Promise.all([run('text', reordered), run('parquet', reordered)]);

    // Assess
    expect(text.keys.length).toBeGreaterThan(1);
    expect(asConfigured.map((r) => r.summary.headersInOtherFormat)).toEqual([0, 0]);
    expect(asV2.map((r) => r.summary.headersInOtherFormat)).toEqual([text.keys.length, parquet.keys.length]);
    // Text is read by position (a different order is another format); Parquet by name (it is not).
    expect(inOtherOrder.map((r) => r.summary.headersInOtherFormat)).toEqual([text.keys.length, 0]);
  });

  it('writes long values, non-ASCII text and NULLs as the text file has them', async () => {
    // Arrange: blocked egress beside rows with a 6,000-character interface id, a non-ASCII
    // source, and NULL ports (a text file's `-`)
    const t = 1790812800 + 600;
    const row = (src: string, iface: string, dstport: string, start: number) =>
      `2 123456789012 ${iface} ${src} 198.51.100.7 40000 ${dstport} 6 1 60 ${start} ${start + 30} REJECT OK`;
    const lines = [
      ...Array.from({ length: 300 }, (_, i) => row('10.0.0.5', 'eni-0a1b2c3d', '443', t + i)),
      ...Array.from({ length: 40 }, (_, i) => row('10.0.0.6', `eni-${'x'.repeat(6000)}`, '-', t + i)),
      ...Array.from({ length: 20 }, (_, i) => row('10.0.0.ü', 'eni-0a1b2c3d', '443', t + i)),
    ];
    const root = join(dir, 'odd-values');
    await writeFlowLogObjects(root, TEXT, lines);
    await writeFlowLogObjects(root, PARQUET, lines);
    const config = resolveDetectorConfig({});

    // Act
    const fromText = await runReplay({ inputs: [join(root, 'text')], config });
    const fromParquet = await runReplay({ inputs: [join(root, 'parquet')], config });

    // Assess
    expect(fromParquet.summary.recordsCounted).toBe(340);
    expect(fromParquet.summary.malformedLines).toBe(20);
    expect(decided(fromParquet)).toEqual(decided(fromText));
    expect(fromParquet.summary.malformedLines).toBe(fromText.summary.malformedLines);
  });

  it('renders v2 lines (the fast path) when the file has the fields the scanner reads, and otherwise only the fields it has', () => {
    const v2 = [
      'version',
      'account_id',
      'interface_id',
      'srcaddr',
      'dstaddr',
      'srcport',
      'dstport',
      'protocol',
      'packets',
      'bytes',
      'start',
      'end',
      'action',
      'log_status',
    ];
    expect(fieldsOfParquetColumns([...v2, 'pkt_srcaddr', 'flow_direction']).join(' ')).toBe(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    );
    // A VPC keys the source: its column is read, and the lines are not v2 lines.
    expect(fieldsOfParquetColumns([...v2, 'vpc_id']).join(' ')).toBe(
      'account-id interface-id srcaddr dstaddr dstport protocol start end action log-status vpc-id',
    );
    // Without the fields it never reads, the lines are still v2 lines (those written `-`).
    const unread = new Set(['version', 'srcport', 'packets', 'bytes']);
    expect(fieldsOfParquetColumns(v2.filter((c) => !unread.has(c))).join(' ')).toBe(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    );
    expect(fieldsOfParquetColumns(['start', 'action', 'dstaddr', 'srcaddr', 'bytes', 'end'])).toEqual([
      'srcaddr',
      'dstaddr',
      'start',
      'end',
      'action',
    ]);
    expect(() => fieldsOfParquetColumns(['version', 'dstaddr', 'start', 'action'])).toThrow(
      /not a VPC flow log Parquet file: no column srcaddr \(columns: version, dstaddr, start, action\)/,
    );
  });

  it('refuses a Parquet file without the flow log columns, and a file that is no Parquet, naming them', async () => {
    // Arrange
    const root = join(dir, 'bad');
    await fs.mkdir(root, { recursive: true });
    const other = join(root, 'orders.parquet');
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    try {
      await connection.run(
        `COPY (SELECT 1 AS order_id, 'x' AS customer) TO '${other}' (FORMAT PARQUET, COMPRESSION GZIP)`,
      );
    } finally {
      connection.closeSync();
    }
    const broken = join(root, 'broken.log.parquet');
    await fs.writeFile(broken, 'version account-id srcaddr\n');
    const config = resolveDetectorConfig({});

    // Act
    const missingColumns = runReplay({ inputs: [other], config });

    // Assess
    await expect(missingColumns).rejects.toThrow(InputFileError);
    await expect(runReplay({ inputs: [other], config })).rejects.toThrow(
      `cannot read "${other}": not a VPC flow log Parquet file: no column srcaddr, dstaddr, action, start (columns: order_id, customer)`,
    );
    await expect(runReplay({ inputs: [broken], config })).rejects.toThrow(
      `cannot read "${broken}": not a valid Parquet file`,
    );
  });
});
