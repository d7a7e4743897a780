/**
 * The stack's settings: CDK context (cdk.json `context`, or `-c key=value` on the command line),
 * parsed once with zod into typed props. `-c` values arrive as strings, so lists accept JSON
 * (`["a","b"]`) or commas (`a,b`), booleans accept `true`/`false`, numbers accept digits.
 * Detection parameters (`detectorConfig`) go through the shared schema in lambda/core/config.ts,
 * so a bad threshold fails `cdk synth` instead of the first Lambda run.
 */
import { z } from 'zod';
import { BASELINE_BUCKETS, MAX_BASELINE_BUCKETS } from '../lambda/adapters/baseline-buckets';
import {
  ConfigError,
  describeIssues,
  resolveDetectorConfig,
  type DetectorConfig,
  type DetectorConfigInput,
} from '../lambda/core/config';
import { severalRegionsProblem } from '../lambda/core/flow-log-format';
import { queryLengthProblem } from '../lambda/adapters/logs-insights-query';

/** The detector function's memory unless `functionMemoryMb` says otherwise (the benchmarks' targets are set for it). */
export const DEFAULT_FUNCTION_MEMORY_MB = 1024;

/** Invalid or missing context; the message names every bad key. */
export class DeploymentContextError extends Error {
  constructor(
    message: string,
    /** The context keys that were wrong. */
    readonly keys: string[],
  ) {
    super(message);
    this.name = 'DeploymentContextError';
  }
}

/**
 * The lag the stack sets when every queried group is one it creates and the user set none: its
 * flow logs aggregate for 1 minute (not the default 10), so records reach CloudWatch Logs within
 * about 1 + 5 minutes of their start, and 10 leaves room for the best-effort delivery. Existing
 * groups may aggregate for 10 minutes: with any of them, the detector's default (20) stays.
 */
export const CREATED_FLOW_LOGS_LAG_MINUTES = 10;

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const LOG_GROUP_NAME = /^[\w./#-]{1,512}$/;
const LOG_GROUP_ARN = /^arn:aws[a-z-]*:logs:([a-z0-9-]+):\d{12}:log-group:[\w./#-]{1,512}(:\*)?$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/**
 * The log group the shipped cdk.json names so that `cdk synth` works offline (CI synthesizes
 * with it). No account has it: a detector that queries it fails every run (ResourceNotFoundException).
 */
export const EXAMPLE_FLOW_LOG_GROUP = '/vpc/flow-logs/example';

/** The Region of a log group ARN, or undefined for a name. */
export function logGroupRegion(group: string): string | undefined {
  return LOG_GROUP_ARN.exec(group)?.[1];
}

/** `-c` gives strings: accept a JSON array or a comma-separated list. */
const listFromContext = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return value; // reported by the array schema as "expected array"
    }
  }
  return trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim());
};

const booleanFromContext = (value: unknown): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

const numberFromContext = (value: unknown): unknown =>
  typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;

const objectFromContext = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value; // reported as "expected object"
  }
};

const list = <T extends z.ZodType>(item: T) => z.preprocess(listFromContext, z.array(item));
const flag = (fallback: boolean) => z.preprocess(booleanFromContext, z.boolean().default(fallback));
/** A Glue database or table name as Security Lake and its resource links have them. */
const glueName = (kind: 'database' | 'table') =>
  z
    .string()
    .regex(/^[a-z0-9_]{1,255}$/, `not a Glue ${kind} name`)
    .optional();

const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(numberFromContext, z.number().int().min(min).max(max).default(fallback));
const retentionDays = (fallback: (typeof LOG_RETENTION_DAYS)[number]) =>
  z.preprocess(
    numberFromContext,
    z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be one of the retention periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(fallback),
  );

const flowLogGroup = z
  .string()
  .refine(
    (value) => LOG_GROUP_NAME.test(value) || LOG_GROUP_ARN.test(value),
    'not a log group name or log group ARN',
  );

export const deploymentContextSchema = z
  .object({
    /** CloudFormation stack name. */
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'not a CloudFormation stack name')
      .default('EgressSpikeDetector'),
    /** Where the detector counts flow logs: `cloudwatch` (Logs Insights over log groups) or `athena` (S3 or Security Lake). */
    flowSource: z.enum(['cloudwatch', 'athena']).default('cloudwatch'),
    /** athena: the S3 bucket VPC Flow Logs delivers to (the stack creates a Glue table over it). */
    flowLogBucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name')
      .optional(),
    /** athena: the prefix the flow logs were created with (before `AWSLogs/`), without slashes at the ends. */
    flowLogPrefix: z
      .string()
      // A `*` is written as IAM's literal asterisk in the grants (constructs/athena-flow-source.ts).
      .regex(/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, 'not an S3 prefix (no leading or trailing /)')
      .optional(),
    /** athena: the flow logs' file format in S3. */
    flowLogFileFormat: z.enum(['plain-text', 'parquet']).default('plain-text'),
    /** athena: the flow logs were created with Hive-compatible S3 prefixes. */
    flowLogHiveCompatible: flag(false),
    /** athena: the flow logs were created with hourly partitions. */
    flowLogHourlyPartitions: flag(false),
    /** athena: accounts whose flow logs are under the prefix; empty: this stack's account. */
    flowLogAccounts: list(z.string().regex(/^\d{12}$/, 'not a 12-digit account ID')).default([]),
    /** athena: Regions whose flow logs are under the prefix; empty: this stack's Region. */
    flowLogRegions: list(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'not an AWS Region')).default([]),
    /** athena: the KMS key the flow log objects are encrypted with (SSE-KMS), if any. */
    flowLogKmsKeyArn: z
      .string()
      // A multi-Region key's ID is `mrk-` and 32 hex digits.
      .regex(
        /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/,
        'not a KMS key ARN',
      )
      .optional(),
    /** athena with Security Lake: its Glue database (`amazon_security_lake_glue_db_<region>`). */
    securityLakeDatabase: glueName('database'),
    /** athena with Security Lake: its VPC flow table, source version 2 (`amazon_security_lake_table_<region>_vpc_flow_2_0`). */
    securityLakeTable: glueName('table'),
    /**
     * athena with Security Lake through a query subscriber's resource links: the account that
     * owns the shared table (the Security Lake account), and the database and table the links
     * point to. Reading through a link needs Glue permissions on the target as well as the link.
     */
    securityLakeTargetAccount: z
      .string()
      .regex(/^\d{12}$/, 'not a 12-digit account id')
      .optional(),
    securityLakeTargetDatabase: glueName('database'),
    securityLakeTargetTable: glueName('table'),
    /** athena: the workgroup's per-query cutoff (MB scanned); a query over it is cancelled. */
    athenaBytesScannedCutoffMb: integer(10, 100_000_000, 10_240),
    /** athena: days query results are kept in the results bucket. */
    athenaResultsRetentionDays: integer(1, 365, 7),
    /** Existing flow log groups to query: names, or ARNs (same Region; other accounts via cross-account observability). */
    flowLogGroups: list(flowLogGroup).default([]),
    /**
     * Where the detector runs: `single-account` queries this account's log groups (and any ARNs
     * named); `monitoring-account` is a CloudWatch cross-account observability monitoring account:
     * `flowLogGroupPrefixes` also find the linked source accounts' groups, and the function may
     * query any account's group whose name starts with a prefix.
     */
    accountMode: z.enum(['single-account', 'monitoring-account']).default('single-account'),
    /**
     * Log group name prefixes: every run queries each group whose name starts with one (in the
     * linked source accounts too in monitoring-account mode), so a new account's flow logs are
     * picked up without a redeploy.
     */
    flowLogGroupPrefixes: list(
      z.string().regex(/^[\w./#-]{1,512}$/, 'not a log group name prefix (letters, digits and _ - . / #)'),
    ).default([]),
    /** VPCs for which the stack creates flow logs (1-minute aggregation) into a new log group. */
    vpcIds: list(
      z.string().regex(/^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/, 'not a VPC ID (vpc-0123456789abcdef0)'),
    ).default([]),
    /** Traffic the created flow logs capture: REJECT is all the detector needs and costs least. */
    flowLogTrafficType: z.enum(['REJECT', 'ALL']).default('REJECT'),
    /** Retention of the created flow log group. */
    flowLogRetentionDays: retentionDays(30),
    /** Detection parameters (lambda/core/config.ts), as an object in cdk.json or JSON on -c. */
    detectorConfig: z.preprocess(objectFromContext, z.record(z.string(), z.unknown())).default({}),
    /** Email addresses subscribed to the alert topic (each confirms by email). */
    alertEmails: list(z.email('not an email address')).default([]),
    /** AWS Chatbot Slack target: the workspace (team) ID, authorised once in the console. */
    slackWorkspaceId: z
      .string()
      .regex(/^[A-Z0-9]{9,15}$/, 'not a Slack workspace ID (e.g. T0123ABCD)')
      .optional(),
    /** AWS Chatbot Slack target: the channel ID. */
    slackChannelId: z
      .string()
      .regex(/^[A-Z0-9]{9,15}$/, 'not a Slack channel ID (e.g. C0123ABCD)')
      .optional(),
    /** Email addresses for operational alarms on a separate operations topic; empty: alarms go to the alert topic. */
    operationsEmails: list(z.email('not an email address')).default([]),
    /** An existing SNS topic for operational alarms (its key policy must let CloudWatch use it). */
    operationsTopicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'not an SNS topic ARN')
      .optional(),
    /** Look up ENI -> instance, VPC, subnet for alerted sources (needs ec2:DescribeNetworkInterfaces on *). */
    enrichWithEc2: flag(false),
    /**
     * Change-aware alerts: name the egress-policy change (CloudTrail) that likely caused each
     * spike; grants cloudtrail:LookupEvents and the EC2 Describe calls that relate it to sources.
     */
    lookUpChangeCauses: flag(false),
    /**
     * The read-only role the detector assumes in member accounts for context (EC2 enrichment,
     * CloudTrail lookups), deployed to every account as a StackSet (docs/organization.md).
     * Unset: context only for the detector's own account.
     */
    memberRoleName: z
      .string()
      .regex(/^[\w+=,.@-]{1,64}$/, 'not an IAM role name (1-64 of letters, digits and +=,.@_-)')
      .optional(),
    /**
     * The external id the member role requires (sts:ExternalId). Not a secret by design: it
     * guards against a confused deputy, and lives in the function's environment and the template.
     */
    memberRoleExternalId: z
      .string()
      .regex(/^[\w+=,.@:/-]{2,1224}$/, 'not an external id (2-1224 of letters, digits and +=,.@:/_-)')
      .optional(),
    /** The monitoring account's ID, which the member role trusts (needed to synthesize the member role template). */
    monitoringAccountId: z
      .string()
      .regex(/^\d{12}$/, 'not an AWS account ID (12 digits)')
      .optional(),
    /** The Organization's ID: the detector may assume member roles only in accounts of it (aws:ResourceOrgID). */
    organizationId: z
      .string()
      .regex(/^o-[a-z0-9]{10,32}$/, 'not an Organization ID (o-...)')
      .optional(),
    /** Regions to deploy the detector to, one stack each (`<stackName>-<region>`); empty: the CLI's Region, one stack. */
    regions: list(z.string().regex(REGION, 'not an AWS Region (e.g. eu-west-1)')).default([]),
    /** With `regions`: one alert topic in this Region for all of them; unset: a topic per Region. */
    alertTopicRegion: z.string().regex(REGION, 'not an AWS Region (e.g. eu-west-1)').optional(),
    /** Days a source's baseline is kept after it was last seen (DynamoDB TTL). */
    baselineTtlDays: integer(1, 3650, 90),
    /**
     * DynamoDB items the sources' baselines are spread over (docs/organization.md "Sizing the
     * function"): 2,048 hold about a million sources. Set it before the first deploy: after a
     * change the detector refuses to run until a bootstrap with overwrite relearns the baselines.
     */
    baselineBuckets: integer(1, MAX_BASELINE_BUCKETS, BASELINE_BUCKETS),
    /** Lambda memory (MB); CPU scales with it. */
    functionMemoryMb: integer(256, 10_240, DEFAULT_FUNCTION_MEMORY_MB),
    /** Lambda timeout (s): long enough for catch-up runs of several Logs Insights queries. */
    functionTimeoutSeconds: integer(60, 900, 900),
    /** Retention of the function's log group. */
    functionLogRetentionDays: retentionDays(90),
    /** Minutes after `lagMinutes` past a window's end before the run, as a safety margin. */
    scheduleMarginMinutes: integer(0, 30, 2),
    /** Keep the table (deletion protection, RETAIN) and the logs when the stack is deleted. Set false for test stacks. */
    retainData: flag(true),
    /** Powertools service name: the `service` metric dimension and log field. */
    serviceName: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,63}$/, 'lowercase letters, digits and dashes')
      .default('egress-spike-detector'),
  })
  .superRefine((value, ctx) => {
    if (value.flowSource === 'athena') {
      const s3 = value.flowLogBucket !== undefined;
      const lake = value.securityLakeDatabase !== undefined || value.securityLakeTable !== undefined;
      if (s3 === lake) {
        ctx.addIssue({
          code: 'custom',
          path: ['flowLogBucket'],
          message:
            'flowSource athena needs flowLogBucket (flow logs in S3) or securityLakeDatabase and securityLakeTable (Security Lake), not both',
        });
      } else if (
        lake &&
        (value.securityLakeDatabase === undefined || value.securityLakeTable === undefined)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: [value.securityLakeDatabase === undefined ? 'securityLakeDatabase' : 'securityLakeTable'],
          message: 'Security Lake needs both securityLakeDatabase and securityLakeTable',
        });
      }
      const target = [
        value.securityLakeTargetAccount,
        value.securityLakeTargetDatabase,
        value.securityLakeTargetTable,
      ];
      if (target.some((key) => key !== undefined)) {
        if (value.securityLakeDatabase === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['securityLakeTargetAccount'],
            message:
              "securityLakeTarget* name the table a Security Lake resource link points to: set them with securityLakeDatabase and securityLakeTable (the link's names)",
          });
        } else if (target.some((key) => key === undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: [
              value.securityLakeTargetAccount === undefined
                ? 'securityLakeTargetAccount'
                : value.securityLakeTargetDatabase === undefined
                  ? 'securityLakeTargetDatabase'
                  : 'securityLakeTargetTable',
            ],
            message:
              "a Security Lake resource link's target needs securityLakeTargetAccount, securityLakeTargetDatabase and securityLakeTargetTable",
          });
        }
      }
      if (
        value.flowLogGroups.length > 0 ||
        value.vpcIds.length > 0 ||
        value.flowLogGroupPrefixes.length > 0
      ) {
        ctx.addIssue({
          code: 'custom',
          path: [
            value.flowLogGroups.length > 0
              ? 'flowLogGroups'
              : value.vpcIds.length > 0
                ? 'vpcIds'
                : 'flowLogGroupPrefixes',
          ],
          message: `flowLogGroups, flowLogGroupPrefixes and vpcIds are CloudWatch Logs settings: with flowSource athena leave them empty${value.flowLogGroups.includes(EXAMPLE_FLOW_LOG_GROUP) ? ` (remove cdk.json's example ${EXAMPLE_FLOW_LOG_GROUP}, or pass -c flowLogGroups=)` : ''}`,
        });
      }
    } else if (athenaKeysSet(value).length > 0) {
      // Forgetting flowSource must not deploy a Logs Insights detector on other groups (or on
      // cdk.json's example) while the bucket or lake the user named is never read.
      ctx.addIssue({
        code: 'custom',
        path: ['flowSource'],
        message: `${athenaKeysSet(value).join(', ')} ${athenaKeysSet(value).length > 1 ? 'are settings' : 'is a setting'} of the Athena source: set flowSource athena (and leave flowLogGroups empty), or leave ${athenaKeysSet(value).length > 1 ? 'them' : 'it'} out`,
      });
    } else if (
      value.flowLogGroups.length === 0 &&
      value.vpcIds.length === 0 &&
      value.flowLogGroupPrefixes.length === 0
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['flowLogGroups'],
        message:
          'set flowLogGroups (existing flow log groups), flowLogGroupPrefixes (groups found by name prefix) or vpcIds (the stack creates flow logs)',
      });
    }
    // cdk.json's example group is kept only on its own (an offline synth, with a warning):
    // next to settings of a real deployment it is a leftover that would fail every run.
    if (value.flowSource !== 'athena' && value.flowLogGroups.includes(EXAMPLE_FLOW_LOG_GROUP)) {
      const real = [
        value.flowLogGroups.some((group) => group !== EXAMPLE_FLOW_LOG_GROUP) ? 'other flowLogGroups' : '',
        value.flowLogGroupPrefixes.length > 0 ? 'flowLogGroupPrefixes' : '',
        value.vpcIds.length > 0 ? 'vpcIds' : '',
        value.accountMode === 'monitoring-account' ? 'accountMode monitoring-account' : '',
        value.regions.length > 0 ? 'regions' : '',
      ].filter((setting) => setting !== '');
      if (real.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['flowLogGroups'],
          message: `${EXAMPLE_FLOW_LOG_GROUP} is cdk.json's example, a group no account has, so every run would fail querying it; beside ${real.join(', ')} it is a leftover: replace it with your own flow log groups, or clear it ("flowLogGroups": [] in cdk.json, or -c flowLogGroups=)`,
        });
      }
    }
    // One stack per Region queries the groups of its Region (names everywhere, ARNs in theirs):
    // a Region none of the groups is in would deploy a function with nothing to query, which
    // refuses its environment on every run.
    if (
      value.flowSource !== 'athena' &&
      value.flowLogGroupPrefixes.length === 0 &&
      value.vpcIds.length === 0 &&
      value.flowLogGroups.length > 0
    ) {
      const empty = value.regions.filter(
        (region) => !value.flowLogGroups.some((group) => (logGroupRegion(group) ?? region) === region),
      );
      if (empty.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions'],
          message: `${empty.join(', ')}: no flow log group of flowLogGroups is in ${empty.length > 1 ? 'these Regions' : 'this Region'} (each is an ARN of another Region), so its detector would have nothing to query; add its groups, flowLogGroupPrefixes or vpcIds, or leave the Region out of regions`,
        });
      }
    }
    // Change causes are looked up in CloudTrail and EC2 of the function's own Region, and the
    // records carry no Region: with flow logs of other Regions a source's changes would not be
    // found, and the alert would say "none found" as if a complete search had found nothing.
    const otherRegions =
      value.flowLogRegions.length > 1
        ? value.flowLogRegions
        : value.flowLogRegions.filter((region) => value.regions.some((deployed) => deployed !== region));
    if (value.flowSource === 'athena' && value.lookUpChangeCauses && otherRegions.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['lookUpChangeCauses'],
        message: `lookUpChangeCauses looks changes up in the detector's own Region only, but flowLogRegions (${value.flowLogRegions.join(', ')}) has flow logs of ${value.flowLogRegions.length > 1 ? 'several Regions' : "another Region than the stack's"}: a source's changes in another Region would be missed and its alert would say none were found. Turn lookUpChangeCauses off, or deploy a detector in each Region with flowLogRegions set to that Region alone`,
      });
    }
    // Glue catalogs are per Region, and Security Lake's rollup Region holds the contributing
    // Regions' records: its detector runs there, once.
    if (value.securityLakeDatabase !== undefined && value.regions.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['regions'],
        message: `Security Lake's Glue database and table are in one Region (its rollup Region, which holds the records of the Regions contributing to it): deploy its detector there alone (regions with that one Region), not in ${value.regions.join(', ')}`,
      });
    }
    // Each Region's detector reads its own Region's flow logs when flowLogRegions is left out;
    // one list for all of them would have every detector count the same Regions (each spike
    // alerted once per Region, every byte scanned once per Region).
    if (value.flowLogRegions.length > 0 && value.regions.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['flowLogRegions'],
        message: `with several regions (${value.regions.join(', ')}) each Region's detector would count the flow logs of ${value.flowLogRegions.join(', ')}: leave flowLogRegions out, and each reads its own Region's`,
      });
    }
    if ((value.memberRoleName === undefined) !== (value.memberRoleExternalId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [value.memberRoleName === undefined ? 'memberRoleName' : 'memberRoleExternalId'],
        message: 'the member role needs both memberRoleName and memberRoleExternalId',
      });
    }
    // The member role allows exactly the context calls of these features (member-role-stack.ts).
    if (value.memberRoleName !== undefined && !value.enrichWithEc2 && !value.lookUpChangeCauses) {
      ctx.addIssue({
        code: 'custom',
        path: ['memberRoleName'],
        message:
          'the member role gives the detector context in other accounts for enrichWithEc2 or lookUpChangeCauses, and neither is on, so it would allow nothing: turn one on, or leave memberRoleName and memberRoleExternalId out',
      });
    }
    const regions = new Set(value.regions);
    if (regions.size !== value.regions.length) {
      ctx.addIssue({ code: 'custom', path: ['regions'], message: 'lists a Region twice' });
    }
    if (value.alertTopicRegion !== undefined && !regions.has(value.alertTopicRegion)) {
      ctx.addIssue({
        code: 'custom',
        path: ['alertTopicRegion'],
        message: `must be one of regions (${value.regions.join(', ') || 'none set'})`,
      });
    }
    // With a central topic, the other Regions' alarms notify an operations topic of their own
    // Region (alarms notify topics of their Region only), which only emails subscribe to: Slack
    // receives the central alert topic alone, and operationsTopicArn is refused with several Regions.
    const alarmsUnheard = value.regions.filter((region) => region !== value.alertTopicRegion);
    if (
      value.alertTopicRegion !== undefined &&
      alarmsUnheard.length > 0 &&
      value.alertEmails.length === 0 &&
      value.operationsEmails.length === 0
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['alertTopicRegion'],
        message: `the alarms of ${alarmsUnheard.join(', ')} notify an operations topic of their own Region, which nothing would receive: only emails subscribe to it (Slack gets the central alert topic alone, and operationsTopicArn, one Region's topic, is refused with several regions). To fix it, set operationsEmails (or alertEmails), or leave alertTopicRegion out: each Region then has its own alert topic, with the Slack channel, that its alarms notify`,
      });
    }
    if (value.regions.length > 1 && value.vpcIds.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['vpcIds'],
        message:
          "VPC IDs belong to one Region: with several regions, use flowLogGroups or flowLogGroupPrefixes (or deploy the VPCs' Region on its own)",
      });
    }
    const operationsTopicRegion = value.operationsTopicArn?.split(':')[3];
    if (
      value.regions.length === 1 &&
      operationsTopicRegion !== undefined &&
      operationsTopicRegion !== value.regions[0]
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['operationsTopicArn'],
        message: `is a topic of ${operationsTopicRegion}, but alarms notify a topic of their own Region (${value.regions[0]}) only: name a topic there, or use operationsEmails`,
      });
    }
    if (value.regions.length > 1 && value.operationsTopicArn !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['operationsTopicArn'],
        message: 'alarms notify a topic of their own Region: with several regions, use operationsEmails',
      });
    }
    if (value.memberRoleName !== undefined) {
      const longest = Math.max(0, ...value.regions.map((region) => region.length + 1));
      const length = detectorRoleName(value.stackName).length + longest;
      if (length > MAX_ROLE_NAME) {
        ctx.addIssue({
          code: 'custom',
          path: ['stackName'],
          message: `with memberRoleName the detector's role is named <stackName>${value.regions.length > 0 ? '-<region>' : ''}-detector, ${length} characters here, over IAM's ${MAX_ROLE_NAME}: shorten the stack name`,
        });
      }
    }
    value.flowLogGroups.forEach((group, i) => {
      const region = logGroupRegion(group);
      if (region !== undefined && value.regions.length > 0 && !regions.has(region)) {
        ctx.addIssue({
          code: 'custom',
          path: ['flowLogGroups', i],
          message: `is in ${region}, which is not one of regions (${value.regions.join(', ')})`,
        });
      }
    });
    if ((value.slackWorkspaceId === undefined) !== (value.slackChannelId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [value.slackWorkspaceId === undefined ? 'slackWorkspaceId' : 'slackChannelId'],
        message: 'Slack needs both slackWorkspaceId and slackChannelId',
      });
    }
    if (value.operationsTopicArn !== undefined && value.operationsEmails.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['operationsEmails'],
        message:
          'set operationsEmails (a new operations topic) or operationsTopicArn (an existing one), not both',
      });
    }
  });

/** The Athena source's settings a context sets (those with a default count when not the default). */
function athenaKeysSet(value: {
  flowLogBucket?: string;
  flowLogPrefix?: string;
  flowLogKmsKeyArn?: string;
  securityLakeDatabase?: string;
  securityLakeTable?: string;
  securityLakeTargetAccount?: string;
  securityLakeTargetDatabase?: string;
  securityLakeTargetTable?: string;
  flowLogAccounts: string[];
  flowLogRegions: string[];
  flowLogFileFormat: string;
  flowLogHiveCompatible: boolean;
  flowLogHourlyPartitions: boolean;
}): string[] {
  return [
    value.flowLogBucket !== undefined && 'flowLogBucket',
    value.flowLogPrefix !== undefined && 'flowLogPrefix',
    value.flowLogKmsKeyArn !== undefined && 'flowLogKmsKeyArn',
    value.securityLakeDatabase !== undefined && 'securityLakeDatabase',
    value.securityLakeTable !== undefined && 'securityLakeTable',
    value.securityLakeTargetAccount !== undefined && 'securityLakeTargetAccount',
    value.securityLakeTargetDatabase !== undefined && 'securityLakeTargetDatabase',
    value.securityLakeTargetTable !== undefined && 'securityLakeTargetTable',
    value.flowLogAccounts.length > 0 && 'flowLogAccounts',
    value.flowLogRegions.length > 0 && 'flowLogRegions',
    value.flowLogFileFormat !== 'plain-text' && 'flowLogFileFormat',
    value.flowLogHiveCompatible && 'flowLogHiveCompatible',
    value.flowLogHourlyPartitions && 'flowLogHourlyPartitions',
  ].filter((key): key is string => key !== false);
}

const LIST_KEYS: readonly string[] = [
  'flowLogGroups',
  'flowLogGroupPrefixes',
  'vpcIds',
  'alertEmails',
  'operationsEmails',
  'regions',
  'flowLogAccounts',
  'flowLogRegions',
];

/** The context keys this app reads, for the unknown-key check. */
export const DEPLOYMENT_CONTEXT_KEYS: readonly string[] = Object.keys(deploymentContextSchema.shape);

export type DeploymentContextInput = z.input<typeof deploymentContextSchema>;

export interface DeploymentSettings extends Omit<z.output<typeof deploymentContextSchema>, 'detectorConfig'> {
  /** The user's detection parameters, validated; what the Lambda receives as DETECTOR_CONFIG. */
  detectorConfigInput: DetectorConfigInput;
  /** The same with the preset's defaults filled in (windowMinutes, lagMinutes... for the schedule). */
  detectorConfig: DetectorConfig;
}

/**
 * Validates the context. `context` holds every key the app sees; keys that look like ours
 * (camelCase, no `:` or `@`) but are unknown are rejected, so a typo does not silently fall back
 * to a default. CDK's own keys (`@aws-cdk/...`, `aws:cdk:...`) are left alone.
 */
export function parseDeploymentContext(context: Record<string, unknown>): DeploymentSettings {
  const ours = Object.fromEntries(Object.entries(context).filter(([key]) => /^[a-z][A-Za-z0-9]*$/.test(key)));
  const unknown = Object.keys(ours).filter((key) => !DEPLOYMENT_CONTEXT_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new DeploymentContextError(
      `unknown context key(s): ${unknown.join(', ')}\nknown keys: ${DEPLOYMENT_CONTEXT_KEYS.join(', ')}`,
      unknown,
    );
  }
  const problems: string[] = [];
  const keys = new Set<string>();
  const parsed = deploymentContextSchema.safeParse(ours);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) keys.add(String(issue.path[0] ?? 'context'));
    // Messages quote the offending value: show `-c` strings the way the schema saw them.
    const asSeen = Object.fromEntries(
      Object.entries(ours).map(([key, value]) => [
        key,
        LIST_KEYS.includes(key) ? listFromContext(value) : value,
      ]),
    );
    problems.push(describeIssues('context', parsed.error, asSeen));
  }
  // The detector config is checked even when other keys are wrong, so one synth lists everything.
  let detectorConfig: DetectorConfig | undefined;
  const detectorConfigInput = objectFromContext(ours.detectorConfig ?? {});
  if (typeof detectorConfigInput === 'object' && detectorConfigInput !== null) {
    try {
      detectorConfig = resolveDetectorConfig(detectorConfigInput, 'context.detectorConfig');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      keys.add('detectorConfig');
      problems.push(error.message);
    }
  }
  if (!parsed.success || detectorConfig === undefined || problems.length > 0) {
    throw new DeploymentContextError(`invalid CDK context:\n${problems.join('\n')}`, [...keys]);
  }
  const { detectorConfig: _validatedInput, ...settings } = parsed.data;
  // One detector counting several Regions' S3 flow logs keys sources by account and address (and
  // VPC where the format has it): without vpc-id two Regions' hosts of one address would merge.
  // (Security Lake's records carry the VPC.)
  const regionsProblem =
    settings.flowSource === 'athena' && settings.securityLakeDatabase === undefined
      ? severalRegionsProblem(detectorConfig.flowLogFormat, settings.flowLogRegions)
      : undefined;
  const lengthProblem = settings.flowSource === 'cloudwatch' ? queryLengthProblem(detectorConfig) : undefined;
  if (lengthProblem !== undefined) {
    throw new DeploymentContextError(`invalid CDK context:\ncontext.detectorConfig: ${lengthProblem}`, [
      'detectorConfig',
    ]);
  }
  if (regionsProblem !== undefined) {
    throw new DeploymentContextError(`invalid CDK context:\ncontext.flowLogRegions: ${regionsProblem}`, [
      'flowLogRegions',
    ]);
  }
  let input = detectorConfigInput as DetectorConfigInput;
  if (
    settings.flowLogGroups.length === 0 &&
    settings.flowLogGroupPrefixes.length === 0 &&
    settings.vpcIds.length > 0 &&
    input.lagMinutes === undefined
  ) {
    input = { ...input, lagMinutes: CREATED_FLOW_LOGS_LAG_MINUTES };
    detectorConfig = { ...detectorConfig, lagMinutes: CREATED_FLOW_LOGS_LAG_MINUTES };
  }
  return { ...settings, detectorConfigInput: input, detectorConfig };
}

/** IAM's limit on a role name. */
const MAX_ROLE_NAME = 64;

/**
 * The detector function's role name when member roles are used: fixed, so that every member
 * account's role can trust it by ARN before (and after) the detector is deployed.
 */
export function detectorRoleName(stackName: string): string {
  return `${stackName}-detector`;
}

/** One stack of the app: where it goes and what it queries there. */
export interface DeploymentTarget {
  /** CloudFormation stack name. */
  stackName: string;
  /** The Region; undefined: the environment-agnostic single stack (the CLI's Region). */
  region: string | undefined;
  /** The flow log groups of this Region: names, and the ARNs of this Region. */
  flowLogGroups: string[];
  /** Where alerts go: this stack's own topic, or the central topic in another Region. */
  alertTopic: { kind: 'own' } | { kind: 'central'; region: string; home: boolean };
}

/**
 * The stacks to synthesize: one environment-agnostic stack without `regions`; otherwise one per
 * Region, named `<stackName>-<region>`, each querying its Region's groups (names everywhere,
 * ARNs in their own Region) and publishing to its own topic or the central one.
 */
export function deploymentTargets(settings: DeploymentSettings): DeploymentTarget[] {
  if (settings.regions.length === 0) {
    return [
      {
        stackName: settings.stackName,
        region: undefined,
        flowLogGroups: settings.flowLogGroups,
        alertTopic: { kind: 'own' },
      },
    ];
  }
  return settings.regions.map((region) => ({
    stackName: `${settings.stackName}-${region}`,
    region,
    flowLogGroups: settings.flowLogGroups.filter((group) => (logGroupRegion(group) ?? region) === region),
    alertTopic:
      settings.alertTopicRegion === undefined
        ? { kind: 'own' as const }
        : {
            kind: 'central' as const,
            region: settings.alertTopicRegion,
            home: region === settings.alertTopicRegion,
          },
  }));
}
