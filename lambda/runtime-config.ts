/**
 * The Lambda's environment: one zod schema, parsed once at cold start. The CDK stack builds the
 * same variables from typed props (`DetectorEnvironment`), so stack and function cannot disagree
 * without a compile error. No secrets live here: only names, ARNs and detection parameters.
 */
// zod's functional build, as the detector config schema (lambda/core/config.ts, which also sets
// its English messages): cheaper to construct at cold start, the same validation and messages.
import * as z from 'zod/mini';
import { ConfigError, resolveDetectorConfigJson, type DetectorConfig } from './core/config';

const LOG_GROUP = /^(arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w./#-]{1,512}(:\*)?|[\w./#-]{1,512})$/;
/**
 * StartQuery refuses a log group ARN ending in `:*` ("Don't include an * at the end"), the form
 * IAM and the console show: refused here, at cold start, rather than by every query.
 */
const ARN_WITH_STAR = /^arn:.*:log-group:.*:\*$/;

const list = (name: string, item: z.ZodMiniString<string>) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((value: string) =>
        value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      ),
    ),
    z.array(item).check(z.minLength(1, `${name} needs at least one entry`)),
  );

/** A string matching `pattern`, else `message`. */
const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

export const runtimeEnvironmentSchema = z.object({
  /** Detection parameters as JSON (the shared detector config schema); empty: the recommended preset. */
  DETECTOR_CONFIG: z.optional(z.string()),
  /** Comma-separated flow log group names or ARNs (up to 50). */
  LOG_GROUP_IDENTIFIERS: z.pipe(
    list(
      'LOG_GROUP_IDENTIFIERS',
      matching(LOG_GROUP, 'not a log group name or ARN').check(
        z.refine((value: string) => !ARN_WITH_STAR.test(value), {
          message: "an ARN ending in ':*' is refused by StartQuery: remove the ':*'",
        }),
      ),
    ),
    z.array(z.string()).check(z.maxLength(50, 'Logs Insights queries at most 50 log groups')),
  ),
  TABLE_NAME: matching(/^[a-zA-Z0-9_.-]{3,255}$/, 'not a DynamoDB table name'),
  TOPIC_ARN: matching(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'not an SNS topic ARN'),
  /** "true" to look up ENI -> instance, VPC, subnet and Name tag for alerted sources. */
  ENRICH_WITH_EC2: z.pipe(
    z._default(z.enum(['true', 'false']), 'false'),
    z.transform((v: 'true' | 'false') => v === 'true'),
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
  CLOUDTRAIL_ENDPOINT: z.optional(z.url()),
});

export type RuntimeEnvironment = z.input<typeof runtimeEnvironmentSchema>;

export interface RuntimeConfig {
  detector: DetectorConfig;
  logGroupIdentifiers: string[];
  tableName: string;
  topicArn: string;
  enrichWithEc2: boolean;
  lookUpChangeCauses: boolean;
  baselineTtlDays: number;
  region: string;
  metricsNamespace: string;
  serviceName: string;
  endpoints: { logs?: string; dynamodb?: string; sns?: string; ec2?: string; cloudTrail?: string };
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
  return {
    detector: resolveDetectorConfigJson(e.DETECTOR_CONFIG, 'DETECTOR_CONFIG'),
    logGroupIdentifiers: e.LOG_GROUP_IDENTIFIERS,
    tableName: e.TABLE_NAME,
    topicArn: e.TOPIC_ARN,
    enrichWithEc2: e.ENRICH_WITH_EC2,
    lookUpChangeCauses: e.LOOK_UP_CHANGE_CAUSES,
    baselineTtlDays: e.BASELINE_TTL_DAYS,
    region: e.AWS_REGION,
    metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE,
    serviceName: e.POWERTOOLS_SERVICE_NAME,
    endpoints: {
      logs: e.LOGS_ENDPOINT,
      dynamodb: e.DYNAMODB_ENDPOINT,
      sns: e.SNS_ENDPOINT,
      ec2: e.EC2_ENDPOINT,
      cloudTrail: e.CLOUDTRAIL_ENDPOINT,
    },
  };
}
