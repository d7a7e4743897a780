#!/usr/bin/env node
/**
 * CLI entry: `egress-spike replay [options] <file|dir>...`. Built with esbuild into
 * dist/egress-spike.js (and dist/scan-worker.js for the worker threads) by `npm run build:cli`.
 */
// First: V8's flags for a short process, before any of the engine's code is compiled.
import '../lambda/replay/v8-tuning';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../lambda/replay/cli';

// Worker threads need plain JS: only the bundle has its worker beside it; from TypeScript
// sources (tsx) the scan stays in one thread.
const workerScript = join(__dirname, 'scan-worker.js');

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  workerScript: existsSync(workerScript) ? workerScript : undefined,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);

// `egress-spike replay ... | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
