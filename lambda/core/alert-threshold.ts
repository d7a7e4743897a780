/**
 * The count at which a source spikes in a window: the engine's spike test (detect.ts) solved for
 * the count, so a report can draw the line the detector actually compared with rather than a
 * mean ± k sd band that neither preset uses as such.
 *
 * - recommended: the smallest whole count x with x >= minBlockedCount and a spike tail
 *   (spike-test.ts, the function evaluateWindow decides with) below the window's threshold, the
 *   model being the hour's expectation where the source has a rhythm;
 * - splunk-escu: the smallest whole count x with x > mean' + k sd', where mean' and sd' are the
 *   baseline after folding x itself in (as the SPL compares), and x >= minBlockedCount.
 *
 * Both tests are monotone in x above the mean, so the answer is found by a galloping search from
 * a hint and checked with the engine's own arithmetic (the same functions, the same arguments):
 * at the answer the engine says "spike" and one below it does not. The inputs are explicit (the
 * compared mean, variance and data points, the window's threshold) so any model of the expected
 * count can be fed in. Pure: no clock, no I/O.
 */
import { spreadOf, updateMoments, withMissedZeros, type Baseline } from './baseline';
import { windowsPerDay, type DetectorConfig } from './config';
import { hasWeeklyJobAt, isFlatBurst } from './detect';
import { calendarOf, liveJobs, matchJob, rhythmModel } from './rhythm';
import {
  dailyJobRuns,
  isGrownRun,
  jobRuns,
  spikeTail,
  tailWidening,
  type ComparedModel,
  type JobRuns,
} from './spike-test';

export type { ComparedModel } from './spike-test';

export type SpikeTestConfig = Pick<
  DetectorConfig,
  | 'preset'
  | 'baselineWindow'
  | 'minDataPoints'
  | 'deviationThreshold'
  | 'minBlockedCount'
  | 'meanFloor'
  | 'jobGrowthFactor'
>;

/** Counts beyond this are treated as "never" (no real window holds 2^40 records from one source). */
const NEVER = 2 ** 40;

/**
 * The model `evaluateWindow` compares a source's count with in the window starting at
 * `windowStart`, from its stored baseline and the complete-window clock before the window:
 * recommended fills in the zeros of the windows the source missed and, where the source has a
 * rhythm, takes the hour's expectation; splunk-escu takes the stored baseline as it is (its
 * test folds the count in itself, see smallestSpikeCount).
 */
export function comparedModel(
  stored: Baseline,
  clockBefore: number,
  windowStart: number,
  config: DetectorConfig,
): ComparedModel {
  if (config.preset === 'splunk-escu')
    return { mean: stored.mean, variance: stored.variance, dataPoints: stored.dataPoints };
  const before = withMissedZeros(stored, clockBefore, config);
  const flat = { mean: before.mean, variance: before.variance, dataPoints: before.dataPoints };
  if (before.dataPoints < config.minDataPoints) return flat;
  // The source's own tail widens whichever model it is compared with (spike-test.ts).
  const widening = tailWidening(before.tailScore, before.dataPoints, config);
  const widened = widening === 1 ? {} : { tailWidening: widening };
  const calendar = calendarOf(config);
  const place = calendar.place(windowStart);
  // Without rhythm the job rules below still hold, as in detect.ts (jobs are learnt either way).
  const model = config.rhythm
    ? rhythmModel(
        before.profile,
        before.withinHour,
        before.variance,
        before.dataPoints,
        place.slot,
        config,
        before.slotSpread,
      )
    : undefined;
  const compared: ComparedModel =
    model === undefined
      ? { ...flat, ...widened }
      : {
          mean: model.mean,
          variance: model.variance,
          dataPoints: before.dataPoints,
          samples: model.samples,
          rhythm: model,
          ...widened,
        };
  if (config.jobOccurrencesToLearn > 0) {
    // The job rules of detect.ts, each at jobGrowthFactor x the job's size: a learned job decides
    // a run at its time; a daily job the profile has learnt decides any other count.
    const jobs = liveJobs(before.jobs, windowStart);
    const match = matchJob(jobs, windowStart, place.weekPhase, calendar.windowsPerDay);
    if (match !== undefined && match.job.occurrences + 1 >= config.jobOccurrencesToLearn) {
      const factor = config.jobGrowthFactor;
      compared.learnedJob = {
        runs: jobRuns(match.job),
        // A flat source's burst test is its spike test, widened tail included (detect.ts isBurst).
        flat: model === undefined ? { ...flat, ...widened } : { ...flat },
        // A run of the job's size is the job's, burst or not (isJobRun): above the job's size
        // over jobGrowthFactor and jobGrowthFactor x the compared mean, at minBlockedCount or
        // more; a weekly job's only until it has grown, a daily job's only where the hour's
        // model decides.
        runsFrom:
          match.period === 'daily' && model === undefined
            ? NEVER
            : Math.max(
                smallestTimesAbove(match.job.size, factor),
                Math.floor(factor * compared.mean) + 1,
                config.minBlockedCount,
              ),
        weekly: match.period !== 'daily',
        // So is a spike at jobGrowthFactor x the compared mean or more.
        spikeRunFrom: Math.max(Math.ceil(factor * compared.mean), config.minBlockedCount),
      };
    }
    if (model?.dailyJob !== undefined && !hasWeeklyJobAt(jobs, windowStart, model.dailyJob, config))
      compared.dailyJob = dailyJobRuns(model);
    if (model?.movedDailyJob !== undefined)
      compared.movedDailyJob = movedJobBand(model.movedDailyJob, config.jobGrowthFactor);
  }
  return compared;
}

/**
 * The whole counts detect.ts takes for a moved daily job of size `size`: quiet where x f > size
 * and x < f size, so from about floor(size / f) + 1 up to (not including) ceil(f size).
 */
function movedJobBand(size: number, factor: number): { quietFrom: number; spikeFrom: number } {
  return { quietFrom: smallestTimesAbove(size, factor), spikeFrom: Math.ceil(factor * size) };
}

/**
 * The smallest whole x with x * factor > bound, as detect.ts computes it: floor(bound / factor) + 1
 * is off by one where the division and the product round differently (a factor of 1.1 and a job
 * of 33: 33 / 1.1 is 29.999999999999996, and 30 * 1.1 is 33, not more).
 */
function smallestTimesAbove(bound: number, factor: number): number {
  let x = Math.floor(bound / factor) + 1;
  while (x > 0 && (x - 1) * factor > bound) x -= 1;
  while (!(x * factor > bound)) x += 1;
  return x;
}

/**
 * The smallest whole count at which a job's run has grown (isGrownRun, which holds from some
 * count up: jobGrowthFactor x its size, or further out where its runs' own spread says so), or
 * NEVER.
 */
export function grownRunFrom(
  job: JobRuns,
  threshold: number | null,
  config: Pick<DetectorConfig, 'jobGrowthFactor' | 'meanFloor'>,
): number {
  const from = Math.max(1, Math.ceil(config.jobGrowthFactor * job.size));
  return firstFrom(from, from, (count) => isGrownRun(count, job, threshold, config)) ?? NEVER;
}

/** A count among a learned job's runs by size (isJobRun), burst or not. */
const inRuns = (
  count: number,
  job: NonNullable<ComparedModel['learnedJob']>,
  threshold: number | null,
  config: SpikeTestConfig,
): boolean => count >= job.runsFrom && (!job.weekly || !isGrownRun(count, job.runs, threshold, config));

/**
 * A tail spike's verdict after a moved daily job's rule (detect.ts): its band is quiet (counts
 * from the band's end up spike before the tail is asked, in isSpikeCount).
 */
const outsideMovedJob = (count: number, model: ComparedModel): boolean =>
  model.movedDailyJob === undefined || count < model.movedDailyJob.quietFrom;

/**
 * The recommended preset's tail-probability threshold for a window in which `matureSources`
 * sources with a mature baseline were seen: the day's false-alert budget spread over its windows
 * and those sources (as evaluateWindow computes it).
 */
export function windowThreshold(
  config: Pick<DetectorConfig, 'falseAlertBudgetPerDay' | 'windowMinutes'>,
  matureSources: number,
): number {
  return config.falseAlertBudgetPerDay / (windowsPerDay(config) * Math.max(1, matureSources));
}

/** Is a window with `count` records a spike for this model? The engine's test, nothing else. */
export function isSpikeCount(
  count: number,
  model: ComparedModel,
  threshold: number | null,
  config: SpikeTestConfig,
): boolean {
  if (!(count > 0) || count < config.minBlockedCount) return false;
  if (config.preset === 'splunk-escu') {
    if (!(model.dataPoints + 1 > config.minDataPoints)) return false;
    const after = updateMoments(model, count, config);
    return count > after.mean + config.deviationThreshold * spreadOf(after.mean, after.variance, config);
  }
  if (threshold === null || !(model.dataPoints >= config.minDataPoints)) return false;
  const tail = spikeTail(count, model, threshold, config);
  const tailSpike = tail !== undefined && tail < threshold;
  // A learned job's run (a burst, a run of its size, a spike well above the hour's expectation)
  // is the job's: quiet below its bound, a spike from it up.
  const job = model.learnedJob;
  if (
    job !== undefined &&
    (isFlatBurst(
      count,
      job.flat,
      { mature: true, rhythmic: model.rhythm !== undefined },
      threshold,
      config,
    ) ||
      inRuns(count, job, threshold, config) ||
      (tailSpike && count >= job.spikeRunFrom))
  )
    return isGrownRun(count, job.runs, threshold, config);
  // A daily job's rule spikes every count where its run has grown (a tail spike may come
  // earlier); a moved daily job's every count from its own bound up.
  if (model.dailyJob !== undefined && isGrownRun(count, model.dailyJob, threshold, config)) return true;
  if (model.movedDailyJob !== undefined && count >= model.movedDailyJob.spikeFrom) return true;
  return tailSpike && outsideMovedJob(count, model);
}

/**
 * The smallest whole count that is a spike for this model in a window whose tail-probability
 * threshold is `threshold` (recommended; splunk-escu ignores it), or null when no count can be:
 * a baseline too young, no threshold, or ESCU's `N - 1 <= k^2` (a fold of x then moves sd' as
 * fast as x). Cooldowns and mass-spike grouping decide whether a spike becomes an alert of its
 * own; they are not part of this count. `hint`, e.g. the previous window's answer, makes the
 * search a few steps.
 */
export function smallestSpikeCount(
  model: ComparedModel,
  threshold: number | null,
  config: SpikeTestConfig,
  hint?: number,
): number | null {
  const escu = config.preset === 'splunk-escu';
  const n = config.baselineWindow;
  const k = config.deviationThreshold;
  if (escu) {
    if (!(model.dataPoints + 1 > config.minDataPoints) || !(n - 1 > k * k)) return null;
  } else if (threshold === null || !(threshold > 0) || !(model.dataPoints >= config.minDataPoints)) {
    return null;
  }
  // Below `lowest` nothing spikes: counts of 0, under minBlockedCount, or not above the mean.
  const lowest = Math.max(1, config.minBlockedCount, Math.floor(model.mean) + 1);
  // ESCU in closed form: x - mean > k sqrt(N var / (N - 1 - k^2)); a good first guess.
  const guess = escu
    ? Math.floor(model.mean + k * Math.sqrt((n * model.variance) / (n - 1 - k * k))) + 1
    : undefined;
  const start = Math.max(lowest, Math.round(hint ?? guess ?? lowest));
  const job = escu ? undefined : model.learnedJob;
  // A moved daily job's band of quiet counts lies inside the tail's spikes, which hold from some
  // count up, and every count from the band's end spikes: the first spike is the tail's first,
  // unless the band takes it (or there is none), then the band's end.
  const band = model.movedDailyJob;
  const tailModel: ComparedModel = { ...model };
  delete tailModel.movedDailyJob;
  delete tailModel.learnedJob;
  const firstOutsideBand = (first: number | null): number | null =>
    band === undefined || (first !== null && first < band.quietFrom)
      ? first
      : Math.max(band.spikeFrom, config.minBlockedCount, 1);
  // The first spike without the job (the tail's, a daily job's, a moved daily job's).
  const firstSpike = firstOutsideBand(
    firstFrom(start, lowest, (count) => isSpikeCount(count, tailModel, threshold, config)),
  );
  if (job === undefined) return firstSpike;
  // At a learned job's time a run (a burst, a count from runsFrom up, for a weekly job only until
  // its run has grown, a tail spike from spikeRunFrom up) is the job's, and spikes where it has
  // grown (the job's bound, grownRunFrom); any other count decides as without the job. Bursts and
  // tail runs hold from some count up, as do a daily job's runs by size; a weekly job's runs by
  // size are a band ending at the job's bound.
  const pureTail: ComparedModel = { ...tailModel };
  delete pureTail.dailyJob;
  const firstTail = firstFrom(start, lowest, (count) => isSpikeCount(count, pureTail, threshold, config));
  const burstsFrom = Math.max(1, config.minBlockedCount);
  const source = { mature: true, rhythmic: model.rhythm !== undefined };
  const firstBurst = firstFrom(burstsFrom, burstsFrom, (count) =>
    isFlatBurst(count, job.flat, source, threshold, config),
  );
  // Where the job's run has grown: its runs spike from here up (a weekly job's runs by size end here).
  const grownFrom = grownRunFrom(job.runs, threshold, config);
  const runsFrom = Math.min(
    firstBurst ?? NEVER,
    firstTail === null ? NEVER : Math.max(firstTail, job.spikeRunFrom),
    job.weekly ? NEVER : job.runsFrom,
  );
  const grown = runsFrom >= NEVER || grownFrom >= NEVER ? null : Math.max(runsFrom, grownFrom, burstsFrom);
  // The first spike without the job, past a weekly job's band of runs (which ends where its run
  // has grown, or the moved daily job's band's end if that falls in the band).
  let noRun = firstSpike;
  if (noRun !== null && job.weekly && inRuns(noRun, job, threshold, config))
    noRun =
      band !== undefined && grownFrom >= band.quietFrom && grownFrom < band.spikeFrom
        ? band.spikeFrom
        : grownFrom;
  if (noRun === null || noRun >= NEVER || noRun >= runsFrom) return grown;
  return grown === null ? noRun : Math.min(noRun, grown);
}

/**
 * The smallest whole count from `lowest` up for which `holds` (true from some count up, false
 * below it), or null if none below NEVER: a galloping search from `start`, then halving.
 */
function firstFrom(start: number, lowest: number, holds: (count: number) => boolean): number | null {
  if (!(start < NEVER)) return null;
  // Gallop from `start` to a bracket (below: false or `lowest` - 1; above: true)...
  let below: number;
  let above: number;
  if (holds(start)) {
    above = start;
    let step = 1;
    below = start - step;
    while (below >= lowest && holds(below)) {
      above = below;
      step *= 2;
      below = above - step;
    }
    below = Math.max(below, lowest - 1);
  } else {
    below = start;
    let step = 1;
    above = start + step;
    while (!holds(above)) {
      below = above;
      step *= 2;
      above = below + step;
      if (above > NEVER) return null;
    }
  }
  // ...then halve it: the smallest lies in (below, above].
  while (above - below > 1) {
    const middle = below + Math.floor((above - below) / 2);
    if (holds(middle)) above = middle;
    else below = middle;
  }
  return above;
}
