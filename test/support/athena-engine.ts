/**
 * The engine behind the local Athena endpoint: Athena (Trino) SQL run by DuckDB over real files.
 *
 * A statement goes through DuckDB's own parser (`json_serialize_sql`), and its syntax tree is
 * changed, never its text:
 *  - `?` placeholders become the ExecutionParameters, each of which must be one literal (a
 *    string, number, boolean or typed literal such as `TIMESTAMP '...'`);
 *  - Trino's IP functions, which DuckDB lacks (its `inet` extension cannot be downloaded here),
 *    become scalar functions registered from JavaScript: `CAST`/`TRY_CAST(x AS IPADDRESS)` and
 *    `IPADDRESS '...'` -> `athena_ipaddress`/`athena_try_ipaddress` (an IPADDRESS is 16 bytes,
 *    IPv4 stored IPv4-mapped, as in Trino), `contains(cidr, ipaddress)` -> `athena_contains`;
 *  - each table (`"db"."table"`) becomes a view over only the files its partitions hold.
 *
 * Pruning, as Athena does it. A flow-log table with partition projection: every file under the
 * table's location is matched against `storage.location.template`, the values checked against
 * the projection (`enum`, `integer` range and digits), and the top-level conjuncts of the WHERE
 * clause that name only partition columns are evaluated on each partition's values. A table with
 * `statsColumns` (Security Lake's Iceberg tables): a file is skipped when a conjunct `column op
 * constant` cannot hold for any value between that column's minimum and maximum in the file.
 *
 * Bytes scanned, as Athena bills them: a text file's whole (compressed) size; for Parquet, the
 * compressed column chunks of the columns the statement names.
 */
import { promises as fs } from 'node:fs';
import { join, relative, sep } from 'node:path';
import {
  BOOLEAN,
  DuckDBInstance,
  DuckDBScalarFunction,
  VARCHAR,
  type DuckDBConnection,
} from '@duckdb/node-api';
import ipaddr from 'ipaddr.js';
import type { TableColumn } from '../../lambda/adapters/athena-table';

export interface EngineTable {
  database: string;
  name: string;
  /** Data columns; a text table maps them by position (space-delimited, `-` as in the file). */
  columns: readonly TableColumn[];
  partitionKeys: readonly TableColumn[];
  /** `s3://bucket/prefix/`: files under it belong to the table. */
  location: string;
  format: 'text' | 'parquet';
  /** Glue table parameters: `projection.*`, `storage.location.template`, `skip.header.line.count`. */
  parameters: Record<string, string>;
  /** Columns whose per-file minimum and maximum prune files (Iceberg-style). */
  statsColumns?: readonly string[];
}

/** A query the engine refused or failed, as Athena reports it on the query. */
export class AthenaQueryError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    /** 1 system, 2 user, 3 other. */
    readonly category: 1 | 2 | 3 = 2,
  ) {
    super(`${errorType}: ${message}`);
    this.name = 'AthenaQueryError';
  }
}

export interface EngineResult {
  columns: { name: string; type: string }[];
  /** Values as Athena writes them (VarCharValue); null for NULL. */
  rows: (string | null)[][];
  bytesScanned: number;
  /** The files the statement read, relative to the S3 root (`bucket/key`). */
  filesRead: string[];
}

interface FileEntry {
  /** Absolute path. */
  path: string;
  /** `bucket/key`. */
  s3Path: string;
  size: number;
  partition: Record<string, string>;
}

type Node = Record<string, unknown>;

export class AthenaEngine {
  private views = 0;

  private constructor(
    private readonly connection: DuckDBConnection,
    /** Directory holding the local S3: `<root>/<bucket>/<key>`. */
    readonly s3Root: string,
  ) {}

  static async create(s3Root: string): Promise<AthenaEngine> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await instance.connect();
    registerIpFunctions(connection);
    // Trino's to_unixtime(timestamp): seconds since the epoch, a double.
    await connection.run('CREATE MACRO to_unixtime(t) AS epoch(t)');
    return new AthenaEngine(connection, s3Root);
  }

  close(): void {
    this.connection.closeSync();
  }

  /** Runs an Athena statement with its execution parameters over the given tables. */
  async execute(
    sql: string,
    parameters: readonly string[],
    tables: readonly EngineTable[],
    defaultDatabase: string | undefined,
  ): Promise<EngineResult> {
    const statement = await this.parse(sql);
    const values = await Promise.all(parameters.map((p) => this.parameterValue(p)));
    let placeholders = 0;
    const substituted = mapTree(statement, (node) => {
      if (node.class !== 'PARAMETER') return undefined;
      const index = Number(node.identifier) - 1;
      placeholders = Math.max(placeholders, index + 1);
      const value = values[index];
      if (value === undefined) {
        throw new AthenaQueryError(
          'INVALID_PARAMETER_USAGE',
          `the statement has more parameters than the ${values.length} ExecutionParameters given`,
        );
      }
      return value;
    });
    if (placeholders !== values.length) {
      throw new AthenaQueryError(
        'INVALID_PARAMETER_USAGE',
        `${values.length} ExecutionParameters given for ${placeholders} parameter(s) in the statement`,
      );
    }
    const rewritten = mapTree(substituted, rewriteIpFunctions);

    // Each table the statement names becomes a view over the files its WHERE clause can need.
    const referenced = new Set<string>();
    collect(rewritten, (node) => {
      if (node.class === 'COLUMN_REF') {
        const names = node.column_names as string[];
        for (const name of names) referenced.add(name.toLowerCase());
      }
    });
    const where = whereClauseOf(rewritten);
    let bytesScanned = 0;
    const filesRead: string[] = [];
    const viewOf = new Map<string, string>();
    const bound: Array<{ node: Node; view: string }> = [];
    const tableRefs: Node[] = [];
    collect(rewritten, (node) => {
      if (node.type === 'BASE_TABLE') tableRefs.push(node);
    });
    for (const ref of tableRefs) {
      const database = ((ref.schema_name as string) || defaultDatabase || '').toLowerCase();
      const name = (ref.table_name as string).toLowerCase();
      const table = tables.find((t) => t.database === database && t.name === name);
      if (table === undefined) {
        throw new AthenaQueryError(
          'TABLE_NOT_FOUND',
          `Table '${database === '' ? name : `${database}.${name}`}' does not exist`,
        );
      }
      let view = viewOf.get(`${database}.${name}`);
      if (view === undefined) {
        const files = await this.prune(table, where);
        const scanned = await this.bytesOf(table, files, referenced);
        bytesScanned += scanned;
        filesRead.push(...files.map((f) => f.s3Path));
        view = await this.createView(table, files);
        viewOf.set(`${database}.${name}`, view);
      }
      bound.push({ node: ref, view });
    }
    for (const { node, view } of bound) {
      node.schema_name = '';
      node.catalog_name = '';
      node.table_name = view;
    }
    const text = await this.deparse(rewritten);
    let reader;
    try {
      reader = await this.connection.runAndReadAll(text);
    } catch (error) {
      for (const view of viewOf.values()) await this.connection.run(`DROP TABLE IF EXISTS ${view}`);
      throw new AthenaQueryError('GENERIC_USER_ERROR', (error as Error).message);
    }
    for (const view of viewOf.values()) await this.connection.run(`DROP TABLE IF EXISTS ${view}`);
    const columns = reader.columnNames().map((name, i) => ({
      name,
      type: athenaType(String(reader.columnType(i))),
    }));
    const rows = reader.getRows().map((row) => row.map((value) => athenaText(value)));
    return { columns, rows, bytesScanned, filesRead };
  }

  private async parse(sql: string): Promise<Node> {
    const reader = await this.connection.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)})`);
    // Locations past 2^53 (an unknown location) would not survive JSON.parse: they do not matter.
    const parsed = JSON.parse(
      String(reader.getRows()[0]?.[0]).replace(/"query_location":\d+/g, '"query_location":0'),
    ) as { error: boolean; error_message?: string; statements: Node[] };
    if (parsed.error)
      throw new AthenaQueryError('SYNTAX_ERROR', parsed.error_message ?? 'cannot parse the statement');
    if (parsed.statements.length !== 1) {
      throw new AthenaQueryError('SYNTAX_ERROR', 'exactly one statement is allowed');
    }
    const statement = parsed.statements[0]!;
    if (
      (statement.node as Node).type !== 'SELECT_NODE' &&
      (statement.node as Node).type !== 'SET_OPERATION_NODE'
    ) {
      throw new AthenaQueryError('NOT_SUPPORTED', 'only SELECT statements are supported here');
    }
    return parsed as unknown as Node;
  }

  private async deparse(tree: Node): Promise<string> {
    const reader = await this.connection.runAndReadAll(
      `SELECT json_deserialize_sql(${sqlString(JSON.stringify(tree))})`,
    );
    return String(reader.getRows()[0]?.[0]);
  }

  /** One execution parameter: a single literal, as Athena takes them. */
  private async parameterValue(value: string): Promise<Node> {
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
      throw new AthenaQueryError(
        'INVALID_PARAMETER_USAGE',
        'an execution parameter must be 1 to 1024 characters',
      );
    }
    let tree: Node;
    try {
      tree = await this.parse(`SELECT ${value}`);
    } catch {
      throw new AthenaQueryError('INVALID_PARAMETER_USAGE', `execution parameter ${value} is not a literal`);
    }
    const select = ((tree.statements as Node[])[0]!.node as Node).select_list as Node[];
    const only = select.length === 1 ? select[0]! : undefined;
    const isLiteral =
      only !== undefined &&
      (only.class === 'CONSTANT' || (only.class === 'CAST' && (only.child as Node).class === 'CONSTANT'));
    if (!isLiteral) {
      throw new AthenaQueryError('INVALID_PARAMETER_USAGE', `execution parameter ${value} is not a literal`);
    }
    return rewriteIpFunctions(only) ?? only;
  }

  /** The table's files its WHERE clause can need. */
  private async prune(table: EngineTable, where: Node | undefined): Promise<FileEntry[]> {
    let files = await this.filesOf(table);
    const conjuncts = where === undefined ? [] : conjunctsOf(where);
    const partitionNames = new Set(table.partitionKeys.map((k) => k.name.toLowerCase()));
    const onPartitions = conjuncts.filter((conjunct) => {
      const names = columnNames(conjunct);
      return names.length > 0 && names.every((n) => partitionNames.has(n));
    });
    if (onPartitions.length > 0 && files.length > 0) {
      const keys = table.partitionKeys.map((k) => k.name);
      const distinct = [
        ...new Map(files.map((f) => [JSON.stringify(keys.map((k) => f.partition[k])), f])).values(),
      ];
      const rows = distinct
        .map((f, i) => `(${i}, ${keys.map((k) => sqlString(f.partition[k] ?? '')).join(', ')})`)
        .join(', ');
      const conditions = await Promise.all(onPartitions.map((c) => this.expressionText(c)));
      const reader = await this.connection.runAndReadAll(
        `SELECT pid FROM (VALUES ${rows}) AS p(pid, ${keys.map((k) => `"${k}"`).join(', ')}) WHERE ${conditions.map((c) => `(${c})`).join(' AND ')}`,
      );
      const kept = new Set(
        reader.getRows().map((r) => JSON.stringify(keys.map((k) => distinct[Number(r[0])]!.partition[k]))),
      );
      files = files.filter((f) => kept.has(JSON.stringify(keys.map((k) => f.partition[k]))));
    }
    for (const column of table.statsColumns ?? []) {
      const bounds = conjuncts.map((c) => comparisonOn(c, column)).filter((b) => b !== undefined);
      if (bounds.length === 0 || files.length === 0) continue;
      const kept: FileEntry[] = [];
      for (const file of files) {
        const reader = await this.connection.runAndReadAll(
          `SELECT min("${column}")::VARCHAR, max("${column}")::VARCHAR FROM read_parquet(${sqlString(file.path)})`,
        );
        const [min, max] = reader.getRows()[0] as [string | null, string | null];
        if (min === null || max === null) continue;
        const checks = await Promise.all(
          bounds.map(async (bound) => {
            const text = await this.expressionText(bound.constant);
            const r = await this.connection.runAndReadAll(
              `SELECT ${mayHold(bound.op, `CAST(${sqlString(min)} AS TIMESTAMP)`, `CAST(${sqlString(max)} AS TIMESTAMP)`, `CAST(${text} AS TIMESTAMP)`)}`,
            );
            return r.getRows()[0]?.[0] === true;
          }),
        );
        if (checks.every(Boolean)) kept.push(file);
      }
      files = kept;
    }
    return files;
  }

  /** The SQL text of an expression node. */
  private async expressionText(expression: Node): Promise<string> {
    const template = await this.parse('SELECT 1');
    ((template.statements as Node[])[0]!.node as Node).select_list = [expression];
    const text = await this.deparse(template);
    return text.replace(/^SELECT /, '');
  }

  /** Files under the table's location, with their partition values (projection checked). */
  private async filesOf(table: EngineTable): Promise<FileEntry[]> {
    const location = /^s3:\/\/([^/]+)\/(.*)$/.exec(table.location);
    if (location === null)
      throw new AthenaQueryError('HIVE_METASTORE_ERROR', `bad location ${table.location}`, 1);
    const root = join(this.s3Root, location[1]!, location[2]!);
    const all = await listFiles(root);
    const template = table.parameters['storage.location.template'];
    const projected = table.parameters['projection.enabled'] === 'true';
    const keys = table.partitionKeys.map((k) => k.name);
    const entries: FileEntry[] = [];
    for (const { path, size } of all) {
      const s3Path = relative(this.s3Root, path).split(sep).join('/');
      const directory = `s3://${s3Path.slice(0, s3Path.lastIndexOf('/'))}`;
      let partition: Record<string, string> | undefined;
      if (projected && template !== undefined) {
        partition = matchTemplate(template, directory, keys);
        if (
          partition !== undefined &&
          !keys.every((k) => projectionAccepts(table.parameters, k, partition![k]!))
        ) {
          partition = undefined;
        }
      } else {
        // Hive-style directories `key=value` under the location.
        partition = {};
        for (const segment of directory.split('/')) {
          const eq = segment.indexOf('=');
          if (eq > 0) partition[segment.slice(0, eq).toLowerCase()] = segment.slice(eq + 1);
        }
        if (!keys.every((k) => partition![k] !== undefined)) partition = undefined;
      }
      if (partition !== undefined) entries.push({ path, s3Path, size, partition });
    }
    return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  private async bytesOf(
    table: EngineTable,
    files: readonly FileEntry[],
    referenced: ReadonlySet<string>,
  ): Promise<number> {
    if (table.format === 'text') return files.reduce((sum, f) => sum + f.size, 0);
    let total = 0;
    for (const file of files) {
      const reader = await this.connection.runAndReadAll(
        `SELECT path_in_schema, total_compressed_size FROM parquet_metadata(${sqlString(file.path)})`,
      );
      for (const [path, size] of reader.getRows()) {
        const top = String(path).split(',')[0]!.trim().toLowerCase();
        if (referenced.has(top)) total += Number(size);
      }
    }
    return total;
  }

  /** A view of the table over the given files, its partition columns added from their paths. */
  private async createView(table: EngineTable, files: readonly FileEntry[]): Promise<string> {
    this.views += 1;
    const view = `athena_table_${this.views}`;
    // (dropped after the statement ran)
    const typed = table.columns.map((c) => `TRY_CAST("${c.name}" AS ${duckType(c.type)}) AS "${c.name}"`);
    const empty = `SELECT ${[...table.columns, ...table.partitionKeys].map((c) => `CAST(NULL AS ${duckType(c.type)}) AS "${c.name}"`).join(', ')} WHERE false`;
    const groups = new Map<string, FileEntry[]>();
    for (const file of files) {
      const key = JSON.stringify(file.partition);
      groups.set(key, [...(groups.get(key) ?? []), file]);
    }
    const parts = [...groups.values()].map((group) => {
      const list = `[${group.map((f) => sqlString(f.path)).join(', ')}]`;
      const partitionValues = table.partitionKeys.map(
        (k) => `CAST(${sqlString(group[0]!.partition[k.name] ?? '')} AS ${duckType(k.type)}) AS "${k.name}"`,
      );
      if (table.format === 'parquet') {
        const names = table.columns.map((c) => `"${c.name}"`);
        return `SELECT ${[...names, ...partitionValues].join(', ')} FROM read_parquet(${list}, union_by_name = true)`;
      }
      const skip = Number(table.parameters['skip.header.line.count'] ?? '0');
      const columns = `{${table.columns.map((c) => `${sqlString(c.name)}: 'VARCHAR'`).join(', ')}}`;
      return (
        `SELECT ${[...typed, ...partitionValues].join(', ')} FROM read_csv(${list}, delim = ' ', header = false, ` +
        `skip = ${skip}, columns = ${columns}, quote = '', escape = '', auto_detect = false, null_padding = true, strict_mode = false)`
      );
    });
    const body = parts.length === 0 ? empty : parts.join(' UNION ALL ');
    // Materialised: the IP functions run in JavaScript, one call per vector, and a view over many
    // small files hands them many small vectors; a table packs the rows into full ones.
    await this.connection.run(`CREATE OR REPLACE TEMP TABLE ${view} AS ${body}`);
    return view;
  }
}

// ---------------------------------------------------------------------------------------------
// Trino's IP functions

/** An address as Trino's IPADDRESS holds it: 16 bytes (IPv4 mapped), here as 32 hex digits. */
export function ipaddressOf(text: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) parsed = ipaddr.IPv4.parse(text).toIPv4MappedAddress();
  else if (/^[0-9A-Fa-f:.]+$/.test(text) && ipaddr.IPv6.isValid(text)) parsed = ipaddr.IPv6.parse(text);
  else return undefined;
  return Buffer.from(parsed.toByteArray()).toString('hex');
}

/** Trino's contains(network, address): the address (IPADDRESS hex) inside the CIDR; throws on a bad CIDR. */
export function cidrContains(cidr: string, addressHex: string): boolean {
  const slash = cidr.indexOf('/');
  const base = slash < 0 ? undefined : ipaddressOf(cidr.slice(0, slash));
  const bitsText = slash < 0 ? '' : cidr.slice(slash + 1);
  if (base === undefined || !/^\d{1,3}$/.test(bitsText)) throw new Error(`Invalid CIDR: ${cidr}`);
  const v4 = !cidr.slice(0, slash).includes(':');
  const prefix = Number(bitsText) + (v4 ? 96 : 0);
  if (prefix > 128 || (v4 && Number(bitsText) > 32)) throw new Error(`Invalid CIDR: ${cidr}`);
  const a = Buffer.from(base, 'hex');
  const b = Buffer.from(addressHex, 'hex');
  for (let bit = 0; bit < prefix; bit += 1) {
    const mask = 0x80 >> (bit % 8);
    if ((a[bit >> 3]! & mask) !== (b[bit >> 3]! & mask)) return false;
  }
  return true;
}

function registerIpFunctions(connection: DuckDBConnection): void {
  const unary = (name: string, strict: boolean) =>
    DuckDBScalarFunction.create({
      name,
      returnType: VARCHAR,
      parameterTypes: [VARCHAR],
      mainFunction: (info, input, output) => {
        const values = input.getColumnVector(0);
        for (let i = 0; i < input.rowCount; i += 1) {
          const text = values.getItem(i) as string | null;
          const hex = text === null ? undefined : ipaddressOf(text);
          if (hex === undefined && text !== null && strict) {
            info.setError(`INVALID_CAST_ARGUMENT: Cannot cast value to IPADDRESS: ${text}`);
            return;
          }
          output.setItem(i, hex ?? null);
        }
        output.flush();
      },
    });
  connection.registerScalarFunction(unary('athena_ipaddress', true));
  connection.registerScalarFunction(unary('athena_try_ipaddress', false));
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: 'athena_contains',
      returnType: BOOLEAN,
      parameterTypes: [VARCHAR, VARCHAR],
      mainFunction: (info, input, output) => {
        const cidrs = input.getColumnVector(0);
        const addresses = input.getColumnVector(1);
        for (let i = 0; i < input.rowCount; i += 1) {
          const cidr = cidrs.getItem(i) as string | null;
          const address = addresses.getItem(i) as string | null;
          if (cidr === null || address === null) {
            output.setItem(i, null);
            continue;
          }
          try {
            output.setItem(i, cidrContains(cidr, address));
          } catch (error) {
            info.setError(`INVALID_FUNCTION_ARGUMENT: ${(error as Error).message}`);
            return;
          }
        }
        output.flush();
      },
    }),
  );
}

const isIpaddressCast = (node: Node | undefined): boolean =>
  node !== undefined &&
  node.class === 'CAST' &&
  (((node.cast_type as Node).type_info as Node | null)?.name as string | undefined)?.toUpperCase() ===
    'IPADDRESS';

/** Rewrites one node (mapTree callback): IPADDRESS casts and contains(cidr, ipaddress). */
function rewriteIpFunctions(node: Node): Node | undefined {
  if (isIpaddressCast(node)) {
    const child = mapTree(node.child as Node, rewriteIpFunctions);
    return functionNode(node.try_cast === true ? 'athena_try_ipaddress' : 'athena_ipaddress', [child]);
  }
  if (node.class === 'FUNCTION' && (node.function_name as string).toLowerCase() === 'contains') {
    const children = node.children as Node[];
    if (children.length === 2 && isIpaddressCast(children[1])) {
      return functionNode(
        'athena_contains',
        children.map((c) => mapTree(c, rewriteIpFunctions)),
      );
    }
  }
  return undefined;
}

function functionNode(name: string, children: Node[]): Node {
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias: '',
    query_location: 0,
    function_name: name,
    schema: '',
    children,
    filter: null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct: false,
    is_operator: false,
    export_state: false,
    catalog: '',
  };
}

// ---------------------------------------------------------------------------------------------
// Syntax-tree helpers

/** Copies a tree, replacing each node `replace` returns something for (not descending into it). */
function mapTree<T>(value: T, replace: (node: Node) => Node | undefined): T {
  if (Array.isArray(value)) return value.map((v) => mapTree(v, replace)) as T;
  if (value === null || typeof value !== 'object') return value;
  const node = value as Node;
  const replaced = replace(node);
  if (replaced !== undefined) return replaced as T;
  const copy: Node = {};
  for (const [key, child] of Object.entries(node)) copy[key] = mapTree(child, replace);
  return copy as T;
}

function collect(value: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) collect(v, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  visit(value as Node);
  for (const child of Object.values(value as Node)) collect(child, visit);
}

function whereClauseOf(tree: Node): Node | undefined {
  const node = (tree.statements as Node[])[0]!.node as Node;
  return (node.where_clause as Node | null) ?? undefined;
}

function conjunctsOf(where: Node): Node[] {
  if (where.class === 'CONJUNCTION' && where.type === 'CONJUNCTION_AND') {
    return (where.children as Node[]).flatMap(conjunctsOf);
  }
  return [where];
}

function columnNames(node: Node): string[] {
  const names: string[] = [];
  collect(node, (n) => {
    if (n.class === 'COLUMN_REF') names.push(((n.column_names as string[])[0] ?? '').toLowerCase());
  });
  return names;
}

/** `column op constant` (either side), normalised to `column op constant`. */
function comparisonOn(node: Node, column: string): { op: string; constant: Node } | undefined {
  if (node.class !== 'COMPARISON') return undefined;
  const left = node.left as Node;
  const right = node.right as Node;
  const isColumn = (n: Node) =>
    n.class === 'COLUMN_REF' &&
    (n.column_names as string[]).length === 1 &&
    (n.column_names as string[])[0]!.toLowerCase() === column;
  const isConstant = (n: Node) =>
    n.class === 'CONSTANT' || (n.class === 'CAST' && (n.child as Node).class === 'CONSTANT');
  const flip: Record<string, string> = {
    COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
    COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
    COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
    COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
    COMPARE_EQUAL: 'COMPARE_EQUAL',
  };
  if (!((node.type as string) in flip)) return undefined;
  if (isColumn(left) && isConstant(right)) return { op: node.type as string, constant: right };
  if (isColumn(right) && isConstant(left)) return { op: flip[node.type as string]!, constant: left };
  return undefined;
}

/** SQL: can `column op c` hold for some column value in [min, max]? */
function mayHold(op: string, min: string, max: string, c: string): string {
  switch (op) {
    case 'COMPARE_LESSTHAN':
      return `${min} < ${c}`;
    case 'COMPARE_LESSTHANOREQUALTO':
      return `${min} <= ${c}`;
    case 'COMPARE_GREATERTHAN':
      return `${max} > ${c}`;
    case 'COMPARE_GREATERTHANOREQUALTO':
      return `${max} >= ${c}`;
    default:
      return `${min} <= ${c} AND ${c} <= ${max}`;
  }
}

/** Partition values of a directory per `storage.location.template` (`${name}` placeholders). */
function matchTemplate(
  template: string,
  directory: string,
  keys: readonly string[],
): Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = template
    .replace(/\/+$/, '')
    .split(/(\$\{[a-z_][a-z0-9_]*\})/)
    .map((part) => {
      const m = /^\$\{([a-z_][a-z0-9_]*)\}$/.exec(part);
      if (m === null) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '([^/]+)';
    })
    .join('');
  const match = new RegExp(`^${pattern}$`).exec(directory.replace(/\/+$/, ''));
  if (match === null) return undefined;
  const values: Record<string, string> = {};
  names.forEach((name, i) => (values[name] = match[i + 1]!));
  return keys.every((k) => values[k] !== undefined) ? values : undefined;
}

/** Does the projection configured for `key` produce `value`? */
function projectionAccepts(parameters: Record<string, string>, key: string, value: string): boolean {
  const type = parameters[`projection.${key}.type`];
  if (type === 'enum') return (parameters[`projection.${key}.values`] ?? '').split(',').includes(value);
  if (type === 'integer') {
    const [low, high] = (parameters[`projection.${key}.range`] ?? '').split(',').map(Number);
    const digits = Number(parameters[`projection.${key}.digits`] ?? '1');
    if (!/^\d+$/.test(value) || value.length < digits) return false;
    if (digits > 1 && value.length !== Math.max(digits, String(Number(value)).length)) return false;
    const n = Number(value);
    return low !== undefined && high !== undefined && n >= low && n <= high;
  }
  if (type === 'injected') return true;
  return false;
}

async function listFiles(root: string): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  const visit = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) found.push({ path, size: (await fs.stat(path)).size });
    }
  };
  await visit(root);
  return found;
}

const sqlString = (text: string): string => `'${text.replace(/'/g, "''")}'`;

function duckType(glueType: string): string {
  const type = glueType.toLowerCase();
  if (type === 'string') return 'VARCHAR';
  if (type === 'int') return 'INTEGER';
  if (type.startsWith('struct<')) return structType(type);
  return type.toUpperCase();
}

/** Glue's `struct<a:string,b:struct<c:int>>` as DuckDB's `STRUCT(a VARCHAR, b STRUCT(c INTEGER))`. */
function structType(type: string): string {
  const inner = type.slice('struct<'.length, -1);
  const fields: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= inner.length; i += 1) {
    const c = inner[i];
    if (c === '<') depth += 1;
    else if (c === '>') depth -= 1;
    else if ((c === ',' && depth === 0) || i === inner.length) {
      const field = inner.slice(start, i);
      const colon = field.indexOf(':');
      fields.push(`"${field.slice(0, colon)}" ${duckType(field.slice(colon + 1))}`);
      start = i + 1;
    }
  }
  return `STRUCT(${fields.join(', ')})`;
}

function athenaType(duck: string): string {
  const type = duck.toUpperCase();
  if (type === 'VARCHAR') return 'varchar';
  if (type === 'BIGINT' || type === 'HUGEINT') return 'bigint';
  if (type === 'INTEGER') return 'integer';
  if (type === 'BOOLEAN') return 'boolean';
  if (type === 'DOUBLE') return 'double';
  if (type.startsWith('TIMESTAMP')) return 'timestamp';
  return type.toLowerCase();
}

/** A value as Athena's VarCharValue writes it. */
function athenaText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  return String(value);
}
