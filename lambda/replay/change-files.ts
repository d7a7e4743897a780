/**
 * Change-aware alerts in the replay: the egress-policy changes from CloudTrail log files as
 * CloudTrail delivers them to S3 (`{"Records": [...]}`, plain or gzip; directories searched for
 * `.json` and `.json.gz`, digest files skipped), and the network facts EC2 would give from an
 * interface map: the output of `aws ec2 describe-network-interfaces`, `describe-network-acls` and
 * `describe-security-group-rules` (their `NetworkInterfaces`, `NetworkAcls` and
 * `SecurityGroupRules` lists, in one file or several). The Lambda gets the same facts from the
 * APIs; both hand them to the core's `explainAlerts`.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { withoutBom } from './file-reader';
import * as z from 'zod/mini';
import { describeIssues } from '../core/config';
import {
  EMPTY_TOPOLOGY,
  parsePolicyChange,
  prefixesOf,
  type ChangeEvidence,
  type ChangeLookupOutcome,
  type NetworkTopology,
  type PolicyChange,
} from '../core/policy-changes';
import { isoTime } from '../core/windows';

/** A CloudTrail file or interface map that cannot be used: names the file and what is wrong. */
export class ChangeInputError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ChangeInputError';
  }
}

export interface CloudTrailStats {
  /** Log files read. */
  files: number;
  /** CloudTrail digest files found in directories and skipped (they hold no events). */
  digestFiles: number;
  /** Event records read. */
  records: number;
  /** Of which egress-policy changes (successful, egress-relevant, well-formed). */
  changes: number;
  /** Event times read (ISO), or null without records. */
  firstEvent: string | null;
  lastEvent: string | null;
}

export interface ChangeInputs {
  changes: PolicyChange[];
  topology: NetworkTopology;
  /** The event times the files cover, per account (`*`: all accounts). */
  spans: Map<string, { from: number; to: number }>;
  stats: CloudTrailStats;
  /** Interface map files read (none: only interface ids from the flow logs relate changes). */
  interfaceMaps: number;
}

const isCloudTrailName = (name: string): boolean => /\.json(\.gz)?$/i.test(name);

async function cloudTrailFiles(paths: readonly string[]): Promise<{ path: string; explicit: boolean }[]> {
  const files: { path: string; explicit: boolean }[] = [];
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    let stat;
    try {
      stat = await fs.stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ChangeInputError(
        `--cloudtrail: cannot read "${path}": ${code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`,
        path,
      );
    }
    if (stat.isDirectory()) {
      const entries = (await fs.readdir(path)).filter((name) => !name.startsWith('.')).sort();
      for (const name of entries) {
        const child = join(path, name);
        const childStat = await fs.stat(child);
        if (childStat.isDirectory()) await visit(child, false);
        else if (childStat.isFile() && isCloudTrailName(name)) files.push({ path: child, explicit: false });
      }
    } else if (stat.isFile()) {
      files.push({ path, explicit });
    } else {
      throw new ChangeInputError(`--cloudtrail: "${path}" is not a file or directory`, path);
    }
  };
  for (const path of paths) await visit(path, true);
  return files;
}

async function readJson(path: string, option: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    throw new ChangeInputError(`${option}: cannot read "${path}": ${(error as Error).message}`, path);
  }
  // gzip by its magic bytes, whatever the name says.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new ChangeInputError(
        `${option}: "${path}" is not valid gzip (${(error as Error).message})`,
        path,
      );
    }
  }
  try {
    return JSON.parse(withoutBom(bytes.toString('utf8'))) as unknown;
  } catch (error) {
    throw new ChangeInputError(`${option}: "${path}" is not JSON (${(error as Error).message})`, path);
  }
}

/** Reads CloudTrail log files: every egress-policy change, and the event times covered per account. */
export async function readCloudTrail(paths: readonly string[]): Promise<{
  changes: PolicyChange[];
  spans: Map<string, { from: number; to: number }>;
  stats: CloudTrailStats;
}> {
  const changes = new Map<string, PolicyChange>();
  const spans = new Map<string, { from: number; to: number }>();
  const stats: CloudTrailStats = {
    files: 0,
    digestFiles: 0,
    records: 0,
    changes: 0,
    firstEvent: null,
    lastEvent: null,
  };
  const widen = (key: string, time: number) => {
    const span = spans.get(key);
    if (span === undefined) spans.set(key, { from: time, to: time });
    else {
      span.from = Math.min(span.from, time);
      span.to = Math.max(span.to, time);
    }
  };
  for (const file of await cloudTrailFiles(paths)) {
    const value = await readJson(file.path, '--cloudtrail');
    const object =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    if (object !== undefined && !('Records' in object) && 'digestStartTime' in object && !file.explicit) {
      stats.digestFiles += 1;
      continue;
    }
    if (object === undefined || !Array.isArray(object.Records)) {
      throw new ChangeInputError(
        `--cloudtrail: "${file.path}" is not a CloudTrail log file: expected {"Records": [...]} as CloudTrail delivers to S3`,
        file.path,
      );
    }
    stats.files += 1;
    object.Records.forEach((record, i) => {
      const event =
        typeof record === 'object' && record !== null ? (record as Record<string, unknown>) : undefined;
      const time = typeof event?.eventTime === 'string' ? Date.parse(event.eventTime) : NaN;
      if (event === undefined || !Number.isFinite(time)) {
        throw new ChangeInputError(
          `--cloudtrail: "${file.path}": record ${i} is not a CloudTrail event (no eventTime)`,
          file.path,
        );
      }
      stats.records += 1;
      widen('*', time);
      if (typeof event.recipientAccountId === 'string') widen(event.recipientAccountId, time);
      const change = parsePolicyChange(event);
      if (change !== undefined) changes.set(change.eventId, change);
    });
  }
  stats.changes = changes.size;
  const all = spans.get('*');
  stats.firstEvent = all === undefined ? null : isoTime(all.from);
  stats.lastEvent = all === undefined ? null : isoTime(all.to);
  return { changes: [...changes.values()].sort((a, b) => a.eventTime - b.eventTime), spans, stats };
}

// ---------------------------------------------------------------------------------------------
// The interface map

/** The fields read of the EC2 API's own shapes (as the AWS CLI prints them); others are ignored. */
const interfaceMapSchema = z.looseObject({
  NetworkInterfaces: z.optional(
    z.array(
      z.looseObject({
        NetworkInterfaceId: z.string().check(z.regex(/^eni-[0-9a-f]{8,17}$/, 'not a network interface id')),
        OwnerId: z.optional(z.string()),
        VpcId: z.optional(z.string()),
        SubnetId: z.optional(z.string()),
        PrivateIpAddress: z.optional(z.string()),
        PrivateIpAddresses: z.optional(z.array(z.looseObject({ PrivateIpAddress: z.optional(z.string()) }))),
        Ipv6Addresses: z.optional(z.array(z.looseObject({ Ipv6Address: z.optional(z.string()) }))),
        Ipv4Prefixes: z.optional(z.array(z.looseObject({ Ipv4Prefix: z.optional(z.string()) }))),
        Ipv6Prefixes: z.optional(z.array(z.looseObject({ Ipv6Prefix: z.optional(z.string()) }))),
        InterfaceType: z.optional(z.string()),
        Groups: z.optional(z.array(z.looseObject({ GroupId: z.optional(z.string()) }))),
        Attachment: z.optional(z.looseObject({ InstanceId: z.optional(z.string()) })),
      }),
    ),
  ),
  NetworkAcls: z.optional(
    z.array(
      z.looseObject({
        NetworkAclId: z.string().check(z.regex(/^acl-[0-9a-f]{8,17}$/, 'not a network ACL id')),
        Associations: z.optional(
          z.array(
            z.looseObject({
              NetworkAclAssociationId: z.optional(z.string()),
              NetworkAclId: z.optional(z.string()),
              SubnetId: z.string(),
            }),
          ),
        ),
      }),
    ),
  ),
  SecurityGroupRules: z.optional(
    z.array(
      z.looseObject({
        SecurityGroupRuleId: z.string(),
        GroupId: z.string(),
        IsEgress: z.boolean(),
        PrefixListId: z.optional(z.string()),
      }),
    ),
  ),
});

/** Reads and merges interface map files into the facts the relation needs. */
export async function readInterfaceMaps(paths: readonly string[]): Promise<NetworkTopology> {
  const topology: NetworkTopology = { interfaces: [], subnetAcls: [], securityGroupRules: [] };
  for (const path of paths) {
    const value = await readJson(path, '--interface-map');
    const parsed = interfaceMapSchema.safeParse(value);
    if (!parsed.success) {
      throw new ChangeInputError(`--interface-map:\n${describeIssues(path, parsed.error, value)}`, path);
    }
    const map = parsed.data;
    if (
      map.NetworkInterfaces === undefined &&
      map.NetworkAcls === undefined &&
      map.SecurityGroupRules === undefined
    ) {
      throw new ChangeInputError(
        `--interface-map: "${path}" has none of NetworkInterfaces, NetworkAcls, SecurityGroupRules (the output of aws ec2 describe-network-interfaces, describe-network-acls, describe-security-group-rules)`,
        path,
      );
    }
    for (const eni of map.NetworkInterfaces ?? []) {
      const addresses = [
        ...(eni.PrivateIpAddress ? [eni.PrivateIpAddress] : []),
        ...(eni.PrivateIpAddresses ?? []).flatMap((a) => (a.PrivateIpAddress ? [a.PrivateIpAddress] : [])),
        ...(eni.Ipv6Addresses ?? []).flatMap((a) => (a.Ipv6Address ? [a.Ipv6Address] : [])),
      ];
      topology.interfaces.push({
        networkInterfaceId: eni.NetworkInterfaceId,
        ...(eni.OwnerId ? { accountId: eni.OwnerId } : {}),
        ...(eni.VpcId ? { vpcId: eni.VpcId } : {}),
        ...(eni.SubnetId ? { subnetId: eni.SubnetId } : {}),
        ...(eni.Attachment?.InstanceId ? { instanceId: eni.Attachment.InstanceId } : {}),
        groupIds: (eni.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
        addresses: [...new Set(addresses)],
        ...prefixesOf(eni),
        ...(eni.InterfaceType ? { interfaceType: eni.InterfaceType } : {}),
      });
    }
    for (const acl of map.NetworkAcls ?? []) {
      for (const association of acl.Associations ?? []) {
        topology.subnetAcls.push({
          subnetId: association.SubnetId,
          networkAclId: association.NetworkAclId ?? acl.NetworkAclId,
          ...(association.NetworkAclAssociationId
            ? { associationId: association.NetworkAclAssociationId }
            : {}),
        });
      }
    }
    for (const rule of map.SecurityGroupRules ?? []) {
      topology.securityGroupRules.push({
        ruleId: rule.SecurityGroupRuleId,
        groupId: rule.GroupId,
        isEgress: rule.IsEgress,
        // (Only matched against a change's checked id: nothing of it reaches an alert.)
        ...(rule.PrefixListId === undefined ? {} : { prefixListId: rule.PrefixListId }),
      });
    }
  }
  return topology;
}

/** Both inputs, read once before the replay runs (bad files are found before any scanning). */
export async function readChangeInputs(
  cloudTrail: readonly string[],
  interfaceMaps: readonly string[],
): Promise<ChangeInputs> {
  const read = await readCloudTrail(cloudTrail);
  const topology = interfaceMaps.length === 0 ? EMPTY_TOPOLOGY : await readInterfaceMaps(interfaceMaps);
  return { ...read, topology, interfaceMaps: interfaceMaps.length };
}

/**
 * The evidence for `explainAlerts`. A source's lookup is complete when the files hold events of
 * its account from before the searched range through its end (CloudTrail writes every management
 * event, so files that span a range hold all of its changes); otherwise "none found" could not be
 * claimed and the alert says the files do not cover it.
 */
export function replayEvidence(inputs: ChangeInputs): ChangeEvidence {
  return {
    changes: inputs.changes,
    topology: inputs.topology,
    lookupFor(accountId, range): ChangeLookupOutcome {
      const span = inputs.spans.get(accountId ?? '*');
      if (span === undefined) {
        return {
          status: 'unavailable',
          reason:
            accountId === undefined
              ? 'the CloudTrail files hold no events'
              : `the CloudTrail files hold no events of account ${accountId}`,
        };
      }
      if (span.from <= range.from && span.to >= range.to) return { status: 'complete' };
      return {
        status: span.to < range.from || span.from > range.to ? 'unavailable' : 'incomplete',
        reason: `the CloudTrail files${accountId === undefined ? '' : ` of account ${accountId}`} cover ${isoTime(span.from)} to ${isoTime(span.to)}, not all of ${isoTime(range.from)} to ${isoTime(range.to)}`,
      };
    },
  };
}
