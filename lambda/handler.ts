/**
 * The Lambda entry point. Cold start parses the environment once (an invalid variable fails the
 * init with a message naming it) and creates the SDK clients and Powertools singletons; each
 * invocation runs `runDetector` (lambda/detector-run.ts) with them.
 */
// First: it configures zod before the config schemas below are created.
import './zod-jitless';
import { createLambdaRuntime } from './lambda-runtime';
import { loadRuntimeConfig } from './runtime-config';

const runtime = createLambdaRuntime(loadRuntimeConfig(process.env));

export const handler = runtime.handler;
