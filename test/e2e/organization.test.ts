/**
 * End to end in a monitoring account (issue 14), through the Lambda runtime and the real SDK
 * clients: flow log groups found by name prefix in linked source accounts, 60 of them in one
 * detector (two queries of 30 a window, counts summed across them); and the member role, as the
 * app synthesizes it, assumed through the local STS endpoint for the EC2 context of a member
 * account's alerts, next to an account without the role.
 */
import { Template } from 'aws-cdk-lib/assertions';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import { buildApp } from '../lib/synth';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';
import type { LogEvent } from '../support/local-logs-insights';
import { startLocalSts, type IamPolicy, type IamStatement, type LocalSts } from '../support/local-sts';
import {
  CREDENTIALS,
  HOUR,
  blocked,
  newDetector,
  startEndpoints,
  warningLogger,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();
/** A run time at which `windowStart` is the latest closed window (10 minutes of lag). */
const runTimeFor = (windowStart: number) => at(windowStart + HOUR + 12 * 60_000);

// The local Logs endpoint answers as the monitoring account.
const MONITORING = '123456789012';
const LINKED_B = '222222222222';
const LINKED_C = '333333333333';
const UNLINKED = '444444444444';

/** Records as `account`'s flow log writes them (the account-id field is its own). */
const inAccount = (account: string, events: LogEvent[]): LogEvent[] =>
  events.map((e) => ({ ...e, message: e.message.replace(/^2 \d{12} /, `2 ${account} `) }));

/** Records of `account`'s interface `eni`. */
const onInterface = (account: string, eni: string, events: LogEvent[]): LogEvent[] =>
  events.map((e) => ({ ...e, message: e.message.replace(/^2 \d{12} \S+ /, `2 ${account} ${eni} `) }));

let endpoints: Endpoints;

beforeAll(async () => {
  endpoints = await startEndpoints();
  endpoints.logs.linkAccount(LINKED_B);
  endpoints.logs.linkAccount(LINKED_C);
});

afterAll(async () => {
  await endpoints.stop();
});

beforeEach(() => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

describe('60 flow log groups in one detector, found by prefix in linked accounts', () => {
  const PREFIX = '/org/flow-logs/';
  /** 40 groups in the monitoring account, 12 in B, 8 in C: ARN order puts 30 of the first in part 1. */
  const groups = [
    ...Array.from({ length: 40 }, (_, i) => [MONITORING, i] as const),
    ...Array.from({ length: 12 }, (_, i) => [LINKED_B, i] as const),
    ...Array.from({ length: 8 }, (_, i) => [LINKED_C, i] as const),
  ].map(([account, i]) => ({
    account,
    arn: `arn:aws:logs:us-east-1:${account}:log-group:${PREFIX}${account.slice(0, 1)}-${String(i).padStart(2, '0')}`,
  }));
  const group = (account: string, i: number) => groups.filter((g) => g.account === account)[i]!;

  it('queries them 30 + 30 each window, sums a source seen in both parts, and alerts on the right sources', async () => {
    // Prepare: in W-1h quiet sources everywhere (the first run learns them); in W, 10.0.5.5 of the
    // monitoring account sends 60 records into a group of each part (120: over the new-source minimum of 100, which neither part reaches alone), and 10.9.9.9 of account C
    // sends 150; groups of an unlinked account and of the Delivery class hold records that must
    // not count.
    const detector = await newDetector(endpoints, {
      env: {
        LOG_GROUP_IDENTIFIERS: '',
        LOG_GROUP_PREFIXES: PREFIX,
        INCLUDE_LINKED_ACCOUNTS: 'true',
        ACCOUNT_ID: MONITORING,
      },
    });
    groups.forEach((g, i) => {
      const source = `10.${i % 3}.0.${(i % 20) + 1}`;
      endpoints.logs.seed(
        g.arn,
        inAccount(g.account, [...blocked(W - HOUR, source, 3), ...blocked(W, source, 3)]),
      );
    });
    endpoints.logs.seed(group(MONITORING, 1).arn, blocked(W, '10.0.5.5', 60));
    endpoints.logs.seed(group(MONITORING, 35).arn, blocked(W, '10.0.5.5', 60));
    endpoints.logs.seed(group(LINKED_C, 5).arn, inAccount(LINKED_C, blocked(W, '10.9.9.9', 150)));
    endpoints.logs.seed(
      `arn:aws:logs:us-east-1:${UNLINKED}:log-group:${PREFIX}unlinked`,
      inAccount(UNLINKED, blocked(W, '10.4.4.4', 500)),
    );
    endpoints.logs.seed(
      `arn:aws:logs:us-east-1:${LINKED_B}:log-group:${PREFIX}delivery`,
      inAccount(LINKED_B, blocked(W, '10.2.2.2', 500)),
      { logGroupClass: 'DELIVERY' },
    );
    detector.clock.set(runTimeFor(W - HOUR));
    const learn = await detector.invoke({});
    expect(learn).toMatchObject({ windows: ['2026-11-27T08:00:00Z'], alertsPublished: 0 });
    endpoints.logs.resetCounters();
    detector.clock.set(runTimeFor(W));

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ windows: ['2026-11-27T09:00:00Z'], alertsPublished: 2 });
    // Count and details, each in two parts of 30 groups: the 60 groups and nothing else.
    expect(run.queries).toBe(4);
    const started = endpoints.logs.startedQueries;
    expect(started.map((q) => q.logGroupArns.length)).toEqual([30, 30, 30, 30]);
    expect(new Set(started.flatMap((q) => q.logGroupArns))).toEqual(new Set(groups.map((g) => g.arn)));
    expect(endpoints.logs.callCounts.DescribeLogGroups).toBe(2); // 61 groups listed, 50 a page
    const alerts = endpoints.sns.published
      .map((m) => JSON.parse(m.perProtocol!.sqs!) as PublishedAlert)
      .map((a) => [a.srcIp, a.blockedCount, a.details?.interfaceIds.length]);
    expect(alerts.sort()).toEqual([
      ['10.0.5.5', 120, 1],
      ['10.9.9.9', 150, 1],
    ]);
  });
});

describe('member-account context: the member role through STS, and an account without it', () => {
  const MEMBER_A = LINKED_B; // has the member role
  const MEMBER_B = LINKED_C; // has not
  const ROLE_NAME = 'EgressSpikeDetectorMember';
  const EXTERNAL_ID = 'egress-spike-detector-o-abcdefghij';
  const ORGANIZATION = 'o-abcdefghij';
  const GROUP = '/vpc/flow-logs/context';
  const eni = (account: string, i: number) => `eni-0${account.slice(0, 4)}${String(i).padStart(12, '0')}`;
  const instance = (account: string, i: number) => `i-0${account.slice(0, 4)}${String(i).padStart(12, '0')}`;

  /** What the app synthesizes: the member role's trust and the detector's AssumeRole statement. */
  function synthesizedIam(): { trust: IamPolicy; detectorStatement: IamStatement } {
    const { stack, memberRole } = buildApp({
      accountMode: 'monitoring-account',
      flowLogGroupPrefixes: ['/vpc/flow-logs/'],
      enrichWithEc2: true,
      memberRoleName: ROLE_NAME,
      memberRoleExternalId: EXTERNAL_ID,
      monitoringAccountId: MONITORING,
      organizationId: ORGANIZATION,
    });
    const resolve = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(resolve);
      if (value === null || typeof value !== 'object') return value;
      const v = value as Record<string, unknown>;
      if (v.Ref === 'AWS::Partition') return 'aws';
      if ('Fn::Join' in v) {
        const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
        return parts.map(resolve).join(separator);
      }
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, resolve(inner)]));
    };
    const resourcesOf = (template: unknown) =>
      Object.values(
        (template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> })
          .Resources,
      );
    const role = resourcesOf(Template.fromStack(memberRole!).toJSON()).find(
      (r) => r.Type === 'AWS::IAM::Role',
    )!;
    const detectorStatement = resourcesOf(Template.fromStack(stack).toJSON())
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: IamStatement[] }).Statement)
      .find((st) => st.Sid === 'AssumeMemberAccountRole')!;
    return {
      trust: resolve(role.Properties.AssumeRolePolicyDocument) as IamPolicy,
      detectorStatement: resolve(detectorStatement) as IamStatement,
    };
  }

  let sts: LocalSts;
  let ec2: LocalEc2;

  beforeAll(async () => {
    const { trust, detectorStatement } = synthesizedIam();
    sts = await startLocalSts({
      // The harness signs as `test`: the detector function's role, with its own AssumeRole statement.
      callers: {
        [CREDENTIALS.accessKeyId]: {
          arn: `arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-detector`,
          policy: { Statement: [detectorStatement] },
        },
      },
      organizations: { [MONITORING]: ORGANIZATION, [MEMBER_A]: ORGANIZATION, [MEMBER_B]: ORGANIZATION },
    });
    // The StackSet reached account A only.
    sts.addRole({ arn: `arn:aws:iam::${MEMBER_A}:role/${ROLE_NAME}`, trustPolicy: JSON.stringify(trust) });
    ec2 = await startLocalEc2({ authenticate: (caller) => sts.authenticate(caller) });
    for (const account of [MONITORING, MEMBER_A, MEMBER_B]) {
      for (const i of [1, 2]) {
        ec2.addNetworkInterfaces({
          networkInterfaceId: eni(account, i),
          vpcId: `vpc-0${account.slice(0, 4)}aaaaaaaaaaaa`,
          subnetId: `subnet-0${account.slice(0, 4)}bbbbbbbbbbbb`,
          ownerId: account,
          attachment: { instanceId: instance(account, i) },
        });
        ec2.addInstances({
          instanceId: instance(account, i),
          ownerId: account,
          tags: [{ key: 'Name', value: `${account}-host-${i}` }],
        });
      }
    }
  });

  afterAll(async () => {
    await Promise.all([sts.stop(), ec2.stop()]);
  });

  it("enriches each account's alerts with its own EC2 (assuming the member role once per run), and alerts without context for the account without the role", async () => {
    // Prepare: the same two addresses in the monitoring account and in A and B, each a new source
    // in W of 120 records on its account's own interface.
    const { logger, warnings } = warningLogger();
    const arnOf = (account: string) => `arn:aws:logs:us-east-1:${account}:log-group:${GROUP}`;
    const detector = await newDetector(endpoints, {
      env: {
        LOG_GROUP_IDENTIFIERS: [MONITORING, MEMBER_A, MEMBER_B].map(arnOf).join(','),
        ACCOUNT_ID: MONITORING,
        ENRICH_WITH_EC2: 'true',
        EC2_ENDPOINT: ec2.endpoint,
        STS_ENDPOINT: sts.endpoint,
        MEMBER_ROLE_NAME: ROLE_NAME,
        MEMBER_ROLE_EXTERNAL_ID: EXTERNAL_ID,
      },
      runtime: { logger },
    });
    for (const account of [MONITORING, MEMBER_A, MEMBER_B]) {
      endpoints.logs.seed(arnOf(account), [
        ...onInterface(account, eni(account, 1), blocked(W - HOUR, '10.1.1.1', 3)),
        ...onInterface(account, eni(account, 1), blocked(W, '10.0.0.10', 120)),
        ...onInterface(account, eni(account, 2), blocked(W, '10.0.0.11', 130)),
      ]);
    }
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({});
    sts.resetCounters();
    ec2.resetCounters();
    detector.clock.set(runTimeFor(W));

    // Act
    const run = await detector.invoke({});

    // Assess: six alerts, none held back.
    expect(run).toMatchObject({ windows: ['2026-11-27T09:00:00Z'], alertsDecided: 6, alertsPublished: 6 });
    const alerts = endpoints.sns.published.map((m) => JSON.parse(m.perProtocol!.sqs!) as PublishedAlert);
    const names = alerts
      .map((a) => [a.accountId, a.srcIp, Object.values(a.details?.resources ?? {}).map((r) => r.name ?? '-')])
      .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    expect(names).toEqual([
      [MONITORING, '10.0.0.10', [`${MONITORING}-host-1`]],
      [MONITORING, '10.0.0.11', [`${MONITORING}-host-2`]],
      [MEMBER_A, '10.0.0.10', [`${MEMBER_A}-host-1`]],
      [MEMBER_A, '10.0.0.11', [`${MEMBER_A}-host-2`]],
      [MEMBER_B, '10.0.0.10', []],
      [MEMBER_B, '10.0.0.11', []],
    ]);
    // One AssumeRole per other account for the run, with the external id; B has no role.
    expect(
      sts.requests.map((r) => [r.params.RoleArn, r.params.ExternalId, r.params.DurationSeconds, r.error]),
    ).toEqual([
      [`arn:aws:iam::${MEMBER_A}:role/${ROLE_NAME}`, EXTERNAL_ID, '900', undefined],
      [`arn:aws:iam::${MEMBER_B}:role/${ROLE_NAME}`, EXTERNAL_ID, '900', 'AccessDenied'],
    ]);
    expect(sts.sessions.at(-1)!.sessionName).toMatch(/^egress-spike-[0-9a-f-]{36}$/);
    // EC2 was asked in the monitoring account (own credentials) and in A (the role's), not in B.
    const asked = ec2.requests
      .filter((r) => r.action === 'DescribeNetworkInterfaces')
      .map((r) =>
        Object.entries(r.params)
          .filter(([name]) => name.startsWith('Filter.1.Value.'))
          .map(([, value]) => value)
          .sort(),
      );
    expect(asked.sort()).toEqual(
      [
        [eni(MONITORING, 1), eni(MONITORING, 2)],
        [eni(MEMBER_A, 1), eni(MEMBER_A, 2)],
      ].sort(),
    );
    expect(warnings.filter((w) => w.extra.accountId === MEMBER_B)).toHaveLength(1);
    expect(warnings.find((w) => w.extra.accountId === MEMBER_B)!.message).toMatch(
      /no context from this account: the member role could not be assumed/,
    );
  });
});
