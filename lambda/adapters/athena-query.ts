/**
 * Builds the Athena SQL the detector runs over flow logs in S3 or Security Lake. Pure: no SDK, no
 * clock. It counts exactly what the Logs Insights queries count (logs-insights-query.ts): REJECT
 * records with log-status OK from an internal source to an external destination, the configured
 * exclusions applied, IPv4 and IPv6; SKIPDATA records reported on their own so the caller applies
 * the one SKIPDATA rule (core skipDataWindows).
 *
 * Values. Every CIDR and address goes in as an execution parameter (`?`, StartQueryExecution's
 * ExecutionParameters), after the same strict validation as for Logs Insights; numbers and
 * timestamps the builder computes itself are checked as integers before they are written into the
 * text. Database and table names are checked against Glue's name grammar and quoted.
 *
 * Addresses. Logs Insights' isIpInSubnet treats an IPv4 subnet as holding IPv4 addresses only and
 * an IPv4-mapped address (`::ffff:10.0.0.1`) as IPv6. Athena's IPADDRESS type stores IPv4 as
 * IPv4-mapped IPv6, so `contains('10.0.0.0/8', IPADDRESS '::ffff:10.0.0.1')` is true there: each
 * subnet test therefore also checks how the record wrote the address (a `:` means IPv6), and an
 * address Athena cannot read (`-`, empty, malformed) is in no subnet, as in Logs Insights.
 *
 * Pruning. A flow-log table's query names the partitions (`year`/`month`/`day`/`hour`) that can
 * hold the records of its time range: from the range's start to its end plus the delivery
 * allowance (S3_DELIVERY_ALLOWANCE_MS, or `lagMinutes` when longer), because a file is delivered
 * into the partition of its delivery time, after its records started. Within them `start`
 * selects the records, as `@timestamp` (the record's start) does in Logs Insights.
 * Security Lake's query bounds `time_dt`, which its tables are partitioned by, and `time`.
 */
import { parseCidr, type DetectorConfig, type Window } from '../core';
import { QueryInjectionError, type QueryKind } from './errors';
import { validatedGlueName, type AthenaFlowTable } from './athena-table';
import { validatedCidr, validatedIp } from './logs-insights-query';
import { DEFAULT_FLOW_LOG_FORMAT, parseFlowLogFormat, type FlowLogField } from '../core/flow-log-format';

/** Athena's limit on a query string (StartQueryExecution: 262,144 bytes). */
export const MAX_ATHENA_QUERY_BYTES = 262_144;

/** Result column names of the queries built here. */
export const ATHENA_COLUMNS = {
  skipData: 'skipdata',
  account: 'account',
  vpc: 'vpc',
  source: 'source',
  records: 'records',
  destinations: 'destinations',
  /** Latest end of the group's records, epoch seconds (flow logs) or ms (Security Lake). */
  lastEnd: 'last_end',
  /** The window a history row counts: its start in epoch seconds (flow logs) or ms (Security Lake). */
  windowStart: 'window_start',
  destination: 'destination',
  port: 'port',
  protocol: 'protocol',
  interfaceId: 'interface_id',
  /** The format check's sample and the records in it that do not have the configured format. */
  sampled: 'sampled',
  notInFormat: 'not_in_format',
} as const;

/** The records a format check reads at most: the first of the slice's files, not the slice. */
export const FORMAT_CHECK_SAMPLE = 1000;

export interface AthenaQuery {
  kind: QueryKind;
  sql: string;
  /** ExecutionParameters, in the order of the `?` in `sql`: SQL literals. */
  parameters: string[];
  /** Epoch ms bounds of the records the query counts (for errors and logs). */
  window: Window;
}

export type AthenaQueryConfig = Pick<
  DetectorConfig,
  | 'internalCidrs'
  | 'excludeSourceCidrs'
  | 'excludeDestinationCidrs'
  | 'flowLogFormat'
  | 'windowMinutes'
  | 'lagMinutes'
>;

interface Columns {
  source: string;
  destination: string;
  /** The condition for a blocked record. */
  rejected: string;
  status?: string;
  account: string;
  vpc: string;
  port?: string;
  protocol?: string;
  interfaceId?: string;
  lastEnd?: string;
  /** The record's start, and the ms one unit of it is (1000: seconds, 1: ms). */
  start: string;
  startUnitMs: 1000 | 1;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * How long after its start a record can reach S3, for the partitions a query reads: a record
 * covers up to 10 minutes (the default aggregation interval), files are published at 5-minute
 * intervals, and the upload takes some minutes more, best effort. Not `lagMinutes`, which says
 * when a window is counted: with a short lag (0 is allowed) the last minutes of each window, and
 * of every history query however late it runs, would be cut off. A longer lag is used instead,
 * as records that late are what it waits for.
 */
export const S3_DELIVERY_ALLOWANCE_MS = 30 * 60_000;

/** A string as an Athena literal; only text the builder validated reaches here. */
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

function wholeNumber(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new QueryInjectionError(what, String(value), 'expected a whole non-negative number', 'Athena');
  }
  return String(value);
}

export class AthenaQueryBuilder {
  private readonly columns: Columns;
  private readonly from: string;
  private readonly internal: string[];
  private readonly excludedSources: string[];
  private readonly excludedDestinations: string[];
  private readonly windowSeconds: number;
  /** How far past a range's end its records' files can be: the delivery allowance or the lag. */
  readonly deliveryReachMs: number;

  constructor(
    config: AthenaQueryConfig,
    readonly table: AthenaFlowTable,
  ) {
    const cidrs = (values: readonly string[]) =>
      values.map((value) => {
        try {
          return validatedCidr(value);
        } catch (error) {
          throw new QueryInjectionError('CIDR', value, (error as Error).message, 'Athena');
        }
      });
    this.internal = cidrs(config.internalCidrs);
    if (this.internal.length === 0)
      throw new QueryInjectionError('CIDR', '', 'at least one internal CIDR is needed', 'Athena');
    this.excludedSources = cidrs(config.excludeSourceCidrs);
    this.excludedDestinations = cidrs(config.excludeDestinationCidrs);
    this.windowSeconds = Number(wholeNumber(config.windowMinutes * 60, 'window length'));
    const lagMs = Number(wholeNumber(config.lagMinutes * 60_000, 'lag'));
    this.deliveryReachMs = Math.max(lagMs, S3_DELIVERY_ALLOWANCE_MS);
    this.from = `"${validatedGlueName('database', table.database)}"."${validatedGlueName('table', table.table)}"`;
    this.columns =
      table.kind === 'security-lake' ? securityLakeColumns() : flowLogColumnsOf(config.flowLogFormat);
  }

  /** Per (account, VPC, source) blocked records, distinct destinations and latest end; SKIPDATA flagged. */
  countQuery(window: Window): AthenaQuery {
    const c = this.columns;
    const { skipData, account, vpc, source, records, destinations, lastEnd } = ATHENA_COLUMNS;
    const parameters: string[] = [];
    const where = this.recordsOf(window, parameters, true);
    const sql =
      `SELECT ${this.skipDataFlag()} AS ${skipData}, ${c.account} AS ${account}, ${c.vpc} AS ${vpc}, ` +
      `${c.source} AS ${source}, count(*) AS ${records}, count(DISTINCT ${c.destination}) AS ${destinations}, ` +
      `${c.lastEnd === undefined ? 'CAST(NULL AS bigint)' : `max(${c.lastEnd})`} AS ${lastEnd} ` +
      `FROM ${this.from} WHERE ${where} GROUP BY 1, 2, 3, 4`;
    return this.finish('count', sql, parameters, window);
  }

  /** Per window (start), (account, VPC, source): blocked records; SKIPDATA flagged, with its latest end. */
  historyQuery(range: Window): AthenaQuery {
    const c = this.columns;
    const { skipData, account, vpc, source, records, lastEnd, windowStart } = ATHENA_COLUMNS;
    const width = wholeNumber((this.windowSeconds * 1000) / c.startUnitMs, 'window length');
    const parameters: string[] = [];
    const where = this.recordsOf(range, parameters, true);
    const sql =
      `SELECT ${c.start} - ${c.start} % ${width} AS ${windowStart}, ${this.skipDataFlag()} AS ${skipData}, ` +
      `${c.account} AS ${account}, ${c.vpc} AS ${vpc}, ${c.source} AS ${source}, count(*) AS ${records}, ` +
      `${c.lastEnd === undefined ? 'CAST(NULL AS bigint)' : `max(${c.lastEnd})`} AS ${lastEnd} ` +
      `FROM ${this.from} WHERE ${where} GROUP BY 1, 2, 3, 4, 5`;
    return this.finish('history', sql, parameters, range);
  }

  /**
   * The blocked records of the given addresses per (account, VPC, source, destination, port,
   * protocol, interface). Addresses are matched as the records wrote them (how the count query
   * grouped them); the caller keeps the rows of the accounts (and VPCs) it asked for.
   */
  detailsQuery(window: Window, addresses: readonly string[]): AthenaQuery {
    if (addresses.length === 0) throw new RangeError('a details query needs at least one source');
    const c = this.columns;
    const { account, vpc, source, destination, port, protocol, interfaceId, records } = ATHENA_COLUMNS;
    const parameters: string[] = [];
    const where = this.recordsOf(window, parameters, false);
    const placeholders = [...new Set(addresses)].map((ip) => {
      validatedIp(ip);
      parameters.push(literal(ip));
      return '?';
    });
    const optional = (expr: string | undefined, type: string) => expr ?? `CAST(NULL AS ${type})`;
    const sql =
      `SELECT ${c.account} AS ${account}, ${c.vpc} AS ${vpc}, ${c.source} AS ${source}, ${c.destination} AS ${destination}, ` +
      `${optional(c.port, 'int')} AS ${port}, ${optional(c.protocol, 'bigint')} AS ${protocol}, ` +
      `${optional(c.interfaceId, 'varchar')} AS ${interfaceId}, count(*) AS ${records} ` +
      `FROM ${this.from} WHERE ${where} AND ${c.source} IN (${placeholders.join(', ')}) GROUP BY 1, 2, 3, 4, 5, 6, 7`;
    return this.finish('details', sql, parameters, window);
  }

  /**
   * The first FORMAT_CHECK_SAMPLE records of the slice's partitions, whatever their start (a file
   * in another format may not have a start where the table reads one), and how many of them do
   * not have the configured format: no action, log-status or address where the table reads one
   * (fewer fields, or fields in another order; text is read by position, Parquet by name). Only
   * the first rows are read: Athena stops scanning once the LIMIT is met. Undefined for Security
   * Lake, whose records Security Lake writes in one schema.
   */
  formatCheckQuery(slice: Window): AthenaQuery | undefined {
    if (this.columns.start !== 'start') return undefined;
    const c = this.columns;
    const parameters: string[] = [];
    const partitions = this.partitionsOf(slice, parameters);
    // A field AWS writes `-` is NULL in Parquet (and the table reads it so): NULL is `-` here. Not
    // log-status, which every record has: NULL there is a text file with fewer fields.
    const address = (column: string) =>
      `(${column} IS NULL OR ${column} = '-' OR TRY_CAST(${column} AS IPADDRESS) IS NOT NULL)`;
    const fits = [
      `coalesce(action, '-') IN ('ACCEPT', 'REJECT', '-')`,
      ...(c.status === undefined ? [] : [`coalesce(${c.status} IN ('OK', 'NODATA', 'SKIPDATA'), false)`]),
      `coalesce(${address(c.source)}, false)`,
      `coalesce(${address(c.destination)}, false)`,
    ].join(' AND ');
    const { sampled, notInFormat } = ATHENA_COLUMNS;
    // Only the columns checked: Parquet is billed by the columns read.
    const read = ['action', ...(c.status === undefined ? [] : [c.status]), c.source, c.destination];
    const where = partitions.length === 0 ? '' : ` WHERE ${partitions.join(' AND ')}`;
    const sql =
      `SELECT count(*) AS ${sampled}, coalesce(sum(CASE WHEN ${fits} THEN 0 ELSE 1 END), 0) AS ${notInFormat} ` +
      `FROM (SELECT ${read.join(', ')} FROM ${this.from}${where} LIMIT ${FORMAT_CHECK_SAMPLE})`;
    return this.finish('format-check', sql, parameters, slice);
  }

  /** How a result's `window_start` and `last_end` are written: seconds (flow logs) or ms. */
  get timeUnitMs(): 1000 | 1 {
    return this.columns.startUnitMs;
  }

  private skipDataFlag(): string {
    return this.columns.status === undefined ? 'false' : `(${this.columns.status} = 'SKIPDATA')`;
  }

  /** The partitions, the time range, and the counting filter (with SKIPDATA records when asked). */
  private recordsOf(range: Window, parameters: string[], withSkipData: boolean): string {
    const c = this.columns;
    const terms = [...this.partitionsOf(range, parameters)];
    const unit = c.startUnitMs;
    terms.push(
      `${c.start} >= ${wholeNumber(range.start / unit, 'range start')}`,
      `${c.start} < ${wholeNumber(range.end / unit, 'range end')}`,
    );
    const counting = this.countingFilter(parameters);
    terms.push(
      withSkipData && c.status !== undefined
        ? `(${c.status} = 'SKIPDATA' OR (${counting}))`
        : `(${counting})`,
    );
    return terms.join(' AND ');
  }

  /** REJECT, OK, internal source not excluded, external destination not excluded. */
  private countingFilter(parameters: string[]): string {
    const c = this.columns;
    const terms = [c.rejected];
    if (c.status !== undefined) terms.push(`${c.status} = 'OK'`);
    terms.push(`(${this.internal.map((cidr) => this.inCidr(c.source, cidr, parameters)).join(' OR ')})`);
    // An unreadable destination (`-`, `abc`, NULL) is in no subnet, so "not internal" alone would
    // count it; the replay calls such a line malformed and counts nothing.
    terms.push(`TRY_CAST(${c.destination} AS IPADDRESS) IS NOT NULL`);
    for (const cidr of this.internal) terms.push(`NOT ${this.inCidr(c.destination, cidr, parameters)}`);
    for (const cidr of this.excludedSources) terms.push(`NOT ${this.inCidr(c.source, cidr, parameters)}`);
    for (const cidr of this.excludedDestinations)
      terms.push(`NOT ${this.inCidr(c.destination, cidr, parameters)}`);
    return terms.join(' AND ');
  }

  /** The address written as the CIDR's family, and inside it; never NULL (an unreadable address is in no subnet). */
  private inCidr(column: string, cidr: string, parameters: string[]): string {
    const ipv4 = parseCidr(cidr).address.kind() === 'ipv4';
    parameters.push(literal(cidr));
    return (
      `coalesce(strpos(${column}, ':') ${ipv4 ? '= 0' : '> 0'} AND ` +
      `contains(?, TRY_CAST(${column} AS IPADDRESS)), false)`
    );
  }

  /**
   * The partition filter of a range. Flow-log tables: one clause per UTC day from the range's start
   * to its end plus the delivery allowance, with the hours when partitioned hourly. Security Lake:
   * `time_dt`, which its tables are partitioned by.
   */
  private partitionsOf(range: Window, parameters: string[]): string[] {
    if (this.table.kind === 'security-lake') {
      return [
        `time_dt >= TIMESTAMP '${timestampText(range.start)}'`,
        `time_dt < TIMESTAMP '${timestampText(range.end)}'`,
      ];
    }
    const hourly = this.table.hourlyPartitions;
    const last = range.end + this.deliveryReachMs - 1;
    const days: string[] = [];
    for (let day = Math.floor(range.start / DAY_MS) * DAY_MS; day <= last; day += DAY_MS) {
      const date = new Date(day);
      const parts = [
        String(date.getUTCFullYear()).padStart(4, '0'),
        String(date.getUTCMonth() + 1).padStart(2, '0'),
        String(date.getUTCDate()).padStart(2, '0'),
      ];
      parameters.push(...parts.map(literal));
      let clause = 'year = ? AND month = ? AND day = ?';
      if (hourly) {
        const firstHour = Math.max(day, Math.floor(range.start / HOUR_MS) * HOUR_MS);
        const lastHour = Math.min(day + DAY_MS - 1, last);
        const hour = (ms: number) => String(new Date(ms).getUTCHours()).padStart(2, '0');
        if (firstHour > day || lastHour < day + DAY_MS - 1) {
          parameters.push(literal(hour(firstHour)), literal(hour(lastHour)));
          clause += ' AND hour BETWEEN ? AND ?';
        }
      }
      days.push(`(${clause})`);
    }
    return [days.length === 1 ? days[0]! : `(${days.join(' OR ')})`];
  }

  private finish(kind: QueryKind, sql: string, parameters: string[], window: Window): AthenaQuery {
    const bytes = Buffer.byteLength(sql, 'utf8');
    if (bytes > MAX_ATHENA_QUERY_BYTES) {
      throw new RangeError(
        `${kind} query would be ${bytes} bytes, over Athena's limit of ${MAX_ATHENA_QUERY_BYTES}: fewer sources per details query, or fewer CIDRs`,
      );
    }
    return { kind, sql, parameters, window };
  }
}

/** `2026-11-27 16:00:00.000`: Athena's TIMESTAMP literal text, from epoch ms the builder computed. */
function timestampText(ms: number): string {
  wholeNumber(ms, 'timestamp');
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function flowLogColumnsOf(flowLogFormat: string | undefined): Columns {
  const fields: readonly FlowLogField[] =
    flowLogFormat === undefined ? DEFAULT_FLOW_LOG_FORMAT : parseFlowLogFormat(flowLogFormat);
  const has = (field: FlowLogField, expr: string): string | undefined =>
    fields.includes(field) ? expr : undefined;
  return {
    source: 'srcaddr',
    destination: 'dstaddr',
    rejected: `action = 'REJECT'`,
    status: has('log-status', 'log_status'),
    account: has('account-id', 'account_id') ?? `'-'`,
    vpc: has('vpc-id', 'vpc_id') ?? 'CAST(NULL AS varchar)',
    port: has('dstport', 'dstport'),
    protocol: has('protocol', 'protocol'),
    interfaceId: has('interface-id', 'interface_id'),
    lastEnd: has('end', '"end"'),
    start: 'start',
    startUnitMs: 1000,
  };
}

function securityLakeColumns(): Columns {
  return {
    source: 'src_endpoint.ip',
    destination: 'dst_endpoint.ip',
    // OCSF 1.1 action_id: 1 Allowed, 2 Denied (the flow log's REJECT).
    rejected: 'action_id = 2',
    status: 'status_code',
    account: 'cloud.account.uid',
    // Security Lake's mapping puts the flow log's vpc-id and interface-id on the endpoint the
    // record's flow-direction names: src_endpoint for egress, dst_endpoint for ingress (an
    // appliance's or gateway's interface records blocked egress as ingress). Either way, the VPC.
    vpc: 'coalesce(src_endpoint.vpc_uid, dst_endpoint.vpc_uid)',
    port: 'dst_endpoint.port',
    protocol: 'connection_info.protocol_num',
    interfaceId: 'coalesce(src_endpoint.interface_uid, dst_endpoint.interface_uid)',
    // The mapping OCSF publishes for VPC flow logs (which Security Lake's documentation points
    // to) fills end_time_dt, not end_time: either, in ms.
    lastEnd: 'coalesce(end_time, CAST(to_unixtime(end_time_dt) * 1000 AS bigint))',
    start: 'time',
    startUnitMs: 1,
  };
}
