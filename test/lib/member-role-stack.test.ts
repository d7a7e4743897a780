/**
 * The member-account role template (lib/member-role-stack.ts): synthesized by the app in the
 * MemberAccounts stage, deployable as a StackSet (no bootstrap, no assets), read-only, and
 * trusted only by the detector's roles with the external id: its synthesized trust policy is put
 * to the local STS endpoint with the real STS client.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MEMBER_ACCOUNTS_STAGE } from '../../lib/app';
import { startLocalSts, type IamPolicy } from '../support/local-sts';
import { buildApp } from './synth';

const MONITORING = '111111111111';
const MEMBER = '222222222222';
const CONTEXT = {
  accountMode: 'monitoring-account',
  flowLogGroupPrefixes: ['/vpc/flow-logs/'],
  regions: ['eu-west-1', 'us-east-1'],
  memberRoleName: 'EgressSpikeDetectorMember',
  memberRoleExternalId: 'egress-spike-detector-o-abcdefghij',
  monitoringAccountId: MONITORING,
  organizationId: 'o-abcdefghij',
  enrichWithEc2: true,
};

/** A template value with the pseudo parameters as a deployment in `account` fills them in. */
function resolve(value: unknown, account: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, account));
  if (value === null || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (v.Ref === 'AWS::AccountId') return account;
  if ('Ref' in v || 'Fn::GetAtt' in v || 'Fn::Sub' in v)
    throw new Error(`unresolved ${JSON.stringify(value)}`);
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolve(part, account)).join(separator);
  }
  return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, resolve(inner, account)]));
}

describe('the member-account role template', () => {
  const { app, stacks, memberRole } = buildApp(CONTEXT);
  const template = Template.fromStack(memberRole!);
  const json = template.toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    Parameters?: unknown;
    Rules?: unknown;
  };
  const [role] = Object.values(json.Resources);

  it('is one IAM role and nothing a StackSet cannot deploy as it is (no bootstrap check, no assets, no metadata resource)', () => {
    expect(Object.values(json.Resources).map((r) => r.Type)).toEqual(['AWS::IAM::Role']);
    expect(json.Parameters).toBeUndefined();
    expect(json.Rules).toBeUndefined();
    const assembly = app.synth();
    const stage = assembly.getNestedAssembly(`assembly-${MEMBER_ACCOUNTS_STAGE}`);
    const artifact = stage.getStackByName(`EgressSpikeDetector-member-role`);
    expect(artifact.assets).toEqual([]);
    expect(artifact.templateFullPath).toMatch(/\.template\.json$/);
  });

  it('is not one of the stacks `cdk deploy --all` deploys (those of the top-level assembly)', () => {
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(
      ['EgressSpikeDetector-eu-west-1', 'EgressSpikeDetector-us-east-1'].sort(),
    );
  });

  it("is read-only: enrichment's Describe calls (its one feature here), in the detector Regions, under the fixed name, sessions of at most an hour", () => {
    const properties = role!.Properties as {
      RoleName: string;
      MaxSessionDuration: number;
      Policies: {
        PolicyDocument: { Statement: { Action: string[]; Effect: string; Condition: unknown }[] };
      }[];
      ManagedPolicyArns?: unknown;
    };
    expect(properties.RoleName).toBe('EgressSpikeDetectorMember');
    expect(properties.MaxSessionDuration).toBe(3600);
    expect(properties.ManagedPolicyArns).toBeUndefined();
    const statements = properties.Policies.flatMap((p) => p.PolicyDocument.Statement);
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const actions = statements.flatMap((s) => s.Action).sort();
    expect(actions).toEqual(['ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces']);
    expect(actions.every((a) => /^(ec2:Describe|cloudtrail:LookupEvents$)/.test(a))).toBe(true);
    expect(statements[0]!.Condition).toEqual({
      StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] },
    });
  });

  it("trusts the monitoring account only through the detector's roles (one per Region) and only with the external id", () => {
    const trust = resolve(role!.Properties.AssumeRolePolicyDocument, MEMBER) as IamPolicy;
    expect(trust.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { AWS: `arn:aws:iam::${MONITORING}:root` },
        Condition: {
          StringEquals: { 'sts:ExternalId': 'egress-spike-detector-o-abcdefghij' },
          ArnEquals: {
            'aws:PrincipalArn': [
              `arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-eu-west-1-detector`,
              `arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-us-east-1-detector`,
            ],
          },
        },
      },
    ]);
    // Those are the names the detector stacks give their function's role.
    for (const stack of stacks) {
      const roles = Template.fromStack(stack).findResources('AWS::IAM::Role', {
        Properties: { RoleName: `${stack.stackName}-detector` },
      });
      expect(Object.keys(roles)).toHaveLength(1);
    }
  });

  it('as deployed, lets the local STS give the detector role its credentials, and no one else', async () => {
    // Arrange: the synthesized trust policy, as IAM would hold it in a member account.
    const trust = resolve(role!.Properties.AssumeRolePolicyDocument, MEMBER) as IamPolicy;
    const sts = await startLocalSts({
      callers: {
        detectorEu: { arn: `arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-eu-west-1-detector` },
        detectorUs: { arn: `arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-us-east-1-detector` },
        admin: { arn: `arn:aws:iam::${MONITORING}:role/Admin` },
        elsewhere: { arn: `arn:aws:iam::333333333333:role/EgressSpikeDetector-eu-west-1-detector` },
      },
    });
    const roleArn = `arn:aws:iam::${MEMBER}:role/EgressSpikeDetectorMember`;
    sts.addRole({
      arn: roleArn,
      trustPolicy: JSON.stringify(trust),
      maxSessionDuration: role!.Properties.MaxSessionDuration as number,
    });
    const attempt = async (caller: string, externalId?: string): Promise<string> => {
      const client = new STSClient({ ...sts.clientConfig(caller), maxAttempts: 1 });
      try {
        await client.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: 'egress-spike-test',
            DurationSeconds: 900,
            ...(externalId === undefined ? {} : { ExternalId: externalId }),
          }),
        );
        return 'allowed';
      } catch (error) {
        return (error as Error).name;
      } finally {
        client.destroy();
      }
    };
    try {
      // Act + Assess
      const id = CONTEXT.memberRoleExternalId;
      expect(await attempt('detectorEu', id)).toBe('allowed');
      expect(await attempt('detectorUs', id)).toBe('allowed');
      expect(await attempt('detectorEu')).toBe('AccessDenied');
      expect(await attempt('detectorEu', 'egress-spike-detector')).toBe('AccessDenied');
      expect(await attempt('admin', id)).toBe('AccessDenied');
      expect(await attempt('elsewhere', id)).toBe('AccessDenied');
    } finally {
      await sts.stop();
    }
  });

  it('is cdk-nag clean (AwsSolutions), its one acknowledgement answering a real finding', () => {
    const violations = new AwsSolutionsChecks().validateScope(memberRole!).violations;
    expect(violations).toEqual([]);
    const pack = new AwsSolutionsChecks();
    (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    expect(pack.validateScope(memberRole!).violations.map((v) => v.ruleName)).toEqual([
      'AwsSolutions-IAM5[Resource::*]',
    ]);
  });

  it('without regions, allows the calls in any Region and trusts the one detector role', () => {
    const single = buildApp({ ...CONTEXT, regions: [] }).memberRole!;
    const properties = Template.fromStack(single).toJSON() as {
      Resources: Record<string, { Properties: Record<string, unknown> }>;
    };
    const only = Object.values(properties.Resources)[0]!;
    const trust = resolve(only.Properties.AssumeRolePolicyDocument, MEMBER) as {
      Statement: { Condition: { ArnEquals: Record<string, unknown> } }[];
    };
    expect(trust.Statement[0]!.Condition.ArnEquals).toEqual({
      'aws:PrincipalArn': [`arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-detector`],
    });
    const policies = only.Properties.Policies as {
      PolicyDocument: { Statement: { Condition?: unknown }[] };
    }[];
    expect(policies[0]!.PolicyDocument.Statement[0]!.Condition).toBeUndefined();
  });

  it.each<[boolean, boolean, string[]]>([
    [true, false, ['ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces']],
    [
      false,
      true,
      [
        'cloudtrail:LookupEvents',
        'ec2:DescribeNetworkAcls',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSecurityGroupRules',
      ],
    ],
    [
      true,
      true,
      [
        'cloudtrail:LookupEvents',
        'ec2:DescribeInstances',
        'ec2:DescribeNetworkAcls',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSecurityGroupRules',
      ],
    ],
  ])(
    'allows only the calls the detector makes for context (enrichWithEc2 %s, lookUpChangeCauses %s): %j',
    (enrichWithEc2, lookUpChangeCauses, expected) => {
      const built = buildApp({ ...CONTEXT, enrichWithEc2, lookUpChangeCauses });
      const [only] = Object.values(Template.fromStack(built.memberRole!).findResources('AWS::IAM::Role')) as {
        Properties: { Policies: { PolicyDocument: { Statement: { Action: string[] }[] } }[] };
      }[];
      const granted = only!.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement)
        .flatMap((s) => s.Action)
        .sort();
      expect(granted).toEqual(expected);
      // The same calls the detector's role may make in its own account for the same features.
      const policies = Template.fromStack(built.stacks[0]!).findResources('AWS::IAM::Policy') as Record<
        string,
        { Properties: { PolicyDocument: { Statement: { Sid?: string; Action: string | string[] }[] } } }
      >;
      const own = Object.values(policies)
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((s) => s.Sid === 'EnrichAlerts' || s.Sid === 'LookUpChangeCauses')
        .flatMap((s) => [s.Action].flat());
      expect([...new Set(own)].sort()).toEqual(expected);
    },
  );

  it('is refused with neither enrichWithEc2 nor lookUpChangeCauses: the role would allow nothing', () => {
    expect(() => buildApp({ ...CONTEXT, enrichWithEc2: false, lookUpChangeCauses: false })).toThrow(
      /context\.memberRoleName: .*enrichWithEc2 or lookUpChangeCauses/,
    );
  });

  it('is not synthesized without the member role, or without the monitoring account id (said in an info annotation)', () => {
    const { memberRoleName: _name, memberRoleExternalId: _id, ...withoutRole } = CONTEXT;
    expect(buildApp(withoutRole).memberRole).toBeUndefined();
    const { monitoringAccountId: _account, ...withoutAccount } = CONTEXT;
    const built = buildApp(withoutAccount);
    expect(built.memberRole).toBeUndefined();
    expect(
      built.app.node.metadata
        .filter((m) => m.type === 'aws:cdk:info')
        .map((m) => String(m.data))
        .filter((d) => d.includes('without monitoringAccountId')),
    ).toHaveLength(1);
  });
});
