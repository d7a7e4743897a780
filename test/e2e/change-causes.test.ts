/**
 * Change-aware alerts end to end: the Lambda runtime with LOOK_UP_CHANGE_CAUSES through the real
 * CloudTrail and EC2 SDK clients against the local CloudTrail endpoint (LookupEvents, two calls a
 * second per account and Region, 50 events a page) and the local EC2 endpoint (interfaces, network
 * ACLs), with the e2e harness's Logs Insights, DynamoDB and SNS. The runtime's sleeps move the test
 * clock, which the CloudTrail endpoint's rate limit reads: pacing is checked, not waited for.
 */
import type { ChatbotNotification, PublishedAlert } from '../../lambda/adapters/alert-format';
import {
  DEPLOYER,
  TEST_ACCOUNT,
  authorizeSecurityGroupEgress,
  authorizeSecurityGroupIngress,
  createNetworkAclEntry,
  modifyManagedPrefixList,
  replaceNetworkAclEntry,
  revokeSecurityGroupEgress,
  runInstances,
} from '../support/cloudtrail-records';
import { startLocalCloudTrail, type LocalCloudTrail, type SeededRecord } from '../support/local-cloudtrail';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';
import type { LocalSns } from '../support/local-sns';
import {
  HOUR,
  blocked,
  flowRecord,
  history,
  newDetector,
  startEndpoints,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const MINUTE = 60_000;
const at = (ms: number) => new Date(ms).toISOString();
/** A run time at which `windowStart` is the latest closed window (10 minutes of lag). */
const runTimeFor = (windowStart: number) => at(windowStart + HOUR + 12 * MINUTE);

const VPC = 'vpc-0c0c0c0c0c0c0c0c0';
const WEB_SG = 'sg-0aaaaaaaaaaaaaaa1';
const DB_SG = 'sg-0bbbbbbbbbbbbbbb2';
const OTHER_SG = 'sg-0ccccccccccccccc3';
const WEB_SUBNET = 'subnet-0aaaaaaaaaaaaaaa1';
const DB_SUBNET = 'subnet-0bbbbbbbbbbbbbbb2';
const WEB_ACL = 'acl-0aaaaaaaaaaaaaaa1';
const DB_ACL = 'acl-0bbbbbbbbbbbbbbb2';

/** Hosts in the web group and subnet, and in the db group and subnet. */
const WEB = ['10.0.1.21', '10.0.1.22', '10.0.1.23', '10.0.1.24', '10.0.1.25'];
const DB = ['10.0.2.31', '10.0.2.32'];
const QUIET = ['10.0.1.10', '10.0.2.11', '10.0.2.12'];
const ALL = [...WEB, ...DB, ...QUIET];

/** The interface id the harness's flow records give an address (so details and EC2 agree). */
const eniOf = (src: string) =>
  `eni-0${src
    .replace(/[^0-9]/g, '')
    .padStart(16, '0')
    .slice(-16)}`;

const CONSOLE = (eventId: string) =>
  `https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/${eventId}`;

let endpoints: Endpoints;
let trail: LocalCloudTrail;
let ec2: LocalEc2;
/** The clock of the detector under test: the CloudTrail endpoint's rate limit and retention read it. */
let clockOf: () => number = Date.now;

beforeAll(async () => {
  endpoints = await startEndpoints();
});

afterAll(async () => {
  await endpoints.stop();
});

beforeEach(async () => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
  trail = await startLocalCloudTrail({ now: () => clockOf() });
  ec2 = await startLocalEc2();
  ec2.addNetworkInterfaces(
    ...ALL.map((address) => {
      const web = address.startsWith('10.0.1.');
      return {
        networkInterfaceId: eniOf(address),
        vpcId: VPC,
        subnetId: web ? WEB_SUBNET : DB_SUBNET,
        privateIpAddress: address,
        groups: [{ groupId: web ? WEB_SG : DB_SG, groupName: web ? 'web' : 'db' }],
        attachment: { instanceId: `i-0${eniOf(address).slice(5)}` },
      };
    }),
  );
  ec2.addNetworkAcls(
    {
      networkAclId: WEB_ACL,
      vpcId: VPC,
      associations: [{ associationId: 'aclassoc-0aaaaaaaaaaaaaaa1', subnetId: WEB_SUBNET }],
    },
    {
      networkAclId: DB_ACL,
      vpcId: VPC,
      associations: [{ associationId: 'aclassoc-0bbbbbbbbbbbbbbb2', subnetId: DB_SUBNET }],
    },
  );
});

afterEach(async () => {
  await Promise.all([trail.stop(), ec2.stop()]);
});

/**
 * A detector with change causes on, bootstrapped on a quiet day of every host; in W the
 * `spiking` hosts send 300 blocked records each, the others their usual few. The clock is then at
 * the run time of W and the CloudTrail and EC2 counters are clear.
 */
async function detectorWithSpikes(
  spiking: readonly string[],
  detectorConfig: Record<string, unknown> = {},
): Promise<Detector> {
  const detector = await newDetector(endpoints, {
    detectorConfig,
    env: {
      LOOK_UP_CHANGE_CAUSES: 'true',
      CLOUDTRAIL_ENDPOINT: trail.endpoint,
      EC2_ENDPOINT: ec2.endpoint,
    },
    sleepAdvancesClock: true,
  });
  clockOf = detector.clock.now;
  endpoints.logs.seed(detector.logGroup, [
    ...history(W, 24, ALL),
    ...ALL.map((src, i) =>
      spiking.includes(src) ? blocked(W, src, 300, 5) : blocked(W, src, 2 + (i % 4)),
    ).flat(),
  ]);
  detector.clock.set(runTimeFor(W - HOUR));
  await detector.invoke({ mode: 'bootstrap', days: 1 });
  detector.clock.set(runTimeFor(W));
  trail.resetCounters();
  ec2.resetCounters();
  endpoints.sns.reset();
  return detector;
}

interface Published {
  raw: PublishedAlert;
  email: string;
  chat: ChatbotNotification;
  subject: string;
  attributes: LocalSns['published'][number]['attributes'];
}

function published(): Published[] {
  return endpoints.sns.published.map((p) => ({
    raw: JSON.parse(p.perProtocol!.sqs!) as PublishedAlert,
    email: p.perProtocol!.email!,
    chat: JSON.parse(p.perProtocol!.default!) as ChatbotNotification,
    subject: p.subject!,
    attributes: p.attributes,
  }));
}

const bySource = (alerts: Published[]) =>
  new Map(alerts.filter((a) => a.raw.srcIp !== undefined).map((a) => [a.raw.srcIp!, a]));

/** The egress revoke on the web group, 8 minutes before W. */
const webRevoke = () =>
  revokeSecurityGroupEgress(WEB_SG, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
    at: W - 8 * MINUTE,
    eventId: 'revoke-web-0852',
  });

const WEB_REVOKE_TEXT =
  `RevokeSecurityGroupEgress on ${WEB_SG} (egress tcp/443 to 0.0.0.0/0 removed) by ${DEPLOYER} ` +
  'at 08:52 UTC, 8 minutes before the window';

describe('change-aware alerts through CloudTrail and EC2', () => {
  it('an egress revoke on the web group 8 minutes before: each of its three hosts names it; a later change to an unrelated group explains nothing', async () => {
    // Prepare: three web hosts and one db host spike. CloudTrail holds the revoke, a later revoke
    // on a group none of them has, an ingress change on the web group, 60 egress authorizations on
    // other groups (two pages of one event name), a RunInstances, and a revoke before the lookback.
    const spiking = [...WEB.slice(0, 3), DB[0]!];
    const detector = await detectorWithSpikes(spiking);
    trail.seed(
      webRevoke(),
      revokeSecurityGroupEgress(OTHER_SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: W + 5 * MINUTE,
        eventId: 'revoke-other-0905',
      }),
      authorizeSecurityGroupIngress(WEB_SG, [{ protocol: 'tcp', fromPort: 22, cidr: '10.0.0.0/8' }], {
        at: W - 2 * MINUTE,
        eventId: 'ingress-web',
      }),
      runInstances('i-0abcdefabcdefabcd', { at: W - 3 * MINUTE, eventId: 'run' }),
      revokeSecurityGroupEgress(DB_SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: W - 3 * HOUR,
        eventId: 'revoke-db-too-early',
      }),
      ...Array.from({ length: 60 }, (_, i) =>
        authorizeSecurityGroupEgress(
          `sg-0d${String(i).padStart(15, '0')}`,
          [{ protocol: '-1', cidr: '0.0.0.0/0' }],
          {
            at: W - 100 * MINUTE + i * MINUTE,
            eventId: `authorize-${i}`,
          },
        ),
      ),
    );

    // Act
    const run = await detector.invoke({});

    // Assess: every alert went out in this run
    expect(run).toMatchObject({ spikes: 4, alertsDecided: 4, alertsPublished: 4 });
    expect(run.changeCauses).toEqual({ found: 3, none: 1, unavailable: 0 });
    const alerts = bySource(published());
    expect([...alerts.keys()].sort()).toEqual([...spiking].sort());
    for (const host of WEB.slice(0, 3)) {
      const alert = alerts.get(host)!;
      expect(alert.raw.likelyCause).toEqual({
        eventId: 'revoke-web-0852',
        eventName: 'RevokeSecurityGroupEgress',
        eventTime: '2026-11-27T08:52:00Z',
        principal: DEPLOYER,
        resource: WEB_SG,
        description: 'egress tcp/443 to 0.0.0.0/0 removed',
        accountId: TEST_ACCOUNT,
        region: 'us-east-1',
        consoleUrl: CONSOLE('revoke-web-0852'),
        minutesFromWindowStart: -8,
      });
      expect(alert.raw.causeLookup).toEqual({
        status: 'found',
        from: '2026-11-27T07:00:00Z',
        to: '2026-11-27T10:00:00Z',
        relatedChanges: 1,
      });
      expect(alert.email).toContain(`Likely cause:        ${WEB_REVOKE_TEXT}`);
      expect(alert.email).toContain(`CloudTrail event:    ${CONSOLE('revoke-web-0852')}`);
      expect(alert.chat.content.description).toContain(`*Likely cause:* ${WEB_REVOKE_TEXT}`);
      expect(alert.chat.content.nextSteps?.join('\n')).toContain(CONSOLE('revoke-web-0852'));
      expect(alert.raw.severity).not.toBe('low'); // annotate: the alert is kept as it was
    }
    const db = alerts.get(DB[0]!)!;
    expect(db.raw.likelyCause).toBeUndefined();
    expect(db.raw.causeLookup).toMatchObject({ status: 'none' });
    expect(db.email).toContain(
      'Likely cause:        none found: no egress-policy change of its security groups or network ACL in CloudTrail from 2026-11-27 07:00 to 10:00 UTC',
    );

    // Assess: the lookups, within LookupEvents' limits
    const calls = trail.calls;
    expect(trail.throttled).toBe(0);
    expect(calls.every((c) => c.error === undefined)).toBe(true);
    expect(calls).toHaveLength(14); // thirteen event names, one of them two pages
    expect(calls.filter((c) => c.request.NextToken !== undefined)).toHaveLength(1);
    for (const call of calls) {
      expect(call).toMatchObject({ accountId: TEST_ACCOUNT, region: 'us-east-1' });
      expect(call.request).toMatchObject({
        StartTime: (W - 120 * MINUTE) / 1000,
        EndTime: (W + HOUR) / 1000,
        MaxResults: 50,
      });
      expect(call.request.LookupAttributes).toHaveLength(1);
    }
    // Two calls a second at most: consecutive calls at least half a second apart on the endpoint's clock.
    for (let i = 1; i < calls.length; i += 1)
      expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(500);
    // The network facts in one batch: the four hosts' interfaces by address, their subnets' ACLs.
    expect(ec2.count('DescribeNetworkInterfaces')).toBe(1);
    expect(ec2.count('DescribeNetworkAcls')).toBe(1);
    expect(ec2.count('DescribeSecurityGroupRules')).toBe(0);
  });

  it("a network ACL's egress entry replaced on a subnet: its hosts' alerts name it, the other subnet's do not", async () => {
    // Prepare: two web hosts and one db host spike; the web subnet's ACL got a deny entry 10
    // minutes into W; the db ACL an ingress entry (not egress: no cause).
    const detector = await detectorWithSpikes([WEB[0]!, WEB[1]!, DB[0]!]);
    trail.seed(
      replaceNetworkAclEntry(
        WEB_ACL,
        { ruleNumber: 100, egress: true, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0' },
        { at: W + 10 * MINUTE, eventId: 'acl-web-0910' },
      ),
      replaceNetworkAclEntry(
        DB_ACL,
        { ruleNumber: 100, egress: false, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0' },
        { at: W + 11 * MINUTE, eventId: 'acl-db-ingress' },
      ),
    );

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ alertsPublished: 3, changeCauses: { found: 2, none: 1, unavailable: 0 } });
    const alerts = bySource(published());
    for (const host of [WEB[0]!, WEB[1]!]) {
      expect(alerts.get(host)!.raw.likelyCause).toMatchObject({
        eventId: 'acl-web-0910',
        eventName: 'ReplaceNetworkAclEntry',
        resource: WEB_ACL,
        description: 'egress entry 100 replaced with deny all traffic to 0.0.0.0/0',
        minutesFromWindowStart: 10,
      });
      expect(alerts.get(host)!.email).toContain(
        `Likely cause:        ReplaceNetworkAclEntry on ${WEB_ACL} (egress entry 100 replaced with deny all traffic to 0.0.0.0/0) by ${DEPLOYER} at 09:10 UTC, 10 minutes into the window`,
      );
    }
    expect(alerts.get(DB[0]!)!.raw.causeLookup?.status).toBe('none');
  });

  it("a managed prefix list's entry removed: hosts whose group has an egress rule naming the list name it; the groups' rules are read only then", async () => {
    // Prepare: the web group's egress rule allows tcp/443 to a partners' prefix list, from which
    // an entry is removed 5 minutes before W; the db group names the list in an ingress rule only.
    const PARTNERS = 'pl-0aaaaaaaaaaaaaaa1';
    ec2.addSecurityGroupRules(
      {
        securityGroupRuleId: 'sgr-0aaaaaaaaaaaaaaa1',
        groupId: WEB_SG,
        isEgress: true,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        prefixListId: PARTNERS,
      },
      {
        securityGroupRuleId: 'sgr-0bbbbbbbbbbbbbbb2',
        groupId: DB_SG,
        isEgress: false,
        prefixListId: PARTNERS,
      },
    );
    const detector = await detectorWithSpikes([WEB[0]!, DB[0]!]);
    trail.seed(
      modifyManagedPrefixList(
        PARTNERS,
        { remove: ['198.51.100.0/24'] },
        { at: W - 5 * MINUTE, eventId: 'pl-0855' },
      ),
    );

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run.changeCauses).toEqual({ found: 1, none: 1, unavailable: 0 });
    const alerts = bySource(published());
    expect(alerts.get(WEB[0]!)!.raw.likelyCause).toMatchObject({
      eventId: 'pl-0855',
      eventName: 'ModifyManagedPrefixList',
      resource: PARTNERS,
      description: 'prefix list entry 198.51.100.0/24 removed',
      minutesFromWindowStart: -5,
    });
    expect(alerts.get(WEB[0]!)!.email).toContain(
      `Likely cause:        ModifyManagedPrefixList on ${PARTNERS} (prefix list entry 198.51.100.0/24 removed) by ${DEPLOYER} at 08:55 UTC, 5 minutes before the window`,
    );
    expect(alerts.get(DB[0]!)!.raw.causeLookup?.status).toBe('none');
    // The sources' groups' rules, in one call filtered by group id.
    const ruleCalls = ec2.requests.filter((r) => r.action === 'DescribeSecurityGroupRules');
    expect(ruleCalls).toHaveLength(1);
    expect(ruleCalls[0]!.params).toMatchObject({ 'Filter.1.Name': 'group-id', 'Filter.1.Value.1': WEB_SG });
  });

  it("a NAT gateway's subnet's ACL ingress entry: the host whose blocks the gateway's interface logged names it; its own subnet's ingress entry explains nothing", async () => {
    // Prepare: web host 0's egress goes through a NAT gateway in another subnet; an ingress deny
    // entry for the web hosts' range is added to that subnet's ACL 6 minutes before W, and one
    // to the web subnet's own ACL 4 minutes before. The gateway's interface logs the host's
    // blocked packets.
    const NAT_ENI = 'eni-0ddddddddddddddd4';
    const NAT_SUBNET = 'subnet-0ddddddddddddddd4';
    const NAT_ACL = 'acl-0ddddddddddddddd4';
    ec2.addNetworkInterfaces({
      networkInterfaceId: NAT_ENI,
      vpcId: VPC,
      subnetId: NAT_SUBNET,
      privateIpAddress: '10.0.0.5',
      groups: [],
    });
    ec2.addNetworkAcls({
      networkAclId: NAT_ACL,
      vpcId: VPC,
      associations: [{ associationId: 'aclassoc-0ddddddddddddddd4', subnetId: NAT_SUBNET }],
    });
    const detector = await detectorWithSpikes([]);
    endpoints.logs.seed(
      detector.logGroup,
      Array.from({ length: 300 }, (_, i) =>
        flowRecord(W + ((i * 37) % 59) * MINUTE + 1_000, WEB[0]!, `203.0.113.${(i % 5) + 1}`, {
          eni: NAT_ENI,
        }),
      ),
    );
    const deny = {
      ruleNumber: 50,
      egress: false,
      action: 'deny' as const,
      protocol: '-1',
      cidr: '10.0.1.0/24',
    };
    trail.seed(
      createNetworkAclEntry(NAT_ACL, deny, { at: W - 6 * MINUTE, eventId: 'nat-ingress-0854' }),
      createNetworkAclEntry(WEB_ACL, deny, { at: W - 4 * MINUTE, eventId: 'web-ingress-0856' }),
    );

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ alertsPublished: 1, changeCauses: { found: 1, none: 0, unavailable: 0 } });
    const alert = bySource(published()).get(WEB[0]!)!;
    expect(alert.raw.details?.interfaceIds).toContain(NAT_ENI);
    expect(alert.raw.likelyCause).toMatchObject({
      eventId: 'nat-ingress-0854',
      resource: NAT_ACL,
      description: 'ingress entry 50 added: deny all traffic from 10.0.1.0/24',
    });
    expect(alert.raw.causeLookup?.relatedChanges).toBe(1);
    // AWS-managed interfaces (the NAT gateway's) are asked for even where the account hides
    // managed resources from Describe calls.
    const described = ec2.requests.filter((r) => r.action === 'DescribeNetworkInterfaces');
    expect(described.length).toBeGreaterThan(0);
    expect(described.every((r) => r.params.IncludeManagedResources === 'true')).toBe(true);
  });

  it('a mass spike names the change that explains most of its members, and how many', async () => {
    // Prepare: the five web hosts and one db host spike (a mass spike: 6 of 10 sources).
    const detector = await detectorWithSpikes([...WEB, DB[0]!]);
    trail.seed(
      webRevoke(),
      revokeSecurityGroupEgress(DB_SG, [{ protocol: 'udp', fromPort: 53, cidr: '0.0.0.0/0' }], {
        at: W - 20 * MINUTE,
        eventId: 'revoke-db-0840',
      }),
    );

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ alertsPublished: 1, changeCauses: { found: 1, none: 0, unavailable: 0 } });
    const [mass] = published();
    expect(mass!.raw.kind).toBe('mass-spike');
    expect(mass!.raw.likelyCause).toMatchObject({ eventId: 'revoke-web-0852', explains: 5, of: 6 });
    expect(mass!.raw.causeLookup).toMatchObject({ status: 'found', relatedChanges: 2, membersExplained: 6 });
    expect(mass!.email).toContain(`Likely cause:        ${WEB_REVOKE_TEXT}; explains 5 of 6 sources`);
    // One batch of Describe calls for all six members.
    expect(ec2.count('DescribeNetworkInterfaces')).toBe(1);
  });

  it('downgrade: an explained spike goes out at severity low with the policyChange attribute; an unexplained one as it was', async () => {
    // Prepare
    const detector = await detectorWithSpikes([WEB[0]!, DB[0]!], { policyChangeSpikes: 'downgrade' });
    trail.seed(webRevoke());

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run.alertsPublished).toBe(2);
    const alerts = bySource(published());
    const web = alerts.get(WEB[0]!)!;
    const db = alerts.get(DB[0]!)!;
    expect(db.raw.severity).toMatch(/^(high|medium)$/);
    expect(web.raw.severity).toBe('low');
    expect(web.raw.downgradedFrom).toBe(db.raw.severity); // both spiked alike
    expect(web.subject).toMatch(/^\[LOW\] /);
    expect(web.attributes.severity).toEqual({ dataType: 'String', stringValue: 'low' });
    expect(web.attributes.policyChange).toEqual({ dataType: 'String', stringValue: 'downgraded' });
    expect(web.email).toContain(
      `Severity:            low (downgraded from ${db.raw.severity}: an egress-policy change explains it)`,
    );
    expect(db.attributes.policyChange).toBeUndefined();
    expect(db.raw.downgradedFrom).toBeUndefined();
  });

  it('off: no lookup at all, alerts as before', async () => {
    // Prepare
    const detector = await detectorWithSpikes([WEB[0]!], { policyChangeSpikes: 'off' });
    trail.seed(webRevoke());

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run.alertsPublished).toBe(1);
    expect(run.changeCauses).toBeUndefined();
    expect(published()[0]!.raw.causeLookup).toBeUndefined();
    expect(trail.calls).toHaveLength(0);
    expect(ec2.requests).toHaveLength(0);
  });

  it('CloudTrail throttled twice in a row: the alerts go out in the same run without a cause, saying so', async () => {
    // Prepare
    const detector = await detectorWithSpikes([WEB[0]!, DB[0]!]);
    trail.seed(webRevoke());
    trail.injectErrors('ThrottlingException', 2);

    // Act
    const run = await detector.invoke({});

    // Assess: one call, one retry a second later, then the lookup gives up for the run
    expect(run).toMatchObject({ alertsPublished: 2, changeCauses: { found: 0, none: 0, unavailable: 2 } });
    expect(detector.metrics.last('ChangeCausesUnavailable')).toBe(2);
    expect(trail.calls.map((c) => c.error)).toEqual(['ThrottlingException', 'ThrottlingException']);
    expect(trail.calls[1]!.at - trail.calls[0]!.at).toBeGreaterThanOrEqual(1_000);
    for (const alert of published()) {
      expect(alert.raw.likelyCause).toBeUndefined();
      expect(alert.raw.causeLookup).toMatchObject({
        status: 'unavailable',
        reason: expect.stringMatching(/^CloudTrail LookupEvents throttled \(ThrottlingException/),
      });
      expect(alert.email).toMatch(
        /Likely cause: {8}not known: CloudTrail LookupEvents throttled \(ThrottlingException[^\n]*; the alert went out without it/,
      );
    }
    expect(ec2.requests).toHaveLength(0); // nothing read, nothing to relate
  });

  it('CloudTrail throttled once: the call is retried after a second and the cause is found', async () => {
    // Prepare
    const detector = await detectorWithSpikes([WEB[0]!]);
    trail.seed(webRevoke());
    trail.injectErrors('ThrottlingException', 1);

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run.changeCauses).toEqual({ found: 1, none: 0, unavailable: 0 });
    expect(published()[0]!.raw.likelyCause?.eventId).toBe('revoke-web-0852');
    expect(trail.calls).toHaveLength(14); // thirteen event names, the throttled one twice
    expect(trail.calls[1]!.at - trail.calls[0]!.at).toBeGreaterThanOrEqual(1_000);
  });

  it('CloudTrail denied: the alerts go out without a cause, naming the error', async () => {
    // Prepare
    const detector = await detectorWithSpikes([WEB[0]!]);
    trail.seed(webRevoke());
    trail.failAll('AccessDeniedException');

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ alertsPublished: 1, changeCauses: { unavailable: 1 } });
    expect(trail.calls).toHaveLength(1); // not retried: only a throttle is
    const [alert] = published();
    expect(alert!.raw.causeLookup).toMatchObject({
      status: 'unavailable',
      reason: expect.stringMatching(/^CloudTrail LookupEvents failed \(AccessDeniedException/),
    });
    expect(alert!.email).toContain(
      'Likely cause:        not known: CloudTrail LookupEvents failed (AccessDeniedException',
    );
  });

  it('EC2 Describe denied: the change is read but cannot be related; the alert says why', async () => {
    // Prepare
    const detector = await detectorWithSpikes([WEB[0]!]);
    trail.seed(webRevoke());
    ec2.injectErrors('DescribeNetworkInterfaces', 'UnauthorizedOperation', 1, 403);

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ alertsPublished: 1, changeCauses: { unavailable: 1 } });
    const [alert] = published();
    expect(alert!.raw.likelyCause).toBeUndefined();
    expect(alert!.raw.causeLookup).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('EC2 DescribeNetworkInterfaces failed (UnauthorizedOperation'),
    });
  });

  it('looks nothing up when nothing alerted, nor for a new source', async () => {
    // Prepare: no spike in W, but a source never seen before sends 300 blocked records.
    const detector = await detectorWithSpikes([]);
    endpoints.logs.seed(detector.logGroup, blocked(W, '10.0.9.9', 300, 5));
    trail.seed(webRevoke());

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ spikes: 0, alertsPublished: 1 });
    const [alert] = published();
    expect(alert!.raw).toMatchObject({ kind: 'new-source', srcIp: '10.0.9.9' });
    expect(alert!.raw.causeLookup).toBeUndefined();
    expect(trail.calls).toHaveLength(0);
    expect(ec2.requests).toHaveLength(0);
  });

  it('a change CloudTrail has not delivered yet is not seen: the alert says none was found in what CloudTrail held', async () => {
    // Prepare: a revoke 5 minutes before W's end that CloudTrail delivers 25 minutes after it was
    // made, 8 minutes after the run: later than it usually does (about 5 minutes), which it does
    // not guarantee. With the harness's lag of 10 the search ends at W's end, 12 minutes before
    // the run, when CloudTrail has had the 10 minutes it is allowed.
    const detector = await detectorWithSpikes([WEB[0]!]);
    const late = revokeSecurityGroupEgress(WEB_SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
      at: W + 55 * MINUTE,
      eventId: 'revoke-web-0955',
    });
    trail.seed({ record: late, visibleAt: W + 80 * MINUTE } satisfies SeededRecord);

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run.changeCauses).toEqual({ found: 0, none: 1, unavailable: 0 });
    expect(published()[0]!.raw.likelyCause).toBeUndefined();
    expect(trail.calls.find((c) => c.request.LookupAttributes !== undefined)?.request.EndTime).toBe(
      (W + HOUR) / 1000,
    );
  });
});
