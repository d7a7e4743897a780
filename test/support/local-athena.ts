/**
 * A local Amazon Athena endpoint for tests: speaks the AWS JSON 1.1 protocol of
 * `StartQueryExecution`, `GetQueryExecution`, `GetQueryResults` and `StopQueryExecution` as the
 * real `@aws-sdk/client-athena` sends them, runs the SQL with DuckDB over real Parquet and text
 * files laid out as in S3 (athena-engine.ts: execution parameters, Trino's IP functions, partition
 * projection, bytes scanned), writes each result's CSV object where the workgroup says (served by
 * local-s3.ts from the same directory), and enforces the documented limits: 1,000 rows per
 * GetQueryResults page (the header row first on the first page), QUEUED -> RUNNING -> SUCCEEDED
 * (or FAILED / CANCELLED), TooManyRequestsException past the concurrent-query limit, and the
 * workgroup's per-query bytes-scanned cutoff (the query is cancelled).
 */
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { AthenaEngine, AthenaQueryError, type EngineTable } from './athena-engine';
import {
  listenOnLoopback,
  localClientConfig,
  newRequestId,
  readBody,
  type LocalClientConfig,
} from './local-endpoint';

export type { EngineTable } from './athena-engine';

export type AthenaAction =
  'StartQueryExecution' | 'GetQueryExecution' | 'GetQueryResults' | 'StopQueryExecution';
export type AthenaErrorCode =
  'TooManyRequestsException' | 'InternalServerException' | 'InvalidRequestException';
export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** Documented limits (Athena API reference and quotas). */
export const ATHENA_LIMITS = {
  maxQueryStringBytes: 262_144,
  maxResultsPerPage: 1000,
  maxParameterLength: 1024,
  /** The smallest per-query cutoff a workgroup accepts (10 MB). */
  minBytesScannedCutoff: 10_000_000,
  /** Active DML queries an account may run at once (the default quota is higher; tests lower it). */
  maxConcurrentQueries: 20,
} as const;

export interface LocalWorkGroup {
  /** `s3://bucket/prefix/`: where result objects go (enforced, as the stack's workgroup does). */
  outputLocation: string;
  /** Queries scanning more are cancelled. */
  bytesScannedCutoffPerQuery?: number;
}

export interface LocalAthenaOptions {
  /** The local S3 directory: `<s3Root>/<bucket>/<key>`. */
  s3Root: string;
  workGroups: Record<string, LocalWorkGroup>;
  tables: readonly EngineTable[];
  /** GetQueryExecution calls answering QUEUED, then RUNNING, before the end state. @default 1 each */
  queuedPolls?: number;
  runningPolls?: number;
  /** QUEUED + RUNNING queries allowed at once. @default 20 */
  maxConcurrentQueries?: number;
}

/** What the endpoint recorded about one query. */
export interface RecordedQuery {
  id: string;
  sql: string;
  parameters: string[];
  workGroup: string;
  state: QueryState;
  stateChangeReason?: string;
  bytesScanned: number;
  rowCount: number;
  filesRead: string[];
  outputLocation: string;
  /** QueryExecutionContext.Database: the session's database (Athena's default: `default`). */
  database?: string;
}

export interface InjectedFailure {
  /** FAILED (default) or CANCELLED. */
  state?: 'FAILED' | 'CANCELLED';
  reason?: string;
  /** AthenaError.ErrorCategory: 1 system (default), 2 user, 3 other. */
  category?: 1 | 2 | 3;
  retryable?: boolean;
  /** FAILED without an AthenaError (the API does not promise one). */
  noAthenaError?: boolean;
}

export interface LocalAthena {
  endpoint: string;
  readonly queries: readonly RecordedQuery[];
  readonly callCounts: Readonly<Record<AthenaAction, number>>;
  /** The most queries QUEUED or RUNNING at once. */
  readonly peakActiveQueries: number;
  /** The next `count` calls of `action` answer `code` (before any validation). */
  injectErrors(action: AthenaAction, code: AthenaErrorCode, count?: number): void;
  /**
   * The next `count` calls of `action` are carried out, and then answer `code` (the response was
   * lost): a client that retries must not have the work done twice.
   */
  loseResponses(action: AthenaAction, code: AthenaErrorCode, count?: number): void;
  /** The next `count` queries end in the given failure instead of SUCCEEDED. */
  failNextQueries(count: number, failure?: InjectedFailure): void;
  setWorkGroup(name: string, workGroup: LocalWorkGroup): void;
  resetCounters(): void;
  clientConfig(): LocalClientConfig;
  stop(): Promise<void>;
}

class ServiceError extends Error {
  constructor(
    readonly code: AthenaErrorCode | 'UnknownOperationException' | 'SerializationException',
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
  get httpStatus(): number {
    return this.code === 'InternalServerException' ? 500 : 400;
  }
}

interface Execution {
  record: RecordedQuery;
  submitted: number;
  polls: number;
  finalState: QueryState;
  athenaError?: { ErrorCategory: number; ErrorType: number; Retryable: boolean; ErrorMessage: string };
  columns: { name: string; type: string }[];
  /** Header first. */
  rows: (string | null)[][];
  database?: string;
}

export async function startLocalAthena(options: LocalAthenaOptions): Promise<LocalAthena> {
  const queuedPolls = options.queuedPolls ?? 1;
  const runningPolls = options.runningPolls ?? 1;
  const maxConcurrent = options.maxConcurrentQueries ?? ATHENA_LIMITS.maxConcurrentQueries;
  const workGroups = new Map(Object.entries(options.workGroups));
  const engine = await AthenaEngine.create(options.s3Root);
  const executions = new Map<string, Execution>();
  let recorded: RecordedQuery[] = [];
  let callCounts: Record<AthenaAction, number> = {
    StartQueryExecution: 0,
    GetQueryExecution: 0,
    GetQueryResults: 0,
    StopQueryExecution: 0,
  };
  let injected: { action: AthenaAction; code: AthenaErrorCode; remaining: number }[] = [];
  let lost: { action: AthenaAction; code: AthenaErrorCode; remaining: number }[] = [];
  // ClientRequestToken -> the answer of the request that created the query: a retry with the
  // same token gets it again and starts no other query (Athena's documented idempotency).
  const answered = new Map<string, Record<string, unknown>>();
  let failures: { failure: InjectedFailure; remaining: number }[] = [];
  let counter = 0;
  let peak = 0;
  // One query at a time through DuckDB (StartQueryExecution returns before the engine is done).
  let engineQueue: Promise<unknown> = Promise.resolve();

  const active = (): number =>
    [...executions.values()].filter((e) => e.record.state === 'QUEUED' || e.record.state === 'RUNNING')
      .length;

  const startQueryExecution = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const token = request.ClientRequestToken;
    if (token !== undefined && (typeof token !== 'string' || token.length < 32 || token.length > 128)) {
      throw new ServiceError('InvalidRequestException', 'ClientRequestToken must be 32 to 128 characters');
    }
    const earlier = typeof token === 'string' ? answered.get(token) : undefined;
    if (earlier !== undefined) return earlier;
    const answer = await startNewQuery(request);
    if (typeof token === 'string') answered.set(token, answer);
    return answer;
  };

  const startNewQuery = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const sql = request.QueryString;
    if (
      typeof sql !== 'string' ||
      sql.length === 0 ||
      Buffer.byteLength(sql) > ATHENA_LIMITS.maxQueryStringBytes
    ) {
      throw new ServiceError(
        'InvalidRequestException',
        `QueryString must be 1 to ${ATHENA_LIMITS.maxQueryStringBytes} bytes`,
      );
    }
    const workGroupName = typeof request.WorkGroup === 'string' ? request.WorkGroup : 'primary';
    const workGroup = workGroups.get(workGroupName);
    if (workGroup === undefined) {
      throw new ServiceError('InvalidRequestException', `WorkGroup ${workGroupName} is not found.`);
    }
    const parameters = request.ExecutionParameters ?? [];
    if (
      !Array.isArray(parameters) ||
      parameters.some(
        (p) => typeof p !== 'string' || p.length < 1 || p.length > ATHENA_LIMITS.maxParameterLength,
      )
    ) {
      throw new ServiceError(
        'InvalidRequestException',
        `ExecutionParameters must be strings of 1 to ${ATHENA_LIMITS.maxParameterLength} characters`,
      );
    }
    if (active() >= maxConcurrent) {
      throw new ServiceError('TooManyRequestsException', 'Rate exceeded', {
        Reason: 'CONCURRENT_QUERY_LIMIT_EXCEEDED',
      });
    }
    counter += 1;
    const id = `00000000-0000-4000-a000-${counter.toString(16).padStart(12, '0')}`;
    const outputLocation = `${workGroup.outputLocation.replace(/\/?$/, '/')}${id}.csv`;
    const record: RecordedQuery = {
      id,
      sql,
      parameters: parameters as string[],
      workGroup: workGroupName,
      state: queuedPolls > 0 ? 'QUEUED' : 'RUNNING',
      bytesScanned: 0,
      rowCount: 0,
      filesRead: [],
      outputLocation,
    };
    const context = request.QueryExecutionContext as { Database?: string } | undefined;
    if (context?.Database !== undefined) record.database = context.Database;
    const execution: Execution = {
      record,
      submitted: Date.now() / 1000,
      polls: 0,
      finalState: 'SUCCEEDED',
      columns: [],
      rows: [],
      ...(context?.Database === undefined ? {} : { database: context.Database }),
    };
    executions.set(id, execution);
    recorded.push(record);
    peak = Math.max(peak, active());

    const injectedFailure = failures.find((f) => f.remaining > 0);
    if (injectedFailure !== undefined) injectedFailure.remaining -= 1;
    const run = async (): Promise<void> => {
      try {
        const result = await engine.execute(sql, record.parameters, options.tables, execution.database);
        record.bytesScanned = result.bytesScanned;
        record.filesRead = result.filesRead;
        const cutoff = workGroup.bytesScannedCutoffPerQuery;
        if (cutoff !== undefined && result.bytesScanned > cutoff) {
          // Athena stops the query once it passes the cutoff: it is billed for about the cutoff.
          record.bytesScanned = cutoff;
          execution.finalState = 'CANCELLED';
          record.stateChangeReason = `Query cancelled! : Bytes scanned limit was exceeded (BytesScannedCutoffPerQuery ${cutoff} bytes; the query needed ${result.bytesScanned})`;
          return;
        }
        if (injectedFailure !== undefined) {
          const failure = injectedFailure.failure;
          execution.finalState = failure.state ?? 'FAILED';
          record.stateChangeReason = failure.reason ?? 'injected failure';
          if (execution.finalState === 'FAILED' && failure.noAthenaError !== true) {
            execution.athenaError = {
              ErrorCategory: failure.category ?? 1,
              ErrorType: failure.category === 2 ? 1301 : 401,
              Retryable: failure.retryable ?? false,
              ErrorMessage: record.stateChangeReason,
            };
          }
          return;
        }
        execution.columns = result.columns;
        execution.rows = [result.columns.map((c) => c.name), ...result.rows];
        record.rowCount = result.rows.length;
        await writeResultObject(options.s3Root, outputLocation, execution.rows);
      } catch (error) {
        if (!(error instanceof AthenaQueryError)) throw error;
        execution.finalState = 'FAILED';
        record.stateChangeReason = error.message;
        execution.athenaError = {
          ErrorCategory: error.category,
          ErrorType: error.category === 2 ? 1301 : 401,
          Retryable: false,
          ErrorMessage: error.message,
        };
      }
    };
    const done = engineQueue.then(run);
    engineQueue = done.catch(() => undefined);
    await done;
    return { QueryExecutionId: id };
  };

  const lookup = (request: Record<string, unknown>): Execution => {
    const id = request.QueryExecutionId;
    if (typeof id !== 'string' || id.length === 0) {
      throw new ServiceError('InvalidRequestException', 'QueryExecutionId is required');
    }
    const execution = executions.get(id);
    if (execution === undefined) {
      throw new ServiceError('InvalidRequestException', `QueryExecution ${id} was not found`, {
        AthenaErrorCode: 'INVALID_INPUT',
      });
    }
    return execution;
  };

  const getQueryExecution = (request: Record<string, unknown>): Record<string, unknown> => {
    const execution = lookup(request);
    const record = execution.record;
    if (record.state === 'QUEUED' || record.state === 'RUNNING') {
      execution.polls += 1;
      if (execution.polls > queuedPolls + runningPolls) record.state = execution.finalState;
      else if (execution.polls > queuedPolls) record.state = 'RUNNING';
    }
    const finished = record.state !== 'QUEUED' && record.state !== 'RUNNING';
    return {
      QueryExecution: {
        QueryExecutionId: record.id,
        Query: record.sql,
        StatementType: 'DML',
        ResultConfiguration: { OutputLocation: record.outputLocation },
        ...(execution.database === undefined
          ? {}
          : { QueryExecutionContext: { Database: execution.database } }),
        Status: {
          State: record.state,
          SubmissionDateTime: execution.submitted,
          ...(finished ? { CompletionDateTime: Date.now() / 1000 } : {}),
          ...(record.stateChangeReason === undefined || !finished
            ? {}
            : { StateChangeReason: record.stateChangeReason }),
          ...(execution.athenaError === undefined || record.state !== 'FAILED'
            ? {}
            : { AthenaError: execution.athenaError }),
        },
        Statistics: {
          DataScannedInBytes: finished ? record.bytesScanned : 0,
          EngineExecutionTimeInMillis: 1,
          TotalExecutionTimeInMillis: 1,
        },
        WorkGroup: record.workGroup,
        // No ExecutionParameters: "The list of parameters is not returned in the response" (the
        // API reference's QueryExecution).
      },
    };
  };

  const getQueryResults = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const execution = lookup(request);
    const state = execution.record.state;
    if (state !== 'SUCCEEDED') {
      throw new ServiceError(
        'InvalidRequestException',
        state === 'QUEUED' || state === 'RUNNING'
          ? `Query has not yet finished. Current state: ${state}`
          : `Query did not finish successfully. Final query state: ${state}`,
        { AthenaErrorCode: 'INVALID_INPUT' },
      );
    }
    // Athena reads the rows from the result object in the output location: once it is gone (the
    // results bucket's lifecycle), the results cannot be read. The exact error is not documented.
    const rows = await readResultObject(options.s3Root, execution.record.outputLocation);
    if (rows === undefined) {
      throw new ServiceError(
        'InvalidRequestException',
        `The query results in ${execution.record.outputLocation} could not be read: the object does not exist`,
      );
    }
    const maxResults = request.MaxResults ?? ATHENA_LIMITS.maxResultsPerPage;
    if (
      !Number.isInteger(maxResults) ||
      (maxResults as number) < 1 ||
      (maxResults as number) > ATHENA_LIMITS.maxResultsPerPage
    ) {
      throw new ServiceError(
        'InvalidRequestException',
        `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${ATHENA_LIMITS.maxResultsPerPage}`,
      );
    }
    const offset = decodeToken(request.NextToken, execution.record.id);
    const page = rows.slice(offset, offset + (maxResults as number));
    const next = offset + page.length;
    return {
      ResultSet: {
        Rows: page.map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) })),
        ResultSetMetadata: {
          ColumnInfo: execution.columns.map((c) => ({
            CatalogName: 'hive',
            SchemaName: '',
            TableName: '',
            Name: c.name,
            Label: c.name,
            Type: c.type,
            Precision: 0,
            Scale: 0,
            Nullable: 'UNKNOWN',
            CaseSensitive: c.type === 'varchar',
          })),
        },
      },
      ...(next < rows.length ? { NextToken: encodeToken(execution.record.id, next) } : {}),
      UpdateCount: 0,
    };
  };

  const stopQueryExecution = (request: Record<string, unknown>): Record<string, unknown> => {
    const execution = lookup(request);
    if (execution.record.state === 'QUEUED' || execution.record.state === 'RUNNING') {
      execution.record.state = 'CANCELLED';
      execution.record.stateChangeReason = 'Query was cancelled by user';
    }
    return {};
  };

  const handlers: Record<
    AthenaAction,
    (request: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>
  > = {
    StartQueryExecution: startQueryExecution,
    GetQueryExecution: getQueryExecution,
    GetQueryResults: getQueryResults,
    StopQueryExecution: stopQueryExecution,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix, action] = target.split('.');
    try {
      if (
        req.method !== 'POST' ||
        prefix !== 'AmazonAthena' ||
        action === undefined ||
        !(action in handlers)
      ) {
        throw new ServiceError(
          'UnknownOperationException',
          `Operation ${target || '(none)'} is not supported here`,
        );
      }
      const athenaAction = action as AthenaAction;
      callCounts[athenaAction] += 1;
      const error = injected.find((e) => e.action === athenaAction && e.remaining > 0);
      if (error !== undefined) {
        error.remaining -= 1;
        throw new ServiceError(
          error.code,
          `Injected ${error.code} for ${athenaAction}`,
          error.code === 'TooManyRequestsException' ? { Reason: 'CONCURRENT_QUERY_LIMIT_EXCEEDED' } : {},
        );
      }
      let request: unknown;
      try {
        request = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new ServiceError('SerializationException', 'request body is not JSON');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        throw new ServiceError('SerializationException', 'request body must be a JSON object');
      }
      const answer = await handlers[athenaAction](request as Record<string, unknown>);
      const lose = lost.find((e) => e.action === athenaAction && e.remaining > 0);
      if (lose !== undefined) {
        lose.remaining -= 1;
        throw new ServiceError(
          lose.code,
          `Injected ${lose.code} for ${athenaAction} after it was carried out`,
        );
      }
      send(res, 200, answer);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      res.setHeader('x-amzn-ErrorType', error.code);
      send(res, error.httpStatus, { __type: error.code, message: error.message, ...error.extra });
    }
  };

  const server = await listenOnLoopback(handle);
  return {
    endpoint: server.endpoint,
    get queries() {
      return recorded.map((q) => ({ ...q }));
    },
    get callCounts() {
      return { ...callCounts };
    },
    get peakActiveQueries() {
      return peak;
    },
    injectErrors(action, code, count = 1) {
      injected.push({ action, code, remaining: count });
    },
    loseResponses(action, code, count = 1) {
      lost.push({ action, code, remaining: count });
    },
    failNextQueries(count, failure = {}) {
      failures.push({ failure, remaining: count });
    },
    setWorkGroup(name, workGroup) {
      workGroups.set(name, workGroup);
    },
    resetCounters() {
      recorded = [];
      callCounts = {
        StartQueryExecution: 0,
        GetQueryExecution: 0,
        GetQueryResults: 0,
        StopQueryExecution: 0,
      };
      injected = [];
      lost = [];
      failures = [];
      peak = active();
    },
    clientConfig: () => localClientConfig(server.endpoint),
    async stop() {
      await server.stop();
      await engineQueue;
      engine.close();
    },
  };
}

/** Athena's CSV result object: a header, every value in double quotes, NULL as an empty field. */
export function resultCsv(rows: readonly (readonly (string | null)[])[]): string {
  return rows
    .map((row) => row.map((v) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`)).join(','))
    .map((line) => `${line}\n`)
    .join('');
}

/** The rows of a result object as resultCsv wrote them (NULL: an empty unquoted field), or undefined when it is gone. */
async function readResultObject(s3Root: string, location: string): Promise<(string | null)[][] | undefined> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (match === null) return undefined;
  let text: string;
  try {
    text = await fs.readFile(join(s3Root, match[1]!, match[2]!), 'utf8');
  } catch {
    return undefined;
  }
  const rows: (string | null)[][] = [];
  // A value is "..." with quotes doubled, or empty (NULL); values are separated by commas, rows end with \n.
  const value = /"((?:[^"]|"")*)"|(?=,|\n)/y;
  let row: (string | null)[] = [];
  for (let at = 0; at < text.length;) {
    value.lastIndex = at;
    const found = value.exec(text);
    if (found === null) throw new Error(`result object ${location}: not CSV at ${at}`);
    row.push(found[1] === undefined ? null : found[1].replace(/""/g, '"'));
    at = value.lastIndex;
    if (text[at] === ',') at += 1;
    else if (text[at] === '\n') {
      rows.push(row);
      row = [];
      at += 1;
    } else throw new Error(`result object ${location}: not CSV at ${at}`);
  }
  return rows;
}

async function writeResultObject(
  s3Root: string,
  location: string,
  rows: readonly (readonly (string | null)[])[],
): Promise<void> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (match === null) throw new Error(`bad output location ${location}`);
  const path = join(s3Root, match[1]!, match[2]!);
  await fs.mkdir(dirname(path), { recursive: true });
  await fs.writeFile(path, resultCsv(rows));
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/x-amz-json-1.1');
  res.setHeader('x-amzn-RequestId', newRequestId());
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function encodeToken(id: string, offset: number): string {
  return Buffer.from(JSON.stringify({ id, offset }), 'utf8').toString('base64url');
}

function decodeToken(token: unknown, id: string): number {
  if (token === undefined) return 0;
  if (typeof token === 'string') {
    try {
      const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
        id?: unknown;
        offset?: unknown;
      };
      if (decoded.id === id && Number.isInteger(decoded.offset) && (decoded.offset as number) >= 0) {
        return decoded.offset as number;
      }
    } catch {
      // Falls through.
    }
  }
  throw new ServiceError('InvalidRequestException', 'The NextToken is not valid for this query');
}
