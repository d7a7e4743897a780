import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      'dist/',
      'coverage/',
      '.stryker-tmp/',
      'reports/',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // A test must replay the same way: fast-check's generators (their seed is printed on failure)
    // or seededRandom from lambda/core, never Math.random.
    files: ['test/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: "irreproducible in a test: use fast-check's generators or seededRandom (lambda/core)",
        },
      ],
    },
  },
  {
    // The CLI, benchmarks and scripts talk to a terminal on purpose.
    files: ['bin/**', 'bench/**', 'scripts/**', 'lambda/cli/**'],
    rules: { 'no-console': 'off' },
  },
);
