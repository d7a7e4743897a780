/**
 * Per-source baselines and the two update rules.
 *
 * splunk-escu reproduces the SPL exactly:
 *   mean' = mean + (x - mean) / N
 *   var'  = ((N - 1) var + (x - mean')(x - mean)) / N
 *   n'    = n + 1
 * recommended uses the same form with a = 1 / min(n + 1, N), which is Welford's exact running
 * mean and population variance while the baseline warms up, then the ESCU exponential form.
 */
import type { DetectorConfig } from './config';
import { MAX_TAIL_SCORE, TAIL_MEMORY } from './spike-test';
import {
  foldProfile,
  foldSlotSpread,
  foldWithinHour,
  profileWithZeros,
  slotSpreadWithZeros,
  withinHourWithZeros,
  type RecurringJob,
  type WithinHour,
} from './rhythm';

export interface Baseline {
  mean: number;
  variance: number;
  dataPoints: number;
  /** Start (epoch ms) of the last window folded in. Folding a window at or before it is a no-op. */
  lastWindow: number;
  /**
   * The complete-window clock after the last fold. The windows a source missed since then, for
   * the recommended preset's lazy zero-fill, are the clock's advance: windows the detector
   * evaluated with complete data. Data gaps (no run, SKIPDATA) do not advance it.
   */
  clockAtLastFold: number;
  /** Window start of the last alert on this source (cooldown). */
  lastAlertWindow?: number;
  /** Blocked count of the last alert on this source (escalation inside the cooldown). */
  lastAlertCount?: number;
  /**
   * Recommended preset: the start of the last window inside a cooldown whose count stayed well
   * above its model (detect.ts ELEVATED_SDS). The cooldown runs from it rather than from the
   * alert, so it lasts while the source stays up. Absent: none since the last alert.
   */
  lastElevatedWindow?: number;
  /**
   * Recommended preset with `rhythm`: the source's 48 slot means (local hour x weekday/weekend),
   * quantised and encoded (rhythm.ts); absent until the source's first fold with rhythm on.
   */
  profile?: string;
  /** With `profile`: how windows vary around their hour's usual level (rhythm.ts foldWithinHour). */
  withinHour?: WithinHour;
  /** Recommended preset: recurring jobs learned, or seen once and being learned (rhythm.ts). */
  jobs?: RecurringJob[];
  /**
   * Recommended preset: the running mean of the source's exceedance scores (spike-test.ts
   * exceedanceScore), over up to TAIL_MEMORY x baselineWindow windows: how often and how far its
   * windows went beyond its model's 1-in-100 line. Absent: none yet (0).
   */
  tailScore?: number;
  /**
   * With `profile`: each slot's own spread, the running mean of d^2 n / (n + 1) over the slot's
   * windows (d the window's distance from the slot's mean before it, n the slot's windows seen),
   * encoded as the profile is (rhythm.ts foldSlotSpread); absent until a slot with a mean is
   * folded again. Where a slot varies more than the source's hours do (the last, partial hour of
   * a job whose length varies), its model takes this spread (rhythm.ts rhythmModel).
   */
  slotSpread?: string;
}

type FoldConfig = Pick<DetectorConfig, 'preset' | 'baselineWindow'>;
/** What a fold needs to keep the rhythm profile too. */
export type RhythmFoldConfig = FoldConfig &
  Pick<DetectorConfig, 'rhythm' | 'timezone' | 'weekendDays' | 'windowMinutes' | 'meanFloor'>;

/** A source's first window: ESCU never initialises one (a bug); both presets do here. */
export function newBaseline(
  x: number,
  windowStart: number,
  clockAfter: number,
  config?: RhythmFoldConfig,
): Baseline {
  const baseline: Baseline = {
    mean: x,
    variance: 0,
    dataPoints: 1,
    lastWindow: windowStart,
    clockAtLastFold: clockAfter,
  };
  if (config !== undefined && rhythmKept(config))
    baseline.profile = foldProfile(undefined, windowStart, x, 0, config);
  return baseline;
}

/** The profile is learned by the recommended preset with rhythm on. */
const rhythmKept = (config: Partial<RhythmFoldConfig>): config is RhythmFoldConfig =>
  config.preset === 'recommended' && config.rhythm === true;

/**
 * ESCU's fold in the SPL's own order of operations, so its numbers are ESCU's to the last bit:
 * `avg + (latestCount - avg)/720` and `sqrt((pow(stdev, 2)*719 + (latestCount - newAvg) *
 * (latestCount - avg))/720)`. The SPL's lookup keeps the standard deviation and squares it again
 * at the next fold; the variance kept here is that square, from which Math.sqrt gives the same
 * standard deviation back exactly (sqrt(s * s) = s in binary floating point).
 */
function escuMoments(
  mean: number,
  variance: number,
  x: number,
  n: number,
): { mean: number; variance: number } {
  const nextMean = mean + (x - mean) / n;
  // (x - mean')(x - mean) >= 0: mean' lies between mean and x, so the root is of a non-negative number.
  const sd = Math.sqrt((variance * (n - 1) + (x - nextMean) * (x - mean)) / n);
  return { mean: nextMean, variance: sd * sd };
}

/** The moments after folding one observation `x` (no bookkeeping). */
export function updateMoments(
  baseline: Pick<Baseline, 'mean' | 'variance' | 'dataPoints'>,
  x: number,
  config: FoldConfig,
): { mean: number; variance: number; dataPoints: number } {
  const { mean, variance, dataPoints } = baseline;
  if (config.preset === 'splunk-escu')
    return { ...escuMoments(mean, variance, x, config.baselineWindow), dataPoints: dataPoints + 1 };
  const weight = 1 / Math.min(dataPoints + 1, config.baselineWindow);
  const nextMean = mean + (x - mean) * weight;
  // (1 - a) var + a (x - mean')(x - mean): the exact running variance while young, ESCU's
  // exponential form once a = 1/N.
  const nextVariance = Math.max(0, (1 - weight) * variance + weight * (x - nextMean) * (x - mean));
  return { mean: nextMean, variance: nextVariance, dataPoints: dataPoints + 1 };
}

/**
 * The baseline after folding `x` for the window starting at `windowStart`: the moments of
 * updateMoments, the bookkeeping of `before` (alert state kept). The same as
 * `{ ...before, ...updateMoments(before, x, config), lastWindow, clockAtLastFold }`, written out
 * because the replay runs it for every source of every window, where spreads and the
 * intermediate object cost more than the arithmetic.
 */
export function foldedBaseline(
  before: Baseline,
  x: number,
  windowStart: number,
  clockAfter: number,
  config: FoldConfig & Partial<RhythmFoldConfig>,
  /** The window's exceedance score (recommended preset; 0: none). */
  score = 0,
  /**
   * The window is a learnt job's run, fed its hour's usual count in place of its own: it says
   * nothing of how the source varies around its hour, and the within-hour statistics skip it.
   */
  learntJobRun = false,
): Baseline {
  const { mean, variance, dataPoints } = before;
  let nextMean: number;
  let nextVariance: number;
  if (config.preset === 'splunk-escu') {
    const moments = escuMoments(mean, variance, x, config.baselineWindow);
    nextMean = moments.mean;
    nextVariance = moments.variance;
  } else {
    const weight = 1 / Math.min(dataPoints + 1, config.baselineWindow);
    nextMean = mean + (x - mean) * weight;
    nextVariance = Math.max(0, (1 - weight) * variance + weight * (x - nextMean) * (x - mean));
  }
  const next: Baseline = {
    mean: nextMean,
    variance: nextVariance,
    dataPoints: dataPoints + 1,
    lastWindow: windowStart,
    clockAtLastFold: clockAfter,
  };
  if (before.lastAlertWindow !== undefined) next.lastAlertWindow = before.lastAlertWindow;
  if (before.lastAlertCount !== undefined) next.lastAlertCount = before.lastAlertCount;
  if (before.lastElevatedWindow !== undefined) next.lastElevatedWindow = before.lastElevatedWindow;
  if (rhythmKept(config)) {
    // (A learnt job's slot holds what its first runs taught it, in full or capped as spikes, and
    // falls from there as its runs feed the usual count: their distance from it, once the slot no
    // longer stands out as a daily job's hour, made every other hour of the source look more
    // variable, and bursts of 5-10x a quiet hour were missed.)
    const within = learntJobRun
      ? before.withinHour
      : foldWithinHour(before.withinHour, before.profile, windowStart, x, dataPoints, config);
    if (within !== undefined) next.withinHour = within;
    const slotSpread = foldSlotSpread(before.slotSpread, before.profile, windowStart, x, dataPoints, config);
    if (slotSpread !== undefined) next.slotSpread = slotSpread;
    next.profile = foldProfile(before.profile, windowStart, x, dataPoints, config);
  }
  if (before.jobs !== undefined) next.jobs = before.jobs;
  // Absent until a window first scores (splunk-escu never scores).
  const tailScore = before.tailScore;
  if (tailScore !== undefined || score > 0) {
    const old = tailScore ?? 0;
    // At most the cap of one window's score (a mean of such scores, but for rounding).
    next.tailScore = Math.min(
      MAX_TAIL_SCORE,
      old + (score - old) / Math.min(dataPoints + 1, TAIL_MEMORY * config.baselineWindow),
    );
  }
  return next;
}

/**
 * Folds `count` zero windows (recommended preset only: ESCU ignores zero windows). Equivalent to
 * folding 0 that many times, in closed form, so a source silent for months costs O(1):
 * - while n + 1 <= N the update is exact pooling: k zeros added to n points with mean m and
 *   population variance v give mean n m / (n + k) and variance n v / (n + k) + n k m^2 / (n + k)^2;
 * - from then on a = 1/N and each zero scales the mean by r = 1 - a, so t zeros give
 *   mean r^t m and variance r^t (v + (1 - r^t) m^2).
 * The tail score, a running mean with its own memory, decays the same way (decayedScore).
 */
export function foldZeros<T extends Pick<Baseline, 'mean' | 'variance' | 'dataPoints' | 'tailScore'>>(
  baseline: T,
  count: number,
  config: FoldConfig,
): T {
  if (config.preset === 'splunk-escu' || count <= 0) return baseline;
  const window = config.baselineWindow;
  let { mean, variance, dataPoints } = baseline;
  const tailScore =
    baseline.tailScore === undefined
      ? undefined
      : decayedScore(baseline.tailScore, dataPoints, count, TAIL_MEMORY * window);
  const pooled = Math.min(count, Math.max(0, window - dataPoints));
  if (pooled > 0) {
    const total = dataPoints + pooled;
    variance = (dataPoints * variance) / total + (dataPoints * pooled * mean * mean) / (total * total);
    mean = (dataPoints * mean) / total;
    dataPoints = total;
  }
  const decaying = count - pooled;
  if (decaying > 0) {
    const decay = Math.pow(1 - 1 / window, decaying);
    variance = decay * (variance + (1 - decay) * mean * mean);
    mean = decay * mean;
    dataPoints += decaying;
  }
  const out = { ...baseline, mean, variance: Math.max(0, variance), dataPoints };
  if (tailScore !== undefined) out.tailScore = tailScore;
  return out;
}

/**
 * A running mean over up to `memory` windows after `k` more windows that scored 0 (a zero window
 * is never beyond its model's line), in closed form as foldZeros does the mean: exact pooling
 * while `n + k` stays within the memory, then a factor (1 - 1 / memory) a window.
 */
function decayedScore(score: number, n: number, k: number, memory: number): number {
  const pooled = Math.min(k, Math.max(0, memory - n));
  let out = pooled > 0 ? (score * n) / (n + pooled) : score;
  if (k - pooled > 0) out *= Math.pow(1 - 1 / memory, k - pooled);
  return out;
}

/**
 * The baseline a recommended source is compared against: zeros for the complete windows it
 * missed, in its flat moments and (with rhythm) in the slots of those windows.
 */
export function withMissedZeros(
  baseline: Baseline,
  clockBefore: number,
  config: FoldConfig & Partial<RhythmFoldConfig>,
): Baseline {
  const missed = clockBefore - baseline.clockAtLastFold;
  const zeroed = foldZeros(baseline, missed, config);
  if (zeroed === baseline || !rhythmKept(config) || baseline.profile === undefined) return zeroed;
  const zeroedProfile: Baseline = {
    ...zeroed,
    profile: profileWithZeros(baseline.profile, baseline.lastWindow, missed, baseline.dataPoints, config),
  };
  const within = withinHourWithZeros(
    baseline.withinHour,
    baseline.profile,
    baseline.lastWindow,
    missed,
    baseline.dataPoints,
    config,
  );
  if (within !== undefined) zeroedProfile.withinHour = within;
  const slotSpread = slotSpreadWithZeros(
    baseline.slotSpread,
    baseline.profile,
    baseline.lastWindow,
    missed,
    baseline.dataPoints,
    config,
  );
  if (slotSpread !== undefined) zeroedProfile.slotSpread = slotSpread;
  return zeroedProfile;
}

/** Standard deviation as each preset uses it for zScore and the spike cap. */
export function spreadOf(mean: number, variance: number, config: Pick<DetectorConfig, 'preset'>): number {
  return config.preset === 'splunk-escu'
    ? Math.sqrt(variance)
    : Math.max(Math.sqrt(variance), Math.sqrt(mean), 1);
}

/**
 * ESCU support search ("Baseline of blocked outbound traffic from AWS"): mean and sample standard
 * deviation (n - 1; 0 for a single window) over the windows in which the source had records.
 */
export function escuBaselineFromHistory(
  activeCounts: readonly number[],
  lastWindow: number,
  clock: number,
): Baseline {
  const n = activeCounts.length;
  if (n === 0) throw new RangeError('a baseline needs at least one active window');
  const mean = activeCounts.reduce((sum, c) => sum + c, 0) / n;
  // The lookup keeps `stdev(...)`; the square of it, as the next fold's pow(stdev, 2) reads it.
  const sd = n < 2 ? 0 : Math.sqrt(activeCounts.reduce((sum, c) => sum + (c - mean) ** 2, 0) / (n - 1));
  return { mean, variance: sd * sd, dataPoints: n, lastWindow, clockAtLastFold: clock };
}
