/**
 * The decision for one window: every source seen is compared with its own baseline, spikes and
 * new-source bursts become alerts, cooldowns and mass-spike grouping keep the channel readable,
 * and the updated baselines are returned for the caller to commit. Pure: no clock, no I/O.
 */
import {
  foldedBaseline,
  newBaseline,
  spreadOf,
  updateMoments,
  withMissedZeros,
  type Baseline,
} from './baseline';
import { windowMs, windowsPerDay, type DetectorConfig, type PresetName } from './config';
import { estimationAdjustedTail, pointProbability, upperTailProbability } from './tail-probability';
import { isoTime } from './windows';

export type AlertKind = 'spike' | 'new-source' | 'mass-spike';
export type Severity = 'low' | 'medium' | 'high';

export interface BaselineSummary {
  mean: number;
  sd: number;
  dataPoints: number;
}

export interface DestinationCount {
  address: string;
  port: number | null;
  protocol: number | null;
  count: number;
}

/** Filled in after the decision by the details query (Lambda) or the replay's own records. */
export interface AlertDetails {
  topDestinations: DestinationCount[];
  /** Distinct (address, port, protocol) destinations, of which `topDestinations` are the first. */
  totalDestinations: number;
  interfaceIds: string[];
  /** Optional enrichment: interface id -> instance, VPC, subnet, Name tag. */
  resources?: Record<string, Record<string, string>>;
}

export interface MassSpikeMember {
  srcIp: string;
  blockedCount: number;
  zScore: number | null;
  tailProbability?: number;
}

export interface Alert {
  /** Stable across retries: the same window and source always give the same id. */
  alertId: string;
  kind: AlertKind;
  preset: PresetName;
  severity: Severity;
  windowStart: string;
  windowEnd: string;
  /** The source (absent on mass-spike alerts, which carry `srcIps`). */
  srcIp?: string;
  srcIps?: string[];
  /** This window's blocked records (mass-spike: summed over the members). */
  blockedCount: number;
  uniqueDestinations: number | null;
  /** The baseline the count was compared with; null for a new source. */
  baseline: BaselineSummary | null;
  zScore: number | null;
  /** P(X >= blockedCount) under the baseline's model (recommended preset). */
  tailProbability?: number;
  /** The tail probability below which this window's counts are spikes (recommended preset). */
  threshold?: number;
  /** True when the window's data was incomplete (SKIPDATA): counts are a lower bound. */
  incompleteWindow?: boolean;
  members?: MassSpikeMember[];
  details?: AlertDetails;
}

export type Outcome =
  | 'spike'
  | 'spike-in-cooldown'
  | 'new-source'
  | 'new-source-quiet'
  | 'normal'
  | 'warming-up'
  | 'below-minimum'
  | 'already-folded';

export interface SourceDecision {
  srcIp: string;
  blockedCount: number;
  outcome: Outcome;
  /** The baseline compared with (escu: after folding this window; recommended: before). */
  compared: BaselineSummary | null;
  zScore: number | null;
  /**
   * Recommended preset: P(X >= blockedCount) under the baseline's model, corrected for the
   * baseline being an estimate (see estimationAdjustedTail) wherever the plug-in value is below
   * the window's threshold; elsewhere the plug-in value, which the correction would only raise.
   * Absent for counts at or below the mean and for counts whose point probability alone is
   * at least twice the threshold (see pointProbability): neither can be a spike.
   */
  tailProbability?: number;
}

export interface WindowInput {
  windowStart: number;
  /** Blocked egress records per internal source in this window. */
  counts: ReadonlyMap<string, number>;
  /** Distinct external destinations per source, where the caller knows them. */
  uniqueDestinations?: ReadonlyMap<string, number>;
  /** False when the window's data is incomplete (SKIPDATA records, late delivery). */
  complete: boolean;
  /** Stored baselines of (at least) the sources in `counts`. */
  baselines: ReadonlyMap<string, Baseline>;
  /** The complete-window clock before this window (see Baseline.clockAtLastFold). */
  clock: number;
}

export interface WindowStats {
  sourcesSeen: number;
  matureSources: number;
  spikes: number;
  suppressedByCooldown: number;
  newSources: number;
  /** Recommended preset: the tail-probability threshold used in this window. */
  threshold: number | null;
}

export interface WindowResult {
  windowStart: number;
  windowEnd: number;
  complete: boolean;
  clockAfter: number;
  decisions: SourceDecision[];
  alerts: Alert[];
  /** New values for every source whose baseline changed; others are untouched. */
  updatedBaselines: Map<string, Baseline>;
  stats: WindowStats;
}

export interface EvaluateOptions {
  /** Bootstrap: learn baselines, decide nothing, keep no alert state. */
  learnOnly?: boolean;
}

export const alertIdFor = (windowStart: number, subject: string): string =>
  `${isoTime(windowStart)}/${subject}`;

// Math.round rather than toFixed: this runs for every source of every window.
const round = (value: number): number => Math.round(value * 1e4) / 1e4;
const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? round(value) : null);

interface Candidate {
  srcIp: string;
  x: number;
  before: Baseline;
  mean: number;
  sd: number;
  variance: number;
  dataPoints: number;
  zScore: number;
  /** Set below where the tail is computed (a field from the start: one object shape for all). */
  tailProbability: number | undefined;
  mature: boolean;
  /** Recommended preset: mature and above its mean, so the tail decides. */
  tailDecides: boolean;
}

export function evaluateWindow(
  input: WindowInput,
  config: DetectorConfig,
  options: EvaluateOptions = {},
): WindowResult {
  const escu = config.preset === 'splunk-escu';
  const windowEnd = input.windowStart + windowMs(config);
  const clockAfter = input.clock + (input.complete ? 1 : 0);
  const decisions: SourceDecision[] = [];
  const updated = new Map<string, Baseline>();
  const alerts: Alert[] = [];
  const candidates: Candidate[] = [];
  let newSources = 0;
  let matureSources = 0;

  for (const [srcIp, x] of input.counts) {
    if (!(x > 0)) continue;
    const stored = input.baselines.get(srcIp);
    if (stored === undefined) {
      newSources += 1;
      updated.set(srcIp, newBaseline(x, input.windowStart, clockAfter));
      const alerting = !options.learnOnly && config.newSourceMinCount > 0 && x >= config.newSourceMinCount;
      decisions.push({
        srcIp,
        blockedCount: x,
        outcome: alerting ? 'new-source' : 'new-source-quiet',
        compared: null,
        zScore: null,
      });
      if (alerting) {
        alerts.push(newSourceAlert(srcIp, x, input, windowEnd, config));
        updated.set(srcIp, {
          ...newBaseline(x, input.windowStart, clockAfter),
          lastAlertWindow: input.windowStart,
          lastAlertCount: x,
        });
      }
      continue;
    }
    if (stored.lastWindow >= input.windowStart) {
      decisions.push({ srcIp, blockedCount: x, outcome: 'already-folded', compared: null, zScore: null });
      continue;
    }
    const before = escu ? stored : withMissedZeros(stored, input.clock, config);
    // ESCU compares with the baseline after folding the current point in; recommended with the one before.
    const compared = escu ? updateMoments(before, x, config) : before;
    const sd = spreadOf(compared.mean, compared.variance, config);
    const zScore = sd > 0 ? (x - compared.mean) / sd : x > compared.mean ? Infinity : 0;
    const mature = escu
      ? compared.dataPoints > config.minDataPoints
      : before.dataPoints >= config.minDataPoints;
    if (mature) matureSources += 1;
    candidates.push({
      srcIp,
      x,
      before,
      mean: compared.mean,
      sd,
      variance: compared.variance,
      dataPoints: compared.dataPoints,
      zScore,
      tailProbability: undefined,
      mature,
      // Only a mature source above its mean can spike: a count at or below the mean is never
      // unusual, whatever a heavy-tailed model says, and skipping the tail keeps replay fast.
      tailDecides: !escu && mature && x > compared.mean,
    });
  }

  // The fleet-wide false-alert budget, spread over the windows of a day and the sources that could fire.
  const threshold = escu
    ? null
    : config.falseAlertBudgetPerDay / (windowsPerDay(config) * Math.max(1, matureSources));
  const spikes: Candidate[] = [];
  const alerting: Candidate[] = [];
  let suppressedByCooldown = 0;

  for (const c of candidates) {
    // The tail only where it can decide: a point probability (a lower bound on the tail, a tenth
    // of its cost) at twice the threshold or more already says "not a spike". Twice leaves room
    // for rounding in either function.
    if (
      c.tailDecides &&
      threshold !== null &&
      pointProbability(c.x, c.mean, c.variance, config.meanFloor) < 2 * threshold
    ) {
      c.tailProbability = upperTailProbability(c.x, c.mean, c.variance, config.meanFloor);
    }
    // Correct for estimation error only where it can change the verdict: the correction only
    // raises p, so a plug-in p at or above the threshold is already "not a spike" (and cheap).
    if (threshold !== null && c.tailProbability !== undefined && c.tailProbability < threshold) {
      const effectiveSamples = Math.min(c.before.dataPoints, config.baselineWindow);
      c.tailProbability = estimationAdjustedTail(
        c.tailProbability,
        c.mean,
        c.variance,
        config.meanFloor,
        effectiveSamples,
      );
    }
    const beyondThreshold = escu
      ? c.mature && c.x > c.mean + config.deviationThreshold * c.sd
      : c.mature && (c.tailProbability ?? 1) < (threshold ?? 0);
    // minBlockedCount is 0 in the splunk-escu bundle; a user who sets it gets it in either preset.
    const isSpike = beyondThreshold && c.x >= config.minBlockedCount;
    let outcome: Outcome;
    if (isSpike) {
      spikes.push(c);
      if (!options.learnOnly && inCooldown(c.before, c.x, input.windowStart, config)) {
        outcome = 'spike-in-cooldown';
        suppressedByCooldown += 1;
      } else {
        outcome = 'spike';
        if (!options.learnOnly) alerting.push(c);
      }
    } else if (!c.mature) {
      outcome = 'warming-up';
    } else if (beyondThreshold) {
      outcome = 'below-minimum';
    } else {
      outcome = 'normal';
    }
    const decision: SourceDecision = {
      srcIp: c.srcIp,
      blockedCount: c.x,
      outcome,
      compared: summary(c),
      zScore: finiteOrNull(c.zScore),
    };
    // Assigned rather than spread in: this runs for every source of every window.
    if (c.tailProbability !== undefined) decision.tailProbability = c.tailProbability;
    decisions.push(decision);
    updated.set(c.srcIp, nextBaseline(c, isSpike, input, clockAfter, config));
  }

  // massSpikeMinSources is 0 (off) in the splunk-escu bundle; explicit values win in either preset.
  const massSpike =
    !options.learnOnly &&
    config.massSpikeMinSources > 0 &&
    alerting.length > 0 &&
    spikes.length >= config.massSpikeMinSources &&
    spikes.length >= config.massSpikeFraction * matureSources;

  if (massSpike) {
    alerts.push(massSpikeAlert(spikes, input, windowEnd, threshold, config));
  } else {
    for (const c of alerting) alerts.push(spikeAlert(c, input, windowEnd, threshold, config));
  }
  // Members of a mass spike count as alerted too: a rollout must not re-alert per source next hour.
  for (const c of massSpike ? spikes : alerting) {
    const next = updated.get(c.srcIp);
    if (next) updated.set(c.srcIp, { ...next, lastAlertWindow: input.windowStart, lastAlertCount: c.x });
  }

  alerts.sort((a, b) => b.blockedCount - a.blockedCount || (a.alertId < b.alertId ? -1 : 1));
  return {
    windowStart: input.windowStart,
    windowEnd,
    complete: input.complete,
    clockAfter,
    decisions,
    alerts,
    updatedBaselines: updated,
    stats: {
      sourcesSeen: decisions.length,
      matureSources,
      spikes: spikes.length,
      suppressedByCooldown,
      newSources,
      threshold,
    },
  };
}

function inCooldown(baseline: Baseline, x: number, windowStart: number, config: DetectorConfig): boolean {
  if (config.cooldownMinutes <= 0 || baseline.lastAlertWindow === undefined) return false;
  if (windowStart - baseline.lastAlertWindow >= config.cooldownMinutes * 60_000) return false;
  return x < config.escalationFactor * (baseline.lastAlertCount ?? 0);
}

function nextBaseline(
  c: Candidate,
  isSpike: boolean,
  input: WindowInput,
  clockAfter: number,
  config: DetectorConfig,
): Baseline {
  // Recommended: a spike teaches the baseline at most mean + k sd, so an attack cannot make itself normal.
  const fed =
    config.preset === 'splunk-escu' || !isSpike
      ? c.x
      : Math.min(
          c.x,
          c.before.mean + config.deviationThreshold * spreadOf(c.before.mean, c.before.variance, config),
        );
  return foldedBaseline(c.before, fed, input.windowStart, clockAfter, config);
}

function summary(c: Candidate): BaselineSummary {
  return { mean: round(c.mean), sd: round(c.sd), dataPoints: c.dataPoints };
}

function severityOf(c: Candidate, threshold: number | null, config: DetectorConfig): Severity {
  if (config.preset === 'splunk-escu') return c.zScore >= 2 * config.deviationThreshold ? 'high' : 'medium';
  return (c.tailProbability ?? 1) < (threshold ?? 0) * config.highSeverityThresholdRatio ? 'high' : 'medium';
}

function common(input: WindowInput, windowEnd: number, config: DetectorConfig) {
  return {
    preset: config.preset,
    windowStart: isoTime(input.windowStart),
    windowEnd: isoTime(windowEnd),
    ...(input.complete ? {} : { incompleteWindow: true }),
  };
}

function spikeAlert(
  c: Candidate,
  input: WindowInput,
  windowEnd: number,
  threshold: number | null,
  config: DetectorConfig,
): Alert {
  return {
    alertId: alertIdFor(input.windowStart, c.srcIp),
    kind: 'spike',
    severity: severityOf(c, threshold, config),
    ...common(input, windowEnd, config),
    srcIp: c.srcIp,
    blockedCount: c.x,
    uniqueDestinations: input.uniqueDestinations?.get(c.srcIp) ?? null,
    baseline: summary(c),
    zScore: finiteOrNull(c.zScore),
    ...(c.tailProbability === undefined ? {} : { tailProbability: c.tailProbability }),
    ...(threshold === null ? {} : { threshold }),
  };
}

function newSourceAlert(
  srcIp: string,
  x: number,
  input: WindowInput,
  windowEnd: number,
  config: DetectorConfig,
): Alert {
  return {
    alertId: alertIdFor(input.windowStart, srcIp),
    kind: 'new-source',
    severity: 'low',
    ...common(input, windowEnd, config),
    srcIp,
    blockedCount: x,
    uniqueDestinations: input.uniqueDestinations?.get(srcIp) ?? null,
    baseline: null,
    zScore: null,
  };
}

function massSpikeAlert(
  spikes: Candidate[],
  input: WindowInput,
  windowEnd: number,
  threshold: number | null,
  config: DetectorConfig,
): Alert {
  const members = [...spikes].sort((a, b) => b.x - a.x || (a.srcIp < b.srcIp ? -1 : 1));
  return {
    alertId: alertIdFor(input.windowStart, 'mass-spike'),
    kind: 'mass-spike',
    severity: 'medium',
    ...common(input, windowEnd, config),
    srcIps: members.map((m) => m.srcIp),
    blockedCount: members.reduce((sum, m) => sum + m.x, 0),
    uniqueDestinations: null,
    baseline: null,
    zScore: null,
    ...(threshold === null ? {} : { threshold }),
    members: members.map((m) => ({
      srcIp: m.srcIp,
      blockedCount: m.x,
      zScore: finiteOrNull(m.zScore),
      ...(m.tailProbability === undefined ? {} : { tailProbability: m.tailProbability }),
    })),
  };
}
