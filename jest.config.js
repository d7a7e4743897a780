/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking is `npm run build`'s job; ts-jest only transpiles so the suite stays fast.
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true }],
    // ES-module-only dependencies, made CommonJS for Jest (test/support/esm-to-cjs.js).
    '/node_modules/hyparquet/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!hyparquet/)'],
  // jest-autoclean removes the temporary cloud assemblies the CDK stack tests synthesize.
  setupFilesAfterEnv: ['<rootDir>/test/jest.setup.ts', 'aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 30000,
};
