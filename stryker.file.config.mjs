/**
 * The engine's whole mutation run, one file at a time (`npm run test:mutation:file --
 * lambda/core/windows.ts`; docs/testing.md "Mutation testing"): stryker.config.json for one file
 * of lambda/core, with its own incremental file and JSON report under reports/mutation-by-file/.
 * Stryker keeps in its incremental file only the mutants of the run that wrote it, so a whole run
 * spread over days (one file a sitting) needs one file each; `npm run test:mutation:report`
 * merges the reports. No TypeScript checker, as in the sample (stryker.sample.config.mjs says why).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const file = process.env.STRYKER_FILE;
if (!file || !/^lambda\/core\/[\w-]+\.ts$/.test(file))
  throw new Error(`STRYKER_FILE must name one file of lambda/core (lambda/core/<name>.ts), not ${file}`);
const name = basename(file, '.ts');

const base = JSON.parse(readFileSync(new URL('./stryker.config.json', import.meta.url), 'utf8'));
delete base.$schema;

export default {
  ...base,
  checkers: [],
  mutate: [file],
  incrementalFile: `reports/mutation-by-file/${name}.incremental.json`,
  htmlReporter: { fileName: `reports/mutation-by-file/${name}.html` },
  jsonReporter: { fileName: `reports/mutation-by-file/${name}.json` },
  tempDirName: `.stryker-tmp-${name}`,
  ignorePatterns: [...base.ignorePatterns, '.stryker-tmp*'],
};
