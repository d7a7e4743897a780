import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  BootstrapRefusedError,
  DynamoBaselineStore,
  DynamoBatchIncompleteError,
  WatermarkConflictError,
  type DynamoBaselineStoreOptions,
} from '../../lambda/adapters/dynamo-baseline-store';
import type { Alert, Baseline } from '../../lambda/core';
import { createTable, startLocalDynamoDb, type LocalDynamoDb } from '../support/local-dynamodb';

const HOUR = 3_600_000;
const W = Date.parse('2026-11-27T09:00:00Z');

let local: LocalDynamoDb;
let client: DynamoDBClient;
let tableCounter = 0;

beforeAll(async () => {
  local = await startLocalDynamoDb();
  client = new DynamoDBClient(local.clientConfig());
});

afterAll(async () => {
  client.destroy();
  await local.stop();
});

async function newStore(
  options: Partial<DynamoBaselineStoreOptions> = {},
): Promise<{ store: DynamoBaselineStore; tableName: string }> {
  tableCounter += 1;
  const tableName = `store-test-${tableCounter}`;
  await createTable(client, tableName);
  local.resetCounters();
  return {
    store: new DynamoBaselineStore({
      client,
      tableName,
      baselineTtlDays: 90,
      sleep: async () => undefined,
      ...options,
    }),
    tableName,
  };
}

const ip = (i: number) => `10.${Math.floor(i / 65536) % 256}.${Math.floor(i / 256) % 256}.${i % 256}`;
const baseline = (i: number, lastWindow = W): Baseline => ({
  mean: i + 0.5,
  variance: i / 3,
  dataPoints: 30 + i,
  lastWindow,
  clockAtLastFold: 100,
});
const alert = (src: string, windowStart = W): Alert => ({
  alertId: `${new Date(windowStart).toISOString().replace('.000Z', 'Z')}/${src}`,
  kind: 'spike',
  preset: 'recommended',
  severity: 'medium',
  windowStart: new Date(windowStart).toISOString(),
  windowEnd: new Date(windowStart + HOUR).toISOString(),
  srcIp: src,
  blockedCount: 99,
  uniqueDestinations: 3,
  baseline: { mean: 1, sd: 1, dataPoints: 40 },
  zScore: 12,
});

describe('DynamoBaselineStore', () => {
  it('starts empty: no watermark, clock 0, no baselines, no pending alerts', async () => {
    const { store } = await newStore();
    expect(await store.readState()).toEqual({ watermark: undefined, clock: 0 });
    expect(await store.getBaselines(['10.0.0.1'])).toEqual(new Map());
    expect(await store.pendingAlerts()).toEqual([]);
  });

  it('commits a window with ceil(M/25) BatchWriteItem for baselines, ceil(A/25) for alerts and one watermark update', async () => {
    // Prepare
    const { store } = await newStore();
    const baselines = new Map(Array.from({ length: 60 }, (_, i) => [ip(i), baseline(i)] as const));

    // Act
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines,
      alerts: [alert(ip(1)), alert(ip(2))],
    });

    // Assess
    expect(local.count('BatchWriteItem')).toBe(1 + 3);
    expect(local.count('UpdateItem')).toBe(1);
    expect(local.batchWriteItemCount).toBe(62);
    expect(await store.readState()).toEqual({ watermark: W, clock: 1 });
    expect((await store.pendingAlerts()).map((p) => p.alert.alertId)).toEqual([
      alert(ip(1)).alertId,
      alert(ip(2)).alertId,
    ]);
  });

  it('builds baseline write requests one batch at a time, not all before the first write', async () => {
    // Prepare: count how many `previous` baselines were looked up (one per request built) by the
    // time each BatchWriteItem is sent. Built all at once, the requests of 100,000 sources took
    // 60-120 MB more peak RSS (bench/memory.ts).
    const { tableName } = await newStore();
    const baselines = new Map(Array.from({ length: 100 }, (_, i) => [ip(i), baseline(i)] as const));
    let built = 0;
    const previous = new Map(baselines);
    const countingPrevious = {
      get: (key: string) => {
        built += 1;
        return previous.get(key);
      },
    } as unknown as ReadonlyMap<string, Baseline>;
    const builtAtSend: number[] = [];
    const watching = {
      send: (command: Parameters<DynamoDBClient['send']>[0]) => {
        if (command.constructor.name === 'BatchWriteItemCommand') builtAtSend.push(built);
        return client.send(command);
      },
    } as unknown as DynamoDBClient;
    const lazyStore = new DynamoBaselineStore({
      client: watching,
      tableName,
      baselineTtlDays: 90,
      sleep: async () => undefined,
    });

    // Act
    await lazyStore.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines,
      alerts: [],
      previous: countingPrevious,
    });

    // Assess: 4 batches of 25, each sent once its 25 requests exist (and no sooner)
    expect(builtAtSend).toEqual([25, 50, 75, 100]);
    expect(local.batchWriteItemCount).toBe(100);
  });

  it('reads 250 baselines with ceil(250/100) BatchGetItem and returns them exactly', async () => {
    // Prepare
    const { store } = await newStore();
    const baselines = new Map(
      Array.from(
        { length: 250 },
        (_, i) => [ip(i), { ...baseline(i), lastAlertWindow: W - HOUR, lastAlertCount: i }] as const,
      ),
    );
    await store.commitWindow({ windowStart: W, clockBefore: 0, clockAfter: 1, baselines, alerts: [] });
    local.resetCounters();

    // Act
    const read = await store.getBaselines([...baselines.keys(), '192.168.9.9']);

    // Assess
    expect(local.count('BatchGetItem')).toBe(3);
    expect(read).toEqual(baselines);
  });

  it('retries UnprocessedItems and UnprocessedKeys until every item is written and read', async () => {
    // Prepare
    const { store } = await newStore();
    const baselines = new Map(Array.from({ length: 30 }, (_, i) => [ip(i), baseline(i)] as const));
    local.injectUnprocessedItems(3);
    local.injectUnprocessedKeys(2);

    // Act
    await store.commitWindow({ windowStart: W, clockBefore: 0, clockAfter: 1, baselines, alerts: [] });
    const read = await store.getBaselines([...baselines.keys()]);

    // Assess
    expect(local.count('BatchWriteItem')).toBeGreaterThan(2);
    expect(local.count('BatchGetItem')).toBe(3);
    expect(read).toEqual(baselines);
  });

  it('gives up with a named error when UnprocessedItems outlast the deadline', async () => {
    // Prepare: a clock that moves 1 s per backoff sleep and a 5 s budget.
    let clock = 0;
    const { store } = await newStore({
      now: () => clock,
      sleep: async (ms) => void (clock += Math.max(ms, 1000)),
      maxRetryMs: 5_000,
    });
    local.injectUnprocessedItems(1000, 1);

    // Act
    const attempt = store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([[ip(1), baseline(1)]]),
      alerts: [],
    });

    // Assess
    await expect(attempt).rejects.toThrow(DynamoBatchIncompleteError);
    await expect(attempt).rejects.toThrow(
      /BatchWriteItem on store-test-\d+: 1 item\(s\) still unprocessed after \d+ attempts/,
    );
    local.resetCounters();
    expect(await store.readState()).toEqual({ watermark: undefined, clock: 0 });
  });

  it('advances the watermark only forward, and only from the clock the window was evaluated with', async () => {
    // Prepare
    const { store } = await newStore();
    const commit = {
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map<string, Baseline>(),
      alerts: [],
    };
    await store.commitWindow(commit);

    // Act + Assess
    await expect(store.commitWindow(commit)).rejects.toThrow(WatermarkConflictError);
    await expect(store.commitWindow({ ...commit, windowStart: W - HOUR })).rejects.toThrow(
      /window 2026-11-27T08:00:00Z was not committed/,
    );
    await expect(
      store.commitWindow({ ...commit, windowStart: W + HOUR, clockBefore: 7, clockAfter: 8 }),
    ).rejects.toThrow(WatermarkConflictError);
    await store.commitWindow({ ...commit, windowStart: W + HOUR, clockBefore: 1, clockAfter: 2 });
    expect(await store.readState()).toEqual({ watermark: W + HOUR, clock: 2 });
  });

  it('hands a retried window the baselines it was folded from (prev), and the current ones to later windows', async () => {
    // Prepare: window W-1h folded a; window W folded a (from a1) and created b.
    const { store } = await newStore();
    const a1 = baseline(1, W - HOUR);
    const a2 = { ...baseline(2, W), mean: 42 };
    await store.commitWindow({
      windowStart: W - HOUR,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([['10.0.0.1', a1]]),
      alerts: [],
    });
    await store.commitWindow({
      windowStart: W,
      clockBefore: 1,
      clockAfter: 2,
      baselines: new Map([
        ['10.0.0.1', a2],
        ['10.0.0.2', baseline(3, W)],
      ]),
      alerts: [],
      previous: new Map([['10.0.0.1', a1]]),
    });

    // Act
    const forRetry = await store.getBaselines(['10.0.0.1', '10.0.0.2'], { before: W });
    const forNext = await store.getBaselines(['10.0.0.1', '10.0.0.2'], { before: W + HOUR });

    // Assess
    expect(forRetry).toEqual(new Map([['10.0.0.1', a1]])); // b was new in W: absent before it
    expect(forNext).toEqual(
      new Map([
        ['10.0.0.1', a2],
        ['10.0.0.2', baseline(3, W)],
      ]),
    );
  });

  it('sets the TTL of baselines from their last window and of sent alerts from the send time', async () => {
    // Prepare
    const now = Date.parse('2026-11-27T10:12:00Z');
    const { store, tableName } = await newStore({ now: () => now, baselineTtlDays: 7 });
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([['10.0.0.1', baseline(1)]]),
      alerts: [alert('10.0.0.1')],
    });

    // Act
    await store.markSent([alert('10.0.0.1').alertId]);

    // Assess
    const get = (pk: string, sk: string) =>
      client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: sk } } }));
    const source = await get('SRC#10.0.0.1', 'BASELINE');
    expect(source.Item?.expiresAt?.N).toBe(String(W / 1000 + 7 * 86_400));
    const sent = await get('OUTBOX', alert('10.0.0.1').alertId);
    expect(sent.Item?.status?.S).toBe('sent');
    expect(sent.Item?.expiresAt?.N).toBe(String(now / 1000 + 14 * 86_400));
    expect(await store.pendingAlerts()).toEqual([]);
    expect(await store.windowAlerts(W)).toEqual([
      { alert: alert('10.0.0.1'), status: 'sent', attempts: 0, windowAlertCount: 1 },
    ]);
    expect(await store.windowAlerts(W + HOUR)).toEqual([]);
  });

  it('lets one run hold the lease until it expires or is released', async () => {
    // Prepare
    let now = 1_000;
    const { store } = await newStore({ now: () => now });

    // Act + Assess
    expect(await store.acquireLease('run-a', 61_000)).toBe(true);
    expect(await store.acquireLease('run-b', 61_000)).toBe(false);
    expect(await store.acquireLease('run-a', 62_000)).toBe(true); // re-entrant for its holder
    now = 62_001;
    expect(await store.acquireLease('run-b', 122_000)).toBe(true); // expired: taken over
    await store.releaseLease('run-a'); // no longer ours: must not free b's lease
    expect(await store.acquireLease('run-c', 122_000)).toBe(false);
    await store.releaseLease('run-b');
    expect(await store.acquireLease('run-c', 122_000)).toBe(true);
  });

  it('refuses a bootstrap over a running detector unless told to overwrite', async () => {
    // Prepare
    const { store } = await newStore();
    await store.writeBootstrap({
      baselines: new Map([['10.0.0.1', baseline(1)]]),
      watermark: W,
      clock: 720,
      overwrite: false,
    });

    // Act
    const again = store.writeBootstrap({
      baselines: new Map([['10.0.0.1', baseline(9)]]),
      watermark: W + HOUR,
      clock: 5,
      overwrite: false,
    });

    // Assess
    await expect(again).rejects.toThrow(BootstrapRefusedError);
    expect(await store.getBaselines(['10.0.0.1'])).toEqual(new Map([['10.0.0.1', baseline(1)]]));
    await store.writeBootstrap({
      baselines: new Map([['10.0.0.1', baseline(9)]]),
      watermark: W + HOUR,
      clock: 5,
      overwrite: true,
    });
    expect(await store.readState()).toEqual({ watermark: W + HOUR, clock: 5 });
    expect(await store.getBaselines(['10.0.0.1'])).toEqual(new Map([['10.0.0.1', baseline(9)]]));
  });

  it('keeps at most batchConcurrency batches in flight, and every outbox batch done before the first baseline batch', async () => {
    // Prepare: a client that records, per BatchWriteItem, its kind and the calls in flight when it started
    const { tableName } = await newStore();
    let inFlight = 0;
    const started: { kind: string; inFlight: number; outboxDone: number }[] = [];
    let outboxDone = 0;
    const watching = {
      send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
        const input = command.input as {
          RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, { S?: string }> } }[]>;
        };
        const firstPk = input.RequestItems?.[tableName]?.[0]?.PutRequest?.Item?.pk?.S ?? '';
        const kind = firstPk === 'OUTBOX' ? 'outbox' : firstPk.startsWith('SRC#') ? 'baseline' : 'other';
        inFlight += 1;
        if (kind !== 'other') started.push({ kind, inFlight, outboxDone });
        try {
          return await client.send(command);
        } finally {
          inFlight -= 1;
          if (kind === 'outbox') outboxDone += 1;
        }
      },
    } as unknown as DynamoDBClient;
    const store = new DynamoBaselineStore({
      client: watching,
      tableName,
      baselineTtlDays: 90,
      sleep: async () => undefined,
      batchConcurrency: 4,
    });
    const baselines = new Map(Array.from({ length: 300 }, (_, i) => [ip(i), baseline(i)] as const));
    const alerts = Array.from({ length: 60 }, (_, i) => alert(ip(i)));

    // Act
    await store.commitWindow({ windowStart: W, clockBefore: 0, clockAfter: 1, baselines, alerts });

    // Assess: 3 outbox + 12 baseline batches, overlapping but never more than 4, steps in order
    expect(started.filter((s) => s.kind === 'outbox')).toHaveLength(3);
    expect(started.filter((s) => s.kind === 'baseline')).toHaveLength(12);
    const most = Math.max(...started.map((s) => s.inFlight));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    expect(started.filter((s) => s.kind === 'baseline').every((s) => s.outboxDone === 3)).toBe(true);
    const read = await store.getBaselines([...baselines.keys()]);
    expect(read).toEqual(baselines);
  });

  it('starts no batch after one failed, and throws only once the batches in flight are done', async () => {
    // Prepare: the third baseline BatchWriteItem fails
    const { tableName } = await newStore();
    let inFlight = 0;
    let sends = 0;
    const failure = new Error('injected: connection reset');
    const failing = {
      send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
        sends += 1;
        if (sends === 3) throw failure;
        inFlight += 1;
        try {
          return await client.send(command);
        } finally {
          inFlight -= 1;
        }
      },
    } as unknown as DynamoDBClient;
    const store = new DynamoBaselineStore({
      client: failing,
      tableName,
      baselineTtlDays: 90,
      sleep: async () => undefined,
      batchConcurrency: 4,
    });
    const baselines = new Map(Array.from({ length: 500 }, (_, i) => [ip(i), baseline(i)] as const));

    // Act
    const commit = store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines,
      alerts: [],
    });
    const error = await commit.catch((e: unknown) => e);

    // Assess: the failure surfaces, nothing is still being written, and the 20 batches were not all sent
    expect(error).toBe(failure);
    expect(inFlight).toBe(0);
    expect(sends).toBeLessThanOrEqual(3 + 3);
    expect(local.count('UpdateItem')).toBe(0);
    expect(await store.readState()).toEqual({ watermark: undefined, clock: 0 });
  });

  it('rejects a batchConcurrency that is not a positive integer', () => {
    expect(
      () => new DynamoBaselineStore({ client, tableName: 'x', baselineTtlDays: 90, batchConcurrency: 0 }),
    ).toThrow(/batchConcurrency must be a positive integer, got 0/);
  });
});
