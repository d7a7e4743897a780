#!/usr/bin/env node
/** CDK app entry (`npx cdk synth`, `npx cdk deploy -c key=value`). Settings: README "Deploy". */
import { createDetectorApp } from '../lib/app';
import { DeploymentContextError } from '../lib/deployment-context';

try {
  createDetectorApp();
} catch (error) {
  if (!(error instanceof DeploymentContextError)) throw error;
  // A configuration mistake: the message says what to fix; a stack trace would only hide it.
  console.error(error.message);
  process.exitCode = 1;
}
