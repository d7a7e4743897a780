/**
 * Builds the CDK app: parses the context, creates the stack (one per Region with `regions`) and
 * runs cdk-nag (AwsSolutions) over everything, so `cdk synth` fails on any finding that is not
 * acknowledged with a reason.
 */
import { Annotations, App, Stage, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  deploymentTargets,
  detectorRoleName,
  EXAMPLE_FLOW_LOG_GROUP,
  parseDeploymentContext,
  type DeploymentSettings,
  type DeploymentTarget,
} from './deployment-context';
import { EgressSpikeDetectorStack } from './egress-spike-detector-stack';
import { MemberRoleStack } from './member-role-stack';

export interface DetectorApp {
  app: App;
  /** The first stack (the only one without `regions`; the central alert topic's with `alertTopicRegion`). */
  stack: EgressSpikeDetectorStack;
  /** Every detector stack, one per Region. */
  stacks: EgressSpikeDetectorStack[];
  /**
   * The member-account role's template (`memberRoleName` with `monitoringAccountId`), in the
   * `MemberAccounts` stage: `cdk deploy --all` leaves it alone (it selects top-level stacks only);
   * it goes to the member accounts as a StackSet (docs/organization.md).
   */
  memberRole: MemberRoleStack | undefined;
}

/** The stage that holds the member-account role template (`cdk synth MemberAccounts/MemberRole`). */
export const MEMBER_ACCOUNTS_STAGE = 'MemberAccounts';

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
  for (const stack of stacks) if (home !== undefined && stack !== home) stack.addStackDependency(home);
  // The shipped cdk.json's example keeps an offline `cdk synth` working; a deployed detector
  // would fail every run on it (alone, it is not refused: the context schema refuses it beside
  // other settings).
  if (settings.flowLogGroups.includes(EXAMPLE_FLOW_LOG_GROUP)) {
    for (const stack of stacks) {
      Annotations.of(stack).addWarningV2(
        'egress-spike:example-flow-log-group',
        `flowLogGroups holds cdk.json's example ${EXAMPLE_FLOW_LOG_GROUP}, a group no account has: a detector deployed with it fails every run. Set your own flow log groups (flowLogGroups, flowLogGroupPrefixes or vpcIds) before cdk deploy`,
      );
    }
  }
  // The detector may assume the member role name in whichever account an alert is in; without
  // organizationId nothing limits those accounts to the Organization (aws:ResourceOrgID). Each
  // member role trusts only this detector's role, with an external id, but that id is no secret.
  if (settings.memberRoleName !== undefined && settings.organizationId === undefined) {
    for (const stack of stacks) {
      Annotations.of(stack).addWarningV2(
        'egress-spike:member-role-any-account',
        `memberRoleName without organizationId: the detector may assume ${settings.memberRoleName} in any account, not only your Organization's. Set organizationId (o-...) to limit it (aws:ResourceOrgID)`,
      );
    }
  }
  const memberRole = memberRoleTemplate(app, settings, targets);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack: home ?? stacks[0]!, stacks, memberRole };
}

function memberRoleTemplate(
  app: App,
  settings: DeploymentSettings,
  targets: readonly DeploymentTarget[],
): MemberRoleStack | undefined {
  if (settings.memberRoleName === undefined || settings.memberRoleExternalId === undefined) return undefined;
  if (settings.monitoringAccountId === undefined) {
    Annotations.of(app).addInfo(
      'memberRoleName is set without monitoringAccountId: the member role template (MemberAccounts/MemberRole) is not synthesized',
    );
    return undefined;
  }
  const stage = new Stage(app, MEMBER_ACCOUNTS_STAGE);
  return new MemberRoleStack(stage, 'MemberRole', {
    stackName: `${settings.stackName}-member-role`,
    description: 'Egress spike detector: read-only member-account role (deploy as a StackSet)',
    roleName: settings.memberRoleName,
    externalId: settings.memberRoleExternalId,
    monitoringAccountId: settings.monitoringAccountId,
    detectorRoleNames: targets.map((target) => detectorRoleName(target.stackName)),
    regions: settings.regions,
    enrichWithEc2: settings.enrichWithEc2,
    lookUpChangeCauses: settings.lookUpChangeCauses,
  });
}
