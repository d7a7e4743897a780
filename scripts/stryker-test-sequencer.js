/**
 * Jest's test sequencer for the mutation run (jest.stryker.config.js; docs/testing.md "Mutation
 * testing"): it leaves out the suites in which no test can match the mutant's test name pattern.
 *
 * Stryker's Jest runner runs each mutant's covering tests as a `testNamePattern` (one alternative
 * per test id, a test's full name), and Jest then loads every suite to find them: on this
 * project's engine suites that start-up was most of each mutant's 8 seconds. Jest matches the
 * pattern against every test's full name, unanchored; so a suite holding no test whose full name
 * the pattern matches runs no test, and leaving it out changes no result.
 *
 * Which suite holds which full names comes from an index (STRYKER_TEST_INDEX, a JSON file
 * `{ "<suite path relative to rootDir>": ["<full name>", ...] }`) that scripts/mutation-by-file.ts
 * writes from a run of the same suites just before Stryker's. Every suite is kept whenever the
 * index could be wrong: no index or no pattern (the dry run), a test id the index does not hold
 * (a test added or renamed since, a name made at run time), or a suite it does not know.
 */
const { readFileSync } = require('node:fs');
const { relative } = require('node:path');
const DefaultSequencer = require('@jest/test-sequencer').default;

/** The test ids of Stryker's pattern: `(<escaped id>)|(<escaped id>)...`; undefined if not that shape. */
function testIdsOf(pattern) {
  if (!pattern.startsWith('(') || !pattern.endsWith(')')) return undefined;
  // Stryker escapes every special character of an id, so an unescaped ")|(" only separates ids.
  return pattern
    .slice(1, -1)
    .split(')|(')
    .map((escaped) => escaped.replace(/\\(.)/gs, '$1'));
}

/**
 * The suites (paths relative to rootDir) to run for the pattern, as a filter of the suites Jest
 * found; undefined (run them all) unless the index holds every one of those suites and every
 * test id of the pattern.
 */
function suitesFor(pattern, index, suitesFound) {
  const ids = testIdsOf(pattern);
  if (ids === undefined || !suitesFound.every((suite) => Object.hasOwn(index, suite))) return undefined;
  const known = new Set(Object.values(index).flat());
  if (!ids.every((id) => known.has(id))) return undefined;
  // As Jest matches it (jest-circus: case-insensitive, unanchored, on the full name).
  const matcher = new RegExp(pattern, 'i');
  return new Set(suitesFound.filter((suite) => index[suite].some((name) => matcher.test(name))));
}

class MutantTestSequencer extends DefaultSequencer {
  constructor(options) {
    super(options);
    this.pattern = options.globalConfig.testNamePattern;
  }

  async sort(tests) {
    const sorted = await super.sort(tests);
    const indexFile = process.env.STRYKER_TEST_INDEX;
    if (!indexFile || !this.pattern) return sorted;
    const paths = sorted.map((test) => relative(test.context.config.rootDir, test.path));
    const suites = suitesFor(this.pattern, JSON.parse(readFileSync(indexFile, 'utf8')), paths);
    return suites === undefined ? sorted : sorted.filter((_, i) => suites.has(paths[i]));
  }
}

module.exports = MutantTestSequencer;
module.exports.suitesFor = suitesFor;
module.exports.testIdsOf = testIdsOf;
