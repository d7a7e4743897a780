/**
 * Protocol corners of LogsInsightsFlowSource that are cheaper to pin with a mocked client than
 * with the local endpoint: paging past 10,000 rows, partial results while Running, malformed
 * answers, option validation. Query semantics are tested against the local endpoint
 * (logs-insights-local.test.ts).
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  type ResultField,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { UnexpectedQueryResultError } from '../../lambda/adapters/errors';
import {
  FlowSourceOptionsError,
  LogsInsightsFlowSource,
} from '../../lambda/adapters/logs-insights-flow-source';
import { resolveDetectorConfig, windowAt } from '../../lambda/core';

const T0 = Date.UTC(2026, 10, 27, 10);
const config = resolveDetectorConfig({});
const window = windowAt(T0, config);
const logs = mockClient(CloudWatchLogsClient);

const ACCOUNT = '111111111111';
const countRow = (src: string, n: number, account = ACCOUNT): ResultField[] => [
  { field: 'accountId', value: account },
  { field: 'srcAddr', value: src },
  { field: 'blockedCount', value: String(n) },
  { field: 'uniqueDestinations', value: '1' },
];
const sourceAt = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const rows = (from: number, to: number): ResultField[][] =>
  Array.from({ length: to - from }, (_, k) => countRow(sourceAt(from + k), 1));

const flowSource = (rowLimit?: number): LogsInsightsFlowSource =>
  new LogsInsightsFlowSource({
    client: new CloudWatchLogsClient({ region: 'us-east-1' }),
    logGroupIdentifiers: ['/vpc/flow-logs'],
    config,
    sleep: async () => undefined,
    ...(rowLimit === undefined ? {} : { rowLimit }),
  });

describe('LogsInsightsFlowSource protocol corners (mocked client)', () => {
  beforeEach(() => {
    logs.reset();
  });

  it('pages results past 10,000 rows with nextToken when rowLimit is raised', async () => {
    // Prepare
    logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    logs
      .on(GetQueryResultsCommand, { queryId: 'q-1', maxItems: 10_000 })
      .resolves({
        status: 'Complete',
        results: rows(0, 10_000),
        nextToken: 'page-2',
        statistics: { bytesScanned: 7 },
      })
      .on(GetQueryResultsCommand, { queryId: 'q-1', nextToken: 'page-2', maxItems: 10_000 })
      .resolves({ status: 'Complete', results: rows(10_000, 15_000) });
    // Act
    const result = await flowSource(20_000).countWindow(window, Date.now() + 60_000);
    // Assess
    expect(result.counts.size).toBe(15_000);
    expect(result.stats).toEqual({ queries: 1, bytesScanned: 7, recordsScanned: 0, recordsMatched: 0 });
    expect(logs).toHaveReceivedCommandTimes(StartQueryCommand, 1);
    expect(logs).toHaveReceivedCommandWith(StartQueryCommand, {
      limit: 20_000,
      logGroupIdentifiers: ['/vpc/flow-logs'],
      startTime: T0 / 1000,
      endTime: (T0 + 3_600_000) / 1000 - 1,
    });
  });

  it('treats a result that fills the row limit as cut and re-queries the address space in parts', async () => {
    // Prepare: the first query fills its 15,000-row limit over two pages; the parts do not.
    logs
      .on(StartQueryCommand)
      .resolvesOnce({ queryId: 'whole' })
      .resolvesOnce({ queryId: 'part-10' })
      .resolvesOnce({ queryId: 'part-172' })
      .resolvesOnce({ queryId: 'part-192' });
    logs
      .on(GetQueryResultsCommand, { queryId: 'whole', maxItems: 10_000 })
      .resolves({ status: 'Complete', results: rows(0, 10_000), nextToken: 'more' })
      .on(GetQueryResultsCommand, { queryId: 'whole', nextToken: 'more', maxItems: 10_000 })
      .resolves({ status: 'Complete', results: rows(10_000, 15_000) })
      .on(GetQueryResultsCommand, { queryId: 'part-10' })
      .resolves({ status: 'Complete', results: [countRow('10.0.0.1', 4)] })
      .on(GetQueryResultsCommand, { queryId: 'part-172' })
      .resolves({ status: 'Complete', results: [countRow('172.16.0.1', 5)] })
      .on(GetQueryResultsCommand, { queryId: 'part-192' })
      .resolves({ status: 'Complete', results: [] });
    // Act
    const result = await flowSource(15_000).countWindow(window, Date.now() + 60_000);
    // Assess: one query per disjoint internal CIDR after the full one; the cut rows are dropped.
    const narrowed = logs
      .commandCalls(StartQueryCommand)
      .slice(1)
      .map((call) => call.args[0].input.queryString ?? '');
    expect(narrowed).toHaveLength(3);
    expect(narrowed[0]).toContain('and isIpInSubnet(srcAddr, "10.0.0.0/8"))');
    expect(narrowed[1]).toContain('and isIpInSubnet(srcAddr, "172.16.0.0/12"))');
    expect(narrowed[2]).toContain('and isIpInSubnet(srcAddr, "192.168.0.0/16"))');
    expect(result.counts).toEqual(
      new Map([
        [`${ACCOUNT}|10.0.0.1`, 4],
        [`${ACCOUNT}|172.16.0.1`, 5],
      ]),
    );
    expect(result.stats.queries).toBe(4);
  });

  it('ignores partial results while Running and reads the Complete ones', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q-2' });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Scheduled' })
      .resolvesOnce({ status: 'Running', results: [countRow('10.0.0.9', 1)] })
      .resolves({ status: 'Complete', results: [countRow('10.0.0.9', 5), countRow('-', 2)] });
    const result = await flowSource().countWindow(window, Date.now() + 60_000);
    expect(result.counts).toEqual(new Map([[`${ACCOUNT}|10.0.0.9`, 5]]));
    expect(result).toMatchObject({ complete: false, skippedRecords: 2 });
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 3);
  });

  it("keys each row by account and address, and adds up a result's SKIPDATA rows of several accounts", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q-3' });
    logs.on(GetQueryResultsCommand).resolves({
      status: 'Complete',
      results: [
        countRow('10.0.0.10', 40, '111111111111'),
        countRow('10.0.0.10', 7, '222222222222'),
        countRow('10.0.0.11', 3, 'unknown'),
        countRow('-', 2, '111111111111'),
        countRow('-', 5, '222222222222'),
      ],
    });
    const result = await flowSource().countWindow(window, Date.now() + 60_000);
    expect(result.counts).toEqual(
      new Map([
        ['111111111111|10.0.0.10', 40],
        ['222222222222|10.0.0.10', 7],
        ['-|10.0.0.11', 3],
      ]),
    );
    expect(result).toMatchObject({ complete: false, skippedRecords: 7 });
  });

  it.each([
    [
      'a count that is not a number',
      [
        countRow('10.0.0.9', 1)
          .slice(0, 1)
          .concat([{ field: 'blockedCount', value: 'many' }]),
      ],
    ],
    ['a missing count column', [[{ field: 'srcAddr', value: '10.0.0.9' }]]],
  ])('rejects %s with UnexpectedQueryResultError', async (_label, results) => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q-3' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results });
    await expect(flowSource().countWindow(window, Date.now() + 60_000)).rejects.toThrow(
      UnexpectedQueryResultError,
    );
  });

  it('rejects a StartQuery answer without a query id', async () => {
    logs.on(StartQueryCommand).resolves({});
    await expect(flowSource().countWindow(window, Date.now() + 60_000)).rejects.toThrow(
      /StartQuery returned no queryId/,
    );
  });

  it.each([
    ['no log group', { logGroupIdentifiers: [] }, /logGroupIdentifiers: needs at least one log group/],
    ['a blank log group', { logGroupIdentifiers: ['/a', ' '] }, /entry 1 is empty/],
    ['a row limit over 100,000', { rowLimit: 100_001 }, /rowLimit: must be an integer in \[1, 100000\]/],
    ['a zero poll interval', { pollIntervalMs: 0 }, /pollIntervalMs: must be a positive number/],
  ])('rejects %s', (_label, overrides, message) => {
    const make = (): LogsInsightsFlowSource =>
      new LogsInsightsFlowSource({
        client: new CloudWatchLogsClient({ region: 'us-east-1' }),
        logGroupIdentifiers: ['/vpc/flow-logs'],
        config,
        ...overrides,
      });
    expect(make).toThrow(FlowSourceOptionsError);
    expect(make).toThrow(message);
  });
});
