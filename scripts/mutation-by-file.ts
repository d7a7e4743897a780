/**
 * The engine's whole mutation run, a file at a time (docs/testing.md "Mutation testing"):
 *
 *   npm run test:mutation:file                          every file of lambda/core without a standing result, smallest first
 *   npm run test:mutation:file -- lambda/core/rhythm.ts  that file (again, incrementally)
 *   npm run test:mutation:file -- --concurrency 1        options starting with -- go to Stryker
 *   STRYKER_TEST_FILES=test/core/a.test.ts,... npm run test:mutation:file -- lambda/core/a.ts
 *                                                       a first pass with those suites only (not recorded)
 *
 * Each file runs as its own Stryker run (stryker.file.config.mjs), with its own incremental file
 * and report under reports/mutation-by-file/: a run stopped part-way loses only its file. Each
 * file's result then goes into the committed record, docs/mutation-whole-run.json, so the whole
 * run can be spread over as many sittings, and machines, as it takes: a file counts as done while
 * its text is the one its result was measured on. `npm run test:mutation:report -- --by-file`
 * turns the record into the tables of docs/testing.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { engineFiles, wholeRun } from './mutation-report';

const ROOT = join(__dirname, '..');

const args = process.argv.slice(2);
const optionAt = args.findIndex((arg) => arg.startsWith('--'));
const named = optionAt < 0 ? args : args.slice(0, optionAt);
const strykerOptions = optionAt < 0 ? [] : args.slice(optionAt);
const { standing } = wholeRun(false);
const files = named.length > 0 ? named : engineFiles().filter((file) => standing[file] === undefined);
for (const file of named) {
  if (!engineFiles().includes(file))
    throw new Error(
      `${file} is not a file of the engine's mutation scope (lambda/core, but random.ts and index.ts)`,
    );
}
/**
 * The index scripts/stryker-test-sequencer.js reads: each suite of the mutation run's Jest
 * configuration and the full names of its tests, from one run of those suites (as Stryker's dry
 * run would find them). With it each mutant loads only the suites holding its covering tests.
 */
function writeTestIndex(): string {
  const dir = join(ROOT, 'reports', 'mutation-test-index'); // not beside the per-file reports, which the record reads
  mkdirSync(dir, { recursive: true });
  const results = join(dir, 'jest-results.json');
  const run = spawnSync(
    'npx',
    ['jest', '-c', 'jest.stryker.config.js', '--silent', '--json', `--outputFile=${results}`],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: process.env },
  );
  if (run.status !== 0) throw new Error('the engine suites failed: fix them before a mutation run');
  const report = JSON.parse(readFileSync(results, 'utf8')) as {
    testResults: { name: string; assertionResults: { fullName: string }[] }[];
  };
  const index = Object.fromEntries(
    report.testResults.map((suite) => [
      relative(ROOT, suite.name),
      suite.assertionResults.map((test) => test.fullName),
    ]),
  );
  const file = join(dir, 'test-index.json');
  writeFileSync(file, JSON.stringify(index));
  return file;
}

if (files.length > 0 && process.env.STRYKER_TEST_INDEX === undefined)
  process.env.STRYKER_TEST_INDEX = writeTestIndex();
if (files.length === 0)
  console.log('Every file of lambda/core has a standing result: npm run test:mutation:report -- --by-file');
for (const file of files) {
  console.log(`\n== ${file}`);
  const run = spawnSync('nice', ['npx', 'stryker', 'run', 'stryker.file.config.mjs', ...strykerOptions], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, STRYKER_FILE: file },
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
  if (process.env.STRYKER_TEST_FILES) {
    // Only some suites ran: the survivors may die to the others. Not a result to record.
    console.log(`${file}: first pass (STRYKER_TEST_FILES), not recorded: run it again without it`);
    continue;
  }
  wholeRun(true, [file]);
  console.log(`${file}: recorded in docs/mutation-whole-run.json`);
}
