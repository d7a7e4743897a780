/**
 * The detector's state in one DynamoDB table (partition key `pk` (S), sort key `sk` (S), TTL
 * attribute `expiresAt`):
 *
 * | item      | pk             | sk          | attributes                                                       |
 * |-----------|----------------|-------------|------------------------------------------------------------------|
 * | baseline  | `SRC#<ip>`     | `BASELINE`  | mean, variance, dataPoints, lastWindow, clockAtLastFold,         |
 * |           |                |             | lastAlertWindow?, lastAlertCount?, prev? (JSON), expiresAt       |
 * | state     | `STATE`        | `DETECTOR`  | watermark (last committed window start, ms), clock, updatedAt    |
 * | outbox    | `OUTBOX`       | `<alertId>` | status pending/sent, alert (JSON), windowStart, attempts,        |
 * |           |                |             | windowAlertCount, createdAt, sentAt?, expiresAt (sent only)      |
 * | run lease | `LEASE`        | `RUN`       | holder, leaseUntil (ms), expiresAt                               |
 *
 * Exactly-once fold per (source, window), under duplicates, retries and crashes:
 * - Runs are serialised by the lease (a conditional put that succeeds only when the item is
 *   absent, expired or already ours). An invocation that finds it held does nothing: the holder
 *   does the same work.
 * - A window is committed in the order outbox (pending alerts) -> baselines -> watermark; the
 *   watermark is a conditional update (`watermark < :w`), so a window is committed once.
 * - Each baseline item keeps `prev`, the baseline it was folded from. When a window is retried
 *   after a crash half-way through its baseline batches, `getBaselines(ips, { before: w })` hands
 *   the engine the pre-window baselines again (`prev` for items whose `lastWindow` is `w`), so the
 *   retry recomputes the same fold from the same inputs and overwrites it: one fold, not two,
 *   and the same decisions (the fleet-wide threshold sees every source, folded or not).
 * - Alerts decided for a window are in the outbox before any baseline moves; a retry reuses them
 *   (`windowAlerts`) instead of re-deciding, and publishes only what is still pending, with the
 *   same alertId. Each outbox item carries its window's total alert count (`windowAlertCount`):
 *   a crash between outbox batches leaves fewer items than that, and the retry re-decides (the
 *   same decisions, from `prev`) and writes only the missing alertIds.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type KeysAndAttributes,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { isoTime, type Alert, type Baseline } from '../core';
import type { BaselineStore, DetectorState, PendingAlert, WindowCommit } from './ports';

/** BatchGetItem takes at most 100 keys, BatchWriteItem at most 25 requests. */
export const BATCH_GET_LIMIT = 100;
export const BATCH_WRITE_LIMIT = 25;
/**
 * Batch calls of one step in flight at once. A window of 100,000 sources takes 5,000 of them:
 * one at a time, each waits out its round trip, and the SDK's fixed CPU per call is higher
 * (about a third more at 1 than at 8-10 in flight, bench/cpu-time.ts). Steps stay ordered
 * (outbox, then baselines, then watermark): only the batches within one step overlap.
 */
export const DEFAULT_BATCH_CONCURRENCY = 8;
const DAY_SECONDS = 86_400;
/** Sent alerts stay this long: long enough for any retry of their window to find them. */
const SENT_ALERT_TTL_DAYS = 14;

type Item = Record<string, AttributeValue>;

export class DynamoBatchIncompleteError extends Error {
  constructor(
    readonly operation: 'BatchGetItem' | 'BatchWriteItem',
    readonly tableName: string,
    readonly unprocessed: number,
    readonly attempts: number,
  ) {
    super(
      `${operation} on ${tableName}: ${unprocessed} item(s) still unprocessed after ${attempts} attempts, deadline reached`,
    );
    this.name = 'DynamoBatchIncompleteError';
  }
}

export class WatermarkConflictError extends Error {
  constructor(
    readonly windowStart: number,
    readonly tableName: string,
  ) {
    super(
      `window ${isoTime(windowStart)} was not committed: the watermark in ${tableName} is already at or past it, ` +
        'or its clock moved (another run committed this window)',
    );
    this.name = 'WatermarkConflictError';
  }
}

export class BootstrapRefusedError extends Error {
  constructor(readonly watermark: number) {
    super(
      `bootstrap refused: the detector already runs (watermark ${isoTime(watermark)}); ` +
        'invoke with {"mode":"bootstrap","overwrite":true} to replace the baselines',
    );
    this.name = 'BootstrapRefusedError';
  }
}

export class CorruptItemError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`item ${key}: ${problem}`);
    this.name = 'CorruptItemError';
  }
}

/** An alert in the outbox. */
export interface OutboxEntry {
  alert: Alert;
  status: 'pending' | 'sent';
  attempts: number;
  /** Alerts decided for the item's window in all; undefined on items written before it was kept. */
  windowAlertCount?: number;
}

/** What the detector run needs beyond the BaselineStore port: the lease, retries, bootstrap. */
export interface DetectorStore extends BaselineStore {
  /** Baselines of the given sources as they were before `before` was folded, when given. */
  getBaselines(srcIps: readonly string[], options?: { before?: number }): Promise<Map<string, Baseline>>;
  /**
   * `previous`: the baselines the engine was given (kept as `prev` on each item for retries).
   * `windowAlertCount`: the window's alerts in all, when `alerts` is only the part not yet in the
   * outbox (default `alerts.length`).
   */
  commitWindow(
    commit: WindowCommit & { previous?: ReadonlyMap<string, Baseline>; windowAlertCount?: number },
  ): Promise<void>;
  /** Alerts already in the outbox for the window (a retried window reuses them). */
  windowAlerts(windowStart: number): Promise<OutboxEntry[]>;
  /** Takes the run lease until `untilMs`; false when another run holds an unexpired one. */
  acquireLease(holder: string, untilMs: number): Promise<boolean>;
  releaseLease(holder: string): Promise<void>;
  /** Writes bootstrap baselines, then the watermark; refuses to replace a running detector's state unless `overwrite`. */
  writeBootstrap(result: {
    baselines: ReadonlyMap<string, Baseline>;
    watermark: number;
    clock: number;
    overwrite: boolean;
  }): Promise<void>;
  /** Counts a failed publish attempt on pending alerts. */
  recordAttempt(entries: readonly PendingAlert[]): Promise<void>;
}

export interface DynamoBaselineStoreOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Baselines of sources not seen again expire this many days after their last window. */
  baselineTtlDays: number;
  /** Epoch ms after which batch retries give up (the Lambda's deadline). */
  deadline?: number;
  /** Upper bound on one batch operation's retries, whatever the deadline. @default 30000 */
  maxRetryMs?: number;
  /** Batch calls of one step in flight at once. @default DEFAULT_BATCH_CONCURRENCY */
  batchConcurrency?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const STATE_KEY = { pk: { S: 'STATE' }, sk: { S: 'DETECTOR' } };
const LEASE_KEY = { pk: { S: 'LEASE' }, sk: { S: 'RUN' } };
const OUTBOX_PK = 'OUTBOX';
const sourceKey = (srcIp: string) => ({ pk: { S: `SRC#${srcIp}` }, sk: { S: 'BASELINE' } });
const n = (value: number): AttributeValue => ({ N: String(value) });

export class DynamoBaselineStore implements DetectorStore {
  private readonly client: Pick<DynamoDBClient, 'send'>;
  private readonly tableName: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly batchConcurrency: number;

  constructor(private readonly options: DynamoBaselineStoreOptions) {
    const concurrency = options.batchConcurrency ?? DEFAULT_BATCH_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`batchConcurrency must be a positive integer, got ${concurrency}`);
    this.batchConcurrency = concurrency;
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async readState(): Promise<DetectorState> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: STATE_KEY, ConsistentRead: true }),
    );
    if (!Item) return { watermark: undefined, clock: 0 };
    return {
      watermark: Item.watermark?.N === undefined ? undefined : numberOf(Item, 'watermark', 'STATE'),
      clock: Item.clock?.N === undefined ? 0 : numberOf(Item, 'clock', 'STATE'),
    };
  }

  async getBaselines(
    srcIps: readonly string[],
    options: { before?: number } = {},
  ): Promise<Map<string, Baseline>> {
    const baselines = new Map<string, Baseline>();
    // Keys are built 100 at a time as batches go out, items turned into baselines as they come back.
    await this.batchGet(mapIterable(new Set(srcIps), sourceKey), (items) => {
      for (const item of items) {
        const srcIp = (item.pk?.S ?? '').slice('SRC#'.length);
        const stored = baselineFromItem(item, srcIp);
        const before = options.before;
        if (before !== undefined && stored.lastWindow === before) {
          // This window was folded by an earlier attempt that did not commit: start from what it started from.
          const prev = item.prev?.S;
          if (prev !== undefined) baselines.set(srcIp, parseBaselineJson(prev, srcIp));
          continue;
        }
        baselines.set(srcIp, stored);
      }
    });
    return baselines;
  }

  async windowAlerts(windowStart: number): Promise<OutboxEntry[]> {
    const items = await this.queryOutbox({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': { S: OUTBOX_PK }, ':prefix': { S: `${isoTime(windowStart)}/` } },
    });
    return items.map(outboxEntryFromItem);
  }

  async commitWindow(
    commit: WindowCommit & { previous?: ReadonlyMap<string, Baseline>; windowAlertCount?: number },
  ): Promise<void> {
    const createdAt = new Date(this.now()).toISOString();
    // 1. Decided alerts first: once a baseline moves, the alert it caused must already be durable.
    await this.batchWrite(
      commit.alerts.map((alert) => ({
        PutRequest: {
          Item: {
            pk: { S: OUTBOX_PK },
            sk: { S: alert.alertId },
            status: { S: 'pending' },
            alert: { S: JSON.stringify(alert) },
            windowStart: n(commit.windowStart),
            // A retry after a crash between outbox batches can tell a partial set from the whole.
            windowAlertCount: n(commit.windowAlertCount ?? commit.alerts.length),
            attempts: n(0),
            createdAt: { S: createdAt },
          },
        },
      })),
    );
    // 2. Baselines, each with the baseline it was folded from (see the file comment). The write
    // requests are built batch by batch: built all at once they held some 1.5 KB per source (at
    // 100,000 sources the peak RSS was 330-390 MB instead of 270 MB, bench/memory.ts).
    const ttlBase = Math.floor(commit.windowStart / 1000) + this.options.baselineTtlDays * DAY_SECONDS;
    const previous = commit.previous;
    const ttlDays = this.options.baselineTtlDays;
    await this.batchWrite(
      mapIterable(commit.baselines, ([srcIp, baseline]): WriteRequest => {
        const before = previous?.get(srcIp);
        return {
          PutRequest: {
            Item: {
              ...sourceKey(srcIp),
              ...baselineAttributes(baseline),
              ...(before === undefined ? {} : { prev: { S: JSON.stringify(before) } }),
              expiresAt: n(Math.max(ttlBase, Math.floor(baseline.lastWindow / 1000) + ttlDays * DAY_SECONDS)),
            },
          },
        };
      }),
    );
    // 3. The watermark, only forward and only from the clock this window was evaluated with.
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          UpdateExpression: 'SET watermark = :w, clock = :clockAfter, updatedAt = :t',
          ConditionExpression:
            'attribute_not_exists(watermark) OR (watermark < :w AND (attribute_not_exists(clock) OR clock = :clockBefore))',
          ExpressionAttributeValues: {
            ':w': n(commit.windowStart),
            ':clockAfter': n(commit.clockAfter),
            ':clockBefore': n(commit.clockBefore),
            ':t': { S: createdAt },
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new WatermarkConflictError(commit.windowStart, this.tableName);
      throw error;
    }
  }

  async pendingAlerts(): Promise<PendingAlert[]> {
    const items = await this.queryOutbox({
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pk': { S: OUTBOX_PK }, ':pending': { S: 'pending' } },
    });
    // Sort keys start with the window: query order is oldest first.
    return items.map(outboxEntryFromItem).map(({ alert, attempts }) => ({ alert, attempts }));
  }

  async markSent(alertIds: readonly string[]): Promise<void> {
    // BatchWrite cannot update, so the sent items are rewritten whole; read them back first
    // would cost a request per batch, so the caller's alerts are looked up from the outbox once.
    if (alertIds.length === 0) return;
    const items: Item[] = [];
    await this.batchGet(
      alertIds.map((id) => ({ pk: { S: OUTBOX_PK }, sk: { S: id } })),
      (found) => items.push(...found),
    );
    const sentAt = this.now();
    await this.batchWrite(
      items.map((item) => ({
        PutRequest: {
          Item: {
            ...item,
            status: { S: 'sent' },
            sentAt: { S: new Date(sentAt).toISOString() },
            expiresAt: n(Math.floor(sentAt / 1000) + SENT_ALERT_TTL_DAYS * DAY_SECONDS),
          },
        },
      })),
    );
  }

  async recordAttempt(entries: readonly PendingAlert[]): Promise<void> {
    for (const entry of entries) {
      await this.client
        .send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: OUTBOX_PK }, sk: { S: entry.alert.alertId } },
            UpdateExpression: 'ADD attempts :one',
            ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':one': n(1), ':pending': { S: 'pending' } },
          }),
        )
        .catch((error: unknown) => {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        });
    }
  }

  async acquireLease(holder: string, untilMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...LEASE_KEY,
            holder: { S: holder },
            leaseUntil: n(untilMs),
            expiresAt: n(Math.ceil(untilMs / 1000) + DAY_SECONDS),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': n(this.now()), ':holder': { S: holder } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async releaseLease(holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': { S: holder } },
        }),
      );
    } catch (error) {
      // Expired and taken over by another run: not ours to delete.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async writeBootstrap(result: {
    baselines: ReadonlyMap<string, Baseline>;
    watermark: number;
    clock: number;
    overwrite: boolean;
  }): Promise<void> {
    const state = await this.readState();
    if (state.watermark !== undefined && !result.overwrite) throw new BootstrapRefusedError(state.watermark);
    await this.batchWrite(
      mapIterable(result.baselines, ([srcIp, baseline]): WriteRequest => ({
        PutRequest: {
          Item: {
            ...sourceKey(srcIp),
            ...baselineAttributes(baseline),
            expiresAt: n(Math.floor(baseline.lastWindow / 1000) + this.options.baselineTtlDays * DAY_SECONDS),
          },
        },
      })),
    );
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...STATE_KEY,
            watermark: n(result.watermark),
            clock: n(result.clock),
            updatedAt: { S: new Date(this.now()).toISOString() },
          },
          ...(result.overwrite ? {} : { ConditionExpression: 'attribute_not_exists(watermark)' }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new WatermarkConflictError(result.watermark, this.tableName);
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------

  private async queryOutbox(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /**
   * One BatchGetItem per 100 keys (up to batchConcurrency in flight), UnprocessedKeys retried with
   * backoff until done or the deadline; `found` gets each response's items as they arrive.
   */
  private async batchGet(keys: Iterable<Item>, found: (items: Item[]) => void): Promise<void> {
    await forEachConcurrently(chunks(keys, BATCH_GET_LIMIT), this.batchConcurrency, async (batch) => {
      let request: KeysAndAttributes | undefined = { Keys: batch, ConsistentRead: true };
      await this.withBackoff('BatchGetItem', async () => {
        if (request === undefined) return 0;
        const response = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } }),
        );
        found(response.Responses?.[this.tableName] ?? []);
        const rest: KeysAndAttributes | undefined = response.UnprocessedKeys?.[this.tableName];
        request = rest?.Keys && rest.Keys.length > 0 ? rest : undefined;
        return request?.Keys?.length ?? 0;
      });
    });
  }

  /**
   * One BatchWriteItem per 25 requests (up to batchConcurrency in flight), UnprocessedItems
   * retried with backoff until done or the deadline. Requests are drawn from `requests` 25 at a
   * time as batches go out, so a lazy iterable is never held whole.
   */
  private async batchWrite(requests: Iterable<WriteRequest>): Promise<void> {
    await forEachConcurrently(chunks(requests, BATCH_WRITE_LIMIT), this.batchConcurrency, async (batch) => {
      let pending: WriteRequest[] = batch;
      await this.withBackoff('BatchWriteItem', async () => {
        const response = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = response.UnprocessedItems?.[this.tableName] ?? [];
        return pending.length;
      });
    });
  }

  /** Runs `attempt` until it reports nothing left, sleeping 50 ms, 100 ms, ... (max 3 s, jittered) between tries. */
  private async withBackoff(
    operation: 'BatchGetItem' | 'BatchWriteItem',
    attempt: () => Promise<number>,
  ): Promise<void> {
    const started = this.now();
    const deadline = Math.min(
      this.options.deadline ?? Infinity,
      started + (this.options.maxRetryMs ?? 30_000),
    );
    for (let tries = 1; ; tries += 1) {
      const left = await attempt();
      if (left === 0) return;
      const delay = Math.min(3_000, 50 * 2 ** (tries - 1)) * (0.5 + Math.random() / 2);
      if (this.now() + delay > deadline)
        throw new DynamoBatchIncompleteError(operation, this.tableName, left, tries);
      await this.sleep(delay);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Item mapping

function* mapIterable<T, U>(items: Iterable<T>, map: (item: T) => U): Generator<U> {
  for (const item of items) yield map(item);
}

/**
 * Runs `work` on each item, at most `limit` at a time, drawing items only as a slot frees up.
 * After a failure no new item starts; the ones already running are waited for (a caller that
 * goes on, e.g. releasing the lease, must not have writes of this step still in flight) and the
 * first failure is thrown.
 */
async function forEachConcurrently<T>(
  items: Iterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined) {
      let next: IteratorResult<T>;
      try {
        next = iterator.next();
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (next.done === true) return;
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure !== undefined) throw failure.error;
}

function* chunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

function numberOf(item: Item, name: string, key: string): number {
  const text = item[name]?.N;
  const value = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new CorruptItemError(key, `attribute ${name} is not a number`);
  return value;
}

function optionalNumber(item: Item, name: string, key: string): number | undefined {
  return item[name]?.N === undefined ? undefined : numberOf(item, name, key);
}

function baselineAttributes(b: Baseline): Item {
  return {
    mean: n(b.mean),
    variance: n(b.variance),
    dataPoints: n(b.dataPoints),
    lastWindow: n(b.lastWindow),
    clockAtLastFold: n(b.clockAtLastFold),
    ...(b.lastAlertWindow === undefined ? {} : { lastAlertWindow: n(b.lastAlertWindow) }),
    ...(b.lastAlertCount === undefined ? {} : { lastAlertCount: n(b.lastAlertCount) }),
  };
}

function baselineFromItem(item: Item, srcIp: string): Baseline {
  const key = `SRC#${srcIp}`;
  const lastAlertWindow = optionalNumber(item, 'lastAlertWindow', key);
  const lastAlertCount = optionalNumber(item, 'lastAlertCount', key);
  return {
    mean: numberOf(item, 'mean', key),
    variance: numberOf(item, 'variance', key),
    dataPoints: numberOf(item, 'dataPoints', key),
    lastWindow: numberOf(item, 'lastWindow', key),
    clockAtLastFold: numberOf(item, 'clockAtLastFold', key),
    ...(lastAlertWindow === undefined ? {} : { lastAlertWindow }),
    ...(lastAlertCount === undefined ? {} : { lastAlertCount }),
  };
}

function parseBaselineJson(json: string, srcIp: string): Baseline {
  const value = JSON.parse(json) as Partial<Baseline>;
  for (const field of ['mean', 'variance', 'dataPoints', 'lastWindow', 'clockAtLastFold'] as const) {
    if (typeof value[field] !== 'number')
      throw new CorruptItemError(`SRC#${srcIp}`, `prev.${field} is not a number`);
  }
  return value as Baseline;
}

function outboxEntryFromItem(item: Item): OutboxEntry {
  const key = `OUTBOX/${item.sk?.S ?? '?'}`;
  const json = item.alert?.S;
  if (json === undefined) throw new CorruptItemError(key, 'no alert attribute');
  const status = item.status?.S;
  if (status !== 'pending' && status !== 'sent') throw new CorruptItemError(key, `status ${String(status)}`);
  const windowAlertCount = optionalNumber(item, 'windowAlertCount', key);
  return {
    alert: JSON.parse(json) as Alert,
    status,
    attempts: optionalNumber(item, 'attempts', key) ?? 0,
    ...(windowAlertCount === undefined ? {} : { windowAlertCount }),
  };
}
