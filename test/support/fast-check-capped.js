/**
 * fast-check as the engine's mutation run sees it (jest.stryker.config.js maps `fast-check` here):
 * every property runs at most STRYKER_FC_MAX_RUNS cases (default 100) and stops at its first
 * failure without shrinking. Each mutant re-runs the properties that reach it, on code Stryker
 * has instrumented (several times slower); a property's 2,000-5,000 cases and the shrinking of
 * each killed mutant's counterexample made the run take most of a day on two cores. Fewer cases
 * can only let more mutants survive, so the score measured this way is a lower bound of the one
 * `npm test`'s full properties would give.
 */
const real = require('../../node_modules/fast-check/lib/cjs/fast-check.js');

const maxRuns = Number(process.env.STRYKER_FC_MAX_RUNS ?? 100);
if (!(Number.isInteger(maxRuns) && maxRuns >= 1))
  throw new Error(`STRYKER_FC_MAX_RUNS must be a positive whole number, not ${process.env.STRYKER_FC_MAX_RUNS}`);

function assert(property, params = {}) {
  return real.assert(property, { ...params, numRuns: Math.min(params.numRuns ?? 100, maxRuns), endOnFailure: true });
}

const capped = { ...real, assert };
module.exports = { ...capped, default: capped, __esModule: true };
