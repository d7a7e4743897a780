/**
 * End to end, through the Lambda runtime, dynalite and the local Logs Insights endpoint: one
 * baseline entry that cannot be decoded (here the withinHour layout of an older build) costs only
 * its own source its baseline. The window is decided, another source's spike is alerted, the run
 * names the entry in a warning and counts it, and the commit replaces the entry with one that reads.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { bucketKey, bucketOf, BASELINE_BUCKETS } from '../../lambda/adapters/baseline-buckets';
import {
  HOUR,
  blocked,
  key,
  newDetector,
  numberAttr,
  startEndpoints,
  warningLogger,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();
const A = '10.0.1.10';
const B = '10.0.1.11';

let endpoints: Endpoints;
beforeAll(async () => {
  endpoints = await startEndpoints();
});
afterAll(async () => {
  await endpoints.stop();
});

it("a source's undecodable baseline entry: only that source relearns; another source's spike is alerted and the entry reported", async () => {
  // Prepare: A and B learn one window, then A's entry is damaged; in the next window B spikes.
  const { logger, warnings } = warningLogger();
  const detector = await newDetector(endpoints, {
    detectorConfig: { preset: 'splunk-escu', minDataPoints: 0, maxWindowAttempts: 2 },
    runtime: { logger },
  });
  endpoints.logs.seed(detector.logGroup, [
    ...blocked(W - HOUR, A, 3),
    ...blocked(W - HOUR, B, 3),
    ...blocked(W, A, 4),
    ...blocked(W, B, 500),
  ]);
  detector.clock.set(runTimeFor(W - HOUR));
  await detector.invoke({});
  const bucket = bucketOf(key(A), BASELINE_BUCKETS);
  const { Item } = await endpoints.dynamoClient.send(
    new GetItemCommand({ TableName: detector.tableName, Key: bucketKey(bucket) }),
  );
  const records = JSON.parse(Item!.records!.S!) as Record<string, unknown[]>;
  const entry = records[key(A)]!;
  while (entry.length < 11) entry.push(null);
  entry[10] = [1.5, 0.5, 3]; // withinHour as [variance, index, count], not [six characters, count]
  await endpoints.dynamoClient.send(
    new PutItemCommand({
      TableName: detector.tableName,
      Item: { ...Item!, records: { S: JSON.stringify(records) } },
    }),
  );

  // Act: a dry run first (it reads the baselines the other way, and writes nothing), then the run.
  detector.clock.set(runTimeFor(W));
  const dry = await detector.invoke({ mode: 'dry-run' });
  const summary = await detector.invoke({});

  // Assess: the window is decided, B's spike alerted, A's entry reported and replaced.
  expect(dry.unreadableBaselineEntries).toBe(1);
  expect(dry.dryRunAlerts?.map((a) => a.srcIp)).toEqual([B]);
  expect(summary.windows).toEqual(['2026-11-27T09:00:00Z']);
  expect(summary.skippedWindows).toEqual([]);
  expect(summary.unreadableBaselineEntries).toBe(1);
  expect(detector.metrics.last('UnreadableBaselineEntries')).toBe(1);
  const published = endpoints.sns.published.map((p) => p.message);
  expect(published.some((message) => message.includes(B))).toBe(true);
  expect(published.some((message) => message.includes(A))).toBe(false);
  const reported = warnings.filter((w) => w.message.startsWith('baseline entry unreadable'));
  expect(reported).toHaveLength(2); // the dry run's read and the run's
  expect(reported.slice(1)).toEqual([
    {
      message: expect.stringContaining('treated as new') as string,
      extra: {
        source: key(A),
        bucket: `BASELINES#${bucket}`,
        problem: 'withinHour is not [six characters, count]',
      },
    },
  ]);
  // A relearnt from this window alone; its entry reads again.
  const items = await detector.items();
  expect(numberAttr(items.get(`SRC#${key(A)}|BASELINE`), 'dataPoints')).toBe(1);
  expect(numberAttr(items.get(`SRC#${key(A)}|BASELINE`), 'mean')).toBe(4);
  expect(numberAttr(items.get(`SRC#${key(B)}|BASELINE`), 'dataPoints')).toBe(2);
});
