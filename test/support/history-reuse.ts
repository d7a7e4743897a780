/**
 * Shared by the suites of a bootstrap's history read again from kept queries
 * (test/adapters/history-reuse*.test.ts): flow log records, CompletedQueries in memory, and the
 * counts of a history in a comparable shape.
 */
import type { CompletedQueries, HistoryResult } from '../../lambda/adapters/ports';
import type { LogEvent } from './local-logs-insights';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** A midnight (UTC): the histories end at or after it. */
export const D0 = Date.parse('2026-11-27T00:00:00Z');

/** A blocked record of `src` (or a SKIPDATA record of an hour) starting at `startMs`. */
export function record(startMs: number, src: string, status: 'OK' | 'SKIPDATA' = 'OK'): LogEvent {
  const s = Math.floor(startMs / 1000);
  const eni = `eni-0${src
    .replace(/[^0-9]/g, '')
    .padStart(16, '0')
    .slice(-16)}`;
  return {
    timestamp: startMs,
    message:
      status === 'OK'
        ? `2 123456789012 ${eni} ${src} 203.0.113.1 49152 443 6 3 180 ${s} ${s + 60} REJECT OK`
        : `2 123456789012 ${eni} - - - - - - - ${s} ${s + 3600} - SKIPDATA`,
  };
}

/** CompletedQueries in memory; refuses duplicate keys in one lookup, as BatchGetItem does. */
export class KeptInMemory implements CompletedQueries {
  readonly ids = new Map<string, string>();
  /** The number of keys of each queryIdsFor call. */
  readonly lookups: number[] = [];
  /** Called on every lookup (a slow table advances the caller's clock). */
  constructor(private readonly onLookup: () => void = () => undefined) {}
  async queryIdFor(key: string) {
    this.onLookup();
    return this.ids.get(key);
  }
  async queryIdsFor(keys: readonly string[]) {
    this.onLookup();
    this.lookups.push(keys.length);
    if (new Set(keys).size !== keys.length) throw new Error('duplicate keys in one lookup');
    return new Map(keys.filter((key) => this.ids.has(key)).map((key) => [key, this.ids.get(key)!]));
  }
  async remember(key: string, queryId: string) {
    this.ids.set(key, queryId);
  }
}

/** A history's windows: start, completeness and sorted counts. */
export const countsOf = (history: HistoryResult) =>
  history.windows.map((w) => [w.windowStart, w.complete, [...w.counts.entries()].sort()] as const);
