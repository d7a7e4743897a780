import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  DEFAULT_FLOW_LOG_FORMAT,
  EgressFilter,
  parseFlowLogFormat,
  resolveDetectorConfig,
  sourceKey,
} from '../../lambda/core';
import {
  planChunks,
  scanChunk,
  expandInputs,
  InputFileError,
  type ReadOptions,
} from '../../lambda/replay/file-reader';
import {
  FlowLineScanner,
  portAndProtocol,
  type ChunkResult,
  type PairDetails,
} from '../../lambda/replay/flow-line-scanner';
import {
  ADDRESS_GROUP_SLOTS,
  NOT_LOOKED_UP,
  RECORDS as KERNEL_RECORDS,
  newLineKernel,
  slotOfMissing,
} from '../../lambda/replay/line-kernel';

const config = resolveDetectorConfig({
  internalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '2600:1f18:4a3b:ab00::/56'],
});
const HOUR = 3_600_000;
// 2026-10-01T00:00:00Z in epoch seconds, and its window in ms.
const T0 = 1790812800;
const W0 = T0 * 1000;

function scan(
  text: string,
  format = DEFAULT_FLOW_LOG_FORMAT,
  mode: 'count' | 'details' = 'count',
  wanted?: Map<number, Set<string>>,
): ChunkResult {
  const scanner = new FlowLineScanner({
    filter: new EgressFilter(config),
    windowMinutes: 60,
    fields: format,
    mode,
    wanted,
  });
  scanner.beginFile('test.log');
  const buffer = Buffer.from(text, 'latin1');
  scanner.scan(buffer, 0, buffer.length, 0);
  return scanner.takeResult();
}

/** A count pass over plain (re-readable) v2 input, with the fast paths or the general path only, `times` over. */
function scanPlainCount(buffer: Buffer, fastPaths: boolean, times = 1): ChunkResult {
  const scanner = new FlowLineScanner({
    filter: new EgressFilter(config),
    windowMinutes: 60,
    fields: DEFAULT_FLOW_LOG_FORMAT,
    mode: 'count',
    fastPaths,
  });
  scanner.beginFile('plain.log', undefined, true);
  for (let k = 0; k < times; k += 1) scanner.scan(buffer, 0, buffer.length, 0);
  return scanner.takeResult();
}

/** A pair's tallies as `address port protocol` -> records (`-`: none). */
function flatDestinations(pair: PairDetails | undefined): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const [address, ports] of pair?.destinations ?? []) {
    for (let i = 0; i < ports.length; i += 2) {
      const { port, protocol } = portAndProtocol(ports[i] as number);
      flat[`${address} ${port ?? '-'} ${protocol ?? '-'}`] = ports[i + 1] as number;
    }
  }
  return flat;
}

/** The account of the test lines (`-`: a format without account-id). */
const ACCOUNT = '123456789012';
/** The source key of `src` in `account` (lambda/core/source-key.ts). */
const key = (src: string, account = ACCOUNT): string => sourceKey({ accountId: account, address: src });

const countOf = (result: ChunkResult, window: number, src: string, account = ACCOUNT): number | undefined =>
  result.counts.get(window)?.get(key(src, account));

describe('FlowLineScanner on v2 default-format lines', () => {
  it('counts REJECT/OK internal-to-external records per window and source, and nothing else', () => {
    // Prepare
    const lines = [
      `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0 + 10} ${T0 + 60} REJECT OK`,
      `2 123456789012 eni-0a1 10.0.1.5 198.51.100.7 49153 80 6 1 60 ${T0 + 3599} ${T0 + 3650} REJECT OK`,
      `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49154 443 6 3 180 ${T0 + 3600} ${T0 + 3660} REJECT OK`, // next window
      `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49155 443 6 9 900 ${T0 + 20} ${T0 + 80} ACCEPT OK`, // accepted
      `2 123456789012 eni-0a1 10.0.1.5 10.0.2.8 49156 5432 6 1 60 ${T0 + 30} ${T0 + 90} REJECT OK`, // east-west
      `2 123456789012 eni-0a1 203.0.113.50 10.0.1.5 40000 22 6 1 60 ${T0 + 40} ${T0 + 90} REJECT OK`, // inbound
      `2 123456789012 eni-0a1 100.64.0.9 203.0.113.9 40000 443 6 1 60 ${T0 + 40} ${T0 + 90} REJECT OK`, // CGNAT: not internal by default here
    ];
    // Act
    const result = scan(lines.join('\n'));
    // Assess
    expect(result.stats).toMatchObject({
      linesRead: 7,
      okRecords: 7,
      rejectRecords: 6,
      recordsCounted: 3,
      malformedLines: 0,
    });
    expect(countOf(result, W0, '10.0.1.5')).toBe(2);
    expect(countOf(result, W0 + HOUR, '10.0.1.5')).toBe(1);
    expect([result.minWindow, result.maxWindow]).toEqual([W0, W0 + HOUR]);
  });

  it('never counts NODATA and SKIPDATA rows, and marks the windows a SKIPDATA row covers as incomplete', () => {
    const result = scan(
      [
        `2 123456789012 eni-0a1 - - - - - - - ${T0 + 100} ${T0 + 700} - NODATA`,
        `2 123456789012 eni-0a2 - - - - - - - ${T0 + 3500} ${T0 + 3700} - SKIPDATA`,
      ].join('\n'),
    );
    expect(result.stats).toMatchObject({
      noDataRecords: 1,
      skipDataRecords: 1,
      recordsCounted: 0,
      malformedLines: 0,
      okRecords: 0,
    });
    expect([...result.skipDataWindows].sort()).toEqual([W0, W0 + HOUR]);
    expect(result.counts.size).toBe(0);
  });

  it('counts the same address in two accounts as two sources, on every path (the kernel counting in place too)', () => {
    // Prepare: 10.0.1.5 in accounts A and B and in no named account, interleaved, and an
    // ACCEPT row first so that the kernel counts in place from the start
    const row = (account: string, second: number) =>
      `2 ${account} eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0 + second} ${T0 + second + 60} REJECT OK`;
    const lines = [
      `2 111111111111 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} ACCEPT OK`,
      row('111111111111', 1),
      row('222222222222', 2),
      row('111111111111', 3),
      row('unknown', 4),
      row('222222222222', 5),
      row('111111111111', 6),
    ];
    const buffer = Buffer.from(lines.join('\n') + '\n', 'latin1');
    const expected = new Map([
      [key('10.0.1.5', '111111111111'), 3 * 3],
      [key('10.0.1.5', '222222222222'), 2 * 3],
      [key('10.0.1.5', '-'), 3],
    ]);
    // Act: three times over, so that the kernel's slot keeps its account across calls
    const kernel = scanPlainCount(buffer, true, 3);
    const general = scanPlainCount(buffer, false, 3);
    // Assess
    expect(new Map([...(kernel.counts.get(W0) ?? [])].sort())).toEqual(new Map([...expected].sort()));
    expect(general.counts).toEqual(kernel.counts);
    expect(kernel.stats.recordsCounted).toBe(18);
  });

  it('handles IPv6 sources and destinations with the configured IPv6 internal range', () => {
    const result = scan(
      [
        `2 123456789012 eni-0a1 2600:1f18:4a3b:ab01::1a 2001:db8:1::5 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
        `2 123456789012 eni-0a1 2600:1f18:4a3b:ab01::1a 2600:1f18:4a3b:ab02::7 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
        `2 123456789012 eni-0a1 2001:db8:1::5 2600:1f18:4a3b:ab01::1a 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
        `2 123456789012 eni-0a1 ::ffff:10.0.0.7 203.0.113.1 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
      ].join('\n'),
    );
    expect(countOf(result, W0, '2600:1f18:4a3b:ab01::1a')).toBe(1);
    // An IPv4-mapped IPv6 source is IPv6, outside the IPv4 internal ranges (test/core/ipv4-mapped.test.ts).
    expect(countOf(result, W0, '::ffff:10.0.0.7')).toBeUndefined();
    expect(result.stats.recordsCounted).toBe(1);
  });

  it("classifies each long IPv6 address by its own text, however often another takes its interner's slot", () => {
    // Addresses longer than the kernel's table takes are interned in JavaScript, their roles
    // worked out once per interned text. 80,000 internal and 80,000 external sources (more than
    // the interner's 65,536 slots, so they evict one another) alternate, each to an external
    // destination: every internal one counts, no external one does, pass after pass.
    const n = 80_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i += 1) {
      const hex = `${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
      lines.push(
        `2 123456789012 eni-0a1 2600:1f18:4a3b:ab01::${hex} 2001:db8:1::5 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
        `2 123456789012 eni-0a1 2001:db8:dddd:eeee::${hex} 2001:db8:1::5 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
      );
    }
    const result = scanPlainCount(Buffer.from(lines.join('\n') + '\n', 'latin1'), true, 2);
    expect(result.stats.recordsCounted).toBe(2 * n);
    const counted = [...(result.counts.get(W0) ?? new Map<string, number>())];
    expect(counted).toHaveLength(n);
    expect(counted.filter(([key, count]) => !key.includes('|2600:1f18:4a3b:ab01::') || count !== 2)).toEqual(
      [],
    );
  });

  it('counts blank and malformed lines without failing, and keeps examples', () => {
    const result = scan(
      [
        '',
        '   ',
        '\r',
        'garbage',
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT`, // a field short
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 soon ${T0 + 60} REJECT OK`, // bad start
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} DROP OK`, // bad action
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT MAYBE`, // bad status
        `2 123456789012 eni-0a1 eni-0a1 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`, // not an address
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
      ].join('\n'),
    );
    expect(result.stats).toMatchObject({
      linesRead: 10,
      blankLines: 3,
      malformedLines: 6,
      recordsCounted: 1,
    });
    expect(result.examples.map((e) => e.reason)).toEqual([
      '1 fields, the format has 14',
      '13 fields, the format has 14',
      'start is not a time in epoch seconds',
      'action is not ACCEPT or REJECT',
      'log-status is not OK, NODATA or SKIPDATA',
    ]);
  });

  it('reads ACCEPT rows from their tail: their windows count, a bad start time is still malformed', () => {
    const result = scan(
      [
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0 - 7200} ${T0 - 7100} ACCEPT OK\r`,
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0 + 7300} ${T0 + 7400} ACCEPT OK`,
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 later ${T0 + 7400} ACCEPT OK`,
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
      ].join('\n'),
    );
    expect(result.stats).toMatchObject({ linesRead: 4, okRecords: 3, malformedLines: 1, recordsCounted: 1 });
    expect([result.minWindow, result.maxWindow]).toEqual([W0 - 2 * HOUR, W0 + 2 * HOUR]);
    expect(result.examples[0]?.reason).toBe('start is not a time in epoch seconds');
  });

  it('accepts CRLF line ends, tabs and repeated spaces', () => {
    const result = scan(
      [
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK\r`,
        `2\t123456789012  eni-0a1 10.0.1.5   203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK  `,
      ].join('\n'),
    );
    expect(result.stats.malformedLines).toBe(0);
    expect(countOf(result, W0, '10.0.1.5')).toBe(2);
  });
});

describe('FlowLineScanner and tabs beside spaces (a file someone edited)', () => {
  const accountKey = (address: string) => `123456789012|${address}`;

  it.each([true, false])(
    "splits a tab after a space in the default format (fast paths %s): the account is the record's",
    (fastPaths) => {
      // The field count on spaces alone is right, so only a tab check catches the tab inside the account id.
      const lines = Array.from(
        { length: 20 },
        (_, i) =>
          `2 \t123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0 + i} ${T0 + 60} REJECT OK`,
      );
      const result = scanPlainCount(Buffer.from(`${lines.join('\n')}\n`, 'latin1'), fastPaths);
      expect(result.stats.malformedLines).toBe(0);
      expect(result.counts.get(W0)?.get(accountKey('10.0.1.5'))).toBe(20);
      expect(result.counts.get(W0)?.has('-|10.0.1.5')).toBe(false);
    },
  );

  it('reads a line that ends in a tab in a custom format (the field count on spaces is right)', () => {
    const result = scan(
      [
        'start action srcaddr dstaddr log-status',
        `${T0} REJECT 10.0.1.6 203.0.113.9 OK\t`,
        `${T0 + 1} REJECT 10.0.1.6 203.0.113.9 OK\t`,
      ].join('\n'),
    );
    expect(result.stats).toMatchObject({ malformedLines: 0, recordsCounted: 2 });
  });
});

describe('FlowLineScanner with custom formats and header lines', () => {
  it('takes a row with `-` for its action as a NODATA row in a format without log-status, not a malformed line', () => {
    const result = scan(
      [
        'srcaddr dstaddr start action',
        `10.0.1.6 203.0.113.9 ${T0} REJECT`,
        `- - ${T0 + 1} -`,
        `- - ${T0 + 2} -`,
        `10.0.1.6 203.0.113.9 ${T0 + 3} ACCEPT`,
        `10.0.1.6 203.0.113.9 ${T0 + 4} DROP`,
      ].join('\n'),
    );
    expect(result.stats).toMatchObject({
      malformedLines: 1,
      noDataRecords: 2,
      okRecords: 2,
      recordsCounted: 1,
    });
    expect(result.examples.map((e) => e.reason)).toEqual(['action is not ACCEPT or REJECT']);
  });

  it('switches to the format of a header line (as AWS writes first in S3 files)', () => {
    const result = scan(
      [
        'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
        `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
        'start action srcaddr dstaddr log-status',
        `${T0} REJECT 10.0.1.6 203.0.113.9 OK`,
      ].join('\n'),
    );
    expect(result.stats).toMatchObject({ headerLines: 2, malformedLines: 0, recordsCounted: 2 });
    expect(countOf(result, W0, '10.0.1.5')).toBe(1);
    // The second format has no account-id: its source is of no known account.
    expect(countOf(result, W0, '10.0.1.6', '-')).toBe(1);
    expect(countOf(result, W0, '10.0.1.6')).toBeUndefined();
  });

  it('reports a bad header line at its offset in the file, wherever the read put it', () => {
    const first = `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK\n`;
    const header = 'version srcaddr dstaddr no-such-field\n';
    const scanner = new FlowLineScanner({
      filter: new EgressFilter(config),
      windowMinutes: 60,
      fields: DEFAULT_FLOW_LOG_FORMAT,
      mode: 'count',
    });
    scanner.beginFile('headers.log');
    // The second line arrives in a buffer of its own, at file offset first.length.
    const second = Buffer.from(header, 'latin1');
    scanner.scan(Buffer.from(first, 'latin1'), 0, first.length, 0);
    scanner.scan(second, 0, second.length, first.length);
    const [example] = scanner.takeResult().examples;
    expect(example).toMatchObject({ offset: first.length });
    expect(example?.reason).toMatch(/^header line: .*no-such-field/);
  });

  it('reads a v5 format with pkt-srcaddr, flow-direction and traffic-path, counting by srcaddr as the Lambda does', () => {
    // Prepare: the format of the AWS docs' v5 example, and rows of its shapes.
    const format = parseFlowLogFormat(
      '${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${flow-direction} ${traffic-path}',
    );
    const rows = [
      // An instance's egress to the internet, blocked: counted.
      `5 vpc-0abc subnet-0abc i-0abc eni-0abc 123456789012 IPv4 10.0.0.220 203.0.113.5 49152 443 10.0.0.220 203.0.113.5 6 120 2 ${T0} ${T0 + 60} REJECT 2 OK egress 8`,
      // Ingress from the internet (traffic-path is only for egress): not counted.
      `5 vpc-0abc subnet-0abc i-0abc eni-0abc 123456789012 IPv4 203.0.113.5 10.0.0.220 443 49152 203.0.113.5 10.0.0.220 6 120 2 ${T0} ${T0 + 60} REJECT 2 OK ingress -`,
      // A NAT gateway's interface: srcaddr is the gateway, pkt-srcaddr the instance behind it; no instance id.
      `5 vpc-0abc subnet-0pub - eni-0nat 123456789012 IPv4 10.0.1.5 198.51.100.9 61000 443 10.0.0.220 198.51.100.9 6 60 1 ${T0} ${T0 + 60} REJECT 2 OK egress 8`,
      // No data in the interval.
      `5 vpc-0abc subnet-0abc i-0abc eni-0abc 123456789012 - - - - - - - - - - ${T0} ${T0 + 600} - - NODATA - -`,
    ];
    // Act
    const result = scan(rows.join('\n'), format);
    // Assess
    expect(result.stats).toMatchObject({ malformedLines: 0, recordsCounted: 2, noDataRecords: 1 });
    // A format with vpc-id keys each source by its VPC too.
    expect([...(result.counts.get(W0)?.keys() ?? [])].sort()).toEqual([
      '123456789012|vpc-0abc|10.0.0.220',
      '123456789012|vpc-0abc|10.0.1.5',
    ]);
  });

  it('reads a v3 custom format without log-status (every row is data)', () => {
    const format = parseFlowLogFormat(
      '${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr} ${start} ${action}',
    );
    const result = scan(
      `vpc-1 subnet-1 i-1 eni-1 192.168.3.4 203.0.113.9 192.168.3.4 203.0.113.9 ${T0} REJECT\n`,
      format,
    );
    expect(result.counts.get(W0)?.get('-|vpc-1|192.168.3.4')).toBe(1);
  });

  it('reports a v2 file read with the wrong --format as malformed, not as silence', () => {
    const format = parseFlowLogFormat(
      'version srcaddr dstaddr srcport dstport protocol packets bytes account-id interface-id start end action log-status',
    );
    const result = scan(
      `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK\n`,
      format,
    );
    expect(result.stats.malformedLines).toBe(1);
    expect(result.examples[0]?.reason).toBe('srcaddr or dstaddr is not an IP address');
  });

  it.each([
    ['an account id in srcaddr (a v2 line read with another field order)', '123456789012', '203.0.113.9'],
    ['letters of hex only', 'abc', '203.0.113.9'],
    ['an octet over 255', '10.0.0.999', '203.0.113.9'],
    ['three octets', '10.0.0.1', '1.2.3'],
    ['an octet over 255 outside', '10.0.0.1', '300.1.1.1'],
  ])('reports a REJECT row whose address cannot be one as malformed: %s', (_, src, dst) => {
    // Act: on every path of the scanner (the general one, the JavaScript fast path, the kernel)
    for (const paths of [
      { fastPaths: false },
      { fastPaths: true, kernel: false },
      { fastPaths: true, kernel: true },
    ]) {
      const scanner = new FlowLineScanner({
        filter: new EgressFilter(config),
        windowMinutes: 60,
        fields: DEFAULT_FLOW_LOG_FORMAT,
        mode: 'count',
        ...paths,
      });
      scanner.beginFile('test.log');
      const buffer = Buffer.from(
        `2 123456789012 eni-0a1 ${src} ${dst} 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK\n`,
        'latin1',
      );
      scanner.scan(buffer, 0, buffer.length, 0);
      const result = scanner.takeResult();

      // Assess
      expect(result.stats.malformedLines).toBe(1);
      expect(result.stats.rejectRecords).toBe(0);
      expect(result.examples[0]?.reason).toBe('srcaddr or dstaddr is not an IP address');
    }
  });

  it('keeps destination tallies only for the wanted (window, source) pairs in details mode', () => {
    const text = [
      `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
      `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49153 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
      `2 123456789012 eni-0a2 10.0.1.5 2001:db8::1 49153 53 17 3 180 ${T0} ${T0 + 60} REJECT OK`,
      `2 123456789012 eni-0a9 10.0.1.9 203.0.113.9 49153 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
      `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49153 443 6 3 180 ${T0 + 3600} ${T0 + 3660} REJECT OK`,
    ].join('\n');
    const result = scan(
      text,
      DEFAULT_FLOW_LOG_FORMAT,
      'details',
      new Map([[W0, new Set([key('10.0.1.5')])]]),
    );
    expect([...result.details.keys()]).toEqual([W0]);
    expect([...(result.details.get(W0)?.keys() ?? [])]).toEqual([key('10.0.1.5')]);
    const pair = result.details.get(W0)?.get(key('10.0.1.5'));
    expect(flatDestinations(pair)).toEqual({
      '203.0.113.9 443 6': 2,
      '2001:db8::1 53 17': 1,
    });
    expect([...(pair?.interfaceIds ?? [])].sort()).toEqual(['eni-0a1', 'eni-0a2']);
  });
});

/** The read paths of the scanner: the kernel, the fast paths in JavaScript, the general path only. */
const READ_PATHS = { kernel: { kernel: true }, javascript: { kernel: false }, general: { fastPaths: false } };
const readPaths = Object.keys(READ_PATHS) as (keyof typeof READ_PATHS)[];

/** A count pass over plain `input` on one read path. */
function scanOnPath(
  input: string,
  path: keyof typeof READ_PATHS,
  fields = DEFAULT_FLOW_LOG_FORMAT,
): ChunkResult {
  const scanner = new FlowLineScanner({
    filter: new EgressFilter(config),
    windowMinutes: 60,
    fields,
    mode: 'count',
    ...READ_PATHS[path],
  });
  scanner.beginFile('flows.log', undefined, true);
  const buffer = Buffer.from(input, 'latin1');
  scanner.scan(buffer, 0, buffer.length, 0);
  return scanner.takeResult();
}

/** Rows of every kind: counted, not counted, ACCEPT, IPv6, NODATA, SKIPDATA. */
const SOME_ROWS = [
  `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK`,
  `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49153 443 6 3 180 ${T0 + 10} ${T0 + 60} REJECT OK`,
  `2 123456789012 eni-0a1 10.0.1.5 10.0.2.9 49154 443 6 3 180 ${T0 + 20} ${T0 + 60} REJECT OK`,
  `2 123456789012 eni-0a1 10.0.1.6 203.0.113.9 49155 443 6 3 180 ${T0 + 3600} ${T0 + 3660} ACCEPT OK`,
  `2 123456789012 eni-0a1 10.0.1.7 2001:db8::1 49156 443 6 3 180 ${T0 + 3700} ${T0 + 3760} REJECT OK`,
  `2 123456789012 eni-0a1 - - - - - - - ${T0 + 7200} ${T0 + 7260} - NODATA`,
  `2 123456789012 eni-0a1 - - - - - - - ${T0 + 7300} ${T0 + 11000} - SKIPDATA`,
  `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49157 443 6 3 180 ${T0 + 7400} ${T0 + 7460} REJECT OK`,
];

describe('FlowLineScanner on a format that does not fit the lines', () => {
  it('reports every line of a file read with a format a field short as malformed, ACCEPT rows included', () => {
    // Prepare: ACCEPT rows (read from their last fields on the fast paths) with a field in front
    // that the format does not name, and the same for a custom format read by the tail path.
    const accepted = Array.from(
      { length: 50 },
      (_, i) =>
        `7 2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 ${40000 + i} 443 6 3 180 ${T0 + i} ${T0 + 60} ACCEPT OK`,
    );
    const custom = parseFlowLogFormat(
      'srcaddr dstaddr srcport dstport protocol packets bytes action log-status start end',
    );
    const customRows = Array.from(
      { length: 50 },
      (_, i) => `7 10.0.1.5 203.0.113.9 ${40000 + i} 443 6 3 180 ACCEPT OK ${T0 + i} ${T0 + 60}`,
    );
    for (const path of readPaths) {
      // Act
      const v2 = scanOnPath(`${accepted.join('\n')}\n`, path);
      const other = scanOnPath(`${customRows.join('\n')}\n`, path, custom);
      // Assess
      for (const result of [v2, other]) {
        expect(result.stats).toMatchObject({ linesRead: 50, malformedLines: 50, okRecords: 0 });
        expect(result.examples[0]?.reason).toMatch(/^1[52] fields, the format has 1[41]$/);
      }
    }
  });

  it('checks the field count again after a header line changes the format', () => {
    const header =
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
    const bad = `7 ${SOME_ROWS[3]}`;
    // The first ACCEPT row after the second header is checked though the one before it was.
    const input = `${header}\n${SOME_ROWS[3]}\n${header}\n${bad}\n${SOME_ROWS[3]}\n`;
    for (const path of readPaths) {
      const result = scanOnPath(input, path);
      expect(result.stats).toMatchObject({ headerLines: 2, malformedLines: 1, okRecords: 2 });
    }
  });
});

describe('FlowLineScanner on CloudWatch Logs exports', () => {
  /** `aws logs create-export-task` writes each event as `<ISO-8601 time> <message>`. */
  const exported = (text: string): string =>
    text
      .split('\n')
      .map((row) => {
        const start = Number(row.split(' ')[10]);
        return row === '' ? row : `${new Date(start * 1000).toISOString()} ${row}`;
      })
      .join('\n');
  const text = `${SOME_ROWS.join('\n')}\n`;

  it('reads the records of an export as the same records delivered to S3, on every path', () => {
    for (const path of readPaths) {
      // Act
      const delivered = scanOnPath(text, path);
      const export_ = scanOnPath(exported(text), path);
      // Assess
      expect(delivered.stats).toMatchObject({ linesRead: 8, malformedLines: 0, recordsCounted: 4 });
      expect(export_.stats).toEqual(delivered.stats);
      expect(export_.counts).toEqual(delivered.counts);
      expect(export_.skipDataWindows).toEqual(delivered.skipDataWindows);
      expect([export_.minWindow, export_.maxWindow]).toEqual([delivered.minWindow, delivered.maxWindow]);
      expect(export_.segments.map((s) => [s.from, s.to, s.exportPrefix])).toEqual([
        [0, Buffer.byteLength(exported(text)), true],
      ]);
    }
  });

  it('reports a malformed line of an export at its offset in the file', () => {
    const input =
      exported(`${SOME_ROWS[0]}\n${SOME_ROWS[1]}\n`) +
      `2026-10-01T00:00:30.000Z 2 123456789012 eni-0a1 10.0.1.5\n`;
    for (const path of readPaths) {
      const result = scanOnPath(input, path);
      expect(result.stats).toMatchObject({ linesRead: 3, malformedLines: 1, recordsCounted: 2 });
      expect(result.examples.map((e) => [e.offset, e.text])).toEqual([
        [input.indexOf('2026-10-01T00:00:30'), '2 123456789012 eni-0a1 10.0.1.5'],
      ]);
    }
  });

  it('reads a file whose first line has no export timestamp as delivered, whatever later lines hold', () => {
    const input = `${SOME_ROWS[0]}\n${exported(SOME_ROWS[1] as string)}\n`;
    for (const path of readPaths) {
      const result = scanOnPath(input, path);
      expect(result.stats).toMatchObject({ linesRead: 2, malformedLines: 1, recordsCounted: 1 });
    }
  });
});

describe('FlowLineScanner fast paths', () => {
  // Lines of every shape the fast paths must either read exactly as the general path does or
  // hand over to it: addresses in odd forms, fields missing or doubled, times of other lengths.
  const address = fc.constantFrom(
    '10.0.1.5',
    '10.0.1.6',
    '172.16.4.1',
    '192.168.0.77',
    '203.0.113.9',
    '198.51.100.200',
    '8.8.8.8',
    '010.0.1.5', // a leading zero: not an address in strict parsing
    '10.0.1.256',
    '10.0.1',
    '2600:1f18:4a3b:ab01::1a',
    '2001:db8::1',
    '2001:db8:dddc::d195', // longer than the address cache takes
    '2001:DB8:0:0:0:0:0:2',
    '1:2:3:4:5:6:7::',
    '::ffff:10.0.0.7',
    '-',
    'eni-0a1',
    '255.255.255.255',
    '0.0.0.0',
  );
  const time = fc.oneof(
    fc.integer({ min: T0 - 7200, max: T0 + 4 * 3600 }).map(String),
    fc.constantFrom('-', 'soon', '99', '', '1790812800 1', '179081 800'),
  );
  const field = (values: fc.Arbitrary<string>): fc.Arbitrary<string> => values;
  const row = fc
    .record({
      version: field(fc.constantFrom('2', '3', '')),
      // Two accounts (the same addresses in each: separate sources), `unknown`, and account ids
      // that are not 12 digits (counted under the unknown account, never malformed).
      account: field(
        fc.constantFrom(
          '123456789012',
          '123456789012',
          '210987654321',
          'unknown',
          '1234567890123',
          '12345678901a',
          '12345 6789012',
          '-',
        ),
      ),
      eni: field(fc.constantFrom('eni-0e8a44659bc9f5cd3', 'eni-1', '')),
      src: address,
      dst: address,
      srcport: field(fc.constantFrom('49152', '-', '')),
      dstport: field(fc.constantFrom('443', '53', '-')),
      protocol: field(fc.constantFrom('6', '17', '-')),
      packets: field(fc.constantFrom('3', '-')),
      bytes: field(fc.constantFrom('180', '9 9')),
      start: time,
      end: time,
      action: field(fc.constantFrom('REJECT', 'REJECT', 'ACCEPT', 'ACCEPT', '-', 'DROP')),
      status: field(fc.constantFrom('OK', 'OK', 'OK', 'NODATA', 'SKIPDATA', 'MAYBE')),
      separator: fc.constantFrom(' ', ' ', ' ', ' ', '  ', '\t'),
      ending: fc.constantFrom('', '', '\r', ' '),
      drop: fc.integer({ min: -1, max: 40 }),
    })
    .map((r) => {
      const fields = [
        r.version,
        r.account,
        r.eni,
        r.src,
        r.dst,
        r.srcport,
        r.dstport,
        r.protocol,
        r.packets,
        r.bytes,
        r.start,
        r.end,
        r.action,
        r.status,
      ];
      if (r.drop < fields.length) fields.splice(Math.max(0, r.drop), 1); // now and then a field short
      return fields.join(r.drop % 3 === 0 ? r.separator : ' ') + r.ending;
    });
  const oddLine = fc.constantFrom('', 'garbage', DEFAULT_FLOW_LOG_FORMAT.join(' '));
  const textOf = (rows: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .array(fc.oneof({ weight: 12, arbitrary: rows }, { weight: 1, arbitrary: oddLine }), { maxLength: 60 })
      .map((lines) => lines.join('\n'));
  const text = textOf(row);
  // Rows that say REJECT and OK at their end: the rows that can count.
  const rejectText = textOf(
    row.map((line) => `${line.replace(/\s+$/, '').replace(/\S+\s+\S+$/, '')}REJECT OK`),
  );

  /** The WebAssembly kernel, the same fast paths in JavaScript, or the general path only. */
  type Path = 'kernel' | 'javascript' | 'general';
  const fastPaths: Path[] = ['kernel', 'javascript'];

  function scanWith(
    input: string,
    path: Path,
    options: { mode?: 'count' | 'details'; rereadable?: boolean; wanted?: Map<number, Set<string>> } = {},
  ): ChunkResult {
    const scanner = new FlowLineScanner({
      filter: new EgressFilter(config),
      windowMinutes: 60,
      fields: DEFAULT_FLOW_LOG_FORMAT,
      mode: options.mode ?? 'count',
      wanted: options.wanted,
      detailsBudget: options.mode === 'details' ? undefined : 1000,
      fastPaths: path !== 'general',
      kernel: path === 'kernel',
    });
    scanner.beginFile('test.log', undefined, options.rereadable ?? false);
    const buffer = Buffer.from(input, 'latin1');
    // In two pieces, as reads deliver them, split at a line end.
    const cut = buffer.indexOf(10, buffer.length >> 1);
    const middle = cut < 0 ? buffer.length : cut + 1;
    scanner.scan(buffer, 0, middle, 0);
    scanner.scan(buffer.subarray(middle), 0, buffer.length - middle, middle);
    return scanner.takeResult();
  }

  it.each(fastPaths)(
    '(%s) read rows ending REJECT OK exactly as the general path does, malformed ones included',
    (path) => {
      fc.assert(
        fc.property(rejectText, fc.boolean(), (input, rereadable) => {
          const fast = scanWith(input, path, { rereadable });
          const general = scanWith(input, 'general', { rereadable });
          expect(fast.stats).toEqual(general.stats);
          expect(fast.counts).toEqual(general.counts);
          expect(fast.skipDataWindows).toEqual(general.skipDataWindows);
          expect([fast.minWindow, fast.maxWindow]).toEqual([general.minWindow, general.maxWindow]);
          expect(fast.examples).toEqual(general.examples);
          expect(fast.details).toEqual(general.details);
          expect(fast.detailsComplete).toBe(general.detailsComplete);
          expect(fast.segments).toEqual(general.segments);
        }),
        { numRuns: 300 },
      );
    },
  );

  it.each(fastPaths)('(%s) count what the general path counts in any mix of rows', (path) => {
    // The price of the tail-only reading of rows that cannot count (ACCEPT, NODATA, SKIPDATA):
    // their field count is not checked, so some lines the general path calls malformed are
    // read as such rows. Nothing that counts differs.
    fc.assert(
      fc.property(text, fc.boolean(), (input, rereadable) => {
        const fast = scanWith(input, path, { rereadable });
        const general = scanWith(input, 'general', { rereadable });
        expect(fast.counts).toEqual(general.counts);
        expect(fast.details).toEqual(general.details);
        const { recordsCounted, rejectRecords, linesRead, blankLines, headerLines } = general.stats;
        expect(fast.stats).toMatchObject({
          recordsCounted,
          rejectRecords,
          linesRead,
          blankLines,
          headerLines,
        });
        expect(fast.stats.malformedLines).toBeLessThanOrEqual(general.stats.malformedLines);
        for (const w of general.skipDataWindows) expect(fast.skipDataWindows.has(w)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it.each(fastPaths)('(%s) keep the same destination tallies in details mode', (path) => {
    const wanted = new Map([
      [W0, new Set([key('10.0.1.5'), key('172.16.4.1'), key('10.0.1.5', '210987654321')])],
      [W0 + HOUR, new Set([key('10.0.1.6'), key('10.0.1.6', '-')])],
    ]);
    fc.assert(
      fc.property(text, (input) => {
        const fast = scanWith(input, path, { mode: 'details', wanted });
        const general = scanWith(input, 'general', { mode: 'details', wanted });
        expect(fast.details).toEqual(general.details);
        expect(fast.stats.recordsCounted).toBe(general.stats.recordsCounted);
      }),
      { numRuns: 100 },
    );
  });

  it.each(fastPaths)('(%s) do not tally destinations of input a details pass can read again', (path) => {
    const line = `2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK\n`;
    expect(scanWith(line, path, { rereadable: true })).toMatchObject({ detailsComplete: false });
    expect(scanWith(line, path, { rereadable: true }).details.size).toBe(0);
    const tallied = scanWith(line, path, { rereadable: false });
    expect(tallied.detailsComplete).toBe(true);
    expect(flatDestinations(tallied.details.get(W0)?.get(key('10.0.1.5')))).toEqual({
      '203.0.113.9 443 6': 1,
    });
  });
});

describe('FlowLineScanner kernel address table', () => {
  // The kernel's own slot for an address: one REJECT line with it as the source, scanned by a
  // kernel whose table is empty, comes back with the source "missing" at the slot its lookup
  // chose. No copy of the hash: a change of it cannot turn the collisions below into a no-op.
  const probe = newLineKernel();
  const slotOf = (address: string): number => {
    const line = Buffer.from(
      `2 123456789012 eni-0a1 ${address} 203.0.113.9 49152 443 6 3 180 ${T0} ${T0 + 60} REJECT OK\n`,
      'latin1',
    );
    line.copy(probe.bytes, probe.inputStart);
    probe.int32[KERNEL_RECORDS] = 0;
    probe.scan(probe.inputStart, probe.inputStart + line.length, 1);
    const code = probe.int32[probe.recordsIndex + 6] as number;
    if (probe.int32[KERNEL_RECORDS] !== 1 || code >= NOT_LOOKED_UP)
      throw new Error(`the kernel did not look ${address} up in its (empty) table`);
    return slotOfMissing(code);
  };
  /** Addresses made by `make(i)` that share a slot, `count` of them. */
  const colliding = (make: (i: number) => string, count: number): string[] => {
    const bySlot = new Map<number, string[]>();
    for (let i = 0; ; i += 1) {
      const address = make(i);
      const same = bySlot.get(slotOf(address)) ?? [];
      same.push(address);
      bySlot.set(slotOf(address), same);
      if (same.length === count) return same;
    }
  };

  it('counts exactly while addresses that share a slot replace each other, in any order', () => {
    // Internal sources and external destinations, each group in one group of the table's slots
    // and more of them than it has slots: a line's lookup can find its address replaced by
    // another, until the scanner fills it again.
    const many = ADDRESS_GROUP_SLOTS + 2;
    const sources = colliding((i) => `10.${(i >> 8) & 255}.${i & 255}.9`, many);
    const destinations = colliding((i) => `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, many).filter(
      (d) => slotOf(d) !== slotOf(sources[0] as string),
    );
    const mixed = colliding(
      (i) => (i % 2 === 0 ? `10.9.${(i >> 8) & 255}.${i & 255}` : `203.${(i >> 8) & 255}.${i & 255}.1`),
      many,
    );
    const addresses = [...sources, ...destinations, ...mixed];
    // Each group shares one group of slots of the kernel's table (three groups).
    expect([sources, destinations, mixed].map((group) => new Set(group.map(slotOf)).size)).toEqual([1, 1, 1]);
    expect(destinations.length).toBeGreaterThan(ADDRESS_GROUP_SLOTS);
    const line = fc
      .tuple(fc.constantFrom(...addresses), fc.constantFrom(...addresses), fc.integer({ min: 0, max: 7200 }))
      .map(
        ([src, dst, t]) =>
          `2 123456789012 eni-0a1 ${src} ${dst} 49152 443 6 3 180 ${T0 + t} ${T0 + t + 60} REJECT OK`,
      );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 80 }), (lines) => {
        const buffer = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
        // Scanned twice: the second time, the table holds what the first filled.
        const kernel = scanPlainCount(buffer, true, 2);
        const general = scanPlainCount(buffer, false, 2);
        expect(kernel.counts).toEqual(general.counts);
        expect(kernel.stats).toEqual(general.stats);
        expect([kernel.minWindow, kernel.maxWindow]).toEqual([general.minWindow, general.maxWindow]);
        expect(kernel.segments).toEqual(general.segments);
      }),
      { numRuns: 200 },
    );
  });
});

describe('FlowLineScanner kernel limits', () => {
  it('reads input larger than the kernel takes at once, and a line longer than all of it, as the general path does', () => {
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i += 1) {
      const action = i % 3 === 0 ? 'ACCEPT' : 'REJECT';
      lines.push(
        `2 123456789012 eni-0a1 10.0.${i % 7}.5 203.0.113.${i % 200} 49152 443 6 3 180 ${T0 + i} ${T0 + i + 60} ${action} OK`,
      );
      if (i === 20_000) lines.push('x'.repeat(2_200_000)); // past the kernel's 2 MB input
    }
    const buffer = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
    const kernel = scanPlainCount(buffer, true);
    const general = scanPlainCount(buffer, false);
    expect(buffer.length).toBeGreaterThan(5_000_000);
    expect(kernel.stats).toEqual(general.stats);
    expect(kernel.stats).toMatchObject({ recordsCounted: 20_000, malformedLines: 1 });
    expect(kernel.counts).toEqual(general.counts);
    expect(kernel.examples).toEqual(general.examples);
    expect([kernel.minWindow, kernel.maxWindow]).toEqual([general.minWindow, general.maxWindow]);
  });
});

describe('file reading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'scanner-test-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const line = (i: number): string =>
    `2 123456789012 eni-0a${i % 3} 10.0.${i % 4}.${i % 7} 203.0.113.${i % 11} ${40000 + i} 443 6 1 60 ${T0 + ((i * 7919) % 36000)} ${T0 + 36000} REJECT OK`;

  async function scanFiles(
    paths: string[],
    parts: number,
    splitBytes: number,
  ): Promise<{ counts: Record<string, number>; lines: number }> {
    const chunks = await planChunks((await expandInputs(paths)).files, parts, splitBytes);
    const scanner = new FlowLineScanner({
      filter: new EgressFilter(config),
      windowMinutes: 60,
      fields: DEFAULT_FLOW_LOG_FORMAT,
      mode: 'count',
    });
    const counts: Record<string, number> = {};
    let lines = 0;
    for (const chunk of chunks) {
      await scanChunk(chunk, scanner);
      const result = scanner.takeResult();
      lines += result.stats.linesRead;
      for (const [w, perSource] of result.counts)
        for (const [s, n] of perSource) counts[`${w} ${s}`] = (counts[`${w} ${s}`] ?? 0) + n;
    }
    return { counts, lines };
  }

  it('gives the same counts whole, split into byte ranges at any points, and gzipped', async () => {
    // Prepare
    const text = `${Array.from({ length: 3000 }, (_, i) => line(i)).join('\n')}\n`;
    const plain = join(dir, 'flows.log');
    await fs.writeFile(plain, text);
    await fs.writeFile(join(dir, 'flows.log.gz'), gzipSync(text));
    const whole = await scanFiles([plain], 1, Infinity);
    const gz = await scanFiles([join(dir, 'flows.log.gz')], 1, Infinity);
    // Assess
    expect(whole.lines).toBe(3000);
    expect(gz).toEqual(whole);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 100, max: 60_000 }),
        async (parts, split) => {
          const ranged = await scanFiles([plain], parts, split);
          expect(ranged).toEqual(whole);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('honours a header line in later byte ranges of a split file', async () => {
    const header = 'srcaddr dstaddr start action log-status';
    const rows = Array.from({ length: 2000 }, (_, i) => `10.0.0.${i % 5} 203.0.113.1 ${T0 + i} REJECT OK`);
    const path = join(dir, 'custom.log');
    await fs.writeFile(path, `${header}\n${rows.join('\n')}\n`);
    const ranged = await scanFiles([path], 4, 4000);
    expect(Object.values(ranged.counts).reduce((a, b) => a + b, 0)).toBe(2000);
  });

  it('reads a last line without a newline and directories recursively, skipping hidden files', async () => {
    const nested = join(dir, 'tree', 'a', 'b');
    await fs.mkdir(nested, { recursive: true });
    await fs.writeFile(join(nested, 'x.log'), line(1));
    await fs.writeFile(join(dir, 'tree', '.hidden.log'), 'not flow logs\n');
    const { files } = await expandInputs([join(dir, 'tree')]);
    expect(files.map((f) => f.path)).toEqual([join(nested, 'x.log')]);
    expect((await scanFiles([join(dir, 'tree')], 1, Infinity)).lines).toBe(1);
  });

  describe('reading in blocks (small ones here, so that every boundary is hit)', () => {
    const newScanner = (): FlowLineScanner =>
      new FlowLineScanner({
        filter: new EgressFilter(config),
        windowMinutes: 60,
        fields: DEFAULT_FLOW_LOG_FORMAT,
        mode: 'count',
        maxExamples: 10_000,
      });

    /** The reference: the whole file handed to the scanner at once. */
    function scanWhole(bytes: Buffer): ChunkResult {
      const scanner = newScanner();
      scanner.beginFile('whole.log', undefined, true);
      scanner.scan(bytes, 0, bytes.length, 0);
      return scanner.takeResult();
    }

    /** The file read as the byte ranges between `cuts`, through scanChunk with the given read sizes. */
    async function scanRanges(
      path: string,
      size: number,
      cuts: readonly number[],
      readOptions: ReadOptions,
    ): Promise<{ results: ChunkResult[]; bytesRead: number[] }> {
      const bounds = [...new Set([0, ...cuts.filter((c) => c > 0 && c < size), size])].sort((a, b) => a - b);
      const scanner = newScanner();
      const results: ChunkResult[] = [];
      const bytesRead: number[] = [];
      for (let i = 0; i + 1 < bounds.length || (i === 0 && size === 0); i += 1) {
        const chunk = { path, gzip: false, from: bounds[i] ?? 0, to: bounds[i + 1] ?? 0 };
        let read = 0;
        await scanChunk(chunk, scanner, (bytes) => (read += bytes), readOptions);
        results.push(scanner.takeResult());
        bytesRead.push(read);
      }
      return { results, bytesRead };
    }

    function merged(results: readonly ChunkResult[]): {
      stats: Record<string, number>;
      counts: Record<string, number>;
    } {
      const stats: Record<string, number> = {};
      const counts: Record<string, number> = {};
      for (const result of results) {
        for (const [key, n] of Object.entries(result.stats)) stats[key] = (stats[key] ?? 0) + n;
        for (const [w, perSource] of result.counts)
          for (const [src, n] of perSource) counts[`${w} ${src}`] = (counts[`${w} ${src}`] ?? 0) + n;
      }
      return { stats, counts };
    }

    // A file of flow log rows (92-93 bytes), blank lines and junk lines of any length, some far
    // longer than a block; with or without a last newline.
    const fileText = fc
      .tuple(
        fc.array(
          fc.oneof(
            { weight: 6, arbitrary: fc.nat(99_999).map((i) => line(i)) },
            { weight: 1, arbitrary: fc.constant('') },
            { weight: 2, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => 'x'.repeat(n)) },
          ),
          { maxLength: 120 },
        ),
        fc.boolean(),
      )
      .map(([lines, lastNewline]) => lines.join('\n') + (lastNewline && lines.length > 0 ? '\n' : ''));

    let fileNumber = 0;
    async function writeFile(text: string): Promise<{ path: string; bytes: Buffer }> {
      const path = join(dir, `blocks-${(fileNumber += 1)}.log`);
      const bytes = Buffer.from(text, 'latin1');
      await fs.writeFile(path, bytes);
      return { path, bytes };
    }

    /** Line starts of the lines with at least `blockSize` bytes before their newline. */
    function oversizedStarts(bytes: Buffer, blockSize: number): number[] {
      const starts: number[] = [];
      for (let start = 0; start < bytes.length;) {
        const newline = bytes.indexOf(10, start);
        const end = newline < 0 ? bytes.length : newline;
        if (end - start >= blockSize) starts.push(start);
        start = end + 1;
      }
      return starts;
    }

    it('reads every line once, at its exact offset, for any block size, tail room and range cuts', async () => {
      await fc.assert(
        fc.asyncProperty(
          fileText,
          fc.integer({ min: 100, max: 700 }),
          fc.integer({ min: 0, max: 400 }),
          fc.array(fc.nat(400_000), { maxLength: 8 }),
          async (text, blockSize, tailRoom, rawCuts) => {
            // Prepare
            const { path, bytes } = await writeFile(text);
            const cuts = rawCuts.map((c) => c % (bytes.length + 1));
            const whole = scanWhole(bytes);
            // Act
            const { results } = await scanRanges(path, bytes.length, cuts, { blockSize, tailRoom });
            // Assess: the same lines, records and counts as the whole file at once
            const ranged = merged(results);
            expect(ranged).toEqual(merged([whole]));
            // Every malformed line reported once at its offset; those of a block or more as oversized
            const examples = results.flatMap((r) => r.examples);
            expect(examples.map((e) => e.offset).sort((a, b) => a - b)).toEqual(
              whole.examples.map((e) => e.offset).sort((a, b) => a - b),
            );
            const reasonAt = new Map(whole.examples.map((e) => [e.offset, e.reason]));
            expect(
              examples
                .filter((e) => e.reason !== reasonAt.get(e.offset))
                .map((e) => e.offset)
                .sort((a, b) => a - b),
            ).toEqual(oversizedStarts(bytes, blockSize));
            // The recorded stretches are whole lines at exact file offsets: re-read, they count the same
            const segments = results.flatMap((r) => r.segments);
            const rescanner = newScanner();
            rescanner.beginFile(path, undefined, true);
            for (const segment of segments) {
              expect(segment.from === 0 || bytes[segment.from - 1] === 10).toBe(true);
              expect(segment.to === bytes.length || bytes[segment.to - 1] === 10).toBe(true);
              rescanner.scan(bytes, segment.from, segment.to, 0);
            }
            const reread = rescanner.takeResult();
            expect(reread.counts).toEqual(whole.counts);
            expect(reread.stats.recordsCounted).toBe(whole.stats.recordsCounted);
            await fs.rm(path);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('reads a whole file in many blocks exactly once, and carries tails larger than the room', async () => {
      // Prepare: 2,000 rows with a 250-byte junk line every 100, in blocks of 512 with 64 bytes of room
      const lines = Array.from({ length: 2000 }, (_, i) => (i % 100 === 50 ? 'x'.repeat(250) : line(i)));
      const { path, bytes } = await writeFile(`${lines.join('\n')}\n`);
      const whole = scanWhole(bytes);
      // Act
      const { results, bytesRead } = await scanRanges(path, bytes.length, [], {
        blockSize: 512,
        tailRoom: 64,
      });
      // Assess
      expect(bytesRead).toEqual([bytes.length]);
      expect(merged(results)).toEqual(merged([whole]));
      expect(whole.stats).toMatchObject({ linesRead: 2000, malformedLines: 20 });
      const segments = results[0]?.segments ?? [];
      expect(segments.length).toBeGreaterThan(bytes.length / 600);
      expect(segments.map((s) => [s.from, s.to]).flat()).toEqual([
        0,
        ...segments.slice(1).flatMap((s) => [s.from, s.from]),
        bytes.length,
      ]);
    });

    it('counts a line of a block or more once as oversized, wherever it starts, and reads on after it', async () => {
      // Prepare: lines just under, at and far over a block of 256 bytes
      const blockSize = 256;
      const lines = [
        line(1),
        'x'.repeat(blockSize - 1),
        line(2),
        'x'.repeat(blockSize),
        line(3),
        'x'.repeat(5 * blockSize + 17),
        line(4),
      ];
      const { path, bytes } = await writeFile(lines.join('\n')); // the last line without a newline
      const starts = lines.map((_, i) => lines.slice(0, i).join('\n').length + (i > 0 ? 1 : 0));
      for (const cuts of [[], [starts[3] as number], [(starts[5] as number) + 300], [1, 2, 3, 500, 501]]) {
        // Act
        const { results } = await scanRanges(path, bytes.length, cuts, { blockSize, tailRoom: 16 });
        // Assess
        const ranged = merged(results);
        expect(ranged.stats).toMatchObject({ linesRead: 7, malformedLines: 3, recordsCounted: 4 });
        const examples = results.flatMap((r) => r.examples).sort((a, b) => a.offset - b.offset);
        expect(examples.map((e) => e.offset)).toEqual([starts[1], starts[3], starts[5]]);
        expect(examples.map((e) => e.text === '')).toEqual([false, true, true]); // at or over a block: oversized
      }
    });

    it('reads tiny files and ranges that end mid-line', async () => {
      for (const text of ['', '\n', '\n\n', line(7), `${line(7)}\n`, `\n${line(8)}`, 'x']) {
        const { path, bytes } = await writeFile(text);
        const whole = merged([scanWhole(bytes)]);
        for (let cut = 0; cut <= bytes.length; cut += 7) {
          const { results } = await scanRanges(path, bytes.length, [cut, cut + 1], {
            blockSize: 128,
            tailRoom: 8,
          });
          expect(merged(results)).toEqual(whole);
        }
        // The production sizes
        expect(merged((await scanRanges(path, bytes.length, [5], {})).results)).toEqual(whole);
      }
    });

    it('reads gzip files in decompressed pieces of any size: the same lines, at the same offsets', async () => {
      await fc.assert(
        fc.asyncProperty(fileText, fc.integer({ min: 64, max: 700 }), async (text, blockSize) => {
          // Prepare
          const bytes = Buffer.from(text, 'latin1');
          const path = join(dir, `pieces-${(fileNumber += 1)}.log.gz`);
          await fs.writeFile(path, gzipSync(bytes));
          const plain = await writeFile(text);
          const { results } = await scanRanges(plain.path, bytes.length, [], { blockSize });
          const whole = results[0] as ChunkResult;
          const scanner = newScanner();
          // Act
          await scanChunk({ path, gzip: true, from: 0, to: 0 }, scanner, undefined, { blockSize });
          const pieces = scanner.takeResult();
          // Assess: as the plain file read in blocks of the same size (lines of a block or more oversized)
          expect(merged([pieces])).toEqual(merged([whole]));
          expect(pieces.examples).toEqual(whole.examples.map((e) => ({ ...e, file: path })));
          // The stretches follow each other, whole lines at exact offsets, skipping only oversized lines
          const oversized = new Set(oversizedStarts(bytes, blockSize));
          let expectedFrom = 0;
          for (const segment of pieces.segments) {
            while (oversized.has(expectedFrom) && segment.from !== expectedFrom) {
              const newline = bytes.indexOf(10, expectedFrom);
              expectedFrom = newline < 0 ? bytes.length : newline + 1;
            }
            expect(segment.from).toBe(expectedFrom);
            expect(segment.to === bytes.length || bytes[segment.to - 1] === 10).toBe(true);
            expectedFrom = segment.to;
          }
          await fs.rm(path);
          await fs.rm(plain.path);
        }),
        { numRuns: 60 },
      );
    });

    it('counts a line of a read block or more in a gzip file once as oversized, as in a plain file, without gathering it', async () => {
      // Prepare: a line of 6 MB (the production block is 1 MB) between records
      const long = 'x'.repeat(6 * 1024 * 1024);
      const text = `${line(1)}\n${line(2)}\n${long}\n${line(3)}\n${long}`;
      const path = join(dir, 'long-line.log.gz');
      await fs.writeFile(path, gzipSync(text));
      const plain = await writeFile(text);
      const scanner = newScanner();
      // Act
      await scanChunk({ path, gzip: true, from: 0, to: 0 }, scanner);
      const gz = scanner.takeResult();
      const { results } = await scanRanges(plain.path, text.length, [], {});
      // Assess
      expect(gz.stats).toMatchObject({ linesRead: 5, malformedLines: 2, recordsCounted: 3 });
      expect(merged([gz])).toEqual(merged(results));
      const second = text.indexOf(long, text.indexOf(line(3)));
      expect(gz.examples.map((e) => [e.offset, e.reason])).toEqual([
        [text.indexOf(long), 'line longer than the 1 MB read block'],
        [second, 'line longer than the 1 MB read block'],
      ]);
    });

    it('closes a gzip file that is not valid gzip data, naming it', async () => {
      const path = join(dir, 'broken.log.gz');
      await fs.writeFile(
        path,
        Buffer.concat([gzipSync(line(1)).subarray(0, 12), Buffer.from('not deflate data')]),
      );
      const openFiles = async (): Promise<number> => (await fs.readdir('/proc/self/fd')).length;
      const before = await openFiles();
      await expect(scanChunk({ path, gzip: true, from: 0, to: 0 }, newScanner())).rejects.toThrow(
        `cannot read "${path}": not valid gzip data`,
      );
      expect(await openFiles()).toBe(before);
    });

    it('closes the file and names it when scanning fails while the next read is in flight', async () => {
      // Prepare
      const { path } = await writeFile(`${Array.from({ length: 100 }, (_, i) => line(i)).join('\n')}\n`);
      const failing = newScanner();
      let calls = 0;
      failing.scan = () => {
        calls += 1;
        if (calls === 3) throw new Error('scanner broke');
      };
      const openFiles = async (): Promise<number> => (await fs.readdir('/proc/self/fd')).length;
      const before = await openFiles();
      // Act
      const scanning = scanChunk({ path, gzip: false, from: 0, to: 9300 }, failing, undefined, {
        blockSize: 1000,
        tailRoom: 100,
      });
      // Assess
      await expect(scanning).rejects.toThrow(
        new InputFileError(`cannot read "${path}": scanner broke`, path),
      );
      expect(calls).toBe(3);
      expect(await openFiles()).toBe(before);
    });
  });

  it('names a missing input', async () => {
    await expect(expandInputs([join(dir, 'nope.log')])).rejects.toThrow(
      `cannot read input "${join(dir, 'nope.log')}": no such file or directory`,
    );
  });
});
