import {
  EgressFilter,
  InvalidAddressError,
  isValidAddress,
  parseAddress,
  parseCidr,
  parseIPv4Number,
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

  it('treats IPv4-mapped IPv6 as the IPv4 address', () => {
    expect(filter.counts('::ffff:10.0.0.5', '8.8.8.8')).toBe(true);
    expect(filter.counts('10.0.0.5', '::ffff:8.8.8.8')).toBe(true);
    expect(filter.counts('10.0.0.5', '::ffff:192.168.0.1')).toBe(false);
    expect(parseAddress('::ffff:10.0.0.5')?.kind()).toBe('ipv4');
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
  ])('rejects %j', (text) => expect(parseIPv4Number(text)).toBe(-1));
});
