/**
 * DynamoDB for tests: dynalite (an in-memory implementation of the DynamoDB API) behind a small
 * HTTP proxy on 127.0.0.1 that counts requests per operation and injects the partial failures
 * real DynamoDB produces under load (UnprocessedItems, UnprocessedKeys, throttling), so the
 * store's retry paths run through the real `@aws-sdk/client-dynamodb`.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { crc32 as zlibCrc32 } from 'node:zlib';
import dynalite from 'dynalite';
import {
  closeServer,
  listenOnLoopback,
  localClientConfig,
  newRequestId,
  readBody,
  type LocalClientConfig,
} from './local-endpoint';

/** BatchGetItem returns at most 16 MB of items per call (the rest as UnprocessedKeys). */
const BATCH_GET_RESPONSE_LIMIT = 16 * 1024 * 1024;

/** The name of the TTL attribute of the project's table (epoch seconds). */
export const TTL_ATTRIBUTE = 'expiresAt';

export type ThrottleErrorCode = 'ProvisionedThroughputExceededException' | 'ThrottlingException';

/** One request as the proxy saw it, before any injection. */
export interface DynamoRequestRecord {
  operation: string;
  body: Record<string, unknown>;
}

export interface LocalDynamoDb {
  endpoint: string;
  /** Requests received per operation (`X-Amz-Target` suffix), injected failures included. */
  readonly requestCounts: Readonly<Record<string, number>>;
  /** Write requests (puts + deletes) received across all BatchWriteItem calls. */
  readonly batchWriteItemCount: number;
  /** Keys received across all BatchGetItem calls. */
  readonly batchGetKeyCount: number;
  /** Write requests in each BatchWriteItem call, in call order. */
  readonly batchWriteSizes: readonly number[];
  /** Keys in each BatchGetItem call, in call order. */
  readonly batchGetSizes: readonly number[];
  /** Every request in arrival order. */
  readonly requests: readonly DynamoRequestRecord[];
  /** Requests received for one operation (0 when none). */
  count(operation: string): number;
  /**
   * The next `calls` BatchWriteItem calls process only some items: `unprocessedPerCall` items
   * (default: half, rounded up) from the end of the request are held back and returned as
   * `UnprocessedItems`; the rest reach dynalite.
   */
  injectUnprocessedItems(calls: number, unprocessedPerCall?: number): void;
  /** The same for BatchGetItem and `UnprocessedKeys`. */
  injectUnprocessedKeys(calls: number, unprocessedPerCall?: number): void;
  /** The next `calls` calls of `operation` fail with `code` (HTTP 400) without reaching dynalite. */
  injectThrottling(operation: string, calls: number, code?: ThrottleErrorCode): void;
  /** Forgets counters, the request log and pending injections (the data stays). */
  resetCounters(): void;
  clientConfig(): LocalClientConfig;
  stop(): Promise<void>;
}

export function localDynamoClientConfig(endpoint: string): LocalClientConfig {
  return localClientConfig(endpoint);
}

interface PartialInjection {
  calls: number;
  perCall: number | undefined;
}

type WriteRequest = Record<string, unknown>;
interface KeysAndAttributes {
  Keys: Record<string, unknown>[];
  [option: string]: unknown;
}

export async function startLocalDynamoDb(): Promise<LocalDynamoDb> {
  const backend = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    backend.once('error', reject);
    backend.listen(0, '127.0.0.1', () => resolve());
  });
  const backendAddress = backend.address();
  if (backendAddress === null || typeof backendAddress === 'string') {
    throw new Error('dynalite did not report a TCP address');
  }
  const backendPort = backendAddress.port;

  let requestCounts: Record<string, number> = {};
  let requests: DynamoRequestRecord[] = [];
  let batchWriteItemCount = 0;
  let batchGetKeyCount = 0;
  let batchWriteSizes: number[] = [];
  let batchGetSizes: number[] = [];
  let unprocessedItems: PartialInjection = { calls: 0, perCall: undefined };
  let unprocessedKeys: PartialInjection = { calls: 0, perCall: undefined };
  let throttles = new Map<string, { calls: number; code: ThrottleErrorCode }>();

  const forward = (
    headers: IncomingMessage['headers'],
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: backendPort,
          method: 'POST',
          path: '/',
          headers: { ...headers, host: `127.0.0.1:${backendPort}`, 'content-length': String(body.length) },
        },
        (response) => {
          readBody(response).then((responseBody) => {
            const responseHeaders: Record<string, string> = {};
            for (const [name, value] of Object.entries(response.headers)) {
              if (typeof value === 'string') responseHeaders[name] = value;
            }
            resolve({ status: response.statusCode ?? 500, headers: responseHeaders, body: responseBody });
          }, reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const sendJson = (res: ServerResponse, status: number, payload: unknown): void => {
    const body = JSON.stringify(payload);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/x-amz-json-1.0');
    res.setHeader('x-amzn-RequestId', newRequestId());
    res.setHeader('x-amz-crc32', String(crc32(body)));
    res.end(body);
  };

  const relay = (
    res: ServerResponse,
    upstream: { status: number; headers: Record<string, string>; body: Buffer },
  ): void => {
    res.statusCode = upstream.status;
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (name !== 'connection' && name !== 'transfer-encoding' && name !== 'keep-alive')
        res.setHeader(name, value);
    }
    res.end(upstream.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.split('.')[1] ?? target;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // Malformed JSON is dynalite's to reject; forward it untouched.
    }
    requestCounts[operation] = (requestCounts[operation] ?? 0) + 1;
    requests.push({ operation, body: parsed });

    const throttle = throttles.get(operation);
    if (throttle !== undefined && throttle.calls > 0) {
      throttle.calls -= 1;
      sendJson(res, 400, {
        __type:
          throttle.code === 'ThrottlingException'
            ? 'com.amazon.coral.availability#ThrottlingException'
            : 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: `Injected ${throttle.code} for ${operation}`,
      });
      return;
    }

    if (operation === 'BatchWriteItem') {
      const requestItems = (parsed.RequestItems ?? {}) as Record<string, WriteRequest[]>;
      const entries = flattenBatch(requestItems, (writes) => writes);
      batchWriteItemCount += entries.length;
      batchWriteSizes.push(entries.length);
      // Oversized batches are dynalite's to reject as a whole, so never split them.
      if (unprocessedItems.calls > 0 && entries.length > 0 && entries.length <= 25) {
        unprocessedItems.calls -= 1;
        const held = heldBackCount(entries.length, unprocessedItems.perCall);
        const kept = entries.slice(0, entries.length - held);
        const heldBack = entries.slice(entries.length - held);
        const upstream =
          kept.length > 0
            ? await forward(
                req.headers,
                Buffer.from(JSON.stringify({ ...parsed, RequestItems: groupBatch(kept) })),
              )
            : undefined;
        if (upstream !== undefined && upstream.status !== 200) {
          relay(res, upstream);
          return;
        }
        const upstreamBody =
          upstream === undefined
            ? {}
            : (JSON.parse(upstream.body.toString('utf8')) as Record<string, unknown>);
        sendJson(res, 200, { ...upstreamBody, UnprocessedItems: groupBatch(heldBack) });
        return;
      }
    }

    if (operation === 'BatchGetItem') {
      const requestItems = (parsed.RequestItems ?? {}) as Record<string, KeysAndAttributes>;
      const entries = flattenBatch(requestItems, (table) => table.Keys ?? []);
      batchGetKeyCount += entries.length;
      batchGetSizes.push(entries.length);
      if (unprocessedKeys.calls > 0 && entries.length > 0 && entries.length <= 100) {
        unprocessedKeys.calls -= 1;
        const held = heldBackCount(entries.length, unprocessedKeys.perCall);
        const kept = entries.slice(0, entries.length - held);
        const heldBack = entries.slice(entries.length - held);
        const regroup = (subset: typeof entries): Record<string, KeysAndAttributes> => {
          const grouped: Record<string, KeysAndAttributes> = {};
          for (const { table, item } of subset) {
            const options = requestItems[table] ?? { Keys: [] };
            grouped[table] ??= { ...options, Keys: [] };
            grouped[table].Keys.push(item);
          }
          return grouped;
        };
        const upstream =
          kept.length > 0
            ? await forward(
                req.headers,
                Buffer.from(JSON.stringify({ ...parsed, RequestItems: regroup(kept) })),
              )
            : undefined;
        if (upstream !== undefined && upstream.status !== 200) {
          relay(res, upstream);
          return;
        }
        const upstreamBody =
          upstream === undefined
            ? { Responses: {} }
            : (JSON.parse(upstream.body.toString('utf8')) as Record<string, unknown>);
        sendJson(res, 200, { ...upstreamBody, UnprocessedKeys: regroup(heldBack) });
        return;
      }
    }

    if (operation === 'BatchGetItem') {
      await batchGetUpTo16Mb(req.headers, parsed, body, res);
      return;
    }

    relay(res, await forward(req.headers, body));
  };

  /**
   * BatchGetItem as the service answers it: up to 16 MB of items per call. dynalite stops at about
   * 1 MB (the service's old limit) and returns the rest as UnprocessedKeys; those are asked of it
   * again here and the answers merged, so a caller sees UnprocessedKeys only past 16 MB, where
   * DynamoDB would return them too.
   */
  const batchGetUpTo16Mb = async (
    headers: IncomingMessage['headers'],
    parsed: Record<string, unknown>,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> => {
    let upstream = await forward(headers, body);
    if (upstream.status !== 200) {
      relay(res, upstream);
      return;
    }
    const merged = JSON.parse(upstream.body.toString('utf8')) as {
      Responses?: Record<string, unknown[]>;
      UnprocessedKeys?: Record<string, KeysAndAttributes>;
    };
    let size = upstream.body.length;
    const pending = (): boolean =>
      Object.values(merged.UnprocessedKeys ?? {}).some((table) => (table.Keys ?? []).length > 0);
    while (pending()) {
      upstream = await forward(
        headers,
        Buffer.from(JSON.stringify({ ...parsed, RequestItems: merged.UnprocessedKeys })),
      );
      if (upstream.status !== 200) break;
      const more = JSON.parse(upstream.body.toString('utf8')) as typeof merged;
      const taken: Record<string, unknown[]> = {};
      const left: Record<string, KeysAndAttributes> = {};
      // Items past 16 MB go back as unprocessed keys (their key attributes, as asked for).
      for (const [table, items] of Object.entries(more.Responses ?? {})) {
        const asked = merged.UnprocessedKeys?.[table];
        const keyNames = Object.keys(asked?.Keys?.[0] ?? {});
        for (const item of items) {
          const itemSize = JSON.stringify(item).length;
          if (size + itemSize <= BATCH_GET_RESPONSE_LIMIT) {
            size += itemSize;
            (taken[table] ??= []).push(item);
          } else {
            const key = Object.fromEntries(
              keyNames.map((name) => [name, (item as Record<string, unknown>)[name]]),
            );
            (left[table] ??= { ...asked, Keys: [] }).Keys!.push(
              key as NonNullable<KeysAndAttributes['Keys']>[number],
            );
          }
        }
      }
      for (const [table, items] of Object.entries(taken)) {
        merged.Responses ??= {};
        (merged.Responses[table] ??= []).push(...items);
      }
      for (const [table, rest] of Object.entries(more.UnprocessedKeys ?? {})) {
        if ((rest.Keys ?? []).length === 0) continue;
        (left[table] ??= { ...rest, Keys: [] }).Keys!.push(...(rest.Keys ?? []));
      }
      merged.UnprocessedKeys = left;
      if (Object.keys(left).length > 0 && Object.keys(taken).length === 0) break;
      if (size >= BATCH_GET_RESPONSE_LIMIT) break;
    }
    sendJson(res, 200, merged);
  };

  const front = await listenOnLoopback(handle);

  return {
    endpoint: front.endpoint,
    get requestCounts() {
      return { ...requestCounts };
    },
    get batchWriteItemCount() {
      return batchWriteItemCount;
    },
    get batchGetKeyCount() {
      return batchGetKeyCount;
    },
    get batchWriteSizes() {
      return [...batchWriteSizes];
    },
    get batchGetSizes() {
      return [...batchGetSizes];
    },
    get requests() {
      return [...requests];
    },
    count: (operation) => requestCounts[operation] ?? 0,
    injectUnprocessedItems(calls, unprocessedPerCall) {
      assertCount('calls', calls);
      if (unprocessedPerCall !== undefined) assertCount('unprocessedPerCall', unprocessedPerCall);
      unprocessedItems = { calls, perCall: unprocessedPerCall };
    },
    injectUnprocessedKeys(calls, unprocessedPerCall) {
      assertCount('calls', calls);
      if (unprocessedPerCall !== undefined) assertCount('unprocessedPerCall', unprocessedPerCall);
      unprocessedKeys = { calls, perCall: unprocessedPerCall };
    },
    injectThrottling(operation, calls, code = 'ProvisionedThroughputExceededException') {
      assertCount('calls', calls);
      throttles.set(operation, { calls, code });
    },
    resetCounters() {
      requestCounts = {};
      requests = [];
      batchWriteItemCount = 0;
      batchGetKeyCount = 0;
      batchWriteSizes = [];
      batchGetSizes = [];
      unprocessedItems = { calls: 0, perCall: undefined };
      unprocessedKeys = { calls: 0, perCall: undefined };
      throttles = new Map();
    },
    clientConfig: () => localClientConfig(front.endpoint),
    async stop() {
      await front.stop();
      await closeServer(backend);
    },
  };
}

/**
 * Creates the project's single table: `pk`/`sk` strings, on-demand, TTL on `expiresAt`.
 * dynalite implements neither UpdateTimeToLive nor TTL expiry (its operation list stops at
 * DescribeTimeToLive), so against dynalite the TTL step is skipped; against anything else it runs.
 */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
  } catch (error) {
    if (!isUnsupportedOperation(error)) throw error;
  }
}

/** dynalite answers an operation it does not know with `UnknownOperationException`. */
function isUnsupportedOperation(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'UnknownOperationException' || /UnknownOperation/.test(error.message))
  );
}

function flattenBatch<T, E>(
  requestItems: Record<string, T>,
  itemsOf: (table: T) => E[],
): { table: string; item: E }[] {
  const entries: { table: string; item: E }[] = [];
  for (const [table, value] of Object.entries(requestItems)) {
    for (const item of itemsOf(value)) entries.push({ table, item });
  }
  return entries;
}

function groupBatch<E>(entries: { table: string; item: E }[]): Record<string, E[]> {
  const grouped: Record<string, E[]> = {};
  for (const { table, item } of entries) (grouped[table] ??= []).push(item);
  return grouped;
}

function heldBackCount(total: number, perCall: number | undefined): number {
  return Math.min(total, perCall ?? Math.ceil(total / 2));
}

function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

// DynamoDB responses carry a CRC32 of the body; recompute it for the bodies the proxy rewrites.
function crc32(text: string): number {
  return zlibCrc32(Buffer.from(text, 'utf8'));
}
