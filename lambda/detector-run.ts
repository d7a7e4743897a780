/**
 * One Lambda invocation of the detector, with every dependency passed in (source, store,
 * publisher, clock, deadline, logger, metrics) so tests run it exactly as the handler does.
 *
 * Scheduled / `detect`:  lease -> publish pending outbox alerts of earlier runs -> for each due
 *   window (oldest first, catch-up bounded): count -> outbox check -> baselines -> decide ->
 *   details (only when something alerted) -> commit (outbox, baselines, watermark) -> publish ->
 *   mark sent.
 * `dry-run`:  the same decisions for the given (or due) windows; writes and publishes nothing.
 * `bootstrap`: history over `days` -> baselines + watermark (refused on a running detector
 *   unless `overwrite`).
 * `skip`: moves the watermark over a named range of windows without counting them (a gap).
 * A window that fails in `maxWindowAttempts` runs is skipped the same way, so later windows are
 * not held back for ever.
 * `test-alert`: one clearly marked sample alert.
 * `republish-parked`: the alerts parked after SNS refused them `maxAlertRefusals` times,
 *   made pending again and published.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  alertSourceKeys,
  keyOfSource,
  BaselineTable,
  bootstrapBaselines,
  dueWindows,
  cooldownRuns,
  evaluateWindow,
  isMatureSource,
  WindowDecider,
  withAlertState,
  type WindowOutcome,
  isoTime,
  latestClosedWindow,
  SOURCE_KEY_FORMAT,
  windowAt,
  windowMs,
  windowsBetween,
  type Alert,
  type AlertDetails,
  type Baseline,
  type DetectorConfig,
  type HistoryWindow,
  type Window,
} from './core';
import { fitAlert, fitAlertList, sampleTestAlert, type StoredAlert } from './adapters/alert-format';
import { AlertPublishError, isRefusal } from './adapters/sns-alert-publisher';
import { baselineExpiresAt, DEFAULT_BASELINE_TTL_DAYS, expiredBefore } from './baseline-expiry';
import {
  BaselineSettingsChangedError,
  baselineSettingsChange,
  decodeBaselineSettings,
  type BaselineSettings,
} from './baseline-settings';
import {
  BootstrapRefusedError,
  BootstrapUnfinishedError,
  WatermarkConflictError,
  type DetectorStore,
  type FoldRollBack,
  type OutboxEntry,
  type WindowBaselines,
} from './adapters/dynamo-baseline-store';
import type {
  AlertPublisher,
  ChangeExplainer,
  DetectorState,
  FlowCountSource,
  PendingAlert,
  SourceDetails,
  QueryStatistics,
  WindowCounts,
} from './adapters/ports';
import { QueryThrottledError, QueryTimeoutError } from './adapters/errors';
import { parseInvocation, type Invocation } from './manual-payload';

export interface RunLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
  appendKeys(keys: Record<string, unknown>): void;
  removeKeys(keys: string[]): void;
}

export interface RunMetrics {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): void;
}

export interface DetailsEnricher {
  /** No lookup starts at or after `deadline` (epoch ms, the run's clock). */
  enrich(details: ReadonlyMap<string, AlertDetails>, deadline?: number): Promise<Map<string, AlertDetails>>;
}

export interface DetectorDeps {
  config: DetectorConfig;
  source: FlowCountSource;
  store: DetectorStore;
  publisher: AlertPublisher;
  enricher?: DetailsEnricher;
  /** Change-aware alerts: the likely egress-policy change of each spike (absent: not looked up). */
  explainer?: ChangeExplainer;
  logger: RunLogger;
  metrics: RunMetrics;
  /** The clock (epoch ms). The deadline is on the same clock. */
  now: () => number;
  /** Epoch ms by which the invocation must be done (Lambda: now + getRemainingTimeInMillis()). */
  deadline: number;
  /** Identifies this run (the Lambda request id): lease holder and log key. */
  runId: string;
  /** Waits between publishes (pacing); tests inject a fake. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Days a baseline is kept after its last window (BASELINE_TTL_DAYS): what the store forgets by,
   * and a dry run forgets the baselines it folds itself by. @default DEFAULT_BASELINE_TTL_DAYS
   */
  baselineTtlDays?: number;
  /**
   * What the baselines this deployment learns mean (lambda/baseline-settings.ts): a run refuses
   * baselines the state says were learnt under others. Absent: not checked.
   */
  baselineSettings?: BaselineSettings;
}

export interface DryRunAlert extends Alert {
  /** Would this alert have been published (false: the outbox already had the window decided). */
  wouldPublish: boolean;
}

export interface RunSummary {
  mode: Invocation['mode'];
  /** Windows evaluated (ISO start times), oldest first. */
  windows: string[];
  sourcesEvaluated: number;
  spikes: number;
  alertsDecided: number;
  alertsPublished: number;
  /** Alerts of earlier runs found pending in the outbox and published now. */
  pendingRepublished: number;
  /**
   * Alerts decided (now or before) but not published because the run's deadline came first:
   * they stay pending and the next run publishes them first. Absent when none.
   */
  alertsDeferred?: number;
  /**
   * Alerts SNS refused in `maxAlertRefusals` runs, parked by this run: kept, no longer tried
   * (mode `republish-parked` sends them). Absent when none.
   */
  alertsParked?: number;
  /**
   * Alerts parked and not yet republished, counted by every scheduled, detect and
   * republish-parked run (the AlertsParked metric and its alarm). Absent in the other modes.
   */
  parkedAlertsWaiting?: number;
  /**
   * The check that the records have the configured flow log format, when one ran (after the
   * detector's first window, a bootstrap and the first window after it, and the first window of
   * each UTC day): the slice read, its records,
   * those not in the format, and its bytes (billed, in the BytesScanned metric, not in
   * `bytesScanned`, which with `queries` counts the windows' own queries).
   */
  formatCheck?: {
    from: string;
    to: string;
    recordsScanned: number;
    notInFormat: number;
    bytesScanned: number;
  };
  bytesScanned: number;
  recordsMatched: number;
  queries: number;
  incompleteWindows: number;
  /**
   * Due windows left for the next run (catch-up bound or deadline); in a dry run, also the windows
   * of its range it had no time for.
   */
  deferredWindows: number;
  /**
   * Windows moved over without being counted (ISO starts): a window that failed in
   * `maxWindowAttempts` runs, or the range of a `skip` invocation. A gap, never zeros.
   */
  skippedWindows: string[];
  dryRunAlerts?: DryRunAlert[];
  /**
   * The dry run decided more alerts than fit Lambda's 6 MB response: `dryRunAlerts` holds the
   * first `shown` (oldest windows first, each cut as the outbox cuts it) of `total`.
   */
  dryRunAlertsCut?: { shown: number; total: number };
  /** Another run holds the lease: this invocation did nothing. */
  leaseHeld?: boolean;
  /**
   * The detector had no watermark (never bootstrapped, never run): its first window only learnt
   * baselines and alerted nothing, as every busy source would otherwise be a `new-source`.
   */
  firstWindowLearnOnly?: boolean;
  /**
   * Dry run with nothing due: the latest committed window was skipped (never counted), so there
   * is nothing to re-evaluate; its ISO start.
   */
  latestWindowSkipped?: string;
  /**
   * Dry run with nothing due: the latest committed window is the last of a bootstrap's history,
   * which learnt it and decided nothing, so there is nothing to re-evaluate; its ISO start.
   */
  latestWindowBootstrapped?: string;
  /**
   * Dry run with nothing due: the latest committed window only learnt baselines (a new detector's
   * first window, or the first after the address-keyed upgrade) and decided nothing, so there is
   * nothing to re-evaluate; its ISO start.
   */
  latestWindowLearnOnly?: string;
  /**
   * A commit stopped part-way through its baseline writes (a crash, a timeout) left some sources
   * with the fold of a window that will never be committed: skipped, or passed over by a detector
   * without state. The run put those entries back as they were before it: the window and how
   * many entries.
   */
  foldRolledBack?: { window: string; entries: number };
  /**
   * The table's baselines were keyed by address alone (a build from before sources were keyed by
   * account): they are not used, and the run's first window learnt baselines by account and
   * address and alerted nothing, as a fresh detector's does. A bootstrap with `overwrite`
   * relearns from history instead.
   */
  addressOnlyBaselinesReplaced?: true;
  bootstrap?: {
    days: number;
    /**
     * Set when the run's time ran out before the oldest days were queried (newest first): the
     * history learnt starts here, not `days` before the watermark.
     */
    heldFrom?: string;
    /**
     * History queries read again from an earlier bootstrap's finished queries (their results are
     * kept 7 days) instead of scanning their days again: absent when none were.
     */
    reusedQueries?: number;
    windows: number;
    sources: number;
    watermark: string;
    /**
     * Stretches of history whose query still failed after its retries: learnt as gaps (no counts,
     * the clock does not advance over them), never as zeros. Absent when there were none.
     */
    gaps?: { from: string; to: string; windows: number; error: string }[];
  };
  /**
   * The longest a counted record took to reach CloudWatch Logs after its start
   * (`@ingestionTime - @timestamp`: aggregation plus delivery), in seconds; absent when no record
   * was counted.
   */
  maxDeliveryDelaySeconds?: number;
  /**
   * Change-aware alerts: of the spike and mass-spike alerts decided, how many name a likely cause,
   * how many found none, and how many could not be looked up (throttled, failed, no access).
   * Absent when change causes are off.
   */
  changeCauses?: { found: number; none: number; unavailable: number };
  /**
   * Some records arrived later than `lagMinutes` after their start: records like them near the end
   * of a window arrive after the window was counted and are never counted. Raise `lagMinutes`.
   */
  deliveryLaterThanLag?: true;
  /**
   * Baseline entries that could not be decoded (written by another build, or damaged), each read
   * of one counted: left out, so each such source was treated as new and relearns, and its entry
   * is replaced when its window commits. Absent when none.
   */
  unreadableBaselineEntries?: number;
  /**
   * The fullest baseline bucket this run wrote, as a share of the size a bucket may grow to (at
   * most this share): past BUCKET_FILL_WARNING the run warns, and past the limit a commit fails
   * (BaselineBucketTooLargeError). Raise the deployment setting baselineBuckets before it does.
   * Absent when the run wrote no bucket.
   */
  fullestBaselineBucket?: number;
}

/**
 * A bucket this full warns in the run log: the estate is within some 20% of what baselineBuckets
 * holds, and a commit that overflows a bucket fails until the count is raised and the baselines
 * relearnt (the stack's BaselineBucketsFilling alarm fires at 90%).
 */
export const BUCKET_FILL_WARNING = 0.8;

export class AlertsNotPublishedError extends Error {
  constructor(
    readonly alertIds: string[],
    readonly causes: string[],
  ) {
    super(
      `${alertIds.length} alert(s) stay pending in the outbox and will be retried: ${alertIds.join(', ')} (${causes.join('; ')})`,
    );
    this.name = 'AlertsNotPublishedError';
  }
}

/** Too much of the bootstrap's history failed to be read: nothing was written. */
export class BootstrapHistoryError extends Error {
  constructor(
    readonly gapWindows: number,
    readonly windows: number,
    readonly firstError: Error,
  ) {
    super(
      `bootstrap: the history queries of ${gapWindows} of ${windows} windows failed even after retries, more than ` +
        `half; nothing was written (first failure: ${firstError.message})`,
    );
    this.name = 'BootstrapHistoryError';
  }
}

/** A bootstrap whose run's time ran out before any slice of its history was counted: nothing written. */
export class BootstrapOutOfTimeError extends Error {
  constructor(
    readonly days: number,
    /** What stopped the history (HistoryResult.stoppedBy), when a query did. */
    readonly stoppedBy: Error | undefined,
  ) {
    super(
      `bootstrap: the run's time ran out before any day of the ${days} asked for was counted; nothing was ` +
        `written. ` +
        (stoppedBy instanceof QueryThrottledError
          ? `The queries were throttled until no retry fitted: the account's concurrent query quota is held by other queries; try again when they are done (${stoppedBy.message})`
          : `Give the function its full 900 s timeout, or check the size of what a day's query scans` +
            (stoppedBy === undefined ? '' : ` (${stoppedBy.message})`)),
    );
    this.name = 'BootstrapOutOfTimeError';
  }
}

/**
 * A manual run that changes state (skip, bootstrap, republish-parked) found the detector's lease
 * held: it did nothing, and says so as an error, so that a script does not take it for done. With
 * the function's reserved concurrency of 1 an overlapping invocation is throttled by Lambda
 * before it runs, so the holder is a run that died before releasing the lease (killed at its
 * timeout, out of memory), until the lease expires a minute after that run's deadline. (A
 * scheduled or `detect` run that finds it held returns `leaseHeld: true`: the next scheduled run
 * does its work.)
 */
export class LeaseHeldError extends Error {
  constructor(readonly mode: string) {
    super(
      `${mode}: the detector's lease is held (by a run that stopped before releasing it, or one still running); ` +
        "nothing was done. Invoke it again in a few minutes: a lease expires a minute after its run's deadline",
    );
    this.name = 'LeaseHeldError';
  }
}

/** A `skip` invocation that would leave a hole or skip a window not yet closed: nothing changed. */
export class SkipRefusedError extends Error {
  constructor(message: string) {
    super(`skip refused: ${message}`);
    this.name = 'SkipRefusedError';
  }
}

export class DryRunWindowError extends Error {
  /**
   * `reason` 'open': the window has not closed (`boundary` is the latest closed window);
   * 'committed': the window is at or before the watermark (`boundary`), whose baselines have
   * already moved past it.
   */
  constructor(
    readonly windowStart: string,
    readonly boundary: string,
    readonly reason: 'open' | 'committed' = 'open',
  ) {
    super(
      reason === 'open'
        ? `dry-run window ${windowStart} has not closed yet (the latest closed window starts ${boundary})`
        : `dry-run window ${windowStart} is already committed (watermark ${boundary}); dry-run evaluates windows after the watermark`,
    );
    this.name = 'DryRunWindowError';
  }
}

/** Time kept back from the deadline for committing and publishing after the last query. */
const COMMIT_RESERVE_MS = 15_000;
/**
 * After the first window, another is started only with at least this much time left, and with
 * time for the run's longest window so far and a tenth besides the commit reserve (windowFits);
 * the rest wait for the next run. The first always runs, so a run makes progress
 * or fails visibly.
 */
const MIN_WINDOW_TIME_MS = 45_000;
const FORMAT_CHECK_DAY_MS = 86_400_000;
/** A format check (a 10-minute slice of a window) is not started with less time than this left. */
const FORMAT_CHECK_MIN_TIME_MS = 20_000;
/** The lease outlives the invocation's deadline by this much (clock skew, slow release). */
const LEASE_MARGIN_MS = 60_000;
/** AWS Chatbot takes about 10 events a second and silently drops the rest: publishes are paced to this. */
const PUBLISHES_PER_SECOND = 10;
/** A dry run's alerts at most (JSON bytes): Lambda answers a synchronous invocation with 6 MB at most. */
const MAX_DRY_RUN_ALERT_BYTES = 5_000_000;

/**
 * Spaces publishes so that no second (any second, not only whole ones from a burst's start)
 * holds more than PUBLISHES_PER_SECOND accepted by SNS: a publish starts only once a second has
 * passed since the one PUBLISHES_PER_SECOND before it ended (SNS accepted that one between its
 * start and its end, and accepts this one after its start). (A burst pacer let slow publishes at a burst's end and fast
 * ones at the next burst's start, nearly twice the rate, into one second.)
 */
export class PublishPacer {
  /**
   * When the last PUBLISHES_PER_SECOND publishes ended (SNS took each at some time before its
   * call returned, after an SDK retry perhaps long after it started), oldest first.
   */
  private readonly recent: number[] = [];

  constructor(
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async beforePublish(): Promise<void> {
    if (this.recent.length === PUBLISHES_PER_SECOND) {
      const wait = this.recent.shift()! + 1_000 - this.now();
      if (wait > 0) await this.sleep(wait);
    }
    this.recent.push(this.now());
  }

  /**
   * The publish just made has ended: it counts from now. A publish the SDK retried was accepted
   * when it ended, not when it started, and the next ones are spaced from that.
   */
  afterPublish(): void {
    if (this.recent.length > 0) this.recent[this.recent.length - 1] = this.now();
  }
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Whether a further window fits in the time left: its queries must end COMMIT_RESERVE_MS before
 * the deadline, and a window takes about what the run's windows took so far (a tenth more: the
 * next may be busier). A fixed threshold alone would start a window with 30 s for queries that
 * take minutes on large groups. The margin is small on purpose: a window that still overruns is
 * deferred without a failed attempt (deadlineReached), only its scan lost, while a larger margin
 * would leave windows that fit for the next run, and a backlog of slow windows would never drain.
 */
function windowFits(deps: DetectorDeps, longestWindowMs: number): boolean {
  const needed = Math.max(MIN_WINDOW_TIME_MS, COMMIT_RESERVE_MS + 1.1 * longestWindowMs);
  return deps.deadline - deps.now() >= needed;
}

/**
 * A query of a window after the first stopped at the run's deadline, or throttled until no retry
 * fits before it (the flow sources give up on throttling only at the deadline): the window did not
 * fail, the run ran out of time for it. Nothing of it was written (queries end before the commit).
 */
function deadlineReached(error: unknown, index: number): boolean {
  return index > 0 && (error instanceof QueryTimeoutError || error instanceof QueryThrottledError);
}

function emptySummary(mode: Invocation['mode']): RunSummary {
  return {
    mode,
    windows: [],
    sourcesEvaluated: 0,
    spikes: 0,
    alertsDecided: 0,
    alertsPublished: 0,
    pendingRepublished: 0,
    bytesScanned: 0,
    recordsMatched: 0,
    queries: 0,
    incompleteWindows: 0,
    deferredWindows: 0,
    skippedWindows: [],
  };
}

function addStats(summary: RunSummary, stats: QueryStatistics): void {
  summary.bytesScanned += stats.bytesScanned;
  summary.recordsMatched += stats.recordsMatched;
  summary.queries += stats.queries;
}

/**
 * Runs one invocation. Throws InvalidPayloadError (before touching any state) on a bad manual
 * payload, the adapters' named errors on query or store failures (the window is then not
 * committed), AlertsNotPublishedError when publishing failed (the alerts stay pending).
 */
export async function runDetector(deps: DetectorDeps, event: unknown): Promise<RunSummary> {
  const invocation = parseInvocation(event, deps.config);
  deps.logger.appendKeys({ run: deps.runId, mode: invocation.mode });
  const summary = emptySummary(invocation.mode);
  let succeeded = false;
  try {
    switch (invocation.mode) {
      case 'test-alert':
        await runTestAlert(deps, summary);
        break;
      case 'republish-parked':
        await withLease(deps, summary, () => runRepublishParked(deps, summary));
        break;
      case 'dry-run':
        await runDryRun(deps, summary, invocation.windowStart, invocation.windowEnd);
        break;
      case 'bootstrap':
        await withLease(deps, summary, () =>
          runBootstrap(deps, summary, invocation.days, invocation.overwrite),
        );
        break;
      case 'detect':
      case 'scheduled':
        await withLease(deps, summary, () => runDetect(deps, summary));
        break;
      case 'skip':
        await withLease(deps, summary, () =>
          runSkip(deps, summary, invocation.windowStart, invocation.windowEnd),
        );
        break;
    }
    succeeded = summary.leaseHeld !== true;
    return summary;
  } finally {
    emitMetrics(deps, summary, succeeded);
    deps.logger.info(succeeded ? 'run finished' : 'run did not finish', {
      summary: { ...summary, dryRunAlerts: undefined },
    });
    deps.logger.removeKeys(['run', 'mode', 'window']);
  }
}

/**
 * The metrics of a run, by mode. The schedule's (scheduled, detect) describe its windows and
 * carry the RunSucceeded heartbeat the MissedRuns alarm reads. A manual mode emits what is true of
 * it alone: a dry run re-evaluates windows the schedule counts (or will), a test alert is not an
 * alert, a bootstrap's history is not a window, so none of them emits the per-window figures or
 * the heartbeat (one test alert a window would otherwise keep MissedRuns quiet while every
 * scheduled run fails). Every mode emits the bytes it scanned (billed whatever the mode) and the
 * format check's finding when one ran; republish-parked the alerts it sent and those still
 * parked (the ParkedAlerts alarm clears on it); skip the windows it moved over (each one unwatched).
 */
function emitMetrics(deps: DetectorDeps, summary: RunSummary, succeeded: boolean): void {
  const m = deps.metrics;
  // How full the fullest bucket written is, for the alarm that asks for more buckets in time.
  const fill = deps.store.takeFullestBucketShare();
  if (fill !== undefined) {
    summary.fullestBaselineBucket = Math.round(fill * 1000) / 1000;
    m.addMetric('BaselineBucketFill', MetricUnit.Percent, Math.round(fill * 1000) / 10);
    if (fill >= BUCKET_FILL_WARNING)
      deps.logger.warn(
        'a baseline bucket is filling up: raise the deployment setting baselineBuckets (then relearn the baselines with a bootstrap with overwrite) before one overflows and commits fail',
        { fullestBaselineBucket: summary.fullestBaselineBucket },
      );
  }
  // A run that found the lease held looked at nothing: its zeros would read as "no window
  // behind" and reset FallingBehind (which alarms on the minimum) while the holder is behind.
  const schedule = doesScheduledWork(summary.mode) && summary.leaseHeld !== true;
  m.addMetric(
    'BytesScanned',
    MetricUnit.Bytes,
    summary.bytesScanned + (summary.formatCheck?.bytesScanned ?? 0),
  );
  // Only when a check ran: no datapoint is not "every record in format".
  if (summary.formatCheck !== undefined)
    m.addMetric('RecordsNotInFormat', MetricUnit.Count, summary.formatCheck.notInFormat);
  if (schedule || summary.mode === 'republish-parked')
    m.addMetric('AlertsPublished', MetricUnit.Count, summary.alertsPublished);
  // Alerts parked and waiting: the ParkedAlerts alarm is in alarm until republish-parked sends them.
  if (summary.parkedAlertsWaiting !== undefined)
    m.addMetric('AlertsParked', MetricUnit.Count, summary.parkedAlertsWaiting);
  // The operations alarm fires on any: each is a window of blocked egress nobody looked at.
  if (schedule || summary.mode === 'skip')
    m.addMetric('WindowsSkipped', MetricUnit.Count, summary.skippedWindows.length);
  if (schedule) {
    // Only when measured: no datapoint (a run that counted no record) is not a delay of zero.
    if (summary.maxDeliveryDelaySeconds !== undefined)
      m.addMetric('MaxDeliveryDelay', MetricUnit.Seconds, summary.maxDeliveryDelaySeconds);
    m.addMetric('SourcesEvaluated', MetricUnit.Count, summary.sourcesEvaluated);
    m.addMetric('Spikes', MetricUnit.Count, summary.spikes);
    m.addMetric('RecordsMatched', MetricUnit.Count, summary.recordsMatched);
    m.addMetric('WindowsCaughtUp', MetricUnit.Count, Math.max(0, summary.windows.length - 1));
    m.addMetric('WindowsBehind', MetricUnit.Count, summary.deferredWindows);
    m.addMetric('IncompleteWindows', MetricUnit.Count, summary.incompleteWindows);
    // Sources whose stored baseline could not be decoded and were relearnt (the run log names them).
    if (summary.unreadableBaselineEntries !== undefined)
      m.addMetric('UnreadableBaselineEntries', MetricUnit.Count, summary.unreadableBaselineEntries);
    // Alerts that went out without a cause because the lookup was throttled, failed or had no access.
    if (summary.changeCauses !== undefined)
      m.addMetric('ChangeCausesUnavailable', MetricUnit.Count, summary.changeCauses.unavailable);
    // The heartbeat the stack alarms on when it goes missing: only a run that did its work emits it.
    if (succeeded) m.addMetric('RunSucceeded', MetricUnit.Count, 1);
  }
  m.publishStoredMetrics();
}

/** The schedule's own work: a scheduled run, or `detect` (the same, invoked by hand). */
function doesScheduledWork(mode: Invocation['mode']): boolean {
  return mode === 'scheduled' || mode === 'detect';
}

async function withLease(deps: DetectorDeps, summary: RunSummary, work: () => Promise<void>): Promise<void> {
  if (!(await deps.store.acquireLease(deps.runId, deps.deadline + LEASE_MARGIN_MS))) {
    summary.leaseHeld = true;
    if (!doesScheduledWork(summary.mode)) throw new LeaseHeldError(summary.mode);
    deps.logger.warn(
      "the detector's lease is held; this invocation does nothing (the holder, or the next scheduled run, does the work)",
    );
    return;
  }
  try {
    await work();
  } finally {
    try {
      await deps.store.releaseLease(deps.runId);
    } catch (error) {
      // Not worth masking the run's own outcome: an unreleased lease expires by itself.
      deps.logger.error('lease not released; it expires at the end of this invocation', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// detect

async function runDetect(deps: DetectorDeps, summary: RunSummary): Promise<void> {
  const failures: { alertId: string; cause: string }[] = [];
  // One pace for the whole run: pending republishes and every window's alerts share the channel.
  const pacer = new PublishPacer(deps.now, deps.sleep ?? realSleep);

  // Read first: it also tells the store whether the table keeps pending markers yet.
  const state = await deps.store.readState();
  // Alerts decided by earlier runs that crashed or failed before publishing.
  const pending = await deps.store.pendingAlerts();
  if (pending.length > 0) {
    deps.logger.warn('publishing alerts left pending by an earlier run', {
      alertIds: pending.map((p) => p.alert.alertId),
    });
    // Not at the windows' expense: a large backlog (failing, or just many) leaves the first due
    // window the time a window needs, or it would start with none, fail, and after
    // maxWindowAttempts be skipped unwatched. What is not reached stays pending for the next run.
    // (No window runs while a bootstrap is unfinished: the run refuses right after this.)
    const windowsDue = state.bootstrapStarted === undefined && anyWindowDue(deps, state.watermark);
    const published = await publishAll(
      deps,
      pending,
      failures,
      pacer,
      summary,
      windowsDue ? deps.deadline - MIN_WINDOW_TIME_MS : deps.deadline,
    );
    summary.pendingRepublished += published;
    summary.alertsPublished += published;
  }
  // Every run: the ParkedAlerts alarm follows the number waiting, whatever happened to the run
  // that parked them (one small COUNT query of the PARKED markers).
  summary.parkedAlertsWaiting = await deps.store.parkedAlertCount();

  if (state.bootstrapStarted !== undefined) throw new BootstrapUnfinishedError(state.bootstrapStarted);
  refuseChangedSettings(deps, state);
  const addressOnly = hasAddressOnlyBaselines(state);
  const due = dueWindows(deps.now(), state.watermark, deps.config);
  summary.deferredWindows = due.deferred;
  // A window whose commit stopped part-way and that the run does not retry (a detector without
  // state tries the latest window, not the one that failed) is never folded: undo what it wrote.
  const firstDue = due.windows[0]?.start;
  if (state.foldingWindow !== undefined && firstDue !== undefined && firstDue !== state.foldingWindow)
    noteRollBack(deps, summary, await deps.store.rollBackFold(state.foldingWindow));
  let carried: CarriedState = {
    clock: state.clock,
    skipDataThrough: state.skipDataThrough,
    splitPlan: state.countSplitPlan,
  };
  let watermark = state.watermark;
  let formatCheckWindow: Window | undefined;
  let longestWindowMs = 0;
  for (const [index, window] of due.windows.entries()) {
    if (index > 0 && !windowFits(deps, longestWindowMs)) {
      summary.deferredWindows += due.windows.length - index;
      deps.logger.warn('deadline near: leaving windows for the next run', {
        deferred: due.windows.length - index,
        longestWindowMs,
      });
      break;
    }
    deps.logger.appendKeys({ window: isoTime(window.start) });
    // A fresh deploy would otherwise flood email and Slack with every busy source as `new-source`;
    // so would the first run after an upgrade from address-keyed baselines (no key matches them).
    const learnOnly = index === 0 && (state.watermark === undefined || addressOnly);
    if (learnOnly) {
      summary.firstWindowLearnOnly = true;
      if (addressOnly) {
        summary.addressOnlyBaselinesReplaced = true;
        deps.logger.warn(ADDRESS_ONLY_WARNING);
      } else {
        deps.logger.warn(
          'first window of a detector without state: learning baselines only, no alerts (run bootstrap first to alert from the start)',
        );
      }
    }
    const tallies = windowTallies(summary);
    const started = deps.now();
    try {
      carried = await detectWindow(deps, summary, window, carried, failures, pacer, learnOnly);
      longestWindowMs = Math.max(longestWindowMs, deps.now() - started);
      // A first window: of a new detector, or the first the schedule decides after a bootstrap.
      const first =
        index === 0 && (state.watermark === undefined || state.watermark === state.lastBootstrapped);
      if (formatCheckDue(window, first, deps.config)) formatCheckWindow = window;
    } catch (error) {
      if (deadlineReached(error, index)) {
        // Not a failed attempt: the next run starts with this window, with all its time.
        Object.assign(summary, tallies);
        summary.deferredWindows += due.windows.length - index;
        deps.logger.warn(
          'deadline reached during a window: it and the windows after it are left for the next run',
          {
            deferred: due.windows.length - index,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          },
        );
        break;
      }
      if (!(await skipIfFailingForGood(deps, summary, window, watermark, carried.clock, error))) throw error;
      // Skipped, the window was not evaluated, whatever its attempt counted before it failed (what
      // its queries scanned was paid, and stays).
      Object.assign(summary, tallies);
    }
    watermark = window.start;
  }
  deps.logger.removeKeys(['window']);
  if (formatCheckWindow !== undefined) await checkFlowLogFormat(deps, summary, formatCheckWindow);
  if (failures.length > 0) {
    throw new AlertsNotPublishedError(
      failures.map((f) => f.alertId),
      [...new Set(failures.map((f) => f.cause))],
    );
  }
}

/**
 * Whether the flow log format is checked after this window: the detector's first window, or the
 * first after a bootstrap (which checks too: a new deploy hears at once), and the first window of
 * each UTC day. By window time, not by run or container (Lambda recycles containers every few
 * hours): once a day, about 0.7% of a day's scan, whatever the runs.
 */
function formatCheckDue(window: Window, firstEver: boolean, config: DetectorConfig): boolean {
  return firstEver || window.start % FORMAT_CHECK_DAY_MS < windowMs(config);
}

/**
 * Asks the source whether the records have the configured flow log format. Records in another
 * format never count, so a log group whose flow log writes one reads as quiet: said here, with
 * the RecordsNotInFormat metric and alarm. A check that fails or finds no time is skipped (the
 * next day's tries again).
 */
async function checkFlowLogFormat(deps: DetectorDeps, summary: RunSummary, window: Window): Promise<void> {
  if (deps.source.checkFormat === undefined || deps.deadline - deps.now() < FORMAT_CHECK_MIN_TIME_MS) return;
  const stats: QueryStatistics = { queries: 0, bytesScanned: 0, recordsScanned: 0, recordsMatched: 0 };
  try {
    const check = await deps.source.checkFormat(window, deps.deadline, stats);
    if (check === undefined) return;
    summary.formatCheck = {
      from: isoTime(check.from),
      to: isoTime(check.to),
      recordsScanned: check.recordsScanned,
      notInFormat: check.notInFormat,
      bytesScanned: stats.bytesScanned,
    };
    if (check.notInFormat > 0)
      deps.logger.error(
        `${check.notInFormat} of ${check.recordsScanned} flow log records read from ${isoTime(check.from)} to ${isoTime(check.to)} do not have the configured format (flowLogFormat): they are never counted, and their sources look quiet. Set flowLogFormat to the flow logs' format: every log group the detector reads must have it`,
        { formatCheck: summary.formatCheck },
      );
  } catch (error) {
    deps.logger.warn("flow log format check failed; the next day's first window tries again", {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

/**
 * Baselines learnt under another preset, window length, rhythm calendar or source key shape mean
 * something else
 * (lambda/baseline-settings.ts): detecting on them would alert on every busy source, or on none.
 */
function refuseChangedSettings(deps: DetectorDeps, state: DetectorState): void {
  const current = deps.baselineSettings;
  if (state.watermark === undefined || current === undefined || hasAddressOnlyBaselines(state)) return;
  // State from before the settings were kept says nothing of them but that its baselines are in
  // the 2,048 buckets every detector then used: another count is refused there too.
  const { baselineBuckets: _unknownForOldState, ...known } = current;
  const learnt = decodeBaselineSettings(state.baselineSettings) ?? known;
  const change = baselineSettingsChange(learnt, current);
  if (change !== undefined) throw new BaselineSettingsChangedError(change);
}

/** The summary's counts of evaluated windows, as they were before a window. */
function windowTallies(summary: RunSummary) {
  const { windows, sourcesEvaluated, spikes, alertsDecided, incompleteWindows } = summary;
  return { windows: [...windows], sourcesEvaluated, spikes, alertsDecided, incompleteWindows };
}

/**
 * State written before sources were keyed by account (no `keyFormat`): its baselines are keyed
 * by address alone, and mixing them with account keys would merge accounts' hosts again.
 */
const hasAddressOnlyBaselines = (state: { watermark: number | undefined; keyFormat?: string }): boolean =>
  state.watermark !== undefined && state.keyFormat !== SOURCE_KEY_FORMAT;

const ADDRESS_ONLY_WARNING =
  'the baselines in the table are keyed by address alone (written before sources were keyed by account ' +
  'and address): they are not used. This window learns baselines per account and address and alerts ' +
  'nothing, as a new detector does; to relearn from history at once, invoke {"mode":"bootstrap","days":30,"overwrite":true}';

/** What one window hands the next: the clock, the SKIPDATA carry and the count query's split plan. */
interface CarriedState {
  clock: number;
  skipDataThrough: number | undefined;
  splitPlan: string | undefined;
}

/** Detects and commits one window; returns the state after it. */
async function detectWindow(
  deps: DetectorDeps,
  summary: RunSummary,
  window: Window,
  stateBefore: CarriedState,
  failures: { alertId: string; cause: string }[],
  pacer: PublishPacer,
  learnOnly = false,
): Promise<CarriedState> {
  const queryDeadline = deps.deadline - COMMIT_RESERVE_MS;
  const clockBefore = stateBefore.clock;
  const { decided, read, next, outcome, retryCounts, skipDataThrough, splitPlan } = await countAndEvaluate(
    deps,
    summary,
    window,
    clockBefore,
    stateBefore,
    queryDeadline,
    learnOnly,
  );

  let alerts: Alert[];
  let toPublish: PendingAlert[];
  let toWrite: Alert[];
  // The sources alerted in this window, whose next baseline starts a cooldown: this attempt's, or
  // those of the alerts an earlier attempt decided (see alignedAlertState).
  const alertedNow = new Map(outcome.alerted.map(({ srcIp, count }) => [srcIp, count]));
  let aligned: ((key: string, next: Baseline, before: Baseline | undefined) => Baseline) | undefined;
  // Items written before `windowAlertCount` was kept count as a complete set (the old contract).
  const decidedComplete = decided.every((d) => (d.windowAlertCount ?? decided.length) <= decided.length);
  if (decided.length > 0 && decidedComplete) {
    deps.logger.warn('window was decided by an earlier attempt: reusing its alerts', {
      alertIds: decided.map((d) => d.alert.alertId),
    });
    alerts = decided.map((d) => d.alert);
    toPublish = decided
      .filter((d) => d.status === 'pending')
      .map(({ alert, attempts }) => ({ alert, attempts }));
    toWrite = [];
    aligned = alignedAlertState(alerts, retryCounts, window.start, deps.config);
  } else {
    // A crash between outbox batches leaves part of the window's alerts: the decisions above are
    // the same (same counts, baselines rewound by `prev`), so only the missing alertIds are written
    // and published; those already there keep their status and are not published twice.
    const present = new Set(decided.map((d) => d.alert.alertId));
    if (decided.length > 0) {
      deps.logger.warn('window was partly written by an earlier attempt: adding the missing alerts', {
        present: decided.length,
        expected: decided[0]?.windowAlertCount,
        decided: outcome.alerts.length,
      });
    }
    const missing = outcome.alerts.filter((alert) => !present.has(alert.alertId));
    // The outbox item must fit DynamoDB's 400 KB: a mass spike over thousands of sources is cut
    // here, once, so what is stored, published and republished is the same alert.
    const detailed = await withDetails(deps, summary, missing, window, queryDeadline);
    toWrite = (await withCauses(deps, summary, detailed, window, queryDeadline)).map((alert) =>
      fitAlert(alert),
    );
    alerts = [...decided.map((d) => d.alert), ...toWrite];
    toPublish = [
      ...decided.filter((d) => d.status === 'pending').map(({ alert, attempts }) => ({ alert, attempts })),
      ...toWrite.map((alert) => ({ alert, attempts: 0 })),
    ];
    if (decided.length > 0) aligned = alignedAlertState(alerts, retryCounts, window.start, deps.config);
  }
  summary.alertsDecided += alerts.length;

  await deps.store.commitWindowBaselines({
    windowStart: window.start,
    clockBefore,
    clockAfter: outcome.clockAfter,
    alerts: toWrite,
    windowAlertCount: alerts.length,
    read,
    // Each source's next baseline is made as its bucket is written.
    next: (index) => {
      let baseline = next.get(index);
      if (baseline === undefined) return undefined;
      const key = read.keys[index]!;
      const count = alertedNow.get(key);
      if (count !== undefined) baseline = withAlertState(baseline, window.start, count);
      return aligned === undefined ? baseline : aligned(key, baseline, read.before.get(index));
    },
    ...(skipDataThrough === undefined ? {} : { skipDataThrough }),
    ...(splitPlan === undefined ? {} : { countSplitPlan: splitPlan }),
    ...(learnOnly ? { learnOnly } : {}),
  });
  deps.logger.info('window committed', {
    sources: outcome.stats.sourcesSeen,
    spikes: outcome.stats.spikes,
    alerts: alerts.length,
    threshold: outcome.stats.threshold,
  });
  summary.alertsPublished += await publishAll(deps, toPublish, failures, pacer, summary);
  return { clock: outcome.clockAfter, skipDataThrough, splitPlan: splitPlan ?? stateBefore.splitPlan };
}

/**
 * After a window failed: counts the attempt (in the state, across runs) and, at
 * `maxWindowAttempts`, skips the window (a gap: no counts, the clock stays) so that the windows
 * after it are not held back for ever. Returns true when it skipped; false leaves the failure to
 * the caller (the run fails, Lambda and the next run retry).
 */
async function skipIfFailingForGood(
  deps: DetectorDeps,
  summary: RunSummary,
  window: Window,
  watermarkBefore: number | undefined,
  clock: number,
  error: unknown,
): Promise<boolean> {
  // Another run committed the window: nothing failed.
  if (error instanceof WatermarkConflictError) return false;
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  let attempts: number | undefined;
  try {
    attempts = await deps.store.recordWindowFailure(window.start, reason);
  } catch (recordError) {
    deps.logger.error('failed attempt not recorded', {
      error:
        recordError instanceof Error ? `${recordError.name}: ${recordError.message}` : String(recordError),
    });
    return false;
  }
  if (attempts === undefined) return false; // committed meanwhile
  const max = deps.config.maxWindowAttempts;
  if (attempts < max) {
    deps.logger.error(`window failed (attempt ${attempts} of ${max} before it is skipped)`, {
      error: reason,
    });
    return false;
  }
  // A detector without a watermark holds nothing back: each run tries the latest window. A skip
  // would set a watermark with no baselines behind it, and the next window, no longer its first,
  // would alert on every busy source as new instead of learning.
  if (watermarkBefore === undefined) {
    deps.logger.error(
      `window failed ${attempts} times; not skipped: the detector has no state yet, so no window waits behind it (the next run tries the latest window)`,
      { error: reason },
    );
    return false;
  }
  const rolledBack = await deps.store.skipWindows({
    watermarkBefore,
    first: window.start,
    last: window.start,
    windows: 1,
    clock,
    reason,
    attempts,
    manual: false,
  });
  if (rolledBack !== undefined) noteRollBack(deps, summary, rolledBack);
  summary.skippedWindows.push(isoTime(window.start));
  deps.logger.error(
    `window skipped after ${attempts} failed attempts: it is a gap (not counted, not zeros); the windows after it go on`,
    { error: reason },
  );
  return true;
}

function noteRollBack(deps: DetectorDeps, summary: RunSummary, rolledBack: FoldRollBack): void {
  summary.foldRolledBack = { window: isoTime(rolledBack.window), entries: rolledBack.entries };
  deps.logger.warn(
    'a commit that stopped part-way had folded a window that will not be committed into some baselines: rolled back',
    { foldingWindow: isoTime(rolledBack.window), entries: rolledBack.entries, buckets: rolledBack.buckets },
  );
}

/** A window's counts with the SKIPDATA rule applied, and the carry for the windows after it. */
interface CountedWindow {
  counts: WindowCounts;
  /** False when a SKIPDATA record of this window or of an earlier one overlaps it. */
  complete: boolean;
  /** The SKIPDATA carry after this window (DetectorState.skipDataThrough). */
  skipDataThrough: number | undefined;
}

/**
 * Runs the window's count query and applies the one SKIPDATA rule (core `skipDataWindows`): a
 * window is incomplete when a SKIPDATA record's [start, end] overlaps it, whether the record
 * starts in it or in an earlier window (`carried`, the last window earlier records reach). Also
 * notes how late the window's records arrived.
 */
async function countWindow(
  deps: DetectorDeps,
  summary: RunSummary,
  window: Window,
  carried: number | undefined,
  deadline: number,
  splitPlan: string | undefined,
): Promise<CountedWindow> {
  const counts = await deps.source.countWindow(
    window,
    deadline,
    splitPlan === undefined ? {} : { splitPlan },
  );
  addStats(summary, counts.stats);
  // Only costs queries: the window is counted from one query and split again.
  if (counts.splitPlanNote !== undefined) deps.logger.warn(counts.splitPlanNote);
  summary.windows.push(isoTime(window.start));
  const fromEarlier = carried !== undefined && carried >= window.start;
  const complete = counts.complete && !fromEarlier;
  if (!complete) {
    summary.incompleteWindows += 1;
    deps.logger.warn(
      counts.complete
        ? `window incomplete: a SKIPDATA record of an earlier window overlaps it (through ${isoTime(carried!)}); counts are a lower bound`
        : 'window incomplete: SKIPDATA records seen, counts are a lower bound',
      { skippedRecords: counts.skippedRecords },
    );
  }
  if (counts.maxDeliveryDelayMs !== undefined)
    noteDeliveryDelay(deps, summary, window, counts.maxDeliveryDelayMs);
  const through = [carried, counts.skipDataThrough].filter((w): w is number => w !== undefined);
  return { counts, complete, skipDataThrough: through.length > 0 ? Math.max(...through) : undefined };
}

/**
 * Records the longest delivery delay seen; warns when it exceeds the lag: such a record near the
 * end of a window would have arrived after the window was counted.
 */
function noteDeliveryDelay(deps: DetectorDeps, summary: RunSummary, window: Window, delayMs: number): void {
  const seconds = Math.max(0, Math.round(delayMs / 1000));
  summary.maxDeliveryDelaySeconds = Math.max(summary.maxDeliveryDelaySeconds ?? 0, seconds);
  const lagSeconds = deps.config.lagMinutes * 60;
  if (seconds <= lagSeconds) return;
  summary.deliveryLaterThanLag = true;
  deps.logger.warn(
    `records arrived up to ${Math.ceil(seconds / 60)} min after their start, later than lagMinutes (${deps.config.lagMinutes}): ` +
      'records like them near the end of a window arrive after it is counted and are never counted; raise lagMinutes',
    { window: isoTime(window.start), maxDeliveryDelaySeconds: seconds, lagMinutes: deps.config.lagMinutes },
  );
}

/**
 * Counts the window, reads its sources' baselines and decides it, one source at a time
 * (WindowDecider): the baselines before and after the window are kept in two compact tables
 * (BaselineTable, about 500 bytes a source for the two outside the JavaScript heap),
 * not as a million objects, and no decision is kept but the spikes'. In a function of its own so
 * that the counts (two maps of every source) are garbage before the commit, unless the window is
 * a retry whose alert bookkeeping is realigned from them.
 */
async function countAndEvaluate(
  deps: DetectorDeps,
  summary: RunSummary,
  window: Window,
  clockBefore: number,
  carried: CarriedState,
  queryDeadline: number,
  learnOnly: boolean,
): Promise<{
  decided: OutboxEntry[];
  read: WindowBaselines;
  /** The baselines after the window, by index of `read.keys` (absent: unchanged), without this window's alert state. */
  next: BaselineTable;
  outcome: WindowOutcome;
  /** The counts, kept only for a retried window (its alert bookkeeping is realigned from them). */
  retryCounts: ReadonlyMap<string, number>;
  skipDataThrough: number | undefined;
  splitPlan: string | undefined;
}> {
  const { counts, complete, skipDataThrough } = await countWindow(
    deps,
    summary,
    window,
    carried.skipDataThrough,
    queryDeadline,
    carried.splitPlan,
  );

  // A retried window: its alerts were decided (and are in the outbox) before any baseline moved.
  const decided = await deps.store.windowAlerts(window.start);
  const read = await deps.store.readWindowBaselines(counted(counts.counts), window.start);
  reportUnreadableEntries(deps, summary);
  const { keys, before } = read;
  const input = { windowStart: window.start, clock: clockBefore };
  // First pass: the mature sources, which the false-alert threshold is spread over.
  let matureSources = 0;
  for (let i = 0; i < keys.length; i += 1) {
    if (isMatureSource(before.maturity(i), input, deps.config)) matureSources += 1;
  }
  const decider = new WindowDecider(
    { ...input, complete, uniqueDestinations: counts.uniqueDestinations },
    deps.config,
    matureSources,
    { learnOnly },
  );
  // A fold changes a slot or two of a profile: the table after the window keeps those beside
  // the profiles before it rather than a second whole profile a source.
  const next = new BaselineTable(keys.length, { profilesBesides: before });
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i]!;
    next.set(i, decider.decide(key, counts.counts.get(key)!, before.get(i)).next);
  }
  const outcome = decider.finish();
  summary.sourcesEvaluated += outcome.stats.sourcesSeen;
  summary.spikes += outcome.stats.spikes;
  return {
    decided,
    read,
    next,
    outcome,
    retryCounts: decided.length > 0 ? counts.counts : new Map<string, number>(),
    skipDataThrough,
    splitPlan: counts.splitPlan,
  };
}

/** Logs (naming source and bucket) and counts the baseline entries the last read left out. */
function reportUnreadableEntries(deps: DetectorDeps, summary: RunSummary): void {
  for (const entry of deps.store.takeUnreadableEntries()) {
    summary.unreadableBaselineEntries = (summary.unreadableBaselineEntries ?? 0) + 1;
    deps.logger.warn('baseline entry unreadable: the source is treated as new and relearns its baseline', {
      source: entry.source,
      bucket: `BASELINES#${entry.bucket}`,
      problem: entry.problem,
    });
  }
}

/** The sources of a window that have a count to decide (above zero). */
function* counted(counts: ReadonlyMap<string, number>): Generator<string> {
  for (const [key, count] of counts) if (count > 0) yield key;
}

/**
 * After reusing an earlier attempt's alerts, the baselines' alert bookkeeping (cooldown) must
 * match what was actually alerted, not what this attempt would have decided: a source's next
 * baseline, given what it was before the window. (Exported for its tests.)
 */
export function alignedAlertState(
  alerts: readonly StoredAlert[],
  counts: ReadonlyMap<string, number>,
  windowStart: number,
  config: Pick<DetectorConfig, 'cooldownMinutes' | 'preset'>,
): (key: string, next: Baseline, before: Baseline | undefined) => Baseline {
  // A mass spike's members that their cooldowns held back (lastAlertedAt) were listed, not
  // alerted: they keep their own alert state, as the engine keeps it (an older stored alert,
  // without the field, counts every member alerted, as before).
  const alerted = new Set(
    alerts.flatMap((alert) =>
      alert.members === undefined
        ? alertSourceKeys(alert)
        : alert.members.filter((m) => m.lastAlertedAt === undefined).map(keyOfSource),
    ),
  );
  // Members cut from a stored mass spike (to fit the outbox) are not listed: for a source this
  // attempt alerted that is not in any list, its own decision stands there.
  const listed = new Set(alerts.flatMap(alertSourceKeys));
  const cut = alerts.some((alert) => alert.truncated?.members !== undefined);
  return (key, baseline, previous) => {
    if (alerted.has(key))
      return withAlertState(baseline, windowStart, counts.get(key) ?? baseline.lastAlertCount ?? 0);
    if (baseline.lastAlertWindow === windowStart && cut && !listed.has(key)) return baseline;
    if (baseline.lastAlertWindow === windowStart) {
      // This attempt alerted the source, the published one did not: the alert state as it was
      // before the window. This attempt's count was a spike, so the window was up: inside a
      // cooldown it carries the cooldown on (late records that made it escalate here do not undo
      // the cooldown the published decision held it in).
      const { lastAlertWindow: _w, lastAlertCount: _c, lastElevatedWindow: _e, ...rest } = baseline;
      // (splunk-escu's cooldown runs from the alert alone, as the engine keeps it.)
      const carried =
        config.preset !== 'splunk-escu' &&
        previous !== undefined &&
        cooldownRuns(previous, windowStart, config)
          ? windowStart
          : previous?.lastElevatedWindow;
      return {
        ...rest,
        ...(previous?.lastAlertWindow === undefined ? {} : { lastAlertWindow: previous.lastAlertWindow }),
        ...(previous?.lastAlertCount === undefined ? {} : { lastAlertCount: previous.lastAlertCount }),
        ...(carried === undefined ? {} : { lastElevatedWindow: carried }),
      };
    }
    return baseline;
  };
}

/** Adds the details query's destinations and interfaces (and EC2 enrichment) to per-source alerts. */
async function withDetails(
  deps: DetectorDeps,
  summary: RunSummary,
  alerts: Alert[],
  window: Window,
  deadline: number,
): Promise<Alert[]> {
  // A mass spike is a policy rollout far more often than many simultaneous attacks: its members
  // are the content, and a details query over all of them would cost the most when it helps least.
  const keyOf = new Map<Alert, string>();
  for (const alert of alerts) if (alert.srcIp !== undefined) keyOf.set(alert, alertSourceKeys(alert)[0]!);
  const srcIps = [...keyOf.values()];
  if (srcIps.length === 0) return alerts;
  const before = deps.now();
  let found: Map<string, SourceDetails>;
  let details = new Map<string, AlertDetails>();
  // The details query scans (and is billed for) the window again: it counts in the run's figures.
  const stats: QueryStatistics = { queries: 0, bytesScanned: 0, recordsScanned: 0, recordsMatched: 0 };
  try {
    found = await deps.source.details(window, srcIps, deadline, stats);
  } catch (error) {
    // Details make an alert easier to act on; without them it is still an alert. Failing the
    // window instead would hold every later window (and this alert) back until the query works.
    deps.logger.error('details query failed; alerts go out without destinations', {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      sources: srcIps.length,
    });
    return alerts;
  } finally {
    addStats(summary, stats);
  }
  deps.logger.info('details query done', { sources: srcIps.length, ms: deps.now() - before });
  // Where the details read every destination, their distinct addresses are the alert's unique
  // destinations, exactly, as the replay counts them: the count query's figure is approximate at
  // high cardinality (count_distinct) and added up over log group parts.
  const distinctAddresses = new Map<string, number>();
  for (const [key, { distinctAddresses: exact, ...alertDetails }] of found) {
    if (exact !== undefined) distinctAddresses.set(key, exact);
    details.set(key, alertDetails);
  }
  if (deps.enricher) details = await deps.enricher.enrich(details, deadline);
  return alerts.map((alert) => {
    const key = keyOf.get(alert);
    const detailsOfAlert = key === undefined ? undefined : details.get(key);
    if (detailsOfAlert === undefined) return alert;
    const exact = distinctAddresses.get(key!);
    return {
      ...alert,
      details: detailsOfAlert,
      ...(exact === undefined ? {} : { uniqueDestinations: exact }),
    };
  });
}

/**
 * Adds each spike's likely egress-policy change (change-aware alerts), before the alerts enter
 * the outbox: a republished alert says what it said the first time. The explainer never throws
 * and bounds its own lookups; an alert it cannot explain goes out saying why.
 */
async function withCauses(
  deps: DetectorDeps,
  summary: RunSummary,
  alerts: Alert[],
  window: Window,
  deadline: number,
): Promise<Alert[]> {
  if (deps.explainer === undefined || alerts.length === 0) return alerts;
  const before = deps.now();
  const explained = await deps.explainer.explain(alerts, window, deadline);
  const counts = (summary.changeCauses ??= { found: 0, none: 0, unavailable: 0 });
  for (const alert of explained) {
    const status = alert.causeLookup?.status;
    if (status !== undefined) counts[status] += 1;
  }
  deps.logger.info('change causes looked up', { ...counts, ms: deps.now() - before });
  return explained;
}

/**
 * Whether a window is due for this run. False where the stored watermark does not fit the
 * configured window length (the settings changed: the run refuses by name after publishing the
 * pending alerts, and no window runs).
 */
function anyWindowDue(deps: DetectorDeps, watermark: number | undefined): boolean {
  try {
    return dueWindows(deps.now(), watermark, deps.config).windows.length > 0;
  } catch {
    return false;
  }
}

/**
 * Publishes each alert and marks the published ones sent; failures stay pending and are counted.
 * Stops at `deadline` (the run's, unless the caller keeps time back): the alerts not reached stay
 * pending for the next run, which publishes them first. Marked sent a pacer burst at a time, so a run that Lambda's timeout
 * still cuts off republishes at most one burst, not every alert it had published.
 */
async function publishAll(
  deps: DetectorDeps,
  entries: readonly PendingAlert[],
  failures: { alertId: string; cause: string }[],
  pacer: PublishPacer,
  summary: RunSummary,
  deadline = deps.deadline,
): Promise<number> {
  let published = 0;
  let sent: string[] = [];
  const failed: { alertId: string; refused: boolean; cause: string }[] = [];
  for (const [index, entry] of entries.entries()) {
    await pacer.beforePublish();
    if (deps.now() >= deadline) {
      const left = entries.length - index;
      summary.alertsDeferred = (summary.alertsDeferred ?? 0) + left;
      deps.logger.warn('deadline reached: alerts left pending for the next run', { alerts: left });
      break;
    }
    try {
      let messageId: string | undefined;
      try {
        messageId = await deps.publisher.publish(entry.alert);
      } finally {
        pacer.afterPublish();
      }
      sent.push(entry.alert.alertId);
      // Failed earlier in this run (the pending phase), sent now (its window's retry): not pending.
      for (let i = failures.length - 1; i >= 0; i -= 1)
        if (failures[i]!.alertId === entry.alert.alertId) failures.splice(i, 1);
      deps.logger.info('alert published', {
        alertId: entry.alert.alertId,
        kind: entry.alert.kind,
        severity: entry.alert.severity,
        messageId,
      });
    } catch (error) {
      const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      deps.logger.error('alert not published; it stays pending in the outbox', {
        alertId: entry.alert.alertId,
        error: cause,
      });
      // Counted once a run: an alert of a retried window can fail in the pending phase and again
      // in its window's.
      if (!failures.some((f) => f.alertId === entry.alert.alertId))
        failed.push({ alertId: entry.alert.alertId, refused: isRefusalError(error), cause });
      failures.push({ alertId: entry.alert.alertId, cause });
    }
    if (sent.length === PUBLISHES_PER_SECOND) {
      await deps.store.markSent(sent);
      published += sent.length;
      sent = [];
    }
  }
  await deps.store.markSent(sent);
  published += sent.length;
  if (failed.length > 0) await parkRefusedAlerts(deps, summary, failed, failures);
  return published;
}

function isRefusalError(error: unknown): boolean {
  return error instanceof AlertPublishError ? error.refused : isRefusal(error);
}

/**
 * Counts the failed publishes and parks the alerts SNS has now refused in `maxAlertRefusals`
 * runs: the same message meets the same answer (a topic policy or key that denies it, a message
 * the topic will not take), and retrying it every run would fail every run for good, the
 * MissedRuns alarm saying nothing is watched when only this alert is stuck. Parked, it is kept
 * (not lost) for mode `republish-parked`, and the ParkedAlerts alarm says so.
 */
async function parkRefusedAlerts(
  deps: DetectorDeps,
  summary: RunSummary,
  failed: readonly { alertId: string; refused: boolean; cause: string }[],
  failures: { alertId: string; cause: string }[],
): Promise<void> {
  const refusals = await deps.store.recordAttempt(failed);
  const max = deps.config.maxAlertRefusals;
  const toPark = failed.filter((f) => f.refused && (refusals.get(f.alertId) ?? 0) >= max);
  if (toPark.length === 0) return;
  for (const { alertId, cause } of toPark) {
    await deps.store.parkAlerts([alertId], cause);
    deps.logger.error(
      `alert parked: SNS refused it in ${max} runs; it is kept, not retried, until mode republish-parked`,
      { alertId, error: cause },
    );
    for (let i = failures.length - 1; i >= 0; i -= 1)
      if (failures[i]!.alertId === alertId) failures.splice(i, 1);
  }
  summary.alertsParked = (summary.alertsParked ?? 0) + toPark.length;
  summary.parkedAlertsWaiting = await deps.store.parkedAlertCount();
}

// ---------------------------------------------------------------------------------------------
// republish-parked

/** Makes the parked alerts pending again and publishes them (once whatever refused them is mended). */
async function runRepublishParked(deps: DetectorDeps, summary: RunSummary): Promise<void> {
  const parked = await deps.store.parkedAlerts();
  const pending = await deps.store.unparkAlerts(parked.map((p) => p.alert.alertId));
  deps.logger.info('republishing parked alerts', { alertIds: pending.map((p) => p.alert.alertId) });
  const failures: { alertId: string; cause: string }[] = [];
  const pacer = new PublishPacer(deps.now, deps.sleep ?? realSleep);
  const published = await publishAll(deps, pending, failures, pacer, summary);
  summary.pendingRepublished += published;
  summary.alertsPublished += published;
  summary.parkedAlertsWaiting = await deps.store.parkedAlertCount();
  // What failed again is pending (the next scheduled run tries it, and parks it again after
  // maxAlertRefusals refusals): said as for any run whose alerts failed.
  if (failures.length > 0)
    throw new AlertsNotPublishedError(
      failures.map((f) => f.alertId),
      [...new Set(failures.map((f) => f.cause))],
    );
}

// ---------------------------------------------------------------------------------------------
// dry-run

async function runDryRun(
  deps: DetectorDeps,
  summary: RunSummary,
  windowStart?: number,
  windowEnd?: number,
): Promise<void> {
  const config = deps.config;
  const length = windowMs(config);
  const latest = latestClosedWindow(deps.now(), config);
  const state = await deps.store.readState();
  if (state.bootstrapStarted !== undefined) throw new BootstrapUnfinishedError(state.bootstrapStarted);
  refuseChangedSettings(deps, state);
  let windows: Window[];
  if (windowStart !== undefined) {
    const starts = windowsBetween(windowStart, windowEnd ?? windowStart + length, config);
    const open = starts.find((s) => s > latest.start);
    if (open !== undefined) throw new DryRunWindowError(isoTime(open), isoTime(latest.start));
    // A source folded in a later window would come back as already folded and silently decide
    // nothing: committed windows cannot be re-evaluated from the stored baselines.
    if (state.watermark !== undefined && windowStart <= state.watermark)
      throw new DryRunWindowError(isoTime(windowStart), isoTime(state.watermark), 'committed');
    windows = starts.map((s) => windowAt(s, config));
  } else {
    const due = dueWindows(deps.now(), state.watermark, config);
    // Nothing due: show what the latest window decided (re-evaluated from its pre-window
    // baselines), unless it was skipped, learnt by a bootstrap or committed learn-only: it decided
    // nothing, the schedule publishes nothing of it (and a bootstrap keeps no pre-window baselines
    // to decide it from; a learn-only window had none, so each busy source would come back new).
    const nothingDue = due.windows.length === 0;
    const latestSkipped = nothingDue && state.lastSkipped === latest.start;
    const latestBootstrapped = nothingDue && state.lastBootstrapped === latest.start;
    const latestLearnOnly = nothingDue && !latestBootstrapped && state.lastLearnOnly === latest.start;
    windows = !nothingDue
      ? due.windows
      : latestSkipped || latestBootstrapped || latestLearnOnly
        ? []
        : [latest];
    if (latestSkipped) summary.latestWindowSkipped = isoTime(latest.start);
    if (latestBootstrapped) summary.latestWindowBootstrapped = isoTime(latest.start);
    if (latestLearnOnly) summary.latestWindowLearnOnly = isoTime(latest.start);
    summary.deferredWindows = due.deferred;
  }

  const overlay = new Map<string, Baseline>();
  // The clock before the first window: windows at or before the watermark were already counted in
  // it, each complete one by one. Only the latest committed window is re-evaluated (a range at or
  // before the watermark is refused); it was incomplete, and did not move the clock, when the
  // SKIPDATA carry reaches it.
  const first = windows[0]?.start ?? latest.start;
  const watermarkIncomplete =
    state.watermark !== undefined &&
    state.skipDataThrough !== undefined &&
    state.skipDataThrough >= state.watermark;
  let clock =
    state.watermark !== undefined && first <= state.watermark
      ? Math.max(0, state.clock - ((state.watermark - first) / length + 1) + (watermarkIncomplete ? 1 : 0))
      : state.clock;
  const dryRunAlerts: DryRunAlert[] = [];
  // The SKIPDATA carry of the committed windows; a window at or before the watermark re-evaluated
  // here may miss a carry from the windows before it (not kept), never adds a wrong one.
  let skipDataThrough = state.skipDataThrough;
  // Used, never saved: a dry run changes no state.
  let splitPlan = state.countSplitPlan;
  // What the schedule would do: a detector without state (or with address-keyed baselines from
  // before accounts) learns its first window and alerts nothing.
  const addressOnly = hasAddressOnlyBaselines(state);
  const firstLearnsOnly = state.watermark === undefined || addressOnly;
  if (firstLearnsOnly) {
    summary.firstWindowLearnOnly = true;
    if (addressOnly) {
      summary.addressOnlyBaselinesReplaced = true;
      deps.logger.warn(`dry run: ${ADDRESS_ONLY_WARNING}`);
    } else {
      deps.logger.warn(
        'dry run of a detector without state: its first window only learns baselines, as the schedule would (run bootstrap first to alert from the start)',
      );
    }
  }
  // A fold a stopped commit left of a window the schedule will not retry is read past, as the
  // schedule rolls it back (runDetect).
  const uncommitted = state.foldingWindow === windows[0]?.start ? undefined : state.foldingWindow;
  // As the schedule: the first window always runs; another only when it fits in the time left,
  // and one whose query the deadline stops is left out. What was evaluated is returned, the rest
  // counted in deferredWindows (a range's too): the operator gets the alerts of the scans paid for.
  let longestWindowMs = 0;
  const defer = (index: number, reason: string) => {
    summary.deferredWindows += windows.length - index;
    deps.logger.warn(
      `dry run: ${reason}; the windows from ${isoTime(windows[index]!.start)} are not evaluated`,
      {
        deferred: windows.length - index,
        longestWindowMs,
      },
    );
  };
  for (const [index, window] of windows.entries()) {
    if (index > 0 && !windowFits(deps, longestWindowMs)) {
      defer(index, 'deadline near');
      break;
    }
    const started = deps.now();
    let counted: CountedWindow;
    try {
      counted = await countWindow(
        deps,
        summary,
        window,
        skipDataThrough,
        deps.deadline - COMMIT_RESERVE_MS,
        splitPlan,
      );
    } catch (error) {
      if (!deadlineReached(error, index)) throw error;
      defer(index, 'deadline reached during a window');
      break;
    }
    const counts = counted.counts;
    skipDataThrough = counted.skipDataThrough;
    splitPlan = counted.counts.splitPlan ?? splitPlan;
    const srcIps = [...counts.counts.keys()];
    // What the store forgets by window time (baseline-expiry.ts), the dry run forgets of what it
    // folded itself, or a source silent past the TTL within the range would be remembered here
    // and new for the schedule.
    const ttlDays = deps.baselineTtlDays ?? DEFAULT_BASELINE_TTL_DAYS;
    for (const [ip, b] of overlay)
      if (expiredBefore(baselineExpiresAt(b.lastWindow, ttlDays), window.start)) overlay.delete(ip);
    const stored = await deps.store.getBaselines(
      srcIps.filter((ip) => !overlay.has(ip)),
      { before: window.start, ...(uncommitted === undefined ? {} : { uncommitted }) },
    );
    reportUnreadableEntries(deps, summary);
    const baselines = new Map([...stored, ...[...overlay].filter(([ip]) => counts.counts.has(ip))]);
    const result = evaluateWindow(
      {
        windowStart: window.start,
        counts: counts.counts,
        uniqueDestinations: counts.uniqueDestinations,
        complete: counted.complete,
        baselines,
        clock,
      },
      config,
      { learnOnly: firstLearnsOnly && index === 0 },
    );
    for (const [ip, b] of result.updatedBaselines) overlay.set(ip, b);
    clock = result.clockAfter;
    summary.sourcesEvaluated += result.stats.sourcesSeen;
    summary.spikes += result.stats.spikes;
    summary.alertsDecided += result.alerts.length;
    const alreadyDecided = new Set((await deps.store.windowAlerts(window.start)).map((e) => e.alert.alertId));
    const detailed = await withDetails(
      deps,
      summary,
      result.alerts,
      window,
      deps.deadline - COMMIT_RESERVE_MS,
    );
    const alerts = await withCauses(deps, summary, detailed, window, deps.deadline - COMMIT_RESERVE_MS);
    dryRunAlerts.push(...alerts.map((a) => ({ ...a, wouldPublish: !alreadyDecided.has(a.alertId) })));
    longestWindowMs = Math.max(longestWindowMs, deps.now() - started);
  }
  // The answer must fit Lambda's 6 MB synchronous response, or the operator gets nothing.
  const fitted = fitAlertList(dryRunAlerts, MAX_DRY_RUN_ALERT_BYTES);
  summary.dryRunAlerts = fitted.alerts;
  if (fitted.cut !== undefined) {
    summary.dryRunAlertsCut = fitted.cut;
    deps.logger.warn('dry run: the alerts are cut to fit the response', fitted.cut);
  }
}

// ---------------------------------------------------------------------------------------------
// skip

/**
 * Moves the watermark over [windowStart, windowEnd) without counting those windows: a gap (the
 * clock does not advance, no baseline moves). Only the windows the schedule would evaluate next
 * (from the one after the watermark) and only closed ones: anything else would leave a hole or
 * skip data not yet seen.
 */
async function runSkip(
  deps: DetectorDeps,
  summary: RunSummary,
  windowStart: number,
  windowEnd: number | undefined,
): Promise<void> {
  const length = windowMs(deps.config);
  const end = windowEnd ?? windowStart + length;
  const state = await deps.store.readState();
  if (state.bootstrapStarted !== undefined) throw new BootstrapUnfinishedError(state.bootstrapStarted);
  if (state.watermark === undefined) {
    throw new SkipRefusedError(
      'the detector has not committed a window yet, so nothing is held back: its first run evaluates the latest window',
    );
  }
  const next = state.watermark + length;
  if (windowStart !== next) {
    throw new SkipRefusedError(
      `windowStart must be the window after the watermark (${isoTime(state.watermark)}), ${isoTime(next)}, got ${isoTime(windowStart)}`,
    );
  }
  const latest = latestClosedWindow(deps.now(), deps.config);
  const last = end - length;
  if (last > latest.start) {
    throw new SkipRefusedError(
      `window ${isoTime(last)} has not closed yet (the latest closed window starts ${isoTime(latest.start)})`,
    );
  }
  const starts = windowsBetween(windowStart, end, deps.config);
  const rolledBack = await deps.store.skipWindows({
    watermarkBefore: state.watermark,
    first: windowStart,
    last,
    windows: starts.length,
    clock: state.clock,
    reason: 'skipped on request (mode skip)',
    attempts: state.failingWindow === windowStart ? (state.failedAttempts ?? 0) : 0,
    manual: true,
  });
  if (rolledBack !== undefined) noteRollBack(deps, summary, rolledBack);
  summary.skippedWindows = starts.map(isoTime);
  deps.logger.warn('windows skipped on request: they are a gap (not counted, not zeros)', {
    from: isoTime(windowStart),
    to: isoTime(end),
    windows: starts.length,
  });
}

// ---------------------------------------------------------------------------------------------
// bootstrap

async function runBootstrap(
  deps: DetectorDeps,
  summary: RunSummary,
  days: number,
  overwrite: boolean,
): Promise<void> {
  const config = deps.config;
  const state = await deps.store.readState();
  if (state.watermark !== undefined && !overwrite) {
    // Refuse before spending a month of query scans.
    throw new BootstrapRefusedError(state.watermark);
  }
  const latest = latestClosedWindow(deps.now(), config);
  const to = latest.end;
  const from = to - days * 86_400_000;
  const history = await deps.source.history(from, to, deps.deadline - COMMIT_RESERVE_MS);
  addStats(summary, history.stats);
  // The run's time ran out before the oldest days were queried (newest first): a shorter history,
  // as if fewer days were asked for, is learnt, and the summary says so. None at all is an error.
  const heldFrom = history.heldFrom ?? from;
  if (heldFrom >= to) throw new BootstrapOutOfTimeError(days, history.stoppedBy);
  // Every window of the range, in order: a window without records is a zero; a window of a failed
  // query is a gap (no counts, incomplete), which the clock skips: no data is not quiet.
  const byStart = new Map(history.windows.map((w) => [w.windowStart, w]));
  const windows: HistoryWindow[] = windowsBetween(heldFrom, to, config).map(
    (start) =>
      byStart.get(start) ?? { windowStart: start, counts: new Map<string, number>(), complete: true },
  );
  // Distinct windows: a source's gaps should not overlap, but one counted twice must not push a
  // history over the "mostly missing" line.
  const gapStarts = new Set(history.gaps.flatMap((gap) => windowsBetween(gap.from, gap.to, config)));
  const gapWindows = gapStarts.size;
  const firstGap = history.gaps[0];
  if (firstGap !== undefined) {
    // Isolated failures are tolerated and reported; a history mostly missing is not a history.
    if (gapWindows === windows.length) throw firstGap.error;
    if (2 * gapWindows > windows.length)
      throw new BootstrapHistoryError(gapWindows, windows.length, firstGap.error);
  }
  summary.incompleteWindows = windows.filter((w) => !w.complete && !gapStarts.has(w.windowStart)).length;
  // A clean start: the stored clock and baselines are replaced, not continued. A source the
  // history does not name loses its baseline (kept, it would get the history's windows as zeros a
  // second time, on top of those it already had on the old clock).
  const result = bootstrapBaselines(windows, config);
  // SKIPDATA near the end of the history may reach into the windows the schedule evaluates next.
  const carry = history.skipDataThrough !== undefined && history.skipDataThrough > latest.start;
  await deps.store.writeBootstrap({
    baselines: result.baselines,
    watermark: latest.start,
    clock: result.clock,
    overwrite,
    ...(carry ? { skipDataThrough: history.skipDataThrough } : {}),
  });
  summary.sourcesEvaluated = result.baselines.size;
  summary.bootstrap = {
    days,
    ...(heldFrom === from ? {} : { heldFrom: isoTime(heldFrom) }),
    ...(history.reusedQueries === undefined ? {} : { reusedQueries: history.reusedQueries }),
    windows: result.windows,
    sources: result.baselines.size,
    watermark: isoTime(latest.start),
    ...(history.gaps.length === 0
      ? {}
      : {
          gaps: history.gaps.map((gap) => ({
            from: isoTime(gap.from),
            to: isoTime(gap.to),
            windows: windowsBetween(gap.from, gap.to, config).length,
            error: gap.error.message,
          })),
        }),
  };
  if (heldFrom !== from) {
    deps.logger.warn(
      "bootstrap ran out of time before its oldest days were queried: it learnt the newest days it counted (a shorter history; the baselines go on learning from the schedule's windows)",
      {
        days,
        heldFrom: isoTime(heldFrom),
        daysHeld: Math.round(((to - heldFrom) / 86_400_000) * 10) / 10,
        ...(history.stoppedBy === undefined ? {} : { stoppedBy: history.stoppedBy.message }),
      },
    );
  }
  if (history.gaps.length > 0) {
    deps.logger.warn('bootstrap history has gaps: their windows were learnt as missing data, not as zeros', {
      gaps: summary.bootstrap.gaps,
    });
  }
  deps.logger.info('bootstrap written', summary.bootstrap);
  // The moment a new deploy learns from a month of records: if they are in another format, it
  // learnt nothing, and says why here rather than at the next UTC day.
  await checkFlowLogFormat(deps, summary, latest);
}

// ---------------------------------------------------------------------------------------------
// test-alert

async function runTestAlert(deps: DetectorDeps, summary: RunSummary): Promise<void> {
  const window = latestClosedWindow(deps.now(), deps.config);
  const alert = sampleTestAlert(window.start, deps.config);
  const messageId = await deps.publisher.publish(alert, { test: true });
  summary.alertsPublished = 1;
  summary.windows.push(isoTime(window.start));
  deps.logger.info('test alert published', { alertId: alert.alertId, messageId });
}
