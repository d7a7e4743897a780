/**
 * Builds the CDK app: parses the context, creates the stack and runs cdk-nag (AwsSolutions) over
 * everything, so `cdk synth` fails on any finding that is not acknowledged with a reason.
 */
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseDeploymentContext } from './deployment-context';
import { EgressSpikeDetectorStack } from './egress-spike-detector-stack';

export interface DetectorApp {
  app: App;
  stack: EgressSpikeDetectorStack;
}

export function createDetectorApp(props?: AppProps & { handlerEntry?: string }): DetectorApp {
  const app = new App(props);
  const settings = parseDeploymentContext(app.node.getAllContext() as Record<string, unknown>);
  const stack = new EgressSpikeDetectorStack(app, settings.stackName, {
    settings,
    description:
      'Egress spike detector: alerts on spikes in blocked outbound traffic (VPC Flow Logs REJECTs)',
    handlerEntry: props?.handlerEntry,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
