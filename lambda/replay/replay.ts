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
import { bootstrapBaselines, type HistoryWindow } from '../core/bootstrap';
import { windowMs, type DetectorConfig } from '../core/config';
import { evaluateWindow, type Alert, type AlertKind, type DestinationCount } from '../core/detect';
import { DEFAULT_FLOW_LOG_FORMAT, parseFlowLogFormat, type FlowLogField } from '../core/flow-log-format';
import { isoTime } from '../core/windows';
import { expandInputs, planChunks, type ScanChunk } from './file-reader';
import {
  addScanStats,
  emptyScanStats,
  type ChunkResult,
  type MalformedExample,
  type PairDetails,
  type ScanStats,
} from './flow-line-scanner';
import { MemoryBaselineStore } from './memory-store';
import { DetailsReader, scanChunks, type ScanSettings } from './parallel-scan';

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
  /** Input size from which workers pay for their start-up; plain files above it are split into ranges. @default 32 MB */
  parallelBytes?: number;
  /** Destination entries the count pass may tally from gzip input for alert details; past it a details pass reads the gzip files holding alerted windows again. @default DETAILS_BUDGET */
  detailsBudget?: number;
  /** Keep per-source counts and baseline bands for the HTML report. */
  collectSeries?: boolean;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export interface ReplaySummary extends ScanStats {
  kind: 'summary';
  preset: DetectorConfig['preset'];
  files: number;
  bytes: number;
  /** Scan threads used (1: this thread) and the pieces the input was split into. */
  workers: number;
  chunks: number;
  /** Distinct internal sources with counted records. */
  sources: number;
  firstWindow: string | null;
  lastWindow: string | null;
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
}

/** For the report: one alerted source's counts and the baseline band, per window. */
export interface SourceSeries {
  srcIp: string;
  counts: (number | null)[];
  /** The compared baseline's mean and sd per window (null where the source had no decision). */
  mean: (number | null)[];
  sd: (number | null)[];
}

export interface ReplaySeries {
  windows: number[];
  incomplete: boolean[];
  sources: SourceSeries[];
}

export interface ReplayResult {
  config: DetectorConfig;
  alerts: Alert[];
  summary: ReplaySummary;
  malformedExamples: MalformedExample[];
  store: MemoryBaselineStore;
  series?: ReplaySeries;
}

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const config = options.config;
  const length = windowMs(config);
  const store = options.store ?? new MemoryBaselineStore();
  const files = await expandInputs(options.inputs);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  const parallelBytes = options.parallelBytes ?? 32 * 1024 * 1024;
  const workers = options.workers ?? (bytes >= parallelBytes ? Math.min(8, availableParallelism()) : 1);
  // With workers asked for explicitly, even modest files are split so that they share the work.
  const splitBytes = options.workers === undefined ? parallelBytes : Math.min(parallelBytes, 256 * 1024);
  const chunks = await planChunks(files, workers, splitBytes);
  const fields: readonly FlowLogField[] = config.flowLogFormat
    ? parseFlowLogFormat(config.flowLogFormat)
    : DEFAULT_FLOW_LOG_FORMAT;
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
  const scannedAt = performance.now();
  const stats = emptyScanStats();
  const counts = new Map<number, Map<string, number>>();
  const skipData = new Set<number>();
  const examples: MalformedExample[] = [];
  let first = Number.NaN;
  let last = Number.NaN;
  for (const result of scanned) {
    addScanStats(stats, result.stats);
    mergeCounts(counts, result.counts);
    for (const w of result.skipDataWindows) skipData.add(w);
    if (examples.length < 10) examples.push(...result.examples.slice(0, 10 - examples.length));
    if (!(result.minWindow >= first)) first = result.minWindow;
    if (!(result.maxWindow <= last)) last = result.maxWindow;
  }
  const sources = new Set<string>();
  for (const perSource of counts.values()) for (const srcIp of perSource.keys()) sources.add(srcIp);

  // With threads to spare, the details pass runs beside the evaluation (see DetailsFeed).
  const feed =
    workers > 1 && options.workerScript !== undefined
      ? new DetailsFeed(
          chunks,
          scanned,
          planDetails(chunks, scanned, options.detailsBudget ?? DETAILS_BUDGET),
          new DetailsReader(settings, options.workerScript),
          settings,
          { workers, workerScript: options.workerScript, parallelBytes },
        )
      : undefined;

  // 2. evaluate every window in order
  const alerts: Alert[] = [];
  const bands = options.collectSeries ? new Map<string, Map<number, [number, number]>>() : undefined;
  let windowsSkipped = 0;
  let bootstrapWindows = 0;
  let detectedWindows = 0;
  let incompleteWindows = 0;
  let spikes = 0;
  let suppressed = 0;
  const evaluated: number[] = [];
  if (Number.isFinite(first) && Number.isFinite(last)) {
    let from = first;
    if (store.watermark !== undefined && store.watermark >= from) {
      const resume = store.watermark + length;
      windowsSkipped = Math.max(0, Math.min(last + length, resume) - from) / length;
      from = resume;
    }
    const noCounts = new Map<string, number>();
    const windowAt = (start: number): HistoryWindow => ({
      windowStart: start,
      counts: counts.get(start) ?? noCounts,
      complete: !skipData.has(start),
    });
    const bootstrapEnd = options.bootstrapDays === undefined ? from : first + options.bootstrapDays * DAY_MS;
    if (bootstrapEnd > from) {
      const history: HistoryWindow[] = [];
      for (let w = from; w <= last && w < bootstrapEnd; w += length) history.push(windowAt(w));
      const learned = bootstrapBaselines(history, config, { baselines: store.baselines, clock: store.clock });
      if (learned.lastWindow !== undefined) {
        store.commitWindow(learned.lastWindow, learned.baselines, learned.clock);
        for (const h of history) {
          evaluated.push(h.windowStart);
          if (!h.complete) incompleteWindows += 1;
        }
      }
      bootstrapWindows = history.length;
      from += history.length * length;
    }
    for (let w = from; w <= last; w += length) {
      const window = windowAt(w);
      const result = evaluateWindow({ ...window, baselines: store.baselines, clock: store.clock }, config);
      store.commitWindow(w, result.updatedBaselines, result.clockAfter);
      evaluated.push(w);
      detectedWindows += 1;
      if (!window.complete) incompleteWindows += 1;
      spikes += result.stats.spikes;
      suppressed += result.stats.suppressedByCooldown;
      alerts.push(...result.alerts);
      if (feed) {
        const wantedHere = new Set<string>();
        for (const alert of result.alerts) for (const srcIp of alertSources(alert)) wantedHere.add(srcIp);
        feed.decided(w, wantedHere);
      }
      if (bands) {
        for (const d of result.decisions) {
          if (d.compared === null) continue;
          let perWindow = bands.get(d.srcIp);
          if (!perWindow) bands.set(d.srcIp, (perWindow = new Map()));
          perWindow.set(w, [d.compared.mean, d.compared.sd]);
        }
      }
    }
  }

  const evaluatedAt = performance.now();
  // 3. details pass, for the alerted (window, source) pairs only
  if (feed) fillDetails(alerts, await feed.finish());
  else if (alerts.length > 0)
    await attachDetails(
      alerts,
      chunks,
      scanned,
      settings,
      workers,
      options.workerScript,
      options.detailsBudget ?? DETAILS_BUDGET,
      parallelBytes,
    );

  const byKind: Record<AlertKind, number> = { spike: 0, 'new-source': 0, 'mass-spike': 0 };
  for (const alert of alerts) byKind[alert.kind] += 1;
  const summary: ReplaySummary = {
    kind: 'summary',
    preset: config.preset,
    files: files.length,
    bytes,
    workers: options.workerScript !== undefined ? Math.min(workers, chunks.length) : 1,
    chunks: chunks.length,
    ...stats,
    sources: sources.size,
    firstWindow: evaluated.length > 0 ? isoTime(evaluated[0] as number) : null,
    lastWindow: evaluated.length > 0 ? isoTime(evaluated[evaluated.length - 1] as number) : null,
    windows: evaluated.length,
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
  };
  const series = bands ? buildSeries(alerts, evaluated, counts, skipData, bands) : undefined;
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
 * files that hold one of them (adjacent ones merged), and whole gzip files that do.
 */
export function stretchesHolding(
  windows: readonly number[],
  chunks: readonly ScanChunk[],
  scanned: readonly ChunkResult[],
): ScanChunk[] {
  const holds = (min: number, max: number): boolean => windows.some((w) => w >= min && w <= max);
  const needed: ScanChunk[] = [];
  chunks.forEach((chunk, i) => {
    const result = scanned[i];
    if (result === undefined || !holds(result.minWindow, result.maxWindow)) return;
    if (chunk.gzip) {
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
  pairs = new Map<string, PairDetails>(),
): Map<string, PairDetails> | undefined {
  let entries = 0;
  for (const result of results) {
    for (const [key, pair] of result.details) {
      const into = pairs.get(key);
      if (!into) {
        pairs.set(key, pair);
        entries += pair.destinations.size;
        continue;
      }
      for (const [d, n] of pair.destinations) {
        const seen = into.destinations.get(d);
        if (seen === undefined) entries += 1;
        into.destinations.set(d, (seen ?? 0) + n);
      }
      for (const id of pair.interfaceIds) into.interfaceIds.add(id);
    }
    if (entries > budget) return undefined;
  }
  return pairs;
}

/** The sources an alert is about: its own, or a mass spike's members. */
export const alertSources = (alert: Alert): string[] =>
  alert.srcIps ?? (alert.srcIp === undefined ? [] : [alert.srcIp]);

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
  const { reread, pairs } = planDetails(chunks, scanned, budget);
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
  fillDetails(alerts, pairs);
}

interface DetailsPlan {
  /** Chunks whose stretches holding an alerted window are read again. */
  reread: number[];
  /** The count pass's tallies, where they can be used. */
  pairs: Map<string, PairDetails>;
}

/**
 * The count pass's tallies of the chunks where they are complete (within the budget); the
 * stretches of the other chunks that hold an alerted window are read again.
 */
function planDetails(
  chunks: readonly ScanChunk[],
  scanned: readonly ChunkResult[],
  budget: number,
): DetailsPlan {
  const pairs = mergeDetails(
    scanned.filter((result) => result.detailsComplete),
    budget,
  );
  if (pairs === undefined) return { reread: chunks.map((_, i) => i), pairs: new Map() };
  return { reread: chunks.map((_, i) => i).filter((i) => scanned[i]?.detailsComplete !== true), pairs };
}

/** A stretch the details pass may read: a gzip chunk whole, or one recorded segment of a plain file. */
interface DetailsUnit {
  chunk: ScanChunk;
  minWindow: number;
  maxWindow: number;
}

/**
 * The details pass fed window by window while the evaluation runs: a stretch is handed to the
 * reader (a worker thread) once every window it holds has been decided and one of them alerted,
 * so each stretch is read at most once, knowing all the sources wanted in it: the same stretches,
 * and the same tallies, as stretchesHolding after the evaluation. Results are merged in input
 * order, as there.
 */
export class DetailsFeed {
  /** By the last window they hold, for `decided`; `order` is the input order. */
  private readonly units: (DetailsUnit & { order: number })[] = [];
  private next = 0;
  /** Alerted windows so far, ascending (windows are decided in order). */
  private readonly alerted: number[] = [];
  private readonly sent: number[] = [];
  private sentBytes = 0;
  /** Past the worker's share: read at the end with every thread, as the one-pass details pass would. */
  private readonly later: (DetailsUnit & { order: number })[] = [];

  constructor(
    chunks: readonly ScanChunk[],
    scanned: readonly ChunkResult[],
    private readonly plan: DetailsPlan,
    private readonly reader: DetailsReader,
    private readonly settings: ScanSettings,
    private readonly threads: { workers: number; workerScript: string; parallelBytes: number },
  ) {
    for (const unit of detailsUnits(plan.reread, chunks, scanned)) {
      // A stretch without a single dated row holds no window (stretchesHolding skips it too).
      if (Number.isFinite(unit.minWindow) && Number.isFinite(unit.maxWindow))
        this.units.push({ ...unit, order: this.units.length });
    }
    this.units.sort((a, b) => a.maxWindow - b.maxWindow || a.order - b.order);
  }

  /** `window` is decided, with these sources alerted in it: send what can be read now. */
  decided(window: number, alertedSources: ReadonlySet<string>): void {
    if (alertedSources.size > 0) {
      this.alerted.push(window);
      this.reader.want(window, [...alertedSources]);
    }
    while (this.next < this.units.length && (this.units[this.next] as DetailsUnit).maxWindow <= window) {
      const unit = this.units[this.next] as DetailsUnit & { order: number };
      this.next += 1;
      if (!this.holdsAlerted(unit)) continue;
      // The worker reads its share while the windows are evaluated; many alerts (a noisy preset)
      // can want most of the input, which the end's re-read spreads over all threads instead.
      if (window !== Infinity && this.sentBytes < this.threads.parallelBytes) {
        this.sent.push(unit.order);
        this.sentBytes += unit.chunk.gzip ? this.threads.parallelBytes : unit.chunk.to - unit.chunk.from;
        this.reader.read(unit.chunk);
      } else {
        this.later.push(unit);
      }
    }
  }

  /** The tallies of every alerted pair: the count pass's and the stretches read. */
  async finish(): Promise<Map<string, PairDetails>> {
    this.decided(Infinity, new Set());
    const [results, laterResults] = await Promise.all([this.reader.finish(), this.readLater()]);
    // Input order, as the one-pass merge after the evaluation would have them.
    const inOrder = this.sent.map((order, i) => ({ order, result: results[i] as ChunkResult }));
    inOrder.push(...laterResults);
    inOrder.sort((a, b) => a.order - b.order);
    mergeDetails(
      inOrder.map((r) => r.result),
      Infinity,
      this.plan.pairs,
    );
    return this.plan.pairs;
  }

  /** The stretches left for the end (adjacent ones joined), read with every thread. */
  private async readLater(): Promise<{ order: number; result: ChunkResult }[]> {
    if (this.later.length === 0) return [];
    this.later.sort((a, b) => a.order - b.order);
    const stretches: { order: number; chunk: ScanChunk }[] = [];
    let open: { order: number; chunk: ScanChunk } | undefined;
    let previous = -2;
    for (const unit of this.later) {
      const { chunk } = unit;
      if (
        open &&
        !chunk.gzip &&
        unit.order === previous + 1 &&
        open.chunk.path === chunk.path &&
        open.chunk.to === chunk.from
      ) {
        open.chunk.to = chunk.to;
      } else {
        open = { order: unit.order, chunk: { ...chunk } };
        stretches.push(open);
      }
      previous = unit.order;
    }
    const bytes = stretches.reduce(
      (sum, s) => sum + (s.chunk.gzip ? Infinity : s.chunk.to - s.chunk.from),
      0,
    );
    const results = await scanChunks(
      stretches.map((s) => s.chunk),
      { ...this.settings, mode: 'details', wanted: this.reader.wantedSoFar(), detailsBudget: undefined },
      {
        workers: bytes >= this.threads.parallelBytes ? this.threads.workers : 1,
        workerScript: this.threads.workerScript,
      },
    );
    return stretches.map((s, i) => ({ order: s.order, result: results[i] as ChunkResult }));
  }

  private holdsAlerted(unit: DetailsUnit): boolean {
    // `alerted` is ascending: the first alerted window at or after the unit's start decides.
    const alerted = this.alerted;
    let lo = 0;
    let hi = alerted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((alerted[mid] as number) < unit.minWindow) lo = mid + 1;
      else hi = mid;
    }
    return lo < alerted.length && (alerted[lo] as number) <= unit.maxWindow;
  }
}

/** The stretches of the given chunks, in input order: gzip chunks whole, plain ones by segment. */
function detailsUnits(
  indices: readonly number[],
  chunks: readonly ScanChunk[],
  scanned: readonly ChunkResult[],
): DetailsUnit[] {
  const units: DetailsUnit[] = [];
  for (const i of indices) {
    const chunk = chunks[i];
    const result = scanned[i];
    if (chunk === undefined || result === undefined) continue;
    if (chunk.gzip) {
      units.push({ chunk, minWindow: result.minWindow, maxWindow: result.maxWindow });
      continue;
    }
    for (const segment of result.segments) {
      units.push({
        chunk: {
          path: chunk.path,
          gzip: false,
          from: segment.from,
          to: segment.to,
          ...(segment.fields ? { fields: segment.fields } : {}),
        },
        minWindow: segment.minWindow,
        maxWindow: segment.maxWindow,
      });
    }
  }
  return units;
}

/** Attaches the destinations, their count and the interfaces to each alert. */
function fillDetails(alerts: readonly Alert[], pairs: ReadonlyMap<string, PairDetails>): void {
  for (const alert of alerts) {
    const window = Date.parse(alert.windowStart);
    const destinations = new Map<string, number>();
    const interfaceIds = new Set<string>();
    for (const srcIp of alertSources(alert)) {
      const pair = pairs.get(`${window} ${srcIp}`);
      if (!pair) continue;
      for (const [d, n] of pair.destinations) destinations.set(d, (destinations.get(d) ?? 0) + n);
      for (const id of pair.interfaceIds) interfaceIds.add(id);
    }
    const addresses = new Set<string>();
    const ranked: DestinationCount[] = [];
    for (const [key, count] of destinations) {
      const [address = '', port = '-', protocol = '-'] = key.split(' ');
      addresses.add(address);
      ranked.push({ address, port: toNumberOrNull(port), protocol: toNumberOrNull(protocol), count });
    }
    ranked.sort(
      (a, b) => b.count - a.count || compareText(a.address, b.address) || (a.port ?? -1) - (b.port ?? -1),
    );
    alert.uniqueDestinations = addresses.size;
    alert.details = {
      topDestinations: ranked.slice(0, TOP_DESTINATIONS),
      totalDestinations: ranked.length,
      interfaceIds: [...interfaceIds].sort(),
    };
  }
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function toNumberOrNull(text: string): number | null {
  const n = Number(text);
  return text !== '' && text !== '-' && Number.isInteger(n) ? n : null;
}

/** At most this many sources get a chart; the summary table lists every alert. */
export const MAX_CHARTED_SOURCES = 40;

function buildSeries(
  alerts: readonly Alert[],
  windows: readonly number[],
  counts: ReadonlyMap<number, ReadonlyMap<string, number>>,
  skipData: ReadonlySet<number>,
  bands: ReadonlyMap<string, ReadonlyMap<number, [number, number]>>,
): ReplaySeries {
  const charted: string[] = [];
  // Sources with alerts of their own first, then the members of mass spikes.
  const ordered = [
    ...alerts.filter((a) => a.kind !== 'mass-spike'),
    ...alerts.filter((a) => a.kind === 'mass-spike'),
  ];
  for (const alert of ordered) {
    for (const srcIp of alertSources(alert)) {
      if (!charted.includes(srcIp) && charted.length < MAX_CHARTED_SOURCES) charted.push(srcIp);
    }
  }
  return {
    windows: [...windows],
    incomplete: windows.map((w) => skipData.has(w)),
    sources: charted.map((srcIp) => {
      const band = bands.get(srcIp);
      return {
        srcIp,
        counts: windows.map((w) => counts.get(w)?.get(srcIp) ?? 0),
        mean: windows.map((w) => band?.get(w)?.[0] ?? null),
        sd: windows.map((w) => band?.get(w)?.[1] ?? null),
      };
    }),
  };
}
