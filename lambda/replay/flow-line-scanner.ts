/**
 * The hot loop of the replay: flow log lines, as bytes, to blocked-egress counts per window and
 * source. It works on Buffers and touches as few bytes as it can (a JS byte loop is the cost):
 * v2 rows ending `ACCEPT OK` or `REJECT OK` go through the WebAssembly kernel (line-kernel.wat:
 * ACCEPT rows and REJECT rows whose addresses its table holds are read whole there, and only
 * rows that count come back) or, with the kernel off, take the same fast paths in JavaScript
 * (word-wise reads, addresses found in a cache by their bytes); other rows that cannot count
 * (ACCEPT, NODATA, SKIPDATA) are read from their last fields only; everything else is split with
 * a byte loop (no regex) and checked field by field. Strings are made only for addresses (once
 * each) and the destinations tallied.
 */
import {
  ADDRESS_COUNTS_AS_DESTINATION,
  ADDRESS_COUNTS_AS_SOURCE,
  ADDRESS_VALID,
  type EgressFilter,
} from '../core/addresses';
import {
  DEFAULT_FLOW_LOG_FORMAT,
  FLOW_LOG_FIELDS,
  parseFlowLogFormat,
  type FlowLogField,
} from '../core/flow-log-format';
import { accountOfRecord, sourceKey, vpcOfRecord } from '../core/source-key';
import { alignToWindow, isoTime, skipDataWindows } from '../core/windows';
import {
  ACCEPTED,
  ADDRESS_KEY,
  ADDRESS_LENGTH,
  ADDRESS_RECORD_BYTES,
  ADDRESS_ROLES,
  ADDRESS_SLOT_BITS,
  BAND_HIGH,
  BAND_LOW,
  COUNT_HERE,
  COUNT_WINDOW_HIGH,
  COUNT_WINDOW_LOW,
  COUNTED,
  DIRTY_SLOTS,
  DONE,
  EARLIEST_START,
  LATEST_START,
  newLineKernel,
  RECORD_SLOTS,
  RECORDS,
  SLOT_ACCOUNT_BYTES,
  SLOT_ACCOUNT_LENGTH,
  STOPPED_LINE_END,
  NOT_LOOKED_UP,
  PAUSED,
  REJECTED,
  slotOfMissing,
  START_BUCKET_BITS,
  START_BUCKETS,
  type LineKernel,
} from './line-kernel';

export interface ScanStats {
  linesRead: number;
  blankLines: number;
  malformedLines: number;
  headerLines: number;
  /**
   * Header lines (text) and Parquet files whose fields are not the configured format (`--format`,
   * or `flowLogFormat` of `--config`): the replay reads them by their own fields, the Lambda does
   * not (its Athena table reads every file by the configured format, text by position; Logs
   * Insights parses every record by it), so the two may count them differently.
   */
  headersInOtherFormat: number;
  /** Rows with log-status OK (any action). */
  okRecords: number;
  noDataRecords: number;
  skipDataRecords: number;
  rejectRecords: number;
  /** REJECT/OK rows from an internal source to an external destination: what the detector counts. */
  recordsCounted: number;
}

export const emptyScanStats = (): ScanStats => ({
  linesRead: 0,
  blankLines: 0,
  malformedLines: 0,
  headerLines: 0,
  headersInOtherFormat: 0,
  okRecords: 0,
  noDataRecords: 0,
  skipDataRecords: 0,
  rejectRecords: 0,
  recordsCounted: 0,
});

export function addScanStats(into: ScanStats, from: ScanStats): void {
  for (const key of Object.keys(into) as (keyof ScanStats)[]) into[key] += from[key];
}

/** A malformed line kept as an example for the user (the first few per chunk). */
export interface MalformedExample {
  file: string;
  /** Byte offset of the line in the (decompressed) file. */
  offset: number;
  reason: string;
  text: string;
}

/**
 * Per (window, source) destination tallies, for alerts' details: destination address -> its
 * (portProtocolKey(port, protocol), records) pairs, flat: `[key, records, key, records, ...]`.
 * So a record costs one lookup, a short scan (an address sees a port or two) and no new string
 * (the address is the scanner's interned text), and a new address a small array, not a Map.
 */
export interface PairDetails {
  destinations: Map<string, number[]>;
  /** Interface ids seen (`-` and empty left out, as the Lambda's details query does). */
  interfaceIds: Set<string>;
}

/** Window start -> source key -> its tallies. */
export type DetailsByWindow = Map<number, Map<string, PairDetails>>;

/**
 * A destination's port and protocol as one number: port 0-65535 and protocol 0-255, or -1 for
 * `-`, empty or anything else (shown as no port or protocol).
 */
export const portProtocolKey = (port: number, protocol: number): number =>
  (port >= 0 && port <= 0xffff ? port + 1 : 0) * 512 + (protocol >= 0 && protocol <= 0xff ? protocol + 1 : 0);

/** Adds `records` for `key` to an address's flat (key, records) pairs; true when the key is new there. */
export function addPortRecords(ports: number[], key: number, records: number): boolean {
  for (let i = 0; i < ports.length; i += 2) {
    if (ports[i] === key) {
      ports[i + 1] = (ports[i + 1] as number) + records;
      return false;
    }
  }
  ports.push(key, records);
  return true;
}

/** The port and protocol (null: none) of a portProtocolKey. */
export function portAndProtocol(key: number): { port: number | null; protocol: number | null } {
  const port = Math.floor(key / 512) - 1;
  const protocol = (key % 512) - 1;
  return { port: port < 0 ? null : port, protocol: protocol < 0 ? null : protocol };
}

export type Mode = 'count' | 'details';

export interface ScannerOptions {
  filter: EgressFilter;
  windowMinutes: number;
  /** The format lines have until a header line says otherwise. */
  fields: readonly FlowLogField[];
  mode: Mode;
  /** details mode: window start -> source keys whose destinations are wanted. */
  wanted?: ReadonlyMap<number, ReadonlySet<string>>;
  /** Malformed examples kept per scanner. @default 5 */
  maxExamples?: number;
  /**
   * Destination entries (address, port, protocol per window and source) the scanner may tally;
   * past it the tallies are incomplete and the details pass reads the alerted pairs again.
   * @default count mode 0, details mode unlimited
   */
  detailsBudget?: number;
  /**
   * Read the commonest rows (ACCEPT rows, and REJECT rows of plain IPv4 in the default v2
   * format) the fast way. @default true; false reads every line the general way: the reference
   * the fast paths are tested against.
   */
  fastPaths?: boolean;
  /**
   * The start times (epoch seconds, inclusive) a row may have; a row outside is malformed.
   * @default the hard bound: 0 to MAX_START_SECONDS
   */
  startBand?: StartBand;
  /**
   * Run the fast paths of v2-format lines in the WebAssembly kernel (line-kernel.wat).
   * @default true (with fastPaths); false: the same fast paths in JavaScript.
   */
  kernel?: boolean;
}

/**
 * The latest start a row may have: epoch seconds in 32 bits (2106-02-07). Anything larger is no
 * time in epoch seconds (a millisecond timestamp, a corrupt field) and would make the replay
 * evaluate every window up to it.
 */
export const MAX_START_SECONDS = 0xffffffff;

/** Start times a row may have (epoch seconds, inclusive), and why, for the malformed reason. */
export interface StartBand {
  low: number;
  high: number;
  /** Where the rest of the data is, for the reason (start-band.ts: `most of it is from about ...`). */
  why: string;
}

const HARD_BAND: StartBand = { low: 0, high: MAX_START_SECONDS, why: '' };

const SPACE = 32;
const DASH = 45;
const TAB = 9;
/** The UTF-8 byte order mark. */
export const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
export const startsWithBom = (buffer: Uint8Array, from: number, to: number): boolean =>
  to - from >= 3 && buffer[from] === 0xef && buffer[from + 1] === 0xbb && buffer[from + 2] === 0xbf;
const CR = 13;
const LF = 10;
const MAX_FIELDS = FLOW_LOG_FIELDS.length;
const FIELD_NAMES = new Set<string>(FLOW_LOG_FIELDS);

interface Layout {
  fields: readonly FlowLogField[];
  count: number;
  src: number;
  dst: number;
  /** account-id and vpc-id (-1: not in the format): with the address, they key a source. */
  account: number;
  vpc: number;
  start: number;
  end: number;
  action: number;
  status: number;
  dstPort: number;
  protocol: number;
  interfaceId: number;
  /**
   * Fields counted from the end of the line that hold action, log-status and start (0: the
   * layout does not allow the tail fast path).
   */
  tail: number;
  /** The format ends `start end action log-status`, as v2 does: ACCEPT rows take the fastest path. */
  v2Tail: boolean;
  /** The default v2 format exactly: REJECT rows of plain IPv4 take the fast path too. */
  v2: boolean;
}

/** The tail fast path reads at most this many fields from the end of a line. */
const MAX_TAIL = 8;

function layoutOf(fields: readonly FlowLogField[]): Layout {
  return {
    fields,
    count: fields.length,
    src: fields.indexOf('srcaddr'),
    dst: fields.indexOf('dstaddr'),
    account: fields.indexOf('account-id'),
    vpc: fields.indexOf('vpc-id'),
    start: fields.indexOf('start'),
    end: fields.indexOf('end'),
    action: fields.indexOf('action'),
    status: fields.indexOf('log-status'),
    dstPort: fields.indexOf('dstport'),
    protocol: fields.indexOf('protocol'),
    interfaceId: fields.indexOf('interface-id'),
    tail: tailOf(fields),
    v2Tail: fields.length > 4 && fields.slice(-4).join(' ') === 'start end action log-status',
    v2: fields.join(' ') === DEFAULT_FLOW_LOG_FORMAT.join(' '),
  };
}

function tailOf(fields: readonly FlowLogField[]): number {
  const first = Math.min(
    ...(['action', 'start', 'log-status'] as const).map((f) => fields.indexOf(f)).filter((i) => i >= 0),
  );
  const tail = fields.length - first;
  return tail <= MAX_TAIL ? tail : 0;
}

/** What one scanned chunk (a file or a byte range) yielded. Structured-cloneable, for workers. */
export interface ChunkResult {
  stats: ScanStats;
  /** window start -> source key (lambda/core/source-key.ts) -> blocked egress records. */
  counts: Map<number, Map<string, number>>;
  /** Windows touched by a SKIPDATA row: their counts are a lower bound. */
  skipDataWindows: Set<number>;
  /** Earliest and latest window of any row with a valid start time (NaN: none). */
  minWindow: number;
  maxWindow: number;
  /** Rows with a valid start time by start >>> START_BUCKET_BITS (about 18 hours a bucket). */
  startHistogram: Map<number, number>;
  examples: MalformedExample[];
  /** Destination tallies (details mode: the wanted pairs; count mode: within the budget). */
  details: DetailsByWindow;
  /** False when the budget ran out: some pairs' tallies miss records. */
  detailsComplete: boolean;
  /**
   * The windows found in each stretch of the input (about 256 KB each), so the details
   * pass re-reads only the stretches that hold an alerted window. Offsets are in the
   * decompressed stream; only plain files can be re-read by range.
   */
  segments: Segment[];
  /**
   * The format in force after the chunk's last line: a range of a plain file after this one is
   * read with it (parallel-scan.ts reads a range again when it was given another).
   */
  endFields: FlowLogField[];
}

export interface Segment {
  from: number;
  to: number;
  minWindow: number;
  maxWindow: number;
  /** The format in force at `from`, when a header line changed it. */
  fields?: FlowLogField[];
  /** The lines carry a CloudWatch Logs export's timestamp in front (see exportPrefixEnd). */
  exportPrefix?: boolean;
}

export class FlowLineScanner {
  stats = emptyScanStats();
  counts = new Map<number, Map<string, number>>();
  skipDataWindows = new Set<number>();
  minWindow = Number.NaN;
  maxWindow = Number.NaN;
  examples: MalformedExample[] = [];
  details: DetailsByWindow = new Map();
  segments: Segment[] = [];
  detailsComplete = true;
  private detailEntries = 0;
  private detailsBudget: number;
  private band: StartBand;
  /** Rows read with a valid start, by start >>> START_BUCKET_BITS (the kernel keeps its own). */
  private readonly histogram = new Uint32Array(START_BUCKETS);
  private segmentMin = Number.NaN;
  private segmentMax = Number.NaN;

  private layout: Layout;
  private readonly defaultLayout: Layout;
  private readonly configuredFields: readonly FlowLogField[];
  private readonly filter: EgressFilter;
  private readonly windowMs: number;
  private readonly windowConfig: { windowMinutes: number };
  private mode: Mode;
  private wanted: ReadonlyMap<number, ReadonlySet<string>> | undefined;
  /** pairFor's last window, its wanted sources and its tallies. */
  private pairWindow = Number.NaN;
  private pairWanted: ReadonlySet<string> | undefined;
  private pairTallies: Map<string, PairDetails> | undefined;
  private readonly maxExamples: number;
  private readonly starts = new Int32Array(MAX_FIELDS + 1);
  private readonly ends = new Int32Array(MAX_FIELDS + 1);
  private readonly addresses = new AddressInterner();
  private readonly interfaceIds = new AddressInterner();
  private readonly addressCache: AddressCache;
  private currentWindow = Number.NaN;
  private currentCounts: Map<string, number> | undefined;
  private file = '';
  private rereadable = false;
  private fastPaths: boolean;
  private readonly useKernel: boolean;
  /** Made when first needed: 18 MB of memory that scanners of other formats never use. */
  private kernel: LineKernel | undefined;
  /** Where the first nine fields of a counted row start (countedRow). */
  private readonly rowStarts = new Int32Array(9);
  /**
   * The address texts of the kernel's address table, by slot, and the source keys of the rows
   * the kernel counted, by slot (its address in its account). Made with the kernel, one entry a
   * slot: an empty array written at scattered slots becomes a hash table in V8 (dictionary
   * elements), which made every fill and every read of them a look-up.
   */
  private kernelTexts: string[] = [];
  private kernelKeys: (string | undefined)[] = [];
  /** Account-id and vpc-id texts, as addresses are interned. */
  private readonly scopeTexts = new AddressInterner();
  /** Source keys by the record's account-id text (and vpc-id), then by address: made once each. */
  private readonly sourceKeys = new Map<string, Map<string, string>>();

  constructor(options: ScannerOptions) {
    this.filter = options.filter;
    this.addressCache = new AddressCache(options.filter);
    this.windowConfig = { windowMinutes: options.windowMinutes };
    this.windowMs = options.windowMinutes * 60_000;
    this.defaultLayout = layoutOf(options.fields);
    this.configuredFields = options.fields;
    this.layout = this.defaultLayout;
    this.mode = options.mode;
    this.wanted = options.wanted;
    this.maxExamples = options.maxExamples ?? 5;
    this.detailsBudget = options.detailsBudget ?? (options.mode === 'details' ? Infinity : 0);
    this.band = options.startBand ?? HARD_BAND;
    this.fastPaths = options.fastPaths ?? true;
    this.useKernel = this.fastPaths && (options.kernel ?? true);
  }

  /**
   * Starts another pass with this scanner (a details pass after the count pass): its address
   * table and caches, which depend only on the filter, stay warm. Call between chunks.
   */
  startPass(pass: Pick<ScannerOptions, 'mode' | 'wanted' | 'detailsBudget' | 'startBand'>): void {
    this.mode = pass.mode;
    this.wanted = pass.wanted;
    this.band = pass.startBand ?? HARD_BAND;
    this.detailsBudget = pass.detailsBudget ?? (pass.mode === 'details' ? Infinity : 0);
    this.detailEntries = 0;
    this.takeResult();
  }

  /**
   * The start histogram since the last call, sparse, both counters (this one and the kernel's)
   * cleared. Only the buckets the rows' windows can reach are read.
   */
  private takeHistogram(): Map<number, number> {
    const taken = new Map<number, number>();
    if (Number.isNaN(this.minWindow)) return taken;
    const from = Math.floor(this.minWindow / 1000) >>> START_BUCKET_BITS;
    const to = Math.min(
      START_BUCKETS - 1,
      Math.floor((this.maxWindow + this.windowMs - 1) / 1000) >>> START_BUCKET_BITS,
    );
    const own = this.histogram;
    const kernel = this.kernel;
    for (let bucket = from; bucket <= to; bucket += 1) {
      let rows = own[bucket] as number;
      own[bucket] = 0;
      if (kernel) {
        rows += kernel.uint32[kernel.histogramIndex + bucket] as number;
        kernel.uint32[kernel.histogramIndex + bucket] = 0;
      }
      if (rows > 0) taken.set(bucket, rows);
    }
    return taken;
  }

  /** Hands over what was scanned since the last call and starts afresh (the caches stay warm). */
  takeResult(): ChunkResult {
    const result: ChunkResult = {
      stats: this.stats,
      counts: this.counts,
      skipDataWindows: this.skipDataWindows,
      minWindow: this.minWindow,
      maxWindow: this.maxWindow,
      startHistogram: this.takeHistogram(),
      examples: this.examples,
      details: this.details,
      segments: this.segments,
      detailsComplete: this.detailsComplete,
      endFields: [...this.layout.fields],
    };
    this.stats = emptyScanStats();
    this.counts = new Map();
    this.skipDataWindows = new Set();
    this.minWindow = Number.NaN;
    this.maxWindow = Number.NaN;
    this.examples = [];
    this.details = new Map();
    this.segments = [];
    // detailEntries carries on: the budget holds for the scanner's life, so for the whole run.
    this.detailsComplete = true;
    this.currentWindow = Number.NaN;
    this.currentCounts = undefined;
    this.pairWindow = Number.NaN;
    this.pairTallies = undefined;
    return result;
  }

  /**
   * Starts a new file (or a byte range of one): its lines have `fields` until a header says
   * otherwise. `rereadable`: a details pass can read its stretches again (a plain file).
   * `exportPrefix`: whether the lines carry a CloudWatch Logs export's timestamp in front, which
   * is then dropped from each line before it is read; undefined: the first line that is not
   * blank decides (isExportLine), so give it for a range that starts mid-file.
   */
  beginFile(
    file: string,
    fields?: readonly FlowLogField[],
    rereadable = false,
    exportPrefix?: boolean,
  ): void {
    this.file = file;
    this.rereadable = rereadable;
    this.layout = fields ? layoutOf(fields) : this.defaultLayout;
    this.exportPrefix = exportPrefix;
    this.unchecked = true;
  }

  /**
   * Whether this file's lines carry an export timestamp (undecided until a line that is not blank
   * is seen, or given by beginFile).
   */
  private exportPrefix: boolean | undefined;
  /**
   * The next data line takes the general path, which checks its field count: true at the start
   * of each file and after each header, until a line has the format's field count. The fast
   * paths read only the end of a line, so a format that does not match the lines (a field too
   * many, say) is caught here, and every line of such a file is read the general way and
   * reported malformed, ACCEPT rows included.
   */
  private unchecked = true;
  /** The lines of an export, their timestamps dropped (see scanExport). */
  private exportLines: Buffer = Buffer.alloc(0);
  /**
   * While scanExport reads exportLines: where each of its lines starts there, and the bytes
   * dropped before that line, to give a malformed line's file offset (where its timestamp is).
   */
  private readonly exportLineStarts: number[] = [];
  private readonly exportDropped: number[] = [];
  /** File offset of exportLines[0] while scanExport reads it; NaN otherwise. */
  private exportBase = Number.NaN;

  /**
   * Scans the complete lines in `buffer[from, to)`; `to` is at a line end or at the end of the
   * input. `baseOffset` is the file offset of `buffer[0]`, for messages.
   */
  scan(buffer: Buffer, from: number, to: number, baseOffset: number): void {
    // A UTF-8 byte order mark (PowerShell's UTF8 encoding writes one) is not part of the first
    // line: left in, it would hide a header and make every line of a custom format malformed.
    // The stretch is still the file's from its first byte, so a details pass re-reads it from
    // there (and skips the mark again) rather than from mid-line.
    const fileFrom = baseOffset + from;
    const start = fileFrom === 0 && startsWithBom(buffer, from, to) ? from + BOM.length : from;
    this.exportPrefix ??= this.startsWithExportLine(buffer, start, to);
    if (this.exportPrefix === true) this.scanExport(buffer, start, to, baseOffset, fileFrom);
    else this.scanStretch(buffer, start, to, baseOffset, fileFrom, baseOffset + to);
  }

  /**
   * Whether the first line of `buffer[from, to)` that is not blank is an export line in the format
   * in force; undefined when all are blank.
   */
  private startsWithExportLine(buffer: Buffer, from: number, to: number): boolean | undefined {
    let lineStart = from;
    while (lineStart < to) {
      let lineEnd = buffer.indexOf(LF, lineStart);
      if (lineEnd < 0 || lineEnd > to) lineEnd = to;
      if (fieldCount(buffer, lineStart, lineEnd) > 0)
        return isExportLine(buffer, lineStart, lineEnd, this.layout.count);
      lineStart = lineEnd + 1;
    }
    return undefined;
  }

  /**
   * Scans the lines of a CloudWatch Logs export (`<ISO-8601 time> <record>`): each line's
   * timestamp is dropped as it is copied into exportLines, which every path (the kernel's
   * included) then reads as the record alone. Lines without one are read as they are.
   */
  private scanExport(
    buffer: Buffer,
    from: number,
    to: number,
    baseOffset: number,
    fileFrom = baseOffset + from,
  ): void {
    if (this.exportLines.length < to - from)
      this.exportLines = Buffer.allocUnsafe(Math.max(to - from, 2 * this.exportLines.length));
    const lines = this.exportLines;
    const lineStarts = this.exportLineStarts;
    const dropped = this.exportDropped;
    lineStarts.length = 0;
    dropped.length = 0;
    let length = 0;
    let droppedSoFar = 0;
    let lineStart = from;
    while (lineStart < to) {
      let next = buffer.indexOf(LF, lineStart);
      next = next < 0 || next >= to ? to : next + 1;
      const recordStart = exportPrefixEnd(buffer, lineStart, next);
      lineStarts.push(length);
      dropped.push(droppedSoFar);
      if (recordStart > lineStart) droppedSoFar += recordStart - lineStart;
      length += buffer.copy(lines, length, Math.max(recordStart, lineStart), next);
      lineStart = next;
    }
    this.exportBase = baseOffset + from;
    try {
      this.scanStretch(lines, 0, length, 0, fileFrom, baseOffset + to);
    } finally {
      this.exportBase = Number.NaN;
    }
  }

  /** The file offset of `position` (baseOffset + index, as the paths compute it) for messages. */
  private fileOffset(position: number): number {
    if (Number.isNaN(this.exportBase)) return position;
    // position is an index into exportLines: add the bytes dropped before its line.
    const lineStarts = this.exportLineStarts;
    let low = 0;
    let high = lineStarts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((lineStarts[middle] as number) <= position) low = middle + 1;
      else high = middle;
    }
    return this.exportBase + position + (low > 0 ? (this.exportDropped[low - 1] as number) : 0);
  }

  /**
   * scan's work on `buffer[from, to)`, whose lines are the file's `[fileFrom, fileTo)` (the same
   * bytes, or an export's with their timestamps dropped).
   */
  private scanStretch(
    buffer: Buffer,
    from: number,
    to: number,
    baseOffset: number,
    fileFrom: number,
    fileTo: number,
  ): void {
    const layoutAtStart = this.layout;
    this.segmentMin = Number.NaN;
    this.segmentMax = Number.NaN;
    this.accepted = 0;
    this.fastLow = Infinity;
    this.fastHigh = -Infinity;
    // The fast paths (and the kernel) split on spaces, as AWS writes the records. A stretch with a
    // tab anywhere (a file someone edited) takes the general path, which splits on tabs too: one
    // memchr over the stretch, where a tab beside a space would otherwise stay inside a field.
    const tabbed = buffer.subarray(from, to).indexOf(TAB) >= 0;
    const fastPaths = this.fastPaths;
    if (tabbed) this.fastPaths = false;
    try {
      if (this.useKernel && this.layout.v2 && !tabbed) this.scanWithKernel(buffer, from, to, baseOffset);
      else
        this.scanLines(
          buffer,
          from,
          to,
          baseOffset,
          new DataView(buffer.buffer, buffer.byteOffset, buffer.length),
        );
    } finally {
      this.fastPaths = fastPaths;
    }
    this.stats.linesRead += this.accepted;
    this.stats.okRecords += this.accepted;
    if (this.fastLow !== Infinity) {
      this.seeWindow(this.fastLow);
      this.seeWindow(this.fastHigh);
    }
    if (fileTo > fileFrom) {
      this.segments.push({
        from: fileFrom,
        to: fileTo,
        minWindow: this.segmentMin,
        maxWindow: this.segmentMax,
        ...(layoutAtStart === this.defaultLayout ? {} : { fields: [...layoutAtStart.fields] }),
        ...(this.exportPrefix === true ? { exportPrefix: true } : {}),
      });
    }
  }

  /**
   * ACCEPT rows read by this scan call's fast paths, and the earliest and latest windows of the
   * rows read there whole (ACCEPT rows, and REJECT rows the kernel read whole).
   */
  private accepted = 0;
  private fastLow = 0;
  private fastHigh = 0;

  /**
   * The loop over lines, on its own: V8 optimises it while it runs (on-stack replacement), and
   * code after the loop, run once per call, would throw that optimised code away every call.
   */
  private scanLines(
    buffer: Buffer,
    from: number,
    to: number,
    baseOffset: number,
    // Made once per buffer by the caller: a DataView costs far more than reading one line.
    words: DataView,
  ): void {
    const starts = this.starts;
    const ends = this.ends;
    const windowMs = this.windowMs;
    const fast = this.fastPaths;
    const bandLow = this.band.low;
    const bandHigh = this.band.high;
    const histogram = this.histogram;
    // ACCEPT rows of the v2 order, counted in locals and folded into the stats after the loop.
    let accepted = 0;
    let low = Infinity;
    let high = -Infinity;
    let lineStart = from;
    while (lineStart < to) {
      // Buffer#indexOf (memchr) finds line ends far faster than a byte loop in JS.
      let lineEnd = buffer.indexOf(LF, lineStart);
      if (lineEnd < 0 || lineEnd > to) lineEnd = to;
      let action = 0; // v2-order tail: 1 ACCEPT OK, 2 REJECT OK
      if (fast && !this.unchecked && this.layout.v2Tail) {
        // `... start end ACCEPT OK` and `... start end REJECT OK`, the commonest rows by far:
        // action, log-status and start read from the line's last bytes, four at a time.
        let e = lineEnd;
        if (buffer[e - 1] === CR) e -= 1;
        if (e - lineStart > 34 && words.getUint16(e - 2, true) === OK_LE) {
          const head = words.getUint32(e - 10, true);
          const tail = words.getUint32(e - 6, true);
          if (head === ACCEPT_HEAD_LE && tail === ACCEPT_TAIL_LE) action = 1;
          else if (head === REJECT_HEAD_LE && tail === REJECT_TAIL_LE) action = 2;
        }
        if (action !== 0) {
          let seconds = -1;
          let startSpace = -1;
          // AWS writes start and end as 10-digit epoch seconds (until 2286): parse that shape
          // without a byte loop, anything else digit by digit.
          if (buffer[e - 21] === SPACE && buffer[e - 32] === SPACE && !hasSpace(words, buffer, e - 20)) {
            seconds = tenDigits(words, buffer, e - 31);
            startSpace = e - 32;
          }
          if (seconds < 0) {
            let i = e - 11;
            while (i > lineStart && buffer[i] !== SPACE) i -= 1; // back over `end`
            const endFieldEmpty = i === e - 11;
            i -= 1;
            let value = 0;
            let place = 1;
            let digits = 0;
            while (i > lineStart) {
              const d = (buffer[i] as number) - 48;
              if (d < 0 || d > 9) break;
              value += d * place;
              place *= 10;
              i -= 1;
              digits += 1;
            }
            if (!endFieldEmpty && buffer[i] === SPACE && digits > 0 && digits <= 15 && i > lineStart) {
              seconds = value;
              startSpace = i;
            }
          }
          // A start outside the band: the general path says why the line is malformed.
          if (seconds >= bandLow && seconds <= bandHigh) {
            const ms = seconds * 1000;
            let window = this.lastWindowStart;
            if (!(ms >= window && ms < window + windowMs)) window = this.windowOf(ms);
            if (action === 1) {
              if (window < low) low = window;
              if (window > high) high = window;
              accepted += 1;
              const bucket = seconds >>> START_BUCKET_BITS;
              histogram[bucket] = (histogram[bucket] as number) + 1;
              lineStart = lineEnd + 1;
              continue;
            }
            if (this.layout.v2 && this.rejectV2(buffer, words, lineStart, startSpace, window, seconds)) {
              lineStart = lineEnd + 1;
              continue;
            }
          }
        }
      }
      // The tail path is for rows that cannot count, of other orders or odd shapes; a REJECT OK
      // row the v2 fast path handed over needs the general path.
      if (
        fast &&
        !this.unchecked &&
        this.layout.tail > 0 &&
        action !== 2 &&
        this.tailOnly(buffer, lineStart, lineEnd)
      ) {
        lineStart = lineEnd + 1;
        continue;
      }
      // The general path: single spaces separate fields (as AWS writes them); anything else
      // takes the tolerant split in line().
      let n = 0;
      let tab = false;
      starts[0] = lineStart;
      for (let i = lineStart; i < lineEnd; i += 1) {
        const c = buffer[i];
        if (c === SPACE) {
          ends[n] = i;
          n += 1;
          if (n > MAX_FIELDS) break;
          starts[n] = i + 1;
        } else if (c === TAB) tab = true;
      }
      if (n <= MAX_FIELDS) {
        ends[n] = lineEnd > lineStart && buffer[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
        n += 1;
      }
      // A tab separates fields too: a tab beside a space would stay inside a field of the right
      // count (an account id that is not 12 digits, a status that is not OK).
      this.line(buffer, lineStart, lineEnd, tab ? -1 : n, baseOffset);
      lineStart = lineEnd + 1;
    }
    this.accepted += accepted;
    if (low < this.fastLow) this.fastLow = low;
    if (high > this.fastHigh) this.fastHigh = high;
  }

  /**
   * scanLines' work for the default v2 format, its fast paths done by the WebAssembly kernel:
   * the lines are copied into the kernel's memory (up to its input capacity at a time), the
   * kernel reads ACCEPT rows whole and hands back REJECT rows as records, and stops at any
   * other line, which scanLines then reads here, in order, before the kernel goes on after it.
   */
  private scanWithKernel(buffer: Buffer, from: number, to: number, baseOffset: number): void {
    if (this.kernel === undefined) {
      this.kernel = newLineKernel();
      this.kernelTexts = new Array<string>(1 << ADDRESS_SLOT_BITS).fill('');
      this.kernelKeys = new Array<string | undefined>(1 << ADDRESS_SLOT_BITS).fill(undefined);
    }
    const kernel = this.kernel;
    let start = from;
    while (start < to) {
      let end = to;
      if (end - start > kernel.inputCapacity) {
        const newline = buffer.lastIndexOf(LF, start + kernel.inputCapacity - 1);
        if (newline < start) {
          // One line longer than the kernel's input: no flow log record is; scanLines reports it.
          const lineEnd = buffer.indexOf(LF, start);
          end = lineEnd < 0 || lineEnd >= to ? to : lineEnd + 1;
          this.scanLines(
            buffer,
            start,
            end,
            baseOffset,
            new DataView(buffer.buffer, buffer.byteOffset, buffer.length),
          );
          start = end;
          continue;
        }
        end = newline + 1;
      }
      buffer.copy(kernel.bytes, kernel.inputStart, start, end);
      // Positions in the kernel's memory, and what to add to them for offsets in the file.
      const memoryTo = kernel.inputStart + (end - start);
      const memoryBase = baseOffset + start - kernel.inputStart;
      let p = kernel.inputStart;
      while (p < memoryTo) {
        if (!this.layout.v2) {
          // A header line changed the format: the rest the JavaScript way.
          this.scanLines(kernel.bytes, p, memoryTo, memoryBase, kernel.words);
          break;
        }
        if (this.unchecked) {
          // The first data line of a file, or after a header: its field count checked in JavaScript.
          const lineEnd = kernel.bytes.indexOf(LF, p);
          const next = lineEnd < 0 || lineEnd >= memoryTo ? memoryTo : lineEnd + 1;
          this.scanLines(kernel.bytes, p, next, memoryBase, kernel.words);
          p = next;
          continue;
        }
        const int32 = kernel.int32;
        int32[ACCEPTED] = 0;
        kernel.uint32[EARLIEST_START] = 0xffffffff;
        kernel.uint32[LATEST_START] = 0;
        int32[REJECTED] = 0;
        kernel.uint32[BAND_LOW] = this.band.low;
        kernel.uint32[BAND_HIGH] = this.band.high;
        // A count pass over input that can be read again keeps no destinations: rows that count,
        // in the window of the rows just before, are counted in the kernel by source slot.
        const countWindow = this.lastWindowStart;
        const countHere = this.mode === 'count' && this.rereadable && !Number.isNaN(countWindow);
        int32[COUNT_HERE] = countHere ? 1 : 0;
        if (countHere) {
          kernel.uint32[COUNT_WINDOW_LOW] = countWindow / 1000;
          kernel.uint32[COUNT_WINDOW_HIGH] = (countWindow + this.windowMs) / 1000 - 1;
        }
        const stoppedAt = kernel.scan(p, memoryTo, 1);
        // Before any record: a paused record's address may take a slot counted in.
        if ((int32[COUNTED] as number) > 0) this.kernelCounts(kernel, countWindow);
        const rejected = int32[REJECTED] as number;
        if (rejected > 0) {
          // REJECT rows read whole in the kernel: valid, counting or not (those that count are
          // among the records too, for their source).
          this.stats.linesRead += rejected;
          this.stats.okRecords += rejected;
          this.stats.rejectRecords += rejected;
        }
        if ((int32[ACCEPTED] as number) + rejected > 0) {
          // The kernel's earliest and latest start cover both kinds of row it read whole.
          this.accepted += int32[ACCEPTED] as number;
          const low = this.windowOf((kernel.uint32[EARLIEST_START] as number) * 1000);
          const high = this.windowOf((kernel.uint32[LATEST_START] as number) * 1000);
          if (low < this.fastLow) this.fastLow = low;
          if (high > this.fastHigh) this.fastHigh = high;
        }
        this.kernelRecords(kernel, int32[RECORDS] as number, memoryTo, memoryBase);
        const stoppedLineEnd = int32[STOPPED_LINE_END] as number;
        if (stoppedLineEnd === DONE) break;
        if (stoppedLineEnd === PAUSED) {
          p = stoppedAt;
          continue;
        }
        p = stoppedLineEnd < memoryTo ? stoppedLineEnd + 1 : memoryTo;
        this.scanLines(kernel.bytes, stoppedAt, p, memoryBase, kernel.words);
      }
      start = end;
    }
  }

  /**
   * Moves the rows the kernel counted (in `window`, by source slot) into the counts, and clears
   * its counters. Such rows get no destination tallies: the details pass reads them again.
   */
  private kernelCounts(kernel: LineKernel, window: number): void {
    const { int32, uint32, slotCountsIndex, dirtyIndex } = kernel;
    this.stats.recordsCounted += int32[COUNTED] as number;
    this.detailsComplete = false;
    let perSource = this.counts.get(window);
    if (perSource === undefined) this.counts.set(window, (perSource = new Map()));
    const dirty = int32[DIRTY_SLOTS] as number;
    for (let d = 0; d < dirty; d += 1) {
      const slot = uint32[dirtyIndex + d] as number;
      const rows = uint32[slotCountsIndex + slot] as number;
      uint32[slotCountsIndex + slot] = 0;
      const key = this.kernelKeys[slot] ?? this.kernelKeyOf(kernel, slot);
      perSource.set(key, (perSource.get(key) ?? 0) + rows);
    }
    int32[COUNTED] = 0;
    int32[DIRTY_SLOTS] = 0;
  }

  /** The key of the rows counted in a kernel slot: its address in the account the kernel kept. */
  private kernelKeyOf(kernel: LineKernel, slot: number): string {
    const from = kernel.slotAccounts + slot * SLOT_ACCOUNT_BYTES;
    const account = this.scopeTexts.intern(kernel.bytes, from, from + SLOT_ACCOUNT_LENGTH);
    const key = this.keyOf(account, undefined, this.kernelTexts[slot] as string);
    this.kernelKeys[slot] = key;
    return key;
  }

  /**
   * The source key of an address (valid: it counts) in a record's account-id and vpc-id (the
   * texts as the record has them; undefined: not in the format), as the Lambda's queries key it.
   */
  private keyOf(account: string | undefined, vpc: string | undefined, src: string): string {
    const scope = vpc === undefined ? (account ?? '') : `${account ?? ''} ${vpc}`;
    let keys = this.sourceKeys.get(scope);
    if (keys === undefined) this.sourceKeys.set(scope, (keys = new Map()));
    let key = keys.get(src);
    if (key === undefined) {
      key = sourceKey({ accountId: accountOfRecord(account), vpcId: vpcOfRecord(vpc), address: src });
      keys.set(src, key);
    }
    return key;
  }

  /**
   * The REJECT rows the kernel handed back (it did the field walk): rows that count, both
   * addresses in its table, and rows with an address it lacks (filled in here) or too long for
   * it. Each ends as rejectV2 ends (rejectRow); a row with an address that is not valid takes
   * the general path.
   */
  private kernelRecords(kernel: LineKernel, records: number, memoryTo: number, memoryBase: number): void {
    const { bytes, words, int32, uint32 } = kernel;
    const texts = this.kernelTexts;
    let r = kernel.recordsIndex;
    for (let k = 0; k < records; k += 1, r += RECORD_SLOTS) {
      const lineStart = int32[r] as number;
      const lineEnd = int32[r + 1] as number;
      const seconds = uint32[r + 5] as number;
      const ms = seconds * 1000;
      let window = this.lastWindowStart;
      if (!(ms >= window && ms < window + this.windowMs)) window = this.windowOf(ms);
      const srcCode = int32[r + 6] as number;
      let dstCode = int32[r + 7] as number;
      if (srcCode >= 0 && dstCode >= 0) {
        // Read whole in the kernel (its stats and window come with the header): a row that counts.
        this.countedRow(
          bytes,
          words,
          lineStart,
          lineEnd,
          window,
          texts[srcCode] as string,
          texts[dstCode] as string,
        );
        continue;
      }
      // An address the table lacks (filled here, for the lines after it) or longer than it takes.
      const srcFrom = int32[r + 2] as number;
      const srcTo = int32[r + 3] as number;
      const dstTo = int32[r + 4] as number;
      // An address the kernel's table does not take (a long IPv6 one) is interned, its roles
      // worked out once per interned text: a parse per row cost more than the row's other work.
      const addresses = this.addresses;
      const srcSlot = this.kernelSlot(kernel, srcCode, srcFrom, srcTo);
      const srcInterned = srcSlot >= 0 ? -1 : addresses.slotOf(bytes, srcFrom, srcTo);
      const srcText = srcSlot >= 0 ? (texts[srcSlot] as string) : addresses.textAt(srcInterned);
      const srcRoles =
        srcSlot >= 0
          ? (bytes[rolesAt(kernel, srcSlot)] as number)
          : addresses.rolesAt(srcInterned, this.filter);
      // After the source's text and roles are read: the destination may take the same slot, and
      // when the source was just put in the slot the destination was found in, it must go back.
      if (dstCode >= 0 && srcCode < NOT_LOOKED_UP && slotOfMissing(srcCode) === dstCode)
        dstCode = -2 - dstCode;
      const dstSlot = this.kernelSlot(kernel, dstCode, srcTo + 1, dstTo);
      const dstInterned = dstSlot >= 0 ? -1 : addresses.slotOf(bytes, srcTo + 1, dstTo);
      const dstText = dstSlot >= 0 ? (texts[dstSlot] as string) : addresses.textAt(dstInterned);
      const dstRoles =
        dstSlot >= 0
          ? (bytes[rolesAt(kernel, dstSlot)] as number)
          : addresses.rolesAt(dstInterned, this.filter);
      if (
        this.rejectRow(
          bytes,
          words,
          lineStart,
          lineEnd,
          window,
          seconds,
          srcText,
          srcRoles,
          dstText,
          dstRoles,
        )
      )
        continue;
      // An address that is not valid: the general path says what the line is.
      this.scanLines(bytes, lineStart, lineEnd < memoryTo ? lineEnd + 1 : memoryTo, memoryBase, words);
    }
  }

  /**
   * A v2 row that counts, its addresses known: counted under its source's key (the address in
   * the account-id, the 2nd field), and its destination tallied when this pass tallies:
   * interface-id, dstport and protocol are its 3rd, 7th and 8th fields (before `limit`), found
   * only then.
   */
  private countedRow(
    buf: Buffer,
    words: DataView,
    lineStart: number,
    limit: number,
    window: number,
    src: string,
    dst: string,
  ): void {
    this.stats.recordsCounted += 1;
    const accountFrom = nextSpace(buf, words, lineStart, limit) + 1;
    const accountTo = nextSpace(buf, words, accountFrom, limit);
    const key = this.keyOf(this.scopeTexts.intern(buf, accountFrom, accountTo), undefined, src);
    if (this.mode === 'count') {
      this.countRecord(window, key);
      if (!this.tallyingCounted()) return;
    }
    const pair = this.pairFor(window, key);
    if (pair === undefined) return;
    // Field k runs from starts[k] to the space before starts[k + 1].
    const starts = this.rowStarts;
    let i = lineStart;
    for (let field = 0; field <= 8; field += 1) {
      starts[field] = i;
      if (field < 8) i = nextSpace(buf, words, i, limit) + 1;
    }
    const end = (field: number): number => (starts[field + 1] as number) - 1;
    this.tally(
      pair,
      dst,
      portProtocolKey(
        parseDigits(buf, starts[6] as number, end(6)),
        parseDigits(buf, starts[7] as number, end(7)),
      ),
      buf,
      starts[2] as number,
      end(2),
    );
  }

  /**
   * The kernel's address table slot for a record's address in `bytes[from, to)`, filled when
   * the kernel found it missing; -1 for an address the table does not take.
   */
  private kernelSlot(kernel: LineKernel, code: number, from: number, to: number): number {
    if (code >= 0 || code === NOT_LOOKED_UP) return code;
    const slot = slotOfMissing(code);
    const bytes = kernel.bytes;
    const text = latin1(bytes, from, to);
    const key = kernel.addressTable + slot * ADDRESS_RECORD_BYTES + ADDRESS_KEY;
    // Zeroed four bytes at a time (key and account are 16-byte aligned): Buffer#fill's call
    // costs more than the work on 16 bytes, and a busy fleet's file fills tens of thousands.
    const int32 = kernel.int32;
    int32[key >> 2] = int32[(key >> 2) + 1] = int32[(key >> 2) + 2] = int32[(key >> 2) + 3] = 0;
    bytes.copyWithin(key, from, to);
    bytes[key - ADDRESS_KEY + ADDRESS_LENGTH] = to - from;
    bytes[rolesAt(kernel, slot)] = this.filter.roles(text);
    this.kernelTexts[slot] = text;
    // Another address in the slot: the account of its counted rows is still to be seen.
    const account = (kernel.slotAccounts + slot * SLOT_ACCOUNT_BYTES) >> 2;
    int32[account] = int32[account + 1] = int32[account + 2] = int32[account + 3] = 0;
    this.kernelKeys[slot] = undefined;
    return slot;
  }

  /**
   * The fast path of a v2 REJECT/OK row whose tail has been read (`startSpace` is the space
   * before `start`): the fields before it are walked once, four bytes a step, and the two
   * addresses found in the address cache by their bytes (no string made, no parsing, once an
   * address has been seen). Anything unusual (an address the cache does not take or that is not
   * valid, a field missing or empty) returns false, and the line takes the general path, which
   * gives the same answer more slowly.
   */
  private rejectV2(
    buf: Buffer,
    words: DataView,
    from: number,
    startSpace: number,
    window: number,
    seconds: number,
  ): boolean {
    let i = from;
    // version, account-id, interface-id: non-empty, one space after each
    for (let k = 0; k < 3; k += 1) {
      const fieldFrom = i;
      i = nextSpace(buf, words, i, startSpace);
      if (i === fieldFrom || i >= startSpace) return false;
      i += 1;
    }
    const srcFrom = i;
    i = nextSpace(buf, words, i, startSpace);
    const srcTo = i;
    if (srcTo === srcFrom || i >= startSpace) return false;
    i += 1;
    const dstFrom = i;
    i = nextSpace(buf, words, i, startSpace);
    const dstTo = i;
    if (dstTo === dstFrom || i >= startSpace) return false;
    i += 1;
    // srcport dstport protocol packets bytes: five non-empty fields, then start
    for (let k = 0; k < 5; k += 1) {
      const fieldFrom = i;
      i = nextSpace(buf, words, i, startSpace);
      if (i === fieldFrom || i > startSpace) return false;
      i += 1;
    }
    if (i !== startSpace + 1) return false;
    const cache = this.addressCache;
    const src = cache.find(buf, words, srcFrom, srcTo);
    if (src < 0) return false;
    const srcRoles = cache.roles[src] as number;
    const dst = cache.find(buf, words, dstFrom, dstTo);
    if (dst < 0) return false;
    return this.rejectRow(
      buf,
      words,
      from,
      startSpace,
      window,
      seconds,
      cache.texts[src] as string,
      srcRoles,
      cache.texts[dst] as string,
      cache.roles[dst] as number,
    );
  }

  /**
   * A v2 REJECT row (from `lineStart`, its fields before `limit`) whose addresses are known, text
   * and roles: false when one is not valid (the general path then says what the line is); else
   * the row is read, and counted and tallied when it counts.
   */
  private rejectRow(
    buf: Buffer,
    words: DataView,
    lineStart: number,
    limit: number,
    window: number,
    seconds: number,
    src: string,
    srcRoles: number,
    dst: string,
    dstRoles: number,
  ): boolean {
    if ((srcRoles & dstRoles & ADDRESS_VALID) === 0) return false;
    const stats = this.stats;
    stats.linesRead += 1;
    stats.okRecords += 1;
    stats.rejectRecords += 1;
    this.dated(window, seconds);
    if ((srcRoles & ADDRESS_COUNTS_AS_SOURCE) !== 0 && (dstRoles & ADDRESS_COUNTS_AS_DESTINATION) !== 0)
      this.countedRow(buf, words, lineStart, limit, window, src, dst);
    return true;
  }

  /** One more counted record for (window, source key). */
  private countRecord(window: number, src: string): void {
    if (window !== this.currentWindow) {
      this.currentWindow = window;
      this.currentCounts = this.counts.get(window);
      if (this.currentCounts === undefined) {
        this.currentCounts = new Map();
        this.counts.set(window, this.currentCounts);
      }
    }
    const counts = this.currentCounts as Map<string, number>;
    counts.set(src, (counts.get(src) ?? 0) + 1);
  }

  private readonly tailStarts = new Int32Array(MAX_TAIL);
  private readonly tailEnds = new Int32Array(MAX_TAIL);

  /**
   * The fast path for lines that cannot count: read only the last few fields (action,
   * log-status, start sit at the end of the default and of most custom formats). An ACCEPT, a
   * NODATA or a SKIPDATA row is done with there; anything else (REJECT, odd spacing, a header,
   * a value that does not parse) returns false and gets the full split and checks. Such rows
   * are not checked for their field count here: the first data line of each file and after each
   * header is (see `unchecked`).
   */
  private tailOnly(buf: Buffer, from: number, to: number): boolean {
    let end = to;
    if (end > from && buf[end - 1] === CR) end -= 1;
    if (end <= from) return false;
    const first = buf[from] as number;
    if (first >= 97 && first <= 122) return false;
    const layout = this.layout;
    const tail = layout.tail;
    const tailStarts = this.tailStarts;
    const tailEnds = this.tailEnds;
    let i = end;
    for (let k = 0; k < tail; k += 1) {
      const fieldEnd = i;
      while (i > from && buf[i - 1] !== SPACE) i -= 1;
      if (i === fieldEnd || i <= from) return false;
      tailStarts[k] = i;
      tailEnds[k] = fieldEnd;
      i -= 1; // the separating space
    }
    const last = layout.count - 1;
    let status = 0;
    if (layout.status >= 0) {
      const s = tailStarts[last - layout.status] as number;
      const len = (tailEnds[last - layout.status] as number) - s;
      if (len === 2 && buf[s] === 79 && buf[s + 1] === 75) status = 0;
      else if (len === 6 && isWord(buf, s, 'NODATA')) status = 1;
      else if (len === 8 && isWord(buf, s, 'SKIPDATA')) status = 2;
      else return false;
    }
    const startSeconds = parseDigits(
      buf,
      tailStarts[last - layout.start] as number,
      tailEnds[last - layout.start] as number,
    );
    // Outside the band: the general path says why the line is malformed.
    if (startSeconds >= 0 && (startSeconds < this.band.low || startSeconds > this.band.high)) return false;
    const stats = this.stats;
    if (status === 0) {
      const a = tailStarts[last - layout.action] as number;
      if (
        (tailEnds[last - layout.action] as number) - a !== 6 ||
        !isWord(buf, a, 'ACCEPT') ||
        startSeconds < 0
      )
        return false;
      stats.linesRead += 1;
      stats.okRecords += 1;
      this.dated(this.windowOf(startSeconds * 1000), startSeconds);
      return true;
    }
    // A SKIPDATA row marks every window from its start to its end: when the format puts `end`
    // before the fields read here, the general path reads it.
    if (status === 2 && layout.end >= 0 && last - layout.end >= tail) return false;
    stats.linesRead += 1;
    if (status === 1) {
      stats.noDataRecords += 1;
    } else {
      stats.skipDataRecords += 1;
      const endSeconds =
        layout.end >= 0
          ? parseDigits(buf, tailStarts[last - layout.end] as number, tailEnds[last - layout.end] as number)
          : -1;
      if (startSeconds >= 0) this.markSkipData(startSeconds, endSeconds);
    }
    if (startSeconds >= 0) this.dated(alignToWindow(startSeconds * 1000, this.windowConfig), startSeconds);
    return true;
  }

  /** Splits on runs of spaces and tabs, ignoring a trailing CR: for lines the fast split got wrong. */
  private tolerantSplit(buf: Buffer, from: number, to: number): number {
    let end = to;
    if (end > from && buf[end - 1] === CR) end -= 1;
    const starts = this.starts;
    const ends = this.ends;
    let n = 0;
    let i = from;
    while (i < end) {
      let c = buf[i] as number;
      while (c === SPACE || c === TAB) {
        i += 1;
        if (i >= end) return n;
        c = buf[i] as number;
      }
      if (n > MAX_FIELDS) return n;
      starts[n] = i;
      while (i < end && c !== SPACE && c !== TAB) {
        i += 1;
        c = buf[i] as number;
      }
      ends[n] = i;
      n += 1;
    }
    return n;
  }

  private line(buf: Buffer, from: number, to: number, split: number, baseOffset: number): void {
    const stats = this.stats;
    stats.linesRead += 1;
    const starts = this.starts;
    const ends = this.ends;
    let n = split;
    const layout0 = this.layout;
    if (n !== layout0.count || ends[0] === starts[0]) {
      n = this.tolerantSplit(buf, from, to);
      if (n === 0) {
        stats.blankLines += 1;
        return;
      }
    }
    let end = to;
    if (end > from && buf[end - 1] === CR) end -= 1;

    const first = buf[starts[0] as number] as number;
    // A header line (AWS writes the format's field names first in S3 files) starts with a letter.
    if (first >= 97 && first <= 122 && this.tryHeader(buf, from, end, baseOffset)) return;

    const layout = this.layout;
    // Until a line has the format's field count, every line comes here (see `unchecked`).
    if (n === layout.count) this.unchecked = false;
    else
      return this.malformed(
        buf,
        from,
        end,
        baseOffset,
        `${n > MAX_FIELDS ? `over ${MAX_FIELDS}` : n} fields, the format has ${layout.count}`,
      );

    // log-status: OK, NODATA, SKIPDATA (absent from the format: every row is data).
    let status = 0; // 0 OK, 1 NODATA, 2 SKIPDATA
    if (layout.status >= 0) {
      const s = starts[layout.status] as number;
      const len = (ends[layout.status] as number) - s;
      if (len === 2 && buf[s] === 79 && buf[s + 1] === 75) status = 0;
      else if (len === 6 && isWord(buf, s, 'NODATA')) status = 1;
      else if (len === 8 && isWord(buf, s, 'SKIPDATA')) status = 2;
      else return this.malformed(buf, from, end, baseOffset, 'log-status is not OK, NODATA or SKIPDATA');
    }

    const startSeconds = parseDigits(buf, starts[layout.start] as number, ends[layout.start] as number);
    if (startSeconds >= 0 && (startSeconds < this.band.low || startSeconds > this.band.high))
      return this.malformed(buf, from, end, baseOffset, this.outOfBand(startSeconds));
    if (status !== 0) {
      if (status === 1) stats.noDataRecords += 1;
      else {
        stats.skipDataRecords += 1;
        if (startSeconds >= 0)
          this.markSkipData(
            startSeconds,
            layout.end >= 0 ? parseDigits(buf, starts[layout.end] as number, ends[layout.end] as number) : -1,
          );
      }
      if (startSeconds >= 0) this.dated(alignToWindow(startSeconds * 1000, this.windowConfig), startSeconds);
      return;
    }
    if (startSeconds < 0)
      return this.malformed(buf, from, end, baseOffset, 'start is not a time in epoch seconds');

    const a = starts[layout.action] as number;
    const actionLength = (ends[layout.action] as number) - a;
    if (layout.status < 0 && actionLength === 1 && buf[a] === DASH) {
      // A format without log-status: a NODATA (or SKIPDATA) row shows only as `-` where the
      // action is, as AWS writes the fields it has no value for. No record, not a malformed one.
      stats.noDataRecords += 1;
      return this.dated(this.windowOf(startSeconds * 1000), startSeconds);
    }
    let reject = false;
    if (actionLength === 6 && isWord(buf, a, 'REJECT')) reject = true;
    else if (!(actionLength === 6 && isWord(buf, a, 'ACCEPT'))) {
      return this.malformed(buf, from, end, baseOffset, 'action is not ACCEPT or REJECT');
    }
    stats.okRecords += 1;
    const window = this.windowOf(startSeconds * 1000);
    if (!reject) return this.dated(window, startSeconds);
    stats.rejectRecords += 1;

    const srcFrom = starts[layout.src] as number;
    const srcTo = ends[layout.src] as number;
    const dstFrom = starts[layout.dst] as number;
    const dstTo = ends[layout.dst] as number;
    const src = this.addresses.intern(buf, srcFrom, srcTo);
    const dst = this.addresses.intern(buf, dstFrom, dstTo);
    if (!this.filter.counts(src, dst)) {
      // Text that cannot be an address means the format does not match the line: parsed as the
      // filter parses it (`10.0.0.999`, `abc` or an account id have an address's letters only).
      if ((this.filter.roles(src) & ADDRESS_VALID) === 0 || (this.filter.roles(dst) & ADDRESS_VALID) === 0) {
        stats.okRecords -= 1;
        stats.rejectRecords -= 1;
        return this.malformed(buf, from, end, baseOffset, 'srcaddr or dstaddr is not an IP address');
      }
      return this.dated(window, startSeconds);
    }
    this.dated(window, startSeconds);
    stats.recordsCounted += 1;
    const text = (index: number): string | undefined =>
      index >= 0 ? this.scopeTexts.intern(buf, starts[index] as number, ends[index] as number) : undefined;
    const key = this.keyOf(text(layout.account), text(layout.vpc), src);
    if (this.mode === 'count') {
      this.countRecord(window, key);
      if (!this.tallyingCounted()) return;
    }
    const pair = this.pairFor(window, key);
    if (pair === undefined) return;
    const number = (index: number): number =>
      index >= 0 ? parseDigits(buf, starts[index] as number, ends[index] as number) : -1;
    const id = layout.interfaceId;
    this.tally(
      pair,
      dst,
      portProtocolKey(number(layout.dstPort), number(layout.protocol)),
      buf,
      id >= 0 ? (starts[id] as number) : 0,
      id >= 0 ? (ends[id] as number) : 0,
    );
  }

  /**
   * Whether the count pass tallies destinations of the record just counted. Blocked egress is
   * a small part of the records, so tallying within a budget as we go spares a details pass
   * over input that cannot be re-read by range (gzip). Input that can (plain files) is not
   * tallied: the details pass re-reads just the stretches holding alerted windows, cheaper than
   * tallying every counted record.
   */
  private tallyingCounted(): boolean {
    if (!this.rereadable && this.detailEntries < this.detailsBudget) return true;
    this.detailsComplete = false;
    return false;
  }

  /** The tallies of a (window, source) pair this pass keeps (details mode: the wanted ones only). */
  private pairFor(window: number, src: string): PairDetails | undefined {
    if (window !== this.pairWindow) {
      this.pairWindow = window;
      this.pairWanted = this.wanted?.get(window);
      this.pairTallies = this.details.get(window);
    }
    if (this.mode === 'details' && this.pairWanted?.has(src) !== true) return undefined;
    let perWindow = this.pairTallies;
    if (perWindow === undefined) this.details.set(window, (perWindow = this.pairTallies = new Map()));
    let pair = perWindow.get(src);
    if (pair === undefined) perWindow.set(src, (pair = { destinations: new Map(), interfaceIds: new Set() }));
    return pair;
  }

  /**
   * One more record for a pair's destination tallies: to `dst` at `portProtocol`, from the
   * interface id in `buf[idFrom, idTo)` (empty: none). No string is made per record: addresses
   * come interned, and interface ids are interned here.
   */
  private tally(
    pair: PairDetails,
    dst: string,
    portProtocol: number,
    buf: Buffer,
    idFrom: number,
    idTo: number,
  ): void {
    let ports = pair.destinations.get(dst);
    if (ports === undefined) {
      if (this.detailEntries >= this.detailsBudget) {
        this.detailsComplete = false;
        return;
      }
      pair.destinations.set(dst, (ports = []));
    }
    let known = false;
    for (let i = 0; i < ports.length; i += 2) {
      if (ports[i] === portProtocol) {
        ports[i + 1] = (ports[i + 1] as number) + 1;
        known = true;
        break;
      }
    }
    if (!known) {
      if (this.detailEntries < this.detailsBudget) {
        ports.push(portProtocol, 1);
        this.detailEntries += 1;
      } else {
        this.detailsComplete = false;
      }
    }
    // `-` or nothing: no interface id, as the Lambda's details leave out.
    if (idTo > idFrom && !(idTo - idFrom === 1 && buf[idFrom] === DASH))
      pair.interfaceIds.add(this.interfaceIds.intern(buf, idFrom, idTo));
  }

  /** A line longer than the read buffer: no flow log record is that long. */
  oversizedLine(offset: number): void {
    this.stats.linesRead += 1;
    this.stats.malformedLines += 1;
    if (this.examples.length < this.maxExamples) {
      this.examples.push({
        file: this.file,
        offset,
        reason: 'line longer than the 1 MB read block',
        text: '',
      });
    }
  }

  private lastWindowStart = Number.NaN;

  /** alignToWindow, skipped while records stay in the window of the previous one (they mostly do). */
  private windowOf(timeMs: number): number {
    const start = this.lastWindowStart;
    if (timeMs >= start && timeMs < start + this.windowMs) return start;
    this.lastWindowStart = alignToWindow(timeMs, this.windowConfig);
    return this.lastWindowStart;
  }

  /** A row with a valid start, read by a path that goes row by row: its window and histogram bucket. */
  private dated(window: number, seconds: number): void {
    this.seeWindow(window);
    const bucket = seconds >>> START_BUCKET_BITS;
    this.histogram[bucket] = (this.histogram[bucket] as number) + 1;
  }

  /** Why a start outside the band makes its line malformed. */
  private outOfBand(seconds: number): string {
    if (seconds > MAX_START_SECONDS)
      return `start ${seconds} is not a time in epoch seconds (after 2106; milliseconds?)`;
    return `start ${seconds} (${isoTime(seconds * 1000)}) is implausibly far from the rest of the data (${this.band.why})`;
  }

  private seeWindow(window: number): void {
    if (!(window >= this.minWindow)) this.minWindow = window;
    if (!(window <= this.maxWindow)) this.maxWindow = window;
    if (!(window >= this.segmentMin)) this.segmentMin = window;
    if (!(window <= this.segmentMax)) this.segmentMax = window;
  }

  /** A SKIPDATA row covers [start, end]: every window it overlaps is missing records. */
  private markSkipData(startSeconds: number, endSeconds: number): void {
    for (const w of skipDataWindows(startSeconds, endSeconds, this.windowConfig)) this.skipDataWindows.add(w);
  }

  private tryHeader(buf: Buffer, from: number, end: number, baseOffset: number): boolean {
    const firstToken = latin1(buf, this.starts[0] as number, this.ends[0] as number);
    if (!FIELD_NAMES.has(firstToken)) return false;
    try {
      const fields = parseFlowLogFormat(latin1(buf, from, end));
      this.layout = layoutOf(fields);
      this.unchecked = true;
      this.noteFileFormat(fields, 'by position');
    } catch (error) {
      this.malformed(buf, from, end, baseOffset, `header line: ${(error as Error).message}`);
      return true;
    }
    this.stats.headerLines += 1;
    return true;
  }

  /**
   * Counts a file format (a header line's, read `by position`; a Parquet file's columns, read
   * `by name`) that is not the configured one (ScanStats.headersInOtherFormat).
   */
  noteFileFormat(fields: readonly FlowLogField[], read: 'by position'): void;
  /** `matters`: the fields whose presence changes what is counted or how sources are keyed. */
  noteFileFormat(
    fields: readonly FlowLogField[],
    read: 'by name',
    matters: (field: FlowLogField) => boolean,
  ): void;
  noteFileFormat(
    fields: readonly FlowLogField[],
    read: 'by position' | 'by name',
    matters?: (field: FlowLogField) => boolean,
  ): void {
    const configured = this.configuredFields;
    let same: boolean;
    if (read === 'by position') {
      same = fields.length === configured.length && fields.every((f, i) => f === configured[i]);
    } else {
      const ofFile = new Set(fields.filter(matters!));
      const ofConfig = new Set(configured.filter(matters!));
      same = ofFile.size === ofConfig.size && [...ofFile].every((f) => ofConfig.has(f));
    }
    if (!same) this.stats.headersInOtherFormat += 1;
  }

  private malformed(buf: Buffer, from: number, end: number, baseOffset: number, reason: string): void {
    this.stats.malformedLines += 1;
    if (this.examples.length < this.maxExamples) {
      this.examples.push({
        file: this.file,
        offset: this.fileOffset(baseOffset + from),
        reason,
        text: latin1(buf, from, Math.min(end, from + 200)),
      });
    }
  }
}

// The last ten bytes of ` ACCEPT OK` and ` REJECT OK` as little-endian words: ` ACC` `EPT ` `OK`.
const OK_LE = 0x4b4f;
const ACCEPT_HEAD_LE = 0x43434120;
const ACCEPT_TAIL_LE = 0x20545045;
const REJECT_HEAD_LE = 0x4a455220;
const REJECT_TAIL_LE = 0x20544345;

/** Four ASCII digits in a little-endian word, as a number; -1 if one is not a digit. */
function fourDigits(word: number): number {
  // Each byte 0x30-0x39: high nibble 3, and adding 6 does not carry out of the low nibble.
  if ((word & 0xf0f0f0f0) !== 0x30303030 || ((word + 0x06060606) & 0xf0f0f0f0) !== 0x30303030) return -1;
  const d = word - 0x30303030;
  // Pairs first (d0*10+d1 in byte 0, d2*10+d3 in byte 2), then the two pairs.
  const pairs = (d * 10 + (d >>> 8)) & 0x00ff00ff;
  return (pairs & 0xff) * 100 + (pairs >>> 16);
}

/** Ten ASCII digits at `at`, as a number; -1 if one is not a digit. */
function tenDigits(words: DataView, buf: Buffer, at: number): number {
  const high = fourDigits(words.getUint32(at, true));
  const middle = fourDigits(words.getUint32(at + 4, true));
  const d8 = (buf[at + 8] as number) - 48;
  const d9 = (buf[at + 9] as number) - 48;
  if (high < 0 || middle < 0 || d8 < 0 || d8 > 9 || d9 < 0 || d9 > 9) return -1;
  return (high * 10_000 + middle) * 100 + d8 * 10 + d9;
}

/** Whether one of the ten bytes at `at` is a space. */
function hasSpace(words: DataView, buf: Buffer, at: number): boolean {
  const a = words.getUint32(at, true) ^ 0x20202020;
  const b = words.getUint32(at + 4, true) ^ 0x20202020;
  return (
    (((a - 0x01010101) & ~a & 0x80808080) | ((b - 0x01010101) & ~b & 0x80808080)) !== 0 ||
    buf[at + 8] === SPACE ||
    buf[at + 9] === SPACE
  );
}

/**
 * The index of the first space at or after `i` (there is one at `limit` or before): four bytes
 * a step while none of them is a space, then byte by byte.
 */
function nextSpace(buf: Buffer, words: DataView, i: number, limit: number): number {
  let at = i;
  while (at + 4 <= limit) {
    const w = words.getUint32(at, true) ^ 0x20202020; // a space becomes a zero byte
    if (((w - 0x01010101) & ~w & 0x80808080) !== 0) break;
    at += 4;
  }
  while (buf[at] !== SPACE) at += 1;
  return at;
}

function isWord(buf: Buffer, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k += 1) if (buf[at + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** A non-negative integer from ASCII digits; -1 when the field is empty, `-` or not all digits. */
function parseDigits(buf: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let value = 0;
  for (let k = from; k < to; k += 1) {
    const d = (buf[k] as number) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

type Latin1Slicer = { latin1Slice?: (start: number, end: number) => string };
const fastSlice = typeof (Buffer.prototype as unknown as Latin1Slicer).latin1Slice === 'function';

/** Buffer bytes as a one-byte string: Buffer#latin1Slice skips toString's argument checks where it exists. */
export function latin1(buf: Buffer, from: number, to: number): string {
  return fastSlice
    ? (buf as unknown as Required<Latin1Slicer>).latin1Slice(from, to)
    : buf.toString('latin1', from, to);
}

/** Where the kernel's address table keeps a slot's roles byte. */
const rolesAt = (kernel: LineKernel, slot: number): number =>
  kernel.addressTable + slot * ADDRESS_RECORD_BYTES + ADDRESS_ROLES;

/** Slots of the interner: a direct-mapped cache, so a colliding address just replaces the older one. */
const INTERN_BITS = 16;
const INTERN_SLOTS = 1 << INTERN_BITS;
// Read once: a global looked up per call is slow where globals are proxied (jest's test contexts).
const imul = Math.imul;

/**
 * Address text from bytes without allocating a new string per record: a hash of the bytes finds
 * the string made last time (checked byte for byte). Flow logs repeat the same addresses
 * millions of times, and the same string object also hits EgressFilter's cache at once.
 */
class AddressInterner {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(
    undefined,
  );

  /** EgressFilter#roles of each slot's text, worked out when first asked for; -1: not yet. */
  private readonly roles = new Int16Array(INTERN_SLOTS).fill(-1);

  intern(buf: Buffer, from: number, to: number): string {
    return this.slots[this.slotOf(buf, from, to)] as string;
  }

  /** The slot holding the text of `buf[from, to)`, made there if it was not (textAt reads it). */
  slotOf(buf: Buffer, from: number, to: number): number {
    // A polynomial hash in plain arithmetic (h * 31 stays exact in doubles); Math.imul would do,
    // but is very slow inside jest's VM contexts.
    let hash = 0;
    for (let k = from; k < to; k += 1) hash = (hash * 31 + (buf[k] as number)) | 0;
    const slot = (hash ^ (hash >>> 16)) & (INTERN_SLOTS - 1);
    const known = this.slots[slot];
    if (known !== undefined && known.length === to - from) {
      let same = true;
      for (let k = 0; k < known.length; k += 1) {
        if (known.charCodeAt(k) !== buf[from + k]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
    }
    this.slots[slot] = latin1(buf, from, to);
    this.roles[slot] = -1;
    return slot;
  }

  textAt(slot: number): string {
    return this.slots[slot] as string;
  }

  /** The roles of the slot's text under `filter` (always the same filter for one interner). */
  rolesAt(slot: number, filter: EgressFilter): number {
    let roles = this.roles[slot] as number;
    if (roles < 0) this.roles[slot] = roles = filter.roles(this.slots[slot] as string);
    return roles;
  }
}

/** Addresses the address cache takes: every IPv4 text, short IPv6 ones. */
const CACHED_ADDRESS_BYTES = 16;

/**
 * Address texts and their roles (EgressFilter#roles), found by the address's bytes read as four
 * words: a direct-mapped cache, so a colliding address just replaces the older one. Flow logs
 * repeat the same addresses millions of times; a hit costs a few word compares instead of a
 * parse, and the same string object is used as the count key each time.
 */
class AddressCache {
  private readonly keys = new Int32Array(INTERN_SLOTS * 4);
  /** 0: an empty slot. */
  private readonly lengths = new Uint8Array(INTERN_SLOTS);
  readonly roles = new Uint8Array(INTERN_SLOTS);
  readonly texts = new Array<string>(INTERN_SLOTS).fill('');

  constructor(private readonly filter: EgressFilter) {}

  /** The slot of the address in `buf[from, to)`; -1 when it is too long to cache. */
  find(buf: Buffer, words: DataView, from: number, to: number): number {
    const length = to - from;
    if (length > CACHED_ADDRESS_BYTES || from + CACHED_ADDRESS_BYTES > words.byteLength) return -1;
    // The bytes past the address (the rest of the line) are masked off.
    const masks = length * 4;
    const w0 = words.getUint32(from, true) & (WORD_MASKS[masks] as number);
    const w1 = words.getUint32(from + 4, true) & (WORD_MASKS[masks + 1] as number);
    const w2 = words.getUint32(from + 8, true) & (WORD_MASKS[masks + 2] as number);
    const w3 = words.getUint32(from + 12, true) & (WORD_MASKS[masks + 3] as number);
    // Multiplicative mixing: address texts differ in a few bytes, which must reach the slot bits.
    let hash = imul(w0, 0x9e3779b1) ^ w1;
    hash = imul(hash, 0x85ebca77) ^ w2;
    hash = imul(hash, 0xc2b2ae3d) ^ w3;
    hash = imul(hash ^ (hash >>> 15), 0x27d4eb2f);
    const slot = hash >>> (32 - INTERN_BITS);
    const k = slot * 4;
    const keys = this.keys;
    if (
      this.lengths[slot] === length &&
      keys[k] === w0 &&
      keys[k + 1] === w1 &&
      keys[k + 2] === w2 &&
      keys[k + 3] === w3
    )
      return slot;
    const text = latin1(buf, from, to);
    keys[k] = w0;
    keys[k + 1] = w1;
    keys[k + 2] = w2;
    keys[k + 3] = w3;
    this.lengths[slot] = length;
    this.roles[slot] = this.filter.roles(text);
    this.texts[slot] = text;
    return slot;
  }
}

/**
 * For an address of n bytes, WORD_MASKS[4n + k] keeps the bytes of its k-th word that belong to
 * it (all four, some, or none): the bytes past the address are the rest of the line.
 */
const WORD_MASKS = Int32Array.from({ length: (CACHED_ADDRESS_BYTES + 1) * 4 }, (_, i) => {
  const bytes = Math.floor(i / 4) - (i % 4) * 4;
  return bytes >= 4 ? -1 : bytes <= 0 ? 0 : (1 << (bytes * 8)) - 1;
});

/** Fields (runs of bytes other than spaces, tabs and line ends) in `buf[from, to)`. */
export function fieldCount(buf: Buffer, from: number, to: number): number {
  let count = 0;
  let inField = false;
  for (let i = from; i < to; i += 1) {
    const c = buf[i] as number;
    const separator = c === SPACE || c === TAB || c === CR || c === LF;
    if (!separator && !inField) count += 1;
    inField = !separator;
  }
  return count;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 48 && c <= 57;

/**
 * Where the record starts in a line of a CloudWatch Logs export (`aws logs create-export-task`
 * writes each event as `<ISO-8601 UTC time> <message>`, e.g. `2018-09-22T20:28:14.000Z 2 ...`):
 * after the time and the spaces following it; -1 when the line does not start with such a time.
 */
export function exportPrefixEnd(buf: Buffer, from: number, to: number): number {
  // yyyy-mm-ddThh:mm:ss, then an optional fraction, then Z
  const shape = 'dddd-dd-ddTdd:dd:dd';
  if (to - from < shape.length + 2) return -1;
  for (let k = 0; k < shape.length; k += 1) {
    const c = buf[from + k];
    if (shape[k] === 'd' ? !isDigit(c) : c !== shape.charCodeAt(k)) return -1;
  }
  let i = from + shape.length;
  if (buf[i] === 46 /* . */) {
    i += 1;
    const digits = i;
    while (i < to && isDigit(buf[i])) i += 1;
    if (i === digits) return -1;
  }
  if (buf[i] !== 90 /* Z */) return -1;
  i += 1;
  if (i >= to || (buf[i] !== SPACE && buf[i] !== TAB)) return -1;
  while (i < to && (buf[i] === SPACE || buf[i] === TAB)) i += 1;
  return i;
}

/**
 * Whether `buf[from, to)` is a line of a CloudWatch Logs export of flow log records with
 * `fields` fields: an export timestamp, then that many fields.
 */
export function isExportLine(buf: Buffer, from: number, to: number, fields: number): boolean {
  const recordStart = exportPrefixEnd(buf, from, to);
  return recordStart >= 0 && fieldCount(buf, recordStart, to) === fields;
}
