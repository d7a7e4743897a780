/**
 * Builds the CloudWatch Logs Insights query strings the detector runs over VPC flow logs. Pure:
 * no SDK, no clock. Every value interpolated into a query (CIDR, IP address, field name) passes a
 * strict grammar first and is re-serialised from its parsed form, so a query never contains text
 * that was not produced here; anything else throws QueryInjectionError.
 *
 * A source is an address within its account (and VPC, where the format has `vpc-id`): every query
 * groups by `flowAccountId` (`account-id`) and `flowVpcId` where the format has them, and
 * `flowSrcAddr`, and rows come back keyed by source key (source-key.ts).
 *
 * Every query starts by parsing the record's fields from `@message` (the format's fields, named
 * `flow` + the name Logs Insights would discover: insightsFieldName), so it reads the same in
 * every log class and never reads a discovered field. Below, the names are written short.
 *
 * One filter, three queries:
 * - count:   `stats count(*) as blockedCount, count_distinct(dstAddr) as uniqueDestinations,
 *            max(deliveryDelayMs) as maxDeliveryDelayMs, max(endTime) as lastEnd by accountId, srcAddr` over
 *            `logStatus = "SKIPDATA" or (<counting filter>)`, where `deliveryDelayMs` is
 *            `toMillis(@ingestionTime) - toMillis(@timestamp)`: how long after its start a record
 *            reached CloudWatch Logs (aggregation plus delivery), measured in the same scan.
 *            SKIPDATA records carry `-` in their address fields, so they group under the source `-`
 *            (SKIPDATA_SOURCE; one group per account) and tell the caller the window is incomplete
 *            in the same query, at no extra scan cost; their `lastEnd` says how far past the
 *            window their capture reached.
 * - details: the counting filter restricted to given sources (each account's addresses under
 *            `accountId in ["<id>"]`), grouped by accountId, srcAddr, dstAddr, dstPort, protocol,
 *            interfaceId and sorted by count, descending.
 *            For one source over the row limit (a scan): its top destinations (`sort | limit`)
 *            and its distinct destination addresses and ports per interface.
 * - history: counts per source per window: `stats count(*) as blockedCount, max(endTime) as lastEnd
 *            by bin(<w>m) as windowBin, accountId, srcAddr`, SKIPDATA included as in the count query
 *            (a window over 60 minutes binned in hours, or in parts: historyBinMinutes).
 * A narrowing (`isIpInSubnet(srcAddr | dstAddr, "<cidr>")`) is added inside the counting filter
 * when a result reached the row limit and the query is re-run on halves of the address space.
 * It is ANDed with the counting part only, so every narrowed query still reports SKIPDATA.
 */
import ipaddr from 'ipaddr.js';
import {
  accountOfRecord,
  DEFAULT_FLOW_LOG_FORMAT,
  FLOW_LOG_FIELDS,
  insightsFieldName,
  isAccountId,
  isVpcId,
  parseCidr,
  parseFlowLogFormat,
  parseSourceKey,
  sourceKey,
  vpcOfRecord,
  type DetectorConfig,
  type FlowLogField,
  type SourceIdentity,
  type Window,
} from '../core';
import { QueryInjectionError, QueryTooLongError, type QueryKind } from './errors';

/** StartQuery's limit on `queryString`. */
export const MAX_QUERY_LENGTH = 10_000;

/** The source value under which SKIPDATA records are grouped (their address fields are `-`). */
export const SKIPDATA_SOURCE = '-';

/** Result column names of the queries built here (aliases chosen by this module). */
export const RESULT_COLUMNS = {
  /** The fields grouped by, named as parsed (insightsFieldName): `flowSrcAddr`, ... */
  source: insightsFieldName('srcaddr'),
  /** The source's account and VPC, where the format has them. */
  account: insightsFieldName('account-id'),
  vpc: insightsFieldName('vpc-id'),
  destination: insightsFieldName('dstaddr'),
  destinationPort: insightsFieldName('dstport'),
  protocol: insightsFieldName('protocol'),
  interfaceId: insightsFieldName('interface-id'),
  blockedCount: 'blockedCount',
  uniqueDestinations: 'uniqueDestinations',
  detailCount: 'n',
  distinctAddresses: 'distinctAddresses',
  distinctPorts: 'distinctPorts',
  windowBin: 'windowBin',
  /** Longest `@ingestionTime - @timestamp` of the group's records, ms. */
  maxDeliveryDelay: 'maxDeliveryDelayMs',
  /** Latest `end` (epoch seconds) of the group's records: for SKIPDATA, the end of its capture. */
  lastEnd: 'lastEnd',
  /** The format check's count of records that do not have the configured format. */
  notInFormat: 'notInFormat',
} as const;

/** The computed field the count query takes the longest delivery delay of. */
const DELIVERY_DELAY_FIELD = 'deliveryDelayMs';

/** The configuration fields the queries depend on. */
export type QueryConfig = Pick<
  DetectorConfig,
  'internalCidrs' | 'excludeSourceCidrs' | 'excludeDestinationCidrs' | 'flowLogFormat' | 'windowMinutes'
>;

/**
 * Why the configuration's Logs Insights queries cannot fit StartQuery's 10,000 characters (too
 * many CIDRs), or undefined: checked at cold start and at synth, so that such a configuration is
 * refused before it is deployed or run, not failed at every run.
 */
export function queryLengthProblem(config: QueryConfig): string | undefined {
  const tooLong = (build: () => unknown): string | undefined => {
    try {
      build();
      return undefined;
    } catch (error) {
      if (error instanceof QueryTooLongError) return error.message;
      throw error;
    }
  };
  let builder: FlowQueryBuilder | undefined;
  const whole = tooLong(() => (builder = new FlowQueryBuilder(config)).historyQuery());
  if (whole !== undefined || builder === undefined) return whole;
  // Room to split a busy window's queries: a narrowing to a CIDR with two parts left out and an
  // account clause, about what the first levels of splitting add (deeper ones are rare).
  const longest = [...builder.sourceSplitSpace()].sort((a, b) => b.length - a.length)[0]!;
  const hasAccount =
    config.flowLogFormat === undefined || parseFlowLogFormat(config.flowLogFormat).includes('account-id');
  const split: Narrowing = {
    field: 'srcAddr',
    cidr: longest,
    exclude: [longest, longest],
    ...(hasAccount ? { accounts: NO_ACCOUNT } : {}),
  };
  const narrowed = tooLong(() => {
    builder!.countQuery(split);
    builder!.historyQuery(split);
  });
  return narrowed === undefined ? undefined : `${narrowed}, once a busy window's query is split`;
}

/**
 * An extra condition used to split an overflowing query: `<field>` inside `cidr` and outside
 * every CIDR of `exclude` (the parts of `cidr` already queried separately).
 */
export interface Narrowing {
  field: 'srcAddr' | 'dstAddr';
  cidr: string;
  exclude?: readonly string[];
  /**
   * Also only the records of these accounts: those whose 12-digit account id starts with these
   * digits, or (NO_ACCOUNT) those that name no 12-digit account. Used where a single address
   * still overflows: the same address in many accounts (an Organization's shared address plans).
   */
  accounts?: string;
}

/** A narrowing's `accounts` for the records that name no 12-digit account (`unknown`, `-`). */
export const NO_ACCOUNT = 'none';
const ACCOUNT_PREFIX = /^\d{1,12}$/;

/**
 * The parts of a narrowing that is a single address and still overflowed, by account: ten by the
 * next digit of the account id (the first level adds the records of no account), or undefined
 * when it is one account already (or the records of none) or the format has no account field.
 */
export function accountNarrowings(narrowing: Narrowing, hasAccountField: boolean): Narrowing[] | undefined {
  const prefix = narrowing.accounts ?? '';
  if (!hasAccountField || prefix === NO_ACCOUNT || prefix.length >= 12) return undefined;
  const parts: Narrowing[] = Array.from({ length: 10 }, (_, digit) => ({
    ...narrowing,
    accounts: `${prefix}${digit}`,
  }));
  return prefix === '' ? [...parts, { ...narrowing, accounts: NO_ACCOUNT }] : parts;
}

/** The 12-digit account ids accountNarrowings splits by (anything else is NO_ACCOUNT). */
const TWELVE_DIGITS = /^\d{12}$/;

/**
 * A test of whether a record of a source address (parsed) and account would pass the narrowing's
 * condition: what the query's `isIpInSubnet` and `accountId like` clauses select. Used to
 * estimate how the parts of a split would fill (count-split-plan.ts splitAhead), never to count.
 */
export function narrowingTest(
  narrowing: Narrowing,
): (address: ipaddr.IPv4 | ipaddr.IPv6, account: string | undefined) => boolean {
  const parsed = (cidr: string) => parseCidr(validatedCidr(cidr));
  const cidr = parsed(narrowing.cidr);
  const excluded = (narrowing.exclude ?? []).map(parsed);
  const accounts = narrowing.accounts;
  const inside = (address: ipaddr.IPv4 | ipaddr.IPv6, c: ReturnType<typeof parsed>): boolean =>
    address.kind() === c.address.kind() && address.match(c.address, c.prefixLength);
  return (address, account) => {
    if (narrowing.field !== 'srcAddr' || !inside(address, cidr)) return false;
    if (excluded.some((e) => inside(address, e))) return false;
    if (accounts === undefined) return true;
    const named = account !== undefined && TWELVE_DIGITS.test(account);
    return accounts === NO_ACCOUNT ? !named : named && account.startsWith(accounts);
  };
}

/** StartQuery's time range for a window [start, end): epoch seconds, both ends inclusive. */
export interface QueryTimeRange {
  startTime: number;
  endTime: number;
}

/**
 * The StartQuery range of [startMs, endMs). StartQuery's `endTime` is inclusive, so the range
 * ends one second before the window's end: a record stamped exactly at the boundary belongs to
 * the next window only. Flow log records carry whole-second start times, so nothing is lost.
 */
export function queryTimeRange(window: Window): QueryTimeRange {
  if (window.start % 1000 !== 0 || window.end % 1000 !== 0 || window.end - window.start < 1000) {
    throw new RangeError(
      `window [${window.start}, ${window.end}) must span whole seconds for a Logs Insights time range`,
    );
  }
  return { startTime: window.start / 1000, endTime: window.end / 1000 - 1 };
}

const CANONICAL_CIDR = /^[0-9a-f:.]+\/\d{1,3}$/;
const IPV6_TEXT = /^[0-9A-Fa-f:.]+$/;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** A CIDR in its canonical text (`10.0.0.0/8`, `fd00::/8`), the only form put into a query. */
export function validatedCidr(value: string): string {
  if (typeof value !== 'string') throw new QueryInjectionError('CIDR', String(value), 'not a string');
  let text: string;
  try {
    text = parseCidr(value).text;
  } catch (error) {
    throw new QueryInjectionError('CIDR', value, (error as Error).message);
  }
  // parseCidr's canonical text is ipaddr.js output; check it anyway: this is the injection boundary.
  if (!CANONICAL_CIDR.test(text))
    throw new QueryInjectionError('CIDR', value, 'canonical form is not plain CIDR text');
  return text;
}

/**
 * An IP address re-serialised by ipaddr.js: IPv4 only in strict dotted-decimal form (no octal,
 * hex or short forms, which ipaddr.js would otherwise accept and reinterpret), IPv6 only with hex
 * digits, colons and dots (no zone ids).
 */
export function validatedIp(value: string): ipaddr.IPv4 | ipaddr.IPv6 {
  if (typeof value !== 'string') throw new QueryInjectionError('IP address', String(value), 'not a string');
  if (ipaddr.IPv4.isValidFourPartDecimal(value)) return ipaddr.IPv4.parse(value);
  if (IPV6_TEXT.test(value) && ipaddr.IPv6.isValid(value)) return ipaddr.IPv6.parse(value);
  throw new QueryInjectionError(
    'IP address',
    value,
    'expected a dotted-decimal IPv4 or an IPv6 address (hex digits, colons and dots only)',
  );
}

/** A source key with its address in canonical text (undefined when it is not a valid key). */
export function canonicalSourceKey(key: string): string | undefined {
  try {
    const identity = parseSourceKey(key);
    const address = addressKey(identity.address);
    return address === undefined ? undefined : sourceKey({ ...identity, address });
  } catch {
    return undefined;
  }
}

/** A canonical key for an address, so differently written forms of one IPv6 address match. */
export function addressKey(value: string): string | undefined {
  try {
    return validatedIp(value).toString();
  } catch {
    return undefined;
  }
}

function fieldName(field: FlowLogField): string {
  const name = insightsFieldName(field);
  if (!(FLOW_LOG_FIELDS as readonly string[]).includes(field) || !FIELD_NAME.test(name)) {
    throw new QueryInjectionError('field name', name, 'not a known flow log field');
  }
  return name;
}

/**
 * Splits a CIDR into its two halves (`10.0.0.0/8` -> `10.0.0.0/9`, `10.128.0.0/9`), or returns
 * undefined for a single address (/32, /128), which cannot be split.
 */
export function splitCidr(cidr: string): [string, string] | undefined {
  const parsed = parseCidr(validatedCidr(cidr));
  const bits = parsed.address.kind() === 'ipv4' ? 32 : 128;
  if (parsed.prefixLength >= bits) return undefined;
  const prefix = parsed.prefixLength + 1;
  const bytes = parsed.address.toByteArray();
  const byteIndex = Math.floor(parsed.prefixLength / 8);
  bytes[byteIndex] = (bytes[byteIndex] ?? 0) | (0x80 >> (parsed.prefixLength % 8));
  const upper = ipaddr.fromByteArray(bytes);
  return [`${parsed.address.toString()}/${prefix}`, `${upper.toString()}/${prefix}`];
}

/**
 * How to re-query a narrowing whose result was full, given the addresses seen in that (possibly
 * cut) result. Plain halving needs one level per bit to separate addresses that share a long
 * prefix (IPv6 hosts of one /64 differ only in the last bits), so when every address seen shares
 * a prefix C at least two bits longer than the narrowing's, the split jumps there: the halves of
 * C, plus the narrowing minus C (one query, whatever the distance). Otherwise: the two halves.
 * Returns undefined when the narrowing is a single address and cannot be split.
 */
export function splitNarrowing(narrowing: Narrowing, seen: readonly string[]): Narrowing[] | undefined {
  return splitNarrowingAt(narrowing, jumpPrefix(narrowing, seen));
}

/**
 * The prefix C a split of `narrowing` jumps to (see splitNarrowing): the longest CIDR holding
 * every address seen inside the narrowing, when it is at least two bits longer than the
 * narrowing's; otherwise undefined (plain halves).
 */
export function jumpPrefix(narrowing: Narrowing, seen: Iterable<string>): string | undefined {
  const parent = parseCidr(validatedCidr(narrowing.cidr));
  const excluded = (narrowing.exclude ?? []).map((c) => parseCidr(validatedCidr(c)));
  const common = new CommonPrefix();
  for (const text of seen) {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      address = validatedIp(text);
    } catch {
      continue; // `-` (SKIPDATA) and the like say nothing about where sources are
    }
    if (address.kind() !== parent.address.kind() || !address.match(parent.address, parent.prefixLength))
      continue;
    if (excluded.some((e) => address.match(e.address, e.prefixLength))) continue;
    // The common prefix only shortens: once it is no longer worth a jump, no later address
    // makes it one (a full result is 100,000 addresses, usually spread from the first few).
    if (common.add(address) <= parent.prefixLength + 1) return undefined;
  }
  const prefix = common.cidr();
  return prefix !== undefined && prefix.prefixLength > parent.prefixLength + 1
    ? `${prefix.address.toString()}/${prefix.prefixLength}`
    : undefined;
}

/**
 * The parts of `narrowing`: the halves of `jump` plus the narrowing minus `jump` (jump itself
 * when it is a single address), or without a jump the two halves. Returns undefined when the
 * narrowing is a single address. Deterministic: a split plan kept between runs (count-split-plan.ts)
 * is re-derived through it, so its parts always partition the narrowing.
 */
export function splitNarrowingAt(narrowing: Narrowing, jump: string | undefined): Narrowing[] | undefined {
  const parent = parseCidr(validatedCidr(narrowing.cidr));
  const bits = parent.address.kind() === 'ipv4' ? 32 : 128;
  const excluded = (narrowing.exclude ?? []).map((c) => parseCidr(validatedCidr(c)));
  const child = (cidr: string): Narrowing | undefined => {
    const c = parseCidr(cidr);
    if (
      excluded.some((e) => e.prefixLength <= c.prefixLength && c.address.match(e.address, e.prefixLength))
    ) {
      return undefined; // entirely inside a part already queried
    }
    const exclude = excluded.filter((e) => cidrContains(cidr, e.text)).map((e) => e.text);
    return { field: narrowing.field, cidr, ...(exclude.length > 0 ? { exclude } : {}) };
  };
  const defined = (items: Array<Narrowing | undefined>): Narrowing[] =>
    items.filter((n): n is Narrowing => n !== undefined);

  if (jump !== undefined) {
    const prefix = parseCidr(validatedCidr(jump));
    if (
      prefix.address.kind() !== parent.address.kind() ||
      prefix.prefixLength <= parent.prefixLength + 1 ||
      !prefix.address.match(parent.address, parent.prefixLength)
    ) {
      throw new Error(`split of ${narrowing.cidr}: ${jump} is not a prefix inside it to jump to`);
    }
    const core = prefix.prefixLength === bits ? [prefix.text] : splitCidr(prefix.text)!;
    const rest: Narrowing = {
      field: narrowing.field,
      cidr: parent.text,
      exclude: [...excluded.map((e) => e.text), prefix.text],
    };
    return [...defined(core.map(child)), rest];
  }
  if (parent.prefixLength >= bits) return undefined;
  return defined(splitCidr(parent.text)!.map(child));
}

/** The longest CIDR holding every address added (all of one family), kept as addresses come. */
class CommonPrefix {
  private base: number[] | undefined;
  private kind: 'ipv4' | 'ipv6' = 'ipv4';
  private length = 0;

  /** Adds an address; returns the common prefix length so far. */
  add(address: ipaddr.IPv4 | ipaddr.IPv6): number {
    const bytes = address.toByteArray();
    if (this.base === undefined) {
      this.base = bytes;
      this.kind = address.kind();
      this.length = bytes.length * 8;
      return this.length;
    }
    for (let i = 0; i < this.base.length && i * 8 < this.length; i += 1) {
      const diff = (this.base[i] ?? 0) ^ (bytes[i] ?? 0);
      if (diff !== 0) {
        this.length = Math.min(this.length, i * 8 + Math.clz32(diff) - 24);
        break;
      }
    }
    return this.length;
  }

  cidr(): { address: ipaddr.IPv4 | ipaddr.IPv6; prefixLength: number } | undefined {
    if (this.base === undefined) return undefined;
    const masked = this.base.map((byte, i) => {
      const keep = Math.max(0, Math.min(8, this.length - i * 8));
      return byte & ((0xff00 >> keep) & 0xff);
    });
    const address = ipaddr.fromByteArray(masked);
    if (address.kind() !== this.kind) throw new Error('common prefix changed family');
    return { address, prefixLength: this.length };
  }
}

/** True when `inner` lies inside `outer` (same family). */
function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  return (
    o.address.kind() === i.address.kind() &&
    o.prefixLength <= i.prefixLength &&
    i.address.match(o.address, o.prefixLength)
  );
}

/** One source's parts of a details query's source clause (see FlowQueryBuilder#renderSource). */
interface RenderedSource {
  /** `accountId in ["..."]` (and the VPC's), or empty. */
  condition: string;
  /** `text` is a quoted address for the `srcAddr in [...]` list (else a /128 subnet test). */
  literal: boolean;
  text: string;
}

/**
 * How an IPv6 source is matched: `address`, by a /128 subnet test (every way of writing the
 * address); `as-written`, by its text as the key writes it (the same address written otherwise
 * is another source). IPv4 sources are matched by their text either way.
 */
export type SourceMatching = 'address' | 'as-written';

/**
 * The length of the source clause sourceMatch would build from the sources added so far, kept up
 * to date per source (so cutting thousands of sources into queries stays linear).
 */
class ClauseLength {
  length = 0;
  private readonly groups = new Map<
    string,
    { seen: Set<string>; v4Count: number; v4Chars: number; v6Count: number; v6Chars: number; length: number }
  >();

  constructor(private readonly srcAddr: string) {}

  add(part: RenderedSource): void {
    let group = this.groups.get(part.condition);
    if (group === undefined) {
      group = { seen: new Set(), v4Count: 0, v4Chars: 0, v6Count: 0, v6Chars: 0, length: 0 };
      this.groups.set(part.condition, group);
      if (this.groups.size > 1) this.length += ' or '.length;
    }
    if (group.seen.has(part.text)) return;
    group.seen.add(part.text);
    if (part.literal) {
      group.v4Count += 1;
      group.v4Chars += part.text.length;
    } else {
      group.v6Count += 1;
      group.v6Chars += part.text.length;
    }
    const v4 =
      group.v4Count === 0 ? 0 : `${this.srcAddr} in []`.length + group.v4Chars + 2 * (group.v4Count - 1);
    const v6 = group.v6Count === 0 ? 0 : group.v6Chars + ' or '.length * (group.v6Count - 1);
    const addresses = v4 + v6 + (group.v4Count > 0 && group.v6Count > 0 ? ' or '.length : 0);
    // `(<condition> and (<addresses>))`, or the addresses alone.
    const length = part.condition === '' ? addresses : part.condition.length + '( and ())'.length + addresses;
    this.length += length - group.length;
    group.length = length;
  }
}

/**
 * `parse @message "* * ..." as flowVersion, flowAccountId, ...`: a record's fields read from its
 * text, one glob `*` per space-separated field, under names Logs Insights never discovers
 * (insightsFieldName). Every query starts with it (and the alert's console query): Logs Insights
 * discovers the default format's fields only in Standard-class log groups ("Field discovery is
 * supported only for log groups in the Standard log class"), so in an Infrequent Access group a
 * query of discovered fields matches nothing; and with names of their own, a record the parse does
 * not match has none of these fields, whatever discovery found in it.
 */
export function parseCommandFor(format: readonly FlowLogField[]): string {
  return `parse @message "${format.map(() => '*').join(' ')}" as ${format.map(fieldName).join(', ')}`;
}

/**
 * The `bin()` period of the history query, in minutes. Logs Insights caps a period at 60 for `m`
 * and 24 for `h` ("the caps for s and m are 60, and the cap for h is 24": `bin(120m)` runs as
 * `bin(60m)`), so a window of whole hours is binned in hours, and any other in the longest period
 * that divides both it and the hour (45 minutes in 15, 72 in 12, 90 in 30): such bins start at the
 * same times whether the service aligns them to the epoch or to the hour, which it does not
 * document. The source adds a window's bins up.
 */
export function historyBinMinutes(windowMinutes: number): number {
  if (windowMinutes % 60 === 0) return windowMinutes;
  let a = windowMinutes;
  let b = 60;
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** `bin()`'s period text for `minutes` (a historyBinMinutes value): `45m`, `60m`, `6h`. */
function binPeriod(minutes: number): string {
  return minutes > 60 ? `${minutes / 60}h` : `${minutes}m`;
}

/** The fields the queries use and whether the flow log format has them. */
export interface FlowQueryFields {
  srcAddr: string;
  /**
   * Absent in custom formats without `account-id`: every source is then of the unknown account,
   * and a split cannot narrow by account.
   */
  accountId?: string;
  /** Present in formats with `vpc-id`: sources are then told apart by VPC too. */
  vpcId?: string;
  dstAddr: string;
  action: string;
  /** Absent in custom formats without `log-status`: then SKIPDATA cannot be seen. */
  logStatus?: string;
  dstPort?: string;
  protocol?: string;
  interfaceId?: string;
  /** Absent in custom formats without `end`: a SKIPDATA record then marks its start's window only. */
  endTime?: string;
}

/**
 * Builds the detector's queries for one configuration. Construction validates everything the
 * queries will interpolate, so a bad configuration fails here, before any query is sent.
 */
export class FlowQueryBuilder {
  readonly fields: FlowQueryFields;
  private readonly firstField: string;
  private readonly lastField: string;
  /** True for a custom format (`flowLogFormat` set). */
  readonly customFormat: boolean;
  /** `parse @message "* * ..." as version, accountId, ...`: every query starts with it. */
  private readonly parseCommand: string;
  private readonly internal: string[];
  private readonly excludedSources: string[];
  private readonly excludedDestinations: string[];
  private readonly windowMinutes: number;
  /** What identifies a source in a `stats ... by`: `accountId, srcAddr` (vpcId too, where there). */
  private readonly sourceGroups: string;

  constructor(config: QueryConfig) {
    this.internal = config.internalCidrs.map(validatedCidr);
    if (this.internal.length === 0)
      throw new QueryInjectionError('CIDR', '', 'at least one internal CIDR is needed');
    this.excludedSources = config.excludeSourceCidrs.map(validatedCidr);
    this.excludedDestinations = config.excludeDestinationCidrs.map(validatedCidr);
    if (!Number.isInteger(config.windowMinutes) || config.windowMinutes < 1 || config.windowMinutes > 1440) {
      throw new QueryInjectionError(
        'window length',
        String(config.windowMinutes),
        'expected 1-1440 whole minutes',
      );
    }
    this.windowMinutes = config.windowMinutes;

    let format: readonly FlowLogField[];
    if (config.flowLogFormat === undefined) {
      format = DEFAULT_FLOW_LOG_FORMAT;
      this.customFormat = false;
    } else {
      try {
        format = parseFlowLogFormat(config.flowLogFormat);
      } catch (error) {
        throw new QueryInjectionError('flow log format', config.flowLogFormat, (error as Error).message);
      }
      this.customFormat = true;
    }
    const has = (field: FlowLogField): string | undefined =>
      format.includes(field) ? fieldName(field) : undefined;
    this.fields = {
      srcAddr: fieldName('srcaddr'),
      accountId: has('account-id'),
      vpcId: has('vpc-id'),
      dstAddr: fieldName('dstaddr'),
      action: fieldName('action'),
      logStatus: has('log-status'),
      dstPort: has('dstport'),
      protocol: has('protocol'),
      interfaceId: has('interface-id'),
      endTime: has('end'),
    };
    this.parseCommand = parseCommandFor(format);
    this.firstField = fieldName(format[0]!);
    this.lastField = fieldName(format[format.length - 1]!);
    this.sourceGroups = [this.fields.accountId, this.fields.vpcId, this.fields.srcAddr]
      .filter((f): f is string => f !== undefined)
      .join(', ');
    // Fail at construction, not at the first window, when the CIDR lists make the query too long.
    this.countQuery();
  }

  /**
   * Internal CIDRs with duplicates and CIDRs inside others removed: the disjoint address space
   * a split count or history query divides (overlaps would count a source twice).
   */
  sourceSplitSpace(): string[] {
    const unique = [...new Set(this.internal)];
    return unique.filter(
      (cidr, i) => !unique.some((other, j) => j !== i && other !== cidr && cidrContains(other, cidr)),
    );
  }

  /**
   * Blocked internal->external records and distinct destinations per source, plus SKIPDATA under
   * `-`; per group also the longest delivery delay and the latest `end`.
   */
  countQuery(narrowing?: Narrowing): string {
    const { blockedCount, uniqueDestinations, maxDeliveryDelay } = RESULT_COLUMNS;
    return this.finish('count', [
      `filter ${this.withSkipData(this.countingFilter(narrowing))}`,
      `fields toMillis(@ingestionTime) - toMillis(@timestamp) as ${DELIVERY_DELAY_FIELD}`,
      `stats count(*) as ${blockedCount}, count_distinct(${this.fields.dstAddr}) as ${uniqueDestinations}, ` +
        `max(${DELIVERY_DELAY_FIELD}) as ${maxDeliveryDelay}${this.lastEnd()} by ${this.sourceGroups}`,
    ]);
  }

  /**
   * The records that do not have the configured format, counted (`notInFormat`): the parse found
   * fewer fields (nothing parsed), more (the last field holds a space), or `action`/`log-status`
   * values or addresses that are not theirs (fields in another order). Such records can never count: a log
   * group in another format reads as quiet, and this query is how a run finds out.
   */
  formatCheckQuery(): string {
    const { action, logStatus, srcAddr, dstAddr } = this.fields;
    const terms = [
      `not ispresent(${this.firstField})`,
      // Fields are single-space separated: a space in the last means more fields than the format.
      `${this.lastField} like / /`,
      `not (${action} in ["ACCEPT", "REJECT", "-"])`,
      `not (isValidIp(${srcAddr}) or ${srcAddr} = "-")`,
      `not (isValidIp(${dstAddr}) or ${dstAddr} = "-")`,
    ];
    if (logStatus !== undefined) terms.push(`not (${logStatus} in ["OK", "NODATA", "SKIPDATA"])`);
    return this.finish('format-check', [
      `filter ${terms.join(' or ')}`,
      `stats count(*) as ${RESULT_COLUMNS.notInFormat}`,
    ]);
  }

  /** Per-window, per-source counts for bootstrap, plus SKIPDATA under `-` per window (with its latest `end`). */
  historyQuery(narrowing?: Narrowing): string {
    const { blockedCount, windowBin } = RESULT_COLUMNS;
    return this.finish('history', [
      `filter ${this.withSkipData(this.countingFilter(narrowing))}`,
      `stats count(*) as ${blockedCount}${this.lastEnd()} by bin(${binPeriod(historyBinMinutes(this.windowMinutes))}) as ${windowBin}, ${this.sourceGroups}`,
    ]);
  }

  /** `, max(endTime) as lastEnd` where SKIPDATA can be seen and the format has `end`. */
  private lastEnd(): string {
    const { endTime, logStatus } = this.fields;
    return endTime === undefined || logStatus === undefined
      ? ''
      : `, max(${endTime}) as ${RESULT_COLUMNS.lastEnd}`;
  }

  /**
   * Blocked records of the given sources (source keys) per (source, destination, port, protocol,
   * interface), largest first. Throws QueryTooLongError when even these sources do not fit one
   * query; use `detailsQueries` to get the list cut into queries that fit.
   */
  detailsQuery(keys: readonly string[], narrowing?: Narrowing): string {
    if (keys.length === 0) throw new RangeError('a details query needs at least one source');
    return this.detailsQueryWith(
      this.sourceMatch(keys),
      narrowing,
      keys.length === 1 ? 'a single source does not fit: shorten the CIDR lists' : undefined,
    );
  }

  /**
   * For one source whose details overflow the row limit (a scan): only its `limit` largest
   * (destination, port, protocol) groups, so the window is scanned once whatever the spread.
   */
  topDestinationsQuery(key: string, limit: number, matching: SourceMatching = 'address'): string {
    const { detailCount } = RESULT_COLUMNS;
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    const groups = [this.fields.dstAddr, this.fields.dstPort, this.fields.protocol].filter(
      (f): f is string => f !== undefined,
    );
    return this.finish('details', [
      `filter ${this.countingFilter(undefined)} and (${this.sourceMatch([key], matching)})`,
      `stats count(*) as ${detailCount} by ${groups.join(', ')}`,
      `sort ${detailCount} desc`,
      `limit ${limit}`,
    ]);
  }

  /**
   * For the same source: its interfaces (one row each) with the distinct destination addresses
   * and ports behind them, from which the total destinations are estimated.
   */
  destinationSpreadQuery(key: string, matching: SourceMatching = 'address'): string {
    const { distinctAddresses, distinctPorts } = RESULT_COLUMNS;
    const aggregates = [
      `count_distinct(${this.fields.dstAddr}) as ${distinctAddresses}`,
      ...(this.fields.dstPort === undefined
        ? []
        : [`count_distinct(${this.fields.dstPort}) as ${distinctPorts}`]),
    ];
    return this.finish('details', [
      `filter ${this.countingFilter(undefined)} and (${this.sourceMatch([key], matching)})`,
      `stats ${aggregates.join(', ')}${this.fields.interfaceId === undefined ? '' : ` by ${this.fields.interfaceId}`}`,
    ]);
  }

  private detailsQueryWith(sourceClause: string, narrowing: Narrowing | undefined, hint?: string): string {
    const { detailCount } = RESULT_COLUMNS;
    const groups = [
      this.sourceGroups,
      this.fields.dstAddr,
      this.fields.dstPort,
      this.fields.protocol,
      this.fields.interfaceId,
    ].filter((f): f is string => f !== undefined);
    return this.finish(
      'details',
      [
        `filter ${this.countingFilter(narrowing)} and (${sourceClause})`,
        `stats count(*) as ${detailCount} by ${groups.join(', ')}`,
        `sort ${detailCount} desc`,
      ],
      hint,
    );
  }

  /**
   * The sources cut into as few details queries as fit under MAX_QUERY_LENGTH, in order. Lengths
   * are added up per source rather than rebuilding the query for every candidate, so a mass
   * spike of thousands of sources stays linear.
   */
  detailsQueries(keys: readonly string[]): Array<{ srcIps: string[]; query: string }> {
    const rendered = keys.map((key) => this.renderSource(key));
    if (keys.length === 0) return [];
    // The query around an empty source clause: `... and () | stats ...`.
    const baseLength = this.detailsQueryWith('', undefined).length;
    const chunks: Array<{ srcIps: string[]; query: string }> = [];
    let current: string[] = [];
    let clause = new ClauseLength(this.fields.srcAddr);
    rendered.forEach((part, i) => {
      const key = keys[i]!;
      clause.add(part);
      if (baseLength + clause.length <= MAX_QUERY_LENGTH) {
        current.push(key);
        return;
      }
      if (current.length === 0) this.detailsQuery([key]); // throws QueryTooLongError naming the cause
      chunks.push({ srcIps: current, query: this.detailsQuery(current) });
      current = [key];
      clause = new ClauseLength(this.fields.srcAddr);
      clause.add(part);
    });
    if (current.length > 0) chunks.push({ srcIps: current, query: this.detailsQuery(current) });
    return chunks;
  }

  /**
   * One source's parts of the source clause: the condition on its account and VPC (empty where
   * the format has neither, or the key names none), and its address: a quoted IPv4 literal or an
   * IPv6 /128 subnet test.
   */
  private renderSource(key: string, matching: SourceMatching = 'address'): RenderedSource {
    let identity: SourceIdentity;
    try {
      identity = parseSourceKey(key);
    } catch (error) {
      throw new QueryInjectionError('source key', key, (error as Error).message);
    }
    const address = validatedIp(identity.address);
    const conditions: string[] = [];
    // parseSourceKey checked both; checked again here, the injection boundary.
    if (this.fields.accountId !== undefined && identity.accountId !== undefined) {
      if (!isAccountId(identity.accountId))
        throw new QueryInjectionError('account id', identity.accountId, 'not 12 digits');
      conditions.push(`${this.fields.accountId} in ["${identity.accountId}"]`);
    } else if (this.fields.accountId !== undefined) {
      // A source of no account (`unknown`, an interface AWS owns) is only records that name no
      // account: the same address in an account is another source. The details query drops
      // such rows by their key anyway; a scan's top destinations and spread could not.
      conditions.push(this.inAccounts(NO_ACCOUNT));
    }
    if (this.fields.vpcId !== undefined && identity.vpcId !== undefined) {
      if (!isVpcId(identity.vpcId)) throw new QueryInjectionError('VPC id', identity.vpcId, 'not vpc-<hex>');
      conditions.push(`${this.fields.vpcId} in ["${identity.vpcId}"]`);
    }
    // validatedIp let through hex digits, colons and dots only: the written text quotes safely.
    if (address.kind() === 'ipv6' && matching === 'as-written')
      return { condition: conditions.join(' and '), literal: true, text: `"${identity.address}"` };
    return {
      condition: conditions.join(' and '),
      literal: address.kind() === 'ipv4',
      text:
        address.kind() === 'ipv4'
          ? `"${address.toString()}"`
          : this.inSubnet(this.fields.srcAddr, `${address.toString()}/128`),
    };
  }

  /**
   * Per account (and VPC): `(accountId in ["<id>"] and (<its addresses>))`, joined by `or`.
   * IPv4 sources by exact text (`srcAddr in [...]`: the text flow logs write is plain dotted
   * decimal); IPv6 sources by `/128` subnet match, which does not depend on how the log wrote the
   * address (compressed or not). Sources of no known account are matched by address among the
   * records that name no account (by address alone where the format has no account-id).
   */
  private sourceMatch(keys: readonly string[], matching: SourceMatching = 'address'): string {
    const groups = new Map<string, { v4: Set<string>; v6: Set<string> }>();
    for (const key of keys) {
      const part = this.renderSource(key, matching);
      let group = groups.get(part.condition);
      if (group === undefined) groups.set(part.condition, (group = { v4: new Set(), v6: new Set() }));
      (part.literal ? group.v4 : group.v6).add(part.text);
    }
    const clauses: string[] = [];
    for (const [condition, { v4, v6 }] of groups) {
      const addresses = [
        ...(v4.size > 0 ? [`${this.fields.srcAddr} in [${[...v4].join(', ')}]`] : []),
        ...v6,
      ];
      clauses.push(
        condition === '' ? addresses.join(' or ') : `(${condition} and (${addresses.join(' or ')}))`,
      );
    }
    return clauses.join(' or ');
  }

  /**
   * The source key of a result row of the count, history or details query: its account (`-`
   * where the format has none or the record names none), VPC and address; undefined for the
   * SKIPDATA group (no address). `canonical`: the address re-serialised (IPv6 may be written in
   * the logs otherwise than in a requested key).
   */
  rowKey(row: Readonly<Record<string, string>>, canonical = false): string | undefined {
    const address = row[RESULT_COLUMNS.source];
    if (address === undefined || address === '' || address === SKIPDATA_SOURCE) return undefined;
    const text = canonical ? addressKey(address) : address;
    if (text === undefined) return undefined;
    return sourceKey({
      accountId:
        this.fields.accountId === undefined ? undefined : accountOfRecord(row[RESULT_COLUMNS.account]),
      vpcId: this.fields.vpcId === undefined ? undefined : vpcOfRecord(row[RESULT_COLUMNS.vpc]),
      address: text,
    });
  }

  /**
   * REJECT, log-status OK, source internal and not excluded, destination external and not
   * excluded (and inside the narrowing, when given).
   */
  private countingFilter(narrowing?: Narrowing): string {
    const { srcAddr, dstAddr, action, logStatus } = this.fields;
    const terms = [`${action} = "REJECT"`];
    if (logStatus !== undefined) terms.push(`${logStatus} = "OK"`);
    terms.push(`(${this.internal.map((c) => this.inSubnet(srcAddr, c)).join(' or ')})`);
    // An unreadable destination (`-`, `abc`) is in no subnet, so "not internal" alone would count
    // it; the replay calls such a line malformed and counts nothing.
    terms.push(`isValidIp(${dstAddr})`);
    for (const cidr of this.internal) terms.push(`not ${this.inSubnet(dstAddr, cidr)}`);
    for (const cidr of this.excludedSources) terms.push(`not ${this.inSubnet(srcAddr, cidr)}`);
    for (const cidr of this.excludedDestinations) terms.push(`not ${this.inSubnet(dstAddr, cidr)}`);
    if (narrowing !== undefined) {
      const field = narrowing.field === 'srcAddr' ? srcAddr : dstAddr;
      terms.push(this.inSubnet(field, narrowing.cidr));
      for (const cidr of narrowing.exclude ?? []) terms.push(`not ${this.inSubnet(field, cidr)}`);
      if (narrowing.accounts !== undefined) terms.push(this.inAccounts(narrowing.accounts));
    }
    return terms.join(' and ');
  }

  private withSkipData(counting: string): string {
    return this.fields.logStatus === undefined
      ? counting
      : `${this.fields.logStatus} = "SKIPDATA" or (${counting})`;
  }

  /** `accountId like /^12/`, or for NO_ACCOUNT `not (accountId like /^[0-9]{12}$/)`; anything else is refused. */
  private inAccounts(accounts: string): string {
    const field = this.fields.accountId;
    if (field === undefined)
      throw new QueryInjectionError(
        'account narrowing',
        accounts,
        'the flow log format has no account-id field',
      );
    if (accounts === NO_ACCOUNT) return `not (${field} like /^[0-9]{12}$/)`;
    if (!ACCOUNT_PREFIX.test(accounts))
      throw new QueryInjectionError('account narrowing', accounts, 'expected 1 to 12 digits');
    return `${field} like /^${accounts}/`;
  }

  private inSubnet(field: string, cidr: string): string {
    return `isIpInSubnet(${field}, "${validatedCidr(cidr)}")`;
  }

  private finish(kind: QueryKind, commands: string[], hint?: string): string {
    const query = [this.parseCommand, ...commands].join(' | ');
    if (query.length > MAX_QUERY_LENGTH) {
      throw new QueryTooLongError(
        kind,
        query.length,
        MAX_QUERY_LENGTH,
        hint ??
          `${this.internal.length} internal, ${this.excludedSources.length} excluded source and ` +
            `${this.excludedDestinations.length} excluded destination CIDRs are too many: merge adjacent ranges`,
      );
    }
    return query;
  }
}
