import {
  ADDRESS_COUNTS_AS_DESTINATION,
  ADDRESS_COUNTS_AS_SOURCE,
  ADDRESS_VALID,
  EgressFilter,
  InvalidAddressError,
  isValidAddress,
  parseAddress,
  parseCidr,
  parseIPv4Number,
  parseIPv6Groups,
} from '../../lambda/core/addresses';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { RFC1918_CIDRS } from '../../lambda/core/config';

const scope = (
  internalCidrs: string[] = [...RFC1918_CIDRS],
  excludeSourceCidrs: string[] = [],
  excludeDestinationCidrs: string[] = [],
) => new EgressFilter({ internalCidrs, excludeSourceCidrs, excludeDestinationCidrs });

describe('EgressFilter with the RFC 1918 default', () => {
  const filter = scope();

  it.each([
    ['10.1.2.3', '8.8.8.8', true],
    ['172.16.0.1', '1.1.1.1', true],
    ['172.31.255.255', '203.0.113.9', true],
    ['192.168.10.20', '52.94.1.1', true],
    ['10.1.2.3', '192.168.1.1', false], // internal -> internal
    ['8.8.8.8', '10.0.0.1', false], // inbound
    ['8.8.8.8', '1.1.1.1', false], // external -> external
    ['172.32.0.1', '8.8.8.8', false], // just outside 172.16.0.0/12
    ['100.64.1.1', '8.8.8.8', false], // CGNAT is not internal unless configured
    ['-', '8.8.8.8', false], // NODATA / SKIPDATA rows
    ['10.0.0.1', '-', false],
    ['', '8.8.8.8', false],
    ['10.0.0.256', '8.8.8.8', false],
    ['10.0.0', '8.8.8.8', false],
    ['10.0.0.1', 'not-an-ip', false],
    ['10.0.0.1 ', '8.8.8.8', false],
  ])('%j -> %j counts: %s', (source, destination, expected) => {
    expect(filter.counts(source, destination)).toBe(expected);
    // The cache must not change the answer.
    expect(filter.counts(source, destination)).toBe(expected);
  });

  it('treats IPv4-mapped IPv6 as IPv6, as the record writes it (test/core/ipv4-mapped.test.ts)', () => {
    expect(filter.counts('::ffff:10.0.0.5', '8.8.8.8')).toBe(false);
    expect(filter.counts('10.0.0.5', '::ffff:8.8.8.8')).toBe(true);
    expect(filter.counts('10.0.0.5', '::ffff:192.168.0.1')).toBe(true);
    expect(parseAddress('::ffff:10.0.0.5')?.kind()).toBe('ipv6');
  });
});

describe('EgressFilter with IPv6 and 100.64.0.0/10', () => {
  const filter = scope(['10.0.0.0/8', '100.64.0.0/10', 'fd00::/8', '2001:db8:1::/48']);

  it.each([
    ['fd12:3456::1', '2606:4700:4700::1111', true],
    ['2001:db8:1:ffff::5', '2001:db8:2::1', true],
    ['2001:db8:2::1', '2606:4700:4700::1111', false], // outside the /48
    ['fd12::1', 'fd34::1', false], // internal -> internal
    ['2606:4700:4700::1111', 'fd12::1', false],
    ['FD12:3456:0:0::1', '2606:4700:4700::1111', true], // any IPv6 spelling
    ['100.64.0.1', '8.8.8.8', true],
    ['100.127.255.255', '8.8.8.8', true],
    ['100.128.0.0', '8.8.8.8', false], // just past /10
    ['10.0.0.1', '100.100.0.1', false],
    ['fd12::1', '10.0.0.1', false], // IPv4 CIDRs never match IPv6 and vice versa; 10/8 is internal
    ['fd12::1', '8.8.8.8', true],
  ])('%j -> %j counts: %s', (source, destination, expected) => {
    expect(filter.counts(source, destination)).toBe(expected);
  });

  it('reports internal addresses', () => {
    expect(filter.isInternal('fd00::1')).toBe(true);
    expect(filter.isInternal('2001:db8:1::1')).toBe(true);
    expect(filter.isInternal('192.168.0.1')).toBe(false);
    expect(filter.isInternal('-')).toBe(false);
  });
});

describe('EgressFilter exclusions', () => {
  const filter = scope(
    [...RFC1918_CIDRS, 'fd00::/8'],
    ['10.0.5.0/24', 'fd00:bad::/32'],
    ['1.1.1.0/24', '2606:4700::/32'],
  );

  it.each([
    ['10.0.5.7', '8.8.8.8', false], // excluded source
    ['10.0.6.7', '8.8.8.8', true],
    ['10.0.6.7', '1.1.1.1', false], // excluded destination
    ['10.0.6.7', '1.1.2.1', true],
    ['fd00:bad::1', '8.8.8.8', false],
    ['fd00:600d::1', '2606:4700::1111', false],
    ['fd00:600d::1', '2607:f8b0::1', true],
  ])('%j -> %j counts: %s', (source, destination, expected) => {
    expect(filter.counts(source, destination)).toBe(expected);
  });
});

describe('EgressFilter on IPv6 forms the fast path leaves to ipaddr.js', () => {
  // `::` standing for one group, and embedded dotted IPv4: valid IPv6 that flow logs do not
  // write but a record or a configured list may; they are classified by the same networks.
  const filter = scope([...RFC1918_CIDRS, 'fd00::/8', '64:ff9b::/96'], ['fd00:bad::/32'], ['2606:4700::/32']);
  const internal = 'fd00:1:2:3:4:5::6';
  const external = '2607:f8b0:1:2:3:4::5';
  const excludedSource = 'fd00:bad:1:2:3:4::5';
  const excludedDestination = '2606:4700:1:2:3:4::5';
  const embedded = '64:ff9b::10.0.0.1';

  it('are left to ipaddr.js (else this suite would test the fast path again)', () => {
    const groups = new Uint16Array(8);
    for (const text of [internal, external, excludedSource, excludedDestination, embedded])
      expect({ text, fast: parseIPv6Groups(text, groups) }).toEqual({ text, fast: false });
  });

  it.each([
    [internal, external, true],
    [embedded, external, true],
    [external, internal, false], // inbound
    [internal, embedded, false], // internal -> internal
    [excludedSource, external, false],
    [internal, excludedDestination, false],
  ])('%j -> %j counts: %s', (source, destination, expected) => {
    expect(filter.counts(source, destination)).toBe(expected);
    expect(filter.counts(source, destination)).toBe(expected); // from the cache
  });

  it('gives each its roles: internal, excluded as a source, excluded as a destination', () => {
    // A filter of its own: the suite's has these addresses cached by the tests above, and the
    // roles must come from the classification, not from what the cache holds.
    const filter = scope(
      [...RFC1918_CIDRS, 'fd00::/8', '64:ff9b::/96'],
      ['fd00:bad::/32'],
      ['2606:4700::/32'],
    );
    expect(filter.roles(excludedSource)).toBe(ADDRESS_VALID);
    expect(filter.roles(excludedDestination)).toBe(ADDRESS_VALID);
    expect(filter.isInternal(internal)).toBe(true);
    expect(filter.isInternal(embedded)).toBe(true);
    expect(filter.isInternal(external)).toBe(false);
    expect(filter.roles(internal)).toBe(ADDRESS_VALID | ADDRESS_COUNTS_AS_SOURCE);
    expect(filter.roles(external)).toBe(ADDRESS_VALID | ADDRESS_COUNTS_AS_DESTINATION);
    expect(filter.roles(excludedSource)).toBe(ADDRESS_VALID);
    expect(filter.roles(excludedDestination)).toBe(ADDRESS_VALID);
    expect(filter.roles('fd00:1:2:3:4:5::6::7')).toBe(0);
    expect(filter.roles('10.0.0.256')).toBe(0);
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['100.64.0.0/10', '100.64.0.0/10'],
    ['FD00:0::/8', 'fd00::/8'],
    ['2001:db8:1:0::/64', '2001:db8:1::/64'],
    ['0.0.0.0/0', '0.0.0.0/0'],
  ])('accepts %s as %s', (value, text) => {
    expect(parseCidr(value).text).toBe(text);
  });

  it.each([
    ['10.1.0.0/8', 'host bits are set; did you mean 10.0.0.0/8?'],
    ['192.168.1.1/24', 'did you mean 192.168.1.0/24?'],
    ['fd00::1/8', 'did you mean fd00::/8?'],
    ['10.0.0.0/33', 'not an IPv4 or IPv6 network'],
    ['fd00::/129', 'not an IPv4 or IPv6 network'],
    ['10.0.0.0', 'expected address/prefix'],
    ['10.0.0.0/8; drop', 'expected address/prefix'],
    ['-', 'expected address/prefix'],
    ['', 'expected address/prefix'],
    ['300.0.0.0/8', 'not an IPv4 or IPv6 network'],
  ])('rejects %j (%s)', (value, message) => {
    expect(() => parseCidr(value)).toThrow(InvalidAddressError);
    expect(() => parseCidr(value)).toThrow(message);
    expect(() => parseCidr(value)).toThrow(`"${value}"`);
  });

  it('makes a filter constructor fail on a bad CIDR', () => {
    expect(() => scope(['10.0.0.1/8'])).toThrow(InvalidAddressError);
  });

  it.each([[['10.0.0.0/8']], [42], [null]])(
    'rejects a non-string from a JavaScript caller (%j) as not address/prefix',
    (value) => {
      expect(() => parseCidr(value as unknown as string)).toThrow(InvalidAddressError);
      expect(() => parseCidr(value as unknown as string)).toThrow('expected address/prefix');
    },
  );

  it('throws an error that says its class (what a log line shows)', () => {
    expect(() => parseCidr('10.0.0.0')).toThrow(expect.objectContaining({ name: 'InvalidAddressError' }));
  });
});

describe('isValidAddress', () => {
  it.each([
    ['10.0.0.1', true],
    ['2001:db8::1', true],
    ['::ffff:1.2.3.4', true],
    ['-', false],
    ['', false],
    ['1.2.3', false],
    ['1.2.3.4.5', false],
    ['2001:db8:::1', false],
  ])('%j -> %s', (value, expected) => {
    expect(isValidAddress(value)).toBe(expected);
  });
});

describe('strict address forms (no inet_aton shorthands)', () => {
  it.each(['10.0.0', '167772161', '0xa.0.0.1', '010.0.0.1', '10.0.0.01'])(
    'does not count %j as an address',
    (value) => {
      expect(parseAddress(value)).toBeUndefined();
      expect(scope().counts(value, '8.8.8.8')).toBe(false);
    },
  );

  it.each(['010.0.0.0/8', '10.0/8', '10.0.0/24'])(
    'rejects the CIDR %j instead of guessing a network',
    (value) => {
      expect(() => parseCidr(value)).toThrow(InvalidAddressError);
    },
  );
});

describe('the fast IPv4 path agrees with ipaddr.js', () => {
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
  const cidr = fc
    .tuple(ipv4, fc.integer({ min: 0, max: 32 }))
    .map(
      ([address, prefix]) =>
        `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString()}/${prefix}`,
    );

  it('takes only dots between the octets', () => {
    for (const text of ['10x0x0x1', '10,0,0,1', '10.0.0/1', '10:0.0.1']) {
      expect({ text, value: parseIPv4Number(text) }).toEqual({ text, value: -1 });
      expect(scope().counts(text, '8.8.8.8')).toBe(false);
    }
    expect(parseIPv4Number('10.0.0.1')).toBe(0x0a000001);
  });

  it('parses exactly the strict four-part decimal forms', () => {
    fc.assert(
      fc.property(
        fc.oneof(ipv4, fc.string({ maxLength: 16 }), fc.stringMatching(/^[0-9.]{1,16}$/)),
        (text) => {
          const strict = ipaddr.IPv4.isValidFourPartDecimal(text);
          const parsed = parseIPv4Number(text);
          expect(parsed >= 0).toBe(strict);
          if (strict)
            expect(parsed).toBe(
              ipaddr.IPv4.parse(text)
                .toByteArray()
                .reduce((v, b) => v * 256 + b, 0),
            );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('classifies like the ipaddr.js CIDR match', () => {
    fc.assert(
      fc.property(
        fc.array(cidr, { minLength: 1, maxLength: 4 }),
        fc.array(cidr, { maxLength: 2 }),
        ipv4,
        ipv4,
        (internal, excluded, src, dst) => {
          const filter = new EgressFilter({
            internalCidrs: internal,
            excludeSourceCidrs: excluded,
            excludeDestinationCidrs: excluded,
          });
          const inside = (address: string, cidrs: string[]) =>
            cidrs.some((c) => ipaddr.IPv4.parse(address).match(ipaddr.parseCIDR(c) as [ipaddr.IPv4, number]));
          const expected =
            inside(src, internal) &&
            !inside(src, excluded) &&
            !inside(dst, internal) &&
            !inside(dst, excluded);
          expect(filter.counts(src, dst)).toBe(expected);
          expect(filter.isInternal(src)).toBe(inside(src, internal));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    '010.0.0.1',
    '10.0.0',
    '10.0.0.0.1',
    '256.0.0.1',
    '1..2.3',
    '10.0.0.1 ',
    '',
    '-',
    '1.2.3.4a',
    '.1.2.3',
    '1.2.3.', // no digit after the last dot
  ])('rejects %j', (text) => expect(parseIPv4Number(text)).toBe(-1));

  it('takes no IPv4 range from an IPv6 network', () => {
    // An IPv6 network read as IPv4 would give a mask from its prefix and a network of all ones:
    // 255.0.0.0/8 for fd00::/8, 255.255.255.255/32 for 2001:db8::/32.
    const filter = scope(['fd00::/8', '2001:db8::/32']);
    for (const address of ['255.0.0.1', '255.255.255.255', '10.0.0.1'])
      expect({ address, internal: filter.isInternal(address) }).toEqual({ address, internal: false });
    expect(filter.isInternal('fd00::1')).toBe(true);
  });
});

describe('the fast IPv6 path agrees with ipaddr.js', () => {
  const group = fc.integer({ min: 0, max: 0xffff });
  // Hex texts of the groups with random case and leading zeros, and `::` put anywhere it may go
  // (or anywhere at all), plus near misses: too many digits or groups, stray characters.
  const hexText = (value: number, pad: number, upper: boolean) => {
    const text = value.toString(16).padStart(pad, '0');
    return upper ? text.toUpperCase() : text;
  };
  const written = fc
    .tuple(
      fc.array(fc.tuple(group, fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 0, maxLength: 9 }),
      fc.integer({ min: -1, max: 9 }),
    )
    .map(([parts, gapAt]) => {
      const texts = parts.map(([value, pad, upper]) => hexText(value, pad, upper));
      if (gapAt < 0 || gapAt > texts.length) return texts.join(':');
      return `${texts.slice(0, gapAt).join(':')}::${texts.slice(gapAt).join(':')}`;
    });
  const mangled = fc
    .tuple(
      written,
      fc.integer({ min: 0, max: 40 }),
      fc.constantFrom(':', '::', '.', '%', 'g', ' ', '1.2.3.4', 'ffff:'),
    )
    .map(([text, at, insert]) => text.slice(0, at) + insert + text.slice(at));
  // A few well-known networks, so that matches happen.
  const network = fc.constantFrom(
    '::ffff:0:0/96', // IPv4-mapped: IPv6 like any other here
    '2001:db8::/32',
    'fd00::/8',
    '2600:1f18::/32',
    '::/0',
    '2001:db8:1234::/48',
    'fe80::/10',
  );
  const inNetwork = fc
    .tuple(network, fc.array(group, { minLength: 8, maxLength: 8 }))
    .map(([cidr, random]) => {
      const [base, prefix] = ipaddr.parseCIDR(cidr) as [ipaddr.IPv6, number];
      const parts = base.parts.map((p, g) => {
        const bits = Math.max(0, Math.min(16, prefix - 16 * g));
        const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
        return (p & mask) | ((random[g] as number) & ~mask & 0xffff);
      });
      return new ipaddr.IPv6(parts).toString();
    });
  const candidate = fc.oneof(written, mangled, inNetwork, fc.string({ maxLength: 40 }));
  /** ipaddr.js alone: strict dotted-decimal IPv4, or IPv6 as written (IPv4-mapped stays IPv6). */
  const reference = (text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined =>
    ipaddr.IPv4.isValidFourPartDecimal(text)
      ? ipaddr.IPv4.parse(text)
      : ipaddr.IPv6.isValid(text)
        ? ipaddr.IPv6.parse(text)
        : undefined;

  it('reads hex digits of either case, and no other letter', () => {
    const groups = new Uint16Array(8);
    expect(parseIPv6Groups('::ab', groups)).toBe(true);
    expect([...groups]).toEqual([0, 0, 0, 0, 0, 0, 0, 0xab]);
    expect(parseIPv6Groups('FD09::9:aF', groups)).toBe(true);
    expect([...groups]).toEqual([0xfd09, 0, 0, 0, 0, 0, 0x9, 0xaf]);
    expect(parseIPv6Groups('fd0g::1', groups)).toBe(false);
    expect(parseIPv6Groups('fd00::z', groups)).toBe(false);
    expect(parseIPv6Groups('fd00::/', groups)).toBe(false);
    // The characters either side of the letter range once case is folded (c | 0x20): '@' and
    // '`' fold to 0x60, just below 'a'; 'G' and 'g' just above 'f'.
    for (const text of ['fd00::@', 'fd00::`', 'fd00::G', 'fd00::1@', '@::1'])
      expect({ text, fast: parseIPv6Groups(text, groups) }).toEqual({ text, fast: false });
  });

  it('takes only texts ipaddr.js reads as IPv6, and reads the same groups', () => {
    const groups = new Uint16Array(8);
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(candidate, (text) => {
        runs += 1;
        if (!parseIPv6Groups(text, groups)) return;
        taken += 1;
        const parsed = parseAddress(text);
        expect(parsed?.kind()).toBe('ipv6');
        expect([...groups]).toEqual((parsed as ipaddr.IPv6).parts);
      }),
      { numRuns: 5000 },
    );
    // The property says something only about texts the parser takes: most generated ones are
    // addresses it must take (a parser that took none would pass the check above). A share of
    // the cases, not a number of them: the mutation run caps every property's cases. A tenth: at
    // the cap's 100 cases about a quarter are taken, and a fifth failed by chance (20 of 100).
    expect(taken).toBeGreaterThan(runs / 10);
  });

  it('takes every address in the form flow logs write (compressed, lower case)', () => {
    const groups = new Uint16Array(8);
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (parts) => {
        const text = new ipaddr.IPv6(parts).toString();
        fc.pre(text.split(':').filter((p) => p !== '').length < 7 || !text.includes('::'));
        expect(parseIPv6Groups(text, groups)).toBe(true);
        expect([...groups]).toEqual(parts);
      }),
      { numRuns: 2000 },
    );
  });

  it('classifies like ipaddr.js, valid or not, internal or not', () => {
    fc.assert(
      fc.property(
        fc.array(network, { minLength: 1, maxLength: 3 }),
        fc.array(network, { maxLength: 2 }),
        candidate,
        candidate,
        (internal, excluded, src, dst) => {
          const filter = new EgressFilter({
            internalCidrs: internal,
            excludeSourceCidrs: excluded,
            excludeDestinationCidrs: excluded,
          });
          const inside = (address: ipaddr.IPv4 | ipaddr.IPv6, cidrs: string[]) =>
            cidrs.some((c) => {
              const [base, prefix] = ipaddr.parseCIDR(c);
              return base.kind() === address.kind() && address.match(base, prefix);
            });
          const s = reference(src);
          const d = reference(dst);
          const expected =
            s !== undefined &&
            d !== undefined &&
            inside(s, internal) &&
            !inside(s, excluded) &&
            !inside(d, internal) &&
            !inside(d, excluded);
          expect(filter.counts(src, dst)).toBe(expected);
          expect(filter.isInternal(src)).toBe(s !== undefined && inside(s, internal));
        },
      ),
      { numRuns: 3000 },
    );
  });

  // Examples of what the properties above find only now and then (and not in the mutation run's
  // capped cases): each pins one check of the parser or of the range match.
  it.each([
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['1:2:3::4:5:6', [1, 2, 3, 0, 0, 4, 5, 6]],
    ['1::', [1, 0, 0, 0, 0, 0, 0, 0]],
  ])('takes %j as the groups %j', (text, parts) => {
    const groups = new Uint16Array(8).fill(7);
    expect(parseIPv6Groups(text, groups)).toBe(true);
    expect([...groups]).toEqual(parts);
  });

  it('compares every group a long prefix covers, not only its last one', () => {
    const filter = new EgressFilter({
      internalCidrs: ['2001:db8::/32', '2600:1f18:abcd::/48', 'fd12:3456:789a:1::/64'],
      excludeSourceCidrs: [],
      excludeDestinationCidrs: [],
    });
    const verdicts = [
      '2001:db8::1',
      '2002:db8::1', // the first group differs
      '2600:1f18:abcd::9',
      '2600:1f19:abcd::9', // the second
      '2601:1f18:abcd::9',
      'fd12:3456:789a:1::5',
      'fd12:3456:789b:1::5', // the third
      'fd12:3457:789a:1::5',
    ].map((address) => [address, filter.isInternal(address)]);
    expect(verdicts).toEqual([
      ['2001:db8::1', true],
      ['2002:db8::1', false],
      ['2600:1f18:abcd::9', true],
      ['2600:1f19:abcd::9', false],
      ['2601:1f18:abcd::9', false],
      ['fd12:3456:789a:1::5', true],
      ['fd12:3456:789b:1::5', false],
      ['fd12:3457:789a:1::5', false],
    ]);
  });

  it.each([
    '1::2::3',
    '::1::2', // a second '::' after a leading one
    '1:::2',
    ':ff:1', // one leading colon
    ':1::2',
    '1::2:',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '12345::1',
    'fe80::1%eth0',
    '::1.2.3.4',
    '-',
    '',
  ])('leaves %j to ipaddr.js', (text) => expect(parseIPv6Groups(text, new Uint16Array(8))).toBe(false));
});
