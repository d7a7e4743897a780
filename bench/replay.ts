/**
 * Replay throughput against mawk doing the same job in the same run: keep REJECT/OK records
 * whose source is RFC 1918 and destination is not, count them per (hour, source), a source being
 * an address within its account (the replay's source keys, issue 14).
 *
 * Two large v2 files are generated in a temp directory and deleted after: the sample's 21 days
 * of 80 hosts grown with background records (about 2.1M lines, 231 MB), and a busy fleet's first
 * export where every source is new (bench/support/many-sources.ts: 2,000 sources, 6 hours, about
 * 2.35M lines, 263 MB, mostly blocked egress to some 60,000 distinct destinations; a fresh replay
 * learns its first window instead of raising a new-source flood). The ratio is the lower of the two.
 * Both tools read it from the page cache; each runs ROUNDS times, alternately, and the medians
 * count (the machine is shared: a best time rewards luck, a median shows the usual run). The
 * CPU time of each run (user + system, of the process and its threads) is printed beside it:
 * on a busy machine wall times mostly measure waiting for a core, CPU times much less so.
 * The replay runs as users run it: the built CLI (`node dist/egress-spike.js replay --json`),
 * start-up, worker threads, evaluation and output included. The two must agree on the number of
 * records counted, or the benchmark fails.
 *
 * `tsx bench/replay.ts` runs it alone; the harness (bench/run.ts) imports `run`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSample } from '../scripts/flow-log-sample';
import { buildCli } from '../scripts/build-cli';
import { writeManySources } from './support/many-sources';

/** The harness's result shape (bench/run.ts). */
export interface BenchResult {
  name: string;
  summary: string;
  ratio: number;
}

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'egress-spike.js');

// The peer: what a shell user would write. RFC 1918 by regex on the text, as ESCU's search does.
const MAWK_PROGRAM = `
function internal(a) { return a ~ /^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.)/ }
$13 == "REJECT" && $14 == "OK" && internal($4) && !internal($5) { c[int($11 / 3600) " " $2 " " $4]++ }
END { for (k in c) { pairs++; total += c[k] } print pairs, total }
`;

function findMawk(): string {
  for (const path of ['/usr/bin/mawk', '/bin/mawk', '/usr/local/bin/mawk']) if (existsSync(path)) return path;
  console.log('mawk not found: installing it with apt-get');
  const install = spawnSync(
    'sh',
    ['-c', 'apt-get install -y mawk || (apt-get update && apt-get install -y mawk)'],
    { stdio: 'inherit' },
  );
  if (install.status !== 0 || !existsSync('/usr/bin/mawk'))
    throw new Error('mawk is needed as the peer: apt-get install -y mawk');
  return '/usr/bin/mawk';
}

/** Runs the command; its wall time, its CPU time (user + system, from the shell's `times`) and stdout. */
function timed(command: string, args: string[]): { seconds: number; cpuSeconds: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(
    'bash',
    ['-c', '"$@"; status=$?; times >&2; exit $status', 'timed', command, ...args],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  // `times` prints the shell's own user and system time, then its children's: "0m0.52s 0m0.05s".
  const children = result.stderr.trim().split('\n').pop() ?? '';
  const cpuSeconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, [, minutes, secs]) => sum + Number(minutes) * 60 + Number(secs),
    0,
  );
  return { seconds, cpuSeconds, stdout: result.stdout };
}

const ROUNDS = 5;
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** Wall time for `copies` runs of the command started together. */
function concurrentSeconds(command: string, args: string[], copies: number): Promise<number> {
  const started = process.hrtime.bigint();
  const runs = Array.from(
    { length: copies },
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(command, args, { stdio: 'ignore' });
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
        );
      }),
  );
  return Promise.all(runs).then(() => Number(process.hrtime.bigint() - started) / 1e9);
}

interface ReplaySummary {
  linesRead: number;
  recordsCounted: number;
  alerts: number;
  sources: number;
  timings: { scanMs: number; evaluateMs: number; detailsMs: number };
  workers: number;
}

interface Measured {
  name: string;
  lines: number;
  bytes: number;
  /** Medians of the rounds: wall and CPU seconds. */
  replaySeconds: number;
  mawkSeconds: number;
  replayCpu: number;
  mawkCpu: number;
  summary: ReplaySummary;
}

/** ROUNDS rounds of each tool, alternately, on one file; the two must count the same records. */
function measure(name: string, file: string, bytes: number, mawk: string, programFile: string): Measured {
  const replayTimes: number[] = [];
  const mawkTimes: number[] = [];
  const replayCpus: number[] = [];
  const mawkCpus: number[] = [];
  let summary: ReplaySummary | undefined;
  let mawkOutput = '';
  for (let round = 0; round < ROUNDS; round += 1) {
    const replay = timed(process.execPath, [CLI, 'replay', '--json', file]);
    replayTimes.push(replay.seconds);
    replayCpus.push(replay.cpuSeconds);
    const lines = replay.stdout.trim().split('\n');
    summary = JSON.parse(lines[lines.length - 1] ?? '{}') as ReplaySummary;
    const peer = timed(mawk, ['-f', programFile, file]);
    mawkTimes.push(peer.seconds);
    mawkCpus.push(peer.cpuSeconds);
    mawkOutput = peer.stdout.trim();
    const t = summary.timings;
    console.log(
      `  ${name}, round ${round + 1}: replay ${replay.seconds.toFixed(2)} s, CPU ${replay.cpuSeconds.toFixed(2)} s ` +
        `(scan ${t.scanMs} ms, evaluate ${t.evaluateMs} ms, details ${t.detailsMs} ms, ${summary.workers} threads, ` +
        `${summary.alerts} alerts), mawk ${peer.seconds.toFixed(2)} s, CPU ${peer.cpuSeconds.toFixed(2)} s`,
    );
  }
  const [, mawkTotal] = mawkOutput.split(' ').map(Number);
  if (!summary || mawkTotal !== summary.recordsCounted) {
    throw new Error(
      `${name}: replay and mawk disagree: replay counted ${summary?.recordsCounted}, mawk ${mawkTotal}`,
    );
  }
  console.log(
    `  ${name}: ${summary.linesRead.toLocaleString('en-US')} lines, ${(bytes / 1_048_576).toFixed(0)} MB, ` +
      `${summary.sources.toLocaleString('en-US')} sources, ${summary.recordsCounted.toLocaleString('en-US')} records counted by both`,
  );
  return {
    name,
    lines: summary.linesRead,
    bytes,
    replaySeconds: median(replayTimes),
    mawkSeconds: median(mawkTimes),
    replayCpu: median(replayCpus),
    mawkCpu: median(mawkCpus),
    summary,
  };
}

export async function run(): Promise<BenchResult> {
  const mawk = findMawk();
  buildCli();
  const dir = await fs.mkdtemp(join(tmpdir(), 'bench-replay-'));
  try {
    const programFile = join(dir, 'peer.awk');
    await fs.writeFile(programFile, MAWK_PROGRAM);
    const file = join(dir, 'flows.log');
    const fresh = join(dir, 'every-source-new.log');
    console.log('generating the inputs...');
    await writeSample(file, { hosts: 80, days: 21, backgroundScale: 25, seed: 4242 });
    await writeManySources(fresh, { sources: 2000, hours: 6 });
    const bytes = (await fs.stat(file)).size;

    const sample = measure('sample', file, bytes, mawk, programFile);
    const everyNew = measure('every source new', fresh, (await fs.stat(fresh)).size, mawk, programFile);
    // The same with the scan in one thread, for comparison with the default (one per core).
    const single = timed(process.execPath, [CLI, 'replay', '--json', '--workers', '1', file]);
    console.log(
      `  sample, replay in one thread: ${single.seconds.toFixed(2)} s (mawk's median / that: ${(sample.mawkSeconds / single.seconds).toFixed(2)})`,
    );
    // How much parallelism this machine gives right now (other jobs share it): two mawks at
    // once against one. 2 means two free cores; 1 means the threads only take turns.
    const twoAtOnce = await concurrentSeconds(mawk, ['-f', programFile, file], 2);
    const parallelism = (2 * sample.mawkSeconds) / twoAtOnce;
    console.log(
      `  two mawks at once took ${twoAtOnce.toFixed(2)} s: this machine runs ${parallelism.toFixed(2)} jobs' worth in parallel now`,
    );
    const describe = (m: Measured): string => {
      const perSecond = (seconds: number): string => `${(m.lines / seconds / 1e6).toFixed(2)}M lines/s`;
      return (
        `${m.name}: replay ${perSecond(m.replaySeconds)} (${m.replaySeconds.toFixed(2)} s, CPU ${m.replayCpu.toFixed(2)} s), ` +
        `mawk ${perSecond(m.mawkSeconds)} (${m.mawkSeconds.toFixed(2)} s, CPU ${m.mawkCpu.toFixed(2)} s) on ` +
        `${(m.lines / 1e6).toFixed(1)}M lines, ratio ${(m.mawkSeconds / m.replaySeconds).toFixed(2)} ` +
        `(CPU ${(m.mawkCpu / m.replayCpu).toFixed(2)})`
      );
    };
    return {
      name: 'replay',
      summary: `${describe(sample)}; ${describe(everyNew)}; ${parallelism.toFixed(1)} cores free; medians of ${ROUNDS} rounds; the lower mawk time / replay time`,
      ratio: Math.min(
        sample.mawkSeconds / sample.replaySeconds,
        everyNew.mawkSeconds / everyNew.replaySeconds,
      ),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().then(
    (result) => console.log(`${result.name}: ${result.summary} ratio ${Number(result.ratio.toPrecision(4))}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
