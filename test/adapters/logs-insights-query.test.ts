import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { QueryInjectionError, QueryTooLongError } from '../../lambda/adapters/errors';
import {
  accountNarrowings,
  NO_ACCOUNT,
  FlowQueryBuilder,
  historyBinMinutes,
  MAX_QUERY_LENGTH,
  queryTimeRange,
  splitCidr,
  splitNarrowing,
  type Narrowing,
  validatedCidr,
  validatedIp,
} from '../../lambda/adapters/logs-insights-query';
import { resolveDetectorConfig, type DetectorConfigInput } from '../../lambda/core';

const builder = (input: DetectorConfigInput = {}): FlowQueryBuilder =>
  new FlowQueryBuilder(resolveDetectorConfig(input));

/** A config that bypasses the zod schema, as a hand-built or tampered config would. */
const rawBuilder = (overrides: Record<string, unknown>): FlowQueryBuilder =>
  new FlowQueryBuilder({ ...resolveDetectorConfig({}), ...overrides } as never);

/**
 * Every quoted literal in an emitted query must be one this module produces: a canonical CIDR,
 * a plain IPv4 address, a status keyword, or the parse glob. Outside the quotes only identifiers,
 * operators and punctuation of the query language may appear.
 */
function expectOnlySafeText(query: string): void {
  const literals = query.match(/"[^"]*"/g) ?? [];
  for (const literal of literals) {
    expect(literal).toMatch(
      /^"([0-9a-f:.]+\/\d{1,3}|\d{1,3}(\.\d{1,3}){3}|\d{12}|vpc-[0-9a-f]+|REJECT|OK|SKIPDATA|\*( \*)*)"$/,
    );
  }
  // The one regex literal the module writes: "names no 12-digit account" (a source of no account).
  const outside = query.replace(/"[^"]*"/g, '""').replaceAll('/^[0-9]{12}$/', '//');
  expect(outside).toMatch(/^[A-Za-z0-9@_ (),|*=[\]"/-]+$/);
  expect(outside).not.toContain('`');
  expect(outside).not.toContain('#');
}

describe('FlowQueryBuilder, default (v2) format', () => {
  it('counts REJECT/OK internal->external records per source and surfaces SKIPDATA under one group', () => {
    // Act
    const query = builder().countQuery();
    // Assess: the fields parsed from @message (Logs Insights discovers them only in Standard-class
    // log groups), named as the discovered ones
    expect(query).toBe(
      'parse @message "* * * * * * * * * * * * * *" as flowVersion, flowAccountId, flowInterfaceId, flowSrcAddr, flowDstAddr, ' +
        'flowSrcPort, flowDstPort, flowProtocol, flowPackets, flowBytes, flowStartTime, flowEndTime, flowAction, flowLogStatus | ' +
        'filter flowLogStatus = "SKIPDATA" or (flowAction = "REJECT" and flowLogStatus = "OK" and ' +
        '(isIpInSubnet(flowSrcAddr, "10.0.0.0/8") or isIpInSubnet(flowSrcAddr, "172.16.0.0/12") or ' +
        'isIpInSubnet(flowSrcAddr, "192.168.0.0/16")) and isValidIp(flowDstAddr) and not isIpInSubnet(flowDstAddr, "10.0.0.0/8") and ' +
        'not isIpInSubnet(flowDstAddr, "172.16.0.0/12") and not isIpInSubnet(flowDstAddr, "192.168.0.0/16")) | ' +
        'fields toMillis(@ingestionTime) - toMillis(@timestamp) as deliveryDelayMs | ' +
        'stats count(*) as blockedCount, count_distinct(flowDstAddr) as uniqueDestinations, ' +
        'max(deliveryDelayMs) as maxDeliveryDelayMs, max(flowEndTime) as lastEnd by flowAccountId, flowSrcAddr',
    );
    expectOnlySafeText(query);
  });

  it('adds exclusions as negated subnet tests on the right field', () => {
    const query = builder({
      excludeSourceCidrs: ['10.9.0.0/16'],
      excludeDestinationCidrs: ['52.94.0.0/16', '2600:1f00::/24'],
    }).countQuery();
    expect(query).toContain('and not isIpInSubnet(flowSrcAddr, "10.9.0.0/16")');
    expect(query).toContain('and not isIpInSubnet(flowDstAddr, "52.94.0.0/16")');
    expect(query).toContain('and not isIpInSubnet(flowDstAddr, "2600:1f00::/24")');
    expectOnlySafeText(query);
  });

  it('puts IPv6 ranges in canonical text', () => {
    const query = builder({ internalCidrs: ['10.0.0.0/8', 'FD00:0:0::/8', '2001:DB8:0::/32'] }).countQuery();
    expect(query).toContain('isIpInSubnet(flowSrcAddr, "fd00::/8")');
    expect(query).toContain('not isIpInSubnet(flowDstAddr, "2001:db8::/32")');
    expect(query).not.toMatch(/DB8|FD00/);
  });

  it('builds the history query with one bin per window', () => {
    const query = builder({ windowMinutes: 15 }).historyQuery();
    expect(query).toMatch(
      /^parse @message "[* ]+" as [a-zA-Z, ]+ \| filter flowLogStatus = "SKIPDATA" or \(flowAction = "REJECT"/,
    );
    expect(query).toMatch(
      /\| stats count\(\*\) as blockedCount, max\(flowEndTime\) as lastEnd by bin\(15m\) as windowBin, flowAccountId, flowSrcAddr$/,
    );
  });

  it('bins whole-hour windows in hours and others in parts that divide the hour (Logs Insights caps m at 60, h at 24)', () => {
    const periodOf = (windowMinutes: number) =>
      / by bin\((\w+)\) as windowBin/.exec(builder({ windowMinutes }).historyQuery())?.[1];
    expect(periodOf(60)).toBe('60m');
    expect(periodOf(15)).toBe('15m');
    expect(periodOf(45)).toBe('15m');
    expect(periodOf(120)).toBe('2h');
    expect(periodOf(1440)).toBe('24h');
    expect(periodOf(72)).toBe('12m');
    expect(periodOf(90)).toBe('30m');
    expect(periodOf(160)).toBe('20m');
    // Every window length the configuration allows (a divisor of a day): a period within the caps
    // that divides the window (its bins add up to whole windows) and either divides the hour or is
    // whole hours (bins start alike aligned to the epoch or to the hour).
    for (let windowMinutes = 1; windowMinutes <= 1440; windowMinutes += 1) {
      if (1440 % windowMinutes !== 0) continue;
      const bin = historyBinMinutes(windowMinutes);
      expect(windowMinutes % bin).toBe(0);
      expect(60 % bin === 0 || (bin % 60 === 0 && bin <= 1440)).toBe(true);
      if (60 % windowMinutes === 0 || windowMinutes % 60 === 0) expect(bin).toBe(windowMinutes);
    }
  });

  it('builds the details query for IPv4 sources by text and IPv6 sources by /128, each within its account (or none)', () => {
    const query = builder({ internalCidrs: ['10.0.0.0/8', 'fd00::/8'] }).detailsQuery([
      '111111111111|10.0.0.1',
      '222222222222|10.0.0.1',
      '111111111111|10.0.0.2',
      '111111111111|fd00:0:0:0::1',
      '-|10.0.0.3',
    ]);
    expect(query).toContain(
      'and ((flowAccountId in ["111111111111"] and (flowSrcAddr in ["10.0.0.1", "10.0.0.2"] or isIpInSubnet(flowSrcAddr, "fd00::1/128"))) ' +
        'or (flowAccountId in ["222222222222"] and (flowSrcAddr in ["10.0.0.1"])) ' +
        // A source of no account: the records that name none (not the same address in an account).
        'or (not (flowAccountId like /^[0-9]{12}$/) and (flowSrcAddr in ["10.0.0.3"])))',
    );
    expect(query).toMatch(
      /\| stats count\(\*\) as n by flowAccountId, flowSrcAddr, flowDstAddr, flowDstPort, flowProtocol, flowInterfaceId \| sort n desc$/,
    );
    // Details describe what was counted: no SKIPDATA group.
    expect(query).not.toContain('SKIPDATA');
    expectOnlySafeText(query);
  });

  it('puts the narrowing inside the counting part so narrowed queries still report SKIPDATA', () => {
    const query = builder().countQuery({ field: 'srcAddr', cidr: '10.0.0.0/9' });
    expect(query).toMatch(
      /^parse @message "[* ]+" as [a-zA-Z, ]+ \| filter flowLogStatus = "SKIPDATA" or \(.* and isIpInSubnet\(flowSrcAddr, "10\.0\.0\.0\/9"\)\) \| fields /,
    );
    const details = builder().detailsQuery(['-|10.0.0.1'], { field: 'dstAddr', cidr: '128.0.0.0/1' });
    expect(details).toContain(
      'and isIpInSubnet(flowDstAddr, "128.0.0.0/1") and ((not (flowAccountId like /^[0-9]{12}$/) and (flowSrcAddr in ["10.0.0.1"])))',
    );
  });
});

describe('FlowQueryBuilder, custom formats', () => {
  it('parses @message with one glob per field, named apart from the fields Logs Insights discovers', () => {
    const b = builder({
      flowLogFormat:
        '${version} ${vpc-id} ${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${start} ${action} ${log-status} ${pkt-srcaddr}',
    });
    const query = b.countQuery();
    expect(
      query.startsWith(
        'parse @message "* * * * * * * * * * *" as flowVersion, flowVpcId, flowInterfaceId, flowSrcAddr, flowDstAddr, flowDstPort, ' +
          'flowProtocol, flowStartTime, flowAction, flowLogStatus, flowPktSrcaddr | filter flowLogStatus = "SKIPDATA" or (',
      ),
    ).toBe(true);
    expect(b.customFormat).toBe(true);
    expectOnlySafeText(query);
  });

  it('groups and filters by VPC too when the format has vpc-id', () => {
    const b = builder({ flowLogFormat: 'version account-id vpc-id srcaddr dstaddr action start log-status' });
    expect(b.countQuery()).toMatch(/ by flowAccountId, flowVpcId, flowSrcAddr$/);
    expect(b.historyQuery()).toMatch(/ by bin\(60m\) as windowBin, flowAccountId, flowVpcId, flowSrcAddr$/);
    const details = b.detailsQuery(['111111111111|vpc-0a1b|10.0.0.1', '111111111111|10.0.0.2']);
    expect(details).toContain(
      'and ((flowAccountId in ["111111111111"] and flowVpcId in ["vpc-0a1b"] and (flowSrcAddr in ["10.0.0.1"])) ' +
        'or (flowAccountId in ["111111111111"] and (flowSrcAddr in ["10.0.0.2"])))',
    );
    expect(details).toContain('by flowAccountId, flowVpcId, flowSrcAddr, flowDstAddr');
    expectOnlySafeText(details);
  });

  it('reads result rows back as source keys', () => {
    const b = builder({ flowLogFormat: 'version account-id vpc-id srcaddr dstaddr action start log-status' });
    expect(b.rowKey({ flowAccountId: '111111111111', flowVpcId: 'vpc-0a1b', flowSrcAddr: '10.0.0.1' })).toBe(
      '111111111111|vpc-0a1b|10.0.0.1',
    );
    expect(b.rowKey({ flowAccountId: 'unknown', flowVpcId: '-', flowSrcAddr: 'FD00:0::1' })).toBe(
      '-|FD00:0::1',
    );
    expect(b.rowKey({ flowAccountId: 'unknown', flowVpcId: '-', flowSrcAddr: 'FD00:0::1' }, true)).toBe(
      '-|fd00::1',
    );
    expect(b.rowKey({ flowAccountId: '111111111111', flowSrcAddr: '-' })).toBeUndefined();
    expect(
      builder({ flowLogFormat: 'srcaddr dstaddr action start' }).rowKey({ flowSrcAddr: '10.0.0.1' }),
    ).toBe('-|10.0.0.1');
  });

  it('drops the log-status terms and missing detail columns when the format lacks them', () => {
    const b = builder({ flowLogFormat: 'srcaddr dstaddr action start' });
    const count = b.countQuery();
    expect(count).not.toContain('flowLogStatus');
    // No SKIPDATA to carry forward without log-status or end.
    expect(count).not.toContain('lastEnd');
    expect(builder({ flowLogFormat: 'srcaddr dstaddr action start log-status' }).historyQuery()).toMatch(
      /stats count\(\*\) as blockedCount by bin/,
    );
    expect(count).toMatch(
      /^parse @message "\* \* \* \*" as flowSrcAddr, flowDstAddr, flowAction, flowStartTime \| filter flowAction = "REJECT" and \(/,
    );
    expect(b.detailsQuery(['-|10.1.2.3'])).toMatch(
      /stats count\(\*\) as n by flowSrcAddr, flowDstAddr \| sort n desc$/,
    );
    // A format without account-id knows no account: a key's account is not put into the query.
    expect(b.detailsQuery(['111111111111|10.1.2.3'])).not.toContain('flowAccountId');
    expect(b.fields).toEqual({ srcAddr: 'flowSrcAddr', dstAddr: 'flowDstAddr', action: 'flowAction' });
  });
});

describe('injection attempts are rejected before any query is built', () => {
  it.each([
    ['internalCidrs', ['10.0.0.0/8") | stats count(*) by @message #']],
    ['internalCidrs', ['10.0.0.0/8" or "1"="1']],
    ['internalCidrs', ['10.0.0.1/8']],
    ['excludeSourceCidrs', ['10.0.0.0/8\n| display @message']],
    ['excludeDestinationCidrs', ['::/0") or isIpInSubnet(flowSrcAddr, "::/0']],
    ['internalCidrs', [42]],
    ['flowLogFormat', 'version src`addr dstaddr action start'],
    ['flowLogFormat', 'srcaddr dstaddr action start `@message`'],
    ['flowLogFormat', 'srcaddr dstaddr action start" | filter 1=1 #'],
  ])('config %s = %j', (field, value) => {
    expect(() => rawBuilder({ [field]: value })).toThrow(QueryInjectionError);
  });

  it.each([
    '10.0.0.1"] or action = "ACCEPT',
    "10.0.0.1'",
    '10.0.0.1" | stats count(*) by @message',
    '0x0a.0.0.1',
    '010.0.0.1',
    '10.1',
    'fe80::1%eth0',
    '::ffff:10.0.0.1"',
    '',
    '-',
  ])('details source %j', (srcIp) => {
    const b = builder();
    expect(() => b.detailsQuery(['-|10.0.0.9', `111111111111|${srcIp}`])).toThrow(QueryInjectionError);
    expect(() => b.detailsQueries([`111111111111|${srcIp}`])).toThrow(QueryInjectionError);
  });

  it.each([
    '10.0.0.9',
    '11111111111|10.0.0.9',
    '111111111111"]) or ("|10.0.0.9',
    '111111111111|vpc-1"]|10.0.0.9',
    '111111111111|VPC-1|10.0.0.9',
  ])('details source key %j', (key) => {
    expect(() => builder().detailsQuery([key])).toThrow(QueryInjectionError);
  });

  it('rejects a narrowing CIDR that is not canonical text', () => {
    expect(() => builder().countQuery({ field: 'srcAddr', cidr: '10.0.0.0/9") or ("' })).toThrow(
      QueryInjectionError,
    );
  });

  it('names the rejected value in the error', () => {
    expect(() => validatedIp('10.0.0.1" or 1=1')).toThrow(/IP address "10\.0\.0\.1\\" or 1=1"/);
    expect(() => validatedCidr('10.0.0.0/33')).toThrow(/CIDR "10\.0\.0\.0\/33"/);
  });

  it('never emits unvalidated text for arbitrary source strings (property)', () => {
    const b = builder({ internalCidrs: ['10.0.0.0/8', 'fd00::/8'] });
    const candidate = fc.oneof(
      fc.string(),
      fc.ipV4().map((ip) => `${ip}${'"'}`),
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4Extended(),
    );
    const account = fc.oneof(
      { arbitrary: fc.constant('-'), weight: 2 },
      { arbitrary: fc.stringMatching(/^\d{12}$/), weight: 2 },
      { arbitrary: fc.string(), weight: 1 },
    );
    const key = fc.tuple(account, candidate).map(([a, c]) => `${a}|${c}`);
    let built = 0;
    const keysArb = fc.array(fc.oneof({ arbitrary: key, weight: 4 }, { arbitrary: fc.string(), weight: 1 }), {
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(keysArb, (keys) => {
        let query: string;
        try {
          query = b.detailsQuery(keys);
        } catch (error) {
          expect(error).toBeInstanceOf(QueryInjectionError);
          // Rejected only for a reason: some key is not an account (or -) and plain address text.
          expect(keys.some((key) => !isPlainKey(key))).toBe(true);
          return;
        }
        built += 1;
        expectOnlySafeText(query);
      }),
      { numRuns: 500 },
    );
    // A builder that rejected everything would pass the property: it must have built queries.
    expect(built).toBeGreaterThan(20); // about 45 expected
  });
});

/** IPv6 text the builder takes: hex digits, colons and dots only, and valid (no zone id). */
const isPlainIpv6 = (text: string): boolean => /^[0-9A-Fa-f:.]+$/.test(text) && ipaddr.IPv6.isValid(text);
/** A source key the builder takes: an account id (12 digits) or `-`, `|`, plain IPv4 or IPv6 text. */
const isPlainKey = (key: string): boolean => {
  const parts = key.split('|');
  if (parts.length !== 2 || !/^(-|\d{12})$/.test(parts[0]!)) return false;
  return ipaddr.IPv4.isValidFourPartDecimal(parts[1]!) || isPlainIpv6(parts[1]!);
};

describe('the 10,000-character bound', () => {
  it('cuts a long source list into details queries that each fit, keeping every source once', () => {
    // Prepare
    const b = builder({ internalCidrs: ['10.0.0.0/8', 'fd00::/8'] });
    const account = (i: number) => `${String(100000000000 + (i % 7))}`;
    const v4 = Array.from({ length: 1500 }, (_, i) => `${account(i)}|10.${i >> 8}.${i & 255}.7`);
    const v6 = Array.from(
      { length: 300 },
      (_, i) => `${i % 3 === 0 ? '-' : account(i)}|fd00::${i.toString(16)}:1`,
    );
    const sources = [...v4, ...v6];
    // Act
    const chunks = b.detailsQueries(sources);
    // Assess
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.query.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
      expect(chunk.query).toBe(b.detailsQuery(chunk.srcIps));
    }
    expect(chunks.flatMap((c) => c.srcIps)).toEqual(sources);
    // Chunks are filled, not cut early: adding the next source would overflow.
    const first = chunks[0]!;
    expect(() => b.detailsQuery([...first.srcIps, chunks[1]!.srcIps[0]!])).toThrow(QueryTooLongError);
  });

  it('refuses CIDR lists too long for any query, at construction', () => {
    const internalCidrs = Array.from({ length: 150 }, (_, i) => `10.${i}.0.0/16`);
    expect(() => builder({ internalCidrs })).toThrow(QueryTooLongError);
    expect(() => builder({ internalCidrs })).toThrow(
      /150 internal, 0 excluded source and 0 excluded destination CIDRs/,
    );
  });

  it('returns no details query for no sources', () => {
    expect(builder().detailsQueries([])).toEqual([]);
  });
});

describe('splitCidr', () => {
  it.each([
    ['10.0.0.0/8', ['10.0.0.0/9', '10.128.0.0/9']],
    ['172.16.0.0/12', ['172.16.0.0/13', '172.24.0.0/13']],
    ['0.0.0.0/0', ['0.0.0.0/1', '128.0.0.0/1']],
    ['10.0.0.254/31', ['10.0.0.254/32', '10.0.0.255/32']],
    ['fd00::/8', ['fd00::/9', 'fd80::/9']],
    ['::/0', ['::/1', '8000::/1']],
    ['2001:db8::/127', ['2001:db8::/128', '2001:db8::1/128']],
  ])('%s -> %j', (cidr, halves) => {
    expect(splitCidr(cidr)).toEqual(halves);
  });

  it.each(['10.0.0.1/32', 'fd00::1/128'])('cannot split the single address %s', (cidr) => {
    expect(splitCidr(cidr)).toBeUndefined();
  });

  it('halves are disjoint and cover the parent (property)', () => {
    const v4 = fc
      .tuple(fc.ipV4(), fc.integer({ min: 0, max: 31 }))
      .map(([ip, p]) => `${ipaddr.IPv4.networkAddressFromCIDR(`${ip}/${p}`).toString()}/${p}`);
    fc.assert(
      fc.property(v4, fc.ipV4(), (cidr, probe) => {
        const [low, high] = splitCidr(cidr)!;
        const inside = (c: string): boolean => ipaddr.parse(probe).match(ipaddr.parseCIDR(c));
        expect(Number(inside(low)) + Number(inside(high))).toBe(Number(inside(cidr)));
      }),
    );
  });
});

describe('splitNarrowing', () => {
  const src = (cidr: string, exclude?: string[]) => ({
    field: 'srcAddr' as const,
    cidr,
    ...(exclude ? { exclude } : {}),
  });

  it('halves a range whose seen sources are spread out', () => {
    expect(splitNarrowing(src('10.0.0.0/8'), ['10.1.2.3', '10.200.0.1', '-'])).toEqual([
      src('10.0.0.0/9'),
      src('10.128.0.0/9'),
    ]);
  });

  it('jumps to the common prefix of the seen sources, and queries the rest of the range once', () => {
    // Hosts of one IPv6 /64 share 120 bits: halving fd00::/8 would take 100+ levels.
    expect(splitNarrowing(src('fd00::/8'), ['fd00::1:10', 'fd00::1:22', 'fd00::1:3f'])).toEqual([
      src('fd00::1:0/123'),
      src('fd00::1:20/123'),
      src('fd00::/8', ['fd00::1:0/122']),
    ]);
  });

  it('carries exclusions into the halves that hold them and drops halves already queried', () => {
    const parent = src('10.0.0.0/8', ['10.0.0.0/24', '10.128.0.0/9']);
    expect(splitNarrowing(parent, ['10.9.0.1', '10.100.0.1', '10.200.0.1'])).toEqual([
      src('10.0.0.0/9', ['10.0.0.0/24']),
    ]);
  });

  it('ignores seen addresses outside the range or in its exclusions', () => {
    expect(
      splitNarrowing(src('10.0.0.0/8', ['10.5.0.0/16']), [
        '10.5.0.1',
        '10.5.0.2',
        '192.168.0.1',
        'fd00::1',
        '10.9.9.1',
      ]),
    ).toEqual([src('10.9.9.1/32'), src('10.0.0.0/8', ['10.5.0.0/16', '10.9.9.1/32'])]);
  });

  it('narrows a single address by account: ten parts a digit, the records of no account apart at the first', () => {
    const single = { field: 'srcAddr' as const, cidr: '10.0.0.5/32' };
    const first = accountNarrowings(single, true)!;
    expect(first.map((n) => n.accounts)).toEqual([...'0123456789'.split(''), NO_ACCOUNT]);
    expect(accountNarrowings({ ...single, accounts: '1234' }, true)!.map((n) => n.accounts)).toEqual(
      '0123456789'.split('').map((d) => `1234${d}`),
    );
    expect(accountNarrowings({ ...single, accounts: '123456789012' }, true)).toBeUndefined();
    expect(accountNarrowings({ ...single, accounts: NO_ACCOUNT }, true)).toBeUndefined();
    expect(accountNarrowings(single, false)).toBeUndefined();
    const query = new FlowQueryBuilder(resolveDetectorConfig({}));
    expect(query.countQuery({ ...single, accounts: '12' })).toContain(
      'isIpInSubnet(flowSrcAddr, "10.0.0.5/32") and flowAccountId like /^12/',
    );
    expect(query.countQuery({ ...single, accounts: NO_ACCOUNT })).toContain(
      'not (flowAccountId like /^[0-9]{12}$/)',
    );
    for (const bad of ['1/ or 1=1', '', '1234567890123', 'x']) {
      expect(() => query.countQuery({ ...single, accounts: bad })).toThrow(QueryInjectionError);
    }
  });

  it('cannot split a single address', () => {
    expect(splitNarrowing(src('10.0.0.1/32'), ['10.0.0.1'])).toBeUndefined();
  });

  it('children never overlap and cover the parent minus its exclusions (property)', () => {
    const inside = (address: string, n: { cidr: string; exclude?: readonly string[] }): boolean => {
      const a = ipaddr.parse(address);
      const match = (c: string): boolean =>
        a.kind() === ipaddr.parseCIDR(c)[0].kind() && a.match(ipaddr.parseCIDR(c));
      return match(n.cidr) && !(n.exclude ?? []).some(match);
    };
    const in10 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`);
    fc.assert(
      fc.property(
        fc.array(in10, { minLength: 1, maxLength: 8 }),
        in10,
        fc.array(in10, { maxLength: 3 }),
        (seen, probe, rounds) => {
          let narrowing: Narrowing = src('10.0.0.0/8');
          // Follow one branch a few levels deep so exclusions pile up.
          for (const next of rounds) {
            const children = splitNarrowing(narrowing, [next, ...seen]) ?? [];
            const holder = children.find((c) => inside(next, c));
            if (holder === undefined) break;
            narrowing = holder;
          }
          const children = splitNarrowing(narrowing, seen) ?? [];
          const holders = children.filter((c) => inside(probe, c)).length;
          expect(holders).toBe(inside(probe, narrowing) ? 1 : 0);
        },
      ),
    );
  });
});

describe('sourceSplitSpace', () => {
  it('drops duplicates and ranges inside others so split queries never count a source twice', () => {
    const b = builder({
      internalCidrs: ['10.0.0.0/8', '10.1.0.0/16', '192.168.0.0/16', 'fd00::/8', 'fd12::/16'],
    });
    expect(b.sourceSplitSpace()).toEqual(['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8']);
  });
});

describe('queryTimeRange', () => {
  it('makes [start, end) inclusive epoch seconds ending one second before the next window', () => {
    expect(queryTimeRange({ start: 1_700_000_000_000 - 3_600_000, end: 1_700_000_000_000 })).toEqual({
      startTime: 1_699_996_400,
      endTime: 1_699_999_999,
    });
  });

  it('rejects windows that are not whole seconds', () => {
    expect(() => queryTimeRange({ start: 1500, end: 3_600_000 })).toThrow(RangeError);
  });
});
