import { DeploymentContextError, parseDeploymentContext } from '../../lib/deployment-context';

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
    [{}, 'flowLogGroups', /set flowLogGroups \(existing flow log groups\) or vpcIds/],
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
  ])('rejects %j naming %s', (context, key, message) => {
    // Act
    const error = contextError(context);
    // Assess
    expect(error.keys).toContain(key);
    expect(error.message).toMatch(message);
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

  it('limits the queried log groups to the 50 a Logs Insights query accepts', () => {
    const groups = Array.from({ length: 50 }, (_, i) => `/vpc/group-${i}`);
    expect(parseDeploymentContext({ flowLogGroups: groups }).flowLogGroups).toHaveLength(50);
    expect(contextError({ flowLogGroups: groups, vpcIds: ['vpc-12345678'] }).message).toMatch(
      /at most 50 log groups, this would be 51/,
    );
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
