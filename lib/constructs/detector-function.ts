/**
 * The detector Lambda: bundled from lambda/handler.ts with esbuild, its own log group, one run at
 * a time, failed async invocations kept in an SQS queue, and an IAM role that can do exactly
 * what the handler does: query the flow log groups, read and write its table, publish alerts.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import * as z from 'zod/mini';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { DetectorConfigInput } from '../../lambda/core/config';
import { runtimeEnvironmentSchema, type RuntimeEnvironment } from '../../lambda/runtime-config';
import { DETECTOR_BUNDLING, detectorNodeOptions } from './detector-bundling';
import type { AthenaFlowSourceResources } from './athena-flow-source';
import type { QueriedLogGroup } from './flow-log-source';
import { DeploymentContextError } from '../deployment-context';

/** Variables that point the SDK clients at local test servers; never set in a deployed stack. */
type LocalTestVariable =
  | 'LOGS_ENDPOINT'
  | 'DYNAMODB_ENDPOINT'
  | 'SNS_ENDPOINT'
  | 'EC2_ENDPOINT'
  | 'STS_ENDPOINT'
  | 'CLOUDTRAIL_ENDPOINT'
  | 'ATHENA_ENDPOINT'
  | 'S3_ENDPOINT';
/** Lambda sets AWS_REGION itself and rejects a function that tries to. */
type ReservedVariable = 'AWS_REGION';
/** Variables of one flow source or the other: set by the source's resources, not always. */
type SourceVariable =
  | 'FLOW_SOURCE'
  | 'LOG_GROUP_IDENTIFIERS'
  | 'LOG_GROUP_PREFIXES'
  | 'INCLUDE_LINKED_ACCOUNTS'
  | 'ATHENA_WORKGROUP'
  | 'ATHENA_DATABASE'
  | 'ATHENA_TABLE'
  | 'ATHENA_TABLE_KIND'
  | 'ATHENA_HOURLY_PARTITIONS'
  | 'ATHENA_TABLE_FINGERPRINT'
  | 'ATHENA_FLOW_LOG_REGIONS';

/**
 * The environment a deployed function gets: every variable of the runtime schema, required
 * (a variable added to lambda/runtime-config.ts is a compile error here until the stack sets
 * it), minus the local-test endpoints, which the excess-property check keeps out.
 */
export type DeployedEnvironment = {
  [K in Exclude<keyof RuntimeEnvironment, LocalTestVariable | ReservedVariable | SourceVariable>]-?: Exclude<
    RuntimeEnvironment[K],
    undefined
  > &
    string;
} & { [K in SourceVariable]?: Exclude<RuntimeEnvironment[K], undefined> & string };

/**
 * Flow log groups per StartQuery statement: two ARNs each, about 300 characters in all with the
 * longest Region and partition names, so a statement stays far below a managed policy's 6,144.
 */
const START_QUERY_GROUPS_PER_STATEMENT = 15;

/** Lambda caps all environment variables together at 4 KB. */
const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;
/** What a deploy-time token (table name, topic ARN...) may grow to, for the size check. */
const TOKEN_ALLOWANCE_BYTES = 256;

/**
 * The DynamoDB item actions the handler uses (single-table: baselines, watermark, outbox): the
 * calls of lambda/adapters/dynamo-baseline-store.ts, no more (a test holds the two equal).
 */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/** The read-only role the detector assumes in member accounts (lib/member-role-stack.ts). */
export interface MemberRoleAccess {
  readonly roleName: string;
  /** Not a secret by design (docs/organization.md). */
  readonly externalId: string;
  /** Only roles in accounts of this Organization may be assumed (aws:ResourceOrgID). */
  readonly organizationId?: string;
}

/** An alert topic encrypted with a key of another Region's stack (one topic for several Regions). */
export interface CentralAlertTopic {
  readonly region: string;
  readonly topicArn: string;
}

/** What EC2 enrichment calls: read-only, no resource-level permissions. */
export const ENRICHMENT_ACTIONS = ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeInstances'] as const;

/** What change-aware alerts call: all read-only, none with resource-level permissions. */
export const CHANGE_CAUSE_ACTIONS = [
  'cloudtrail:LookupEvents',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeNetworkAcls',
  'ec2:DescribeSecurityGroupRules',
] as const;

/**
 * The calls the detector makes for an alert's context with these features on, in its own
 * account and, through the member role, in the others: the member role allows these and no more.
 */
export function contextActions(features: {
  readonly enrichWithEc2: boolean;
  readonly lookUpChangeCauses: boolean;
}): string[] {
  return [
    ...new Set([
      ...(features.enrichWithEc2 ? ENRICHMENT_ACTIONS : []),
      ...(features.lookUpChangeCauses ? CHANGE_CAUSE_ACTIONS : []),
    ]),
  ];
}

export interface DetectorFunctionProps {
  /** The log groups the detector queries (CloudWatch source). */
  readonly logGroups: readonly QueriedLogGroup[];
  /** The Athena source's resources, when the flow logs are in S3 or Security Lake. */
  readonly athena?: AthenaFlowSourceResources;
  /** Log group name prefixes found by DescribeLogGroups at each run. @default none */
  readonly logGroupPrefixes?: readonly string[];
  /** The prefixes find (and StartQuery may read) the linked source accounts' groups too. @default false */
  readonly includeLinkedAccounts?: boolean;
  readonly table: dynamodb.ITable;
  readonly alertTopic: sns.ITopic;
  /** When the alert topic is another Region's (its key is not this stack's): how to use its key. */
  readonly centralAlertTopic?: CentralAlertTopic;
  /** The member-account role to assume for context. @default own account only */
  readonly memberRole?: MemberRoleAccess;
  /** A fixed name for the function's role (member roles trust it by name). @default generated */
  readonly roleName?: string;
  /** Detection parameters as the user gave them (validated); the Lambda gets them as DETECTOR_CONFIG. */
  readonly detectorConfig: DetectorConfigInput;
  readonly enrichWithEc2: boolean;
  /** Change-aware alerts: CloudTrail LookupEvents and the EC2 Describe calls that relate changes to sources. */
  readonly lookUpChangeCauses: boolean;
  readonly baselineTtlDays: number;
  /** DynamoDB items the baselines are spread over (deployment setting baselineBuckets). */
  readonly baselineBuckets: number;
  /** Powertools service name (`service` dimension) and metrics namespace. */
  readonly serviceName: string;
  readonly metricsNamespace: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Path of the handler entry. @default lambda/handler.ts in this repository */
  readonly entry?: string;
}

export class DetectorFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** Async invocations that failed after every retry, with the error. */
  readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DetectorFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.failureQueue = new sqs.Queue(this, 'FailedInvocations', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the detector function (Lambda async on-failure destination); a queue behind it would never be read.',
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole: write access to this function's log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      ...(props.roleName === undefined ? {} : { roleName: props.roleName }),
      description: 'Egress spike detector: query flow logs, keep baselines, publish alerts',
    });
    this.logGroup.grantWrite(this.role);

    const environment = {
      DETECTOR_CONFIG: JSON.stringify(props.detectorConfig),
      ...(props.athena === undefined
        ? {
            LOG_GROUP_IDENTIFIERS: props.logGroups.map((group) => group.identifier).join(','),
            LOG_GROUP_PREFIXES: (props.logGroupPrefixes ?? []).join(','),
            INCLUDE_LINKED_ACCOUNTS: props.includeLinkedAccounts === true ? 'true' : 'false',
          }
        : (props.athena.environment as Pick<DeployedEnvironment, SourceVariable>)),
      ACCOUNT_ID: Stack.of(this).account,
      MEMBER_ROLE_NAME: props.memberRole?.roleName ?? '',
      MEMBER_ROLE_EXTERNAL_ID: props.memberRole?.externalId ?? '',
      TABLE_NAME: props.table.tableName,
      TOPIC_ARN: props.alertTopic.topicArn,
      ENRICH_WITH_EC2: props.enrichWithEc2 ? 'true' : 'false',
      LOOK_UP_CHANGE_CAUSES: props.lookUpChangeCauses ? 'true' : 'false',
      BASELINE_TTL_DAYS: `${props.baselineTtlDays}`,
      BASELINE_BUCKETS: `${props.baselineBuckets}`,
      POWERTOOLS_SERVICE_NAME: props.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
    } satisfies DeployedEnvironment;
    assertRuntimeAcceptsLiterals(environment);
    // NODE_OPTIONS caps V8's heap (detectorNodeOptions). No --enable-source-maps: it costs 30-60 ms
    // of every cold start; the handler maps the stack of a failed run itself
    // (lambda/source-mapped-stack.ts).
    const fullEnvironment: Record<string, string> = {
      ...environment,
      NODE_OPTIONS: detectorNodeOptions(props.memorySize),
    };
    assertEnvironmentFits(fullEnvironment);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry ?? path.join(__dirname, '..', '..', 'lambda', 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: 'Egress spike detector: blocked outbound traffic per source vs its baseline',
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      // One run at a time: runs share the watermark and the baselines. An overlapping async
      // invoke is throttled and retried by Lambda, not dropped.
      reservedConcurrentExecutions: 1,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.failureQueue),
      environment: fullEnvironment,
      // One definition with the cold-start benchmark and the bundle tests (detector-bundling.ts):
      // the SDK bundled, tree-shaken and minified, the EC2 client and the STS/SSO clients only profiles use left out.
      bundling: {
        ...DETECTOR_BUNDLING,
        format: nodejs.OutputFormat.CJS,
        mainFields: [...DETECTOR_BUNDLING.mainFields],
        externalModules: [...DETECTOR_BUNDLING.externalModules],
      },
      depsLockFilePath: path.join(__dirname, '..', '..', 'package-lock.json'),
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22, the runtime the handler, its dependencies and the esbuild target (node22) are built and tested for; moving to a newer runtime is a deliberate, tested change.',
    });

    this.grantDetectorPermissions(props);
  }

  private grantDetectorPermissions(props: DetectorFunctionProps): void {
    const stack = Stack.of(this);
    const wildcardReasons: string[] = [];
    if (props.athena !== undefined) wildcardReasons.push(...props.athena.grantQuery(this.role));
    else this.grantLogsInsights(props, wildcardReasons);

    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'BaselineTable',
        actions: [...TABLE_ACTIONS],
        resources: [props.table.tableArn],
      }),
    );

    // sns:Publish on the topic, and kms:Decrypt + kms:GenerateDataKey* on its key.
    props.alertTopic.grantPublish(this.role);
    const central = props.centralAlertTopic;
    if (central !== undefined) {
      // The central topic's key belongs to another Region's stack, so its ID is not known here:
      // any key of that Region and account, but only through SNS and only for that topic (SNS
      // encrypts with the topic ARN as encryption context).
      const keys = `arn:${stack.partition}:kms:${central.region}:${stack.account}:key/*`;
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptForCentralAlertTopic',
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resources: [keys],
          conditions: {
            StringEquals: {
              'kms:ViaService': `sns.${central.region}.amazonaws.com`,
              'kms:EncryptionContext:aws:sns:topicArn': central.topicArn,
            },
          },
        }),
      );
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(keys))}]`,
        reason: `The central alert topic's key is created by the ${central.region} stack, so its key ID is unknown here; use is limited to SNS in ${central.region} encrypting for that one topic (kms:ViaService and the aws:sns:topicArn encryption context).`,
      });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the KMS-encrypted alert topic needs kms:GenerateDataKey* (the variants SNS may call), on the topic key only (topic.grantPublish), or for a central topic in another Region only through SNS for that topic.',
    });

    const memberRole = props.memberRole;
    if (memberRole !== undefined) {
      const roles = `arn:${stack.partition}:iam::*:role/${memberRole.roleName}`;
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'AssumeMemberAccountRole',
          actions: ['sts:AssumeRole'],
          resources: [roles],
          ...(memberRole.organizationId === undefined
            ? {}
            : { conditions: { StringEquals: { 'aws:ResourceOrgID': memberRole.organizationId } } }),
        }),
      );
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(roles))}]`,
        reason: `sts:AssumeRole on the one read-only member role name (${memberRole.roleName}) in whichever account an alert is in: accounts join the Organization without a redeploy${memberRole.organizationId === undefined ? '' : `, so they are limited to Organization ${memberRole.organizationId} (aws:ResourceOrgID)`}; each member role trusts only this role, with an external id.`,
      });
    }

    if (props.enrichWithEc2) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'EnrichAlerts',
          actions: [...ENRICHMENT_ACTIONS],
          resources: ['*'],
        }),
      );
      wildcardReasons.push(
        'ec2:DescribeNetworkInterfaces and ec2:DescribeInstances (alert enrichment, read-only) support no resource-level permissions',
      );
    }
    if (props.lookUpChangeCauses) {
      // Read-only, in this account: which egress-policy change (CloudTrail event history) and
      // which of the alerted sources' interfaces, subnets' ACLs and rules it touched (EC2).
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'LookUpChangeCauses',
          actions: [...CHANGE_CAUSE_ACTIONS],
          resources: ['*'],
        }),
      );
      wildcardReasons.push(
        'cloudtrail:LookupEvents (change causes, read-only event history) supports no resource-level permissions',
        'ec2:DescribeNetworkInterfaces, ec2:DescribeNetworkAcls and ec2:DescribeSecurityGroupRules (relating a change to the alerted sources, read-only) support no resource-level permissions',
      );
    }
    if (wildcardReasons.length > 0) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `Resource "*" only for actions that cannot be scoped: ${wildcardReasons.join('; ')}.`,
      });
    }
  }

  /** StartQuery on the flow log groups; GetQueryResults and StopQuery (no resource-level permissions). */
  private grantLogsInsights(props: DetectorFunctionProps, wildcardReasons: string[]): void {
    const stack = Stack.of(this);
    // StartQuery authorises against the log group; depending on the API, IAM matches the ARN with
    // or without the `:*` suffix, so both are listed (the suffix adds no other log group).
    // In statements of a few groups each: CDK moves what does not fit the role's inline policy
    // into managed policies (6,144 characters each), whole statements at a time, so one statement
    // naming every group stopped deploying at about 45 groups.
    for (let first = 0; first < props.logGroups.length; first += START_QUERY_GROUPS_PER_STATEMENT) {
      const groups = props.logGroups.slice(first, first + START_QUERY_GROUPS_PER_STATEMENT);
      const part = first / START_QUERY_GROUPS_PER_STATEMENT;
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: part === 0 ? 'QueryFlowLogGroups' : `QueryFlowLogGroups${part + 1}`,
          actions: ['logs:StartQuery'],
          resources: groups.flatMap((group) => [group.arn, `${group.arn}:*`]),
        }),
      );
    }
    for (const group of props.logGroups) {
      const finding = flattenCfnReference(stack.resolve(`${group.arn}:*`));
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${finding}]`,
        reason: `logs:StartQuery on one flow log group (${finding.replace(/:\*$/, '')}); the ':*' form is how IAM names a log group for some Logs APIs and matches nothing outside that group.`,
      });
    }

    // Groups found by name prefix: StartQuery on the groups whose names start with a prefix, in
    // this account, or in any account (the linked source accounts, not known at deploy time and
    // joining later) in a monitoring account.
    const prefixes = props.logGroupPrefixes ?? [];
    if (prefixes.length > 0) {
      const account = props.includeLinkedAccounts === true ? '*' : stack.account;
      const prefixArns = prefixes.map(
        (prefix) => `arn:${stack.partition}:logs:${stack.region}:${account}:log-group:${prefix}*`,
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'QueryFlowLogGroupsByPrefix',
          actions: ['logs:StartQuery'],
          resources: prefixArns,
        }),
      );
      for (const arn of prefixArns) {
        const finding = flattenCfnReference(stack.resolve(arn));
        Validations.of(this.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${finding}]`,
          reason:
            props.includeLinkedAccounts === true
              ? `logs:StartQuery on the flow log groups whose names start with a configured prefix, in this Region, in the monitoring account and the source accounts linked to it (which join without a redeploy, so their IDs cannot be listed); StartQuery reads a source account's group only while it is linked.`
              : `logs:StartQuery on the flow log groups of this account and Region whose names start with a configured prefix, found at each run by DescribeLogGroups.`,
        });
      }
    }

    // GetQueryResults and StopQuery take only a query ID and support no resource-level
    // permissions (Service Authorization Reference: no resource types), so they need "*".
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadQueryResults',
        actions: ['logs:GetQueryResults', 'logs:StopQuery'],
        resources: ['*'],
      }),
    );

    wildcardReasons.push(
      'logs:GetQueryResults and logs:StopQuery take a query ID and support no resource-level permissions',
    );
    if (prefixes.length > 0) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DiscoverFlowLogGroups',
          actions: ['logs:DescribeLogGroups'],
          resources: ['*'],
        }),
      );
      wildcardReasons.push(
        "logs:DescribeLogGroups (finding the flow log groups by name prefix) lists the names and ARNs of log groups, reads no log data, and is authorised on the account's whole list",
      );
    }
  }
}

/**
 * The literal variables must pass the runtime's own schema (tokens such as the table name are
 * only known at deploy time and are typed instead).
 */
function assertRuntimeAcceptsLiterals(environment: DeployedEnvironment): void {
  const literal = z.pick(runtimeEnvironmentSchema, {
    DETECTOR_CONFIG: true,
    ENRICH_WITH_EC2: true,
    LOOK_UP_CHANGE_CAUSES: true,
    BASELINE_TTL_DAYS: true,
    BASELINE_BUCKETS: true,
    LOG_GROUP_PREFIXES: true,
    INCLUDE_LINKED_ACCOUNTS: true,
    MEMBER_ROLE_NAME: true,
    MEMBER_ROLE_EXTERNAL_ID: true,
  });
  const parsed = literal.safeParse(environment);
  if (!parsed.success) {
    throw new Error(`the stack would give the detector an environment it rejects: ${parsed.error.message}`);
  }
}

function assertEnvironmentFits(environment: Record<string, string>): void {
  const bytes = Object.entries(environment).reduce((total, [key, value]) => {
    const tokens = Token.isUnresolved(value) ? (value.match(/\$\{Token\[/g) ?? []).length : 0;
    return total + Buffer.byteLength(key) + Buffer.byteLength(value) + tokens * TOKEN_ALLOWANCE_BYTES;
  }, 0);
  if (bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
    throw new DeploymentContextError(
      `invalid CDK context: the detector's environment would be about ${bytes} bytes, over Lambda's 4 KB limit: shorten detectorConfig (e.g. fewer CIDRs), or name many flow log groups by flowLogGroupPrefixes instead of flowLogGroups`,
      ['detectorConfig', 'flowLogGroups'],
    );
  }
}
