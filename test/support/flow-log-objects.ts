/**
 * Flow log records written as AWS delivers them to S3, for the local Athena endpoint and the
 * replay: gzip text files with a header line, or Parquet (GZIP-compressed, AWS's column names and
 * types), one file per account, Region and delivery hour, under the plain or Hive-compatible
 * prefixes (`storageLocationTemplate`); and Security Lake's OCSF Parquet (source version 2) under
 * `region=/accountid=/eventday=` directories. DuckDB writes the Parquet files.
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  flowLogColumns,
  flowLogPartitionKeys,
  flowLogTableLocation,
  flowLogTableParameters,
  SECURITY_LAKE_COLUMNS,
  SECURITY_LAKE_PARTITION_KEYS,
  type FlowLogLocation,
} from '../../lambda/adapters/athena-table';
import { DEFAULT_FLOW_LOG_FORMAT, parseFlowLogFormat } from '../../lambda/core/flow-log-format';
import type { EngineTable } from './athena-engine';

const HOUR = 3_600_000;

export interface WrittenObjects {
  /** `bucket/key` of every file written. */
  keys: string[];
  bytes: number;
}

/** The engine's view of the flow-log table the stack creates for `location`. */
export function flowLogEngineTable(
  database: string,
  name: string,
  location: FlowLogLocation,
  flowLogFormat?: string,
): EngineTable {
  return {
    database,
    name,
    columns: flowLogColumns(flowLogFormat),
    partitionKeys: flowLogPartitionKeys(location.hourlyPartitions),
    location: flowLogTableLocation(location),
    format: location.fileFormat === 'parquet' ? 'parquet' : 'text',
    parameters: flowLogTableParameters(location, 2030),
  };
}

export const SECURITY_LAKE_BUCKET = 'aws-security-data-lake-us-east-1-test';
const SECURITY_LAKE_PREFIX = 'ext/vpc_flow/2.0';

/** The engine's view of Security Lake's VPC flow table (Iceberg: files pruned by `time_dt`). */
export function securityLakeEngineTable(database: string, name: string): EngineTable {
  return {
    database,
    name,
    columns: SECURITY_LAKE_COLUMNS,
    partitionKeys: SECURITY_LAKE_PARTITION_KEYS,
    location: `s3://${SECURITY_LAKE_BUCKET}/${SECURITY_LAKE_PREFIX}/`,
    format: 'parquet',
    parameters: {},
    statsColumns: ['time_dt'],
  };
}

/** Fields of a line of `format` (the v2 default). */
function fieldsOf(line: string, format: readonly string[]): Record<string, string> {
  const tokens = line.trim().split(/\s+/);
  return Object.fromEntries(format.map((f, i) => [f, tokens[i] ?? '-']));
}

/**
 * Writes text lines (in `flowLogFormat`, v2 default) as flow log files of `location`: grouped by
 * account (the line's, or the location's first), its first Region, and the hour of
 * `start + deliveryDelayMs` (files go to the partition of their delivery time).
 */
export async function writeFlowLogObjects(
  root: string,
  location: FlowLogLocation,
  lines: readonly string[],
  options: { flowLogFormat?: string; deliveryDelayMs?: number } = {},
): Promise<WrittenObjects> {
  const format =
    options.flowLogFormat === undefined ? DEFAULT_FLOW_LOG_FORMAT : parseFlowLogFormat(options.flowLogFormat);
  const region = location.regions[0] ?? 'us-east-1';
  const groups = new Map<string, { account: string; hour: number; lines: string[] }>();
  for (const line of lines) {
    const fields = fieldsOf(line, format);
    const start = Number(fields.start);
    if (!Number.isFinite(start)) continue;
    const account = /^\d{12}$/.test(fields['account-id'] ?? '')
      ? fields['account-id']!
      : location.accounts[0]!;
    const hour = Math.floor((start * 1000 + (options.deliveryDelayMs ?? 0)) / HOUR) * HOUR;
    const key = `${account}/${hour}`;
    const group = groups.get(key) ?? { account, hour, lines: [] };
    group.lines.push(line);
    groups.set(key, group);
  }
  const written: WrittenObjects = { keys: [], bytes: 0 };
  const duck = location.fileFormat === 'parquet' ? await DuckDBInstance.create(':memory:') : undefined;
  const connection = duck === undefined ? undefined : await duck.connect();
  try {
    for (const group of groups.values()) {
      const date = new Date(group.hour);
      const [yyyy, mm, dd, hh] = [
        String(date.getUTCFullYear()),
        String(date.getUTCMonth() + 1).padStart(2, '0'),
        String(date.getUTCDate()).padStart(2, '0'),
        String(date.getUTCHours()).padStart(2, '0'),
      ];
      const prefix = location.prefix === '' ? '' : `${location.prefix}/`;
      const directory = location.hiveCompatible
        ? `${prefix}AWSLogs/aws-account-id=${group.account}/aws-service=vpcflowlogs/aws-region=${region}/year=${yyyy}/month=${mm}/day=${dd}${location.hourlyPartitions ? `/hour=${hh}` : ''}`
        : `${prefix}AWSLogs/${group.account}/vpcflowlogs/${region}/${yyyy}/${mm}/${dd}${location.hourlyPartitions ? `/${hh}` : ''}`;
      const stamp = `${yyyy}${mm}${dd}T${hh}05Z`;
      const base = `${group.account}_vpcflowlogs_${region}_fl-0123456789abcdef0_${stamp}_${(written.keys.length + 1).toString(16).padStart(8, '0')}`;
      const key = `${directory}/${base}.${location.fileFormat === 'parquet' ? 'log.parquet' : 'log.gz'}`;
      const path = join(root, location.bucket, key);
      await fs.mkdir(dirname(path), { recursive: true });
      if (connection === undefined) {
        const text = `${format.join(' ')}\n${group.lines.map((l) => `${l}\n`).join('')}`;
        await fs.writeFile(path, gzipSync(text));
      } else {
        const columns = flowLogColumns(options.flowLogFormat);
        const values = group.lines.map((line) => {
          const fields = fieldsOf(line, format);
          return `(${format
            .map((f, i) => {
              const value = fields[f] ?? '-';
              const type = columns[i]!.type;
              if (type === 'string') return `'${value.replace(/'/g, "''")}'`;
              return value === '-' || !/^-?\d+$/.test(value) ? 'NULL' : value;
            })
            .join(', ')})`;
        });
        const select = columns.map(
          (c) =>
            `CAST(${c.name === 'end' ? '"end"' : c.name} AS ${c.type === 'string' ? 'VARCHAR' : c.type === 'int' ? 'INTEGER' : 'BIGINT'}) AS "${c.name}"`,
        );
        await connection.run(
          `COPY (SELECT ${select.join(', ')} FROM (VALUES ${values.join(', ')}) AS t(${columns.map((c) => `"${c.name}"`).join(', ')})) TO '${path.replace(/'/g, "''")}' (FORMAT PARQUET, COMPRESSION GZIP)`,
        );
      }
      written.keys.push(`${location.bucket}/${key}`);
      written.bytes += (await fs.stat(path)).size;
    }
  } finally {
    connection?.closeSync();
  }
  return written;
}

/**
 * Writes v2 text lines as Security Lake's OCSF VPC flow records (source version 2; `end` in
 * `end_time_dt`, as the published mapping writes it, and in `end_time` with `withEndTime`): one Parquet
 * file per account and day, under `region=<region>/accountid=<account>/eventday=<yyyyMMdd>/`.
 * As Security Lake's published mapping does, the VPC and interface go on the endpoint the
 * record's direction names: `src_endpoint` for egress, `dst_endpoint` for ingress (`ingressWhen`
 * says which records are ingress; by default none).
 */
export async function writeSecurityLakeObjects(
  root: string,
  lines: readonly string[],
  options: {
    region?: string;
    vpcId?: string;
    ingressWhen?: (fields: Readonly<Record<string, string>>) => boolean;
    /**
     * Also fill `end_time` (epoch ms). @default false: as OCSF's published mapping of VPC flow
     * logs, `end` only in `end_time_dt`
     */
    withEndTime?: boolean;
  } = {},
): Promise<WrittenObjects> {
  const region = options.region ?? 'us-east-1';
  const groups = new Map<string, { account: string; day: string; rows: string[] }>();
  for (const line of lines) {
    const f = fieldsOf(line, DEFAULT_FLOW_LOG_FORMAT);
    const start = Number(f.start);
    if (!Number.isFinite(start)) continue;
    const day = new Date(start * 1000).toISOString().slice(0, 10).replace(/-/g, '');
    const account = f['account-id'] ?? '123456789012';
    // Typed NULLs: a file whose column holds only NULLs keeps the table's type for it.
    const text = (v: string | undefined) =>
      v === undefined || v === '-' ? 'NULL::VARCHAR' : `'${v.replace(/'/g, "''")}'`;
    const int = (v: string | undefined) => (v === undefined || !/^\d+$/.test(v) ? 'NULL::INTEGER' : v);
    const ingress = options.ingressWhen?.(f) === true;
    const endpoint = (ip: string | undefined, port: string | undefined, side: 'src' | 'dst') => {
      const here = (side === 'dst') === ingress;
      const vpc = here ? text(options.vpcId ?? 'vpc-0a1b2c3d') : 'NULL::VARCHAR';
      const eni = here ? text(f['interface-id']) : 'NULL::VARCHAR';
      return `{'ip': ${text(ip)}, 'port': ${int(port)}, 'vpc_uid': ${vpc}, 'interface_uid': ${eni}, 'instance_uid': NULL::VARCHAR, 'subnet_uid': NULL::VARCHAR}`;
    };
    const actionId = f.action === 'REJECT' ? 2 : f.action === 'ACCEPT' ? 1 : 0;
    const end = Number(f.end);
    const row =
      `(${start * 1000}, make_timestamp(${start * 1_000_000}::BIGINT), ` +
      `${Number.isFinite(end) && options.withEndTime === true ? end * 1000 : 'NULL'}::BIGINT, ` +
      `${Number.isFinite(end) ? `make_timestamp(${end * 1_000_000}::BIGINT)` : 'NULL'}, ${actionId}, ${text(f['log-status'])}, ` +
      `${endpoint(f.srcaddr, f.srcport, 'src')}, ${endpoint(f.dstaddr, f.dstport, 'dst')}, {'protocol_num': ${int(f.protocol)}, 'direction_id': ${ingress ? 1 : 2}}, ` +
      `{'account': {'uid': ${text(account)}}, 'region': '${region}'})`;
    const key = `${account}/${day}`;
    const group = groups.get(key) ?? { account, day, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  const duck = await DuckDBInstance.create(':memory:');
  const connection = await duck.connect();
  const written: WrittenObjects = { keys: [], bytes: 0 };
  try {
    for (const group of groups.values()) {
      const key = `ext/vpc_flow/2.0/region=${region}/accountid=${group.account}/eventday=${group.day}/${group.day}-${written.keys.length + 1}.gz.parquet`;
      const path = join(root, SECURITY_LAKE_BUCKET, key);
      await fs.mkdir(dirname(path), { recursive: true });
      const names = SECURITY_LAKE_COLUMNS.map((c) => `"${c.name}"`).join(', ');
      await connection.run(
        `COPY (SELECT * FROM (VALUES ${group.rows.join(', ')}) AS t(${names})) TO '${path.replace(/'/g, "''")}' (FORMAT PARQUET, COMPRESSION GZIP)`,
      );
      written.keys.push(`${SECURITY_LAKE_BUCKET}/${key}`);
      written.bytes += (await fs.stat(path)).size;
    }
  } finally {
    connection.closeSync();
  }
  return written;
}
