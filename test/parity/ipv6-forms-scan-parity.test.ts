/**
 * One IPv6 address written two ways is two sources (docs/design.md, sources and accounts: the
 * address is kept as the record writes it), and an alert's destinations and interfaces are its
 * own source's. The Lambda's details query matches an IPv6 source by a `/128` subnet test, which
 * takes in the other forms' records too; their rows are dropped by key, unless the result reaches
 * the row limit: then the source is taken for one with more destinations than a query returns (a
 * scan) and its top destinations, total and interfaces are read by queries that do not group by
 * address, so they are the other form's. The replay keeps each form's own.
 *
 * Found by the randomized parity fuzzer (test/parity/fuzz-parity.test.ts, with a lowered row
 * limit); shown here at the Lambda's own row limit.
 */
import { DEFAULT_ROW_LIMIT } from '../../lambda/adapters/logs-insights-flow-source';
import { withEndpoints, type Endpoints } from '../e2e/harness';
import { blockedLines, runParityCase, v2Line } from './parity';

const HOUR = 3_600_000;
const D0 = Date.parse('2026-11-24T00:00:00Z');

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

describe('an IPv6 address written two ways, one form sending to as many destinations as a query returns rows', () => {
  it("the other form's alert has its own one destination and interface in both", async () => {
    // Prepare: at 02:00 `fd00:1::5` sends 20 records to one destination; `fd00:1:0:0:0:0:0:5` (the
    // same address, written out) sends one record to each of DEFAULT_ROW_LIMIT destinations
    const hour = D0 + 2 * HOUR;
    const lines = [
      ...blockedLines(D0, '10.0.1.1', 5, 2),
      ...Array.from({ length: 20 }, (_, i) =>
        v2Line({ at: hour + i * 60_000, src: 'fd00:1::5', dst: '2001:db8::1' }),
      ),
      ...Array.from({ length: DEFAULT_ROW_LIMIT }, (_, i) =>
        v2Line({
          at: hour + (i % 3600) * 1000,
          src: 'fd00:1:0:0:0:0:0:5',
          dst: `2001:db8:1::${(i + 1).toString(16)}`,
        }),
      ),
      ...blockedLines(D0 + 3 * HOUR, '10.0.1.1', 5, 2),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'ipv6-forms-scan',
      files: [{ name: 'f.log', lines }],
      config: { newSourceMinCount: 10, internalCidrs: ['10.0.0.0/8', 'fd00::/8'] },
    });

    // Assess: the replay's alert of `fd00:1::5` is about its own records
    const of = (side: 'replay' | 'lambda') => result[side].find((a) => a.source === 'fd00:1::5');
    expect(of('replay')?.content.details).toEqual({
      totalDestinations: 1,
      topDestinations: ['2001:db8::1 443/6 x20'],
      interfaceIds: [expect.stringMatching(/^eni-/)],
    });
    // ...and so is the Lambda's (it says 100,000 destinations, the other form's, and its interface)
    expect(of('lambda')).toEqual(of('replay'));
  }, 180_000);
});
