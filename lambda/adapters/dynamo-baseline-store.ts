/**
 * The detector's state in one DynamoDB table (partition key `pk` (S), sort key `sk` (S), TTL
 * attribute `expiresAt`):
 *
 * | item      | pk             | sk          | attributes                                                       |
 * |-----------|----------------|-------------|------------------------------------------------------------------|
 * | baselines | `BASELINES#<b>`| `BUCKET`    | records (JSON: per source mean, variance, dataPoints, lastWindow,|
 * |           |                |             | clockAtLastFold, expiresAt, lastAlertWindow?, lastAlertCount?,   |
 * |           |                |             | prev?, rhythm state?, tailScore?, slotSpread?,                   |
 * |           |                |             | lastElevatedWindow?), sources,                                   |
 * |           |                |             | expiresAt (latest entry's): baseline-buckets.ts                  |
 * | state     | `STATE`        | `DETECTOR`  | watermark (last committed window start, ms), clock, updatedAt,   |
 * |           |                |             | sourceKeys (the source key format, `account|address`; absent on  |
 * |           |                |             | tables from before accounts, whose baselines are address-keyed), |
 * |           |                |             | skipDataThrough? (SKIPDATA carry: last window it makes incomplete)|
 * |           |                |             | bootstrapStarted? (a bootstrap is replacing the baselines),      |
 * |           |                |             | failingWindow?, failedAttempts?, lastFailure? (a window that     |
 * |           |                |             | failed in earlier runs), countSplitPlan? (how the last window's  |
 * |           |                |             | count query was split: count-split-plan.ts), lastSkipped? (the  |
 * |           |                |             | last window of the latest skip), foldingWindow? (the window whose|
 * |           |                |             | baselines a commit is writing: removed with the watermark),      |
 * |           |                |             | lastBootstrapped? (the last window of the latest bootstrap),     |
 * |           |                |             | lastLearnOnly? (the latest window committed learn-only),         |
 * |           |                |             | baselineSettings? (what the baselines mean: baseline-settings.ts) |
 * | skipped   | `SKIPPED`      | `<window>`  | windows (skipped in all), lastWindow, reason, attempts, manual,  |
 * |           |                |             | skippedAt, expiresAt                                             |
 * | outbox    | `OUTBOX`       | `<alertId>` | status pending/sent/parked, alert (JSON), windowStart, attempts, |
 * |           |                |             | refusals?, windowAlertCount, createdAt, sentAt?, parkedAt?,      |
 * |           |                |             | parkReason?, expiresAt (sent only)                               |
 * | pending   | `PENDING`      | `<alertId>` | the outbox item while it is pending (a copy): what pendingAlerts |
 * |           |                |             | reads, so a run reads no sent alert; deleted when marked sent    |
 * | parked    | `PARKED`       | `<alertId>` | the outbox item while it is parked (a copy): what parkedAlerts   |
 * |           |                |             | reads; deleted when the alert is unparked                        |
 * | run lease | `LEASE`        | `RUN`       | holder, leaseUntil (ms), expiresAt                               |
 * | history   | `HISTORY_QUERY`| `<key>`     | queryId, expiresAt: a bootstrap's finished history query, read   |
 * | query     |                |             | again by a rerun (CompletedQueries)                              |
 *
 * Exactly-once fold per (source, window), under duplicates, retries and crashes:
 * - Runs are serialised by the lease (a conditional put that succeeds only when the item is
 *   absent, expired or already ours). An invocation that finds it held does nothing: the holder
 *   does the same work.
 * - A window is committed in the order outbox (pending alerts) -> window in flight (the state's
 *   `foldingWindow`) -> baselines -> watermark; the watermark is a conditional update
 *   (`watermark < :w`) that removes `foldingWindow`, so a window is committed once.
 * - A source's baselines live in bucket `b` = FNV-1a(srcIp) mod `baselineBuckets` with the other
 *   sources of that bucket. Writes are read-modify-write: a commit rewrites each bucket it touches
 *   from the bucket as read for that window (`getBaselines` keeps what it read; a bucket not read
 *   is read first), so the bucket's other sources are carried unchanged. The lease serialises
 *   runs, so nothing writes a bucket between the read and the write.
 * - Each baseline entry keeps `prev`, the baseline it was folded from. When a window is retried
 *   after a crash half-way through its bucket batches (some buckets written, others not),
 *   `getBaselines(ips, { before: w })` hands the engine the pre-window baselines again (`prev`
 *   for entries whose `lastWindow` is `w`), so the retry recomputes the same fold from the same
 *   inputs and overwrites it: one fold, not two, and the same decisions (the fleet-wide threshold
 *   sees every source, folded or not).
 * - A window that is never retried (skipped, or passed over by a detector without state) must
 *   fold nothing: `rollBackFold(foldingWindow)` puts every entry holding its fold back to `prev`
 *   (removes a source new in it) and then the mark; skipWindows does it first, the run does it
 *   before evaluating another window.
 * - Entries whose `expiresAt` is before the window's start count as absent and are dropped when
 *   their bucket is rewritten (window time, not the run's clock: lambda/baseline-expiry.ts, the
 *   replay's rule too); the bucket item's own TTL (its latest entry's, plus 30 days for late
 *   windows) removes buckets no source uses.
 * - A bootstrap replaces the baselines whole: it marks the state (`bootstrapStarted`), rewrites
 *   every bucket from its baselines alone (a bucket none of them falls in is deleted), then writes
 *   the state, which clears the mark. Until then detection refuses to run on the mixed table.
 * - Sources are keyed by account and address (lambda/core/source-key.ts), and every commit and
 *   bootstrap records that in the state (`sourceKeys`). A table from before accounts has
 *   address-keyed baselines and no `sourceKeys`: the detector does not read them (no key
 *   matches), relearns (readState says so), and entries without an account are dropped from each
 *   bucket it rewrites, so old and new keys never mix.
 * - A pending alert has a marker item in the `PENDING` partition, a copy of its outbox item,
 *   written with it and deleted when it is marked sent: a run reads the pending alerts alone,
 *   not the 14 days of sent ones beside them. A commit writes every marker before any outbox
 *   item, so an outbox item always has its marker (else, were its window then skipped, nothing
 *   would read it again). A marker whose outbox item is missing (a crash between the two) is
 *   published and marked sent from the copy. A table
 *   written before the markers existed (no `pendingMarkers` in the state) gets markers for its
 *   pending outbox items once.
 * - An alert SNS refused `maxAlertAttempts` times (refusals, not throttles or outages) is parked:
 *   its outbox item says `parked`, a `PARKED` marker replaces the `PENDING` one (written first,
 *   so a crash between leaves it both pending and parked, never neither), and runs no longer try
 *   it. Parked items have no TTL. `unparkAlerts` (mode republish-parked) makes them pending again.
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
import { BaselineTable, isoTime, SOURCE_KEY_FORMAT, type Alert, type Baseline } from '../core';
import { expiredBefore } from '../baseline-expiry';
import { decodeBaselineSettings } from '../baseline-settings';
import {
  BASELINE_BUCKET_MAX_BYTES,
  BASELINE_BUCKETS,
  BaselineBucketTooLargeError,
  BUCKET_PK_PREFIX,
  bucketItemBytes,
  bucketItemBytesOf,
  bucketKey,
  bucketOfItem,
  CorruptItemError,
  baselineBefore,
  encodeEntry,
  entryBefore,
  entryExpiresAt,
  groupByBucket,
  memberBytesAtMost,
  parseRecords,
  type BucketRecords,
} from './baseline-buckets';
import type { BaselineStore, CompletedQueries, DetectorState, PendingAlert, WindowCommit } from './ports';

export { BASELINE_BUCKETS, BaselineBucketTooLargeError, CorruptItemError };

/** BatchGetItem takes at most 100 keys, BatchWriteItem at most 25 requests. */
export const BATCH_GET_LIMIT = 100;
export const BATCH_WRITE_LIMIT = 25;
/**
 * Batch calls of one step in flight at once. A window of 100,000 sources takes about 50 of them
 * (1,024 buckets of ~17 KB: 11 reads, 41 writes): one at a time, each waits out its round trip.
 * Steps stay ordered (outbox, then baselines, then watermark): only the batches within one step
 * overlap.
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

/** A bootstrap started replacing the baselines and did not finish: the table holds old and new ones. */
export class BootstrapUnfinishedError extends Error {
  constructor(readonly startedAt: string) {
    super(
      `a bootstrap started at ${startedAt} did not finish: the baselines are part old, part new, and the ` +
        'detector will not run on them; invoke {"mode":"bootstrap","overwrite":true} again',
    );
    this.name = 'BootstrapUnfinishedError';
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

const OUTBOX_STATUSES = ['pending', 'sent', 'parked'] as const;
type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** An alert in the outbox. */
export interface OutboxEntry {
  alert: Alert;
  status: OutboxStatus;
  attempts: number;
  /** Alerts decided for the item's window in all; undefined on items written before it was kept. */
  windowAlertCount?: number;
}

/**
 * A source's baseline entry that could not be decoded (written by another build, or damaged):
 * left out of the read, so the source is treated as new and its entry is replaced at the commit.
 */
export interface UnreadableEntry {
  /** The source key. */
  source: string;
  /** The baseline bucket (item `BASELINES#<bucket>`). */
  bucket: number;
  problem: string;
}

/** What the detector run needs beyond the BaselineStore port: the lease, retries, bootstrap. */
export interface DetectorStore extends BaselineStore {
  /**
   * The entries the reads since the last call left out as undecodable (each read of one is
   * listed), for the run to report; the list is emptied.
   */
  takeUnreadableEntries(): UnreadableEntry[];
  /**
   * The fullest baseline bucket the commits and bootstraps since the last call wrote, as a share
   * of the size a bucket may grow to (BASELINE_BUCKET_MAX_BYTES), or undefined when none wrote
   * one; reset by the call. At most that share: a bucket is measured from its entries' sizes at
   * most where that shows it well within the limit.
   */
  takeFullestBucketShare(): number | undefined;
  /**
   * Baselines of the given sources as they were before `before` was folded, when given, and
   * before `uncommitted` was (a window a stopped commit wrote part of: a dry run reads past it).
   */
  getBaselines(
    srcIps: readonly string[],
    options?: { before?: number; uncommitted?: number },
  ): Promise<Map<string, Baseline>>;
  /**
   * `previous`: the baselines the engine was given (kept as `prev` on each item for retries).
   * `windowAlertCount`: the window's alerts in all, when `alerts` is only the part not yet in the
   * outbox (default `alerts.length`).
   */
  commitWindow(
    commit: WindowCommit & { previous?: ReadonlyMap<string, Baseline>; windowAlertCount?: number },
  ): Promise<void>;
  /**
   * The stored baselines of a window's sources (each with a count above zero), as they were
   * before the window was folded, in a compact table (the Lambda's path at a million sources):
   * what commitWindowBaselines writes back from.
   */
  readWindowBaselines(srcIps: Iterable<string>, windowStart: number): Promise<WindowBaselines>;
  /**
   * commitWindow for a window read with readWindowBaselines: `next(i)` is the baseline to store
   * for `read.keys[i]` (undefined: the entry stays as stored, e.g. already folded), asked for
   * bucket by bucket as the writes go out, so no window's worth of baselines is held.
   */
  commitWindowBaselines(
    commit: Omit<WindowCommit, 'baselines'> & {
      windowAlertCount?: number;
      read: WindowBaselines;
      next: (index: number) => Baseline | undefined;
    },
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
    /** The SKIPDATA carry past the history's last window (DetectorState.skipDataThrough). */
    skipDataThrough?: number;
  }): Promise<void>;
  /**
   * Counts a failed publish attempt on pending alerts, and a refusal on those SNS refused (a
   * client error that is not a throttle: the same message would be refused again). Returns the
   * refusals so far of each refused alert.
   */
  recordAttempt(entries: readonly { alertId: string; refused: boolean }[]): Promise<Map<string, number>>;
  /** Parks pending alerts: no run tries them again until they are unparked. */
  parkAlerts(alertIds: readonly string[], reason: string): Promise<void>;
  /** The parked alerts, oldest window first. */
  parkedAlerts(): Promise<PendingAlert[]>;
  /** How many alerts are parked (their markers counted, not read). */
  parkedAlertCount(): Promise<number>;
  /** Makes parked alerts pending again with no refusals counted; returns them as now pending. */
  unparkAlerts(alertIds: readonly string[]): Promise<PendingAlert[]>;
  /**
   * Counts a failed attempt at the window after the watermark; returns the attempts so far, or
   * undefined when the window was committed meanwhile (nothing recorded).
   */
  recordWindowFailure(windowStart: number, reason: string): Promise<number | undefined>;
  /**
   * Moves the watermark over the windows `first` to `last` without counting anything there: a gap
   * (the clock does not advance, no baseline moves), recorded under `SKIPPED`. Throws
   * WatermarkConflictError when the watermark or the clock is not what the caller read.
   */
  skipWindows(skip: WindowSkip): Promise<FoldRollBack | undefined>;
  /**
   * Undoes what a commit of `window` wrote before its run stopped, for a window that will never
   * be committed (DetectorState.foldingWindow, skipped or passed over by a detector without
   * state): each entry holding its fold goes back to its `prev`, a source new in it goes; then
   * the mark goes. Reads every bucket (a rare path), writes only those it changes.
   */
  rollBackFold(window: number): Promise<FoldRollBack>;
}

/** What rollBackFold undid: the window, and how many entries in how many buckets. */
export interface FoldRollBack {
  window: number;
  entries: number;
  buckets: number;
}

export interface WindowSkip {
  /** The watermark the skip starts from (undefined: a detector that never committed a window). */
  watermarkBefore: number | undefined;
  /** Starts of the first and last windows skipped, and how many windows that is. */
  first: number;
  last: number;
  windows: number;
  /** The clock, unchanged by the skip. */
  clock: number;
  reason: string;
  attempts: number;
  /** Asked for by an operator (the `skip` mode) rather than after failed attempts. */
  manual: boolean;
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
  /**
   * Buckets the baselines are spread over (baseline-buckets.ts). Changing it moves every source
   * to another bucket: baselines are then relearned or bootstrapped. @default BASELINE_BUCKETS
   */
  baselineBuckets?: number;
  /**
   * What the baselines this store writes mean (lambda/baseline-settings.ts, encoded): kept in the
   * state with every commit and bootstrap, for the next run to check. Absent: not written.
   */
  baselineSettings?: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const STATE_KEY = { pk: { S: 'STATE' }, sk: { S: 'DETECTOR' } };
const SKIPPED_PK = 'SKIPPED';
/** Records of skipped windows stay this long, for operators to find. */
const SKIPPED_TTL_DAYS = 400;
/**
 * A bucket item's TTL attribute is its latest entry's expiry plus this: entries expire by window
 * time (baseline-expiry.ts), so a window evaluated late (a catch-up after an outage, up to this
 * long) must still find every entry its start has not expired, not an item DynamoDB's TTL
 * deleted by the clock in the meantime.
 */
const BUCKET_DELETION_GRACE_SECONDS = 30 * DAY_SECONDS;
const LEASE_KEY = { pk: { S: 'LEASE' }, sk: { S: 'RUN' } };
const HISTORY_QUERY_PK = 'HISTORY_QUERY';
const OUTBOX_PK = 'OUTBOX';
const PENDING_PK = 'PENDING';
const PARKED_PK = 'PARKED';

/**
 * A window's stored baselines, read by readWindowBaselines: the sources grouped by bucket, their
 * baselines before the window in a BaselineTable, and what of each bucket is written back as it
 * was (other sources' entries), as JSON text.
 */
export interface WindowBaselines {
  windowStart: number;
  /** The window's sources, grouped by bucket. */
  readonly keys: readonly string[];
  /** Their baselines before the window (absent: a new source, or its entry expired). */
  readonly before: BaselineTable;
  /** The buckets, in the order of `keys`, and where each one's sources start there. */
  readonly buckets: Int32Array;
  readonly starts: Int32Array;
  /** Per bucket (its position in `buckets`): the entries of sources not in the window, still live. */
  readonly carried: Map<number, { members: string; sources: number; expiresAt: number }>;
  /** Entries of the window's sources that must be written back unchanged (folded past the window): index -> member text. */
  readonly unchanged: Map<number, { member: string; expiresAt: number }>;
}

/** Buckets as read from the table (undefined: absent), for the commit of the window they were read for. */
interface ReadBuckets {
  windowStart: number | undefined;
  records: Map<number, string | undefined>;
  /** The sources asked for, by bucket. */
  asked: Map<number, string[]>;
  /** Buckets whose every entry was among the sources asked for. */
  allAsked: Set<number>;
}
const n = (value: number): AttributeValue => ({ N: String(value) });

export class DynamoBaselineStore implements DetectorStore, CompletedQueries {
  private readonly client: Pick<DynamoDBClient, 'send'>;
  private readonly tableName: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly batchConcurrency: number;
  private readonly buckets: number;
  /** The largest bucket written since takeFullestBucketShare was last asked (bytes), if any. */
  private fullestBucketBytes: number | undefined;
  /** What the last getBaselines read; taken (and cleared) by the next commit. */
  private readBuckets: ReadBuckets | undefined;
  /** Whether the table keeps pending markers (state `pendingMarkers`), once read. */
  private pendingMarkersKept: boolean | undefined;
  /** Entries the reads left out, until the run takes them. */
  private unreadable: UnreadableEntry[] = [];

  constructor(private readonly options: DynamoBaselineStoreOptions) {
    const concurrency = options.batchConcurrency ?? DEFAULT_BATCH_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`batchConcurrency must be a positive integer, got ${concurrency}`);
    const buckets = options.baselineBuckets ?? BASELINE_BUCKETS;
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 2 ** 31)
      throw new RangeError(`baselineBuckets must be a positive integer, got ${buckets}`);
    this.buckets = buckets;
    this.batchConcurrency = concurrency;
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async queryIdFor(key: string): Promise<string | undefined> {
    return (await this.queryIdsFor([key])).get(key);
  }

  async queryIdsFor(keys: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unique = [...new Set(keys)];
    const batches: Item[][] = [];
    for (let i = 0; i < unique.length; i += 100)
      batches.push(unique.slice(i, i + 100).map((key) => ({ pk: { S: HISTORY_QUERY_PK }, sk: { S: key } })));
    await this.batchGetIn(this.batchConcurrency, batches, (items) => {
      for (const item of items) {
        const key = item.sk?.S;
        const queryId = item.queryId?.S;
        // DynamoDB deletes expired items within days, not at once: an expired one is not there.
        if (key === undefined || queryId === undefined || !(Number(item.expiresAt?.N) * 1000 > this.now()))
          continue;
        found.set(key, queryId);
      }
    });
    return found;
  }

  async remember(key: string, queryId: string, expiresAt: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: { S: HISTORY_QUERY_PK },
          sk: { S: key },
          queryId: { S: queryId },
          expiresAt: { N: String(Math.floor(expiresAt / 1000)) },
        },
      }),
    );
  }

  async readState(): Promise<DetectorState> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: STATE_KEY, ConsistentRead: true }),
    );
    // A table without state has no outbox either: nothing to give markers to.
    this.pendingMarkersKept = Item === undefined || Item.pendingMarkers?.BOOL === true;
    if (!Item) return { watermark: undefined, clock: 0 };
    const skipDataThrough = optionalNumber(Item, 'skipDataThrough', 'STATE');
    const bootstrapStarted = Item.bootstrapStarted?.S;
    const failingWindow = optionalNumber(Item, 'failingWindow', 'STATE');
    const keyFormat = Item.sourceKeys?.S;
    const countSplitPlan = Item.countSplitPlan?.S;
    const lastSkipped = optionalNumber(Item, 'lastSkipped', 'STATE');
    const foldingWindow = optionalNumber(Item, 'foldingWindow', 'STATE');
    const lastBootstrapped = optionalNumber(Item, 'lastBootstrapped', 'STATE');
    const lastLearnOnly = optionalNumber(Item, 'lastLearnOnly', 'STATE');
    const baselineSettings = Item.baselineSettings?.S;
    return {
      watermark: Item.watermark?.N === undefined ? undefined : numberOf(Item, 'watermark', 'STATE'),
      clock: Item.clock?.N === undefined ? 0 : numberOf(Item, 'clock', 'STATE'),
      ...(skipDataThrough === undefined ? {} : { skipDataThrough }),
      ...(bootstrapStarted === undefined ? {} : { bootstrapStarted }),
      ...(keyFormat === undefined ? {} : { keyFormat }),
      ...(countSplitPlan === undefined ? {} : { countSplitPlan }),
      ...(lastSkipped === undefined ? {} : { lastSkipped }),
      ...(foldingWindow === undefined ? {} : { foldingWindow }),
      ...(lastBootstrapped === undefined ? {} : { lastBootstrapped }),
      ...(lastLearnOnly === undefined ? {} : { lastLearnOnly }),
      ...(baselineSettings === undefined ? {} : { baselineSettings }),
      ...(failingWindow === undefined
        ? {}
        : { failingWindow, failedAttempts: optionalNumber(Item, 'failedAttempts', 'STATE') ?? 0 }),
    };
  }

  takeUnreadableEntries(): UnreadableEntry[] {
    const taken = this.unreadable;
    this.unreadable = [];
    return taken;
  }

  /**
   * `decode()` of one source's entry, or, when the entry cannot be decoded, undefined with the
   * entry listed as unreadable: one bad entry costs that source its baseline (it relearns), not
   * every source's window (the whole read would fail again at every retry, until the entry expired).
   */
  private readable<T>(source: string, bucket: number, decode: () => T): { value: T } | undefined {
    try {
      return { value: decode() };
    } catch (error) {
      if (
        !(error instanceof CorruptItemError) &&
        !(error instanceof TypeError) &&
        !(error instanceof RangeError)
      )
        throw error;
      this.unreadable.push({
        source,
        bucket,
        problem: error instanceof CorruptItemError ? error.problem : error.message,
      });
      return undefined;
    }
  }

  async getBaselines(
    srcIps: readonly string[],
    options: { before?: number; uncommitted?: number } = {},
  ): Promise<Map<string, Baseline>> {
    const { before, uncommitted } = options;
    const asked = groupByBucket(new Set(srcIps), this.buckets);
    const read: ReadBuckets = { windowStart: before, records: new Map(), asked, allAsked: new Set() };
    this.readBuckets = undefined;
    // Expiry is on window time (baseline-expiry.ts): the window's start, when there is one.
    const readFor = before ?? this.now();
    const baselines = new Map<string, Baseline>();
    // Buckets are turned into baselines as each response comes back; only their JSON is kept.
    await this.batchGet(mapIterable(asked.keys(), bucketKey), (items) => {
      for (const item of items) {
        const bucket = bucketOfItem(item);
        if (bucket === undefined) continue;
        const json = item.records?.S;
        const records = parseRecords(json, bucket);
        let present = 0;
        for (const srcIp of asked.get(bucket) ?? []) {
          const entry = records[srcIp];
          if (entry === undefined) continue;
          present += 1;
          // Folded in `before` by an earlier attempt that did not commit: `prev`, what it started from.
          const baseline = this.readable(srcIp, bucket, () =>
            baselineBefore(entry, before, readFor, `${BUCKET_PK_PREFIX}${bucket}/${srcIp}`, uncommitted),
          )?.value;
          if (baseline !== undefined) baselines.set(srcIp, baseline);
        }
        // A bucket whose every entry was asked for is normally rewritten whole by the commit, so
        // its text is not kept (at 100,000 sources with rhythm state that is some 40 MB held
        // through the evaluation); the commit reads it again in the rare case it is not.
        if (present === Object.keys(records).length) read.allAsked.add(bucket);
        else read.records.set(bucket, json);
      }
    });
    for (const bucket of asked.keys())
      if (!read.records.has(bucket) && !read.allAsked.has(bucket)) read.records.set(bucket, undefined);
    this.readBuckets = read;
    return baselines;
  }

  async readWindowBaselines(srcIps: Iterable<string>, windowStart: number): Promise<WindowBaselines> {
    this.readBuckets = undefined;
    const grouped = groupByBucket(new Set(srcIps), this.buckets);
    const keys: string[] = [];
    const buckets = new Int32Array(grouped.size);
    const starts = new Int32Array(grouped.size + 1);
    const position = new Map<number, number>();
    let j = 0;
    for (const [bucket, group] of grouped) {
      buckets[j] = bucket;
      starts[j] = keys.length;
      position.set(bucket, j);
      for (const key of group) keys.push(key);
      j += 1;
    }
    starts[j] = keys.length;
    grouped.clear();
    const before = new BaselineTable(keys.length);
    const read: WindowBaselines = {
      windowStart,
      keys,
      before,
      buckets,
      starts,
      carried: new Map(),
      unchanged: new Map(),
    };
    // Each bucket is parsed as its response comes back and only its other sources' entries are
    // kept, as text: the window's own go into the table. Large answers are asked for a few at a
    // time (bucketReadConcurrency): each one in flight is its body, its text and its parse.
    const batches = [...bucketBatches(buckets, starts)];
    const concurrency = bucketReadConcurrency(batches, this.batchConcurrency);
    await this.batchGetIn(concurrency, batches, (items) => {
      for (const item of items) {
        const bucket = bucketOfItem(item);
        const at = bucket === undefined ? undefined : position.get(bucket);
        if (bucket === undefined || at === undefined) continue;
        const records = parseRecords(item.records?.S, bucket);
        let present = 0;
        for (let i = starts[at]!; i < starts[at + 1]!; i += 1) {
          const key = keys[i]!;
          const entry = records[key];
          if (entry === undefined) continue;
          present += 1;
          const where = `${BUCKET_PK_PREFIX}${bucket}/${key}`;
          // Folded in the window by an earlier attempt that did not commit: `prev`, what it started
          // from; expired by the window's start: absent, whenever the window is evaluated
          // (baseline-expiry.ts). Unreadable: the source is new (no baseline), and the commit
          // replaces the entry.
          const decoded = this.readable(key, bucket, () => {
            const baseline = baselineBefore(entry, windowStart, windowStart, where);
            return { baseline, expiresAt: baseline === undefined ? 0 : entryExpiresAt(entry, where) };
          });
          if (decoded === undefined) continue;
          const { baseline, expiresAt } = decoded.value;
          before.set(i, baseline);
          // Folded in a later window (a window re-evaluated out of order): written back as it is.
          if (baseline !== undefined && baseline.lastWindow >= windowStart)
            read.unchanged.set(i, { member: member(key, entry), expiresAt });
        }
        // A bucket whose every entry is a source of the window (a steady fleet's) carries nothing.
        let entries = 0;
        for (const key in records) if (Object.hasOwn(records, key)) entries += 1;
        if (entries === present) continue;
        const asked = new Set(keys.slice(starts[at]!, starts[at + 1]!));
        const members: string[] = [];
        let expiresAt = 0;
        for (const [key, entry] of Object.entries(records)) {
          // An entry keyed by address alone is from before accounts: never read again, dropped here.
          if (asked.has(key) || !isKeyed(key)) continue;
          // An entry whose expiry cannot be read is dropped too (its source relearns when seen).
          const expiry = this.readable(key, bucket, () =>
            entryExpiresAt(entry, `${BUCKET_PK_PREFIX}${bucket}/${key}`),
          )?.value;
          if (expiry === undefined || expiredBefore(expiry, windowStart)) continue;
          members.push(member(key, entry));
          expiresAt = Math.max(expiresAt, expiry);
        }
        if (members.length > 0)
          read.carried.set(at, { members: members.join(','), sources: members.length, expiresAt });
      }
    });
    return read;
  }

  takeFullestBucketShare(): number | undefined {
    const bytes = this.fullestBucketBytes;
    this.fullestBucketBytes = undefined;
    return bytes === undefined ? undefined : bytes / BASELINE_BUCKET_MAX_BYTES;
  }

  /** Keeps the largest bucket a commit or bootstrap measured (0: it wrote none) for takeFullestBucketShare. */
  private wroteBucketOf(bytes: number): void {
    if (bytes > 0) this.fullestBucketBytes = Math.max(this.fullestBucketBytes ?? 0, bytes);
  }

  async commitWindowBaselines(
    commit: Omit<WindowCommit, 'baselines'> & {
      windowAlertCount?: number;
      read: WindowBaselines;
      next: (index: number) => Baseline | undefined;
    },
  ): Promise<void> {
    const { read, next } = commit;
    if (read.windowStart !== commit.windowStart)
      throw new RangeError(
        `baselines read for ${isoTime(read.windowStart)} cannot commit window ${isoTime(commit.windowStart)}`,
      );
    const ttlBase = Math.floor(commit.windowStart / 1000) + this.options.baselineTtlDays * DAY_SECONDS;
    const ttlDays = this.options.baselineTtlDays;
    const unchangedMember = (i: number, bucket: number): { member: string; expiresAt: number } => {
      const kept = read.unchanged.get(i);
      // Every source of the window is either decided or folded past it; anything else is a bug
      // that must not drop a baseline.
      if (kept === undefined) throw new Error(`no baseline to write for ${read.keys[i]} (bucket ${bucket})`);
      return kept;
    };
    const bucketItem = (at: number): Item => {
      const bucket = read.buckets[at]!;
      // The window's entries in one object, stringified at once (faster than entry by entry),
      // then the bucket's other entries, kept as text, spliced in.
      const records: Record<string, unknown> = {};
      let expiresAt = 0;
      let sources = 0;
      let unchanged = '';
      for (let i = read.starts[at]!; i < read.starts[at + 1]!; i += 1) {
        const baseline = next(i);
        if (baseline === undefined) {
          const kept = unchangedMember(i, bucket);
          unchanged += `,${kept.member}`;
          expiresAt = Math.max(expiresAt, kept.expiresAt);
        } else {
          const expiry = Math.max(ttlBase, Math.floor(baseline.lastWindow / 1000) + ttlDays * DAY_SECONDS);
          records[read.keys[i]!] = encodeEntry(baseline, read.before.get(i), expiry);
          expiresAt = Math.max(expiresAt, expiry);
        }
        sources += 1;
      }
      const carried = read.carried.get(at);
      if (carried !== undefined) {
        sources += carried.sources;
        expiresAt = Math.max(expiresAt, carried.expiresAt);
      }
      const rest = unchanged + (carried === undefined ? '' : `,${carried.members}`);
      let json = JSON.stringify(records);
      if (rest !== '') json = json === '{}' ? `{${rest.slice(1)}}` : `${json.slice(0, -1)}${rest}}`;
      return bucketItemOf(bucket, json, sources, expiresAt);
    };
    let fullest = 0;
    let fullestAtMost = 0;
    let fullestAtMostAt = -1;
    // Every bucket is measured before anything is written, so one over the item size limit fails
    // the commit with nothing of the window written. Measured from its entries' sizes at most
    // (memberBytesAtMost), without encoding them: the items are built once, as the batches go
    // out, 25 at a time. Only a bucket that might be over the limit by that measure is built to
    // be measured exactly.
    for (let at = 0; at < read.buckets.length; at += 1) {
      const bucket = read.buckets[at]!;
      const sources = read.starts[at + 1]! - read.starts[at]!;
      // `{` and `}`, a comma between members; the members kept as text at their length.
      let bytes = 2 + Math.max(0, sources - 1);
      for (let i = read.starts[at]!; i < read.starts[at + 1]!; i += 1) {
        const baseline = next(i);
        if (baseline === undefined) {
          bytes += Buffer.byteLength(unchangedMember(i, bucket).member, 'utf8');
        } else {
          const expiry = Math.max(ttlBase, Math.floor(baseline.lastWindow / 1000) + ttlDays * DAY_SECONDS);
          bytes += memberBytesAtMost(read.keys[i]!, baseline, read.before.get(i), expiry);
        }
      }
      const carried = read.carried.get(at);
      if (carried !== undefined) bytes += 1 + Buffer.byteLength(carried.members, 'utf8');
      const atMost = bucketItemBytesOf(bucket, bytes);
      if (atMost <= BASELINE_BUCKET_MAX_BYTES) {
        if (atMost > fullestAtMost) {
          fullestAtMost = atMost;
          fullestAtMostAt = at;
        }
        continue;
      }
      const item = bucketItem(at);
      const exact = bucketItemBytes(bucket, item.records!.S!);
      if (exact > BASELINE_BUCKET_MAX_BYTES)
        throw new BaselineBucketTooLargeError(bucket, exact, Number(item.sources!.N), this.buckets);
      fullest = Math.max(fullest, exact);
    }
    // The fill reported (and alarmed on) is an item's exact size: the measure at most counts every
    // fraction at its longest, about 1.5 times a learnt entry's real size, and would ask for more
    // buckets at some 60% of the limit. The bucket that measure puts fullest is built here, once,
    // and written as built.
    let measured: { at: number; item: Item } | undefined;
    if (fullestAtMostAt >= 0 && fullestAtMost > fullest) {
      measured = { at: fullestAtMostAt, item: bucketItem(fullestAtMostAt) };
      fullest = Math.max(fullest, bucketItemBytes(read.buckets[fullestAtMostAt]!, measured.item.records!.S!));
    }
    this.wroteBucketOf(fullest);
    const writes = mapIterable(
      Array.from({ length: read.buckets.length }, (_, at) => at),
      (at): WriteRequest => ({ PutRequest: { Item: at === measured?.at ? measured.item : bucketItem(at) } }),
    );
    await this.commitSteps(commit, writes);
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
    // 0. The buckets to write, built whole before anything is written: a bucket over the item
    // size limit fails the commit with nothing of the window written.
    const ttlBase = Math.floor(commit.windowStart / 1000) + this.options.baselineTtlDays * DAY_SECONDS;
    const previous = commit.previous;
    const ttlDays = this.options.baselineTtlDays;
    const bucketWrites = await this.bucketWrites(commit.windowStart, commit.baselines, (srcIp, baseline) =>
      encodeEntry(
        baseline,
        previous?.get(srcIp),
        Math.max(ttlBase, Math.floor(baseline.lastWindow / 1000) + ttlDays * DAY_SECONDS),
      ),
    );
    await this.commitSteps(commit, bucketWrites);
  }

  /** Outbox, then baselines, then the watermark (see the file comment). */
  private async commitSteps(
    commit: Omit<WindowCommit, 'baselines'> & { windowAlertCount?: number },
    bucketWrites: Iterable<WriteRequest>,
  ): Promise<void> {
    const createdAt = new Date(this.now()).toISOString();
    // 1. Decided alerts first: once a baseline moves, the alert it caused must already be durable.
    // Every pending marker, then every outbox item: batches go out several at once, and an outbox
    // item written without its marker would be read only by its window's retry, so a window then
    // skipped would leave it pending for good. A marker alone is published from its copy.
    const outboxItems = commit.alerts.map((alert): Item => {
      const item: Item = {
        pk: { S: OUTBOX_PK },
        sk: { S: alert.alertId },
        status: { S: 'pending' },
        alert: { S: JSON.stringify(alert) },
        windowStart: n(commit.windowStart),
        // A retry after a crash between outbox batches can tell a partial set from the whole.
        windowAlertCount: n(commit.windowAlertCount ?? commit.alerts.length),
        attempts: n(0),
        createdAt: { S: createdAt },
      };
      return item;
    });
    await this.batchWrite(
      outboxItems.map((item) => ({ PutRequest: { Item: { ...item, pk: { S: PENDING_PK } } } })),
    );
    await this.batchWrite(outboxItems.map((item) => ({ PutRequest: { Item: item } })));
    // 2. The window in flight, then the baselines, each with the baseline it was folded from (see
    // the file comment), in the buckets built (and size-checked) above. Should the run stop among
    // the bucket writes and the window never be committed, the mark says which fold to roll back.
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          UpdateExpression: 'SET foldingWindow = :w',
          ConditionExpression: 'attribute_not_exists(watermark) OR watermark < :w',
          ExpressionAttributeValues: { ':w': n(commit.windowStart) },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new WatermarkConflictError(commit.windowStart, this.tableName);
      throw error;
    }
    await this.batchWrite(bucketWrites);
    // 3. The watermark, only forward and only from the clock this window was evaluated with,
    // with the SKIPDATA carry the next window needs.
    const carry = commit.skipDataThrough;
    const plan = commit.countSplitPlan;
    const settings = this.options.baselineSettings;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          UpdateExpression:
            `SET watermark = :w, clock = :clockAfter, updatedAt = :t, pendingMarkers = :true, sourceKeys = :keys${carry === undefined ? '' : ', skipDataThrough = :carry'}${plan === undefined ? '' : ', countSplitPlan = :plan'}${settings === undefined ? '' : ', baselineSettings = :settings'}${commit.learnOnly === true ? ', lastLearnOnly = :w' : ''}` +
            ' REMOVE failingWindow, failedAttempts, lastFailure, foldingWindow',
          ConditionExpression:
            'attribute_not_exists(watermark) OR (watermark < :w AND (attribute_not_exists(clock) OR clock = :clockBefore))',
          ExpressionAttributeValues: {
            ':w': n(commit.windowStart),
            ':clockAfter': n(commit.clockAfter),
            ':clockBefore': n(commit.clockBefore),
            ':t': { S: createdAt },
            ':true': { BOOL: true },
            ':keys': { S: SOURCE_KEY_FORMAT },
            ...(carry === undefined ? {} : { ':carry': n(carry) }),
            ...(plan === undefined ? {} : { ':plan': { S: plan } }),
            ...(settings === undefined ? {} : { ':settings': { S: settings } }),
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
    if (this.pendingMarkersKept === undefined) await this.readState();
    if (this.pendingMarkersKept === false) await this.markLegacyPending();
    // The pending partition only: sent alerts (14 days of them) are not read.
    const items = await this.queryOutbox({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: PENDING_PK } },
    });
    // Sort keys start with the window: query order is oldest first.
    return items.map(outboxEntryFromItem).map(({ alert, attempts }) => ({ alert, attempts }));
  }

  /**
   * Once, on a table written before pending markers existed: a marker for each pending outbox
   * item (the whole outbox partition is read this one time), then the state says so.
   */
  private async markLegacyPending(): Promise<void> {
    const pending = await this.queryOutbox({
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pk': { S: OUTBOX_PK }, ':pending': { S: 'pending' } },
    });
    await this.batchWrite(
      pending.map((item) => ({ PutRequest: { Item: { ...item, pk: { S: PENDING_PK } } } })),
    );
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: STATE_KEY,
        UpdateExpression: 'SET pendingMarkers = :true',
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
    this.pendingMarkersKept = true;
  }

  async markSent(alertIds: readonly string[]): Promise<void> {
    // BatchWrite cannot update, so the sent items are rewritten whole from what one BatchGetItem
    // reads: the outbox item, or the marker's copy when a crash left only the marker.
    if (alertIds.length === 0) return;
    const found = await this.outboxItems(alertIds, PENDING_PK);
    const sentAt = this.now();
    await this.batchWrite(
      [...found].flatMap(([id, item]) => [
        {
          PutRequest: {
            Item: {
              ...item,
              pk: { S: OUTBOX_PK },
              status: { S: 'sent' },
              sentAt: { S: new Date(sentAt).toISOString() },
              expiresAt: n(Math.floor(sentAt / 1000) + SENT_ALERT_TTL_DAYS * DAY_SECONDS),
            },
          },
        },
        { DeleteRequest: { Key: { pk: { S: PENDING_PK }, sk: { S: id } } } },
      ]),
    );
  }

  async recordAttempt(
    entries: readonly { alertId: string; refused: boolean }[],
  ): Promise<Map<string, number>> {
    const refusals = new Map<string, number>();
    for (const { alertId, refused } of entries) {
      // On the marker, which pendingAlerts reads (and on a legacy outbox item, where it has none).
      for (const pk of [PENDING_PK, OUTBOX_PK]) {
        const { Attributes } = await this.client
          .send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: { pk: { S: pk }, sk: { S: alertId } },
              UpdateExpression: 'ADD attempts :one, refusals :refused',
              ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':one': n(1),
                ':refused': n(refused ? 1 : 0),
                ':pending': { S: 'pending' },
              },
              ReturnValues: 'UPDATED_NEW',
            }),
          )
          .catch((error: unknown) => {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
            return { Attributes: undefined };
          });
        const count = Attributes?.refusals?.N;
        if (refused && count !== undefined && !refusals.has(alertId)) refusals.set(alertId, Number(count));
      }
    }
    return refusals;
  }

  async parkAlerts(alertIds: readonly string[], reason: string): Promise<void> {
    const items = await this.outboxItems(alertIds, PENDING_PK);
    const parkedAt = new Date(this.now()).toISOString();
    // The PARKED marker before the PENDING one goes: a crash between leaves both, never neither.
    await this.batchWrite(
      [...items.values()].flatMap((item) => {
        const parked: Item = {
          ...item,
          status: { S: 'parked' },
          parkedAt: { S: parkedAt },
          parkReason: { S: reason.slice(0, 1000) },
        };
        return [
          { PutRequest: { Item: { ...parked, pk: { S: OUTBOX_PK } } } },
          { PutRequest: { Item: { ...parked, pk: { S: PARKED_PK } } } },
        ];
      }),
    );
    await this.batchWrite(
      [...items.keys()].map((id) => ({ DeleteRequest: { Key: { pk: { S: PENDING_PK }, sk: { S: id } } } })),
    );
  }

  async parkedAlerts(): Promise<PendingAlert[]> {
    const items = await this.queryOutbox({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: PARKED_PK } },
    });
    return items.map(outboxEntryFromItem).map(({ alert, attempts }) => ({ alert, attempts }));
  }

  async parkedAlertCount(): Promise<number> {
    let count = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: PARKED_PK } },
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return count;
  }

  async unparkAlerts(alertIds: readonly string[]): Promise<PendingAlert[]> {
    const items = await this.outboxItems(alertIds, PARKED_PK);
    // Everything not sent: parked, or pending already (an unpark or a park a crash stopped half
    // way, whose PENDING marker may be missing). A crash while parking can also leave a marker
    // beside an alert since published: that one is only dropped.
    const toPend = [...items].filter(([, item]) => item.status?.S !== 'sent');
    const pendingItems = toPend.map(([, item]) => {
      const { parkedAt: _at, parkReason: _reason, ...rest } = item;
      return { ...rest, status: { S: 'pending' }, refusals: n(0) } as Item;
    });
    // The PENDING marker first, then the outbox item, then the PARKED marker goes: a crash at any
    // point leaves the alert pending (a run publishes it) or still parked (this mode again), never
    // neither; BatchWriteItem applies each request on its own, not the batch as one.
    await this.batchWrite(
      pendingItems.map((item) => ({ PutRequest: { Item: { ...item, pk: { S: PENDING_PK } } } })),
    );
    await this.batchWrite(
      pendingItems.map((item) => ({ PutRequest: { Item: { ...item, pk: { S: OUTBOX_PK } } } })),
    );
    await this.batchWrite(
      [...items.keys()].map((id) => ({ DeleteRequest: { Key: { pk: { S: PARKED_PK }, sk: { S: id } } } })),
    );
    return pendingItems.map(outboxEntryFromItem).map(({ alert, attempts }) => ({ alert, attempts }));
  }

  /**
   * The outbox items of the given alerts, as one BatchGetItem reads them: the outbox item, or the
   * `marker` partition's copy when a crash left only the marker.
   */
  private async outboxItems(alertIds: readonly string[], marker: string): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    if (alertIds.length === 0) return found;
    await this.batchGet(
      alertIds.flatMap((id) => [
        { pk: { S: OUTBOX_PK }, sk: { S: id } },
        { pk: { S: marker }, sk: { S: id } },
      ]),
      (items) => {
        for (const item of items) {
          const id = item.sk?.S ?? '';
          if (item.pk?.S === OUTBOX_PK || !found.has(id)) found.set(id, item);
        }
      },
    );
    return found;
  }

  async recordWindowFailure(windowStart: number, reason: string): Promise<number | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          // The count restarts when another window is failing now.
          UpdateExpression:
            'SET failedAttempts = if_not_exists(failedAttempts, :zero) + :one, lastFailure = :reason, failingWindow = :w',
          ConditionExpression:
            '(attribute_not_exists(watermark) OR watermark < :w) AND (attribute_not_exists(failingWindow) OR failingWindow = :w)',
          ExpressionAttributeValues: {
            ':w': n(windowStart),
            ':zero': n(0),
            ':one': n(1),
            ':reason': { S: reason.slice(0, 2_000) },
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Attributes === undefined ? undefined : numberOf(Attributes, 'failedAttempts', 'STATE');
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Another window was failing before: this one starts its own count (unless committed meanwhile).
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          UpdateExpression: 'SET failedAttempts = :one, lastFailure = :reason, failingWindow = :w',
          ConditionExpression: 'attribute_not_exists(watermark) OR watermark < :w',
          ExpressionAttributeValues: {
            ':w': n(windowStart),
            ':one': n(1),
            ':reason': { S: reason.slice(0, 2_000) },
          },
        }),
      );
      return 1;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async skipWindows(skip: WindowSkip): Promise<FoldRollBack | undefined> {
    const now = this.now();
    // The record first: a crash before the watermark moves leaves it for the retry to rewrite.
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: { S: SKIPPED_PK },
          sk: { S: isoTime(skip.first) },
          lastWindow: { S: isoTime(skip.last) },
          windows: n(skip.windows),
          reason: { S: skip.reason.slice(0, 2_000) },
          attempts: n(skip.attempts),
          manual: { BOOL: skip.manual },
          skippedAt: { S: new Date(now).toISOString() },
          expiresAt: n(Math.floor(now / 1000) + SKIPPED_TTL_DAYS * DAY_SECONDS),
        },
      }),
    );
    // A skipped window folds nothing: what an attempt at it wrote before its run stopped goes.
    const { foldingWindow } = await this.readState();
    const rolledBack =
      foldingWindow !== undefined && foldingWindow <= skip.last
        ? await this.rollBackFold(foldingWindow)
        : undefined;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          // The clock stays: a skipped window is missing data, not a quiet one.
          // A table that never committed a window has no baselines of any format: it is marked
          // with today's (skipping never changes a baseline).
          UpdateExpression: `SET watermark = :last, clock = :clock, lastSkipped = :last, updatedAt = :t${skip.watermarkBefore === undefined ? ', sourceKeys = :keys' : ''} REMOVE failingWindow, failedAttempts, lastFailure, foldingWindow`,
          ConditionExpression:
            skip.watermarkBefore === undefined
              ? 'attribute_not_exists(watermark)'
              : 'watermark = :before AND (attribute_not_exists(clock) OR clock = :clock)',
          ExpressionAttributeValues: {
            ':last': n(skip.last),
            ':clock': n(skip.clock),
            ':t': { S: new Date(now).toISOString() },
            ...(skip.watermarkBefore === undefined
              ? { ':keys': { S: SOURCE_KEY_FORMAT } }
              : { ':before': n(skip.watermarkBefore) }),
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new WatermarkConflictError(skip.first, this.tableName);
      throw error;
    }
    return rolledBack;
  }

  async rollBackFold(window: number): Promise<FoldRollBack> {
    const ttlDays = this.options.baselineTtlDays;
    const rolledBack: FoldRollBack = { window, entries: 0, buckets: 0 };
    // The window's start as the entries' JSON writes it: a bucket whose text lacks it holds none
    // of its folds and is not parsed.
    const mark = String(window);
    const keys = Array.from({ length: this.buckets }, (_, bucket) => bucketKey(bucket));
    // A batch of buckets at a time, read, rolled back and written before the next is read: at a
    // million sources the table is hundreds of megabytes.
    for (const batch of chunks(keys, BATCH_GET_LIMIT)) {
      const writes: WriteRequest[] = [];
      await this.batchGet(batch, (items) => {
        for (const item of items) {
          const bucket = bucketOfItem(item);
          const json = item.records?.S;
          if (bucket === undefined || json === undefined || !json.includes(mark)) continue;
          let records: BucketRecords;
          try {
            records = parseRecords(json, bucket);
          } catch (error) {
            // Unreadable, it holds no fold anyone reads: left as it is (the reads report it).
            if (error instanceof CorruptItemError) continue;
            throw error;
          }
          const kept: BucketRecords = {};
          let changed = 0;
          let expiresAt = 0;
          let sources = 0;
          for (const [key, entry] of Object.entries(records)) {
            const where = `${BUCKET_PK_PREFIX}${bucket}/${key}`;
            let before: unknown[] | undefined = entry;
            try {
              before = entryBefore(entry, window, where, ttlDays);
            } catch (error) {
              // An entry that cannot be read stays as it is: the reads treat it as new already.
              if (!(error instanceof CorruptItemError)) throw error;
            }
            if (before !== entry) changed += 1;
            if (before === undefined) continue;
            kept[key] = before;
            sources += 1;
            try {
              expiresAt = Math.max(expiresAt, entryExpiresAt(before, where));
            } catch (error) {
              if (!(error instanceof CorruptItemError)) throw error;
            }
          }
          if (changed === 0) continue;
          rolledBack.entries += changed;
          rolledBack.buckets += 1;
          writes.push(
            sources === 0
              ? { DeleteRequest: { Key: bucketKey(bucket) } }
              : { PutRequest: { Item: bucketItemOf(bucket, JSON.stringify(kept), sources, expiresAt) } },
          );
        }
      });
      await this.batchWrite(writes);
    }
    // Only when the mark is still this window's: a retry finds the entries rolled back already.
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          UpdateExpression: 'REMOVE foldingWindow',
          ConditionExpression: 'foldingWindow = :w',
          ExpressionAttributeValues: { ':w': n(window) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    return rolledBack;
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
    skipDataThrough?: number;
  }): Promise<void> {
    const state = await this.readState();
    if (state.watermark !== undefined && !result.overwrite) throw new BootstrapRefusedError(state.watermark);
    // Every bucket built from the bootstrap's baselines alone, before anything is written (a bucket
    // over the item size limit fails here). Bootstrap entries have no `prev`: no window is retried
    // from before the bootstrap.
    const ttlSeconds = this.options.baselineTtlDays * DAY_SECONDS;
    const writes = this.replacementBucketWrites(result.baselines, (baseline) =>
      encodeEntry(baseline, undefined, Math.floor(baseline.lastWindow / 1000) + ttlSeconds),
    );
    // Baselines learnt over more buckets than this run keeps (baselineBuckets lowered): the items
    // past this run's last bucket would never be read again, so they go too. A state item from
    // before the count was kept was written with BASELINE_BUCKETS.
    const learntBuckets =
      decodeBaselineSettings(state.baselineSettings)?.baselineBuckets ??
      (state.watermark === undefined ? 0 : BASELINE_BUCKETS);
    for (let bucket = this.buckets; bucket < learntBuckets; bucket += 1)
      writes.push({ DeleteRequest: { Key: bucketKey(bucket) } });
    const startedAt = new Date(this.now()).toISOString();
    // 1. The mark: from here until the state is written the table holds old and new baselines.
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: STATE_KEY,
          UpdateExpression: 'SET bootstrapStarted = :t',
          ...(result.overwrite ? {} : { ConditionExpression: 'attribute_not_exists(watermark)' }),
          ExpressionAttributeValues: { ':t': { S: startedAt } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new WatermarkConflictError(result.watermark, this.tableName);
      throw error;
    }
    // 2. The baselines, replacing whatever was there: a source the history does not name has no
    // baseline afterwards (kept, it would count the history's windows on a clock it never saw).
    await this.batchWrite(writes);
    // 3. The state (the whole item: the mark goes with it).
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...STATE_KEY,
            watermark: n(result.watermark),
            clock: n(result.clock),
            lastBootstrapped: n(result.watermark),
            sourceKeys: { S: SOURCE_KEY_FORMAT },
            ...(this.options.baselineSettings === undefined
              ? {}
              : { baselineSettings: { S: this.options.baselineSettings } }),
            ...(result.skipDataThrough === undefined ? {} : { skipDataThrough: n(result.skipDataThrough) }),
            // Any pending alerts of a table from before the markers got theirs at the first run.
            ...(this.pendingMarkersKept === true ? { pendingMarkers: { BOOL: true } } : {}),
            updatedAt: { S: new Date(this.now()).toISOString() },
          },
          ConditionExpression: result.overwrite
            ? 'bootstrapStarted = :t'
            : 'bootstrapStarted = :t AND attribute_not_exists(watermark)',
          ExpressionAttributeValues: { ':t': { S: startedAt } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new WatermarkConflictError(result.watermark, this.tableName);
      throw error;
    }
  }

  /**
   * One write per bucket: a put of the bucket rebuilt from `baselines` alone, or a delete where none
   * of them falls. Throws BaselineBucketTooLargeError before any write when a bucket is too large.
   */
  private replacementBucketWrites(
    baselines: ReadonlyMap<string, Baseline>,
    entry: (baseline: Baseline) => unknown[],
  ): WriteRequest[] {
    const grouped = groupByBucket(baselines.keys(), this.buckets);
    const writes: WriteRequest[] = [];
    let fullest = 0;
    for (let bucket = 0; bucket < this.buckets; bucket += 1) {
      const srcIps = grouped.get(bucket);
      if (srcIps === undefined) {
        writes.push({ DeleteRequest: { Key: bucketKey(bucket) } });
        continue;
      }
      const records: Record<string, unknown[]> = {};
      let expiresAt = 0;
      for (const srcIp of srcIps) {
        const encoded = entry(baselines.get(srcIp)!);
        records[srcIp] = encoded;
        expiresAt = Math.max(expiresAt, entryExpiresAt(encoded, `${BUCKET_PK_PREFIX}${bucket}/${srcIp}`));
      }
      const json = JSON.stringify(records);
      const bytes = bucketItemBytes(bucket, json);
      if (bytes > BASELINE_BUCKET_MAX_BYTES)
        throw new BaselineBucketTooLargeError(bucket, bytes, srcIps.length, this.buckets);
      fullest = Math.max(fullest, bytes);
      writes.push({
        PutRequest: { Item: bucketItemOf(bucket, json, srcIps.length, expiresAt) },
      });
    }
    this.wroteBucketOf(fullest);
    return writes;
  }

  // -------------------------------------------------------------------------------------------

  /**
   * The bucket items that carry `baselines` (each entry made by `entry`), read-modify-write: each
   * from the bucket as getBaselines read it for `windowStart`, or as read now when it was not
   * (or `windowStart` is undefined). Entries past their expiry are dropped. Throws
   * BaselineBucketTooLargeError, before any write, when a bucket would exceed the item limit.
   */
  private async bucketWrites(
    windowStart: number | undefined,
    baselines: ReadonlyMap<string, Baseline>,
    entry: (srcIp: string, baseline: Baseline) => unknown[],
  ): Promise<Iterable<WriteRequest>> {
    const cached = this.readBuckets;
    this.readBuckets = undefined;
    const fromRead = cached !== undefined && windowStart !== undefined && cached.windowStart === windowStart;
    const stored = fromRead ? cached.records : new Map<number, string | undefined>();
    const grouped = groupByBucket(baselines.keys(), this.buckets);
    // Whole when every entry read for this window is rewritten now (the usual case: the engine
    // returns a baseline for every source of the window): nothing of the stored bucket is kept.
    const replacedWhole = (bucket: number): boolean =>
      fromRead &&
      cached.allAsked.has(bucket) &&
      (cached.asked.get(bucket) ?? []).every((srcIp) => baselines.has(srcIp));
    const unread = [...grouped.keys()].filter((bucket) => !stored.has(bucket) && !replacedWhole(bucket));
    if (unread.length > 0) {
      await this.batchGet(mapIterable(unread, bucketKey), (items) => {
        for (const item of items) {
          const bucket = bucketOfItem(item);
          if (bucket !== undefined) stored.set(bucket, item.records?.S);
        }
      });
    }
    const readFor = windowStart ?? this.now();
    // The bucket's entries as they will be written: the stored ones still live (rarely any: see
    // replacedWhole) and this commit's.
    const recordsOf = (bucket: number, srcIps: readonly string[]): BucketRecords => {
      const records = replacedWhole(bucket) ? {} : parseRecords(stored.get(bucket), bucket);
      for (const [srcIp, kept] of Object.entries(records)) {
        // An entry keyed by address alone is from before accounts: never read again, dropped here.
        if (
          !isKeyed(srcIp) ||
          expiredBefore(entryExpiresAt(kept, `${BUCKET_PK_PREFIX}${bucket}/${srcIp}`), readFor)
        )
          delete records[srcIp];
      }
      for (const srcIp of srcIps) {
        const baseline = baselines.get(srcIp);
        if (baseline !== undefined) records[srcIp] = entry(srcIp, baseline);
      }
      return records;
    };
    // Every bucket is built and measured first, so one over the item size limit fails the commit
    // before anything of it is written; the texts are then built again as the batches go out, 25
    // at a time, rather than all held at once (some 40 MB at 100,000 sources with rhythm state,
    // for about a tenth of a second of CPU more).
    let fullest = 0;
    for (const [bucket, srcIps] of grouped) {
      const records = recordsOf(bucket, srcIps);
      const bytes = bucketItemBytes(bucket, JSON.stringify(records));
      if (bytes > BASELINE_BUCKET_MAX_BYTES)
        throw new BaselineBucketTooLargeError(bucket, bytes, Object.keys(records).length, this.buckets);
      fullest = Math.max(fullest, bytes);
    }
    this.wroteBucketOf(fullest);
    return mapIterable(grouped, ([bucket, srcIps]) => {
      const records = recordsOf(bucket, srcIps);
      let expiresAt = 0;
      let sources = 0;
      for (const [srcIp, kept] of Object.entries(records)) {
        expiresAt = Math.max(expiresAt, entryExpiresAt(kept, `${BUCKET_PK_PREFIX}${bucket}/${srcIp}`));
        sources += 1;
      }
      stored.delete(bucket);
      return {
        PutRequest: { Item: bucketItemOf(bucket, JSON.stringify(records), sources, expiresAt) },
      };
    });
  }

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
    await this.batchGetIn(this.batchConcurrency, chunks(keys, BATCH_GET_LIMIT), found);
  }

  /** batchGet over batches of keys made by the caller (each at most 100), `concurrency` in flight. */
  private async batchGetIn(
    concurrency: number,
    batches: Iterable<Item[]>,
    found: (items: Item[]) => void,
  ): Promise<void> {
    await forEachConcurrently(batches, concurrency, async (batch) => {
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

/**
 * BatchGetItem answers with at most 16 MB: buckets of a large window (some 190 KB each at a
 * million sources) are asked for in batches whose buckets should fit, by the sources the window
 * reads from each (an entry with rhythm state takes about 380 bytes), rather than 100 at a time
 * and the rest over again as UnprocessedKeys. Entries of other sources can still make a batch
 * overflow; those keys are then asked for again (batchGet's loop).
 */
export function* bucketBatches(
  buckets: Int32Array,
  starts: Int32Array,
): Generator<Item[] & { estimatedBytes: number }> {
  let batch: Item[] = [];
  let bytes = 0;
  for (let at = 0; at < buckets.length; at += 1) {
    const estimate = (starts[at + 1]! - starts[at]!) * ENTRY_BYTES_ESTIMATE;
    if (batch.length === BATCH_GET_LIMIT || (batch.length > 0 && bytes + estimate > BATCH_GET_BYTES)) {
      yield Object.assign(batch, { estimatedBytes: bytes });
      batch = [];
      bytes = 0;
    }
    batch.push(bucketKey(buckets[at]!));
    bytes += estimate;
  }
  if (batch.length > 0) yield Object.assign(batch, { estimatedBytes: bytes });
}

/**
 * How many bucket batches to have in flight: as many as fit in BUCKET_READ_BYTES_IN_FLIGHT by
 * the largest one's estimate, at least one, at most `limit`. Each answer in flight is held some
 * three or four times over while it arrives and is parsed (its body, its text, the parsed item,
 * each bucket's records): at a million sources, 8 answers of 14 MB were 200-300 MB of the heap
 * at once. Parsing them is CPU-bound, so more in flight would not make the read faster; a small
 * window's batches (a few MB) still go `limit` at a time, for their round trips.
 */
export function bucketReadConcurrency(batches: readonly { estimatedBytes: number }[], limit: number): number {
  const largest = Math.max(0, ...batches.map((batch) => batch.estimatedBytes));
  return Math.max(1, Math.min(limit, Math.floor(BUCKET_READ_BYTES_IN_FLIGHT / Math.max(1, largest))));
}
/** An entry with rhythm state, its key and prev included (baseline-buckets.ts). */
const ENTRY_BYTES_ESTIMATE = 400;
/** BatchGetItem's 16 MB, less headroom for the other sources' entries. */
const BATCH_GET_BYTES = 14 * 1024 * 1024;
/** Estimated bytes of bucket answers in flight at once: two full batches (bucketReadConcurrency). */
const BUCKET_READ_BYTES_IN_FLIGHT = 2 * BATCH_GET_BYTES;

/**
 * A bucket item: its `records` JSON, how many sources it holds, and DynamoDB's TTL, its latest
 * entry's expiry plus the grace late windows need (BUCKET_DELETION_GRACE_SECONDS).
 */
function bucketItemOf(bucket: number, records: string, sources: number, latestExpiry: number): Item {
  return {
    ...bucketKey(bucket),
    records: { S: records },
    sources: n(sources),
    expiresAt: n(latestExpiry + BUCKET_DELETION_GRACE_SECONDS),
  };
}

/** One member of a bucket's `records` object: `"<key>":<entry>`. */
function member(key: string, entry: unknown): string {
  return `${JSON.stringify(key)}:${JSON.stringify(entry)}`;
}

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

/** A source key (`account|address`), not a bare address (the key before accounts): cheap, per entry. */
const isKeyed = (key: string): boolean => key.includes('|');

function numberOf(item: Item, name: string, key: string): number {
  const text = item[name]?.N;
  const value = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new CorruptItemError(key, `attribute ${name} is not a number`);
  return value;
}

function optionalNumber(item: Item, name: string, key: string): number | undefined {
  return item[name]?.N === undefined ? undefined : numberOf(item, name, key);
}

function outboxEntryFromItem(item: Item): OutboxEntry {
  const key = `OUTBOX/${item.sk?.S ?? '?'}`;
  const json = item.alert?.S;
  if (json === undefined) throw new CorruptItemError(key, 'no alert attribute');
  const status = item.status?.S;
  if (!OUTBOX_STATUSES.includes(status as OutboxStatus))
    throw new CorruptItemError(key, `status ${String(status)}`);
  const windowAlertCount = optionalNumber(item, 'windowAlertCount', key);
  return {
    alert: JSON.parse(json) as Alert,
    status: status as OutboxStatus,
    attempts: optionalNumber(item, 'attempts', key) ?? 0,
    ...(windowAlertCount === undefined ? {} : { windowAlertCount }),
  };
}
