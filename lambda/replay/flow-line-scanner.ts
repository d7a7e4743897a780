/**
 * The hot loop of the replay: flow log lines, as bytes, to blocked-egress counts per window and
 * source. It works on Buffers: rows that cannot count (ACCEPT, NODATA, SKIPDATA) are read from
 * their last fields only; REJECT rows are split with a byte loop (no regex) and checked field by
 * field; strings are made only for the addresses of REJECT/OK rows, interned so that
 * EgressFilter's per-address cache hits, and for the destinations of counted records.
 */
import type { EgressFilter } from '../core/addresses';
import { FLOW_LOG_FIELDS, parseFlowLogFormat, type FlowLogField } from '../core/flow-log-format';
import { alignToWindow } from '../core/windows';

export interface ScanStats {
  linesRead: number;
  blankLines: number;
  malformedLines: number;
  headerLines: number;
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

/** Per (window, source) destination tallies, for alerts' details. */
export interface PairDetails {
  /** `address port protocol` -> records. */
  destinations: Map<string, number>;
  interfaceIds: Set<string>;
}

export type Mode = 'count' | 'details';

export interface ScannerOptions {
  filter: EgressFilter;
  windowMinutes: number;
  /** The format lines have until a header line says otherwise. */
  fields: readonly FlowLogField[];
  mode: Mode;
  /** details mode: window start -> sources whose destinations are wanted. */
  wanted?: ReadonlyMap<number, ReadonlySet<string>>;
  /** Malformed examples kept per scanner. @default 5 */
  maxExamples?: number;
  /**
   * Destination entries (address, port, protocol per window and source) the scanner may tally;
   * past it the tallies are incomplete and the details pass reads the alerted pairs again.
   * @default count mode 0, details mode unlimited
   */
  detailsBudget?: number;
}

const SPACE = 32;
const TAB = 9;
const CR = 13;
const LF = 10;
const MAX_FIELDS = FLOW_LOG_FIELDS.length;
const FIELD_NAMES = new Set<string>(FLOW_LOG_FIELDS);

interface Layout {
  fields: readonly FlowLogField[];
  count: number;
  src: number;
  dst: number;
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
}

/** The tail fast path reads at most this many fields from the end of a line. */
const MAX_TAIL = 8;

function layoutOf(fields: readonly FlowLogField[]): Layout {
  return {
    fields,
    count: fields.length,
    src: fields.indexOf('srcaddr'),
    dst: fields.indexOf('dstaddr'),
    start: fields.indexOf('start'),
    end: fields.indexOf('end'),
    action: fields.indexOf('action'),
    status: fields.indexOf('log-status'),
    dstPort: fields.indexOf('dstport'),
    protocol: fields.indexOf('protocol'),
    interfaceId: fields.indexOf('interface-id'),
    tail: tailOf(fields),
    v2Tail: fields.length > 4 && fields.slice(-4).join(' ') === 'start end action log-status',
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
  /** window start -> source -> blocked egress records. */
  counts: Map<number, Map<string, number>>;
  /** Windows touched by a SKIPDATA row: their counts are a lower bound. */
  skipDataWindows: Set<number>;
  /** Earliest and latest window of any row with a valid start time (NaN: none). */
  minWindow: number;
  maxWindow: number;
  examples: MalformedExample[];
  /** `${window} ${source}` -> destination tallies (details mode: the wanted pairs; count mode: within the budget). */
  details: Map<string, PairDetails>;
  /** False when the budget ran out: some pairs' tallies miss records. */
  detailsComplete: boolean;
  /**
   * The windows found in each stretch of the input (one per read, about 1 MB), so the details
   * pass re-reads only the stretches that hold an alerted window. Offsets are in the
   * decompressed stream; only plain files can be re-read by range.
   */
  segments: Segment[];
}

export interface Segment {
  from: number;
  to: number;
  minWindow: number;
  maxWindow: number;
  /** The format in force at `from`, when a header line changed it. */
  fields?: FlowLogField[];
}

export class FlowLineScanner {
  stats = emptyScanStats();
  counts = new Map<number, Map<string, number>>();
  skipDataWindows = new Set<number>();
  minWindow = Number.NaN;
  maxWindow = Number.NaN;
  examples: MalformedExample[] = [];
  details = new Map<string, PairDetails>();
  segments: Segment[] = [];
  detailsComplete = true;
  private detailEntries = 0;
  private readonly detailsBudget: number;
  private segmentMin = Number.NaN;
  private segmentMax = Number.NaN;

  private layout: Layout;
  private readonly defaultLayout: Layout;
  private readonly filter: EgressFilter;
  private readonly windowMs: number;
  private readonly windowConfig: { windowMinutes: number };
  private readonly mode: Mode;
  private readonly wanted: ReadonlyMap<number, ReadonlySet<string>> | undefined;
  private readonly maxExamples: number;
  private readonly starts = new Int32Array(MAX_FIELDS + 1);
  private readonly ends = new Int32Array(MAX_FIELDS + 1);
  private readonly addresses = new AddressInterner();
  private currentWindow = Number.NaN;
  private currentCounts: Map<string, number> | undefined;
  private file = '';

  constructor(options: ScannerOptions) {
    this.filter = options.filter;
    this.windowConfig = { windowMinutes: options.windowMinutes };
    this.windowMs = options.windowMinutes * 60_000;
    this.defaultLayout = layoutOf(options.fields);
    this.layout = this.defaultLayout;
    this.mode = options.mode;
    this.wanted = options.wanted;
    this.maxExamples = options.maxExamples ?? 5;
    this.detailsBudget = options.detailsBudget ?? (options.mode === 'details' ? Infinity : 0);
  }

  /** Hands over what was scanned since the last call and starts afresh (the caches stay warm). */
  takeResult(): ChunkResult {
    const result: ChunkResult = {
      stats: this.stats,
      counts: this.counts,
      skipDataWindows: this.skipDataWindows,
      minWindow: this.minWindow,
      maxWindow: this.maxWindow,
      examples: this.examples,
      details: this.details,
      segments: this.segments,
      detailsComplete: this.detailsComplete,
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
    return result;
  }

  /** Starts a new file (or a byte range of one): its lines have `fields` until a header says otherwise. */
  beginFile(file: string, fields?: readonly FlowLogField[]): void {
    this.file = file;
    this.layout = fields ? layoutOf(fields) : this.defaultLayout;
  }

  /**
   * Scans the complete lines in `buffer[from, to)`; `to` is at a line end or at the end of the
   * input. `baseOffset` is the file offset of `buffer[0]`, for messages.
   */
  scan(buffer: Buffer, from: number, to: number, baseOffset: number): void {
    const starts = this.starts;
    const ends = this.ends;
    const layoutAtStart = this.layout;
    this.segmentMin = Number.NaN;
    this.segmentMax = Number.NaN;
    const windowMs = this.windowMs;
    // ACCEPT rows of the v2 order, counted in locals and folded into the stats after the loop.
    let accepted = 0;
    let low = Infinity;
    let high = -Infinity;
    let lineStart = from;
    while (lineStart < to) {
      let lineEnd = buffer.indexOf(LF, lineStart);
      if (lineEnd < 0 || lineEnd > to) lineEnd = to;
      if (this.layout.v2Tail) {
        // `... start end ACCEPT OK`, the commonest row by far, read from its last bytes only.
        let e = lineEnd;
        if (buffer[e - 1] === CR) e -= 1;
        if (
          e - lineStart > 24 &&
          buffer[e - 1] === 75 && // K
          buffer[e - 2] === 79 && // O
          buffer[e - 3] === SPACE &&
          buffer[e - 9] === 65 && // A
          buffer[e - 8] === 67 && // C
          buffer[e - 7] === 67 && // C
          buffer[e - 6] === 69 && // E
          buffer[e - 5] === 80 && // P
          buffer[e - 4] === 84 && // T
          buffer[e - 10] === SPACE
        ) {
          let i = e - 11;
          while (i > lineStart && buffer[i] !== SPACE) i -= 1; // back over `end`
          const startTo = i;
          i -= 1;
          let seconds = 0;
          let digits = 0;
          while (i > lineStart) {
            const d = (buffer[i] as number) - 48;
            if (d < 0 || d > 9) break;
            i -= 1;
            digits += 1;
          }
          if (buffer[i] === SPACE && digits > 0 && digits <= 15 && i > lineStart) {
            for (let k = i + 1; k < startTo; k += 1) seconds = seconds * 10 + ((buffer[k] as number) - 48);
            const ms = seconds * 1000;
            let window = this.lastWindowStart;
            if (!(ms >= window && ms < window + windowMs)) window = this.windowOf(ms);
            if (window < low) low = window;
            if (window > high) high = window;
            accepted += 1;
            lineStart = lineEnd + 1;
            continue;
          }
        }
      }
      // REJECT rows always take the full path; the tail path is for the other rows of other orders.
      if (
        this.layout.tail > 0 &&
        !(this.layout.v2Tail && endsWithRejectOk(buffer, lineStart, lineEnd)) &&
        this.tailOnly(buffer, lineStart, lineEnd)
      ) {
        lineStart = lineEnd + 1;
        continue;
      }
      // The hot loop: single spaces separate fields (as AWS writes them); anything else takes
      // the tolerant path below.
      let n = 0;
      starts[0] = lineStart;
      for (let i = lineStart; i < lineEnd; i += 1) {
        if (buffer[i] === SPACE) {
          ends[n] = i;
          n += 1;
          if (n > MAX_FIELDS) break;
          starts[n] = i + 1;
        }
      }
      if (n <= MAX_FIELDS) {
        ends[n] = lineEnd > lineStart && buffer[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
        n += 1;
      }
      this.line(buffer, lineStart, lineEnd, n, baseOffset);
      lineStart = lineEnd + 1;
    }
    if (accepted > 0) {
      this.stats.linesRead += accepted;
      this.stats.okRecords += accepted;
      this.seeWindow(low);
      this.seeWindow(high);
    }
    if (to > from) {
      this.segments.push({
        from: baseOffset + from,
        to: baseOffset + to,
        minWindow: this.segmentMin,
        maxWindow: this.segmentMax,
        ...(layoutAtStart === this.defaultLayout ? {} : { fields: [...layoutAtStart.fields] }),
      });
    }
  }

  private readonly tailStarts = new Int32Array(MAX_TAIL);
  private readonly tailEnds = new Int32Array(MAX_TAIL);

  /**
   * The fast path for lines that cannot count: read only the last few fields (action,
   * log-status, start sit at the end of the default and of most custom formats). An ACCEPT, a
   * NODATA or a SKIPDATA row is done with there; anything else (REJECT, odd spacing, a header,
   * a value that does not parse) returns false and gets the full split and checks. The price:
   * such rows are not checked for their field count.
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
      this.seeWindow(this.windowOf(startSeconds * 1000));
      return true;
    }
    stats.linesRead += 1;
    if (status === 1) {
      stats.noDataRecords += 1;
    } else {
      stats.skipDataRecords += 1;
      const inTail = layout.end >= 0 && last - layout.end < tail;
      const endSeconds = inTail
        ? parseDigits(buf, tailStarts[last - layout.end] as number, tailEnds[last - layout.end] as number)
        : -1;
      if (startSeconds >= 0) this.markSkipData(startSeconds, endSeconds);
    }
    if (startSeconds >= 0) this.seeWindow(alignToWindow(startSeconds * 1000, this.windowConfig));
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
    if (first >= 97 && first <= 122 && this.tryHeader(buf, from, end)) return;

    const layout = this.layout;
    if (n !== layout.count)
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
      if (startSeconds >= 0) this.seeWindow(alignToWindow(startSeconds * 1000, this.windowConfig));
      return;
    }
    if (startSeconds < 0)
      return this.malformed(buf, from, end, baseOffset, 'start is not a time in epoch seconds');

    const a = starts[layout.action] as number;
    const actionLength = (ends[layout.action] as number) - a;
    let reject = false;
    if (actionLength === 6 && isWord(buf, a, 'REJECT')) reject = true;
    else if (!(actionLength === 6 && isWord(buf, a, 'ACCEPT'))) {
      return this.malformed(buf, from, end, baseOffset, 'action is not ACCEPT or REJECT');
    }
    stats.okRecords += 1;
    const window = this.windowOf(startSeconds * 1000);
    this.seeWindow(window);
    if (!reject) return;
    stats.rejectRecords += 1;

    const srcFrom = starts[layout.src] as number;
    const srcTo = ends[layout.src] as number;
    const dstFrom = starts[layout.dst] as number;
    const dstTo = ends[layout.dst] as number;
    const src = this.addresses.intern(buf, srcFrom, srcTo);
    const dst = this.addresses.intern(buf, dstFrom, dstTo);
    if (!this.filter.counts(src, dst)) {
      // Text that cannot be an address means the format does not match the line.
      if (!looksLikeAddress(buf, srcFrom, srcTo) || !looksLikeAddress(buf, dstFrom, dstTo)) {
        stats.okRecords -= 1;
        stats.rejectRecords -= 1;
        return this.malformed(buf, from, end, baseOffset, 'srcaddr or dstaddr is not an IP address');
      }
      return;
    }
    stats.recordsCounted += 1;
    if (this.mode === 'count') {
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
      // Blocked egress is a small part of the records: tallying its destinations as we go,
      // within a budget, usually spares the details pass altogether.
      if (this.detailEntries < this.detailsBudget) this.tally(buf, window, src, dst);
      else this.detailsComplete = false;
      return;
    }
    if (this.wanted?.get(window)?.has(src) !== true) return;
    this.tally(buf, window, src, dst);
  }

  /** One more record for the (window, source) pair's destination tallies. */
  private tally(buf: Buffer, window: number, src: string, dst: string): void {
    const key = `${window} ${src}`;
    let pair = this.details.get(key);
    if (pair === undefined) {
      pair = { destinations: new Map(), interfaceIds: new Set() };
      this.details.set(key, pair);
    }
    const layout = this.layout;
    const starts = this.starts;
    const ends = this.ends;
    const port =
      layout.dstPort >= 0
        ? latin1(buf, starts[layout.dstPort] as number, ends[layout.dstPort] as number)
        : '-';
    const protocol =
      layout.protocol >= 0
        ? latin1(buf, starts[layout.protocol] as number, ends[layout.protocol] as number)
        : '-';
    const destination = `${dst} ${port} ${protocol}`;
    const seen = pair.destinations.get(destination);
    if (seen !== undefined) {
      pair.destinations.set(destination, seen + 1);
    } else if (this.detailEntries < this.detailsBudget) {
      pair.destinations.set(destination, 1);
      this.detailEntries += 1;
    } else {
      this.detailsComplete = false;
    }
    if (layout.interfaceId >= 0) {
      pair.interfaceIds.add(
        latin1(buf, starts[layout.interfaceId] as number, ends[layout.interfaceId] as number),
      );
    }
  }

  /** A line longer than the read buffer: no flow log record is that long. */
  oversizedLine(offset: number): void {
    this.stats.linesRead += 1;
    this.stats.malformedLines += 1;
    if (this.examples.length < this.maxExamples) {
      this.examples.push({ file: this.file, offset, reason: 'line longer than 4 MB', text: '' });
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

  private seeWindow(window: number): void {
    if (!(window >= this.minWindow)) this.minWindow = window;
    if (!(window <= this.maxWindow)) this.maxWindow = window;
    if (!(window >= this.segmentMin)) this.segmentMin = window;
    if (!(window <= this.segmentMax)) this.segmentMax = window;
  }

  /** A SKIPDATA row covers [start, end]: every window it overlaps is missing records. */
  private markSkipData(startSeconds: number, endSeconds: number): void {
    const first = alignToWindow(startSeconds * 1000, this.windowConfig);
    const last = endSeconds >= startSeconds ? alignToWindow(endSeconds * 1000, this.windowConfig) : first;
    // Bounded: a corrupt end time must not mark years of windows.
    for (let w = first, k = 0; w <= last && k < 48; w += this.windowMs, k += 1) this.skipDataWindows.add(w);
  }

  private tryHeader(buf: Buffer, from: number, end: number): boolean {
    const firstToken = latin1(buf, this.starts[0] as number, this.ends[0] as number);
    if (!FIELD_NAMES.has(firstToken)) return false;
    try {
      this.layout = layoutOf(parseFlowLogFormat(latin1(buf, from, end)));
    } catch (error) {
      this.malformed(buf, from, end, 0, `header line: ${(error as Error).message}`);
      return true;
    }
    this.stats.headerLines += 1;
    return true;
  }

  private malformed(buf: Buffer, from: number, end: number, baseOffset: number, reason: string): void {
    this.stats.malformedLines += 1;
    if (this.examples.length < this.maxExamples) {
      this.examples.push({
        file: this.file,
        offset: baseOffset + from,
        reason,
        text: latin1(buf, from, Math.min(end, from + 200)),
      });
    }
  }
}

/** The line ends ` REJECT OK` (a CR before the line end allowed). */
function endsWithRejectOk(buf: Buffer, from: number, to: number): boolean {
  const e = buf[to - 1] === CR ? to - 1 : to;
  return (
    e - from > 10 &&
    buf[e - 1] === 75 &&
    buf[e - 2] === 79 &&
    buf[e - 3] === SPACE &&
    buf[e - 9] === 82 &&
    buf[e - 10] === SPACE
  );
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

/** Hex digits, `.` and `:` only: the alphabet of IPv4 and IPv6 addresses. */
function looksLikeAddress(buf: Buffer, from: number, to: number): boolean {
  if (to - from < 2) return false;
  for (let k = from; k < to; k += 1) {
    const c = buf[k] as number;
    if (!((c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/** Slots of the interner: a direct-mapped cache, so a colliding address just replaces the older one. */
const INTERN_SLOTS = 1 << 16;

/**
 * Address text from bytes without allocating a new string per record: a hash of the bytes finds
 * the string made last time (checked byte for byte). Flow logs repeat the same addresses
 * millions of times, and the same string object also hits EgressFilter's cache at once.
 */
class AddressInterner {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(
    undefined,
  );

  intern(buf: Buffer, from: number, to: number): string {
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
      if (same) return known;
    }
    const text = latin1(buf, from, to);
    this.slots[slot] = text;
    return text;
  }
}
