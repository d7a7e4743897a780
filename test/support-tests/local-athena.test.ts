/**
 * The local Athena endpoint against Athena's documented behaviour, through the real SDK client:
 * Trino's IP functions against known answers, execution parameters as literals only, 1,000 rows a
 * page with the header first, the state progression, throttling, the bytes-scanned cutoff and
 * results read from their result object.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { cidrContains, ipaddressOf } from '../support/athena-engine';
import { startLocalAthena, type LocalAthena } from '../support/local-athena';

let root: string;
let athena: LocalAthena;
let client: AthenaClient;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'local-athena-'));
  athena = await startLocalAthena({
    s3Root: root,
    workGroups: { wg: { outputLocation: 's3://results/out/' } },
    tables: [],
    maxConcurrentQueries: 2,
  });
  client = new AthenaClient({ ...athena.clientConfig(), maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await athena.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Runs a statement to its end state (polling), returning the final execution. */
async function run(sql: string, parameters?: string[]) {
  const { QueryExecutionId } = await client.send(
    new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: 'wg', ExecutionParameters: parameters }),
  );
  for (;;) {
    const { QueryExecution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = QueryExecution?.Status?.State;
    if (state !== 'QUEUED' && state !== 'RUNNING') return QueryExecution!;
  }
}

async function firstValue(sql: string, parameters?: string[]): Promise<string | undefined> {
  const execution = await run(sql, parameters);
  expect(execution.Status?.StateChangeReason).toBeUndefined();
  const results = await client.send(
    new GetQueryResultsCommand({ QueryExecutionId: execution.QueryExecutionId }),
  );
  return results.ResultSet?.Rows?.[1]?.Data?.[0]?.VarCharValue;
}

describe("Trino's IP functions (known answers from Trino's documentation and semantics)", () => {
  it.each([
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['2001:0db8:0:0:0:ff00:0042:8329/128', '2001:db8::ff00:42:8329', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['192.168.0.0/16', '::ffff:192.168.3.4', true], // IPADDRESS stores IPv4 IPv4-mapped
    ['::ffff:0:0/96', '10.1.2.3', true],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['fd00::/8', '10.0.0.1', false],
  ])('contains(%s, IPADDRESS %s) = %s', async (cidr, address, expected) => {
    expect(cidrContains(cidr, ipaddressOf(address)!)).toBe(expected);
    expect(await firstValue(`SELECT contains(?, CAST(? AS IPADDRESS))`, [`'${cidr}'`, `'${address}'`])).toBe(
      String(expected),
    );
  });

  it('TRY_CAST to IPADDRESS is NULL for what is not an address; CAST fails the query', async () => {
    expect(ipaddressOf('10.0.0.1')).toBe('00000000000000000000ffff0a000001');
    for (const text of ['-', '', '10.0.0', '010.0.0.1', '10.0.0.1 ', 'fe80::1%eth0']) {
      expect(await firstValue(`SELECT TRY_CAST(? AS IPADDRESS) IS NULL`, [`'${text}'`])).toBe('true');
    }
    const failed = await run(`SELECT CAST('-' AS IPADDRESS)`);
    expect(failed.Status?.State).toBe('FAILED');
    expect(failed.Status?.StateChangeReason).toMatch(/Cannot cast value to IPADDRESS: -/);
  });

  it('an invalid CIDR fails the query', async () => {
    const failed = await run(`SELECT contains('10.0.0.0/33', IPADDRESS '10.0.0.1')`);
    expect(failed.Status?.State).toBe('FAILED');
    expect(failed.Status?.StateChangeReason).toMatch(/Invalid CIDR/);
  });
});

describe('the protocol and its limits', () => {
  it('takes execution parameters as single literals only: an injected expression fails the query', async () => {
    expect(await firstValue(`SELECT ? || 'x'`, [`'it''s'`])).toBe("it'sx");
    const injected = await run(`SELECT 1 WHERE ? = 'a'`, [`'a' OR 1 = 1`]);
    expect(injected.Status?.State).toBe('FAILED');
    expect(injected.Status?.AthenaError?.ErrorCategory).toBe(2);
    const missing = await run(`SELECT ?, ?`, [`'a'`]);
    expect(missing.Status?.State).toBe('FAILED');
  });

  it('pages at most 1,000 rows, the header row first', async () => {
    const execution = await run('SELECT range AS n FROM range(2500)');
    const id = execution.QueryExecutionId;
    const rows: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }));
      rows.push(...(page.ResultSet?.Rows ?? []).map((r) => r.Data?.[0]?.VarCharValue ?? ''));
      token = page.NextToken;
      pages += 1;
    } while (token !== undefined);
    expect(pages).toBe(3);
    expect(rows[0]).toBe('n');
    expect(rows).toHaveLength(2501);
    await expect(
      client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1001 })),
    ).rejects.toThrow(/less than or equal to 1000/);
  });

  it('moves QUEUED -> RUNNING -> SUCCEEDED; results before the end are refused; the third concurrent query is throttled', async () => {
    const start = () =>
      client.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'wg' }));
    const first = await start();
    const second = await start();
    await expect(start()).rejects.toMatchObject({ name: 'TooManyRequestsException' });
    await expect(
      client.send(new GetQueryResultsCommand({ QueryExecutionId: first.QueryExecutionId })),
    ).rejects.toThrow(/has not yet finished/);
    const states: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { QueryExecution } = await client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: first.QueryExecutionId }),
      );
      states.push(QueryExecution!.Status!.State!);
    }
    expect(states).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    await run('SELECT 2'); // a slot is free again
    await client.send(new GetQueryExecutionCommand({ QueryExecutionId: second.QueryExecutionId }));
  });

  it('serves results from the result object: what it holds is what is read, and once it is gone (a lifecycle rule) nothing is', async () => {
    const execution = await run(`SELECT 7 AS n, 'a "quoted", value' AS s, NULL AS z`);
    const id = execution.QueryExecutionId;
    const read = () => client.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
    const values = async () => (await read()).ResultSet?.Rows?.map((r) => r.Data?.map((d) => d.VarCharValue));
    expect(await values()).toEqual([
      ['n', 's', 'z'],
      ['7', 'a "quoted", value', undefined],
    ]);
    const location = /^s3:\/\/([^/]+)\/(.+)$/.exec(execution.ResultConfiguration!.OutputLocation!)!;
    const path = join(root, location[1]!, location[2]!);
    writeFileSync(path, '"n","s","z"\n"8","b",\n');
    expect((await values())?.[1]).toEqual(['8', 'b', undefined]);
    rmSync(path);

    await expect(read()).rejects.toMatchObject({ name: 'InvalidRequestException' });
    // The execution itself is still known (Athena keeps its history 45 days).
    const { QueryExecution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    expect(QueryExecution?.Status?.State).toBe('SUCCEEDED');
  });

  it('does not return the execution parameters with the execution, as the API reference says', async () => {
    const execution = await run('SELECT ? AS s', [`'x'`]);
    expect(execution.Query).toBe('SELECT ? AS s');
    expect(execution.ExecutionParameters).toBeUndefined();
  });

  it('a statement that reads no table scans nothing, whatever the cutoff', async () => {
    athena.setWorkGroup('tiny', { outputLocation: 's3://results/tiny/', bytesScannedCutoffPerQuery: 0 });
    const { QueryExecutionId } = await client.send(
      new StartQueryExecutionCommand({ QueryString: `SELECT 1`, WorkGroup: 'tiny' }),
    );
    let execution;
    do {
      ({ QueryExecution: execution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId })));
    } while (execution?.Status?.State === 'QUEUED' || execution?.Status?.State === 'RUNNING');
    // SELECT 1 reads no table: nothing scanned, nothing over the cutoff.
    expect(execution?.Status?.State).toBe('SUCCEEDED');
    expect(execution?.Statistics?.DataScannedInBytes).toBe(0);
  });
});
