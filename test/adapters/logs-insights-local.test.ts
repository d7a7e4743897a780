/**
 * LogsInsightsFlowSource through the real @aws-sdk/client-cloudwatch-logs against the local Logs
 * Insights endpoint (test/support), whose evaluator runs the emitted query strings over seeded
 * flow records. Every count is compared with a direct count over the same records computed here
 * with the engine's own EgressFilter: that proves the queries mean what they should.
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import type { SourceDetails } from '../../lambda/adapters/ports';
import { QueryFailedError, QueryThrottledError, QueryTimeoutError } from '../../lambda/adapters/errors';
import { LogGroupDiscovery } from '../../lambda/adapters/log-group-discovery';
import {
  LogsInsightsFlowSource,
  type LogsInsightsFlowSourceOptions,
} from '../../lambda/adapters/logs-insights-flow-source';
import {
  accountOfRecord,
  EgressFilter,
  parseFlowLogFormat,
  sourceKey,
  resolveDetectorConfig,
  seededRandom,
  windowAt,
  type DestinationCount,
  type DetectorConfig,
  type DetectorConfigInput,
  type FlowLogField,
  type Window,
} from '../../lambda/core';
import {
  startLocalLogsInsights,
  type LocalLogsInsights,
  type LogEvent,
} from '../support/local-logs-insights';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 10);
const GROUP_A = '/vpc/flow-logs-a';
const GROUP_B = '/vpc/flow-logs-b';
const GROUP_B_ARN = `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP_B}`;

/** One flow log record; `srcaddr` etc. are `-` on NODATA/SKIPDATA records, as AWS writes them. */
interface FlowRecord {
  start: number; // epoch seconds
  /** The `account-id` field. @default ACCOUNT */
  account?: string;
  srcaddr: string;
  dstaddr: string;
  dstport: string;
  protocol: string;
  action: string;
  logStatus: 'OK' | 'NODATA' | 'SKIPDATA';
  interfaceId: string;
}

/** The account records are in unless they say otherwise. */
const ACCOUNT = '123456789012';
/** Accounts with overlapping address plans, and interfaces AWS owns (`unknown`). */
const ACCOUNTS = [ACCOUNT, '210987654321', 'unknown'];

const CUSTOM_FORMAT =
  'version vpc-id subnet-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr ' +
  'pkt-dstaddr protocol bytes packets start end action tcp-flags log-status flow-direction';
const CUSTOM_FORMAT_WITHOUT_STATUS = 'version interface-id srcaddr dstaddr dstport protocol start action';

function render(record: FlowRecord, format: readonly FlowLogField[] | undefined): string {
  const values: Partial<Record<FlowLogField, string>> = {
    version: format === undefined ? '2' : '5',
    'account-id': record.account ?? ACCOUNT,
    'interface-id': record.interfaceId,
    srcaddr: record.srcaddr,
    dstaddr: record.dstaddr,
    srcport: record.logStatus === 'OK' ? '49152' : '-',
    dstport: record.dstport,
    protocol: record.protocol,
    packets: record.logStatus === 'OK' ? '3' : '-',
    bytes: record.logStatus === 'OK' ? '180' : '-',
    start: String(record.start),
    end: String(record.start + 60),
    action: record.action,
    'log-status': record.logStatus,
    'vpc-id': 'vpc-0abc',
    'subnet-id': 'subnet-0abc',
    type: record.srcaddr.includes(':') ? 'IPv6' : 'IPv4',
    'pkt-srcaddr': record.srcaddr,
    'pkt-dstaddr': record.dstaddr,
    'tcp-flags': '2',
    'flow-direction': 'egress',
  };
  const fields =
    format ??
    parseFlowLogFormat(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    );
  return fields.map((f) => values[f] ?? '-').join(' ');
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** The source key the detector should give a record, worked out here from the config's format. */
function keyOf(record: FlowRecord, config: DetectorConfig, address = record.srcaddr): string {
  const format = config.flowLogFormat === undefined ? undefined : parseFlowLogFormat(config.flowLogFormat);
  const has = (field: FlowLogField) => format === undefined || format.includes(field);
  return sourceKey({
    accountId: has('account-id') ? accountOfRecord(record.account ?? ACCOUNT) : undefined,
    vpcId: format?.includes('vpc-id') ? 'vpc-0abc' : undefined,
    address,
  });
}

interface Pools {
  internal: string[];
  external: string[];
}

function pools(random: () => number, internalCount: number): Pools {
  const internal: string[] = [];
  for (let i = 0; i < internalCount; i += 1) {
    const r = random();
    if (r < 0.5)
      internal.push(
        `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`,
      );
    else if (r < 0.65)
      internal.push(
        `172.${16 + Math.floor(random() * 16)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`,
      );
    else if (r < 0.8)
      internal.push(`192.168.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`);
    else if (r < 0.9)
      internal.push(`fd00::${Math.floor(random() * 65535).toString(16)}:${(1 + i).toString(16)}`);
    // Uncompressed IPv6, as some writers print it: matching must not depend on the text form.
    else internal.push(`fd00:0:0:0:0:0:${Math.floor(random() * 65535).toString(16)}:${(1 + i).toString(16)}`);
  }
  const external = [
    '8.8.8.8',
    '1.1.1.1',
    '52.94.1.10', // excluded destination range in some configs
    '203.0.113.7',
    '198.51.100.23',
    '100.64.3.3',
    '2600:1f18::10',
    '2001:db8:ffff::1',
    ...Array.from({ length: 30 }, (_, i) => `54.${i}.${(i * 7) % 256}.${((i * 13) % 254) + 1}`),
  ];
  return { internal, external };
}

/**
 * Flow records over [T0, T0 + hours h): internal->external REJECTs (mostly), ACCEPTs,
 * internal->internal, inbound, NODATA, and SKIPDATA when asked; plus records exactly on the
 * window boundaries.
 */
function generate(
  seed: number,
  options: { records: number; hours: number; internal: number; skipData?: number[]; accounts?: string[] },
): FlowRecord[] {
  const random = seededRandom(seed);
  const { internal, external } = pools(random, options.internal);
  const records: FlowRecord[] = [];
  const eni = (src: string): string =>
    `eni-${(src.length * 7919 + src.charCodeAt(src.length - 1)).toString(16)}`;
  const flow = (start: number, src: string, dst: string, action: string): FlowRecord => ({
    start,
    ...(options.accounts === undefined ? {} : { account: pick(random, options.accounts) }),
    srcaddr: src,
    dstaddr: dst,
    dstport: String(pick(random, [443, 80, 53, 22, 3389, 8080])),
    protocol: String(pick(random, [6, 6, 6, 17])),
    action,
    logStatus: 'OK',
    interfaceId: `${eni(src)}${random() < 0.1 ? 'b' : ''}`,
  });
  const sameFamily = (src: string, list: string[]): string[] =>
    list.filter((a) => a.includes(':') === src.includes(':'));
  for (let i = 0; i < options.records; i += 1) {
    const start = Math.floor((T0 + random() * options.hours * HOUR) / 1000);
    const src = pick(random, internal);
    const r = random();
    if (r < 0.6) records.push(flow(start, src, pick(random, sameFamily(src, external)), 'REJECT'));
    else if (r < 0.7) records.push(flow(start, src, pick(random, sameFamily(src, external)), 'ACCEPT'));
    else if (r < 0.8) records.push(flow(start, src, pick(random, sameFamily(src, internal)), 'REJECT'));
    else if (r < 0.9) records.push(flow(start, pick(random, sameFamily(src, external)), src, 'REJECT'));
    else records.push({ ...flow(start, '-', '-', '-'), dstport: '-', protocol: '-', logStatus: 'NODATA' });
  }
  // Boundary records: the first and last second of every window, and the first second after.
  for (let h = 0; h <= options.hours; h += 1) {
    const edge = (T0 + h * HOUR) / 1000;
    records.push(flow(edge, internal[0]!, '8.8.8.8', 'REJECT'));
    records.push(flow(edge - 1, internal[0]!, '1.1.1.1', 'REJECT'));
  }
  for (const hour of options.skipData ?? []) {
    for (let k = 0; k < 3; k += 1) {
      records.push({
        ...flow(Math.floor((T0 + hour * HOUR) / 1000) + 100 * k, '-', '-', '-'),
        dstport: '-',
        protocol: '-',
        logStatus: 'SKIPDATA',
      });
    }
  }
  return records;
}

function toEvents(records: readonly FlowRecord[], format: readonly FlowLogField[] | undefined): LogEvent[] {
  return records.map((r) => ({
    timestamp: r.start * 1000,
    message: render(r, format),
    logStream: r.interfaceId,
  }));
}

/** A plan whose first internal CIDR is halved `depth` levels deep: 2^depth parts of it. */
function balancedHalves(depth: number): unknown {
  const node = (d: number): unknown => (d === 0 ? { r: 1 } : { c: [node(d - 1), node(d - 1)] });
  return { c: [node(depth), { r: 1 }, { r: 1 }, { r: 1 }] };
}

const inWindow = (r: FlowRecord, w: Window): boolean => r.start * 1000 >= w.start && r.start * 1000 < w.end;

function directCounts(
  records: readonly FlowRecord[],
  window: Window,
  config: DetectorConfig,
  hasStatus = true,
) {
  const filter = new EgressFilter(config);
  const counts = new Map<string, number>();
  const destinations = new Map<string, Set<string>>();
  let skipped = 0;
  for (const r of records) {
    if (!inWindow(r, window)) continue;
    if (r.logStatus === 'SKIPDATA') skipped += 1;
    if ((hasStatus && r.logStatus !== 'OK') || r.action !== 'REJECT' || !filter.counts(r.srcaddr, r.dstaddr))
      continue;
    const key = keyOf(r, config);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    destinations.set(key, (destinations.get(key) ?? new Set()).add(r.dstaddr));
  }
  const unique = new Map([...destinations].map(([src, set]) => [src, set.size]));
  return { counts, unique, skipped: hasStatus ? skipped : 0 };
}

function directDetails(
  records: readonly FlowRecord[],
  window: Window,
  config: DetectorConfig,
  source: string,
  top = 10,
): SourceDetails {
  const filter = new EgressFilter(config);
  const destinations = new Map<string, DestinationCount>();
  const interfaces = new Set<string>();
  for (const r of records) {
    if (!inWindow(r, window) || r.logStatus !== 'OK' || r.action !== 'REJECT' || keyOf(r, config) !== source)
      continue;
    if (!filter.counts(r.srcaddr, r.dstaddr)) continue;
    const key = `${r.dstaddr}/${r.dstport}/${r.protocol}`;
    const existing = destinations.get(key);
    if (existing) existing.count += 1;
    else
      destinations.set(key, {
        address: r.dstaddr,
        port: Number(r.dstport),
        protocol: Number(r.protocol),
        count: 1,
      });
    interfaces.add(r.interfaceId);
  }
  const sorted = [...destinations.values()].sort(
    (a, b) =>
      b.count - a.count ||
      a.address.localeCompare(b.address) ||
      a.port! - b.port! ||
      a.protocol! - b.protocol!,
  );
  return {
    topDestinations: sorted.slice(0, top),
    totalDestinations: sorted.length,
    interfaceIds: [...interfaces].sort(),
    // The exact distinct destination addresses, which the source gives with complete details.
    ...(sorted.length === 0 ? {} : { distinctAddresses: new Set(sorted.map((d) => d.address)).size }),
  };
}

/**
 * The details of a source over the row limit, which are a sample (its top destinations and the
 * spread): no exact count of its distinct addresses comes with them.
 */
function asSample({ distinctAddresses: _exact, ...details }: SourceDetails): SourceDetails {
  return details;
}

describe('LogsInsightsFlowSource against the local Logs Insights endpoint', () => {
  let server: LocalLogsInsights;
  let client: CloudWatchLogsClient;
  const sleeps: number[] = [];

  const source = (
    config: DetectorConfig,
    groups: string[],
    extra: Partial<LogsInsightsFlowSourceOptions> = {},
  ): LogsInsightsFlowSource =>
    new LogsInsightsFlowSource({
      client,
      logGroupIdentifiers: groups,
      config,
      pollIntervalMs: 5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...extra,
    });
  const deadline = (): number => Date.now() + 60_000;

  beforeAll(async () => {
    server = await startLocalLogsInsights();
    // maxAttempts 1: the SDK's own retries would hide what the adapter does about throttling.
    client = new CloudWatchLogsClient({ ...server.clientConfig(), maxAttempts: 1 });
  });

  afterAll(async () => {
    client.destroy();
    await server.stop();
  });

  beforeEach(() => {
    server.resetCounters();
    sleeps.length = 0;
  });

  describe('default format over two log groups (one named by ARN)', () => {
    const input: DetectorConfigInput = {
      internalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
      excludeSourceCidrs: ['10.255.0.0/16'],
      excludeDestinationCidrs: ['52.94.0.0/16'],
    };
    const config = resolveDetectorConfig(input);
    const records = generate(1, {
      records: 2400,
      hours: 3,
      internal: 100,
      skipData: [1],
      accounts: ACCOUNTS,
    });
    const half = Math.floor(records.length / 2);

    beforeAll(() => {
      server.seed(GROUP_A, toEvents(records.slice(0, half), undefined));
      server.seed(GROUP_B, toEvents(records.slice(half), undefined));
    });

    it.each([0, 1, 2])('countWindow(window %i) equals the direct count', async (hour) => {
      // Prepare
      const window = windowAt(T0 + hour * HOUR, config);
      const expected = directCounts(records, window, config);
      // Act
      const result = await source(config, [GROUP_A, GROUP_B_ARN]).countWindow(window, deadline());
      // Assess
      expect(expected.counts.size).toBeGreaterThan(40);
      expect(result.counts).toEqual(expected.counts);
      expect(result.uniqueDestinations).toEqual(expected.unique);
      expect(result.skippedRecords).toBe(expected.skipped);
      expect(result.complete).toBe(expected.skipped === 0);
      expect(result.windowStart).toBe(window.start);
      expect(result.stats.queries).toBe(1);
      expect(result.stats.bytesScanned).toBeGreaterThan(0);
      expect(result.stats.recordsScanned).toBeGreaterThan(result.stats.recordsMatched);
      // The StartQuery range is [start, end - 1 s], inclusive seconds.
      const started = server.startedQueries[0]!;
      expect([started.startTime, started.endTime]).toEqual([window.start / 1000, window.end / 1000 - 1]);
      expect(started.logGroupNames).toEqual([GROUP_A, GROUP_B]);
      expect(started.limit).toBe(100_000);
    });

    it('marks the window with SKIPDATA records incomplete', async () => {
      const result = await source(config, [GROUP_A, GROUP_B]).countWindow(
        windowAt(T0 + HOUR, config),
        deadline(),
      );
      expect(result.complete).toBe(false);
      expect(result.skippedRecords).toBe(3);
      expect([...result.counts.keys()].some((key) => key.endsWith('|-'))).toBe(false);
    });

    it('counts a boundary record in the window holding its start only', async () => {
      const boundarySource = keyOf(
        records.find((r) => r.start * 1000 === T0 + HOUR && r.dstaddr === '8.8.8.8')!,
        config,
      );
      const first = await source(config, [GROUP_A, GROUP_B]).countWindow(windowAt(T0, config), deadline());
      const second = await source(config, [GROUP_A, GROUP_B]).countWindow(
        windowAt(T0 + HOUR, config),
        deadline(),
      );
      const all = directCounts(records, { start: T0, end: T0 + 2 * HOUR }, config);
      expect((first.counts.get(boundarySource) ?? 0) + (second.counts.get(boundarySource) ?? 0)).toBe(
        all.counts.get(boundarySource),
      );
    });

    it('returns details equal to a direct computation, IPv6 sources matched whatever their text form', async () => {
      // Prepare
      const window = windowAt(T0 + 2 * HOUR, config);
      const { counts } = directCounts(records, window, config);
      const busiest = [...counts].sort((a, b) => b[1] - a[1]).map(([src]) => src);
      const v6 = busiest.filter((s) => s.includes(':')).slice(0, 2);
      const absent = sourceKey({ accountId: ACCOUNT, address: '10.200.200.200' });
      const asked = [...busiest.filter((s) => !s.includes(':')).slice(0, 3), ...v6, absent];
      expect(v6.length).toBe(2);
      // The same address in two accounts: each key gets its own account's records only.
      const shared = busiest.find((key) =>
        busiest.some((other) => other !== key && other.split('|')[1] === key.split('|')[1]),
      );
      expect(shared).toBeDefined();
      if (!asked.includes(shared!)) asked.splice(0, 1, shared!);

      // Act
      const details = await source(config, [GROUP_A, GROUP_B]).details(window, asked, deadline());
      // Assess
      expect([...details.keys()]).toEqual(asked);
      for (const src of asked) expect(details.get(src)).toEqual(directDetails(records, window, config, src));
      expect(details.get(asked[0]!)!.topDestinations.length).toBeGreaterThan(1);
      expect(details.get(absent)).toEqual({
        topDestinations: [],
        totalDestinations: 0,
        interfaceIds: [],
      });
    });

    it('returns per-window history in order, sliced across queries, with SKIPDATA windows incomplete', async () => {
      // Act: two windows per query, so the three windows take two slices.
      const result = await source(config, [GROUP_A, GROUP_B], { historySliceWindows: 2 }).history(
        T0,
        T0 + 3 * HOUR,
        deadline(),
      );
      // Assess
      expect(result.windows.map((w) => w.windowStart)).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
      for (const w of result.windows) {
        const expected = directCounts(records, windowAt(w.windowStart, config), config);
        expect(w.counts).toEqual(expected.counts);
        expect(w.complete).toBe(expected.skipped === 0);
      }
      expect(result.windows.map((w) => w.complete)).toEqual([true, false, true]);
      expect(result.stats.queries).toBe(2);
      // The newest slice first (a run that runs out of time has counted the most recent windows).
      expect(server.startedQueries.map((q) => [q.startTime, q.endTime])).toEqual([
        [(T0 + HOUR) / 1000, (T0 + 3 * HOUR) / 1000 - 1],
        [T0 / 1000, (T0 + HOUR) / 1000 - 1],
      ]);
    });
  });

  describe('SKIPDATA across a window boundary', () => {
    const config = resolveDetectorConfig({});
    const GROUP = '/vpc/skipdata-boundary';
    const W = Date.UTC(2026, 10, 27, 9);
    // A capture interval from 09:55 to 10:05 that lost records: both hours are missing some.
    const straddling = (start: number, end: number) => ({
      timestamp: start,
      message: `2 123456789012 eni-0abc - - - - - - - ${start / 1000} ${end / 1000} - SKIPDATA`,
    });

    beforeAll(() => {
      server.seed(GROUP, [
        straddling(W + 55 * 60_000, W + HOUR + 5 * 60_000),
        // One whose end lies before its start marks its own window only.
        straddling(W + 3 * HOUR + 10 * 60_000, W + 3 * HOUR),
        {
          timestamp: W + HOUR + 60_000,
          message: `2 123456789012 eni-0abc 10.0.0.1 8.8.8.8 49152 443 6 1 40 ${(W + HOUR + 60_000) / 1000} ${(W + HOUR + 120_000) / 1000} REJECT OK`,
        },
      ]);
    });

    it('reports the last window the SKIPDATA records of a count query reach', async () => {
      // Act
      const first = await source(config, [GROUP]).countWindow(windowAt(W, config), deadline());
      const second = await source(config, [GROUP]).countWindow(windowAt(W + HOUR, config), deadline());
      const backwards = await source(config, [GROUP]).countWindow(windowAt(W + 3 * HOUR, config), deadline());

      // Assess: the count query sees a record in the window holding its start; the caller carries it
      expect(first).toMatchObject({ complete: false, skippedRecords: 1, skipDataThrough: W + HOUR });
      expect(second).toMatchObject({ complete: true, skippedRecords: 0 });
      expect(second.skipDataThrough).toBeUndefined();
      expect(second.counts.get(`${ACCOUNT}|10.0.0.1`)).toBe(1);
      expect(backwards).toMatchObject({ complete: false, skipDataThrough: W + 3 * HOUR });
    });

    it('marks every history window a SKIPDATA record overlaps incomplete, across slices, and reports the last', async () => {
      // Act: one window per query, so the record's two windows are in two slices
      const result = await source(config, [GROUP], { historySliceWindows: 1 }).history(
        W,
        W + 4 * HOUR,
        deadline(),
      );
      const ending = await source(config, [GROUP]).history(W - HOUR, W + HOUR, deadline());

      // Assess
      expect(result.windows.map((w) => w.complete)).toEqual([false, false, true, false]);
      expect(result.skipDataThrough).toBe(W + 3 * HOUR);
      // A history ending inside the record's reach: the window after it is for the caller to mark.
      expect(ending.windows.map((w) => w.complete)).toEqual([true, false]);
      expect(ending.skipDataThrough).toBe(W + HOUR);
    });
  });

  describe('custom formats', () => {
    it.each([
      ['with log-status', CUSTOM_FORMAT, '/vpc/custom-full', true],
      ['without log-status', CUSTOM_FORMAT_WITHOUT_STATUS, '/vpc/custom-short', false],
    ])('countWindow and details equal the direct count (%s)', async (_label, format, group, hasStatus) => {
      // Prepare
      const config = resolveDetectorConfig({
        flowLogFormat: format,
        internalCidrs: ['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8', '172.16.0.0/12'],
      });
      const records = generate(2, { records: 800, hours: 1, internal: 50, skipData: [0] });
      server.seed(group, toEvents(records, parseFlowLogFormat(format)));
      const window = windowAt(T0, config);
      const expected = directCounts(records, window, config, hasStatus);
      const flows = source(config, [group]);
      // Act
      const result = await flows.countWindow(window, deadline());
      // Assess
      expect(expected.counts.size).toBeGreaterThan(20);
      expect(result.counts).toEqual(expected.counts);
      expect(result.uniqueDestinations).toEqual(expected.unique);
      // Without log-status SKIPDATA cannot be seen: documented, and the window reads complete.
      expect(result.complete).toBe(!hasStatus);
      expect(server.startedQueries[0]!.queryString.startsWith('parse @message "*')).toBe(true);

      const top = [...expected.counts].sort((a, b) => b[1] - a[1])[0]![0];
      const details = await flows.details(window, [top], deadline());
      expect(details.get(top)).toEqual(directDetails(records, window, config, top));
    });
  });

  describe('row limit: split by source CIDR halves, never truncated', () => {
    const config = resolveDetectorConfig({
      internalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
    });
    const records = generate(3, { records: 600, hours: 1, internal: 200 });
    const group = '/vpc/many-sources';
    beforeAll(() => server.seed(group, toEvents(records, undefined)));

    it('counts a window of more sources than one page (12,000) in one scan by default', async () => {
      // Prepare: the old default limit (10,000 rows) split this window into 4 queries, each a full scan.
      const busy = '/vpc/twelve-thousand-sources';
      const many: FlowRecord[] = Array.from({ length: 12_000 }, (_, i) => ({
        start: T0 / 1000 + (i % 3_600),
        srcaddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        dstaddr: `198.51.100.${(i % 250) + 1}`,
        dstport: '443',
        protocol: '6',
        action: 'REJECT',
        logStatus: 'OK',
        interfaceId: 'eni-0abc',
      }));
      server.seed(busy, toEvents(many, undefined));
      const window = windowAt(T0, config);
      // Act
      const result = await source(config, [busy]).countWindow(window, deadline());
      // Assess
      expect(result.counts).toEqual(directCounts(many, window, config).counts);
      expect(result.stats.queries).toBe(1);
      expect(server.startedQueries.map((q) => q.limit)).toEqual([100_000]);
      expect(server.callCounts.GetQueryResults).toBeGreaterThanOrEqual(3); // two pages after the polls
    });

    it('merges split count queries into the exact counts (rowLimit 20, a hundred sources)', async () => {
      // Prepare
      const window = windowAt(T0, config);
      const expected = directCounts(records, window, config);
      expect(expected.counts.size).toBeGreaterThan(100);
      // Act
      const result = await source(config, [group], { rowLimit: 20 }).countWindow(window, deadline());
      // Assess
      expect(result.counts).toEqual(expected.counts);
      expect(result.uniqueDestinations).toEqual(expected.unique);
      const started = server.startedQueries;
      expect(result.stats.queries).toBe(started.length);
      expect(started.length).toBeGreaterThan(8);
      expect(started.every((q) => q.limit === 20)).toBe(true);
      // The first query was full; the split queries narrowed the source to CIDR halves.
      expect(started[0]!.rowCount).toBe(20);
      expect(started.some((q) => q.queryString.includes('isIpInSubnet(flowSrcAddr, "10.0.0.0/9")'))).toBe(
        true,
      );
      // Every later query is narrowed: a CIDR, minus the parts already queried separately.
      for (const q of started.slice(1)) {
        expect(q.queryString).toMatch(
          /and isIpInSubnet\(flowSrcAddr, "[0-9a-f:.]+\/\d+"\)( and not isIpInSubnet\(flowSrcAddr, "[0-9a-f:.]+\/\d+"\))*\) \| fields /,
        );
      }
      // Statistics are summed over all the queries of the call (each scans the whole window).
      const scannedPerQuery = records.filter((r) => inWindow(r, window)).length;
      expect(result.stats.recordsScanned).toBe(started.length * scannedPerQuery);
    });

    it('runs the parts of a split a few at a time (splitConcurrency), not one after another', async () => {
      // Prepare
      const window = windowAt(T0, config);
      const expected = directCounts(records, window, config);

      // Act
      const parallel = await source(config, [group], { rowLimit: 20 }).countWindow(window, deadline());
      const parallelPeak = server.peakActiveQueries;
      server.resetCounters();
      const serial = await source(config, [group], { rowLimit: 20, splitConcurrency: 1 }).countWindow(
        window,
        deadline(),
      );

      // Assess: the same exact counts either way
      expect(parallel.counts).toEqual(expected.counts);
      expect(serial.counts).toEqual(expected.counts);
      expect(parallelPeak).toBe(4);
      expect(server.peakActiveQueries).toBe(1);
    });

    it('keeps to the concurrent-query limit of the account: LimitExceededException is retried, counts stay exact', async () => {
      // Prepare: an account with 2 query slots
      const tight = await startLocalLogsInsights({ maxConcurrentQueries: 2 });
      const tightClient = new CloudWatchLogsClient({ ...tight.clientConfig(), maxAttempts: 1 });
      try {
        tight.seed(group, toEvents(records, undefined));
        const window = windowAt(T0, config);
        // Act
        const result = await new LogsInsightsFlowSource({
          client: tightClient,
          logGroupIdentifiers: [group],
          config,
          rowLimit: 20,
          pollIntervalMs: 1,
          retryBaseDelayMs: 1,
          sleep: () => new Promise((resolve) => setImmediate(resolve)),
        }).countWindow(window, deadline());
        // Assess
        expect(result.counts).toEqual(directCounts(records, window, config).counts);
        expect(tight.peakActiveQueries).toBe(2);
        expect(tight.callCounts.StartQuery).toBeGreaterThan(tight.queriesStarted);
      } finally {
        tightClient.destroy();
        await tight.stop();
      }
    });

    it('splits one address in more accounts than the row limit by account, and counts each exactly', async () => {
      // Prepare: 10.0.0.5 in 45 accounts (and in interfaces of no account), over a 20-row limit
      const accounts = [
        ...Array.from({ length: 44 }, (_, i) =>
          String(100_000_000_000 + i * 19_999_999_999).padStart(12, '0'),
        ),
        'unknown',
      ];
      const shared: FlowRecord[] = accounts.flatMap((account, i) =>
        Array.from({ length: 1 + (i % 3) }, (_, k) => ({
          start: T0 / 1000 + i * 10 + k,
          account,
          srcaddr: '10.0.0.5',
          dstaddr: '198.51.100.7',
          dstport: '443',
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK' as const,
          interfaceId: `eni-${i}`,
        })),
      );
      server.seed('/vpc/shared-plans', toEvents(shared, undefined));
      const window = windowAt(T0, config);

      // Act
      const result = await source(config, ['/vpc/shared-plans'], { rowLimit: 20 }).countWindow(
        window,
        deadline(),
      );

      // Assess: every account's count; the address was narrowed by account id
      const expected = directCounts(shared, window, config).counts;
      expect(expected.size).toBe(45);
      expect(result.counts).toEqual(expected);
      const started = server.startedQueries.map((q) => q.queryString);
      expect(
        started.some((q) => q.includes('isIpInSubnet(flowSrcAddr, "10.0.0.5/32") and flowAccountId like /^')),
      ).toBe(true);
      expect(started.some((q) => q.includes('not (flowAccountId like /^[0-9]{12}$/)'))).toBe(true);
    });

    it('splits IPv6 sources of one /64 in a few queries, not one level per bit', async () => {
      // Prepare: 90 hosts of one /64 inside fd00::/8; halving from /8 would need 100+ levels.
      const hosts: FlowRecord[] = Array.from({ length: 90 }, (_, i) => ({
        start: T0 / 1000 + i,
        srcaddr: `fd00:0:0:1:${(0x1000 + i * 677).toString(16)}:0:0:${(i + 1).toString(16)}`,
        dstaddr: '2600:1f18::10',
        dstport: '443',
        protocol: '6',
        action: 'REJECT',
        logStatus: 'OK',
        interfaceId: 'eni-v6',
      }));
      server.seed('/vpc/ipv6-hosts', toEvents(hosts, undefined));
      const v6Config = resolveDetectorConfig({ internalCidrs: ['fd00::/8'] });
      const window = windowAt(T0, v6Config);
      // Act
      const result = await source(v6Config, ['/vpc/ipv6-hosts'], { rowLimit: 20 }).countWindow(
        window,
        deadline(),
      );
      // Assess
      expect(result.counts).toEqual(directCounts(hosts, window, v6Config).counts);
      expect(result.counts.size).toBe(90);
      expect(result.stats.queries).toBeLessThan(30);
    });

    describe('the split plan: the next window starts from the parts the last one ended in', () => {
      const full = (queries: ReadonlyArray<{ rowCount: number; limit?: number }>) =>
        queries.filter((q) => q.rowCount >= (q.limit ?? Infinity)).length;

      it("counts the same window exactly with no full result and only the last split's parts", async () => {
        // Prepare: a first count finds the split through full results
        const window = windowAt(T0, config);
        const expected = directCounts(records, window, config);
        const first = await source(config, [group], { rowLimit: 20 }).countWindow(window, deadline());
        const firstQueries = server.startedQueries;
        const fullFirst = full(firstQueries);
        expect(fullFirst).toBeGreaterThan(3);
        server.resetCounters();

        // Act: a new source object, as a new run would have, given the kept plan
        const next = await source(config, [group], { rowLimit: 20 }).countWindow(window, deadline(), {
          splitPlan: first.splitPlan!,
        });

        // Assess: the same exact counts from the leaves alone, each scanning the window once
        expect(next.counts).toEqual(expected.counts);
        expect(next.uniqueDestinations).toEqual(expected.unique);
        expect(next.splitPlanNote).toBeUndefined();
        const started = server.startedQueries;
        expect(full(started)).toBe(0);
        expect(started).toHaveLength(firstQueries.length - fullFirst);
        expect(next.stats.recordsScanned).toBe(
          first.stats.recordsScanned * (started.length / firstQueries.length),
        );
        // The leaves' query strings are those the first count completed with, no more, no fewer
        expect(started.map((q) => q.queryString).sort()).toEqual(
          firstQueries
            .filter((q) => q.rowCount < (q.limit ?? Infinity))
            .map((q) => q.queryString)
            .sort(),
        );
        expect(next.splitPlan).toBe(first.splitPlan);
      });

      it('without a plan, splits ahead where a full result says its parts would be full too: fewer full results, the same counts', async () => {
        // Prepare: 2,000 sources spread over 10.0.0.0/8 at a 100-row limit (20 times over)
        const wide: FlowRecord[] = Array.from({ length: 2_000 }, (_, i) => ({
          start: T0 / 1000 + (i % 3_000),
          srcaddr: `10.${(i * 37) % 256}.${(i * 11) % 256}.${(i % 250) + 1}`,
          dstaddr: '198.51.100.8',
          dstport: '443',
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK',
          interfaceId: 'eni-wide',
        }));
        server.seed('/vpc/plan-wide', toEvents(wide, undefined));
        const window = windowAt(T0, config);
        const expected = directCounts(wide, window, config).counts;
        expect(expected.size).toBe(2_000);

        // Act
        const halving = await source(config, ['/vpc/plan-wide'], {
          rowLimit: 100,
          splitAhead: false,
        }).countWindow(window, deadline());
        const halvingQueries = server.startedQueries;
        server.resetCounters();
        const ahead = await source(config, ['/vpc/plan-wide'], { rowLimit: 100 }).countWindow(
          window,
          deadline(),
        );
        const aheadQueries = server.startedQueries;

        // Assess: exact either way; split ahead, fewer results thrown away and fewer scans in all
        expect(halving.counts).toEqual(expected);
        expect(ahead.counts).toEqual(expected);
        expect(full(halvingQueries)).toBeGreaterThanOrEqual(16);
        expect(full(aheadQueries)).toBeLessThanOrEqual(full(halvingQueries) / 3);
        expect(aheadQueries.length).toBeLessThan(halvingQueries.length);
        // The leaves are not split finer than needed: none under a tenth of the limit but a few
        expect(aheadQueries.filter((q) => q.rowCount < 10).length).toBeLessThanOrEqual(
          aheadQueries.length / 4,
        );
      });

      it('keeps the IPv6 prefix jump and the split by account id', async () => {
        // Prepare: 90 IPv6 hosts of one /64 (the split jumps) and one address in 30 accounts
        const hosts: FlowRecord[] = Array.from({ length: 90 }, (_, i) => ({
          start: T0 / 1000 + i,
          srcaddr: `fd00:0:0:7:${(0x2000 + i * 331).toString(16)}::${(i + 1).toString(16)}`,
          account: String(300_000_000_000 + (i % 30) * 7_777_777_777).padStart(12, '0'),
          dstaddr: '2600:1f18::10',
          dstport: '443',
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK',
          interfaceId: 'eni-v6',
        }));
        const shared: FlowRecord[] = Array.from({ length: 30 }, (_, i) => ({
          start: T0 / 1000 + 100 + i,
          account: String(400_000_000_000 + i * 13_333_333_333).padStart(12, '0'),
          srcaddr: '10.9.9.9',
          dstaddr: '198.51.100.9',
          dstport: '443',
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK',
          interfaceId: `eni-s${i}`,
        }));
        const all = [...hosts, ...shared];
        server.seed('/vpc/plan-jumps', toEvents(all, undefined));
        const window = windowAt(T0, config);
        const first = await source(config, ['/vpc/plan-jumps'], { rowLimit: 20 }).countWindow(
          window,
          deadline(),
        );
        const firstQueries = server.startedQueries;
        expect(firstQueries.some((q) => q.queryString.includes('flowAccountId like /^'))).toBe(true);
        server.resetCounters();

        // Act
        const next = await source(config, ['/vpc/plan-jumps'], { rowLimit: 20 }).countWindow(
          window,
          deadline(),
          {
            splitPlan: first.splitPlan!,
          },
        );

        // Assess
        expect(next.counts).toEqual(directCounts(all, window, config).counts);
        expect(next.counts.size).toBe(120);
        expect(full(server.startedQueries)).toBe(0);
        expect(server.startedQueries).toHaveLength(firstQueries.length - full(firstQueries));
      });

      it('merges the parts back into one query once the sources have gone', async () => {
        // Prepare: a hundred sources in the first hour, five in the second
        const few: FlowRecord[] = Array.from({ length: 6 }, (_, i) => ({
          start: T0 / 1000 + 3_600 + i * 60,
          srcaddr: `10.${i * 40}.0.${i + 1}`,
          dstaddr: '198.51.100.44',
          dstport: '443',
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK',
          interfaceId: `eni-few${i}`,
        }));
        server.seed('/vpc/plan-shrinks', toEvents([...records, ...few], undefined));
        const busy = windowAt(T0, config);
        const quiet = windowAt(T0 + HOUR, config);
        const first = await source(config, ['/vpc/plan-shrinks'], { rowLimit: 20 }).countWindow(
          busy,
          deadline(),
        );
        const leaves = server.startedQueries.filter((q) => q.rowCount < (q.limit ?? Infinity)).length;
        const wholeWindow = server.startedQueries[0]!.queryString;
        server.resetCounters();

        // Act: the quiet hour with the busy hour's plan, then the hour after with the plan that gives
        const shrunk = await source(config, ['/vpc/plan-shrinks'], { rowLimit: 20 }).countWindow(
          quiet,
          deadline(),
          {
            splitPlan: first.splitPlan!,
          },
        );
        const shrunkQueries = server.startedQueries.length;
        server.resetCounters();
        const after = await source(config, ['/vpc/plan-shrinks'], { rowLimit: 20 }).countWindow(
          quiet,
          deadline(),
          {
            splitPlan: shrunk.splitPlan!,
          },
        );

        // Assess: exact both times; the plan's parts once more, then one query
        const expected = directCounts([...records, ...few], quiet, config).counts;
        expect(expected.size).toBeGreaterThanOrEqual(6);
        expect(expected.size).toBeLessThan(10);
        expect(shrunk.counts).toEqual(expected);
        expect(shrunkQueries).toBe(leaves);
        expect(after.counts).toEqual(expected);
        expect(server.startedQueries).toHaveLength(1);
        expect(server.startedQueries[0]!.queryString).toBe(wholeWindow);
      });

      it('does not use a plan for other log groups (or another query) and counts from one query', async () => {
        // Prepare: the plan of the hundred-source group
        const window = windowAt(T0, config);
        const first = await source(config, [group], { rowLimit: 20 }).countWindow(window, deadline());
        server.seed('/vpc/plan-other', toEvents(records, undefined));
        const narrower = resolveDetectorConfig({
          internalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
        });
        server.resetCounters();

        // Act
        const other = await source(config, ['/vpc/plan-other'], { rowLimit: 20 }).countWindow(
          window,
          deadline(),
          {
            splitPlan: first.splitPlan!,
          },
        );
        const otherFirst = server.startedQueries[0]!;
        server.resetCounters();
        const otherQuery = await source(narrower, [group], { rowLimit: 20 }).countWindow(window, deadline(), {
          splitPlan: first.splitPlan!,
        });

        // Assess: each starts from the whole window (a full first result), exact, and says nothing is wrong
        expect(other.counts).toEqual(directCounts(records, window, config).counts);
        expect(otherFirst.rowCount).toBe(20);
        expect(otherQuery.counts).toEqual(directCounts(records, window, narrower).counts);
        expect(server.startedQueries[0]!.rowCount).toBe(20);
        expect(other.splitPlanNote).toBeUndefined();
        expect(otherQuery.splitPlanNote).toBeUndefined();
      });

      it('refuses a plan it did not write, whole, and counts from one query', async () => {
        // Prepare: the plan of the hundred-source group, then broken copies of it
        const window = windowAt(T0, config);
        const first = await source(config, [group], { rowLimit: 20 }).countWindow(window, deadline());
        const plan = JSON.parse(first.splitPlan!) as { v: number; parts: Record<string, unknown> };
        const [fingerprint] = Object.keys(plan.parts);
        const withRoot = (root: unknown): string => JSON.stringify({ v: 1, parts: { [fingerprint!]: root } });
        const leaf = { r: 1 };
        const broken: Array<[string, string, RegExp]> = [
          ['not JSON', first.splitPlan!.slice(0, -3), /not JSON/],
          ['another version', JSON.stringify({ ...plan, v: 2 }), /not a version 1 plan/],
          ['a leaf without rows', withRoot({ c: [leaf, {}, leaf, leaf] }), /root\.1 has no row count/],
          [
            'more parts than the split gives',
            withRoot({ c: [leaf, leaf, leaf, leaf, leaf] }),
            /root does not split into 5 parts/,
          ],
          [
            'a jump outside the part',
            withRoot({ c: [{ c: [leaf, leaf, leaf], j: '192.168.0.0/24' }, leaf, leaf, leaf] }),
            /192\.168\.0\.0\/24 is not a prefix inside it/,
          ],
          [
            'a jump that is query text',
            withRoot({ c: [{ c: [leaf, leaf], j: '10.0.0.0/8") | display @message #' }, leaf, leaf, leaf] }),
            /refusing to put CIDR/,
          ],
          [
            'more parts than queries allowed (256)',
            withRoot(balancedHalves(8)),
            /more parts than queries allowed/,
          ],
        ];
        for (const [what, text, why] of broken) {
          server.resetCounters();
          // Act
          const result = await source(config, [group], { rowLimit: 20 }).countWindow(window, deadline(), {
            splitPlan: text,
          });
          // Assess
          expect({ what, counts: result.counts }).toEqual({
            what,
            counts: directCounts(records, window, config).counts,
          });
          expect({ what, note: result.splitPlanNote }).toEqual({
            what,
            note: expect.stringMatching(/^count split plan not used: /),
          });
          expect({ what, note: result.splitPlanNote }).toEqual({ what, note: expect.stringMatching(why) });
          expect({ what, firstRows: server.startedQueries[0]!.rowCount }).toEqual({ what, firstRows: 20 });
          expect(server.startedQueries.some((q) => q.queryString.includes('display'))).toBe(false);
        }
      });
    });

    it('splits history the same way', async () => {
      const result = await source(config, [group], { rowLimit: 20 }).history(T0, T0 + HOUR, deadline());
      expect(result.windows).toHaveLength(1);
      expect(result.windows[0]!.counts).toEqual(directCounts(records, windowAt(T0, config), config).counts);
      expect(result.stats.queries).toBeGreaterThan(1);
    });

    it('counts a default-format group of the Infrequent Access class, where Logs Insights discovers no fields', async () => {
      // Prepare
      const config = resolveDetectorConfig({});
      const records: FlowRecord[] = [0, 1, 2, 3, 4].map((i) => ({
        start: T0 / 1000 + 60 * i,
        srcaddr: `10.0.7.${i % 2}`,
        dstaddr: '198.51.100.7',
        dstport: '443',
        protocol: '6',
        action: 'REJECT',
        logStatus: 'OK',
        interfaceId: 'eni-infrequent',
      }));
      server.seed('/vpc/infrequent', toEvents(records, undefined), { logGroupClass: 'INFREQUENT_ACCESS' });
      const window = windowAt(T0, config);

      // Act
      const result = await source(config, ['/vpc/infrequent']).countWindow(window, deadline());

      // Assess
      expect(result.counts).toEqual(directCounts(records, window, config).counts);
      expect([...result.counts.values()].reduce((a, b) => a + b, 0)).toBe(5);
    });

    it.each([45, 72, 120, 1440])(
      'counts %i-minute windows from bins within Logs Insights caps (a window binned in parts adds them up)',
      async (windowMinutes) => {
        // Prepare: three sources, a record every 7 minutes over two days from a day boundary
        const config = resolveDetectorConfig({ windowMinutes });
        const from = T0 - 10 * HOUR - 24 * HOUR;
        const records: FlowRecord[] = [];
        for (let minute = 0; minute < 2 * 1440; minute += 7) {
          records.push({
            start: (from + minute * 60_000) / 1000,
            srcaddr: `10.0.${minute % 3}.5`,
            dstaddr: '198.51.100.7',
            dstport: '443',
            protocol: '6',
            action: 'REJECT',
            logStatus: 'OK',
            interfaceId: 'eni-bins',
          });
        }
        server.seed(`/vpc/bins-${windowMinutes}`, toEvents(records, undefined));

        // Act
        const result = await source(config, [`/vpc/bins-${windowMinutes}`]).history(
          from,
          from + 2 * 24 * HOUR,
          deadline(),
        );

        // Assess
        expect(result.windows).toHaveLength((2 * 1440) / windowMinutes);
        for (const w of result.windows) {
          expect(w.counts).toEqual(directCounts(records, windowAt(w.windowStart, config), config).counts);
          expect(w.counts.size).toBe(3);
        }
      },
    );

    it('bootstraps a week of 60 sources a window at rowLimit 100: slices halve in time, each with its own budget', async () => {
      // Prepare: 6-hour windows, so a day slice is 4 windows = 240 rows and a window 60. The old
      // code split the day by address, rescanning the whole day per part, and every slice drew on
      // one shared budget of queries (40 here): a week ran out of it.
      const sixHours = resolveDetectorConfig({
        internalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
        windowMinutes: 360,
      });
      const days = 7;
      const windowLength = 6 * HOUR;
      const sources = Array.from({ length: 60 }, (_, i) => `10.${(i * 37) % 256}.${i}.5`);
      const from = T0 - 10 * HOUR - days * 24 * HOUR; // T0 - 10 h is a day boundary
      const week: FlowRecord[] = [];
      for (let w = 0; w < days * 4; w += 1) {
        sources.forEach((srcaddr, i) => {
          for (let k = 0; k < 1 + ((w + i) % 3); k += 1) {
            week.push({
              start: (from + w * windowLength) / 1000 + 60 * k + i,
              srcaddr,
              dstaddr: '198.51.100.7',
              dstport: '443',
              protocol: '6',
              action: 'REJECT',
              logStatus: 'OK',
              interfaceId: 'eni-week',
            });
          }
        });
      }
      server.seed('/vpc/week', toEvents(week, undefined));

      // Act
      const result = await source(sixHours, ['/vpc/week'], { rowLimit: 100, maxQueriesPerCall: 40 }).history(
        from,
        from + days * 24 * HOUR,
        deadline(),
      );

      // Assess
      expect(result.windows).toHaveLength(days * 4);
      for (const w of result.windows) {
        expect(w.counts.size).toBe(60);
        expect(w.counts).toEqual(directCounts(week, windowAt(w.windowStart, sixHours), sixHours).counts);
      }
      const started = server.startedQueries;
      // Only time was halved (one query text throughout), never the address space.
      expect(new Set(started.map((q) => q.queryString)).size).toBe(1);
      // Day 1: 4 windows (full) -> 2 + 2 (full) -> 4 single windows: 7 queries. Having seen 60
      // sources a window, the later days ask one window per query: 6 x 4.
      expect(started).toHaveLength(7 + 6 * 4);
      expect(result.stats.queries).toBe(started.length);
    });

    it('splits details by source list; one busy source gets its top destinations without splitting', async () => {
      // Prepare: one source with 120 distinct destinations in the window (the first 12 busier,
      // so the top 10 is unambiguous), plus ordinary ones.
      const busy = `${ACCOUNT}|10.77.0.1`;
      const busyRecords: FlowRecord[] = Array.from({ length: 120 }, (_, j) =>
        Array.from({ length: j < 12 ? 30 - j : 2 }, (_, k) => ({
          start: T0 / 1000 + j * 20 + k,
          srcaddr: '10.77.0.1',
          dstaddr: `${j < 60 ? 54 : 185}.${j}.0.1`,
          dstport: '443',
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK' as const,
          interfaceId: 'eni-busy',
        })),
      ).flat();
      const busyGroup = '/vpc/busy-source';
      server.seed(busyGroup, toEvents([...records, ...busyRecords], undefined));
      const all = [...records, ...busyRecords];
      const window = windowAt(T0, config);
      const others = [...directCounts(records, window, config).counts.keys()].slice(0, 30);
      // Act
      const details = await source(config, [busyGroup], { rowLimit: 50 }).details(
        window,
        [busy, ...others],
        deadline(),
      );
      // Assess
      expect(details.get(busy)).toEqual(asSample(directDetails(all, window, config, busy)));
      expect(details.get(busy)!.totalDestinations).toBe(120);
      for (const src of others) expect(details.get(src)).toEqual(directDetails(all, window, config, src));
      const strings = server.startedQueries.map((q) => q.queryString);
      expect(strings.some((q) => q.includes('isIpInSubnet(flowDstAddr, "0.0.0.0/1")'))).toBe(false);
      expect(strings.filter((q) => q.includes('| sort n desc | limit 10'))).toHaveLength(1);
      expect(
        strings.filter((q) => q.includes('count_distinct(flowDstAddr) as distinctAddresses')),
      ).toHaveLength(1);
    });

    it('a port scan of one address over the row limit: top destinations and total in two more queries', async () => {
      // Prepare: 30 ports of one address, the first 10 busier; rowLimit 10.
      const scanned: FlowRecord[] = Array.from({ length: 30 }, (_, i) =>
        Array.from({ length: i < 10 ? 20 - i : 1 }, (_, k) => ({
          start: T0 / 1000 + i * 30 + k,
          srcaddr: '10.66.0.1',
          dstaddr: '93.184.216.34',
          dstport: String(1000 + i),
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK' as const,
          interfaceId: 'eni-scan',
        })),
      ).flat();
      server.seed('/vpc/port-scan', toEvents(scanned, undefined));
      const window = windowAt(T0, config);
      // Act
      const details = await source(config, ['/vpc/port-scan'], { rowLimit: 10 }).details(
        window,
        [`${ACCOUNT}|10.66.0.1`],
        deadline(),
      );
      // Assess
      expect(details.get(`${ACCOUNT}|10.66.0.1`)).toEqual(
        asSample(directDetails(scanned, window, config, `${ACCOUNT}|10.66.0.1`)),
      );
      expect(details.get(`${ACCOUNT}|10.66.0.1`)!.totalDestinations).toBe(30);
      expect(server.startedQueries).toHaveLength(3);
    });

    it("a port scan over the row limit by a source of no account: only its own records, not the address's in other accounts", async () => {
      // Prepare: 10.66.0.1 of no account (an interface AWS owns: `unknown`) scans 30 ports, the
      // first 10 busier; the same address in an account sends 50 records to one destination;
      // rowLimit 10.
      const scan: FlowRecord[] = Array.from({ length: 30 }, (_, i) =>
        Array.from({ length: i < 10 ? 20 - i : 1 }, (_, k) => ({
          start: T0 / 1000 + i * 30 + k,
          account: 'unknown',
          srcaddr: '10.66.0.1',
          dstaddr: '93.184.216.34',
          dstport: String(1000 + i),
          protocol: '6',
          action: 'REJECT',
          logStatus: 'OK' as const,
          interfaceId: 'eni-0svc',
        })),
      ).flat();
      const sameAddress: FlowRecord[] = Array.from({ length: 50 }, (_, i) => ({
        start: T0 / 1000 + 1000 + i,
        account: '210987654321',
        srcaddr: '10.66.0.1',
        dstaddr: '8.8.8.8',
        dstport: '53',
        protocol: '17',
        action: 'REJECT',
        logStatus: 'OK' as const,
        interfaceId: 'eni-0other',
      }));
      const records = [...scan, ...sameAddress];
      server.seed('/vpc/no-account-scan', toEvents(records, undefined));
      const window = windowAt(T0, config);
      // Act
      const details = await source(config, ['/vpc/no-account-scan'], { rowLimit: 10 }).details(
        window,
        ['-|10.66.0.1'],
        deadline(),
      );
      // Assess
      const own = details.get('-|10.66.0.1')!;
      expect(own).toEqual(asSample(directDetails(records, window, config, '-|10.66.0.1')));
      expect(own.totalDestinations).toBe(30);
      expect(own.interfaceIds).toEqual(['eni-0svc']);
      expect(own.topDestinations.map((d) => d.address)).not.toContain('8.8.8.8');
      expect(server.startedQueries).toHaveLength(3);
    });

    describe('a port scan over the row limit by an IPv6 address written two ways (two sources)', () => {
      // fd00:66::1 scans 30 ports (the first 10 busier); the same address written out,
      // fd00:66:0:0:0:0:0:1, sends 50 records to one destination from another interface. The
      // details query matches both by /128 and overflows rowLimit 10.
      const SHORT = 'fd00:66::1';
      const LONG = 'fd00:66:0:0:0:0:0:1';
      const records: FlowRecord[] = [
        ...Array.from({ length: 30 }, (_, i) =>
          Array.from({ length: i < 10 ? 20 - i : 1 }, (_, k) => ({
            start: T0 / 1000 + i * 30 + k,
            srcaddr: SHORT,
            dstaddr: '2001:db8::34',
            dstport: String(1000 + i),
            protocol: '6',
            action: 'REJECT',
            logStatus: 'OK' as const,
            interfaceId: 'eni-0short',
          })),
        ).flat(),
        ...Array.from({ length: 50 }, (_, i) => ({
          start: T0 / 1000 + 1000 + i,
          srcaddr: LONG,
          dstaddr: '2001:db8::53',
          dstport: '53',
          protocol: '17',
          action: 'REJECT',
          logStatus: 'OK' as const,
          interfaceId: 'eni-0long',
        })),
      ];
      const seeded = (group: string) => server.seed(group, toEvents(records, undefined));

      it("each form's scan has its own destinations, total and interfaces", async () => {
        // Prepare
        seeded('/vpc/ipv6-forms-scan');
        const window = windowAt(T0, config);
        // Act
        const details = await source(config, ['/vpc/ipv6-forms-scan'], { rowLimit: 10 }).details(
          window,
          [`${ACCOUNT}|${SHORT}`, `${ACCOUNT}|${LONG}`],
          deadline(),
        );
        // Assess: the scanner's 30 ports and its interface; the other form's one destination
        const short = details.get(`${ACCOUNT}|${SHORT}`)!;
        expect(short).toEqual(asSample(directDetails(records, window, config, `${ACCOUNT}|${SHORT}`)));
        expect(short.totalDestinations).toBe(30);
        expect(short.interfaceIds).toEqual(['eni-0short']);
        const long = details.get(`${ACCOUNT}|${LONG}`)!;
        expect(long.topDestinations.map((d) => `${d.address} ${d.count}`)).toEqual(['2001:db8::53 50']);
        expect(long.totalDestinations).toBe(1);
        expect(long.interfaceIds).toEqual(['eni-0long']);
      });

      it('a key written as no record writes it is scanned by /128, as the details query matched it', async () => {
        // Prepare: the address asked for as fd00:66:0::1, which no record writes
        seeded('/vpc/ipv6-forms-unwritten');
        const window = windowAt(T0, config);
        // Act
        const details = await source(config, ['/vpc/ipv6-forms-unwritten'], { rowLimit: 10 }).details(
          window,
          [`${ACCOUNT}|fd00:66:0::1`],
          deadline(),
        );
        // Assess: both forms' records (the largest, the written-out form's 50, on top): the
        // as-written scan found none, so a fourth query matched by /128
        const asked = details.get(`${ACCOUNT}|fd00:66:0::1`)!;
        expect(asked.topDestinations[0]).toMatchObject({ address: '2001:db8::53', count: 50 });
        expect(asked.interfaceIds).toEqual(['eni-0long', 'eni-0short']);
        expect(asked.totalDestinations).toBeGreaterThanOrEqual(30);
        expect(server.startedQueries).toHaveLength(4);
      });
    });

    it('splits a window of more than 10,000 sources at a 10,000-row limit (one page)', async () => {
      // Prepare: 10,400 sources, half in each internal range, one record each.
      const bigConfig = resolveDetectorConfig({ internalCidrs: ['10.0.0.0/8', '192.168.0.0/16'] });
      const big: FlowRecord[] = Array.from({ length: 10_400 }, (_, i) => ({
        start: T0 / 1000 + (i % 3600),
        srcaddr:
          i % 2 === 0
            ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
            : `192.168.${(i >> 8) & 255}.${i & 255}`,
        dstaddr: '8.8.4.4',
        dstport: '53',
        protocol: '17',
        action: 'REJECT',
        logStatus: 'OK',
        interfaceId: 'eni-big',
      }));
      server.seed('/vpc/big', toEvents(big, undefined));
      const window = windowAt(T0, bigConfig);
      const expected = directCounts(big, window, bigConfig).counts;
      // Act
      const result = await source(bigConfig, ['/vpc/big'], { rowLimit: 10_000 }).countWindow(
        window,
        deadline(),
      );
      // Assess
      expect(expected.size).toBeGreaterThan(10_000);
      expect(result.counts).toEqual(expected);
      expect(server.startedQueries.map((q) => q.rowCount)).toEqual([10_000, 5_200, 5_200]);
      expect(result.stats.queries).toBe(3);
    }, 60_000);
  });

  describe('60 log groups over linked source accounts: parts of at most 50, counts summed', () => {
    // The local endpoint answers as account 123456789012 (the monitoring account).
    const ORG_ACCOUNTS = ['123456789012', '222222222222', '333333333333', '444444444444'];
    const UNLINKED = '555555555555';
    const PREFIX = '/org/flow-logs/';
    const config = resolveDetectorConfig({
      internalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
    });
    const records = generate(60, { records: 6000, hours: 2, internal: 120 });
    const groupArns = Array.from(
      { length: 60 },
      (_, i) =>
        `arn:aws:logs:us-east-1:${ORG_ACCOUNTS[i % ORG_ACCOUNTS.length]}:log-group:${PREFIX}${String(i).padStart(2, '0')}`,
    );
    // SKIPDATA in a group of each query part (the parts are the first and last 30 groups in ARN order).
    const sortedArns = [...groupArns].sort();
    const skipInFirst = sortedArns[3]!;
    const skipInSecond = sortedArns[45]!;
    const skipData = (count: number): FlowRecord[] =>
      Array.from({ length: count }, (_, k) => ({
        start: T0 / 1000 + 600 + 60 * k,
        srcaddr: '-',
        dstaddr: '-',
        dstport: '-',
        protocol: '-',
        action: '-',
        logStatus: 'SKIPDATA' as const,
        interfaceId: 'eni-skip',
      }));
    // Records that must not be counted: an unlinked account's group and a Delivery-class group.
    const outsider = (src: string, account: string): FlowRecord[] =>
      Array.from({ length: 500 }, (_, k) => ({
        account,
        start: T0 / 1000 + k,
        srcaddr: src,
        dstaddr: '8.8.8.8',
        dstport: '443',
        protocol: '6',
        action: 'REJECT',
        logStatus: 'OK' as const,
        interfaceId: 'eni-outsider',
      }));
    const discovery = () =>
      new LogGroupDiscovery({ client, prefixes: [PREFIX], includeLinkedAccounts: true });

    beforeAll(() => {
      for (const account of ORG_ACCOUNTS.slice(1)) server.linkAccount(account);
      // Each record goes to one group, round robin: every source's records are spread over groups of both parts.
      const byGroup = groupArns.map((): FlowRecord[] => []);
      records.forEach((record, i) => byGroup[i % groupArns.length]!.push(record));
      groupArns.forEach((arn, i) => server.seed(arn, toEvents(byGroup[i]!, undefined)));
      server.seed(skipInFirst, toEvents(skipData(3), undefined));
      server.seed(skipInSecond, toEvents(skipData(2), undefined));
      server.seed(
        `arn:aws:logs:us-east-1:${UNLINKED}:log-group:${PREFIX}unlinked`,
        toEvents(outsider('10.200.0.1', UNLINKED), undefined),
      );
      server.seed(
        `arn:aws:logs:us-east-1:${ORG_ACCOUNTS[1]}:log-group:${PREFIX}delivery`,
        toEvents(outsider('10.200.0.2', ORG_ACCOUNTS[1]!), undefined),
        {
          logGroupClass: 'DELIVERY',
        },
      );
    });

    const withSkipData = [...records, ...skipData(3), ...skipData(2)];

    it('discovers the 60 queryable groups (not the unlinked account, not the Delivery class) and queries them 30 + 30', async () => {
      const window = windowAt(T0, config);
      const result = await source(config, [], { logGroups: discovery() }).countWindow(window, deadline());
      const expected = directCounts(withSkipData, window, config);
      expect(result.counts.size).toBeGreaterThan(100);
      expect(result.counts).toEqual(expected.counts);
      expect(result.uniqueDestinations.size).toBe(expected.unique.size);
      expect(result.skippedRecords).toBe(5);
      expect(result.complete).toBe(false);
      const started = server.startedQueries;
      expect(started.map((q) => q.logGroupArns.length)).toEqual([30, 30]);
      expect(started.flatMap((q) => q.logGroupArns).sort()).toEqual(sortedArns);
      expect(result.stats.queries).toBe(2);
      expect(server.callCounts.DescribeLogGroups).toBe(2); // 61 groups listed 50 a page
    });

    it('splits each part on its own at the row limit: counts and SKIPDATA still exact', async () => {
      const window = windowAt(T0, config);
      const result = await source(config, [], { logGroups: discovery(), rowLimit: 40 }).countWindow(
        window,
        deadline(),
      );
      const expected = directCounts(withSkipData, window, config);
      expect(result.counts).toEqual(expected.counts);
      // Every narrowed query of a part saw the part's SKIPDATA records: taken once per part, summed.
      expect(result.skippedRecords).toBe(5);
      const started = server.startedQueries;
      expect(started.length).toBeGreaterThan(6);
      expect(started.every((q) => q.logGroupArns.length === 30 && q.rowCount <= 40)).toBe(true);
      const firstPart = new Set(sortedArns.slice(0, 30));
      expect(started.filter((q) => firstPart.has(q.logGroupArns[0]!)).length).toBeGreaterThan(2);
      expect(started.filter((q) => !firstPart.has(q.logGroupArns[0]!)).length).toBeGreaterThan(2);
    });

    it('merges details over the parts: the same destinations and totals as the direct count', async () => {
      const window = windowAt(T0, config);
      const sources = [...directCounts(records, window, config).counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([src]) => src);
      const details = await source(config, [], { logGroups: discovery() }).details(
        window,
        sources,
        deadline(),
      );
      for (const src of sources)
        expect(details.get(src)).toEqual(directDetails(records, window, config, src));
      expect(server.startedQueries.map((q) => q.logGroupArns.length)).toEqual([30, 30]);
    });

    it('builds history over the parts; a window one part could not count is a gap for all', async () => {
      const exact = await source(config, groupArns).history(T0, T0 + 2 * HOUR, deadline());
      for (const w of exact.windows) {
        expect(w.counts).toEqual(directCounts(records, windowAt(w.windowStart, config), config).counts);
      }
      expect(exact.windows.map((w) => w.complete)).toEqual([false, true]);

      // The second part's one-window queries of hour 1 fail: that window has no counts at all.
      const second = new Set(sortedArns.slice(30));
      const stop = server.endQueriesMatching(
        'Failed',
        (q) => second.has(q.logGroupArns[0]!) && q.startTime === (T0 + HOUR) / 1000,
      );
      try {
        const gapped = await source(config, sortedArns, {
          historySliceWindows: 1,
          maxQueryAttempts: 1,
        }).history(T0, T0 + 2 * HOUR, deadline());
        expect(gapped.gaps.map((g) => [g.from, g.to])).toEqual([[T0 + HOUR, T0 + 2 * HOUR]]);
        expect(gapped.windows[1]).toEqual({ windowStart: T0 + HOUR, counts: new Map(), complete: false });
        expect(gapped.windows[0]!.counts).toEqual(directCounts(records, windowAt(T0, config), config).counts);
      } finally {
        stop();
      }
    });

    it("picks up a newly linked account's flow log group at the next run, without any change of configuration", async () => {
      const window = windowAt(T0, config);
      const before = await source(config, [], { logGroups: discovery() }).countWindow(window, deadline());
      const newcomer = sourceKey({ accountId: UNLINKED, address: '10.200.0.1' });
      expect(before.counts.has(newcomer)).toBe(false);
      server.linkAccount(UNLINKED);
      try {
        const after = await source(config, [], { logGroups: discovery() }).countWindow(window, deadline());
        expect(after.counts.get(newcomer)).toBe(500);
        expect(
          server.startedQueries
            .slice(-2)
            .map((q) => q.logGroupArns.length)
            .sort(),
        ).toEqual([30, 31]);
      } finally {
        server.unlinkAccount(UNLINKED);
      }
    });

    it('fails the run with a clear error when discovery finds nothing to query', async () => {
      const nothing = new LogGroupDiscovery({
        client,
        prefixes: ['/no/such/prefix'],
        includeLinkedAccounts: true,
      });
      await expect(
        source(config, [], { logGroups: nothing }).countWindow(windowAt(T0, config), deadline()),
      ).rejects.toThrow(
        /no flow log group to query: none is configured and none in this account or a linked source account starts with "\/no\/such\/prefix"/,
      );
      expect(server.queriesStarted).toBe(0);
    });
  });

  describe('failures', () => {
    const config = resolveDetectorConfig({});
    const group = '/vpc/failures';
    const window = windowAt(T0, config);
    beforeAll(() =>
      server.seed(group, toEvents(generate(4, { records: 200, hours: 1, internal: 20 }), undefined)),
    );

    it.each(['Failed', 'Timeout', 'Unknown'] as const)(
      'a query ending %s is started again after a backoff, and the count is exact',
      async (status) => {
        // Prepare
        const expected = directCounts(generate(4, { records: 200, hours: 1, internal: 20 }), window, config);
        server.endNextQueriesWith(status);
        // Act
        const result = await source(config, [group], { retryBaseDelayMs: 100 }).countWindow(
          window,
          deadline(),
        );
        // Assess
        expect(result.counts).toEqual(expected.counts);
        expect(server.startedQueries.map((q) => q.status)).toEqual([status, 'Complete']);
        expect(result.stats.queries).toBe(2);
        expect(sleeps).toContain(75); // equal jitter at random() = 0.5: 3/4 of 100 ms
      },
    );

    it.each(['Failed', 'Timeout', 'Unknown'] as const)(
      'a query ending %s on every try raises QueryFailedError naming the query, status, window, kind and tries',
      async (status) => {
        server.endNextQueriesWith(status, 3);
        const error = await source(config, [group])
          .countWindow(window, deadline())
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(QueryFailedError);
        const failed = error as QueryFailedError;
        expect(server.queriesStarted).toBe(3);
        expect(failed.queryId).toBe(server.startedQueries[2]!.queryId);
        expect(failed).toMatchObject({ status, kind: 'count', window, attempts: 3 });
        expect(failed.message).toContain('2026-11-27T10:00:00Z');
        expect(failed.message).toContain('(3 tries, none completed)');
      },
    );

    it.each([
      ['Unknown', 3],
      ['Failed', 0],
      ['Timeout', 0],
    ] as const)(
      'a query that came back %s: %i of its 3 tries stopped before the next (Unknown is not a documented end state, the others are)',
      async (status, stopped) => {
        server.resetCounters();
        server.endNextQueriesWith(status, 3);
        await source(config, [group])
          .countWindow(window, deadline())
          .catch((e: unknown) => e);
        expect(server.callCounts).toMatchObject({ StartQuery: 3, StopQuery: stopped });
      },
    );

    it('does not start a query again after Cancelled (someone stopped it) or when the backoff would pass the deadline', async () => {
      // Prepare
      server.endNextQueriesWith('Cancelled');
      let clock = Date.now();
      const flows = source(config, [group], {
        retryBaseDelayMs: 10_000,
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
      });

      // Act
      const cancelled = await flows.countWindow(window, clock + 60_000).catch((e: unknown) => e);
      server.endNextQueriesWith('Failed');
      const late = await flows.countWindow(window, clock + 5_000).catch((e: unknown) => e);

      // Assess
      expect(cancelled).toMatchObject({ name: 'QueryFailedError', status: 'Cancelled', attempts: 1 });
      expect(late).toMatchObject({ name: 'QueryFailedError', status: 'Failed', attempts: 1 });
      expect(server.queriesStarted).toBe(2);
    });

    it('counts every window exactly while the service fails one query in five', async () => {
      // Prepare
      const hours = generate(6, { records: 400, hours: 10, internal: 30 });
      server.seed('/vpc/fault-rate', toEvents(hours, undefined));
      const stop = server.endEveryNthQueryWith('Failed', 5);
      try {
        // Act
        const results = [];
        for (let h = 0; h < 10; h += 1) {
          results.push(
            await source(config, ['/vpc/fault-rate']).countWindow(
              windowAt(T0 + h * HOUR, config),
              deadline(),
            ),
          );
        }
        // Assess
        results.forEach((result, h) =>
          expect(result.counts).toEqual(directCounts(hours, windowAt(T0 + h * HOUR, config), config).counts),
        );
        expect(server.startedQueries.filter((q) => q.status === 'Failed')).toHaveLength(2);
        expect(server.queriesStarted).toBe(12);
      } finally {
        stop();
      }
    });

    it('retries LimitExceededException with growing backoff and then succeeds', async () => {
      server.injectErrors('StartQuery', 'LimitExceededException', 3);
      const result = await source(config, [group], { retryBaseDelayMs: 100 }).countWindow(window, deadline());
      expect(result.counts.size).toBeGreaterThan(0);
      expect(server.callCounts.StartQuery).toBe(4);
      // random() = 0.5: equal jitter gives 3/4 of 100, 200, 400 ms.
      expect(sleeps.slice(0, 3)).toEqual([75, 150, 300]);
    });

    it('retries ThrottlingException and ServiceUnavailableException on GetQueryResults', async () => {
      server.injectErrors('GetQueryResults', 'ThrottlingException', 1);
      server.injectErrors('GetQueryResults', 'ServiceUnavailableException', 1);
      const result = await source(config, [group], { retryBaseDelayMs: 100 }).countWindow(window, deadline());
      expect(result.counts.size).toBeGreaterThan(0);
      expect(server.queriesStarted).toBe(1);
    });

    it('gives up with QueryThrottledError when the next retry would pass the deadline', async () => {
      server.injectErrors('StartQuery', 'LimitExceededException', 1000);
      let clock = Date.now();
      const flows = source(config, [group], {
        retryBaseDelayMs: 1000,
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
      });
      const error = await flows.countWindow(window, clock + 10_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryThrottledError);
      expect((error as QueryThrottledError).attempts).toBe(4); // 750 + 1500 + 3000 ms slept, 6000 would pass
      expect(server.callCounts.StartQuery).toBe(4);
      server.resetCounters(); // drop the remaining injected errors
    });

    it('stops a started query when polling is throttled past the deadline', async () => {
      server.injectErrors('GetQueryResults', 'ThrottlingException', 1000);
      let clock = Date.now();
      const flows = source(config, [group], {
        retryBaseDelayMs: 1000,
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
      });
      const error = await flows.countWindow(window, clock + 10_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryThrottledError);
      expect((error as QueryThrottledError).operation).toBe('GetQueryResults');
      expect(server.callCounts.StopQuery).toBe(1);
      expect(server.startedQueries[0]!.status).toBe('Cancelled');
      server.resetCounters();
    });

    it('does not retry other errors', async () => {
      await expect(
        source(config, ['/vpc/no-such-group']).countWindow(window, deadline()),
      ).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      expect(server.callCounts.StartQuery).toBe(1);
    });
  });

  describe('deadline', () => {
    it('stops a query still running at the deadline and raises QueryTimeoutError', async () => {
      // Prepare: an endpoint whose queries stay Running for 1,000 polls.
      const slow = await startLocalLogsInsights({ runningPolls: 1000 });
      const slowClient = new CloudWatchLogsClient({ ...slow.clientConfig(), maxAttempts: 1 });
      try {
        slow.seed('/vpc/slow', toEvents(generate(5, { records: 50, hours: 1, internal: 5 }), undefined));
        const config = resolveDetectorConfig({});
        let clock = T0 + 2 * HOUR;
        const polls: number[] = [];
        const flows = new LogsInsightsFlowSource({
          client: slowClient,
          logGroupIdentifiers: ['/vpc/slow'],
          config,
          now: () => clock,
          sleep: async (ms) => {
            polls.push(ms);
            clock += ms;
          },
        });
        // Act
        const error = await flows.countWindow(windowAt(T0, config), clock + 20_000).catch((e: unknown) => e);
        // Assess
        expect(error).toBeInstanceOf(QueryTimeoutError);
        const timeout = error as QueryTimeoutError;
        expect(timeout.queryId).toBe(slow.startedQueries[0]!.queryId);
        expect(timeout.lastStatus).toBe('Running');
        expect(timeout.message).toContain('2026-11-27T10:00:00Z');
        expect(slow.callCounts.StopQuery).toBe(1);
        expect(slow.startedQueries[0]!.status).toBe('Cancelled');
        // Polls back off 1 s, 1.5 s, 2.25 s ... capped at 5 s, and the last wait ends at the deadline.
        expect(polls.slice(0, 4)).toEqual([1000, 1500, 2250, 3375]);
        expect(Math.max(...polls)).toBe(5000);
        expect(polls.reduce((a, b) => a + b, 0)).toBe(20_000);
      } finally {
        slowClient.destroy();
        await slow.stop();
      }
    });

    /**
     * A virtual clock that concurrent waits share: a sleep ends `ms` after it began, the earliest
     * first, one every few real milliseconds (time for the woken query's call to the endpoint), so
     * queries in flight together take the time of one (a clock that added every sleep's length
     * would make four queries at once as slow as four in a row).
     */
    function sharedVirtualClock(start: number) {
      let now = start;
      const timers: Array<{ until: number; resolve: () => void }> = [];
      let ticking: NodeJS.Timeout | undefined;
      const tick = (): void => {
        ticking = undefined;
        timers.sort((a, b) => a.until - b.until);
        const next = timers.shift();
        if (next === undefined) return;
        now = Math.max(now, next.until);
        next.resolve();
        if (timers.length > 0) ticking = setTimeout(tick, 5);
      };
      return {
        now: (): number => now,
        sleep: (ms: number): Promise<void> =>
          new Promise<void>((resolve) => {
            timers.push({ until: now + ms, resolve });
            ticking ??= setTimeout(tick, 5);
          }),
        stop: (): void => {
          if (ticking !== undefined) clearTimeout(ticking);
        },
      };
    }

    /** A history source on an endpoint whose queries each stay Running for `runningPolls` polls (sharedVirtualClock). */
    async function slowHistory(runningPolls: number, days: number) {
      const slow = await startLocalLogsInsights({ runningPolls });
      const slowClient = new CloudWatchLogsClient({ ...slow.clientConfig(), maxAttempts: 1 });
      const config = resolveDetectorConfig({});
      const records = generate(31, { records: 60 * days, hours: days * 24, internal: 6 });
      slow.seed('/vpc/slow-history', toEvents(records, undefined));
      const clock = sharedVirtualClock(T0 + days * 24 * HOUR + 20 * 60_000);
      const flows = new LogsInsightsFlowSource({
        client: slowClient,
        logGroupIdentifiers: ['/vpc/slow-history'],
        config,
        now: clock.now,
        sleep: clock.sleep,
        random: () => 0.5,
      });
      const stop = async () => {
        clock.stop();
        slowClient.destroy();
        await slow.stop();
      };
      return { slow, flows, config, records, clock, stop };
    }

    it("queries a bootstrap's history newest day first, four days at once, and counts every window exactly", async () => {
      // Prepare: 9 days, each day's query about 12 s of polls
      const { slow, flows, config, records, clock, stop } = await slowHistory(4, 9);
      try {
        // Act
        const result = await flows.history(T0, T0 + 9 * 24 * HOUR, clock.now() + 600_000);

        // Assess: the newest day first, at most 4 (splitConcurrency) at once and 4 reached
        const started = slow.startedQueries.map((q) => q.startTime);
        expect(started[0]).toBe((T0 + 8 * 24 * HOUR) / 1000);
        expect(new Set(started).size).toBe(9);
        expect(slow.peakActiveQueries).toBe(4);
        expect(result.heldFrom).toBeUndefined();
        expect(result.gaps).toEqual([]);
        expect(result.windows).toHaveLength(9 * 24);
        for (const w of result.windows) {
          expect(w.counts).toEqual(directCounts(records, windowAt(w.windowStart, config), config).counts);
          expect(w.complete).toBe(true);
        }
      } finally {
        await stop();
      }
    });

    /**
     * A history source on the local endpoint through a client that holds chosen queries Running
     * (until `runningUntil` says, on the virtual clock) or fails their polls (`failing`), on a
     * sharedVirtualClock.
     */
    async function steeredHistory(options: {
      groups: string[];
      seed: Record<string, LogEvent[]>;
      clockStart: number;
      runningUntil?: (query: { startTime: number; group: string; at: number }) => number | undefined;
      failing?: (query: { startTime: number }) => Error | undefined;
      extra?: Partial<LogsInsightsFlowSourceOptions>;
    }) {
      const steered = await startLocalLogsInsights({});
      for (const group of options.groups) steered.seed(group, options.seed[group] ?? []);
      const real = new CloudWatchLogsClient({ ...steered.clientConfig(), maxAttempts: 1 });
      const clock = sharedVirtualClock(options.clockStart);
      const queries = new Map<string, { startTime: number; group: string; at: number }>();
      // Polls of a held query answer Running, a failing one's throw; everything else is the endpoint's.
      const client = {
        send: async (command: StartQueryCommand | GetQueryResultsCommand): Promise<unknown> => {
          if (command instanceof GetQueryResultsCommand && command.input.nextToken === undefined) {
            const query = queries.get(command.input.queryId!);
            if (query !== undefined) {
              const until = options.runningUntil?.(query);
              if (until !== undefined && clock.now() < until) return { status: 'Running', results: [] };
              const failure = options.failing?.(query);
              if (failure !== undefined) throw failure;
            }
          }
          const out = (await real.send(command as StartQueryCommand)) as { queryId?: string };
          if (command instanceof StartQueryCommand) {
            queries.set(out.queryId!, {
              startTime: command.input.startTime!,
              group: command.input.logGroupIdentifiers![0]!,
              at: clock.now(),
            });
          }
          return out;
        },
      };
      const flows = new LogsInsightsFlowSource({
        client: client as unknown as CloudWatchLogsClient,
        logGroupIdentifiers: options.groups,
        config: resolveDetectorConfig({}),
        now: clock.now,
        sleep: clock.sleep,
        random: () => 0.5,
        ...options.extra,
      });
      const stop = async () => {
        clock.stop();
        real.destroy();
        await steered.stop();
      };
      return { steered, flows, clock, queries, stop };
    }
    const DAY = 24 * HOUR;
    const hourly = (days: number, address: (day: number) => string[]): LogEvent[] =>
      Array.from({ length: days * 24 }, (_, h) => T0 + h * HOUR + 60_000).flatMap((t) =>
        address(Math.floor((t - T0) / DAY)).map((src) => ({
          timestamp: t,
          message: `2 ${ACCOUNT} eni-1 ${src} 8.8.8.8 49152 443 6 3 180 ${t / 1000} ${t / 1000 + 60} REJECT OK`,
        })),
      );

    it('makes a whole slice a gap for every log group part when the deadline stops it part-way (a halved slice)', async () => {
      // Prepare: 51 log groups (two parts). Four days; on the third the first part holds ten
      // sources an hour, over the row limit, so its day is halved: the older half is counted, the
      // newer one held Running to the deadline, so the second part never counts that day. The
      // older days are counted, so the stopped day stays inside the history.
      const groups = Array.from({ length: 51 }, (_, i) => `/vpc/parts-${i}`);
      const seed = {
        [groups[0]!]: hourly(4, (day) =>
          day === 2 ? Array.from({ length: 10 }, (_, k) => `10.1.0.${k + 1}`) : ['10.0.0.1'],
        ),
        [groups[50]!]: hourly(4, () => ['10.9.9.9']),
      };
      const newerHalf = (T0 + 2 * DAY + 12 * HOUR) / 1000;
      const { flows, clock, stop } = await steeredHistory({
        groups,
        seed,
        clockStart: T0 + 4 * DAY + 20 * 60_000,
        runningUntil: (q) => (q.group === groups[0] && q.startTime === newerHalf ? Infinity : undefined),
        extra: { rowLimit: 100 },
      });
      try {
        // Act
        const result = await flows.history(T0, T0 + 4 * DAY, clock.now() + 300_000);

        // Assess: the day is one gap, no window of it complete or holding the first part's counts
        // alone (the second part's 10.9.9.9 would read as zero there)
        expect(result.heldFrom).toBeUndefined();
        expect(result.gaps.map((gap) => [gap.from, gap.to])).toEqual([[T0 + 2 * DAY, T0 + 3 * DAY]]);
        const day = result.windows.filter(
          (w) => w.windowStart >= T0 + 2 * DAY && w.windowStart < T0 + 3 * DAY,
        );
        expect(day).toHaveLength(24);
        for (const w of day) expect([w.complete, w.counts.size]).toEqual([false, 0]);
        for (const w of result.windows.filter((x) => x.windowStart < T0 + 2 * DAY))
          expect([w.complete, w.counts.get(`${ACCOUNT}|10.9.9.9`)]).toEqual([true, 1]);
      } finally {
        await stop();
      }
    });

    it('starts no slice after one fails with another error, and throws it once the slices in flight have ended', async () => {
      // Prepare: eight days, each query 30 s; the poll of one day's query is refused
      const failingDay = (T0 + 4 * DAY) / 1000;
      let failedAt = Number.NaN;
      const { steered, flows, clock, queries, stop } = await steeredHistory({
        groups: ['/vpc/refused'],
        seed: { '/vpc/refused': hourly(8, () => ['10.0.0.1']) },
        clockStart: T0 + 8 * DAY + 20 * 60_000,
        runningUntil: (q) => q.at + 30_000,
        failing: (q) => {
          if (q.startTime !== failingDay) return undefined;
          failedAt = clock.now();
          return Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
        },
      });
      try {
        // Act
        const error = await flows.history(T0, T0 + 8 * DAY, clock.now() + 800_000).catch((e: unknown) => e);

        // Assess: refused, no slice started after the refusal, none left running when it is thrown
        expect(error).toMatchObject({ name: 'AccessDeniedException' });
        const starts = [...queries.values()].map((q) => q.at);
        expect(starts.length).toBeLessThan(8);
        expect(Math.max(...starts)).toBeLessThanOrEqual(failedAt);
        expect(steered.activeQueries).toBe(0);
      } finally {
        await stop();
      }
    });

    it('starts no slice at or after the deadline', async () => {
      // Prepare
      const { flows, clock, slow, stop } = await slowHistory(1, 2);
      try {
        // Act: the deadline already reached
        const result = await flows.history(T0, T0 + 2 * DAY, clock.now());

        // Assess
        expect(slow.startedQueries).toEqual([]);
        expect(result.heldFrom).toBe(T0 + 2 * DAY);
        expect(result.windows).toEqual([]);
      } finally {
        await stop();
      }
    });

    it('holds the newest days of a history whose run runs out of time: the days not queried are left out, never zeros', async () => {
      // Prepare: 12 days, each day's query about 55 s of polls, and 160 s to the deadline: the
      // newest day alone, then four at once, then four more stopped at the deadline.
      const { slow, flows, config, records, clock, stop } = await slowHistory(12, 12);
      try {
        const begun = clock.now();
        // Act
        const result = await flows.history(T0, T0 + 12 * 24 * HOUR, begun + 160_000);

        // Assess: a shorter history from a day boundary, the stopped days out of it, none a gap
        expect(clock.now() - begun).toBeLessThanOrEqual(160_000);
        expect(result.heldFrom).toBeDefined();
        const heldDays = (T0 + 12 * 24 * HOUR - result.heldFrom!) / (24 * HOUR);
        expect(Number.isInteger(heldDays)).toBe(true);
        expect(heldDays).toBeGreaterThanOrEqual(2);
        expect(heldDays).toBeLessThan(12);
        expect(result.gaps).toEqual([]);
        expect(result.windows.map((w) => w.windowStart)).toEqual(
          Array.from({ length: heldDays * 24 }, (_, i) => result.heldFrom! + i * HOUR),
        );
        for (const w of result.windows) {
          expect(w.counts).toEqual(directCounts(records, windowAt(w.windowStart, config), config).counts);
          expect(w.complete).toBe(true);
        }
        // The queries stopped at the deadline were stopped (not left scanning), and no day older
        // than those was started.
        const stopped = slow.startedQueries.filter((q) => q.status === 'Cancelled');
        expect(stopped.length).toBeGreaterThanOrEqual(1);
        expect(slow.callCounts.StopQuery).toBe(stopped.length);
        expect(slow.startedQueries.length).toBe(heldDays + stopped.length);
        expect(Math.max(...stopped.map((q) => q.startTime))).toBeLessThan(result.heldFrom! / 1000);
      } finally {
        await stop();
      }
    });
  });
});
