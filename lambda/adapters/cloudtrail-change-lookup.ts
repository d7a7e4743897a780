/**
 * Reads one account's egress-policy changes in one Region from CloudTrail's event history
 * (`LookupEvents`), within the API's limits:
 *
 * - one lookup attribute per call: one `EventName` lookup per egress-relevant event name (thirteen),
 *   each paged 50 events at a time;
 * - two calls a second per account and Region: a call starts 550 ms after the previous one
 *   finished (a little under the limit, and never closer at the service however long an answer
 *   took);
 * - bounded per run (`maxCalls`, and the run's deadline), cached per run: a later window of the
 *   same run only reads the part of its range not read yet.
 *
 * A throttled call is tried once more after a second; a second throttle, or any other failure,
 * ends the account's lookups for the run: the alerts go out without a cause, saying why, rather
 * than wait (CloudTrail shares the quota with every other caller in the account).
 */
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import {
  CLOUDTRAIL_DELIVERY_MINUTES,
  EGRESS_CHANGE_EVENT_NAMES,
  parsePolicyChange,
  type ChangeLookupOutcome,
  type PolicyChange,
} from '../core';

/** LookupEvents' documented page size limit. */
const PAGE_SIZE = 50;
/** Two calls a second per account and Region: one every 550 ms stays under it. */
export const LOOKUP_SPACING_MS = 550;
/** A throttled call is tried again once, after this long. */
const THROTTLE_RETRY_MS = 1_000;
/**
 * Calls one account's lookups may make in one run: thirteen event names for up to three ranges
 * (a later window reading the part of its range not read yet) and a few pages more.
 */
export const DEFAULT_MAX_LOOKUP_CALLS = 45;
/** A range ending later than this before the lookup is read, but not called complete (nor cached as read). */
const CLOUDTRAIL_DELIVERY_MS = CLOUDTRAIL_DELIVERY_MINUTES * 60_000;

/**
 * The CloudTrail client module, loaded on first use (only runs that alerted, with change causes
 * on, need it): a synchronous require, as the EC2 client (the bundle is CommonJS).
 */
export function loadCloudTrailModule(): typeof import('@aws-sdk/client-cloudtrail') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-cloudtrail') as typeof import('@aws-sdk/client-cloudtrail');
}

export interface ChangeLookupResult {
  /** The changes read whose event time lies in the range asked for. */
  changes: PolicyChange[];
  outcome: ChangeLookupOutcome;
  /** LookupEvents calls made for this request. */
  calls: number;
}

export interface CloudTrailChangeLookupOptions {
  client: Pick<CloudTrailClient, 'send'>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** @default DEFAULT_MAX_LOOKUP_CALLS */
  maxCalls?: number;
}

/** CloudTrail's event history (LookupEvents) holds the management events of the last 90 days. */
const EVENT_HISTORY_MS = 90 * 86_400_000;
const TOO_OLD = "part of the search range is older than CloudTrail's 90-day event history";

const describeError = (error: unknown): string =>
  error instanceof Error
    ? `${error.name}${error.message && error.message !== error.name ? `: ${error.message}` : ''}`
    : String(error);

/** One account and Region, for one run. */
export class CloudTrailChangeLookup {
  private readonly changes = new Map<string, PolicyChange>();
  /**
   * The event times read completely, for every event name: one interval, grown as windows ask
   * (a range apart from it replaces it: the time between the two was not read).
   */
  private covered: { from: number; to: number } | undefined;
  /** Set once a call failed for good: no more calls this run. */
  private stopped: string | undefined;
  private callsMade = 0;
  private lastCallAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: CloudTrailChangeLookupOptions) {}

  /** LookupEvents calls made so far in the run. */
  get calls(): number {
    return this.callsMade;
  }

  /** The changes with event times in [from, to]; `deadline` (epoch ms) bounds the calls. */
  async lookUp(from: number, to: number, deadline: number): Promise<ChangeLookupResult> {
    // LookupEvents holds the last 90 days: a range reaching further back is never "none found".
    const oldest = this.options.now() - EVENT_HISTORY_MS;
    if (to < oldest) {
      return {
        changes: [],
        outcome: { status: 'unavailable', reason: TOO_OLD },
        calls: 0,
      };
    }
    if (from < oldest) {
      const newer = await this.lookUp(oldest, to, deadline);
      return {
        ...newer,
        outcome:
          newer.outcome.status === 'complete' ? { status: 'incomplete', reason: TOO_OLD } : newer.outcome,
      };
    }
    const before = this.callsMade;
    // Events of calls made after this may not be delivered yet.
    const settled = this.options.now() - CLOUDTRAIL_DELIVERY_MS;
    const gaps = this.gaps(from, to);
    let readAny = false;
    let failure: string | undefined;
    for (const gap of gaps) {
      const read = await this.read(gap.from, gap.to, deadline);
      if (read.failure !== undefined) {
        failure = read.failure;
        readAny ||= read.readAny;
        break;
      }
      readAny = true;
      this.cover(gap.from, Math.min(gap.to, settled));
    }
    const changes = [...this.changes.values()].filter((c) => c.eventTime >= from && c.eventTime <= to);
    const outcome: ChangeLookupOutcome =
      failure !== undefined
        ? {
            // Nothing of this range was read: no claim either way. Part of it: a cause found is real.
            status: readAny || gaps.length === 0 ? 'incomplete' : 'unavailable',
            reason: failure,
          }
        : to > settled
          ? {
              status: 'incomplete',
              reason: `changes made after ${new Date(settled).toISOString().slice(0, 16)}Z may not be in CloudTrail yet (it delivers events minutes after the call; a lagMinutes of 10 or more leaves time for it)`,
            }
          : { status: 'complete' };
    return { changes, outcome, calls: this.callsMade - before };
  }

  /** Records [from, to] as read; a range apart from the one read before replaces it. */
  private cover(from: number, to: number): void {
    if (to < from) return;
    const c = this.covered;
    this.covered =
      c === undefined || to < c.from || from > c.to
        ? { from, to }
        : { from: Math.min(c.from, from), to: Math.max(c.to, to) };
  }

  /** The parts of [from, to] not read yet (the covered interval is one stretch: see cover()). */
  private gaps(from: number, to: number): { from: number; to: number }[] {
    const c = this.covered;
    if (c === undefined || to < c.from || from > c.to) return [{ from, to }];
    const gaps: { from: number; to: number }[] = [];
    if (from < c.from) gaps.push({ from, to: c.from });
    if (to > c.to) gaps.push({ from: c.to, to });
    return gaps;
  }

  /** Reads every event name over [from, to]; stops at the first failure. */
  private async read(
    from: number,
    to: number,
    deadline: number,
  ): Promise<{ failure?: string; readAny: boolean }> {
    if (this.stopped !== undefined) return { failure: this.stopped, readAny: false };
    let readAny = false;
    const { LookupEventsCommand } = loadCloudTrailModule();
    for (const eventName of EGRESS_CHANGE_EVENT_NAMES) {
      let nextToken: string | undefined;
      do {
        const maxCalls = this.options.maxCalls ?? DEFAULT_MAX_LOOKUP_CALLS;
        if (this.callsMade >= maxCalls)
          return { failure: `the per-run bound of ${maxCalls} LookupEvents calls was reached`, readAny };
        const command = new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
          StartTime: new Date(from),
          EndTime: new Date(to),
          MaxResults: PAGE_SIZE,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        });
        let response;
        try {
          response = await this.call(() => this.options.client.send(command), deadline);
        } catch (error) {
          this.stopped =
            error instanceof LookupDeadlineError
              ? error.message
              : `CloudTrail LookupEvents failed (${describeError(error)})`;
          if (isThrottling(error))
            this.stopped = `CloudTrail LookupEvents throttled (${describeError(error)})`;
          return { failure: this.stopped, readAny };
        }
        readAny = true;
        for (const event of response.Events ?? []) {
          if (event.CloudTrailEvent === undefined) continue;
          let record: unknown;
          try {
            record = JSON.parse(event.CloudTrailEvent);
          } catch {
            continue; // not JSON: not a change anyone can be shown
          }
          const change = parsePolicyChange(record);
          if (change !== undefined) this.changes.set(change.eventId, change);
        }
        nextToken = response.NextToken;
      } while (nextToken !== undefined);
    }
    return { readAny };
  }

  /** One paced call; a throttled one is tried once more after a second. */
  private async call<T>(send: () => Promise<T>, deadline: number): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const wait = Math.max(
        0,
        this.lastCallAt + (attempt === 1 ? LOOKUP_SPACING_MS : THROTTLE_RETRY_MS) - this.options.now(),
      );
      if (this.options.now() + wait + LOOKUP_SPACING_MS > deadline)
        throw new LookupDeadlineError('the run had no time left for CloudTrail lookups');
      if (wait > 0) await this.options.sleep(wait);
      this.callsMade += 1;
      try {
        return await send();
      } catch (error) {
        if (attempt >= 2 || !isThrottling(error)) throw error;
      } finally {
        // Spaced from when the previous call finished, not from when it was sent: the service
        // counted it at some point in between, so a slow answer cannot bunch the next calls.
        this.lastCallAt = this.options.now();
      }
    }
  }
}

class LookupDeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LookupDeadlineError';
  }
}

function isThrottling(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'ThrottlingException' || name === 'Throttling' || name === 'TooManyRequestsException';
}
