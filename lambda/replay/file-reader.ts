/**
 * Input files for the replay: paths and directories (recursive) expanded to files, large plain
 * files split into byte ranges that workers scan in parallel, and each range or gzip file
 * streamed through a FlowLineScanner a few MB at a time. Nothing ever loads a whole file.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parseFlowLogFormat, FLOW_LOG_FIELDS, type FlowLogField } from '../core/flow-log-format';
import type { FlowLineScanner } from './flow-line-scanner';

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
}

/** A unit of scanning work: a whole gzip file, or a byte range of a plain file. */
export interface ScanChunk {
  path: string;
  gzip: boolean;
  /** Byte range [from, to) of the plain file; lines starting in it belong to the chunk. */
  from: number;
  to: number;
  /** The format in force at `from` (a header line earlier in the file), if any. */
  fields?: FlowLogField[];
}

const isGzipName = (path: string): boolean => path.toLowerCase().endsWith('.gz');

/** Expands files and directories (recursively, sorted, hidden entries skipped). Missing paths throw InputFileError. */
export async function expandInputs(paths: readonly string[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
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
      files.push({ path, size: stat.size, gzip: isGzipName(path) });
    } else if (explicit) {
      throw new InputFileError(`cannot read input "${path}": not a regular file or directory`, path, 'find');
    }
  };
  for (const path of paths) await visit(path, true);
  return files;
}

const FIELD_NAMES = new Set<string>(FLOW_LOG_FIELDS);

/** The format a plain file's header line sets, if its first line is one. */
async function headerFields(path: string): Promise<FlowLogField[] | undefined> {
  const handle = await fs.open(path, 'r');
  try {
    const buffer = Buffer.alloc(8192);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.toString('latin1', 0, bytesRead);
    const newline = text.indexOf('\n');
    const line = (newline >= 0 ? text.slice(0, newline) : text).trim();
    const first = line.split(/\s+/)[0] ?? '';
    if (!FIELD_NAMES.has(first)) return undefined;
    try {
      return parseFlowLogFormat(line);
    } catch {
      return undefined; // the scanner of the first range reports it as malformed
    }
  } finally {
    await handle.close();
  }
}

/**
 * Splits the work: gzip files whole (a deflate stream cannot be entered mid-way), plain files
 * larger than `splitBytes` into about `parts` ranges each.
 */
export async function planChunks(
  files: readonly InputFile[],
  parts: number,
  splitBytes: number,
): Promise<ScanChunk[]> {
  const chunks: ScanChunk[] = [];
  for (const file of files) {
    if (file.gzip || parts <= 1 || file.size <= splitBytes) {
      chunks.push({ path: file.path, gzip: file.gzip, from: 0, to: file.size });
      continue;
    }
    const fields = await headerFields(file.path);
    // A few pieces per thread, so that one that starts late or reads slower rows still finishes with the others.
    const pieces = Math.min(parts * 4, Math.ceil(file.size / (splitBytes / 4)));
    const step = Math.ceil(file.size / pieces);
    for (let from = 0; from < file.size; from += step) {
      chunks.push({
        path: file.path,
        gzip: false,
        from,
        to: Math.min(file.size, from + step),
        ...(from > 0 && fields ? { fields } : {}),
      });
    }
  }
  return chunks;
}

// Reads of 1 MB: large enough to keep syscalls rare, small enough that the details pass can
// re-read just the stretches around alerted windows.
const READ_SIZE = 1024 * 1024;
const LF = 10;

/** Streams one chunk through the scanner. `onBytes` reports progress (bytes of the file read). */
export async function scanChunk(
  chunk: ScanChunk,
  scanner: FlowLineScanner,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  scanner.beginFile(chunk.path, chunk.fields, !chunk.gzip);
  try {
    if (chunk.gzip) await scanGzip(chunk, scanner, onBytes);
    else await scanRange(chunk, scanner, onBytes);
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const what =
      code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' ? 'not valid gzip data' : (error as Error).message;
    throw new InputFileError(`cannot read "${chunk.path}": ${what}`, chunk.path);
  }
}

async function scanRange(
  chunk: ScanChunk,
  scanner: FlowLineScanner,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const handle = await fs.open(chunk.path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    // A range that starts mid-file begins after the first line end at or past from - 1: the
    // line straddling `from` belongs to the previous range.
    let position = chunk.from > 0 ? chunk.from - 1 : 0;
    let filled = 0;
    let skipFirstLine = chunk.from > 0;
    let bufferOffset = position; // file offset of buffer[0]
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position);
      position += bytesRead;
      filled += bytesRead;
      onBytes?.(bytesRead);
      const eof = bytesRead === 0;
      let begin = 0;
      if (skipFirstLine) {
        const newline = buffer.indexOf(LF, 0);
        if (newline < 0 || newline >= filled) {
          if (eof) return;
          filled = 0; // one enormous line: skip it whole
          bufferOffset = position;
          continue;
        }
        begin = newline + 1;
        skipFirstLine = false;
        if (bufferOffset + begin >= chunk.to) return;
      }
      // Lines starting before `chunk.to` are ours; the last of them may run past it.
      const limit = chunk.to - bufferOffset;
      let stop: number;
      let done = false;
      if (limit <= filled) {
        const newline = limit > 0 ? buffer.indexOf(LF, limit - 1) : begin;
        if (newline >= 0 && newline < filled) {
          stop = newline + 1;
          done = true;
        } else if (eof) {
          stop = filled;
          done = true;
        } else {
          stop = lastLineEnd(buffer, begin, filled);
        }
      } else if (eof) {
        stop = filled;
        done = true;
      } else {
        stop = lastLineEnd(buffer, begin, filled);
      }
      if (stop <= begin && !done && filled === buffer.length) {
        // A line longer than the buffer: not a flow log record. Count it and move on.
        scanner.oversizedLine(bufferOffset + begin);
        filled = 0;
        bufferOffset = position;
        skipFirstLine = true;
        continue;
      }
      scanSegments(scanner, buffer, begin, stop, bufferOffset);
      if (done) return;
      buffer.copyWithin(0, stop, filled);
      filled -= stop;
      bufferOffset += stop;
    }
  } finally {
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

async function scanGzip(
  chunk: ScanChunk,
  scanner: FlowLineScanner,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const source = createReadStream(chunk.path, { highWaterMark: 1024 * 1024 });
  if (onBytes) source.on('data', (data) => onBytes(data.length));
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  const lines = source.pipe(gunzip);
  source.on('error', (error) => gunzip.destroy(error));
  let pending: Buffer | undefined;
  let offset = 0; // decompressed offset of pending[0] / the data below
  for await (const piece of lines as AsyncIterable<Buffer>) {
    const data = pending && pending.length > 0 ? Buffer.concat([pending, piece]) : piece;
    const stop = lastLineEnd(data, 0, data.length);
    scanner.scan(data, 0, stop, offset);
    pending = data.subarray(stop);
    offset += stop;
  }
  if (pending && pending.length > 0) scanner.scan(pending, 0, pending.length, offset);
}
