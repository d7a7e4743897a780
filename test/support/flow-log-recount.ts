/**
 * A deliberately plain recount of default-format (v2) VPC flow log text, for tests that need an
 * expectation computed apart from the replay's scanner and engine: split lines, split fields,
 * check addresses with ipaddr.js. Slow and simple on purpose; only the v2 field order and the
 * counting rule (REJECT, log-status OK, source inside an internal CIDR, destination outside all
 * of them) are shared with the code under test, as the documented contract.
 */
import ipaddr from 'ipaddr.js';

export interface FlowLogRecount {
  /** Lines, the last one counted even without a final newline (an empty tail is not a line). */
  lines: number;
  headerLines: number;
  blankLines: number;
  noDataRecords: number;
  skipDataRecords: number;
  /** Records the detector counts, in all. */
  recordsCounted: number;
  /** Records the detector counts, per `<window start ms> <source>`. */
  counted: Map<string, number>;
}

export function recountFlowLog(
  text: string,
  internalCidrs: readonly string[],
  windowMs = 3_600_000,
): FlowLogRecount {
  const internal = internalCidrs.map((cidr) => ipaddr.parseCIDR(cidr));
  const isInternal = (text: string): boolean => {
    if (!ipaddr.isValid(text)) return false;
    const address = ipaddr.parse(text);
    return internal.some(([range, bits]) => address.kind() === range.kind() && address.match(range, bits));
  };
  const result: FlowLogRecount = {
    lines: 0,
    headerLines: 0,
    blankLines: 0,
    noDataRecords: 0,
    skipDataRecords: 0,
    recordsCounted: 0,
    counted: new Map(),
  };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    result.lines += 1;
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '') result.blankLines += 1;
    else if (fields[0] === 'version') result.headerLines += 1;
    else if (fields[13] === 'NODATA') result.noDataRecords += 1;
    else if (fields[13] === 'SKIPDATA') result.skipDataRecords += 1;
    else if (fields.length === 14 && fields[12] === 'REJECT' && fields[13] === 'OK') {
      const [, , , src = '', dst = ''] = fields;
      if (!isInternal(src) || isInternal(dst) || !ipaddr.isValid(dst)) continue;
      const window = Math.floor((Number(fields[10]) * 1000) / windowMs) * windowMs;
      const key = `${window} ${src}`;
      result.counted.set(key, (result.counted.get(key) ?? 0) + 1);
      result.recordsCounted += 1;
    }
  }
  return result;
}
