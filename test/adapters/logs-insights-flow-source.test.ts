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
import { RowLimitExceededError, UnexpectedQueryResultError } from '../../lambda/adapters/errors';
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
  { field: 'flowAccountId', value: account },
  { field: 'flowSrcAddr', value: src },
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
    expect(narrowed[0]).toContain('and isIpInSubnet(flowSrcAddr, "10.0.0.0/8"))');
    expect(narrowed[1]).toContain('and isIpInSubnet(flowSrcAddr, "172.16.0.0/12"))');
    expect(narrowed[2]).toContain('and isIpInSubnet(flowSrcAddr, "192.168.0.0/16"))');
    expect(result.counts).toEqual(
      new Map([
        [`${ACCOUNT}|10.0.0.1`, 4],
        [`${ACCOUNT}|172.16.0.1`, 5],
      ]),
    );
    expect(result.stats.queries).toBe(4);
  });

  describe('a single address over the row limit (the same address in many accounts)', () => {
    /** A source of one internal address, `rowLimit` 2, whose queries answer by account narrowing. */
    function oneAddress(format?: string) {
      const oneHost = resolveDetectorConfig({
        internalCidrs: ['10.0.0.5/32'],
        ...(format === undefined ? {} : { flowLogFormat: format }),
      });
      const answers: Array<[RegExp, ResultField[][]]> = [
        [/flowAccountId like \/\^12\//, [countRow('10.0.0.5', 3, '123456789012')]],
        [/flowAccountId like \/\^11\//, [countRow('10.0.0.5', 4)]],
        // The accounts starting with 1: full again, so split by the second digit.
        [/flowAccountId like \/\^1\//, [countRow('10.0.0.5', 3, '123456789012'), countRow('10.0.0.5', 4)]],
        [/not \(flowAccountId like \/\^\[0-9\]\{12\}\$\/\)/, [countRow('10.0.0.5', 2, 'unknown')]],
        [/flowAccountId like \/\^2\//, [countRow('10.0.0.5', 6, '210987654321')]],
        [/flowAccountId like/, []],
        // Not narrowed by account: full (three accounts' rows of the same address, cut at two).
        [/./, [countRow('10.0.0.5', 7, '123456789012'), countRow('10.0.0.5', 8, '210987654321')]],
      ];
      let next = 0;
      const strings = new Map<string, string>();
      logs.on(StartQueryCommand).callsFake((input: { queryString: string }) => {
        next += 1;
        strings.set(`q-${next}`, input.queryString);
        return { queryId: `q-${next}` };
      });
      logs.on(GetQueryResultsCommand).callsFake((input: { queryId: string }) => {
        const query = strings.get(input.queryId) ?? '';
        return { status: 'Complete', results: answers.find(([match]) => match.test(query))![1] };
      });
      const source = new LogsInsightsFlowSource({
        client: new CloudWatchLogsClient({ region: 'us-east-1' }),
        logGroupIdentifiers: ['/vpc/flow-logs'],
        config: oneHost,
        sleep: async () => undefined,
        rowLimit: 2,
      });
      return { source, queries: () => [...strings.values()] };
    }

    it('splits it by account id, digit by digit, and the records of no account apart, and adds the parts up', async () => {
      // Prepare
      const { source, queries } = oneAddress();

      // Act
      const result = await source.countWindow(windowAt(T0, config), Date.now() + 60_000);

      // Assess: the full query, then one per first digit and one for no account, then the
      // accounts starting with 1 (full again) by their second digit
      const narrowed = queries().slice(1);
      expect(narrowed).toHaveLength(21);
      for (let digit = 0; digit < 10; digit += 1) {
        expect(narrowed.filter((q) => q.includes(`flowAccountId like /^${digit}/`))).toHaveLength(1);
        expect(narrowed.filter((q) => q.includes(`flowAccountId like /^1${digit}/`))).toHaveLength(1);
      }
      expect(narrowed.filter((q) => q.includes('not (flowAccountId like /^[0-9]{12}$/)'))).toHaveLength(1);
      for (const q of narrowed) expect(q).toContain('isIpInSubnet(flowSrcAddr, "10.0.0.5/32")');
      expect(result.counts).toEqual(
        new Map([
          ['123456789012|10.0.0.5', 3],
          [`${ACCOUNT}|10.0.0.5`, 4],
          ['-|10.0.0.5', 2],
          ['210987654321|10.0.0.5', 6],
        ]),
      );
    });

    it('refuses, never cuts, where the format has no account field', async () => {
      // Prepare
      const { source } = oneAddress(
        'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      );

      // Act
      const error = await source
        .countWindow(windowAt(T0, config), Date.now() + 60_000)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RowLimitExceededError);
      expect((error as Error).message).toMatch(
        /reached the row limit of 2 rows and cannot be split further \(a single address\)/,
      );
    });
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
    ['a missing count column', [[{ field: 'flowSrcAddr', value: '10.0.0.9' }]]],
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
