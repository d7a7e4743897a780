/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking is `npm run build`'s job; ts-jest only transpiles so the suite stays fast.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  // jest-autoclean removes the temporary cloud assemblies the CDK stack tests synthesize.
  setupFilesAfterEnv: ['<rootDir>/test/jest.setup.ts', 'aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 30000,
};
