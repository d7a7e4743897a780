/**
 * The recommended preset's spike test on one count, in one place: `evaluateWindow` decides with
 * it, and the report's "spikes from" line (alert-threshold.ts) is this test solved for the count,
 * so the line cannot drift from the decision.
 */
import type { DetectorConfig } from './config';
import type { RhythmModel } from './rhythm';
import {
  estimationAdjustedTail,
  meanUncertainTail,
  pointProbability,
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
   * A learned job of the source's at this time (detect.ts, jobEvent): a burst against the flat
   * baseline (`flat`, isFlatBurst) is the job's occurrence, quiet below `spikeFrom` and a spike
   * from it up; a count that is not a burst is decided as if there were no job, except a weekly
   * job's run of its size (`quietFrom`).
   */
  learnedJob?: {
    spikeFrom: number;
    flat: { mean: number; variance: number; dataPoints: number };
    /**
     * A learned weekly job: counts from this one up to (not including) `spikeFrom` are its runs,
     * and quiet, burst or not (detect.ts isWeeklyJobRun).
     */
    quietFrom?: number;
  };
  /**
   * A daily job the profile holds as the hour's level: counts from this one up are spikes
   * whatever the tail says (unless they are a learned job's burst).
   */
  dailyJobSpikeFrom?: number;
  /**
   * A daily job the profile holds, moved by an hour (RhythmModel.movedDailyJob): a count that
   * would be a spike is the job's, and quiet, from `quietFrom` up to (not including) `spikeFrom`.
   */
  movedDailyJob?: { quietFrom: number; spikeFrom: number };
}

type TailConfig = Pick<DetectorConfig, 'meanFloor' | 'baselineWindow'>;

/**
 * P(X >= x) as the recommended preset decides with it, where it can decide; undefined where it
 * cannot: a count at or below the model's mean is never a spike (whatever a heavy-tailed model
 * says), and a count whose point probability alone is at least twice the threshold cannot be
 * one (the point probability is a lower bound on the tail at a tenth of its cost; twice leaves
 * room for rounding in either function). Where the plug-in tail is below the threshold it is
 * corrected for the model being an estimate (the correction only raises it, so elsewhere it
 * could not change the verdict).
 */
export function spikeTail(
  x: number,
  model: ComparedModel,
  threshold: number,
  config: TailConfig,
): number | undefined {
  if (!(x > model.mean)) return undefined;
  if (!(pointProbability(x, model.mean, model.variance, config.meanFloor) < 2 * threshold)) return undefined;
  const rhythm = model.rhythm;
  const plugIn =
    rhythm === undefined
      ? upperTailProbability(x, model.mean, model.variance, config.meanFloor)
      : meanUncertainTail(x, model.mean, rhythm.a, rhythm.phi, rhythm.relativeVariance, config.meanFloor);
  if (!(plugIn < threshold)) return plugIn;
  const samples = model.samples ?? Math.min(model.dataPoints, config.baselineWindow);
  return estimationAdjustedTail(plugIn, model.mean, model.variance, config.meanFloor, samples);
}
