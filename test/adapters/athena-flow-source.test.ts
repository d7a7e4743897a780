/**
 * The Athena flow source against the local Athena endpoint through the real SDK client, on a
 * clock the test moves: a query still running at the deadline is stopped, throttling past the
 * deadline ends the run, a history slice that fails is a gap (never zeros) while the others
 * count, and CSV result objects are read as Athena writes them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { AthenaFlowSource, parseCsv } from '../../lambda/adapters/athena-flow-source';
import { flowLogColumns, type FlowLogLocation } from '../../lambda/adapters/athena-table';
import { QueryFailedError, QueryThrottledError, QueryTimeoutError } from '../../lambda/adapters/errors';
import { DEFAULT_FLOW_LOG_FORMAT, resolveDetectorConfig } from '../../lambda/core';
import {
  flowLogEngineTable,
  securityLakeEngineTable,
  writeFlowLogObjects,
  writeSecurityLakeObjects,
} from '../support/flow-log-objects';
import { startLocalAthena, type LocalAthena } from '../support/local-athena';
import { runReplay } from '../../lambda/replay/replay';
import { countsOf, KeptInMemory } from '../support/history-reuse';
import { skipDataLine, v2Line } from '../parity/parity';

const HOUR = 3_600_000;
const W = Date.parse('2026-11-26T10:00:00Z');
const LOCATION: FlowLogLocation = {
  bucket: 'flows',
  prefix: '',
  hiveCompatible: false,
  hourlyPartitions: false,
  fileFormat: 'plain-text',
  accounts: ['123456789012', '210987654321'],
  regions: ['us-east-1'],
  firstYear: 2024,
};
const TABLE = { kind: 'flow-logs', database: 'db', table: 'flows', hourlyPartitions: false } as const;
const DEFAULT_FORMAT = DEFAULT_FLOW_LOG_FORMAT.join(' ');
/**
 * 14 IPv6 destinations with equal counts. In code-unit order `2001:db80::…` comes before
 * `2001:db8::…` ('0' < ':'); ICU collation (localeCompare) puts `:` first, the other way round.
 */
const TIED_IPV6 = Array.from({ length: 7 }, (_, i) => [`2001:db8::${i + 1}`, `2001:db80::${i + 1}`]).flat();
const TIED_HOUR = W + 30 * HOUR;
/** 10.0.0.7 sends 2 records to an address and 6 to destinations that are no address. */
const UNREADABLE_HOUR = W + 32 * HOUR;
const UNREADABLE_LINES = [
  ...['203.0.113.9', '203.0.113.9', '-', 'abc', '10.0.0.999', '-', 'abc', '10.0.0.999'].map((dst, i) =>
    v2Line({ at: UNREADABLE_HOUR + i * 60_000, src: '10.0.0.7', dst }),
  ),
];

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'athena-source-'));
  // Two days: 20 blocked records of 10.0.0.5 in every hour, and 7 of the same address in
  // another account, to another destination
  const lines = Array.from({ length: 48 * 20 }, (_, i) =>
    v2Line({
      at: W - 24 * HOUR + Math.floor(i / 20) * HOUR + (i % 20) * 1000,
      src: '10.0.0.5',
      dst: '198.51.100.9',
    }),
  );
  for (let h = 0; h < 48; h += 1) {
    for (let i = 0; i < 7; i += 1) {
      lines.push(
        v2Line({
          at: W - 24 * HOUR + h * HOUR + 30_000 + i * 1000,
          src: '10.0.0.5',
          dst: '203.0.113.50',
          dstPort: 22,
          account: '210987654321',
        }),
      );
    }
  }
  // Later, out of the other tests' range: 10.0.0.6 sends 10 records to each of 14 IPv6
  // destinations, a tie the address decides (see TIED_IPV6)
  TIED_IPV6.forEach((dst, d) => {
    for (let i = 0; i < 10; i += 1)
      lines.push(v2Line({ at: TIED_HOUR + (d * 10 + i) * 10_000, src: '10.0.0.6', dst }));
  });
  lines.push(...UNREADABLE_LINES);
  await writeFlowLogObjects(root, LOCATION, lines);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A clock that sleeping moves forward (no real waiting). */
function fakeClock(start: number) {
  const clock = { now: start, slept: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: (ms: number) => {
      clock.slept.push(ms);
      clock.now += ms;
      return Promise.resolve();
    },
  };
}

async function withAthena<T>(
  options: { runningPolls?: number },
  body: (athena: LocalAthena, client: AthenaClient) => Promise<T>,
): Promise<T> {
  const athena = await startLocalAthena({
    s3Root: root,
    workGroups: { wg: { outputLocation: 's3://results/out/' } },
    tables: [flowLogEngineTable('db', 'flows', LOCATION)],
    ...options,
  });
  const client = new AthenaClient({ ...athena.clientConfig(), maxAttempts: 1 });
  try {
    return await body(athena, client);
  } finally {
    client.destroy();
    await athena.stop();
  }
}

function source(client: AthenaClient, clock: ReturnType<typeof fakeClock>, extra = {}) {
  return new AthenaFlowSource({
    athena: client,
    s3: new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
    workGroup: 'wg',
    table: TABLE,
    config: resolveDetectorConfig({ lagMinutes: 10 }),
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0.5,
    ...extra,
  });
}

describe('AthenaFlowSource format check', () => {
  /**
   * One hour's records of 10.0.0.5 under their own bucket, written in `fileFormat` (text) or as
   * Parquet, and `beside` any other file of the same delivery; the table reads the default format.
   */
  async function checkOver(
    options: {
      fileFormat?: string;
      reorder?: (line: string) => string;
      parquet?: boolean;
      beside?: (directory: string) => Promise<void>;
    } = {},
  ) {
    const checkRoot = mkdtempSync(join(tmpdir(), 'athena-format-'));
    const location: FlowLogLocation = {
      ...LOCATION,
      bucket: 'format-check',
      ...(options.parquet === true ? { fileFormat: 'parquet' as const } : {}),
    };
    const reorder = options.reorder ?? ((line: string) => line);
    const lines = Array.from({ length: 30 }, (_, i) =>
      reorder(v2Line({ at: W + 52 * 60_000 + i * 1000, src: '10.0.0.5', dst: '198.51.100.9' })),
    );
    const written = await writeFlowLogObjects(
      checkRoot,
      location,
      lines,
      options.fileFormat === undefined ? {} : { flowLogFormat: options.fileFormat },
    );
    await options.beside?.(join(checkRoot, dirname(written.keys[0]!)));
    const athena = await startLocalAthena({
      s3Root: checkRoot,
      workGroups: { wg: { outputLocation: 's3://results/out/' } },
      tables: [flowLogEngineTable('db', 'checked', location)],
    });
    const client = new AthenaClient({ ...athena.clientConfig(), maxAttempts: 1 });
    try {
      const clock = fakeClock(1_000_000);
      return await source(client, clock, { table: { ...TABLE, table: 'checked' } }).checkFormat(
        { start: W, end: W + HOUR },
        clock.now() + 60_000,
      );
    } finally {
      client.destroy();
      await athena.stop();
      rmSync(checkRoot, { recursive: true, force: true });
    }
  }

  it('finds no record out of format in files of the configured format', async () => {
    expect(await checkOver()).toEqual({
      from: W + 50 * 60_000,
      to: W + HOUR,
      recordsScanned: 30,
      notInFormat: 0,
    });
  });

  it('counts the records of files whose fields are in another order (text is read by position)', async () => {
    // Prepare: action and log-status swapped, in the files and their header lines
    const swapped = DEFAULT_FORMAT.replace('action log-status', 'log-status action');
    const check = await checkOver({
      fileFormat: swapped,
      reorder: (line) => line.replace(/ (ACCEPT|REJECT) (OK|NODATA|SKIPDATA)$/, ' $2 $1'),
    });

    // Assess
    expect(check).toMatchObject({ recordsScanned: 30, notInFormat: 30 });
  });

  it('finds no record out of format in valid Parquet flow logs whose NODATA records have NULL action and addresses', async () => {
    // Prepare: beside the 30 records, a file of the same delivery with 5 NODATA records, each
    // field with no value a NULL (AWS writes '-' in text)
    const start = Math.floor((W + 55 * 60_000) / 1000);
    const nodata = async (directory: string) => {
      const given: Record<string, string> = {
        version: '2',
        account_id: "'123456789012'",
        interface_id: "'eni-0abc'",
        start: String(start),
        end: String(start + 60),
        log_status: "'NODATA'",
      };
      const row = flowLogColumns(undefined)
        .map((c) => {
          const type = c.type === 'string' ? 'VARCHAR' : c.type === 'int' ? 'INTEGER' : 'BIGINT';
          return `CAST(${given[c.name] ?? 'NULL'} AS ${type}) AS "${c.name}"`;
        })
        .join(', ');
      const duck = await DuckDBInstance.create(':memory:');
      const connection = await duck.connect();
      try {
        await connection.run(
          `COPY (SELECT ${row} FROM range(5)) TO '${join(directory, 'nodata.log.parquet')}' (FORMAT PARQUET, COMPRESSION GZIP)`,
        );
      } finally {
        connection.closeSync();
      }
    };

    // Act
    const check = await checkOver({ parquet: true, beside: nodata });

    // Assess
    expect(check).toMatchObject({ recordsScanned: 35, notInFormat: 0 });
  });

  it('has nothing to check on Security Lake, whose records Security Lake writes in one schema', async () => {
    await withAthena({}, async (_athena, client) => {
      const check = await source(client, fakeClock(1_000_000), {
        table: { kind: 'security-lake', database: 'lake', table: 'vpc_flow' },
      }).checkFormat({ start: W, end: W + HOUR }, 1_000_000 + 60_000);
      expect(check).toBeUndefined();
    });
  });
});

describe('AthenaFlowSource session', () => {
  it("runs every query in the table's database (QueryExecutionContext), not Athena's default one the role has no grant on", async () => {
    await withAthena({}, async (athena, client) => {
      // Act
      await source(client, fakeClock(1_000_000)).countWindow({ start: W, end: W + HOUR }, 1_000_000 + 60_000);

      // Assess
      expect(athena.queries.map((q) => q.database)).toEqual([TABLE.database]);
    });
  });
});

describe('AthenaFlowSource and the deadline', () => {
  it('stops a query still running at the deadline, polling no later than it, and says so', async () => {
    await withAthena({ runningPolls: 1_000 }, async (athena, client) => {
      // Arrange
      const clock = fakeClock(1_000_000);
      const deadline = clock.now() + 20_000;

      // Act
      const counting = source(client, clock).countWindow({ start: W, end: W + HOUR }, deadline);

      // Assess
      await expect(counting).rejects.toThrow(QueryTimeoutError);
      await expect(counting).rejects.toThrow(
        /Athena count query .* was still RUNNING at the deadline .*; it was stopped/,
      );
      expect(clock.clock.now).toBeLessThanOrEqual(deadline);
      expect(athena.callCounts.StopQueryExecution).toBe(1);
      expect(athena.queries.map((q) => q.state)).toEqual(['CANCELLED']);
      // The polls grew from 500 ms to the 5 s ceiling, the last one cut to the deadline.
      expect(clock.clock.slept.slice(0, 3)).toEqual([500, 750, 1125]);
      expect(Math.max(...clock.clock.slept)).toBe(5000);
    });
  });

  it('starts no query once the deadline has passed (it would be billed only to be cancelled)', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange
      const clock = fakeClock(1_000_000);

      // Act
      const counting = source(client, clock).countWindow({ start: W, end: W + HOUR }, clock.now());

      // Assess
      await expect(counting).rejects.toThrow(QueryTimeoutError);
      await expect(counting).rejects.toThrow(
        /^Athena count query for window .* was not started: the deadline .* had passed$/,
      );
      expect(athena.callCounts.StartQueryExecution).toBe(0);
    });
  });

  it('retries throttling with backoff while the deadline allows, then ends the run naming the call', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange
      const clock = fakeClock(1_000_000);
      const deadline = clock.now() + 30_000;
      athena.injectErrors('StartQueryExecution', 'TooManyRequestsException', 1_000);

      // Act
      const counting = source(client, clock).countWindow({ start: W, end: W + HOUR }, deadline);

      // Assess
      await expect(counting).rejects.toThrow(QueryThrottledError);
      await expect(counting).rejects.toThrow(/Athena StartQueryExecution .* was throttled 6 time\(s\)/);
      expect(clock.clock.now).toBeLessThan(deadline);
      // 750, 1500, 3000, 6000, 12000 ms (half the doubling ceiling plus half of it by the jitter)
      expect(clock.clock.slept).toEqual([750, 1500, 3000, 6000, 12000]);
      expect(athena.queries).toHaveLength(0);
    });
  });

  it('starts a query once when the answer to its start is lost and the start is retried', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange: the count of a start answered normally; then Athena starts the query and its
      // answer is a 500.
      const clock = fakeClock(1_000_000);
      const reference = await source(client, clock).countWindow(
        { start: W, end: W + HOUR },
        clock.now() + 600_000,
      );
      athena.resetCounters();
      athena.loseResponses('StartQueryExecution', 'InternalServerException', 1);

      // Act
      const counted = await source(client, clock).countWindow(
        { start: W, end: W + HOUR },
        clock.now() + 600_000,
      );

      // Assess: the retry got the same query back (same token): one query run and billed, not two.
      expect(athena.callCounts.StartQueryExecution).toBe(2);
      expect(athena.queries).toHaveLength(1);
      expect(counted.counts).toEqual(reference.counts);
    });
  });
});

describe('AthenaFlowSource, a query that ends FAILED', () => {
  it.each([
    ['a system error: started 3 times in all', { category: 1 as const, retryable: false }, 3],
    ['another error Athena calls retryable: started 3 times', { category: 3 as const, retryable: true }, 3],
    [
      'another error Athena does not call retryable: started once',
      { category: 3 as const, retryable: false },
      1,
    ],
    ['no AthenaError, no reason either way: started 3 times', { noAthenaError: true }, 3],
    ['a user error: started once', { category: 2 as const, retryable: false }, 1],
  ])('%s', async (_what, failure, starts) => {
    await withAthena({}, async (athena, client) => {
      // Arrange: every try fails the same way
      const clock = fakeClock(1_000_000);
      athena.failNextQueries(5, { ...failure, reason: 'injected' });

      // Act
      const counting = source(client, clock).countWindow({ start: W, end: W + HOUR }, clock.now() + 600_000);

      // Assess
      await expect(counting).rejects.toThrow(QueryFailedError);
      expect(athena.queries).toHaveLength(starts);
    });
  });
});

describe('AthenaFlowSource history', () => {
  it('makes a slice whose query fails a gap, and counts the other slices', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange: two slices of 24 windows, the first query (the newest slice's) failing for a user error
      const clock = fakeClock(Date.now());
      athena.failNextQueries(1, { category: 2, reason: 'HIVE_BAD_DATA: injected' });
      const from = W - 24 * HOUR;

      // Act
      const history = await source(client, clock).history(from, W + 24 * HOUR, clock.now() + 60_000);

      // Assess
      expect(history.gaps).toHaveLength(1);
      expect(history.gaps[0]).toMatchObject({ from: W, to: W + 24 * HOUR });
      expect(history.gaps[0]!.error).toBeInstanceOf(QueryFailedError);
      expect(history.windows).toHaveLength(48);
      expect(history.windows[0]!.windowStart).toBe(from);
      const [counted, failed] = [history.windows.slice(0, 24), history.windows.slice(24)];
      expect(failed.every((w) => !w.complete && w.counts.size === 0)).toBe(true);
      expect(counted.every((w) => w.complete && w.counts.get('123456789012|10.0.0.5') === 20)).toBe(true);
      expect(history.stats.queries).toBe(2);
    });
  });
});

describe("AthenaFlowSource history and the run's deadline", () => {
  it('queries four days at once and, when the time runs out, holds the newest days counted: never zeros', async () => {
    await withAthena({ runningPolls: 20 }, async (athena, client) => {
      // Arrange: six days; each query about 80 s of polls, and 100 s to the deadline: the newest
      // day alone, then four at once, stopped at the deadline
      const clock = fakeClock(Date.now());
      const from = W - 5 * 24 * HOUR;
      const to = W + 24 * HOUR;

      // Act
      const history = await source(client, clock).history(from, to, clock.now() + 100_000);

      // Assess
      expect(athena.peakActiveQueries).toBe(4);
      expect(history.heldFrom).toBe(W);
      expect(history.gaps).toEqual([]);
      expect(history.windows.map((w) => w.windowStart)).toEqual(
        Array.from({ length: 24 }, (_, i) => W + i * HOUR),
      );
      expect(history.windows.every((w) => w.complete)).toBe(true);
      expect(history.windows[0]!.counts.get('123456789012|10.0.0.5')).toBe(20);
      expect(athena.queries.filter((q) => q.state === 'CANCELLED')).toHaveLength(4);
    });
  });
});

describe('AthenaFlowSource history read again from kept queries', () => {
  // From W - 21 h to W + 24 h is 2026-11-25 13:00 to 2026-11-27 10:00: a part of the 25th, all of
  // the 26th, a part of the 27th; the rerun three hours later asks the 26th's query again.
  const FIRST = { from: W - 21 * HOUR, to: W + 24 * HOUR };
  const RERUN = { from: W - 18 * HOUR, to: W + 27 * HOUR };
  const WHOLE_DAY = { start: Date.parse('2026-11-26T00:00:00Z'), end: Date.parse('2026-11-27T00:00:00Z') };

  /** A history of `range` by a source that keeps its queries in `kept` (10 minutes to its deadline). */
  function keptHistory(
    client: AthenaClient,
    clock: ReturnType<typeof fakeClock>,
    kept: KeptInMemory,
    range: { from: number; to: number } = FIRST,
    extra = {},
  ) {
    return source(client, clock, { completedQueries: kept, ...extra }).history(
      range.from,
      range.to,
      clock.now() + 600_000,
    );
  }

  /** The history of the rerun's range as a source that keeps nothing counts it. */
  async function freshRerun(client: AthenaClient) {
    const clock = fakeClock(Date.now());
    return source(client, clock).history(RERUN.from, RERUN.to, clock.now() + 600_000);
  }

  it('reads the whole UTC day an earlier bootstrap counted from its result: no query, no bytes, the same counts', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange: a first bootstrap keeps its queries; its slices start on whole UTC days
      const kept = new KeptInMemory();
      const clock = fakeClock(Date.now());
      await keptHistory(client, clock, kept);
      expect(kept.ids.size).toBe(3);
      const expected = await freshRerun(client);
      const queriesBefore = athena.queries.length;

      // Act: three hours later, run again
      const rerun = await keptHistory(client, clock, kept, RERUN);

      // Assess: the 26th read from its kept result, the two partial days queried
      expect(rerun.reusedQueries).toBe(1);
      expect(rerun.stats.queries).toBe(2);
      expect(athena.queries.length - queriesBefore).toBe(2);
      expect(rerun.stats.bytesScanned).toBeLessThan(expected.stats.bytesScanned);
      expect(countsOf(rerun)).toEqual(countsOf(expected));
      expect(
        rerun.windows.find((w) => w.windowStart === WHOLE_DAY.start)?.counts.get('123456789012|10.0.0.5'),
      ).toBe(20);
      expect(expected.reusedQueries).toBeUndefined();
    });
  });

  it('queries afresh a kept day whose result object is gone (the results bucket expired it) or whose id names another query (rows of another slice)', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange: the 26th's result object deleted; the ids of the other two slices swapped
      const kept = new KeptInMemory();
      const clock = fakeClock(Date.now());
      await keptHistory(client, clock, kept);
      const byDay = [...kept.ids].map(([key, id]) => ({
        key,
        id,
        query: athena.queries.find((q) => q.id === id)!,
      }));
      const wholeDay = byDay.find(({ query }) =>
        query.sql.includes(`start >= ${WHOLE_DAY.start / 1000} AND start < ${WHOLE_DAY.end / 1000}`),
      )!;
      const output = /^s3:\/\/([^/]+)\/(.+)$/.exec(wholeDay.query.outputLocation)!;
      rmSync(join(root, output[1]!, output[2]!));
      const others = byDay.filter((entry) => entry !== wholeDay);
      kept.ids.set(others[0]!.key, others[1]!.id);
      kept.ids.set(others[1]!.key, others[0]!.id);

      // Act: the first run's range again
      const rerun = await keptHistory(client, clock, kept);

      // Assess: nothing read from a kept result, every slice queried, the same counts as fresh
      const fresh = await source(client, fakeClock(Date.now())).history(
        FIRST.from,
        FIRST.to,
        Date.now() + 600_000,
      );
      expect(rerun.reusedQueries).toBeUndefined();
      expect(rerun.stats.queries).toBe(3);
      expect(countsOf(rerun)).toEqual(countsOf(fresh));
    });
  });

  it("queries afresh what a table of another definition kept (the stack's fingerprint changed: a prefix mended, an account added)", async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange: a first bootstrap on a table of fingerprint a...a
      const kept = new KeptInMemory();
      const clock = fakeClock(Date.now());
      const on = (fingerprint: string) =>
        keptHistory(client, clock, kept, FIRST, { tableFingerprint: fingerprint });
      await on('a'.repeat(64));

      // Act: the same range, on the table as redeployed, then again on it
      const changed = await on('b'.repeat(64));
      const same = await on('b'.repeat(64));

      // Assess
      expect(changed.reusedQueries).toBeUndefined();
      expect(changed.stats.queries).toBe(3);
      expect(same.reusedQueries).toBe(3);
      expect(same.stats.queries).toBe(0);
      expect(countsOf(same)).toEqual(countsOf(changed));
    });
  });

  it('keeps no query started before the files of its last windows could all be in S3 (the delivery allowance)', async () => {
    await withAthena({}, async (_athena, client) => {
      // Arrange: a bootstrap ten minutes after the 26th's end (the allowance is 30), and one an hour after
      const range = { from: W - 21 * HOUR, to: WHOLE_DAY.end };
      const early = new KeptInMemory();
      const late = new KeptInMemory();

      // Act
      await keptHistory(client, fakeClock(WHOLE_DAY.end + 10 * 60_000), early, range);
      await keptHistory(client, fakeClock(WHOLE_DAY.end + 60 * 60_000), late, range);

      // Assess: the 26th, which ended within the allowance, is kept only an hour on; the 25th's part both times
      expect(early.ids.size).toBe(1);
      expect(late.ids.size).toBe(2);
    });
  });

  it('gives up a kept result Athena answers with server errors after two tries, and queries the day afresh', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange: every slice kept; then GetQueryResults fails (how Athena answers for a result
      // object gone is not documented: a server error must not hold the run to its deadline)
      const kept = new KeptInMemory();
      const clock = fakeClock(Date.now());
      await keptHistory(client, clock, kept);
      const calls = athena.callCounts.GetQueryResults;
      athena.injectErrors('GetQueryResults', 'InternalServerException', 2);

      // Act: the 26th alone (one slice), so that both errors fall on its kept read
      const rerun = await keptHistory(client, clock, kept, { from: WHOLE_DAY.start, to: WHOLE_DAY.end });

      // Assess: two tries of the kept read (a third would have succeeded), then a fresh query
      expect(rerun.reusedQueries).toBeUndefined();
      expect(rerun.stats.queries).toBe(1);
      expect(athena.callCounts.GetQueryResults - calls).toBe(3);
      expect(rerun.windows.every((w) => w.complete && w.counts.get('123456789012|10.0.0.5') === 20)).toBe(
        true,
      );
    });
  });

  it('reads no kept result, and starts no query, once the deadline has passed during the lookup', async () => {
    await withAthena({}, async (athena, client) => {
      // Arrange: every slice kept; the table's answer comes after the run's deadline
      const clock = fakeClock(Date.now());
      const kept = new KeptInMemory(() => (clock.clock.now += 120_000));
      await keptHistory(client, clock, kept);
      const calls = { ...athena.callCounts };
      const queries = athena.queries.length;

      // Act
      const rerun = await source(client, clock, { completedQueries: kept }).history(
        FIRST.from,
        FIRST.to,
        clock.now() + 60_000,
      );

      // Assess: no GetQueryExecution or GetQueryResults of a kept query, no query started
      expect(athena.callCounts.GetQueryExecution).toBe(calls.GetQueryExecution);
      expect(athena.callCounts.GetQueryResults).toBe(calls.GetQueryResults);
      expect(athena.queries.length).toBe(queries);
      expect(rerun.reusedQueries).toBeUndefined();
      expect(rerun.windows).toHaveLength(0);
      expect(rerun.stoppedBy).toBeInstanceOf(QueryTimeoutError);
    });
  });
});

describe('AthenaFlowSource and source keys', () => {
  it('counts the same address in two accounts apart, and gives each its own details', async () => {
    await withAthena({}, async (_athena, client) => {
      // Arrange
      const clock = fakeClock(Date.now());
      const athenaSource = source(client, clock);
      const window = { start: W, end: W + HOUR };

      // Act
      const counts = await athenaSource.countWindow(window, clock.now() + 60_000);
      const details = await athenaSource.details(
        window,
        ['123456789012|10.0.0.5', '210987654321|10.0.0.5'],
        clock.now() + 60_000,
      );

      // Assess
      expect(Object.fromEntries(counts.counts)).toEqual({
        '123456789012|10.0.0.5': 20,
        '210987654321|10.0.0.5': 7,
      });
      expect(details.get('123456789012|10.0.0.5')?.topDestinations).toEqual([
        { address: '198.51.100.9', port: 443, protocol: 6, count: 20 },
      ]);
      expect(details.get('210987654321|10.0.0.5')?.topDestinations).toEqual([
        { address: '203.0.113.50', port: 22, protocol: 6, count: 7 },
      ]);
    });
  });
});

describe('AthenaFlowSource and destinations that are no address', () => {
  it('counts none of them (-, abc, 10.0.0.999), as the replay, which calls such lines malformed', async () => {
    await withAthena({}, async (_athena, client) => {
      // Arrange
      const clock = fakeClock(Date.now());
      const replayDir = mkdtempSync(join(tmpdir(), 'athena-unreadable-'));
      const file = join(replayDir, 'flows.log');
      writeFileSync(file, `${UNREADABLE_LINES.join('\n')}\n`);

      // Act
      const counts = await source(client, clock).countWindow(
        { start: UNREADABLE_HOUR, end: UNREADABLE_HOUR + HOUR },
        clock.now() + 60_000,
      );
      const replay = await runReplay({ inputs: [file], config: resolveDetectorConfig({}), workers: 1 });
      rmSync(replayDir, { recursive: true, force: true });

      // Assess
      expect(Object.fromEntries(counts.counts)).toEqual({ '123456789012|10.0.0.7': 2 });
      expect(replay.summary).toMatchObject({ recordsCounted: 2, malformedLines: 6 });
    });
  });
});

describe('AthenaFlowSource over Security Lake: a SKIPDATA capture that runs into the next window', () => {
  it.each([
    ['only in end_time_dt, as the published OCSF mapping writes it', false],
    ['in end_time too', true],
  ])("marks the next window incomplete with the record's end %s", async (_name, withEndTime) => {
    // Prepare: a SKIPDATA record from 10:50 to 11:05 beside an ordinary one
    const lakeRoot = mkdtempSync(join(tmpdir(), 'athena-lake-'));
    await writeSecurityLakeObjects(
      lakeRoot,
      [
        v2Line({ at: W + 60_000, src: '10.0.0.5', dst: '203.0.113.9' }),
        skipDataLine(W + 50 * 60_000, W + 65 * 60_000),
      ],
      { withEndTime },
    );
    const athena = await startLocalAthena({
      s3Root: lakeRoot,
      workGroups: { wg: { outputLocation: 's3://results/out/' } },
      tables: [securityLakeEngineTable('lake', 'vpc')],
    });
    const client = new AthenaClient({ ...athena.clientConfig(), maxAttempts: 1 });
    try {
      const clock = fakeClock(Date.now());

      // Act
      const counts = await source(client, clock, {
        table: { kind: 'security-lake', database: 'lake', table: 'vpc' },
      }).countWindow({ start: W, end: W + HOUR }, clock.now() + 60_000);

      // Assess: the capture reaches 11:00-12:00, as the S3 source and the replay read its `end`
      expect(counts.skipDataThrough).toBe(W + HOUR);
      expect(Object.fromEntries(counts.counts)).toEqual({ '123456789012|vpc-0a1b2c3d|10.0.0.5': 1 });
    } finally {
      client.destroy();
      await athena.stop();
      rmSync(lakeRoot, { recursive: true, force: true });
    }
  });
});

describe('AthenaFlowSource and late-delivered files', () => {
  it('counts every record of a window with lagMinutes 0: the partitions reach past the lag to the files delivered after it', async () => {
    // Arrange: hourly partitions; 60 records, one a minute 10:00-10:59, each delivered 7 minutes
    // after its start, so the last 7 land in the 11:00 partition.
    const hourly: FlowLogLocation = { ...LOCATION, hiveCompatible: true, hourlyPartitions: true };
    const lateRoot = mkdtempSync(join(tmpdir(), 'athena-late-'));
    try {
      const lines = Array.from({ length: 60 }, (_, i) =>
        v2Line({ at: W + i * 60_000, src: '10.0.0.5', dst: '198.51.100.9' }),
      );
      await writeFlowLogObjects(lateRoot, hourly, lines, { deliveryDelayMs: 7 * 60_000 });
      const athena = await startLocalAthena({
        s3Root: lateRoot,
        workGroups: { wg: { outputLocation: 's3://results/out/' } },
        tables: [flowLogEngineTable('db', 'flows', hourly)],
      });
      const client = new AthenaClient({ ...athena.clientConfig(), maxAttempts: 1 });
      try {
        const clock = fakeClock(1_000_000);
        const lagZero = source(client, clock, {
          table: { ...TABLE, hourlyPartitions: true },
          config: resolveDetectorConfig({ lagMinutes: 0 }),
        });
        const key = '123456789012|10.0.0.5';

        // Act
        const counted = await lagZero.countWindow({ start: W, end: W + HOUR }, clock.now() + 600_000);
        const history = await lagZero.history(W, W + HOUR, clock.now() + 600_000);

        // Assess: all 60, and not the next window's (the filter on start stays exact)
        expect(counted.counts.get(key)).toBe(60);
        expect(history.windows[0]!.counts.get(key)).toBe(60);
        const next = await lagZero.countWindow({ start: W + HOUR, end: W + 2 * HOUR }, clock.now() + 600_000);
        expect(next.counts.get(key)).toBeUndefined();
      } finally {
        client.destroy();
        await athena.stop();
      }
    } finally {
      rmSync(lateRoot, { recursive: true, force: true });
    }
  });
});

describe('AthenaFlowSource details', () => {
  it('orders tied destinations by code units, as the replay does, whatever the locale', async () => {
    await withAthena({}, async (_athena, client) => {
      // Arrange
      const clock = fakeClock(Date.now());

      // Act
      const details = await source(client, clock).details(
        { start: TIED_HOUR, end: TIED_HOUR + HOUR },
        ['123456789012|10.0.0.6'],
        clock.now() + 60_000,
      );

      // Assess: the ten kept are the first ten of the code-unit order
      const kept = details.get('123456789012|10.0.0.6');
      expect(kept?.topDestinations.map((d) => d.address)).toEqual([...TIED_IPV6].sort().slice(0, 10));
      expect(kept?.topDestinations[0]?.address).toBe('2001:db80::1');
      expect(kept?.totalDestinations).toBe(14);
    });
  });
});

describe("Athena's CSV result object", () => {
  it('reads quoted values, doubled quotes, NULLs as empty fields and CRLF line ends', () => {
    expect(parseCsv('"a","b","c"\n"1","x ""y""",\n"2",,"z"\r\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x "y"', null],
      ['2', null, 'z'],
    ]);
    expect(parseCsv('')).toEqual([]);
    expect(() => parseCsv('"a","b\n')).toThrow(/unterminated/);
  });
});
