/**
 * Edges of a bootstrap's history read again from kept queries, from a second independent review:
 * a kept result that came back full (read free to learn the slice splits, its halves read after),
 * 5-minute windows (a day's pieces looked up down to short lengths), and a kept result of several
 * pages whose reading the deadline stops.
 */
import { CloudWatchLogsClient, GetQueryResultsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { LogsInsightsFlowSource } from '../../lambda/adapters/logs-insights-flow-source';
import { resolveDetectorConfig, type DetectorConfig } from '../../lambda/core';
import { countsOf, D0, DAY, HOUR, KeptInMemory, record } from '../support/history-reuse';
import {
  startLocalLogsInsights,
  type LocalLogsInsights,
  type LogEvent,
} from '../support/local-logs-insights';

const FIVE_MINUTES = 5 * 60_000;
const LATER = Date.now() + 600_000;

let server: LocalLogsInsights;
let client: CloudWatchLogsClient;

beforeAll(async () => {
  server = await startLocalLogsInsights();
  client = new CloudWatchLogsClient({ ...server.clientConfig(), maxAttempts: 1 });
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
  options: { config?: DetectorConfig; kept?: KeptInMemory; rowLimit: number; historySliceWindows?: number },
) {
  return new LogsInsightsFlowSource({
    client,
    logGroupIdentifiers: [group],
    config: options.config ?? resolveDetectorConfig({}),
    pollIntervalMs: 1,
    sleep: async () => undefined,
    rowLimit: options.rowLimit,
    maxQueriesPerCall: 1000,
    ...(options.historySliceWindows === undefined
      ? {}
      : { historySliceWindows: options.historySliceWindows }),
    ...(options.kept === undefined ? {} : { completedQueries: options.kept }),
  });
}

const startedBefore = (midnight: number) =>
  server.startedQueries.filter((q) => q.startTime * 1000 < midnight).map((q) => new Date(q.startTime * 1000));

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
  const again = await source('/vpc/five', { config, kept, rowLimit: 300, historySliceWindows: 288 }).history(
    D0 + FIVE_MINUTES - 2 * DAY,
    D0 + FIVE_MINUTES,
    LATER,
  );
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
      if (!(command instanceof GetQueryResultsCommand)) return client.send(command as GetQueryResultsCommand);
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
