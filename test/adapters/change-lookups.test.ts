/**
 * The change-cause adapters through the real CloudTrail and EC2 SDK clients against the local
 * endpoints, on a fake clock the CloudTrail endpoint's rate limit reads: the lookup's pacing,
 * per-run cache, bound and deadline; the EC2 facts' batching and caching; the explainer's
 * ModifySecurityGroupRules relation and an account it cannot reach.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  AwsChangeExplainer,
  SameAccountContext,
  UnavailableChangeExplainer,
} from '../../lambda/adapters/change-explainer';
import { CloudTrailChangeLookup, LOOKUP_SPACING_MS } from '../../lambda/adapters/cloudtrail-change-lookup';
import { Ec2NetworkFacts } from '../../lambda/adapters/ec2-network-facts';
import { EGRESS_CHANGE_EVENT_NAMES, resolveDetectorConfig, type Alert, type Window } from '../../lambda/core';
import {
  TEST_ACCOUNT,
  authorizeSecurityGroupEgress,
  cloudTrailRecord,
  modifyManagedPrefixList,
  modifyNetworkInterfaceGroups,
  modifySecurityGroupRules,
  revokeSecurityGroupEgress,
} from '../support/cloudtrail-records';
import { startLocalCloudTrail, type LocalCloudTrail } from '../support/local-cloudtrail';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';

const T = Date.parse('2026-11-27T08:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SG = 'sg-0aaaaaaaaaaaaaaa1';

let clock = T + 3 * HOUR;
const now = () => clock;
/** A sleep that moves the fake clock. */
const sleep = (ms: number) => {
  clock += ms;
  return Promise.resolve();
};

let trail: LocalCloudTrail;
let ec2: LocalEc2;
let cloudTrailClient: CloudTrailClient;
let ec2Client: EC2Client;

beforeEach(async () => {
  clock = T + 3 * HOUR;
  trail = await startLocalCloudTrail({ now });
  ec2 = await startLocalEc2({ pageSize: 100 });
  cloudTrailClient = new CloudTrailClient({ ...trail.clientConfig(), maxAttempts: 1 });
  ec2Client = new EC2Client({ ...ec2.clientConfig(), maxAttempts: 1 });
});

afterEach(async () => {
  cloudTrailClient.destroy();
  ec2Client.destroy();
  await Promise.all([trail.stop(), ec2.stop()]);
});

const lookup = (options: { maxCalls?: number } = {}) =>
  new CloudTrailChangeLookup({ client: cloudTrailClient, now, sleep, ...options });

describe('CloudTrailChangeLookup', () => {
  it('asks once per event name, pages by NextToken, paces the calls, and reads only what it has not read yet', async () => {
    // Prepare: 70 revokes over two hours (two pages of that name), one authorize.
    for (let i = 0; i < 70; i += 1)
      trail.seed(
        revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
          at: T + i * MINUTE,
          eventId: `r-${i}`,
        }),
      );
    trail.seed(
      authorizeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: T + 90 * MINUTE,
        eventId: 'a-1',
      }),
    );
    const reader = lookup();

    // Act
    const first = await reader.lookUp(T, T + HOUR, clock + 60_000);
    const inside = await reader.lookUp(T + 10 * MINUTE, T + 50 * MINUTE, clock + 60_000);
    const later = await reader.lookUp(T + 30 * MINUTE, T + 2 * HOUR, clock + 60_000);

    // Assess
    expect(first.outcome).toEqual({ status: 'complete' });
    expect(first.changes.map((c) => c.eventId).sort()).toEqual(
      Array.from({ length: 61 }, (_, i) => `r-${i}`).sort(), // T..T+60 inclusive
    );
    expect(first.calls).toBe(EGRESS_CHANGE_EVENT_NAMES.length + 1); // one more page of revokes
    expect(inside).toMatchObject({ calls: 0, outcome: { status: 'complete' } });
    expect(inside.changes).toHaveLength(41);
    expect(later.calls).toBe(EGRESS_CHANGE_EVENT_NAMES.length); // only the hour after T+60
    expect(later.changes.map((c) => c.eventId)).toContain('a-1');
    expect(trail.calls.slice(-later.calls).every((c) => c.request.StartTime === (T + HOUR) / 1000)).toBe(
      true,
    );
    const names = trail.calls.map(
      (c) => (c.request.LookupAttributes as { AttributeValue: string }[])[0]!.AttributeValue,
    );
    expect(new Set(names)).toEqual(new Set(EGRESS_CHANGE_EVENT_NAMES));
    expect(trail.throttled).toBe(0);
    const gaps = trail.calls.slice(1).map((c, i) => c.at - trail.calls[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(LOOKUP_SPACING_MS);
  });

  it('spaces the calls from when the previous one finished: a slow answer does not bunch the next calls at the endpoint', async () => {
    // Prepare: the first call takes 400 ms to reach the endpoint, the others none. Spaced from
    // when a call was sent, calls 2 and 3 would reach it 150 and 700 ms after call 1: three in a
    // second, which the API throttles.
    const latencies = [400];
    const slowFirst = {
      send: (async (command: never) => {
        clock += latencies.shift() ?? 0;
        return cloudTrailClient.send(command);
      }) as CloudTrailClient['send'],
    };
    const reader = new CloudTrailChangeLookup({ client: slowFirst, now, sleep });

    // Act
    const result = await reader.lookUp(T - HOUR, T + HOUR, clock + 60_000);

    // Assess
    expect(result.outcome).toEqual({ status: 'complete' });
    expect(trail.throttled).toBe(0);
    const gaps = trail.calls.slice(1).map((c, i) => c.at - trail.calls[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(LOOKUP_SPACING_MS);
  });

  it('stops at the per-run bound: what it read is returned, marked incomplete', async () => {
    trail.seed(
      revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: T, eventId: 'r-0' }),
    );
    const reader = lookup({ maxCalls: 3 });

    const result = await reader.lookUp(T - HOUR, T + HOUR, clock + 60_000);

    expect(result.calls).toBe(3);
    expect(result.changes.map((c) => c.eventId)).toEqual(['r-0']); // RevokeSecurityGroupEgress is the second name
    expect(result.outcome).toEqual({
      status: 'incomplete',
      reason: 'the per-run bound of 3 LookupEvents calls was reached',
    });
    // Once stopped, the run asks no more.
    const again = await reader.lookUp(T + 2 * HOUR, T + 3 * HOUR, clock + 60_000);
    expect(again.calls).toBe(0);
    expect(again.outcome.status).toBe('unavailable');
  });

  it('makes no call it has no time for before the deadline', async () => {
    const reader = lookup();

    const result = await reader.lookUp(T - HOUR, T + HOUR, clock + 1_500);

    expect(result.calls).toBeLessThanOrEqual(2);
    expect(result.outcome).toMatchObject({ reason: 'the run had no time left for CloudTrail lookups' });
    expect(clock).toBeLessThanOrEqual(T + 3 * HOUR + 1_500);
  });

  it('reads no change from failed calls or unparseable records', async () => {
    trail.seed(
      revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: T,
        eventId: 'denied',
        errorCode: 'Client.UnauthorizedOperation',
      }),
      {
        ...cloudTrailRecord('RevokeSecurityGroupEgress', { groupId: 'not-a-group' }, null, {
          at: T + MINUTE,
        }),
      },
    );

    const result = await lookup().lookUp(T - HOUR, T + HOUR, clock + 60_000);

    expect(result).toMatchObject({ changes: [], outcome: { status: 'complete' } });
  });

  it('reads the last 10 minutes before the lookup but does not call them complete, and reads them again later', async () => {
    // A revoke 2 minutes ago that CloudTrail delivers 3 minutes from now.
    trail.seed({
      record: revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: clock - 2 * MINUTE,
        eventId: 'late',
      }),
      visibleAt: clock + 3 * MINUTE,
    });
    const reader = lookup();
    const end = clock;

    const early = await reader.lookUp(end - HOUR, end, clock + 60_000);
    expect(early.changes).toEqual([]);
    expect(early.outcome).toEqual({
      status: 'incomplete',
      reason:
        'changes made after 2026-11-27T10:50Z may not be in CloudTrail yet (it delivers events minutes after the call; a lagMinutes of 10 or more leaves time for it)',
    });

    clock += 15 * MINUTE;
    const later = await reader.lookUp(end - HOUR, end, clock + 60_000);
    expect(later.changes.map((c) => c.eventId)).toEqual(['late']);
    expect(later.outcome).toEqual({ status: 'complete' });
    expect(later.calls).toBe(EGRESS_CHANGE_EVENT_NAMES.length);

    // A range that ended 10 minutes before the lookup is settled.
    const settled = await lookup().lookUp(clock - HOUR, clock - 10 * MINUTE, clock + 60_000);
    expect(settled.outcome).toEqual({ status: 'complete' });
  });

  it("never calls a range older than CloudTrail's 90 days of event history complete", async () => {
    // Prepare: a revoke 100 days ago, which LookupEvents no longer holds
    const DAY = 24 * HOUR;
    trail.seed(
      revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: clock - 100 * DAY }),
    );
    const tooOld = "part of the search range is older than CloudTrail's 90-day event history";

    // Act
    const old = await lookup().lookUp(clock - 100 * DAY - HOUR, clock - 100 * DAY + HOUR, clock + 60_000);
    const straddling = await lookup().lookUp(clock - 91 * DAY, clock - 89 * DAY, clock + 60_000);

    // Assess: the old range not asked at all; the straddling one read where it can be, incomplete
    expect(old).toEqual({ changes: [], outcome: { status: 'unavailable', reason: tooOld }, calls: 0 });
    expect(straddling.outcome).toEqual({ status: 'incomplete', reason: tooOld });
    expect(straddling.calls).toBe(EGRESS_CHANGE_EVENT_NAMES.length);
  });

  it('reads the time between two ranges read apart when a later window asks for it', async () => {
    trail.seed(
      revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: T + HOUR,
        eventId: 'between',
      }),
    );
    const reader = lookup();
    await reader.lookUp(T, T + 30 * MINUTE, clock + 60_000);
    await reader.lookUp(T + 2 * HOUR, T + 150 * MINUTE, clock + 60_000);

    const middle = await reader.lookUp(T + 30 * MINUTE, T + 2 * HOUR, clock + 60_000);

    expect(middle.changes.map((c) => c.eventId)).toEqual(['between']);
    expect(middle.outcome).toEqual({ status: 'complete' });
  });
});

describe('Ec2NetworkFacts', () => {
  it('asks for 250 addresses in calls of at most 200 filter values, once per run, and the subnets’ ACLs in one', async () => {
    const addresses = Array.from({ length: 250 }, (_, i) => `10.1.${Math.floor(i / 200)}.${i % 200}`);
    ec2.addNetworkInterfaces(
      ...addresses.map((address, i) => ({
        networkInterfaceId: `eni-0${i.toString(16).padStart(16, '0')}`,
        vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
        subnetId: `subnet-0${(i % 2).toString(16).padStart(16, '0')}`,
        privateIpAddress: address,
        groups: [{ groupId: SG, groupName: 'web' }],
      })),
    );
    ec2.addNetworkAcls(
      ...[0, 1].map((i) => ({
        networkAclId: `acl-0${i.toString(16).padStart(16, '0')}`,
        vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
        associations: [
          {
            associationId: `aclassoc-0${i.toString(16).padStart(16, '0')}`,
            subnetId: `subnet-0${i.toString(16).padStart(16, '0')}`,
          },
        ],
      })),
    );
    const facts = new Ec2NetworkFacts({ client: ec2Client });

    const first = await facts.factsFor(
      addresses.map((address) => ({ address })),
      [],
    );
    const again = await facts.factsFor(
      addresses.slice(0, 10).map((address) => ({ address })),
      [],
    );

    expect(first.failure).toBeUndefined();
    expect(first.topology.interfaces).toHaveLength(250);
    expect(first.topology.subnetAcls.map((a) => a.networkAclId).sort()).toEqual([
      'acl-00000000000000000',
      'acl-00000000000000001',
    ]);
    // 200 + 50 filter values; the endpoint pages by 100, so the first takes two pages
    expect(ec2.count('DescribeNetworkInterfaces')).toBe(3);
    expect(
      ec2.requests
        .filter((r) => r.action === 'DescribeNetworkInterfaces')
        .map((r) => Object.keys(r.params).filter((k) => k.startsWith('Filter.1.Value.')).length),
    ).toEqual([200, 200, 50]);
    expect(ec2.count('DescribeNetworkAcls')).toBe(1);
    expect(again.topology.interfaces).toHaveLength(250);
    expect(ec2.requests).toHaveLength(4); // nothing asked twice in a run
  });
});

describe('AwsChangeExplainer', () => {
  // The default lag: the run looks up 20 minutes after the window's end, when CloudTrail has
  // delivered the events of the range searched (to 10 minutes after the end).
  const config = resolveDetectorConfig({});
  const W = T + 2 * HOUR;
  const window: Window = { start: W, end: W + HOUR };
  const spike = (srcIp: string, extra: Record<string, unknown> = {}): Alert =>
    ({
      alertId: `2026-11-27T10:00:00Z/${srcIp}`,
      kind: 'spike',
      preset: 'recommended',
      severity: 'high',
      windowStart: '2026-11-27T10:00:00Z',
      windowEnd: '2026-11-27T11:00:00Z',
      srcIp,
      blockedCount: 300,
      uniqueDestinations: 5,
      baseline: { mean: 3, sd: 1, dataPoints: 48 },
      zScore: 297,
      ...extra,
    }) as Alert;
  const explainer = (detectorConfig = config) =>
    new AwsChangeExplainer({
      config: detectorConfig,
      region: 'us-east-1',
      ownAccountId: TEST_ACCOUNT,
      accounts: new SameAccountContext(TEST_ACCOUNT),
      clientsFor: () => ({ cloudTrail: cloudTrailClient, ec2: ec2Client }),
      now,
      sleep,
      logger: { warn: () => undefined, error: () => undefined },
    });

  beforeEach(() => {
    clock = W + HOUR + 20 * MINUTE;
    ec2.addNetworkInterfaces(
      ...['10.0.1.21', '10.0.1.22'].map((address, i) => ({
        networkInterfaceId: `eni-0aaaaaaaaaaaaaa${i}1`,
        vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
        subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
        privateIpAddress: address,
        groups: [{ groupId: i === 0 ? SG : 'sg-0bbbbbbbbbbbbbbb2', groupName: i === 0 ? 'web' : 'db' }],
      })),
    );
    ec2.addSecurityGroupRules(
      { securityGroupRuleId: 'sgr-0aaaaaaaaaaaaaaa1', groupId: SG, isEgress: true },
      { securityGroupRuleId: 'sgr-0bbbbbbbbbbbbbbb2', groupId: 'sg-0bbbbbbbbbbbbbbb2', isEgress: false },
    );
  });

  it('relates ModifySecurityGroupRules through DescribeSecurityGroupRules: an egress rule explains, an ingress rule does not', async () => {
    trail.seed(
      modifySecurityGroupRules(
        SG,
        [{ ruleId: 'sgr-0aaaaaaaaaaaaaaa1', protocol: 'tcp', fromPort: 443, cidr: '10.0.0.0/8' }],
        {
          at: W - 5 * MINUTE,
          eventId: 'modify-egress',
        },
      ),
      modifySecurityGroupRules(
        'sg-0bbbbbbbbbbbbbbb2',
        [{ ruleId: 'sgr-0bbbbbbbbbbbbbbb2', protocol: 'tcp', fromPort: 22, cidr: '10.0.0.0/8' }],
        { at: W - 4 * MINUTE, eventId: 'modify-ingress' },
      ),
    );

    const [egress, ingress] = await explainer().explain(
      [spike('10.0.1.21'), spike('10.0.1.22')],
      window,
      clock + 120_000,
    );

    expect(egress?.likelyCause).toMatchObject({
      eventId: 'modify-egress',
      resource: SG,
      description: 'rule sgr-0aaaaaaaaaaaaaaa1 changed to tcp/443 with 10.0.0.0/8',
    });
    expect(ingress?.causeLookup?.status).toBe('none');
    expect(ec2.count('DescribeSecurityGroupRules')).toBe(1);
  });

  it('with a lag shorter than CloudTrail needs, says the lookup is not complete rather than that no change was made', async () => {
    // A lag of 5: the search ends at the window's end, 5 minutes before the lookup.
    const shortLag = resolveDetectorConfig({ lagMinutes: 5 });
    clock = W + HOUR + 5 * MINUTE;
    const [alert] = await explainer(shortLag).explain([spike('10.0.1.21')], window, clock + 120_000);

    expect(alert?.causeLookup?.status).not.toBe('none');
    expect(alert?.causeLookup?.reason).toMatch(/may not be in CloudTrail yet/);
  });

  it('says so when the source is in an account it has no access to, and asks nothing there', async () => {
    const [alert] = await explainer().explain(
      [spike('10.0.1.21', { accountId: '210987654321' })],
      window,
      clock + 120_000,
    );

    expect(alert?.causeLookup).toMatchObject({
      status: 'unavailable',
      reason: 'no access to account 210987654321 in us-east-1 (no member role, or it could not be assumed)',
    });
    expect(trail.calls).toHaveLength(0);
  });
});

describe('AwsChangeExplainer in a monitoring account', () => {
  it("says a source whose records name no account cannot be looked up (it may be any linked account's), and asks nothing for it", async () => {
    const config = resolveDetectorConfig({});
    const W = T + 2 * HOUR;
    clock = W + HOUR + 20 * MINUTE;
    const asked: string[] = [];
    const explainer = new AwsChangeExplainer({
      config,
      region: 'us-east-1',
      ownAccountId: TEST_ACCOUNT,
      linkedAccounts: true,
      accounts: new SameAccountContext(TEST_ACCOUNT),
      clientsFor: (accountId) => {
        asked.push(accountId);
        return { cloudTrail: cloudTrailClient, ec2: ec2Client };
      },
      now,
      sleep,
      logger: { warn: () => undefined, error: () => undefined },
    });
    const spike = (srcIp: string, accountId?: string): Alert =>
      ({
        alertId: `2026-11-27T10:00:00Z/${accountId ?? '-'}|${srcIp}`,
        kind: 'spike',
        preset: 'recommended',
        severity: 'high',
        windowStart: '2026-11-27T10:00:00Z',
        windowEnd: '2026-11-27T11:00:00Z',
        srcIp,
        ...(accountId === undefined ? {} : { accountId }),
        blockedCount: 300,
        uniqueDestinations: 5,
        baseline: { mean: 3, sd: 1, dataPoints: 48 },
        zScore: 297,
      }) as Alert;

    const [unknown, own] = await explainer.explain(
      [spike('10.0.5.5'), spike('10.0.1.21', TEST_ACCOUNT)],
      { start: W, end: W + HOUR },
      clock + 120_000,
    );

    expect(unknown?.causeLookup).toMatchObject({
      status: 'unavailable',
      reason:
        "the records name no account (an interface an AWS service created), which in a monitoring account may be any linked account's: whose CloudTrail holds its changes is not known",
    });
    // The source of a named account is looked up in it, as before.
    expect(own?.causeLookup?.status).toBe('none');
    expect(asked).toEqual([TEST_ACCOUNT]);
  });
});

describe('AwsChangeExplainer over two accounts', () => {
  const A = '111111111111';
  const B = '222222222222';
  const LIST = 'pl-0aaaaaaaaaaaaaaa1';
  const W = T + 2 * HOUR;
  const spike = (srcIp: string, accountId: string): Alert =>
    ({
      alertId: `2026-11-27T10:00:00Z/${accountId}|${srcIp}`,
      kind: 'spike',
      preset: 'recommended',
      severity: 'high',
      windowStart: '2026-11-27T10:00:00Z',
      windowEnd: '2026-11-27T11:00:00Z',
      srcIp,
      accountId,
      blockedCount: 300,
      uniqueDestinations: 5,
      baseline: { mean: 3, sd: 1, dataPoints: 48 },
      zScore: 297,
    }) as Alert;
  let trails: Record<string, LocalCloudTrail>;
  let ec2s: Record<string, LocalEc2>;
  const clients: { destroy(): void }[] = [];

  beforeEach(async () => {
    clock = W + HOUR + 20 * MINUTE;
    trails = {
      [A]: await startLocalCloudTrail({ now, defaultAccountId: A }),
      [B]: await startLocalCloudTrail({ now, defaultAccountId: B }),
    };
    ec2s = { [A]: await startLocalEc2({ pageSize: 100 }), [B]: await startLocalEc2({ pageSize: 100 }) };
    // A: 10.0.1.21, whose group's egress rule allows tcp/443 to B's list (shared through AWS RAM);
    // B: an alerted host of its own.
    ec2s[A]!.addNetworkInterfaces({
      networkInterfaceId: 'eni-0aaaaaaaaaaaaaa01',
      vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
      subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
      privateIpAddress: '10.0.1.21',
      ownerId: A,
      groups: [{ groupId: 'sg-0aaaaaaaaaaaaaaa1', groupName: 'web' }],
    });
    ec2s[A]!.addSecurityGroupRules({
      securityGroupRuleId: 'sgr-0aaaaaaaaaaaaaaa1',
      groupId: 'sg-0aaaaaaaaaaaaaaa1',
      isEgress: true,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      prefixListId: LIST,
      groupOwnerId: A,
    });
    ec2s[B]!.addNetworkInterfaces({
      networkInterfaceId: 'eni-0bbbbbbbbbbbbbb01',
      vpcId: 'vpc-0bbbbbbbbbbbbbbbb',
      subnetId: 'subnet-0bbbbbbbbbbbbbbb1',
      privateIpAddress: '10.9.0.5',
      ownerId: B,
      groups: [{ groupId: 'sg-0bbbbbbbbbbbbbbb1', groupName: 'other' }],
    });
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy());
    await Promise.all([...Object.values(trails), ...Object.values(ec2s)].map((s) => s.stop()));
  });

  const explainer = () =>
    new AwsChangeExplainer({
      config: resolveDetectorConfig({}),
      region: 'us-east-1',
      ownAccountId: A,
      accounts: { clientConfigFor: (_account: string, region: string) => Promise.resolve({ region }) },
      clientsFor: (accountId) => {
        const cloudTrail = new CloudTrailClient({ ...trails[accountId]!.clientConfig(), maxAttempts: 1 });
        const ec2Client = new EC2Client({ ...ec2s[accountId]!.clientConfig(), maxAttempts: 1 });
        clients.push(cloudTrail, ec2Client);
        return { cloudTrail, ec2: ec2Client };
      },
      now,
      sleep,
      logger: { warn: () => undefined, error: () => undefined },
    });

  it("relates the owner's edit of a shared prefix list to another account's source whose egress rule names it", async () => {
    // Prepare: B removed an entry from its list 5 minutes before W; A's CloudTrail holds nothing
    trails[B]!.seed(
      modifyManagedPrefixList(
        LIST,
        { remove: ['198.51.100.0/24'] },
        { at: W - 5 * MINUTE, eventId: 'pl-edit', accountId: B },
      ),
    );

    // Act
    const [inA, inB] = await explainer().explain(
      [spike('10.0.1.21', A), spike('10.9.0.5', B)],
      { start: W, end: W + HOUR },
      clock + 120_000,
    );

    // Assess: A's groups' rules were read, and name the list
    expect(inA?.likelyCause).toMatchObject({ eventId: 'pl-edit', resource: LIST, accountId: B });
    expect(ec2s[A]!.count('DescribeSecurityGroupRules')).toBeGreaterThan(0);
    expect(inB?.causeLookup?.status).toBe('none');
  });

  it("describes nothing in an account whose sources no change read can relate to (another account's interface group set)", async () => {
    // Prepare: B set the groups of its own interface; A's CloudTrail holds nothing
    trails[B]!.seed(
      modifyNetworkInterfaceGroups('eni-0bbbbbbbbbbbbbb01', ['sg-0bbbbbbbbbbbbbbb1'], {
        at: W - 5 * MINUTE,
        eventId: 'groups-b',
        accountId: B,
      }),
    );

    // Act
    const [inA, inB] = await explainer().explain(
      [spike('10.0.1.21', A), spike('10.9.0.5', B)],
      { start: W, end: W + HOUR },
      clock + 120_000,
    );

    // Assess
    expect(inA?.causeLookup?.status).toBe('none');
    expect(ec2s[A]!.requests).toHaveLength(0);
    expect(inB?.likelyCause?.eventId).toBe('groups-b');
  });

  it("a source of an account whose CloudTrail held nothing, when another's held an unrelated change: none found, its interfaces described", async () => {
    // Prepare
    trails[B]!.seed(
      revokeSecurityGroupEgress(
        'sg-0bbbbbbbbbbbbbbb1',
        [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }],
        {
          at: W - 5 * MINUTE,
          eventId: 'revoke-b',
          accountId: B,
        },
      ),
    );

    // Act
    const [inA, inB] = await explainer().explain(
      [spike('10.0.1.21', A), spike('10.9.0.5', B)],
      { start: W, end: W + HOUR },
      clock + 120_000,
    );

    // Assess
    expect(inA?.causeLookup?.status).toBe('none');
    expect(inB?.likelyCause?.eventId).toBe('revoke-b');
  });
});

describe('UnavailableChangeExplainer (Athena flow logs of another Region)', () => {
  it('says why on every spike and mass spike, and leaves new sources alone', async () => {
    // Prepare
    const window: Window = { start: T, end: T + HOUR };
    const base = {
      preset: 'recommended' as const,
      severity: 'high' as const,
      windowStart: '2026-11-27T08:00:00Z',
      windowEnd: '2026-11-27T09:00:00Z',
      blockedCount: 400,
      uniqueDestinations: 3,
      baseline: null,
      zScore: null,
    };
    const alerts: Alert[] = [
      { ...base, alertId: 'a/spike', kind: 'spike', srcIp: '10.0.1.10' },
      { ...base, alertId: 'a/mass-spike', kind: 'mass-spike', srcIps: ['10.0.1.10', '10.0.1.11'] },
      { ...base, alertId: 'a/new', kind: 'new-source', srcIp: '10.0.1.12' },
    ];
    const explainer = new UnavailableChangeExplainer(
      resolveDetectorConfig({}),
      'the flow logs include eu-west-1',
    );

    // Act
    const [spike, mass, fresh] = await explainer.explain(alerts, window);

    // Assess
    const lookup = {
      status: 'unavailable',
      from: '2026-11-27T06:00:00Z',
      to: '2026-11-27T09:10:00Z',
      reason: 'the flow logs include eu-west-1',
    };
    expect(spike?.causeLookup).toEqual(lookup);
    expect(mass?.causeLookup).toEqual(lookup);
    expect(fresh).toEqual(alerts[2]);
  });
});
