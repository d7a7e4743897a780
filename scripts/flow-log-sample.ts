/**
 * Deterministic, realistic VPC flow log records (v2 default format) for the bundled sample, the
 * golden tests and the benchmark: weeks of over-dispersed per-host noise plus three injected
 * events whose ground truth is returned, so tests can check the detector finds exactly them.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { constants, createGzip } from 'node:zlib';
import { negativeBinomial, poisson, seededRandom } from '../lambda/core/random';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const ACCOUNT = '123456789012';

/** The v2 default format's field names, as AWS writes them in the first line of S3 files. */
export const V2_HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

export interface SampleOptions {
  /** @default 20260301 */
  seed?: number;
  /** @default 21 */
  days?: number;
  /** Internal hosts with egress traffic. @default 60 */
  hosts?: number;
  /** First hour, epoch ms (UTC, aligned to the hour). @default 2026-10-01T00:00Z */
  startMs?: number;
  /** Multiplies the records that are never counted (accepted, inbound, internal), to grow files for benchmarks. @default 1 */
  backgroundScale?: number;
  /** Inject the exfiltration spike, the rollout and the new host. @default true */
  injectEvents?: boolean;
  /** Write the v2 header line first. @default true */
  header?: boolean;
}

export interface SampleHost {
  ip: string;
  interfaceId: string;
  /** Mean blocked egress records an hour. */
  blockedRate: number;
  /** Variance / mean of the blocked count (1: Poisson). */
  dispersion: number;
}

/** Where the injected events are, so tests can assert that exactly these are found. */
export interface SampleTruth {
  startMs: number;
  endMs: number;
  hosts: SampleHost[];
  exfiltration: { srcIp: string; windowStart: number; extraRecords: number; destinations: number };
  rollout: { windowStart: number; srcIps: string[]; blockedDestination: string };
  newHost: { srcIp: string; windowStart: number; records: number };
  skipDataWindow: number;
}

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

/** Documentation ranges (RFC 5737, RFC 3849) stand in for the internet. */
function externalV4(random: () => number): string {
  const prefix = pick(random, ['192.0.2', '198.51.100', '203.0.113']);
  return `${prefix}.${1 + Math.floor(random() * 254)}`;
}
const externalV6 = (random: () => number): string =>
  `2001:db8:${Math.floor(random() * 0xffff).toString(16)}::${Math.floor(random() * 0xffff).toString(16)}`;

const hex = (random: () => number, digits: number): string => {
  let out = '';
  for (let i = 0; i < digits; i += 1) out += Math.floor(random() * 16).toString(16);
  return out;
};

/** The VPC's IPv6 block: internal in the sample's detector config. */
export const SAMPLE_IPV6_CIDR = '2600:1f18:4a3b:ab00::/56';

function makeHosts(random: () => number, count: number): SampleHost[] {
  const hosts: SampleHost[] = [];
  for (let i = 0; i < count; i += 1) {
    let ip: string;
    if (i % 15 === 14) ip = `2600:1f18:4a3b:ab0${i % 4}::${(0x100 + i).toString(16)}`;
    else if (i % 7 === 6) ip = `172.31.${16 + (i % 5)}.${20 + i}`;
    else if (i % 11 === 10) ip = `192.168.${i % 3}.${30 + i}`;
    else ip = `10.0.${Math.floor(i / 16)}.${10 + i}`;
    // Log-uniform rates from ~0.2 to ~15 an hour; some hosts bursty (over-dispersed).
    const blockedRate = Math.exp(Math.log(0.2) + random() * (Math.log(15) - Math.log(0.2)));
    const dispersion = random() < 0.5 ? 1 : 1.2 + random() * 1.3;
    hosts.push({ ip, interfaceId: `eni-0${hex(random, 16)}`, blockedRate, dispersion });
  }
  return hosts;
}

interface LineSink {
  push(line: string): void;
}

function record(
  sink: LineSink,
  random: () => number,
  hourStart: number,
  interfaceId: string,
  src: string,
  dst: string,
  dstPort: number,
  protocol: number,
  action: 'ACCEPT' | 'REJECT',
): void {
  const start = Math.floor(hourStart / 1000) + Math.floor(random() * 3540);
  const end = start + 1 + Math.floor(random() * 59);
  const packets = 1 + Math.floor(random() * (action === 'REJECT' ? 3 : 40));
  const bytes = packets * (40 + Math.floor(random() * 1400));
  const srcPort = 32768 + Math.floor(random() * 28000);
  sink.push(
    `2 ${ACCOUNT} ${interfaceId} ${src} ${dst} ${srcPort} ${dstPort} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} OK`,
  );
}

/**
 * Yields the sample one hour at a time (a block of lines joined by `\n`, ending with one), in
 * time order. Returns the ground truth as the generator's return value; `sampleTruth` gives it
 * without generating.
 */
export function* generateSample(options: SampleOptions = {}): Generator<string, SampleTruth> {
  const seed = options.seed ?? 20260301;
  const days = options.days ?? 21;
  const startMs = options.startMs ?? Date.UTC(2026, 9, 1);
  const background = options.backgroundScale ?? 1;
  const inject = options.injectEvents ?? true;
  const random = seededRandom(seed);
  const hosts = makeHosts(random, options.hosts ?? 60);
  const truth = truthFor(hosts, startMs, days, seed);
  // Each host talks to a handful of external endpoints that its egress rules block (telemetry, old mirrors).
  const usualDestinations = hosts.map((h) =>
    Array.from({ length: 2 + Math.floor(random() * 6) }, () =>
      h.ip.includes(':') ? externalV6(random) : externalV4(random),
    ),
  );
  const rolloutMembers = new Set(truth.rollout.srcIps);
  const newHostEni = `eni-0${hex(random, 16)}`;
  const idleEnis = Array.from({ length: 6 }, () => `eni-0${hex(random, 16)}`);

  if (options.header ?? true) yield `${V2_HEADER}\n`;
  const hoursTotal = days * 24;
  for (let hour = 0; hour < hoursTotal; hour += 1) {
    const hourStart = startMs + hour * HOUR_MS;
    const lines: string[] = [];
    // Mild daily rhythm for half of the hosts: busier in the (UTC) working day.
    const rhythm = 1 + 0.25 * Math.sin((2 * Math.PI * ((hour % 24) - 8)) / 24);
    hosts.forEach((host, index) => {
      const mean = host.blockedRate * (index % 2 === 0 ? rhythm : 1);
      const blocked = negativeBinomial(random, mean, mean * host.dispersion);
      const usual = usualDestinations[index] ?? [];
      for (let i = 0; i < blocked; i += 1) {
        record(
          lines,
          random,
          hourStart,
          host.interfaceId,
          host.ip,
          pick(random, usual),
          pick(random, [443, 443, 80, 123, 8080]),
          6,
          'REJECT',
        );
      }
      if (inject && hourStart === truth.exfiltration.windowStart && host.ip === truth.exfiltration.srcIp) {
        const targets = Array.from({ length: truth.exfiltration.destinations }, () => externalV4(random));
        for (let i = 0; i < truth.exfiltration.extraRecords; i += 1) {
          record(
            lines,
            random,
            hourStart,
            host.interfaceId,
            host.ip,
            targets[i % targets.length] ?? '',
            pick(random, [443, 8443, 22, 21]),
            6,
            'REJECT',
          );
        }
      }
      if (inject && hourStart === truth.rollout.windowStart && rolloutMembers.has(host.ip)) {
        // A new egress deny for an update service every host calls: blocked across the fleet at once.
        const extra = Math.max(40, Math.round(8 * host.blockedRate));
        const dst = host.ip.includes(':') ? '2001:db8:ffff::10' : truth.rollout.blockedDestination;
        for (let i = 0; i < extra; i += 1)
          record(lines, random, hourStart, host.interfaceId, host.ip, dst, 443, 6, 'REJECT');
      }
      // Never counted: accepted egress, inbound scans rejected at the edge, east-west rejects.
      const external = (): string => (host.ip.includes(':') ? externalV6(random) : externalV4(random));
      for (let i = poisson(random, 1.5 * background); i > 0; i -= 1) {
        record(
          lines,
          random,
          hourStart,
          host.interfaceId,
          host.ip,
          external(),
          pick(random, [443, 443, 80]),
          6,
          'ACCEPT',
        );
      }
      for (let i = poisson(random, 0.25 * background); i > 0; i -= 1) {
        record(
          lines,
          random,
          hourStart,
          host.interfaceId,
          external(),
          host.ip,
          pick(random, [22, 3389, 23, 445]),
          6,
          'REJECT',
        );
      }
      for (let i = poisson(random, 0.25 * background); i > 0; i -= 1) {
        const peer = hosts[(index + 1) % hosts.length]?.ip ?? host.ip;
        if (peer.includes(':') === host.ip.includes(':'))
          record(lines, random, hourStart, host.interfaceId, host.ip, peer, 5432, 6, 'REJECT');
      }
    });
    if (inject && hourStart >= truth.newHost.windowStart) {
      const count = hourStart === truth.newHost.windowStart ? truth.newHost.records : poisson(random, 3);
      for (let i = 0; i < count; i += 1) {
        record(
          lines,
          random,
          hourStart,
          newHostEni,
          truth.newHost.srcIp,
          externalV4(random),
          pick(random, [443, 6667, 4444]),
          6,
          'REJECT',
        );
      }
    }
    // Interfaces with no traffic in an aggregation interval write NODATA rows.
    for (const eni of idleEnis) {
      const start = Math.floor(hourStart / 1000) + Math.floor(random() * 3000);
      if (random() < 0.5) lines.push(`2 ${ACCOUNT} ${eni} - - - - - - - ${start} ${start + 600} - NODATA`);
    }
    if (hourStart === truth.skipDataWindow) {
      const start = Math.floor(hourStart / 1000) + 1200;
      for (const host of hosts.slice(0, 3))
        lines.push(`2 ${ACCOUNT} ${host.interfaceId} - - - - - - - ${start} ${start + 60} - SKIPDATA`);
    }
    yield `${lines.join('\n')}\n`;
  }
  return truth;
}

/** The injected events' places, without generating the records. */
export function sampleTruth(options: SampleOptions = {}): SampleTruth {
  const seed = options.seed ?? 20260301;
  const random = seededRandom(seed);
  const hosts = makeHosts(random, options.hosts ?? 60);
  return truthFor(hosts, options.startMs ?? Date.UTC(2026, 9, 1), options.days ?? 21, seed);
}

function truthFor(hosts: SampleHost[], startMs: number, days: number, seed: number): SampleTruth {
  // Event times scale with the sample's length, so short test samples still have history before them.
  const at = (fraction: number, hourOfDay: number): number =>
    startMs + Math.floor(days * fraction) * DAY_MS + hourOfDay * HOUR_MS;
  const chooser = seededRandom(seed ^ 0x5eed);
  const ipv4 = hosts.filter((h) => !h.ip.includes(':'));
  // The exfiltrating host: a quiet-ish one, so its spike is unambiguous.
  const quiet = ipv4.filter((h) => h.blockedRate > 1 && h.blockedRate < 8);
  const exfilHost = pick(chooser, quiet.length > 0 ? quiet : ipv4);
  const members = hosts.filter((h) => h.blockedRate >= 0.5 && chooser() < 0.8).map((h) => h.ip);
  return {
    startMs,
    endMs: startMs + days * DAY_MS,
    hosts,
    exfiltration: { srcIp: exfilHost.ip, windowStart: at(0.7, 2), extraRecords: 420, destinations: 230 },
    rollout: { windowStart: at(0.8, 15), srcIps: members, blockedDestination: '198.51.100.77' },
    newHost: { srcIp: '10.0.9.250', windowStart: at(0.9, 9), records: 260 },
    skipDataWindow: at(0.5, 4),
  };
}

/** Writes the sample to `path` (gzip when it ends in `.gz`), streaming, and returns its ground truth. */
export async function writeSample(path: string, options: SampleOptions = {}): Promise<SampleTruth> {
  const file = createWriteStream(path);
  const gzip = path.endsWith('.gz')
    ? createGzip({ level: constants.Z_BEST_COMPRESSION, memLevel: 9 })
    : undefined;
  if (gzip) gzip.pipe(file);
  const out = gzip ?? file;
  const lines = generateSample(options);
  let step = lines.next();
  while (!step.done) {
    if (!out.write(step.value)) await once(out, 'drain');
    step = lines.next();
  }
  out.end();
  await once(file, 'close');
  return step.value;
}
