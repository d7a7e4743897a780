// An unhandled rejection in a test is a bug in that test or in the code under test: fail loudly.
process.on('unhandledRejection', (reason) => {
  throw reason instanceof Error ? reason : new Error(String(reason));
});

// Property tests (fast-check) print `{ seed, path }` when they fail. FC_SEED=<seed> runs every
// property with that seed (add `path` to the failing fc.assert's options to replay one case).
if (process.env.FC_SEED !== undefined) {
  const seed = Number(process.env.FC_SEED);
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${process.env.FC_SEED}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('fast-check') as typeof import('fast-check')).configureGlobal({ seed });
}
