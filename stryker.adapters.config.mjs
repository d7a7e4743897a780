/**
 * Mutation testing of the decision-critical adapters (`npm run test:mutation:adapters`): the
 * query builder, the count query's split plan and the baseline store's commit path, against the adapters' own suites
 * (jest.stryker.adapters.config.js). The rest is stryker.config.json's; its own incremental file
 * and reports, so the two runs never overwrite each other.
 */
import { readFileSync } from 'node:fs';

const base = JSON.parse(readFileSync(new URL('./stryker.config.json', import.meta.url), 'utf8'));
delete base.$schema;

export default {
  ...base,
  jest: { ...base.jest, configFile: 'jest.stryker.adapters.config.js' },
  mutate: [
    'lambda/adapters/logs-insights-query.ts',
    // How a count is split into queries: a wrong partition would lose or double sources.
    'lambda/adapters/count-split-plan.ts',
    'lambda/adapters/baseline-buckets.ts',
    'lambda/adapters/dynamo-baseline-store.ts',
  ],
  incrementalFile: 'reports/stryker-incremental-adapters.json',
  htmlReporter: { fileName: 'reports/mutation-adapters/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation-adapters/mutation.json' },
};
