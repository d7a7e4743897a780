/**
 * A realistic fleet is not flat: business-hours hosts, nightly and weekly jobs that are blocked
 * every time they run, and steady noisy sources. This simulation measures, on such a fleet and on
 * the same seed, the false alerts a day and the recall of each rule:
 *
 * - `recommended`: the preset as it ships (rhythm-aware baselines, recurring jobs learned);
 * - `recommended-flat`: the same preset with `rhythm: false, jobOccurrencesToLearn: 0`, which is
 *   exactly the detector before rhythm-aware baselines (one flat mean and variance per source);
 * - `splunk-escu`: the fixed "mean' + 3 sd'" rule.
 *
 * Counts per hour (UTC; the fleet starts on a Monday):
 * - business: weekday 08:00-18:00 at 4x the source's base level b, other hours and weekends at
 *   0.4 b; b log-uniform over [2, 40]; negative binomial with shape 5 around the hour's mean;
 * - nightly: a flat background (rate log-uniform over [0.5, 20], shape 3) plus a job at a fixed
 *   hour 00:00-05:00 every day (half of them Monday to Friday only) of 80-200 records (shape 20);
 * - weekly: the same background plus a job at a fixed hour of one weekday, 80-200 records;
 * - steady: flat, rate log-uniform over [0.5, 500], shape 3 (the flat calibration fleet);
 * - business+nightly: a business-hours host that also runs a nightly job.
 *
 * Anomalies, injected in the detected days only, each an alert that should happen:
 * - off-hours bursts on business-hours hosts: at night (20:00-06:00) or at a weekend, a count of
 *   1.5-3x the host's daytime level (so 10-30x what is usual at that hour);
 * - spikes on steady sources, 3-10x the rate (the flat fleet's spikes);
 * - job growth: an occurrence of a job at 2.5-4x its usual size.
 * Every other alert is false. Cooldown and mass-spike grouping are off, as in the flat
 * calibration, so that neither hides an alert.
 */
import {
  bootstrapBaselines,
  evaluateWindow,
  negativeBinomial,
  resolveDetectorConfig,
  seededRandom,
  type Baseline,
  type DetectorConfig,
  type DetectorConfigInput,
  type HistoryWindow,
} from '../lambda/core';

export const RHYTHM_RULES = ['recommended', 'recommended-flat', 'splunk-escu'] as const;
export type RhythmRuleName = (typeof RHYTHM_RULES)[number];

export const ANOMALY_KINDS = ['off-hours', 'steady', 'job-growth'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

type SourceKind = 'business' | 'nightly' | 'weekly' | 'steady' | 'business+nightly';

interface Source {
  ip: string;
  kind: SourceKind;
  /** business: base level b; others: background rate. */
  level: number;
  shape: number;
  job?: { hour: number; weekday?: number; weekdaysOnly: boolean; size: number };
}

export interface RhythmicFleetOptions {
  sources?: number;
  seed?: number;
  bootstrapDays?: number;
  detectDays?: number;
  /**
   * Shape of the negative binomial a job's runs are drawn from around its size: 20 (the default)
   * varies them by some 22%, 3 by some 58% (a backup whose size follows the data changed that day).
   */
  jobShape?: number;
  /** Anomalies of each kind per 100 sources over the detected days. @default off-hours 12, steady 6, job growth 4 */
  anomaliesPer100?: Partial<Record<AnomalyKind, number>>;
}

export interface RhythmRuleOutcome {
  falseAlerts: number;
  falseAlertsPerDay: number;
  /** Detected / injected, per kind of anomaly. */
  recall: Record<AnomalyKind, number>;
  /** False alerts by the kind of source they fell on. */
  falseBySource: Record<SourceKind, number>;
}

export interface RhythmicFleetResult {
  sources: number;
  bootstrapDays: number;
  detectDays: number;
  injected: Record<AnomalyKind, number>;
  rules: Record<RhythmRuleName, RhythmRuleOutcome>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A Monday. */
export const RHYTHMIC_FLEET_START = Date.UTC(2026, 0, 5);
const JOB_SHAPE = 20;

export function rhythmRuleConfig(rule: RhythmRuleName, extra: DetectorConfigInput = {}): DetectorConfig {
  const off = { cooldownMinutes: 0, massSpikeMinSources: 0 };
  if (rule === 'splunk-escu') return resolveDetectorConfig({ preset: 'splunk-escu', ...off, ...extra });
  if (rule === 'recommended-flat')
    return resolveDetectorConfig({ ...off, rhythm: false, jobOccurrencesToLearn: 0, ...extra });
  return resolveDetectorConfig({ ...off, ...extra });
}

const isWeekend = (t: number): boolean => {
  const day = new Date(t).getUTCDay();
  return day === 0 || day === 6;
};
const hourOf = (t: number): number => new Date(t).getUTCHours();
const isDaytime = (t: number): boolean => !isWeekend(t) && hourOf(t) >= 8 && hourOf(t) < 18;

/** The hour's mean of a source without anomalies, and the job's size when its job runs then. */
function hourlyMean(source: Source, t: number): { mean: number; job: number } {
  let mean = source.level;
  if (source.kind === 'business' || source.kind === 'business+nightly')
    mean = isDaytime(t) ? 4 * source.level : 0.4 * source.level;
  const job = source.job;
  if (job === undefined || hourOf(t) !== job.hour) return { mean, job: 0 };
  const day = new Date(t).getUTCDay();
  if (job.weekday !== undefined && day !== job.weekday) return { mean, job: 0 };
  if (job.weekdaysOnly && isWeekend(t)) return { mean, job: 0 };
  return { mean, job: job.size };
}

export function buildRhythmicFleet(sources: number, seed: number): Source[] {
  const random = seededRandom(seed);
  const logUniform = (lo: number, hi: number): number => lo * Math.pow(hi / lo, random());
  const kinds: Array<[SourceKind, number]> = [
    ['business', 0.3],
    ['nightly', 0.15],
    ['weekly', 0.15],
    ['steady', 0.3],
    ['business+nightly', 0.1],
  ];
  const fleet: Source[] = [];
  for (const [kind, share] of kinds) {
    const n = Math.round(sources * share);
    for (let i = 0; i < n && fleet.length < sources; i += 1) {
      const index = fleet.length;
      const ip = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
      const jobSize = 80 + 120 * random();
      const source: Source =
        kind === 'business'
          ? { ip, kind, level: logUniform(2, 40), shape: 5 }
          : kind === 'steady'
            ? { ip, kind, level: logUniform(0.5, 500), shape: 3 }
            : kind === 'business+nightly'
              ? {
                  ip,
                  kind,
                  level: logUniform(2, 40),
                  shape: 5,
                  job: { hour: Math.floor(6 * random()), weekdaysOnly: random() < 0.5, size: jobSize },
                }
              : kind === 'nightly'
                ? {
                    ip,
                    kind,
                    level: logUniform(0.5, 20),
                    shape: 3,
                    job: { hour: Math.floor(6 * random()), weekdaysOnly: random() < 0.5, size: jobSize },
                  }
                : {
                    ip,
                    kind,
                    level: logUniform(0.5, 20),
                    shape: 3,
                    job: {
                      hour: Math.floor(24 * random()),
                      weekday: Math.floor(7 * random()),
                      weekdaysOnly: false,
                      size: jobSize,
                    },
                  };
      fleet.push(source);
    }
  }
  return fleet;
}

interface Anomaly {
  kind: AnomalyKind;
  /** The window's total count is this (off-hours, job growth) or the rate times it (steady). */
  count?: number;
  factor?: number;
}

export function simulateRhythmicFleet(options: RhythmicFleetOptions = {}): RhythmicFleetResult {
  const {
    sources = 300,
    seed = 20261204,
    bootstrapDays = 14,
    detectDays = 14,
    jobShape = JOB_SHAPE,
  } = options;
  const per100 = { 'off-hours': 12, steady: 6, 'job-growth': 4, ...options.anomaliesPer100 };
  const fleet = buildRhythmicFleet(sources, seed);
  const random = seededRandom(seed + 1);
  const detectStart = RHYTHMIC_FLEET_START + bootstrapDays * DAY;
  const detectWindows = detectDays * 24;

  // Anomalies: window index (in the detected days) -> source index -> anomaly.
  const anomalies = new Map<number, Map<number, Anomaly>>();
  const injected: Record<AnomalyKind, number> = { 'off-hours': 0, steady: 0, 'job-growth': 0 };
  const place = (w: number, s: number, anomaly: Anomaly): boolean => {
    const inWindow = anomalies.get(w) ?? new Map<number, Anomaly>();
    if (inWindow.has(s)) return false;
    inWindow.set(s, anomaly);
    anomalies.set(w, inWindow);
    injected[anomaly.kind] += 1;
    return true;
  };
  const ofKind = (...kinds: SourceKind[]): number[] =>
    fleet.flatMap((source, i) => (kinds.includes(source.kind) ? [i] : []));
  const business = ofKind('business', 'business+nightly');
  const steady = ofKind('steady');
  const withJobs = ofKind('nightly', 'weekly', 'business+nightly');
  const target = (kind: AnomalyKind): number => Math.round((sources * per100[kind]) / 100);
  for (let tries = 0; injected['off-hours'] < target('off-hours') && tries < 100_000; tries += 1) {
    const s = business[Math.floor(random() * business.length)]!;
    const w = Math.floor(random() * detectWindows);
    const t = detectStart + w * HOUR;
    const { job } = hourlyMean(fleet[s]!, t);
    if (isDaytime(t) || job > 0 || (!isWeekend(t) && hourOf(t) >= 6 && hourOf(t) < 20)) continue;
    place(w, s, { kind: 'off-hours', count: Math.round((1.5 + 1.5 * random()) * 4 * fleet[s]!.level) });
  }
  for (let tries = 0; injected.steady < target('steady') && tries < 100_000; tries += 1) {
    const s = steady[Math.floor(random() * steady.length)]!;
    place(Math.floor(random() * detectWindows), s, { kind: 'steady', factor: 3 + 7 * random() });
  }
  for (let tries = 0; injected['job-growth'] < target('job-growth') && tries < 100_000; tries += 1) {
    const s = withJobs[Math.floor(random() * withJobs.length)]!;
    const w = Math.floor(random() * detectWindows);
    const { mean, job } = hourlyMean(fleet[s]!, detectStart + w * HOUR);
    if (job === 0) continue;
    place(w, s, { kind: 'job-growth', count: Math.round(mean + (2.5 + 1.5 * random()) * job) });
  }

  const countsAt = (
    t: number,
    draw: () => number,
    inWindow?: ReadonlyMap<number, Anomaly>,
  ): Map<string, number> => {
    const counts = new Map<string, number>();
    fleet.forEach((source, s) => {
      const { mean, job } = hourlyMean(source, t);
      const anomaly = inWindow?.get(s);
      let x: number;
      if (anomaly?.count !== undefined) x = anomaly.count;
      else {
        const m = mean * (anomaly?.factor ?? 1);
        x = negativeBinomial(draw, m, m + (m * m) / source.shape);
        if (job > 0) x += negativeBinomial(draw, job, job + (job * job) / jobShape);
      }
      if (x > 0) counts.set(source.ip, x);
    });
    return counts;
  };

  const historyWindows = bootstrapDays * 24;
  const history: HistoryWindow[] = [];
  const historyRandom = seededRandom(seed + 2);
  for (let w = 0; w < historyWindows; w += 1) {
    const t = RHYTHMIC_FLEET_START + w * HOUR;
    history.push({ windowStart: t, complete: true, counts: countsAt(t, historyRandom) });
  }
  const detectRandom = seededRandom(seed + 3);
  const detectCounts = Array.from({ length: detectWindows }, (_, w) =>
    countsAt(detectStart + w * HOUR, detectRandom, anomalies.get(w)),
  );

  const kindByIp = new Map(fleet.map((source) => [source.ip, source.kind]));
  const indexByIp = new Map(fleet.map((source, i) => [source.ip, i]));
  const rules = {} as Record<RhythmRuleName, RhythmRuleOutcome>;
  for (const rule of RHYTHM_RULES) {
    const config = rhythmRuleConfig(rule);
    const learned = bootstrapBaselines(history, config);
    const baselines = new Map<string, Baseline>(learned.baselines);
    let clock = learned.clock;
    const hits: Record<AnomalyKind, number> = { 'off-hours': 0, steady: 0, 'job-growth': 0 };
    const falseBySource: Record<SourceKind, number> = {
      business: 0,
      nightly: 0,
      weekly: 0,
      steady: 0,
      'business+nightly': 0,
    };
    let falseAlerts = 0;
    for (let w = 0; w < detectWindows; w += 1) {
      const result = evaluateWindow(
        { windowStart: detectStart + w * HOUR, counts: detectCounts[w]!, complete: true, baselines, clock },
        config,
      );
      for (const [ip, baseline] of result.updatedBaselines) baselines.set(ip, baseline);
      clock = result.clockAfter;
      for (const alert of result.alerts) {
        for (const ip of alert.srcIps ?? (alert.srcIp === undefined ? [] : [alert.srcIp])) {
          const anomaly = anomalies.get(w)?.get(indexByIp.get(ip) ?? -1);
          if (anomaly !== undefined) hits[anomaly.kind] += 1;
          else {
            falseAlerts += 1;
            falseBySource[kindByIp.get(ip) ?? 'steady'] += 1;
          }
        }
      }
    }
    const recall = {} as Record<AnomalyKind, number>;
    for (const kind of ANOMALY_KINDS) recall[kind] = injected[kind] === 0 ? 1 : hits[kind] / injected[kind];
    rules[rule] = { falseAlerts, falseAlertsPerDay: falseAlerts / detectDays, recall, falseBySource };
  }
  return { sources, bootstrapDays, detectDays, injected, rules };
}

const pad = (text: string | number, width: number): string => String(text).padStart(width);

export function formatRhythmicTable(result: RhythmicFleetResult): string {
  const header = `${pad('rule', 18)} ${pad('FA/day', 7)} | recall: ${ANOMALY_KINDS.map((k) => pad(k, 10)).join(' ')} | false alerts by source kind`;
  const rows = RHYTHM_RULES.map((rule) => {
    const o = result.rules[rule];
    const bySource = Object.entries(o.falseBySource)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    return `${pad(rule, 18)} ${pad(o.falseAlertsPerDay.toFixed(2), 7)} |         ${ANOMALY_KINDS.map((k) => pad(o.recall[k].toFixed(2), 10)).join(' ')} | ${bySource || '-'}`;
  });
  const injected = ANOMALY_KINDS.map((k) => `${k} ${result.injected[k]}`).join(', ');
  return [
    `rhythmic fleet: ${result.sources} sources, ${result.bootstrapDays} days bootstrap, ${result.detectDays} detected; injected ${injected}`,
    header,
    ...rows,
  ].join('\n');
}

if (require.main === module) {
  const started = performance.now();
  const result = simulateRhythmicFleet({
    seed: Number(process.argv[2] ?? 20261204),
    ...(process.argv[3] === undefined ? {} : { jobShape: Number(process.argv[3]) }),
  });
  console.log(formatRhythmicTable(result));
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
}
