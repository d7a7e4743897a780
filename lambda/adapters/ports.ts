/**
 * The small interfaces the handler depends on. Each has an AWS adapter (Logs Insights, DynamoDB,
 * SNS) and, where useful, a local one (files, memory) for replay and tests.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { Alert, AlertDetails, Baseline, HistoryWindow, Window } from '../core';

/** What Logs Insights (or a file) says about one window. */
export interface WindowCounts {
  windowStart: number;
  /** Blocked internal->external records per source key (lambda/core/source-key.ts). */
  counts: Map<string, number>;
  /** Distinct external destination addresses per source key. */
  uniqueDestinations: Map<string, number>;
  /** False when SKIPDATA records were seen in the window: counts are a lower bound. */
  complete: boolean;
  /** SKIPDATA records seen in the window. */
  skippedRecords: number;
  /**
   * Start of the last window the window's SKIPDATA records make incomplete (every window a
   * record's [start, end] overlaps: `skipDataWindows`); undefined without SKIPDATA. Later than
   * this window's start when a record's capture ran past its end: the caller carries it forward.
   */
  skipDataThrough?: number;
  /**
   * The longest `@ingestionTime - @timestamp` (ms) among the window's records: how late after its
   * start a record reached CloudWatch Logs. Undefined without records (or where not measured).
   */
  maxDeliveryDelayMs?: number;
  stats: QueryStatistics;
  /**
   * How the count query was split to fit the row limit, to start the next window from
   * (CountWindowOptions.splitPlan; Logs Insights: count-split-plan.ts). Opaque to the caller.
   */
  splitPlan?: string;
  /** Why the split plan given was not used (it is then rebuilt from one query): for the log. */
  splitPlanNote?: string;
}

export interface CountWindowOptions {
  /** The split plan an earlier window's WindowCounts gave, kept in the detector's state. */
  splitPlan?: string;
}

export interface QueryStatistics {
  queries: number;
  bytesScanned: number;
  recordsScanned: number;
  recordsMatched: number;
}

/** What a format check found (FlowCountSource.checkFormat). */
export interface FormatCheck {
  /** The slice of the window checked, epoch ms, end exclusive. */
  from: number;
  to: number;
  /** Records read (Logs Insights: the slice's; Athena: the first FORMAT_CHECK_SAMPLE of its files). */
  recordsScanned: number;
  /** Of them, records that do not have the configured flow log format: they can never count. */
  notInFormat: number;
}

export interface FlowCountSource {
  /** Per-source counts of one window. `deadline`: epoch ms by which to give up (Lambda time left). */
  countWindow(window: Window, deadline: number, options?: CountWindowOptions): Promise<WindowCounts>;
  /**
   * Top destinations, totals and interface ids for the given sources (keys) in one window, keyed
   * by the same keys. `stats`, when
   * given, is added to with the queries run (also when the call fails part-way): each scans the
   * window and is billed like the count query.
   */
  details(
    window: Window,
    srcIps: readonly string[],
    deadline: number,
    stats?: QueryStatistics,
  ): Promise<Map<string, SourceDetails>>;
  /**
   * Per-window, per-source counts over [from, to) for bootstrap, in window order. SKIPDATA makes
   * every window its records overlap incomplete; `skipDataThrough` is the last such window, which
   * may lie after `to` (the caller carries it forward).
   */
  history(from: number, to: number, deadline: number): Promise<HistoryResult>;
  /**
   * Counts, in the last minutes of `window`, the records that do not have the configured format
   * (a log group whose flow log writes another format reads as quiet otherwise). The run decides
   * when a check is due. Undefined: the source has nothing to check (Security Lake's one schema).
   */
  checkFormat?(window: Window, deadline: number, stats?: QueryStatistics): Promise<FormatCheck | undefined>;
}

/**
 * An alert's details, and where the source read every destination of the source, the number of
 * its distinct destination addresses (exact, where the count query's figure may not be: Logs
 * Insights' `count_distinct` is approximate at high cardinality, and over more than 50 log groups
 * the parts' figures are added up). Absent when the details are a sample (a source with more
 * destinations than the row limit).
 */
export type SourceDetails = AlertDetails & { distinctAddresses?: number };

/** A stretch of history whose query failed (after its retries): no counts, never zeros. */
export interface HistoryGap {
  /** [from, to): the windows the failed query covered. */
  from: number;
  to: number;
  /** The failure, naming the query and its window. */
  error: Error;
}

export interface HistoryResult {
  /** Every window of the range (from `heldFrom`) in order; those of a gap have no counts and are incomplete. */
  windows: HistoryWindow[];
  stats: QueryStatistics;
  /** The parts whose query failed; the windows they cover are in `windows` as gaps. */
  gaps: HistoryGap[];
  /**
   * Set when the run's time ran out before the oldest windows were queried (newest first): the
   * history holds only the windows from this one on, and `windows` starts here.
   */
  heldFrom?: number;
  /** The error that stopped the history at the deadline (a query timed out, or throttled to it). */
  stoppedBy?: Error;
  /** The last window SKIPDATA records of the history make incomplete (may be after `to`). */
  skipDataThrough?: number;
  /**
   * History queries whose results were read again from an earlier run's finished query
   * (CompletedQueries) instead of being started: not scanned, not billed a second time.
   */
  reusedQueries?: number;
}

/**
 * The finished history queries of earlier bootstraps, by what they asked (a key over their log
 * groups, time range, query string and row limit): a bootstrap that ran out of time, run again, reads the
 * slices it had counted from their stored results (GetQueryResults) instead of scanning them
 * again. CloudWatch Logs keeps a query's results for 7 days. Best effort: a key not found, or a
 * stored query no longer readable, is queried afresh.
 */
export interface CompletedQueries {
  /** The query id kept for `key`, if any (and not expired). */
  queryIdFor(key: string): Promise<string | undefined>;
  /** The query ids kept for those of `keys` that have one. */
  queryIdsFor(keys: readonly string[]): Promise<Map<string, string>>;
  /** Keeps `queryId` for `key` until `expiresAt` (epoch ms). */
  remember(key: string, queryId: string, expiresAt: number): Promise<void>;
}

/** Where the detector keeps its state between runs. */
export interface DetectorState {
  /** Start of the last committed window, undefined before the first run. */
  watermark: number | undefined;
  /** The complete-window clock after the watermark (see Baseline.clockAtLastFold). */
  clock: number;
  /**
   * The last window a SKIPDATA record of a committed window makes incomplete (its capture ran past
   * its own window): windows after the watermark up to this one are incomplete too.
   */
  skipDataThrough?: number;
  /** Set while a bootstrap replaces the baselines (ISO time it started); detection refuses to run. */
  bootstrapStarted?: string;
  /**
   * The source key format the baselines were written with (SOURCE_KEY_FORMAT); absent on state
   * written before sources were keyed by account: its baselines are keyed by address alone.
   */
  keyFormat?: string;
  /** The window after the watermark that failed in earlier runs, and how many times. */
  failingWindow?: number;
  failedAttempts?: number;
  /** The count query's split plan of the last committed window (WindowCounts.splitPlan). */
  countSplitPlan?: string;
  /**
   * The last window of the latest skip: where it is the watermark, the latest window was moved
   * over without being counted.
   */
  lastSkipped?: number;
  /**
   * The last window of the latest bootstrap's history: where it is the watermark, the latest
   * window was learnt, not decided (and its entries keep no `prev` to decide it again from).
   */
  lastBootstrapped?: number;
  /**
   * The latest window committed learn-only (a new detector's first, or the first after the
   * address-keyed upgrade): where it is the watermark, the latest window was learnt, not decided.
   * Absent on state written before it was kept.
   */
  lastLearnOnly?: number;
  /**
   * What the baselines mean beyond their numbers, as written with the last commit or bootstrap
   * (lambda/baseline-settings.ts, encoded); absent on state written before it was kept.
   */
  baselineSettings?: string;
  /**
   * The window whose baselines a commit was writing when its run stopped (set before the bucket
   * writes, removed with the watermark): some entries may hold its fold. Retried, the window reads
   * their `prev`; skipped, or passed over by a detector without state, the fold is rolled back.
   */
  foldingWindow?: number;
}

export interface PendingAlert {
  alert: Alert;
  /** Times publishing was attempted. */
  attempts: number;
}

export interface BaselineStore {
  readState(): Promise<DetectorState>;
  /** Baselines of the given source keys (absent ones are missing from the map). */
  getBaselines(srcIps: readonly string[]): Promise<Map<string, Baseline>>;
  /**
   * Commits one evaluated window: changed baselines, the decided alerts into the outbox (pending)
   * and the watermark, such that each (source, window) is folded exactly once and no decided alert
   * is lost, whatever crashes or duplicate invocations happen.
   */
  commitWindow(commit: WindowCommit): Promise<void>;
  /** Alerts written to the outbox and not yet marked sent, oldest first. */
  pendingAlerts(): Promise<PendingAlert[]>;
  markSent(alertIds: readonly string[]): Promise<void>;
}

export interface WindowCommit {
  windowStart: number;
  /** Clock before the window (for the idempotence condition) and after it. */
  clockBefore: number;
  clockAfter: number;
  baselines: Map<string, Baseline>;
  alerts: Alert[];
  /** The SKIPDATA carry after this window (DetectorState.skipDataThrough), when there is one. */
  skipDataThrough?: number;
  /** The count query's split plan after this window (DetectorState.countSplitPlan), when there is one. */
  countSplitPlan?: string;
  /** The window only learnt baselines and decided nothing (DetectorState.lastLearnOnly). */
  learnOnly?: boolean;
}

export interface AlertPublisher {
  /** Publishes one alert; returns the message id. Throws on failure (the outbox keeps it pending). */
  publish(alert: Alert, options?: { test?: boolean }): Promise<string>;
}

/** What an AWS SDK client of an account needs: its credentials (absent: the function's own) and Region. */
export interface AccountClientConfig {
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  region: string;
}

/**
 * Per-account context (issues 14 and 15): the client configuration to call AWS in another
 * account (CloudTrail lookups, EC2 Describe calls), or undefined when that account's context
 * cannot be had (no member role, AssumeRole denied): the caller then degrades (an alert without
 * the context), never fails the run.
 */
export interface AccountContext {
  clientConfigFor(accountId: string, region: string): Promise<AccountClientConfig | undefined>;
}

/** Change-aware alerts: adds the likely egress-policy change to a window's alerts. */
export interface ChangeExplainer {
  /** The alerts with their likely causes (spikes and mass spikes). Never throws, never drops an alert. */
  explain(alerts: readonly Alert[], window: Window, deadline: number): Promise<Alert[]>;
}
