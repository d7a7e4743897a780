import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { CHANGE_CAUSE_ACTIONS, TABLE_ACTIONS } from '../../lib/constructs/detector-function';
import { EXAMPLE_FLOW_LOG_GROUP } from '../../lib/deployment-context';
import { DETECTOR_METRICS } from '../../lib/constructs/monitoring';
import { loadRuntimeConfig } from '../../lambda/runtime-config';
import { buildApp, synthTemplate } from './synth';

const EXISTING = { flowLogGroups: ['/vpc/flow-logs/prod'], alertEmails: ['sec@example.com'] };
const CREATED = { vpcIds: ['vpc-0123456789abcdef0', 'vpc-12345678'] };

type Statement = {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Condition?: unknown;
};

/** The statements of the detector role's policy. */
function detectorStatements(template: Template): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^DetectorRole') }] },
  });
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** What CloudFormation would put in place of the stack's references, to feed the runtime's parser. */
function deployedValue(value: unknown): string {
  if (typeof value === 'string') return value;
  const reference = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (reference['Fn::Join'] !== undefined) {
    const [separator, parts] = reference['Fn::Join'];
    return parts.map(deployedValue).join(separator);
  }
  const ref = reference.Ref ?? '';
  if (ref.startsWith('StateTable')) return 'EgressSpikeDetector-StateTable9728C7E5-1A2B3C4D5E6F';
  if (ref.startsWith('AlertingAlertTopic'))
    return 'arn:aws:sns:eu-west-1:123456789012:EgressSpikeDetector-AlertTopic-Ab12';
  if (ref.startsWith('FlowLogSourceFlowLogGroup')) return 'EgressSpikeDetector-FlowLogGroup-Cd34';
  if (ref === 'AWS::AccountId') return '123456789012';
  throw new Error(`no deployed value for ${JSON.stringify(value)}`);
}

function deployedEnvironment(template: Template): Record<string, string> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  }[];
  return Object.fromEntries(
    Object.entries(fn?.Properties.Environment.Variables ?? {}).map(([key, value]) => [
      key,
      deployedValue(value),
    ]),
  );
}

describe('EgressSpikeDetectorStack', () => {
  describe('with existing flow log groups', () => {
    const template = synthTemplate(EXISTING);

    it('runs the detector on Node.js 22 on ARM, one at a time, with its own log group', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        ReservedConcurrentExecutions: 1,
        MemorySize: 1024,
        Timeout: 900,
        LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^DetectorLogGroup') } },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    });

    it('gives the function exactly the environment the runtime schema defines', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: {
            DETECTOR_CONFIG: '{}',
            LOG_GROUP_IDENTIFIERS: '/vpc/flow-logs/prod',
            TABLE_NAME: { Ref: Match.stringLikeRegexp('^StateTable') },
            TOPIC_ARN: { Ref: Match.stringLikeRegexp('^AlertingAlertTopic') },
            ENRICH_WITH_EC2: 'false',
            LOOK_UP_CHANGE_CAUSES: 'false',
            BASELINE_TTL_DAYS: '90',
            BASELINE_BUCKETS: '2048',
            POWERTOOLS_SERVICE_NAME: 'egress-spike-detector',
            POWERTOOLS_METRICS_NAMESPACE: 'EgressSpikeDetector',
            // V8's old space at 15/32 of the function's 1,024 MB, its semi-spaces at 1/64 (lib/constructs/detector-bundling.ts),
            // and no --enable-source-maps: it costs every cold start (see lambda/source-mapped-stack.ts)
            NODE_OPTIONS: '--max-old-space-size=480 --max-semi-space-size=16',
            // endpoint overrides are for local tests only
            LOGS_ENDPOINT: Match.absent(),
            DYNAMODB_ENDPOINT: Match.absent(),
            SNS_ENDPOINT: Match.absent(),
            EC2_ENDPOINT: Match.absent(),
            CLOUDTRAIL_ENDPOINT: Match.absent(),
          },
        },
      });
    });

    it("caps V8's heap in proportion to the function's memory", () => {
      const larger = synthTemplate({ ...EXISTING, functionMemoryMb: 1536 });
      larger.hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: 1536,
        Environment: {
          Variables: Match.objectLike({ NODE_OPTIONS: '--max-old-space-size=720 --max-semi-space-size=24' }),
        },
      });
    });

    it("gives an environment the runtime's own parser accepts once deployed", () => {
      // Act: the handler's cold-start parse, on what the function would see
      const config = loadRuntimeConfig(deployedEnvironment(template));
      // Assess
      expect(config).toMatchObject({
        logGroupIdentifiers: ['/vpc/flow-logs/prod'],
        tableName: 'EgressSpikeDetector-StateTable9728C7E5-1A2B3C4D5E6F',
        topicArn: 'arn:aws:sns:eu-west-1:123456789012:EgressSpikeDetector-AlertTopic-Ab12',
        enrichWithEc2: false,
        baselineTtlDays: 90,
        baselineBuckets: 2048,
        endpoints: { logs: undefined, dynamodb: undefined, sns: undefined, ec2: undefined },
      });
      expect(config.detector.preset).toBe('recommended');
    });

    it('retries failed async runs twice, then keeps them in an encrypted, SSL-only queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 21600,
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DetectorFailedInvocations'), 'Arn'] },
          },
        },
      });
      template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
      template.resourceCountIs('AWS::SQS::QueuePolicy', 2);
      template.allResourcesProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('schedules a run 22 minutes past each hour (lag 20 + margin 2), with retries and a DLQ', () => {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(22 * * * ? *)',
        ScheduleExpressionTimezone: 'Etc/UTC',
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DetectorFunction'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScheduleDeadLetters'), 'Arn'] },
          },
          // anything without "mode" is a scheduled run
          Input: Match.serializedJson(Match.objectEquals({ source: 'egress-spike-detector.schedule' })),
        },
      });
    });

    it('keeps state in a pay-per-request table with PITR, TTL, encryption and deletion protection, retained', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: {
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          SSESpecification: { SSEEnabled: true },
          DeletionProtectionEnabled: true,
          ProvisionedThroughput: Match.absent(),
        },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it('encrypts the alert topic with a rotating customer-managed key that CloudWatch alarms may use', () => {
      template.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertingTopicKey'), 'Arn'] },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            // Only for alarms of this account and Region (confused deputy).
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: {
                  'aws:SourceArn': {
                    'Fn::Join': [
                      '',
                      [
                        'arn:',
                        { Ref: 'AWS::Partition' },
                        ':cloudwatch:',
                        { Ref: 'AWS::Region' },
                        ':',
                        { Ref: 'AWS::AccountId' },
                        ':alarm:*',
                      ],
                    ],
                  },
                },
              },
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ]),
        },
      });
    });

    it('subscribes the alert emails and has no Slack channel unless asked', () => {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'sec@example.com',
      });
      template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
    });

    it('grants StartQuery on 100 named groups in policies IAM accepts (6,144 characters a managed policy, 10,240 inline)', () => {
      // IAM counts the deployed text without whitespace: references are put in with the longest
      // partition and Region names, other resources' ARNs as 120 characters.
      const groups = Array.from(
        { length: 100 },
        (_, i) => `/vpc/flow-logs/team-${String(i).padStart(2, '0')}`,
      );
      const many = synthTemplate({ ...EXISTING, flowLogGroups: groups }).toJSON() as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      const deployed = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(deployed);
        if (value === null || typeof value !== 'object') return value;
        const v = value as Record<string, unknown>;
        if ('Fn::Join' in v) {
          const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
          return parts.map(deployed).join(separator);
        }
        if ('Ref' in v) {
          const pseudo: Record<string, string> = {
            'AWS::Partition': 'aws-us-gov',
            'AWS::Region': 'ap-southeast-5',
            'AWS::AccountId': '123456789012',
          };
          return pseudo[v.Ref as string] ?? 'r'.repeat(120);
        }
        if ('Fn::GetAtt' in v) return 'a'.repeat(120);
        return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, deployed(inner)]));
      };
      const onRole = Object.values(many.Resources).filter(
        (r) =>
          (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
          JSON.stringify(r.Properties.Roles).includes('DetectorRole'),
      );
      const size = (r: { Properties: Record<string, unknown> }) =>
        JSON.stringify(deployed(r.Properties.PolicyDocument)).replace(/\s/g, '').length;
      const inline = onRole.filter((r) => r.Type === 'AWS::IAM::Policy').reduce((n, r) => n + size(r), 0);
      const managed = onRole.filter((r) => r.Type === 'AWS::IAM::ManagedPolicy').map(size);

      expect(inline).toBeLessThanOrEqual(10_240);
      for (const characters of managed) expect(characters).toBeLessThanOrEqual(6_144);
      // Within the default quota of managed policies a role may have (10).
      expect(managed.length).toBeLessThanOrEqual(10);
      const granted = onRole
        .flatMap((r) => (deployed(r.Properties.PolicyDocument) as { Statement: Statement[] }).Statement)
        .filter((statement) => actionsOf(statement).includes('logs:StartQuery'))
        .flatMap((statement) => statement.Resource as string[]);
      expect(granted.sort()).toEqual(
        groups
          .flatMap((group) => {
            const arn = `arn:aws-us-gov:logs:ap-southeast-5:123456789012:log-group:${group}`;
            return [arn, `${arn}:*`];
          })
          .sort(),
      );
    });

    it('grants StartQuery on the flow log group only, and "*" only to actions that cannot be scoped', () => {
      const statements = detectorStatements(template);
      const byAction = (action: string) => statements.filter((s) => actionsOf(s).includes(action));
      const groupArn = [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':logs:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':log-group:/vpc/flow-logs/prod',
      ];

      expect(byAction('logs:StartQuery')).toEqual([
        expect.objectContaining({
          Action: 'logs:StartQuery',
          Resource: [
            { 'Fn::Join': ['', groupArn] },
            { 'Fn::Join': ['', [...groupArn.slice(0, -1), ':log-group:/vpc/flow-logs/prod:*']] },
          ],
        }),
      ]);
      expect(byAction('logs:GetQueryResults')).toEqual([
        expect.objectContaining({ Action: ['logs:GetQueryResults', 'logs:StopQuery'], Resource: '*' }),
      ]);
      expect(byAction('dynamodb:PutItem')).toEqual([
        expect.objectContaining({
          Action: [...TABLE_ACTIONS],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StateTable/), 'Arn'] },
        }),
      ]);
      expect(byAction('sns:Publish')).toEqual([
        expect.objectContaining({ Resource: { Ref: expect.stringMatching(/^AlertingAlertTopic/) } }),
      ]);
      expect(byAction('kms:GenerateDataKey*')).toEqual([
        expect.objectContaining({
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AlertingTopicKey/), 'Arn'] },
        }),
      ]);

      // Negative checks: no wildcard actions, no Scan or table-level actions, no enrichment.
      const allActions = statements.flatMap(actionsOf);
      expect(allActions.filter((action) => action.endsWith(':*') || action === '*')).toEqual([]);
      expect(allActions).not.toContain('dynamodb:Scan');
      expect(allActions).not.toContain('dynamodb:DeleteTable');
      expect(allActions).not.toContain('ec2:DescribeNetworkInterfaces');
      expect(allActions).not.toContain('ec2:DescribeInstances');
      expect(allActions).not.toContain('cloudtrail:LookupEvents');
      const wildcardActions = statements.filter((s) => s.Resource === '*').flatMap(actionsOf);
      expect(wildcardActions.sort()).toEqual(['logs:GetQueryResults', 'logs:StopQuery']);
    });

    it('uses no AWS-managed policies on its roles and never AdministratorAccess', () => {
      const roles = template.findResources('AWS::IAM::Role');
      for (const role of Object.values(roles)) {
        expect(
          (role as { Properties: Record<string, unknown> }).Properties.ManagedPolicyArns,
        ).toBeUndefined();
      }
      expect(JSON.stringify(template.toJSON())).not.toMatch(/AdministratorAccess/);
    });

    it('lets the scheduler invoke only the detector, from this account', () => {
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Principal: { Service: 'scheduler.amazonaws.com' },
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ],
        },
      });
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^ScheduleRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'lambda:InvokeFunction',
              Resource: Match.arrayWith([
                { 'Fn::GetAtt': [Match.stringLikeRegexp('^DetectorFunction'), 'Arn'] },
              ]),
            }),
          ]),
        },
      });
      template.resourceCountIs('AWS::Lambda::Permission', 0);
      template.resourceCountIs('AWS::Lambda::Url', 0);
    });

    it('alarms on errors, throttles, missed heartbeats, dead letters, late records, skipped windows, a detector falling behind, parked alerts, records in another format and full baseline buckets, notifying the alert topic', () => {
      const topic = { Ref: Match.stringLikeRegexp('^AlertingAlertTopic') };
      template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
      template.allResourcesProperties('AWS::CloudWatch::Alarm', {
        AlarmActions: [topic],
        OKActions: [topic],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^DetectorFunction') } }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Threshold: 1,
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EgressSpikeDetector',
        MetricName: 'RunSucceeded',
        Dimensions: [{ Name: 'service', Value: 'egress-spike-detector' }],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
      });
      for (const queue of ['^DetectorFailedInvocations', '^ScheduleDeadLetters']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(queue), 'QueueName'] } },
          ],
          Threshold: 1,
        });
      }
    });

    it('alarms when windows were left for the next run in three runs in a row (the detector is not keeping up)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EgressSpikeDetector',
        MetricName: 'WindowsBehind',
        Statistic: 'Minimum',
        Period: 3600,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        AlarmDescription: Match.stringLikeRegexp('maxCatchUpWindows'),
      });
    });

    it('alarms when a baseline bucket reaches 90% of the size it may grow to, naming baselineBuckets', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EgressSpikeDetector',
        MetricName: 'BaselineBucketFill',
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 90,
        TreatMissingData: 'ignore',
        AlarmDescription: Match.stringLikeRegexp('baselineBuckets'),
      });
    });

    it('passes the deployment setting baselineBuckets to the function', () => {
      const larger = synthTemplate({ ...EXISTING, baselineBuckets: 4096 });
      larger.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ BASELINE_BUCKETS: '4096' }) },
      });
      expect(loadRuntimeConfig(deployedEnvironment(larger)).baselineBuckets).toBe(4096);
    });

    it('alarms when a record arrived later than the lag after its start (the longest delay over 20 minutes)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EgressSpikeDetector',
        MetricName: 'MaxDeliveryDelay',
        Dimensions: [{ Name: 'service', Value: 'egress-spike-detector' }],
        Statistic: 'Maximum',
        Period: 3600,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 20 * 60,
        TreatMissingData: 'notBreaching',
      });
    });

    it('alarms on any window skipped after failing on every try (or on request)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EgressSpikeDetector',
        MetricName: 'WindowsSkipped',
        Statistic: 'Sum',
        Period: 3600,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      });
    });

    it('alarms while alerts parked after SNS refused them wait for republish-parked, naming that mode', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EgressSpikeDetector',
        MetricName: 'AlertsParked',
        Statistic: 'Maximum',
        Period: 3600,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        // A run that could not count leaves the alarm's state as it was.
        TreatMissingData: 'ignore',
        AlarmDescription: Match.stringLikeRegexp('republish-parked'),
      });
    });

    it('alarms when a format check finds records that do not have the configured flow log format', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EgressSpikeDetector',
        MetricName: 'RecordsNotInFormat',
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        // A check runs once a day: the alarm keeps its state until the next one's answer.
        TreatMissingData: 'ignore',
        AlarmDescription: Match.stringLikeRegexp('flowLogFormat'),
      });
    });

    it('draws a dashboard of the detector metrics and the run duration', () => {
      const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
      expect(Object.keys(dashboards)).toHaveLength(1);
      const body = JSON.stringify(Object.values(dashboards)[0]);
      for (const name of [
        'Spikes',
        'AlertsPublished',
        'SourcesEvaluated',
        'BytesScanned',
        'RunSucceeded',
        'MaxDeliveryDelay',
        'WindowsSkipped',
        'AlertsParked',
      ]) {
        expect(DETECTOR_METRICS).toContain(name);
        expect(body).toContain(
          `\\"EgressSpikeDetector\\",\\"${name}\\",\\"service\\",\\"egress-spike-detector\\"`,
        );
      }
      expect(body).toContain('\\"AWS/Lambda\\",\\"Duration\\"');
    });

    it.each([
      ['eu-west-1', 'aws', 'https://console.aws.amazon.com'],
      ['cn-north-1', 'aws-cn', 'https://console.amazonaws.cn'],
      ['us-gov-west-1', 'aws-us-gov', 'https://console.amazonaws-us-gov.com'],
      // No console of its own known: the commercial host, and the deploy does not fail on it.
      ['us-iso-east-1', 'aws-iso', 'https://console.aws.amazon.com'],
    ])("links the dashboard in %s's console (partition %s: %s)", (region, partition, origin) => {
      // The partition is known at deploy time: the output picks the console by conditions on it.
      const [stack] = buildApp({ ...EXISTING, regions: [region] }).stacks;
      const json = Template.fromStack(stack!).toJSON() as {
        Outputs: Record<string, { Value: unknown }>;
        Conditions: Record<string, { 'Fn::Equals': [unknown, string] }>;
      };
      const deployed = (value: unknown): string => {
        if (typeof value === 'string') return value;
        const v = value as Record<string, unknown>;
        if ('Fn::Join' in v) {
          const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
          return parts.map(deployed).join(separator);
        }
        if ('Fn::If' in v) {
          const [condition, then, otherwise] = v['Fn::If'] as [string, unknown, unknown];
          const [left, right] = json.Conditions[condition]!['Fn::Equals'];
          expect(left).toEqual({ Ref: 'AWS::Partition' });
          return deployed(right === partition ? then : otherwise);
        }
        throw new Error(`not deployed here: ${JSON.stringify(value)}`);
      };
      expect(deployed(json.Outputs.DashboardUrl!.Value)).toBe(
        `${origin}/cloudwatch/home?region=${region}#dashboards/dashboard/EgressSpikeDetector-${region}-detector`,
      );
    });

    it('creates no flow logs and no VPC resources when the log groups exist', () => {
      template.resourceCountIs('AWS::EC2::FlowLog', 0);
      template.resourceCountIs('AWS::EC2::VPC', 0);
    });

    it('outputs the topic, table, function, its role, dashboard URL and the test-alert command', () => {
      template.hasOutput('AlertTopicArn', { Value: { Ref: Match.stringLikeRegexp('^AlertingAlertTopic') } });
      template.hasOutput('TableName', { Value: { Ref: Match.stringLikeRegexp('^StateTable') } });
      template.hasOutput('FunctionName', { Value: { Ref: Match.stringLikeRegexp('^DetectorFunction') } });
      template.hasOutput('DetectorRoleArn', {
        Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DetectorRole'), 'Arn'] },
      });
      const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(JSON.stringify(outputs.DashboardUrl?.Value)).toContain(
        '#dashboards/dashboard/EgressSpikeDetector-detector',
      );
      const command = JSON.stringify(outputs.TestAlertCommand?.Value);
      expect(command).toContain('aws lambda invoke --region ');
      expect(command).toContain(
        `--cli-binary-format raw-in-base64-out --payload '{\\"mode\\":\\"test-alert\\"}' /dev/stdout`,
      );
    });
  });

  describe('with VPC flow logs created by the stack', () => {
    const template = synthTemplate({ ...CREATED, detectorConfig: { windowMinutes: 15, lagMinutes: 5 } });

    it('creates a 1-minute REJECT flow log per VPC into one log group with retention', () => {
      template.resourceCountIs('AWS::EC2::FlowLog', 2);
      for (const vpcId of CREATED.vpcIds) {
        template.hasResourceProperties('AWS::EC2::FlowLog', {
          ResourceType: 'VPC',
          ResourceId: vpcId,
          TrafficType: 'REJECT',
          MaxAggregationInterval: 60,
          LogDestinationType: 'cloud-watch-logs',
          LogGroupName: { Ref: Match.stringLikeRegexp('^FlowLogSourceFlowLogGroup') },
          DeliverLogsPermissionArn: {
            'Fn::GetAtt': [Match.stringLikeRegexp('^FlowLogSourceDeliveryRole'), 'Arn'],
          },
          LogFormat: Match.absent(),
        });
      }
      template.hasResource('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: 30 },
        DeletionPolicy: 'Retain',
      });
    });

    it('lets only VPC Flow Logs of this account write the group', () => {
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ],
        },
      });
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^FlowLogSourceDeliveryRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FlowLogSourceFlowLogGroup'), 'Arn'] },
            }),
          ]),
        },
      });
    });

    it("passes the created group and the detector config to the runtime's parser", () => {
      const config = loadRuntimeConfig(deployedEnvironment(template));
      expect(config.logGroupIdentifiers).toEqual(['EgressSpikeDetector-FlowLogGroup-Cd34']);
      expect(config.detector).toMatchObject({ windowMinutes: 15, lagMinutes: 5 });
    });

    it('queries the created group and grants StartQuery on it', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            LOG_GROUP_IDENTIFIERS: { Ref: Match.stringLikeRegexp('^FlowLogSourceFlowLogGroup') },
          }),
        },
      });
      const startQuery = detectorStatements(template).filter((s) => actionsOf(s).includes('logs:StartQuery'));
      expect(JSON.stringify(startQuery)).toMatch(
        /:log-group:",\{"Ref":"FlowLogSourceFlowLogGroup\w+"\}\]\]\}/,
      );
    });

    it('follows the window: every 15 minutes, 7 minutes after each close, heartbeat per window', () => {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(7,22,37,52 * * * ? *)',
        Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 900 } }),
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunSucceeded', Period: 900 });
    });

    it('runs 12 minutes past the hour for its own 1-minute flow logs when no lag is set (lag 10 + margin 2)', () => {
      // Prepare
      const own = synthTemplate(CREATED);

      // Act
      const config = loadRuntimeConfig(deployedEnvironment(own));

      // Assess
      own.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(12 * * * ? *)' });
      expect(config.detector.lagMinutes).toBe(10);
    });

    it('writes the custom flow log format of the detector config into the created flow logs', () => {
      const custom = synthTemplate({
        ...CREATED,
        detectorConfig: { flowLogFormat: 'version srcaddr dstaddr action start log-status' },
      });
      custom.hasResourceProperties('AWS::EC2::FlowLog', {
        LogFormat: '${version} ${srcaddr} ${dstaddr} ${action} ${start} ${log-status}',
      });
      custom.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            // The lag the stack sets for its own 1-minute flow logs comes with it.
            DETECTOR_CONFIG:
              '{"flowLogFormat":"version srcaddr dstaddr action start log-status","lagMinutes":10}',
          }),
        },
      });
    });
  });

  it('synthesizes without CDK warnings or errors', () => {
    const { stack } = buildApp({ ...EXISTING, ...CREATED, enrichWithEc2: true });
    const annotations = Annotations.fromStack(stack);
    annotations.hasNoWarning('*', Match.anyValue());
    annotations.hasNoError('*', Match.anyValue());
  });

  it("warns that a detector deployed with cdk.json's example group would fail every run", () => {
    const { stack } = buildApp({ flowLogGroups: [EXAMPLE_FLOW_LOG_GROUP] });
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp(
        "flowLogGroups holds cdk.json's example /vpc/flow-logs/example.*Set your own flow log groups",
      ),
    );
  });

  it('warns that member roles without organizationId may be assumed in any account, and not with it', () => {
    const member = {
      ...EXISTING,
      lookUpChangeCauses: true,
      memberRoleName: 'EgressSpikeDetectorMember',
      memberRoleExternalId: 'egress-spike-detector-7f3a',
    };
    const { stack } = buildApp(member);
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp(
        'memberRoleName without organizationId: the detector may assume EgressSpikeDetectorMember in any account.*Set organizationId',
      ),
    );
    const limited = buildApp({ ...member, organizationId: 'o-abcdefghij' }).stack;
    Annotations.fromStack(limited).hasNoWarning(
      '*',
      Match.stringLikeRegexp('memberRoleName without organizationId'),
    );
  });

  describe('options', () => {
    it('with enrichment, adds ec2:DescribeNetworkInterfaces and ec2:DescribeInstances (on "*", they cannot be scoped)', () => {
      const statements = detectorStatements(synthTemplate({ ...EXISTING, enrichWithEc2: true }));
      expect(statements.filter((s) => actionsOf(s).includes('ec2:DescribeNetworkInterfaces'))).toEqual([
        expect.objectContaining({
          Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeInstances'],
          Resource: '*',
        }),
      ]);
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('ec2:'))).toEqual([
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeInstances',
      ]);
    });

    it('with change causes, adds cloudtrail:LookupEvents and the EC2 Describe calls that relate changes (on "*", they cannot be scoped)', () => {
      const template = synthTemplate({ ...EXISTING, lookUpChangeCauses: true });
      const statements = detectorStatements(template);
      expect(statements.filter((s) => actionsOf(s).includes('cloudtrail:LookupEvents'))).toEqual([
        expect.objectContaining({
          Sid: 'LookUpChangeCauses',
          Effect: 'Allow',
          Action: [
            'cloudtrail:LookupEvents',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeNetworkAcls',
            'ec2:DescribeSecurityGroupRules',
          ],
          Resource: '*',
        }),
      ]);
      expect(CHANGE_CAUSE_ACTIONS.every((a) => /^(cloudtrail|ec2):(LookupEvents|Describe\w+)$/.test(a))).toBe(
        true,
      );
      // Nothing that writes, nothing else of CloudTrail or EC2.
      expect(
        statements
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('ec2:') || a.startsWith('cloudtrail:'))
          .sort(),
      ).toEqual([...CHANGE_CAUSE_ACTIONS].sort());
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ LOOK_UP_CHANGE_CAUSES: 'true' }) },
      });
    });

    it('adds a Slack channel with a notifications-only role, a read-only guardrail and its delivery errors logged', () => {
      const template = synthTemplate({
        ...EXISTING,
        slackWorkspaceId: 'T0123ABCD',
        slackChannelId: 'C0123ABCD',
      });
      template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
        SlackWorkspaceId: 'T0123ABCD',
        SlackChannelId: 'C0123ABCD',
        SnsTopicArns: [{ Ref: Match.stringLikeRegexp('^AlertingAlertTopic') }],
        GuardrailPolicies: [
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/CloudWatchReadOnlyAccess'],
            ],
          },
        ],
        IamRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertingChatbotRole'), 'Arn'] },
        // Chatbot drops a notification it cannot deliver or read without a word; at ERROR it logs why.
        LoggingLevel: 'ERROR',
      });
      // the channel role has no policies at all
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'chatbot.amazonaws.com' } })],
        },
        ManagedPolicyArns: Match.absent(),
        Policies: Match.absent(),
      });
      expect(
        template.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^AlertingChatbotRole') }] },
        }),
      ).toEqual({});
    });

    it('sends alarms to a separate operations topic when operationsEmails is set', () => {
      const template = synthTemplate({ ...EXISTING, operationsEmails: ['ops@example.com'] });
      template.resourceCountIs('AWS::SNS::Topic', 2);
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
        TopicArn: { Ref: Match.stringLikeRegexp('^AlertingOperationsTopic') },
      });
      template.allResourcesProperties('AWS::CloudWatch::Alarm', {
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertingOperationsTopic') }],
      });
      template.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      template.hasOutput('OperationsTopicArn', {
        Value: { Ref: Match.stringLikeRegexp('^AlertingOperationsTopic') },
      });
    });

    it('sends alarms to an existing topic when operationsTopicArn is set', () => {
      const arn = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
      const template = synthTemplate({ ...EXISTING, operationsTopicArn: arn });
      template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [arn] });
      // Only a topic the stack creates is output.
      expect(template.findOutputs('OperationsTopicArn')).toEqual({});
    });

    it('relaxes deletion protection and retention for test stacks (retainData=false)', () => {
      const template = synthTemplate({ ...CREATED, retainData: 'false' });
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: { DeletionProtectionEnabled: false },
        DeletionPolicy: 'Delete',
      });
      expect(
        Object.values(template.findResources('AWS::Logs::LogGroup')).map(
          (r) => (r as { DeletionPolicy: string }).DeletionPolicy,
        ),
      ).toEqual(['Delete', 'Delete']);
    });

    it("queries a flow log group given as an ARN ending in ':*' by the ARN StartQuery takes, once", () => {
      // Prepare: the console's form of an ARN, the same group without it, and a name
      const arn = 'arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/flow-logs/shared';
      const template = synthTemplate({ flowLogGroups: [`${arn}:*`, arn, '/vpc/flow-logs/prod'] });

      // Act
      const environment = deployedEnvironment(template);

      // Assess
      expect(environment.LOG_GROUP_IDENTIFIERS).toBe(`${arn},/vpc/flow-logs/prod`);
      // Deployed in the ARN's Region (Lambda sets AWS_REGION): an ARN of another Region is refused.
      expect(loadRuntimeConfig({ ...environment, AWS_REGION: 'eu-west-1' }).logGroupIdentifiers).toEqual([
        arn,
        '/vpc/flow-logs/prod',
      ]);
      const startQuery = detectorStatements(template).filter((s) => actionsOf(s).includes('logs:StartQuery'));
      expect(JSON.stringify(startQuery).split(`${arn}:*`)).toHaveLength(2);
    });

    it('passes the detector config from context to DETECTOR_CONFIG unchanged', () => {
      const detectorConfig = { preset: 'splunk-escu', internalCidrs: ['10.0.0.0/8', 'fd00::/8'] };
      synthTemplate({ ...EXISTING, detectorConfig }).hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ DETECTOR_CONFIG: JSON.stringify(detectorConfig) }) },
      });
    });

    it('fails synth with a clear message when the detector config in context is invalid', () => {
      expect(() => buildApp({ ...EXISTING, detectorConfig: { windowMinutes: 7 } })).toThrow(
        /invalid CDK context:\ncontext\.detectorConfig\.windowMinutes: must divide a day/,
      );
    });

    it("fails synth when the environment would not fit Lambda's 4 KB", () => {
      // (Names of 100 accounts: CIDR lists that long would not fit one query first.)
      const accountNames = Object.fromEntries(
        Array.from({ length: 100 }, (_, i) => [String(100000000000 + i), `payments-production-${i}`]),
      );
      expect(() => buildApp({ ...EXISTING, detectorConfig: { accountNames } })).toThrow(
        /over Lambda's 4 KB limit/,
      );
    });
  });
});

describe('the table permissions', () => {
  it('are exactly the DynamoDB calls the store makes (least privilege: none unused, none missing)', () => {
    // The commands the store imports from the SDK, each one call of its name.
    const source = readFileSync(join(__dirname, '../../lambda/adapters/dynamo-baseline-store.ts'), 'utf8');
    const imports = /import \{([^}]*)\} from '@aws-sdk\/client-dynamodb';/.exec(source)?.[1] ?? '';
    const calls = [...imports.matchAll(/\b(\w+)Command\b/g)].map(([, name]) => `dynamodb:${name}`);
    expect(calls.length).toBeGreaterThan(0);
    expect([...TABLE_ACTIONS].sort()).toEqual(calls.sort());
  });
});

describe('EgressSpikeDetectorStack with the Athena source', () => {
  /** The table fingerprint the stack tells the function, for a deployment context. */
  const fingerprint = (context: Record<string, unknown>) =>
    deployedEnvironment(synthTemplate(context)).ATHENA_TABLE_FINGERPRINT;

  const ATHENA_S3 = {
    flowSource: 'athena',
    flowLogBucket: 'org-flow-logs',
    flowLogPrefix: 'vpc',
    flowLogFileFormat: 'parquet',
    flowLogHourlyPartitions: true,
  };

  it('creates an enforced workgroup with the cutoff, encrypted expiring results and a projected Glue table, and tells the function', () => {
    const template = synthTemplate(ATHENA_S3);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10_240_000_000,
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }),
      }),
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Parameters: Match.objectLike({ 'projection.enabled': 'true', 'projection.hour.type': 'integer' }),
      }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FLOW_SOURCE: 'athena',
          ATHENA_TABLE: 'vpc_flow_logs',
          ATHENA_HOURLY_PARTITIONS: 'true',
        }),
      },
    });
  });

  it("tells the function a fingerprint of the table's definition: the same for the same table, another when what it reads changes", () => {
    // Act
    const first = fingerprint(ATHENA_S3);

    // Assess: a bootstrap reads a kept history query again only on the table it ran on
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint(ATHENA_S3)).toBe(first);
    expect(fingerprint({ ...ATHENA_S3, flowLogPrefix: 'mended' })).not.toBe(first);
    expect(fingerprint({ ...ATHENA_S3, flowLogAccounts: ['111122223333', '444455556666'] })).not.toBe(first);
    expect(fingerprint({ ...ATHENA_S3, flowLogFileFormat: 'plain-text' })).not.toBe(first);
    expect(
      loadRuntimeConfig({ ...deployedEnvironment(synthTemplate(ATHENA_S3)), AWS_REGION: 'us-east-1' }).athena
        ?.tableFingerprint,
    ).toBe(first);
  });

  it('grants S3 reads under the flow log prefix only, and no Logs Insights permission', () => {
    const statements = detectorStatements(synthTemplate(ATHENA_S3));
    const objects = statements.find((s) => s.Sid === 'FlowLogObjects');
    expect(JSON.stringify(objects?.Resource)).toContain('org-flow-logs/vpc/AWSLogs/*');
    expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('logs:StartQuery'))).toEqual([]);
  });

  it("gives the detector's role a fixed name, which a bucket or key policy in another account can name", () => {
    // Act
    const athena = synthTemplate(ATHENA_S3);
    const logs = synthTemplate(EXISTING);

    // Assess: with Logs Insights alone the name stays CloudFormation's
    const roleNames = (template: Template) =>
      Object.values(template.findResources('AWS::IAM::Role'))
        .map((role) => (role as { Properties: { RoleName?: unknown } }).Properties.RoleName)
        .filter((name) => name !== undefined);
    expect(roleNames(athena)).toEqual(['EgressSpikeDetector-detector']);
    expect(roleNames(logs)).toEqual([]);
  });

  it('has no LateRecords alarm or delivery-delay graph: S3 holds no ingestion time, so the metric is never emitted', () => {
    // Act
    const athena = synthTemplate(ATHENA_S3);
    const logs = synthTemplate(EXISTING);

    // Assess: every other alarm as with Logs Insights
    const alarms = (template: Template) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
        (alarm) => (alarm as { Properties: { MetricName?: string } }).Properties.MetricName,
      );
    expect(alarms(logs)).toContain('MaxDeliveryDelay');
    expect(alarms(athena)).not.toContain('MaxDeliveryDelay');
    expect(alarms(athena)).toHaveLength(alarms(logs).length - 1);
    const dashboard = JSON.stringify(athena.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard).not.toContain('MaxDeliveryDelay');
    expect(dashboard).toContain('BytesScanned');
  });

  it("writes a * in the flow log prefix as IAM's literal asterisk, so the grants cover that prefix only", () => {
    // Act
    const statements = detectorStatements(synthTemplate({ ...ATHENA_S3, flowLogPrefix: 'vpc/team*' }));

    // Assess
    const objects = statements.find((s) => s.Sid === 'FlowLogObjects');
    expect(JSON.stringify(objects?.Resource)).toContain('org-flow-logs/vpc/team${*}/AWSLogs/*');
    expect(statements.find((s) => s.Sid === 'FlowLogBucket')?.Condition).toEqual({
      StringLike: { 's3:prefix': ['vpc/team${*}/AWSLogs/*'] },
    });
  });

  it("allows GetBucketLocation without the list-only prefix condition, and decrypts through S3 of the key's Region", () => {
    // Prepare: a central bucket in eu-west-1, its objects under a key there, this detector elsewhere.
    const statements = detectorStatements(
      synthTemplate({
        ...ATHENA_S3,
        flowLogKmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/0f2b3c4d-1111-2222-3333-444455556666',
      }),
    );

    // Assess: s3:prefix is present on list requests only, so GetBucketLocation stands alone.
    const location = statements.find((s) => actionsOf(s).includes('s3:GetBucketLocation'));
    expect(location?.Condition).toBeUndefined();
    expect(statements.find((s) => s.Sid === 'FlowLogBucket')?.Condition).toEqual({
      StringLike: { 's3:prefix': ['vpc/AWSLogs/*'] },
    });
    expect(statements.find((s) => s.Sid === 'FlowLogKey')?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
    });
  });

  it("reads Security Lake's table through Lake Formation: no Glue table created, no S3 grant on the lake", () => {
    const template = synthTemplate({
      flowSource: 'athena',
      securityLakeDatabase: 'amazon_security_lake_glue_db_eu_west_1',
      securityLakeTable: 'amazon_security_lake_table_eu_west_1_vpc_flow_2_0',
    });
    template.resourceCountIs('AWS::Glue::Table', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ATHENA_TABLE_KIND: 'security-lake',
          ATHENA_TABLE: 'amazon_security_lake_table_eu_west_1_vpc_flow_2_0',
        }),
      },
    });
    const statements = detectorStatements(template);
    expect(statements.find((s) => s.Sid === 'LakeFormationData')).toBeDefined();
    expect(statements.find((s) => s.Sid === 'FlowLogObjects')).toBeUndefined();
  });

  it('grants the Glue reads of the one table, with its partitions for Security Lake only (the S3 table projects them)', () => {
    const SECURITY_LAKE = {
      flowSource: 'athena',
      securityLakeDatabase: 'amazon_security_lake_glue_db_eu_west_1',
      securityLakeTable: 'amazon_security_lake_table_eu_west_1_vpc_flow_2_0',
    };
    const glueGrants = (context: Record<string, unknown>) =>
      detectorStatements(synthTemplate(context))
        .filter((s) => actionsOf(s).some((a) => a.startsWith('glue:')))
        .map((s) => ({ actions: actionsOf(s).sort(), resources: JSON.stringify(s.Resource) }));
    const arns = (database: string, table: string) => [
      ':catalog"',
      `:database/${database}"`,
      `:table/${database}/${table}"`,
    ];

    const s3 = glueGrants(ATHENA_S3);
    expect(s3.map((g) => g.actions)).toEqual([['glue:GetDatabase', 'glue:GetTable']]);
    for (const arn of arns('egressspikedetector_flow_logs', 'vpc_flow_logs'))
      expect(s3[0]!.resources).toContain(arn);

    const lake = glueGrants(SECURITY_LAKE);
    expect(lake.map((g) => g.actions)).toEqual([
      [
        'glue:BatchGetPartition',
        'glue:GetDatabase',
        'glue:GetPartition',
        'glue:GetPartitions',
        'glue:GetTable',
      ],
    ]);
    for (const arn of arns(SECURITY_LAKE.securityLakeDatabase, SECURITY_LAKE.securityLakeTable))
      expect(lake[0]!.resources).toContain(arn);
    expect(JSON.parse(lake[0]!.resources)).toHaveLength(3);
  });

  it("grants the same Glue reads on a resource link's target, the shared table in the Security Lake account", () => {
    // Act: the stack in a query subscriber's account, reading through its resource links
    const grants = detectorStatements(
      synthTemplate({
        flowSource: 'athena',
        securityLakeDatabase: 'security_lake_link',
        securityLakeTable: 'vpc_flow_link',
        securityLakeTargetAccount: '444455556666',
        securityLakeTargetDatabase: 'amazon_security_lake_glue_db_eu_west_1',
        securityLakeTargetTable: 'amazon_security_lake_table_eu_west_1_vpc_flow_2_0',
      }),
    ).filter((s) => actionsOf(s).some((a) => a.startsWith('glue:')));

    // Assess: the links in this account's catalog, and the target in the other account's
    expect(grants).toHaveLength(1);
    const resources = JSON.stringify(grants[0]!.Resource);
    expect(JSON.parse(resources)).toHaveLength(6);
    expect(resources).toContain(':table/security_lake_link/vpc_flow_link"');
    expect(resources).toContain(':444455556666:catalog"');
    expect(resources).toContain(':444455556666:database/amazon_security_lake_glue_db_eu_west_1"');
    expect(resources).toContain(
      ':444455556666:table/amazon_security_lake_glue_db_eu_west_1/amazon_security_lake_table_eu_west_1_vpc_flow_2_0"',
    );
  });

  it("tells the function a fingerprint of which Security Lake table it reads: another when the resource link's target changes", () => {
    const lake = {
      flowSource: 'athena',
      securityLakeDatabase: 'security_lake_link',
      securityLakeTable: 'vpc_flow_link',
    };
    const link = {
      ...lake,
      securityLakeTargetAccount: '444455556666',
      securityLakeTargetDatabase: 'amazon_security_lake_glue_db_eu_west_1',
      securityLakeTargetTable: 'amazon_security_lake_table_eu_west_1_vpc_flow_2_0',
    };
    const first = fingerprint(link);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint(link)).toBe(first);
    expect(fingerprint({ ...link, securityLakeTargetAccount: '777788889999' })).not.toBe(first);
    expect(fingerprint(lake)).not.toBe(first);
  });

  it('refuses a resource link target named in part, or without Security Lake', () => {
    const link = {
      flowSource: 'athena',
      securityLakeDatabase: 'security_lake_link',
      securityLakeTable: 'vpc_flow_link',
    };
    expect(() => synthTemplate({ ...link, securityLakeTargetAccount: '444455556666' })).toThrow(
      "a Security Lake resource link's target needs securityLakeTargetAccount, securityLakeTargetDatabase and securityLakeTargetTable",
    );
    expect(() =>
      synthTemplate({
        ...ATHENA_S3,
        securityLakeTargetAccount: '444455556666',
        securityLakeTargetDatabase: 'db',
        securityLakeTargetTable: 'table',
      }),
    ).toThrow('securityLakeTarget* name the table a Security Lake resource link points to');
    expect(() =>
      synthTemplate({
        ...link,
        securityLakeTargetAccount: '4444',
        securityLakeTargetDatabase: 'db',
        securityLakeTargetTable: 't',
      }),
    ).toThrow('not a 12-digit account id');
  });

  it("refuses change causes with flow logs of several Regions (causes are looked up in the stack's Region only)", () => {
    expect(() =>
      buildApp({ ...ATHENA_S3, flowLogRegions: ['us-east-1', 'eu-west-1'], lookUpChangeCauses: true }),
    ).toThrow(
      /context\.lookUpChangeCauses: lookUpChangeCauses looks changes up in the detector's own Region only, but flowLogRegions \(us-east-1, eu-west-1\) has flow logs of several Regions/,
    );
    expect(() =>
      buildApp({
        ...ATHENA_S3,
        regions: ['us-east-1'],
        flowLogRegions: ['eu-west-1'],
        lookUpChangeCauses: true,
      }),
    ).toThrow(/flowLogRegions \(eu-west-1\) has flow logs of another Region than the stack's/);
    // Each alone, or one Region that is the stack's, is fine; the function is told the Regions.
    const oneRegion = synthTemplate({
      ...ATHENA_S3,
      regions: ['eu-west-1'],
      flowLogRegions: ['eu-west-1'],
      lookUpChangeCauses: true,
    });
    oneRegion.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ATHENA_FLOW_LOG_REGIONS: 'eu-west-1', LOOK_UP_CHANGE_CAUSES: 'true' }),
      },
    });
    const withVpc = {
      flowLogFormat:
        'version account-id vpc-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    };
    const severalRegions = synthTemplate({
      ...ATHENA_S3,
      flowLogRegions: ['us-east-1', 'eu-west-1'],
      detectorConfig: withVpc,
    });
    const environment = deployedEnvironment(severalRegions);
    expect(environment.ATHENA_FLOW_LOG_REGIONS).toBe('us-east-1,eu-west-1');
    expect(loadRuntimeConfig({ ...environment, AWS_REGION: 'us-east-1' }).lookUpChangeCauses).toBe(false);
  });

  it("refuses several flowLogRegions in a format without vpc-id (one account's address in two Regions would be one source)", () => {
    expect(() => buildApp({ ...ATHENA_S3, flowLogRegions: ['us-east-1', 'eu-west-1'] })).toThrow(
      /context\.flowLogRegions: the flow logs of us-east-1, eu-west-1 in a format without vpc-id would count one account's address in two Regions/,
    );
  });

  it("refuses CIDR lists too long for one Logs Insights query with the Logs Insights source, not with Athena's", () => {
    const internalCidrs = Array.from({ length: 150 }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`);
    expect(() => buildApp({ flowLogGroups: ['/vpc/flow-logs'], detectorConfig: { internalCidrs } })).toThrow(
      /context\.detectorConfig: count query would be \d+ characters, over the Logs Insights limit of 10000/,
    );
    expect(() => buildApp({ ...ATHENA_S3, detectorConfig: { internalCidrs } })).not.toThrow();
  });

  it('refuses athena without a bucket or a Security Lake table', () => {
    expect(() => buildApp({ flowSource: 'athena' })).toThrow(/flowLogBucket/);
  });
});
