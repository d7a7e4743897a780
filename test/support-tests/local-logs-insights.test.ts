import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  type DescribeLogGroupsCommandInput,
  DescribeLogStreamsCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  type ResultField,
  StartQueryCommand,
  type StartQueryCommandInput,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { startLocalLogsInsights, type LocalLogsInsights } from '../support/local-logs-insights';

const GROUP = '/vpc/flow-logs';
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1, 10, 0, 0); // 2024-05-01 10:00:00 UTC
const T0_SECONDS = T0 / 1000;

interface Flow {
  src: string;
  dst: string;
  at?: number;
  action?: 'ACCEPT' | 'REJECT';
  dstPort?: number;
  bytes?: number;
  eni?: string;
}

/** A default-format (v2) flow log line. */
function flowLine({
  src,
  dst,
  at = T0,
  action = 'REJECT',
  dstPort = 443,
  bytes = 40,
  eni = 'eni-0a1',
}: Flow): string {
  const start = Math.floor(at / 1000);
  return `2 123456789012 ${eni} ${src} ${dst} 49152 ${dstPort} 6 1 ${bytes} ${start} ${start + 60} ${action} OK`;
}

function flow(f: Flow): { timestamp: number; message: string } {
  return { timestamp: f.at ?? T0, message: flowLine(f) };
}

const NODATA = {
  timestamp: T0 + 5,
  message: `2 123456789012 eni-0a1 - - - - - - - ${T0_SECONDS} ${T0_SECONDS + 60} - NODATA`,
};

/** Rows as plain objects, in result order. */
const asObjects = (rows: ResultField[][]): Record<string, string>[] =>
  rows.map((row) => Object.fromEntries(row.map((cell) => [cell.field ?? '', cell.value ?? ''])));

describe('local Logs Insights endpoint, through @aws-sdk/client-cloudwatch-logs', () => {
  let logs: LocalLogsInsights;
  let client: CloudWatchLogsClient;

  beforeAll(async () => {
    // No polling delay is needed: status moves on each GetQueryResults call, not with time.
    logs = await startLocalLogsInsights({
      maxConcurrentQueries: 3,
      scheduledPolls: 1,
      runningPolls: 1,
      // A v5 field: known to the strict field check, never set in these v2 records.
      knownFields: ['vpcId'],
    });
    client = new CloudWatchLogsClient({ ...logs.clientConfig(), maxAttempts: 1 });
    logs.seed(GROUP, [
      flow({ src: '10.0.0.5', dst: '8.8.8.8' }),
      flow({ src: '10.0.0.5', dst: '8.8.8.8', at: T0 + 60_000 }),
      flow({ src: '10.0.0.5', dst: '1.1.1.1', at: T0 + 120_000, dstPort: 22 }),
      flow({ src: '10.0.0.5', dst: '10.1.2.3', at: T0 + 130_000 }), // internal destination
      flow({ src: '172.16.4.4', dst: '9.9.9.9', at: T0 + HOUR + 10_000, bytes: 100 }),
      flow({ src: '172.16.4.4', dst: '9.9.9.9', at: T0 + HOUR + 20_000, bytes: 300 }),
      flow({ src: '192.168.1.1', dst: '8.8.4.4', action: 'ACCEPT' }),
      flow({ src: 'fd00::1', dst: '2001:db8::7', at: T0 + 2 * HOUR }),
      flow({ src: 'fd00::1', dst: 'fd00::2', at: T0 + 2 * HOUR + 1 }),
      flow({ src: '8.8.8.8', dst: '10.0.0.5', at: T0 + 2 * HOUR + 2 }), // inbound
      NODATA,
    ]);
  });

  afterAll(async () => {
    client.destroy();
    await logs.stop();
  });

  afterEach(() => logs.resetCounters());

  /** Starts a query over [T0, T0 + 3h), polls to the end and collects every page. */
  async function runQuery(
    queryString: string,
    input: Partial<StartQueryCommandInput> = {},
    maxItems?: number,
  ): Promise<{ rows: Record<string, string>[]; last: GetQueryResultsCommandOutput; statuses: string[] }> {
    const { queryId } = await client.send(
      new StartQueryCommand({
        logGroupName: GROUP,
        startTime: T0_SECONDS,
        endTime: T0_SECONDS + 3 * 3600 - 1,
        queryString,
        ...input,
      }),
    );
    const statuses: string[] = [];
    let last = await client.send(new GetQueryResultsCommand({ queryId, maxItems }));
    statuses.push(last.status ?? '');
    while (last.status === 'Scheduled' || last.status === 'Running') {
      last = await client.send(new GetQueryResultsCommand({ queryId, maxItems }));
      statuses.push(last.status ?? '');
    }
    const rows = [...(last.results ?? [])];
    while (last.nextToken !== undefined) {
      last = await client.send(new GetQueryResultsCommand({ queryId, maxItems, nextToken: last.nextToken }));
      rows.push(...(last.results ?? []));
    }
    return { rows: asObjects(rows), last, statuses };
  }

  const sources = async (filter: string): Promise<string[]> => {
    // The newline keeps a trailing # comment in the filter from swallowing the stats.
    const { rows } = await runQuery(`filter ${filter}\n| stats count(*) as n by srcAddr`);
    return rows.map((r) => r.srcAddr ?? '').sort();
  };

  describe('filters', () => {
    it.each([
      ['isIpInSubnet(srcAddr, "10.0.0.0/8")', ['10.0.0.5']],
      ['isIpInSubnet(srcAddr, "fd00::/8")', ['fd00::1']],
      ['isIpv4InSubnet(srcAddr, "0.0.0.0/0")', ['10.0.0.5', '172.16.4.4', '192.168.1.1', '8.8.8.8']],
      ['isIpv6InSubnet(srcAddr, "::/0")', ['fd00::1']],
      [
        'isIpInSubnet(srcAddr, "172.16.0.0/12") or isIpInSubnet(srcAddr, "192.168.0.0/16")',
        ['172.16.4.4', '192.168.1.1'],
      ],
      [
        'isValidIp(srcAddr) and not isIpInSubnet(srcAddr, "10.0.0.0/8")',
        ['172.16.4.4', '192.168.1.1', '8.8.8.8', 'fd00::1'],
      ],
      ['not isValidIp(srcAddr)', ['-']],
    ])('%s', async (filter, expected) => {
      expect(await sources(filter)).toEqual([...expected].sort());
    });

    it('counts only blocked internal->external flows with the ESCU-style filter, IPv6 included', async () => {
      // Act
      const { rows } = await runQuery(
        [
          'filter action = "REJECT" and logStatus = "OK"',
          '  and (isIpInSubnet(srcAddr, "10.0.0.0/8") or isIpInSubnet(srcAddr, "172.16.0.0/12") or isIpInSubnet(srcAddr, "fd00::/8"))',
          '  and not isIpInSubnet(dstAddr, "10.0.0.0/8") and not isIpInSubnet(dstAddr, "fd00::/8")',
          '| stats count(*) as blockedCount, count_distinct(dstAddr) as uniqueDestinations by srcAddr',
          '| sort blockedCount desc',
        ].join('\n'),
      );

      // Assess
      expect(rows).toEqual([
        { srcAddr: '10.0.0.5', blockedCount: '3', uniqueDestinations: '2' },
        { srcAddr: '172.16.4.4', blockedCount: '2', uniqueDestinations: '1' },
        { srcAddr: 'fd00::1', blockedCount: '1', uniqueDestinations: '1' },
      ]);
    });

    it('binds not tighter than and, and and tighter than or', async () => {
      // not applies to the first comparison only: the ACCEPT and NODATA rows pass it, port 22 the `or`.
      expect(await sources('not action = "REJECT" or dstPort = 22')).toEqual([
        '-',
        '10.0.0.5',
        '192.168.1.1',
      ]);
      // Parentheses widen not; NODATA's "-" action and port match neither comparison.
      expect(await sources('not (action = "REJECT" or dstPort = 22)')).toEqual(['-', '192.168.1.1']);
      expect(await sources('action = "ACCEPT" or action = "REJECT" and dstPort = 22')).toEqual([
        '10.0.0.5',
        '192.168.1.1',
      ]);
      expect(await sources('(action = "ACCEPT" or action = "REJECT") and dstPort = 22')).toEqual([
        '10.0.0.5',
      ]);
    });

    it('matches in-lists and not-in-lists, numbers compared numerically', async () => {
      expect(await sources('dstAddr in ["9.9.9.9", "2001:db8::7"]')).toEqual(['172.16.4.4', 'fd00::1']);
      expect(await sources("srcAddr not in ['10.0.0.5', '172.16.4.4', 'fd00::1', '-']")).toEqual([
        '192.168.1.1',
        '8.8.8.8',
      ]);
      expect(await sources('dstPort in [22, 23]')).toEqual(['10.0.0.5']);
      expect(await sources('bytes >= 100 and bytes < 300')).toEqual(['172.16.4.4']);
    });

    it('treats comparisons of an unset field as false, whatever the operator', async () => {
      expect(await sources('vpcId = "x" or vpcId != "x" or vpcId in ["x"] or vpcId < 1')).toEqual([]);
      expect(await sources('not vpcId = "x" and logStatus = "NODATA"')).toEqual(['-']);
    }, 10_000);

    it('supports like with a substring or a regex, =~, backtick field names and # comments', async () => {
      expect(await sources('@message like "REJECT OK" and `dstAddr` like /^8\\.8\\./')).toEqual(['10.0.0.5']);
      expect(await sources('# leading comment\n interfaceId =~ /eni-0A1/i # trailing comment')).toHaveLength(
        6,
      );
      expect(await sources('dstAddr not like "8.8"')).toEqual([
        '-',
        '10.0.0.5',
        '172.16.4.4',
        '8.8.8.8',
        'fd00::1',
      ]);
    });
  });

  describe('parse, stats, sort, limit, fields', () => {
    it('parses a custom format with a glob and uses the parsed fields', async () => {
      // Prepare: a custom format "srcaddr dstaddr action pkt-srcaddr" in its own log group
      logs.seed('/vpc/custom', [
        { timestamp: T0, message: '10.0.0.7 8.8.8.8 REJECT 10.0.0.7' },
        { timestamp: T0 + 1, message: '10.0.0.7 8.8.4.4 REJECT 10.0.0.70' },
        { timestamp: T0 + 2, message: '10.0.0.8 1.1.1.1 ACCEPT 10.0.0.8' },
        { timestamp: T0 + 3, message: 'garbage-without-spaces' },
      ]);

      // Act
      const { rows } = await runQuery(
        'parse @message "* * * *" as srcAddr, dstAddr, action, pktSrcaddr | filter action = "REJECT" | stats count(*) as n, count_distinct(pktSrcaddr) as pkt by srcAddr',
        { logGroupName: '/vpc/custom' },
      );
      const unparsed = await runQuery(
        'parse @message "* * * *" as a, b, c, d | filter not ispresent(a) | fields @message',
        {
          logGroupName: '/vpc/custom',
        },
      );

      // Assess
      expect(rows).toEqual([{ srcAddr: '10.0.0.7', n: '2', pkt: '2' }]);
      expect(unparsed.rows.map((r) => r['@message'])).toEqual(['garbage-without-spaces']);
    });

    it('lets a glob capture text between literals, the last star taking the rest of the line', async () => {
      // Prepare
      logs.seed('/app/custom', [{ timestamp: T0, message: 'user=alice ip=10.0.0.9 note=a b c' }]);

      // Act
      const { rows } = await runQuery(
        'parse @message "user=* ip=* note=*" as user, ip, note | display user, ip, note',
        {
          logGroupName: '/app/custom',
        },
      );

      // Assess
      expect(rows).toEqual([{ user: 'alice', ip: '10.0.0.9', note: 'a b c', '@ptr': expect.any(String) }]);
    });

    it('groups by bin(60m) and source, printing bins as Logs Insights does', async () => {
      // Act
      const { rows } = await runQuery(
        'filter action = "REJECT" and isValidIp(srcAddr) | stats count(*) as blockedCount by bin(60m) as windowStart, srcAddr | sort windowStart asc, srcAddr asc',
      );

      // Assess
      expect(rows).toEqual([
        { windowStart: '2024-05-01 10:00:00.000', srcAddr: '10.0.0.5', blockedCount: '4' },
        { windowStart: '2024-05-01 11:00:00.000', srcAddr: '172.16.4.4', blockedCount: '2' },
        { windowStart: '2024-05-01 12:00:00.000', srcAddr: '8.8.8.8', blockedCount: '1' },
        { windowStart: '2024-05-01 12:00:00.000', srcAddr: 'fd00::1', blockedCount: '2' },
      ]);
    });

    it('caps a bin period as Logs Insights does (m at 60): bin(120m) groups by the hour', async () => {
      // Act
      const { rows } = await runQuery(
        'filter action = "REJECT" and isValidIp(srcAddr) | stats count(*) as n by bin(120m) as bin | sort bin asc',
      );

      // Assess: 10:00 and 11:00 apart, as bin(60m) would give
      expect(rows.map((r) => r.bin)).toEqual([
        '2024-05-01 10:00:00.000',
        '2024-05-01 11:00:00.000',
        '2024-05-01 12:00:00.000',
      ]);
    });

    it('names unaliased aggregates and bins after their text, and computes sum, min, max, avg', async () => {
      // Act
      const { rows } = await runQuery(
        'filter srcAddr = "172.16.4.4" | stats sum(bytes), min(bytes), max(bytes), avg(bytes), count(bytes) by bin(1h)',
      );

      // Assess
      expect(rows).toEqual([
        {
          'bin(1h)': '2024-05-01 11:00:00.000',
          'sum(bytes)': '400',
          'min(bytes)': '100',
          'max(bytes)': '300',
          'avg(bytes)': '200',
          'count(bytes)': '2',
        },
      ]);
    });

    it('sorts numerically, limits, and returns @ptr with the displayed fields of events', async () => {
      // Act
      const stats = await runQuery('stats count(*) as n by srcAddr | sort n desc, srcAddr asc | limit 2');
      const events = await runQuery(
        'filter srcAddr = "10.0.0.5" | fields @timestamp, dstAddr | sort @timestamp asc | limit 2',
      );

      // Assess
      expect(stats.rows).toEqual([
        { srcAddr: '10.0.0.5', n: '4' },
        { srcAddr: '172.16.4.4', n: '2' },
      ]);
      expect(events.rows.map((r) => [r['@timestamp'], r.dstAddr])).toEqual([
        ['2024-05-01 10:00:00.000', '8.8.8.8'],
        ['2024-05-01 10:01:00.000', '8.8.8.8'],
      ]);
      expect(events.rows.every((r) => typeof r['@ptr'] === 'string' && r['@ptr'].length > 0)).toBe(true);
    });

    it('reports statistics: records scanned in the time range, matched by the filter, bytes scanned', async () => {
      // Act
      const { last } = await runQuery('filter srcAddr = "10.0.0.5" | stats count(*) as n', {
        startTime: T0_SECONDS,
        endTime: T0_SECONDS + 3599,
      });

      // Assess: the first hour holds the four 10.0.0.5 rows, the ACCEPT row and the NODATA row
      expect(last.statistics).toMatchObject({ recordsScanned: 6, recordsMatched: 4, logGroupsScanned: 1 });
      expect(last.statistics?.bytesScanned).toBeGreaterThan(6 * 40);
      expect(last.results).toEqual([[{ field: 'n', value: '4' }]]);
    });
  });

  describe('time range, log groups and request limits', () => {
    it('includes events from startTime*1000 to endTime*1000+999 and no others', async () => {
      // Prepare
      const base = Date.UTC(2030, 0, 1) / 1000;
      logs.seed('/edges', [
        { timestamp: base * 1000 - 1, message: 'before' },
        { timestamp: base * 1000, message: 'first' },
        { timestamp: (base + 10) * 1000 + 999, message: 'last' },
        { timestamp: (base + 11) * 1000, message: 'after' },
      ]);

      // Act
      const { rows } = await runQuery('fields @message | sort @timestamp asc', {
        logGroupName: '/edges',
        startTime: base,
        endTime: base + 10,
      });

      // Assess
      expect(rows.map((r) => r['@message'])).toEqual(['first', 'last']);
    });

    it('discovers flow log fields only in Standard-class groups; parse reads them in every class', async () => {
      // Prepare
      const line = flowLine({ src: '10.9.9.8', dst: '8.8.8.8' });
      logs.seed('/infrequent', [{ timestamp: T0, message: line }], { logGroupClass: 'INFREQUENT_ACCESS' });

      // Act
      const discovered = await runQuery('stats count(*) as n by srcAddr', { logGroupName: '/infrequent' });
      const parsed = await runQuery(
        'parse @message "* * * * * * * * * * * * * *" as version, accountId, interfaceId, srcAddr, dstAddr, ' +
          'srcPort, dstPort, protocol, packets, bytes, startTime, endTime, action, logStatus | stats count(*) as n by srcAddr',
        { logGroupName: '/infrequent' },
      );

      // Assess: no srcAddr without parse (one group of events without it), 10.9.9.8 with it
      expect(discovered.rows.map((r) => r.srcAddr)).toEqual([undefined]);
      expect(parsed.rows).toEqual([{ srcAddr: '10.9.9.8', n: '1' }]);
    });

    it('accepts log group ARNs in logGroupIdentifiers and several groups at once', async () => {
      // Prepare
      logs.seed('/other', [{ timestamp: T0, message: flowLine({ src: '10.9.9.9', dst: '8.8.8.8' }) }]);

      // Act
      const { rows, last } = await runQuery('stats count(*) as n by srcAddr | sort srcAddr asc', {
        logGroupName: undefined,
        logGroupIdentifiers: [
          `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}`,
          'arn:aws:logs:us-east-1:123456789012:log-group:/other',
        ],
      });

      // Assess
      expect(rows.map((r) => r.srcAddr)).toContain('10.9.9.9');
      expect(rows.map((r) => r.srcAddr)).toContain('10.0.0.5');
      expect(last.statistics?.logGroupsScanned).toBe(2);
    });

    it('refuses a log group ARN ending in :* in logGroupIdentifiers, as StartQuery documents', async () => {
      // Act
      const start = client.send(
        new StartQueryCommand({
          logGroupIdentifiers: [`arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}:*`],
          startTime: T0_SECONDS,
          endTime: T0_SECONDS + 3600,
          queryString: 'stats count(*) as n',
        }),
      );

      // Assess
      await expect(start).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: expect.stringContaining('must not end in :*'),
      });
      expect(logs.queriesStarted).toBe(0);
    });

    it.each<[string, Partial<StartQueryCommandInput>, string]>([
      ['two ways of naming log groups', { logGroupNames: [GROUP] }, 'InvalidParameterException'],
      ['no log group', { logGroupName: undefined }, 'InvalidParameterException'],
      [
        'more than 50 log groups',
        { logGroupName: undefined, logGroupNames: Array.from({ length: 51 }, () => GROUP) },
        'InvalidParameterException',
      ],
      ['an unknown log group', { logGroupName: '/nope' }, 'ResourceNotFoundException'],
      [
        'a query over 10,000 characters',
        { queryString: `filter srcAddr = "10.0.0.5" ${'#'.repeat(10_000)}` },
        'InvalidParameterException',
      ],
      [
        'endTime before startTime',
        { startTime: T0_SECONDS, endTime: T0_SECONDS - 1 },
        'InvalidParameterException',
      ],
      ['times in milliseconds', { startTime: T0, endTime: T0 + 1000 }, 'InvalidParameterException'],
      ['a limit over 100,000', { limit: 100_001 }, 'InvalidParameterException'],
      ['a limit of 0', { limit: 0 }, 'InvalidParameterException'],
      ['another query language', { queryLanguage: 'SQL' }, 'InvalidParameterException'],
    ])('rejects %s', async (_case, override, errorName) => {
      // Act
      const start = client.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS + 3600,
          queryString: 'stats count(*) as n',
          ...override,
        }),
      );

      // Assess
      await expect(start).rejects.toMatchObject({ name: errorName, $metadata: { httpStatusCode: 400 } });
      expect(logs.queriesStarted).toBe(0);
    });

    it('accepts a query of exactly 10,000 characters', async () => {
      const query = 'stats count(*) as n #';
      const { rows } = await runQuery(query + 'x'.repeat(10_000 - query.length));
      expect(rows).toHaveLength(1);
    });

    it('answers ResourceNotFoundException for an unknown query id', async () => {
      await expect(client.send(new GetQueryResultsCommand({ queryId: 'nope' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    });

    it('keeps a finished query readable for 7 days of its clock, and answers as for an unknown one after', async () => {
      let now = T0 + 5 * HOUR;
      logs.setClock(() => now);
      try {
        const { rows } = await runQuery('stats count(*) as n');
        const queryId = logs.startedQueries[logs.startedQueries.length - 1]?.queryId;
        now += 7 * 24 * HOUR - 1;
        const kept = await client.send(new GetQueryResultsCommand({ queryId }));
        expect(kept.status).toBe('Complete');
        expect(asObjects(kept.results ?? [])).toEqual(rows);
        now += 1;
        await expect(client.send(new GetQueryResultsCommand({ queryId }))).rejects.toMatchObject({
          name: 'ResourceNotFoundException',
        });
      } finally {
        logs.setClock(undefined);
      }
    });
  });

  describe('row caps and paging', () => {
    let paging: LocalLogsInsights;
    let pagingClient: CloudWatchLogsClient;
    const sourceCount = 25;

    beforeAll(async () => {
      paging = await startLocalLogsInsights({ scheduledPolls: 0, runningPolls: 0, defaultRowLimit: 20 });
      pagingClient = new CloudWatchLogsClient({ ...paging.clientConfig(), maxAttempts: 1 });
      paging.seed(
        GROUP,
        Array.from({ length: sourceCount }, (_, i) =>
          flow({ src: `10.0.1.${i + 1}`, dst: '8.8.8.8', at: T0 + i }),
        ),
      );
    });

    afterAll(async () => {
      pagingClient.destroy();
      await paging.stop();
    });

    async function allPages(
      input: Partial<StartQueryCommandInput>,
      maxItems?: number,
    ): Promise<{ pages: number[]; rows: ResultField[][] }> {
      const { queryId } = await pagingClient.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS + 3600,
          queryString: 'stats count(*) as n by srcAddr',
          ...input,
        }),
      );
      const pages: number[] = [];
      const rows: ResultField[][] = [];
      let nextToken: string | undefined;
      do {
        const page = await pagingClient.send(new GetQueryResultsCommand({ queryId, maxItems, nextToken }));
        expect(page.status).toBe('Complete');
        pages.push(page.results?.length ?? 0);
        rows.push(...(page.results ?? []));
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
      return { pages, rows };
    }

    it('pages with maxItems and nextToken through every row, without repeats', async () => {
      // Act
      const { pages, rows } = await allPages({ limit: 100 }, 10);

      // Assess
      expect(pages).toEqual([10, 10, 5]);
      expect(new Set(asObjects(rows).map((r) => r.srcAddr)).size).toBe(sourceCount);
    });

    it('caps the rows at the StartQuery limit, silently, like a stats with too many groups', async () => {
      const { rows } = await allPages({ limit: 7 });
      expect(rows).toHaveLength(7);
    });

    it('caps at the smaller of the StartQuery limit and a limit command', async () => {
      expect(
        (await allPages({ limit: 7, queryString: 'stats count(*) as n by srcAddr | limit 5' })).rows,
      ).toHaveLength(5);
      expect(
        (await allPages({ limit: 3, queryString: 'stats count(*) as n by srcAddr | limit 5' })).rows,
      ).toHaveLength(3);
      expect(
        (await allPages({ queryString: 'stats count(*) as n by srcAddr | limit 24' })).rows,
      ).toHaveLength(24);
    });

    it('falls back to the default row limit when neither sets one', async () => {
      expect((await allPages({})).rows).toHaveLength(20);
    });

    it('rejects maxItems over 10,000 and a token from another query', async () => {
      // Prepare
      const { queryId } = await pagingClient.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS + 3600,
          queryString: 'stats count(*) as n by srcAddr',
          limit: 25,
        }),
      );
      const other = await pagingClient.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS + 3600,
          queryString: 'stats count(*) as n by srcAddr',
          limit: 25,
        }),
      );
      const first = await pagingClient.send(new GetQueryResultsCommand({ queryId, maxItems: 10 }));

      // Act & Assess
      await expect(
        pagingClient.send(new GetQueryResultsCommand({ queryId, maxItems: 10_001 })),
      ).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
      await expect(
        pagingClient.send(new GetQueryResultsCommand({ queryId: other.queryId, nextToken: first.nextToken })),
      ).rejects.toMatchObject({ name: 'InvalidParameterException' });
      expect(first.nextToken).toEqual(expect.any(String));
    });
  });

  describe('status progression, concurrency and injected failures', () => {
    it('moves a query Scheduled -> Running (partial results) -> Complete over successive polls', async () => {
      // Prepare
      const slow = await startLocalLogsInsights({ scheduledPolls: 2, runningPolls: 2 });
      const slowClient = new CloudWatchLogsClient({ ...slow.clientConfig(), maxAttempts: 1 });
      slow.seed(
        GROUP,
        Array.from({ length: 4 }, (_, i) => flow({ src: `10.0.2.${i}`, dst: '8.8.8.8' })),
      );

      // Act
      const { queryId } = await slowClient.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS,
          queryString: 'stats count(*) as n by srcAddr',
        }),
      );
      const polls: GetQueryResultsCommandOutput[] = [];
      for (let i = 0; i < 6; i += 1)
        polls.push(await slowClient.send(new GetQueryResultsCommand({ queryId })));
      slowClient.destroy();
      await slow.stop();

      // Assess
      expect(polls.map((p) => p.status)).toEqual([
        'Scheduled',
        'Scheduled',
        'Running',
        'Running',
        'Complete',
        'Complete',
      ]);
      expect(polls.map((p) => p.results?.length)).toEqual([0, 0, 2, 2, 4, 4]);
    });

    it('answers LimitExceededException past the concurrency limit, and frees a slot on completion or StopQuery', async () => {
      // Prepare: the suite's endpoint allows 3 Scheduled/Running queries
      const start = () =>
        client.send(
          new StartQueryCommand({
            logGroupName: GROUP,
            startTime: T0_SECONDS,
            endTime: T0_SECONDS,
            queryString: 'stats count(*) as n',
          }),
        );
      const ids = [(await start()).queryId, (await start()).queryId, (await start()).queryId];

      // Act & Assess
      await expect(start()).rejects.toMatchObject({
        name: 'LimitExceededException',
        $metadata: { httpStatusCode: 400 },
      });
      expect(logs.activeQueries).toBe(3);

      const stopped = await client.send(new StopQueryCommand({ queryId: ids[0] }));
      expect(stopped.success).toBe(true);
      expect((await client.send(new GetQueryResultsCommand({ queryId: ids[0] }))).status).toBe('Cancelled');
      const fourth = await start();

      for (const queryId of [ids[1], ids[2], fourth.queryId]) {
        while (
          ['Scheduled', 'Running'].includes(
            (await client.send(new GetQueryResultsCommand({ queryId }))).status ?? '',
          )
        ) {
          // poll until the end
        }
      }
      expect(logs.activeQueries).toBe(0);
      expect((await client.send(new StopQueryCommand({ queryId: ids[1] }))).success).toBe(false);
      expect(logs.queriesStarted).toBe(4);
      expect(logs.callCounts.StartQuery).toBe(5);
    });

    it.each(['LimitExceededException', 'ThrottlingException', 'ServiceUnavailableException'] as const)(
      'injects %s into the next StartQuery calls, then recovers',
      async (code) => {
        // Prepare
        logs.injectErrors('StartQuery', code, 2);

        // Act
        const attempt = () => runQuery('stats count(*) as n');
        await expect(attempt()).rejects.toMatchObject({ name: code });
        await expect(attempt()).rejects.toMatchObject({ name: code });
        const { rows } = await attempt();

        // Assess
        expect(rows).toEqual([{ n: '11' }]);
        expect(logs.callCounts.StartQuery).toBe(3);
        expect(logs.queriesStarted).toBe(1);
      },
    );

    it('lets the SDK retry an injected ThrottlingException by itself', async () => {
      // Prepare
      const retrying = new CloudWatchLogsClient({ ...logs.clientConfig(), maxAttempts: 2 });
      logs.injectErrors('StartQuery', 'ThrottlingException');

      // Act
      const { queryId } = await retrying.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS,
          queryString: 'stats count(*) as n',
        }),
      );
      retrying.destroy();
      // Free its concurrency slot for the tests that follow.
      await client.send(new StopQueryCommand({ queryId }));

      // Assess
      expect(queryId).toEqual(expect.any(String));
      expect(logs.callCounts.StartQuery).toBe(2);
    });

    it.each(['Failed', 'Timeout', 'Cancelled', 'Unknown'] as const)(
      'ends the next query in %s with no results',
      async (status) => {
        // Prepare
        logs.endNextQueriesWith(status);

        // Act
        const failed = await runQuery('stats count(*) as n');
        const next = await runQuery('stats count(*) as n');

        // Assess
        expect(failed.statuses).toEqual(['Scheduled', 'Running', status]);
        expect(failed.rows).toEqual([]);
        expect(next.statuses.at(-1)).toBe('Complete');
      },
    );

    it('injects errors into GetQueryResults polls without moving the query along', async () => {
      // Prepare
      const { queryId } = await client.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS,
          queryString: 'stats count(*) as n',
        }),
      );
      logs.injectErrors('GetQueryResults', 'ServiceUnavailableException');

      // Act
      const failed = client.send(new GetQueryResultsCommand({ queryId }));
      await expect(failed).rejects.toMatchObject({
        name: 'ServiceUnavailableException',
        $metadata: { httpStatusCode: 500 },
      });
      const statuses: string[] = [];
      for (let i = 0; i < 3; i += 1)
        statuses.push((await client.send(new GetQueryResultsCommand({ queryId }))).status ?? '');

      // Assess
      expect(statuses).toEqual(['Scheduled', 'Running', 'Complete']);
    });

    it('answers ResourceNotFoundException to StopQuery of an unknown query, UnknownOperationException to other actions', async () => {
      await expect(client.send(new StopQueryCommand({ queryId: 'nope' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      await expect(client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }))).rejects.toMatchObject(
        { name: 'UnknownOperationException' },
      );
    });

    it('keeps a log of every query string received, accepted or not', async () => {
      // Act
      await runQuery('stats count(*) as n');
      await expect(runQuery('stats nonsense')).rejects.toMatchObject({ name: 'MalformedQueryException' });

      // Assess
      expect(logs.queryStrings).toEqual(['stats count(*) as n', 'stats nonsense']);
      expect(logs.startedQueries.map((q) => q.queryString)).toEqual(['stats count(*) as n']);
      expect(logs.callCounts.GetQueryResults).toBe(3);
    });
  });

  describe('ingestion time, computed fields, fault rates', () => {
    const LATE_GROUP = '/late';
    const start = T0 + 10 * HOUR;
    // Records of one window: the last one starts at 10:58, ends 11:08 (10-minute aggregation) and is
    // delivered five minutes later; the others arrive a minute after their own start.
    const events = [
      { ...flow({ src: '10.0.0.7', dst: '8.8.8.8', at: start }), ingestionTime: start + 60_000 },
      {
        ...flow({ src: '10.0.0.7', dst: '8.8.8.8', at: start + 30 * 60_000 }),
        ingestionTime: start + 31 * 60_000,
      },
      {
        ...flow({ src: '10.0.0.8', dst: '8.8.8.8', at: start + 58 * 60_000 }),
        ingestionTime: start + 73 * 60_000,
      },
    ];

    async function windowQuery(queryString: string): Promise<Record<string, string>[]> {
      const { queryId } = await client.send(
        new StartQueryCommand({
          logGroupName: LATE_GROUP,
          startTime: start / 1000,
          endTime: start / 1000 + 3599,
          queryString,
        }),
      );
      let last = await client.send(new GetQueryResultsCommand({ queryId }));
      while (last.status === 'Scheduled' || last.status === 'Running')
        last = await client.send(new GetQueryResultsCommand({ queryId }));
      return asObjects(last.results ?? []);
    }

    beforeAll(() => logs.seed(LATE_GROUP, events));
    afterEach(() => logs.setClock(undefined));

    it('computes toMillis(@ingestionTime) - toMillis(@timestamp) in fields and takes its max in stats', async () => {
      // Act
      const rows = await windowQuery(
        'fields toMillis(@ingestionTime) - toMillis(@timestamp) as delayMs | stats count(*) as n, max(delayMs) as maxDelayMs, max(endTime) as lastEnd by srcAddr | sort srcAddr asc',
      );

      // Assess
      expect(rows).toEqual([
        {
          srcAddr: '10.0.0.7',
          n: '2',
          maxDelayMs: '60000',
          lastEnd: String((start + 30 * 60_000) / 1000 + 60),
        },
        {
          srcAddr: '10.0.0.8',
          n: '1',
          maxDelayMs: '900000',
          lastEnd: String((start + 58 * 60_000) / 1000 + 60),
        },
      ]);
    });

    it('prints @ingestionTime like @timestamp, the timestamp itself when an event was seeded without one', async () => {
      // Act
      const rows = await runQuery(
        'filter srcAddr = "172.16.4.4" | fields @timestamp, @ingestionTime, toMillis(@ingestionTime) - toMillis(@timestamp) as d',
      );

      // Assess
      expect(rows.rows.map((r) => [r['@timestamp'], r['@ingestionTime'], r.d])).toEqual([
        ['2024-05-01 11:00:20.000', '2024-05-01 11:00:20.000', '0'],
        ['2024-05-01 11:00:10.000', '2024-05-01 11:00:10.000', '0'],
      ]);
    });

    it('shows a query only the events ingested by the service clock', async () => {
      // Prepare: the run twelve minutes after the window closed, then one ten minutes later
      let now = start + 72 * 60_000;
      logs.setClock(() => now);

      // Act
      const early = await windowQuery('stats count(*) as n by srcAddr | sort srcAddr asc');
      now = start + 82 * 60_000;
      const later = await windowQuery('stats count(*) as n by srcAddr | sort srcAddr asc');

      // Assess
      expect(early).toEqual([{ srcAddr: '10.0.0.7', n: '2' }]);
      expect(later).toEqual([
        { srcAddr: '10.0.0.7', n: '2' },
        { srcAddr: '10.0.0.8', n: '1' },
      ]);
    });

    it('ends every nth query started in a failure status until told to stop', async () => {
      // Prepare
      const stop = logs.endEveryNthQueryWith('Failed', 3);

      // Act
      const statuses: string[] = [];
      for (let i = 0; i < 7; i += 1) statuses.push((await runQuery('stats count(*) as n')).statuses.at(-1)!);
      stop();
      const after = (await runQuery('stats count(*) as n')).statuses.at(-1);

      // Assess
      expect(statuses).toEqual([
        'Complete',
        'Complete',
        'Failed',
        'Complete',
        'Complete',
        'Failed',
        'Complete',
      ]);
      expect(after).toBe('Complete');
    });

    it('ends the queries that match a predicate in a failure status', async () => {
      // Prepare
      const stop = logs.endQueriesMatching('Timeout', (q) => q.queryString.includes('dstAddr'));

      // Act
      const matching = await runQuery('stats count(*) as n by dstAddr');
      const other = await runQuery('stats count(*) as n by srcAddr');
      stop();

      // Assess
      expect(matching.statuses.at(-1)).toBe('Timeout');
      expect(other.statuses.at(-1)).toBe('Complete');
    });

    it('records the most queries running at once', async () => {
      // Prepare
      const begin = () =>
        client.send(
          new StartQueryCommand({
            logGroupName: GROUP,
            startTime: T0_SECONDS,
            endTime: T0_SECONDS,
            queryString: 'stats count(*) as n',
          }),
        );

      // Act
      const ids = [(await begin()).queryId, (await begin()).queryId];
      for (const queryId of ids) await client.send(new StopQueryCommand({ queryId }));
      await begin().then(({ queryId }) => client.send(new StopQueryCommand({ queryId })));

      // Assess
      expect(logs.peakActiveQueries).toBe(2);
      expect(logs.activeQueries).toBe(0);
    });
  });

  describe('malformed and unsupported queries', () => {
    it.each([
      ['an unbalanced double quote', 'filter srcAddr = "10.0.0.5 | stats count(*) as n'],
      ['an unbalanced single quote', "filter srcAddr = '10.0.0.5"],
      ['a quote breaking out of a value', 'filter srcAddr = "10.0.0.5"" or "1"="1"'],
      ['a statement separator', 'filter srcAddr = "10.0.0.5"; stats count(*) as n'],
      ['an unknown command after a pipe', 'filter srcAddr = "10.0.0.5" | delete'],
      ['a trailing pipe', 'stats count(*) as n |'],
      ['an empty query of comments only', '# nothing here'],
      ['an unquoted address', 'filter srcAddr = 10.0.0.5'],
      ['an unknown function', 'filter isInternal(srcAddr)'],
      ['an invalid CIDR', 'filter isIpInSubnet(srcAddr, "10.0.0.0/33")'],
      ['an IPv6 CIDR given to isIpv4InSubnet', 'filter isIpv4InSubnet(srcAddr, "fd00::/8")'],
      ['a field name where a CIDR belongs', 'filter isIpInSubnet(srcAddr, dstAddr)'],
      ['a misspelt field (strict names)', 'filter srcaddr = "10.0.0.5"'],
      ['a stats alias used before it exists', 'filter n > 1 | stats count(*) as n'],
      ['a field gone after stats', 'stats count(*) as n by srcAddr | sort dstAddr'],
      ['an unsupported aggregate', 'stats pct(bytes, 50) as p'],
      ['sum(*)', 'stats sum(*) as s'],
      ['a parse with fewer names than stars', 'parse @message "* * *" as a, b'],
      ['a regex parse', 'parse @message /(?<a>\\S+)/'],
      ['a bad bin width', 'stats count(*) as n by bin(60x)'],
      ['limit 0', 'stats count(*) as n | limit 0'],
      ['a limit over 100,000', 'fields @message | limit 100001'],
      ['a regex where a value belongs', 'filter srcAddr = /10/'],
      ['unbalanced parentheses', 'filter (action = "REJECT" or action = "ACCEPT"'],
      ['not without in or like after a field', 'filter srcAddr not "x"'],
      ['an unterminated backtick', 'filter `srcAddr = "x"'],
    ])('rejects %s with MalformedQueryException', async (_case, queryString) => {
      // Act
      const start = client.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS + 60,
          queryString,
        }),
      );

      // Assess
      await expect(start).rejects.toMatchObject({
        name: 'MalformedQueryException',
        $metadata: { httpStatusCode: 400 },
        queryCompileError: {
          location: { startCharOffset: expect.any(Number), endCharOffset: expect.any(Number) },
        },
      });
      expect(logs.queriesStarted).toBe(0);
    });

    it('points the compile error at the offending text', async () => {
      // Prepare
      const queryString = 'filter action = "REJECT" | frobnicate srcAddr';

      // Act
      const error: unknown = await client
        .send(
          new StartQueryCommand({
            logGroupName: GROUP,
            startTime: T0_SECONDS,
            endTime: T0_SECONDS,
            queryString,
          }),
        )
        .catch((e: unknown) => e);

      // Assess
      const location = (
        error as { queryCompileError?: { location?: { startCharOffset?: number; endCharOffset?: number } } }
      ).queryCompileError?.location;
      expect(queryString.slice(location?.startCharOffset, location?.endCharOffset)).toBe('frobnicate');
    });

    it('accepts unknown field names when strict field checking is off, treating them as unset', async () => {
      // Prepare
      const lenient = await startLocalLogsInsights({
        strictFieldNames: false,
        scheduledPolls: 0,
        runningPolls: 0,
      });
      const lenientClient = new CloudWatchLogsClient({ ...lenient.clientConfig(), maxAttempts: 1 });
      lenient.seed(GROUP, [flow({ src: '10.0.0.5', dst: '8.8.8.8' })]);

      // Act
      const { queryId } = await lenientClient.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: T0_SECONDS,
          endTime: T0_SECONDS,
          queryString: 'filter srcaddr = "10.0.0.5" | stats count(*) as n',
        }),
      );
      const result = await lenientClient.send(new GetQueryResultsCommand({ queryId }));
      lenientClient.destroy();
      await lenient.stop();

      // Assess: a stats without `by` over nothing still yields its one row
      expect(asObjects(result.results ?? [])).toEqual([{ n: '0' }]);
    });
  });
});

describe('local Logs endpoint: accounts, linked source accounts and DescribeLogGroups', () => {
  const MONITORING = '111111111111';
  const SOURCE_A = '222222222222';
  const SOURCE_B = '333333333333';
  const arn = (account: string, name: string) => `arn:aws:logs:us-east-1:${account}:log-group:${name}`;
  let logs: LocalLogsInsights;
  let client: CloudWatchLogsClient;

  beforeAll(async () => {
    logs = await startLocalLogsInsights({
      accountId: MONITORING,
      linkedAccounts: [SOURCE_A],
      scheduledPolls: 0,
      runningPolls: 0,
    });
    client = new CloudWatchLogsClient({ ...logs.clientConfig(), maxAttempts: 1 });
    logs.seed('/vpc/flow-logs/monitoring', [flow({ src: '10.0.0.1', dst: '8.8.8.8' })]);
    logs.seed(arn(SOURCE_A, '/vpc/flow-logs/a'), [
      flow({ src: '10.0.0.1', dst: '8.8.8.8' }),
      flow({ src: '10.0.0.2', dst: '8.8.8.8' }),
    ]);
    logs.seed(arn(SOURCE_B, '/vpc/flow-logs/b'), [flow({ src: '10.0.0.3', dst: '8.8.8.8' })]);
    logs.seed(arn(SOURCE_A, '/app/other'), []);
    logs.seed(arn(SOURCE_A, '/vpc/flow-logs/delivery'), [], { logGroupClass: 'DELIVERY' });
  });

  afterAll(async () => {
    client.destroy();
    await logs.stop();
  });

  afterEach(() => logs.resetCounters());

  async function count(identifiers: string[]): Promise<number> {
    const { queryId } = await client.send(
      new StartQueryCommand({
        logGroupIdentifiers: identifiers,
        startTime: T0_SECONDS,
        endTime: T0_SECONDS + 3599,
        queryString: 'stats count(*) as n',
      }),
    );
    const result = await client.send(new GetQueryResultsCommand({ queryId }));
    return Number(result.results?.[0]?.find((f) => f.field === 'n')?.value ?? 0);
  }

  async function describeAll(input: DescribeLogGroupsCommandInput) {
    const arns: string[] = [];
    let nextToken: string | undefined;
    let calls = 0;
    do {
      const page = await client.send(new DescribeLogGroupsCommand({ ...input, nextToken }));
      calls += 1;
      arns.push(...(page.logGroups ?? []).map((g) => `${g.logGroupArn} ${g.arn} ${g.logGroupClass}`));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return { arns, calls };
  }

  it("queries a linked source account's log group by ARN, with the monitoring account's own by name", async () => {
    expect(await count([arn(SOURCE_A, '/vpc/flow-logs/a'), '/vpc/flow-logs/monitoring'])).toBe(3);
    expect(logs.startedQueries[0]?.logGroupArns).toEqual([
      arn(SOURCE_A, '/vpc/flow-logs/a'),
      arn(MONITORING, '/vpc/flow-logs/monitoring'),
    ]);
  });

  it('does not find the log groups of an account that is not linked, nor a name that is only in a source account', async () => {
    await expect(count([arn(SOURCE_B, '/vpc/flow-logs/b')])).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(count(['/vpc/flow-logs/a'])).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      count([arn(SOURCE_A, '/vpc/flow-logs/a').replace('us-east-1', 'eu-west-1')]),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('finds an account once it is linked, and loses it when unlinked', async () => {
    logs.linkAccount(SOURCE_B);
    try {
      expect(await count([arn(SOURCE_B, '/vpc/flow-logs/b')])).toBe(1);
    } finally {
      logs.unlinkAccount(SOURCE_B);
    }
    await expect(count([arn(SOURCE_B, '/vpc/flow-logs/b')])).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('refuses to query a Delivery-class log group', async () => {
    await expect(count([arn(SOURCE_A, '/vpc/flow-logs/delivery')])).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining('Delivery'),
    });
  });

  it("lists the monitoring account's own groups by prefix, and the linked accounts' too with includeLinkedAccounts", async () => {
    const own = await describeAll({ logGroupNamePrefix: '/vpc/flow-logs/' });
    expect(own.arns).toEqual([
      `${arn(MONITORING, '/vpc/flow-logs/monitoring')} ${arn(MONITORING, '/vpc/flow-logs/monitoring')}:* STANDARD`,
    ]);
    const all = await describeAll({ logGroupNamePrefix: '/vpc/flow-logs/', includeLinkedAccounts: true });
    // ASCII order by name; the unlinked account's group is not listed.
    expect(all.arns).toEqual([
      `${arn(SOURCE_A, '/vpc/flow-logs/a')} ${arn(SOURCE_A, '/vpc/flow-logs/a')}:* STANDARD`,
      `${arn(SOURCE_A, '/vpc/flow-logs/delivery')} ${arn(SOURCE_A, '/vpc/flow-logs/delivery')}:* DELIVERY`,
      `${arn(MONITORING, '/vpc/flow-logs/monitoring')} ${arn(MONITORING, '/vpc/flow-logs/monitoring')}:* STANDARD`,
    ]);
    const onlyA = await describeAll({ includeLinkedAccounts: true, accountIdentifiers: [SOURCE_A] });
    expect(onlyA.arns.map((a) => a.split(' ')[0])).toEqual([
      arn(SOURCE_A, '/app/other'),
      arn(SOURCE_A, '/vpc/flow-logs/a'),
      arn(SOURCE_A, '/vpc/flow-logs/delivery'),
    ]);
  });

  it('pages DescribeLogGroups with limit and nextToken, a token only for the request that returned it', async () => {
    const paged = await describeAll({ includeLinkedAccounts: true, limit: 1 });
    expect(paged.calls).toBe(4);
    expect(paged.arns).toHaveLength(4);
    const first = await client.send(new DescribeLogGroupsCommand({ includeLinkedAccounts: true, limit: 1 }));
    await expect(
      client.send(new DescribeLogGroupsCommand({ limit: 1, nextToken: first.nextToken })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it.each<[string, DescribeLogGroupsCommandInput]>([
    ['a limit over 50', { limit: 51 }],
    ['a limit of 0', { limit: 0 }],
    ['both a prefix and a pattern', { logGroupNamePrefix: '/vpc', logGroupNamePattern: 'flow' }],
    [
      'identifiers with a prefix',
      { logGroupIdentifiers: ['/vpc/flow-logs/monitoring'], logGroupNamePrefix: '/vpc' },
    ],
    [
      '21 account identifiers',
      {
        includeLinkedAccounts: true,
        accountIdentifiers: Array.from({ length: 21 }, (_, i) => String(100000000000 + i)),
      },
    ],
  ])('refuses DescribeLogGroups with %s (InvalidParameterException)', async (_name, input) => {
    await expect(client.send(new DescribeLogGroupsCommand(input))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });

  it('injects DescribeLogGroups errors like the other actions', async () => {
    logs.injectErrors('DescribeLogGroups', 'ThrottlingException');
    await expect(client.send(new DescribeLogGroupsCommand({}))).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    expect(logs.callCounts.DescribeLogGroups).toBe(1);
  });
});
