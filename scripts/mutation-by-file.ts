/**
 * The engine's whole mutation run, a file at a time (docs/testing.md "Mutation testing"):
 *
 *   npm run test:mutation:file                          every file of lambda/core without a report yet, smallest first
 *   npm run test:mutation:file -- lambda/core/rhythm.ts  that file (again, incrementally)
 *   npm run test:mutation:file -- --concurrency 1        options starting with -- go to Stryker
 *
 * Each file runs as its own Stryker run (stryker.file.config.mjs), with its own incremental file
 * and report under reports/mutation-by-file/: a run stopped part-way loses only its file, and the
 * whole run can be spread over as many sittings as the machine allows. `npm run
 * test:mutation:report -- --by-file` merges the reports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { engineFiles } from './mutation-report';

const ROOT = join(__dirname, '..');

const reportOf = (file: string): string =>
  join(ROOT, 'reports', 'mutation-by-file', `${basename(file, '.ts')}.json`);

const args = process.argv.slice(2);
const optionAt = args.findIndex((arg) => arg.startsWith('--'));
const named = optionAt < 0 ? args : args.slice(0, optionAt);
const strykerOptions = optionAt < 0 ? [] : args.slice(optionAt);
const files = named.length > 0 ? named : engineFiles().filter((file) => !existsSync(reportOf(file)));
for (const file of named) {
  if (!engineFiles().includes(file))
    throw new Error(
      `${file} is not a file of the engine's mutation scope (lambda/core, but random.ts and index.ts)`,
    );
}
if (files.length === 0) console.log('Every file of lambda/core has a report: npm run test:mutation:report');
for (const file of files) {
  console.log(`\n== ${file}`);
  const run = spawnSync('nice', ['npx', 'stryker', 'run', 'stryker.file.config.mjs', ...strykerOptions], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, STRYKER_FILE: file },
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
