/**
 * The Glue tables the Athena flow source queries, described once for the stack (which creates the
 * flow-log table), the source (which builds SQL against it) and the local Athena endpoint (which
 * reads the same definition, as Athena reads Glue). Pure: no SDK.
 *
 * - `flow-logs`: VPC flow logs delivered to S3 (text or Parquet, Hive-compatible or plain
 *   prefixes, daily or hourly), through a table with partition projection: Athena computes the
 *   partitions from `projection.*` and `storage.location.template`, so nothing has to add
 *   partitions as new days arrive. Partition columns: `aws_account`, `aws_region`, `year`,
 *   `month`, `day` and, with hourly partitions, `hour` (strings, zero-padded).
 * - `security-lake`: Amazon Security Lake's VPC flow table, source version 2 (OCSF 1.1.0),
 *   `amazon_security_lake_table_<region>_vpc_flow_2_0`, which Security Lake creates and manages.
 */
import { DEFAULT_FLOW_LOG_FORMAT, parseFlowLogFormat, type FlowLogField } from '../core/flow-log-format';

export type FlowLogFileFormat = 'plain-text' | 'parquet';

export interface FlowLogsTable {
  kind: 'flow-logs';
  database: string;
  table: string;
  /** The flow logs were created with hourly partitions (`PerHourPartition`). */
  hourlyPartitions: boolean;
}

export interface SecurityLakeTable {
  kind: 'security-lake';
  database: string;
  table: string;
}

export type AthenaFlowTable = FlowLogsTable | SecurityLakeTable;

/** Glue database and table names as Athena accepts them unquoted (Glue stores them lower case). */
const GLUE_NAME = /^[a-z0-9_]{1,255}$/;

export class AthenaTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AthenaTableError';
  }
}

export function validatedGlueName(kind: 'database' | 'table', value: string): string {
  if (typeof value !== 'string' || !GLUE_NAME.test(value)) {
    throw new AthenaTableError(
      `invalid Glue ${kind} name ${JSON.stringify(value)}: lower-case letters, digits and underscores only`,
    );
  }
  return value;
}

/** A flow log field's column name in Athena (`log-status` -> `log_status`), as AWS's own DDL names it. */
export const columnName = (field: FlowLogField): string => field.replace(/-/g, '_');

/** Athena column types of the flow log fields (AWS's DDL for flow logs, text and Parquet alike). */
const COLUMN_TYPES: Partial<Record<FlowLogField, string>> = {
  version: 'int',
  srcport: 'int',
  dstport: 'int',
  protocol: 'bigint',
  packets: 'bigint',
  bytes: 'bigint',
  start: 'bigint',
  end: 'bigint',
  'tcp-flags': 'int',
  'traffic-path': 'int',
};

export interface TableColumn {
  name: string;
  type: string;
}

/**
 * The data columns of a flow-log table for a format (`flowLogFormat`, the v2 default when
 * absent), in the format's order: a text table maps columns by position, Parquet by name.
 */
export function flowLogColumns(flowLogFormat: string | undefined): TableColumn[] {
  const fields = flowLogFormat === undefined ? DEFAULT_FLOW_LOG_FORMAT : parseFlowLogFormat(flowLogFormat);
  return fields.map((field) => ({ name: columnName(field), type: COLUMN_TYPES[field] ?? 'string' }));
}

/** The partition columns of a flow-log table (all strings; the values are zero-padded digits). */
export function flowLogPartitionKeys(hourlyPartitions: boolean): TableColumn[] {
  return ['aws_account', 'aws_region', 'year', 'month', 'day', ...(hourlyPartitions ? ['hour'] : [])].map(
    (name) => ({ name, type: 'string' }),
  );
}

export interface FlowLogLocation {
  bucket: string;
  /** The prefix the flow logs were created with (may be empty), without leading or trailing `/`. */
  prefix: string;
  /** Flow logs created with `HiveCompatiblePartitions`. */
  hiveCompatible: boolean;
  hourlyPartitions: boolean;
  fileFormat: FlowLogFileFormat;
  /** Accounts whose flow logs land under the prefix (12 digits each). */
  accounts: readonly string[];
  regions: readonly string[];
  /** First day the projection covers (yyyy/MM/dd is not needed: years are projected). */
  firstYear: number;
}

/**
 * Where VPC Flow Logs writes in S3 (VPC user guide, "Flow log files" in S3):
 * `<prefix>/AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/[<HH>/]`, or with Hive-compatible
 * prefixes `<prefix>/AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/
 * year=<yyyy>/month=<MM>/day=<dd>/[hour=<HH>/]`.
 */
export function storageLocationTemplate(location: FlowLogLocation): string {
  const base = `s3://${location.bucket}/${location.prefix === '' ? '' : `${location.prefix}/`}AWSLogs/`;
  const hour = location.hourlyPartitions;
  return location.hiveCompatible
    ? `${base}aws-account-id=\${aws_account}/aws-service=vpcflowlogs/aws-region=\${aws_region}/year=\${year}/month=\${month}/day=\${day}${hour ? '/hour=${hour}' : ''}`
    : `${base}\${aws_account}/vpcflowlogs/\${aws_region}/\${year}/\${month}/\${day}${hour ? '/${hour}' : ''}`;
}

/**
 * The table parameters: partition projection (enum accounts and Regions, integer years from
 * `firstYear` to `NOW`-ish, months, days and hours zero-padded) and, for text, the header line
 * every delivered file starts with.
 */
export function flowLogTableParameters(location: FlowLogLocation, lastYear: number): Record<string, string> {
  const parameters: Record<string, string> = {
    EXTERNAL: 'TRUE',
    'projection.enabled': 'true',
    'projection.aws_account.type': 'enum',
    'projection.aws_account.values': location.accounts.join(','),
    'projection.aws_region.type': 'enum',
    'projection.aws_region.values': location.regions.join(','),
    'projection.year.type': 'integer',
    'projection.year.range': `${location.firstYear},${lastYear}`,
    'projection.year.digits': '4',
    'projection.month.type': 'integer',
    'projection.month.range': '1,12',
    'projection.month.digits': '2',
    'projection.day.type': 'integer',
    'projection.day.range': '1,31',
    'projection.day.digits': '2',
    'storage.location.template': storageLocationTemplate(location),
  };
  if (location.hourlyPartitions) {
    parameters['projection.hour.type'] = 'integer';
    parameters['projection.hour.range'] = '0,23';
    parameters['projection.hour.digits'] = '2';
  }
  if (location.fileFormat === 'plain-text') parameters['skip.header.line.count'] = '1';
  return parameters;
}

/** The table's root location (the template without its partition part). */
export function flowLogTableLocation(location: FlowLogLocation): string {
  return `s3://${location.bucket}/${location.prefix === '' ? '' : `${location.prefix}/`}AWSLogs/`;
}

/**
 * Security Lake's VPC flow table (source version 2, OCSF 1.1.0): the columns the detector reads
 * (a subset of the table: Athena reads Parquet columns by name). Security Lake writes a record's
 * `start` as `time` (epoch ms) and `time_dt`, `end` as `end_time_dt` (OCSF's `end_time` is in the
 * table too, but its published mapping of VPC flow logs fills only the former), `srcaddr`/`dstaddr` as
 * `src_endpoint.ip`/`dst_endpoint.ip`, `action` REJECT as `action_id` 2 (Denied), `log-status` as
 * `status_code`, `account-id` as `cloud.account.uid`.
 */
export const SECURITY_LAKE_COLUMNS: readonly TableColumn[] = [
  { name: 'time', type: 'bigint' },
  { name: 'time_dt', type: 'timestamp' },
  { name: 'end_time', type: 'bigint' },
  { name: 'end_time_dt', type: 'timestamp' },
  { name: 'action_id', type: 'int' },
  { name: 'status_code', type: 'string' },
  {
    name: 'src_endpoint',
    type: 'struct<ip:string,port:int,vpc_uid:string,interface_uid:string,instance_uid:string,subnet_uid:string>',
  },
  {
    name: 'dst_endpoint',
    type: 'struct<ip:string,port:int,vpc_uid:string,interface_uid:string,instance_uid:string,subnet_uid:string>',
  },
  { name: 'connection_info', type: 'struct<protocol_num:int,direction_id:int>' },
  { name: 'cloud', type: 'struct<account:struct<uid:string>,region:string>' },
];

/** Security Lake's partition columns. */
export const SECURITY_LAKE_PARTITION_KEYS: readonly TableColumn[] = [
  { name: 'region', type: 'string' },
  { name: 'accountid', type: 'string' },
  { name: 'eventday', type: 'string' },
];
