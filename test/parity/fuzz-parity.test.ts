/**
 * Randomized replay-vs-Lambda parity: test/parity/fuzz-generator.ts draws a case from a seed,
 * test/parity/parity.ts runs it on both sides, and both sides' decided alerts (and, where the case
 * asks, stored baselines) must be equal; with `resumeAt`, the replay in two runs must decide what
 * one run decides, both with the store shared (the harness's `resumed`) and through the state
 * file's JSON (as `--state` saves and loads it).
 *
 * By default a fixed handful of seeds (SEEDS, chosen for their spread of features; about 20 s).
 * A longer run, and its knobs:
 *
 *   FUZZ_FROM=1 FUZZ_COUNT=2000 FUZZ_MINUTES=60 FUZZ_OUT=fuzz-out nice npx jest test/parity/fuzz-parity.test.ts -w 1
 *   FUZZ_FORMATS=1         also custom formats (v3 fields, no account-id, no end, no log-status)
 *   FUZZ_CATCH_UP=1        the Lambda misses scheduled runs (30/60/90% of them): catch-up runs
 *   FUZZ_ROW_LIMITS=4,8,16 the Lambda's Logs Insights row limit, one per case: every query splits
 *                          (a source over the limit gets sampled details, as documented: a case
 *                          whose only difference is in details is marked `detailsOnly`)
 *   FUZZ_CASE=fuzz-out/case-17.json   re-run one saved case (e.g. after shrinking it by hand)
 *
 * With FUZZ_OUT, every case's outcome goes to <FUZZ_OUT>/results.ndjson, and a disagreeing case
 * is saved whole as <FUZZ_OUT>/case-<seed>.json with both sides' alerts.
 *
 * Disagreements the random runs found, each mended with a test of its own:
 * test/parity/resume-skipdata-parity.test.ts, test/parity/ipv6-forms-scan-parity.test.ts.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { alignToWindow, resolveDetectorConfig, seededRandom } from '../../lambda/core';
import { MemoryBaselineStore } from '../../lambda/replay/memory-store';
import { runReplay } from '../../lambda/replay/replay';
import { startEndpoints, type Endpoints } from '../e2e/harness';
import { drawScenario } from './fuzz-generator';
import {
  byKey,
  decided,
  runParityCase,
  type DecidedAlert,
  type ParityCase,
  type ParityResult,
} from './parity';

const OUT = process.env.FUZZ_OUT;
/** The default seeds: every preset, window lengths 15 to 1440 minutes, fresh, bootstrap, resumed and dry runs, several accounts and log groups, IPv6 forms, SKIPDATA, exports, a two-week case. */
const SEEDS = [
  100056, 100114, 100201, 100187, 100133, 100095, 100121, 100230, 100106, 100074, 100223, 100019, 100053,
  100063,
];

/**
 * FUZZ_ROW_LIMITS=4,8,16: the Lambda's Logs Insights row limit (flowSourceOptions.rowLimit), one
 * of these per case, so its count, history and details queries split (by address halves, by
 * account, by source list; a single source over the limit is a sampled scan).
 */
const ROW_LIMITS = (process.env.FUZZ_ROW_LIMITS ?? '')
  .split(',')
  .filter((x) => x !== '')
  .map(Number);
jest.mock('../e2e/harness', () => {
  const actual = jest.requireActual('../e2e/harness');
  return {
    ...actual,
    newDetector: async (e: unknown, o: { runtime?: Record<string, unknown> } = {}) => {
      const rowLimit = (globalThis as { fuzzRowLimit?: number }).fuzzRowLimit;
      const detector = await actual.newDetector(
        e,
        rowLimit === undefined
          ? o
          : {
              ...o,
              runtime: {
                ...o.runtime,
                flowSourceOptions: { pollIntervalMs: 1, maxPollIntervalMs: 1, retryBaseDelayMs: 1, rowLimit },
              },
            },
      );
      const catchUp = (globalThis as { fuzzCatchUp?: CatchUp }).fuzzCatchUp;
      if (catchUp === undefined) return detector;
      // Missed runs: some scheduled invocations do not happen; the next one catches up the
      // windows in between (one run, several windows). Never the first scheduled run (a detector
      // without a watermark evaluates only the latest window, by design) nor the last window's.
      const invoke = detector.invoke.bind(detector);
      let scheduled = 0;
      let skippedInRow = 0;
      const length = catchUp.windowMinutes * 60_000;
      detector.invoke = async (event: unknown, options?: unknown) => {
        if (event === null || typeof event !== 'object' || Object.keys(event).length > 0)
          return invoke(event, options);
        scheduled += 1;
        const window = detector.clock.now() - length - (actual.E2E_LAG_MINUTES + 2) * 60_000;
        const w = window - (window % length);
        const iso = new Date(w).toISOString().replace('.000Z', 'Z');
        if (scheduled > 1 && w < catchUp.last && skippedInRow < 20 && catchUp.random() < catchUp.skip) {
          skippedInRow += 1;
          catchUp.skipped += 1;
          return { windows: [iso] };
        }
        skippedInRow = 0;
        const summary = await invoke(event, options);
        if (summary.windows.at(-1) !== iso)
          throw new Error(`catch-up run ended at ${String(summary.windows.at(-1))}, not ${iso}`);
        if (summary.windows.length > 1) catchUp.multi += 1;
        return { ...summary, windows: [iso] };
      };
      return detector;
    },
  };
});

interface CatchUp {
  last: number;
  windowMinutes: number;
  skip: number;
  random: () => number;
  skipped: number;
  multi: number;
}

/** Decisions only: what a sampled details scan (documented as approximate) cannot change. */
const decisionsOf = (alerts: DecidedAlert[]) =>
  alerts.map((a) => ({ ...a, content: { ...a.content, details: undefined, uniqueDestinations: undefined } }));
let endpoints: Endpoints;

beforeAll(async () => {
  endpoints = await startEndpoints();
  if (OUT !== undefined) await fs.mkdir(OUT, { recursive: true });
});

afterAll(async () => {
  await endpoints.stop();
});

function firstDifference(a: DecidedAlert[], b: DecidedAlert[]): unknown {
  const ka = byKey(a);
  const kb = byKey(b);
  const onlyA = ka.filter((k) => !kb.includes(k));
  const onlyB = kb.filter((k) => !ka.includes(k));
  if (onlyA.length > 0 || onlyB.length > 0) return { onlyReplayOrFirst: onlyA, onlyLambdaOrSecond: onlyB };
  for (let i = 0; i < a.length; i += 1) {
    if (!isDeepStrictEqual(a[i], b[i])) return { first: a[i], second: b[i] };
  }
  return 'order';
}

export function compare(result: ParityResult): Record<string, unknown> | undefined {
  const problems: Record<string, unknown> = {};
  if (!isDeepStrictEqual(result.replay, result.lambda)) {
    problems.alerts = firstDifference(result.replay, result.lambda);
    if (isDeepStrictEqual(decisionsOf(result.replay), decisionsOf(result.lambda)))
      problems.detailsOnly = true;
  }
  if (result.resumed !== undefined && !isDeepStrictEqual(result.resumed, result.replay))
    problems.resumed = firstDifference(result.resumed, result.replay);
  if (result.stored !== undefined) {
    const keys = new Set([...result.stored.replay.keys(), ...result.stored.lambda.keys()]);
    for (const key of keys) {
      const a = JSON.parse(JSON.stringify(result.stored.replay.get(key) ?? null));
      const b = JSON.parse(JSON.stringify(result.stored.lambda.get(key) ?? null));
      if (!isDeepStrictEqual(a, b)) {
        const stored = (problems.stored ??= {}) as Record<string, unknown>;
        stored[key] = { replay: a, lambda: b };
      }
    }
  }
  return Object.keys(problems).length === 0 ? undefined : problems;
}

/**
 * The replay in two runs as `--state` runs it: the first part's store saved as the state file's
 * JSON and loaded again for the second part (the harness's `resumed` shares the store object).
 */
async function resumedViaStateFile(parity: ParityCase): Promise<DecidedAlert[]> {
  const config = resolveDetectorConfig(parity.config ?? {});
  const fields = (
    config.flowLogFormat ??
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
  ).split(' ');
  const startField = fields.indexOf('start');
  const startOf = (line: string) => Number(line.split(' ')[startField]);
  const alerts: DecidedAlert[] = [];
  let store = new MemoryBaselineStore();
  for (const before of [true, false]) {
    const dir = await fs.mkdtemp(join(tmpdir(), 'fuzz-resume-'));
    try {
      for (const file of parity.files) {
        const lines = file.lines.filter(
          (l) => l.startsWith('version') || startOf(l) * 1000 < parity.resumeAt! === before,
        );
        await fs.writeFile(join(dir, file.name.replace(/\.gz$/, '')), lines.map((l) => `${l}\n`).join(''));
      }
      const result = await runReplay({
        inputs: [dir],
        config,
        store,
        ...(before && parity.bootstrapDays !== undefined ? { bootstrapDays: parity.bootstrapDays } : {}),
      });
      alerts.push(...result.alerts.map(decided));
      store = MemoryBaselineStore.fromJson(JSON.stringify(store.toJSON(config)), 'state.json', config);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
  return alerts.sort(
    (a, b) =>
      a.windowStart.localeCompare(b.windowStart) ||
      a.kind.localeCompare(b.kind) ||
      a.source.localeCompare(b.source),
  );
}

async function runOne(parity: ParityCase, features: string[], seed: number | string): Promise<boolean> {
  const started = Date.now();
  let result: ParityResult | undefined;
  let error: string | undefined;
  let stateFileResumed: DecidedAlert[] | undefined;
  try {
    result = await runParityCase(endpoints, parity);
    if (parity.resumeAt !== undefined) stateFileResumed = await resumedViaStateFile(parity);
  } catch (e) {
    error = (e as Error).stack ?? String(e);
  }
  let problems: Record<string, unknown> | undefined = result === undefined ? { error } : compare(result);
  if (
    result !== undefined &&
    stateFileResumed !== undefined &&
    !isDeepStrictEqual(stateFileResumed, result.replay)
  )
    problems = { ...problems, stateFile: firstDifference(stateFileResumed, result.replay) };
  const lines = parity.files.reduce((n, file) => n + file.lines.length, 0);
  const record = {
    seed,
    rowLimit: (globalThis as { fuzzRowLimit?: number }).fuzzRowLimit,
    catchUp: (({ skipped, multi }: Partial<CatchUp> = {}) =>
      skipped === undefined ? undefined : { skipped, multi })(
      (globalThis as { fuzzCatchUp?: CatchUp }).fuzzCatchUp,
    ),
    ms: Date.now() - started,
    lines,
    alerts: result?.lambda.length,
    replayAlerts: result?.replay.length,
    kinds: result === undefined ? undefined : [...new Set(result.lambda.map((a) => a.kind))],
    features,
    ok: problems === undefined,
    ...(problems === undefined ? {} : { problems }),
  };
  if (OUT === undefined) {
    if (problems !== undefined) console.error(JSON.stringify(record).slice(0, 4000));
  } else await fs.appendFile(`${OUT}/results.ndjson`, `${JSON.stringify(record)}\n`);
  if (OUT !== undefined && problems !== undefined && typeof seed === 'number') {
    await fs.writeFile(
      `${OUT}/case-${seed}.json`,
      JSON.stringify(
        {
          parity,
          features,
          problems,
          replay: result?.replay,
          lambda: result?.lambda,
          resumed: result?.resumed,
        },
        null,
        1,
      ),
    );
  }
  // With a lowered row limit, details of a source over it are a documented sample.
  return (
    problems === undefined || (ROW_LIMITS.length > 0 && Object.keys(problems).join() === 'alerts,detailsOnly')
  );
}

describe('randomized replay-vs-Lambda parity', () => {
  it(
    'agrees on every drawn case',
    async () => {
      if (process.env.FUZZ_CASE !== undefined) {
        const saved = JSON.parse(await fs.readFile(process.env.FUZZ_CASE, 'utf8')) as {
          parity: ParityCase;
          features: string[];
        };
        const ok = await runOne(saved.parity, saved.features, process.env.FUZZ_CASE);
        expect(ok).toBe(true);
        return;
      }
      const from = Number(process.env.FUZZ_FROM);
      const seeds =
        process.env.FUZZ_FROM === undefined
          ? SEEDS
          : Array.from({ length: Number(process.env.FUZZ_COUNT ?? 100) }, (_, i) => from + i);
      const deadline = Date.now() + Number(process.env.FUZZ_MINUTES ?? 1000) * 60_000;
      const failed: number[] = [];
      for (const seed of seeds) {
        if (Date.now() >= deadline) break;
        const { parity, features } = drawScenario(seed);
        if (ROW_LIMITS.length > 0)
          (globalThis as { fuzzRowLimit?: number }).fuzzRowLimit = ROW_LIMITS[seed % ROW_LIMITS.length];
        if (process.env.FUZZ_CATCH_UP !== undefined && parity.lambda !== 'dry-run') {
          const config = resolveDetectorConfig(parity.config ?? {});
          const startField = (
            config.flowLogFormat ??
            'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
          )
            .split(' ')
            .indexOf('start');
          const starts = parity.files
            .flatMap((f) => f.lines.map((l) => Number(l.split(' ')[startField])))
            .filter((x) => Number.isInteger(x) && x > 0);
          const random = seededRandom(seed);
          (globalThis as { fuzzCatchUp?: CatchUp }).fuzzCatchUp = {
            last: alignToWindow(Math.max(...starts) * 1000, config),
            windowMinutes: config.windowMinutes,
            skip: [0.3, 0.6, 0.9][seed % 3]!,
            random,
            skipped: 0,
            multi: 0,
          };
        } else (globalThis as { fuzzCatchUp?: CatchUp }).fuzzCatchUp = undefined;
        if (!(await runOne(parity, features, seed))) failed.push(seed);
      }
      expect(failed).toEqual([]);
    },
    process.env.FUZZ_FROM === undefined && process.env.FUZZ_CASE === undefined ? 300_000 : 24 * 3_600_000,
  );
});
