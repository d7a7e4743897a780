/**
 * The local STS endpoint against the real @aws-sdk/client-sts: AssumeRole in the Query protocol,
 * the trust policy's principal and conditions (external id, principal ARN), the caller's identity
 * policy for a role in another account (aws:ResourceOrgID), the parameter rules, and the issued
 * keys accepted (in their own account only, until they expire) by the local EC2 endpoint.
 */
import { DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';
import { startLocalSts, type IamPolicy, type LocalSts } from '../support/local-sts';

const MONITORING = '111111111111';
const MEMBER = '222222222222';
const OUTSIDER = '999999999999';
const THIRD = '333333333333';
const FOURTH = '444444444444';
const DETECTOR_ROLE = `arn:aws:iam::${MONITORING}:role/EgressSpikeDetector-detector`;
const OTHER_ROLE = `arn:aws:iam::${MONITORING}:role/SomeoneElse`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/EgressSpikeDetectorMember`;
const OUTSIDER_ROLE = `arn:aws:iam::${OUTSIDER}:role/EgressSpikeDetectorMember`;
const EXTERNAL_ID = 'egress-spike-detector-o-abcdefghij';

/** The member role's trust: the monitoring account, only its detector role, only with the external id. */
const memberTrust = (account: string): IamPolicy => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${account}:root` },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'sts:ExternalId': EXTERNAL_ID },
        ArnEquals: { 'aws:PrincipalArn': DETECTOR_ROLE },
      },
    },
  ],
});

/** The detector role's own policy: the member role name in any account of the Organization. */
const DETECTOR_POLICY: IamPolicy = {
  Statement: [
    {
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: 'arn:aws:iam::*:role/EgressSpikeDetectorMember',
      Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-abcdefghij' } },
    },
  ],
};

let clock = Date.UTC(2026, 0, 5, 12);
let sts: LocalSts;
let ec2: LocalEc2;
let detector: STSClient;
let other: STSClient;

const eni = (i: number) => `eni-0${i.toString(16).padStart(16, '0')}`;

beforeAll(async () => {
  sts = await startLocalSts({
    callers: {
      detector: { arn: DETECTOR_ROLE, policy: DETECTOR_POLICY },
      other: { arn: OTHER_ROLE },
    },
    organizations: {
      [MONITORING]: 'o-abcdefghij',
      [MEMBER]: 'o-abcdefghij',
      [THIRD]: 'o-abcdefghij',
      [FOURTH]: 'o-abcdefghij',
      [OUTSIDER]: 'o-zzzzzzzzzz',
    },
    now: () => clock,
  });
  sts.addRole({ arn: MEMBER_ROLE, trustPolicy: JSON.stringify(memberTrust(MONITORING)) });
  sts.addRole({ arn: OUTSIDER_ROLE, trustPolicy: memberTrust(MONITORING) });
  ec2 = await startLocalEc2({ authenticate: (caller) => sts.authenticate(caller) });
  ec2.addNetworkInterfaces(
    { networkInterfaceId: eni(1), vpcId: 'vpc-0aaaaaaaaaaaaaaaa', subnetId: 'subnet-0a', ownerId: MEMBER },
    {
      networkInterfaceId: eni(2),
      vpcId: 'vpc-0bbbbbbbbbbbbbbbb',
      subnetId: 'subnet-0b',
      ownerId: MONITORING,
    },
  );
  detector = new STSClient({ ...sts.clientConfig('detector'), maxAttempts: 1 });
  other = new STSClient({ ...sts.clientConfig('other'), maxAttempts: 1 });
});

afterAll(async () => {
  detector.destroy();
  other.destroy();
  await Promise.all([sts.stop(), ec2.stop()]);
});

beforeEach(() => {
  sts.resetCounters();
  clock = Date.UTC(2026, 0, 5, 12);
});

const assume = (client: STSClient, input: Partial<AssumeRoleCommandInput> = {}) =>
  client.send(
    new AssumeRoleCommand({
      RoleArn: MEMBER_ROLE,
      RoleSessionName: 'egress-spike-detector',
      ExternalId: EXTERNAL_ID,
      DurationSeconds: 900,
      ...input,
    }),
  );

const failure = async (
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> => {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
};

describe('local STS: AssumeRole', () => {
  it('gives the trusted role, with the external id, keys of the member account that expire after DurationSeconds', async () => {
    // Act
    const out = await assume(detector);

    // Assess
    expect(out.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${MEMBER}:assumed-role/EgressSpikeDetectorMember/egress-spike-detector`,
    );
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials?.SessionToken?.length).toBeGreaterThan(100);
    expect(out.Credentials?.Expiration?.getTime()).toBe(clock + 900_000);
    expect(sts.sessions.at(-1)).toMatchObject({
      roleArn: MEMBER_ROLE,
      accountId: MEMBER,
      externalId: EXTERNAL_ID,
      callerArn: `arn:aws:sts::${MONITORING}:assumed-role/EgressSpikeDetector-detector/session`,
    });
  });

  it.each([
    ['a wrong external id', { ExternalId: 'guessed-id' }],
    ['no external id', { ExternalId: undefined }],
  ])('refuses %s with AccessDenied naming the caller and the role', async (_name, input) => {
    const error = await failure(assume(detector, input));
    expect(error).toEqual({
      name: 'AccessDenied',
      message: `User: arn:aws:sts::${MONITORING}:assumed-role/EgressSpikeDetector-detector/session is not authorized to perform: sts:AssumeRole on resource: ${MEMBER_ROLE}`,
      status: 403,
    });
  });

  it('refuses another role of the trusted account, even with the external id (aws:PrincipalArn)', async () => {
    const error = await failure(assume(other));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toContain('assumed-role/SomeoneElse/');
  });

  it('answers a role that does not exist with the same AccessDenied as a refusal', async () => {
    const missing = `arn:aws:iam::${MEMBER}:role/NoSuchRole`;
    const error = await failure(assume(detector, { RoleArn: missing }));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toContain(`on resource: ${missing}`);
  });

  it("refuses a role in an account outside the caller's Organization: its own policy's aws:ResourceOrgID", async () => {
    const error = await failure(assume(detector, { RoleArn: OUTSIDER_ROLE }));
    expect(error.name).toBe('AccessDenied');
    // The trust alone would allow it: the caller without an identity policy gets in.
    sts.addRole({
      arn: `arn:aws:iam::${OUTSIDER}:role/Open`,
      trustPolicy: {
        Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER_ROLE }, Action: 'sts:AssumeRole' }],
      },
    });
    await expect(assume(other, { RoleArn: `arn:aws:iam::${OUTSIDER}:role/Open` })).resolves.toBeDefined();
  });

  it('honours an explicit Deny over an Allow', async () => {
    // The detector may assume only roles of this name; another member account's.
    const role = `arn:aws:iam::${THIRD}:role/EgressSpikeDetectorMember`;
    const trust = memberTrust(MONITORING);
    sts.addRole({
      arn: role,
      trustPolicy: {
        Statement: [
          ...(trust.Statement as object[]),
          {
            Effect: 'Deny',
            Principal: '*',
            Action: 'sts:*',
            Condition: { StringLike: { 'sts:RoleSessionName': 'egress-*' } },
          },
        ] as IamPolicy['Statement'],
      },
    });
    expect((await failure(assume(detector, { RoleArn: role }))).name).toBe('AccessDenied');
    await expect(
      assume(detector, { RoleArn: role, RoleSessionName: 'other-session' }),
    ).resolves.toBeDefined();
  });

  it.each([
    [{ RoleSessionName: 'x' }, /roleSessionName/],
    [{ RoleSessionName: 'has space' }, /roleSessionName/],
    [{ ExternalId: 'a' }, /externalId/],
    [{ DurationSeconds: 899 }, /durationSeconds.*between 900 and 43200/],
    [{ DurationSeconds: 7200 }, /exceeds the MaxSessionDuration/],
  ])('refuses %j with a ValidationError', async (input, message) => {
    const error = await failure(assume(detector, input));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toMatch(message);
  });

  it('gives a role session (role chaining) at most an hour, whatever the role allows', async () => {
    const role = `arn:aws:iam::${FOURTH}:role/EgressSpikeDetectorMember`;
    sts.addRole({ arn: role, trustPolicy: memberTrust(MONITORING), maxSessionDuration: 43_200 });
    const error = await failure(assume(detector, { RoleArn: role, DurationSeconds: 7200 }));
    expect(error).toMatchObject({
      name: 'ValidationError',
      message:
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    });
    await expect(assume(detector, { RoleArn: role, DurationSeconds: 3600 })).resolves.toBeDefined();
  });

  it('answers unknown keys with InvalidClientTokenId and an injected fault with its code', async () => {
    const stranger = new STSClient({
      endpoint: sts.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      expect(await failure(assume(stranger))).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
    } finally {
      stranger.destroy();
    }
    sts.injectErrors('Throttling', 1, 400);
    expect((await failure(assume(detector))).name).toBe('Throttling');
    await expect(assume(detector)).resolves.toBeDefined();
  });

  it('refuses, when the role is added, a policy with parts it does not evaluate', () => {
    expect(() =>
      sts.addRole({
        arn: `arn:aws:iam::${MEMBER}:role/X`,
        trustPolicy: {
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: DETECTOR_ROLE },
              Action: 'sts:AssumeRole',
              Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01' } },
            },
          ],
        },
      }),
    ).toThrow(/condition operator DateGreaterThan/);
  });
});

describe('local STS keys at the local EC2 endpoint', () => {
  it("serves the assumed role's account only, until the keys expire", async () => {
    // Arrange
    const { Credentials } = await assume(detector);
    const member = new EC2Client({
      endpoint: ec2.endpoint,
      region: 'us-east-1',
      credentials: {
        accessKeyId: Credentials!.AccessKeyId!,
        secretAccessKey: Credentials!.SecretAccessKey!,
        sessionToken: Credentials!.SessionToken!,
      },
      maxAttempts: 1,
    });
    const own = new EC2Client({
      endpoint: ec2.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'detector', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const ids = async (client: EC2Client) =>
      (
        (await client.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5 }))).NetworkInterfaces ?? []
      ).map((e) => e.NetworkInterfaceId);
    try {
      // Act + Assess
      expect(await ids(member)).toEqual([eni(1)]);
      expect(await ids(own)).toEqual([eni(2)]);
      clock += 900_000;
      expect(await failure(ids(member))).toMatchObject({ name: 'AuthFailure', status: 401 });
      expect(await ids(own)).toEqual([eni(2)]);
    } finally {
      member.destroy();
      own.destroy();
    }
  });
});
