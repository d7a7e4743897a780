/**
 * The recommended preset's spike test on one count, in one place: `evaluateWindow` decides with
 * it, and the report's "spikes from" line (alert-threshold.ts) is this test solved for the count,
 * so the line cannot drift from the decision.
 */
import type { DetectorConfig } from './config';
import type { RecurringJob, RhythmModel } from './rhythm';
import {
  estimationAdjustedTail,
  meanUncertainTail,
  pointProbability,
  tailReaches,
  upperTailProbability,
} from './tail-probability';

/** The model a window's count is compared with. */
export interface ComparedModel {
  /** Expected count. */
  mean: number;
  variance: number;
  /** Windows of history behind the baseline (maturity). */
  dataPoints: number;
  /** Windows the variance rests on (the correction for estimation error); default dataPoints, at most the baseline window. */
  samples?: number;
  /** A rhythm-aware model: its tail averages over the hour's expectation as an estimate. */
  rhythm?: Pick<RhythmModel, 'a' | 'phi' | 'relativeVariance'>;
  /**
   * A learned job of the source's at this time (detect.ts, jobEvent): a run (a burst against the
   * flat baseline `flat`, isFlatBurst; a count from `runsFrom` up, for a weekly job only while it
   * has not grown; a spike from `spikeRunFrom` up) is the job's occurrence, quiet unless it has
   * grown (isGrownRun on `runs`) and a spike where it has; any other count is decided as if there
   * were no job.
   */
  learnedJob?: {
    runs: JobRuns;
    flat: { mean: number; variance: number; dataPoints: number; tailWidening?: number };
    /** Counts from this one up are the job's runs, burst or not (detect.ts isJobRun). */
    runsFrom: number;
    /** A weekly (or monthly) job's runs by size end where a run has grown (isJobRun). */
    weekly: boolean;
    /** A count the tail calls a spike is the job's run from this one up. */
    spikeRunFrom: number;
  };
  /**
   * A daily job the profile holds as the hour's level: counts where its run has grown
   * (isGrownRun) are spikes whatever the hour's tail says (unless they are a learned job's run).
   */
  dailyJob?: JobRuns;
  /**
   * A daily job the profile holds, moved by an hour (RhythmModel.movedDailyJob): a count that
   * would be a spike is the job's, and quiet, from `quietFrom` up to (not including) `spikeFrom`.
   */
  movedDailyJob?: { quietFrom: number; spikeFrom: number };
  /**
   * The source's own tail where it is heavier than the model's (tailWidening, from the
   * baseline's `tailScore`): 1 or absent, the model as it is.
   */
  tailWidening?: number;
}

type TailConfig = Pick<DetectorConfig, 'meanFloor' | 'baselineWindow'>;

/**
 * P(X >= x) as the recommended preset decides with it, where it can decide; undefined where it
 * cannot: a count at or below the model's mean is never a spike (whatever a heavy-tailed model
 * says), and a count whose point probability alone is at least twice the threshold cannot be
 * one (the point probability is a lower bound on the tail at a tenth of its cost; twice leaves
 * room for rounding in either function). Where the plug-in tail is below the threshold it is
 * corrected for the model being an estimate (the correction only raises it, so elsewhere it
 * could not change the verdict). Last, the source's own tail (model.tailWidening, widenedTail):
 * the tail is below the threshold exactly where the uncorrected one is below
 * widenedThreshold(threshold), so that is the threshold the shortcuts use.
 */
export function spikeTail(
  x: number,
  model: ComparedModel,
  threshold: number,
  config: TailConfig,
): number | undefined {
  if (!(x > model.mean)) return undefined;
  const widening = model.tailWidening ?? 1;
  const decisive = widenedThreshold(threshold, widening);
  if (!(pointProbability(x, model.mean, model.variance, config.meanFloor) < 2 * decisive)) return undefined;
  const rhythm = model.rhythm;
  const plugIn =
    rhythm === undefined
      ? upperTailProbability(x, model.mean, model.variance, config.meanFloor)
      : meanUncertainTail(x, model.mean, rhythm.a, rhythm.phi, rhythm.relativeVariance, config.meanFloor);
  if (!(plugIn < decisive)) return widenedTail(plugIn, widening);
  const samples = model.samples ?? Math.min(model.dataPoints, config.baselineWindow);
  return widenedTail(
    estimationAdjustedTail(plugIn, model.mean, model.variance, config.meanFloor, samples),
    widening,
  );
}

/** A job's runs as the grown-run test sees them (isGrownRun). */
export interface JobRuns {
  /** The usual count of a run. */
  size: number;
  /** The variance of a run about `size`, where the job keeps one: how much its runs vary. */
  spread?: number;
  /** The runs that spread rests on (its estimate's own error). */
  samples: number;
  /**
   * Set where the size and spread are a profile slot's mean and spread (a daily job the profile
   * holds, dailyJobRuns): estimates from the slot's `samples` windows, which the test corrects
   * for as the hour's spike test does (estimationAdjustedTail).
   */
  slotEstimate?: boolean;
}

/**
 * Has a job's run grown? At least `jobGrowthFactor` x the job's usual size and, where the job
 * keeps the spread of its runs (over MIN_SPREAD_RUNS of them or more), also beyond the window's
 * threshold on its own runs: a negative binomial with the job's size and spread. A job whose runs
 * vary a lot reaches twice its usual size by itself now and then (a backup that follows the data
 * changed that day: one run in sixteen where its runs vary like a gamma of shape 3), and that is
 * no growth; a job whose runs are steady (a spread no larger than its size) alerts at the factor.
 * A learnt job's tail is the plain one, without spikeTail's correction for an estimate from few
 * windows: its spread rests on a handful of runs (SPREAD_MEMORY), and that correction would let a
 * steady job quadruple unremarked. A daily job the profile holds (`slotEstimate`) is corrected,
 * unless a run of the factor is already beyond the threshold on its runs (see below).
 * Without a threshold the factor alone decides.
 */
export function isGrownRun(
  x: number,
  job: JobRuns,
  threshold: number | null,
  config: Pick<DetectorConfig, 'jobGrowthFactor' | 'meanFloor'>,
): boolean {
  if (!(x >= config.jobGrowthFactor * job.size)) return false;
  if (job.spread === undefined || job.samples < MIN_SPREAD_RUNS || threshold === null) return true;
  // Runs that vary no more than counts of their size do by chance are steady, and the factor
  // decides: their tail would be Poisson's (a negative binomial's floor), far wider than their
  // own variation, and let a steady job of 20 double unremarked (40 is a Poisson tail of 5e-5).
  if (job.spread <= job.size) return true;
  const tail = upperTailProbability(x, job.size, job.spread, config.meanFloor);
  if (!(tail < threshold)) return false;
  if (job.slotEstimate !== true) return true;
  // A daily job the profile holds: its level and spread are a slot's estimates from a dozen to
  // forty windows. Its window is one of the source's, with the threshold's share of the budget,
  // and on a job that varies the plain tail at a spread estimated low spent that share many times
  // over (40 nightly jobs varying like a gamma of shape 3: some 7 grown runs in 14 days where 0.7
  // is the job windows' share, once the other hours were judged without the jobs). A run of the
  // factor is placed by the level alone; where the runs, as estimated, reach it less often than
  // the threshold (a steady job) the factor decides, as for a learnt job. Elsewhere the tail
  // decides, corrected for the estimates as the hour's spike test corrects its own.
  const factorTail = upperTailProbability(
    config.jobGrowthFactor * job.size,
    job.size,
    job.spread,
    config.meanFloor,
  );
  if (factorTail < threshold) return true;
  return estimationAdjustedTail(tail, job.size, job.spread, config.meanFloor, job.samples) < threshold;
}

/** Runs a job's spread must rest on before it counts (isGrownRun): one difference is no spread. */
export const MIN_SPREAD_RUNS = 2;

/** A learned or candidate job (rhythm.ts RecurringJob) as runs. */
export function jobRuns(job: Pick<RecurringJob, 'size' | 'spread' | 'spreadRuns'>): JobRuns {
  return {
    size: job.size,
    ...(job.spread === undefined ? {} : { spread: job.spread }),
    samples: job.spreadRuns ?? 0,
  };
}

/** A daily job the profile holds (RhythmModel.dailyJob) as runs: its level and its slot's own spread. */
export function dailyJobRuns(
  model: Pick<RhythmModel, 'dailyJob' | 'dailyJobSpread' | 'dailyJobSamples'>,
): JobRuns {
  return {
    size: model.dailyJob ?? Number.NaN,
    ...(model.dailyJobSpread === undefined ? {} : { spread: model.dailyJobSpread }),
    samples: model.dailyJobSamples ?? 0,
    slotEstimate: true,
  };
}

/*
 * The source's own tail. The model above is fitted to two moments, and far out where the
 * threshold lies (about 4e-5 a window at 1,000 sources) the tail's shape decides: a source whose
 * counts have a heavier tail than the negative binomial with its mean and variance fires many
 * times its share. Each source therefore keeps score of how often, and how far, its windows go
 * beyond its model's 1-in-100 line (exceedanceScore, folded into Baseline.tailScore as a running
 * mean), and where that runs clearly above what the model expects, its tail is taken as heavier
 * (tailWidening) and its threshold tightened accordingly (widenedThreshold).
 */

/** The model's tail level beyond which windows are scored: its 1-in-100 line. */
export const TAIL_LEVEL = 0.01;
/** A window scores at most as a 1-in-10,000 window would: log(TAIL_LEVEL / 1e-4); so does their mean. */
export const MAX_TAIL_SCORE = Math.log(100);
/** What a window scores on average where the model is right: TAIL_LEVEL x E[min(Exp(1), MAX_TAIL_SCORE)]. */
const EXPECTED_SCORE = TAIL_LEVEL * (1 - Math.exp(-MAX_TAIL_SCORE));
/**
 * Below this many standard deviations above its mean a count is never beyond the 1-in-100 line
 * of a negative binomial or Poisson (the skew puts that line further out), so its tail need not
 * be computed: most windows cost one comparison.
 */
const SCORED_FROM_SDS = 1.5;
/** Baseline windows the score remembers: twice the moments', as a tail needs more windows than a mean. */
export const TAIL_MEMORY = 2;
/** Standard deviations of the score's own noise that are taken as noise before any widening. */
const TAIL_EVIDENCE_SDS = 1;
/** The widening per unit of score above expectation (and noise): 2, so a score 1.25 x expected widens by 1.5. */
const WIDENING_PER_SCORE = 2;
/** The most the tail is widened: the threshold at most raised to this power (t^1.5: 4e-5 becomes 2.5e-6). */
export const MAX_TAIL_WIDENING = 2;

/**
 * Where in [0, 1) a source's count falls on its own step of the model's distribution, for
 * exceedanceScore: a hash of the source and the window, the same in the Lambda and the replay.
 * A count of a discrete distribution is not "beyond the 1-in-100 line" or not: with a mean of 2,
 * P(X >= 7) may be 0.014 and P(X >= 8) 0.004; a count of 7 is beyond it in a share of windows
 * that makes the score's expectation exactly TAIL_LEVEL (the randomised probability integral
 * transform), so sparse sources are scored as fairly as busy ones.
 */
export function stepPosition(key: string, windowStart: number): number {
  let hash = 0x811c9dc5 ^ Math.floor(windowStart / 60_000);
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // murmur3's finaliser: the low bits of FNV-1a alone are not uniform enough.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 4294967296;
}

/**
 * A window's exceedance score against the model it was compared with: log(TAIL_LEVEL / u) where
 * u, the count's tail probability placed on its step (P(X > x) + h P(X = x), h the source's and
 * window's stepPosition), is below
 * TAIL_LEVEL, at most MAX_TAIL_SCORE; else 0. Where the model is right u is uniform, so a window scores
 * TAIL_LEVEL x E[min(Exp(1), MAX_TAIL_SCORE)] (EXPECTED_SCORE) on average, whatever the source's mean;
 * a heavier tail scores more, both more often and further out. A count that could spike (at
 * minBlockedCount or more) whose tail on this model is below `threshold` scores 0: it would have
 * spiked but for the widening, and a window the widening let through must not widen it further.
 */
export function exceedanceScore(
  x: number,
  model: { mean: number; variance: number },
  window: { source: string; windowStart: number },
  threshold: number,
  config: Pick<DetectorConfig, 'meanFloor' | 'minBlockedCount'>,
): number {
  const meanFloor = config.meanFloor;
  const m = Math.max(model.mean, meanFloor);
  if (!(x > m + SCORED_FROM_SDS * Math.sqrt(Math.max(model.variance, m)))) return 0;
  const position = stepPosition(window.source, window.windowStart);
  // Most such counts are still inside the line, which a few point probabilities show at a
  // fraction of the incomplete beta's cost (u is P(X > x) + position x P(X = x)).
  if (tailReaches(x, position, model.mean, model.variance, meanFloor, TAIL_LEVEL)) return 0;
  const tail = upperTailProbability(x, model.mean, model.variance, meanFloor);
  const step = pointProbability(x, model.mean, model.variance, meanFloor);
  // At least 0: far out, the tail and its first term agree to rounding.
  const u = Math.max(0, tail - (1 - position) * step);
  if (!(u < TAIL_LEVEL) || (x >= config.minBlockedCount && !(tail >= threshold))) return 0;
  return Math.min(Math.log(TAIL_LEVEL / u), MAX_TAIL_SCORE);
}

/**
 * The widening w >= 1 of a source's tail, from its running mean exceedance score over
 * `dataPoints` windows (at most TAIL_MEMORY baseline windows): the score over its expectation,
 * less TAIL_EVIDENCE_SDS standard deviations of its noise (a source with no more than noise keeps
 * its model), times WIDENING_PER_SCORE, at most MAX_TAIL_WIDENING. Absent score: no evidence, 1.
 */
export function tailWidening(
  score: number | undefined,
  dataPoints: number,
  config: Pick<DetectorConfig, 'baselineWindow'>,
): number {
  if (score === undefined || !(score > 0)) return 1;
  const windows = Math.max(1, Math.min(dataPoints, TAIL_MEMORY * config.baselineWindow));
  // A score's variance per window is TAIL_LEVEL x E[min(Exp(1), cap)^2], about 2 TAIL_LEVEL.
  const noise = Math.sqrt((2 * TAIL_LEVEL) / windows) / TAIL_LEVEL;
  const excess = score / EXPECTED_SCORE - 1 - TAIL_EVIDENCE_SDS * noise;
  if (!(excess > 0)) return 1;
  return Math.min(MAX_TAIL_WIDENING, 1 + WIDENING_PER_SCORE * excess);
}

/**
 * The threshold a tail widened by `widening` has to meet without the widening: TAIL_LEVEL
 * (threshold / TAIL_LEVEL)^widening, the threshold itself from TAIL_LEVEL up. The source's far
 * tail is taken to be a power of the model's: where its windows go beyond the 1-in-100 line w
 * times as far (in log probability) as the model says, so do its rarer ones.
 */
export function widenedThreshold(threshold: number, widening: number): number {
  if (widening === 1 || !(threshold < TAIL_LEVEL)) return threshold;
  return TAIL_LEVEL * Math.pow(threshold / TAIL_LEVEL, widening);
}

/** A tail probability `p` under a tail widened by `widening`: TAIL_LEVEL (p / TAIL_LEVEL)^(1 / widening). */
export function widenedTail(p: number, widening: number): number {
  if (widening === 1 || !(p < TAIL_LEVEL)) return p;
  return TAIL_LEVEL * Math.pow(p / TAIL_LEVEL, 1 / widening);
}
