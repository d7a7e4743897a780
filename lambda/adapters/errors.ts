/**
 * Named errors of the adapters. Each carries the context an operator needs to act on it (query id,
 * window, query kind, the offending value) so that a failed run's log line says what went wrong
 * without a debugger.
 */
import { isoTime, type Window } from '../core';

/**
 * What a Logs Insights query was for: the hourly count, the alert details, the bootstrap history,
 * the check that the records have the configured format.
 */
export type QueryKind = 'count' | 'details' | 'history' | 'format-check';

const describeWindow = (window: Window): string => `[${isoTime(window.start)}, ${isoTime(window.end)})`;

/**
 * A value about to be put into a query string failed its strict grammar (CIDR, IP address, field
 * name). Nothing is sent: the query is never built from unvalidated text.
 */
export class QueryInjectionError extends Error {
  constructor(
    /** What the value was meant to be: `CIDR`, `IP address`, `field name`. */
    readonly valueKind: string,
    /** The rejected value, as given. */
    readonly value: string,
    reason: string,
    /** The query language the value was meant for. */
    service: 'Logs Insights' | 'Athena' = 'Logs Insights',
  ) {
    super(`refusing to put ${valueKind} ${JSON.stringify(value)} into a ${service} query: ${reason}`);
    this.name = 'QueryInjectionError';
  }
}

/** A query string would exceed the service's 10,000-character limit even after splitting. */
export class QueryTooLongError extends Error {
  constructor(
    readonly kind: QueryKind,
    readonly length: number,
    readonly maxLength: number,
    hint: string,
  ) {
    super(
      `${kind} query would be ${length} characters, over the Logs Insights limit of ${maxLength}: ${hint}`,
    );
    this.name = 'QueryTooLongError';
  }
}

/** The service whose query an error is about. */
export type QueryService = 'Logs Insights' | 'Athena';

/** The query ended in Failed, Cancelled, Timeout or Unknown (or an unexpected status). */
export class QueryFailedError extends Error {
  constructor(
    readonly queryId: string,
    readonly status: string,
    readonly window: Window,
    readonly kind: QueryKind,
    /** Tries of the query, this one included. */
    readonly attempts = 1,
    /** Athena: the service's StateChangeReason (why it failed or was cancelled). */
    readonly reason?: string,
    readonly service: QueryService = 'Logs Insights',
  ) {
    super(
      `${service} ${kind} query ${queryId} for window ${describeWindow(window)} ended with status ${status}` +
        (reason === undefined ? '' : `: ${reason}`) +
        (attempts > 1 ? ` (${attempts} tries, none completed)` : ''),
    );
    this.name = 'QueryFailedError';
  }
}

/** QueryTimeoutError's lastStatus for a query not started because the deadline had passed (no query id). */
export const NOT_STARTED = 'not started';

/**
 * The query did not complete before the caller's deadline (Lambda time left): it was stopped, or
 * (lastStatus NOT_STARTED) not started at all.
 */
export class QueryTimeoutError extends Error {
  constructor(
    readonly queryId: string,
    readonly window: Window,
    readonly kind: QueryKind,
    /** Epoch ms the caller allowed. */
    readonly deadline: number,
    /** Last status seen before giving up. */
    readonly lastStatus: string,
    /** Why StopQuery failed, if it did (the query may have ended meanwhile). */
    readonly stopError?: unknown,
    readonly service: QueryService = 'Logs Insights',
  ) {
    super(
      lastStatus === NOT_STARTED
        ? `${service} ${kind} query for window ${describeWindow(window)} was not started: the deadline ` +
            `${new Date(deadline).toISOString()} had passed`
        : `${service} ${kind} query ${queryId} for window ${describeWindow(window)} was still ${lastStatus} ` +
            `at the deadline ${new Date(deadline).toISOString()}; it was stopped`,
    );
    this.name = 'QueryTimeoutError';
  }
}

/**
 * A query finished, but its result object in S3 was still being read at the deadline (a slow or
 * stuck connection): the read is abandoned, so the run ends in time, and the window is tried
 * again like one whose query timed out.
 */
export class ResultReadTimeoutError extends QueryTimeoutError {
  constructor(
    queryId: string,
    window: Window,
    kind: QueryKind,
    deadline: number,
    /** The result object's S3 URI. */
    readonly location: string,
    service: QueryService = 'Athena',
  ) {
    super(queryId, window, kind, deadline, 'SUCCEEDED', undefined, service);
    this.message =
      `${service} ${kind} query ${queryId} for window ${describeWindow(window)} succeeded, but its result ` +
      `object ${location} was still being read at the deadline ${new Date(deadline).toISOString()}; the read was abandoned`;
    this.name = 'ResultReadTimeoutError';
  }
}

/**
 * The service kept answering LimitExceededException / ThrottlingException /
 * ServiceUnavailableException until retrying would pass the deadline.
 */
export class QueryThrottledError extends Error {
  constructor(
    readonly operation: string,
    readonly window: Window,
    readonly kind: QueryKind,
    readonly attempts: number,
    override readonly cause: unknown,
    readonly service: QueryService = 'Logs Insights',
  ) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      `${service} ${operation} for the ${kind} query of window ${describeWindow(window)} was throttled ` +
        `${attempts} time(s) and the deadline leaves no time for another retry (${reason})`,
    );
    this.name = 'QueryThrottledError';
  }
}

/**
 * A result reached the row limit (so it may have been cut) and the query could not be split any
 * further: a single address, or too many split queries.
 */
export class RowLimitExceededError extends Error {
  constructor(
    readonly kind: QueryKind,
    readonly window: Window,
    /** The narrowest CIDR that still overflowed, when splitting stopped on one. */
    readonly cidr: string | undefined,
    readonly rowLimit: number,
    reason: string,
  ) {
    super(
      `Logs Insights ${kind} query for window ${describeWindow(window)}` +
        `${cidr === undefined ? '' : ` narrowed to ${cidr}`} reached the row limit of ${rowLimit} rows ` +
        `and cannot be split further (${reason}); refusing to return a possibly truncated result`,
    );
    this.name = 'RowLimitExceededError';
  }
}

/** The service answered with something the adapter cannot read (missing query id, unknown column). */
export class UnexpectedQueryResultError extends Error {
  constructor(
    readonly kind: QueryKind,
    readonly queryId: string | undefined,
    detail: string,
    readonly service: QueryService = 'Logs Insights',
  ) {
    super(`${service} ${kind} query ${queryId ?? '(no id)'}: unexpected result: ${detail}`);
    this.name = 'UnexpectedQueryResultError';
  }
}
