/**
 * Deterministic synthetic flow log windows for the benchmarks: the same (seed, size) gives the
 * same records in every process, so the endpoints process can seed what the orchestrator counts
 * directly, without shipping hundreds of thousands of records over IPC.
 */
import ipaddr from 'ipaddr.js';
import { accountOfRecord, seededRandom, sourceKey } from '../../lambda/core';
import type { LogEvent } from '../../test/support/logs-insights-query';

export const HOUR = 3_600_000;
const INTERNAL = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => ipaddr.parseCIDR(c));

/**
 * `n` distinct internal source addresses, scattered (not sequential) so that query splitting has
 * to work across the whole space: 80% in 10.0.0.0/8, 15% in 172.16.0.0/12, 5% in 192.168.0.0/16.
 */
export function internalSources(n: number, seed = 1): string[] {
  const random = seededRandom(seed);
  const seen = new Set<string>();
  const sources: string[] = [];
  while (sources.length < n) {
    const r = random();
    const u = Math.floor(random() * 2 ** 24);
    const ip =
      r < 0.8
        ? `10.${(u >>> 16) & 255}.${(u >>> 8) & 255}.${u & 255}`
        : r < 0.95
          ? `172.${16 + ((u >>> 16) & 15)}.${(u >>> 8) & 255}.${u & 255}`
          : `192.168.${(u >>> 8) & 255}.${u & 255}`;
    if (seen.has(ip)) continue;
    seen.add(ip);
    sources.push(ip);
  }
  return sources;
}

/** The account of every record unless a window spreads its sources over several. */
export const DEFAULT_ACCOUNT = '123456789012';

/** `n` distinct 12-digit account ids (an Organization's member accounts), the same in every process. */
export function accountIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(210_987_654_321 + i * 7_919).padStart(12, '0'));
}

/** One default-format (v2) record. */
export function flowEvent(
  startMs: number,
  src: string,
  dst: string,
  action: 'ACCEPT' | 'REJECT',
  dstPort = 443,
  status: 'OK' | 'NODATA' | 'SKIPDATA' = 'OK',
  account = DEFAULT_ACCOUNT,
  logStream?: string,
): LogEvent {
  const start = Math.floor(startMs / 1000);
  const eni = `eni-0${(src.replace(/[^0-9]/g, '') + '0000000000000000').slice(0, 16)}`;
  const message =
    status === 'OK'
      ? `2 ${account} ${eni} ${src} ${dst} 49152 ${dstPort} 6 3 180 ${start} ${start + 60} ${action} OK`
      : `2 ${account} ${eni} - - - - - - - ${start} ${start + 60} - ${status}`;
  return { timestamp: startMs, message, logStream: logStream ?? `${eni}-all` };
}

/**
 * A window's records: source i sends `counts[i]` blocked records to external addresses, plus
 * records that must not count (accepted, internal -> internal, NODATA), about one per ten.
 */
export function windowEvents(
  windowStart: number,
  sources: readonly string[],
  counts: readonly number[],
  options: WindowShape = {},
): LogEvent[] {
  return [...windowEventsOf(windowStart, sources, counts, options)];
}

export interface WindowShape {
  /** Source i's account is `accounts[i % accounts.length]`. @default [DEFAULT_ACCOUNT] */
  accounts?: readonly string[];
  /** Every this many sources, one each of the records that must not count. @default 10 */
  uncountedEvery?: number;
}

/** windowEvents one record at a time, for windows too large to hold twice. */
export function* windowEventsOf(
  windowStart: number,
  sources: readonly string[],
  counts: readonly number[],
  options: WindowShape = {},
): Generator<LogEvent> {
  const accounts = options.accounts ?? [DEFAULT_ACCOUNT];
  const every = options.uncountedEvery ?? 10;
  for (let i = 0; i < sources.length; i += 1) {
    const src = sources[i]!;
    const account = accounts[i % accounts.length]!;
    const count = counts[i] ?? 0;
    let stream: string | undefined;
    for (let k = 0; k < count; k += 1) {
      const at = windowStart + (((i * 7 + k * 13) % 3599) + 1) * 1000;
      const event = flowEvent(
        at,
        src,
        `198.51.100.${((i + k) % 250) + 1}`,
        'REJECT',
        k % 2 === 0 ? 443 : 8443,
        'OK',
        account,
        stream,
      );
      // One stream name per interface, shared by its records (as the service's are).
      stream = event.logStream;
      yield event;
    }
    if (i % every === 0) {
      const at = windowStart + ((i % 3599) + 1) * 1000;
      yield flowEvent(at, src, '203.0.113.9', 'ACCEPT', 443, 'OK', account);
      yield flowEvent(at, src, '10.255.255.254', 'REJECT', 443, 'OK', account);
      yield flowEvent(at, src, '-', 'REJECT', 0, 'NODATA', account);
    }
  }
}

/**
 * The oracle: blocked internal -> external records per source, counted straight from the record
 * text (REJECT, OK, source internal, destination not), independently of the query path.
 */
export function directCount(events: Iterable<LogEvent>, from: number, to: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.timestamp < from || event.timestamp >= to) continue;
    const f = event.message.split(' ');
    if (f[12] !== 'REJECT' || f[13] !== 'OK') continue;
    const src = f[3] ?? '';
    const dst = f[4] ?? '';
    if (!ipaddr.isValid(src) || !ipaddr.isValid(dst)) continue;
    const inside = (ip: string) => {
      const parsed = ipaddr.parse(ip);
      return INTERNAL.some(([range, bits]) => parsed.kind() === range.kind() && parsed.match(range, bits));
    };
    if (!inside(src) || inside(dst)) continue;
    const key = oracleKey(f[1] ?? '', src);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The oracle's key of a source, as the detector keys it: an address within its account. */
export function oracleKey(account: string, address: string): string {
  return sourceKey({ accountId: accountOfRecord(account), address });
}

/** Per-source counts 1..maxCount from a seeded PRNG (the quiet part of a window). */
export function quietCounts(n: number, seed: number, maxCount = 5): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => 1 + Math.floor(random() * maxCount));
}
