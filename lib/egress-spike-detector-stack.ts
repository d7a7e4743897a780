/**
 * The whole detector in one stack: flow log source -> scheduled Lambda -> DynamoDB baselines ->
 * SNS alerts (email, Slack), with alarms and a dashboard. Props come from the parsed CDK context
 * (lib/deployment-context.ts); the Lambda's environment is typed from lambda/runtime-config.ts.
 */
import {
  CfnOutput,
  Aws,
  CfnCondition,
  Fn,
  type CfnElement,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { Alerting } from './constructs/alerting';
import { AthenaFlowSourceResources } from './constructs/athena-flow-source';
import { DetectorFunction } from './constructs/detector-function';
import { FlowLogSource } from './constructs/flow-log-source';
import { Monitoring } from './constructs/monitoring';
import { detectorRoleName, type DeploymentSettings, type DeploymentTarget } from './deployment-context';
import { detectorSchedule } from './schedule';

/** CloudWatch namespace of the handler's EMF metrics. */
export const METRICS_NAMESPACE = 'EgressSpikeDetector';

/** The name of the one alert topic several Regions share (`alertTopicRegion`). */
export function centralAlertTopicName(stackName: string): string {
  return `${stackName}-alerts`;
}

export interface EgressSpikeDetectorStackProps extends StackProps {
  readonly settings: DeploymentSettings;
  /** Which stack of the app this is (Region, its log groups, its alert topic). @default the single stack */
  readonly target?: DeploymentTarget;
  /** Handler entry, for tests. @default lambda/handler.ts */
  readonly handlerEntry?: string;
}

export class EgressSpikeDetectorStack extends Stack {
  readonly table: dynamodb.Table;
  readonly alerting: Alerting;
  readonly detector: DetectorFunction;
  readonly monitoring: Monitoring;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: EgressSpikeDetectorStackProps) {
    super(scope, id, props);
    const settings = props.settings;
    const target: DeploymentTarget = props.target ?? {
      stackName: settings.stackName,
      region: undefined,
      flowLogGroups: settings.flowLogGroups,
      alertTopic: { kind: 'own' },
    };
    const dataRemovalPolicy = settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const source = new FlowLogSource(this, 'FlowLogSource', {
      existingLogGroups: target.flowLogGroups,
      vpcIds: settings.vpcIds,
      trafficType: settings.flowLogTrafficType,
      retention: settings.flowLogRetentionDays as logs.RetentionDays,
      logFormat: settings.detectorConfig.flowLogFormat,
      removalPolicy: dataRemovalPolicy,
    });

    const athena =
      settings.flowSource === 'athena'
        ? new AthenaFlowSourceResources(this, 'AthenaFlowSource', {
            ...(settings.flowLogBucket === undefined
              ? {
                  securityLake: {
                    database: settings.securityLakeDatabase!,
                    table: settings.securityLakeTable!,
                    ...(settings.securityLakeTargetAccount === undefined
                      ? {}
                      : {
                          target: {
                            account: settings.securityLakeTargetAccount,
                            database: settings.securityLakeTargetDatabase!,
                            table: settings.securityLakeTargetTable!,
                          },
                        }),
                  },
                }
              : {
                  s3FlowLogs: {
                    bucket: settings.flowLogBucket,
                    prefix: settings.flowLogPrefix ?? '',
                    fileFormat: settings.flowLogFileFormat,
                    hiveCompatible: settings.flowLogHiveCompatible,
                    hourlyPartitions: settings.flowLogHourlyPartitions,
                    accounts: settings.flowLogAccounts,
                    regions: settings.flowLogRegions,
                    ...(settings.flowLogKmsKeyArn === undefined
                      ? {}
                      : { kmsKeyArn: settings.flowLogKmsKeyArn }),
                    ...(settings.detectorConfig.flowLogFormat === undefined
                      ? {}
                      : { flowLogFormat: settings.detectorConfig.flowLogFormat }),
                  },
                }),
            bytesScannedCutoffPerQuery: settings.athenaBytesScannedCutoffMb * 1_000_000,
            resultsRetentionDays: settings.athenaResultsRetentionDays,
            removalPolicy: dataRemovalPolicy,
          })
        : undefined;

    // Single table: baselines, window watermark and the alert outbox, keyed pk/sk.
    this.table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: settings.retainData,
      removalPolicy: dataRemovalPolicy,
    });

    this.alerting = new Alerting(this, 'Alerting', {
      alertEmails: settings.alertEmails,
      slack:
        settings.slackWorkspaceId !== undefined && settings.slackChannelId !== undefined
          ? { workspaceId: settings.slackWorkspaceId, channelId: settings.slackChannelId }
          : undefined,
      operationsEmails: settings.operationsEmails,
      operationsTopicArn: settings.operationsTopicArn,
      chatbotConfigurationName: `${this.stackName}-alerts`.slice(0, 128),
      ...(target.alertTopic.kind === 'central'
        ? {
            central: {
              topicName: centralAlertTopicName(settings.stackName),
              region: target.alertTopic.region,
              home: target.alertTopic.home,
            },
          }
        : {}),
    });

    const memberRole =
      settings.memberRoleName !== undefined && settings.memberRoleExternalId !== undefined
        ? {
            roleName: settings.memberRoleName,
            externalId: settings.memberRoleExternalId,
            ...(settings.organizationId === undefined ? {} : { organizationId: settings.organizationId }),
          }
        : undefined;
    this.detector = new DetectorFunction(this, 'Detector', {
      logGroups: source.logGroups,
      ...(athena === undefined ? {} : { athena }),
      logGroupPrefixes: settings.flowLogGroupPrefixes,
      includeLinkedAccounts: settings.accountMode === 'monitoring-account',
      table: this.table,
      alertTopic: this.alerting.alertTopic,
      ...(target.alertTopic.kind === 'central' && !target.alertTopic.home
        ? {
            centralAlertTopic: {
              region: target.alertTopic.region,
              topicArn: this.alerting.alertTopic.topicArn,
            },
          }
        : {}),
      // Member roles trust the detector's role by name, and a flow log bucket (or its key) in
      // another account names it in its policy, so with either it has a fixed name: a generated
      // one would change if the role were ever replaced, and those policies would silently stop
      // letting it in.
      ...(memberRole === undefined ? {} : { memberRole }),
      ...(memberRole !== undefined || settings.flowSource === 'athena'
        ? { roleName: detectorRoleName(target.stackName) }
        : {}),
      detectorConfig: settings.detectorConfigInput,
      enrichWithEc2: settings.enrichWithEc2,
      lookUpChangeCauses: settings.lookUpChangeCauses,
      baselineTtlDays: settings.baselineTtlDays,
      baselineBuckets: settings.baselineBuckets,
      serviceName: settings.serviceName,
      metricsNamespace: METRICS_NAMESPACE,
      memorySize: settings.functionMemoryMb,
      timeout: Duration.seconds(settings.functionTimeoutSeconds),
      logRetention: settings.functionLogRetentionDays as logs.RetentionDays,
      removalPolicy: dataRemovalPolicy,
      entry: props.handlerEntry,
    });

    const scheduleDeadLetters = new sqs.Queue(this, 'ScheduleDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(scheduleDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the EventBridge Scheduler target; a queue behind it would never be read.',
    });

    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'EventBridge Scheduler: invoke the egress spike detector',
    });
    const { windowMinutes, lagMinutes } = settings.detectorConfig;
    const when = detectorSchedule(windowMinutes, lagMinutes, settings.scheduleMarginMinutes);
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(when.expression),
      description:
        `Runs the detector ${lagMinutes + settings.scheduleMarginMinutes} min after each ${windowMinutes}-min window closes (UTC)` +
        (when.oncePerWindow ? '' : '; extra runs in between find nothing due'),
      // Scheduler invokes asynchronously, so its retries only cover handing the event to Lambda
      // (the function's own retries follow). An event older than one window goes to the DLQ: by
      // then the next scheduled run catches the window up anyway.
      target: new targets.LambdaInvoke(this.detector.function, {
        role: scheduleRole,
        input: scheduler.ScheduleTargetInput.fromObject({ source: 'egress-spike-detector.schedule' }),
        retryAttempts: 4,
        maxEventAge: Duration.minutes(windowMinutes),
        deadLetterQueue: scheduleDeadLetters,
      }),
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.detector.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason:
        'lambda:InvokeFunction on the detector function and its versions/aliases (ARN:*), as LambdaInvoke grants it; no other function.',
    });

    const dashboardName = `${this.stackName}-detector`;
    this.monitoring = new Monitoring(this, 'Monitoring', {
      detector: this.detector.function,
      metricsNamespace: METRICS_NAMESPACE,
      serviceName: settings.serviceName,
      windowMinutes,
      lagMinutes,
      measuresDeliveryDelay: settings.flowSource !== 'athena',
      deadLetterQueues: {
        FailedInvocations: this.detector.failureQueue,
        ScheduleDeadLetters: scheduleDeadLetters,
      },
      operationsTopic: this.alerting.operationsTopic,
      dashboardName,
    });

    new CfnOutput(this, 'AlertTopicArn', {
      value: this.alerting.alertTopic.topicArn,
      description: 'SNS topic the detector publishes alerts to',
    });
    if (this.alerting.ownOperationsTopic !== undefined) {
      new CfnOutput(this, 'OperationsTopicArn', {
        value: this.alerting.ownOperationsTopic.topicArn,
        description: "SNS topic this Region's operational alarms notify",
      });
    }
    new CfnOutput(this, 'TableName', {
      value: this.table.tableName,
      description: 'DynamoDB table: baselines, watermark, alert outbox',
    });
    new CfnOutput(this, 'FunctionName', {
      value: this.detector.function.functionName,
      description: 'Detector Lambda function',
    });
    new CfnOutput(this, 'DetectorRoleArn', {
      value: this.detector.role.roleArn,
      description:
        "The detector function's role: what a flow log bucket's or key's policy in another account names",
    });
    // The console of the stack's partition, known at deploy time: China and GovCloud have their
    // own; any other partition gets the commercial one's host (a lookup with no entry for the
    // partition would fail the deploy). Each takes the Region as a parameter.
    const inPartition = (partition: string) =>
      new CfnCondition(this, `InPartition-${partition}`, {
        expression: Fn.conditionEquals(Aws.PARTITION, partition),
      });
    const consoleOrigin = Fn.conditionIf(
      inPartition('aws-cn').logicalId,
      'https://console.amazonaws.cn',
      Fn.conditionIf(
        inPartition('aws-us-gov').logicalId,
        'https://console.amazonaws-us-gov.com',
        'https://console.aws.amazon.com',
      ),
    ).toString();
    new CfnOutput(this, 'DashboardUrl', {
      value: `${consoleOrigin}/cloudwatch/home?region=${this.region}#dashboards/dashboard/${dashboardName}`,
      description: 'CloudWatch dashboard',
    });
    new CfnOutput(this, 'TestAlertCommand', {
      value: `aws lambda invoke --region ${this.region} --function-name ${this.detector.function.functionName} --cli-binary-format raw-in-base64-out --payload '{"mode":"test-alert"}' /dev/stdout`,
      description: 'Publishes one clearly marked sample alert, to check the email and Slack wiring',
    });
  }
}
