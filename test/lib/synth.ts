/** Builds the real app (context parsing, stack, cdk-nag) for stack tests, without esbuild bundling. */
import { Template } from 'aws-cdk-lib/assertions';
import { createDetectorApp, type DetectorApp } from '../../lib/app';

/** Context that skips asset bundling: stack tests assert the template, not the bundle. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/**
 * The built-in CloudFormation schema validation costs about 20 s on first use; the test that
 * synthesizes with real bundling keeps it (as does `cdk synth` in CI). cdk-nag runs either way.
 */
export function buildApp(context: Record<string, unknown>): DetectorApp {
  return createDetectorApp({
    context: { ...NO_BUNDLING, ...context },
    builtinCloudFormationValidation: false,
  });
}

export function synthTemplate(context: Record<string, unknown>): Template {
  return Template.fromStack(buildApp(context).stack);
}
