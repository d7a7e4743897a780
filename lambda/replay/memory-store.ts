/**
 * The replay's baseline store: baselines, the complete-window clock and the watermark in memory,
 * loaded from and saved to a JSON state file (`--state`), so backtests can continue where the
 * last one stopped. The file is validated on load; a bad file changes nothing.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { withoutBom } from './file-reader';
// zod's functional build, as the configuration uses: the full build would add some 150 KB to the
// CLI bundle that every replay compiles at start.
import * as z from 'zod/mini';
import { baselineExpiresAt, expiredBefore } from '../baseline-expiry';
import type { Baseline } from '../core/baseline';
import { isValidAddress } from '../core/addresses';
import { DAY_NAMES, describeIssues, type DetectorConfig } from '../core/config';
import { isProfileText, SPREAD_MEMORY, type RecurringJob } from '../core/rhythm';
import { MAX_TAIL_SCORE } from '../core/spike-test';
import { identityOfKey, isSourceKey, SOURCE_KEY_FORMAT } from '../core/source-key';
import { isoTime, MAX_SKIPDATA_WINDOWS } from '../core/windows';

export class StateFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly operation: 'load' | 'save' = 'load',
  ) {
    super(message);
    this.name = 'StateFileError';
  }
}

const isoInstant = z.iso.datetime({ offset: false });
const nonNegative = () => z.number().check(z.gte(0));
const count = () => z.number().check(z.int(), z.gte(0));

const baselineSchema = z.strictObject({
  mean: nonNegative(),
  variance: nonNegative(),
  dataPoints: count(),
  lastWindow: isoInstant,
  clockAtLastFold: count(),
  lastAlertWindow: z.optional(isoInstant),
  lastAlertCount: z.optional(nonNegative()),
  /** The last window inside a cooldown that stayed up; the cooldown runs from it (lambda/core/detect.ts). */
  lastElevatedWindow: z.optional(isoInstant),
  /** Rhythm: the 48 slot means, encoded (lambda/core/rhythm.ts). */
  profile: z.optional(
    z
      .string()
      .check(z.refine(isProfileText, { message: 'must be a 144-character base64url rhythm profile' })),
  ),
  withinHour: z.optional(
    z.strictObject({
      variance: nonNegative(),
      index: nonNegative(),
      count: z.number().check(z.int(), z.gte(1)),
    }),
  ),
  jobs: z.optional(
    z
      .array(
        z.strictObject({
          phase: count(),
          period: z.optional(z.enum(['daily', 'weekly', 'monthly'])),
          size: nonNegative(),
          occurrences: z.number().check(z.int(), z.gte(1)),
          last: isoInstant,
          /** How much its runs vary (lambda/core/rhythm.ts RecurringJob); absent in files written before it. */
          spread: z.optional(nonNegative()),
          spreadRuns: z.optional(z.number().check(z.int(), z.gte(1), z.lte(SPREAD_MEMORY))),
        }),
      )
      .check(z.maxLength(8)),
  ),
  /** The source's own tail (lambda/core/spike-test.ts); absent in files written before it: no evidence. */
  tailScore: z.optional(z.number().check(z.gte(0), z.lte(MAX_TAIL_SCORE))),
  /**
   * Rhythm: each slot's own spread, encoded as the profile is (lambda/core/rhythm.ts); absent in
   * files written before it, as it is until a source's slot is folded again.
   */
  slotSpread: z.optional(
    z.string().check(z.refine(isProfileText, { message: 'must be a 144-character base64url slot spread' })),
  ),
});

export const stateFileSchema = z.strictObject({
  version: z.literal(1),
  preset: z.enum(['recommended', 'splunk-escu']),
  windowMinutes: z.number().check(z.int(), z.positive()),
  /**
   * The format of the baselines' keys (lambda/core/source-key.ts): `account|address`. Absent in
   * files written before sources were keyed by account, whose keys are bare addresses.
   */
  sourceKeys: z.optional(z.literal(SOURCE_KEY_FORMAT)),
  /** The calendar the rhythm profiles follow; absent in files written before rhythm. */
  rhythm: z.optional(z.strictObject({ timezone: z.string(), weekendDays: z.array(z.enum(DAY_NAMES)) })),
  /** The complete-window clock (see Baseline.clockAtLastFold). */
  clock: count(),
  /** Start of the last window evaluated; later runs skip windows at or before it. */
  watermark: z.nullable(isoInstant),
  /**
   * The SKIPDATA carry: the last window after the watermark that a SKIPDATA record already read
   * makes incomplete (its capture interval runs on past the watermark); absent when none does.
   * The Lambda keeps the same in its state (`skipDataThrough`).
   */
  skipDataThrough: z.optional(isoInstant),
  /**
   * The Region whose flow logs built the baselines (`--region`, or the one Region the inputs'
   * S3 paths named); absent when none was known. Each Region has its own detector.
   */
  region: z.optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS Region'))),
  baselines: z.record(z.string(), baselineSchema),
});

export type StateFile = z.infer<typeof stateFileSchema>;
type StateConfig = Pick<DetectorConfig, 'preset' | 'windowMinutes' | 'timezone' | 'weekendDays'>;

export class MemoryBaselineStore {
  readonly baselines = new Map<string, Baseline>();
  clock = 0;
  watermark: number | undefined;
  /**
   * The last window after the watermark that a SKIPDATA record already read makes incomplete:
   * its record started at or before the watermark, so a run resumed after it does not read the
   * record again, yet the windows it reaches must stay incomplete (as in one run over all the
   * input, and in the Lambda's state).
   */
  skipDataThrough: number | undefined;
  /** The Region whose flow logs built the baselines, where known (the state file's `region`). */
  region: string | undefined;

  /**
   * Forgets the baselines of `keys` that a window starting at `windowStart` no longer sees: not
   * folded for more than `ttlDays` (the Lambda's rule, lambda/baseline-expiry.ts).
   */
  forgetExpired(keys: Iterable<string>, windowStart: number, ttlDays: number): void {
    for (const key of keys) {
      const baseline = this.baselines.get(key);
      if (
        baseline !== undefined &&
        expiredBefore(baselineExpiresAt(baseline.lastWindow, ttlDays), windowStart)
      )
        this.baselines.delete(key);
    }
  }

  /** Applies one window's decisions: the updated baselines and the clock after it. */
  commitWindow(windowStart: number, updated: ReadonlyMap<string, Baseline>, clockAfter: number): void {
    for (const [srcIp, baseline] of updated) this.baselines.set(srcIp, baseline);
    this.clock = clockAfter;
    this.watermark = windowStart;
  }

  toJSON(config: StateConfig): StateFile {
    const baselines: StateFile['baselines'] = {};
    for (const [srcIp, b] of [...this.baselines].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))) {
      baselines[srcIp] = {
        mean: b.mean,
        variance: b.variance,
        dataPoints: b.dataPoints,
        lastWindow: isoTime(b.lastWindow),
        clockAtLastFold: b.clockAtLastFold,
        ...(b.lastAlertWindow === undefined ? {} : { lastAlertWindow: isoTime(b.lastAlertWindow) }),
        ...(b.lastAlertCount === undefined ? {} : { lastAlertCount: b.lastAlertCount }),
        ...(b.lastElevatedWindow === undefined ? {} : { lastElevatedWindow: isoTime(b.lastElevatedWindow) }),
        ...(b.profile === undefined ? {} : { profile: b.profile }),
        ...(b.withinHour === undefined ? {} : { withinHour: { ...b.withinHour } }),
        ...(b.jobs === undefined ? {} : { jobs: b.jobs.map((job) => ({ ...job, last: isoTime(job.last) })) }),
        ...(b.tailScore === undefined ? {} : { tailScore: b.tailScore }),
        ...(b.slotSpread === undefined ? {} : { slotSpread: b.slotSpread }),
      };
    }
    return {
      version: 1,
      preset: config.preset,
      windowMinutes: config.windowMinutes,
      sourceKeys: SOURCE_KEY_FORMAT,
      rhythm: { timezone: config.timezone, weekendDays: [...config.weekendDays] },
      clock: this.clock,
      watermark: this.watermark === undefined ? null : isoTime(this.watermark),
      ...(this.watermark !== undefined &&
      this.skipDataThrough !== undefined &&
      this.skipDataThrough > this.watermark
        ? { skipDataThrough: isoTime(this.skipDataThrough) }
        : {}),
      ...(this.region === undefined ? {} : { region: this.region }),
      baselines,
    };
  }

  /** Reads a state file; a file that does not exist yet gives an empty store. */
  static async load(path: string, config: StateConfig): Promise<MemoryBaselineStore> {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new MemoryBaselineStore();
      throw new StateFileError(`cannot read state file "${path}": ${(error as Error).message}`, path);
    }
    return MemoryBaselineStore.fromJson(text, path, config);
  }

  static fromJson(text: string, path: string, config: StateConfig): MemoryBaselineStore {
    let value: unknown;
    try {
      value = JSON.parse(withoutBom(text));
    } catch (error) {
      throw new StateFileError(`state file "${path}": not valid JSON (${(error as Error).message})`, path);
    }
    const parsed = stateFileSchema.safeParse(value);
    if (!parsed.success)
      throw new StateFileError(`state file ${describeIssues(`"${path}"`, parsed.error, value)}`, path);
    const state = parsed.data;
    // Baselines learned under another preset or window length mean something else: refuse, do not mix.
    if (state.preset !== config.preset || state.windowMinutes !== config.windowMinutes) {
      throw new StateFileError(
        `state file "${path}" was built with preset ${state.preset} and ${state.windowMinutes}-minute windows, ` +
          `this run uses ${config.preset} and ${config.windowMinutes}-minute windows`,
        path,
      );
    }
    // Baselines keyed by address alone would merge accounts' hosts again (and never match a key).
    if (
      state.sourceKeys === undefined &&
      (state.watermark !== null || Object.keys(state.baselines).length > 0)
    ) {
      throw new StateFileError(
        `state file "${path}" was written before sources were keyed by account and address: its ` +
          `${Object.keys(state.baselines).length} baselines are keyed by address alone and cannot be ` +
          'used. Relearn them: replay the history again with a new --state file (and --bootstrap-days ' +
          'to learn its first days without alerts)',
        path,
      );
    }
    checkConsistency(state, path, config.windowMinutes);
    // Profiles hold local hours of a time zone and weekend: another calendar would misread them.
    // The weekend is a set of days: the order a config lists them in changes nothing.
    const days = (list: readonly string[]) => [...list].sort().join(',');
    if (
      state.rhythm !== undefined &&
      (state.rhythm.timezone !== config.timezone ||
        days(state.rhythm.weekendDays) !== days(config.weekendDays))
    ) {
      throw new StateFileError(
        `state file "${path}" holds rhythms in time zone ${state.rhythm.timezone} with weekend ${state.rhythm.weekendDays.join(',') || 'none'}, ` +
          `this run uses ${config.timezone} with weekend ${config.weekendDays.join(',') || 'none'}`,
        path,
      );
    }
    const store = new MemoryBaselineStore();
    store.clock = state.clock;
    store.watermark = state.watermark === null ? undefined : Date.parse(state.watermark);
    if (state.skipDataThrough !== undefined) store.skipDataThrough = Date.parse(state.skipDataThrough);
    store.region = state.region;
    for (const [srcIp, b] of Object.entries(state.baselines)) {
      store.baselines.set(srcIp, {
        mean: b.mean,
        variance: b.variance,
        dataPoints: b.dataPoints,
        lastWindow: Date.parse(b.lastWindow),
        clockAtLastFold: b.clockAtLastFold,
        ...(b.lastAlertWindow === undefined ? {} : { lastAlertWindow: Date.parse(b.lastAlertWindow) }),
        ...(b.lastAlertCount === undefined ? {} : { lastAlertCount: b.lastAlertCount }),
        ...(b.lastElevatedWindow === undefined
          ? {}
          : { lastElevatedWindow: Date.parse(b.lastElevatedWindow) }),
        ...(b.profile === undefined ? {} : { profile: b.profile }),
        ...(b.withinHour === undefined ? {} : { withinHour: b.withinHour }),
        ...(b.jobs === undefined
          ? {}
          : { jobs: b.jobs.map((job): RecurringJob => ({ ...job, last: Date.parse(job.last) })) }),
        ...(b.tailScore === undefined ? {} : { tailScore: b.tailScore }),
        ...(b.slotSpread === undefined ? {} : { slotSpread: b.slotSpread }),
      });
    }
    return store;
  }

  /** Writes atomically (temp file + rename), so a crash never leaves half a state file. */
  async save(path: string, config: StateConfig): Promise<void> {
    const temp = `${path}.${process.pid}.tmp`;
    try {
      await fs.mkdir(dirname(path), { recursive: true });
      await fs.writeFile(temp, `${JSON.stringify(this.toJSON(config), null, 2)}\n`);
      await fs.rename(temp, path);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw new StateFileError(
        `cannot write state file "${path}": ${(error as Error).message}`,
        path,
        'save',
      );
    }
  }
}

/**
 * What the schema cannot say: the file's times must be those a run writes. A watermark off the
 * window grid makes every later window miss its records (counts are keyed by aligned starts); a
 * baseline that saw a window after the watermark ignores that window's records when it comes;
 * a fold ahead of the clock gets a negative zero-fill. Such a file was edited or comes from
 * elsewhere: refuse it (and so never save it back) rather than run on it.
 */
function checkConsistency(state: StateFile, path: string, windowMinutes: number): void {
  const length = windowMinutes * 60_000;
  const fail = (field: string, problem: string): never => {
    throw new StateFileError(`state file "${path}".${field}: ${problem}`, path);
  };
  const aligned = (field: string, text: string): number => {
    const ms = Date.parse(text);
    if (ms % length !== 0) fail(field, `${text} is not aligned to ${windowMinutes}-minute windows`);
    return ms;
  };
  const entries = Object.entries(state.baselines);
  if (state.watermark === null) {
    if (entries.length > 0)
      fail('watermark', 'null, but the file holds baselines (they come only from evaluated windows)');
    if (state.skipDataThrough !== undefined)
      fail('skipDataThrough', 'set, but the watermark is null (the carry reaches past an evaluated window)');
    return;
  }
  const watermark = aligned('watermark', state.watermark);
  if (state.skipDataThrough !== undefined) {
    // A run writes it only past its watermark, and one record reaches MAX_SKIPDATA_WINDOWS at most.
    const through = aligned('skipDataThrough', state.skipDataThrough);
    if (through <= watermark)
      fail('skipDataThrough', `${state.skipDataThrough} is not after the watermark ${state.watermark}`);
    if (through > watermark + MAX_SKIPDATA_WINDOWS * length)
      fail(
        'skipDataThrough',
        `${state.skipDataThrough} is more than ${MAX_SKIPDATA_WINDOWS} windows after the watermark ${state.watermark}`,
      );
  }
  for (const [key, b] of entries) {
    const field = `baselines.${key}`;
    if (!isSourceKey(key))
      fail(field, `"${key}" is not a source key (<accountId>|<address> or <accountId>|<vpcId>|<address>)`);
    if (!isValidAddress(identityOfKey(key).address))
      fail(field, `"${identityOfKey(key).address}" is not an IP address`);
    const lastWindow = aligned(`${field}.lastWindow`, b.lastWindow);
    if (lastWindow > watermark)
      fail(`${field}.lastWindow`, `${b.lastWindow} is after the watermark ${state.watermark}`);
    if (b.clockAtLastFold > state.clock)
      fail(`${field}.clockAtLastFold`, `${b.clockAtLastFold} is after the clock (${state.clock})`);
    if (b.lastAlertWindow !== undefined) {
      const alerted = aligned(`${field}.lastAlertWindow`, b.lastAlertWindow);
      if (alerted > watermark)
        fail(`${field}.lastAlertWindow`, `${b.lastAlertWindow} is after the watermark ${state.watermark}`);
      // An alerted window is folded into the baseline: its lastWindow is that window or later.
      if (alerted > lastWindow)
        fail(
          `${field}.lastAlertWindow`,
          `${b.lastAlertWindow} is after the baseline's lastWindow ${b.lastWindow}`,
        );
      if (b.lastElevatedWindow !== undefined) {
        // A window that carried the cooldown on came after the alert and was folded in.
        const elevated = aligned(`${field}.lastElevatedWindow`, b.lastElevatedWindow);
        if (elevated <= alerted || elevated > lastWindow)
          fail(
            `${field}.lastElevatedWindow`,
            `${b.lastElevatedWindow} must be after lastAlertWindow ${b.lastAlertWindow} and not after the baseline's lastWindow ${b.lastWindow}`,
          );
      }
    } else if (b.lastAlertCount !== undefined) {
      fail(`${field}.lastAlertCount`, 'set without lastAlertWindow (the window of that alert)');
    } else if (b.lastElevatedWindow !== undefined) {
      fail(
        `${field}.lastElevatedWindow`,
        'set without lastAlertWindow (the alert whose cooldown it carries on)',
      );
    }
    // A job's last occurrence was folded into the baseline too.
    (b.jobs ?? []).forEach((job, i) => {
      const last = aligned(`${field}.jobs[${i}].last`, job.last);
      if (last > lastWindow)
        fail(`${field}.jobs[${i}].last`, `${job.last} is after the baseline's lastWindow ${b.lastWindow}`);
      // A spread and the runs it rests on go together.
      if ((job.spread === undefined) !== (job.spreadRuns === undefined))
        fail(`${field}.jobs[${i}].spreadRuns`, 'spread and spreadRuns must both be set or both be absent');
    });
  }
}
