/**
 * The engine's mutation run on a uniform random sample of its mutants (`npm run
 * test:mutation:sample`; docs/testing.md "Mutation testing"): stryker.config.json without the
 * TypeScript checker, with its own incremental file. The sample is drawn by
 * scripts/stryker-sample.mjs (STRYKER_SAMPLE, default 0.2 in the npm script; STRYKER_SAMPLE_SEED).
 *
 * Without the checker a mutant that is not valid TypeScript still runs (ts-jest only transpiles):
 * the checker took as much CPU as the tests, and such a mutant is killed like any other or, when
 * it survives, listed with the reason that the compiler would refuse it.
 */
import { readFileSync } from 'node:fs';

const base = JSON.parse(readFileSync(new URL('./stryker.config.json', import.meta.url), 'utf8'));
delete base.$schema;

export default { ...base, checkers: [], incrementalFile: 'reports/stryker-incremental-sample.json' };
