import { Validations, type PolicyViolation } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from './synth';

const CONFIGURATIONS: Record<string, Record<string, unknown>> = {
  'existing log groups': {
    flowLogGroups: ['/vpc/flow-logs/prod', 'arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/other'],
  },
  'created flow logs, enrichment, Slack, operations topic': {
    vpcIds: ['vpc-0123456789abcdef0'],
    enrichWithEc2: true,
    slackWorkspaceId: 'T0123ABCD',
    slackChannelId: 'C0123ABCD',
    alertEmails: ['sec@example.com'],
    operationsEmails: ['ops@example.com'],
    retainData: false,
  },
  'Athena over flow logs in S3 (Parquet, Hive-compatible, hourly, SSE-KMS)': {
    flowSource: 'athena',
    flowLogBucket: 'org-flow-logs',
    flowLogPrefix: 'vpc',
    flowLogFileFormat: 'parquet',
    flowLogHiveCompatible: true,
    flowLogHourlyPartitions: true,
    flowLogAccounts: ['123456789012', '210987654321'],
    flowLogKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
    retainData: false,
  },
  'Athena over Security Lake': {
    flowSource: 'athena',
    securityLakeDatabase: 'amazon_security_lake_glue_db_eu_west_1',
    securityLakeTable: 'amazon_security_lake_table_eu_west_1_vpc_flow_2_0',
  },
  'monitoring account: prefixes in linked accounts, ARNs, member role in an Organization, enrichment': {
    accountMode: 'monitoring-account',
    flowLogGroupPrefixes: ['/vpc/flow-logs/', '/org/flows/'],
    flowLogGroups: ['arn:aws:logs:eu-west-1:222222222222:log-group:/vpc/central'],
    memberRoleName: 'EgressSpikeDetectorMember',
    memberRoleExternalId: 'egress-spike-detector',
    organizationId: 'o-abcdefghij',
    enrichWithEc2: true,
    lookUpChangeCauses: true,
    alertEmails: ['sec@example.com'],
  },
  'three Regions, one central alert topic with Slack, member role and its template': {
    accountMode: 'monitoring-account',
    monitoringAccountId: '111111111111',
    flowLogGroupPrefixes: ['/vpc/flow-logs/'],
    regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'],
    alertTopicRegion: 'eu-west-1',
    alertEmails: ['sec@example.com'],
    slackWorkspaceId: 'T0123ABCD',
    slackChannelId: 'C0123ABCD',
    memberRoleName: 'EgressSpikeDetectorMember',
    memberRoleExternalId: 'egress-spike-detector',
    enrichWithEc2: true,
  },
  'two Regions, a topic each, operations emails': {
    flowLogGroups: ['/vpc/flow-logs/prod'],
    regions: ['eu-west-1', 'us-east-1'],
    operationsEmails: ['ops@example.com'],
  },
  'change causes and enrichment': {
    flowLogGroups: ['/vpc/flow-logs/prod'],
    enrichWithEc2: true,
    lookUpChangeCauses: true,
    detectorConfig: { policyChangeSpikes: 'downgrade' },
  },
  'change causes alone': {
    flowLogGroups: ['/vpc/flow-logs/prod'],
    lookUpChangeCauses: true,
  },
  'existing operations topic, 15-minute windows': {
    flowLogGroups: ['/vpc/flow-logs/prod'],
    vpcIds: ['vpc-12345678'],
    operationsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
    detectorConfig: { windowMinutes: 15 },
  },
};

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgementsIn(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** What AwsSolutions reports when acknowledgements are ignored: the findings they answer. */
function rawFindings(root: IConstruct): PolicyViolation[] {
  const pack = new AwsSolutionsChecks();
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return pack.validateScope(root).violations;
}

describe.each(Object.entries(CONFIGURATIONS))('cdk-nag AwsSolutions, %s', (_name, context) => {
  const { app } = buildApp(context);

  it('has no unacknowledged finding, error or warning', () => {
    const violations = new AwsSolutionsChecks().validateScope(app).violations;
    expect(
      violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(' ')}`),
    ).toEqual([]);
  });

  it('acknowledges only findings that exist, each on the resource it concerns, with a concrete reason', () => {
    const findings = rawFindings(app);
    const acknowledgements = acknowledgementsIn(app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const acknowledgement of acknowledgements) {
      const answered = findings
        .filter((finding) => finding.ruleName === acknowledgement.id)
        .flatMap((finding) => finding.violatingResources)
        .filter((resource) => resource.constructPath?.startsWith(`${acknowledgement.path}/`));
      expect({ ...acknowledgement, answered: answered.length > 0 }).toEqual({
        ...acknowledgement,
        answered: true,
      });
      expect(acknowledgement.reason.length).toBeGreaterThan(60);
    }
  });

  it('synthesizes: the nag plugin passes inside app.synth()', () => {
    expect(() => app.synth()).not.toThrow();
  });
});

describe('cdk-nag: the wildcard resource of change causes is acknowledged with its reason', () => {
  it('names cloudtrail:LookupEvents and the EC2 Describe calls, and why they cannot be scoped', () => {
    const withCauses = acknowledgementsIn(
      buildApp({ flowLogGroups: ['/vpc/flow-logs/prod'], lookUpChangeCauses: true }).app,
    ).filter((a) => a.id === 'AwsSolutions-IAM5[Resource::*]');
    const without = acknowledgementsIn(buildApp({ flowLogGroups: ['/vpc/flow-logs/prod'] }).app).filter(
      (a) => a.id === 'AwsSolutions-IAM5[Resource::*]',
    );
    expect(withCauses).toHaveLength(1);
    expect(withCauses[0]!.reason).toMatch(
      /cloudtrail:LookupEvents \(change causes, read-only event history\) supports no resource-level permissions/,
    );
    expect(withCauses[0]!.reason).toContain('ec2:DescribeNetworkAcls and ec2:DescribeSecurityGroupRules');
    expect(without.map((a) => a.reason).join(' ')).not.toContain('cloudtrail');
  });
});

describe('cdk-nag: the Athena results bucket has no server access logs', () => {
  it('says so without claiming CloudTrail logs its objects (S3 data events are off by default) or an access limit no policy sets', () => {
    const [s1, ...others] = acknowledgementsIn(
      buildApp(CONFIGURATIONS['Athena over Security Lake']!).app,
    ).filter((a) => a.id === 'AwsSolutions-S1');
    expect(others).toEqual([]);
    expect(s1?.reason).toMatch(/S3 data events/);
    expect(s1?.reason).not.toMatch(/CloudTrail records|role alone/);
  });
});
