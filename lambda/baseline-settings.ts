/**
 * What a stored baseline means beyond its numbers: the preset and the window length its counts
 * were taken with, the calendar its rhythm profiles read (time zone and weekend; kept with rhythm
 * off too, as profiles learnt before rhythm was turned off are still in the entries), and what
 * its source keys are made of (account and VPC, where the flow log format or table has them). Baselines learnt under other settings mean something else: a 60-minute mean compared
 * with 30-minute counts misses every spike, the other way round it alerts on every busy source,
 * and a profile read in another time zone expects each source's day at the wrong hours.
 *
 * The Lambda keeps them in its state item (written with every commit and bootstrap) and refuses to
 * detect on baselines learnt under others, naming the change and the way out (a bootstrap with
 * `overwrite` relearns; deploying the old settings back resumes). The replay's state file keeps
 * the same settings and refuses the same changes (lambda/replay/memory-store.ts).
 */
import { BASELINE_BUCKETS } from './adapters/baseline-buckets';
import { DEFAULT_FLOW_LOG_FORMAT, parseFlowLogFormat, type DetectorConfig, type PresetName } from './core';

export interface BaselineSettings {
  preset: PresetName;
  windowMinutes: number;
  /** The calendar of the rhythm profiles (absent only in settings this module cannot read). */
  rhythm?: { timezone: string; weekendDays: string[] };
  /**
   * What a source key is made of, e.g. `account|address` or `account|vpc|address`
   * (lambda/core/source-key.ts): another shape keys every source anew, and every busy one would be
   * a new source. Absent where the caller does not say.
   */
  sourceKeys?: string;
  /**
   * The DynamoDB items the Lambda spreads the baselines over (deployment setting
   * baselineBuckets): a source's bucket is its key's hash modulo this, so another count looks
   * every source up in another item, and each would read as new. Absent in the replay's state
   * file (which has no buckets); a state item written before it was kept was written with
   * BASELINE_BUCKETS, the only count there was.
   */
  baselineBuckets?: number;
}

/**
 * The parts of a source key records read through `flowLogFormat` give (the v2 default has
 * `account-id`; `vpc-id` adds the VPC); Security Lake's table always has both. Undefined for a
 * format that does not parse: the config schema refuses it at cold start, and the query builder
 * again before any query (a config that got past the schema fails there, not here).
 */
export function sourceKeyShape(flowLogFormat: string | undefined, securityLake = false): string | undefined {
  if (securityLake) return 'account|vpc|address';
  let fields: readonly string[];
  try {
    fields = flowLogFormat === undefined ? DEFAULT_FLOW_LOG_FORMAT : parseFlowLogFormat(flowLogFormat);
  } catch {
    return undefined;
  }
  return `${fields.includes('account-id') ? 'account' : 'no account'}|${fields.includes('vpc-id') ? 'vpc|' : ''}address`;
}

export function baselineSettingsOf(
  config: Pick<DetectorConfig, 'preset' | 'windowMinutes' | 'timezone' | 'weekendDays'>,
  sourceKeys?: string,
): BaselineSettings {
  return {
    preset: config.preset,
    windowMinutes: config.windowMinutes,
    // The weekend is a set of days: the order a config lists them in changes nothing.
    rhythm: { timezone: config.timezone, weekendDays: [...config.weekendDays].sort() },
    ...(sourceKeys === undefined ? {} : { sourceKeys }),
  };
}

/** The settings as the state item keeps them (`baselineSettings`, S). */
export const encodeBaselineSettings = (settings: BaselineSettings): string => JSON.stringify(settings);

/**
 * The settings of a state item, or undefined when it has none (written before they were kept) or
 * they cannot be read: the check below is then not made, as before.
 */
export function decodeBaselineSettings(text: string | undefined): BaselineSettings | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<BaselineSettings>;
    if (typeof value.preset !== 'string' || typeof value.windowMinutes !== 'number') return undefined;
    if (value.sourceKeys !== undefined && typeof value.sourceKeys !== 'string') return undefined;
    if (
      value.baselineBuckets !== undefined &&
      !(Number.isInteger(value.baselineBuckets) && value.baselineBuckets >= 1)
    )
      return undefined;
    const rhythm = value.rhythm;
    const rhythmReadable =
      rhythm === undefined ||
      (typeof rhythm.timezone === 'string' &&
        Array.isArray(rhythm.weekendDays) &&
        rhythm.weekendDays.every((day) => typeof day === 'string'));
    return rhythmReadable ? (value as BaselineSettings) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How `current` differs from the settings the baselines were learnt under, in words, or undefined
 * when the baselines still mean what they say (the replay's rule for its state file). Turning
 * rhythm on or off is not a change: off, profiles are not read; on, sources without one learn it.
 */
export function baselineSettingsChange(
  learnt: BaselineSettings,
  current: BaselineSettings,
): string | undefined {
  const changes: string[] = [];
  if (learnt.preset !== current.preset) changes.push(`preset ${learnt.preset} -> ${current.preset}`);
  if (learnt.windowMinutes !== current.windowMinutes)
    changes.push(`${learnt.windowMinutes}-minute -> ${current.windowMinutes}-minute windows`);
  if (learnt.rhythm !== undefined && current.rhythm !== undefined) {
    if (learnt.rhythm.timezone !== current.rhythm.timezone)
      changes.push(`time zone ${learnt.rhythm.timezone} -> ${current.rhythm.timezone}`);
    const days = (list: readonly string[]) => [...list].sort().join(',');
    if (days(learnt.rhythm.weekendDays) !== days(current.rhythm.weekendDays))
      changes.push(`weekend ${days(learnt.rhythm.weekendDays)} -> ${days(current.rhythm.weekendDays)}`);
  }
  if (
    learnt.sourceKeys !== undefined &&
    current.sourceKeys !== undefined &&
    learnt.sourceKeys !== current.sourceKeys
  )
    changes.push(`source keys ${learnt.sourceKeys} -> ${current.sourceKeys} (the flow log fields)`);
  if (current.baselineBuckets !== undefined) {
    const learntBuckets = learnt.baselineBuckets ?? BASELINE_BUCKETS;
    if (learntBuckets !== current.baselineBuckets)
      changes.push(
        `${learntBuckets} -> ${current.baselineBuckets} baseline buckets (baselineBuckets: each source's baseline is in another item)`,
      );
  }
  return changes.length === 0 ? undefined : changes.join(', ');
}

/** Detection (or a dry run) refused: the stored baselines were learnt under other settings. */
export class BaselineSettingsChangedError extends Error {
  constructor(readonly change: string) {
    super(
      `the stored baselines were learnt under other settings (${change}): they would be compared ` +
        'with counts they do not describe, so the detector does not run on them. Relearn them with ' +
        '{"mode":"bootstrap","days":30,"overwrite":true}, or deploy the previous settings again',
    );
    this.name = 'BaselineSettingsChangedError';
  }
}
