import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  BASELINE_BUCKET_MAX_BYTES,
  BaselineBucketTooLargeError,
  bucketItemBytes,
  bucketKey,
  bucketOf,
  encodeEntry,
  unpackBucketItem,
} from '../../lambda/adapters/baseline-buckets';
import {
  BASELINE_BUCKETS,
  bucketBatches,
  BootstrapRefusedError,
  DynamoBaselineStore,
  DynamoBatchIncompleteError,
  WatermarkConflictError,
  type DynamoBaselineStoreOptions,
} from '../../lambda/adapters/dynamo-baseline-store';
import {
  encodeProfile,
  encodeValue,
  foldedBaseline,
  PROFILE_SLOTS,
  quantizeSlotMean,
  resolveDetectorConfig,
  withMissedZeros,
  addressOfKey,
  SOURCE_KEY_FORMAT,
  type Alert,
  type Baseline,
} from '../../lambda/core';
import { createTable, startLocalDynamoDb, type LocalDynamoDb } from '../support/local-dynamodb';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Bucket count of the stores below unless a test says otherwise: several sources per bucket. */
const BUCKETS = 16;
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
      baselineBuckets: BUCKETS,
      ...options,
    }),
    tableName,
  };
}

/**
 * Commits `first` for the window before W, then `second` for W folded from it: the entry then
 * holds `second` and, as `prev`, `first` (for a retry of W).
 */
async function commitFold(store: DynamoBaselineStore, key: string, first: Baseline, second: Baseline) {
  await store.commitWindow({
    windowStart: W - HOUR,
    clockBefore: 0,
    clockAfter: 1,
    baselines: new Map([[key, first]]),
    alerts: [],
  });
  await store.commitWindow({
    windowStart: W,
    clockBefore: 1,
    clockAfter: 2,
    baselines: new Map([[key, second]]),
    alerts: [],
    previous: new Map([[key, first]]),
  });
}

/** Distinct buckets of the sources. */
const bucketCount = (srcIps: Iterable<string>, buckets = BUCKETS) =>
  new Set([...srcIps].map((s) => bucketOf(s, buckets))).size;

async function bucketItem(tableName: string, srcIp: string, buckets = BUCKETS) {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: bucketKey(bucketOf(srcIp, buckets)),
      ConsistentRead: true,
    }),
  );
  return Item;
}

const ip = (i: number) =>
  `123456789012|10.${Math.floor(i / 65536) % 256}.${Math.floor(i / 256) % 256}.${i % 256}`;
const baseline = (i: number, lastWindow = W): Baseline => ({
  mean: i + 0.5,
  variance: i / 3,
  dataPoints: 30 + i,
  lastWindow,
  clockAtLastFold: 100,
});
/** An alert of the source with key `src`: its id carries the key, its srcIp the address. */
const alert = (src: string, windowStart = W): Alert => ({
  alertId: `${new Date(windowStart).toISOString().replace('.000Z', 'Z')}/${src}`,
  kind: 'spike',
  preset: 'recommended',
  severity: 'medium',
  windowStart: new Date(windowStart).toISOString(),
  windowEnd: new Date(windowStart + HOUR).toISOString(),
  srcIp: addressOfKey(src),
  accountId: '123456789012',
  blockedCount: 99,
  uniqueDestinations: 3,
  baseline: { mean: 1, sd: 1, dataPoints: 40 },
  zScore: 12,
});

/**
 * A store of `baselines` committed in W (64 buckets, one batch in flight) whose client, once
 * `arm()`ed, fails its `failOnWrite`-th BatchWriteItem: a run stopped between bucket batches.
 */
async function committedStore(baselines: Map<string, Baseline>, failOnWrite?: number) {
  const { tableName } = await newStore();
  let writes = 0;
  let armed = false;
  const sender = {
    send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
      if (armed && command.constructor.name === 'BatchWriteItemCommand' && ++writes === failOnWrite)
        throw new Error('injected: crash between bucket batches');
      return client.send(command);
    },
  } as unknown as DynamoDBClient;
  const store = new DynamoBaselineStore({
    client: sender,
    tableName,
    baselineTtlDays: 90,
    sleep: async () => undefined,
    baselineBuckets: 64,
    batchConcurrency: 1,
  });
  await store.commitWindow({ windowStart: W, clockBefore: 0, clockAfter: 1, baselines, alerts: [] });
  return { store, tableName, arm: () => void (armed = true) };
}

describe('DynamoBaselineStore', () => {
  it('starts empty: no watermark, clock 0, no baselines, no pending alerts', async () => {
    const { store } = await newStore();
    expect(await store.readState()).toEqual({ watermark: undefined, clock: 0 });
    expect(await store.getBaselines(['123456789012|10.0.0.1'])).toEqual(new Map());
    expect(await store.pendingAlerts()).toEqual([]);
  });

  it('commits a window with ceil(B/25) BatchWriteItem for the B buckets of its baselines, ceil(A/25) for the alerts and as many for their pending markers, one update marking the window in flight and one moving the watermark', async () => {
    // Prepare: 60 sources in (at most) 16 buckets, not read beforehand.
    const { store } = await newStore();
    const baselines = new Map(Array.from({ length: 60 }, (_, i) => [ip(i), baseline(i)] as const));
    const buckets = bucketCount(baselines.keys());

    // Act
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines,
      alerts: [alert(ip(1)), alert(ip(2))],
    });

    // Assess: the buckets were read first (the commit had no getBaselines of its window to start from)
    expect(buckets).toBeGreaterThan(1);
    expect(buckets).toBeLessThanOrEqual(BUCKETS);
    expect(local.count('BatchGetItem')).toBe(1);
    expect(local.batchGetKeyCount).toBe(buckets);
    expect(local.count('BatchWriteItem')).toBe(2 + Math.ceil(buckets / 25));
    expect(local.count('UpdateItem')).toBe(2);
    expect(local.batchWriteItemCount).toBe(2 * 2 + buckets);
    expect(await store.getBaselines([...baselines.keys()])).toEqual(baselines);
    expect(await store.readState()).toEqual({ watermark: W, clock: 1, keyFormat: SOURCE_KEY_FORMAT });
    expect((await store.pendingAlerts()).map((p) => p.alert.alertId)).toEqual([
      alert(ip(1)).alertId,
      alert(ip(2)).alertId,
    ]);
  });

  it('rewrites the buckets getBaselines read for the window without reading them again, and reads first those it did not', async () => {
    // Prepare: 300 sources of 1,024 buckets, committed in window W.
    const { store } = await newStore({ baselineBuckets: 1024 });
    const sources = Array.from({ length: 300 }, (_, i) => ip(i));
    const buckets = bucketCount(sources, 1024);
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map(sources.map((s, i) => [s, baseline(i)])),
      alerts: [],
    });
    const fold = (b: Baseline): Baseline => ({
      ...b,
      mean: b.mean + 1,
      dataPoints: b.dataPoints + 1,
      lastWindow: W + HOUR,
    });

    // Act: window W+1h read and committed as the detector does
    local.resetCounters();
    const before = await store.getBaselines(sources, { before: W + HOUR });
    await store.commitWindow({
      windowStart: W + HOUR,
      clockBefore: 1,
      clockAfter: 2,
      baselines: new Map([...before].map(([s, b]) => [s, fold(b)])),
      alerts: [],
      previous: before,
    });
    const readAndCommitted = { gets: local.count('BatchGetItem'), writes: local.count('BatchWriteItem') };
    // ... and window W+2h committed without a read for it (a plain read is for no window)
    local.resetCounters();
    const current = await store.getBaselines(sources);
    local.resetCounters();
    await store.commitWindow({
      windowStart: W + 2 * HOUR,
      clockBefore: 2,
      clockAfter: 3,
      baselines: new Map([...current].map(([s, b]) => [s, { ...b, lastWindow: W + 2 * HOUR }])),
      alerts: [],
    });

    // Assess: ceil(B/100) + ceil(B/25) requests for a read and committed window (not ceil(300/100) + ceil(300/25))
    expect(buckets).toBeGreaterThan(200);
    expect(readAndCommitted).toEqual({ gets: Math.ceil(buckets / 100), writes: Math.ceil(buckets / 25) });
    expect(local.count('BatchGetItem')).toBe(Math.ceil(buckets / 100));
    expect(local.batchGetKeyCount).toBe(buckets);
    expect(before.get(ip(7))).toEqual(baseline(7));
    expect((await store.getBaselines([ip(7)])).get(ip(7))).toEqual({
      ...fold(baseline(7)),
      lastWindow: W + 2 * HOUR,
    });
  });

  it('drops the entries keyed by address alone (a table from before accounts) from a bucket it rewrites, and reads none of them', async () => {
    // Prepare: one bucket holding an old build's entry for 10.0.0.1 and a state without the key format
    const { store, tableName } = await newStore({ baselineBuckets: 1 });
    const keyed = '123456789012|10.0.0.1';
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          ...bucketKey(0),
          records: {
            S: JSON.stringify({ '10.0.0.1': encodeEntry(baseline(4), undefined, W / 1000 + 365 * 86_400) }),
          },
          sources: { N: '1' },
          expiresAt: { N: String(W / 1000 + 365 * 86_400) },
        },
      }),
    );
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: 'STATE' },
          sk: { S: 'DETECTOR' },
          watermark: { N: String(W - HOUR) },
          clock: { N: '7' },
        },
      }),
    );
    expect(await store.readState()).toEqual({ watermark: W - HOUR, clock: 7 });
    expect(await store.getBaselines([keyed])).toEqual(new Map());

    // Act
    await store.commitWindow({
      windowStart: W,
      clockBefore: 7,
      clockAfter: 8,
      baselines: new Map([[keyed, baseline(1)]]),
      alerts: [],
      previous: new Map(),
    });

    // Assess: the bucket holds the new key alone, and the state names the key format
    const entries = unpackBucketItem((await bucketItem(tableName, keyed, 1))!);
    expect([...entries.keys()]).toEqual([keyed]);
    expect((await bucketItem(tableName, keyed, 1))?.sources?.N).toBe('1');
    expect(await store.readState()).toEqual({ watermark: W, clock: 8, keyFormat: SOURCE_KEY_FORMAT });
  });

  it('keeps the other sources of a bucket unchanged when one of them is written', async () => {
    // Prepare: one bucket for everything; a, b, c folded in W, b again in W+1h.
    const { store, tableName } = await newStore({ baselineBuckets: 1 });
    const [a, b, c] = ['123456789012|10.0.0.1', '123456789012|10.0.0.2', '123456789012|2001:db8::3'] as const;
    const a0 = { ...baseline(1, W - HOUR), lastAlertWindow: W - HOUR, lastAlertCount: 9 };
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([
        [a, baseline(1)],
        [b, baseline(2)],
        [c, baseline(3)],
      ]),
      alerts: [],
      previous: new Map([[a, a0]]),
    });
    const aBefore = (await bucketItem(tableName, a, 1))!;
    const b1 = { ...baseline(2, W + HOUR), mean: 7 };

    // Act
    const read = await store.getBaselines([b], { before: W + HOUR });
    await store.commitWindow({
      windowStart: W + HOUR,
      clockBefore: 1,
      clockAfter: 2,
      baselines: new Map([[b, b1]]),
      alerts: [],
      previous: read,
    });

    // Assess: a and c exactly as they were (a's prev included), b folded once with prev = what was read
    const entries = unpackBucketItem((await bucketItem(tableName, a, 1))!);
    const entriesBefore = unpackBucketItem(aBefore);
    expect([...entries.keys()].sort()).toEqual([a, b, c].sort());
    expect(entries.get(a)).toEqual(entriesBefore.get(a));
    expect(entries.get(a)?.prev).toEqual(a0);
    expect(entries.get(c)).toEqual(entriesBefore.get(c));
    expect(entries.get(b)?.baseline).toEqual(b1);
    expect(entries.get(b)?.prev).toEqual(baseline(2));
    expect(await store.getBaselines([a, b, c])).toEqual(
      new Map([
        [a, baseline(1)],
        [b, b1],
        [c, baseline(3)],
      ]),
    );
    expect((await bucketItem(tableName, a, 1))?.sources?.N).toBe('3');

    // Act again: every source of the bucket read for W+2h, only a committed
    const all = await store.getBaselines([a, b, c], { before: W + 2 * HOUR });
    const a2 = { ...baseline(1, W + 2 * HOUR), mean: 11 };
    await store.commitWindow({
      windowStart: W + 2 * HOUR,
      clockBefore: 2,
      clockAfter: 3,
      baselines: new Map([[a, a2]]),
      alerts: [],
      previous: all,
    });

    // Assess: b and c carried over unchanged
    expect(await store.getBaselines([a, b, c])).toEqual(
      new Map([
        [a, a2],
        [b, b1],
        [c, baseline(3)],
      ]),
    );
  });

  it('reads 250 baselines with ceil(B/100) BatchGetItem for their B buckets and returns them exactly', async () => {
    // Prepare
    const { store } = await newStore({ baselineBuckets: 1024 });
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
    const buckets = bucketCount([...baselines.keys(), '192.168.9.9'], 1024);
    expect(buckets).toBeGreaterThan(150);
    expect(local.count('BatchGetItem')).toBe(Math.ceil(buckets / 100));
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

    // Assess: one BatchGetItem (the commit's read of its buckets) and one BatchWriteItem without the retries
    expect(local.count('BatchWriteItem')).toBeGreaterThan(1);
    expect(local.count('BatchGetItem')).toBe(1 + 2 + 1);
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
    // The watermark did not move; the window stays marked as in flight (its fold may be partial).
    expect(await store.readState()).toEqual({ watermark: undefined, clock: 0, foldingWindow: W });
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
    expect(await store.readState()).toEqual({ watermark: W + HOUR, clock: 2, keyFormat: SOURCE_KEY_FORMAT });
  });

  it("keeps the count query's split plan with the watermark, and the last one given when a commit has none", async () => {
    // Prepare
    const { store } = await newStore();
    const commit = { clockBefore: 0, clockAfter: 1, baselines: new Map<string, Baseline>(), alerts: [] };
    const plan = '{"v":1,"parts":{"abc":{"c":[{"r":60000},{"r":70000}]}}}';

    // Act
    await store.commitWindow({ ...commit, windowStart: W, countSplitPlan: plan });
    const withPlan = await store.readState();
    await store.commitWindow({ ...commit, windowStart: W + HOUR, clockBefore: 1, clockAfter: 2 });
    const kept = await store.readState();
    await store.commitWindow({
      ...commit,
      windowStart: W + 2 * HOUR,
      clockBefore: 2,
      clockAfter: 3,
      countSplitPlan: '{"v":1,"parts":{}}',
    });

    // Assess
    expect(withPlan).toEqual({ watermark: W, clock: 1, keyFormat: SOURCE_KEY_FORMAT, countSplitPlan: plan });
    expect(kept.countSplitPlan).toBe(plan);
    expect((await store.readState()).countSplitPlan).toBe('{"v":1,"parts":{}}');
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
      baselines: new Map([['123456789012|10.0.0.1', a1]]),
      alerts: [],
    });
    await store.commitWindow({
      windowStart: W,
      clockBefore: 1,
      clockAfter: 2,
      baselines: new Map([
        ['123456789012|10.0.0.1', a2],
        ['123456789012|10.0.0.2', baseline(3, W)],
      ]),
      alerts: [],
      previous: new Map([['123456789012|10.0.0.1', a1]]),
    });

    // Act
    const forRetry = await store.getBaselines(['123456789012|10.0.0.1', '123456789012|10.0.0.2'], {
      before: W,
    });
    const forNext = await store.getBaselines(['123456789012|10.0.0.1', '123456789012|10.0.0.2'], {
      before: W + HOUR,
    });

    // Assess
    expect(forRetry).toEqual(new Map([['123456789012|10.0.0.1', a1]])); // b was new in W: absent before it
    expect(forNext).toEqual(
      new Map([
        ['123456789012|10.0.0.1', a2],
        ['123456789012|10.0.0.2', baseline(3, W)],
      ]),
    );
  });

  it('keeps rhythm state, the tail score and the slot spread exactly: profile, within-hour statistics and jobs, and rewinds a retried window to them', async () => {
    // Prepare: two folds of a rhythmic source through the engine's own fold (one slot, then a
    // zero-filled gap and another slot change), so `prev` is stored as a patch of the profile.
    // The slot spread is set here, not folded: one slot changes between the two, as a fold's does.
    const { store, tableName } = await newStore();
    const config = resolveDetectorConfig({});
    const profile = encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(1 + s)));
    const start: Baseline = {
      ...baseline(1, W - 3 * HOUR),
      dataPoints: 400,
      clockAtLastFold: 0,
      profile,
      withinHour: { variance: quantizeSlotMean(12.5), index: quantizeSlotMean(2.25), count: 380 },
      jobs: [{ phase: 24 * 3 + 2, period: 'weekly', size: 140, occurrences: 3, last: W - 7 * DAY }],
      tailScore: 0.013,
    };
    // The first fold scores (its tail score moves), so the retry state keeps a score of its own.
    const spread = encodeProfile(
      Array.from({ length: PROFILE_SLOTS }, (_, s) => (s < 40 ? quantizeSlotMean(0.5 + s / 3) : Number.NaN)),
    );
    const a1 = { ...foldedBaseline(start, 7, W - HOUR, 1, config, 2.5), slotSpread: spread };
    const a2 = {
      ...foldedBaseline(withMissedZeros(a1, 2, config), 40, W, 3, config),
      slotSpread: `${spread.slice(0, 3 * 44)}${encodeValue(9.5)}${spread.slice(3 * 45)}`,
    };
    expect(a2.profile).not.toBe(a1.profile);
    await commitFold(store, '123456789012|10.0.0.1', a1, a2);

    // Act
    const forRetry = await store.getBaselines(['123456789012|10.0.0.1'], { before: W });
    const forNext = await store.getBaselines(['123456789012|10.0.0.1'], { before: W + HOUR });
    const stored = unpackBucketItem((await bucketItem(tableName, '123456789012|10.0.0.1'))!).get(
      '123456789012|10.0.0.1',
    )!;
    const entry = JSON.parse((await bucketItem(tableName, '123456789012|10.0.0.1'))!.records!.S!)[
      '123456789012|10.0.0.1'
    ] as unknown[];

    // Assess: both read back exactly; prev holds a patch of the profile and refers to the entry's jobs.
    expect(forRetry.get('123456789012|10.0.0.1')).toEqual(a1);
    expect(forNext.get('123456789012|10.0.0.1')).toEqual(a2);
    expect(stored.baseline).toEqual(a2);
    const prev = entry[8] as unknown[];
    expect(Array.isArray(prev[7])).toBe(true);
    expect(prev[9]).toBe(0);
    expect(prev[10]).toBe(a1.tailScore);
    expect(entry[12]).toBe(a2.tailScore);
    // The slot spread last, and prev's as the one slot that differs.
    expect(entry).toHaveLength(14);
    expect(entry[13]).toBe(a2.slotSpread);
    expect(prev[11]).toEqual([44, spread.slice(3 * 44, 3 * 45)]);
  });

  it('keeps a slot spread that changed in more than 16 slots whole in prev', async () => {
    const { store, tableName } = await newStore();
    const spread = (value: number) =>
      encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(value + s)));
    const a1: Baseline = { ...baseline(1, W - HOUR), slotSpread: spread(1) };
    const a2: Baseline = { ...baseline(2, W), slotSpread: spread(2) };
    await commitFold(store, '123456789012|10.0.0.1', a1, a2);

    const forRetry = await store.getBaselines(['123456789012|10.0.0.1'], { before: W });
    const forNext = await store.getBaselines(['123456789012|10.0.0.1'], { before: W + HOUR });
    const entry = JSON.parse((await bucketItem(tableName, '123456789012|10.0.0.1'))!.records!.S!)[
      '123456789012|10.0.0.1'
    ] as unknown[];

    // Every slot changed: prev keeps the whole text.
    expect((entry[8] as unknown[])[11]).toBe(a1.slotSpread);
    expect(forRetry.get('123456789012|10.0.0.1')).toEqual(a1);
    expect(forNext.get('123456789012|10.0.0.1')).toEqual(a2);
  });

  it('reads an entry written before slot spreads (13 fields, prev 11) as having none', async () => {
    // Prepare: the entry as the build before wrote it, with a tail score in it and in prev.
    const { store, tableName } = await newStore({ baselineBuckets: 1 });
    const key = '123456789012|10.0.0.2';
    const expiresAt = W / 1000 + 90 * 86_400;
    const oldPrev = [4, 1, 40, W - HOUR, 1, null, null, null, null, null, 0.01];
    const old = [4.5, 1.25, 41, W, 2, expiresAt, null, null, oldPrev, null, null, null, 0.0125];
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          ...bucketKey(0),
          records: { S: JSON.stringify({ [key]: old }) },
          sources: { N: '1' },
          expiresAt: { N: String(expiresAt) },
        },
      }),
    );

    // Act
    const forRetry = await store.getBaselines([key], { before: W });
    const forNext = await store.getBaselines([key], { before: W + HOUR });
    const read = await store.readWindowBaselines([key], W + HOUR);

    // Assess: exactly the fields stored, no slotSpread (not even undefined)
    const current: Baseline = {
      mean: 4.5,
      variance: 1.25,
      dataPoints: 41,
      lastWindow: W,
      clockAtLastFold: 2,
      tailScore: 0.0125,
    };
    const prev: Baseline = {
      mean: 4,
      variance: 1,
      dataPoints: 40,
      lastWindow: W - HOUR,
      clockAtLastFold: 1,
      tailScore: 0.01,
    };
    expect(forRetry.get(key)).toStrictEqual(prev);
    expect(forNext.get(key)).toStrictEqual(current);
    expect(read.before.get(0)).toStrictEqual(current);
    expect(store.takeUnreadableEntries()).toEqual([]);
  });

  it('refuses a bucket entry whose rhythm state, tail score or slot spread is malformed, naming the field', async () => {
    const { store, tableName } = await newStore();
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([['123456789012|10.0.0.1', baseline(1)]]),
      alerts: [],
    });
    const item = (await bucketItem(tableName, '123456789012|10.0.0.1'))!;
    for (const [bad, message] of [
      [{ 9: 'not-a-profile' }, /profile is not a 144-character/],
      [{ 9: encodeProfile(new Array(PROFILE_SLOTS).fill(1)), 10: [1, 2, 3] }, /withinHour is not/],
      [{ 11: [[1, 7, 3, 1, 0]] }, /a job is not/],
      [{ 12: -0.5 }, /tailScore is not a number from 0 to/],
      [{ 12: 7 }, /tailScore is not a number from 0 to/],
      [{ 12: 'high' }, /tailScore is not a number from 0 to/],
      [{ 13: 'not-a-spread' }, /: slotSpread is not a 144-character base64url slot spread$/],
      [{ 13: `${'A'.repeat(143)}*` }, /: slotSpread is not a 144-character base64url slot spread$/],
      [{ 13: 0.5 }, /: slotSpread is not a 144-character base64url slot spread$/],
    ] as const) {
      const entry = JSON.parse(item.records!.S!)['123456789012|10.0.0.1'] as unknown[];
      while (entry.length < 14) entry.push(null);
      for (const [k, v] of Object.entries(bad)) entry[Number(k)] = v;
      expect(() =>
        unpackBucketItem({ ...item, records: { S: JSON.stringify({ '123456789012|10.0.0.1': entry }) } }),
      ).toThrow(message);
    }
  });

  it('sets the TTL of baselines from their last window and of sent alerts from the send time', async () => {
    // Prepare
    const now = Date.parse('2026-11-27T10:12:00Z');
    const { store, tableName } = await newStore({ now: () => now, baselineTtlDays: 7 });
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([['123456789012|10.0.0.1', baseline(1)]]),
      alerts: [alert('123456789012|10.0.0.1')],
    });

    // Act
    await store.markSent([alert('123456789012|10.0.0.1').alertId]);

    // Assess
    const get = (pk: string, sk: string) =>
      client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: sk } } }));
    const bucket = await bucketItem(tableName, '123456789012|10.0.0.1');
    // The entry expires 7 days after its window; DynamoDB may delete the item 30 days after that.
    expect(bucket?.expiresAt?.N).toBe(String(W / 1000 + 37 * 86_400));
    expect(unpackBucketItem(bucket!).get('123456789012|10.0.0.1')?.expiresAt).toBe(W / 1000 + 7 * 86_400);
    const sent = await get('OUTBOX', alert('123456789012|10.0.0.1').alertId);
    expect(sent.Item?.status?.S).toBe('sent');
    expect(sent.Item?.expiresAt?.N).toBe(String(now / 1000 + 14 * 86_400));
    expect(await store.pendingAlerts()).toEqual([]);
    expect(await store.windowAlerts(W)).toEqual([
      { alert: alert('123456789012|10.0.0.1'), status: 'sent', attempts: 0, windowAlertCount: 1 },
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
      baselines: new Map([['123456789012|10.0.0.1', baseline(1)]]),
      watermark: W,
      clock: 720,
      overwrite: false,
    });

    // Act
    const again = store.writeBootstrap({
      baselines: new Map([['123456789012|10.0.0.1', baseline(9)]]),
      watermark: W + HOUR,
      clock: 5,
      overwrite: false,
    });

    // Assess
    await expect(again).rejects.toThrow(BootstrapRefusedError);
    expect(await store.getBaselines(['123456789012|10.0.0.1'])).toEqual(
      new Map([['123456789012|10.0.0.1', baseline(1)]]),
    );
    await store.writeBootstrap({
      baselines: new Map([['123456789012|10.0.0.1', baseline(9)]]),
      watermark: W + HOUR,
      clock: 5,
      overwrite: true,
    });
    expect(await store.readState()).toEqual({
      watermark: W + HOUR,
      clock: 5,
      keyFormat: SOURCE_KEY_FORMAT,
      lastBootstrapped: W + HOUR,
    });
    expect(await store.getBaselines(['123456789012|10.0.0.1'])).toEqual(
      new Map([['123456789012|10.0.0.1', baseline(9)]]),
    );
  });

  it('keeps at most batchConcurrency batches in flight, and every outbox batch done before the first baseline batch', async () => {
    // Prepare: a client that records, per BatchWriteItem, its kind and the calls in flight when it started
    const { tableName } = await newStore();
    let inFlight = 0;
    const started: { kind: string; inFlight: number; outboxDone: number; markersDone: number }[] = [];
    let outboxDone = 0;
    let markersDone = 0;
    const watching = {
      send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
        const input = command.input as {
          RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, { S?: string }> } }[]>;
        };
        const firstPk = input.RequestItems?.[tableName]?.[0]?.PutRequest?.Item?.pk?.S ?? '';
        const kind =
          firstPk === 'PENDING'
            ? 'marker'
            : firstPk === 'OUTBOX'
              ? 'outbox'
              : firstPk.startsWith('BASELINES#')
                ? 'baseline'
                : 'other';
        inFlight += 1;
        if (kind !== 'other') started.push({ kind, inFlight, outboxDone, markersDone });
        try {
          return await client.send(command);
        } finally {
          inFlight -= 1;
          if (kind === 'outbox') outboxDone += 1;
          if (kind === 'marker') markersDone += 1;
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
    const batches = Math.ceil(bucketCount(baselines.keys(), BASELINE_BUCKETS) / 25);
    const alerts = Array.from({ length: 60 }, (_, i) => alert(ip(i)));

    // Act
    await store.commitWindow({ windowStart: W, clockBefore: 0, clockAfter: 1, baselines, alerts });

    // Assess: 3 marker batches (60 alerts), then 3 outbox batches, then ceil(B/25) bucket
    // batches, overlapping but never more than 4, steps in order: no outbox item is written
    // before every marker is
    expect(batches).toBeGreaterThan(4);
    expect(started.filter((s) => s.kind === 'marker')).toHaveLength(3);
    expect(started.filter((s) => s.kind === 'outbox')).toHaveLength(3);
    expect(started.filter((s) => s.kind === 'outbox').every((s) => s.markersDone === 3)).toBe(true);
    expect(started.filter((s) => s.kind === 'baseline')).toHaveLength(batches);
    const most = Math.max(...started.map((s) => s.inFlight));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    expect(started.filter((s) => s.kind === 'baseline').every((s) => s.outboxDone === 3)).toBe(true);
    const read = await store.getBaselines([...baselines.keys()]);
    expect(read).toEqual(baselines);
  });

  it('starts no batch after one failed, and throws only once the batches in flight are done', async () => {
    // Prepare: the third BatchWriteItem (of bucket batches) fails
    const { tableName } = await newStore();
    let inFlight = 0;
    let sends = 0;
    const failure = new Error('injected: connection reset');
    const failing = {
      send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
        if (command.constructor.name !== 'BatchWriteItemCommand') return client.send(command);
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

    // Assess: the failure surfaces, nothing is still being written, and the bucket batches were not all sent
    expect(error).toBe(failure);
    expect(inFlight).toBe(0);
    expect(sends).toBeLessThanOrEqual(3 + 3);
    expect(local.count('UpdateItem')).toBe(1); // the mark of the window in flight, not the watermark
    expect(await store.readState()).toEqual({ watermark: undefined, clock: 0, foldingWindow: W });
  });

  it('rejects a batchConcurrency that is not a positive integer', () => {
    expect(
      () => new DynamoBaselineStore({ client, tableName: 'x', baselineTtlDays: 90, batchConcurrency: 0 }),
    ).toThrow(/batchConcurrency must be a positive integer, got 0/);
  });
  it('rewinds a window retried after a crash between bucket batches, ending as a fault-free twin', async () => {
    // Prepare: two stores with 300 sources in 64 buckets (3 batches), committed in W; then W+1h
    // folds every source. The crashed store's second bucket batch of W+1h fails (one batch in
    // flight at a time).
    const sources = Array.from({ length: 300 }, (_, i) => ip(i * 7));
    const w0 = new Map(sources.map((s, i) => [s, baseline(i)]));
    const fold = (b: Baseline): Baseline => ({
      ...b,
      mean: b.mean * 1.5,
      variance: b.variance + 1,
      dataPoints: b.dataPoints + 1,
      lastWindow: W + HOUR,
      clockAtLastFold: 2,
    });
    const commitNext = async (store: DynamoBaselineStore) => {
      const before = await store.getBaselines(sources, { before: W + HOUR });
      await store.commitWindow({
        windowStart: W + HOUR,
        clockBefore: 1,
        clockAfter: 2,
        baselines: new Map([...before].map(([s, b]) => [s, fold(b)])),
        alerts: [],
        previous: before,
      });
      return before;
    };
    const twin = (await committedStore(w0)).store;
    const failing = await committedStore(w0, 2);
    failing.arm();
    const crashed = failing.store;
    expect(Math.ceil(bucketCount(sources, 64) / 25)).toBe(3);

    // Act
    await commitNext(twin);
    await expect(commitNext(crashed)).rejects.toThrow('injected');
    const halfway = await crashed.getBaselines(sources);
    const retriedFrom = await commitNext(crashed);

    // Assess: the crash left some sources folded and some not; the retry started from w0 for all of them
    const folded = sources.filter((s) => halfway.get(s)?.lastWindow === W + HOUR);
    expect(folded.length).toBeGreaterThan(0);
    expect(folded.length).toBeLessThan(sources.length);
    expect(retriedFrom).toEqual(w0);
    expect(await crashed.getBaselines(sources)).toEqual(await twin.getBaselines(sources));
    expect(await crashed.getBaselines(sources, { before: W + HOUR })).toEqual(w0);
    expect(await crashed.readState()).toEqual(await twin.readState());
  });

  it('rolls back a window a stopped commit wrote part of: prev put back, sources new in it gone, the rest untouched', async () => {
    // Prepare: W committed (300 sources in 64 buckets); W+1h folds them and adds 40 new sources,
    // and its second bucket batch fails. The twin committed W only.
    const old = Array.from({ length: 300 }, (_, i) => ip(i * 7));
    const added = Array.from({ length: 40 }, (_, i) => ip(5000 + i * 11));
    const w0 = new Map(old.map((s, i) => [s, baseline(i)]));
    const buckets = async (tableName: string) => {
      const { Items = [] } = await client.send(
        new ScanCommand({ TableName: tableName, ConsistentRead: true }),
      );
      return new Map(
        Items.filter((item) => item.pk?.S?.startsWith('BASELINES#')).map((item) => [
          item.pk!.S!,
          { records: JSON.parse(item.records!.S!), sources: item.sources?.N, expiresAt: item.expiresAt?.N },
        ]),
      );
    };
    const twin = await committedStore(w0);
    const stopped = await committedStore(w0, 2);
    stopped.arm();
    const before = await stopped.store.getBaselines([...old, ...added], { before: W + HOUR });
    const next = new Map([
      ...[...before].map(
        ([s, b]) =>
          [
            s,
            {
              ...b,
              mean: b.mean + 1,
              dataPoints: b.dataPoints + 1,
              lastWindow: W + HOUR,
              clockAtLastFold: 2,
            },
          ] as const,
      ),
      ...added.map((s, i) => [s, baseline(i, W + HOUR)] as const),
    ]);
    await expect(
      stopped.store.commitWindow({
        windowStart: W + HOUR,
        clockBefore: 1,
        clockAfter: 2,
        baselines: next,
        alerts: [],
        previous: before,
      }),
    ).rejects.toThrow('injected');
    const halfway = await stopped.store.getBaselines([...old, ...added]);
    const folded = [...halfway.values()].filter((b) => b.lastWindow === W + HOUR).length;
    const marked = await stopped.store.readState();

    // Act: a dry run's read past the window, the roll back, and the roll back again (a retry)
    const readPast = await stopped.store.getBaselines([...old, ...added], { uncommitted: W + HOUR });
    const rolledBack = await stopped.store.rollBackFold(W + HOUR);
    local.resetCounters();
    const again = await stopped.store.rollBackFold(W + HOUR);

    // Assess: some sources were folded, old and new; after the roll back the table is the twin's
    expect(folded).toBeGreaterThan(0);
    expect(folded).toBeLessThan(old.length + added.length);
    expect([...halfway.keys()].filter((s) => added.includes(s)).length).toBeGreaterThan(0);
    expect(marked.foldingWindow).toBe(W + HOUR);
    expect(readPast).toEqual(w0);
    expect(rolledBack).toMatchObject({ window: W + HOUR, entries: folded });
    expect(rolledBack.buckets).toBeGreaterThan(0);
    expect(await stopped.store.getBaselines([...old, ...added])).toEqual(w0);
    expect(await buckets(stopped.tableName)).toEqual(await buckets(twin.tableName));
    expect(await stopped.store.readState()).toEqual(await twin.store.readState());
    expect(again).toEqual({ window: W + HOUR, entries: 0, buckets: 0 });
    expect(local.count('BatchWriteItem')).toBe(0);
  });

  it('leaves an entry or a bucket it cannot read as it is when rolling back', async () => {
    // Prepare: one bucket holds a folded entry whose prev is damaged, another is not JSON
    const { store, tableName } = await newStore();
    const good = encodeEntry(baseline(1, W + HOUR), baseline(1), 0);
    const damaged = [...encodeEntry(baseline(2, W + HOUR), baseline(2), 0)];
    damaged[8] = 'not a baseline';
    const put = (bucket: number, records: string) =>
      client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { ...bucketKey(bucket), records: { S: records }, sources: { N: '2' }, expiresAt: { N: '1' } },
        }),
      );
    await put(3, JSON.stringify({ [ip(1)]: good, [ip(2)]: damaged }));
    await put(4, `{"${ip(3)}": [1, ${W + HOUR}`);

    // Act
    const rolledBack = await store.rollBackFold(W + HOUR);

    // Assess: the readable entry went back to its prev; the damaged one and the damaged bucket stay
    const records = JSON.parse(
      (
        await client.send(
          new GetItemCommand({ TableName: tableName, Key: bucketKey(3), ConsistentRead: true }),
        )
      ).Item!.records!.S!,
    );
    expect(rolledBack).toMatchObject({ entries: 1, buckets: 1 });
    expect(records[ip(2)]).toEqual(damaged);
    expect(records[ip(1)][3]).toBe(W);
    const unreadable = await client.send(
      new GetItemCommand({ TableName: tableName, Key: bucketKey(4), ConsistentRead: true }),
    );
    expect(unreadable.Item?.records?.S).toBe(`{"${ip(3)}": [1, ${W + HOUR}`);
  });

  describe('the streamed window (readWindowBaselines, commitWindowBaselines)', () => {
    it('reads the window sources into a table and writes them back, carrying the other entries of their buckets exactly', async () => {
      // Prepare: one bucket; a, b, c, d folded in W (a with prev and alert state, d with rhythm
      // state and a slot spread)
      const { store, tableName } = await newStore({ baselineBuckets: 1 });
      const [a, b, c, d] = [
        '123456789012|10.0.0.1',
        '123456789012|10.0.0.2',
        '123456789012|2001:db8::3',
        '210987654321|10.0.0.1',
      ] as const;
      const e = '123456789012|10.0.0.5';
      const a0 = { ...baseline(1, W - HOUR), lastAlertWindow: W - HOUR, lastAlertCount: 9 };
      const profile = encodeProfile(
        Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s % 5 === 0 ? Number.NaN : s * 1.7)),
      );
      const d0 = {
        ...baseline(4),
        profile,
        withinHour: { variance: quantizeSlotMean(0.25), index: quantizeSlotMean(1.5), count: 12 },
        jobs: [{ phase: 26, period: 'daily' as const, size: 140, occurrences: 3, last: W - DAY }],
        slotSpread: encodeProfile(
          Array.from({ length: PROFILE_SLOTS }, (_, s) =>
            s % 4 === 0 ? Number.NaN : quantizeSlotMean(s / 8),
          ),
        ),
      };
      await store.commitWindow({
        windowStart: W,
        clockBefore: 0,
        clockAfter: 1,
        baselines: new Map([
          [a, baseline(1)],
          [b, baseline(2)],
          [c, baseline(3)],
          [d, d0],
        ]),
        alerts: [],
        previous: new Map([[a, a0]]),
      });
      const entriesBefore = unpackBucketItem((await bucketItem(tableName, a, 1))!);

      // Act: the window W+1h sees b, d and a new source e
      const read = await store.readWindowBaselines([b, d, e], W + HOUR);
      const b1 = { ...baseline(2, W + HOUR), mean: 7 };
      const d1 = {
        ...d0,
        lastWindow: W + HOUR,
        mean: 3.25,
        lastAlertWindow: W + HOUR,
        lastAlertCount: 40,
        // One slot of the slot spread folded.
        slotSpread: `${d0.slotSpread.slice(0, 30)}${encodeValue(2.5)}${d0.slotSpread.slice(33)}`,
      };
      const e1 = baseline(5, W + HOUR);
      const next = new Map([
        [b, b1],
        [d, d1],
        [e, e1],
      ]);
      await store.commitWindowBaselines({
        windowStart: W + HOUR,
        clockBefore: 1,
        clockAfter: 2,
        alerts: [],
        read,
        next: (i) => next.get(read.keys[i]!),
      });

      // Assess: the table held exactly what was stored; a and c as they were (a's prev included)
      expect([...read.keys].sort()).toEqual([b, d, e].sort());
      const readBack = new Map(read.keys.map((key, i) => [key, read.before.get(i)]));
      expect(readBack).toEqual(
        new Map<string, Baseline | undefined>([
          [b, baseline(2)],
          [d, d0],
          [e, undefined],
        ]),
      );
      const item = (await bucketItem(tableName, a, 1))!;
      const entries = unpackBucketItem(item);
      expect([...entries.keys()].sort()).toEqual([a, b, c, d, e].sort());
      expect(entries.get(a)).toEqual(entriesBefore.get(a));
      expect(entries.get(c)).toEqual(entriesBefore.get(c));
      expect(entries.get(b)).toMatchObject({ baseline: b1, prev: baseline(2) });
      expect(entries.get(d)).toMatchObject({ baseline: d1, prev: d0 });
      const dEntry = JSON.parse(item.records!.S!)[d] as unknown[];
      expect((dEntry[8] as unknown[])[11]).toEqual([10, d0.slotSpread.slice(30, 33)]);
      expect(entries.get(e)).toMatchObject({ baseline: e1, prev: undefined });
      expect(item.sources?.N).toBe('5');
      expect(await store.readState()).toEqual({
        watermark: W + HOUR,
        clock: 2,
        keyFormat: 'account|address',
      });
    });

    it('hands a retried window the baselines it was folded from (prev), and keeps an entry folded past the window as it is', async () => {
      // Prepare: a and b folded in W; then a folded in W+1h (crashed before the watermark moved), b in W+2h
      const { store, tableName } = await newStore({ baselineBuckets: 1 });
      const [a, b] = ['123456789012|10.0.0.1', '123456789012|10.0.0.2'] as const;
      await store.commitWindow({
        windowStart: W,
        clockBefore: 0,
        clockAfter: 1,
        baselines: new Map([
          [a, baseline(1)],
          [b, baseline(2)],
        ]),
        alerts: [],
      });
      await store.commitWindow({
        windowStart: W + HOUR,
        clockBefore: 1,
        clockAfter: 2,
        baselines: new Map([[a, { ...baseline(1, W + HOUR), mean: 5 }]]),
        alerts: [],
        previous: new Map([[a, baseline(1)]]),
      });
      await store.commitWindow({
        windowStart: W + 2 * HOUR,
        clockBefore: 2,
        clockAfter: 3,
        baselines: new Map([[b, { ...baseline(2, W + 2 * HOUR), mean: 6 }]]),
        alerts: [],
        previous: new Map([[b, baseline(2)]]),
      });
      const bEntry = unpackBucketItem((await bucketItem(tableName, b, 1))!).get(b);

      // Act: W+1h again, both sources seen; the engine folds a again and leaves b (already folded)
      const read = await store.readWindowBaselines([a, b], W + HOUR);
      const aAgain = { ...baseline(1, W + HOUR), mean: 5 };
      const ia = read.keys.indexOf(a);
      const ib = read.keys.indexOf(b);
      const commit = store.commitWindowBaselines({
        windowStart: W + HOUR,
        clockBefore: 1,
        clockAfter: 2,
        alerts: [],
        read,
        next: (i) => (i === ia ? aAgain : undefined),
      });

      // Assess: a read as its prev (what W+1h started from); b as stored, and written back
      // untouched; the watermark, already past the window, refuses the commit (last, after the buckets)
      await expect(commit).rejects.toBeInstanceOf(WatermarkConflictError);
      expect(read.before.get(ia)).toEqual(baseline(1));
      expect(read.before.get(ib)).toEqual({ ...baseline(2, W + 2 * HOUR), mean: 6 });
      const entries = unpackBucketItem((await bucketItem(tableName, a, 1))!);
      expect(entries.get(a)).toMatchObject({ baseline: aAgain, prev: baseline(1) });
      expect(entries.get(b)).toEqual(bEntry);
    });

    it("asks for the buckets of a large window in batches whose answers fit BatchGetItem's 16 MB", () => {
      // Prepare: 300 buckets of 500 window sources (about 200 KB each), then 300 of 10
      const buckets = Int32Array.from({ length: 300 }, (_, i) => i);
      const starts = (perBucket: number) => Int32Array.from({ length: 301 }, (_, i) => i * perBucket);

      // Act
      const large = [...bucketBatches(buckets, starts(500))];
      const small = [...bucketBatches(buckets, starts(10))];

      // Assess: every bucket once, in order; at 500 sources 73 buckets a batch (14 MB / 200 KB), at 10 the 100-key limit
      for (const batches of [large, small]) {
        expect(batches.flat().map((key) => key.pk?.S)).toEqual([...buckets].map((b) => `BASELINES#${b}`));
      }
      expect(large.map((b) => b.length)).toEqual([73, 73, 73, 73, 8]);
      expect(small.map((b) => b.length)).toEqual([100, 100, 100]);
    });

    it('reads the buckets of a large window two batches at a time, a small window batchConcurrency at a time', async () => {
      // Prepare: a client that records the BatchGetItem calls in flight; 300 buckets of about 500
      // window sources each (batches estimated at some 14 MB), then a window of 2,000 sources in
      // the same buckets (100 buckets a batch, the BatchGetItem key limit)
      const { tableName } = await newStore();
      let inFlight = 0;
      let most = 0;
      const watching = {
        send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
          if (command.constructor.name !== 'BatchGetItemCommand') return client.send(command);
          inFlight += 1;
          most = Math.max(most, inFlight);
          try {
            // Answers that take a moment, so the calls in flight overlap.
            await new Promise((resolve) => setTimeout(resolve, 5));
            return await client.send(command);
          } finally {
            inFlight -= 1;
          }
        },
      } as unknown as DynamoDBClient;
      const store = new DynamoBaselineStore({
        client: watching,
        tableName,
        baselineTtlDays: 90,
        baselineBuckets: 300,
        batchConcurrency: 8,
      });
      const large = Array.from({ length: 150_000 }, (_, i) => ip(i));
      const small = large.slice(0, 2_000);
      const smallBatches = Math.ceil(bucketCount(small, 300) / 100);

      // Act
      await store.readWindowBaselines(large, W);
      const largeMost = most;
      const largeCalls = local.count('BatchGetItem');
      most = 0;
      await store.readWindowBaselines(small, W);

      // Assess: the large window in its 5 batches, at most 2 at once; the small one's all at once
      expect(largeCalls).toBe(5);
      expect(largeMost).toBe(2);
      expect(smallBatches).toBe(3);
      expect(local.count('BatchGetItem')).toBe(largeCalls + smallBatches);
      expect(most).toBe(smallBatches);
    });

    it('encodes each bucket once: measured against the item limit from its entries, not built twice', async () => {
      // Prepare: 2,000 new sources over the 16 buckets, a fold each; JSON.stringify watched
      const { store } = await newStore();
      const keys = Array.from({ length: 2_000 }, (_, i) => ip(i));
      const read = await store.readWindowBaselines(keys, W);
      const profile = encodeProfile(Array.from({ length: PROFILE_SLOTS }, (_, s) => quantizeSlotMean(s)));
      const stringify = jest.spyOn(JSON, 'stringify');

      // Act
      const committed = store.commitWindowBaselines({
        windowStart: W,
        clockBefore: 0,
        clockAfter: 1,
        alerts: [],
        read,
        next: (i) => ({ ...baseline(i), profile }),
      });
      // Copied before mockRestore, which clears them.
      const calls: unknown[][] = [];
      await committed.finally(() => {
        calls.push(...stringify.mock.calls);
        stringify.mockRestore();
      });

      // Assess: one stringify of a bucket's records per bucket (an object keyed by source), and
      // every source written
      const recordsStringified = calls.filter(([value]) => {
        const first = Object.keys((value ?? {}) as object)[0];
        return (
          typeof value === 'object' && !Array.isArray(value) && first !== undefined && keys.includes(first)
        );
      });
      expect(recordsStringified).toHaveLength(BUCKETS);
      expect(local.count('BatchWriteItem')).toBe(1);
      expect((await store.getBaselines(keys)).size).toBe(2_000);
    });

    it('refuses an over-size bucket before writing anything, and a source with no baseline to write', async () => {
      // Prepare: one bucket, 2,500 new sources with prev-sized entries
      const { store } = await newStore({ baselineBuckets: 1 });
      const keys = Array.from({ length: 2_500 }, (_, i) => ip(i));
      const read = await store.readWindowBaselines(keys, W);
      const wide = (i: number): Baseline => ({ ...baseline(i), mean: Math.PI * i, variance: Math.E * i });

      // Act
      const tooLarge = await store
        .commitWindowBaselines({
          windowStart: W,
          clockBefore: 0,
          clockAfter: 1,
          alerts: [alert(ip(1))],
          read: { ...read, before: read.before },
          next: (i) => ({
            ...wide(i),
            profile: encodeProfile(new Array(PROFILE_SLOTS).fill(quantizeSlotMean(2))),
          }),
        })
        .catch((e: unknown) => e);
      const small = await store.readWindowBaselines([ip(1), ip(2)], W);
      const missing = await store
        .commitWindowBaselines({
          windowStart: W,
          clockBefore: 0,
          clockAfter: 1,
          alerts: [],
          read: small,
          next: () => undefined,
        })
        .catch((e: unknown) => e);

      // Assess
      expect(tooLarge).toBeInstanceOf(BaselineBucketTooLargeError);
      expect((tooLarge as BaselineBucketTooLargeError).sources).toBe(2_500);
      expect((missing as Error).message).toMatch(/no baseline to write for 123456789012\|10\.0\.0\.[12]/);
      expect(local.count('BatchWriteItem')).toBe(0);
      expect(local.count('UpdateItem')).toBe(0);
      expect(await store.readState()).toEqual({ watermark: undefined, clock: 0 });
    });
  });

  it('drops entries past their expiry: absent when read, removed when their bucket is rewritten', async () => {
    // Prepare: a 7-day TTL; a folded 10 days before W, b in W, in the same bucket; now is W+1h.
    const now = W + HOUR;
    const { store, tableName } = await newStore({ baselineBuckets: 1, baselineTtlDays: 7, now: () => now });
    const a = baseline(1, W - 10 * DAY);
    await store.commitWindow({
      windowStart: W - 10 * DAY,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([['123456789012|10.0.0.1', a]]),
      alerts: [],
    });
    const stale = unpackBucketItem((await bucketItem(tableName, '123456789012|10.0.0.1', 1))!);

    // Act
    const read = await store.getBaselines(['123456789012|10.0.0.1'], { before: W });
    await store.commitWindow({
      windowStart: W,
      clockBefore: 1,
      clockAfter: 2,
      baselines: new Map([['123456789012|10.0.0.2', baseline(2)]]),
      alerts: [],
    });

    // Assess
    expect(stale.get('123456789012|10.0.0.1')?.expiresAt).toBeLessThan(now / 1000);
    expect(read).toEqual(new Map());
    const item = (await bucketItem(tableName, '123456789012|10.0.0.2', 1))!;
    expect([...unpackBucketItem(item).keys()]).toEqual(['123456789012|10.0.0.2']);
    expect(item.expiresAt?.N).toBe(String(W / 1000 + 37 * 86_400));
    expect(item.sources?.N).toBe('1');
  });

  it('expires entries by the window read, not by the clock of the run: a late run decides as an early one', async () => {
    // Prepare: a 7-day TTL; a folded exactly 7 days before W (its last window still seeing it), b
    // 8 days before (expired at W); the run is two days late.
    const now = W + 2 * DAY;
    const { store } = await newStore({ baselineBuckets: 1, baselineTtlDays: 7, now: () => now });
    await store.commitWindow({
      windowStart: W - 8 * DAY,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([['123456789012|10.0.0.2', baseline(1, W - 8 * DAY)]]),
      alerts: [],
    });
    await store.commitWindow({
      windowStart: W - 7 * DAY,
      clockBefore: 1,
      clockAfter: 2,
      baselines: new Map([['123456789012|10.0.0.1', baseline(2, W - 7 * DAY)]]),
      alerts: [],
    });

    // Act
    const read = await store.readWindowBaselines(['123456789012|10.0.0.1', '123456789012|10.0.0.2'], W);
    const got = await store.getBaselines(['123456789012|10.0.0.1', '123456789012|10.0.0.2'], { before: W });

    // Assess
    const byKey = new Map(read.keys.map((key, i) => [key, read.before.get(i)]));
    expect(byKey.get('123456789012|10.0.0.1')?.lastWindow).toBe(W - 7 * DAY);
    expect(byKey.get('123456789012|10.0.0.2')).toBeUndefined();
    expect([...got.keys()]).toEqual(['123456789012|10.0.0.1']);
  });

  it('refuses a bucket over the item size limit with a named error, before writing anything of the window', async () => {
    // Prepare: one bucket; 1,500 sources with prev fit, 2,500 do not.
    const { store } = await newStore({ baselineBuckets: 1 });
    const many = (count: number) =>
      new Map(
        Array.from(
          { length: count },
          (_, i) => [ip(i), { ...baseline(i), mean: Math.PI * i, variance: Math.E * i }] as const,
        ),
      );
    const fitting = many(1_500);
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: fitting,
      alerts: [],
      previous: fitting,
    });
    local.resetCounters();
    const tooMany = many(2_500);

    // Act
    const attempt = store.commitWindow({
      windowStart: W + HOUR,
      clockBefore: 1,
      clockAfter: 2,
      baselines: tooMany,
      alerts: [alert(ip(1), W + HOUR)],
      previous: tooMany,
    });

    // Assess
    const error = await attempt.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BaselineBucketTooLargeError);
    expect((error as BaselineBucketTooLargeError).sources).toBe(2_500);
    expect((error as BaselineBucketTooLargeError).bytes).toBeGreaterThan(BASELINE_BUCKET_MAX_BYTES);
    expect((error as Error).message).toMatch(
      /the estate needs more than 1 buckets: raise the deployment setting baselineBuckets/,
    );
    expect(local.count('BatchWriteItem')).toBe(0);
    expect(local.count('UpdateItem')).toBe(0);
    expect(await store.readState()).toEqual({ watermark: W, clock: 1, keyFormat: SOURCE_KEY_FORMAT });
    expect(await store.pendingAlerts()).toEqual([]);
    expect(await store.getBaselines([...fitting.keys()])).toEqual(fitting);
  });

  it("replaces every baseline with the bootstrap's: a source it does not name is gone, an emptied bucket deleted", async () => {
    // Prepare: a running detector with a and b in one bucket of two, c in the other
    const { store, tableName } = await newStore({ baselineBuckets: 2 });
    const [a, b, c] = ['123456789012|10.0.0.1', '123456789012|10.0.0.3', '123456789012|10.0.0.2'];
    expect(bucketOf(a, 2)).toBe(bucketOf(b, 2));
    expect(bucketOf(c, 2)).not.toBe(bucketOf(a, 2));
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([
        [a, baseline(1)],
        [b, baseline(2)],
        [c, baseline(3)],
      ]),
      alerts: [],
      previous: new Map([[a, baseline(5, W - HOUR)]]),
    });

    // Act
    await store.writeBootstrap({
      baselines: new Map([[a, baseline(9)]]),
      watermark: W,
      clock: 720,
      overwrite: true,
    });

    // Assess: a replaced (no prev left to rewind to), b and c gone, c's bucket deleted
    const entries = unpackBucketItem((await bucketItem(tableName, a, 2))!);
    expect([...entries.keys()]).toEqual([a]);
    expect(entries.get(a)?.prev).toBeUndefined();
    expect(await bucketItem(tableName, c, 2)).toBeUndefined();
    expect(await store.getBaselines([a, b, c])).toEqual(new Map([[a, baseline(9)]]));
    expect(await store.readState()).toEqual({
      watermark: W,
      clock: 720,
      keyFormat: SOURCE_KEY_FORMAT,
      lastBootstrapped: W,
    });
  });

  it('marks the state while a bootstrap replaces the baselines; a failure half-way leaves the mark', async () => {
    // Prepare: a running detector; the bootstrap's baseline batches fail
    const now = Date.parse('2026-11-28T10:00:00Z');
    // No SDK retries: the injected throttling fails the batch at once.
    const once = new DynamoDBClient({ ...local.clientConfig(), maxAttempts: 1 });
    const { store } = await newStore({ baselineBuckets: 4, now: () => now, client: once });
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: new Map([['123456789012|10.0.0.1', baseline(1)]]),
      alerts: [],
    });
    local.injectThrottling('BatchWriteItem', 10);

    // Act
    const write = store.writeBootstrap({
      baselines: new Map([['123456789012|10.0.0.2', baseline(2)]]),
      watermark: W + HOUR,
      clock: 24,
      overwrite: true,
    });

    // Assess: the old watermark and clock, and the mark the detector refuses to run on
    await expect(write).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    local.resetCounters();
    expect(await store.readState()).toEqual({
      watermark: W,
      clock: 1,
      keyFormat: SOURCE_KEY_FORMAT,
      bootstrapStarted: '2026-11-28T10:00:00.000Z',
    });
    // A bootstrap run again completes and clears it.
    await store.writeBootstrap({
      baselines: new Map([['123456789012|10.0.0.2', baseline(2)]]),
      watermark: W + HOUR,
      clock: 24,
      overwrite: true,
    });
    expect(await store.readState()).toEqual({
      watermark: W + HOUR,
      clock: 24,
      keyFormat: SOURCE_KEY_FORMAT,
      lastBootstrapped: W + HOUR,
    });
    once.destroy();
  });

  describe('pending alerts', () => {
    /** A store whose Query answers are kept, to see what a read scanned. */
    async function watchedStore() {
      const queries: QueryCommandOutput[] = [];
      const watching = {
        send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
          const output = await client.send(command as never);
          if (command instanceof QueryCommand) queries.push(output as QueryCommandOutput);
          return output;
        },
      } as unknown as DynamoDBClient;
      const { tableName } = await newStore();
      const store = () =>
        new DynamoBaselineStore({
          client: watching,
          tableName,
          baselineTtlDays: 90,
          baselineBuckets: BUCKETS,
        });
      return { store, tableName, queries };
    }

    it('reads the pending alerts alone, not the sent ones beside them', async () => {
      // Prepare: three windows of 30 alerts each, all sent but one
      const { store: newStoreInstance, queries } = await watchedStore();
      const store = newStoreInstance();
      const ids: string[] = [];
      for (const w of [0, 1, 2]) {
        const alerts = Array.from({ length: 30 }, (_, i) => alert(ip(i), W + w * HOUR));
        await store.commitWindow({
          windowStart: W + w * HOUR,
          clockBefore: w,
          clockAfter: w + 1,
          baselines: new Map(),
          alerts,
        });
        ids.push(...alerts.map((a) => a.alertId));
      }
      const stillPending = ids[45]!;
      await store.markSent(ids.filter((id) => id !== stillPending));
      queries.length = 0;

      // Act
      const pending = await newStoreInstance().pendingAlerts();

      // Assess: one item read, not 90
      expect(pending.map((p) => p.alert.alertId)).toEqual([stillPending]);
      expect(queries.map((q) => q.ScannedCount)).toEqual([1]);
      expect((await store.windowAlerts(W + HOUR)).filter((e) => e.status === 'sent')).toHaveLength(29);
    });

    it('marks sent, from the copy in its pending marker, an alert whose outbox item a crash never wrote', async () => {
      // Prepare: a marker without its outbox item (the crash between the two)
      const { store: newStoreInstance, tableName } = await watchedStore();
      const store = newStoreInstance();
      await store.commitWindow({
        windowStart: W,
        clockBefore: 0,
        clockAfter: 1,
        baselines: new Map(),
        alerts: [],
      });
      const lost = alert(ip(7));
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: 'PENDING' },
            sk: { S: lost.alertId },
            status: { S: 'pending' },
            alert: { S: JSON.stringify(lost) },
            windowStart: { N: String(W) },
            windowAlertCount: { N: '1' },
            attempts: { N: '0' },
          },
        }),
      );

      // Act
      const pending = await store.pendingAlerts();
      await store.markSent([lost.alertId]);

      // Assess
      expect(pending.map((p) => p.alert)).toEqual([lost]);
      expect(await store.pendingAlerts()).toEqual([]);
      expect(await store.windowAlerts(W)).toEqual([
        { alert: lost, status: 'sent', attempts: 0, windowAlertCount: 1 },
      ]);
    });

    it('parks refused alerts out of the pending read and unparks them pending again, refusals counted afresh', async () => {
      // Prepare: two pending alerts, each refused twice; one also failed once in an outage
      const store = (await watchedStore()).store();
      const [kept, refused] = [alert(ip(1)), alert(ip(2))];
      await store.commitWindow({
        windowStart: W,
        clockBefore: 0,
        clockAfter: 1,
        baselines: new Map(),
        alerts: [kept, refused],
      });
      await store.recordAttempt([{ alertId: kept.alertId, refused: false }]);
      await store.recordAttempt([{ alertId: refused.alertId, refused: true }]);

      // Act
      const refusals = await store.recordAttempt([
        { alertId: kept.alertId, refused: false },
        { alertId: refused.alertId, refused: true },
      ]);
      await store.parkAlerts([refused.alertId], 'AuthorizationErrorException: denied');
      const pendingWhileParked = await store.pendingAlerts();
      const parked = await store.parkedAlerts();
      const parkedCount = await store.parkedAlertCount();
      const unparked = await store.unparkAlerts([refused.alertId]);

      // Assess
      expect(refusals).toEqual(new Map([[refused.alertId, 2]]));
      expect(pendingWhileParked).toEqual([{ alert: kept, attempts: 2 }]);
      expect(parked).toEqual([{ alert: refused, attempts: 2 }]);
      expect(parkedCount).toBe(1);
      expect(await store.parkedAlertCount()).toBe(0);
      expect((await store.windowAlerts(W)).map((e) => e.status).sort()).toEqual(['pending', 'pending']);
      expect(unparked).toEqual([{ alert: refused, attempts: 2 }]);
      expect(await store.parkedAlerts()).toEqual([]);
      expect((await store.pendingAlerts()).map((p) => p.alert.alertId).sort()).toEqual(
        [kept.alertId, refused.alertId].sort(),
      );
      expect(await store.recordAttempt([{ alertId: refused.alertId, refused: true }])).toEqual(
        new Map([[refused.alertId, 1]]),
      );
    });

    it.each([1, 2, 3, 4, 5, 6])(
      'an unpark stopped at its BatchWriteItem request %i (three writes of two requests each: one half-applied) and then retried loses no alert',
      async (stopAt) => {
        // Prepare: 30 parked alerts (each of the unpark's three writes is two requests, 25 and 5
        // items); a client that stops at the given request
        const { tableName } = await newStore();
        let writes = 0;
        let stopping = false;
        const stopper = {
          send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
            if (stopping && command.constructor.name === 'BatchWriteItemCommand' && ++writes === stopAt)
              throw new Error('injected: the invocation stopped here');
            return client.send(command as never);
          },
        } as unknown as DynamoDBClient;
        const store = new DynamoBaselineStore({
          client: stopper,
          tableName,
          baselineTtlDays: 90,
          baselineBuckets: BUCKETS,
        });
        const alerts = Array.from({ length: 30 }, (_, i) => alert(ip(i + 1)));
        await store.commitWindow({
          windowStart: W,
          clockBefore: 0,
          clockAfter: 1,
          baselines: new Map(),
          alerts,
        });
        await store.parkAlerts(
          alerts.map((a) => a.alertId),
          'AuthorizationErrorException: denied',
        );

        // Act: stopped part-way, then invoked again
        stopping = true;
        await expect(store.unparkAlerts(alerts.map((a) => a.alertId))).rejects.toThrow(/injected/);
        stopping = false;
        const parkedBefore = (await store.parkedAlerts()).map((p) => p.alert.alertId);
        const again = await store.unparkAlerts(parkedBefore);

        // Assess: all 30 pending (a run publishes them), none parked, none lost
        const pending = (await store.pendingAlerts()).map((p) => p.alert.alertId).sort();
        expect(pending).toEqual(alerts.map((a) => a.alertId).sort());
        expect(await store.parkedAlerts()).toEqual([]);
        expect(again.map((p) => p.alert.alertId).sort()).toEqual([...parkedBefore].sort());
        expect((await store.windowAlerts(W)).every((e) => e.status === 'pending')).toBe(true);
      },
    );

    it('unparks only what is still parked: a marker a crash left beside an alert since sent is dropped, not sent again', async () => {
      // Prepare: parked, then the crash case: a PARKED marker beside an outbox item marked sent
      const { store: newStoreInstance, tableName } = await watchedStore();
      const store = newStoreInstance();
      const stale = alert(ip(3));
      await store.commitWindow({
        windowStart: W,
        clockBefore: 0,
        clockAfter: 1,
        baselines: new Map(),
        alerts: [stale],
      });
      await store.parkAlerts([stale.alertId], 'KMSDisabledException');
      const marker = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'PARKED' }, sk: { S: stale.alertId } } }),
      );
      await store.unparkAlerts([stale.alertId]);
      await store.markSent([stale.alertId]);
      await client.send(new PutItemCommand({ TableName: tableName, Item: marker.Item! }));

      // Act
      const listed = await store.parkedAlerts();
      const unparked = await store.unparkAlerts(listed.map((p) => p.alert.alertId));

      // Assess
      expect(listed.map((p) => p.alert.alertId)).toEqual([stale.alertId]);
      expect(unparked).toEqual([]);
      expect(await store.parkedAlerts()).toEqual([]);
      expect(await store.pendingAlerts()).toEqual([]);
      expect((await store.windowAlerts(W)).map((e) => e.status)).toEqual(['sent']);
    });

    it('gives the pending outbox items of a table from before the markers theirs, once', async () => {
      // Prepare: a table an earlier build wrote: state without pendingMarkers, two sent alerts, one pending
      const { store: newStoreInstance, tableName, queries } = await watchedStore();
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: 'STATE' }, sk: { S: 'DETECTOR' }, watermark: { N: String(W) }, clock: { N: '5' } },
        }),
      );
      const legacy = [alert(ip(1)), alert(ip(2)), alert(ip(3))];
      for (const [i, a] of legacy.entries()) {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              pk: { S: 'OUTBOX' },
              sk: { S: a.alertId },
              status: { S: i === 1 ? 'pending' : 'sent' },
              alert: { S: JSON.stringify(a) },
              windowStart: { N: String(W) },
              windowAlertCount: { N: '3' },
              attempts: { N: '2' },
            },
          }),
        );
      }

      // Act
      const first = newStoreInstance();
      await first.readState();
      const found = await first.pendingAlerts();
      const scannedFirst = queries.map((q) => q.ScannedCount);
      queries.length = 0;
      const later = newStoreInstance();
      await later.readState();
      const again = await later.pendingAlerts();

      // Assess: the legacy read once (3 items), then the markers only
      expect(found).toEqual([{ alert: legacy[1], attempts: 2 }]);
      expect(scannedFirst).toEqual([3, 1]);
      expect(again).toEqual(found);
      expect(queries.map((q) => q.ScannedCount)).toEqual([1]);
    });
  });

  it('places a source by FNV-1a of its address: the same bucket in every release', () => {
    // Reference values of 32-bit FNV-1a (the FNV authors' test vectors).
    expect(bucketOf('', 2 ** 32)).toBe(0x811c9dc5);
    expect(bucketOf('a', 2 ** 32)).toBe(0xe40c292c);
    expect(bucketOf('foobar', 2 ** 32)).toBe(0xbf9cf968);
    expect(bucketOf('foobar', 1024)).toBe(0xbf9cf968 % 1024);
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i += 1) counts[bucketOf(ip(i), 64)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });

  it('rejects a baselineBuckets that is not a positive integer', () => {
    expect(
      () => new DynamoBaselineStore({ client, tableName: 'x', baselineTtlDays: 90, baselineBuckets: 0.5 }),
    ).toThrow(/baselineBuckets must be a positive integer, got 0.5/);
  });
});

describe('how full the baseline buckets are, and their count (baselineBuckets)', () => {
  const keys = Array.from({ length: 40 }, (_, i) => `123456789012|10.0.${i >> 8}.${i & 255}`);
  const sources = new Map(keys.map((key, i) => [key, baseline(i)]));
  const bucketItems = async (tableName: string): Promise<string[]> => {
    const { Items } = await client.send(new ScanCommand({ TableName: tableName }));
    return (Items ?? [])
      .map((item) => item.pk!.S!)
      .filter((pk) => pk.startsWith('BASELINES#'))
      .sort((a, b) => Number(a.slice(10)) - Number(b.slice(10)));
  };

  it('reports the fullest bucket a commit wrote as a share of the size a bucket may grow to, once', async () => {
    // Prepare: one bucket, so the fullest is the one item there is
    const { store, tableName } = await newStore({ baselineBuckets: 1 });
    expect(store.takeFullestBucketShare()).toBeUndefined();

    // Act
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: sources,
      alerts: [],
    });

    // Assess: the item's own size over the limit, and nothing more to report until the next write
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: bucketKey(0) }));
    const bytes = Buffer.byteLength(Item!.records!.S!, 'utf8');
    const share = store.takeFullestBucketShare()!;
    expect(share).toBeGreaterThan(bytes / BASELINE_BUCKET_MAX_BYTES);
    expect(share).toBeLessThan((bytes + 100) / BASELINE_BUCKET_MAX_BYTES);
    expect(store.takeFullestBucketShare()).toBeUndefined();
  });

  it("reports a streamed window's fullest bucket at its item's exact size, not the size its entries may take at most", async () => {
    // Prepare: two buckets learnt, then a window that folds every source into means and variances
    // with long fractions (what a learnt baseline holds), which the measure at most takes for
    // their longest: some 1.5 times the item's real size before this was measured
    const { store, tableName } = await newStore({ baselineBuckets: 2 });
    await store.commitWindow({
      windowStart: W,
      clockBefore: 0,
      clockAfter: 1,
      baselines: sources,
      alerts: [],
    });
    store.takeFullestBucketShare();
    const read = await store.readWindowBaselines(keys, W + HOUR);
    const folded = (i: number): Baseline => ({
      ...baseline(i, W + HOUR),
      mean: i + 1 / 3,
      variance: i / 7 + 0.1,
    });

    // Act
    await store.commitWindowBaselines({
      windowStart: W + HOUR,
      clockBefore: 1,
      clockAfter: 2,
      alerts: [],
      read,
      next: (i) => folded(keys.indexOf(read.keys[i]!)),
    });

    // Assess: the fuller of the two items as written, to the byte
    const itemBytes = await Promise.all(
      [0, 1].map(async (b) => {
        const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: bucketKey(b) }));
        return bucketItemBytes(b, Item!.records!.S!);
      }),
    );
    expect(store.takeFullestBucketShare()).toBe(Math.max(...itemBytes) / BASELINE_BUCKET_MAX_BYTES);
    // (and written as built: the folded entry is there)
    const entries = unpackBucketItem((await bucketItem(tableName, keys[7]!, 2))!);
    expect(entries.get(keys[7]!)!.baseline).toMatchObject({ mean: 7 + 1 / 3, lastWindow: W + HOUR });
  });

  it('a bootstrap with overwrite onto fewer buckets removes the items past its last bucket', async () => {
    // Prepare: baselines learnt over 8 buckets
    const settings = (buckets: number) =>
      JSON.stringify({ preset: 'recommended', windowMinutes: 60, baselineBuckets: buckets });
    const { store: eight, tableName } = await newStore({ baselineBuckets: 8, baselineSettings: settings(8) });
    await eight.writeBootstrap({ baselines: sources, watermark: W, clock: 720, overwrite: false });
    expect(await bucketItems(tableName)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((b) => `BASELINES#${b}`));
    expect(eight.takeFullestBucketShare()).toBeGreaterThan(0);

    // Act: relearnt over 4
    const four = new DynamoBaselineStore({
      client,
      tableName,
      baselineTtlDays: 90,
      sleep: async () => undefined,
      baselineBuckets: 4,
      baselineSettings: settings(4),
    });
    await four.writeBootstrap({ baselines: sources, watermark: W + HOUR, clock: 721, overwrite: true });

    // Assess: buckets 4-7 are gone (never read again), every source is found in the four
    expect(await bucketItems(tableName)).toEqual([0, 1, 2, 3].map((b) => `BASELINES#${b}`));
    expect(await four.getBaselines(keys)).toEqual(sources);
  });
});

describe('kept history queries (CompletedQueries)', () => {
  it('finds the ids kept for the keys asked, not expired ones, each key once, and retries keys DynamoDB left unprocessed', async () => {
    // Prepare: 150 keys kept a day (two batches), one expired; the clock a store reads
    const now = Date.parse('2026-11-27T10:00:00Z');
    const { store } = await newStore({ now: () => now });
    const keys = Array.from({ length: 150 }, (_, i) => `key-${i}`);
    for (const key of keys) await store.remember(key, `query-${key}`, now + DAY);
    await store.remember('expired', 'query-expired', now - 1000);

    // Act
    const withDuplicates = await store.queryIdsFor([...keys, 'key-0', 'expired', 'never-kept']);
    local.injectUnprocessedKeys(1, 4);
    const unprocessedOnce = await store.queryIdsFor(keys.slice(0, 10));

    // Assess
    expect(withDuplicates).toEqual(new Map(keys.map((key) => [key, `query-${key}`])));
    expect(unprocessedOnce.size).toBe(10);
    expect(await store.queryIdFor('key-7')).toBe('query-key-7');
    expect(await store.queryIdFor('expired')).toBeUndefined();
  });
});
