/**
 * The Logs Insights evaluator on its own (the endpoint tests cover it through the SDK): boolean
 * logic checked against a direct JavaScript reading of random expressions, and lexical corners.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  compileQuery,
  evaluateQuery,
  eventRow,
  FLOW_LOG_V2_FIELDS,
  QueryCompileError,
  type StoredEvent,
} from '../support/logs-insights-query';

const T0 = Date.UTC(2024, 4, 1, 10);

function stored(message: string, timestamp = T0, index = 0): StoredEvent {
  return { timestamp, message, ptr: `p${index}`, messageBytes: Buffer.byteLength(message) };
}

function run(query: string, events: StoredEvent[], rowLimit = 10_000): Record<string, string>[] {
  const result = evaluateQuery(compileQuery(query, FLOW_LOG_V2_FIELDS), events.map(eventRow), rowLimit);
  return result.rows.map((row) => Object.fromEntries(row.map((cell) => [cell.field, cell.value])));
}

// Random flow records over a small address space, so that filters hit and miss.
const addressArb = fc.oneof(
  fc.constantFrom('10.0.0.1', '10.200.3.4', '172.16.9.9', '192.168.1.20', '8.8.8.8', '1.2.3.4', '-'),
  fc.constantFrom('fd00::1', 'fd12:3456::9', '2001:db8::1', '::ffff:10.0.0.1'),
);
const recordArb = fc.record({
  src: addressArb,
  dst: addressArb,
  port: fc.constantFrom('22', '443', '8080', '-'),
  action: fc.constantFrom('ACCEPT', 'REJECT', '-'),
});
type FlowRecord = { src: string; dst: string; port: string; action: string };

const line = (r: FlowRecord) =>
  `2 123456789012 eni-1 ${r.src} ${r.dst} 1234 ${r.port} 6 1 40 100 160 ${r.action} ${r.action === '-' ? 'NODATA' : 'OK'}`;

// Random filter expressions with their direct meaning.
interface Expression {
  text: string;
  holds(r: FlowRecord): boolean;
}

function inSubnet(address: string, cidr: string): boolean {
  if (!ipaddr.isValid(address) || (address.split('.').length !== 4 && !address.includes(':'))) return false;
  const parsed = ipaddr.parse(address);
  const [range, bits] = ipaddr.parseCIDR(cidr);
  return parsed.kind() === range.kind() && parsed.match(range, bits);
}

const leafArb: fc.Arbitrary<Expression> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('srcAddr', 'dstAddr'),
      fc.constantFrom('10.0.0.0/8', '172.16.0.0/12', 'fd00::/8', '0.0.0.0/0', '::/0'),
    )
    .map(([field, cidr]) => ({
      text: `isIpInSubnet(${field}, "${cidr}")`,
      holds: (r: FlowRecord) => inSubnet(field === 'srcAddr' ? r.src : r.dst, cidr),
    })),
  fc.constantFrom('ACCEPT', 'REJECT').map((value) => ({
    text: `action = "${value}"`,
    holds: (r: FlowRecord) => r.action === value,
  })),
  fc.constantFrom(22, 443, 1000).map((port) => ({
    text: `dstPort >= ${port}`,
    holds: (r: FlowRecord) => r.port !== '-' && Number(r.port) >= port,
  })),
  fc.subarray(['22', '443', '8080'], { minLength: 1 }).map((ports) => ({
    text: `dstPort in [${ports.join(', ')}]`,
    holds: (r: FlowRecord) => ports.includes(r.port),
  })),
);

const expressionArb: fc.Arbitrary<Expression> = fc.letrec<{ expr: Expression }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    tie('expr').map((e) => ({ text: `not ${e.text}`, holds: (r: FlowRecord) => !e.holds(r) })),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => ({
      text: `(${a.text} and ${b.text})`,
      holds: (r: FlowRecord) => a.holds(r) && b.holds(r),
    })),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => ({
      text: `(${a.text} or ${b.text})`,
      holds: (r: FlowRecord) => a.holds(r) || b.holds(r),
    })),
  ),
})).expr;

describe('Logs Insights evaluator', () => {
  it('filters exactly the records a direct reading of the expression selects', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 30 }), expressionArb, (records, expression) => {
        const events = records.map((r, i) => stored(line(r), T0 + i, i));
        const rows = run(`filter ${expression.text} | fields @message | sort @timestamp asc`, events);
        expect(rows.map((row) => row['@message'])).toEqual(records.filter(expression.holds).map(line));
      }),
      { numRuns: 300 },
    );
  });

  it('reads unparenthesised not/and/or with not binding tightest and or loosest', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 20 }), leafArb, leafArb, leafArb, (records, a, b, c) => {
        const events = records.map((r, i) => stored(line(r), T0 + i, i));
        const rows = run(
          `filter not ${a.text} or ${b.text} and ${c.text} | fields @message | sort @timestamp asc`,
          events,
        );
        const expected = records.filter((r) => !a.holds(r) || (b.holds(r) && c.holds(r)));
        expect(rows.map((row) => row['@message'])).toEqual(expected.map(line));
      }),
      { numRuns: 200 },
    );
  });

  it('counts per source exactly, whatever the record order', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 40 }), (records) => {
        const events = records.map((r, i) => stored(line(r), T0 + i * 1000, i));
        const rows = run('stats count(*) as n, count_distinct(dstAddr) as d by srcAddr', events);
        const expected = new Map<string, { n: number; d: Set<string> }>();
        for (const r of records) {
          const entry = expected.get(r.src) ?? { n: 0, d: new Set<string>() };
          entry.n += 1;
          entry.d.add(r.dst);
          expected.set(r.src, entry);
        }
        expect(new Map(rows.map((row) => [row.srcAddr, { n: Number(row.n), d: Number(row.d) }]))).toEqual(
          new Map([...expected].map(([src, { n, d }]) => [src, { n, d: d.size }])),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('unescapes quotes in string literals and treats glob pattern text literally', () => {
    // Prepare
    const events = [stored('say "hi" [x] (y) a.b', T0, 0), stored('say hi [x] (y) a.b', T0 + 1, 1)];

    // Act
    const quoted = run('filter @message like "\\"hi\\"" | fields @message', events);
    const single = run('filter @message like \'say "hi"\' | fields @message', events);
    const parsed = run(
      'parse @message "[*] (*) *" as x, y, rest | filter ispresent(x) | display x, y, rest',
      events,
    );

    // Assess
    expect(quoted.map((r) => r['@message'])).toEqual(['say "hi" [x] (y) a.b']);
    expect(single).toEqual(quoted);
    expect(parsed).toEqual([
      { x: 'x', y: 'y', rest: 'a.b', '@ptr': 'p0' },
      { x: 'x', y: 'y', rest: 'a.b', '@ptr': 'p1' },
    ]);
  });

  it('reads command and keyword names in any case', () => {
    const events = [stored(line({ src: '10.0.0.1', dst: '8.8.8.8', port: '443', action: 'REJECT' }))];
    expect(
      run('FILTER action = "REJECT" AND NOT dstPort = 22 | STATS COUNT(*) AS n BY srcAddr', events),
    ).toEqual([{ srcAddr: '10.0.0.1', n: '1' }]);
  });

  it('defaults event rows to @timestamp and @message, newest first as given, and caps them at the row limit', () => {
    // Prepare: the endpoint passes events newest first
    const events = [stored('b', T0 + 1000, 1), stored('a', T0, 0)];

    // Act
    const rows = run('filter @message like ""', events, 1);

    // Assess
    expect(rows).toEqual([{ '@timestamp': '2024-05-01 10:00:01.000', '@message': 'b', '@ptr': 'p1' }]);
  });

  it('does arithmetic with * / % before + -, left to right, and tells subtraction from a negative number', () => {
    // Prepare
    const events = [stored(line({ src: '10.0.0.1', dst: '8.8.8.8', port: '443', action: 'REJECT' }))];

    // Act
    const [row] = run(
      'fields 2 + 3 * 4 as a, 10 - 4 - 3 as b, bytes - 40 as c, 7 % 4 as d, 9 / 2 as e, 1 - -1 as f, 5 / 0 as g',
      events,
    );
    const filtered = run('filter bytes - 30 > 5 and dstPort / 443 = 1 | stats count(*) as n', events);

    // Assess
    expect(row).toMatchObject({ a: '14', b: '3', c: '0', d: '3', e: '4.5', f: '2' });
    expect(row).not.toHaveProperty('g');
    expect(filtered).toEqual([{ n: '1' }]);
  });

  it('refuses a computed field without a name', () => {
    expect(() => compileQuery('fields bytes - 40', FLOW_LOG_V2_FIELDS)).toThrow(QueryCompileError);
  });

  it('treats an IPv4-mapped IPv6 address as IPv6: in no IPv4 subnet, in the IPv6 subnets that hold it', () => {
    // Prepare: ::ffff:10.0.0.1 is IPv6 text for the IPv4 address 10.0.0.1
    const events = [stored(line({ src: '::ffff:10.0.0.1', dst: '8.8.8.8', port: '443', action: 'REJECT' }))];
    const holds = (condition: string) =>
      run(`filter ${condition} | stats count(*) as n`, events)[0]?.n === '1';

    // Act & Assess
    expect(holds('isIpInSubnet(srcAddr, "10.0.0.0/8")')).toBe(false);
    expect(holds('isIpInSubnet(srcAddr, "0.0.0.0/0")')).toBe(false);
    expect(holds('isIpv4InSubnet(srcAddr, "10.0.0.0/8")')).toBe(false);
    expect(holds('isValidIpV4(srcAddr)')).toBe(false);
    expect(holds('isValidIpV6(srcAddr)')).toBe(true);
    expect(holds('isIpInSubnet(srcAddr, "::ffff:0:0/96")')).toBe(true);
    expect(holds('isIpv6InSubnet(srcAddr, "::ffff:10.0.0.0/104")')).toBe(true);
    expect(holds('isIpInSubnet(srcAddr, "::/0")')).toBe(true);
  });

  it('discovers flow log fields only in 14-token version 2 messages', () => {
    const events = [
      stored(line({ src: '10.0.0.1', dst: '8.8.8.8', port: '443', action: 'REJECT' }), T0, 0),
      stored(`3 ${line({ src: '10.0.0.2', dst: '8.8.8.8', port: '443', action: 'REJECT' }).slice(2)}`, T0, 1),
      stored('2 too short', T0, 2),
    ];
    expect(run('filter ispresent(srcAddr) | display srcAddr', events)).toEqual([
      { srcAddr: '10.0.0.1', '@ptr': 'p0' },
    ]);
  });

  it.each([
    ['filter srcAddr = "x" | ', 'a "|" must be followed by a command'],
    ['stats count(*) as n by bin(0m)', 'invalid bin width'],
    ['parse @message "a**b" as x, y', 'ambiguous'],
    ['filter dstPort in [443, srcPort]', 'expected a string or number literal'],
  ])('explains why %s is rejected', (query, reason) => {
    expect(() => compileQuery(query, FLOW_LOG_V2_FIELDS)).toThrow(QueryCompileError);
    expect(() => compileQuery(query, FLOW_LOG_V2_FIELDS)).toThrow(reason);
  });
});
