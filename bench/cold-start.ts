/**
 * Cold start: size and module initialisation time of the production bundle.
 *
 * The production build is what CDK's NodejsFunction produces for the stack
 * (lib/constructs/detector-function.ts): esbuild, bundle, minified, CJS, target node22, with
 * `@aws-sdk/*` external (the Node.js 22 runtime ships the SDK). Its peer is an unoptimised build
 * of the same handler: unminified with the SDK bundled in.
 *
 * Init time = the time to `require()` the bundle in a fresh `node` process whose environment is
 * a valid Lambda configuration (the handler parses it and creates its clients at load), measured
 * inside that process around the require call; the median of RUNS processes, alternating builds.
 * A third figure, the SDK floor, is a module that only loads and creates the three SDK clients
 * the handler uses: no handler built on them can start faster.
 * All builds live under .bench-tmp/ in the repository so the external SDK resolves from
 * node_modules as it would from the runtime's.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { BenchResult } from './run';
import { CHILD_ENV } from './support/detector-process';

const RUNS = 9;
const ONE_MEGABYTE = 1024 * 1024;
const INIT_BUDGET_MS = 150;
const ROOT = join(__dirname, '..');

const LAMBDA_ENV: Record<string, string> = {
  LOG_GROUP_IDENTIFIERS: '/vpc/flow-logs',
  TABLE_NAME: 'egress-spike-detector',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:egress-alerts',
  AWS_REGION: 'us-east-1',
  DETECTOR_CONFIG: '{}',
  POWERTOOLS_METRICS_NAMESPACE: 'EgressSpikeDetector',
  POWERTOOLS_SERVICE_NAME: 'egress-spike-detector',
};

interface Build {
  name: string;
  file: string;
  bytes: number;
}

function build(name: string, options: { minify: boolean; externalSdk: boolean }): Build {
  const dir = join(ROOT, '.bench-tmp', 'cold-start', name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.js');
  buildSync({
    entryPoints: [join(ROOT, 'lambda', 'handler.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: options.minify,
    sourcemap: options.minify,
    sourcesContent: false,
    external: options.externalSdk ? ['@aws-sdk/*'] : [],
    outfile: file,
    logLevel: 'error',
  });
  return { name, file, bytes: statSync(file).size };
}

/**
 * The floor under any handler built on the SDK: a module that only loads the three clients the
 * handler uses and creates one of each, as the handler does at init.
 */
function sdkFloor(): Build {
  const dir = join(ROOT, '.bench-tmp', 'cold-start', 'sdk-floor');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.js');
  writeFileSync(
    file,
    [
      "const { CloudWatchLogsClient } = require('@aws-sdk/client-cloudwatch-logs');",
      "const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');",
      "const { SNSClient } = require('@aws-sdk/client-sns');",
      "const config = { region: 'us-east-1' };",
      'const clients = [new CloudWatchLogsClient(config), new DynamoDBClient(config), new SNSClient(config)];',
      'exports.handler = async () => clients.length;',
      '',
    ].join('\n'),
  );
  return { name: 'sdk-floor', file, bytes: statSync(file).size };
}

/** Milliseconds to require `file` in a fresh node process (measured inside it). */
function initMs(file: string): number {
  const script =
    'const t = process.hrtime.bigint();' +
    `const m = require(${JSON.stringify(file)});` +
    'const ms = Number(process.hrtime.bigint() - t) / 1e6;' +
    "if (typeof m.handler !== 'function') throw new Error('no handler export');" +
    'process.stdout.write(String(ms));';
  const out = execFileSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV, ...CHILD_ENV },
    encoding: 'utf8',
  });
  return Number(out);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

export async function run(): Promise<BenchResult> {
  const production = build('production', { minify: true, externalSdk: true });
  const unoptimised = build('unoptimised', { minify: false, externalSdk: false });
  const floor = sdkFloor();
  const builds = [production, unoptimised, floor];
  const times = new Map<string, number[]>(builds.map((b) => [b.name, []]));
  for (const b of builds) initMs(b.file); // warm the file system cache
  for (let i = 0; i < RUNS; i += 1) {
    for (const b of builds) times.get(b.name)?.push(initMs(b.file));
  }
  const prodMs = median(times.get(production.name) ?? []);
  const peerMs = median(times.get(unoptimised.name) ?? []);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
  console.log('build        | size     | init (median of 9) | runs (ms)');
  for (const b of builds) {
    const all = (times.get(b.name) ?? []).map((t) => t.toFixed(0)).join(' ');
    console.log(
      `${b.name.padEnd(12)} | ${kb(b.bytes).padStart(8)} | ${median(times.get(b.name) ?? [])
        .toFixed(1)
        .padStart(10)} ms      | ${all}`,
    );
  }
  const sizeOk = production.bytes < ONE_MEGABYTE;
  const initOk = prodMs < INIT_BUDGET_MS;
  return {
    name: 'cold-start',
    summary:
      `production bundle ${kb(production.bytes)} (target < 1024 KB: ${sizeOk ? 'met' : 'NOT met'}), ` +
      `init ${prodMs.toFixed(0)} ms (target < ${INIT_BUDGET_MS} ms: ${initOk ? 'met' : 'NOT met'}); ` +
      `unoptimised build (unminified, SDK bundled) ${kb(unoptimised.bytes)}, init ${peerMs.toFixed(0)} ms; ` +
      `the three SDK clients alone ${median(times.get(floor.name) ?? []).toFixed(0)} ms; ` +
      'ratio = unoptimised init / production init',
    ratio: peerMs / prodMs,
  };
}
