import {
  DeploymentContextError,
  deploymentTargets,
  EXAMPLE_FLOW_LOG_GROUP,
  parseDeploymentContext,
} from '../../lib/deployment-context';

const minimal = { flowLogGroups: ['/vpc/flow-logs'] };

function contextError(context: Record<string, unknown>): DeploymentContextError {
  try {
    parseDeploymentContext(context);
  } catch (error) {
    if (error instanceof DeploymentContextError) return error;
    throw error;
  }
  throw new Error('expected a DeploymentContextError');
}

describe('parseDeploymentContext', () => {
  it('fills in the documented defaults', () => {
    // Act
    const settings = parseDeploymentContext(minimal);
    // Assess
    expect(settings).toMatchObject({
      stackName: 'EgressSpikeDetector',
      flowLogGroups: ['/vpc/flow-logs'],
      vpcIds: [],
      flowLogTrafficType: 'REJECT',
      flowLogRetentionDays: 30,
      alertEmails: [],
      operationsEmails: [],
      enrichWithEc2: false,
      lookUpChangeCauses: false,
      baselineTtlDays: 90,
      baselineBuckets: 2048,
      functionMemoryMb: 1024,
      functionTimeoutSeconds: 900,
      functionLogRetentionDays: 90,
      scheduleMarginMinutes: 2,
      retainData: true,
      serviceName: 'egress-spike-detector',
      detectorConfigInput: {},
    });
    expect(settings.detectorConfig).toMatchObject({
      preset: 'recommended',
      windowMinutes: 60,
      lagMinutes: 20,
    });
  });

  it('sets a 10-minute lag when it only queries the 1-minute flow logs it creates, unless the user set one', () => {
    // Act
    const created = parseDeploymentContext({ vpcIds: ['vpc-12345678'] });
    const both = parseDeploymentContext({ vpcIds: ['vpc-12345678'], flowLogGroups: ['/vpc/old'] });
    const explicit = parseDeploymentContext({ vpcIds: ['vpc-12345678'], detectorConfig: { lagMinutes: 25 } });

    // Assess: the Lambda gets the lag the schedule is built from
    expect(created.detectorConfigInput).toEqual({ lagMinutes: 10 });
    expect(created.detectorConfig.lagMinutes).toBe(10);
    // An existing group may aggregate for 10 minutes: the default stays.
    expect(both.detectorConfigInput).toEqual({});
    expect(both.detectorConfig.lagMinutes).toBe(20);
    expect(explicit.detectorConfigInput).toEqual({ lagMinutes: 25 });
    expect(explicit.detectorConfig.lagMinutes).toBe(25);
  });

  it('reads -c strings: comma lists, JSON lists, booleans, numbers and JSON objects', () => {
    // Act: what `cdk -c key=value` hands the app
    const settings = parseDeploymentContext({
      flowLogGroups: '/vpc/a, arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/b',
      vpcIds: '["vpc-0123456789abcdef0","vpc-12345678"]',
      alertEmails: 'sec@example.com,ops@example.com',
      enrichWithEc2: 'true',
      lookUpChangeCauses: 'true',
      retainData: 'false',
      baselineTtlDays: '30',
      detectorConfig: '{"preset":"splunk-escu","windowMinutes":15}',
    });
    // Assess
    expect(settings.flowLogGroups).toEqual([
      '/vpc/a',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/b',
    ]);
    expect(settings.vpcIds).toEqual(['vpc-0123456789abcdef0', 'vpc-12345678']);
    expect(settings.alertEmails).toEqual(['sec@example.com', 'ops@example.com']);
    expect(settings.enrichWithEc2).toBe(true);
    expect(settings.lookUpChangeCauses).toBe(true);
    expect(settings.retainData).toBe(false);
    expect(settings.baselineTtlDays).toBe(30);
    expect(settings.detectorConfigInput).toEqual({ preset: 'splunk-escu', windowMinutes: 15 });
    expect(settings.detectorConfig).toMatchObject({
      preset: 'splunk-escu',
      windowMinutes: 15,
      minDataPoints: 5,
    });
  });

  it.each([
    [
      { ...minimal, detectorConfig: { windowMinutes: 7 } },
      'detectorConfig',
      /context\.detectorConfig\.windowMinutes: must divide a day/,
    ],
    [
      { ...minimal, detectorConfig: { internalCidrs: ['10.0.0.0/33'] } },
      'detectorConfig',
      /context\.detectorConfig\.internalCidrs\[0\]/,
    ],
    [
      { ...minimal, detectorConfig: { tresholds: 3 } },
      'detectorConfig',
      /context\.detectorConfig.*tresholds/,
    ],
    [{ ...minimal, detectorConfig: '{not json' }, 'detectorConfig', /context\.detectorConfig: /],
    [
      { ...minimal, alertEmails: 'not-an-address' },
      'alertEmails',
      /context\.alertEmails\[0\]: not an email address \(got "not-an-address"\)/,
    ],
    [
      { flowLogGroups: ['bad group name!'] },
      'flowLogGroups',
      /context\.flowLogGroups\[0\]: not a log group name or log group ARN/,
    ],
    [{ vpcIds: ['vpc-xyz'] }, 'vpcIds', /context\.vpcIds\[0\]: not a VPC ID/],
    [{ ...minimal, baselineBuckets: 0 }, 'baselineBuckets', /context\.baselineBuckets/],
    [{ ...minimal, baselineBuckets: 70_000 }, 'baselineBuckets', /context\.baselineBuckets/],
    [{ ...minimal, baselineBuckets: 2048.5 }, 'baselineBuckets', /context\.baselineBuckets/],
    [
      {},
      'flowLogGroups',
      /set flowLogGroups \(existing flow log groups\), flowLogGroupPrefixes \(groups found by name prefix\) or vpcIds/,
    ],
    [
      { ...minimal, slackWorkspaceId: 'T0123ABCD' },
      'slackChannelId',
      /Slack needs both slackWorkspaceId and slackChannelId/,
    ],
    [
      { ...minimal, flowLogRetentionDays: 10 },
      'flowLogRetentionDays',
      /must be one of the retention periods/,
    ],
    [
      { ...minimal, functionTimeoutSeconds: 901 },
      'functionTimeoutSeconds',
      /context\.functionTimeoutSeconds/,
    ],
    [{ ...minimal, retainData: 'yes' }, 'retainData', /context\.retainData/],
    [
      {
        ...minimal,
        operationsEmails: ['ops@example.com'],
        operationsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
      },
      'operationsEmails',
      /not both/,
    ],
    [
      { flowSource: 'athena', flowLogBucket: 'org-flow-logs', flowLogPrefix: 'vpc?' },
      'flowLogPrefix',
      /context\.flowLogPrefix: not an S3 prefix/,
    ],
  ])('rejects %j naming %s', (context, key, message) => {
    // Act
    const error = contextError(context);
    // Assess
    expect(error.keys).toContain(key);
    expect(error.message).toMatch(message);
  });

  it('takes a multi-Region KMS key (key/mrk-...) for the flow log objects', () => {
    const settings = parseDeploymentContext({
      flowSource: 'athena',
      flowLogBucket: 'org-flow-logs',
      flowLogKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab',
    });
    expect(settings.flowLogKmsKeyArn).toBe(
      'arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab',
    );
    expect(
      contextError({
        flowSource: 'athena',
        flowLogBucket: 'b-1',
        flowLogKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/mrk-12',
      }).keys,
    ).toEqual(['flowLogKmsKeyArn']);
  });

  it('rejects an unknown key (a typo) instead of silently using a default', () => {
    const error = contextError({ ...minimal, alertEmail: 'sec@example.com' });
    expect(error.keys).toEqual(['alertEmail']);
    expect(error.message).toMatch(/unknown context key\(s\): alertEmail/);
    expect(error.message).toMatch(/alertEmails/);
  });

  it("leaves CDK's own context keys alone", () => {
    const settings = parseDeploymentContext({
      ...minimal,
      '@aws-cdk/core:newStyleStackSynthesis': true,
      'aws:cdk:bundling-stacks': [],
      'cli-telemetry': false,
    });
    expect(settings.flowLogGroups).toEqual(['/vpc/flow-logs']);
  });

  it('takes more than 50 log groups: the detector queries them 50 at a time', () => {
    const groups = Array.from({ length: 60 }, (_, i) => `/vpc/group-${i}`);
    expect(
      parseDeploymentContext({ flowLogGroups: groups, vpcIds: ['vpc-12345678'] }).flowLogGroups,
    ).toHaveLength(60);
  });
});

describe('parseDeploymentContext: organization and Regions', () => {
  it('reads the monitoring-account mode, prefixes, member role, Regions and central topic', () => {
    const settings = parseDeploymentContext({
      accountMode: 'monitoring-account',
      flowLogGroupPrefixes: '/vpc/flow-logs/,/org/flows/',
      memberRoleName: 'EgressSpikeDetectorMember',
      memberRoleExternalId: 'egress-spike-detector',
      enrichWithEc2: 'true',
      monitoringAccountId: '111111111111',
      organizationId: 'o-abcdefghij',
      regions: 'eu-west-1,us-east-1',
      alertTopicRegion: 'eu-west-1',
      operationsEmails: 'ops@example.com',
    });
    expect(settings).toMatchObject({
      accountMode: 'monitoring-account',
      flowLogGroupPrefixes: ['/vpc/flow-logs/', '/org/flows/'],
      memberRoleName: 'EgressSpikeDetectorMember',
      memberRoleExternalId: 'egress-spike-detector',
      regions: ['eu-west-1', 'us-east-1'],
      alertTopicRegion: 'eu-west-1',
    });
    expect(deploymentTargets(settings)).toEqual([
      {
        stackName: 'EgressSpikeDetector-eu-west-1',
        region: 'eu-west-1',
        flowLogGroups: [],
        alertTopic: { kind: 'central', region: 'eu-west-1', home: true },
      },
      {
        stackName: 'EgressSpikeDetector-us-east-1',
        region: 'us-east-1',
        flowLogGroups: [],
        alertTopic: { kind: 'central', region: 'eu-west-1', home: false },
      },
    ]);
  });

  it('gives each Region the log group names and its own ARNs', () => {
    const arn = (region: string) => `arn:aws:logs:${region}:222222222222:log-group:/vpc/flows`;
    const settings = parseDeploymentContext({
      flowLogGroups: ['/vpc/flows', arn('eu-west-1'), arn('us-east-1')],
      regions: ['eu-west-1', 'us-east-1'],
    });
    expect(deploymentTargets(settings).map((t) => [t.stackName, t.flowLogGroups, t.alertTopic])).toEqual([
      ['EgressSpikeDetector-eu-west-1', ['/vpc/flows', arn('eu-west-1')], { kind: 'own' }],
      ['EgressSpikeDetector-us-east-1', ['/vpc/flows', arn('us-east-1')], { kind: 'own' }],
    ]);
    expect(deploymentTargets(parseDeploymentContext(minimal))).toEqual([
      {
        stackName: 'EgressSpikeDetector',
        region: undefined,
        flowLogGroups: ['/vpc/flow-logs'],
        alertTopic: { kind: 'own' },
      },
    ]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'a member role without external id',
      { ...minimal, memberRoleName: 'Member' },
      'memberRoleExternalId',
      /needs both memberRoleName and memberRoleExternalId/,
    ],
    [
      'a member role for no feature (neither enrichWithEc2 nor lookUpChangeCauses)',
      { ...minimal, memberRoleName: 'Member', memberRoleExternalId: 'ext-id' },
      'memberRoleName',
      /context\.memberRoleName: the member role gives the detector context in other accounts for enrichWithEc2 or lookUpChangeCauses, and neither is on/,
    ],
    [
      'an external id of one character',
      { ...minimal, memberRoleName: 'M', memberRoleExternalId: 'x' },
      'memberRoleExternalId',
      /not an external id/,
    ],
    ['an unknown account mode', { ...minimal, accountMode: 'organization' }, 'accountMode', /accountMode/],
    [
      'a prefix with a space',
      { flowLogGroupPrefixes: ['/vpc/flow logs'] },
      'flowLogGroupPrefixes',
      /not a log group name prefix/,
    ],
    [
      'a central Region not deployed to',
      { ...minimal, regions: ['eu-west-1'], alertTopicRegion: 'us-east-1' },
      'alertTopicRegion',
      /must be one of regions \(eu-west-1\)/,
    ],
    [
      'a central Region without regions',
      { ...minimal, alertTopicRegion: 'us-east-1' },
      'alertTopicRegion',
      /must be one of regions \(none set\)/,
    ],
    [
      'a central topic while the other Regions have no one for their alarms (Slack only)',
      {
        ...minimal,
        regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'],
        alertTopicRegion: 'eu-west-1',
        slackWorkspaceId: 'T0123ABCD',
        slackChannelId: 'C0123ABCD',
      },
      'alertTopicRegion',
      /context\.alertTopicRegion: the alarms of us-east-1, ap-southeast-2 notify an operations topic of their own Region, which nothing would receive: .*set operationsEmails \(or alertEmails\)/,
    ],
    [
      'a Region twice',
      { ...minimal, regions: ['eu-west-1', 'eu-west-1'] },
      'regions',
      /lists a Region twice/,
    ],
    ['not a Region', { ...minimal, regions: ['europe'] }, 'regions', /not an AWS Region/],
    [
      'VPC IDs with two Regions',
      { vpcIds: ['vpc-12345678'], regions: ['eu-west-1', 'us-east-1'] },
      'vpcIds',
      /VPC IDs belong to one Region/,
    ],
    [
      'an operations topic with two Regions',
      {
        ...minimal,
        regions: ['eu-west-1', 'us-east-1'],
        operationsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
      },
      'operationsTopicArn',
      /alarms notify a topic of their own Region/,
    ],
    [
      'a Region that none of the log groups is in',
      {
        flowLogGroups: ['arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/flow'],
        regions: ['eu-west-1', 'us-east-1'],
      },
      'regions',
      /context.regions: us-east-1: no flow log group of flowLogGroups is in this Region \(each is an ARN of another Region\), so its detector would have nothing to query/,
    ],
    [
      'a log group ARN of a Region not deployed to',
      { flowLogGroups: ['arn:aws:logs:ap-south-1:123456789012:log-group:/x'], regions: ['eu-west-1'] },
      'flowLogGroups',
      /is in ap-south-1, which is not one of regions/,
    ],
    [
      'a stack name too long for the fixed role name',
      {
        ...minimal,
        stackName: `S${'x'.repeat(50)}`,
        memberRoleName: 'M',
        memberRoleExternalId: 'xx',
        regions: ['ap-southeast-2'],
      },
      'stackName',
      /over IAM's 64: shorten the stack name/,
    ],
    [
      'Security Lake in several Regions (its Glue database is in one)',
      {
        flowSource: 'athena',
        securityLakeDatabase: 'amazon_security_lake_glue_db_eu_west_1',
        securityLakeTable: 'amazon_security_lake_table_eu_west_1_vpc_flow_2_0',
        regions: ['eu-west-1', 'us-east-1'],
      },
      'regions',
      /context\.regions: Security Lake's Glue database and table are in one Region .*deploy its detector there alone/,
    ],
    [
      'flowLogRegions with several regions (every detector would count the same Regions)',
      {
        flowSource: 'athena',
        flowLogBucket: 'org-flow-logs',
        flowLogRegions: ['eu-west-1', 'us-east-1'],
        regions: ['eu-west-1', 'us-east-1'],
      },
      'flowLogRegions',
      /leave flowLogRegions out, and each reads its own Region's/,
    ],
    [
      'Athena settings without flowSource athena',
      { ...minimal, flowLogBucket: 'org-flow-logs', flowLogHourlyPartitions: true },
      'flowSource',
      /flowLogBucket, flowLogHourlyPartitions are settings of the Athena source: set flowSource athena/,
    ],
    [
      'Security Lake settings without flowSource athena',
      { ...minimal, securityLakeDatabase: 'amazon_security_lake_glue_db_eu_west_1' },
      'flowSource',
      /securityLakeDatabase is a setting of the Athena source/,
    ],
    [
      "an operations topic of another Region than the stack's",
      { ...minimal, regions: ['eu-west-1'], operationsTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops' },
      'operationsTopicArn',
      /is a topic of us-east-1, but alarms notify a topic of their own Region \(eu-west-1\) only/,
    ],
    [
      "cdk.json's example group left beside the organization settings",
      {
        flowLogGroups: [EXAMPLE_FLOW_LOG_GROUP],
        accountMode: 'monitoring-account',
        flowLogGroupPrefixes: ['/vpc/flow-logs/'],
        alertEmails: ['secops@example.com'],
      },
      'flowLogGroups',
      /context\.flowLogGroups: \/vpc\/flow-logs\/example is cdk\.json's example, a group no account has, so every run would fail querying it; beside flowLogGroupPrefixes, accountMode monitoring-account it is a leftover: replace it with your own flow log groups, or clear it \("flowLogGroups": \[\] in cdk\.json, or -c flowLogGroups=\)/,
    ],
    [
      "cdk.json's example group beside the user's own groups",
      { flowLogGroups: [EXAMPLE_FLOW_LOG_GROUP, '/vpc/flow-logs/prod'] },
      'flowLogGroups',
      /beside other flowLogGroups it is a leftover/,
    ],
    [
      "cdk.json's example group beside VPC IDs",
      { flowLogGroups: [EXAMPLE_FLOW_LOG_GROUP], vpcIds: ['vpc-12345678'] },
      'flowLogGroups',
      /beside vpcIds it is a leftover/,
    ],
    [
      "cdk.json's example group deployed to several Regions",
      { flowLogGroups: [EXAMPLE_FLOW_LOG_GROUP], regions: ['eu-west-1', 'us-east-1'] },
      'flowLogGroups',
      /beside regions it is a leftover/,
    ],
    [
      "cdk.json's example group with flowSource athena",
      {
        flowLogGroups: [EXAMPLE_FLOW_LOG_GROUP],
        flowSource: 'athena',
        flowLogBucket: 'org-flow-logs',
      },
      'flowLogGroups',
      /with flowSource athena leave them empty \(remove cdk\.json's example \/vpc\/flow-logs\/example, or pass -c flowLogGroups=\)/,
    ],
  ])('rejects %s', (_name, context, key, message) => {
    const error = contextError(context);
    expect(error.keys).toContain(key);
    expect(error.message).toMatch(message);
  });
});

describe("parseDeploymentContext: cdk.json's example group", () => {
  it('accepts it on its own, as cdk.json ships it, so an offline cdk synth works (the app warns)', () => {
    // Act
    const settings = parseDeploymentContext({
      flowLogGroups: [EXAMPLE_FLOW_LOG_GROUP],
      alertEmails: ['secops@example.com'],
    });
    // Assess
    expect(settings.flowLogGroups).toEqual([EXAMPLE_FLOW_LOG_GROUP]);
  });
});

describe('parseDeploymentContext with several mistakes', () => {
  it('reports every bad key in one go, the detector config included', () => {
    // Act
    const error = contextError({
      flowLogGroups: ['/vpc/a'],
      alertEmails: 'x',
      detectorConfig: { windowMinutes: 7 },
    });
    // Assess
    expect(error.keys.sort()).toEqual(['alertEmails', 'detectorConfig']);
    expect(error.message).toMatch(/context\.alertEmails\[0\]: not an email address/);
    expect(error.message).toMatch(/context\.detectorConfig\.windowMinutes: must divide a day/);
  });
});
