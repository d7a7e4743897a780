/**
 * End to end, issue 14: a source is an address within its account. Two accounts' flow log
 * groups, named by ARN, use the same address plan; the detector keeps their 10.0.0.10s apart,
 * alerts the one that spikes naming its account, and leaves the other alone. And an upgrade from
 * a table whose baselines were keyed by address alone: they are not mixed with the new keys.
 */
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import { BASELINE_BUCKETS, bucketKey, bucketOf, encodeEntry } from '../../lambda/adapters/baseline-buckets';
import {
  HOUR,
  blocked,
  history,
  key,
  newDetector,
  numberAttr,
  startEndpoints,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();
const A = '111111111111';
const B = '222222222222';
const GROUP_A = '/vpc/flow-logs/team-a';
const GROUP_B = '/vpc/flow-logs/team-b';
const arn = (account: string, group: string) => `arn:aws:logs:us-east-1:${account}:log-group:${group}`;

let endpoints: Endpoints;

beforeAll(async () => {
  endpoints = await startEndpoints();
  // The local Logs endpoint answers as the monitoring account; A and B are linked source accounts.
  endpoints.logs.linkAccount(A);
  endpoints.logs.linkAccount(B);
});

afterAll(async () => {
  await endpoints.stop();
});

beforeEach(() => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

const published = (): PublishedAlert[] =>
  endpoints.sns.published.map((p) => JSON.parse(p.perProtocol!.sqs!) as PublishedAlert);

/** `count` blocked records a window from `src` in `account` to destinations of its own. */
const busyHistory = (account: string, src: string, perHour: number, hours: number, destination: string) =>
  Array.from({ length: hours }, (_, h) =>
    blocked(W - (hours - h) * HOUR, src, perHour + ((h * 7) % 5), 2, account).map((event) => ({
      ...event,
      message: event.message.replace(/ 203\.0\.113\.(\d) /, ` ${destination}$1 `),
    })),
  ).flat();

describe('two accounts with the same address plan', () => {
  it("alerts account B's 10.0.0.10 once, naming B, and leaves account A's busier 10.0.0.10 untouched", async () => {
    // Prepare: two days in which A's 10.0.0.10 sends ~150 blocked records an hour and B's ~10,
    // each to its own destinations, in each account's own log group. In W, B's sends 15x its usual.
    const detector = await newDetector(endpoints, {
      detectorConfig: { accountNames: { [B]: 'payments-prod' } },
      env: { LOG_GROUP_IDENTIFIERS: `${arn(A, GROUP_A)},${arn(B, GROUP_B)}` },
    });
    endpoints.logs.seed(arn(A, GROUP_A), [
      ...busyHistory(A, '10.0.0.10', 150, 48, '198.51.100.'),
      ...history(W, 48, ['10.0.0.11'], A),
      ...blocked(W, '10.0.0.10', 152, 2, A).map((e) => ({
        ...e,
        message: e.message.replace(/ 203\.0\.113\.(\d) /, ' 198.51.100.$1 '),
      })),
    ]);
    endpoints.logs.seed(arn(B, GROUP_B), [
      ...busyHistory(B, '10.0.0.10', 10, 48, '203.0.113.'),
      ...blocked(W, '10.0.0.10', 150, 3, B),
    ]);
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({ mode: 'bootstrap', days: 2 });
    const before = await detector.items();
    const aBefore = before.get(`SRC#${key('10.0.0.10', A)}|BASELINE`);
    expect(numberAttr(aBefore, 'mean')).toBeGreaterThan(140);
    expect(numberAttr(before.get(`SRC#${key('10.0.0.10', B)}|BASELINE`), 'mean')).toBeLessThan(15);
    expect(before.has('SRC#10.0.0.10|BASELINE')).toBe(false);

    // Act
    detector.clock.set(runTimeFor(W));
    const summary = await detector.invoke({});

    // Assess: one alert, for B's source, naming B (and its configured name) everywhere
    // Two sources in W, the two 10.0.0.10s (merged, they would be one), and one alert.
    expect(summary).toMatchObject({ sourcesEvaluated: 2, alertsDecided: 1, alertsPublished: 1 });
    const [alert] = published();
    expect(published()).toHaveLength(1);
    expect(alert).toMatchObject({
      kind: 'spike',
      alertId: `2026-11-27T09:00:00Z/${B}|10.0.0.10`,
      srcIp: '10.0.0.10',
      accountId: B,
      accountName: 'payments-prod',
      blockedCount: 150,
    });
    // Its details are B's records only: B's destinations and interface, none of A's.
    // (Each address on two ports: six destinations.)
    expect([...new Set(alert!.details!.topDestinations.map((d) => d.address))].sort()).toEqual([
      '203.0.113.1',
      '203.0.113.2',
      '203.0.113.3',
    ]);
    expect(alert!.details!.totalDestinations).toBe(6);
    const [message] = endpoints.sns.published;
    expect(message!.subject).toBe(
      `[${alert!.severity.toUpperCase()}] Blocked egress spike: 10.0.0.10 in payments-prod (150 blocked, 2026-11-27T09:00Z)`,
    );
    expect(message!.attributes.accountId).toEqual({ dataType: 'String', stringValue: B });
    expect(message!.attributes.srcIp).toEqual({ dataType: 'String', stringValue: '10.0.0.10' });
    expect(message!.perProtocol!.email).toContain('Account:             payments-prod (222222222222)');
    // A's source: evaluated, folded with its own count only, never alerted.
    const after = await detector.items();
    const aAfter = after.get(`SRC#${key('10.0.0.10', A)}|BASELINE`);
    expect(numberAttr(aAfter, 'dataPoints')).toBe(numberAttr(aBefore, 'dataPoints')! + 1);
    expect(numberAttr(aAfter, 'lastWindow')).toBe(W);
    expect(numberAttr(aAfter, 'lastAlertWindow')).toBeUndefined();
    expect(Math.abs(numberAttr(aAfter, 'mean')! - numberAttr(aBefore, 'mean')!)).toBeLessThan(1);
    expect(numberAttr(after.get(`SRC#${key('10.0.0.10', B)}|BASELINE`), 'lastAlertWindow')).toBe(W);
    // Both groups were queried in one query, by ARN.
    expect(endpoints.logs.startedQueries[0]!.logGroupNames).toEqual([GROUP_A, GROUP_B]);
  });
});

/** Makes a detector's table look like one a build before accounts wrote: address-keyed entries, no `sourceKeys`. */
async function downgradeToAddressKeys(detector: Detector, addresses: readonly string[]): Promise<void> {
  const client = endpoints.dynamoClient;
  const items = await detector.items();
  for (const address of addresses) {
    const stored = items.get(`SRC#${key(address)}|BASELINE`)!;
    const baseline = {
      mean: numberAttr(stored, 'mean')!,
      variance: numberAttr(stored, 'variance')!,
      dataPoints: numberAttr(stored, 'dataPoints')!,
      lastWindow: numberAttr(stored, 'lastWindow')!,
      clockAtLastFold: numberAttr(stored, 'clockAtLastFold')!,
    };
    for (const k of [key(address), address]) {
      await client.send(
        new DeleteItemCommand({
          TableName: detector.tableName,
          Key: bucketKey(bucketOf(k, BASELINE_BUCKETS)),
        }),
      );
    }
    const entry = encodeEntry(baseline, undefined, Math.floor(W / 1000) + 90 * 86_400);
    await client.send(
      new PutItemCommand({
        TableName: detector.tableName,
        Item: {
          ...bucketKey(bucketOf(address, BASELINE_BUCKETS)),
          records: { S: JSON.stringify({ [address]: entry }) },
          sources: { N: '1' },
          expiresAt: { N: String(entry[5]) },
        },
      }),
    );
  }
  await client.send(
    new UpdateItemCommand({
      TableName: detector.tableName,
      Key: { pk: { S: 'STATE' }, sk: { S: 'DETECTOR' } },
      UpdateExpression: 'REMOVE sourceKeys',
    }),
  );
}

describe('upgrading from baselines keyed by address alone', () => {
  const SOURCES = ['10.0.2.10', '10.0.2.11'];

  it('does not use them: the first window learns the new keys and alerts nothing, the next alerts as usual', async () => {
    // Prepare: a detector that ran on two days of history, its table then rewritten as an older
    // build left it; in W a new host appears with a burst that would be a new-source alert.
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [
      ...history(W, 48, SOURCES),
      ...blocked(W, '10.0.2.10', 300),
      ...blocked(W, '10.0.2.99', 400),
      ...blocked(W + HOUR, '10.0.2.11', 4),
      ...blocked(W + HOUR, '10.0.2.98', 500),
    ]);
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({ mode: 'bootstrap', days: 2 });
    expect(numberAttr((await detector.items()).get('STATE|DETECTOR'), 'watermark')).toBe(W - HOUR);
    await downgradeToAddressKeys(detector, SOURCES);
    expect((await detector.items()).has(`SRC#10.0.2.10|BASELINE`)).toBe(true);

    // Act
    detector.clock.set(runTimeFor(W));
    const upgraded = await detector.invoke({});

    // Assess: no alert (a new detector's first window), the old entries are not read, the
    // rewritten buckets hold only the new keys, and the state says so from now on.
    expect(upgraded).toMatchObject({
      windows: ['2026-11-27T09:00:00Z'],
      firstWindowLearnOnly: true,
      addressOnlyBaselinesReplaced: true,
      alertsDecided: 0,
    });
    expect(endpoints.sns.publishCalls).toBe(0);
    const items = await detector.items();
    expect(items.get('STATE|DETECTOR')?.sourceKeys?.S).toBe('account|address');
    // 10.0.2.10 started afresh under its key (its old mean of ~4 was not used) and its old entry is gone.
    expect(numberAttr(items.get(`SRC#${key('10.0.2.10')}|BASELINE`), 'dataPoints')).toBe(1);
    expect(numberAttr(items.get(`SRC#${key('10.0.2.10')}|BASELINE`), 'mean')).toBe(300);
    // A dry run with nothing due does not re-evaluate that learn-only window: from no baselines by
    // the new keys, 10.0.2.10 and 10.0.2.99 would come back as new-source alerts "to publish".
    const dry = await detector.invoke({ mode: 'dry-run' });
    expect(dry).toMatchObject({ windows: [], latestWindowLearnOnly: '2026-11-27T09:00:00Z' });
    expect(dry.dryRunAlerts ?? []).toEqual([]);
    // The old entries are never read: dropped from each bucket the run rewrote, left to expire
    // (baselineTtlDays) in the others.
    const rewritten = new Set([key('10.0.2.10'), key('10.0.2.99')].map((k) => bucketOf(k, BASELINE_BUCKETS)));
    for (const address of SOURCES) {
      if (rewritten.has(bucketOf(address, BASELINE_BUCKETS)))
        expect(items.has(`SRC#${address}|BASELINE`)).toBe(false);
    }

    // The next window is an ordinary one: a new host alerts.
    detector.clock.set(runTimeFor(W + HOUR));
    const next = await detector.invoke({});
    expect(next.addressOnlyBaselinesReplaced).toBeUndefined();
    expect(next.firstWindowLearnOnly).toBeUndefined();
    expect(published().map((a) => [a.kind, a.srcIp, a.accountId])).toEqual([
      ['new-source', '10.0.2.98', '123456789012'],
    ]);
  });

  it('a bootstrap with overwrite relearns from history at once: no learn-only window after it', async () => {
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [...history(W, 48, SOURCES), ...blocked(W, '10.0.2.99', 400)]);
    detector.clock.set(runTimeFor(W - 25 * HOUR));
    await detector.invoke({ mode: 'bootstrap', days: 1 });
    await downgradeToAddressKeys(detector, SOURCES);

    // Act
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({ mode: 'bootstrap', days: 2, overwrite: true });
    detector.clock.set(runTimeFor(W));
    const summary = await detector.invoke({});

    // Assess
    const items = await detector.items();
    expect(items.get('STATE|DETECTOR')?.sourceKeys?.S).toBe('account|address');
    // Every bucket was rewritten from the bootstrap's baselines: no address-keyed entry is left.
    expect(
      [...items.keys()].filter((k) => k.startsWith('SRC#') && !k.startsWith('SRC#123456789012|')),
    ).toEqual([]);
    expect([...items.keys()].filter((k) => k.startsWith('SRC#'))).toEqual(
      ['10.0.2.10', '10.0.2.11', '10.0.2.99'].map((a) => `SRC#${key(a)}|BASELINE`),
    );
    expect(summary.firstWindowLearnOnly).toBeUndefined();
    expect(published().map((a) => [a.kind, a.srcIp])).toEqual([['new-source', '10.0.2.99']]);
  });

  it('dry-run says the same: its first window would only learn', async () => {
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [...history(W, 24, SOURCES), ...blocked(W, '10.0.2.99', 400)]);
    detector.clock.set(runTimeFor(W - HOUR));
    await detector.invoke({ mode: 'bootstrap', days: 1 });
    await downgradeToAddressKeys(detector, SOURCES);
    detector.clock.set(runTimeFor(W));
    const dry = await detector.invoke({ mode: 'dry-run' });
    expect(dry).toMatchObject({
      firstWindowLearnOnly: true,
      addressOnlyBaselinesReplaced: true,
      dryRunAlerts: [],
    });
  });
});
