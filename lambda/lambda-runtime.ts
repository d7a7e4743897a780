/**
 * Everything a Lambda container holds between invocations: the parsed config, the SDK clients
 * and the Powertools Logger/Metrics, created once. `handler.ts` builds one from `process.env` at
 * cold start; end-to-end tests build one from a test environment (local endpoints, a fake clock)
 * and invoke its handler the way Lambda does.
 */
import type { AthenaClient } from '@aws-sdk/client-athena';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { STSClient } from '@aws-sdk/client-sts';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { loadStsModule, MemberRoleAccountContext, roleSessionName } from './adapters/account-context';
import { accountOfKey } from './core';
import { baselineSettingsOf, encodeBaselineSettings, sourceKeyShape } from './baseline-settings';
import {
  AthenaFlowSource,
  loadAthenaModules,
  type AthenaFlowSourceOptions,
} from './adapters/athena-flow-source';
import {
  accountOfArn,
  AwsChangeExplainer,
  SameAccountContext,
  UnavailableChangeExplainer,
  type AccountClients,
} from './adapters/change-explainer';
import { loadCloudTrailModule } from './adapters/cloudtrail-change-lookup';
import { DynamoBaselineStore } from './adapters/dynamo-baseline-store';
import { Ec2Enricher, loadEc2Module, type Ec2Sender } from './adapters/ec2-enricher';
import { fixedLogGroups, LogGroupDiscovery, type LogGroupResolver } from './adapters/log-group-discovery';
import { useLeanJson } from './adapters/lean-json-protocol';
import {
  LogsInsightsFlowSource,
  type LogsInsightsFlowSourceOptions,
} from './adapters/logs-insights-flow-source';
import type { AccountClientConfig, AccountContext } from './adapters/ports';
import { SnsAlertPublisher, retryKmsThrottling } from './adapters/sns-alert-publisher';
import { runDetector, type RunLogger, type RunMetrics, type RunSummary } from './detector-run';
import type { RuntimeConfig } from './runtime-config';
import { sourceMappedStack } from './source-mapped-stack';

/** Kept back from Lambda's remaining time so the run ends (and releases its lease) before the timeout. */
const TIMEOUT_SAFETY_MS = 5_000;

export interface LambdaRuntimeOptions {
  /** The clock; tests inject one. @default Date.now */
  now?: () => number;
  /** Static credentials for local endpoints; absent: the default provider chain (the Lambda role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  sleep?: (ms: number) => Promise<void>;
  logger?: RunLogger;
  metrics?: RunMetrics;
  /** Extra LogsInsightsFlowSource options (tests: a small row limit, a short poll interval). */
  flowSourceOptions?: Pick<
    LogsInsightsFlowSourceOptions,
    'rowLimit' | 'pollIntervalMs' | 'maxPollIntervalMs' | 'retryBaseDelayMs'
  >;
  /** Extra AthenaFlowSource options (tests: a small page budget, a short poll interval). */
  athenaSourceOptions?: Pick<
    AthenaFlowSourceOptions,
    'pageBudget' | 'pollIntervalMs' | 'maxPollIntervalMs' | 'retryBaseDelayMs' | 'maxQueryAttempts'
  >;
  /**
   * Where CloudTrail lookups and EC2 Describe calls for change causes get each account's clients.
   * @default the function's own account only (SameAccountContext; the account of TOPIC_ARN)
   */
  accountContext?: AccountContext;
}

export type DetectorHandler = (
  event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>,
) => Promise<RunSummary>;

export interface LambdaRuntime {
  config: RuntimeConfig;
  logger: RunLogger;
  metrics: RunMetrics;
  clients: {
    logs: CloudWatchLogsClient;
    dynamodb: DynamoDBClient;
    sns: SNSClient;
    ec2: EC2Client | undefined;
    /** With FLOW_SOURCE=athena: Athena, and S3 for result objects. */
    athena: AthenaClient | undefined;
    s3: S3Client | undefined;
  };
  handler: DetectorHandler;
}

export function createLambdaRuntime(
  config: RuntimeConfig,
  options: LambdaRuntimeOptions = {},
): LambdaRuntime {
  const now = options.now ?? Date.now;
  const clientConfig = (endpoint: string | undefined) => ({
    region: config.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    // The middleware chain is resolved once per command type instead of on every one of the
    // thousands of batch calls of a large window (nothing here adds per-command middleware).
    cacheMiddleware: true,
  });
  const logger: RunLogger = options.logger ?? new Logger({ serviceName: config.serviceName });
  const metrics: RunMetrics =
    options.metrics ?? new Metrics({ namespace: config.metricsNamespace, serviceName: config.serviceName });
  const clients = {
    logs: new CloudWatchLogsClient(clientConfig(config.endpoints.logs)),
    dynamodb: new DynamoDBClient(clientConfig(config.endpoints.dynamodb)),
    // The topic may be another Region's (one central alert topic for several Regions).
    sns: retryKmsThrottling(
      new SNSClient({
        ...clientConfig(config.endpoints.sns),
        region: config.topicArn.split(':')[3] ?? config.region,
      }),
    ),
    // The EC2 client module takes about a third of a second to load: a cold start pays for it
    // only when enrichment is on.
    ec2: config.enrichWithEc2
      ? new (loadEc2Module().EC2Client)(clientConfig(config.endpoints.ec2))
      : undefined,
    athena:
      config.athena === undefined
        ? undefined
        : new (loadAthenaModules().athena.AthenaClient)(clientConfig(config.endpoints.athena)),
    // Path-style addressing where a local endpoint stands in for S3 (tests).
    s3:
      config.athena === undefined
        ? undefined
        : new (loadAthenaModules().s3.S3Client)({
            ...clientConfig(config.endpoints.s3),
            ...(config.endpoints.s3 === undefined ? {} : { forcePathStyle: true }),
          }),
  };
  // The account whose context needs no role: the stack sets ACCOUNT_ID; the topic's otherwise.
  const ownAccountId = config.accountId ?? accountOfArn(config.topicArn) ?? '';
  const partition = config.topicArn.split(':')[1] ?? 'aws';
  // A configured log group name is this account's group in this Region: its ARN, to tell a
  // group named by name and by ARN (or also found by prefix) for the one group it is.
  const ownLogGroupScope = { partition, accountId: ownAccountId, region: config.region };
  let sts: STSClient | undefined;
  const stsClient = (): STSClient =>
    (sts ??= new (loadStsModule().STSClient)(clientConfig(config.endpoints.sts)));
  /**
   * Other accounts' context for one run (EC2 enrichment and change causes share it): the member
   * role's credentials are asked for once per account and kept for the run only.
   */
  const accountContextFor = (runId: string): AccountContext =>
    options.accountContext ??
    (config.memberRole === undefined
      ? new SameAccountContext(ownAccountId)
      : new MemberRoleAccountContext({
          sts: stsClient,
          ownAccountId,
          roleName: config.memberRole.name,
          externalId: config.memberRole.externalId,
          partition,
          sessionName: roleSessionName(runId),
          logger,
        }));
  const ownClients = new Map<string, AccountClients>();
  /** CloudTrail and EC2 clients for an account: the own account's live with the container, others' with the run. */
  const changeClientsFor = (accountId: string, account: AccountClientConfig): AccountClients => {
    const own = accountId === ownAccountId && account.credentials === undefined;
    const cached = own ? ownClients.get(account.region) : undefined;
    if (cached) return cached;
    const base = {
      ...clientConfig(undefined),
      region: account.region,
      ...(account.credentials === undefined ? {} : { credentials: account.credentials }),
    };
    const made: AccountClients = {
      // One attempt per call: the lookup paces itself and retries a throttled call once, after a second.
      cloudTrail: new (loadCloudTrailModule().CloudTrailClient)({
        ...base,
        ...(config.endpoints.cloudTrail === undefined ? {} : { endpoint: config.endpoints.cloudTrail }),
        maxAttempts: 1,
      }),
      ec2:
        own && clients.ec2 !== undefined
          ? clients.ec2
          : new (loadEc2Module().EC2Client)({
              ...base,
              ...(config.endpoints.ec2 === undefined ? {} : { endpoint: config.endpoints.ec2 }),
            }),
    };
    if (own) ownClients.set(account.region, made);
    return made;
  };
  // The bulk calls skip the SDK's schema walk (lean-json-protocol.ts explains; bench/cpu-time.ts).
  useLeanJson(clients.dynamodb, ['BatchGetItem', 'BatchWriteItem']);
  useLeanJson(clients.logs, ['GetQueryResults']);
  const publisherFor = (logGroups: LogGroupResolver) =>
    new SnsAlertPublisher({
      client: clients.sns,
      topicArn: config.topicArn,
      format: {
        region: config.region,
        logGroupIdentifiers: config.logGroupIdentifiers,
        ...(config.detector.flowLogFormat === undefined
          ? {}
          : { flowLogFormat: config.detector.flowLogFormat }),
        ...(config.athena === undefined ? {} : { athena: { workGroup: config.athena.workGroup } }),
      },
      consoleLogGroups: () => logGroups.logGroups(),
    });

  const baselineSettings = {
    ...baselineSettingsOf(
      config.detector,
      sourceKeyShape(config.detector.flowLogFormat, config.athena?.table.kind === 'security-lake'),
    ),
    baselineBuckets: config.baselineBuckets,
  };
  const handler: DetectorHandler = async (event, context) => {
    const deadline = now() + context.getRemainingTimeInMillis() - TIMEOUT_SAFETY_MS;
    const store = new DynamoBaselineStore({
      client: clients.dynamodb,
      tableName: config.tableName,
      baselineTtlDays: config.baselineTtlDays,
      baselineBuckets: config.baselineBuckets,
      baselineSettings: encodeBaselineSettings(baselineSettings),
      deadline,
      now,
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    });
    // Discovered once per run: a new account's flow log group is queried from the next run on.
    const logGroups: LogGroupResolver =
      config.logGroupPrefixes.length > 0
        ? new LogGroupDiscovery({
            client: clients.logs,
            logGroupIdentifiers: config.logGroupIdentifiers,
            own: ownLogGroupScope,
            prefixes: config.logGroupPrefixes,
            includeLinkedAccounts: config.includeLinkedAccounts,
            logger,
          })
        : fixedLogGroups(config.logGroupIdentifiers, ownLogGroupScope);
    const publisher = publisherFor(logGroups);
    const sleep = options.sleep === undefined ? {} : { sleep: options.sleep };
    const source =
      config.athena !== undefined && clients.athena !== undefined && clients.s3 !== undefined
        ? new AthenaFlowSource({
            athena: clients.athena,
            s3: clients.s3,
            workGroup: config.athena.workGroup,
            table: config.athena.table,
            config: config.detector,
            now,
            // A bootstrap run again reads the days it already counted from their kept queries.
            completedQueries: store,
            ...(config.athena.tableFingerprint === undefined
              ? {}
              : { tableFingerprint: config.athena.tableFingerprint }),
            ...options.athenaSourceOptions,
            ...sleep,
          })
        : new LogsInsightsFlowSource({
            client: clients.logs,
            logGroups,
            config: config.detector,
            now,
            // A bootstrap run again reads the days it already counted from their kept queries.
            completedQueries: store,
            ...options.flowSourceOptions,
            ...sleep,
          });
    // The ENI cache lives for one run: interfaces get reassigned, a warm container must not keep
    // stale answers. Other accounts' EC2 clients (member role credentials) live for the run too.
    const accounts = accountContextFor(context.awsRequestId);
    const accountClients: EC2Client[] = [];
    const ec2ClientForAccount = async (accountId: string): Promise<Ec2Sender | undefined> => {
      const account = await accounts.clientConfigFor(accountId, config.region);
      if (account === undefined) return undefined;
      const client = new (loadEc2Module().EC2Client)({
        ...clientConfig(config.endpoints.ec2),
        ...account,
      });
      accountClients.push(client);
      return client;
    };
    const enricher = clients.ec2
      ? new Ec2Enricher({
          client: clients.ec2,
          logger,
          ownAccountId,
          // A source's interfaces are in the account its records name (the key's account).
          accountOf: accountOfKey,
          clientForAccount: ec2ClientForAccount,
          now,
        })
      : undefined;
    // Its lookups and facts are cached for this run only: policies change, and so do interfaces.
    const causesWanted = config.lookUpChangeCauses && config.detector.policyChangeSpikes !== 'off';
    const explainer = !causesWanted
      ? undefined
      : config.changeCausesUnavailable !== undefined
        ? new UnavailableChangeExplainer(config.detector, config.changeCausesUnavailable)
        : new AwsChangeExplainer({
            config: config.detector,
            region: config.region,
            ownAccountId,
            linkedAccounts: config.includeLinkedAccounts,
            accounts,
            clientsFor: changeClientsFor,
            now,
            sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
            logger,
          });
    try {
      return await runDetector(
        {
          config: config.detector,
          source,
          store,
          publisher,
          enricher,
          explainer,
          logger,
          metrics,
          now,
          deadline,
          runId: context.awsRequestId,
          baselineTtlDays: config.baselineTtlDays,
          baselineSettings,
          ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
        },
        event,
      );
    } catch (error) {
      // Mapped here, once a run failed, rather than by --enable-source-maps at every cold start.
      if (error instanceof Error && error.stack !== undefined) error.stack = sourceMappedStack(error.stack);
      logger.error('run failed', {
        error:
          error instanceof Error
            ? { name: error.name, message: error.message, stack: error.stack }
            : String(error),
      });
      throw error;
    } finally {
      for (const client of accountClients) client.destroy();
    }
  };
  return { config, logger, metrics, clients, handler };
}
