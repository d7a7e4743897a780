/**
 * What a Lambda invocation asks for. A scheduled run is what a schedule sends: nothing, `{}`, the
 * stack's EventBridge Scheduler payload or an EventBridge event (keys of the event envelope only).
 * A payload with `mode` is a manual invocation and must match this schema exactly. Anything else
 * (a misspelt `Mode`, `{"dryRun": true}`, a bare string) is refused before any state is read: run
 * as the schedule, it would commit windows and publish alerts the caller did not ask for.
 */
// zod's functional build, like the config schemas (lambda/core/config.ts sets its English
// messages): the Lambda bundle then carries one zod, the smaller.
import * as z from 'zod/mini';
import { describeIssues, windowMs, type DetectorConfig } from './core';

export const MANUAL_MODES = [
  'detect',
  'dry-run',
  'bootstrap',
  'skip',
  'test-alert',
  'republish-parked',
] as const;

/** The most windows one `skip` invocation moves over (31 days of hourly windows). */
export const MAX_SKIP_WINDOWS = 744;
export type ManualMode = (typeof MANUAL_MODES)[number];

export class InvalidPayloadError extends Error {
  constructor(
    message: string,
    /** The payload fields that are wrong (`mode`, `windowStart`, ...). */
    readonly fields: string[],
  ) {
    super(message);
    this.name = 'InvalidPayloadError';
  }
}

// ISO-8601 with an explicit offset (`Z` or `+02:00`): a bare local time would depend on the Lambda's TZ.
// Built with the rest of the schema, for a manual invocation only: a scheduled run never needs it.
const instant = () =>
  z.iso.datetime({
    offset: true,
    message: 'must be an ISO-8601 time with Z or an offset, e.g. 2026-11-27T10:00:00Z',
  });

const noWindowFields = {};

export function manualPayloadSchema(config: Pick<DetectorConfig, 'windowMinutes' | 'maxCatchUpWindows'>) {
  const length = windowMs(config);
  const aligned = z
    .pipe(
      instant(),
      z.transform((text: string) => Date.parse(text)),
    )
    .check(
      z.refine((ms: number) => ms % length === 0, {
        message: `must be aligned to ${config.windowMinutes}-minute UTC windows`,
      }),
      // The grammar takes years 0000-9999; Logs Insights (and Athena's partitions) take epoch
      // seconds, so a time before 1970 would fail at the service, after state was read. (A window
      // not closed yet is refused by the run, which knows the clock: DryRunWindowError, SkipRefusedError.)
      z.refine((ms: number) => ms >= 0, { message: 'must not be before 1970-01-01T00:00:00Z' }),
    );

  return z.discriminatedUnion(
    'mode',
    [
      z.strictObject({ mode: z.literal('detect'), ...noWindowFields }),
      z
        .strictObject({
          mode: z.literal('dry-run'),
          /** First window to evaluate; absent: the windows a scheduled run would evaluate now. */
          windowStart: z.optional(aligned),
          /** End of the last window to evaluate (exclusive); absent: one window. */
          windowEnd: z.optional(aligned),
        })
        .check(
          z.superRefine((value, ctx) => {
            if (value.windowEnd === undefined) return;
            if (value.windowStart === undefined) {
              ctx.addIssue({ code: 'custom', path: ['windowEnd'], message: 'needs windowStart' });
              return;
            }
            const windows = (value.windowEnd - value.windowStart) / length;
            if (windows < 1)
              ctx.addIssue({ code: 'custom', path: ['windowEnd'], message: 'must be after windowStart' });
            if (windows > config.maxCatchUpWindows) {
              ctx.addIssue({
                code: 'custom',
                path: ['windowEnd'],
                message: `spans ${windows} windows; a dry run evaluates at most maxCatchUpWindows (${config.maxCatchUpWindows})`,
              });
            }
          }),
        ),
      z.strictObject({
        mode: z.literal('bootstrap'),
        /** Days of history to learn from. @default 30 */
        days: z._default(z.number().check(z.int(), z.gte(1), z.lte(90)), 30),
        /** Replace the baselines of a detector that already runs (its watermark is set). @default false */
        overwrite: z._default(z.boolean(), false),
      }),
      z
        .strictObject({
          mode: z.literal('skip'),
          /** First window to skip: the window after the watermark (the one the schedule would evaluate next). */
          windowStart: aligned,
          /** End of the last window to skip (exclusive); absent: one window. */
          windowEnd: z.optional(aligned),
        })
        .check(
          z.superRefine((value, ctx) => {
            if (value.windowEnd === undefined) return;
            const windows = (value.windowEnd - value.windowStart) / length;
            if (windows < 1)
              ctx.addIssue({ code: 'custom', path: ['windowEnd'], message: 'must be after windowStart' });
            if (windows > MAX_SKIP_WINDOWS) {
              ctx.addIssue({
                code: 'custom',
                path: ['windowEnd'],
                message: `spans ${windows} windows; a skip moves over at most ${MAX_SKIP_WINDOWS}`,
              });
            }
          }),
        ),
      z.strictObject({ mode: z.literal('test-alert') }),
      /** Publishes the alerts parked after SNS refused them maxAlertRefusals times (once mended). */
      z.strictObject({ mode: z.literal('republish-parked') }),
    ],
    { error: () => `must be one of ${MANUAL_MODES.map((m) => `"${m}"`).join(', ')}` },
  );
}

/**
 * The keys of an EventBridge event (a rule's scheduled event; the stack's Scheduler payload has
 * `source` only): an object of these alone, without `mode`, is a scheduled run.
 */
const EVENT_ENVELOPE_KEYS = new Set([
  'version',
  'id',
  'detail-type',
  'source',
  'account',
  'time',
  'region',
  'resources',
  'detail',
]);

export type ManualPayload = z.output<ReturnType<typeof manualPayloadSchema>>;
export type Invocation = { mode: 'scheduled' } | ManualPayload;

/**
 * Classifies an invocation event. Throws InvalidPayloadError naming each bad field when the event
 * has a `mode` but is not a valid manual payload.
 */
export function parseInvocation(
  event: unknown,
  config: Pick<DetectorConfig, 'windowMinutes' | 'maxCatchUpWindows'>,
): Invocation {
  if (event === null || event === undefined) return { mode: 'scheduled' };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidPayloadError(
      `invalid invocation payload: ${Array.isArray(event) ? 'an array' : `a ${typeof event}`} ` +
        `(got ${JSON.stringify(event)?.slice(0, 100)}); a manual invocation is an object with "mode", ` +
        `one of ${MANUAL_MODES.map((m) => `"${m}"`).join(', ')}`,
      ['payload'],
    );
  }
  if (!('mode' in event)) {
    const unknown = Object.keys(event).filter((key) => !EVENT_ENVELOPE_KEYS.has(key));
    if (unknown.length === 0) return { mode: 'scheduled' };
    throw new InvalidPayloadError(
      `invalid invocation payload: no "mode", and ${unknown.map((key) => JSON.stringify(key)).join(', ')} ` +
        `${unknown.length === 1 ? 'is not a field' : 'are not fields'} of a scheduled event; a manual invocation ` +
        `names its mode, one of ${MANUAL_MODES.map((m) => `"${m}"`).join(', ')} (e.g. {"mode": "dry-run"})`,
      ['mode', ...unknown],
    );
  }
  const parsed = manualPayloadSchema(config).safeParse(event);
  if (parsed.success) return parsed.data;
  const fields = [
    ...new Set(
      parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys' ? issue.keys : [String(issue.path[0] ?? 'payload')],
      ),
    ),
  ];
  throw new InvalidPayloadError(
    `invalid invocation payload:\n${describeIssues('payload', parsed.error, event)}`,
    fields,
  );
}
