/**
 * A bootstrap's history read again from kept queries (LogsInsightsFlowSource with
 * `completedQueries`), against the local Logs Insights endpoint: a rerun counts exactly what a
 * fresh history counts (window lengths, row-limit splits, SKIPDATA), reads the days it shares with
 * an earlier run however the two sliced them, keeps the first run's cost, and reads nothing after
 * its deadline; and the edges a second review found: a kept result that came back full (read
 * free to learn the slice splits, its halves after), a busy day of 5-minute windows (its short
 * pieces looked up), a kept result of several pages the deadline stops. (The e2e suite runs the
 * same through the Lambda and DynamoDB.)
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { LogsInsightsFlowSource } from '../../lambda/adapters/logs-insights-flow-source';
import type { CompletedQueries } from '../../lambda/adapters/ports';
import { resolveDetectorConfig, type DetectorConfig } from '../../lambda/core';
import { countsOf, D0, DAY, HOUR, KeptInMemory, record } from '../support/history-reuse';
import {
  startLocalLogsInsights,
  type LocalLogsInsights,
  type LogEvent,
} from '../support/local-logs-insights';

const LATER = Date.now() + 600_000;
const FIVE_MINUTES = 5 * 60_000;

let server: LocalLogsInsights;
let client: CloudWatchLogsClient;

beforeAll(async () => {
  server = await startLocalLogsInsights();
  client = new CloudWatchLogsClient({ ...server.clientConfig(), maxAttempts: 1 });
  // Five days and a half: a record every 7 minutes from rotating sources, one SKIPDATA record.
  const rotating: LogEvent[] = [];
  for (let t = D0 - 5 * DAY, i = 0; t < D0 + 12 * HOUR; t += 7 * 60_000, i += 1) {
    rotating.push(record(t, `10.0.${i % 3}.${(i * 13) % 50}`));
    rotating.push(record(t + 1000, `10.0.9.${(i * 7) % 11}`));
  }
  rotating.push(record(D0 - 2 * DAY - 5 * 60_000, '-', 'SKIPDATA'));
  server.seed('/vpc/rotating', rotating);
  // Six days of 40 sources an hour, but 2 in the hour after midnight and 5 at 05:00 today.
  const busy: LogEvent[] = [];
  for (let t = D0 - 6 * DAY; t < D0 + 9 * HOUR; t += HOUR) {
    const n = (t - D0) % DAY === 0 ? 2 : t === D0 + 5 * HOUR ? 45 : 40;
    for (let i = 0; i < n; i += 1) busy.push(record(t + 60_000 + i * 1000, `10.0.1.${i + 1}`));
  }
  server.seed('/vpc/busy', busy);
  // 30 sources an hour, 45 at 09:00 yesterday: at a row limit of 100 the 3-hour slice holding it
  // comes back full and is halved unevenly (2 + 1 hours: not an aligned piece).
  const odd: LogEvent[] = [];
  for (let t = D0 - 2 * DAY; t < D0 + 4 * HOUR; t += HOUR) {
    const n = t === D0 - DAY + 9 * HOUR ? 45 : 30;
    for (let i = 0; i < n; i += 1) odd.push(record(t + 1000 + i * 1000, `10.0.3.${i + 1}`));
  }
  server.seed('/vpc/odd', odd);
  // 29 sources every 5 minutes for two days, nothing today.
  const five: LogEvent[] = [];
  for (let t = D0 - 2 * DAY; t < D0; t += FIVE_MINUTES)
    for (let i = 0; i < 29; i += 1) five.push(record(t + 1000 + i * 1000, `10.0.2.${i + 1}`));
  server.seed('/vpc/five', five);
  // 25,000 sources in one hour: three pages of results.
  const pages: LogEvent[] = [];
  for (let i = 0; i < 25_000; i += 1)
    pages.push(
      record(D0 - HOUR + 60_000 + (i % 3000) * 1000, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`),
    );
  server.seed('/vpc/pages', pages);
});

afterAll(async () => {
  client.destroy();
  await server.stop();
});

beforeEach(() => server.resetCounters());

function source(
  group: string,
  options: {
    config?: DetectorConfig;
    kept?: CompletedQueries;
    rowLimit?: number;
    now?: () => number;
    historySliceWindows?: number;
  } = {},
) {
  return new LogsInsightsFlowSource({
    client,
    logGroupIdentifiers: [group],
    config: options.config ?? resolveDetectorConfig({}),
    pollIntervalMs: 1,
    sleep: async () => undefined,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.historySliceWindows === undefined
      ? {}
      : { historySliceWindows: options.historySliceWindows }),
    ...(options.rowLimit === undefined ? {} : { rowLimit: options.rowLimit, maxQueriesPerCall: 1000 }),
    ...(options.kept === undefined ? {} : { completedQueries: options.kept }),
  });
}

describe('a history read again from kept queries', () => {
  it.each([
    [60, undefined],
    [60, 40],
    [45, 60],
    [72, undefined],
    [5, 200],
    [15, undefined],
    [120, 30],
    [1440, undefined],
  ] as const)(
    '%i-minute windows, row limit %s: a rerun 3 hours later counts what a fresh history counts, reading kept queries',
    async (windowMinutes, rowLimit) => {
      // Prepare
      const config = resolveDetectorConfig({ windowMinutes });
      const kept = new KeptInMemory();
      await source('/vpc/rotating', { config, kept, rowLimit }).history(
        D0 + 6 * HOUR - 4 * DAY,
        D0 + 6 * HOUR,
        LATER,
      );
      server.resetCounters();

      // Act
      const again = await source('/vpc/rotating', { config, kept, rowLimit }).history(
        D0 + 9 * HOUR - 4 * DAY,
        D0 + 9 * HOUR,
        LATER,
      );
      const startedAgain = server.queriesStarted;
      server.resetCounters();
      const fresh = await source('/vpc/rotating', { config, rowLimit }).history(
        D0 + 9 * HOUR - 4 * DAY,
        D0 + 9 * HOUR,
        LATER,
      );

      // Assess
      expect(countsOf(again)).toEqual(countsOf(fresh));
      expect(again.skipDataThrough).toEqual(fresh.skipDataThrough);
      expect(again.reusedQueries).toBeGreaterThan(0);
      expect(startedAgain).toBeLessThan(server.queriesStarted);
    },
  );

  it('reads the days an earlier run kept although the rerun slices them otherwise (sized from busier hours)', async () => {
    // Prepare: a first run at 01:00 keeps whole days; the rerun at 09:00 sees 45 sources at
    // 05:00 and cuts days into shorter slices at a row limit of 1,000 (24 x 41 rows fit, 24 x 46 not)
    const kept = new KeptInMemory();
    await source('/vpc/busy', { kept, rowLimit: 1000 }).history(D0 + HOUR - 3 * DAY, D0 + HOUR, LATER);
    const firstSlices = server.startedQueries.map((q) => q.endTime + 1 - q.startTime);
    server.resetCounters();

    // Act
    const again = await source('/vpc/busy', { kept, rowLimit: 1000 }).history(
      D0 + 9 * HOUR - 3 * DAY,
      D0 + 9 * HOUR,
      LATER,
    );
    const againStarted = server.startedQueries.map(
      (q) => [q.startTime * 1000, (q.endTime + 1) * 1000] as const,
    );
    server.resetCounters();
    const fresh = await source('/vpc/busy', { rowLimit: 1000 }).history(
      D0 + 9 * HOUR - 3 * DAY,
      D0 + 9 * HOUR,
      LATER,
    );

    // Assess: the first run's whole days were read (as the rerun's shorter pieces), and nothing
    // before today was queried again; the counts are a fresh history's
    expect(firstSlices.filter((seconds) => seconds === DAY / 1000)).toHaveLength(2);
    expect(Math.max(...againStarted.map(([start, end]) => end - start))).toBeLessThan(DAY);
    expect(again.reusedQueries).toBeGreaterThanOrEqual(2);
    const daysKept = againStarted.filter(([start]) => start >= D0 - 2 * DAY && start < D0);
    expect(daysKept).toEqual([]);
    expect(countsOf(again)).toEqual(countsOf(fresh));
  });

  it('sizes a first run just after midnight from a whole day, not from the hour of today: no more full results than without', async () => {
    // Act: a first bootstrap at 01:00 (today's slice: one quiet hour), with and without kept queries
    const fullResults = async (kept?: CompletedQueries) => {
      server.resetCounters();
      const history = await source('/vpc/busy', { kept, rowLimit: 300 }).history(
        D0 + HOUR - 5 * DAY,
        D0 + HOUR,
        LATER,
      );
      return {
        full: server.startedQueries.filter((q) => q.rowCount >= 300).length,
        counts: countsOf(history),
      };
    };
    const without = await fullResults();
    const withKept = await fullResults(new KeptInMemory());

    // Assess: a quiet first hour would size four whole days at once, each full, billed and halved
    expect(withKept.counts).toEqual(without.counts);
    expect(withKept.full).toBeLessThanOrEqual(without.full);
  });

  it('reads no kept result, and starts no query, once the deadline has passed', async () => {
    // Prepare: three whole days kept; the rerun's table answers in 20 s, its deadline 5 s away
    let clock = D0 + 30 * 60_000;
    const now = () => clock;
    const reads: number[] = [];
    const starts: number[] = [];
    const counting = {
      send: (command: unknown) => {
        if (command instanceof GetQueryResultsCommand) reads.push(clock);
        if (command instanceof StartQueryCommand) starts.push(clock);
        return client.send(command as GetQueryResultsCommand);
      },
    } as unknown as CloudWatchLogsClient;
    const keptFast = new KeptInMemory();
    await source('/vpc/busy', { kept: keptFast, now }).history(D0 - 3 * DAY, D0, clock + 600_000);
    expect(keptFast.ids.size).toBeGreaterThanOrEqual(3);
    const slow = new KeptInMemory(() => (clock += 20_000));
    for (const [key, id] of keptFast.ids) await slow.remember(key, id);
    reads.length = 0;
    const deadline = clock + 5_000;

    // Act
    const rerun = new LogsInsightsFlowSource({
      client: counting,
      logGroupIdentifiers: ['/vpc/busy'],
      config: resolveDetectorConfig({}),
      now,
      pollIntervalMs: 1,
      sleep: async (ms) => void (clock += ms),
      completedQueries: slow,
    });
    const result = await rerun.history(D0 - 3 * DAY, D0, deadline);

    // Assess
    // (a query started past it would be billed only to be stopped at once)
    expect(reads.filter((at) => at >= deadline)).toEqual([]);
    expect(starts.filter((at) => at >= deadline)).toEqual([]);
    expect(result.reusedQueries).toBeUndefined();
    expect(result.stoppedBy?.message).toMatch(
      /history query for window .* was not started: the deadline .* had passed$/,
    );
  });

  it('queries afresh what a kept query cannot give: an id the service does not know, a table that fails', async () => {
    // Prepare
    const unknown = new KeptInMemory();
    await source('/vpc/rotating', { kept: unknown }).history(D0 - 2 * DAY, D0, LATER);
    for (const key of unknown.ids.keys()) unknown.ids.set(key, '00000000-0000-4000-9000-0000deadbeef');
    const failing: CompletedQueries = {
      queryIdFor: () => Promise.reject(new Error('ProvisionedThroughputExceededException')),
      queryIdsFor: () => Promise.reject(new Error('ProvisionedThroughputExceededException')),
      remember: () => Promise.reject(new Error('ResourceNotFoundException')),
    };
    const fresh = await source('/vpc/rotating').history(D0 - 2 * DAY, D0, LATER);

    // Act
    const fromUnknown = await source('/vpc/rotating', { kept: unknown }).history(D0 - 2 * DAY, D0, LATER);
    const fromFailing = await source('/vpc/rotating', { kept: failing }).history(D0 - 2 * DAY, D0, LATER);

    // Assess
    expect(countsOf(fromUnknown)).toEqual(countsOf(fresh));
    expect(fromUnknown.reusedQueries).toBeUndefined();
    expect(countsOf(fromFailing)).toEqual(countsOf(fresh));
  });
});

describe('edges of a history read again (a second review)', () => {
  const startedBefore = (midnight: number) =>
    server.startedQueries
      .filter((q) => q.startTime * 1000 < midnight)
      .map((q) => new Date(q.startTime * 1000));

  it('a rerun an hour later starts no query of yesterday, whose slice came back full and was halved unevenly', async () => {
    // Prepare
    const kept = new KeptInMemory();
    await source('/vpc/odd', { kept, rowLimit: 100 }).history(D0 + 2 * HOUR - 2 * DAY, D0 + 2 * HOUR, LATER);
    expect(server.startedQueries.some((q) => q.rowCount >= 100)).toBe(true);
    server.resetCounters();

    // Act
    const again = await source('/vpc/odd', { kept, rowLimit: 100 }).history(
      D0 + 3 * HOUR - 2 * DAY,
      D0 + 3 * HOUR,
      LATER,
    );
    const yesterday = startedBefore(D0);
    const fresh = await source('/vpc/odd', { rowLimit: 100 }).history(
      D0 + 3 * HOUR - 2 * DAY,
      D0 + 3 * HOUR,
      LATER,
    );

    // Assess
    expect(yesterday).toEqual([]);
    expect(countsOf(again)).toEqual(countsOf(fresh));
  });

  it('5-minute windows: a rerun finds the short pieces a busy day was cut into, and starts no query of it', async () => {
    // Prepare: two days of 5-minute windows sliced at a row limit of 300 (about 9 windows a query)
    const config = resolveDetectorConfig({ windowMinutes: 5 });
    const kept = new KeptInMemory();
    await source('/vpc/five', { config, kept, rowLimit: 300, historySliceWindows: 288 }).history(
      D0 - 2 * DAY,
      D0,
      LATER,
    );
    server.resetCounters();

    // Act
    const again = await source('/vpc/five', {
      config,
      kept,
      rowLimit: 300,
      historySliceWindows: 288,
    }).history(D0 + FIVE_MINUTES - 2 * DAY, D0 + FIVE_MINUTES, LATER);
    const pastDays = startedBefore(D0);
    const fresh = await source('/vpc/five', { config, rowLimit: 300, historySliceWindows: 288 }).history(
      D0 + FIVE_MINUTES - 2 * DAY,
      D0 + FIVE_MINUTES,
      LATER,
    );

    // Assess
    expect(pastDays).toEqual([]);
    expect(countsOf(again)).toEqual(countsOf(fresh));
  });

  it('reads no page of a kept result after the deadline', async () => {
    // Prepare: one hour kept (three pages); the rerun's pages take 20 s each, its deadline 25 s away
    let clock = D0 + 30 * 60_000;
    const kept = new KeptInMemory();
    const options = {
      logGroupIdentifiers: ['/vpc/pages'],
      config: resolveDetectorConfig({}),
      now: () => clock,
      pollIntervalMs: 1,
      sleep: async (ms: number) => void (clock += ms),
      rowLimit: 30_000,
      completedQueries: kept,
    };
    const first = await new LogsInsightsFlowSource({ client, ...options }).history(
      D0 - HOUR,
      D0,
      clock + 600_000,
    );
    expect(first.windows[0]!.counts.size).toBe(25_000);
    expect(kept.ids.size).toBe(1);
    const reads: number[] = [];
    const slow = {
      send: async (command: unknown) => {
        if (!(command instanceof GetQueryResultsCommand))
          return client.send(command as GetQueryResultsCommand);
        reads.push(clock);
        const out = await client.send(command);
        clock += 20_000;
        return out;
      },
    } as unknown as CloudWatchLogsClient;
    const deadline = clock + 25_000;

    // Act
    await new LogsInsightsFlowSource({ ...options, client: slow }).history(D0 - HOUR, D0, deadline);

    // Assess
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads.filter((at) => at >= deadline)).toEqual([]);
  }, 120_000);
});
