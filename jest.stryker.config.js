/**
 * The Jest configuration Stryker runs (stryker.config.json; docs/testing.md "Mutation testing"):
 * the project's, limited to the suites that pin decisions where they are made, the engine's
 * (test/core) and the adapters' (test/adapters), and the handler's config parse. The end-to-end,
 * replay and local-endpoint suites also reach the engine, but each mutant would re-run their
 * endpoints' start-up and whole scenarios: on two cores that is the difference between hours
 * and days. STRYKER_ALL_TESTS=1 runs every suite but those of the CDK stack, the production
 * bundle and the built CLI (they run the code in other processes, where no mutant is active).
 */
const base = require('./jest.config.js');

const everySuite = process.env.STRYKER_ALL_TESTS === '1';

module.exports = {
  ...base,
  ...(everySuite
    ? {
        testPathIgnorePatterns: [
          '/node_modules/',
          '<rootDir>/test/lib/',
          '<rootDir>/test/e2e/cold-start.test.ts',
          '<rootDir>/test/replay/cli.test.ts',
        ],
      }
    : { roots: ['<rootDir>/test/core', '<rootDir>/test/adapters', '<rootDir>/test/handler'] }),
};
