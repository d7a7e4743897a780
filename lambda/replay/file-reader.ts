/**
 * Input files for the replay: paths and directories (recursive) expanded to files, large plain
 * files split into byte ranges that workers scan in parallel, and each range, gzip file or
 * Parquet file (parquet-reader.ts, a row group at a time) streamed through a FlowLineScanner a
 * few MB at a time. Nothing ever loads a whole file.
 */
import { once } from 'node:events';
import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import {
  DEFAULT_FLOW_LOG_FORMAT,
  parseFlowLogFormat,
  FLOW_LOG_FIELDS,
  type FlowLogField,
} from '../core/flow-log-format';
import { fieldCount, isExportLine, startsWithBom, type FlowLineScanner } from './flow-line-scanner';
import { ParquetInputError, scanParquet } from './parquet-reader';

export class InputFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
    /** `find`: the path does not exist or is not a file (a usage error); `read`: reading it failed. */
    readonly phase: 'find' | 'read' = 'read',
  ) {
    super(message);
    this.name = 'InputFileError';
  }
}

export interface InputFile {
  path: string;
  size: number;
  gzip: boolean;
  /** A Parquet file (named `*.parquet`, as VPC Flow Logs names them: `*.log.parquet`). */
  parquet?: boolean;
}

/** A unit of scanning work: a whole gzip file, or a byte range of a plain file. */
export interface ScanChunk {
  path: string;
  gzip: boolean;
  /** A whole Parquet file. */
  parquet?: boolean;
  /** Byte range [from, to) of the plain file; lines starting in it belong to the chunk. */
  from: number;
  to: number;
  /** The format in force at `from` (a header line earlier in the file), if any. */
  fields?: FlowLogField[];
  /**
   * Whether the file is a CloudWatch Logs export (each line `<ISO-8601 time> <record>`);
   * undefined: the scanner decides from the first line it reads, so a range from mid-file has it.
   */
  exportPrefix?: boolean;
}

/** JSON and text files saved with a UTF-8 byte order mark (PowerShell's UTF8 encoding) read as without it. */
export const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

const isGzipName = (path: string): boolean => path.toLowerCase().endsWith('.gz');
const isParquetName = (path: string): boolean => path.toLowerCase().endsWith('.parquet');

const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d{1,2}';
/** Where S3 keys and file names of flow logs name their Region (VPC Flow Logs, Hive-compatible, Security Lake). */
const REGION_IN_PATH = [
  new RegExp(`(?:^|/)vpcflowlogs/(${REGION})/`),
  new RegExp(`(?:^|/)aws-region=(${REGION})/`),
  new RegExp(`(?:^|/)region=(${REGION})/`),
  new RegExp(`_vpcflowlogs_(${REGION})_[^/]*$`),
];

/**
 * The Region a flow log file's path names, as S3 delivers them (`AWSLogs/<account>/vpcflowlogs/
 * <region>/...`, `aws-region=<region>/`, Security Lake's `region=<region>/`, or the file name
 * `<account>_vpcflowlogs_<region>_...`), or undefined.
 */
export function regionOfPath(path: string): string | undefined {
  const normalized = path.replace(/\\/g, '/');
  for (const pattern of REGION_IN_PATH) {
    const match = pattern.exec(normalized);
    if (match) return match[1];
  }
  return undefined;
}

/** The files to read, each once, and how many more times the inputs named one of them. */
export interface ExpandedInputs {
  files: InputFile[];
  /** Files that more than one input reached (`logs/` and `logs/a.log`, a link): each read once. */
  namedTwice: number;
}

/**
 * Expands files and directories (recursively, sorted, hidden entries skipped). A file reached
 * through two inputs (a directory and a file in it, a symbolic link) is read once: counted twice,
 * its records would double and could make spikes. Missing paths throw InputFileError.
 */
export async function expandInputs(paths: readonly string[]): Promise<ExpandedInputs> {
  const files: InputFile[] = [];
  const seen = new Set<string>();
  const seenAgain = new Set<string>();
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    let stat;
    try {
      stat = await fs.stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT'
          ? 'no such file or directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
      throw new InputFileError(`cannot read input "${path}": ${reason}`, path, 'find');
    }
    if (stat.isDirectory()) {
      const entries = (await fs.readdir(path)).filter((name) => !name.startsWith('.')).sort();
      for (const name of entries) await visit(join(path, name), false);
    } else if (stat.isFile()) {
      const identity = `${stat.dev}:${stat.ino}`;
      if (seen.has(identity)) {
        seenAgain.add(identity);
        return;
      }
      seen.add(identity);
      files.push({
        path,
        size: stat.size,
        gzip: isGzipName(path),
        ...(isParquetName(path) ? { parquet: true } : {}),
      });
    } else if (explicit) {
      throw new InputFileError(`cannot read input "${path}": not a regular file or directory`, path, 'find');
    }
  };
  for (const path of paths) await visit(path, true);
  return { files, namedTwice: seenAgain.size };
}

const FIELD_NAMES = new Set<string>(FLOW_LOG_FIELDS);

/**
 * What a plain file's first line that is not blank says of the rest: the format a header line
 * sets, and whether it is a line of a CloudWatch Logs export in format `fields` (as the scanner
 * decides for a file it reads from its start).
 */
async function firstLineOf(
  path: string,
  fields: readonly FlowLogField[],
): Promise<{ header?: FlowLogField[]; exportPrefix: boolean }> {
  const handle = await fs.open(path, 'r');
  try {
    const buffer = Buffer.alloc(8192);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    // As the scanner reads the file's start: after a byte order mark.
    let from = startsWithBom(buffer, 0, bytesRead) ? 3 : 0;
    let to = bytesRead;
    for (;;) {
      const newline = buffer.indexOf(LF, from);
      to = newline >= 0 && newline < bytesRead ? newline : bytesRead;
      if (fieldCount(buffer, from, to) > 0 || to >= bytesRead) break;
      from = to + 1;
    }
    if (isExportLine(buffer, from, to, fields.length)) return { exportPrefix: true };
    const line = buffer.toString('latin1', from, to).trim();
    const first = line.split(/\s+/)[0] ?? '';
    if (!FIELD_NAMES.has(first)) return { exportPrefix: false };
    try {
      return { header: parseFlowLogFormat(line), exportPrefix: false };
    } catch {
      return { exportPrefix: false }; // the scanner of the first range reports it as malformed
    }
  } finally {
    await handle.close();
  }
}

/**
 * Splits the work: gzip and Parquet files whole (a deflate stream cannot be entered mid-way; a
 * Parquet file is small and read by row groups), plain files larger than `splitBytes` into about
 * `parts` ranges each. `fields`: the format lines have until a header says otherwise. Each range
 * gets the format of the file's first header, the usual case; parallel-scan.ts reads a range
 * again when a later header changed the format before it.
 */
export async function planChunks(
  files: readonly InputFile[],
  parts: number,
  splitBytes: number,
  fields: readonly FlowLogField[] = DEFAULT_FLOW_LOG_FORMAT,
): Promise<ScanChunk[]> {
  const chunks: ScanChunk[] = [];
  for (const file of files) {
    if (file.parquet) {
      chunks.push({ path: file.path, gzip: false, parquet: true, from: 0, to: file.size });
      continue;
    }
    if (file.gzip || parts <= 1 || file.size <= splitBytes) {
      chunks.push({ path: file.path, gzip: file.gzip, from: 0, to: file.size });
      continue;
    }
    const { header, exportPrefix } = await firstLineOf(file.path, fields);
    // A few pieces per thread, so that one that starts late or reads slower rows still finishes with the others.
    const pieces = Math.min(parts * 4, Math.ceil(file.size / (splitBytes / 4)));
    const step = Math.ceil(file.size / pieces);
    for (let from = 0; from < file.size; from += step) {
      chunks.push({
        path: file.path,
        gzip: false,
        from,
        to: Math.min(file.size, from + step),
        ...(from > 0 && header ? { fields: header } : {}),
        exportPrefix,
      });
    }
  }
  return chunks;
}

// Reads of 1 MB: large enough to keep syscalls rare, small enough that the details pass can
// re-read just the stretches around alerted windows.
const READ_SIZE = 1024 * 1024;
// Room in front of each read for the partial last line of the block before: flow log lines
// are a few hundred bytes, so the carried tail almost always fits without moving the block.
const TAIL_ROOM = 64 * 1024;
const LF = 10;

/** How scanChunk reads plain files: the production sizes unless a test asks for small ones. */
export interface ReadOptions {
  /**
   * Bytes per read (and per decompressed piece of a gzip file); in a plain file, a line with at
   * least this many bytes before its newline is oversized. @default READ_SIZE
   */
  blockSize?: number;
  /** Bytes kept free in front of each read for the previous block's partial last line. @default TAIL_ROOM */
  tailRoom?: number;
}

/** Streams one chunk through the scanner. `onBytes` reports progress (bytes of the file read). */
export async function scanChunk(
  chunk: ScanChunk,
  scanner: FlowLineScanner,
  onBytes?: (bytes: number) => void,
  readOptions: ReadOptions = {},
): Promise<void> {
  scanner.beginFile(chunk.path, chunk.fields, !chunk.gzip && !chunk.parquet, chunk.exportPrefix);
  // Zero bytes under a gzip or Parquet name (a download cut off before its first byte) hold no
  // rows, as an empty plain file: counted among the files without records, not an error.
  if ((chunk.gzip || chunk.parquet === true) && (await fileSize(chunk.path)) === 0) return;
  try {
    if (chunk.parquet) await scanParquet(chunk.path, scanner, onBytes);
    else if (chunk.gzip) await scanGzip(chunk, scanner, onBytes, readOptions);
    else await scanRange(chunk, scanner, onBytes, readOptions);
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    if (error instanceof ParquetInputError)
      throw new InputFileError(`cannot read "${chunk.path}": ${error.message}`, chunk.path);
    const code = (error as NodeJS.ErrnoException).code;
    const what =
      code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' ? 'not valid gzip data' : (error as Error).message;
    throw new InputFileError(`cannot read "${chunk.path}": ${what}`, chunk.path);
  }
}

/** The file's size in bytes, or -1 when it cannot be read (the reader then says why). */
async function fileSize(path: string): Promise<number> {
  try {
    return (await fs.stat(path)).size;
  } catch {
    return -1;
  }
}

/**
 * Scans the lines of a byte range of a plain file, reading block k + 1 while block k is
 * scanned: reads go to fixed positions (one block after another), into two buffers in turn,
 * each at `tailRoom` from its front. Before the next read is started, the partial last line of
 * the block before is copied into that room, just ahead of the block it continues into (or,
 * when longer than the room, both into a scratch buffer), so the buffer it sat in is free.
 */
async function scanRange(
  chunk: ScanChunk,
  scanner: FlowLineScanner,
  onBytes: ((bytes: number) => void) | undefined,
  { blockSize = READ_SIZE, tailRoom = TAIL_ROOM }: ReadOptions,
): Promise<void> {
  const handle = await fs.open(chunk.path, 'r');
  const buffers = [
    Buffer.allocUnsafe(tailRoom + blockSize),
    Buffer.allocUnsafe(tailRoom + blockSize),
  ] as const;
  let scratch: Buffer | undefined; // for tails longer than tailRoom: at most blockSize - 1 + blockSize bytes
  // A range that starts mid-file begins after the first line end at or past from - 1: the
  // line straddling `from` belongs to the previous range.
  let readPosition = chunk.from > 0 ? chunk.from - 1 : 0;
  let skipping = chunk.from > 0; // skipping a line up to and including its newline
  let turn = 0; // which buffer the read in flight fills
  const startRead = (): Promise<{ bytesRead: number }> =>
    handle.read(buffers[turn] as Buffer, tailRoom, blockSize, readPosition);
  let reading: Promise<{ bytesRead: number }> | undefined = startRead();
  // The partial last line of the block before: tailBuffer[tailStart, tailEnd).
  let tailBuffer: Buffer = buffers[0];
  let tailStart = 0;
  let tailEnd = 0;
  try {
    while (reading) {
      const { bytesRead } = await reading;
      reading = undefined;
      onBytes?.(bytesRead);
      const eof = bytesRead === 0;
      const read = buffers[turn] as Buffer;
      const readOffset = readPosition; // file offset of read[tailRoom]
      readPosition += bytesRead;
      // Put the tail in front of what was just read: the block to scan is block[begin, end).
      const tailLength = tailEnd - tailStart;
      let block: Buffer;
      let begin: number;
      if (tailLength <= tailRoom) {
        block = read;
        begin = tailRoom - tailLength;
        tailBuffer.copy(block, begin, tailStart, tailEnd);
      } else {
        scratch ??= Buffer.allocUnsafe(2 * blockSize);
        block = scratch;
        begin = 0;
        tailBuffer.copy(block, 0, tailStart, tailEnd); // may overlap (the tail was in scratch): copy is a memmove
        read.copy(block, tailLength, tailRoom, tailRoom + bytesRead);
      }
      const end = begin + tailLength + bytesRead;
      const blockOffset = readOffset - tailLength - begin; // file offset of block[0]
      if (skipping) {
        const newline = block.indexOf(LF, begin);
        if (newline < 0 || newline >= end) {
          if (eof) return;
          // The skipped line goes on: none of it is carried.
          tailStart = tailEnd = 0;
          turn = 1 - turn;
          reading = startRead();
          continue;
        }
        begin = newline + 1;
        skipping = false;
      }
      // Lines starting before `chunk.to` are ours; the last of them may run past it.
      const limit = chunk.to - blockOffset;
      if (begin >= limit) return;
      if (tailLength > 0) {
        // A carried line ending here with a block or more before its newline is oversized, like
        // one still without a newline after a block (below): the same rule wherever it starts.
        const newline = block.indexOf(LF, begin);
        if (newline >= 0 && newline < end && newline - begin >= blockSize) {
          scanner.oversizedLine(blockOffset + begin);
          begin = newline + 1;
          if (begin >= limit) return;
        }
      }
      let stop: number;
      let done = eof;
      if (limit <= end) {
        const newline = block.indexOf(LF, limit - 1);
        if (newline >= 0 && newline < end) {
          stop = newline + 1;
          done = true;
        } else stop = eof ? end : lastLineEnd(block, begin, end);
      } else stop = eof ? end : lastLineEnd(block, begin, end);
      if (!done) {
        // The other buffer is free (its tail was copied above): read on while this block is scanned.
        turn = 1 - turn;
        reading = startRead();
      }
      scanSegments(scanner, block, begin, stop, blockOffset);
      if (done) return;
      tailBuffer = block;
      tailStart = stop;
      tailEnd = end;
      if (tailEnd - tailStart >= blockSize) {
        // A line of a block or more (before its newline) is no flow log record: it is counted
        // once, as the old single-buffer reader did, and the rest of it skipped.
        scanner.oversizedLine(blockOffset + tailStart);
        tailStart = tailEnd = 0;
        skipping = true;
      }
    }
  } finally {
    // A read in flight still writes to its buffer through the handle: let it finish first.
    if (reading) await reading.catch(() => undefined);
    await handle.close();
  }
}

// The scanner records the windows of each stretch it is given; a details pass re-reads the
// stretches holding an alerted window, so stretches smaller than a read re-read less.
const SEGMENT_SIZE = 256 * 1024;

/** Scans `buffer[begin, stop)` (whole lines) in stretches of about SEGMENT_SIZE, cut at line ends. */
function scanSegments(
  scanner: FlowLineScanner,
  buffer: Buffer,
  begin: number,
  stop: number,
  offset: number,
): void {
  let from = begin;
  while (from < stop) {
    let to = stop;
    if (stop - from > SEGMENT_SIZE) {
      const newline = buffer.indexOf(LF, from + SEGMENT_SIZE);
      if (newline >= 0 && newline < stop) to = newline + 1;
    }
    scanner.scan(buffer, from, to, offset);
    from = to;
  }
}

function lastLineEnd(buffer: Buffer, begin: number, filled: number): number {
  const newline = buffer.lastIndexOf(LF, filled - 1);
  return newline >= begin ? newline + 1 : begin;
}

/**
 * Streams a gzip file through the scanner. Reading and inflating already run ahead of the scan
 * (the file stream reads on up to its high-water mark, zlib inflates on libuv's thread pool),
 * so what this thread spends is the scan itself; it copies only the line split between two
 * decompressed pieces, not each whole piece. A line with `blockSize` bytes or more before its
 * newline is oversized, as in a plain file: counted once and skipped, never gathered.
 */
async function scanGzip(
  chunk: ScanChunk,
  scanner: FlowLineScanner,
  onBytes: ((bytes: number) => void) | undefined,
  { blockSize = READ_SIZE }: ReadOptions,
): Promise<void> {
  const source = createReadStream(chunk.path, { highWaterMark: blockSize });
  if (onBytes) source.on('data', (data) => onBytes(data.length));
  const gunzip = createGunzip({ chunkSize: Math.max(64, blockSize) });
  const lines = source.pipe(gunzip);
  source.on('error', (error) => gunzip.destroy(error));
  let pending: Buffer | undefined; // the partial last line of the pieces before
  let pendingOffset = 0; // decompressed offset of pending[0]
  let skipping = false; // skipping the rest of an oversized line, up to and including its newline
  let offset = 0; // decompressed offset of the piece's first byte
  try {
    for await (const piece of lines as AsyncIterable<Buffer>) {
      const pieceOffset = offset;
      offset += piece.length;
      let from = 0;
      if (skipping || pending) {
        const newline = piece.indexOf(LF);
        if (pending && pending.length + (newline < 0 ? piece.length : newline) >= blockSize) {
          scanner.oversizedLine(pendingOffset);
          pending = undefined;
          skipping = true;
        }
        if (newline < 0) {
          if (pending) pending = Buffer.concat([pending, piece]);
          continue;
        }
        from = newline + 1;
        if (pending) {
          const line = Buffer.concat([pending, piece.subarray(0, from)]);
          scanner.scan(line, 0, line.length, pendingOffset);
          pending = undefined;
        }
        skipping = false;
      }
      const stop = lastLineEnd(piece, from, piece.length);
      if (stop > from) scanner.scan(piece, from, stop, pieceOffset);
      if (stop < piece.length) {
        pending = piece.subarray(stop);
        pendingOffset = pieceOffset + stop;
        if (pending.length >= blockSize) {
          scanner.oversizedLine(pendingOffset);
          pending = undefined;
          skipping = true;
        }
      }
    }
    if (pending) scanner.scan(pending, 0, pending.length, pendingOffset);
  } finally {
    // The file closed on every path, a gzip error included, before the chunk counts as done.
    if (!source.closed) {
      const closed = once(source, 'close');
      source.destroy();
      await closed;
    }
  }
}
