/**
 * The Athena flow source end to end: the Lambda runtime with FLOW_SOURCE=athena, its real Athena
 * and S3 SDK clients against the local Athena endpoint (DuckDB over the files) and the local S3,
 * dynalite and the local SNS. The same flow records, written as VPC Flow Logs writes them to S3
 * (plain text, or Parquet under Hive-compatible hourly prefixes) or as Security Lake stores them
 * (OCSF Parquet), give the same alerts as the Logs Insights source and the replay (parity.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import type { FlowLogLocation } from '../../lambda/adapters/athena-table';
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { AthenaFlowSource } from '../../lambda/adapters/athena-flow-source';
import { QueryTimeoutError } from '../../lambda/adapters/errors';
import { DEFAULT_FLOW_LOG_FORMAT, resolveDetectorConfig } from '../../lambda/core';
import { runReplay } from '../../lambda/replay/replay';
import { startLocalAthena, type LocalAthena } from '../support/local-athena';
import { startLocalS3, type LocalS3 } from '../support/local-s3';
import {
  flowLogEngineTable,
  securityLakeEngineTable,
  writeFlowLogObjects,
  writeSecurityLakeObjects,
} from '../support/flow-log-objects';
import { E2E_LAG_MINUTES, newDetector, startEndpoints, type Detector, type Endpoints } from './harness';
import {
  ACCOUNT,
  blockedLines,
  decided,
  ordinaryTraffic,
  runParityCase,
  skipDataLine,
  v2Line,
  type DecidedAlert,
} from '../parity/parity';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const D0 = Date.parse('2026-11-24T00:00:00Z');
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12', '172.16.4.2', 'fd00::a:1', 'fd00::a:2'];
/** A second account reusing the first's address plan: its sources are others. */
const OTHER_ACCOUNT = '210987654321';
/** The VPC Security Lake's records name (writeSecurityLakeObjects). */
const LAKE_VPC = 'vpc-0a1b2c3d';
const WORKGROUP = 'detector';

const TEXT: FlowLogLocation = {
  bucket: 'flow-logs-text',
  prefix: 'org',
  hiveCompatible: false,
  hourlyPartitions: false,
  fileFormat: 'plain-text',
  accounts: [ACCOUNT, OTHER_ACCOUNT],
  regions: ['us-east-1'],
  firstYear: 2024,
};
const PARQUET: FlowLogLocation = {
  ...TEXT,
  bucket: 'flow-logs-parquet',
  prefix: '',
  hiveCompatible: true,
  hourlyPartitions: true,
  fileFormat: 'parquet',
};

/**
 * Three days of two accounts with the same addresses: ordinary traffic (IPv4 and IPv6 sources,
 * ACCEPTed and inbound records the filter leaves out), on the third a spike of the first
 * account's 10.0.1.11 at 10:00 and of the second's 10.0.1.12 at 11:00, a new source at 14:00,
 * an IPv4-mapped source that is IPv6 and so not internal, traffic to an internal destination,
 * and a SKIPDATA record at 16:00 whose capture runs into 17:00.
 */
function threeDays(): string[] {
  const day3 = D0 + 2 * DAY;
  return [
    ...ordinaryTraffic(D0, 72, SOURCES, 7),
    ...ordinaryTraffic(D0, 72, SOURCES, 8, OTHER_ACCOUNT),
    ...blockedLines(day3 + 10 * HOUR, '10.0.1.11', 400, 20),
    ...blockedLines(day3 + 11 * HOUR, '10.0.1.12', 350, 12, OTHER_ACCOUNT),
    ...blockedLines(day3 + 14 * HOUR, '10.0.9.9', 150, 5),
    ...blockedLines(day3 + 12 * HOUR, '::ffff:10.0.7.7', 300, 4),
    ...Array.from({ length: 200 }, (_, i) =>
      v2Line({ at: day3 + 13 * HOUR + i * 1000, src: '10.0.1.10', dst: '10.0.200.1' }),
    ),
    skipDataLine(day3 + 16 * HOUR + 50 * 60_000, day3 + 17 * HOUR + 5 * 60_000),
  ];
}

let endpoints: Endpoints;
let s3Root: string;
let athena: LocalAthena;
let s3: LocalS3;

beforeAll(async () => {
  endpoints = await startEndpoints();
  s3Root = mkdtempSync(join(tmpdir(), 'athena-e2e-'));
  const lines = threeDays();
  // Files reach S3 a few minutes after their records start: some land in the next hour's prefix.
  await writeFlowLogObjects(s3Root, TEXT, lines, { deliveryDelayMs: 7 * 60_000 });
  await writeFlowLogObjects(s3Root, PARQUET, lines, { deliveryDelayMs: 7 * 60_000 });
  // The second account's spiking source sits behind an inline appliance whose interface records
  // its blocked egress as ingress: Security Lake names the VPC on dst_endpoint for those.
  await writeSecurityLakeObjects(s3Root, lines, {
    ingressWhen: (f) => f.srcaddr === '10.0.1.12' && f['account-id'] === OTHER_ACCOUNT,
  });
  athena = await startLocalAthena({
    s3Root,
    workGroups: { [WORKGROUP]: { outputLocation: 's3://detector-results/results/' } },
    tables: [
      flowLogEngineTable('flows', 'text_flow_logs', TEXT),
      flowLogEngineTable('flows', 'parquet_flow_logs', PARQUET),
      securityLakeEngineTable(
        'amazon_security_lake_glue_db_us_east_1',
        'amazon_security_lake_table_us_east_1_vpc_flow_2_0',
      ),
    ],
  });
  s3 = await startLocalS3({ root: s3Root });
}, 120_000);

afterAll(async () => {
  await Promise.all([athena?.stop(), s3?.stop(), endpoints?.stop()]);
  rmSync(s3Root, { recursive: true, force: true });
});

function athenaDetector(
  table: { kind: 'flow-logs'; name: string; hourly: boolean } | { kind: 'security-lake' },
  options: {
    pageBudget?: number;
    detectorConfig?: Record<string, unknown>;
    /** The stack's env of a redeployed function: its table fingerprint, and the state table it shares. */
    env?: { ATHENA_TABLE_FINGERPRINT?: string; TABLE_NAME?: string };
  } = {},
): Promise<Detector> {
  return newDetector(endpoints, {
    ...(options.detectorConfig === undefined ? {} : { detectorConfig: options.detectorConfig }),
    env: {
      ...options.env,
      FLOW_SOURCE: 'athena',
      ATHENA_WORKGROUP: WORKGROUP,
      ...(table.kind === 'security-lake'
        ? {
            ATHENA_TABLE_KIND: 'security-lake',
            ATHENA_DATABASE: 'amazon_security_lake_glue_db_us_east_1',
            ATHENA_TABLE: 'amazon_security_lake_table_us_east_1_vpc_flow_2_0',
          }
        : {
            ATHENA_TABLE_KIND: 'flow-logs',
            ATHENA_DATABASE: 'flows',
            ATHENA_TABLE: table.name,
            ATHENA_HOURLY_PARTITIONS: table.hourly ? 'true' : 'false',
          }),
      ATHENA_ENDPOINT: athena.endpoint,
      S3_ENDPOINT: s3.endpoint,
    },
    runtime: {
      athenaSourceOptions: {
        pollIntervalMs: 1,
        maxPollIntervalMs: 1,
        retryBaseDelayMs: 1,
        ...(options.pageBudget === undefined ? {} : { pageBudget: options.pageBudget }),
      },
    },
  });
}

const runAfter = (windowStart: number) =>
  new Date(windowStart + HOUR + (E2E_LAG_MINUTES + 2) * 60_000).toISOString();

/** Bootstrap two days, then run every window of the third as the schedule does; the alerts published. */
async function scheduledAlerts(detector: Detector): Promise<DecidedAlert[]> {
  endpoints.sns.reset();
  const from = D0 + 2 * DAY;
  detector.clock.set(runAfter(from - HOUR));
  const bootstrap = await detector.invoke({ mode: 'bootstrap', days: 2 });
  expect(bootstrap.bootstrap?.gaps).toBeUndefined();
  for (let w = from; w < D0 + 3 * DAY; w += HOUR) {
    detector.clock.set(runAfter(w));
    const summary = await detector.invoke({});
    expect(summary.windows).toEqual([new Date(w).toISOString().replace('.000Z', 'Z')]);
  }
  return endpoints.sns.published
    .map((p) => decided(JSON.parse(p.perProtocol!.sqs!) as PublishedAlert))
    .sort(byWindowThenSource);
}

function byWindowThenSource(a: DecidedAlert, b: DecidedAlert): number {
  return (
    a.windowStart.localeCompare(b.windowStart) || a.keys.localeCompare(b.keys) || a.kind.localeCompare(b.kind)
  );
}

describe('Athena source: the same alerts as Logs Insights and the replay on the same flow records', () => {
  let expected: DecidedAlert[];
  /** The same records with their VPC (a format with vpc-id), as Security Lake keeps them. */
  let expectedWithVpc: DecidedAlert[];

  beforeAll(async () => {
    const result = await runParityCase(endpoints, {
      name: 'athena-reference',
      files: [{ name: 'flows.log', lines: threeDays() }],
      bootstrapDays: 2,
    });
    expect(result.replay).toEqual(result.lambda);
    expected = result.lambda.sort(byWindowThenSource);
    const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    // The case is about these: a spike in each account of addresses both have, a new source, an
    // incomplete window; no IPv4-mapped source.
    expect(expected.map((a) => `${a.kind} ${a.windowStart} ${a.keys}`)).toEqual(
      expect.arrayContaining([
        `spike ${iso(D0 + 2 * DAY + 10 * HOUR)} ${ACCOUNT}|10.0.1.11`,
        `spike ${iso(D0 + 2 * DAY + 11 * HOUR)} ${OTHER_ACCOUNT}|10.0.1.12`,
        `new-source ${iso(D0 + 2 * DAY + 14 * HOUR)} ${ACCOUNT}|10.0.9.9`,
      ]),
    );
    expect(expected.some((a) => a.keys.includes(`${OTHER_ACCOUNT}|10.0.1.11`))).toBe(false);
    expect(expected.some((a) => a.keys.includes(`${ACCOUNT}|10.0.1.12`))).toBe(false);
    expect(expected.some((a) => a.source.includes('::ffff:'))).toBe(false);

    const withVpc = await runParityCase(endpoints, {
      name: 'athena-reference-vpc',
      config: { flowLogFormat: `${DEFAULT_FLOW_LOG_FORMAT.join(' ')} vpc-id` },
      files: [{ name: 'flows.log', lines: threeDays().map((line) => `${line} ${LAKE_VPC}`) }],
      bootstrapDays: 2,
    });
    expect(withVpc.replay).toEqual(withVpc.lambda);
    expectedWithVpc = withVpc.lambda.sort(byWindowThenSource);
    // The same alerts, each source now within its VPC.
    const inVpc = (keys: string) =>
      keys
        .split(',')
        .map((key) => key.replace('|', `|${LAKE_VPC}|`))
        .join(',');
    expect(expectedWithVpc).toEqual(expected.map((a) => ({ ...a, keys: inVpc(a.keys) })));
  }, 240_000);

  it('flow logs in S3 as plain text (daily prefixes)', async () => {
    // Act
    const alerts = await scheduledAlerts(
      await athenaDetector({ kind: 'flow-logs', name: 'text_flow_logs', hourly: false }),
    );

    // Assess
    expect(alerts).toEqual(expected);
  }, 120_000);

  it('flow logs in S3 as Parquet under Hive-compatible hourly prefixes; each window reads only its hours; the replay of those files agrees', async () => {
    // Arrange
    const detector = await athenaDetector({ kind: 'flow-logs', name: 'parquet_flow_logs', hourly: true });

    // Act
    const alerts = await scheduledAlerts(detector);
    const replayed = await runReplay({
      inputs: [join(s3Root, PARQUET.bucket)],
      config: resolveDetectorConfig({}),
      bootstrapDays: 2,
    });

    // Assess
    expect(alerts).toEqual(expected);
    expect(replayed.summary.files).toBeGreaterThan(48);
    expect(replayed.alerts.map(decided).sort(byWindowThenSource)).toEqual(expected);
    const counts = athena.queries.filter(
      (q) => q.sql.includes('parquet_flow_logs') && q.sql.includes('destinations'),
    );
    expect(counts.length).toBeGreaterThanOrEqual(24);
    // A window [h, h+1) plus the 10-minute lag needs the files of hours h and h+1, never more.
    for (const query of counts) {
      const hours = new Set(query.filesRead.map((key) => /hour=(\d\d)/.exec(key)?.[1]));
      expect(hours.size).toBeLessThanOrEqual(2);
    }
  }, 120_000);

  it("Security Lake's OCSF VPC flow table (source version 2): sources within their VPC, as Logs Insights keys a format with vpc-id", async () => {
    // Act
    const alerts = await scheduledAlerts(await athenaDetector({ kind: 'security-lake' }));

    // Assess
    expect(alerts).toEqual(expectedWithVpc);
  }, 120_000);
});

describe('Athena source: a bootstrap run again', () => {
  /** The per-source baselines and the state's clock (the kept history queries are not state). */
  async function learnt(detector: Detector) {
    const items = await detector.items();
    return {
      baselines: Object.fromEntries([...items].filter(([key]) => key.startsWith('SRC#'))),
      clock: items.get('STATE|DETECTOR')?.clock,
    };
  }

  it('reads the whole days an earlier bootstrap counted from their kept results, scans only the rest, and learns what one bootstrap learns', async () => {
    // Prepare: a bootstrap of two days ending at the third day's 04:00, and one three hours later
    // (overwrite), beside a fresh detector's single bootstrap then
    const detector = await athenaDetector({ kind: 'flow-logs', name: 'text_flow_logs', hourly: false });
    const fresh = await athenaDetector({ kind: 'flow-logs', name: 'text_flow_logs', hourly: false });
    detector.clock.set(runAfter(D0 + 2 * DAY + 4 * HOUR));
    await detector.invoke({ mode: 'bootstrap', days: 2 });
    const kept = [...(await detector.items()).keys()].filter((key) => key.startsWith('HISTORY_QUERY|'));
    const historyQueries = () => athena.queries.filter((q) => q.sql.includes(' AS window_start')).length;
    const queriesBefore = historyQueries();

    // Act
    detector.clock.set(runAfter(D0 + 2 * DAY + 7 * HOUR));
    fresh.clock.set(runAfter(D0 + 2 * DAY + 7 * HOUR));
    const again = await detector.invoke({ mode: 'bootstrap', days: 2, overwrite: true });
    const rerunQueries = historyQueries() - queriesBefore;
    const once = await fresh.invoke({ mode: 'bootstrap', days: 2 });

    // Assess: the day between (whole in both runs) was read from its result; the two partial days
    // queried; the same baselines and clock as the fresh bootstrap's
    // (the newest, partial day is not kept: it ended less than the delivery allowance before the run)
    expect(kept).toHaveLength(2);
    expect(again.bootstrap?.reusedQueries).toBe(1);
    expect(once.bootstrap?.reusedQueries).toBeUndefined();
    expect(rerunQueries).toBe(2);
    expect(again.bytesScanned).toBeLessThan(once.bytesScanned);
    expect(again.bootstrap).toMatchObject({ windows: 48 });
    expect(await learnt(detector)).toEqual(await learnt(fresh));
    expect(Object.keys((await learnt(fresh)).baselines).length).toBeGreaterThan(0);
  });
});

describe('Athena source: a bootstrap run again on a redeployed table', () => {
  it('reads nothing an earlier bootstrap kept once the stack says the table is another (ATHENA_TABLE_FINGERPRINT)', async () => {
    // Prepare: a bootstrap by the function as first deployed; the same function redeployed with
    // its table changed (another fingerprint), and again unchanged, on the same state table
    const text = { kind: 'flow-logs', name: 'text_flow_logs', hourly: false } as const;
    const first = await athenaDetector(text, { env: { ATHENA_TABLE_FINGERPRINT: 'a'.repeat(64) } });
    const on = (fingerprint: string) =>
      athenaDetector(text, { env: { ATHENA_TABLE_FINGERPRINT: fingerprint, TABLE_NAME: first.tableName } });
    const changed = await on('b'.repeat(64));
    const unchanged = await on('a'.repeat(64));
    for (const d of [first, changed, unchanged]) d.clock.set(runAfter(D0 + 2 * DAY + 4 * HOUR));
    await first.invoke({ mode: 'bootstrap', days: 2 });

    // Act
    const afterChange = await changed.invoke({ mode: 'bootstrap', days: 2, overwrite: true });
    const afterNone = await unchanged.invoke({ mode: 'bootstrap', days: 2, overwrite: true });

    // Assess: the changed table's days queried afresh; the unchanged table's read from the first
    // run's (at the same hour, the whole day and the oldest day's part: the newest part, ended
    // within the delivery allowance, was not kept)
    expect(afterChange.bootstrap?.reusedQueries).toBeUndefined();
    expect(afterNone.bootstrap?.reusedQueries).toBe(2);
  });
});

describe('Athena source: results, failures and limits', () => {
  const W = D0 + 2 * DAY + 10 * HOUR;

  /** 1,500 sources in one window (two pages of 1,000) and a source with a budget of one page. */
  async function withManySources(
    body: (source: AthenaFlowSource, local: LocalAthena, localS3: LocalS3) => Promise<void>,
  ): Promise<void> {
    const root = mkdtempSync(join(tmpdir(), 'athena-budget-'));
    const location: FlowLogLocation = { ...TEXT, bucket: 'many-sources' };
    const lines = Array.from({ length: 1500 }, (_, i) =>
      v2Line({
        at: W + 60_000 + i,
        src: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        dst: '198.51.100.1',
      }),
    );
    await writeFlowLogObjects(root, location, lines);
    const local = await startLocalAthena({
      s3Root: root,
      workGroups: { [WORKGROUP]: { outputLocation: 's3://results/out/' } },
      tables: [flowLogEngineTable('flows', 'many', location)],
    });
    const localS3 = await startLocalS3({ root });
    try {
      const source = new AthenaFlowSource({
        athena: new AthenaClient(local.clientConfig()),
        s3: new S3Client(localS3.clientConfig()),
        workGroup: WORKGROUP,
        table: { kind: 'flow-logs', database: 'flows', table: 'many', hourlyPartitions: false },
        config: resolveDetectorConfig({ lagMinutes: 10 }),
        pollIntervalMs: 1,
        pageBudget: 1,
      });
      await body(source, local, localS3);
    } finally {
      await Promise.all([local.stop(), localS3.stop()]);
      rmSync(root, { recursive: true, force: true });
    }
  }

  it('a window with more sources than the page budget is read from its CSV result object in S3', async () => {
    await withManySources(async (source, local, localS3) => {
      // Act
      const counts = await source.countWindow({ start: W, end: W + HOUR }, Date.now() + 60_000);

      // Assess
      expect(counts.counts.size).toBe(1500);
      expect([...counts.counts.values()].every((n) => n === 1)).toBe(true);
      expect(local.callCounts.GetQueryResults).toBe(1);
      expect(localS3.gets).toEqual([`results/out/${local.queries[0]!.id}.csv`]);
    });
  }, 60_000);

  it('a result object S3 is slow to send is given up at the deadline, naming it, not read past it', async () => {
    await withManySources(async (source, local, localS3) => {
      // Arrange: the object stops halfway for 20 s; the run has 3 s
      localS3.stallNextGets(1, 20_000);
      const deadline = Date.now() + 3_000;

      // Act
      const counting = source.countWindow({ start: W, end: W + HOUR }, deadline);

      // Assess
      await expect(counting).rejects.toThrow(QueryTimeoutError);
      await expect(counting).rejects.toThrow(
        /Athena count query .* result object s3:\/\/results\/out\/.*\.csv was still being read at the deadline/,
      );
      expect(Date.now() - deadline).toBeLessThan(2_000);
      expect(local.queries.map((q) => q.state)).toEqual(['SUCCEEDED']);
    });
  }, 60_000);

  it('a query that fails for a system reason is started again; a throttled start is retried', async () => {
    // Arrange
    const detector = await athenaDetector({ kind: 'flow-logs', name: 'text_flow_logs', hourly: false });
    athena.resetCounters();
    athena.failNextQueries(1, { category: 1, reason: 'GENERIC_INTERNAL_ERROR: injected' });
    athena.injectErrors('StartQueryExecution', 'TooManyRequestsException', 4);
    detector.clock.set(runAfter(W));

    // Act
    const summary = await detector.invoke({});

    // Assess
    expect(summary.windows).toEqual([new Date(W).toISOString().replace('.000Z', 'Z')]);
    expect(athena.queries.map((q) => q.state)[0]).toBe('FAILED');
    expect(athena.queries[1]?.state).toBe('SUCCEEDED');
    expect(athena.callCounts.StartQueryExecution).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('a query that fails for a user error fails the window, which the next run tries again', async () => {
    // Arrange
    const detector = await athenaDetector({ kind: 'flow-logs', name: 'text_flow_logs', hourly: false });
    detector.clock.set(runAfter(W - HOUR));
    await detector.invoke({});
    athena.resetCounters();
    athena.failNextQueries(1, { category: 2, reason: 'TABLE_NOT_FOUND: injected' });
    detector.clock.set(runAfter(W));

    // Act
    const failed = detector.invoke({});

    // Assess
    await expect(failed).rejects.toThrow(/Athena count query .* ended with status FAILED: TABLE_NOT_FOUND/);
    expect(athena.queries).toHaveLength(1);
    const retried = await detector.invoke({});
    expect(retried.windows).toEqual([new Date(W).toISOString().replace('.000Z', 'Z')]);
  }, 60_000);

  it("a query over the workgroup's bytes-scanned cutoff is cancelled and fails its window, naming the cutoff", async () => {
    // Arrange
    const detector = await athenaDetector({ kind: 'flow-logs', name: 'text_flow_logs', hourly: false });
    detector.clock.set(runAfter(W - HOUR));
    await detector.invoke({});
    athena.setWorkGroup(WORKGROUP, {
      outputLocation: 's3://detector-results/results/',
      bytesScannedCutoffPerQuery: 100,
    });
    athena.resetCounters();
    detector.clock.set(runAfter(W));

    try {
      // Act
      const run = detector.invoke({});

      // Assess: cancelled, not retried
      await expect(run).rejects.toThrow(
        /ended with status CANCELLED: .*BytesScannedCutoffPerQuery 100 bytes/,
      );
      expect(athena.queries.map((q) => q.state)).toEqual(['CANCELLED']);
    } finally {
      athena.setWorkGroup(WORKGROUP, { outputLocation: 's3://detector-results/results/' });
    }
  }, 60_000);

  it('the run summary and the BytesScanned metric add up the bytes every query scanned', async () => {
    // Arrange
    const detector = await athenaDetector({ kind: 'flow-logs', name: 'parquet_flow_logs', hourly: true });
    detector.clock.set(runAfter(W - HOUR));
    await detector.invoke({});
    athena.resetCounters();
    detector.clock.set(runAfter(W));

    // Act
    const summary = await detector.invoke({});

    // Assess
    const scanned = athena.queries.reduce((sum, q) => sum + q.bytesScanned, 0);
    expect(athena.queries.length).toBeGreaterThanOrEqual(1);
    expect(scanned).toBeGreaterThan(0);
    expect(summary.bytesScanned).toBe(scanned);
    expect(summary.queries).toBe(athena.queries.length);
    expect(detector.metrics.last('BytesScanned')).toBe(scanned);
  }, 60_000);
});
