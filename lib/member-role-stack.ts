/**
 * The read-only role the detector assumes in member accounts for context (issue 14): which
 * instance and subnet an alerted source's interface belongs to (EC2 enrichment), and the recent
 * egress-policy changes (CloudTrail, change-aware alerts). A template for a CloudFormation
 * StackSet over the Organization, so every account, including those that join later, has it:
 *
 * - trusted by the monitoring account only through the detector's own roles (`aws:PrincipalArn`,
 *   one per Region) and only with the external id (`sts:ExternalId`). The trust names the
 *   account and conditions on the role ARNs rather than naming the roles as principals: IAM
 *   refuses a trust policy naming a role that does not exist yet, and silently breaks one whose
 *   role is deleted and created again, so this way the StackSet can go out before or after the
 *   detector, and survives its redeploys;
 * - allowed only the Describe/Lookup calls of the features the detector has on (EC2 enrichment,
 *   change causes), which read metadata, in the detector's Regions when known;
 * - sessions of at most an hour (the detector asks for 15 minutes).
 *
 * The stack needs no CDK bootstrap (no assets, no bootstrap version check): a StackSet deploys
 * the synthesized template as it is into accounts that never ran `cdk bootstrap`.
 */
import { Aws, BootstraplessSynthesizer, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { contextActions } from './constructs/detector-function';

/** The longest session the role grants (the detector asks for 15 minutes). */
export const MEMBER_ROLE_MAX_SESSION = Duration.hours(1);

export interface MemberRoleStackProps extends StackProps {
  /** The role's name, the same in every account (the detector's `memberRoleName`). */
  readonly roleName: string;
  /** Required in every AssumeRole (`sts:ExternalId`): a confused-deputy guard, not a secret. */
  readonly externalId: string;
  /** The account the detector runs in. */
  readonly monitoringAccountId: string;
  /** The detector's role names, one per Region it runs in (`<stack>[-<region>]-detector`). */
  readonly detectorRoleNames: readonly string[];
  /** Regions the role may be used in (`aws:RequestedRegion`). @default any */
  readonly regions?: readonly string[];
  /** The detector's EC2 enrichment (`enrichWithEc2`): the role allows its Describe calls. */
  readonly enrichWithEc2: boolean;
  /** The detector's change-aware alerts (`lookUpChangeCauses`): the role allows LookupEvents and their Describe calls. */
  readonly lookUpChangeCauses: boolean;
}

export class MemberRoleStack extends Stack {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MemberRoleStackProps) {
    super(scope, id, {
      ...props,
      synthesizer: new BootstraplessSynthesizer(),
      analyticsReporting: false,
    });
    // Only what the detector calls with its features on: a member account's CloudTrail event
    // history (callers, source IPs, parameters) is not readable unless change causes need it.
    const actions = contextActions(props);
    if (actions.length === 0) {
      throw new Error(
        'MemberRoleStack: with neither enrichWithEc2 nor lookUpChangeCauses the detector calls nothing in member accounts, so the role would allow nothing',
      );
    }
    const uses = [
      ...(props.enrichWithEc2 ? ['EC2 interfaces and instances'] : []),
      ...(props.lookUpChangeCauses ? ['CloudTrail egress-policy changes'] : []),
    ];
    const detectorRoles = props.detectorRoleNames.map(
      (name) => `arn:${Aws.PARTITION}:iam::${props.monitoringAccountId}:role/${name}`,
    );
    this.role = new iam.Role(this, 'MemberRole', {
      roleName: props.roleName,
      description: `Egress spike detector: read-only context for alerts (${uses.join(', ')}), assumed by the detector in ${props.monitoringAccountId} with an external id`,
      maxSessionDuration: MEMBER_ROLE_MAX_SESSION,
      assumedBy: new iam.AccountPrincipal(props.monitoringAccountId).withConditions({
        StringEquals: { 'sts:ExternalId': props.externalId },
        ArnEquals: { 'aws:PrincipalArn': detectorRoles },
      }),
      inlinePolicies: {
        ReadOnlyContext: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'ReadOnlyContext',
              actions,
              resources: ['*'],
              ...(props.regions === undefined || props.regions.length === 0
                ? {}
                : { conditions: { StringEquals: { 'aws:RequestedRegion': [...props.regions] } } }),
            }),
          ],
        }),
      },
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `Resource "*" only for read-only calls that support no resource-level permissions (${actions.join(', ')}); the role is assumable only by the detector's roles in ${props.monitoringAccountId}, with the external id.`,
    });
  }
}
