/**
 * The Athena SQL builder: values reach the query only as execution parameters or validated
 * integers, and each window's query names only the partitions its records can be in.
 */
import { AthenaQueryBuilder } from '../../lambda/adapters/athena-query';
import { AthenaTableError } from '../../lambda/adapters/athena-table';
import { QueryInjectionError } from '../../lambda/adapters/errors';
import { resolveDetectorConfig } from '../../lambda/core';

const HOUR = 3_600_000;
const W = Date.parse('2026-11-24T23:00:00Z');
const TABLE = {
  kind: 'flow-logs' as const,
  database: 'flows',
  table: 'vpc_flow_logs',
  hourlyPartitions: true,
};

describe('AthenaQueryBuilder', () => {
  it('puts every CIDR and address in as an execution parameter, one per placeholder', () => {
    const builder = new AthenaQueryBuilder(
      resolveDetectorConfig({ internalCidrs: ['10.0.0.0/8', 'fd00::/8'] }),
      TABLE,
    );
    const query = builder.detailsQuery({ start: W, end: W + HOUR }, ['10.0.0.5', 'fd00::5']);
    expect(query.sql).not.toMatch(/10\.0\.0\.|fd00/);
    expect(query.parameters).toEqual(
      expect.arrayContaining(["'10.0.0.0/8'", "'fd00::/8'", "'10.0.0.5'", "'fd00::5'"]),
    );
    expect(query.sql.split('?').length - 1).toBe(query.parameters.length);
  });

  it.each([["10.0.0.5') OR (1=1"], ["10.0.0.5' --"], ['010.0.0.5'], ['fe80::1%eth0']])(
    'refuses the source %j before building a query',
    (value) => {
      const builder = new AthenaQueryBuilder(resolveDetectorConfig({}), TABLE);
      expect(() => builder.detailsQuery({ start: W, end: W + HOUR }, [value])).toThrow(QueryInjectionError);
    },
  );

  it("refuses a table or database name outside Glue's grammar", () => {
    expect(
      () =>
        new AthenaQueryBuilder(resolveDetectorConfig({}), { ...TABLE, table: 'flows"; DROP TABLE x; --' }),
    ).toThrow(AthenaTableError);
  });

  it('names the hours from the window to its end plus the delivery allowance, across midnight', () => {
    const builder = new AthenaQueryBuilder(resolveDetectorConfig({ lagMinutes: 20 }), TABLE);
    const query = builder.countQuery({ start: W, end: W + HOUR });
    // 23:00-24:00 on the 24th, and 00:00-00:29 on the 25th: hour 23 of one day, hour 00 of the next.
    expect(query.sql).toContain(
      '((year = ? AND month = ? AND day = ? AND hour BETWEEN ? AND ?) OR (year = ? AND month = ? AND day = ? AND hour BETWEEN ? AND ?))',
    );
    expect(query.parameters.slice(0, 10)).toEqual([
      "'2026'",
      "'11'",
      "'24'",
      "'23'",
      "'23'",
      "'2026'",
      "'11'",
      "'25'",
      "'00'",
      "'00'",
    ]);
    expect(query.sql).toContain(`start >= ${W / 1000} AND start < ${(W + HOUR) / 1000}`);
  });

  it('bounds time_dt and time (ms) for Security Lake', () => {
    const builder = new AthenaQueryBuilder(resolveDetectorConfig({}), {
      kind: 'security-lake',
      database: 'amazon_security_lake_glue_db_us_east_1',
      table: 'amazon_security_lake_table_us_east_1_vpc_flow_2_0',
    });
    const query = builder.countQuery({ start: W, end: W + HOUR });
    expect(query.sql).toContain(
      "time_dt >= TIMESTAMP '2026-11-24 23:00:00.000' AND time_dt < TIMESTAMP '2026-11-25 00:00:00.000'",
    );
    expect(query.sql).toContain(`time >= ${W} AND time < ${W + HOUR}`);
    expect(query.sql).toContain('action_id = 2');
  });
});
