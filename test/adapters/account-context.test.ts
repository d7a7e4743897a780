/**
 * Per-account context through the member role, with the real STS and EC2 clients against the
 * local STS and EC2 endpoints: the role assumed with the external id once per account per run,
 * an account without the role (or refusing it) giving no context without failing anything, and
 * the EC2 enrichment asking each account's EC2 with that account's credentials.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { STSClient } from '@aws-sdk/client-sts';
import {
  MEMBER_ROLE_SESSION_SECONDS,
  MemberRoleAccountContext,
  roleSessionName,
} from '../../lambda/adapters/account-context';
import { SameAccountContext } from '../../lambda/adapters/change-explainer';
import { Ec2Enricher } from '../../lambda/adapters/ec2-enricher';
import type { AlertDetails } from '../../lambda/core';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';
import { listenOnLoopback } from '../support/local-endpoint';
import { startLocalSts, type IamPolicy, type LocalSts } from '../support/local-sts';

const MONITORING = '111111111111';
const MEMBER_A = '222222222222';
const MEMBER_B = '333333333333'; // has no member role
const DETECTOR_ROLE = `arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-detector`;
const ROLE_NAME = 'EgressSpikeDetectorMember';
const EXTERNAL_ID = 'egress-spike-detector';

const trust: IamPolicy = {
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${MONITORING}:root` },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'sts:ExternalId': EXTERNAL_ID },
        ArnEquals: { 'aws:PrincipalArn': DETECTOR_ROLE },
      },
    },
  ],
};

let sts: LocalSts;
let ec2: LocalEc2;
let stsClient: STSClient;
let warnings: { message: string; extra: Record<string, unknown> }[];
const logger = {
  warn: (message: string, ...extra: Record<string, unknown>[]) =>
    warnings.push({ message, extra: Object.assign({}, ...extra) as Record<string, unknown> }),
};

const eni = (i: number) => `eni-0${i.toString(16).padStart(16, '0')}`;
const instance = (i: number) => `i-0${i.toString(16).padStart(16, '0')}`;

beforeAll(async () => {
  sts = await startLocalSts({ callers: { detector: { arn: DETECTOR_ROLE } } });
  sts.addRole({ arn: `arn:aws:iam::${MEMBER_A}:role/${ROLE_NAME}`, trustPolicy: trust });
  ec2 = await startLocalEc2({ authenticate: (caller) => sts.authenticate(caller) });
  // One interface per account, each attached to an instance of its account.
  [MONITORING, MEMBER_A, MEMBER_B].forEach((account, i) => {
    ec2.addNetworkInterfaces({
      networkInterfaceId: eni(i + 1),
      vpcId: `vpc-0${String(i + 1).repeat(16)}`,
      subnetId: `subnet-0${String(i + 1).repeat(16)}`,
      ownerId: account,
      attachment: { instanceId: instance(i + 1) },
    });
    ec2.addInstances({
      instanceId: instance(i + 1),
      ownerId: account,
      tags: [{ key: 'Name', value: `host-${account}` }],
    });
  });
  stsClient = new STSClient({ ...sts.clientConfig('detector'), maxAttempts: 1 });
});

afterAll(async () => {
  stsClient.destroy();
  await Promise.all([sts.stop(), ec2.stop()]);
});

beforeEach(() => {
  sts.resetCounters();
  ec2.resetCounters();
  warnings = [];
});

const memberContext = (externalId = EXTERNAL_ID) =>
  new MemberRoleAccountContext({
    sts: () => stsClient,
    ownAccountId: MONITORING,
    roleName: ROLE_NAME,
    externalId,
    partition: 'aws',
    sessionName: roleSessionName('3f1c2d9e-0000-4000-8000-000000000001'),
    logger,
  });

describe('MemberRoleAccountContext (local STS)', () => {
  it("assumes the member role with the external id once per account per run, and uses the function's own credentials at home", async () => {
    // Arrange
    const accounts = memberContext();

    // Act: five lookups at once in one account, then more later in the run.
    const configs = await Promise.all(
      Array.from({ length: 5 }, () => accounts.clientConfigFor(MEMBER_A, 'eu-west-1')),
    );
    const later = await accounts.clientConfigFor(MEMBER_A, 'us-east-1');
    const own = await accounts.clientConfigFor(MONITORING, 'eu-west-1');

    // Assess
    expect(sts.count('AssumeRole')).toBe(1);
    expect(sts.requests[0]!.params).toMatchObject({
      RoleArn: `arn:aws:iam::${MEMBER_A}:role/${ROLE_NAME}`,
      ExternalId: EXTERNAL_ID,
      DurationSeconds: String(MEMBER_ROLE_SESSION_SECONDS),
      RoleSessionName: 'egress-spike-3f1c2d9e-0000-4000-8000-000000000001',
    });
    const issued = sts.sessions.at(-1)!;
    for (const config of configs) {
      expect(config).toEqual({
        region: 'eu-west-1',
        credentials: expect.objectContaining({
          accessKeyId: issued.accessKeyId,
          sessionToken: issued.sessionToken,
        }) as unknown,
      });
    }
    expect(later?.region).toBe('us-east-1');
    expect(later?.credentials).toEqual(configs[0]!.credentials);
    expect(own).toEqual({ region: 'eu-west-1' });
    expect(warnings).toEqual([]);
    expect(accounts.accountsWithoutContext()).toEqual([]);
  });

  it('gives no context for an account without the role: logged once, asked once, nothing thrown', async () => {
    const accounts = memberContext();

    const first = await accounts.clientConfigFor(MEMBER_B, 'us-east-1');
    const again = await accounts.clientConfigFor(MEMBER_B, 'us-east-1');
    const other = await accounts.clientConfigFor(MEMBER_A, 'us-east-1');

    expect(first).toBeUndefined();
    expect(again).toBeUndefined();
    expect(other?.credentials).toBeDefined();
    expect(sts.requests.map((r) => [r.params.RoleArn, r.error])).toEqual([
      [`arn:aws:iam::${MEMBER_B}:role/${ROLE_NAME}`, 'AccessDenied'],
      [`arn:aws:iam::${MEMBER_A}:role/${ROLE_NAME}`, undefined],
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.extra).toMatchObject({
      accountId: MEMBER_B,
      roleArn: `arn:aws:iam::${MEMBER_B}:role/${ROLE_NAME}`,
      error: expect.stringMatching(
        /^AccessDenied: User: .* is not authorized to perform: sts:AssumeRole/,
      ) as unknown,
    });
    expect(accounts.accountsWithoutContext()).toEqual([MEMBER_B]);
  });

  it('gives no context when the external id is not the one the role requires, or STS fails', async () => {
    expect(await memberContext('another-id').clientConfigFor(MEMBER_A, 'us-east-1')).toBeUndefined();
    sts.injectErrors('InternalFailure', 1, 500);
    expect(await memberContext().clientConfigFor(MEMBER_A, 'us-east-1')).toBeUndefined();
    expect(warnings.map((w) => w.extra.error)).toEqual([
      expect.stringMatching(/^AccessDenied/),
      expect.stringMatching(/^InternalFailure/),
    ]);
  });

  it('gives up on an STS that does not answer after the timeout, without context and without failing', async () => {
    // Arrange: an endpoint that accepts the request and never answers.
    const hanging = await listenOnLoopback(() => new Promise<void>(() => undefined));
    const client = new STSClient({ ...sts.clientConfig('detector'), endpoint: hanging.endpoint });
    const accounts = new MemberRoleAccountContext({
      sts: () => client,
      ownAccountId: MONITORING,
      roleName: ROLE_NAME,
      externalId: EXTERNAL_ID,
      partition: 'aws',
      sessionName: 'egress-spike-test',
      logger,
      timeoutMs: 200,
    });
    const started = Date.now();
    try {
      // Act
      const config = await accounts.clientConfigFor(MEMBER_A, 'us-east-1');

      // Assess
      expect(config).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(warnings.map((w) => w.extra.accountId)).toEqual([MEMBER_A]);
      expect(accounts.accountsWithoutContext()).toEqual([MEMBER_A]);
    } finally {
      client.destroy();
      await hanging.stop().catch(() => undefined);
    }
  });

  it('asks again in the next run (a new context), and never for something that is not an account id', async () => {
    await memberContext().clientConfigFor(MEMBER_A, 'us-east-1');
    await memberContext().clientConfigFor(MEMBER_A, 'us-east-1');
    expect(await memberContext().clientConfigFor('-', 'us-east-1')).toBeUndefined();
    expect(sts.count('AssumeRole')).toBe(2);
  });

  it('makes a valid RoleSessionName of any run id', () => {
    expect(roleSessionName('a b/c')).toBe('egress-spike-a-b-c');
    expect(roleSessionName('x'.repeat(100))).toHaveLength(64);
  });

  it('SameAccountContext: its own account only', async () => {
    const accounts = new SameAccountContext(MONITORING);
    expect(await accounts.clientConfigFor(MONITORING, 'eu-west-1')).toEqual({ region: 'eu-west-1' });
    expect(await accounts.clientConfigFor(MEMBER_A, 'eu-west-1')).toBeUndefined();
  });
});

describe('Ec2Enricher over accounts (local STS and EC2)', () => {
  const details = (...interfaceIds: string[]): AlertDetails => ({
    topDestinations: [],
    totalDestinations: 0,
    interfaceIds,
  });

  it("looks up each source's interfaces in its own account; an account without the role is left unenriched", async () => {
    // Arrange: the sources are keyed `<account>|<address>` here; the enricher is told how to read them.
    const accounts = memberContext();
    const clients: EC2Client[] = [];
    const own = new EC2Client({
      endpoint: ec2.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'detector', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const enricher = new Ec2Enricher({
      client: own,
      logger,
      ownAccountId: MONITORING,
      accountOf: (source) => source.split('|')[0],
      clientForAccount: async (accountId) => {
        const config = await accounts.clientConfigFor(accountId, 'us-east-1');
        if (config === undefined) return undefined;
        const client = new EC2Client({ endpoint: ec2.endpoint, maxAttempts: 1, ...config });
        clients.push(client);
        return client;
      },
    });

    try {
      // Act
      const enriched = await enricher.enrich(
        new Map([
          [`${MONITORING}|10.0.0.1`, details(eni(1))],
          [`${MEMBER_A}|10.0.0.1`, details(eni(2))],
          [`${MEMBER_B}|10.0.0.1`, details(eni(3))],
        ]),
      );

      // Assess
      expect(enriched.get(`${MONITORING}|10.0.0.1`)?.resources?.[eni(1)]).toMatchObject({
        instanceId: instance(1),
        name: `host-${MONITORING}`,
      });
      expect(enriched.get(`${MEMBER_A}|10.0.0.1`)?.resources?.[eni(2)]).toMatchObject({
        instanceId: instance(2),
        vpcId: `vpc-0${'2'.repeat(16)}`,
        name: `host-${MEMBER_A}`,
      });
      expect(enriched.get(`${MEMBER_B}|10.0.0.1`)).toEqual(details(eni(3)));
      // One AssumeRole per other account; EC2 asked in the two accounts it could reach, one
      // DescribeNetworkInterfaces and one DescribeInstances each.
      expect(sts.requests.map((r) => r.params.RoleArn?.split(':')[4])).toEqual([MEMBER_A, MEMBER_B]);
      expect(ec2.count('DescribeNetworkInterfaces')).toBe(2);
      expect(ec2.count('DescribeInstances')).toBe(2);
      expect(warnings.map((w) => w.extra.accountId)).toEqual([MEMBER_B]);
    } finally {
      own.destroy();
      for (const client of clients) client.destroy();
    }
  });

  it("without a client for other accounts, enriches the own account's sources only and asks nothing else", async () => {
    const own = new EC2Client({
      endpoint: ec2.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'detector', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    try {
      const enricher = new Ec2Enricher({
        client: own,
        logger,
        ownAccountId: MONITORING,
        accountOf: (source) => source.split('|')[0],
      });
      const enriched = await enricher.enrich(
        new Map([
          [`${MONITORING}|10.0.0.1`, details(eni(1))],
          [`${MEMBER_A}|10.0.0.1`, details(eni(2))],
        ]),
      );
      expect(enriched.get(`${MONITORING}|10.0.0.1`)?.resources?.[eni(1)]?.instanceId).toBe(instance(1));
      expect(enriched.get(`${MEMBER_A}|10.0.0.1`)?.resources).toBeUndefined();
      expect(ec2.requests.map((r) => r.params['Filter.1.Value.1'])).toEqual([eni(1), instance(1)]);
    } finally {
      own.destroy();
    }
  });
});
