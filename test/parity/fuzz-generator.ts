/**
 * Randomized parity scenarios: a seed draws a small case (2-6 days of flow log lines, a config,
 * how both sides start) for `runParityCase`. Every draw is deterministic in its seed.
 *
 * Features drawn: presets and options (window length, cooldown, mass spikes, CIDR lists and
 * exclusions, time zone, rhythm, recurring jobs), IPv4 and IPv6 sources and destinations
 * (IPv4-mapped IPv6, several textual forms of one IPv6 address), several accounts and log groups
 * with overlapping addresses, rhythmic sources, nightly jobs, quiet gaps, spikes, new sources,
 * mass spikes, SKIPDATA and NODATA rows (some straddling windows), records at window edges and
 * records ending in a later window, ACCEPT, inbound and internal-to-internal records, header
 * lines, CloudWatch Logs exports, a custom format with vpc-id, fresh start vs bootstrap, resumed
 * replays, dry runs.
 */
import {
  DEFAULT_FLOW_LOG_FORMAT,
  seededRandom,
  sourceKey,
  type DetectorConfigInput,
} from '../../lambda/core';
import type { ParityCase, ParityFile } from './parity';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface Scenario {
  parity: ParityCase;
  features: string[];
}

/** The fields a line builder knows. */
interface Rec {
  account: string;
  vpc: string;
  eni: string;
  src: string;
  dst: string;
  srcPort: number | '-';
  dstPort: number | '-';
  protocol: number | '-';
  start: number; // epoch s
  end: number; // epoch s
  action: 'ACCEPT' | 'REJECT' | '-';
  status: 'OK' | 'NODATA' | 'SKIPDATA';
}

const FORMATS = {
  v3: 'version account-id vpc-id subnet-id instance-id interface-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol packets bytes start end action tcp-flags log-status',
  noAccount:
    'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
  noEnd: 'version account-id interface-id srcaddr dstaddr dstport protocol start action log-status',
  noStatus: 'version account-id interface-id srcaddr dstaddr srcport dstport protocol start end action',
};
/** The default format's fields, as the core reads a file without a header. */
const V2_FIELDS = DEFAULT_FLOW_LOG_FORMAT;
/** The default format with `vpc-id` after `version`: sources keyed by VPC too. */
const CUSTOM_FIELDS = ['version', 'vpc-id', ...DEFAULT_FLOW_LOG_FORMAT.slice(1)];

/** A SKIPDATA record of an account's interface, its capture interval [startMs, endMs]. */
function skipDataRecord(account: string, vpc: string, startMs: number, endMs: number): Rec {
  return {
    account,
    vpc,
    eni: 'eni-0aaaabbbbccccdddd',
    src: '-',
    dst: '-',
    srcPort: '-',
    dstPort: '-',
    protocol: '-',
    start: startMs / 1000,
    end: endMs / 1000,
    action: '-',
    status: 'SKIPDATA',
  };
}

function lineOf(fields: readonly string[], r: Rec): string {
  const noData = r.status !== 'OK';
  const value = (f: string): string => {
    switch (f) {
      case 'version':
        return fields === V2_FIELDS ? '2' : '5';
      case 'subnet-id':
        return 'subnet-0a1b2c3d4e5f60718';
      case 'instance-id':
        return noData ? '-' : `i-0${r.eni.slice(-16)}`;
      case 'type':
        return noData ? '-' : r.src.includes(':') ? 'IPv6' : 'IPv4';
      case 'pkt-srcaddr':
        return noData ? '-' : r.src;
      case 'pkt-dstaddr':
        return noData ? '-' : r.dst;
      case 'tcp-flags':
        return noData ? '-' : r.protocol === 6 ? '2' : '0';
      case 'account-id':
        return r.account;
      case 'vpc-id':
        return r.vpc;
      case 'interface-id':
        return r.eni;
      case 'srcaddr':
        return noData ? '-' : r.src;
      case 'dstaddr':
        return noData ? '-' : r.dst;
      case 'srcport':
        return noData ? '-' : String(r.srcPort);
      case 'dstport':
        return noData ? '-' : String(r.dstPort);
      case 'protocol':
        return noData ? '-' : String(r.protocol);
      case 'packets':
        return noData ? '-' : '3';
      case 'bytes':
        return noData ? '-' : '180';
      case 'start':
        return String(r.start);
      case 'end':
        return String(r.end);
      case 'action':
        return noData ? '-' : r.action;
      case 'log-status':
        return r.status;
      default:
        throw new Error(f);
    }
  };
  return fields.map(value).join(' ');
}

interface Source {
  account: string;
  vpc: string;
  /** The forms the address is written in (several for some IPv6 sources). */
  forms: string[];
  v6: boolean;
  kind: 'steady' | 'rhythmic' | 'nightly' | 'gap' | 'late' | 'weekly';
  jobDay?: number;
  rate: number; // records per hour
  jobHour?: number;
  jobSize?: number;
  gap?: [number, number]; // days absent [from, to)
  startDay?: number;
}

const TIMEZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Asia/Tokyo',
];
/** Base dates: around DST changes (EU 2026-10-25, US 2026-11-01, US 2027-03-14, EU 2027-03-28) and plain weeks. */
const BASES = [
  '2026-10-22T00:00:00Z',
  '2026-10-29T00:00:00Z',
  '2026-11-19T00:00:00Z',
  '2027-03-11T00:00:00Z',
  '2027-03-25T00:00:00Z',
  '2027-06-02T00:00:00Z',
];
const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];

export function drawScenario(seed: number): Scenario {
  const r = seededRandom(seed * 7919 + 17);
  const features: string[] = [];
  const f = (name: string) => features.push(name);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const chance = (p: number) => r() < p;
  function pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(r() * xs.length)]!;
  }
  const poisson = (lambda: number): number => {
    if (lambda <= 0) return 0;
    if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k += 1;
      p *= r();
    } while (p > l);
    return k - 1;
  };
  function gauss(): number {
    return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  }

  // --- config
  const preset = chance(0.3) ? 'splunk-escu' : 'recommended';
  f(preset);
  const windowMinutes = pick([60, 60, 60, 60, 60, 60, 60, 30, 30, 15, 120, 1440, 45, 90, 20, 480]);
  f(`w${windowMinutes}`);
  const wl = windowMinutes * MINUTE;
  let days = int(2, 6);
  if (windowMinutes <= 20) days = Math.min(days, 3);
  if (windowMinutes === 1440) days = int(4, 6);
  const long = windowMinutes === 60 && chance(0.07);
  if (long) {
    days = int(15, 22);
    f('long');
  }
  const config: DetectorConfigInput = {};
  if (preset === 'splunk-escu') config.preset = 'splunk-escu';
  if (windowMinutes !== 60) config.windowMinutes = windowMinutes;
  const timezone = pick(TIMEZONES);
  if (timezone !== 'UTC') {
    config.timezone = timezone;
    f(`tz:${timezone}`);
  }
  if (preset === 'recommended') {
    const mdp = pick([undefined, 3, 6, 12]);
    if (mdp !== undefined) config.minDataPoints = mdp;
    const nsm = pick([undefined, 20, 50, 0]);
    if (nsm !== undefined) config.newSourceMinCount = nsm;
    const cd = pick([undefined, 0, 30, 60, 120]);
    if (cd !== undefined) {
      config.cooldownMinutes = cd;
      f(`cooldown${cd}`);
    }
    const ms = pick([undefined, 3, 4, 0]);
    if (ms !== undefined) {
      config.massSpikeMinSources = ms;
      f(`massMin${ms}`);
    }
    if (chance(0.3)) config.massSpikeFraction = pick([0.1, 0.3, 0.5]);
    if (chance(0.3)) config.falseAlertBudgetPerDay = pick([0.5, 3, 10]);
    if (60 % windowMinutes === 0 && chance(0.6)) {
      config.rhythmMinDays = 2;
      f('rhythmMinDays2');
    }
    if (chance(0.3)) config.rhythm = false;
    const jobs = pick([undefined, 2, 2, 0]);
    if (jobs !== undefined) {
      config.jobOccurrencesToLearn = jobs;
      f(`jobs${jobs}`);
    }
    if (chance(0.2)) config.weekendDays = pick([['Fri', 'Sat'], [], ['Sun']]) as never;
  } else {
    const mdp = pick([undefined, 2, 3]);
    if (mdp !== undefined) config.minDataPoints = mdp;
    const nsm = pick([undefined, 0, 30]);
    if (nsm !== undefined) config.newSourceMinCount = nsm;
    const cd = pick([undefined, 60, 180]);
    if (cd !== undefined) {
      config.cooldownMinutes = cd;
      f(`cooldown${cd}`);
    }
    const ms = pick([undefined, 3, 5]);
    if (ms !== undefined) {
      config.massSpikeMinSources = ms;
      f(`massMin${ms}`);
    }
    if (chance(0.3)) config.deviationThreshold = pick([2, 2.5]);
  }
  const cidrChoice = int(0, 3);
  const internal = [
    ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
    ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
    ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8', '2600:1f18:4a3b:ab00::/56'],
    ['10.0.0.0/16', '192.168.0.0/16', 'fd00::/16'],
  ][cidrChoice]!;
  if (cidrChoice !== 0) config.internalCidrs = internal;
  f(`cidrs${cidrChoice}`);
  if (chance(0.25)) {
    config.excludeSourceCidrs = [
      pick(['10.0.2.0/24', '10.0.0.13/32', 'fd00:1::/64', '172.16.0.0/16', 'fd00:2::1:7/128']),
    ];
    f('exclude-src');
  }
  if (chance(0.25)) {
    config.excludeDestinationCidrs = [
      pick(['203.0.113.0/25', '8.8.8.8/32', '2001:db8::/64', '2001:db8::2/128', '198.51.100.0/24']),
    ];
    f('exclude-dst');
  }
  const formatDraw = r();
  const custom = formatDraw < 0.12;
  let fields = custom ? CUSTOM_FIELDS : V2_FIELDS;
  if (custom) {
    config.flowLogFormat = CUSTOM_FIELDS.join(' ');
    f('format:vpc-id');
  } else if (process.env.FUZZ_FORMATS !== undefined && formatDraw < 0.3) {
    const name = pick(Object.keys(FORMATS) as (keyof typeof FORMATS)[]);
    config.flowLogFormat = FORMATS[name];
    fields = FORMATS[name].split(' ');
    f(`format:${name}`);
  }
  const dryRun = chance(0.08);
  if (dryRun) {
    config.maxCatchUpWindows = 744;
    f('dry-run');
  }

  // --- time
  const base = Date.parse(pick(BASES)) + int(0, 3) * DAY;
  const startHour = chance(0.3) ? int(1, 23) : 0;
  if (startHour !== 0) f('midday-start');
  const t0 = base + startHour * HOUR;
  const tEnd = base + days * DAY; // exclusive
  const nWindows = Math.floor((tEnd - t0) / wl);

  // --- accounts, groups, sources
  const nAccounts = int(1, 3);
  const accounts = ACCOUNTS.slice(0, nAccounts);
  if (chance(0.1)) {
    accounts.push('unknown');
    f('account:unknown');
  }
  if (accounts.length > 1) f('accounts');
  const vpcs = ['vpc-0a1b2c3d', 'vpc-0e0f1a2b'];
  const v4Pool = Array.from({ length: 14 }, (_, i) =>
    i < 8 ? `10.0.${i % 3}.${10 + i}` : i < 11 ? `172.16.4.${i}` : `192.168.7.${i}`,
  );
  const v6Pool = ['fd00:1::5', 'fd00:1::a', 'fd00:2::1:7', '2600:1f18:4a3b:ab01::9', 'fd12:3456::1'];
  const sixForms = (a: string): string[] => {
    const expanded = expandV6(a);
    return [a, a.toUpperCase(), expanded, expanded.replace(/(^|:)0+(?=[0-9a-f])/g, '$1')];
  };
  const nSources = int(3, 30);
  const sources: Source[] = [];
  const used = new Set<string>();
  for (let i = 0; i < nSources; i += 1) {
    const account = pick(accounts);
    const vpc = pick(vpcs);
    const kindDraw = r();
    let address: string;
    let forms: string[];
    let v6 = false;
    if (kindDraw < 0.72) {
      address = pick(v4Pool);
      forms = [address];
    } else if (kindDraw < 0.8) {
      address = `::ffff:${pick(v4Pool)}`;
      forms = [address];
      v6 = true;
      f('mapped-src');
    } else {
      address = pick(v6Pool);
      v6 = true;
      forms = chance(0.35) ? sixForms(address).slice(0, int(2, 4)) : [address];
      f(forms.length > 1 ? 'v6-forms' : 'v6-src');
    }
    const id = `${account}|${fields.includes('vpc-id') ? vpc : ''}|${address}`;
    if (used.has(id)) continue;
    used.add(id);
    const kd = r();
    const kind: Source['kind'] =
      long && chance(0.3)
        ? 'weekly'
        : kd < 0.45
          ? 'steady'
          : kd < 0.65
            ? 'rhythmic'
            : kd < 0.8
              ? 'nightly'
              : kd < 0.9
                ? 'gap'
                : 'late';
    f(`src:${kind}`);
    const s: Source = { account, vpc, forms, v6, kind, rate: pick([0.3, 1, 2, 4, 8, 15]) };
    if (kind === 'weekly') {
      s.jobHour = int(0, 23);
      s.jobDay = int(0, 6);
      s.jobSize = int(60, 400);
    }
    if (kind === 'nightly') {
      s.jobHour = int(0, 5);
      s.jobSize = int(40, 300);
    }
    if (kind === 'gap') {
      const from = int(0, days - 1);
      s.gap = [from, from + int(1, 2)];
    }
    if (kind === 'late') s.startDay = int(1, days - 1);
    sources.push(s);
  }

  const recs: Rec[] = [];
  const v4Dst = ['203.0.113.1', '203.0.113.2', '203.0.113.77', '198.51.100.7', '8.8.8.8', '52.94.1.10'];
  const v6Dst = [
    '2001:db8::1',
    '2001:db8::2',
    '2001:db80::1',
    '2600:1f18:ffff::1',
    '::ffff:8.8.8.8',
    '::ffff:10.1.2.3',
  ];
  const eniOf = (src: string) =>
    `eni-0${src
      .replace(/[^0-9a-f]/gi, '')
      .toLowerCase()
      .padStart(16, '0')
      .slice(-16)}`;
  const recordAt = (windowStart: number): { start: number; end: number } => {
    const mode = r();
    let start: number;
    if (mode < 0.06) start = windowStart;
    else if (mode < 0.12) start = windowStart + wl - 1000;
    else start = windowStart + Math.floor(r() * (wl / 1000)) * 1000;
    const agg = chance(0.2) ? 600 : chance(0.05) ? int(1, 1800) : 60;
    return { start: start / 1000, end: start / 1000 + agg };
  };
  const localHour = (ms: number): number => {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hour: 'numeric',
      hourCycle: 'h23',
    }).formatToParts(new Date(ms));
    return Number(parts.find((p) => p.type === 'hour')!.value);
  };
  const localDay = (ms: number): number =>
    ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(
      new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short' }).format(new Date(ms)),
    );
  const push = (s: Source, windowStart: number, count: number, dstSpread = 4) => {
    const dsts = s.v6 ? v6Dst : v4Dst;
    for (let i = 0; i < count; i += 1) {
      const { start, end } = recordAt(windowStart);
      const src = pick(s.forms);
      const proto = chance(0.05) ? 1 : chance(0.2) ? 17 : 6;
      recs.push({
        account: s.account,
        vpc: s.vpc,
        eni: eniOf(src),
        src,
        dst:
          dstSpread > 6
            ? s.v6
              ? `2001:db8::${(i % dstSpread) + 10}`
              : `203.0.113.${(i % dstSpread) + 10}`
            : dsts[i % Math.min(dsts.length, dstSpread)]!,
        srcPort: proto === 1 ? 0 : 40000 + int(0, 20000),
        dstPort: proto === 1 ? 0 : chance(0.02) ? '-' : pick([443, 443, 80, 53, 8443]),
        protocol: proto,
        start,
        end,
        action: 'REJECT',
        status: 'OK',
      });
    }
  };
  // ordinary traffic
  for (let w = 0; w < nWindows; w += 1) {
    const ws = t0 + w * wl;
    const day = Math.floor((ws - base) / DAY);
    for (const s of sources) {
      if (s.gap && day >= s.gap[0] && day < s.gap[1]) continue;
      if (s.startDay !== undefined && day < s.startDay) continue;
      let lambda = (s.rate * windowMinutes) / 60;
      if (s.kind === 'rhythmic') {
        const h = localHour(ws);
        lambda *= h >= 8 && h < 18 ? 6 : 0.3;
      }
      let count = poisson(lambda);
      if (s.kind === 'weekly' && localHour(ws) === s.jobHour && localDay(ws) === s.jobDay)
        count += Math.round(s.jobSize! * (0.7 + 0.6 * r()));
      if (s.kind === 'nightly' && s.jobHour !== undefined) {
        const h = localHour(ws);
        const hourStart = ws % HOUR === 0 || windowMinutes >= 60;
        if (h === s.jobHour && hourStart) count += Math.round(s.jobSize! * (0.85 + 0.3 * r()));
      }
      push(s, ws, count, int(1, 5));
    }
    // noise: records that never count (accepted, inbound, internal to internal)
    const background = (probability: number, record: (s: (typeof sources)[number]) => Partial<Rec>): void => {
      if (!chance(probability)) return;
      const s = pick(sources);
      const { start, end } = recordAt(ws);
      recs.push({
        account: s.account,
        vpc: s.vpc,
        eni: eniOf(s.forms[0]!),
        src: s.forms[0]!,
        dst: '-',
        srcPort: 50000,
        dstPort: 443,
        protocol: 6,
        start,
        end,
        action: 'REJECT',
        status: 'OK',
        ...record(s),
      });
    };
    background(0.5, (s) => ({ dst: s.v6 ? '2001:db8::1' : '203.0.113.1', action: 'ACCEPT' }));
    // inbound: external source rejected towards an internal address
    background(0.4, (s) => ({ src: s.v6 ? '2001:db8::99' : '198.51.100.9', dst: s.forms[0]!, dstPort: 22 }));
    // internal to internal
    background(0.3, (s) => ({ dst: s.v6 ? 'fd00:9::9' : '10.9.9.9', dstPort: 5432 }));
    if (chance(0.15)) {
      const s = pick(sources);
      const { start, end } = recordAt(ws);
      recs.push({
        account: s.account,
        vpc: s.vpc,
        eni: eniOf(s.forms[0]!),
        src: '-',
        dst: '-',
        srcPort: '-',
        dstPort: '-',
        protocol: '-',
        start,
        end,
        action: '-',
        status: 'NODATA',
      });
      f('nodata');
    }
  }
  // events
  const eventWindow = (minDay: number) => {
    const from = Math.max(0, Math.ceil((base + minDay * DAY - t0) / wl));
    return t0 + int(Math.min(from, nWindows - 1), nWindows - 1) * wl;
  };
  const spikes = int(0, 3);
  for (let i = 0; i < spikes; i += 1) {
    const s = pick(sources);
    push(s, eventWindow(1), int(20, 400), int(1, 30));
    f('spike');
  }
  if (chance(0.3) && sources.length >= 3) {
    const ws = eventWindow(1);
    const members = [...sources].sort(() => r() - 0.5).slice(0, Math.min(sources.length, int(5, 9)));
    for (const s of members) push(s, ws, int(60, 300), int(3, 12));
    f('mass-spike');
  }
  const newcomers = chance(0.5) ? int(1, 2) : 0;
  for (let i = 0; i < newcomers; i += 1) {
    const v6 = chance(0.3) && cidrChoice !== 0;
    const s: Source = {
      account: pick(accounts),
      vpc: pick(vpcs),
      forms: [v6 ? `fd00:7::${i + 1}` : `10.0.9.${i + 1}`],
      v6,
      kind: 'steady',
      rate: 1,
    };
    push(s, eventWindow(1), int(15, 300), int(1, 20));
    f('new-source');
  }
  // SKIPDATA
  const skips = chance(0.35) ? int(1, 3) : 0;
  for (let i = 0; i < skips; i += 1) {
    const ws = t0 + int(0, nWindows - 1) * wl;
    const mode = r();
    let start: number;
    let length: number;
    if (mode < 0.3) {
      // straddling a boundary
      start = ws + wl - int(1, 10) * MINUTE;
      length = int(2, 20) * MINUTE;
      f('skipdata-straddle');
    } else if (mode < 0.45) {
      start = ws;
      length = int(1, 5) * MINUTE;
      f('skipdata-edge');
    } else if (mode < 0.55) {
      start = ws + wl - 1000;
      length = 60_000;
      f('skipdata-last-second');
    } else {
      start = ws + int(0, windowMinutes - 1) * MINUTE;
      length = chance(0.3) ? int(1, 3) * HOUR : int(1, 10) * MINUTE;
      f('skipdata');
    }
    recs.push(skipDataRecord(pick(accounts), vpcs[0]!, start, start + length));
  }
  // keep every record inside [t0, tEnd)
  const kept = recs.filter((x) => x.start * 1000 >= t0 && x.start * 1000 < tEnd);

  // --- files and log groups
  const groupMode = accounts.length === 1 ? pick(['one', 'split']) : pick(['per-account', 'one', 'split']);
  f(`groups:${groupMode}`);
  const groupOf = (x: Rec): string =>
    groupMode === 'one'
      ? 'flow-logs'
      : groupMode === 'per-account'
        ? `acct-${x.account === 'unknown' ? 'u' : x.account.slice(0, 1)}`
        : `g${x.start % 3 === 0 ? 1 : 0}`;
  const byGroup = new Map<string, Rec[]>();
  for (const x of kept) {
    const g = groupOf(x);
    const list = byGroup.get(g) ?? [];
    list.push(x);
    byGroup.set(g, list);
  }
  const files: ParityFile[] = [];
  for (const [group, list] of [...byGroup].sort((a, b) => a[0].localeCompare(b[0]))) {
    const parts = int(1, 3);
    for (let p = 0; p < parts; p += 1) {
      const lines = list
        .filter((_, i) => i % parts === p)
        .map((x) => ({ x, k: r() }))
        .sort((a, b) => a.k - b.k)
        .map(({ x }) => lineOf(fields, x));
      if (lines.length === 0) continue;
      const file: ParityFile = { name: `${group}-${p}.log`, lines, logGroup: group };
      const how = r();
      if (how < 0.12) {
        file.cloudWatchExport = chance(0.5) ? 'gzip' : 'plain';
        file.name = `${group}-${p}.export${file.cloudWatchExport === 'gzip' ? '.gz' : ''}`;
        f('cw-export');
      } else if (how < 0.3) {
        file.lines = [fields.join(' '), ...lines];
        f('header');
      }
      files.push(file);
    }
  }

  const parity: ParityCase = { name: `fuzz-${seed}`, files, config };
  if (dryRun) parity.lambda = 'dry-run';
  if (!dryRun && (long ? chance(0.8) : chance(0.4))) {
    parity.bootstrapDays = long ? days - int(1, 3) : int(1, days - 1);
    f(`bootstrap${parity.bootstrapDays}`);
  } else f('fresh');
  // resume on a window boundary, after the bootstrap
  if (chance(0.3)) {
    const firstStart = Math.min(...kept.map((x) => x.start * 1000));
    const first = firstStart - (firstStart % wl);
    const minAt = first + (parity.bootstrapDays ?? 0) * DAY + wl;
    const lastStart = Math.max(...kept.map((x) => x.start * 1000));
    const maxAt = lastStart - (lastStart % wl);
    if (maxAt > minAt) {
      parity.resumeAt = minAt + Math.floor(r() * ((maxAt - minAt) / wl)) * wl;
      f('resume');
    }
  }
  const boundary =
    parity.resumeAt ??
    (parity.bootstrapDays === undefined ? undefined : t0 - (t0 % wl) + parity.bootstrapDays * DAY);
  if (boundary !== undefined && chance(0.25)) {
    const start = boundary - int(1, 10) * MINUTE;
    const end = boundary + int(0, 30) * MINUTE;
    const line = lineOf(fields, skipDataRecord(pick(accounts), vpcs[0]!, start, end));
    const file = files.find((x) => x.cloudWatchExport === undefined) ?? files[0]!;
    file.lines.push(line);
    f(parity.resumeAt === undefined ? 'skipdata-at-bootstrap-end' : 'skipdata-at-resume');
  }
  if (!dryRun && chance(0.5)) {
    parity.storedKeys = sources.slice(0, 6).flatMap((s) =>
      s.forms.map((form) =>
        sourceKey({
          accountId: s.account === 'unknown' || !fields.includes('account-id') ? undefined : s.account,
          vpcId: fields.includes('vpc-id') ? s.vpc : undefined,
          address: form,
        }),
      ),
    );
    f('stored');
  }
  return { parity, features: [...new Set(features)].sort() };
}

function expandV6(a: string): string {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: 8 - h.length - t.length }, () => '0');
  return [...h, ...(tail === undefined ? [] : zeros), ...t].map((g) => g.padStart(4, '0')).join(':');
}
