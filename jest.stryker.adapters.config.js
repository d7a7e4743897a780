/**
 * The Jest configuration of the adapters' mutation run (stryker.adapters.config.mjs): the
 * adapters' suites, which run the real SDK clients against the local endpoints.
 */
const base = require('./jest.config.js');

module.exports = { ...base, roots: ['<rootDir>/test/adapters'] };
