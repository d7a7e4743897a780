/**
 * Change-aware alerts, replay vs Lambda: the replay with `--cloudtrail` and `--interface-map` names
 * the same likely causes as the Lambda with `lookUpChangeCauses` (CloudTrail LookupEvents and EC2
 * Describe calls against the local endpoints) on the same flow logs and the same events.
 */
import {
  createNetworkAclEntry,
  modifyManagedPrefixList,
  replaceNetworkAclEntry,
  revokeSecurityGroupEgress,
  runInstances,
} from '../support/cloudtrail-records';
import { withEndpoints, type Endpoints } from '../e2e/harness';
import { isoTime } from '../../lambda/core';
import { blockedLines, ordinaryTraffic, runParityCase, type InterfaceMap } from './parity';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;
const D0 = Date.parse('2026-11-24T00:00:00Z');
const DAY3 = D0 + 2 * DAY;
const WEB = ['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.1.13'];
const DB = ['172.16.4.2', '192.168.7.7'];
const SOURCES = [...WEB, ...DB];
const WEB_SG = 'sg-0aaaaaaaaaaaaaaa1';
const DB_SG = 'sg-0bbbbbbbbbbbbbbb2';
const DB_ACL = 'acl-0bbbbbbbbbbbbbbb2';

/** The interface id parity.ts's lines give an address. */
const eniOf = (src: string) =>
  `eni-0${src
    .replace(/[^0-9a-f]/g, '')
    .padStart(16, '0')
    .slice(-16)}`;

const INTERFACE_MAP: InterfaceMap = {
  NetworkInterfaces: SOURCES.map((src) => {
    const web = WEB.includes(src);
    return {
      NetworkInterfaceId: eniOf(src),
      VpcId: 'vpc-0c0c0c0c0c0c0c0c0',
      SubnetId: web ? 'subnet-0aaaaaaaaaaaaaaa1' : 'subnet-0bbbbbbbbbbbbbbb2',
      PrivateIpAddress: src,
      Groups: [{ GroupId: web ? WEB_SG : DB_SG }],
    };
  }),
  NetworkAcls: [
    {
      NetworkAclId: 'acl-0aaaaaaaaaaaaaaa1',
      VpcId: 'vpc-0c0c0c0c0c0c0c0c0',
      Associations: [
        {
          NetworkAclAssociationId: 'aclassoc-0aaaaaaaaaaaaaaa1',
          NetworkAclId: 'acl-0aaaaaaaaaaaaaaa1',
          SubnetId: 'subnet-0aaaaaaaaaaaaaaa1',
        },
      ],
    },
    {
      NetworkAclId: DB_ACL,
      VpcId: 'vpc-0c0c0c0c0c0c0c0c0',
      Associations: [
        {
          NetworkAclAssociationId: 'aclassoc-0bbbbbbbbbbbbbbb2',
          NetworkAclId: DB_ACL,
          SubnetId: 'subnet-0bbbbbbbbbbbbbbb2',
        },
      ],
    },
  ],
};

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

describe('replay --cloudtrail vs Lambda lookUpChangeCauses: the same likely causes', () => {
  it('a spike a revoke explains, one nothing explains, a mass spike two changes explain in part (downgrade)', async () => {
    // Prepare: three days of ordinary traffic; on the third, a web host spikes at 10:00 after a
    // revoke on its group at 09:52, a db host at 16:00 after a change to an unrelated group, and
    // five hosts at 20:00 after a revoke on the web group (3 of them) and a db ACL deny entry (2).
    // CloudTrail also holds an event an hour throughout (files that span the range).
    const lines = [
      ...ordinaryTraffic(D0, 72, SOURCES, 7),
      ...blockedLines(DAY3 + 10 * HOUR, '10.0.1.11', 400, 20),
      ...blockedLines(DAY3 + 16 * HOUR, '172.16.4.2', 400, 20),
      ...['10.0.1.10', '10.0.1.12', '10.0.1.13', ...DB].flatMap((src) =>
        blockedLines(DAY3 + 20 * HOUR, src, 400, 20),
      ),
    ];
    const records = [
      ...Array.from({ length: 72 }, (_, h) =>
        runInstances(`i-0${String(h).padStart(16, '0')}`, {
          at: D0 + h * HOUR + 30 * MINUTE,
          eventId: `run-${h}`,
        }),
      ),
      revokeSecurityGroupEgress(WEB_SG, [{ protocol: 'tcp', fromPort: 443, cidr: '0.0.0.0/0' }], {
        at: DAY3 + 10 * HOUR - 8 * MINUTE,
        eventId: 'revoke-web-0952',
      }),
      revokeSecurityGroupEgress('sg-0ccccccccccccccc3', [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: DAY3 + 16 * HOUR - 5 * MINUTE,
        eventId: 'revoke-unrelated-1555',
      }),
      revokeSecurityGroupEgress(WEB_SG, [{ protocol: 'udp', fromPort: 53, cidr: '0.0.0.0/0' }], {
        at: DAY3 + 20 * HOUR - 10 * MINUTE,
        eventId: 'revoke-web-1950',
      }),
      replaceNetworkAclEntry(
        DB_ACL,
        { ruleNumber: 100, egress: true, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0' },
        { at: DAY3 + 20 * HOUR - 15 * MINUTE, eventId: 'acl-db-1945' },
      ),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'change-causes',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: 2,
      config: { policyChangeSpikes: 'downgrade' },
      changes: { records, interfaceMap: INTERFACE_MAP },
    });

    // Assess: the alerts are the ones this case is about, with their causes, on both sides
    const brief = result.lambda.map((a) => `${a.kind} ${a.windowStart} ${a.severity} ${a.cause ?? ''}`);
    const unexplained = result.lambda[1]!.severity;
    expect(unexplained).not.toBe('low');
    expect(brief).toEqual([
      `spike ${isoTime(DAY3 + 10 * HOUR)} low found revoke-web-0952`,
      `spike ${isoTime(DAY3 + 16 * HOUR)} ${unexplained} none -`,
      // Downgraded: related changes (the web revoke, the db ACL entry) explain every member.
      `mass-spike ${isoTime(DAY3 + 20 * HOUR)} low found revoke-web-1950 3/5`,
    ]);
    expect(result.replay).toEqual(result.lambda);
  });

  it("a prefix list's entry removed explains the host whose group's egress rule names it, not the one whose ingress rule does", async () => {
    // Prepare: the web group's egress rule names the partners' list, the db group's ingress rule
    // does; an entry is removed from the list at 11:55 on the third day, and a web host and a db
    // host spike at 12:00.
    const PARTNERS = 'pl-0aaaaaaaaaaaaaaa1';
    const lines = [
      ...ordinaryTraffic(D0, 72, SOURCES, 7),
      ...blockedLines(DAY3 + 12 * HOUR, '10.0.1.12', 400, 20),
      ...blockedLines(DAY3 + 12 * HOUR, '192.168.7.7', 400, 20),
    ];
    // (An event an hour: files that span the search range, as the replay needs to say "none".)
    const records = [
      ...Array.from({ length: 72 }, (_, h) =>
        runInstances(`i-0${String(h).padStart(16, '0')}`, {
          at: D0 + h * HOUR + 30 * MINUTE,
          eventId: `run-${h}`,
        }),
      ),
      modifyManagedPrefixList(
        PARTNERS,
        { remove: ['198.51.100.0/24'] },
        { at: DAY3 + 12 * HOUR - 5 * MINUTE, eventId: 'pl-1155' },
      ),
    ];
    const interfaceMap: InterfaceMap = {
      ...INTERFACE_MAP,
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: 'sgr-0aaaaaaaaaaaaaaa1',
          GroupId: WEB_SG,
          IsEgress: true,
          PrefixListId: PARTNERS,
        },
        {
          SecurityGroupRuleId: 'sgr-0bbbbbbbbbbbbbbb2',
          GroupId: DB_SG,
          IsEgress: false,
          PrefixListId: PARTNERS,
        },
      ],
    };

    // Act
    const result = await runParityCase(endpoints, {
      name: 'prefix-list-change',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: 2,
      config: { policyChangeSpikes: 'downgrade' },
      changes: { records, interfaceMap },
    });

    // Assess
    const brief = result.lambda.map((a) => `${a.kind} ${a.source} ${a.severity} ${a.cause ?? ''}`);
    const unexplained = result.lambda.find((a) => a.source === '192.168.7.7')?.severity;
    expect(unexplained).not.toBe('low');
    expect(brief.sort()).toEqual([
      `spike 10.0.1.12 low found pl-1155`,
      `spike 192.168.7.7 ${unexplained} none -`,
    ]);
    expect(result.replay).toEqual(result.lambda);
  });

  it("a NAT gateway's subnet's ingress entry explains the host whose blocks the gateway's interface logged, in both", async () => {
    // Prepare: at 13:00 on the third day a web host's 400 blocked records are logged on a NAT
    // gateway's interface, 6 minutes after an ingress deny entry went into the gateway subnet's ACL
    const NAT_ENI = 'eni-0ddddddddddddddd4';
    const lines = [
      ...ordinaryTraffic(D0, 72, SOURCES, 7),
      ...blockedLines(DAY3 + 13 * HOUR, '10.0.1.13', 400, 20).map((line) =>
        line.replace(/ eni-\S+ /, ` ${NAT_ENI} `),
      ),
    ];
    const records = [
      ...Array.from({ length: 72 }, (_, h) =>
        runInstances(`i-0${String(h).padStart(16, '0')}`, {
          at: D0 + h * HOUR + 30 * MINUTE,
          eventId: `run-${h}`,
        }),
      ),
      createNetworkAclEntry(
        'acl-0ddddddddddddddd4',
        { ruleNumber: 50, egress: false, action: 'deny', protocol: '-1', cidr: '10.0.1.0/24' },
        { at: DAY3 + 13 * HOUR - 6 * MINUTE, eventId: 'nat-ingress-1254' },
      ),
    ];
    const interfaceMap: InterfaceMap = {
      NetworkInterfaces: [
        ...INTERFACE_MAP.NetworkInterfaces,
        {
          NetworkInterfaceId: NAT_ENI,
          VpcId: 'vpc-0c0c0c0c0c0c0c0c0',
          SubnetId: 'subnet-0ddddddddddddddd4',
          PrivateIpAddress: '10.0.0.5',
          Groups: [],
        },
      ],
      NetworkAcls: [
        ...INTERFACE_MAP.NetworkAcls,
        {
          NetworkAclId: 'acl-0ddddddddddddddd4',
          VpcId: 'vpc-0c0c0c0c0c0c0c0c0',
          Associations: [
            {
              NetworkAclAssociationId: 'aclassoc-0ddddddddddddddd4',
              NetworkAclId: 'acl-0ddddddddddddddd4',
              SubnetId: 'subnet-0ddddddddddddddd4',
            },
          ],
        },
      ],
    };

    // Act
    const result = await runParityCase(endpoints, {
      name: 'nat-ingress-change',
      files: [{ name: 'flows.log', lines }],
      bootstrapDays: 2,
      config: { policyChangeSpikes: 'downgrade' },
      changes: { records, interfaceMap },
    });

    // Assess
    expect(result.lambda.map((a) => `${a.kind} ${a.source} ${a.severity} ${a.cause ?? ''}`)).toEqual([
      'spike 10.0.1.13 low found nat-ingress-1254',
    ]);
    expect(result.replay).toEqual(result.lambda);
  });
});
