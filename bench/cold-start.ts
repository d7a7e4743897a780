/**
 * Cold start: size and module initialisation time of the production bundle.
 *
 * The production build is what CDK's NodejsFunction produces for the stack: the options come
 * from lib/constructs/detector-bundling.ts, the definition DetectorFunction bundles with (esbuild,
 * minified, CJS, node22, ES module builds first, the SDK bundled but for the EC2 client and the
 * STS/SSO clients only credential profiles use), run as the stack runs it (no NODE_OPTIONS). Its
 * peer is an unoptimised build of the same handler: esbuild's defaults, unminified, everything
 * bundled. More rows show where the time goes: production run with --enable-source-maps; the
 * build as deployed before (minified, `@aws-sdk/*` left to the runtime's SDK in node_modules,
 * --enable-source-maps); and the SDK floor: a module that only loads and creates the three SDK
 * clients the handler creates at init, bundled like production (no handler built on them can
 * start faster) and, beside it, loaded from node_modules; and the configuration alone: the
 * environment and detector config parsed with the handler's zod schemas, bundled like production.
 *
 * Init time = the time to `require()` the bundle in a fresh `node` process whose environment is
 * a valid Lambda configuration (the handler parses it and creates its clients at load), measured
 * inside that process around the require call, wall clock and CPU; the median of RUNS processes,
 * alternating builds. All builds live under .bench-tmp/ in the repository so external modules
 * resolve from node_modules as they would from the runtime's.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildSync, type BuildOptions } from 'esbuild';
import { detectorEsbuildOptions } from '../lib/constructs/detector-bundling';
import type { BenchResult } from './run';
import { CHILD_ENV } from './support/detector-process';

const RUNS = 15;
const ONE_MEGABYTE = 1024 * 1024;
const INIT_BUDGET_MS = 150;
const ROOT = join(__dirname, '..');
const OUT = join(ROOT, '.bench-tmp', 'cold-start');
const HANDLER = join(ROOT, 'lambda', 'handler.ts');

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
  what: string;
  file: string;
  bytes: number;
  /** NODE_OPTIONS of the measured process (the stack sets none). */
  nodeOptions?: string;
}

function build(
  name: string,
  what: string,
  options: (outfile: string) => BuildOptions,
  nodeOptions?: string,
): Build {
  const file = join(OUT, name, 'index.js');
  mkdirSync(join(OUT, name), { recursive: true });
  buildSync(options(file));
  return {
    name,
    what,
    file,
    bytes: statSync(file).size,
    ...(nodeOptions === undefined ? {} : { nodeOptions }),
  };
}

/** The three clients the handler creates at init, created the same way, and nothing else. */
function writeSdkFloorEntry(): string {
  const entry = join(OUT, 'sdk-floor-entry.ts');
  mkdirSync(OUT, { recursive: true });
  writeFileSync(
    entry,
    [
      "import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';",
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "import { SNSClient } from '@aws-sdk/client-sns';",
      "const config = { region: 'us-east-1' };",
      'const clients = [new CloudWatchLogsClient(config), new DynamoDBClient(config), new SNSClient(config)];',
      'export const handler = async () => clients.length;',
      '',
    ].join('\n'),
  );
  return entry;
}

/** The Lambda's configuration alone: the environment and detector config parsed as at init (zod). */
function writeConfigEntry(): string {
  const entry = join(OUT, 'config-entry.ts');
  mkdirSync(OUT, { recursive: true });
  const lambda = (module: string) => JSON.stringify(join(ROOT, 'lambda', module));
  writeFileSync(
    entry,
    [
      `import ${lambda('zod-jitless')};`,
      `import { loadRuntimeConfig } from ${lambda('runtime-config')};`,
      'const config = loadRuntimeConfig(process.env);',
      'export const handler = async () => config;',
      '',
    ].join('\n'),
  );
  return entry;
}

/** Milliseconds (wall, CPU) to require `file` in a fresh node process, measured inside it. */
function initMs({ file, nodeOptions }: Build): { wall: number; cpu: number } {
  const script =
    'const c = process.cpuUsage(); const t = process.hrtime.bigint();' +
    `const m = require(${JSON.stringify(file)});` +
    'const wall = Number(process.hrtime.bigint() - t) / 1e6; const u = process.cpuUsage(c);' +
    "if (typeof m.handler !== 'function') throw new Error('no handler export');" +
    'process.stdout.write(JSON.stringify({ wall, cpu: (u.user + u.system) / 1000 }));';
  const out = execFileSync(process.execPath, ['-e', script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...LAMBDA_ENV,
      ...CHILD_ENV,
      ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
    },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { wall: number; cpu: number };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

export async function run(): Promise<BenchResult> {
  const minifiedSdkExternal = (outfile: string): BuildOptions => ({
    entryPoints: [HANDLER],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    external: ['@aws-sdk/*'],
    outfile,
    logLevel: 'error',
  });
  const floorEntry = writeSdkFloorEntry();
  const production = build('production', 'as the stack builds it (SDK bundled)', (outfile) =>
    detectorEsbuildOptions(ROOT, HANDLER, outfile),
  );
  const unoptimised = build('unoptimised', 'esbuild defaults: unminified, everything bundled', (outfile) => ({
    entryPoints: [HANDLER],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    outfile,
    logLevel: 'error',
  }));
  const withSourceMaps = build(
    'prod+maps',
    'production, run with NODE_OPTIONS=--enable-source-maps',
    (outfile) => detectorEsbuildOptions(ROOT, HANDLER, outfile),
    '--enable-source-maps',
  );
  const before = build(
    'before',
    "as deployed before: @aws-sdk/* from node_modules (the runtime's), --enable-source-maps",
    (outfile) => ({ ...minifiedSdkExternal(outfile), sourcemap: true, sourcesContent: false }),
    '--enable-source-maps',
  );
  const floor = build('sdk-floor', 'the three clients only, bundled like production', (outfile) =>
    detectorEsbuildOptions(ROOT, floorEntry, outfile),
  );
  const floorModules = build('sdk-floor-nm', 'the three clients only, from node_modules', (outfile) => ({
    ...minifiedSdkExternal(outfile),
    entryPoints: [floorEntry],
  }));
  const config = build(
    'config',
    'the environment and detector config parsed (zod), bundled like production',
    (outfile) => detectorEsbuildOptions(ROOT, writeConfigEntry(), outfile),
  );
  const builds = [production, unoptimised, withSourceMaps, before, floor, floorModules, config];
  const wall = new Map<string, number[]>(builds.map((b) => [b.name, []]));
  const cpu = new Map<string, number[]>(builds.map((b) => [b.name, []]));
  const loadBefore = load();
  for (const b of builds) initMs(b); // warm the file system cache
  for (let i = 0; i < RUNS; i += 1) {
    for (const b of builds) {
      const t = initMs(b);
      wall.get(b.name)?.push(t.wall);
      cpu.get(b.name)?.push(t.cpu);
    }
  }
  const wallMs = (b: Build) => median(wall.get(b.name) ?? []);
  const cpuMs = (b: Build) => median(cpu.get(b.name) ?? []);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
  console.log(`load average (1, 5, 15 min): ${loadBefore} before, ${load()} after`);
  console.log(`build        | size     | init, median of ${RUNS}: wall | cpu    | wall runs (ms) | what`);
  for (const b of builds) {
    const all = (wall.get(b.name) ?? []).map((t) => t.toFixed(0)).join(' ');
    console.log(
      `${b.name.padEnd(12)} | ${kb(b.bytes).padStart(8)} | ${wallMs(b).toFixed(1).padStart(10)} ms` +
        `          | ${cpuMs(b).toFixed(0).padStart(3)} ms | ${all} | ${b.what}`,
    );
  }
  const prodMs = wallMs(production);
  const peerMs = wallMs(unoptimised);
  const sizeOk = production.bytes < ONE_MEGABYTE;
  const initOk = prodMs < INIT_BUDGET_MS;
  return {
    name: 'cold-start',
    summary:
      `production bundle ${kb(production.bytes)} (target < 1024 KB: ${sizeOk ? 'met' : 'NOT met'}), ` +
      `init ${prodMs.toFixed(0)} ms (target < ${INIT_BUDGET_MS} ms: ${initOk ? 'met' : 'NOT met'}); ` +
      `unoptimised build (unminified, everything bundled) ${kb(unoptimised.bytes)}, init ${peerMs.toFixed(0)} ms; ` +
      `with --enable-source-maps ${wallMs(withSourceMaps).toFixed(0)} ms; ` +
      `as deployed before (SDK from node_modules, --enable-source-maps) ${wallMs(before).toFixed(0)} ms; ` +
      `SDK floor (the three clients alone) ${wallMs(floor).toFixed(0)} ms bundled, ${wallMs(floorModules).toFixed(0)} ms from node_modules; ` +
      `config parse alone ${wallMs(config).toFixed(0)} ms; ` +
      `load ${loadBefore}; ratio = unoptimised init / production init`,
    ratio: peerMs / prodMs,
  };
}
