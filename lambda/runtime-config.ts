/**
 * The Lambda's environment: one zod schema, parsed once at cold start. The CDK stack builds the
 * same variables from typed props (`DetectorEnvironment`), so stack and function cannot disagree
 * without a compile error. No secrets live here: only names, ARNs and detection parameters.
 */
// zod's functional build, as the detector config schema (lambda/core/config.ts, which also sets
// its English messages): cheaper to construct at cold start, the same validation and messages.
import * as z from 'zod/mini';
import type { AthenaFlowTable } from './adapters/athena-table';
import { BASELINE_BUCKETS, MAX_BASELINE_BUCKETS } from './adapters/baseline-buckets';
import { ConfigError, resolveDetectorConfigJson, type DetectorConfig } from './core/config';
import { severalRegionsProblem } from './core/flow-log-format';
import { queryLengthProblem } from './adapters/logs-insights-query';

const LOG_GROUP = /^(arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w./#-]{1,512}(:\*)?|[\w./#-]{1,512})$/;
/**
 * StartQuery refuses a log group ARN ending in `:*` ("Don't include an * at the end"), the form
 * IAM and the console show: refused here, at cold start, rather than by every query.
 */
const ARN_WITH_STAR = /^arn:.*:log-group:.*:\*$/;
/**
 * The Region of a log group ARN. Logs Insights queries the log groups of the function's own Region
 * only: an ARN of another is refused at cold start too, or every query would fail on it and each
 * window be skipped unwatched after its failed attempts.
 */
const ARN_REGION = /^arn:[^:]+:logs:([^:]+):/;

/**
 * The alerts go to email and AWS Chatbot, which FIFO topics cannot deliver to (they deliver to
 * SQS queues only), and SNS refuses a Publish to a FIFO topic without a MessageGroupId, which the
 * detector does not send: every alert would stay pending.
 */
export const FIFO_TOPIC_REFUSED =
  'a FIFO topic (.fifo) is refused: SNS requires a MessageGroupId on every publish to it, which the detector does not send, and FIFO topics cannot deliver to email or AWS Chatbot. Use a standard topic';

/** A comma-separated list; empty (or unset) is an empty list. */
const optionalList = (item: z.ZodMiniString<string>) =>
  z.pipe(
    z.pipe(
      z._default(z.string(), ''),
      z.transform((value: string) =>
        value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      ),
    ),
    z.array(item),
  );

const LOG_GROUP_PREFIX = /^[.\-_/#A-Za-z0-9]{1,512}$/;

/** A string matching `pattern`, else `message`. */
const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

export const runtimeEnvironmentSchema = z.object({
  /** Detection parameters as JSON (the shared detector config schema); empty: the recommended preset. */
  DETECTOR_CONFIG: z.optional(z.string()),
  /** Where flow logs are counted: CloudWatch Logs Insights, or Athena (S3 or Security Lake). */
  FLOW_SOURCE: z._default(z.enum(['cloudwatch', 'athena']), 'cloudwatch'),
  /**
   * Comma-separated flow log group names or ARNs (more than 50 are queried 50 at a time). May be
   * empty when LOG_GROUP_PREFIXES finds the groups.
   */
  LOG_GROUP_IDENTIFIERS: optionalList(
    matching(LOG_GROUP, 'not a log group name or ARN').check(
      z.refine((value: string) => !ARN_WITH_STAR.test(value), {
        message: "an ARN ending in ':*' is refused by StartQuery: remove the ':*'",
      }),
    ),
  ),
  /** Comma-separated log group name prefixes: each run queries every group whose name starts with one. */
  LOG_GROUP_PREFIXES: optionalList(matching(LOG_GROUP_PREFIX, 'not a log group name prefix')),
  /**
   * "true" in a monitoring account: the prefixes also find the linked source accounts' groups
   * (CloudWatch cross-account observability).
   */
  INCLUDE_LINKED_ACCOUNTS: z.pipe(
    z._default(z.enum(['true', 'false']), 'false'),
    z.transform((v: 'true' | 'false') => v === 'true'),
  ),
  /** Athena: the workgroup the queries run in (its enforced settings hold the results location and cutoff). */
  ATHENA_WORKGROUP: z.optional(matching(/^[a-zA-Z0-9._-]{1,128}$/, 'not an Athena workgroup name')),
  /** Athena: the Glue database and table of the flow logs. */
  ATHENA_DATABASE: z.optional(
    matching(/^[a-z0-9_]{1,255}$/, 'not a Glue database name (lower case, digits, _)'),
  ),
  ATHENA_TABLE: z.optional(matching(/^[a-z0-9_]{1,255}$/, 'not a Glue table name (lower case, digits, _)')),
  /** Athena: `flow-logs` (the stack's table over S3) or `security-lake` (Security Lake's VPC flow table, source version 2). */
  ATHENA_TABLE_KIND: z._default(z.enum(['flow-logs', 'security-lake']), 'flow-logs'),
  /**
   * Athena: a SHA-256 of the table's definition (the stack sets it); a bootstrap reads a kept
   * history query again only if the table is the one it ran on.
   */
  ATHENA_TABLE_FINGERPRINT: z.optional(matching(/^[0-9a-f]{64}$/, 'not a SHA-256 in hex')),
  /** Athena, flow-logs table: the flow logs are partitioned by hour (`hour` partition column). */
  ATHENA_HOURLY_PARTITIONS: z.pipe(
    z._default(z.enum(['true', 'false']), 'false'),
    z.transform((v: 'true' | 'false') => v === 'true'),
  ),
  /**
   * Athena, flow-logs table: comma-separated Regions whose flow logs the table holds; empty: the
   * function's own Region.
   */
  ATHENA_FLOW_LOG_REGIONS: optionalList(matching(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'not an AWS Region')),
  TABLE_NAME: matching(/^[a-zA-Z0-9_.-]{3,255}$/, 'not a DynamoDB table name'),
  TOPIC_ARN: matching(
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}(\.fifo)?$/,
    'not an SNS topic ARN',
  ).check(z.refine((value: string) => !value.endsWith('.fifo'), { message: FIFO_TOPIC_REFUSED })),
  /** "true" to look up ENI -> instance, VPC, subnet and Name tag for alerted sources. */
  ENRICH_WITH_EC2: z.pipe(
    z._default(z.enum(['true', 'false']), 'false'),
    z.transform((v: 'true' | 'false') => v === 'true'),
  ),
  /** The function's own account (12 digits): its context needs no role. Unset or empty: unknown. */
  ACCOUNT_ID: z.optional(matching(/^(\d{12})?$/, 'not an AWS account ID (12 digits)')),
  /**
   * The read-only role to assume in other accounts for context (EC2 enrichment, CloudTrail);
   * unset or empty: context for the own account only.
   */
  MEMBER_ROLE_NAME: z.optional(matching(/^([\w+=,.@-]{1,64})?$/, 'not an IAM role name')),
  /** The external id the member role requires; not a secret (docs/organization.md). */
  MEMBER_ROLE_EXTERNAL_ID: z.optional(
    matching(/^([\w+=,.@:/-]{2,1224})?$/, 'not an external id (2-1224 of letters, digits and +=,.@:/_-)'),
  ),
  /**
   * "true" to look up, for spike alerts, the egress-policy change that likely caused them
   * (CloudTrail LookupEvents and EC2 Describe calls in the sources' account; issue 15).
   */
  LOOK_UP_CHANGE_CAUSES: z.pipe(
    z._default(z.enum(['true', 'false']), 'false'),
    z.transform((v: 'true' | 'false') => v === 'true'),
  ),
  /** Days kept for sources not seen again (DynamoDB TTL). */
  BASELINE_TTL_DAYS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(3650)), 90),
  /** DynamoDB items the baselines are spread over (deployment setting baselineBuckets). */
  BASELINE_BUCKETS: z._default(
    z.coerce.number().check(z.int(), z.gte(1), z.lte(MAX_BASELINE_BUCKETS)),
    BASELINE_BUCKETS,
  ),
  /** Set by Lambda; the region of the clients and of the console links in alerts. */
  AWS_REGION: z._default(matching(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'not an AWS region'), 'us-east-1'),
  /** CloudWatch namespace of the EMF metrics (the stack's alarms read RunSucceeded from it). */
  POWERTOOLS_METRICS_NAMESPACE: z._default(
    matching(/^[\w./#:-]{1,255}$/, 'not a CloudWatch namespace'),
    'EgressSpikeDetector',
  ),
  /** Service name on every log line and the metrics' `service` dimension. */
  POWERTOOLS_SERVICE_NAME: z._default(
    matching(/^[\w.-]{1,100}$/, 'not a service name'),
    'egress-spike-detector',
  ),
  /** Endpoint overrides for local testing; never set in a deployed stack. */
  LOGS_ENDPOINT: z.optional(z.url()),
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  SNS_ENDPOINT: z.optional(z.url()),
  EC2_ENDPOINT: z.optional(z.url()),
  STS_ENDPOINT: z.optional(z.url()),
  CLOUDTRAIL_ENDPOINT: z.optional(z.url()),
  ATHENA_ENDPOINT: z.optional(z.url()),
  S3_ENDPOINT: z.optional(z.url()),
});

export type RuntimeEnvironment = z.input<typeof runtimeEnvironmentSchema>;

export interface RuntimeConfig {
  detector: DetectorConfig;
  flowSource: 'cloudwatch' | 'athena';
  /** The log groups (cloudwatch); empty with Athena. */
  logGroupIdentifiers: string[];
  /** Name prefixes to discover log groups by at each run (empty: only logGroupIdentifiers). */
  logGroupPrefixes: string[];
  includeLinkedAccounts: boolean;
  /** The workgroup and table (athena). */
  athena?: { workGroup: string; table: AthenaFlowTable; tableFingerprint?: string };
  tableName: string;
  topicArn: string;
  enrichWithEc2: boolean;
  /** The function's own account, when known. */
  accountId: string | undefined;
  /** The member-account role and its external id, when configured. */
  memberRole: { name: string; externalId: string } | undefined;
  lookUpChangeCauses: boolean;
  /**
   * Why change causes cannot be looked up for this deployment (Athena flow logs of another
   * Region): each alert that would have one says so instead. Absent: they can.
   */
  changeCausesUnavailable?: string;
  baselineTtlDays: number;
  baselineBuckets: number;
  region: string;
  metricsNamespace: string;
  serviceName: string;
  endpoints: {
    logs?: string;
    dynamodb?: string;
    sns?: string;
    ec2?: string;
    sts?: string;
    cloudTrail?: string;
    athena?: string;
    s3?: string;
  };
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadRuntimeConfig(env: Record<string, string | undefined> = process.env): RuntimeConfig {
  const parsed = runtimeEnvironmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const shown = name === 'DETECTOR_CONFIG' ? '' : ` (got ${JSON.stringify(env[name])})`;
      return `${name}: ${issue.message}${env[name] === undefined ? ' (not set)' : shown}`;
    });
    throw new ConfigError(`invalid Lambda environment:\n${problems.join('\n')}`, 'environment');
  }
  const e = parsed.data;
  const memberRoleName = e.MEMBER_ROLE_NAME ?? '';
  const memberRoleExternalId = e.MEMBER_ROLE_EXTERNAL_ID ?? '';
  if ((memberRoleName === '') !== (memberRoleExternalId === '')) {
    throw new ConfigError(
      `invalid Lambda environment:\n${memberRoleName === '' ? 'MEMBER_ROLE_NAME' : 'MEMBER_ROLE_EXTERNAL_ID'}: the member role needs both MEMBER_ROLE_NAME and MEMBER_ROLE_EXTERNAL_ID`,
      'environment',
    );
  }
  // Each source needs its own variables; the other source's are ignored.
  if (
    e.FLOW_SOURCE === 'cloudwatch' &&
    e.LOG_GROUP_IDENTIFIERS.length === 0 &&
    e.LOG_GROUP_PREFIXES.length === 0
  ) {
    throw new ConfigError(
      'invalid Lambda environment:\nLOG_GROUP_IDENTIFIERS: set it or LOG_GROUP_PREFIXES (the flow log groups to query), both are empty',
      'environment',
    );
  }
  const otherRegionArns =
    e.FLOW_SOURCE === 'cloudwatch'
      ? e.LOG_GROUP_IDENTIFIERS.filter((group) => {
          const region = ARN_REGION.exec(group)?.[1];
          return region !== undefined && region !== e.AWS_REGION;
        })
      : [];
  if (otherRegionArns.length > 0) {
    const regions = [...new Set(otherRegionArns.map((group) => ARN_REGION.exec(group)![1]!))];
    throw new ConfigError(
      `invalid Lambda environment:\nLOG_GROUP_IDENTIFIERS: ${otherRegionArns.join(', ')} ${otherRegionArns.length === 1 ? 'is a log group' : 'are log groups'} of ${regions.join(', ')}, not of the function's Region (AWS_REGION ${e.AWS_REGION}): Logs Insights queries its own Region's log groups only, so every query would fail. Run a detector in ${regions.length === 1 ? 'that Region' : 'each of those Regions'} for ${otherRegionArns.length === 1 ? 'it' : 'them'}`,
      'environment',
    );
  }
  const missing =
    e.FLOW_SOURCE === 'athena'
      ? (['ATHENA_WORKGROUP', 'ATHENA_DATABASE', 'ATHENA_TABLE'] as const).filter(
          (name) => e[name] === undefined,
        )
      : [];
  if (missing.length > 0) {
    throw new ConfigError(
      `invalid Lambda environment:\n${missing.map((name) => `${name}: required with FLOW_SOURCE=${e.FLOW_SOURCE} (not set)`).join('\n')}`,
      'environment',
    );
  }
  // Change causes are looked up in the function's own Region (CloudTrail, EC2) and the records
  // carry no Region: another Region's source would be told "none found" after a search that
  // could not find its changes. The stack refuses this at synth where it knows its Region; where
  // it does not, the function still detects and alerts, and says in each alert why no cause.
  const otherRegions = e.ATHENA_FLOW_LOG_REGIONS.filter((region) => region !== e.AWS_REGION);
  const changeCausesUnavailable =
    e.FLOW_SOURCE === 'athena' && e.LOOK_UP_CHANGE_CAUSES && otherRegions.length > 0
      ? `the flow logs include ${otherRegions.join(', ')}, and causes are looked up in the function's Region (${e.AWS_REGION}) only; run a detector in each Region for that Region's flow logs`
      : undefined;
  const athena =
    e.FLOW_SOURCE === 'athena'
      ? {
          workGroup: e.ATHENA_WORKGROUP!,
          table:
            e.ATHENA_TABLE_KIND === 'security-lake'
              ? { kind: 'security-lake' as const, database: e.ATHENA_DATABASE!, table: e.ATHENA_TABLE! }
              : {
                  kind: 'flow-logs' as const,
                  database: e.ATHENA_DATABASE!,
                  table: e.ATHENA_TABLE!,
                  hourlyPartitions: e.ATHENA_HOURLY_PARTITIONS,
                },
          ...(e.ATHENA_TABLE_FINGERPRINT === undefined
            ? {}
            : { tableFingerprint: e.ATHENA_TABLE_FINGERPRINT }),
        }
      : undefined;
  const cloudwatch = e.FLOW_SOURCE === 'cloudwatch';
  const detector = resolveDetectorConfigJson(e.DETECTOR_CONFIG, 'DETECTOR_CONFIG');
  const lengthProblem = cloudwatch ? queryLengthProblem(detector) : undefined;
  if (lengthProblem !== undefined) {
    throw new ConfigError(`invalid Lambda environment:\nDETECTOR_CONFIG: ${lengthProblem}`, 'environment');
  }
  const regionsProblem =
    athena?.table.kind === 'flow-logs'
      ? severalRegionsProblem(detector.flowLogFormat, e.ATHENA_FLOW_LOG_REGIONS)
      : undefined;
  if (regionsProblem !== undefined) {
    throw new ConfigError(
      `invalid Lambda environment:\nATHENA_FLOW_LOG_REGIONS: ${regionsProblem}`,
      'environment',
    );
  }
  return {
    detector,
    flowSource: e.FLOW_SOURCE,
    logGroupIdentifiers: cloudwatch ? e.LOG_GROUP_IDENTIFIERS : [],
    logGroupPrefixes: cloudwatch ? e.LOG_GROUP_PREFIXES : [],
    includeLinkedAccounts: e.INCLUDE_LINKED_ACCOUNTS,
    ...(athena === undefined ? {} : { athena }),
    tableName: e.TABLE_NAME,
    topicArn: e.TOPIC_ARN,
    enrichWithEc2: e.ENRICH_WITH_EC2,
    accountId: e.ACCOUNT_ID === '' || e.ACCOUNT_ID === undefined ? undefined : e.ACCOUNT_ID,
    memberRole:
      memberRoleName === '' ? undefined : { name: memberRoleName, externalId: memberRoleExternalId },
    lookUpChangeCauses: e.LOOK_UP_CHANGE_CAUSES,
    ...(changeCausesUnavailable === undefined ? {} : { changeCausesUnavailable }),
    baselineTtlDays: e.BASELINE_TTL_DAYS,
    baselineBuckets: e.BASELINE_BUCKETS,
    region: e.AWS_REGION,
    metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE,
    serviceName: e.POWERTOOLS_SERVICE_NAME,
    endpoints: {
      logs: e.LOGS_ENDPOINT,
      dynamodb: e.DYNAMODB_ENDPOINT,
      sns: e.SNS_ENDPOINT,
      ec2: e.EC2_ENDPOINT,
      sts: e.STS_ENDPOINT,
      cloudTrail: e.CLOUDTRAIL_ENDPOINT,
      athena: e.ATHENA_ENDPOINT,
      s3: e.S3_ENDPOINT,
    },
  };
}
