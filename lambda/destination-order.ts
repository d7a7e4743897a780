/**
 * The order of an alert's top destinations, shared by the Lambda's flow sources (Logs Insights,
 * Athena) and the replay, so that both keep and list the same ten: most records first, then by
 * address, port and protocol (no port or protocol first).
 *
 * Addresses compare by UTF-16 code units, not localeCompare: collation depends on the runtime's
 * ICU data and locale, and sorts `:` before digits, so tied IPv6 destinations (`2001:db8::1`,
 * `2001:db80::1`) would come out in another order than a plain comparison gives.
 */
import type { DestinationCount } from './core/detect';

/** < 0: `a` goes first. */
export function compareDestinations(a: DestinationCount, b: DestinationCount): number {
  return (
    b.count - a.count ||
    (a.address < b.address ? -1 : a.address > b.address ? 1 : 0) ||
    (a.port ?? -1) - (b.port ?? -1) ||
    (a.protocol ?? -1) - (b.protocol ?? -1)
  );
}
