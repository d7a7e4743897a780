/**
 * End to end in a monitoring account (issue 14), through the Lambda runtime and the real SDK
 * clients: flow log groups found by name prefix in linked source accounts, 60 of them in one
 * detector (two queries of 30 a window, counts summed across them).
 */
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import type { LogEvent } from '../support/local-logs-insights';
import { HOUR, blocked, newDetector, startEndpoints, type Endpoints } from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();
/** A run time at which `windowStart` is the latest closed window (10 minutes of lag). */
const runTimeFor = (windowStart: number) => at(windowStart + HOUR + 12 * 60_000);

// The local Logs endpoint answers as the monitoring account.
const MONITORING = '123456789012';
const LINKED_B = '222222222222';
const LINKED_C = '333333333333';
const UNLINKED = '444444444444';

/** Records as `account`'s flow log writes them (the account-id field is its own). */
const inAccount = (account: string, events: LogEvent[]): LogEvent[] =>
  events.map((e) => ({ ...e, message: e.message.replace(/^2 123456789012 /, `2 ${account} `) }));

let endpoints: Endpoints;

beforeAll(async () => {
  endpoints = await startEndpoints();
  endpoints.logs.linkAccount(LINKED_B);
  endpoints.logs.linkAccount(LINKED_C);
});

afterAll(async () => {
  await endpoints.stop();
});

beforeEach(() => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

describe('60 flow log groups in one detector, found by prefix in linked accounts', () => {
  const PREFIX = '/org/flow-logs/';
  /** 40 groups in the monitoring account, 12 in B, 8 in C: ARN order puts 30 of the first in part 1. */
  const groups = [
    ...Array.from({ length: 40 }, (_, i) => [MONITORING, i] as const),
    ...Array.from({ length: 12 }, (_, i) => [LINKED_B, i] as const),
    ...Array.from({ length: 8 }, (_, i) => [LINKED_C, i] as const),
  ].map(([account, i]) => ({
    account,
    arn: `arn:aws:logs:us-east-1:${account}:log-group:${PREFIX}${account.slice(0, 1)}-${String(i).padStart(2, '0')}`,
  }));
  const group = (account: string, i: number) => groups.filter((g) => g.account === account)[i]!;

  it('queries them 30 + 30 each window, sums a source seen in both parts, and alerts on the right sources', async () => {
    // Prepare: in W-1h quiet sources everywhere (the first run learns them); in W, 10.0.5.5 of the
    // monitoring account sends 60 records into a group of each part (120: over the new-source minimum of 100, which neither part reaches alone), and 10.9.9.9 of account C
    // sends 150; groups of an unlinked account and of the Delivery class hold records that must
    // not count.
    const detector = await newDetector(endpoints, {
      env: {
        LOG_GROUP_IDENTIFIERS: '',
        LOG_GROUP_PREFIXES: PREFIX,
        INCLUDE_LINKED_ACCOUNTS: 'true',
        ACCOUNT_ID: MONITORING,
      },
    });
    groups.forEach((g, i) => {
      const source = `10.${i % 3}.0.${(i % 20) + 1}`;
      endpoints.logs.seed(
        g.arn,
        inAccount(g.account, [...blocked(W - HOUR, source, 3), ...blocked(W, source, 3)]),
      );
    });
    endpoints.logs.seed(group(MONITORING, 1).arn, blocked(W, '10.0.5.5', 60));
    endpoints.logs.seed(group(MONITORING, 35).arn, blocked(W, '10.0.5.5', 60));
    endpoints.logs.seed(group(LINKED_C, 5).arn, inAccount(LINKED_C, blocked(W, '10.9.9.9', 150)));
    endpoints.logs.seed(
      `arn:aws:logs:us-east-1:${UNLINKED}:log-group:${PREFIX}unlinked`,
      inAccount(UNLINKED, blocked(W, '10.4.4.4', 500)),
    );
    endpoints.logs.seed(
      `arn:aws:logs:us-east-1:${LINKED_B}:log-group:${PREFIX}delivery`,
      inAccount(LINKED_B, blocked(W, '10.2.2.2', 500)),
      { logGroupClass: 'DELIVERY' },
    );
    detector.clock.set(runTimeFor(W - HOUR));
    const learn = await detector.invoke({});
    expect(learn).toMatchObject({ windows: ['2026-11-27T08:00:00Z'], alertsPublished: 0 });
    endpoints.logs.resetCounters();
    detector.clock.set(runTimeFor(W));

    // Act
    const run = await detector.invoke({});

    // Assess
    expect(run).toMatchObject({ windows: ['2026-11-27T09:00:00Z'], alertsPublished: 2 });
    // Count and details, each in two parts of 30 groups: the 60 groups and nothing else.
    expect(run.queries).toBe(4);
    const started = endpoints.logs.startedQueries;
    expect(started.map((q) => q.logGroupArns.length)).toEqual([30, 30, 30, 30]);
    expect(new Set(started.flatMap((q) => q.logGroupArns))).toEqual(new Set(groups.map((g) => g.arn)));
    expect(endpoints.logs.callCounts.DescribeLogGroups).toBe(2); // 61 groups listed, 50 a page
    const alerts = endpoints.sns.published
      .map((m) => JSON.parse(m.perProtocol!.sqs!) as PublishedAlert)
      .map((a) => [a.srcIp, a.blockedCount, a.details?.interfaceIds.length]);
    expect(alerts.sort()).toEqual([
      ['10.0.5.5', 120, 1],
      ['10.9.9.9', 150, 1],
    ]);
  });
});
