/**
 * End to end, through the Lambda runtime and the local Logs Insights endpoint: a flow log group
 * named by name and also by ARN (configured both ways, or configured by name and found again by
 * LOG_GROUP_PREFIXES, which lists ARNs) is one group, queried once: its 10 records count 10.
 */
import {
  HOUR,
  TOPIC_ARN,
  blocked,
  key,
  newDetector,
  numberAttr,
  startEndpoints,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
/** A run time at which the window starting at W is the latest closed one (10 minutes of lag). */
const RUN_TIME = new Date(W + HOUR + 12 * 60_000).toISOString();
const SOURCE = '10.0.5.5';
const arnOf = (name: string) => `arn:aws:logs:us-east-1:123456789012:log-group:${name}`;

let endpoints: Endpoints;
beforeAll(async () => {
  endpoints = await startEndpoints();
});
afterAll(async () => {
  await endpoints.stop();
});

async function countedAfterOneWindow(env: Record<string, string>): Promise<number | undefined> {
  const detector = await newDetector(endpoints, { env });
  detector.clock.set(RUN_TIME);
  const summary = await detector.invoke({});
  expect(summary.windows).toEqual(['2026-11-27T09:00:00Z']);
  // The source's first window: its baseline mean is the window's count.
  return numberAttr((await detector.items()).get(`SRC#${key(SOURCE)}|BASELINE`), 'mean');
}

it('a group configured by name and found again by prefix (55 groups, two query parts) counts its 10 records once', async () => {
  for (let g = 0; g < 55; g += 1) {
    const name = `/dup/prefix/flow-${String(g).padStart(2, '0')}`;
    endpoints.logs.seed(name, g === 54 ? blocked(W, SOURCE, 10) : []);
  }
  const counted = await countedAfterOneWindow({
    LOG_GROUP_IDENTIFIERS: '/dup/prefix/flow-54',
    LOG_GROUP_PREFIXES: '/dup/prefix/',
  });
  expect(counted).toBe(10);
  // 55 groups, not 56: each group in exactly one query, by one spelling.
  const queried = endpoints.logs.startedQueries.slice(-2).flatMap((q) => q.logGroupArns);
  expect(queried.filter((arn) => arn === arnOf('/dup/prefix/flow-54'))).toHaveLength(1);
  expect(queried).toHaveLength(55);
});

it('a group configured by name and by ARN counts its 10 records once', async () => {
  endpoints.logs.seed('/dup/fixed', blocked(W, SOURCE, 10));
  const counted = await countedAfterOneWindow({
    LOG_GROUP_IDENTIFIERS: `/dup/fixed,${arnOf('/dup/fixed')}`,
  });
  expect(counted).toBe(10);
});

it('the same name in another account or Region is another group: both are queried', async () => {
  // The topic's account is the function's own; an ARN of another account is not the name's group.
  expect(TOPIC_ARN.split(':')[4]).toBe('123456789012');
  endpoints.logs.linkAccount('222222222222');
  try {
    endpoints.logs.seed('/dup/other', blocked(W, SOURCE, 10));
    endpoints.logs.seed(
      'arn:aws:logs:us-east-1:222222222222:log-group:/dup/other',
      blocked(W, SOURCE, 4, 3, '123456789012'),
    );
    const counted = await countedAfterOneWindow({
      LOG_GROUP_IDENTIFIERS: '/dup/other,arn:aws:logs:us-east-1:222222222222:log-group:/dup/other',
    });
    expect(counted).toBe(14);
  } finally {
    endpoints.logs.unlinkAccount('222222222222');
  }
});
