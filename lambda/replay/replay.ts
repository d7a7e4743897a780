/**
 * The replay (backtest) pipeline: flow log files in, the alerts the Lambda would have raised out,
 * decided by the same pure engine.
 *
 *  1. count pass   every file (or byte range) is scanned, in parallel, into blocked-egress counts
 *                  per (window, source); records may come in any order
 *  2. evaluate     every window from the first to the last one seen, in order, quiet ones
 *                  included (they advance the complete-window clock); optionally the first days
 *                  only build baselines (bootstrap)
 *  3. details pass only the chunks holding an alerted window are read again, and only the alerted
 *                  (window, source) pairs keep destination tallies: memory stays bounded by the
 *                  alerts, not by the input, and the count pass stays lean
 */
import { availableParallelism } from 'node:os';
import { comparedModel, smallestSpikeCount, windowThreshold } from '../core/alert-threshold';
import type { Baseline } from '../core/baseline';
import { bootstrapBaselines, type HistoryWindow } from '../core/bootstrap';
import { windowMs, type DetectorConfig } from '../core/config';
import {
  alertSourceKeys,
  evaluateWindow,
  type Alert,
  type AlertKind,
  type DestinationCount,
} from '../core/detect';
import { explainAlerts } from '../core/policy-changes';
import { DEFAULT_FLOW_LOG_FORMAT, parseFlowLogFormat, type FlowLogField } from '../core/flow-log-format';
import { accountOfKey, identityOfKey, sourceLabel } from '../core/source-key';
import { DEFAULT_BASELINE_TTL_DAYS } from '../baseline-expiry';
import { compareDestinations } from '../destination-order';
import { isoTime } from '../core/windows';
import { replayEvidence, type ChangeInputs, type CloudTrailStats } from './change-files';
import { expandInputs, planChunks, regionOfPath, type InputFile, type ScanChunk } from './file-reader';
import {
  addPortRecords,
  addScanStats,
  emptyScanStats,
  portAndProtocol,
  type ChunkResult,
  type DetailsByWindow,
  type MalformedExample,
  type PairDetails,
  type ScanStats,
} from './flow-line-scanner';
import { MemoryBaselineStore } from './memory-store';
import { addHistogram, anchorAtState, plausibleStartBand } from './start-band';
import { scanChunks, type ScanSettings } from './parallel-scan';

const DAY_MS = 86_400_000;
/** Top destinations kept per alert (the total is reported beside them). */
export const TOP_DESTINATIONS = 10;
/**
 * Destination entries the count pass may tally in all (about 200 bytes each, so about 100 MB at
 * most), for gzip input, which cannot be re-read by range: blocked egress is usually a small share
 * of the records, so most gzip inputs fit and are not read a second time.
 */
export const DETAILS_BUDGET = 500_000;

export interface ReplayOptions {
  inputs: readonly string[];
  config: DetectorConfig;
  /** Baselines to start from (and to update); a fresh store when absent. */
  store?: MemoryBaselineStore;
  /** Build baselines from the first n days of windows, then detect the rest. */
  bootstrapDays?: number;
  /**
   * Worker threads for scanning. Given: used whatever the input size. Absent: the available
   * cores (at most 8) when the input is at least `parallelBytes`, else none.
   */
  workers?: number;
  /** Built worker entry; without it scanning stays in this thread. */
  workerScript?: string;
  /**
   * Scan work (plain bytes, gzip bytes counted as GZIP_EXPANSION times their size) from which
   * workers pay for their start-up; plain files above it are split into ranges. @default 256 MB
   */
  parallelBytes?: number;
  /** Destination entries the count pass may tally from gzip input for alert details; past it a details pass reads the gzip files holding alerted windows again. @default DETAILS_BUDGET */
  detailsBudget?: number;
  /** The most windows to evaluate (quiet ones included); more throw WindowSpanError. @default DEFAULT_MAX_WINDOWS */
  maxWindows?: number;
  /**
   * Only the files of this Region (by their S3 path, regionOfPath; files whose path names none
   * are read too): one Region's detector. Without it, files of several Regions whose records
   * name no VPC throw SeveralRegionsError.
   */
  region?: string;
  /**
   * Days a source's baseline is kept after its last fold (the Lambda's BASELINE_TTL_DAYS): a
   * source back after longer is new again, by the Lambda's rule (lambda/baseline-expiry.ts).
   * @default DEFAULT_BASELINE_TTL_DAYS
   */
  baselineTtlDays?: number;
  /**
   * Keep what the HTML report draws: per alerted source its counts, the expected count and the
   * count at which it would have spiked, per window. Off for a plain replay, which then keeps
   * nothing per source-window.
   */
  collectSeries?: boolean;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /**
   * Change-aware alerts: the egress-policy changes of CloudTrail log files and the interface map
   * (`--cloudtrail`, `--interface-map`); each spike and mass spike then names its likely cause.
   */
  changes?: ChangeInputs;
}

export interface ReplaySummary extends ScanStats {
  kind: 'summary';
  preset: DetectorConfig['preset'];
  files: number;
  /** Files with no row holding a start time (empty, a header line only, not flow logs): they change nothing else. */
  filesWithoutRecords: number;
  /** Files that more than one input reached (a directory and a file in it): read once, not counted here again. */
  filesNamedTwice: number;
  /** With `region`: the files of other Regions, left out (not in `files`). */
  filesInOtherRegions?: number;
  bytes: number;
  /** Scan threads used (1: this thread) and the pieces the input was split into. */
  workers: number;
  chunks: number;
  /** Distinct internal sources (an address within its account) with counted records. */
  sources: number;
  /** Distinct accounts of those sources (records that name none are not counted here). */
  accounts: number;
  firstWindow: string | null;
  lastWindow: string | null;
  /**
   * The first detected window only learned (no alerts): the run started with no state and no
   * bootstrap, as a fresh Lambda's first window does (the Lambda's run summary field).
   */
  firstWindowLearnOnly: boolean;
  /** Windows evaluated, quiet ones included (bootstrap + detection). */
  windows: number;
  bootstrapWindows: number;
  detectedWindows: number;
  /** Windows with SKIPDATA records: evaluated as incomplete, their counts a lower bound. */
  incompleteWindows: number;
  /** Windows at or before the state file's watermark: already evaluated by an earlier run. */
  windowsSkipped: number;
  alerts: number;
  alertsByKind: Record<AlertKind, number>;
  spikes: number;
  spikesSuppressedByCooldown: number;
  baselines: number;
  elapsedMs: number;
  /** Where the time went: the count pass, the window evaluation, the details pass. */
  timings: { scanMs: number; evaluateMs: number; detailsMs: number };
  /** With `--cloudtrail`: what the CloudTrail files held, and how many interface map files were read. */
  cloudTrail?: CloudTrailStats & { interfaceMaps: number };
  /** With `--cloudtrail`: spike and mass-spike alerts with a likely cause, with none found, and not known. */
  changeCauses?: { found: number; none: number; unavailable: number };
}

/** For the report: one alerted source's counts and what the detector compared them with, per window. */
export interface SourceSeries {
  /** The source key (lambda/core/source-key.ts). */
  key: string;
  /** Its address, and for people: `10.0.0.10 in 111111111111 (payments-prod)`. */
  srcIp: string;
  label: string;
  counts: number[];
  /** The expected count the window was compared with (null before the source had a baseline, and in bootstrap windows). */
  mean: (number | null)[];
  /**
   * The smallest count that would have been a spike for this source in that window (see
   * smallestSpikeCount); null where none could be (a young baseline) or nothing was decided.
   */
  spikeAt: (number | null)[];
}

export interface ReplaySeries {
  windows: number[];
  incomplete: boolean[];
  sources: SourceSeries[];
  /** Per alert (same order as `alerts`): the smallest spiking count of its source in its window; null for new sources and mass spikes. */
  alertSpikeAt: (number | null)[];
}

export interface ReplayResult {
  config: DetectorConfig;
  alerts: Alert[];
  summary: ReplaySummary;
  malformedExamples: MalformedExample[];
  store: MemoryBaselineStore;
  series?: ReplaySeries;
}

/**
 * A worker thread is quick to start (online in about 20 ms, the scan bundle loaded 8 ms later),
 * but it scans cold (its code not yet optimised: its first 29 MB piece took 83 ms where the main
 * thread's warm pieces take about 20) and it competes for the second core with what one thread
 * already keeps busy there (V8's collector and compiler threads, the file reads: one thread's
 * replay uses 0.67 s of CPU in 0.48 s). Measured on a 2-core machine, one thread was as fast as
 * two up to a few hundred MB (231 MB: scan 144-162 ms alone, 221-240 ms with a worker; earlier,
 * 0.88-0.92 s against 0.99-1.07 s in all; 462 MB: 1.42-1.54 s against 1.30-1.53 s).
 */
const DEFAULT_PARALLEL_BYTES = 256 * 1024 * 1024;
/**
 * The most scan threads a replay may start (`--workers`). Each takes some 20-30 MB (an isolate,
 * its read buffers, the kernel's memory) and CPU to start and warm up, and a scan gains
 * nothing from more threads than cores: 500 threads on a small file only exhausted memory.
 */
export const MAX_WORKERS = 32;

/**
 * The most windows a replay evaluates by default (`--max-windows`): 114 years of hourly windows,
 * 1.9 years of one-minute ones. An empty window takes under a microsecond, and each one
 * evaluated is kept in the summary and the report's series, so the bound is on time and memory.
 */
export const DEFAULT_MAX_WINDOWS = 1_000_000;

/** The longest baseline TTL, days (as the Lambda's BASELINE_TTL_DAYS allows). */
export const MAX_BASELINE_TTL_DAYS = 3650;

/** The input spans more windows than the replay may evaluate (a usage error: an option lifts it). */
export class WindowSpanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WindowSpanError';
  }
}

/**
 * The state's baselines are keyed otherwise than the input's sources (one by VPC, the other not:
 * the files' formats differ in `vpc-id`): no baseline would match, and every busy source would be
 * new. The Lambda refuses the same change (lambda/baseline-settings.ts). A usage error.
 */
export class SourceKeysChangedError extends Error {
  constructor(stateShapes: readonly string[], inputShapes: readonly string[]) {
    super(
      `the state's baselines are keyed ${stateShapes.join(' and ')}, this input's sources ${inputShapes.join(' and ')} ` +
        "(the files' flow log formats differ in vpc-id): no baseline would match, and every busy source would be " +
        'new. Replay with a new --state file (and --bootstrap-days), or inputs of the format the state was built from',
    );
    this.name = 'SourceKeysChangedError';
  }
}

/**
 * The input holds flow logs of several Regions (by their S3 paths) whose records name no VPC:
 * one account's address in two Regions would be one source, where each Region's detector keeps
 * them apart. A usage error: `--region` replays one Region.
 */
export class SeveralRegionsError extends Error {
  constructor(regions: readonly string[]) {
    super(
      `the input holds flow logs of ${regions.length} Regions (${regions.join(', ')}, by their S3 paths) whose records name no VPC: ` +
        "one account's address in two Regions (every default VPC is 172.31.0.0/16) would be one source, where each " +
        "Region's detector keeps them apart. Replay one Region at a time with --region <region>, or flow logs with vpc-id",
    );
    this.name = 'SeveralRegionsError';
  }
}

/**
 * The replay's Region and its inputs or its state file disagree: `--region` names a Region none
 * of the files are of, or the state file's baselines are of another Region's flow logs. A usage
 * error.
 */
export class RegionMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegionMismatchError';
  }
}

/** What a source key is made of (lambda/core/source-key.ts). */
const keyShape = (key: string): string =>
  identityOfKey(key).vpcId === undefined ? 'account|address' : 'account|vpc|address';

/** The shapes of the keys, stopping once both are seen. */
function keyShapes(keys: Iterable<string>): Set<string> {
  const shapes = new Set<string>();
  for (const key of keys) {
    shapes.add(keyShape(key));
    if (shapes.size === 2) break;
  }
  return shapes;
}

/** Flow log text compresses five- to tenfold (the bundled sample 5.6x): a gzip byte is that much scanning. */
const GZIP_EXPANSION = 6;

/**
 * The files one Region's replay reads, by the Region their S3 paths name (regionOfPath): those of
 * `region` and those naming none; all without it. Refuses a `region` none of the files are of
 * (nothing would be read), and a state file whose baselines are another Region's flow logs than
 * any file read or the Region asked for; stamps the state with the one Region read.
 */
function filesOfRegion(
  all: readonly InputFile[],
  region: string | undefined,
  store: MemoryBaselineStore,
): { files: InputFile[]; filesInOtherRegions: number } {
  const regionOf = new Map(all.map((f) => [f.path, regionOfPath(f.path)]));
  const files =
    region === undefined
      ? [...all]
      : all.filter((f) => regionOf.get(f.path) === undefined || regionOf.get(f.path) === region);
  const filesInOtherRegions = all.length - files.length;
  if (region !== undefined && filesInOtherRegions > 0 && files.length === 0) {
    const others = [...new Set(all.flatMap((f) => regionOf.get(f.path) ?? []))].sort();
    throw new RegionMismatchError(
      `--region ${region}: no input file is of that Region (their S3 paths name ${others.join(', ')})`,
    );
  }
  const named = new Set(files.flatMap((f) => regionOf.get(f.path) ?? []));
  const otherThanState = [...named, ...(region === undefined ? [] : [region])].filter(
    (r) => store.region !== undefined && r !== store.region,
  );
  if (otherThanState.length > 0) {
    throw new RegionMismatchError(
      `the state file's baselines are of ${store.region}'s flow logs, this replay's are of ${[...new Set(otherThanState)].sort().join(', ')}: ` +
        "each Region has its own detector. Use that Region's state file, or a new one",
    );
  }
  // The Region this replay stands for: asked for, or the one its files name (several: none).
  const stamp = region ?? (named.size === 1 ? [...named][0] : undefined);
  if (stamp !== undefined) store.region = stamp;
  return { files, filesInOtherRegions };
}

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const config = options.config;
  const baselineTtlDays = options.baselineTtlDays ?? DEFAULT_BASELINE_TTL_DAYS;
  if (!(
    Number.isInteger(baselineTtlDays) &&
    baselineTtlDays >= 1 &&
    baselineTtlDays <= MAX_BASELINE_TTL_DAYS
  ))
    throw new RangeError(
      `baselineTtlDays must be a whole number from 1 to ${MAX_BASELINE_TTL_DAYS}, not ${baselineTtlDays}`,
    );
  const length = windowMs(config);
  const store = options.store ?? new MemoryBaselineStore();
  const expanded = await expandInputs(options.inputs);
  const namedTwice = expanded.namedTwice;
  const { files, filesInOtherRegions } = filesOfRegion(expanded.files, options.region, store);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  const work = files.reduce((sum, f) => sum + f.size * (f.gzip || f.parquet ? GZIP_EXPANSION : 1), 0);
  const parallelBytes = options.parallelBytes ?? DEFAULT_PARALLEL_BYTES;
  if (
    options.workers !== undefined &&
    !(Number.isInteger(options.workers) && options.workers >= 1 && options.workers <= MAX_WORKERS)
  )
    throw new RangeError(`workers must be a whole number from 1 to ${MAX_WORKERS}, not ${options.workers}`);
  const workers = options.workers ?? (work >= parallelBytes ? Math.min(8, availableParallelism()) : 1);
  // With workers asked for explicitly, even modest files are split so that they share the work.
  const splitBytes = options.workers === undefined ? parallelBytes : Math.min(parallelBytes, 256 * 1024);
  const fields: readonly FlowLogField[] = config.flowLogFormat
    ? parseFlowLogFormat(config.flowLogFormat)
    : DEFAULT_FLOW_LOG_FORMAT;
  const chunks = await planChunks(files, workers, splitBytes, fields);
  const settings: ScanSettings = {
    scope: {
      internalCidrs: config.internalCidrs,
      excludeSourceCidrs: config.excludeSourceCidrs,
      excludeDestinationCidrs: config.excludeDestinationCidrs,
    },
    windowMinutes: config.windowMinutes,
    fields,
    mode: 'count',
    detailsBudget: Math.floor((options.detailsBudget ?? DETAILS_BUDGET) / Math.max(1, workers)),
  };
  let done = 0;
  const onBytes = options.onProgress
    ? (n: number): void => {
        done += n;
        options.onProgress?.(Math.min(done, bytes), bytes);
      }
    : undefined;

  // 1. count pass
  const scanned = await scanChunks(chunks, settings, {
    workers,
    workerScript: options.workerScript,
    onBytes,
  });
  // Rows with a start implausibly far from the rest of the data are malformed (start-band.ts):
  // the chunks holding any are read again with the band, their results replacing the first ones.
  // (Rare: a corrupt field, a millisecond timestamp; otherwise nothing is read twice.)
  const histogram = new Map<number, number>();
  for (const result of scanned) addHistogram(histogram, result.startHistogram);
  if (store.watermark !== undefined) anchorAtState(histogram, store.watermark);
  const band = plausibleStartBand(histogram, config.windowMinutes);
  if (band !== undefined) {
    const lowWindow = band.low * 1000;
    const highWindow = (band.high + 1) * 1000 - length;
    const outside = scanned.flatMap((result, i) =>
      result.minWindow < lowWindow || result.maxWindow > highWindow ? [i] : [],
    );
    if (outside.length > 0) {
      const again = await scanChunks(
        outside.map((i) => chunks[i] as ScanChunk),
        { ...settings, startBand: band },
        { workers, workerScript: options.workerScript },
      );
      outside.forEach((i, k) => (scanned[i] = again[k] as ChunkResult));
    }
  }
  const scannedAt = performance.now();
  const stats = emptyScanStats();
  const counts = new Map<number, Map<string, number>>();
  const skipData = new Set<number>();
  const examples: MalformedExample[] = [];
  let first = Number.NaN;
  let last = Number.NaN;
  // Files (whole, or every range of one) with no row holding a start time: empty, a header
  // only, a stray text file. They add nothing but lines to the summary.
  const filesWithRecords = new Set<string>();
  scanned.forEach((result, i) => {
    addScanStats(stats, result.stats);
    mergeCounts(counts, result.counts);
    for (const w of result.skipDataWindows) skipData.add(w);
    if (examples.length < 10) examples.push(...result.examples.slice(0, 10 - examples.length));
    // NaN (a chunk with no datable row) must not reset the range the other chunks found.
    if (Number.isNaN(result.minWindow)) return;
    filesWithRecords.add((chunks[i] as ScanChunk).path);
    if (!(result.minWindow >= first)) first = result.minWindow;
    if (!(result.maxWindow <= last)) last = result.maxWindow;
  });
  // The SKIPDATA carry of an earlier run (its record is not in this input): the windows it
  // reaches after the watermark are incomplete here too.
  if (store.watermark !== undefined && store.skipDataThrough !== undefined)
    for (let w = store.watermark + length; w <= store.skipDataThrough; w += length) skipData.add(w);
  const sources = new Set<string>();
  for (const perSource of counts.values()) for (const key of perSource.keys()) sources.add(key);
  const accounts = new Set<string>();
  for (const key of sources) {
    const account = accountOfKey(key);
    if (account !== undefined) accounts.add(account);
  }
  // Several Regions' records keyed without a VPC would merge one account's address across them.
  if (options.region === undefined) {
    const regions = new Set(
      [...filesWithRecords].flatMap((path) => {
        const region = regionOfPath(path);
        return region === undefined ? [] : [region];
      }),
    );
    if (regions.size > 1 && keyShapes(sources).has('account|address'))
      throw new SeveralRegionsError([...regions].sort());
  }
  if (store.baselines.size > 0 && sources.size > 0) {
    const stateShapes = keyShapes(store.baselines.keys());
    const inputShapes = keyShapes(sources);
    if (![...inputShapes].some((shape) => stateShapes.has(shape)))
      throw new SourceKeysChangedError([...stateShapes], [...inputShapes]);
  }

  // 2. evaluate every window in order
  const alerts: Alert[] = [];
  const decided = options.collectSeries ? new DecisionLog() : undefined;
  let windowsSkipped = 0;
  let firstWindowLearnOnly = false;
  let bootstrapWindows = 0;
  let detectedWindows = 0;
  let incompleteWindows = 0;
  let spikes = 0;
  let suppressed = 0;
  const evaluated: number[] = [];
  if (Number.isFinite(first) && Number.isFinite(last)) {
    let from = first;
    if (store.watermark !== undefined) {
      // A resumed run carries on from the window after the watermark, not from the first window
      // of its input: the quiet windows in between are evaluated (zero-filled) as the scheduled
      // Lambda and one replay over all the input evaluate them.
      const resume = store.watermark + length;
      windowsSkipped = Math.max(0, Math.min(last + length, resume) - first) / length;
      from = resume;
    }
    const maxWindows = options.maxWindows ?? DEFAULT_MAX_WINDOWS;
    if (!(Number.isSafeInteger(maxWindows) && maxWindows >= 1))
      throw new RangeError(`maxWindows must be a positive whole number, not ${maxWindows}`);
    const span = (last - from) / length + 1;
    if (span > maxWindows) {
      throw new WindowSpanError(
        `the input spans ${span.toLocaleString('en-US')} windows of ${config.windowMinutes} minutes ` +
          `(${isoTime(from)} to ${isoTime(last)}${from < first ? ", from the window after the state file's watermark" : ''}), ` +
          'more than --max-windows allows ' +
          `(${maxWindows.toLocaleString('en-US')}); raise --max-windows to evaluate them all`,
      );
    }
    const noCounts = new Map<string, number>();
    const windowAt = (start: number): HistoryWindow => ({
      windowStart: start,
      counts: counts.get(start) ?? noCounts,
      complete: !skipData.has(start),
    });
    const bootstrapEnd = options.bootstrapDays === undefined ? from : first + options.bootstrapDays * DAY_MS;
    if (bootstrapEnd > from) {
      // Made as bootstrapBaselines takes them, so memory does not grow with the window span.
      const history: number[] = [];
      function* historyWindows(): Generator<HistoryWindow> {
        for (let w = from; w <= last && w < bootstrapEnd; w += length) {
          history.push(w);
          yield windowAt(w);
        }
      }
      const learned = bootstrapBaselines(historyWindows(), config, {
        baselines: store.baselines,
        clock: store.clock,
      });
      if (learned.lastWindow !== undefined) {
        store.commitWindow(learned.lastWindow, learned.baselines, learned.clock);
        for (const w of history) {
          evaluated.push(w);
          if (skipData.has(w)) incompleteWindows += 1;
        }
      }
      bootstrapWindows = history.length;
      from += history.length * length;
    }
    // A detector with no state and no bootstrap learns its first window, as the Lambda does:
    // otherwise every busy source of that window would be a new-source alert.
    let learnOnly = store.watermark === undefined;
    for (let w = from; w <= last; w += length) {
      const window = windowAt(w);
      store.forgetExpired(window.counts.keys(), w, baselineTtlDays);
      decided?.before(w, store.clock, window.counts, store.baselines);
      const result = evaluateWindow({ ...window, baselines: store.baselines, clock: store.clock }, config, {
        learnOnly,
      });
      decided?.after(result.stats);
      if (learnOnly) firstWindowLearnOnly = true;
      learnOnly = false;
      store.commitWindow(w, result.updatedBaselines, result.clockAfter);
      evaluated.push(w);
      detectedWindows += 1;
      if (!window.complete) incompleteWindows += 1;
      spikes += result.stats.spikes;
      suppressed += result.stats.suppressedByCooldown;
      alerts.push(...result.alerts);
    }
  }

  const evaluatedAt = performance.now();
  // 3. details pass, for the alerted (window, source) pairs only. A mass spike stays as the
  // engine builds it (no details, uniqueDestinations null), as the Lambda leaves it
  // (detector-run.ts withDetails): its members are its content, and a details pass over all of
  // them would cost the most when it helps least.
  const perSourceAlerts = alerts.filter((alert) => alert.kind !== 'mass-spike');
  if (perSourceAlerts.length > 0)
    await attachDetails(
      perSourceAlerts,
      chunks,
      scanned,
      settings,
      workers,
      options.workerScript,
      options.detailsBudget ?? DETAILS_BUDGET,
      parallelBytes,
    );

  // 4. change causes, from the CloudTrail files: the same function the Lambda calls.
  let changeCauses: ReplaySummary['changeCauses'];
  if (options.changes !== undefined && config.policyChangeSpikes !== 'off') {
    const explained = explainAlerts(alerts, replayEvidence(options.changes), config);
    alerts.splice(0, alerts.length, ...explained);
    changeCauses = { found: 0, none: 0, unavailable: 0 };
    for (const alert of alerts) if (alert.causeLookup) changeCauses[alert.causeLookup.status] += 1;
  }

  const byKind: Record<AlertKind, number> = { spike: 0, 'new-source': 0, 'mass-spike': 0 };
  for (const alert of alerts) byKind[alert.kind] += 1;
  const summary: ReplaySummary = {
    kind: 'summary',
    preset: config.preset,
    files: files.length,
    filesWithoutRecords: files.length - filesWithRecords.size,
    filesNamedTwice: namedTwice,
    ...(options.region === undefined ? {} : { filesInOtherRegions }),
    bytes,
    workers: options.workerScript !== undefined ? Math.min(workers, chunks.length) : 1,
    chunks: chunks.length,
    ...stats,
    sources: sources.size,
    accounts: accounts.size,
    firstWindow: evaluated.length > 0 ? isoTime(evaluated[0] as number) : null,
    lastWindow: evaluated.length > 0 ? isoTime(evaluated[evaluated.length - 1] as number) : null,
    windows: evaluated.length,
    firstWindowLearnOnly,
    bootstrapWindows,
    detectedWindows,
    incompleteWindows,
    windowsSkipped,
    alerts: alerts.length,
    alertsByKind: byKind,
    spikes,
    spikesSuppressedByCooldown: suppressed,
    baselines: store.baselines.size,
    elapsedMs: Math.round(performance.now() - started),
    timings: {
      scanMs: Math.round(scannedAt - started),
      evaluateMs: Math.round(evaluatedAt - scannedAt),
      detailsMs: Math.round(performance.now() - evaluatedAt),
    },
    ...(options.changes === undefined
      ? {}
      : { cloudTrail: { ...options.changes.stats, interfaceMaps: options.changes.interfaceMaps } }),
    ...(changeCauses === undefined ? {} : { changeCauses }),
  };
  const series = decided
    ? buildSeries(alerts, evaluated, counts, skipData, decided, store, config)
    : undefined;
  // Baselines no later window can read (expired by the next one's start) leave the store and
  // the state file, as DynamoDB's TTL removes them from the Lambda's table.
  if (store.watermark !== undefined) {
    store.forgetExpired(store.baselines.keys(), store.watermark + length, baselineTtlDays);
    summary.baselines = store.baselines.size;
    // What a SKIPDATA record read so far makes incomplete beyond the last window evaluated.
    let through: number | undefined;
    for (const w of skipData) if (w > store.watermark && (through === undefined || w > through)) through = w;
    store.skipDataThrough = through;
  }
  return { config, alerts, summary, malformedExamples: examples, store, ...(series ? { series } : {}) };
}

function mergeCounts(into: Map<number, Map<string, number>>, from: Map<number, Map<string, number>>): void {
  for (const [window, perSource] of from) {
    const target = into.get(window);
    if (!target) {
      into.set(window, perSource);
      continue;
    }
    for (const [srcIp, n] of perSource) target.set(srcIp, (target.get(srcIp) ?? 0) + n);
  }
}

/**
 * The parts of the input to read again for the given windows: the recorded stretches of plain
 * files that hold one of them (adjacent ones merged), and whole gzip and Parquet files that do.
 */
export function stretchesHolding(
  windows: readonly number[],
  chunks: readonly ScanChunk[],
  scanned: readonly ChunkResult[],
): ScanChunk[] {
  // Whether a window lies in [min, max]: a binary search, so thousands of alerted windows over
  // thousands of stretches cost no more than sorting them.
  const sorted = Float64Array.from(windows).sort();
  const holds = (min: number, max: number): boolean => {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((sorted[middle] as number) < min) low = middle + 1;
      else high = middle;
    }
    return low < sorted.length && (sorted[low] as number) <= max;
  };
  const needed: ScanChunk[] = [];
  chunks.forEach((chunk, i) => {
    const result = scanned[i];
    if (result === undefined || !holds(result.minWindow, result.maxWindow)) return;
    if (chunk.gzip || chunk.parquet) {
      needed.push(chunk);
      return;
    }
    let open: ScanChunk | undefined;
    for (const segment of result.segments) {
      if (!holds(segment.minWindow, segment.maxWindow)) {
        open = undefined;
        continue;
      }
      if (open && open.to === segment.from) {
        open.to = segment.to;
      } else {
        open = {
          path: chunk.path,
          gzip: false,
          from: segment.from,
          to: segment.to,
          ...(segment.fields ? { fields: segment.fields } : {}),
          exportPrefix: segment.exportPrefix === true,
        };
        needed.push(open);
      }
    }
  });
  return needed;
}

/** The chunks' tallies merged (into `pairs`); undefined when they exceed the budget. */
function mergeDetails(
  results: readonly ChunkResult[],
  budget: number,
  pairs: DetailsByWindow = new Map(),
): DetailsByWindow | undefined {
  let entries = 0;
  for (const result of results) {
    for (const [window, perSource] of result.details) {
      let into = pairs.get(window);
      if (into === undefined) pairs.set(window, (into = new Map()));
      for (const [srcIp, pair] of perSource) {
        const target = into.get(srcIp);
        if (target === undefined) {
          into.set(srcIp, pair);
          for (const ports of pair.destinations.values()) entries += ports.length / 2;
          continue;
        }
        entries += addDestinations(target.destinations, pair.destinations);
        for (const id of pair.interfaceIds) target.interfaceIds.add(id);
      }
    }
    if (entries > budget) return undefined;
  }
  return pairs;
}

/** Adds `from`'s tallies to `into`; returns the entries it added. */
function addDestinations(into: PairDetails['destinations'], from: PairDetails['destinations']): number {
  let added = 0;
  for (const [address, ports] of from) {
    const target = into.get(address);
    if (target === undefined) {
      into.set(address, [...ports]);
      added += ports.length / 2;
      continue;
    }
    for (let i = 0; i < ports.length; i += 2)
      if (addPortRecords(target, ports[i] as number, ports[i + 1] as number)) added += 1;
  }
  return added;
}

/** The source keys an alert is about: its own, or a mass spike's members'. */
export const alertSources = (alert: Alert): string[] => alertSourceKeys(alert);

/** Adds destinations and interfaces to alerts about one source each (spikes, new sources). */
async function attachDetails(
  alerts: Alert[],
  chunks: readonly ScanChunk[],
  scanned: readonly ChunkResult[],
  settings: ScanSettings,
  workers: number,
  workerScript: string | undefined,
  budget: number,
  parallelBytes: number,
): Promise<void> {
  const wanted = new Map<number, Set<string>>();
  for (const alert of alerts) {
    const window = Date.parse(alert.windowStart);
    let set = wanted.get(window);
    if (!set) wanted.set(window, (set = new Set()));
    for (const srcIp of alertSources(alert)) set.add(srcIp);
  }
  // The count pass's tallies of the chunks where they are complete (within the budget);
  // the stretches of the other chunks that hold an alerted window are read again.
  let reread = chunks.map((_, i) => i).filter((i) => scanned[i]?.detailsComplete !== true);
  let pairs = mergeDetails(
    scanned.filter((result) => result.detailsComplete),
    budget,
  );
  if (pairs === undefined) {
    pairs = new Map();
    reread = chunks.map((_, i) => i);
  }
  const needed = stretchesHolding(
    [...wanted.keys()],
    reread.map((i) => chunks[i] as ScanChunk),
    reread.map((i) => scanned[i] as ChunkResult),
  );
  if (needed.length > 0) {
    // Threads only pay for their start-up on a large re-read; the usual few stretches are read here.
    const neededBytes = needed.reduce((sum, chunk) => sum + (chunk.to - chunk.from), 0);
    const results = await scanChunks(
      needed,
      { ...settings, mode: 'details', wanted, detailsBudget: undefined },
      { workers: neededBytes >= parallelBytes ? workers : 1, workerScript },
    );
    mergeDetails(results, Infinity, pairs);
  }
  for (const alert of alerts) {
    // One source per alert: its tallies as they are, nothing copied.
    const pair = pairs.get(Date.parse(alert.windowStart))?.get(alertSources(alert)[0] as string);
    const destinations: PairDetails['destinations'] = pair?.destinations ?? new Map();
    const interfaceIds = new Set(pair?.interfaceIds ?? []);
    // The top ones kept as they come (a few compares per entry), not every entry sorted, in the
    // Lambda's order (destination-order.ts).
    const top: DestinationCount[] = [];
    let total = 0;
    for (const [address, ports] of destinations) {
      for (let i = 0; i < ports.length; i += 2) {
        const count = ports[i + 1] as number;
        total += 1;
        const last = top[TOP_DESTINATIONS - 1];
        // Fewer records than the tenth kept: out, without making an entry (most entries are).
        if (last !== undefined && count < last.count) continue;
        const entry: DestinationCount = { address, ...portAndProtocol(ports[i] as number), count };
        if (last !== undefined && compareDestinations(last, entry) <= 0) continue;
        let at = top.length;
        while (at > 0 && compareDestinations(top[at - 1] as DestinationCount, entry) > 0) at -= 1;
        top.splice(at, 0, entry);
        if (top.length > TOP_DESTINATIONS) top.pop();
      }
    }
    alert.uniqueDestinations = destinations.size;
    alert.details = {
      topDestinations: top,
      totalDestinations: total,
      interfaceIds: [...interfaceIds].sort(),
    };
  }
}

/** At most this many sources get a chart; the summary table lists every alert. */
export const MAX_CHARTED_SOURCES = 40;
/**
 * Per-window values the charts may hold in all (counts, means and spike lines per charted source):
 * over a very long span fewer sources are charted, so a report stays tens of MB, not gigabytes.
 */
const MAX_SERIES_WINDOWS = 4_000_000;

/**
 * What the report needs to know of each evaluated window, kept in --report mode only: the clock,
 * threshold and mature sources of every window, and for every source seen the stored baseline
 * it was compared from (baselines are never changed in place, so a reference is enough). From
 * these the compared model of any source in any window follows, seen or not.
 */
class DecisionLog {
  readonly windows: number[] = [];
  readonly clocks: number[] = [];
  readonly thresholds: (number | null)[] = [];
  readonly matureSources: number[] = [];
  /** Per source, its sightings: window index and the stored baseline (undefined: none yet). */
  readonly seen = new Map<string, { index: number; stored: Baseline | undefined }[]>();

  before(
    windowStart: number,
    clock: number,
    counts: ReadonlyMap<string, number>,
    baselines: ReadonlyMap<string, Baseline>,
  ): void {
    const index = this.windows.length;
    this.windows.push(windowStart);
    this.clocks.push(clock);
    for (const [srcIp, count] of counts) {
      if (!(count > 0)) continue;
      let sightings = this.seen.get(srcIp);
      if (!sightings) this.seen.set(srcIp, (sightings = []));
      sightings.push({ index, stored: baselines.get(srcIp) });
    }
  }

  after(stats: { threshold: number | null; matureSources: number }): void {
    this.thresholds.push(stats.threshold);
    this.matureSources.push(stats.matureSources);
  }
}

/**
 * Per detected window of one source: the expected count and the smallest spiking count. In a
 * window the source was not seen in, its stored baseline is the one it was next compared from
 * (nothing changed it in between), or its final one; the window's threshold then counts it
 * among the mature sources, as it would have been had it sent records.
 */
function sourceBands(
  srcIp: string,
  log: DecisionLog,
  finalBaseline: Baseline | undefined,
  config: DetectorConfig,
): { mean: Map<number, number>; spikeAt: Map<number, number | null> } {
  const mean = new Map<number, number>();
  const spikeAt = new Map<number, number | null>();
  const sightings = log.seen.get(srcIp);
  if (!sightings) return { mean, spikeAt };
  let next = 0;
  let hint: number | undefined;
  for (let index = 0; index < log.windows.length; index += 1) {
    while (next < sightings.length && sightings[next]!.index < index) next += 1;
    const seenHere = next < sightings.length && sightings[next]!.index === index;
    const stored = next < sightings.length ? sightings[next]!.stored : finalBaseline;
    if (stored === undefined) continue; // a new source: nothing to compare with yet
    const window = log.windows[index] as number;
    const model = comparedModel(stored, log.clocks[index] as number, window, config);
    const mature = model.dataPoints >= config.minDataPoints;
    const threshold = seenHere
      ? (log.thresholds[index] ?? null)
      : config.preset === 'splunk-escu'
        ? null
        : windowThreshold(config, (log.matureSources[index] as number) + (mature ? 1 : 0));
    const spikesFrom = smallestSpikeCount(model, threshold, config, hint);
    if (spikesFrom !== null) hint = spikesFrom;
    mean.set(window, model.mean);
    spikeAt.set(window, spikesFrom);
  }
  return { mean, spikeAt };
}

function buildSeries(
  alerts: readonly Alert[],
  windows: readonly number[],
  counts: ReadonlyMap<number, ReadonlyMap<string, number>>,
  skipData: ReadonlySet<number>,
  log: DecisionLog,
  store: MemoryBaselineStore,
  config: DetectorConfig,
): ReplaySeries {
  const charted: string[] = [];
  const limit = Math.min(MAX_CHARTED_SOURCES, Math.floor(MAX_SERIES_WINDOWS / Math.max(1, windows.length)));
  // Sources with alerts of their own first, then the members of mass spikes.
  const ordered = [
    ...alerts.filter((a) => a.kind !== 'mass-spike'),
    ...alerts.filter((a) => a.kind === 'mass-spike'),
  ];
  for (const alert of ordered) {
    for (const srcIp of alertSources(alert)) {
      if (!charted.includes(srcIp) && charted.length < limit) charted.push(srcIp);
    }
  }
  const bands = new Map<string, ReturnType<typeof sourceBands>>();
  const bandsOf = (srcIp: string) => {
    let band = bands.get(srcIp);
    if (!band) bands.set(srcIp, (band = sourceBands(srcIp, log, store.baselines.get(srcIp), config)));
    return band;
  };
  return {
    windows: [...windows],
    incomplete: windows.map((w) => skipData.has(w)),
    sources: charted.map((key) => {
      const band = bandsOf(key);
      const { accountId, address } = identityOfKey(key);
      return {
        key,
        srcIp: address,
        label: sourceLabel(key, accountId === undefined ? undefined : config.accountNames?.[accountId]),
        counts: windows.map((w) => counts.get(w)?.get(key) ?? 0),
        mean: windows.map((w) => band.mean.get(w) ?? null),
        spikeAt: windows.map((w) => band.spikeAt.get(w) ?? null),
      };
    }),
    alertSpikeAt: alerts.map((alert) =>
      alert.kind === 'spike' && alert.srcIp !== undefined
        ? (bandsOf(alertSourceKeys(alert)[0] as string).spikeAt.get(Date.parse(alert.windowStart)) ?? null)
        : null,
    ),
  };
}
