/**
 * The stack's settings: CDK context (cdk.json `context`, or `-c key=value` on the command line),
 * parsed once with zod into typed props. `-c` values arrive as strings, so lists accept JSON
 * (`["a","b"]`) or commas (`a,b`), booleans accept `true`/`false`, numbers accept digits.
 * Detection parameters (`detectorConfig`) go through the shared schema in lambda/core/config.ts,
 * so a bad threshold fails `cdk synth` instead of the first Lambda run.
 */
import { z } from 'zod';
import {
  ConfigError,
  describeIssues,
  resolveDetectorConfig,
  type DetectorConfig,
  type DetectorConfigInput,
} from '../lambda/core/config';

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
const LOG_GROUP_ARN = /^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w./#-]{1,512}(:\*)?$/;

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
    /** Existing flow log groups to query: names, or ARNs (same Region; other accounts via cross-account observability). */
    flowLogGroups: list(flowLogGroup).default([]),
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
    /** Days a source's baseline is kept after it was last seen (DynamoDB TTL). */
    baselineTtlDays: integer(1, 3650, 90),
    /** Lambda memory (MB); CPU scales with it. */
    functionMemoryMb: integer(256, 10_240, 1024),
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
    if (value.flowLogGroups.length === 0 && value.vpcIds.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['flowLogGroups'],
        message:
          'set flowLogGroups (existing flow log groups) or vpcIds (the stack creates flow logs), or both',
      });
    }
    const queried = value.flowLogGroups.length + (value.vpcIds.length > 0 ? 1 : 0);
    if (queried > 50) {
      ctx.addIssue({
        code: 'custom',
        path: ['flowLogGroups'],
        message: `a Logs Insights query reads at most 50 log groups, this would be ${queried}`,
      });
    }
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

const LIST_KEYS: readonly string[] = ['flowLogGroups', 'vpcIds', 'alertEmails', 'operationsEmails'];

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
  let input = detectorConfigInput as DetectorConfigInput;
  if (settings.flowLogGroups.length === 0 && settings.vpcIds.length > 0 && input.lagMinutes === undefined) {
    input = { ...input, lagMinutes: CREATED_FLOW_LOGS_LAG_MINUTES };
    detectorConfig = { ...detectorConfig, lagMinutes: CREATED_FLOW_LOGS_LAG_MINUTES };
  }
  return { ...settings, detectorConfigInput: input, detectorConfig };
}
