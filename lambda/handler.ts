/**
 * The Lambda entry point. Cold start parses the environment once (an invalid variable fails the
 * init with a message naming it) and creates the SDK clients and Powertools singletons; each
 * invocation runs `runDetector` (lambda/detector-run.ts) with them.
 */
// First: V8's flags (see the file), then zod's before the config schemas below are created.
import './v8-tuning';
import './zod-jitless';
import { createLambdaRuntime } from './lambda-runtime';
import { loadRuntimeConfig } from './runtime-config';

const runtime = createLambdaRuntime(loadRuntimeConfig(process.env));

export const handler = runtime.handler;
