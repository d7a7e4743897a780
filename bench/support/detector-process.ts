/**
 * Runs the detector's Lambda handler (createLambdaRuntime: config parse, real SDK clients, the
 * adapters and the engine) in a fresh process against endpoints elsewhere, and reports what the
 * process itself used: peak RSS (`process.resourceUsage().maxRSS`) and CPU (`process.cpuUsage()`),
 * beside the same figures taken after module loading and before the first invocation (the peer:
 * what an idle process with the same code loaded costs).
 */
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { RunSummary } from '../../lambda/detector-run';
import { detectorNodeOptions } from '../../lib/constructs/detector-bundling';
import { DEFAULT_FUNCTION_MEMORY_MB } from '../../lib/deployment-context';

/** Environment of the forked processes: the SDK's notice about Node 20 would only add noise. */
export const CHILD_ENV = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

export interface DetectorJob {
  env: Record<string, string>;
  /** Invocations, each with its own clock time (ISO). */
  invocations: { nowIso: string; event?: unknown }[];
  /** Row limit of the Logs Insights source (absent: the production default). */
  rowLimit?: number;
  /**
   * What getRemainingTimeInMillis answers (the run's deadline). @default 900,000 (Lambda's 15
   * minutes). The Organization-scale run gives its detector more: the local endpoints answer a
   * million-source window far slower than the services (bench/support/org-scale.ts models those).
   */
  remainingMs?: number;
  /**
   * Instead of invocations: send this many BatchGetItem (100 absent keys) and BatchWriteItem (25
   * per-source baseline items, `pk` SRC#FLOOR...) calls through the handler's own DynamoDB client
   * and measure their CPU: the SDK's cost for the requests of the per-source layout (one item per
   * source, before the baseline buckets), the floor the detector's CPU sat on before.
   */
  sdkFloor?: { batchGets: number; batchWrites: number };
}

export interface DetectorJobResult {
  summaries: RunSummary[];
  /** Peak RSS of the process, bytes. */
  peakRssBytes: number;
  /** RSS peak after loading the code, before the first invocation. */
  loadedRssBytes: number;
  /** CPU (user + system) spent in the invocations, microseconds. */
  runCpuMicros: number;
  /** The system (kernel) part of runCpuMicros. */
  runSystemCpuMicros: number;
  /** Wall time of the invocations, ms (includes waiting for the endpoints). */
  runWallMs: number;
  /** Largest V8 heapUsed sampled (every 200 ms) during the invocations. */
  peakHeapUsedBytes: number;
}

let bundlePath: string | undefined;

/**
 * The detector process runs plain JavaScript bundled by esbuild as the stack bundles the Lambda
 * (minified, `@aws-sdk/*` external, resolved from node_modules as from the runtime's), not
 * through tsx, whose TypeScript compiler would add some 100 MB to the RSS being measured.
 */
function detectorBundle(): string {
  if (bundlePath !== undefined) return bundlePath;
  const dir = join(__dirname, '..', '..', '.bench-tmp', 'detector-process');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'detector-entry.js');
  buildSync({
    entryPoints: [join(__dirname, 'detector-entry.ts')],
    bundle: true,
    minify: process.env.BENCH_DETECTOR_MINIFY !== 'false',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    outfile: out,
    logLevel: 'error',
  });
  bundlePath = out;
  return out;
}

/** Forks a detector process, runs the job there, returns its figures. */
export function runDetectorProcess(job: DetectorJob): Promise<DetectorJobResult> {
  const bundle = detectorBundle();
  return new Promise((resolve, reject) => {
    const child = fork(bundle, [], {
      // The function's own heap cap at the 1,024 MB the targets are set for (detectorNodeOptions),
      // then BENCH_DETECTOR_NODE_FLAGS: extra flags for the measured process, e.g. "--cpu-prof"
      // (a later --max-old-space-size wins: "--max-old-space-size=4096" runs it uncapped).
      env: { ...process.env, ...CHILD_ENV },
      execArgv: [
        ...detectorNodeOptions(DEFAULT_FUNCTION_MEMORY_MB).split(' '),
        ...(process.env.BENCH_DETECTOR_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    child.on('message', (raw) => {
      const message = raw as { result?: DetectorJobResult; error?: string };
      settled = true;
      if (message.error !== undefined) reject(new Error(message.error));
      else if (message.result) resolve(message.result);
      child.disconnect();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`detector process exited (${code}) without a result`));
    });
    child.send(job);
  });
}
