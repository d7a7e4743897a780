/**
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`): in a flow log it is an IPv6 address like any other.
 * That is what the record says, and Logs Insights' isIpInSubnet compares it as IPv6, so the
 * Lambda's query cannot treat it as IPv4; the replay counts the same records. A CIDR written in
 * mapped form would never match anything, so the configuration refuses it.
 */
import { ConfigError, DEFAULT_FLOW_LOG_FORMAT, EgressFilter, resolveDetectorConfig } from '../../lambda/core';
import { parseAddress, parseIPv6Groups } from '../../lambda/core/addresses';
import { FlowLineScanner } from '../../lambda/replay/flow-line-scanner';

const T0 = 1790812800; // 2026-10-01T00:00:00Z
const W0 = T0 * 1000;

describe('an IPv4-mapped IPv6 address', () => {
  it('is IPv6, in dotted and in hex form', () => {
    expect(parseAddress('::ffff:10.0.0.5')?.kind()).toBe('ipv6');
    expect(parseAddress('::ffff:a00:5')?.toString()).toBe(parseAddress('::ffff:10.0.0.5')?.toString());
    // The plain-hex classifier takes the hex form itself (the dotted one is left to ipaddr.js).
    const groups = new Uint16Array(8);
    expect(parseIPv6Groups('::ffff:a00:5', groups)).toBe(true);
    expect([...groups]).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 5]);
  });

  it('is outside IPv4 networks: not an internal source, an external destination', () => {
    const filter = new EgressFilter({
      internalCidrs: ['10.0.0.0/8', '192.168.0.0/16'],
      excludeSourceCidrs: [],
      excludeDestinationCidrs: ['8.8.8.8/32'],
    });
    for (const mapped of ['::ffff:10.0.0.5', '::ffff:a00:5', '0:0:0:0:0:ffff:10.0.0.5']) {
      expect(filter.isInternal(mapped)).toBe(false);
      expect(filter.counts(mapped, '203.0.113.9')).toBe(false);
    }
    expect(filter.counts('10.0.0.5', '::ffff:192.168.0.1')).toBe(true);
    expect(filter.counts('10.0.0.5', '::ffff:8.8.8.8')).toBe(true); // not the excluded IPv4 8.8.8.8
    expect(filter.counts('10.0.0.5', '::ffff:c0a8:1')).toBe(true);
  });

  it('is counted alike by the kernel, the JavaScript fast paths and the general path', () => {
    const lines = [
      ['::ffff:10.0.0.7', '203.0.113.1'], // 15 bytes: the kernel's address table
      ['::ffff:192.168.100.200', '203.0.113.1'], // 22 bytes: longer than the table takes
      ['::ffff:a00:7', '203.0.113.1'],
      ['10.0.0.7', '::ffff:192.168.100.200'],
      ['10.0.0.7', '::ffff:10.0.0.8'],
      ['10.0.0.7', '::ffff:c0a8:1'],
      ['10.0.0.7', '203.0.113.1'],
    ].map(
      ([src, dst]) => `2 123456789012 eni-0a1 ${src} ${dst} 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
    );
    const buffer = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
    const results = [
      { fastPaths: false },
      { fastPaths: true, kernel: false },
      { fastPaths: true, kernel: true },
    ].map((paths) => {
      const scanner = new FlowLineScanner({
        filter: new EgressFilter({
          internalCidrs: ['10.0.0.0/8'],
          excludeSourceCidrs: [],
          excludeDestinationCidrs: [],
        }),
        windowMinutes: 60,
        fields: DEFAULT_FLOW_LOG_FORMAT,
        mode: 'count',
        ...paths,
      });
      scanner.beginFile('mapped.log');
      scanner.scan(buffer, 0, buffer.length, 0);
      return scanner.takeResult();
    });
    for (const result of results) {
      expect(Object.fromEntries(result.counts.get(W0) ?? [])).toEqual({ '123456789012|10.0.0.7': 4 });
      expect(result.stats).toMatchObject({ rejectRecords: 7, recordsCounted: 4, malformedLines: 0 });
    }
  });
});

describe('a CIDR in IPv4-mapped form in the configuration', () => {
  it.each([
    ['internalCidrs', '::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['internalCidrs', '::ffff:a00:0/104', '10.0.0.0/8'],
    ['excludeSourceCidrs', '::ffff:192.168.1.0/120', '192.168.1.0/24'],
    ['excludeDestinationCidrs', '::ffff:8.8.8.8/128', '8.8.8.8/32'],
    ['excludeDestinationCidrs', '::ffff:0:0/96', '0.0.0.0/0'],
  ])('is refused in %s (%s), naming the IPv4 CIDR to write', (field, cidr, ipv4) => {
    const input = { [field]: [cidr] };
    expect(() => resolveDetectorConfig(input, 'config')).toThrow(ConfigError);
    expect(() => resolveDetectorConfig(input, 'config')).toThrow(
      `config.${field}[0]: invalid CIDR "${cidr}": an IPv4-mapped IPv6 network; flow logs record IPv4 traffic with IPv4 addresses: write ${ipv4}`,
    );
  });

  it.each(['::/0', '::/64', '2001:db8::/32', '::fffe:0:0/95', '64:ff9b::/96'])(
    'leaves IPv6 networks that are not in mapped form alone (%s)',
    (cidr) => {
      expect(resolveDetectorConfig({ internalCidrs: [cidr] }).internalCidrs).toEqual([cidr]);
    },
  );
});
