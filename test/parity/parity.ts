/**
 * Replay-vs-Lambda parity: the same flow log lines go (a) to the replay, as files in a directory
 * (`runReplay`), and (b) to the Lambda, as events of the local Logs Insights endpoint
 * (`@timestamp` = the record's start), run as the schedule runs it (window by window, on the test
 * clock) through the real SDK clients, dynalite and the local SNS. Both sides' decided alerts are
 * reduced to what must agree (kind, window, source, blocked count, severity, incomplete flag) and
 * what they say (baseline, z-score, destinations, interfaces, a mass spike's members).
 *
 * A case is data: files of lines, the shared detector config and how both sides start (fresh,
 * bootstrap, or a dry run on the Lambda side). New cases (rhythmic sources, weekly jobs, several
 * accounts as several log groups) need no new machinery: see `ParityCase`.
 *
 * Change-aware alerts: a case with `changes` gives the replay CloudTrail records as a log file
 * (`--cloudtrail`) and the network facts as an interface map (`--interface-map`), and the Lambda
 * the same records through the local CloudTrail endpoint (LookupEvents) and the same facts through
 * the local EC2 endpoint; both sides' alerts then also agree on their likely causes.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import {
  alertSourceKeys,
  alignToWindow,
  resolveDetectorConfig,
  seededRandom,
  windowMs,
  type Alert,
  type Baseline,
  type DetectorConfig,
  type DetectorConfigInput,
} from '../../lambda/core';
import { DynamoBaselineStore } from '../../lambda/adapters/dynamo-baseline-store';
import { readChangeInputs } from '../../lambda/replay/change-files';
import { MemoryBaselineStore } from '../../lambda/replay/memory-store';
import { runReplay } from '../../lambda/replay/replay';
import { startLocalCloudTrail, type LocalCloudTrail } from '../support/local-cloudtrail';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';
import type { LogEvent } from '../support/local-logs-insights';
import { E2E_LAG_MINUTES, newDetector, type Endpoints } from '../e2e/harness';

const DAY = 86_400_000;
let parityCases = 0;
/** Minutes after a window's end (beyond the lag) at which the schedule runs (the stack's default margin). */
const SCHEDULE_MARGIN_MINUTES = 2;

export interface ParityFile {
  /** The file's name in the replay's input directory (sorted by name, as a directory is read). */
  name: string;
  /** Its lines, without newlines: flow log records (v2 default format unless the config says otherwise). */
  lines: string[];
  /** The log group its records go to on the Lambda side (several: several accounts). @default one group */
  logGroup?: string;
  /**
   * The replay reads the file as a CloudWatch Logs export of the events the Lambda reads
   * (`aws logs create-export-task`: each event as `<ISO-8601 time> <message>`), gzipped or not.
   * @default the lines as they are, as delivered to S3
   */
  cloudWatchExport?: 'plain' | 'gzip';
}

export interface ParityCase {
  name: string;
  files: ParityFile[];
  /** The detector config both sides get (the Lambda as DETECTOR_CONFIG, the replay as --config). */
  config?: DetectorConfigInput;
  /**
   * Days both sides learn from before detecting: the replay's `bootstrapDays` (the first days of
   * the data), the Lambda's `bootstrap` invoked when those days have closed. Absent: both start
   * fresh (the first window only learns).
   */
  bootstrapDays?: number;
  /**
   * 'scheduled' (default): the Lambda runs once per window, as the schedule does. 'dry-run': one
   * dry run over the whole range on a fresh detector (at most maxCatchUpWindows windows).
   */
  lambda?: 'scheduled' | 'dry-run';
  /** Change-aware alerts on both sides (`--cloudtrail` and `lookUpChangeCauses`). */
  changes?: ParityChanges;
  /**
   * Also replay the lines in two runs sharing one baseline store (as `--state` shares it): the
   * records starting before this time (epoch ms), then the rest. Their alerts together are the
   * result's `resumed`.
   */
  resumeAt?: number;
  /**
   * Source keys (lambda/core/source-key.ts) whose stored baselines both sides return after the
   * run (`ParityResult.stored`): the replay's in-memory store, the Lambda's table read back.
   */
  storedKeys?: readonly string[];
}

/** The network facts as the AWS CLI prints them (`aws ec2 describe-network-interfaces`, `describe-network-acls`). */
export interface InterfaceMap {
  NetworkInterfaces: {
    NetworkInterfaceId: string;
    VpcId: string;
    SubnetId: string;
    PrivateIpAddress: string;
    Groups: { GroupId: string }[];
  }[];
  NetworkAcls: {
    NetworkAclId: string;
    VpcId: string;
    Associations: { NetworkAclAssociationId: string; NetworkAclId: string; SubnetId: string }[];
  }[];
  /** As `aws ec2 describe-security-group-rules` prints them (a rule naming a prefix list). */
  SecurityGroupRules?: {
    SecurityGroupRuleId: string;
    GroupId: string;
    IsEgress: boolean;
    PrefixListId?: string;
  }[];
}

export interface ParityChanges {
  /** CloudTrail records: the replay reads them as one delivered log file, the Lambda through LookupEvents. */
  records: Record<string, unknown>[];
  /** The replay's `--interface-map`; the local EC2 endpoint's resources for the Lambda. */
  interfaceMap: InterfaceMap;
}

/** What both sides must agree on about an alert. */
export interface DecidedAlert {
  kind: Alert['kind'];
  windowStart: string;
  /** The source's address, or a mass spike's members' addresses, sorted and joined. */
  source: string;
  /** The source keys (account and address, lambda/core/source-key.ts), sorted and joined. */
  keys: string;
  blockedCount: number;
  severity: Alert['severity'];
  incompleteWindow: boolean;
  /**
   * With change causes: `<causeLookup status> <likelyCause eventId or ->`, and for a mass spike
   * ` <explains>/<of>`.
   */
  cause?: string;
  /** What the alert says beyond its decision: both sides must publish the same content too. */
  content: AlertContent;
}

/** An alert's content: what it was compared with and what it is about. */
export interface AlertContent {
  uniqueDestinations: number | null;
  baseline: Alert['baseline'];
  zScore: number | null;
  /** The details (absent: none, as on a mass spike): the destinations as `address port/protocol xcount`. */
  details?: { totalDestinations: number; topDestinations: string[]; interfaceIds: string[] };
  /** A mass spike's members: `key count z`, in the alert's order. */
  members?: string[];
  /** The learned recurring job whose run was clearly larger than usual (absent: none). */
  recurringJob?: Alert['recurringJob'];
}

export interface ParityResult {
  replay: DecidedAlert[];
  lambda: DecidedAlert[];
  /** With `resumeAt`: the alerts of the replay resumed from its first part's state. */
  resumed?: DecidedAlert[];
  /** The windows evaluated (first and last start, ISO), for the case's own sanity checks. */
  range: { first: number; last: number };
  /** With `storedKeys`: each side's stored baseline of those keys after the run (absent: none). */
  stored?: { replay: Map<string, Baseline>; lambda: Map<string, Baseline> };
}

/** Decided alerts as `kind window source-keys` lines, to compare both sides' lists at a glance. */
export const byKey = (alerts: DecidedAlert[]): string[] =>
  alerts.map((a) => `${a.kind} ${a.windowStart} ${a.keys}`);

export function decided(alert: Alert): DecidedAlert {
  const cause = alert.likelyCause;
  return {
    kind: alert.kind,
    windowStart: alert.windowStart,
    source: alert.srcIp ?? [...(alert.srcIps ?? [])].sort().join(','),
    keys: alertSourceKeys(alert).sort().join(','),
    blockedCount: alert.blockedCount,
    severity: alert.severity,
    incompleteWindow: alert.incompleteWindow === true,
    ...(alert.causeLookup === undefined
      ? {}
      : {
          cause: `${alert.causeLookup.status} ${cause?.eventId ?? '-'}${cause?.explains === undefined ? '' : ` ${cause.explains}/${cause.of}`}`,
        }),
    content: contentOf(alert),
  };
}

function contentOf(alert: Alert): AlertContent {
  const details = alert.details;
  return {
    uniqueDestinations: alert.uniqueDestinations,
    baseline: alert.baseline,
    zScore: alert.zScore,
    ...(details === undefined
      ? {}
      : {
          details: {
            totalDestinations: details.totalDestinations,
            topDestinations: details.topDestinations.map(
              (d) => `${d.address} ${d.port ?? '-'}/${d.protocol ?? '-'} x${d.count}`,
            ),
            interfaceIds: details.interfaceIds,
          },
        }),
    ...(alert.recurringJob === undefined ? {} : { recurringJob: alert.recurringJob }),
    ...(alert.members === undefined
      ? {}
      : {
          // alertSourceKeys gives a mass spike's member keys in the members' order; a member a
          // cooldown held back names its last alert.
          members: alertSourceKeys(alert).map((key, i) => {
            const member = alert.members?.[i];
            return `${key} ${member?.blockedCount} ${member?.zScore}${member?.lastAlertedAt === undefined ? '' : ` @${member.lastAlertedAt}`}`;
          }),
        }),
  };
}

const byWindowThenSource = (a: DecidedAlert, b: DecidedAlert): number =>
  a.windowStart.localeCompare(b.windowStart) ||
  a.kind.localeCompare(b.kind) ||
  a.source.localeCompare(b.source);

/** The record's `start` (epoch seconds) of a default-format line, or undefined for a header or a malformed line. */
function startOf(line: string, startField: number): number | undefined {
  const token = line.trim().split(/\s+/)[startField];
  const start = token === undefined ? NaN : Number(token);
  return Number.isInteger(start) && start > 0 ? start : undefined;
}

/** Runs a case on both sides. `endpoints` are the e2e harness's, shared by the cases of a file. */
export async function runParityCase(endpoints: Endpoints, parity: ParityCase): Promise<ParityResult> {
  if (parity.changes === undefined) return runCase(endpoints, parity, undefined);
  // The CloudTrail endpoint's rate limit reads the clock of the detector the case makes.
  const clock: { now: () => number } = { now: Date.now };
  const local = await startChangeEndpoints(parity.changes, () => clock.now());
  try {
    return await runCase(endpoints, parity, { ...local, clock });
  } finally {
    await local.stop();
  }
}

async function runCase(
  endpoints: Endpoints,
  parity: ParityCase,
  local: { trail: LocalCloudTrail; ec2: LocalEc2; clock: { now: () => number } } | undefined,
): Promise<ParityResult> {
  const input = parity.config ?? {};
  const config = resolveDetectorConfig(input);
  const length = windowMs(config);
  // The start field of the format both sides read (v2 default: the 11th).
  const startField =
    config.flowLogFormat === undefined ? 10 : config.flowLogFormat.split(' ').indexOf('start');
  const starts = parity.files
    .flatMap((f) => f.lines.map((l) => startOf(l, startField)))
    .filter((s) => s !== undefined);
  if (starts.length === 0) throw new Error(`parity case ${parity.name}: no records`);
  // A loop, not Math.min(...starts): a long case has more records than a call takes arguments.
  const first = alignToWindow(starts.reduce((a, b) => Math.min(a, b)) * 1000, config);
  const last = alignToWindow(starts.reduce((a, b) => Math.max(a, b)) * 1000, config);

  // (a) the replay, over a directory of the files; with `resumeAt`, also in two runs, the second
  // from the first's state file (saved and loaded as `--state` does)
  const replayStore = parity.storedKeys === undefined ? undefined : new MemoryBaselineStore();
  const replay = await replayFiles(parity.files, config, parity, startField, replayStore);
  let resumed: DecidedAlert[] | undefined;
  if (parity.resumeAt !== undefined) {
    const resumeAt = parity.resumeAt;
    const part = (before: boolean): ParityFile[] =>
      parity.files.map((file) => ({
        ...file,
        lines: file.lines.filter((line) => {
          const start = startOf(line, startField);
          return start !== undefined && start * 1000 < resumeAt === before;
        }),
      }));
    const first = new MemoryBaselineStore();
    const firstAlerts = await replayFiles(part(true), config, parity, startField, first);
    const saved = MemoryBaselineStore.fromJson(JSON.stringify(first.toJSON(config)), 'resume.json', config);
    resumed = [
      ...firstAlerts,
      ...(await replayFiles(part(false), config, { ...parity, bootstrapDays: undefined }, startField, saved)),
    ];
  }
  // (b) the Lambda, on the local endpoints, run as the schedule runs it; one log group per
  // distinct `logGroup` of the files, all queried together
  parityCases += 1;
  const names = new Map(
    [...new Set(parity.files.map((f) => f.logGroup ?? 'flow-logs'))].map((group) => {
      if (!/^[\w.-]{1,64}$/.test(group))
        throw new Error(`parity case ${parity.name}: bad log group ${group}`);
      return [group, `/parity/${parityCases}/${group}`] as const;
    }),
  );
  const groupName = (group: string) => names.get(group)!;
  const detector = await newDetector(endpoints, {
    detectorConfig: { ...input },
    env: {
      LOG_GROUP_IDENTIFIERS: [...names.values()].join(','),
      ...(local === undefined
        ? {}
        : {
            LOOK_UP_CHANGE_CAUSES: 'true',
            CLOUDTRAIL_ENDPOINT: local.trail.endpoint,
            EC2_ENDPOINT: local.ec2.endpoint,
          }),
    },
    // CloudTrail lookups pace themselves on the clock the endpoint's rate limit reads.
    sleepAdvancesClock: local !== undefined,
  });
  if (local !== undefined) local.clock.now = detector.clock.now;
  for (const file of parity.files) {
    endpoints.logs.seed(groupName(file.logGroup ?? 'flow-logs'), eventsOf(file, startField));
  }
  const runAfter = (windowStart: number) =>
    new Date(windowStart + length + (E2E_LAG_MINUTES + SCHEDULE_MARGIN_MINUTES) * 60_000).toISOString();
  endpoints.sns.reset();
  let lambda: DecidedAlert[];
  if (parity.lambda === 'dry-run') {
    detector.clock.set(runAfter(last));
    const dry = await detector.invoke({
      mode: 'dry-run',
      windowStart: new Date(first).toISOString(),
      windowEnd: new Date(last + length).toISOString(),
    });
    lambda = (dry.dryRunAlerts ?? []).map(decided);
  } else {
    let from = first;
    if (parity.bootstrapDays !== undefined) {
      from = first + parity.bootstrapDays * DAY;
      detector.clock.set(runAfter(from - length));
      await detector.invoke({ mode: 'bootstrap', days: parity.bootstrapDays });
    }
    for (let w = from; w <= last; w += length) {
      detector.clock.set(runAfter(w));
      const summary = await detector.invoke({});
      if (
        summary.windows.length !== 1 ||
        summary.windows[0] !== new Date(w).toISOString().replace('.000Z', 'Z')
      ) {
        throw new Error(
          `parity case ${parity.name}: the run after ${new Date(w).toISOString()} evaluated ${JSON.stringify(summary.windows)}`,
        );
      }
    }
    lambda = endpoints.sns.published.map((p) => decided(JSON.parse(p.perProtocol!.sqs!) as PublishedAlert));
  }
  if (local !== undefined && local.trail.throttled > 0)
    throw new Error(`parity case ${parity.name}: ${local.trail.throttled} CloudTrail calls throttled`);
  let stored: ParityResult['stored'];
  if (parity.storedKeys !== undefined) {
    const keys = [...parity.storedKeys];
    // Read as the detector reads its table (its settings, its clock).
    const table = new DynamoBaselineStore({
      client: endpoints.dynamoClient,
      tableName: detector.tableName,
      baselineTtlDays: detector.runtime.config.baselineTtlDays,
      baselineBuckets: detector.runtime.config.baselineBuckets,
      now: detector.clock.now,
    });
    const replayed = new Map<string, Baseline>();
    for (const key of keys) {
      const baseline = replayStore!.baselines.get(key);
      if (baseline !== undefined) replayed.set(key, baseline);
    }
    stored = { replay: replayed, lambda: await table.getBaselines(keys) };
  }
  return {
    replay: replay.sort(byWindowThenSource),
    lambda: lambda.sort(byWindowThenSource),
    ...(resumed === undefined ? {} : { resumed: resumed.sort(byWindowThenSource) }),
    range: { first, last },
    ...(stored === undefined ? {} : { stored }),
  };
}

/** The log events of a file's lines, as the Lambda reads them (`@timestamp` = the record's start). */
function eventsOf(file: ParityFile, startField: number): LogEvent[] {
  const events: LogEvent[] = [];
  for (const line of file.lines) {
    const start = startOf(line, startField);
    // CloudWatch Logs holds records, not a file's header line.
    if (start === undefined || line.startsWith('version')) continue;
    events.push({ timestamp: start * 1000, message: line });
  }
  return events;
}

/** The replay's decided alerts over a directory of the files (with `store`: resuming from it). */
async function replayFiles(
  files: readonly ParityFile[],
  config: DetectorConfig,
  parity: Pick<ParityCase, 'bootstrapDays' | 'changes'>,
  startField: number,
  store?: MemoryBaselineStore,
): Promise<DecidedAlert[]> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'parity-'));
  try {
    for (const file of files) {
      if (file.cloudWatchExport === undefined) {
        await fs.writeFile(join(dir, file.name), file.lines.map((l) => `${l}\n`).join(''));
        continue;
      }
      const text = eventsOf(file, startField)
        .map((event) => `${new Date(event.timestamp).toISOString()} ${event.message}\n`)
        .join('');
      await fs.writeFile(join(dir, file.name), file.cloudWatchExport === 'gzip' ? gzipSync(text) : text);
    }
    let changes;
    if (parity.changes !== undefined) {
      // Beside the flow log directory, as the CLI reads them (`--cloudtrail`, `--interface-map`).
      const trailFile = `${dir}-cloudtrail.json`;
      const mapFile = `${dir}-interfaces.json`;
      await fs.writeFile(trailFile, JSON.stringify({ Records: parity.changes.records }));
      await fs.writeFile(mapFile, JSON.stringify(parity.changes.interfaceMap));
      try {
        changes = await readChangeInputs([trailFile], [mapFile]);
      } finally {
        await Promise.all([fs.rm(trailFile, { force: true }), fs.rm(mapFile, { force: true })]);
      }
    }
    const result = await runReplay({
      inputs: [dir],
      config,
      ...(store === undefined ? {} : { store }),
      ...(parity.bootstrapDays === undefined ? {} : { bootstrapDays: parity.bootstrapDays }),
      ...(changes === undefined ? {} : { changes }),
    });
    return result.alerts.map(decided);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The local CloudTrail and EC2 endpoints holding a case's records and network facts. */
async function startChangeEndpoints(
  changes: ParityChanges,
  now: () => number,
): Promise<{ trail: LocalCloudTrail; ec2: LocalEc2; stop(): Promise<void> }> {
  const [trail, ec2] = await Promise.all([startLocalCloudTrail({ now }), startLocalEc2()]);
  trail.seed(...changes.records);
  ec2.addNetworkInterfaces(
    ...changes.interfaceMap.NetworkInterfaces.map((eni) => ({
      networkInterfaceId: eni.NetworkInterfaceId,
      vpcId: eni.VpcId,
      subnetId: eni.SubnetId,
      privateIpAddress: eni.PrivateIpAddress,
      groups: eni.Groups.map((g) => ({ groupId: g.GroupId, groupName: g.GroupId })),
    })),
  );
  ec2.addNetworkAcls(
    ...changes.interfaceMap.NetworkAcls.map((acl) => ({
      networkAclId: acl.NetworkAclId,
      vpcId: acl.VpcId,
      associations: acl.Associations.map((a) => ({
        associationId: a.NetworkAclAssociationId,
        subnetId: a.SubnetId,
      })),
    })),
  );
  ec2.addSecurityGroupRules(
    ...(changes.interfaceMap.SecurityGroupRules ?? []).map((rule) => ({
      securityGroupRuleId: rule.SecurityGroupRuleId,
      groupId: rule.GroupId,
      isEgress: rule.IsEgress,
      ...(rule.PrefixListId === undefined ? {} : { prefixListId: rule.PrefixListId }),
    })),
  );
  return {
    trail,
    ec2,
    stop: async () => {
      await Promise.all([trail.stop(), ec2.stop()]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Flow log lines for cases

export interface Line {
  /** Record start, epoch ms (whole seconds). */
  at: number;
  src: string;
  dst: string;
  action?: 'ACCEPT' | 'REJECT';
  dstPort?: number;
  /** Aggregation interval, seconds: `end` is start plus this. @default 60 */
  seconds?: number;
  /** The account-id field. @default ACCOUNT */
  account?: string;
}

/** The account of the lines unless a case says otherwise. */
export const ACCOUNT = '123456789012';

/** One default-format (v2) flow log line. */
export function v2Line({
  at,
  src,
  dst,
  action = 'REJECT',
  dstPort = 443,
  seconds = 60,
  account = ACCOUNT,
}: Line): string {
  const start = Math.floor(at / 1000);
  const eni = `eni-0${src
    .replace(/[^0-9a-f]/g, '')
    .padStart(16, '0')
    .slice(-16)}`;
  return `2 ${account} ${eni} ${src} ${dst} 49152 ${dstPort} 6 3 180 ${start} ${start + seconds} ${action} OK`;
}

/** A SKIPDATA line: the capture interval [start, end] (epoch ms) lost records. */
export function skipDataLine(start: number, end: number): string {
  return `2 123456789012 eni-0aaaabbbbccccdddd - - - - - - - ${Math.floor(start / 1000)} ${Math.floor(end / 1000)} - SKIPDATA`;
}

/** `count` blocked records from `src` in the window starting at `windowStart` (an hour), spread over it. */
export function blockedLines(
  windowStart: number,
  src: string,
  count: number,
  destinations = 3,
  account = ACCOUNT,
): string[] {
  return Array.from({ length: count }, (_, i) =>
    v2Line({
      at: windowStart + ((i * 37) % 59) * 60_000 + 1_000,
      src,
      dst: `203.0.113.${(i % destinations) + 1}`,
      dstPort: i % 2 === 0 ? 443 : 8443,
      account,
    }),
  );
}

/**
 * Ordinary traffic: each source blocks a few records an hour (Poisson-like, seeded), with some
 * ACCEPTed and inbound records the filter must leave out, for `hours` hourly windows from `from`.
 */
export function ordinaryTraffic(
  from: number,
  hours: number,
  sources: readonly string[],
  seed: number,
  account = ACCOUNT,
): string[] {
  const random = seededRandom(seed);
  const lines: string[] = [];
  for (let h = 0; h < hours; h += 1) {
    const windowStart = from + h * 3_600_000;
    for (const src of sources) {
      const count = 2 + Math.floor(random() * 6);
      lines.push(...blockedLines(windowStart, src, count, 1 + Math.floor(random() * 4), account));
      lines.push(v2Line({ at: windowStart + 120_000, src, dst: '198.51.100.7', action: 'ACCEPT', account }));
      lines.push(v2Line({ at: windowStart + 180_000, src: '198.51.100.9', dst: src, account }));
    }
  }
  return lines;
}
