// An unhandled rejection in a test is a bug in that test or in the code under test: fail loudly.
process.on('unhandledRejection', (reason) => {
  throw reason instanceof Error ? reason : new Error(String(reason));
});
