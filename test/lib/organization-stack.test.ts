/**
 * The stack in a monitoring account (flow log groups by prefix in linked source accounts, the
 * member-account role) and across several Regions (one stack each, a topic each or one central
 * topic): the environment, the IAM it gets and the wiring between the Regions' stacks.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadRuntimeConfig } from '../../lambda/runtime-config';
import { buildApp, synthTemplate } from './synth';

type Statement = {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

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

function environmentOf(template: Template): Record<string, unknown> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  }[];
  return fn!.Properties.Environment.Variables;
}

/** The literal variables, with the tokens as a deployment would fill them in. */
function deployed(variables: Record<string, unknown>): Record<string, string> {
  const fill = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
    if (v['Fn::Join'] !== undefined) return v['Fn::Join'][1].map(fill).join(v['Fn::Join'][0]);
    if (v.Ref === 'AWS::AccountId') return '111111111111';
    if (v.Ref === 'AWS::Partition') return 'aws';
    if (v.Ref?.startsWith('StateTable')) return 'EgressSpikeDetector-StateTable-1A2B';
    if (v.Ref?.startsWith('AlertingAlertTopic')) return 'arn:aws:sns:eu-west-1:111111111111:alerts';
    throw new Error(`no deployed value for ${JSON.stringify(value)}`);
  };
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, fill(v)]));
}

const MONITORING = {
  accountMode: 'monitoring-account',
  flowLogGroupPrefixes: ['/vpc/flow-logs/'],
  memberRoleName: 'EgressSpikeDetectorMember',
  memberRoleExternalId: 'egress-spike-detector',
  organizationId: 'o-abcdefghij',
  enrichWithEc2: true,
};

describe('the stack in a monitoring account', () => {
  const template = synthTemplate(MONITORING);
  const statements = detectorStatements(template);
  const bySid = (sid: string) => statements.find((s) => s.Sid === sid);

  it('finds the flow log groups by prefix in linked accounts at each run, and assumes the member role', () => {
    const variables = environmentOf(template);
    expect(variables).toMatchObject({
      LOG_GROUP_IDENTIFIERS: '',
      LOG_GROUP_PREFIXES: '/vpc/flow-logs/',
      INCLUDE_LINKED_ACCOUNTS: 'true',
      ACCOUNT_ID: { Ref: 'AWS::AccountId' },
      MEMBER_ROLE_NAME: 'EgressSpikeDetectorMember',
      MEMBER_ROLE_EXTERNAL_ID: 'egress-spike-detector',
    });
    const config = loadRuntimeConfig(deployed(variables));
    expect(config).toMatchObject({
      logGroupIdentifiers: [],
      logGroupPrefixes: ['/vpc/flow-logs/'],
      includeLinkedAccounts: true,
      accountId: '111111111111',
      memberRole: { name: 'EgressSpikeDetectorMember', externalId: 'egress-spike-detector' },
    });
  });

  it('may query only groups named by the prefix, in any (linked) account of its Region, and list log groups', () => {
    expect(bySid('QueryFlowLogGroupsByPrefix')).toMatchObject({
      Action: 'logs:StartQuery',
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':logs:',
            { Ref: 'AWS::Region' },
            ':*:log-group:/vpc/flow-logs/*',
          ],
        ],
      },
    });
    expect(bySid('QueryFlowLogGroups')).toBeUndefined();
    expect(bySid('DiscoverFlowLogGroups')).toMatchObject({ Action: 'logs:DescribeLogGroups', Resource: '*' });
  });

  it('may assume only the member role name, in accounts of the Organization, under a fixed role name of its own', () => {
    expect(bySid('AssumeMemberAccountRole')).toMatchObject({
      Action: 'sts:AssumeRole',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/EgressSpikeDetectorMember']],
      },
      Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-abcdefghij' } },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'EgressSpikeDetector-detector',
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      },
    });
    const wildcard = statements.filter((s) => s.Resource === '*').flatMap((s) => [s.Action].flat());
    expect(wildcard.sort()).toEqual([
      'ec2:DescribeInstances',
      'ec2:DescribeNetworkInterfaces',
      'logs:DescribeLogGroups',
      'logs:GetQueryResults',
      'logs:StopQuery',
    ]);
  });

  it('in single-account mode queries the prefix in its own account only, with a generated role name', () => {
    const single = synthTemplate({ flowLogGroupPrefixes: ['/vpc/flow-logs/'] });
    const query = detectorStatements(single).find((s) => s.Sid === 'QueryFlowLogGroupsByPrefix');
    expect(query?.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':logs:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':log-group:/vpc/flow-logs/*',
        ],
      ],
    });
    expect(environmentOf(single)).toMatchObject({ INCLUDE_LINKED_ACCOUNTS: 'false', MEMBER_ROLE_NAME: '' });
    expect(detectorStatements(single).some((s) => [s.Action].flat().includes('sts:AssumeRole'))).toBe(false);
    single.hasResourceProperties('AWS::IAM::Role', {
      RoleName: Match.absent(),
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      },
    });
  });
});

describe('several Regions', () => {
  const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2'];

  it('deploys one stack per Region, each with its own topic, subscriptions and alarms', () => {
    const { stacks } = buildApp({
      flowLogGroups: ['/vpc/flow-logs/prod'],
      regions: REGIONS,
      alertEmails: ['sec@example.com'],
    });
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual(
      REGIONS.map((region) => [`EgressSpikeDetector-${region}`, region]),
    );
    for (const stack of stacks) {
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SNS::Topic', 1);
      template.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'sec@example.com' });
      expect(environmentOf(template).TOPIC_ARN).toEqual({
        Ref: expect.stringMatching(/^AlertingAlertTopic/),
      });
      expect(stack.dependencies).toEqual([]);
    }
  });

  it('publishes every Region to one central topic; the others deploy after it and alarm on a topic of their own', () => {
    const { stacks, stack: home } = buildApp({
      accountMode: 'monitoring-account',
      flowLogGroupPrefixes: ['/vpc/flow-logs/'],
      regions: REGIONS,
      alertTopicRegion: 'us-east-1',
      alertEmails: ['sec@example.com'],
      slackWorkspaceId: 'T0123ABCD',
      slackChannelId: 'C0123ABCD',
    });
    expect(home.region).toBe('us-east-1');
    const homeTemplate = Template.fromStack(home);
    homeTemplate.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'EgressSpikeDetector-alerts' });
    homeTemplate.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 1);

    for (const stack of stacks.filter((s) => s !== home)) {
      expect(stack.dependencies).toEqual([home]);
      const template = Template.fromStack(stack);
      // No alert topic, no Slack here: only the operations topic its alarms notify, for the alert emails.
      template.resourceCountIs('AWS::SNS::Topic', 1);
      template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Egress spike detector operations' });
      template.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'sec@example.com' });
      template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
      const topicArn = {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':sns:us-east-1:',
            { Ref: 'AWS::AccountId' },
            ':EgressSpikeDetector-alerts',
          ],
        ],
      };
      expect(environmentOf(template).TOPIC_ARN).toEqual(topicArn);
      const statements = detectorStatements(template);
      expect(statements.find((s) => [s.Action].flat().includes('sns:Publish'))?.Resource).toEqual(topicArn);
      expect(statements.find((s) => s.Sid === 'EncryptForCentralAlertTopic')).toMatchObject({
        Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        Resource: {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':kms:us-east-1:', { Ref: 'AWS::AccountId' }, ':key/*'],
          ],
        },
        Condition: {
          StringEquals: {
            'kms:ViaService': 'sns.us-east-1.amazonaws.com',
            'kms:EncryptionContext:aws:sns:topicArn': topicArn,
          },
        },
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertingOperationsTopic') }],
      });
      // Named, so its subscribers can be found (or more added) without the console.
      template.hasOutput('OperationsTopicArn', {
        Value: { Ref: Match.stringLikeRegexp('^AlertingOperationsTopic') },
      });
    }
    // The central Region's alarms notify the alert topic: no operations topic of its own.
    expect(homeTemplate.findOutputs('OperationsTopicArn')).toEqual({});
  });
});
