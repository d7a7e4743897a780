/**
 * Builds the CDK app: parses the context, creates the stack (one per Region with `regions`) and
 * runs cdk-nag (AwsSolutions) over everything, so `cdk synth` fails on any finding that is not
 * acknowledged with a reason.
 */
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { deploymentTargets, parseDeploymentContext } from './deployment-context';
import { EgressSpikeDetectorStack } from './egress-spike-detector-stack';

export interface DetectorApp {
  app: App;
  /** The first stack (the only one without `regions`; the central alert topic's with `alertTopicRegion`). */
  stack: EgressSpikeDetectorStack;
  /** Every detector stack, one per Region. */
  stacks: EgressSpikeDetectorStack[];
}

export function createDetectorApp(props?: AppProps & { handlerEntry?: string }): DetectorApp {
  const app = new App(props);
  const settings = parseDeploymentContext(app.node.getAllContext() as Record<string, unknown>);
  const targets = deploymentTargets(settings);
  const stacks = targets.map(
    (target) =>
      new EgressSpikeDetectorStack(app, target.stackName, {
        settings,
        target,
        ...(target.region === undefined
          ? {}
          : { env: { region: target.region, account: process.env.CDK_DEFAULT_ACCOUNT } }),
        description:
          'Egress spike detector: alerts on spikes in blocked outbound traffic (VPC Flow Logs REJECTs)',
        handlerEntry: props?.handlerEntry,
      }),
  );
  // The Region holding the central alert topic deploys first, so the others can publish to it.
  const home = stacks.find((_, i) => {
    const topic = targets[i]!.alertTopic;
    return topic.kind === 'central' && topic.home;
  });
  for (const stack of stacks) if (home !== undefined && stack !== home) stack.addDependency(home);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack: home ?? stacks[0]!, stacks };
}
