/**
 * What only the production wiring (lambda/lambda-runtime.ts) adds around a run, end to end through
 * the handler: the time it keeps back from Lambda's timeout, and the flow log format it hands to
 * the alert format (the console link's query must parse a custom format as the detector's own
 * queries do). EC2 enrichment through the wiring is in detect.test.ts.
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import { decodeConsoleUrl } from '../support/console-url';
import type { LogEvent } from '../support/local-logs-insights';
import { blocked, HOUR, newDetector, numberAttr, withEndpoints, type Endpoints } from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

beforeEach(() => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

describe("the handler's timeout margin", () => {
  // A further window starts only with 45 s left before the run's deadline, which the handler puts
  // 5 s before Lambda's timeout. On a clock that moves only when the run sleeps, a window takes a
  // few milliseconds of it: with 49 s left the deadline is 44 s away and the second window waits;
  // with 51 s, 46 s away, and it runs.
  it.each([
    [49_000, ['2026-11-27T10:00:00Z'], 1],
    [51_000, ['2026-11-27T10:00:00Z', '2026-11-27T11:00:00Z'], 0],
  ])('with %i ms left evaluates %j and defers %i', async (remainingMs, windows, deferred) => {
    // Prepare: W committed, two windows due.
    const detector = await newDetector(endpoints, { manualClock: true });
    endpoints.logs.seed(
      detector.logGroup,
      [W, W + HOUR, W + 2 * HOUR].flatMap((w) => blocked(w, '10.0.1.10', 4)),
    );
    detector.clock.set(runTimeFor(W));
    await detector.invoke({});
    detector.clock.set(runTimeFor(W + 2 * HOUR));

    // Act
    const summary = await detector.invoke({}, remainingMs);

    // Assess
    expect(summary.windows).toEqual(windows);
    expect(summary.deferredWindows).toBe(deferred);
    const state = (await detector.items()).get('STATE|DETECTOR');
    expect(numberAttr(state, 'watermark')).toBe(Date.parse(windows.at(-1)!));
  });
});

describe('a custom flow log format', () => {
  const FORMAT =
    '${version} ${vpc-id} ${subnet-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${action} ${log-status}';

  /** A blocked record in FORMAT: 13 fields, not the 14 of the default format. */
  function customRecord(startMs: number, src: string, dst: string, dstPort: number): LogEvent {
    const start = Math.floor(startMs / 1000);
    return {
      timestamp: startMs,
      message: `5 vpc-0a1b2c3d subnet-0a1b2c3d eni-0feedface0000001 ${src} ${dst} 49152 ${dstPort} 6 ${start} ${start + 60} REJECT OK`,
      logStream: 'eni-0feedface0000001-all',
    };
  }

  it('is counted, alerted on, and the alert links to a console query that parses the same format', async () => {
    // Prepare: W-1h learnt; in W a new source blocks 130 times to 4 destinations.
    const detector = await newDetector(endpoints, { detectorConfig: { flowLogFormat: FORMAT } });
    const records = (windowStart: number, src: string, count: number) =>
      Array.from({ length: count }, (_, i) =>
        customRecord(windowStart + (i % 59) * 60_000 + 1_000, src, `198.51.100.${(i % 4) + 1}`, 443),
      );
    endpoints.logs.seed(detector.logGroup, [
      ...records(W - HOUR, '10.0.1.10', 5),
      ...records(W, '10.0.7.7', 130),
    ]);
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({});
    detector.clock.set(runTimeFor(W));

    // Act
    const summary = await detector.invoke({});

    // Assess: the detector's queries parse the format...
    expect(summary).toMatchObject({ alertsDecided: 1, alertsPublished: 1 });
    const alert = JSON.parse(endpoints.sns.published[0]!.perProtocol!.sqs!) as PublishedAlert;
    expect(alert).toMatchObject({ kind: 'new-source', srcIp: '10.0.7.7', blockedCount: 130 });
    expect(alert.details?.interfaceIds).toEqual(['eni-0feedface0000001']);
    expect(alert.details?.totalDestinations).toBe(4);
    // ...and so does the query behind the alert's console link: run as the console would, it
    // finds the alert's blocked records.
    const link = decodeConsoleUrl(alert.consoleUrl);
    expect(link.source).toEqual([detector.logGroup]);
    const client = new CloudWatchLogsClient(endpoints.logs.clientConfig());
    try {
      const { queryId } = await client.send(
        new StartQueryCommand({
          logGroupNames: link.source,
          startTime: Date.parse(link.start) / 1000,
          endTime: Date.parse(link.end) / 1000 - 1,
          queryString: link.editorString,
        }),
      );
      let results = await client.send(new GetQueryResultsCommand({ queryId }));
      while (results.status === 'Scheduled' || results.status === 'Running')
        results = await client.send(new GetQueryResultsCommand({ queryId }));
      expect(results.status).toBe('Complete');
      const blockedByRow = (results.results ?? []).map((row) =>
        Number(row.find((cell) => cell.field === 'blocked')?.value),
      );
      expect(blockedByRow).toHaveLength(4);
      expect(blockedByRow.reduce((a, b) => a + b, 0)).toBe(130);
    } finally {
      client.destroy();
    }
  });
});
