/**
 * The Jest configuration of the engine's mutation run (stryker.config.json; docs/testing.md
 * "Mutation testing"): the project's, limited to the engine's own suites (test/core), which must
 * pin every decision where it is made. Left out:
 * - the end-to-end, replay and local-endpoint suites: they reach the engine too, but each mutant
 *   would re-run their endpoints' start-up and whole scenarios (hours become days on two cores);
 * - the fleet simulations (calibration.test.ts: its work runs in a child process, where no
 *   mutant is active; rhythm-fleet.test.ts: 25 s that every engine mutant would pay).
 * STRYKER_ALL_TESTS=1 runs every suite but those of the CDK stack, the production bundle and the
 * built CLI (they run the code in other processes, where no mutant is active). STRYKER_TEST_FILES
 * runs only the suites it names (a first pass; the file's result is not recorded from it).
 */
const base = require('./jest.config.js');

const everySuite = process.env.STRYKER_ALL_TESTS === '1';

// A first pass over one file with only the suites that call it (comma-separated paths; see
// docs/testing.md "Mutation testing"): Stryker's Jest runner loads every suite for each mutant.
const onlyFiles = process.env.STRYKER_TEST_FILES;

module.exports = {
  ...base,
  ...(onlyFiles ? { testMatch: onlyFiles.split(',').map((file) => `<rootDir>/${file.trim()}`) } : {}),
  // Properties capped for the mutation run (test/support/fast-check-capped.js says why).
  moduleNameMapper: { '^fast-check$': '<rootDir>/test/support/fast-check-capped.js' },
  // Each mutant loads only the suites holding its covering tests (the script says why it is exact).
  testSequencer: '<rootDir>/scripts/stryker-test-sequencer.js',
  ...(everySuite
    ? {
        testPathIgnorePatterns: [
          '/node_modules/',
          '<rootDir>/test/lib/',
          '<rootDir>/test/e2e/cold-start.test.ts',
          '<rootDir>/test/replay/cli.test.ts',
          '<rootDir>/test/core/calibration.test.ts',
        ],
      }
    : {
        roots: ['<rootDir>/test/core'],
        testPathIgnorePatterns: [
          '/node_modules/',
          '<rootDir>/test/core/calibration.test.ts',
          '<rootDir>/test/core/rhythm-fleet.test.ts',
        ],
      }),
};
