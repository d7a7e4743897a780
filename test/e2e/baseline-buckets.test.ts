/**
 * End to end, the deployment setting baselineBuckets: a redeploy with another bucket count is
 * refused (every source's baseline would be looked up in another item) until a bootstrap with
 * overwrite relearns over the new count, which leaves no item of the old one behind; and a run
 * whose fullest bucket nears the item size limit says so (a warning, the BaselineBucketFill
 * metric the stack alarms on, the run summary).
 */
import { GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { BASELINE_BUCKET_MAX_BYTES, bucketKey, encodeEntry } from '../../lambda/adapters/baseline-buckets';
import { BaselineSettingsChangedError } from '../../lambda/baseline-settings';
import {
  E2E_LAG_MINUTES,
  HOUR,
  blocked,
  key,
  newDetector,
  startEndpoints,
  warningLogger,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;
beforeAll(async () => {
  endpoints = await startEndpoints();
});
afterAll(async () => {
  await endpoints.stop();
});

/** The bucket items of a detector's table, by number. */
async function bucketNumbers(detector: Detector): Promise<number[]> {
  const { Items } = await endpoints.dynamoClient.send(new ScanCommand({ TableName: detector.tableName }));
  return (Items ?? [])
    .map((item) => item.pk!.S!)
    .filter((pk) => pk.startsWith('BASELINES#'))
    .map((pk) => Number(pk.slice('BASELINES#'.length)))
    .sort((a, b) => a - b);
}

it('a redeploy with another bucket count is refused until a bootstrap with overwrite relearns over it', async () => {
  // Prepare: a detector with the default 2,048 buckets that has committed W-1h and W
  const detector = await newDetector(endpoints);
  endpoints.logs.seed(
    detector.logGroup,
    Array.from({ length: 30 }, (_, h) => W - 26 * HOUR + h * HOUR).flatMap((w) =>
      SOURCES.flatMap((s, i) => blocked(w, s, 3 + i)),
    ),
  );
  for (const w of [W - HOUR, W]) {
    detector.clock.set(runTimeFor(w));
    await detector.invoke({});
  }
  const learnt = await bucketNumbers(detector);
  expect(learnt.some((bucket) => bucket >= 4)).toBe(true);
  const fewer = await newDetector(endpoints, {
    env: {
      TABLE_NAME: detector.tableName,
      LOG_GROUP_IDENTIFIERS: detector.logGroup,
      DETECTOR_CONFIG: JSON.stringify({ lagMinutes: E2E_LAG_MINUTES }),
      BASELINE_BUCKETS: '4',
    },
  });
  fewer.clock.set(runTimeFor(W + HOUR));

  // Act + Assess: refused, naming the change and the way out
  const scheduled = fewer.invoke({});
  await expect(scheduled).rejects.toThrow(BaselineSettingsChangedError);
  await expect(scheduled).rejects.toThrow(/2048 -> 4 baseline buckets.*"overwrite":true/);
  expect(await bucketNumbers(detector)).toEqual(learnt);

  // Act: relearnt over 4 buckets, then the next window
  await fewer.invoke({ mode: 'bootstrap', days: 1, overwrite: true });
  fewer.clock.set(runTimeFor(W + 2 * HOUR));
  const summary = await fewer.invoke({});

  // Assess: only the four buckets are left, every source is in them, and the detector runs on
  const relearnt = await bucketNumbers(detector);
  expect(relearnt.length).toBeGreaterThan(0);
  expect(relearnt.filter((bucket) => bucket >= 4)).toEqual([]);
  const state = (await detector.items()).get('STATE|DETECTOR')!;
  expect(JSON.parse(state.baselineSettings!.S!)).toMatchObject({ baselineBuckets: 4 });
  for (const source of SOURCES)
    expect((await detector.items()).has(`SRC#${key(source)}|BASELINE`)).toBe(true);
  expect(summary.windows).toEqual(['2026-11-27T11:00:00Z']);
});

it('a state item from before the settings were kept (its baselines in 2,048 buckets) refuses another count too', async () => {
  // Prepare: a detector that has committed W, its state item then stripped of baselineSettings
  // as a build from before they were kept wrote it
  const detector = await newDetector(endpoints);
  endpoints.logs.seed(
    detector.logGroup,
    SOURCES.flatMap((s, i) => blocked(W, s, 3 + i)),
  );
  detector.clock.set(runTimeFor(W));
  await detector.invoke({});
  await endpoints.dynamoClient.send(
    new UpdateItemCommand({
      TableName: detector.tableName,
      Key: { pk: { S: 'STATE' }, sk: { S: 'DETECTOR' } },
      UpdateExpression: 'REMOVE baselineSettings',
    }),
  );
  const redeployed = (buckets: string) =>
    newDetector(endpoints, {
      env: {
        TABLE_NAME: detector.tableName,
        LOG_GROUP_IDENTIFIERS: detector.logGroup,
        DETECTOR_CONFIG: JSON.stringify({ lagMinutes: E2E_LAG_MINUTES }),
        BASELINE_BUCKETS: buckets,
      },
    });
  const fewer = await redeployed('4');
  fewer.clock.set(runTimeFor(W + HOUR));

  // Act + Assess: refused, naming the count the old state was written with
  await expect(fewer.invoke({})).rejects.toThrow(/2048 -> 4 baseline buckets/);
  // while the count it was written with runs on (and records the settings from then on)
  const same = await redeployed('2048');
  same.clock.set(runTimeFor(W + HOUR));
  const summary = await same.invoke({});
  expect(summary.windows).toEqual(['2026-11-27T10:00:00Z']);
  const state = (await detector.items()).get('STATE|DETECTOR')!;
  expect(JSON.parse(state.baselineSettings!.S!)).toMatchObject({ baselineBuckets: 2048 });
});

it('a run whose fullest bucket is 80% of the size limit or more warns, naming baselineBuckets, and reports the fill', async () => {
  // Prepare: one bucket; after a first window, it also holds many other sources' entries (still
  // live), so that the next commit's bucket is over 80% of the limit
  const { logger, warnings } = warningLogger();
  const detector = await newDetector(endpoints, { env: { BASELINE_BUCKETS: '1' }, runtime: { logger } });
  endpoints.logs.seed(detector.logGroup, [
    ...SOURCES.flatMap((s) => blocked(W - HOUR, s, 4)),
    ...SOURCES.flatMap((s) => blocked(W, s, 5)),
  ]);
  detector.clock.set(runTimeFor(W - HOUR));
  const first = await detector.invoke({});
  expect(first.fullestBaselineBucket).toBeLessThan(0.01);
  expect(warnings.filter((w) => w.message.startsWith('a baseline bucket is filling up'))).toEqual([]);
  const { Item } = await endpoints.dynamoClient.send(
    new GetItemCommand({ TableName: detector.tableName, Key: bucketKey(0) }),
  );
  const records = JSON.parse(Item!.records!.S!) as Record<string, unknown[]>;
  const expiresAt = Math.floor(W / 1000) + 90 * 86_400;
  const filler = encodeEntry(
    { mean: 3.25, variance: 2.5, dataPoints: 400, lastWindow: W - 2 * HOUR, clockAtLastFold: 400 },
    undefined,
    expiresAt,
  );
  const fillerBytes = JSON.stringify(filler).length + 25;
  for (let i = 0; i < Math.ceil((0.82 * BASELINE_BUCKET_MAX_BYTES) / fillerBytes); i += 1)
    records[key(`10.200.${i >> 8}.${i & 255}`)] = filler;
  await endpoints.dynamoClient.send(
    new PutItemCommand({
      TableName: detector.tableName,
      Item: {
        ...Item!,
        records: { S: JSON.stringify(records) },
        sources: { N: String(Object.keys(records).length) },
      },
    }),
  );

  // Act
  detector.clock.set(runTimeFor(W));
  const summary = await detector.invoke({});

  // Assess
  expect(summary.windows).toEqual(['2026-11-27T09:00:00Z']);
  expect(summary.fullestBaselineBucket).toBeGreaterThanOrEqual(0.8);
  expect(summary.fullestBaselineBucket).toBeLessThan(0.9);
  expect(detector.metrics.last('BaselineBucketFill')).toBeCloseTo(100 * summary.fullestBaselineBucket!, 0);
  const warned = warnings.filter((w) => w.message.startsWith('a baseline bucket is filling up'));
  expect(warned).toHaveLength(1);
  expect(warned[0]!.message).toMatch(/raise the deployment setting baselineBuckets/);
  expect(warned[0]!.extra).toEqual({ fullestBaselineBucket: summary.fullestBaselineBucket });
});
