/**
 * The detection configuration: one zod schema shared by the Lambda (env DETECTOR_CONFIG), the
 * replay command (--config file) and the CDK stack's typed props.
 *
 * Presets are named bundles of defaults. Any field the user sets wins over the preset's value,
 * so `{ preset: 'splunk-escu', cooldownMinutes: 240 }` is ESCU arithmetic with a cooldown.
 */
// zod's functional build: the same validation and messages as `zod`, with schemas that cost
// less to construct and a bundle that keeps only what is used (the Lambda builds these at cold
// start). A namespace import, which esbuild can tree-shake.
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';
import { parseConfiguredCidr } from './addresses';
import { parseFlowLogFormat } from './flow-log-format';
import { POLICY_CHANGE_MODES, type PolicyChangeMode } from './policy-changes';

// `zod` sets its English messages itself; `zod/mini` leaves them to the application.
z.config(en());

export const PRESETS = ['recommended', 'splunk-escu'] as const;
export type PresetName = (typeof PRESETS)[number];

/** RFC 1918: the ESCU detection's notion of "internal". */
export const RFC1918_CIDRS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const;

/** A string that `parse` accepts; its error message becomes the issue's. */
const parsedBy = (parse: (value: string) => unknown) =>
  z.string().check(
    z.superRefine((value, ctx) => {
      try {
        parse(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  );

const cidr = parsedBy(parseConfiguredCidr);

const cidrList = (...checks: z.core.$ZodCheck<unknown[]>[]) =>
  z
    .array(cidr)
    .check(
      z.maxLength(200, 'at most 200 CIDRs (each one becomes a clause of the Logs Insights query)'),
      ...checks,
    );

const flowLogFormat = parsedBy(parseFlowLogFormat);

/** An integer (a safe one: zod's `int`) in [min, max]; no max: unbounded. */
const integer = (min: number, max?: number) =>
  z.number().check(z.int(), z.gte(min), ...(max === undefined ? [] : [z.lte(max)]));

/** A positive number up to max. */
const positiveUpTo = (max: number) => z.number().check(z.positive(), z.lte(max));

const windowMinutes = integer(1, 1440).check(
  z.refine((m) => 1440 % m === 0, {
    message: 'must divide a day (1440 minutes) so that windows align to UTC midnight, e.g. 10, 15, 30, 60',
  }),
);

/** Day names as in `weekendDays`, Sunday first (JavaScript's getUTCDay order). */
export const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type DayName = (typeof DAY_NAMES)[number];

/** An IANA time zone name that this runtime's Intl knows (Node.js ships the full ICU data). */
const timeZone = z.string().check(
  z.refine(
    (name) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: name });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be an IANA time zone name, e.g. "UTC", "Europe/Berlin", "America/New_York"' },
  ),
);

/** Most account names a detector may be given (each also costs the Lambda's 4 KB environment). */
export const MAX_ACCOUNT_NAMES = 1000;

/**
 * Friendly names of AWS accounts, for alerts: `{ "111111111111": "payments-prod" }`. Names are
 * shown in email, Slack and the SNS subject, so they are short, printable, one line.
 */
const accountNames = z
  .record(
    z.string(),
    z.string().check(
      z.minLength(1, 'an account name may not be empty'),
      z.maxLength(64, 'an account name has at most 64 characters'),
      z.refine((name) => !/[\p{Cc}\u2028\u2029]/u.test(name) && name.trim() === name, {
        message: 'an account name is one line of printable text without leading or trailing spaces',
      }),
    ),
  )
  .check(
    z.superRefine((names, ctx) => {
      for (const id of Object.keys(names)) {
        if (!/^\d{12}$/.test(id))
          ctx.addIssue({
            code: 'custom',
            path: [id],
            input: id,
            message: `"${id}" is not an account id (12 digits)`,
          });
      }
      if (Object.keys(names).length > MAX_ACCOUNT_NAMES)
        ctx.addIssue({ code: 'custom', input: names, message: `at most ${MAX_ACCOUNT_NAMES} account names` });
    }),
  );

/** Every detection parameter. All optional on input; `resolveDetectorConfig` fills them in. */
export const detectorConfigInputSchema = z.strictObject({
  preset: z.optional(z.enum(PRESETS)),
  /** Length of an evaluation window. @default 60 */
  windowMinutes: z.optional(windowMinutes),
  /**
   * How long after a window ends before it is evaluated: a record starting at the window's end
   * must have reached CloudWatch Logs by then (aggregation interval, up to 10 minutes by default,
   * plus delivery, typically about 5, best effort). @default 20
   */
  lagMinutes: z.optional(integer(0, 1440)),
  /** Missed windows caught up per run, oldest first. @default 24 */
  maxCatchUpWindows: z.optional(integer(1, 744)),
  /** Sources inside these are internal; destinations outside them are external. @default RFC 1918 */
  internalCidrs: z.optional(cidrList(z.minLength(1, 'at least one internal CIDR is needed'))),
  /** Sources never counted (e.g. a scanner, a NAT gateway's own address). @default [] */
  excludeSourceCidrs: z.optional(cidrList()),
  /** Destinations never counted (e.g. a known-blocked update server). @default [] */
  excludeDestinationCidrs: z.optional(cidrList()),
  /** N in the update rule: windows the baseline remembers. @default 720 (30 days of hours) */
  baselineWindow: z.optional(integer(2, 100_000)),
  /** Windows of history a baseline needs before it may spike. @default recommended 24, splunk-escu 5 */
  minDataPoints: z.optional(integer(0, 100_000)),
  /** k in "mean + k sd": the ESCU threshold, and the cap on what a spike teaches the baseline. @default 3 */
  deviationThreshold: z.optional(positiveUpTo(100)),
  /** Fewest blocked records in a window that can be a spike (recommended). @default 10 */
  minBlockedCount: z.optional(integer(0)),
  /** Alert on a source seen for the first time with at least this many records; 0 disables. @default 100 (splunk-escu: 0) */
  newSourceMinCount: z.optional(integer(0)),
  /** Expected false alerts a day across the whole fleet (recommended). @default 1 */
  falseAlertBudgetPerDay: z.optional(positiveUpTo(10_000)),
  /** A recommended spike is `high` when its tail probability is below threshold x this. @default 0.001 */
  highSeverityThresholdRatio: z.optional(positiveUpTo(1)),
  /** Mean floor of the tail model, so a near-silent source is not infinitely sensitive. @default 0.5 */
  meanFloor: z.optional(positiveUpTo(1000)),
  /** Per-source quiet period after an alert; 0 disables. @default 240 (splunk-escu: 0) */
  cooldownMinutes: z.optional(integer(0, 10_080)),
  /** Inside the cooldown, re-alert only when the count reaches this x the last alerted count. @default 2 */
  escalationFactor: z.optional(z.number().check(z.gte(1), z.lte(1000))),
  /** Fewest spiking sources in one window for a grouped mass-spike alert; 0 disables. @default 5 (splunk-escu: 0) */
  massSpikeMinSources: z.optional(
    integer(0).check(
      z.refine((n) => n !== 1, {
        message: 'must be 0 (no mass spikes) or 2 or more: 1 would turn every lone spike into a mass spike of one',
      }),
    ),
  ),
  /** Fraction of the mature sources seen that must spike for a mass-spike alert. @default 0.2 */
  massSpikeFraction: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** Custom flow log format (AWS format string, `${srcaddr}` or bare names); absent: the v2 default. */
  flowLogFormat: z.optional(flowLogFormat),
  /**
   * Lambda: runs in which a window failed (a query failing on every try, a corrupt item...) before
   * it is skipped (a gap, never zeros) so that later windows are not held back for ever. @default 6
   */
  maxWindowAttempts: z.optional(integer(1, 100)),
  /**
   * Lambda: runs in which SNS refused an alert (an error of the request, not a throttle or an
   * outage) before the alert is parked: no longer tried, so runs succeed again; the ParkedAlerts
   * alarm fires and mode `republish-parked` sends them once the cause is mended. @default 6
   */
  maxAlertRefusals: z.optional(integer(1, 100)),
  /**
   * Rhythm-aware baselines (recommended only): each source's expected count follows its own hour
   * of the day on weekdays and weekend days, learned from its history. Needs windows that divide
   * an hour. @default true where windowMinutes divides 60, else false (splunk-escu: false)
   */
  rhythm: z.optional(z.boolean()),
  /** Days of a source's history before its rhythm is used; a younger source uses its flat baseline. @default 7 */
  rhythmMinDays: z.optional(integer(2, 365)),
  /** Time zone whose hours and days the rhythm and recurring jobs follow (IANA name). @default "UTC" */
  timezone: z.optional(timeZone),
  /** Days that are weekend days for the rhythm, in the time zone above. @default ["Sat", "Sun"] */
  weekendDays: z.optional(
    z.array(z.enum(DAY_NAMES)).check(
      z.maxLength(6, 'at most 6 weekend days (a week needs at least one weekday)'),
      z.refine((days) => new Set(days).size === days.length, { message: 'lists a day twice' }),
    ),
  ),
  /**
   * A burst that recurs at the same time of day (daily) or of the week (weekly) with a similar
   * size is a recurring job from this occurrence on, and is not alerted; 0 disables. @default 3 (splunk-escu: 0)
   */
  jobOccurrencesToLearn: z.optional(
    integer(0, 100).check(z.refine((n) => n !== 1, { message: 'must be 0 (off) or at least 2' })),
  ),
  /** An occurrence of a recurring job alerts when its count reaches this multiple of the job's usual size. @default 2 */
  jobGrowthFactor: z.optional(z.number().check(z.gte(1.1), z.lte(1000))),
  /**
   * Change-aware alerts (the Lambda with `lookUpChangeCauses`, the replay with `--cloudtrail`):
   * what a spike that an egress-policy change explains becomes. `annotate`: the alert names the
   * change; `downgrade`: also severity `low` and the `policyChange` message attribute; `off`: no
   * lookup. @default "annotate"
   */
  policyChangeSpikes: z.optional(z.enum(POLICY_CHANGE_MODES)),
  /** How far before a window's start CloudTrail is searched for egress-policy changes. @default 120 */
  changeLookbackMinutes: z.optional(integer(1, 1440)),
  /** Friendly names of AWS accounts (12-digit id -> name), shown in alerts beside the account id. @default none */
  accountNames: z.optional(accountNames),
});

export type DetectorConfigInput = z.input<typeof detectorConfigInputSchema>;

export interface DetectorConfig {
  preset: PresetName;
  windowMinutes: number;
  lagMinutes: number;
  maxCatchUpWindows: number;
  internalCidrs: string[];
  excludeSourceCidrs: string[];
  excludeDestinationCidrs: string[];
  baselineWindow: number;
  minDataPoints: number;
  deviationThreshold: number;
  minBlockedCount: number;
  newSourceMinCount: number;
  falseAlertBudgetPerDay: number;
  highSeverityThresholdRatio: number;
  meanFloor: number;
  cooldownMinutes: number;
  escalationFactor: number;
  massSpikeMinSources: number;
  massSpikeFraction: number;
  /** Field names in order; undefined means the v2 default format. */
  flowLogFormat?: string;
  maxWindowAttempts: number;
  maxAlertRefusals: number;
  rhythm: boolean;
  rhythmMinDays: number;
  timezone: string;
  weekendDays: DayName[];
  jobOccurrencesToLearn: number;
  jobGrowthFactor: number;
  policyChangeSpikes: PolicyChangeMode;
  changeLookbackMinutes: number;
  /** Account id -> friendly name, for alerts; absent: none. */
  accountNames?: Record<string, string>;
}

const COMMON_DEFAULTS = {
  windowMinutes: 60,
  lagMinutes: 20,
  maxCatchUpWindows: 24,
  internalCidrs: [...RFC1918_CIDRS],
  excludeSourceCidrs: [],
  excludeDestinationCidrs: [],
  baselineWindow: 720,
  deviationThreshold: 3,
  falseAlertBudgetPerDay: 1,
  highSeverityThresholdRatio: 0.001,
  meanFloor: 0.5,
  escalationFactor: 2,
  massSpikeFraction: 0.2,
  maxWindowAttempts: 6,
  maxAlertRefusals: 6,
  rhythmMinDays: 7,
  timezone: 'UTC',
  weekendDays: ['Sat', 'Sun'],
  jobGrowthFactor: 2,
  policyChangeSpikes: 'annotate',
  changeLookbackMinutes: 120,
} satisfies Partial<DetectorConfig>;

export const PRESET_DEFAULTS: Record<PresetName, Omit<DetectorConfig, 'flowLogFormat' | 'accountNames'>> = {
  recommended: {
    ...COMMON_DEFAULTS,
    preset: 'recommended',
    minDataPoints: 24,
    minBlockedCount: 10,
    newSourceMinCount: 100,
    cooldownMinutes: 240,
    massSpikeMinSources: 5,
    rhythm: true,
    jobOccurrencesToLearn: 3,
  },
  // ESCU: `numDataPoints > 5`, no minimum count, no new-source alert, no cooldown, no grouping.
  'splunk-escu': {
    ...COMMON_DEFAULTS,
    preset: 'splunk-escu',
    minDataPoints: 5,
    minBlockedCount: 0,
    newSourceMinCount: 0,
    cooldownMinutes: 0,
    massSpikeMinSources: 0,
    rhythm: false,
    jobOccurrencesToLearn: 0,
  },
};

export class ConfigError extends Error {
  constructor(
    message: string,
    /** Where the config came from: an env variable name, a file path. */
    readonly origin: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Formats zod issues as `origin.field[2]: message (got "value")`, one per line. */
export function describeIssues(origin: string, error: z.core.$ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      const value = valueAt(input, issue.path);
      const got =
        value === undefined || issue.code === 'unrecognized_keys' ? '' : ` (got ${JSON.stringify(value)})`;
      return `${origin}${path}: ${issue.message}${got}`;
    })
    .join('\n');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Validates user input and fills in the preset's defaults. Throws ConfigError naming each bad field. */
export function resolveDetectorConfig(input: unknown = {}, origin = 'config'): DetectorConfig {
  const parsed = detectorConfigInputSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new ConfigError(describeIssues(origin, parsed.error, input), origin);
  }
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
  const preset = parsed.data.preset ?? 'recommended';
  const config: DetectorConfig = { ...PRESET_DEFAULTS[preset], ...given, preset };
  // The ESCU arithmetic compares with a flat mean and variance: a rhythm would not be ESCU's.
  if (preset === 'splunk-escu' && config.rhythm) {
    throw new ConfigError(
      `${origin}.rhythm: rhythm-aware baselines are a recommended-preset feature; the splunk-escu preset keeps ESCU's flat baseline (got true)`,
      origin,
    );
  }
  // The rhythm's profile has a slot per local hour, each fed by the windows that start in it:
  // windows that do not divide an hour leave some hours without a window (120-minute ones start
  // on even hours only) or feed them unevenly, and the profile would read unfed hours as quiet.
  if (config.rhythm && 60 % config.windowMinutes !== 0) {
    if (given.rhythm === true) {
      throw new ConfigError(
        `${origin}.rhythm: rhythm-aware baselines need windows that divide an hour (1-60 minutes: 5, 10, 15, 30, 60...), ` +
          `so that every local hour is fed evenly; with windowMinutes ${config.windowMinutes} leave rhythm out or set it to false (got true)`,
        origin,
      );
    }
    config.rhythm = false;
  }
  if (preset === 'splunk-escu' && config.jobOccurrencesToLearn > 0) {
    throw new ConfigError(
      `${origin}.jobOccurrencesToLearn: recurring-job learning is a recommended-preset feature; the splunk-escu preset folds every window as ESCU does (got ${config.jobOccurrencesToLearn})`,
      origin,
    );
  }
  // ESCU folds the count into the baseline before comparing, so x - mean' <= k sd' whatever x
  // once N - 1 <= k^2 (alert-threshold.ts): such a detector could never alert.
  if (preset === 'splunk-escu' && !(config.baselineWindow - 1 > config.deviationThreshold ** 2)) {
    throw new ConfigError(
      `${origin}.deviationThreshold: with the splunk-escu preset no count can exceed mean + k sd unless ` +
        `baselineWindow - 1 > deviationThreshold^2 (ESCU folds the count in before comparing): with ` +
        `baselineWindow ${config.baselineWindow} and deviationThreshold ${config.deviationThreshold} no window could ever alert; ` +
        `lower deviationThreshold below ${Number(Math.sqrt(config.baselineWindow - 1).toPrecision(4))} ` +
        `or raise baselineWindow above ${Number((config.deviationThreshold ** 2 + 1).toPrecision(6))}`,
      origin,
    );
  }
  if (config.flowLogFormat !== undefined) {
    config.flowLogFormat = parseFlowLogFormat(config.flowLogFormat).join(' ');
  }
  return config;
}

/** Parses a JSON string (env var, file contents) into a resolved config. */
export function resolveDetectorConfigJson(json: string | undefined, origin: string): DetectorConfig {
  if (json === undefined || json.trim() === '') return resolveDetectorConfig({}, origin);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`${origin}: not valid JSON (${(error as Error).message})`, origin);
  }
  return resolveDetectorConfig(value, origin);
}

export { windowMs } from './windows';
export const windowsPerDay = (config: Pick<DetectorConfig, 'windowMinutes'>): number =>
  1440 / config.windowMinutes;
