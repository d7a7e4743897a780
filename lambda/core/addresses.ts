/**
 * Internal vs external for IPv4 and IPv6, with exclusions. ipaddr.js does the address math;
 * this module adds strict parsing (a CIDR with host bits set is rejected, not guessed at) and a
 * per-address cache, because flow logs repeat the same few thousand addresses millions of times.
 */
import ipaddr from 'ipaddr.js';

export type ParsedAddress = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  address: ParsedAddress;
  prefixLength: number;
  /** Canonical text (`10.0.0.0/8`, `2001:db8::/32`): the only form ever put into a query. */
  text: string;
}

export class InvalidAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAddressError';
  }
}

const CIDR_SHAPE = /^[0-9A-Fa-f:.]+\/\d{1,3}$/;

/**
 * Dotted-quad IPv4 or IPv6 only. ipaddr.js alone also accepts inet_aton shorthands: `10.0.0`,
 * `167772161` and, worse, octal `010.0.0.1` (= 8.0.0.1), which would silently turn a typo in a
 * CIDR into a different network. Flow logs never write those forms.
 */
function isStrictAddressText(value: string): boolean {
  // The same forms as ipaddr.IPv4.isValidFourPartDecimal || ipaddr.IPv6.isValid, without the
  // exception ipaddr.js throws inside isValidFourPartDecimal for every IPv6 text (a hot path).
  return value.includes(':') ? ipaddr.IPv6.isValid(value) : parseIPv4Number(value) >= 0;
}

/** Parses `addr/prefix` strictly. Throws InvalidAddressError naming the value. */
export function parseCidr(value: string): Cidr {
  if (typeof value !== 'string' || !CIDR_SHAPE.test(value)) {
    throw new InvalidAddressError(
      `invalid CIDR "${value}": expected address/prefix, e.g. 10.0.0.0/8 or fd00::/8`,
    );
  }
  let address: ParsedAddress;
  let prefixLength: number;
  try {
    if (!isStrictAddressText(value.slice(0, value.indexOf('/')))) throw new Error('not a strict address');
    [address, prefixLength] = ipaddr.parseCIDR(value);
  } catch {
    throw new InvalidAddressError(`invalid CIDR "${value}": not an IPv4 or IPv6 network`);
  }
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(value)
      : ipaddr.IPv6.networkAddressFromCIDR(value);
  if (network.toString() !== address.toString()) {
    throw new InvalidAddressError(
      `invalid CIDR "${value}": host bits are set; did you mean ${network.toString()}/${prefixLength}?`,
    );
  }
  return { address, prefixLength, text: `${address.toString()}/${prefixLength}` };
}

/**
 * parseCidr for a CIDR a user configures (internalCidrs and the exclusions): a network in
 * IPv4-mapped form (`::ffff:10.0.0.0/104`) is refused, naming the IPv4 CIDR meant. Flow logs
 * record IPv4 traffic with IPv4 addresses, and a mapped address in a record is IPv6 (see
 * parseAddress), so such a network would never match the traffic it names.
 */
export function parseConfiguredCidr(value: string): Cidr {
  const cidr = parseCidr(value);
  if (cidr.address.kind() === 'ipv6' && cidr.prefixLength >= 96) {
    const v6 = cidr.address as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      throw new InvalidAddressError(
        `invalid CIDR "${value}": an IPv4-mapped IPv6 network; flow logs record IPv4 traffic with IPv4 ` +
          `addresses: write ${v6.toIPv4Address().toString()}/${cidr.prefixLength - 96}`,
      );
    }
  }
  return cidr;
}

/**
 * Parses one address; `undefined` for `-`, empty or malformed text. IPv4-mapped IPv6
 * (`::ffff:10.0.0.1`) stays IPv6: that is what the record says, and Logs Insights' isIpInSubnet
 * compares it as IPv6, so the Lambda's query cannot read it as IPv4 and neither does the replay.
 */
export function parseAddress(value: string): ParsedAddress | undefined {
  if (value.length === 0 || value === '-' || !isStrictAddressText(value)) return undefined;
  try {
    return ipaddr.parse(value);
  } catch {
    return undefined;
  }
}

export function isValidAddress(value: string): boolean {
  return parseAddress(value) !== undefined;
}

export function inAnyCidr(address: ParsedAddress, cidrs: readonly Cidr[]): boolean {
  const kind = address.kind();
  for (const cidr of cidrs) {
    if (cidr.address.kind() === kind && address.match(cidr.address, cidr.prefixLength)) return true;
  }
  return false;
}

/**
 * A four-part decimal IPv4 address (no leading zeros, octets 0-255: the same strict form
 * `isStrictAddressText` accepts) as an unsigned 32-bit number, or -1 for anything else.
 *
 * Why not ipaddr.js here: replay classifies every REJECT row's destination, most of which are
 * seen once, and constructing an ipaddr.js object per address was a fifth of replay's time.
 * ipaddr.js still parses everything else (IPv6, CIDRs), and a property test holds the two equal.
 */
export function parseIPv4Number(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero (octal in inet_aton)
      octet = octet * 10 + (c - 48);
      digits += 1;
      if (octet > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots += 1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

interface IPv4Range {
  network: number;
  mask: number;
}

function ipv4RangesOf(cidrs: readonly Cidr[]): IPv4Range[] {
  return cidrs
    .filter((cidr) => cidr.address.kind() === 'ipv4')
    .map((cidr) => {
      const mask = cidr.prefixLength === 0 ? 0 : (0xffffffff << (32 - cidr.prefixLength)) >>> 0;
      return { network: (parseIPv4Number(cidr.address.toString()) & mask) >>> 0, mask };
    });
}

function inAnyIPv4Range(address: number, ranges: readonly IPv4Range[]): boolean {
  for (const range of ranges) if ((address & range.mask) >>> 0 === range.network) return true;
  return false;
}

const COLON = 58;

/** A hex digit's value, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * An IPv6 address written in hex groups only (`2001:db8::1`, `::ffff:a00:1`; no embedded dotted
 * IPv4, no zone) into `groups` (eight 16-bit values); false for any other text, which may still
 * be a valid address in another form: ipaddr.js judges those.
 * Why: replay classifies the destination of every IPv6 REJECT row, mostly seen once, and
 * ipaddr.js takes tens of thousands of instructions per address (regular expressions, splits,
 * an object); this takes a few hundred. A property test holds the two equal.
 */
export function parseIPv6Groups(text: string, groups: Uint16Array): boolean {
  const n = text.length;
  if (n < 2 || n > 39) return false;
  let i = 0;
  let gap = -1; // where `::` stands, in groups
  let count = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let value = 0;
    const from = i;
    for (; i < n && i - from < 5; i += 1) {
      const digit = hexDigit(text.charCodeAt(i));
      if (digit < 0) break;
      value = value * 16 + digit;
    }
    const digits = i - from;
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count] = value;
    count += 1;
    if (i === n) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i += 1;
    if (i < n && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return false;
      gap = count;
      i += 1;
    } else if (i === n) {
      return false; // a single trailing colon
    }
  }
  if (gap < 0) {
    if (count !== 8) return false;
  } else {
    if (count > 6) return false; // `::` for one group or none: left to ipaddr.js
    const moved = count - gap;
    for (let k = 1; k <= moved; k += 1) groups[8 - k] = groups[count - k] as number;
    for (let k = gap; k < 8 - moved; k += 1) groups[k] = 0;
  }
  return true;
}

interface IPv6Range {
  /** The network's eight groups. */
  network: readonly number[];
  prefixLength: number;
}

function ipv6RangesOf(cidrs: readonly Cidr[]): IPv6Range[] {
  return cidrs
    .filter((cidr) => cidr.address.kind() === 'ipv6')
    .map((cidr) => ({ network: [...(cidr.address as ipaddr.IPv6).parts], prefixLength: cidr.prefixLength }));
}

function inAnyIPv6Range(groups: Uint16Array, ranges: readonly IPv6Range[]): boolean {
  for (const range of ranges) {
    let bits = range.prefixLength;
    let inside = true;
    for (let g = 0; g < 8 && bits > 0; g += 1, bits -= 16) {
      const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
      if ((((groups[g] as number) ^ (range.network[g] as number)) & mask) !== 0) {
        inside = false;
        break;
      }
    }
    if (inside) return true;
  }
  return false;
}

const VALID = 1;
const INTERNAL = 2;
const EXCLUDED_SOURCE = 4;
const EXCLUDED_DESTINATION = 8;
const CACHE_LIMIT = 500_000;

/** EgressFilter#roles bits. */
export const ADDRESS_VALID = 1;
export const ADDRESS_COUNTS_AS_SOURCE = 2;
export const ADDRESS_COUNTS_AS_DESTINATION = 4;

export interface EgressScope {
  internalCidrs: readonly string[];
  excludeSourceCidrs: readonly string[];
  excludeDestinationCidrs: readonly string[];
}

/**
 * Decides whether a (source, destination) pair is egress the detector counts: source internal
 * and not excluded, destination valid, external and not excluded.
 */
export class EgressFilter {
  private readonly internal: Cidr[];
  private readonly excludedSources: Cidr[];
  private readonly excludedDestinations: Cidr[];
  private readonly internalV4: IPv4Range[];
  private readonly excludedSourcesV4: IPv4Range[];
  private readonly excludedDestinationsV4: IPv4Range[];
  private readonly internalV6: IPv6Range[];
  private readonly excludedSourcesV6: IPv6Range[];
  private readonly excludedDestinationsV6: IPv6Range[];
  private readonly groups = new Uint16Array(8);
  private readonly cache = new Map<string, number>();

  constructor(scope: EgressScope) {
    this.internal = scope.internalCidrs.map(parseCidr);
    this.excludedSources = scope.excludeSourceCidrs.map(parseCidr);
    this.excludedDestinations = scope.excludeDestinationCidrs.map(parseCidr);
    this.internalV4 = ipv4RangesOf(this.internal);
    this.excludedSourcesV4 = ipv4RangesOf(this.excludedSources);
    this.excludedDestinationsV4 = ipv4RangesOf(this.excludedDestinations);
    this.internalV6 = ipv6RangesOf(this.internal);
    this.excludedSourcesV6 = ipv6RangesOf(this.excludedSources);
    this.excludedDestinationsV6 = ipv6RangesOf(this.excludedDestinations);
  }

  /** True when `source -> destination` is internal-to-external traffic that counts. */
  counts(source: string, destination: string): boolean {
    const src = this.flags(source);
    if ((src & (VALID | INTERNAL | EXCLUDED_SOURCE)) !== (VALID | INTERNAL)) return false;
    const dst = this.flags(destination);
    return (dst & (VALID | INTERNAL | EXCLUDED_DESTINATION)) === VALID;
  }

  /**
   * What an address can be in a record that counts, as ADDRESS_* bits: valid at all, a
   * counting source, a counting destination. For callers that cache per address text.
   */
  roles(address: string): number {
    const flags = this.flags(address);
    if ((flags & VALID) === 0) return 0;
    let roles = ADDRESS_VALID;
    if ((flags & (INTERNAL | EXCLUDED_SOURCE)) === INTERNAL) roles |= ADDRESS_COUNTS_AS_SOURCE;
    if ((flags & (INTERNAL | EXCLUDED_DESTINATION)) === 0) roles |= ADDRESS_COUNTS_AS_DESTINATION;
    return roles;
  }

  isInternal(address: string): boolean {
    return (this.flags(address) & (VALID | INTERNAL)) === (VALID | INTERNAL);
  }

  private flags(text: string): number {
    // Plain IPv4 is classified directly, uncached: cheaper than a cache lookup, and it keeps the
    // cache for IPv6 instead of flushing it with millions of one-off destinations.
    const v4 = parseIPv4Number(text);
    if (v4 >= 0) {
      let flags = VALID;
      if (inAnyIPv4Range(v4, this.internalV4)) flags |= INTERNAL;
      if (inAnyIPv4Range(v4, this.excludedSourcesV4)) flags |= EXCLUDED_SOURCE;
      if (inAnyIPv4Range(v4, this.excludedDestinationsV4)) flags |= EXCLUDED_DESTINATION;
      return flags;
    }
    // Likewise IPv6 in plain hex groups, the form flow logs write.
    const groups = this.groups;
    if (parseIPv6Groups(text, groups)) {
      let flags = VALID;
      if (inAnyIPv6Range(groups, this.internalV6)) flags |= INTERNAL;
      if (inAnyIPv6Range(groups, this.excludedSourcesV6)) flags |= EXCLUDED_SOURCE;
      if (inAnyIPv6Range(groups, this.excludedDestinationsV6)) flags |= EXCLUDED_DESTINATION;
      return flags;
    }
    const cached = this.cache.get(text);
    if (cached !== undefined) return cached;
    const address = parseAddress(text);
    let flags = 0;
    if (address) {
      flags = VALID;
      if (inAnyCidr(address, this.internal)) flags |= INTERNAL;
      if (inAnyCidr(address, this.excludedSources)) flags |= EXCLUDED_SOURCE;
      if (inAnyCidr(address, this.excludedDestinations)) flags |= EXCLUDED_DESTINATION;
    }
    // A bounded cache: flow logs of a large estate can hold millions of distinct destinations.
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(text, flags);
    return flags;
  }
}
