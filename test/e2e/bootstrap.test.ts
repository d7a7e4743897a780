/**
 * End to end, bootstrap: replacing a running detector's state cleanly (overwrite), learning
 * through failed history queries (retried; a day that still fails is a gap, never zeros), and
 * what is written when too much fails (nothing, with the query and window named) or when a
 * bootstrap dies half-way (a mark the detector refuses to run on until a bootstrap completes).
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { BootstrapUnfinishedError } from '../../lambda/adapters/dynamo-baseline-store';
import { QueryThrottledError } from '../../lambda/adapters/errors';
import { BootstrapOutOfTimeError } from '../../lambda/detector-run';
import {
  HOUR,
  InjectedCrash,
  blocked,
  history,
  newDetector,
  numberAttr,
  withEndpoints,
  type Detector,
  type Endpoints,
  key,
} from './harness';

const W = Date.parse('2026-11-27T00:00:00Z');
const DAY = 24 * HOUR;
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

beforeEach(() => {
  endpoints.dynamo.resetCounters();
  endpoints.logs.resetCounters();
  endpoints.sns.reset();
});

/** The per-source baselines and the state's clock and watermark. */
async function learnt(detector: Detector) {
  const items = await detector.items();
  const state = items.get('STATE|DETECTOR');
  const baselines = Object.fromEntries([...items].filter(([key]) => key.startsWith('SRC#')));
  return {
    clock: numberAttr(state, 'clock'),
    watermark: numberAttr(state, 'watermark'),
    baselines,
    // (The history queries a bootstrap keeps for a rerun are not state: they are tested below.)
    keys: [...items.keys()].filter((key) => !key.startsWith('LEASE') && !key.startsWith('HISTORY_QUERY')),
  };
}

describe('bootstrap with overwrite', () => {
  it('replaces the state cleanly: the result equals a fresh bootstrap, and a source absent from the history is gone', async () => {
    // Prepare: three live windows three days before W with 10.0.4.4 and 10.0.4.5 (clock 3); the
    // last day's history holds only 10.0.4.5. A fresh detector gets the same history.
    const events = [
      ...[0, 1, 2].flatMap((h) => [
        ...blocked(W - 3 * DAY + h * HOUR, '10.0.4.4', 5),
        ...blocked(W - 3 * DAY + h * HOUR, '10.0.4.5', 4),
      ]),
      ...history(W, 24, ['10.0.4.5']),
      ...blocked(W, '10.0.4.4', 150),
    ];
    const running = await newDetector(endpoints);
    const fresh = await newDetector(endpoints);
    endpoints.logs.seed(running.logGroup, events);
    endpoints.logs.seed(fresh.logGroup, events);
    for (const h of [0, 1, 2]) {
      running.clock.set(runTimeFor(W - 3 * DAY + h * HOUR));
      await running.invoke({});
    }
    expect((await learnt(running)).clock).toBe(3);

    // Act
    running.clock.set(runTimeFor(W - HOUR));
    fresh.clock.set(runTimeFor(W - HOUR));
    const boot = await running.invoke({ mode: 'bootstrap', days: 1, overwrite: true });
    await fresh.invoke({ mode: 'bootstrap', days: 1 });

    // Assess: the same state as a fresh bootstrap (the clock counts the 24 history windows once)
    expect(boot.bootstrap).toMatchObject({ windows: 24, sources: 1, watermark: '2026-11-26T23:00:00Z' });
    const replaced = await learnt(running);
    expect(replaced.clock).toBe(24);
    expect(replaced.baselines).toEqual((await learnt(fresh)).baselines);
    expect(Object.keys(replaced.baselines)).toEqual([`SRC#${key('10.0.4.5')}|BASELINE`]);
    // The source the history did not name comes back as a new source, not as a baseline that had
    // the history's windows folded in as zeros on top of its own.
    running.clock.set(runTimeFor(W));
    await running.invoke({});
    expect(endpoints.sns.published.map((p) => p.attributes.kind?.stringValue)).toEqual(['new-source']);
  });
});

describe('failed history queries', () => {
  it('learns a month of history while the service fails one query in five: retried, the same as without faults', async () => {
    // Prepare
    const events = [...history(W, 30 * 24, SOURCES)];
    const faulty = await newDetector(endpoints);
    const reference = await newDetector(endpoints);
    endpoints.logs.seed(faulty.logGroup, events);
    endpoints.logs.seed(reference.logGroup, events);
    faulty.clock.set(runTimeFor(W - HOUR));
    reference.clock.set(runTimeFor(W - HOUR));
    await reference.invoke({ mode: 'bootstrap', days: 30 });
    endpoints.logs.resetCounters();
    const stop = endpoints.logs.endEveryNthQueryWith('Failed', 5);

    // Act
    let boot;
    try {
      boot = await faulty.invoke({ mode: 'bootstrap', days: 30 });
    } finally {
      stop();
    }

    // Assess: 30 one-day queries plus one more try for each that failed: the 5th, 10th ... 35th of 37
    expect(endpoints.logs.startedQueries.filter((q) => q.status === 'Failed')).toHaveLength(7);
    expect(boot.queries).toBe(37);
    expect(boot.bootstrap).toMatchObject({ windows: 720, sources: SOURCES.length });
    expect(boot.bootstrap?.gaps).toBeUndefined();
    const { keys: _faultyKeys, ...faultyState } = await learnt(faulty);
    const { keys: _referenceKeys, ...referenceState } = await learnt(reference);
    expect(faultyState).toEqual(referenceState);
  }, 60_000);

  it('learns a day whose query fails on every try as a gap: no zeros, the clock skips it, and it says which', async () => {
    // Prepare: three days; the middle day's history query always fails
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, history(W, 3 * 24, SOURCES));
    detector.clock.set(runTimeFor(W - HOUR));
    const middle = (W - 2 * DAY) / 1000;
    const stop = endpoints.logs.endQueriesMatching('Failed', (q) => q.startTime === middle);

    // Act
    let boot;
    try {
      boot = await detector.invoke({ mode: 'bootstrap', days: 3 });
    } finally {
      stop();
    }

    // Assess
    expect(boot.bootstrap?.gaps).toEqual([
      {
        from: '2026-11-25T00:00:00Z',
        to: '2026-11-26T00:00:00Z',
        windows: 24,
        error: expect.stringMatching(
          /^Logs Insights history query \S+ for window \[2026-11-25T00:00:00Z, 2026-11-26T00:00:00Z\) ended with status Failed \(3 tries, none completed\)$/,
        ),
      },
    ]);
    const state = await learnt(detector);
    expect(state.clock).toBe(48);
    // Every source had records in each of the 48 windows read: no zeros for the 24 missing ones.
    for (const baseline of Object.values(state.baselines))
      expect(numberAttr(baseline, 'dataPoints')).toBe(48);
  });

  it('counts a day that fails in every part of more than 50 log groups as one gap, not one per part', async () => {
    // Prepare: 52 log groups (queried in two parts of at most 50), five days; the middle day's
    // history query fails in both parts
    const groups = Array.from({ length: 52 }, (_, i) => `/vpc/bootstrap-parts-${i}`);
    const detector = await newDetector(endpoints, { env: { LOG_GROUP_IDENTIFIERS: groups.join(',') } });
    for (const [i, group] of groups.entries())
      endpoints.logs.seed(group, history(W, 5 * 24, [`10.0.${i}.10`]));
    detector.clock.set(runTimeFor(W - HOUR));
    const middle = (W - 3 * DAY) / 1000;
    const stop = endpoints.logs.endQueriesMatching('Failed', (q) => q.startTime === middle);

    // Act
    let boot;
    try {
      boot = await detector.invoke({ mode: 'bootstrap', days: 5 });
    } finally {
      stop();
    }

    // Assess: one gap of 24 windows (a fifth of the history, tolerated), none incomplete besides
    expect(endpoints.logs.startedQueries.filter((q) => q.status === 'Failed').length).toBeGreaterThanOrEqual(
      6,
    );
    expect(boot.bootstrap?.gaps?.map((gap) => [gap.from, gap.windows])).toEqual([
      ['2026-11-24T00:00:00Z', 24],
    ]);
    expect(boot.incompleteWindows).toBe(0);
    expect((await learnt(detector)).clock).toBe(96);
  }, 120_000);

  it('writes nothing when every history query fails, and names the query and its window', async () => {
    // Prepare
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, history(W, 48, SOURCES));
    detector.clock.set(runTimeFor(W - HOUR));
    const stop = endpoints.logs.endQueriesMatching('Timeout', () => true);

    // Act
    let error: unknown;
    try {
      await detector.invoke({ mode: 'bootstrap', days: 2 });
    } catch (caught) {
      error = caught;
    } finally {
      stop();
    }

    // Assess
    expect(error).toMatchObject({
      name: 'QueryFailedError',
      message: expect.stringMatching(
        /^Logs Insights history query \S+ for window \[2026-11-25T00:00:00Z, 2026-11-26T00:00:00Z\) ended with status Timeout/,
      ),
    });
    expect((await learnt(detector)).keys).toEqual([]);
  });

  it('writes nothing when more than half of the history is missing', async () => {
    // Prepare: three days, the first two fail
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, history(W, 72, SOURCES));
    detector.clock.set(runTimeFor(W - HOUR));
    const failing = new Set([(W - 3 * DAY) / 1000, (W - 2 * DAY) / 1000]);
    const stop = endpoints.logs.endQueriesMatching('Failed', (q) => failing.has(q.startTime));

    // Act
    const boot = detector.invoke({ mode: 'bootstrap', days: 3 });

    // Assess
    await expect(boot).rejects.toThrow(
      /^bootstrap: the history queries of 48 of 72 windows failed even after retries, more than half; nothing was written/,
    );
    stop();
    expect((await learnt(detector)).keys).toEqual([]);
  });
});

describe('a bootstrap that runs out of time', () => {
  /** Polls 5 s apart: a query (Scheduled, Running, Complete) takes 10 s of the detector's clock. */
  const slowPolls = {
    flowSourceOptions: { pollIntervalMs: 5_000, maxPollIntervalMs: 5_000, retryBaseDelayMs: 1 },
  };

  it('learns the newest days it counted as a shorter history, and says from when', async () => {
    // Prepare: ten days of history, each day's query 10 s of polls, and 40 s of the function's
    // time for the queries (its 900 s against a month of a busy log group); a clock that moves
    // only by the runtime's sleeps.
    const detector = await newDetector(endpoints, { manualClock: true, runtime: slowPolls });
    endpoints.logs.seed(detector.logGroup, history(W, 10 * 24, SOURCES));
    detector.clock.set(runTimeFor(W - HOUR));

    // Act
    const boot = await detector.invoke({ mode: 'bootstrap', days: 10 }, { remainingMs: 60_000 });

    // Assess: the newest whole days were learnt, the older ones left out (no gap, no zeros)
    const heldFrom = Date.parse(boot.bootstrap!.heldFrom!);
    const heldDays = (W - heldFrom) / DAY;
    expect(Number.isInteger(heldDays)).toBe(true);
    expect(heldDays).toBeGreaterThanOrEqual(1);
    expect(heldDays).toBeLessThan(10);
    expect(boot.bootstrap).toMatchObject({ days: 10, windows: heldDays * 24, sources: 3 });
    expect(boot.bootstrap?.gaps).toBeUndefined();
    const state = await learnt(detector);
    expect(state.clock).toBe(heldDays * 24);
    for (const baseline of Object.values(state.baselines))
      expect(numberAttr(baseline, 'dataPoints')).toBe(heldDays * 24);
  });

  it('writes nothing, and says the time ran out, when not one day was counted', async () => {
    // Prepare: the commit's reserve and the safety margin leave under a second for the queries
    const detector = await newDetector(endpoints, { manualClock: true, runtime: slowPolls });
    endpoints.logs.seed(detector.logGroup, history(W, 3 * 24, SOURCES));
    detector.clock.set(runTimeFor(W - HOUR));

    // Act
    const boot = detector.invoke({ mode: 'bootstrap', days: 3 }, { remainingMs: 20_500 });

    // Assess
    // (naming the query the deadline stopped)
    await expect(boot).rejects.toThrow(
      /^bootstrap: the run's time ran out before any day of the 3 asked for was counted; nothing was written\. Give the function its full 900 s timeout, or check the size of what a day's query scans \(.*history query.*2026-11-26T00:00:00Z/,
    );
    expect((await learnt(detector)).keys).toEqual([]);
  });
});

describe('BootstrapOutOfTimeError', () => {
  it('says the quota was held by other queries when throttling, not the deadline, stopped the history', () => {
    const throttled = new QueryThrottledError(
      'StartQuery',
      { start: W - DAY, end: W },
      'history',
      6,
      Object.assign(new Error('Account maximum query concurrency limit of [100] reached.'), {
        name: 'LimitExceededException',
      }),
    );
    const error = new BootstrapOutOfTimeError(30, throttled);
    expect(error.message).toMatch(
      /^bootstrap: the run's time ran out before any day of the 30 asked for was counted; nothing was written\. The queries were throttled until no retry fitted: the account's concurrent query quota is held by other queries/,
    );
    expect(error.message).not.toContain('900 s');
  });
});

describe('a bootstrap that dies half-way', () => {
  it('leaves a mark the detector refuses to run on; bootstrapping again completes it', async () => {
    // Prepare: a running detector; a bootstrap whose process dies after its first baseline batch
    const detector = await newDetector(endpoints);
    endpoints.logs.seed(detector.logGroup, [...history(W, 48, SOURCES), ...blocked(W, '10.0.1.10', 4)]);
    detector.clock.set(runTimeFor(W - 2 * HOUR));
    await detector.invoke({});
    const before = await learnt(detector);
    detector.clock.set(runTimeFor(W - HOUR));
    let batches = 0;
    await expect(
      detector.invoke(
        { mode: 'bootstrap', days: 2, overwrite: true },
        {
          crash: {
            // The run dies at its second baseline batch of the bootstrap.
            at: (call) => call.operation === 'BatchWriteItem' && ++batches === 2,
          },
        },
      ),
    ).rejects.toThrow(InjectedCrash);

    // Act
    const detect = detector.invoke({});

    // Assess: refused, naming the way out, and nothing moved
    await expect(detect).rejects.toThrow(BootstrapUnfinishedError);
    await expect(detect).rejects.toThrow(/invoke \{"mode":"bootstrap","overwrite":true\} again/);
    expect((await learnt(detector)).watermark).toBe(before.watermark);
    const boot = await detector.invoke({ mode: 'bootstrap', days: 2, overwrite: true });
    expect(boot.bootstrap).toMatchObject({ windows: 48, watermark: '2026-11-26T23:00:00Z' });
    detector.clock.set(runTimeFor(W));
    expect((await detector.invoke({})).windows).toEqual(['2026-11-27T00:00:00Z']);
  });
});

describe('a bootstrap run again', () => {
  /** Polls 5 s apart: a query (Scheduled, Running, Complete) takes 10 s of the detector's clock. */
  const slowPolls = {
    flowSourceOptions: { pollIntervalMs: 5_000, maxPollIntervalMs: 5_000, retryBaseDelayMs: 1 },
  };
  /** A history that ends at 09:00 UTC: its newest slice is the part of a day up to it. */
  const END = W + 9 * HOUR;
  const slicesOf = (detector: Detector, status?: string) =>
    endpoints.logs.startedQueries
      .filter((q) => q.logGroupNames.includes(detector.logGroup) && q.queryString.includes('bin('))
      .filter((q) => status === undefined || q.status === status)
      .map(
        (q) => `${new Date(q.startTime * 1000).toISOString()}/${new Date(q.endTime * 1000).toISOString()}`,
      );
  /** A slice of a whole UTC day (StartQuery's end time is its last second). */
  const isWholeDay = (slice: string) => /T00:00:00\.000Z\/.*T23:59:59\.000Z$/.test(slice);

  it('reads the days an earlier run counted from their kept queries, scans only the rest, and learns what one run learns', async () => {
    // Prepare: ten days of history; a first bootstrap with 80 s for its queries counts the newest
    // few days only. Three hours later it is run again (overwrite) with its full time, beside a
    // fresh detector's single bootstrap of the same ten days.
    const detector = await newDetector(endpoints, { manualClock: true, runtime: slowPolls });
    const fresh = await newDetector(endpoints, { manualClock: true, runtime: slowPolls });
    for (const d of [detector, fresh]) endpoints.logs.seed(d.logGroup, history(END, 10 * 24, SOURCES));
    detector.clock.set(runTimeFor(END - HOUR));
    const first = await detector.invoke({ mode: 'bootstrap', days: 10 }, { remainingMs: 100_000 });
    expect(first.bootstrap?.heldFrom).toBeDefined();
    const counted = slicesOf(detector, 'Complete');
    const startedBefore = slicesOf(detector).length;

    // Act
    detector.clock.set(runTimeFor(END + 2 * HOUR));
    fresh.clock.set(runTimeFor(END + 2 * HOUR));
    const again = await detector.invoke({ mode: 'bootstrap', days: 10, overwrite: true });
    const once = await fresh.invoke({ mode: 'bootstrap', days: 10 });

    // Assess: the whole days the first run counted were read again, not queried again; only its
    // newest, partial day (up to 09:00, now 12:00) was queried afresh
    const startedAgain = slicesOf(detector).slice(startedBefore);
    const wholeDays = counted.filter(isWholeDay);
    expect(wholeDays.length).toBeGreaterThanOrEqual(1);
    expect(wholeDays.length).toBe(counted.length - 1);
    expect(again.bootstrap?.reusedQueries).toBe(wholeDays.length);
    for (const slice of wholeDays) expect(startedAgain).not.toContain(slice);
    expect(startedAgain.length + wholeDays.length).toBe(slicesOf(fresh).length);
    expect(again.bytesScanned).toBeLessThan(once.bytesScanned);
    expect(once.bootstrap?.reusedQueries).toBeUndefined();
    // (and learnt the same as one bootstrap of the whole range)
    expect(again.bootstrap).toMatchObject({ windows: 10 * 24, sources: 3 });
    expect(again.bootstrap?.heldFrom).toBeUndefined();
    const relearnt = await learnt(detector);
    expect(relearnt.baselines).toEqual((await learnt(fresh)).baselines);
    expect(relearnt.clock).toBe((await learnt(fresh)).clock);
  });

  it('queries again what it kept 7 days ago, and what the service no longer knows', async () => {
    // Prepare: a bootstrap of three days, then the same days asked for again 7 days later (ten
    // days back), and a detector whose kept query ids name queries the service does not know
    const late = await newDetector(endpoints, { manualClock: true, runtime: slowPolls });
    const unknown = await newDetector(endpoints, { manualClock: true, runtime: slowPolls });
    for (const d of [late, unknown]) {
      endpoints.logs.seed(d.logGroup, history(END, 3 * 24, SOURCES));
      d.clock.set(runTimeFor(END - HOUR));
      await d.invoke({ mode: 'bootstrap', days: 3 });
    }
    const keptItems = [...(await unknown.items()).entries()].filter(([k]) => k.startsWith('HISTORY_QUERY|'));
    expect(keptItems.length).toBe(slicesOf(unknown).length);
    for (const [k] of keptItems) {
      await endpoints.dynamoClient.send(
        new UpdateItemCommand({
          TableName: unknown.tableName,
          Key: { pk: { S: 'HISTORY_QUERY' }, sk: { S: k.slice('HISTORY_QUERY|'.length) } },
          UpdateExpression: 'SET queryId = :gone',
          ExpressionAttributeValues: { ':gone': { S: '00000000-0000-4000-9000-0000deadbeef' } },
        }),
      );
    }
    const firstSlices = slicesOf(late);

    // Act
    late.clock.set(runTimeFor(END - HOUR + 7 * DAY));
    const lateAgain = await late.invoke({ mode: 'bootstrap', days: 10, overwrite: true });
    const startedLate = slicesOf(late).slice(firstSlices.length);
    const unknownAgain = await unknown.invoke({ mode: 'bootstrap', days: 3, overwrite: true });

    // Assess: nothing was reused; the days the two runs share were scanned again
    expect(lateAgain.bootstrap?.reusedQueries).toBeUndefined();
    expect(firstSlices.filter(isWholeDay).length).toBe(2);
    for (const slice of firstSlices.filter(isWholeDay)) expect(startedLate).toContain(slice);
    expect(unknownAgain.bootstrap?.reusedQueries).toBeUndefined();
    expect(unknownAgain.bootstrap).toMatchObject({ windows: 3 * 24, sources: 3 });
  });
});
