/**
 * VPC flow logs in Parquet (as VPC Flow Logs writes them to S3 with `FileFormat=parquet`, and
 * as `aws s3 sync` downloads them) for the replay, read with hyparquet (pure JavaScript).
 *
 * The rows are handed to the same FlowLineScanner as text files, as lines of the flow log fields
 * the file has: the one scanner decides what counts, so a Parquet file and the text file of the
 * same records give the same counts (tested), and the Parquet path needs no second copy of the
 * counting rules. A file with every field of the default (v2) format is read as v2 lines, the
 * scanner's fastest path; other columns are not read at all.
 *
 * Columns are named as AWS names them (`account_id`, `log_status`: a field's `-` as `_`); a
 * NULL (a field with no value, `-` in text) becomes `-`. Pages compressed with GZIP (AWS's
 * choice), Snappy, Brotli or, where Node has it, Zstandard are read; another codec fails the file
 * with its name.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import * as zlib from 'node:zlib';
import type { AsyncBuffer, Compressors } from 'hyparquet';
import {
  DEFAULT_FLOW_LOG_FORMAT,
  FLOW_LOG_FIELDS,
  REQUIRED_FLOW_LOG_FIELDS,
  type FlowLogField,
} from '../core/flow-log-format';
import type { FlowLineScanner } from './flow-line-scanner';

/** Why a Parquet file cannot be replayed (the caller names the file). */
export class ParquetInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParquetInputError';
  }
}

/** Fields the scanner reads (flow-line-scanner.ts layoutOf: the key's account and VPC too); other columns are left unread. */
const SCANNED_FIELDS: ReadonlySet<FlowLogField> = new Set([
  'srcaddr',
  'dstaddr',
  'dstport',
  'protocol',
  'start',
  'end',
  'action',
  'log-status',
  'interface-id',
  'account-id',
  'vpc-id',
]);

const KNOWN_FIELDS = new Set<string>(FLOW_LOG_FIELDS);

/** The Parquet column of a flow log field: AWS writes `log-status` as `log_status`. */
export const parquetColumnOf = (field: FlowLogField): string => field.replace(/-/g, '_');

/**
 * The fields of the lines a file's rows are rendered as: the default format when the file has
 * every field of it the scanner reads and no other it reads, such as `vpc-id` (the scanner's
 * fast path; the fields it never reads, such as `packets`, are written `-` without being read),
 * else the scanned fields it has.
 * Throws ParquetInputError when a field the detector needs is missing.
 */
export function fieldsOfParquetColumns(columns: readonly string[]): FlowLogField[] {
  const present = new Set<FlowLogField>();
  for (const column of columns) {
    const field = column.toLowerCase().replace(/_/g, '-');
    if (KNOWN_FIELDS.has(field)) present.add(field as FlowLogField);
  }
  const missing = REQUIRED_FLOW_LOG_FIELDS.filter((field) => !present.has(field));
  if (missing.length > 0) {
    throw new ParquetInputError(
      `not a VPC flow log Parquet file: no column ${missing.map(parquetColumnOf).join(', ')} (columns: ${columns.join(', ') || 'none'})`,
    );
  }
  const scanned = FLOW_LOG_FIELDS.filter((field) => present.has(field) && SCANNED_FIELDS.has(field));
  const v2 = new Set<FlowLogField>(DEFAULT_FLOW_LOG_FORMAT);
  const v2Scanned = DEFAULT_FLOW_LOG_FORMAT.filter((field) => SCANNED_FIELDS.has(field));
  // v2 lines only when they lose nothing the scanner reads (a vpc_id column keys sources by VPC).
  if (v2Scanned.every((field) => present.has(field)) && scanned.every((field) => v2.has(field)))
    return [...DEFAULT_FLOW_LOG_FORMAT];
  return scanned;
}

/** Whether the renderer reads a field's column (else it writes `-`). */
const isRead = (field: FlowLogField): boolean => SCANNED_FIELDS.has(field);

/** Decompressors for the codecs hyparquet leaves to the caller, from Node's zlib. */
const COMPRESSORS: Compressors = {
  GZIP: (input) => zlib.gunzipSync(input),
  BROTLI: (input) => zlib.brotliDecompressSync(input),
  ...(typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function'
    ? {
        ZSTD: (input: Uint8Array) =>
          (zlib as unknown as { zstdDecompressSync(b: Uint8Array): Buffer }).zstdDecompressSync(input),
      }
    : {}),
};

/**
 * hyparquet, loaded on the first Parquet file: a replay of text files (and the CLI's start) does
 * not evaluate it.
 */
function loadHyparquet(): typeof import('hyparquet') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('hyparquet') as typeof import('hyparquet');
}

/**
 * Files up to this size are read whole, synchronously (VPC Flow Logs writes a file per flow log
 * and delivery, mostly far smaller): thousands of small files each read a column chunk at a
 * time would spend more time waiting on the thread pool than decoding, and the scan of this
 * thread waits for the file anyway. Larger ones are read a column chunk at a time.
 */
const WHOLE_FILE_BYTES = 64 * 1024 * 1024;

/** The file as hyparquet reads it: whole in memory, or ranged reads through the descriptor. */
function openParquet(
  descriptor: number,
  size: number,
  onBytes: ((bytes: number) => void) | undefined,
): ArrayBuffer | AsyncBuffer {
  const read = (start: number, end: number): ArrayBuffer => {
    // allocUnsafeSlow: the Buffer owns its ArrayBuffer (no shared pool), so none is copied.
    const buffer = Buffer.allocUnsafeSlow(Math.max(0, end - start));
    let filled = 0;
    while (filled < buffer.length) {
      const bytesRead = readSync(descriptor, buffer, filled, buffer.length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    onBytes?.(filled);
    return (filled === buffer.length ? buffer.buffer : buffer.buffer.slice(0, filled)) as ArrayBuffer;
  };
  if (size <= WHOLE_FILE_BYTES) return read(0, size);
  return { byteLength: size, slice: (start: number, end = size) => read(start, end) };
}

/** Bytes rendered before the scanner is handed them. */
const RENDER_BYTES = 1024 * 1024;
/** Room kept free for the next row; a longer row is rendered into a buffer of its own size. */
const ROW_ROOM = 4096;

/**
 * Streams a Parquet flow log file through the scanner, a row group at a time, reading only the
 * columns of the fields it renders. `onBytes` reports the bytes of the file read.
 */
export async function scanParquet(
  path: string,
  scanner: FlowLineScanner,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const { parquetMetadataAsync, parquetScan, parquetSchema } = loadHyparquet();
  const descriptor = openSync(path, 'r');
  try {
    const file = openParquet(descriptor, fstatSync(descriptor).size, onBytes);
    let metadata;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (error) {
      throw new ParquetInputError(`not a valid Parquet file (${(error as Error).message})`);
    }
    const columns = parquetSchema(metadata).children.map((child) => child.element.name);
    const fields = fieldsOfParquetColumns(columns);
    const byField = new Map(columns.map((c) => [c.toLowerCase().replace(/_/g, '-'), c]));
    const read = fields.filter(isRead).map((field) => byField.get(field)!);
    scanner.beginFile(path, fields, false, false);
    // Read by name on both sides: only which of the fields the detector reads it has matters.
    scanner.noteFileFormat(
      columns
        .map((c) => c.toLowerCase().replace(/_/g, '-'))
        .filter((f): f is FlowLogField => KNOWN_FIELDS.has(f)),
      'by name',
      isRead,
    );
    const scan = await parquetScan({ file, metadata, columns: read, compressors: COMPRESSORS });
    const renderer = new LineRenderer(scanner);
    for (const range of scan.ranges) {
      let data: ArrayLike<unknown>[];
      try {
        data = await Promise.all(
          fields.map((field) =>
            isRead(field)
              ? scan.readColumn({
                  column: byField.get(field)!,
                  rowStart: range.rowStart,
                  rowEnd: range.rowEnd,
                })
              : NOT_READ,
          ),
        );
      } catch (error) {
        throw new ParquetInputError(`cannot decode its rows (${(error as Error).message})`);
      }
      renderer.rows(data, range.rowEnd - range.rowStart);
    }
    renderer.flush();
  } finally {
    closeSync(descriptor);
  }
}

const SPACE = 0x20;
const LF = 0x0a;
const DASH = 0x2d;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** The values of a column not read: every one undefined, written `-`. */
const NOT_READ: ArrayLike<unknown> = [];

/**
 * Writes rows as text lines straight into a reused buffer (no string per line) and hands the
 * scanner a megabyte at a time; offsets are of that text, for the scanner's messages.
 */
class LineRenderer {
  private buffer = Buffer.allocUnsafe(RENDER_BYTES + ROW_ROOM);
  private position = 0;
  private offset = 0;

  constructor(private readonly scanner: FlowLineScanner) {}

  /** Rows [0, count) of the columns, a NULL (or empty value) as `-`. */
  rows(columns: readonly ArrayLike<unknown>[], count: number): void {
    const width = columns.length;
    for (let row = 0; row < count; row += 1) {
      if (this.position >= RENDER_BYTES) this.flush();
      for (let c = 0; c < width; c += 1) {
        if (c > 0) this.byte(SPACE);
        this.value((columns[c] as ArrayLike<unknown>)[row]);
        if (this.position > this.buffer.length - 32) this.grow();
      }
      this.byte(LF);
    }
  }

  flush(): void {
    if (this.position === 0) return;
    this.scanner.scan(this.buffer, 0, this.position, this.offset);
    this.offset += this.position;
    this.position = 0;
    if (this.buffer.length > RENDER_BYTES + ROW_ROOM)
      this.buffer = Buffer.allocUnsafe(RENDER_BYTES + ROW_ROOM);
  }

  private byte(value: number): void {
    this.buffer[this.position] = value;
    this.position += 1;
  }

  private value(value: unknown): void {
    if (typeof value === 'string') {
      if (value === '') this.byte(DASH);
      else this.text(value);
    } else if (typeof value === 'number') {
      if (Number.isSafeInteger(value) && value >= 0) this.digits(value);
      else this.text(String(value));
    } else if (typeof value === 'bigint') {
      if (value >= 0n && value <= MAX_SAFE) this.digits(Number(value));
      else this.text(String(value));
    } else if (value === null || value === undefined) {
      this.byte(DASH);
    } else {
      this.text(String(value));
    }
  }

  /** Text, byte by byte while it is ASCII (addresses and ids are): cheaper than a native write per value. */
  private text(text: string): void {
    const length = text.length;
    if (this.position + 3 * length > this.buffer.length - 32) this.grow(3 * length);
    const buffer = this.buffer;
    let at = this.position;
    for (let i = 0; i < length; i += 1) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) {
        this.position += buffer.write(text, this.position, 'utf8');
        return;
      }
      buffer[at] = code;
      at += 1;
    }
    this.position = at;
  }

  /** A non-negative integer in decimal. */
  private digits(value: number): void {
    if (value < 10) {
      this.byte(48 + value);
      return;
    }
    let length = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) length += 1;
    let at = this.position + length - 1;
    for (let rest = value; at >= this.position; rest = Math.floor(rest / 10)) {
      this.buffer[at] = 48 + (rest % 10);
      at -= 1;
    }
    this.position += length;
  }

  /** Room for a long row: a bigger buffer, what was rendered copied over. */
  private grow(more = ROW_ROOM): void {
    const bigger = Buffer.allocUnsafe(this.buffer.length + more + ROW_ROOM);
    this.buffer.copy(bigger, 0, 0, this.position);
    this.buffer = bigger;
  }
}
