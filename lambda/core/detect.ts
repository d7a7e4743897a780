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
import {
  addCandidate,
  calendarOf,
  decodeProfile,
  PROFILE_SLOTS,
  liveJobs,
  matchJob,
  recordGrownOccurrence,
  recordOccurrence,
  rhythmModel,
  type JobMatch,
  type JobPeriod,
  type RhythmModel,
  type RecurringJob,
  type WindowPlace,
} from './rhythm';
import type { CauseLookup, DowngradedFrom, LikelyCause } from './policy-changes';
import { identityOfKey, sourceKey } from './source-key';
import {
  dailyJobRuns,
  exceedanceScore,
  isGrownRun,
  jobRuns,
  MIN_SPREAD_RUNS,
  spikeTail,
  tailWidening,
  type JobRuns,
} from './spike-test';
import { upperTailProbability } from './tail-probability';
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

/** What the source usually does at this time (rhythm-aware baselines). */
export interface ExpectedNow {
  /** Local day and time of the window, e.g. `Sun 03:00`, in `timezone`. */
  at: string;
  timezone: string;
  /** The expected count the window was compared with. */
  usual: number;
}

/** A learned recurring job whose occurrence was clearly larger than usual. */
export interface RecurringJobContext {
  period: JobPeriod;
  /** `Wed 02:00` (weekly) or `02:00` (daily), in `timezone`. */
  at: string;
  timezone: string;
  usualSize: number;
  /**
   * How much its runs usually vary (a standard deviation, whole records), where the job keeps a
   * spread it is judged by (isGrownRun): the alert then says "usually ~140 ± 45".
   */
  usualSpread?: number;
  occurrences: number;
}

/** Who a source is: its address within its account (and VPC, where the flow log format says). */
export interface SourceIdentityFields {
  /** The address, as the record writes it. */
  srcIp: string;
  /** The 12-digit account; absent where the records do not name one (no `account-id` field, `unknown`). */
  accountId?: string;
  /** The account's friendly name (config `accountNames`). */
  accountName?: string;
  /** The VPC, where the flow log format carries `vpc-id`. */
  vpcId?: string;
}

export interface MassSpikeMember extends SourceIdentityFields {
  blockedCount: number;
  zScore: number | null;
  tailProbability?: number;
  /**
   * Set on a member its cooldown held back (ISO start of the window of its last alert): it is
   * listed again, not new, so that a reader of a mass spike repeated in a lasting episode sees
   * which hosts joined since.
   */
  lastAlertedAt?: string;
}

export interface Alert {
  /** Stable across retries: the same window and source always give the same id. */
  alertId: string;
  kind: AlertKind;
  preset: PresetName;
  severity: Severity;
  windowStart: string;
  windowEnd: string;
  /** The source's address (absent on mass-spike alerts, which carry `srcIps` and `members`). */
  srcIp?: string;
  /** The source's account (absent where the records name none) and its friendly name. */
  accountId?: string;
  accountName?: string;
  /** The source's VPC, where the flow log format carries `vpc-id`. */
  vpcId?: string;
  /** Mass spike: the members' addresses, in the members' order (the same address may be in two accounts). */
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
  /** Rhythm-aware baselines: what is usual for this source at this hour (the count was compared with it). */
  expected?: ExpectedNow;
  /** The occurrence of a learned recurring job that was clearly larger than usual. */
  recurringJob?: RecurringJobContext;
  members?: MassSpikeMember[];
  details?: AlertDetails;
  /**
   * Change-aware alerts (spikes and mass spikes): the egress-policy change that most likely
   * explains this alert, from CloudTrail, where one was found.
   */
  likelyCause?: LikelyCause;
  /** Whether a cause was looked up and how that went (`found`, `none`, `unavailable` with a reason). */
  causeLookup?: CauseLookup;
  /** Set when `policyChangeSpikes: "downgrade"` lowered the severity of an explained alert to `low`. */
  downgradedFrom?: DowngradedFrom;
}

export type Outcome =
  | 'spike'
  | 'spike-in-cooldown'
  | 'new-source'
  | 'new-source-quiet'
  | 'normal'
  | 'warming-up'
  | 'below-minimum'
  | 'recurring-job'
  | 'already-folded';

export interface SourceDecision {
  /** The source key (source-key.ts). */
  srcIp: string;
  blockedCount: number;
  outcome: Outcome;
  /** The baseline compared with (escu: after folding this window; recommended: before). */
  compared: BaselineSummary | null;
  /**
   * Rhythm-aware baselines: the model the count was compared with instead of the flat mean and
   * variance (expected count and its variance for this hour), where the source has a rhythm.
   */
  model?: { mean: number; variance: number };
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

/** A window without its sources: what WindowDecider is given. */
export type WindowMeta = Omit<WindowInput, 'counts' | 'baselines'>;

export interface WindowStats {
  sourcesSeen: number;
  /** Occurrences of learned recurring jobs (quiet). */
  recurringJobs: number;
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

/** `<window ISO>/<source key>` (or `/mass-spike`). */
export const alertIdFor = (windowStart: number, subject: string): string =>
  `${isoTime(windowStart)}/${subject}`;

/** The address, account (with its configured name) and VPC of a source key, as alerts carry them. */
export function sourceIdentity(
  key: string,
  config: Pick<DetectorConfig, 'accountNames'>,
): SourceIdentityFields {
  const { accountId, vpcId, address } = identityOfKey(key);
  const accountName = accountId === undefined ? undefined : config.accountNames?.[accountId];
  return {
    srcIp: address,
    ...(accountId === undefined ? {} : { accountId }),
    ...(accountName === undefined ? {} : { accountName }),
    ...(vpcId === undefined ? {} : { vpcId }),
  };
}

/** The source key of an alert's source or of a mass-spike member. */
export const keyOfSource = (source: SourceIdentityFields): string =>
  sourceKey({ accountId: source.accountId, vpcId: source.vpcId, address: source.srcIp });

/** The source keys an alert is about: its source's, or a mass spike's members'. */
export function alertSourceKeys(alert: Alert): string[] {
  if (alert.members !== undefined) return alert.members.map(keyOfSource);
  if (alert.srcIp !== undefined) return [keyOfSource(alert as SourceIdentityFields)];
  return [];
}

// Math.round rather than toFixed: this runs for every source of every window.
const round = (value: number): number => Math.round(value * 1e4) / 1e4;
const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? round(value) : null);

interface Candidate {
  srcIp: string;
  x: number;
  before: Baseline;
  /** The model the count is tested against: the hour's expectation, or the flat baseline. */
  mean: number;
  sd: number;
  variance: number;
  /** The flat baseline compared with (reported as `baseline` / `compared`). */
  flat: BaselineSummary;
  flatMean: number;
  flatVariance: number;
  /** Set when the rhythm model replaced the flat one. */
  rhythmic: boolean;
  /** The rhythm model, where it replaced the flat one (its tail accounts for the hour's estimate). */
  model: RhythmModel | undefined;
  zScore: number;
  /** Set below where the tail is computed (a field from the start: one object shape for all). */
  tailProbability: number | undefined;
  mature: boolean;
  /** Recommended preset: mature and above its mean, so the tail decides. */
  tailDecides: boolean;
  /** Set on a learned job's occurrence that was clearly larger than usual. */
  job?: RecurringJobContext;
}

export function evaluateWindow(
  input: WindowInput,
  config: DetectorConfig,
  options: EvaluateOptions = {},
): WindowResult {
  // First pass: the mature sources, which the false-alert threshold is spread over.
  let matureSources = 0;
  for (const [srcIp, x] of input.counts) {
    if (x > 0 && isMatureSource(input.baselines.get(srcIp), input, config)) matureSources += 1;
  }
  const decider = new WindowDecider(input, config, matureSources, options);
  // Decisions and updated baselines keep the order they always had: new and already-folded
  // sources first, then the sources compared with their baselines, each in count order.
  const early: SourceDecision[] = [];
  const late: SourceDecision[] = [];
  const updatedEarly: [string, Baseline][] = [];
  const updatedLate: [string, Baseline][] = [];
  for (const [srcIp, x] of input.counts) {
    if (!(x > 0)) continue;
    const result = decider.decide(srcIp, x, input.baselines.get(srcIp));
    (result.compared ? late : early).push(result.decision);
    if (result.next !== undefined) (result.compared ? updatedLate : updatedEarly).push([srcIp, result.next]);
  }
  const { alerts, alerted, stats, clockAfter, windowEnd } = decider.finish();
  const updated = new Map<string, Baseline>(updatedEarly);
  for (const [srcIp, next] of updatedLate) updated.set(srcIp, next);
  // Alerted spikes (and a mass spike's members) start their cooldown.
  for (const { srcIp, count } of alerted) {
    const next = updated.get(srcIp);
    if (next) updated.set(srcIp, withAlertState(next, input.windowStart, count));
  }
  const decisions = early.concat(late);
  return {
    windowStart: input.windowStart,
    windowEnd,
    complete: input.complete,
    clockAfter,
    decisions,
    alerts,
    updatedBaselines: updated,
    stats: { ...stats, sourcesSeen: decisions.length },
  };
}

/**
 * Whether a source counts among the window's mature sources (those that could fire, which the
 * recommended preset's false-alert budget is spread over): it has a stored baseline not folded
 * in this window, with enough data points (the recommended preset's after the zeros it missed,
 * ESCU's after folding this window in). What evaluateWindow's first pass counts; a caller that
 * streams a window through WindowDecider counts it the same way before deciding any source.
 */
export function isMatureSource(
  stored: Pick<Baseline, 'dataPoints' | 'lastWindow' | 'clockAtLastFold'> | undefined,
  input: Pick<WindowInput, 'windowStart' | 'clock'>,
  config: DetectorConfig,
): boolean {
  if (stored === undefined || stored.lastWindow >= input.windowStart) return false;
  return config.preset === 'splunk-escu'
    ? stored.dataPoints + 1 > config.minDataPoints
    : // withMissedZeros adds one data point per missed complete window.
      stored.dataPoints + Math.max(0, input.clock - stored.clockAtLastFold) >= config.minDataPoints;
}

/** The baseline after an alert on this window's count: its cooldown starts. */
export function withAlertState(next: Baseline, windowStart: number, count: number): Baseline {
  const { lastElevatedWindow: _episodeBefore, ...rest } = next;
  return { ...rest, lastAlertWindow: windowStart, lastAlertCount: count };
}

/** One source's decision and its next baseline (undefined: unchanged). */
export interface SourceResult {
  decision: SourceDecision;
  /**
   * The baseline to store. A spike's alert state (lastAlertWindow, lastAlertCount) is not in it
   * yet: whether the spike alerts (alone or in a mass spike) is known only after every source,
   * from WindowDecider#finish's `alerted`.
   */
  next: Baseline | undefined;
  /** The source had a baseline to be compared with (not new, not already folded). */
  compared: boolean;
}

/** What a window decided, once every source has been through WindowDecider#decide. */
export interface WindowOutcome {
  alerts: Alert[];
  /** The sources whose next baseline takes this window's alert state (withAlertState). */
  alerted: { srcIp: string; count: number }[];
  /** `sourcesSeen` is the number of sources decided. */
  stats: WindowStats;
  clockAfter: number;
  windowEnd: number;
}

/**
 * The decision for one window, one source at a time: the second pass of evaluateWindow, for a
 * caller that cannot hold every source's baselines and decisions at once (the Lambda at a million
 * sources streams them from and to its store). Give it the number of mature sources first
 * (isMatureSource over every source of the window), then each source once, then call finish().
 * It keeps only the spikes (for the alerts and a mass spike), so memory is that of the alerts.
 */
export class WindowDecider {
  private readonly escu: boolean;
  private readonly rhythmOn: boolean;
  private readonly jobsOn: boolean;
  private readonly place: WindowPlace | undefined;
  private readonly windowEnd: number;
  private readonly clockAfter: number;
  private readonly threshold: number | null;
  private readonly alerts: Alert[] = [];
  private readonly spikes: Candidate[] = [];
  private readonly alerting: Candidate[] = [];
  private sourcesSeen = 0;
  private newSources = 0;
  private recurringJobs = 0;
  private suppressedByCooldown = 0;

  constructor(
    private readonly input: WindowMeta,
    private readonly config: DetectorConfig,
    private readonly matureSources: number,
    private readonly options: EvaluateOptions = {},
  ) {
    this.escu = config.preset === 'splunk-escu';
    this.rhythmOn = !this.escu && config.rhythm;
    this.jobsOn = !this.escu && config.jobOccurrencesToLearn > 0;
    this.place = this.rhythmOn || this.jobsOn ? calendarOf(config).place(input.windowStart) : undefined;
    this.windowEnd = input.windowStart + windowMs(config);
    this.clockAfter = input.clock + (input.complete ? 1 : 0);
    // The fleet-wide false-alert budget, spread over the windows of a day and the sources that could fire.
    this.threshold = this.escu
      ? null
      : config.falseAlertBudgetPerDay / (windowsPerDay(config) * Math.max(1, matureSources));
  }

  /** Decides one source with a count above zero, given its stored baseline (undefined: new). */
  decide(srcIp: string, x: number, stored: Baseline | undefined): SourceResult {
    const { input, config, options } = this;
    this.sourcesSeen += 1;
    if (stored === undefined) {
      this.newSources += 1;
      const alerting = !options.learnOnly && config.newSourceMinCount > 0 && x >= config.newSourceMinCount;
      const decision: SourceDecision = {
        srcIp,
        blockedCount: x,
        outcome: alerting ? 'new-source' : 'new-source-quiet',
        compared: null,
        zScore: null,
      };
      let next = newBaseline(x, input.windowStart, this.clockAfter, config);
      if (alerting) {
        this.alerts.push(newSourceAlert(srcIp, x, input, this.windowEnd, config));
        next = {
          ...newBaseline(x, input.windowStart, this.clockAfter, config),
          lastAlertWindow: input.windowStart,
          lastAlertCount: x,
        };
      }
      return { decision, next, compared: false };
    }
    if (stored.lastWindow >= input.windowStart) {
      return {
        decision: { srcIp, blockedCount: x, outcome: 'already-folded', compared: null, zScore: null },
        next: undefined,
        compared: false,
      };
    }
    const c = this.candidate(srcIp, x, stored);
    const { decision, next } = this.decideCandidate(c);
    return { decision, next, compared: true };
  }

  /** The window's alerts and figures, after every source was decided. */
  finish(): WindowOutcome {
    const { input, config, options, spikes, alerting, alerts, threshold, matureSources } = this;
    // massSpikeMinSources is 0 (off) in the splunk-escu bundle; explicit values win in either preset.
    const massSpike =
      !options.learnOnly &&
      config.massSpikeMinSources > 0 &&
      alerting.length > 0 &&
      spikes.length >= config.massSpikeMinSources &&
      (spikes.length >= config.massSpikeFraction * matureSources ||
        (!this.escu && improbableUnderBudget(spikes.length, config)));

    if (massSpike) {
      alerts.push(massSpikeAlert(spikes, new Set(alerting), input, this.windowEnd, threshold, config));
    } else {
      for (const c of alerting) alerts.push(spikeAlert(c, input, this.windowEnd, threshold, config));
    }
    alerts.sort((a, b) => b.blockedCount - a.blockedCount || (a.alertId < b.alertId ? -1 : 1));
    // Members of a mass spike count as alerted too (a rollout must not re-alert per source next
    // hour), but those a cooldown held back keep theirs: reset to this window's count, one noisy
    // window, a member of a lasting step escalated at the next window twice that and raised the
    // mass spike again, nearly every hour (an independent review: 15 hosts stepping x5, 22-30
    // mass spikes in 3 days; 10-13 now). Their cooldowns run on from their own alerts.
    const alerted = alerting.map((c) => ({ srcIp: c.srcIp, count: c.x }));
    return {
      alerts,
      alerted,
      clockAfter: this.clockAfter,
      windowEnd: this.windowEnd,
      stats: {
        sourcesSeen: this.sourcesSeen,
        matureSources,
        spikes: spikes.length,
        suppressedByCooldown: this.suppressedByCooldown,
        newSources: this.newSources,
        recurringJobs: this.recurringJobs,
        threshold,
      },
    };
  }

  /**
   * Whether a window is up: its count has a chance under its model (its hour's, or the flat
   * baseline) below ELEVATED_CHANCE over the windows a cooldown spans, so that noise alone
   * carries a cooldown on about once in ten cooldowns, whatever the window length (a fixed line
   * in standard deviations was crossed by noise in most cooldowns of 10-minute windows). A count
   * under minBlockedCount is compared with the flat baseline when deciding (it cannot be a
   * spike), but a business-hours host's nights are far below its flat mean: here it is held to
   * its hour's model.
   */
  private isElevated(c: Candidate): boolean {
    const { config, place } = this;
    const before = c.before;
    const model =
      c.model ??
      (this.rhythmOn
        ? rhythmModel(
            before.profile,
            before.withinHour,
            before.variance,
            before.dataPoints,
            place!.slot,
            config,
            before.slotSpread,
          )
        : undefined);
    const windowsInCooldown = Math.max(1, config.cooldownMinutes / config.windowMinutes);
    const chance =
      model === undefined
        ? upperTailProbability(c.x, c.mean, c.variance, config.meanFloor)
        : upperTailProbability(c.x, model.mean, model.variance, config.meanFloor);
    return chance < ELEVATED_CHANCE / windowsInCooldown;
  }

  private candidate(srcIp: string, x: number, stored: Baseline): Candidate {
    const { input, config, escu } = this;
    const before = escu ? stored : withMissedZeros(stored, input.clock, config);
    // ESCU compares with the baseline after folding the current point in; recommended with the one before.
    const compared = escu ? updateMoments(before, x, config) : before;
    const mature = escu
      ? compared.dataPoints > config.minDataPoints
      : before.dataPoints >= config.minDataPoints;
    // The hour's expectation, where the source has a rhythm: only where it can decide (a count
    // under minBlockedCount is never a spike).
    const model =
      this.rhythmOn && mature && x >= config.minBlockedCount
        ? rhythmModel(
            before.profile,
            before.withinHour,
            before.variance,
            before.dataPoints,
            this.place!.slot,
            config,
            before.slotSpread,
          )
        : undefined;
    const mean = model?.mean ?? compared.mean;
    const variance = model?.variance ?? compared.variance;
    const sd = spreadOf(mean, variance, config);
    const zScore = sd > 0 ? (x - mean) / sd : x > mean ? Infinity : 0;
    const flatSd = model === undefined ? sd : spreadOf(compared.mean, compared.variance, config);
    return {
      srcIp,
      x,
      before,
      mean,
      sd,
      variance,
      flat: { mean: round(compared.mean), sd: round(flatSd), dataPoints: compared.dataPoints },
      flatMean: compared.mean,
      flatVariance: compared.variance,
      rhythmic: model !== undefined,
      model,
      zScore,
      tailProbability: undefined,
      mature,
      // Only a mature source above its mean can spike: a count at or below the mean is never
      // unusual, whatever a heavy-tailed model says, and skipping the tail keeps replay fast.
      tailDecides: !escu && mature && x > mean,
      job: undefined,
    };
  }

  private decideCandidate(c: Candidate): { decision: SourceDecision; next: Baseline } {
    const { input, config, options, escu, threshold, jobsOn } = this;
    const place = this.place;
    if (c.tailDecides && threshold !== null) {
      c.tailProbability = spikeTail(
        c.x,
        {
          mean: c.mean,
          variance: c.variance,
          dataPoints: c.before.dataPoints,
          tailWidening: tailWidening(c.before.tailScore, c.before.dataPoints, config),
          ...(c.model === undefined ? {} : { samples: c.model.samples, rhythm: c.model }),
        },
        threshold,
        config,
      );
    }
    const beyondThreshold = escu
      ? c.mature && c.x > c.mean + config.deviationThreshold * c.sd
      : // Only where the tail was computed: with a threshold of 1 or more (daily windows, a large
        // budget, a small fleet) "no tail" must not read as "below the threshold".
        c.tailDecides && c.tailProbability !== undefined && c.tailProbability < (threshold ?? 0);
    // minBlockedCount is 0 in the splunk-escu bundle; a user who sets it gets it in either preset.
    let isSpike = beyondThreshold && c.x >= config.minBlockedCount;
    // Recurring jobs. A run is a burst against the source's flat baseline, a spike of the hour's
    // model at jobGrowthFactor times its expectation, or a run of the size of a job seen before
    // at its time (isJobRun). A run at the time of a job seen before is its next occurrence, any
    // other starts a candidate; a learned job decides its own window: quiet, or an alert when the
    // occurrence is clearly larger than usual. A source whose blocked traffic is mostly its job
    // has the job in its flat variance, so its runs are no flat bursts: only the hour's model
    // sees them, where the job is new at that hour (a new or rescheduled job).
    let jobs = jobsOn ? liveJobs(c.before.jobs, input.windowStart) : c.before.jobs;
    // The jobs as they stood before this window: this window's own burst, added below as a
    // candidate, is not a weekly job that lifted the hour (and the spike line, alert-threshold.ts,
    // sees these same jobs).
    const jobsBefore = jobs;
    let quietJob = false;
    let grownJob: RecurringJobContext | undefined;
    const match = jobsOn
      ? matchJob(jobs, input.windowStart, place!.weekPhase, calendarOf(config).windowsPerDay)
      : undefined;
    const jobRun =
      jobsOn &&
      (isBurst(c, threshold, config) ||
        isJobRun(c.x, match, c.mean, c.rhythmic, threshold, config) ||
        (isSpike && c.x >= config.jobGrowthFactor * c.mean));
    if (jobRun) {
      const event = jobEvent(c.x, jobs, match, input.windowStart, place!, threshold, config);
      jobs = event.jobs;
      if (event.learned !== undefined) {
        if (event.grown) {
          isSpike = true;
          grownJob = event.learned;
        } else {
          isSpike = false;
          quietJob = true;
          this.recurringJobs += 1;
        }
      }
    }
    // A daily job the profile has learnt as its hour's level: the same rule, clearly larger than
    // usual alerts, where "usual" counts the job's own variation too (isGrownRun).
    const dailyJob = c.model?.dailyJob;
    if (
      jobsOn &&
      !quietJob &&
      grownJob === undefined &&
      dailyJob !== undefined &&
      c.x >= config.jobGrowthFactor * dailyJob &&
      // A weekly job's occurrences also raise their weekday slot: that hour is the weekly job's.
      !hasWeeklyJobAt(jobsBefore, input.windowStart, dailyJob, config)
    ) {
      // The daily job comes from the hour's model, which a source has only where it can decide
      // (mature, at minBlockedCount or more): a grown daily job is a spike.
      if (isGrownRun(c.x, dailyJobRuns(c.model!), threshold, config)) {
        isSpike = true;
        grownJob = grownDailyJob(place!, dailyJobRuns(c.model!), config);
      }
      // A weekly job whose first run taught the flat baseline so much that its later runs are no
      // bursts (the source's first window) lifts its weekday slot as a daily job would: the run
      // starts a job of its own (or is the next run of one being learnt), so that a weekly job
      // is learnt from its next runs. So does a run within the daily job's own variation.
      if (!jobRun && (match === undefined || match.job.occurrences + 1 < config.jobOccurrencesToLearn))
        jobs = jobEvent(c.x, jobs, match, input.windowStart, place!, threshold, config).jobs;
    }
    // A daily job the profile holds, moved by an hour: a run of its size in the neighbouring hour
    // is the job, and teaches that hour in full so the profile moves the job over; clearly
    // larger, it is the daily job grown (whatever the tail says, as for a daily job in its hour).
    const moved = c.model?.movedDailyJob;
    let movedJob = false;
    if (jobsOn && !quietJob && grownJob === undefined && moved !== undefined) {
      if (c.x >= config.jobGrowthFactor * moved) {
        isSpike = true;
        grownJob = grownDailyJob(place!, { size: moved, samples: 0 }, config);
      } else if (isSpike && c.x * config.jobGrowthFactor > moved) {
        isSpike = false;
        movedJob = true;
        this.recurringJobs += 1;
      }
      // As at a daily job's hour (above): such a run also starts a job of its own, or is the next
      // run of one being learnt. A weekly job in the hour beside a daily job's is such a run every
      // week (the pair of slots stands out); taken for the daily job grown and never learnt, a
      // varying one alerted at most of its larger runs (20 hosts over 12 weeks: 39 alerts, now 21).
      if (
        (grownJob !== undefined || movedJob) &&
        !jobRun &&
        (match === undefined || match.job.occurrences + 1 < config.jobOccurrencesToLearn)
      )
        jobs = jobEvent(c.x, jobs, match, input.windowStart, place!, threshold, config).jobs;
    }
    c.job = grownJob;
    let outcome: Outcome;
    if (quietJob || movedJob) {
      outcome = 'recurring-job';
    } else if (isSpike) {
      this.spikes.push(c);
      if (!options.learnOnly && inCooldown(c.before, c.x, input.windowStart, config)) {
        outcome = 'spike-in-cooldown';
        this.suppressedByCooldown += 1;
      } else {
        outcome = 'spike';
        if (!options.learnOnly) this.alerting.push(c);
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
      compared: c.flat,
      zScore: finiteOrNull(c.zScore),
    };
    // Assigned rather than spread in: this runs for every source of every window.
    if (c.tailProbability !== undefined) decision.tailProbability = c.tailProbability;
    if (c.rhythmic) decision.model = { mean: c.mean, variance: c.variance };
    // The source's own tail (spike-test.ts): a mature window that is neither a spike nor a job's
    // scores against the model it was compared with, so a spike never teaches it.
    // Against the hour's curve, not a slot's own spread (rhythmModel): a slot that varies beyond
    // the curve is decided with its spread, but is still evidence that the source's tail is heavier
    // than the curve says, in its other hours too (a jittered job spills into both neighbours).
    // Not at a daily job's hour: the curve is fitted without it (rhythm.ts foldWithinHour), and its
    // varying runs would widen the tail of every other hour of the source.
    const score =
      threshold !== null &&
      c.mature &&
      !isSpike &&
      !quietJob &&
      !movedJob &&
      c.model?.dailyJob === undefined &&
      c.x > c.mean
        ? exceedanceScore(
            c.x,
            c.model === undefined ? c : { mean: c.mean, variance: c.model.curveVariance },
            { source: c.srcIp, windowStart: input.windowStart },
            threshold,
            config,
          )
        : 0;
    const next = nextBaseline(c, isSpike, quietJob, input, this.clockAfter, config, score);
    // An alert's episode lasts while the source stays up: a window inside the cooldown that is up
    // (isElevated) carries the cooldown on from that window. A lasting change of level (a deploy
    // that triples a host's blocked traffic) then alerts once or twice, where the cooldown alone
    // let it alert again at each cooldown's end until the baseline, which a spike teaches only up
    // to mean + k sd, had caught up (1-5 alerts a host over up to 36 hours). A learnt job's run
    // is the source's own rhythm, not the episode; a larger spike still escalates (inCooldown).
    if (
      !escu &&
      !options.learnOnly &&
      outcome !== 'spike' &&
      !quietJob &&
      !movedJob &&
      c.mature &&
      cooldownRuns(c.before, input.windowStart, config) &&
      // A spike held back is up whatever the line (in a small fleet the spike line is lower).
      (outcome === 'spike-in-cooldown' || this.isElevated(c))
    )
      next.lastElevatedWindow = input.windowStart;
    if (jobs !== c.before.jobs) {
      if (jobs === undefined) delete next.jobs;
      else next.jobs = jobs;
    }
    return { decision, next };
  }
}

/**
 * What a job's occurrence looks like: a count the flat baseline would call a spike (what made a
 * flat detector alert on every run of a job); while a source is warming up, a count far above its
 * young baseline. Noise passes the first only at the false-alert budget's rate, so it does not
 * crowd real jobs out of the few places a source keeps for them.
 */
function isBurst(c: Candidate, threshold: number | null, config: DetectorConfig): boolean {
  // A flat source's tail against its flat baseline is the one decideCandidate has just computed.
  if (c.mature && !c.rhythmic)
    return (
      c.x >= config.minBlockedCount &&
      threshold !== null &&
      c.tailProbability !== undefined &&
      c.tailProbability < threshold
    );
  const flat = { mean: c.flatMean, variance: c.flatVariance, dataPoints: c.before.dataPoints };
  return isFlatBurst(c.x, flat, { mature: c.mature, rhythmic: c.rhythmic }, threshold, config);
}

/**
 * isBurst from a source's flat baseline (the mean and variance after the windows it missed) and
 * whether its hour's model decides: the same test, for the spike line (alert-threshold.ts).
 */
export function isFlatBurst(
  x: number,
  flat: { mean: number; variance: number; dataPoints: number; tailWidening?: number },
  source: { mature: boolean; rhythmic: boolean },
  threshold: number | null,
  config: Pick<
    DetectorConfig,
    'preset' | 'minBlockedCount' | 'deviationThreshold' | 'meanFloor' | 'baselineWindow'
  >,
): boolean {
  if (x < config.minBlockedCount || threshold === null) return false;
  // The decision's flat sd as reported (rounded), at least 1.
  const flatSd = Math.max(round(spreadOf(flat.mean, flat.variance, config)), 1);
  if (!source.mature) return x > flat.mean + WARMING_UP_BURST_SDS * flatSd;
  if (source.rhythmic && x <= flat.mean + config.deviationThreshold * flatSd) return false;
  const tail = spikeTail(x, flat, threshold, config);
  return tail !== undefined && tail < threshold;
}

/** A warming-up source's count this many standard deviations above its young baseline is a burst. */
const WARMING_UP_BURST_SDS = 5;

/**
 * A run at a job's time (or a candidate's: `match`, matchJob) of the job's size (more than the
 * size over `jobGrowthFactor`, less than `jobGrowthFactor` times it; for a daily job, or larger),
 * at `jobGrowthFactor` times what the window is compared with (`usual`: the hour's expectation,
 * or the flat mean) or more, that the flat baseline does not call a burst: the job's occurrence
 * all the same (jobEvent then tells a grown one). A job that is most of its source's blocked
 * traffic is in the flat variance, so its runs are no bursts; a first run that fell while the
 * source was warming up is taken in full by its young baseline, whose flat variance hides the
 * job's later runs from the burst test for months. Without this such jobs were never learnt, and
 * alerted at every run their hour had not learnt (a weekly job, a rescheduled daily one). An hour whose level is the job's (the profile
 * has learnt it) needs no job: its runs are no runs here, and its model decides. A daily job's
 * runs count only where the hour's model decides (`hourModel`): against a young source's flat
 * mean every prominent hour of its day would be a daily job, which the profile is there to learn.
 */
export function isJobRun(
  x: number,
  match: JobMatch | undefined,
  usual: number,
  hourModel: boolean,
  threshold: number | null,
  config: Pick<DetectorConfig, 'minBlockedCount' | 'jobGrowthFactor' | 'meanFloor'>,
): boolean {
  if (match === undefined || x < config.minBlockedCount) return false;
  if (match.period === 'daily' && !hourModel) return false;
  const factor = config.jobGrowthFactor;
  if (!(x * factor > match.job.size && x > factor * usual)) return false;
  // A weekly job's run of its size only: a larger count at a weekday's hour is its tail's to judge
  // (a business host back from a week off looks like a weekly job on its first Mondays).
  return match.period === 'daily' || !isGrownRun(x, jobRuns(match.job), threshold, config);
}

/**
 * A run of `x` at `windowStart` (a burst, an hour's spike or a job's run, isJobRun), `match` the job at
 * that time (matchJob): the next occurrence of the job (its size and count updated), or the
 * first of a possible new one (a candidate). `learned` is set when the job is learned as of this
 * occurrence (the `jobOccurrencesToLearn`-th or later): the window is then the job's, quiet
 * unless `grown` (isGrownRun: at least `jobGrowthFactor` x the job's usual size and beyond its
 * runs' own spread), which alerts and counts as a run of `jobGrowthFactor` x its size
 * (recordGrownOccurrence).
 */
function jobEvent(
  x: number,
  jobs: RecurringJob[] | undefined,
  match: JobMatch | undefined,
  windowStart: number,
  place: WindowPlace,
  threshold: number | null,
  config: DetectorConfig,
): { jobs: RecurringJob[] | undefined; learned?: RecurringJobContext; grown?: boolean } {
  if (match === undefined) return { jobs: addCandidate(jobs, x, windowStart, place.weekPhase) };
  const { job } = match;
  const factor = config.jobGrowthFactor;
  const runs = jobRuns(job);
  if (job.occurrences + 1 >= config.jobOccurrencesToLearn) {
    // This window is at the job's time: its local start, as the zone has it (02:30 in Kolkata).
    const learned = jobContext(match, match.period === 'weekly' ? place.label : place.label.slice(4), config);
    if (isGrownRun(x, runs, threshold, config))
      return { jobs: recordGrownOccurrence(jobs!, match, windowStart, factor), learned, grown: true };
    return { jobs: recordOccurrence(jobs!, match, x, windowStart), learned, grown: false };
  }
  // A job seen once takes a run within jobGrowthFactor^2 of its size as its next: one run says
  // little of a job whose runs vary (two runs of a job varying like a gamma of shape 3 are more
  // than 2x apart two times in five), and the time of week already says much. From its second
  // run on, its own spread decides what a run of its size is (isGrownRun).
  const inRuns =
    job.occurrences === 1
      ? x * factor * factor > job.size && x < factor * factor * job.size
      : x * factor > job.size && !isGrownRun(x, runs, threshold, config);
  if (inRuns) {
    return { jobs: recordOccurrence(jobs!, match, x, windowStart) };
  }
  // Not the job's size: a one-off candidate starts over with this burst; an established job
  // is kept and this burst becomes a candidate of its own.
  if (job.occurrences > 1) return { jobs: addCandidate(jobs, x, windowStart, place.weekPhase) };
  const restarted = [...jobs!];
  restarted[match.index] = { phase: place.weekPhase, size: Math.round(x), occurrences: 1, last: windowStart };
  return { jobs: restarted };
}

/**
 * A weekly job at this window's time of day, on any day, whose occurrences are well above the
 * hour's usual level: it lifts its weekday slot by a fifth of its size. A job seen once counts at
 * its own window of the week only (where it may be a weekly job's first run): one that a grown
 * daily job's run started must not keep that daily job from alerting on the other days.
 */
export function hasWeeklyJobAt(
  jobs: RecurringJob[] | undefined,
  windowStart: number,
  hourLevel: number,
  config: DetectorConfig,
): boolean {
  if (jobs === undefined) return false;
  const calendar = calendarOf(config);
  const weekPhase = calendar.place(windowStart).weekPhase;
  const dayPhase = weekPhase % calendar.windowsPerDay;
  return jobs.some(
    (job) =>
      (job.period === 'weekly'
        ? job.phase % calendar.windowsPerDay === dayPhase
        : job.period === undefined && job.phase === weekPhase) &&
      job.size > config.jobGrowthFactor * hourLevel,
  );
}

/** What an alert says of a daily job the profile holds, grown: its hour (this window's), usual size and spread. */
function grownDailyJob(place: WindowPlace, runs: JobRuns, config: DetectorConfig): RecurringJobContext {
  return {
    period: 'daily',
    at: place.label.slice(4),
    timezone: config.timezone,
    usualSize: round(runs.size),
    ...usualSpreadOf(runs),
    occurrences: 0,
  };
}

function jobContext(match: JobMatch, at: string, config: DetectorConfig): RecurringJobContext {
  return {
    period: match.period,
    at,
    timezone: config.timezone,
    usualSize: round(match.job.size),
    ...usualSpreadOf(jobRuns(match.job)),
    occurrences: match.job.occurrences,
  };
}

/** `{ usualSpread }` where the job keeps a spread it is judged by (isGrownRun), else nothing. */
function usualSpreadOf(runs: JobRuns): { usualSpread?: number } {
  return runs.spread === undefined || runs.samples < MIN_SPREAD_RUNS
    ? {}
    : { usualSpread: Math.round(Math.sqrt(runs.spread)) };
}

/** Whether a spike of `x` is held back: its source's cooldown runs and `x` does not escalate. */
function inCooldown(baseline: Baseline, x: number, windowStart: number, config: DetectorConfig): boolean {
  return (
    cooldownRuns(baseline, windowStart, config) &&
    x < config.escalationFactor * (baseline.lastAlertCount ?? 0)
  );
}

/**
 * Whether the source's cooldown runs at `windowStart`: `cooldownMinutes` from its last alert, or
 * from the last window since then that stayed elevated (lastElevatedWindow), whichever is later.
 */
export function cooldownRuns(
  baseline: Pick<Baseline, 'lastAlertWindow' | 'lastElevatedWindow'>,
  windowStart: number,
  config: Pick<DetectorConfig, 'cooldownMinutes'>,
): boolean {
  if (config.cooldownMinutes <= 0 || baseline.lastAlertWindow === undefined) return false;
  const from = Math.max(baseline.lastAlertWindow, baseline.lastElevatedWindow ?? -Infinity);
  return windowStart - from < config.cooldownMinutes * 60_000;
}

/**
 * A cooldown's chance of being carried on by noise alone (isElevated). Measured on a held-out
 * review's fleets (300 hosts, 9 seeds; docs/design.md "Cooldowns"): with 10% of hosts tripling
 * their level for good, 1.91 false alerts a day fleet-wide before, 1.37 at 0.1 (1.28 at 0.2;
 * a line at 1.5 sd gave 1.17 with hourly windows, but noise crossed it in most cooldowns of
 * 10-minute windows and held back 72 of 100 second bursts 5 hours after an alert, against 2 now);
 * recall and every other variant unchanged.
 */
const ELEVATED_CHANCE = 0.1;

/**
 * What a learned job's hour sees without the job: the mean of the neighbouring hours' slots (the
 * job's own slot holds its first occurrences), or the flat mean before a profile exists.
 */
function usualAround(before: Baseline, windowStart: number, config: DetectorConfig): number {
  if (!config.rhythm || before.profile === undefined) return before.mean;
  const values = decodeProfile(before.profile, neighbourValues);
  const slot = calendarOf(config).place(windowStart).slot;
  const base = slot - (slot % 24);
  const earlier = values[base + ((slot + 23) % 24)] as number;
  const later = values[base + ((slot + 1) % 24)] as number;
  const known = [earlier, later].filter((v) => !Number.isNaN(v));
  return known.length === 0 ? before.mean : known.reduce((a, b) => a + b, 0) / known.length;
}
const neighbourValues = new Float64Array(PROFILE_SLOTS);

function nextBaseline(
  c: Candidate,
  isSpike: boolean,
  quietJob: boolean,
  input: WindowMeta,
  clockAfter: number,
  config: DetectorConfig,
  score: number,
): Baseline {
  // Recommended: a spike teaches the baseline at most mean + k sd (of the hour's model), so an
  // attack cannot make itself normal; a recurring job's occurrence teaches it the hour's usual
  // count, so the job neither becomes the hour's level nor inflates the variance.
  const fed =
    config.preset === 'splunk-escu'
      ? c.x
      : quietJob
        ? Math.min(c.x, usualAround(c.before, input.windowStart, config))
        : isSpike
          ? Math.min(c.x, c.mean + config.deviationThreshold * c.sd)
          : c.x;
  return foldedBaseline(c.before, fed, input.windowStart, clockAfter, config, score, quietJob);
}

function severityOf(c: Candidate, threshold: number | null, config: DetectorConfig): Severity {
  if (config.preset === 'splunk-escu') return c.zScore >= 2 * config.deviationThreshold ? 'high' : 'medium';
  return (c.tailProbability ?? 1) < (threshold ?? 0) * config.highSeverityThresholdRatio ? 'high' : 'medium';
}

function common(input: WindowMeta, windowEnd: number, config: DetectorConfig) {
  return {
    preset: config.preset,
    windowStart: isoTime(input.windowStart),
    windowEnd: isoTime(windowEnd),
    ...(input.complete ? {} : { incompleteWindow: true }),
  };
}

function spikeAlert(
  c: Candidate,
  input: WindowMeta,
  windowEnd: number,
  threshold: number | null,
  config: DetectorConfig,
): Alert {
  return {
    alertId: alertIdFor(input.windowStart, c.srcIp),
    kind: 'spike',
    severity: severityOf(c, threshold, config),
    ...common(input, windowEnd, config),
    ...sourceIdentity(c.srcIp, config),
    blockedCount: c.x,
    uniqueDestinations: input.uniqueDestinations?.get(c.srcIp) ?? null,
    baseline: c.flat,
    zScore: finiteOrNull(c.zScore),
    ...(c.tailProbability === undefined ? {} : { tailProbability: c.tailProbability }),
    ...(threshold === null ? {} : { threshold }),
    ...(c.rhythmic
      ? {
          expected: {
            at: calendarOf(config).place(input.windowStart).label,
            timezone: config.timezone,
            usual: round(c.mean),
          },
        }
      : {}),
    ...(c.job === undefined ? {} : { recurringJob: c.job }),
  };
}

function newSourceAlert(
  srcIp: string,
  x: number,
  input: WindowMeta,
  windowEnd: number,
  config: DetectorConfig,
): Alert {
  return {
    alertId: alertIdFor(input.windowStart, srcIp),
    kind: 'new-source',
    severity: 'low',
    ...common(input, windowEnd, config),
    ...sourceIdentity(srcIp, config),
    blockedCount: x,
    uniqueDestinations: input.uniqueDestinations?.get(srcIp) ?? null,
    baseline: null,
    zScore: null,
  };
}

/**
 * Below this chance under the budget, that many spikes in one window share a cause.
 * At the default budget (one a day, hourly windows) five spikes in a window have a chance of
 * about 1e-9; a budget of 10 a day needs seven.
 */
const MASS_SPIKE_IMPROBABLE = 1e-6;

/**
 * Whether `spikes` spikes in one window are too many for noise: the calibrated test lets through
 * about falseAlertBudgetPerDay false spikes a day fleet-wide, so a window's false spikes number
 * about Poisson(budget x window / day). A rollout to one team's hosts (a tenth of a large fleet)
 * is a shared cause long before it reaches massSpikeFraction of the fleet.
 */
function improbableUnderBudget(spikes: number, config: DetectorConfig): boolean {
  const expected = config.falseAlertBudgetPerDay / windowsPerDay(config);
  return upperTailProbability(spikes, expected, expected, expected) < MASS_SPIKE_IMPROBABLE;
}

function massSpikeAlert(
  spikes: Candidate[],
  alerting: ReadonlySet<Candidate>,
  input: WindowMeta,
  windowEnd: number,
  threshold: number | null,
  config: DetectorConfig,
): Alert {
  const members = [...spikes].sort((a, b) => b.x - a.x || (a.srcIp < b.srcIp ? -1 : 1));
  const identities = members.map((m) => sourceIdentity(m.srcIp, config));
  return {
    alertId: alertIdFor(input.windowStart, 'mass-spike'),
    kind: 'mass-spike',
    severity: 'medium',
    ...common(input, windowEnd, config),
    srcIps: identities.map((m) => m.srcIp),
    blockedCount: members.reduce((sum, m) => sum + m.x, 0),
    uniqueDestinations: null,
    baseline: null,
    zScore: null,
    ...(threshold === null ? {} : { threshold }),
    members: members.map((m, i) => ({
      ...identities[i]!,
      blockedCount: m.x,
      zScore: finiteOrNull(m.zScore),
      ...(m.tailProbability === undefined ? {} : { tailProbability: m.tailProbability }),
      ...(alerting.has(m) || m.before.lastAlertWindow === undefined
        ? {}
        : { lastAlertedAt: isoTime(m.before.lastAlertWindow) }),
    })),
  };
}
