/**
 * Runs the scanner over every chunk, in worker threads when there is enough input to pay for
 * them (each worker pulls the next chunk, so a large file and many small ones both spread out),
 * and merges the per-chunk results. Counts per (window, source) are sums, so the merge is
 * order-free: records may arrive in any order, from any number of files.
 */
import { Worker } from 'node:worker_threads';
import { EgressFilter, type EgressScope } from '../core/addresses';
import type { FlowLogField } from '../core/flow-log-format';
import { InputFileError, scanChunk, type ScanChunk } from './file-reader';
import { FlowLineScanner, type ChunkResult, type Mode, type StartBand } from './flow-line-scanner';

export interface ScanSettings {
  scope: EgressScope;
  windowMinutes: number;
  fields: readonly FlowLogField[];
  mode: Mode;
  /** details mode: window start -> sources whose destinations are wanted. */
  wanted?: Map<number, Set<string>>;
  /** Destination entries each scanner may tally per chunk in count mode (see FlowLineScanner). */
  detailsBudget?: number;
  /** The start times rows may have (see FlowLineScanner); default: any in 32-bit epoch seconds. */
  startBand?: StartBand;
}

export interface ParallelOptions {
  /** Worker threads; 1 scans in this thread. */
  workers: number;
  /** The worker entry (a built JS file); without it everything is scanned in this thread. */
  workerScript?: string;
  /** Bytes of input read so far (for a progress indicator). */
  onBytes?: (bytes: number) => void;
}

/** Messages between the main thread and a scan worker. */
export type ToWorker = { type: 'chunk'; index: number; chunk: ScanChunk } | { type: 'done' };
export type FromWorker =
  | { type: 'result'; index: number; result: ChunkResult }
  | { type: 'bytes'; bytes: number }
  | { type: 'error'; index: number; message: string; path?: string };

export interface WorkerData {
  kind: 'egress-spike-scan';
  settings: ScanSettings;
}

export const newScanner = (settings: ScanSettings): FlowLineScanner =>
  new FlowLineScanner({
    filter: new EgressFilter(settings.scope),
    windowMinutes: settings.windowMinutes,
    fields: settings.fields,
    mode: settings.mode,
    wanted: settings.wanted,
    detailsBudget: settings.detailsBudget,
    startBand: settings.startBand,
  });

/**
 * This thread's last scanner and what it was made for: a details pass after the count pass
 * takes it over warm (its address table and caches hold the input's addresses), instead of
 * classifying every address again. One is kept, so a process holds at most one; a scan that
 * starts while it is in use (replays run side by side) gets a scanner of its own.
 */
let kept: { key: string; scanner: FlowLineScanner; inUse: boolean } | undefined;

/** A scanner for `settings`, and the function to call when done with it. */
function scannerFor(settings: ScanSettings): [FlowLineScanner, () => void] {
  const key = JSON.stringify([settings.scope, settings.windowMinutes, settings.fields]);
  if (kept?.inUse === true) return [newScanner(settings), () => undefined];
  if (kept?.key === key) kept.scanner.startPass(settings);
  else kept = { key, scanner: newScanner(settings), inUse: false };
  const taken = kept;
  taken.inUse = true;
  return [taken.scanner, () => (taken.inUse = false)];
}

/**
 * Scans each chunk and returns the results in chunk order. A range of a plain file is read with
 * the format planChunks gave it (the file's first header); when the range before it ended with
 * another format in force (a later header changed it: deliveries of two formats concatenated),
 * it is read again with that one, and its chunk keeps that format for later passes. So a file
 * reads the same whatever the number of ranges.
 */
export async function scanChunks(
  chunks: readonly ScanChunk[],
  settings: ScanSettings,
  options: ParallelOptions,
): Promise<ChunkResult[]> {
  const results = await scanEach(chunks, settings, options);
  for (let i = 1; i < chunks.length; i += 1) {
    const before = chunks[i - 1] as ScanChunk;
    const chunk = chunks[i] as ScanChunk;
    const continues =
      !chunk.gzip && !chunk.parquet && !before.gzip && chunk.path === before.path && chunk.from === before.to;
    if (!continues) continue;
    const inForce = (results[i - 1] as ChunkResult).endFields;
    if (inForce.join(' ') === (chunk.fields ?? settings.fields).join(' ')) continue;
    chunk.fields = [...inForce];
    const [again] = await scanEach([chunk], settings, { workers: 1 });
    results[i] = again as ChunkResult;
  }
  return results;
}

async function scanEach(
  chunks: readonly ScanChunk[],
  settings: ScanSettings,
  options: ParallelOptions,
): Promise<ChunkResult[]> {
  const workers = Math.min(options.workers, chunks.length);
  if (workers <= 1 || options.workerScript === undefined) {
    const [scanner, release] = scannerFor(settings);
    try {
      const results: ChunkResult[] = [];
      for (const chunk of chunks) {
        await scanChunk(chunk, scanner, options.onBytes);
        results.push(scanner.takeResult());
      }
      return results;
    } finally {
      release();
    }
  }
  return scanInWorkers(chunks, settings, workers, options.workerScript, options.onBytes);
}

/**
 * `count` scanners: this thread and `count - 1` worker threads, each taking the next chunk when
 * it is done with one (this thread would otherwise sit idle while the workers scan).
 */
function scanInWorkers(
  chunks: readonly ScanChunk[],
  settings: ScanSettings,
  count: number,
  script: string,
  onBytes?: (bytes: number) => void,
): Promise<ChunkResult[]> {
  return new Promise((resolve, reject) => {
    const results: (ChunkResult | undefined)[] = new Array(chunks.length);
    const pool: Worker[] = [];
    let next = 0;
    let finished = 0;
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      for (const worker of pool) void worker.terminate();
      reject(error);
    };
    const complete = (index: number, result: ChunkResult): void => {
      results[index] = result;
      finished += 1;
      if (finished === chunks.length) {
        for (const w of pool) w.postMessage({ type: 'done' } satisfies ToWorker);
        resolve(results as ChunkResult[]);
      }
    };
    const feed = (worker: Worker): void => {
      if (next < chunks.length) {
        const index = next;
        next += 1;
        worker.postMessage({ type: 'chunk', index, chunk: chunks[index] as ScanChunk } satisfies ToWorker);
      } else {
        worker.postMessage({ type: 'done' } satisfies ToWorker);
      }
    };
    const data: WorkerData = { kind: 'egress-spike-scan', settings };
    for (let i = 0; i < count - 1; i += 1) {
      const worker = new Worker(script, { workerData: data });
      pool.push(worker);
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'bytes') {
          onBytes?.(message.bytes);
        } else if (message.type === 'error') {
          fail(
            message.path === undefined
              ? new Error(message.message)
              : new InputFileError(message.message, message.path),
          );
        } else {
          complete(message.index, message.result);
          if (finished < chunks.length) feed(worker);
        }
      });
      worker.on('error', (error) => fail(error));
      worker.on('exit', (code) => {
        if (code !== 0 && finished < chunks.length) fail(new Error(`scan worker exited with code ${code}`));
      });
      feed(worker);
    }
    // This thread's share.
    void (async () => {
      const [scanner, release] = scannerFor(settings);
      try {
        while (next < chunks.length && !failed) {
          const index = next;
          next += 1;
          await scanChunk(chunks[index] as ScanChunk, scanner, onBytes);
          complete(index, scanner.takeResult());
        }
      } finally {
        release();
      }
    })().catch((error: unknown) => fail(error as Error));
  });
}

/** The worker side: scan the chunks the main thread sends until it says done. */
export function serveScanWorker(port: import('node:worker_threads').MessagePort, data: WorkerData): void {
  const scanner = newScanner(data.settings);
  let reported = 0;
  let pendingBytes = 0;
  const onBytes = (bytes: number): void => {
    pendingBytes += bytes;
    // Progress in coarse steps: a message per 16 MB is plenty for a terminal indicator.
    if (pendingBytes - reported >= 16 * 1024 * 1024) {
      port.postMessage({ type: 'bytes', bytes: pendingBytes - reported } satisfies FromWorker);
      reported = pendingBytes;
    }
  };
  port.on('message', (message: ToWorker) => {
    if (message.type === 'done') {
      port.close();
      return;
    }
    scanChunk(message.chunk, scanner, onBytes).then(
      () => {
        if (pendingBytes > reported) {
          port.postMessage({ type: 'bytes', bytes: pendingBytes - reported } satisfies FromWorker);
          reported = pendingBytes;
        }
        port.postMessage({
          type: 'result',
          index: message.index,
          result: scanner.takeResult(),
        } satisfies FromWorker);
      },
      (error: unknown) => {
        const path = error instanceof InputFileError ? error.path : undefined;
        port.postMessage({
          type: 'error',
          index: message.index,
          message: (error as Error).message,
          path,
        } satisfies FromWorker);
      },
    );
  });
}
