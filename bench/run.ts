/**
 * Benchmark harness: `npm run bench` runs every benchmark module in bench/ (this file aside);
 * `npm run bench -- calibration replay` runs the named ones, in that order.
 *
 * A benchmark module is `bench/<name>.ts` exporting
 *
 *   export async function run(): Promise<BenchResult>
 *
 * It may print whatever detail it likes (tables, progress) while it runs; it must not exit the
 * process. The harness then prints the module's one summary line, always last for that module:
 *
 *   <name>: <summary> ratio <ratio>
 *
 * where `ratio` compares the project against a peer measured in the same run (a fixed rule, a
 * naive implementation, ...), never against a stored number or a wall-clock budget, so the line
 * means the same on a fast laptop and on a loaded CI runner. Say in `summary` which way the ratio
 * reads (e.g. "fixed-rule false alerts / recommended false alerts").
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchResult {
  /** Short name, normally the module's file name without `.ts`. */
  name: string;
  /** The headline figures, in words, e.g. "0.7 false alerts/day at 10,000 sources (budget 1) ...". */
  summary: string;
  /** Project vs peer, measured in the same run. */
  ratio: number;
}

interface BenchModule {
  run?: () => Promise<BenchResult>;
}

export function summaryLine(result: BenchResult): string {
  const ratio = Number.isFinite(result.ratio)
    ? Number(result.ratio.toPrecision(4)).toString()
    : String(result.ratio);
  return `${result.name}: ${result.summary} ratio ${ratio}`;
}

/** Benchmark names in bench/, sorted: every `*.ts` but this harness. */
export function benchmarkNames(directory: string): string[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== basename(__filename))
    .map((file) => file.slice(0, -'.ts'.length))
    .sort();
}

async function main(argv: readonly string[]): Promise<number> {
  const available = benchmarkNames(__dirname);
  const wanted = argv.length > 0 ? [...argv] : available;
  const unknown = wanted.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')} (available: ${available.join(', ')})`);
    return 2;
  }
  let failures = 0;
  for (const name of wanted) {
    const module = (await import(pathToFileURL(join(__dirname, `${name}.ts`)).href)) as BenchModule;
    // tsx may hand a CommonJS module back under `default`.
    const run = module.run ?? (module as { default?: BenchModule }).default?.run;
    if (typeof run !== 'function') {
      if (argv.length > 0) {
        console.error(`${name}: exports no run(): Promise<BenchResult>`);
        failures += 1;
      }
      continue;
    }
    const started = Date.now();
    console.log(`== ${name}`);
    try {
      const result = await run();
      console.log(`(${name} took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      console.log(summaryLine(result));
    } catch (error) {
      console.error(
        `${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      failures += 1;
    }
  }
  return failures === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
