/**
 * The CloudTrail side of the bundled sample (change-aware alerts): log files as CloudTrail
 * delivers them to S3, one a day, holding an hourly read-only call of a monitoring role (so the
 * files cover every hour of the sample), the rollout's change, and changes that explain nothing;
 * and the interface map (what `aws ec2 describe-network-interfaces` and `describe-network-acls`
 * would print) that relates them to the hosts. Deterministic: made from the sample's ground truth.
 *
 * The story: the rollout hosts share the security group `fleet`, which allowed egress to an update
 * service (tcp/443 to 198.51.100.77 and 2001:db8:ffff::10). Eight minutes before the rollout's
 * window a deployer revokes that rule; every fleet host's calls to it are blocked from then on.
 * The same hour someone revokes an egress rule of a group no host uses and opens an ingress port
 * on `fleet` (neither can block egress), and the exfiltration spike days earlier follows no change.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { SampleTruth } from './flow-log-sample';

export const SAMPLE_ACCOUNT = '123456789012';
export const SAMPLE_REGION = 'us-east-1';
export const SAMPLE_DEPLOYER = `arn:aws:sts::${SAMPLE_ACCOUNT}:assumed-role/Deployer/jane`;
const MONITOR = `arn:aws:sts::${SAMPLE_ACCOUNT}:assumed-role/Inventory/scanner`;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const SAMPLE_GROUPS = {
  /** Every host. */
  base: 'sg-0b45e0000000000a1',
  /** The rollout's hosts: the group whose egress rule the rollout revoked. */
  fleet: 'sg-0f1ee7000000000b2',
  /** A group no host uses. */
  legacy: 'sg-01e6ac700000000c3',
} as const;
export const ROLLOUT_EVENT_ID = 'a7c1e2d4-5b6f-4a80-9c1d-2e3f4a5b6c7d';

type CloudTrailRecord = Record<string, unknown>;

/** A deterministic event id (a UUID shape) from a counter. */
const eventId = (n: number): string => {
  const hex = n.toString(16).padStart(12, '0');
  return `5a3e0000-0000-4000-8000-${hex}`;
};

const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function record(
  eventName: string,
  at: number,
  id: string,
  principal: string,
  requestParameters: Record<string, unknown> | null,
  responseElements: Record<string, unknown> | null,
  readOnly: boolean,
): CloudTrailRecord {
  const role = /:assumed-role\/([^/]+)\/(.+)$/.exec(principal);
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE${role?.[1]?.toUpperCase() ?? ''}:${role?.[2] ?? 'session'}`,
      arn: principal,
      accountId: SAMPLE_ACCOUNT,
      accessKeyId: 'ASIAEXAMPLESAMPLEKEY',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          arn: `arn:aws:iam::${SAMPLE_ACCOUNT}:role/${role?.[1] ?? 'Role'}`,
          accountId: SAMPLE_ACCOUNT,
          userName: role?.[1] ?? 'Role',
        },
        attributes: { creationDate: isoSeconds(at - 60_000), mfaAuthenticated: 'false' },
      },
    },
    eventTime: isoSeconds(at),
    eventSource: 'ec2.amazonaws.com',
    eventName,
    awsRegion: SAMPLE_REGION,
    sourceIPAddress: '192.0.2.200',
    userAgent: 'aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.1 os/linux',
    requestParameters,
    responseElements,
    requestID: id.replace(/^5a3e/, 'c0de'),
    eventID: id,
    readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: SAMPLE_ACCOUNT,
    eventCategory: 'Management',
  };
}

function egressRule(groupId: string, protocol: string, port: number, cidrs: string[], v6: string[]) {
  return {
    groupId,
    ipPermissions: {
      items: [
        {
          ipProtocol: protocol,
          fromPort: port,
          toPort: port,
          groups: {},
          ipRanges: cidrs.length === 0 ? {} : { items: cidrs.map((cidrIp) => ({ cidrIp })) },
          ipv6Ranges: v6.length === 0 ? {} : { items: v6.map((cidrIpv6) => ({ cidrIpv6 })) },
          prefixListIds: {},
        },
      ],
    },
  };
}

/** The sample's CloudTrail records, in time order. */
export function sampleCloudTrailRecords(truth: SampleTruth): CloudTrailRecord[] {
  const records: CloudTrailRecord[] = [];
  let n = 0;
  // The inventory scanner's hourly DescribeInstances: read-only, never a change.
  for (let at = truth.startMs + 17 * 60_000; at < truth.endMs; at += HOUR_MS) {
    n += 1;
    records.push(
      record('DescribeInstances', at, eventId(n), MONITOR, { instancesSet: {}, filterSet: {} }, null, true),
    );
  }
  const rollout = truth.rollout.windowStart;
  const ok = (id: string) => ({ requestId: id.replace(/^5a3e/, 'c0de'), _return: true });
  records.push(
    record(
      'AuthorizeSecurityGroupIngress',
      rollout - 30 * 60_000,
      eventId(900_001),
      SAMPLE_DEPLOYER,
      {
        groupId: SAMPLE_GROUPS.fleet,
        ipPermissions: {
          items: [
            {
              ipProtocol: 'tcp',
              fromPort: 9100,
              toPort: 9100,
              groups: {},
              ipRanges: { items: [{ cidrIp: '10.0.0.0/8' }] },
              ipv6Ranges: {},
              prefixListIds: {},
            },
          ],
        },
      },
      ok(eventId(900_001)),
      false,
    ),
    record(
      'RevokeSecurityGroupEgress',
      rollout - 20 * 60_000,
      eventId(900_002),
      SAMPLE_DEPLOYER,
      egressRule(SAMPLE_GROUPS.legacy, '-1', -1, ['0.0.0.0/0'], []),
      ok(eventId(900_002)),
      false,
    ),
    record(
      'RevokeSecurityGroupEgress',
      rollout - 8 * 60_000,
      ROLLOUT_EVENT_ID,
      SAMPLE_DEPLOYER,
      egressRule(SAMPLE_GROUPS.fleet, 'tcp', 443, ['198.51.100.77/32'], ['2001:db8:ffff::10/128']),
      ok(ROLLOUT_EVENT_ID),
      false,
    ),
  );
  return records.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)));
}

/** The subnet of a sample address: one per /24 (IPv4) or per /64 (IPv6). */
function subnetOf(ip: string): { subnetId: string; key: string } {
  const key = ip.includes(':') ? ip.split('::')[0]! : ip.split('.').slice(0, 3).join('.');
  let hash = 0;
  for (const c of key) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return { subnetId: `subnet-0${hash.toString(16).padStart(16, '0')}`, key };
}

/** What EC2 would describe: each host's interface (groups, subnet) and each subnet's network ACL. */
export function sampleInterfaceMap(truth: SampleTruth): {
  NetworkInterfaces: Record<string, unknown>[];
  NetworkAcls: Record<string, unknown>[];
} {
  const fleet = new Set(truth.rollout.srcIps);
  const vpcId = 'vpc-0aa5a3e1e000000d4';
  const subnets = new Map<string, string>();
  const interfaces = truth.hosts.map((host) => {
    const { subnetId, key } = subnetOf(host.ip);
    subnets.set(subnetId, key);
    const v6 = host.ip.includes(':');
    return {
      NetworkInterfaceId: host.interfaceId,
      OwnerId: SAMPLE_ACCOUNT,
      VpcId: vpcId,
      SubnetId: subnetId,
      ...(v6
        ? {}
        : { PrivateIpAddress: host.ip, PrivateIpAddresses: [{ PrivateIpAddress: host.ip, Primary: true }] }),
      Ipv6Addresses: v6 ? [{ Ipv6Address: host.ip }] : [],
      Groups: [
        { GroupId: SAMPLE_GROUPS.base, GroupName: 'base' },
        ...(fleet.has(host.ip) ? [{ GroupId: SAMPLE_GROUPS.fleet, GroupName: 'fleet' }] : []),
      ],
      InterfaceType: 'interface',
    };
  });
  const acls = [...subnets.keys()].sort().map((subnetId, i) => ({
    NetworkAclId: `acl-0${(0xac1000 + i).toString(16).padStart(16, '0')}`,
    VpcId: vpcId,
    IsDefault: false,
    OwnerId: SAMPLE_ACCOUNT,
    Associations: [
      {
        NetworkAclAssociationId: `aclassoc-0${(0xa5500 + i).toString(16).padStart(16, '0')}`,
        NetworkAclId: `acl-0${(0xac1000 + i).toString(16).padStart(16, '0')}`,
        SubnetId: subnetId,
      },
    ],
  }));
  return { NetworkInterfaces: interfaces, NetworkAcls: acls };
}

/**
 * Writes the CloudTrail log files (one a day, gzip, named as CloudTrail names them) under `dir`
 * and the interface map to `interfaceMapPath`. Returns the files written.
 */
export async function writeSampleChanges(
  truth: SampleTruth,
  dir: string,
  interfaceMapPath: string,
): Promise<{ cloudTrailFiles: string[]; interfaceMap: string }> {
  await fs.mkdir(dir, { recursive: true });
  const records = sampleCloudTrailRecords(truth);
  const files: string[] = [];
  for (let day = truth.startMs; day < truth.endMs; day += DAY_MS) {
    const inDay = records.filter((r) => {
      const t = Date.parse(String(r.eventTime));
      return t >= day && t < day + DAY_MS;
    });
    if (inDay.length === 0) continue;
    const stamp = isoSeconds(day).replace(/[-:]/g, '').replace(/00Z$/, 'Z').slice(0, 14);
    const path = join(dir, `${SAMPLE_ACCOUNT}_CloudTrail_${SAMPLE_REGION}_${stamp}_sample.json.gz`);
    // mtime 0 in the gzip header: the same bytes every time.
    await fs.writeFile(path, gzipSync(JSON.stringify({ Records: inDay }), { level: 9 }));
    files.push(path);
  }
  await fs.writeFile(interfaceMapPath, `${JSON.stringify(sampleInterfaceMap(truth), null, 2)}\n`);
  return { cloudTrailFiles: files, interfaceMap: interfaceMapPath };
}
