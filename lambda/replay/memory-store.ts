/**
 * The replay's baseline store: baselines, the complete-window clock and the watermark in memory,
 * loaded from and saved to a JSON state file (`--state`), so backtests can continue where the
 * last one stopped. The file is validated on load; a bad file changes nothing.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import * as z from 'zod';
import type { Baseline } from '../core/baseline';
import { DAY_NAMES, describeIssues, type DetectorConfig } from '../core/config';
import { isProfileText, type RecurringJob } from '../core/rhythm';
import { isoTime } from '../core/windows';

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

const baselineSchema = z
  .object({
    mean: z.number().min(0),
    variance: z.number().min(0),
    dataPoints: z.number().int().min(0),
    lastWindow: isoInstant,
    clockAtLastFold: z.number().int().min(0),
    lastAlertWindow: isoInstant.optional(),
    lastAlertCount: z.number().min(0).optional(),
    /** Rhythm: the 48 slot means, encoded (lambda/core/rhythm.ts). */
    profile: z
      .string()
      .refine(isProfileText, { message: 'must be a 144-character base64url rhythm profile' })
      .optional(),
    withinHour: z
      .object({ variance: z.number().min(0), index: z.number().min(0), count: z.number().int().min(1) })
      .strict()
      .optional(),
    jobs: z
      .array(
        z
          .object({
            phase: z.number().int().min(0),
            period: z.enum(['daily', 'weekly']).optional(),
            size: z.number().min(0),
            occurrences: z.number().int().min(1),
            last: isoInstant,
          })
          .strict(),
      )
      .max(8)
      .optional(),
  })
  .strict();

export const stateFileSchema = z
  .object({
    version: z.literal(1),
    preset: z.enum(['recommended', 'splunk-escu']),
    windowMinutes: z.number().int().positive(),
    /** The calendar the rhythm profiles follow; absent in files written before rhythm. */
    rhythm: z
      .object({ timezone: z.string(), weekendDays: z.array(z.enum(DAY_NAMES)) })
      .strict()
      .optional(),
    /** The complete-window clock (see Baseline.clockAtLastFold). */
    clock: z.number().int().min(0),
    /** Start of the last window evaluated; later runs skip windows at or before it. */
    watermark: isoInstant.nullable(),
    baselines: z.record(z.string(), baselineSchema),
  })
  .strict();

export type StateFile = z.infer<typeof stateFileSchema>;
type StateConfig = Pick<DetectorConfig, 'preset' | 'windowMinutes' | 'timezone' | 'weekendDays'>;

export class MemoryBaselineStore {
  readonly baselines = new Map<string, Baseline>();
  clock = 0;
  watermark: number | undefined;

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
        ...(b.profile === undefined ? {} : { profile: b.profile }),
        ...(b.withinHour === undefined ? {} : { withinHour: { ...b.withinHour } }),
        ...(b.jobs === undefined ? {} : { jobs: b.jobs.map((job) => ({ ...job, last: isoTime(job.last) })) }),
      };
    }
    return {
      version: 1,
      preset: config.preset,
      windowMinutes: config.windowMinutes,
      rhythm: { timezone: config.timezone, weekendDays: [...config.weekendDays] },
      clock: this.clock,
      watermark: this.watermark === undefined ? null : isoTime(this.watermark),
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
      value = JSON.parse(text);
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
    // Profiles hold local hours of a time zone and weekend: another calendar would misread them.
    if (
      state.rhythm !== undefined &&
      (state.rhythm.timezone !== config.timezone ||
        state.rhythm.weekendDays.join(',') !== config.weekendDays.join(','))
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
    for (const [srcIp, b] of Object.entries(state.baselines)) {
      store.baselines.set(srcIp, {
        mean: b.mean,
        variance: b.variance,
        dataPoints: b.dataPoints,
        lastWindow: Date.parse(b.lastWindow),
        clockAtLastFold: b.clockAtLastFold,
        ...(b.lastAlertWindow === undefined ? {} : { lastAlertWindow: Date.parse(b.lastAlertWindow) }),
        ...(b.lastAlertCount === undefined ? {} : { lastAlertCount: b.lastAlertCount }),
        ...(b.profile === undefined ? {} : { profile: b.profile }),
        ...(b.withinHour === undefined ? {} : { withinHour: b.withinHour }),
        ...(b.jobs === undefined
          ? {}
          : { jobs: b.jobs.map((job): RecurringJob => ({ ...job, last: Date.parse(job.last) })) }),
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
