/**
 * Where the flow logs come from: existing log groups named in context, and/or VPC flow logs the
 * stack creates (one shared log group, 1-minute aggregation). VPCs are referenced by ID with the
 * L1 `CfnFlowLog`, so synth needs no lookup and no AWS credentials.
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { parseFlowLogFormat } from '../../lambda/core/flow-log-format';

export interface FlowLogSourceProps {
  /** Existing flow log groups: names (this account and Region) or log group ARNs. @default [] */
  readonly existingLogGroups?: readonly string[];
  /** VPCs to create flow logs for. @default [] */
  readonly vpcIds?: readonly string[];
  /** Traffic the created flow logs record. @default 'REJECT' */
  readonly trafficType?: 'REJECT' | 'ALL';
  /** Retention of the created log group. @default logs.RetentionDays.ONE_MONTH */
  readonly retention?: logs.RetentionDays;
  /** Field names of a custom format (the detector's `flowLogFormat`); absent: the v2 default. */
  readonly logFormat?: string;
  /** What happens to the created log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** One log group the detector queries. */
export interface QueriedLogGroup {
  /** What the Lambda passes to StartQuery (`logGroupIdentifiers`): a name or an ARN without `:*`. */
  readonly identifier: string;
  /** The log group's ARN without the `:*` suffix, for IAM. */
  readonly arn: string;
}

export class FlowLogSource extends Construct {
  /** Every log group the detector queries, existing ones first. */
  readonly logGroups: QueriedLogGroup[] = [];
  /** The log group the stack created for VPC flow logs, if any. */
  readonly createdLogGroup?: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FlowLogSourceProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const seen = new Set<string>();
    for (const group of props.existingLogGroups ?? []) {
      // StartQuery refuses an ARN ending in `:*` (the form IAM and the console show): it is
      // dropped here, and a group named twice (with and without it) is queried once.
      const identifier = group.startsWith('arn:') ? group.replace(/:\*$/, '') : group;
      // A name and its ARN are one group, queried once (else its records are counted twice).
      // A name is this stack's account and Region; when those are unknown at synth (an
      // environment-agnostic stack) they never equal an ARN's, and the function, which knows
      // its account, tells the two spellings apart at run time.
      const key = sameGroupKey(stack, identifier);
      if (seen.has(key)) continue;
      seen.add(key);
      this.logGroups.push({
        identifier,
        arn: identifier.startsWith('arn:') ? identifier : logGroupArn(stack, identifier),
      });
    }

    const vpcIds = props.vpcIds ?? [];
    if (vpcIds.length === 0) return;

    const logGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.retention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.createdLogGroup = logGroup;
    this.logGroups.push({
      identifier: logGroup.logGroupName,
      arn: logGroupArn(stack, logGroup.logGroupName),
    });

    // The role VPC Flow Logs assumes to write into the group; SourceAccount stops a confused deputy.
    const deliveryRole = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Lets VPC Flow Logs write the detector flow log group',
    });
    logGroup.grantWrite(deliveryRole);
    logGroup.grant(deliveryRole, 'logs:DescribeLogStreams');

    const logFormat = props.logFormat === undefined ? undefined : awsFormatString(props.logFormat);
    for (const vpcId of vpcIds) {
      new ec2.CfnFlowLog(this, `FlowLog-${vpcId}`, {
        resourceType: 'VPC',
        resourceId: vpcId,
        trafficType: props.trafficType ?? 'REJECT',
        logDestinationType: 'cloud-watch-logs',
        logGroupName: logGroup.logGroupName,
        deliverLogsPermissionArn: deliveryRole.roleArn,
        // 1-minute aggregation: records land in the right window and reach Logs sooner.
        maxAggregationInterval: 60,
        logFormat,
        tags: [{ key: 'Name', value: `egress-spike-detector ${vpcId}` }],
      });
    }
  }
}

/** `<account> <region> <name>` of a log group ARN, or of a name in the stack's account and Region. */
function sameGroupKey(stack: Stack, identifier: string): string {
  const arn = /^arn:[^:]+:logs:([^:]*):([^:]*):log-group:(.+)$/.exec(identifier);
  return arn === null ? `${stack.account} ${stack.region} ${identifier}` : `${arn[2]} ${arn[1]} ${arn[3]}`;
}

function logGroupArn(stack: Stack, name: string): string {
  return stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** `srcaddr dstaddr ...` -> `${srcaddr} ${dstaddr} ...`, the form CreateFlowLogs takes. */
function awsFormatString(format: string): string {
  return parseFlowLogFormat(format)
    .map((field) => '${' + field + '}')
    .join(' ');
}
