/**
 * The Athena format check on Parquet flow logs: a field AWS writes `-` in text is a NULL in
 * Parquet, so NODATA and SKIPDATA records (no action, no addresses) must not count as records
 * out of the configured format.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { AthenaFlowSource } from '../../lambda/adapters/athena-flow-source';
import { flowLogColumns, type FlowLogLocation } from '../../lambda/adapters/athena-table';
import { resolveDetectorConfig } from '../../lambda/core';
import { flowLogEngineTable, writeFlowLogObjects } from '../support/flow-log-objects';
import { startLocalAthena } from '../support/local-athena';
import { v2Line } from '../parity/parity';

const HOUR = 3_600_000;
const W = Date.parse('2026-11-26T10:00:00Z');
const LOCATION: FlowLogLocation = {
  bucket: 'flows',
  prefix: '',
  hiveCompatible: false,
  hourlyPartitions: false,
  fileFormat: 'parquet',
  accounts: ['123456789012'],
  regions: ['us-east-1'],
  firstYear: 2024,
};

it('finds no record out of format in valid Parquet flow logs whose NODATA records have NULL action and addresses', async () => {
  // Prepare: 30 REJECT records, and in a second file of the same delivery 5 NODATA records
  const root = mkdtempSync(join(tmpdir(), 'athena-parquet-null-'));
  const lines = Array.from({ length: 30 }, (_, i) =>
    v2Line({ at: W + 52 * 60_000 + i * 1000, src: '10.0.0.5', dst: '198.51.100.9' }),
  );
  const written = await writeFlowLogObjects(root, LOCATION, lines);
  // A second file of the same delivery: 5 NODATA records, fields with no value as NULL
  const path = join(root, dirname(written.keys[0]!), 'nodata.log.parquet');
  const columns = flowLogColumns(undefined);
  const start = Math.floor((W + 55 * 60_000) / 1000);
  const row = columns
    .map((c) => {
      const v: Record<string, string> = {
        version: '2',
        account_id: "'123456789012'",
        interface_id: "'eni-0abc'",
        start: String(start),
        end: String(start + 60),
        log_status: "'NODATA'",
      };
      const value = v[c.name] ?? 'NULL';
      const type = c.type === 'string' ? 'VARCHAR' : c.type === 'int' ? 'INTEGER' : 'BIGINT';
      return `CAST(${value} AS ${type}) AS "${c.name}"`;
    })
    .join(', ');
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  await conn.run(`COPY (SELECT ${row} FROM range(5)) TO '${path}' (FORMAT PARQUET, COMPRESSION GZIP)`);
  conn.closeSync();

  const athena = await startLocalAthena({
    s3Root: root,
    workGroups: { wg: { outputLocation: 's3://results/out/' } },
    tables: [flowLogEngineTable('db', 'flows', LOCATION)],
  });
  const client = new AthenaClient({ ...athena.clientConfig(), maxAttempts: 1 });
  try {
    let now = 1_000_000;
    const source = new AthenaFlowSource({
      athena: client,
      s3: new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
      workGroup: 'wg',
      table: { kind: 'flow-logs', database: 'db', table: 'flows', hourlyPartitions: false },
      config: resolveDetectorConfig({ lagMinutes: 10 }),
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      random: () => 0.5,
    });

    // Act
    const check = await source.checkFormat({ start: W, end: W + HOUR }, now + 60_000);

    // Assess
    expect(check).toMatchObject({ recordsScanned: 35, notInFormat: 0 });
  } finally {
    client.destroy();
    await athena.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
