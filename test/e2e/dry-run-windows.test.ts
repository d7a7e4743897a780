/**
 * Dry-run decides what the scheduled runs decide, without writing or publishing: over an explicit
 * range of windows (each window's folds carried in memory to the next, the zero-fill clock moved
 * on as the runs would), and, when no window is due, for the latest committed window (baselines
 * and clock rewound to before it; its alerts already in the outbox would not be published again).
 * The expectation is a twin detector on the same data that really runs each window.
 */
import type { PublishedAlert } from '../../lambda/adapters/alert-format';
import type { DryRunAlert, RunSummary } from '../../lambda/detector-run';
import {
  HOUR,
  WRITE_OPERATIONS,
  blocked,
  history,
  newDetector,
  withEndpoints,
  type Detector,
  type Endpoints,
} from './harness';

const W1 = Date.parse('2026-11-27T09:00:00Z');
const W2 = W1 + HOUR;
const W3 = W1 + 2 * HOUR;
/** Window starts as the summary writes them (`...:00Z`). */
const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const runTimeFor = (windowStart: number) => at(windowStart + HOUR + 12 * 60_000);
const QUIET = ['10.0.2.1', '10.0.2.2', '10.0.2.3', '10.0.2.4', '10.0.2.5'];
const X = '10.0.3.1'; // spikes in W1, spikes less than twice as hard in W2 (inside its cooldown)
const Y = '10.0.3.2'; // absent in W1 (a zero on the clock), spikes in W2
const V = '10.0.3.3'; // quiet in W1 and W2, spikes in W3
const Z = '10.0.3.4'; // first seen in W3, over the new-source threshold

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

/** A detector bootstrapped on two quiet days before W1, with the three windows' records seeded. */
async function bootstrapped(): Promise<Detector> {
  const detector = await newDetector(endpoints);
  const quiet = (w: number, sources: string[]) => sources.flatMap((s, i) => blocked(w, s, 3 + (i % 4)));
  endpoints.logs.seed(detector.logGroup, [
    ...history(W1, 48, [...QUIET, X, Y, V]),
    ...quiet(W1, [...QUIET, V]),
    ...blocked(W1, X, 300),
    ...quiet(W2, [...QUIET, V]),
    ...blocked(W2, X, 450),
    ...blocked(W2, Y, 300),
    ...quiet(W3, [...QUIET, X, Y]),
    ...blocked(W3, V, 300),
    ...blocked(W3, Z, 150),
  ]);
  detector.clock.set(runTimeFor(W1 - HOUR));
  await detector.invoke({ mode: 'bootstrap', days: 2 });
  return detector;
}

/**
 * The alerts a run published, as decided: the console link and the Region are the message's (the
 * detector's context), not the decision's.
 */
function publishedAlerts(): Omit<PublishedAlert, 'consoleUrl' | 'region'>[] {
  return endpoints.sns.published.map((p) => {
    const {
      consoleUrl: _link,
      region: _region,
      ...alert
    } = JSON.parse(p.perProtocol!.sqs!) as PublishedAlert;
    return alert;
  });
}

const decided = (alerts: readonly DryRunAlert[] | undefined) =>
  (alerts ?? []).map(({ wouldPublish: _w, ...alert }) => alert);

/** Runs a dry run and checks it changed nothing: no DynamoDB write, no publish, the same items. */
async function dryRun(detector: Detector, event: Record<string, unknown>): Promise<RunSummary> {
  const before = await detector.items();
  endpoints.dynamo.resetCounters();
  endpoints.sns.reset();
  const summary = await detector.invoke(event);
  for (const operation of WRITE_OPERATIONS) expect(endpoints.dynamo.count(operation)).toBe(0);
  expect(endpoints.sns.publishCalls).toBe(0);
  expect(await detector.items()).toEqual(before);
  return summary;
}

describe('dry-run', () => {
  let reference: Detector;
  let referenceAlerts: Omit<PublishedAlert, 'consoleUrl' | 'region'>[][];

  beforeAll(async () => {
    // The twin that really runs W1, W2 and W3 on schedule.
    reference = await bootstrapped();
    referenceAlerts = [];
    for (const w of [W1, W2, W3]) {
      endpoints.sns.reset();
      reference.clock.set(runTimeFor(w));
      const summary = await reference.invoke({});
      expect(summary.windows).toEqual([at(w)]);
      referenceAlerts.push(publishedAlerts());
    }
  });

  it('the reference runs alert as the data says: X in W1 (its W2 is in cooldown), Y in W2, V and the new Z in W3', () => {
    expect(referenceAlerts.map((alerts) => alerts.map((a) => [a.kind, a.srcIp]))).toEqual([
      [['spike', X]],
      [['spike', Y]],
      [
        ['spike', V],
        ['new-source', Z],
      ],
    ]);
  });

  it('over an explicit range of three windows decides exactly what the three scheduled runs decided', async () => {
    // Prepare
    const detector = await bootstrapped();
    detector.clock.set(runTimeFor(W3));

    // Act
    const summary = await dryRun(detector, {
      mode: 'dry-run',
      windowStart: at(W1),
      windowEnd: at(W3 + HOUR),
    });

    // Assess
    expect(summary.windows).toEqual([at(W1), at(W2), at(W3)]);
    expect(decided(summary.dryRunAlerts)).toEqual(referenceAlerts.flat());
    expect(summary.dryRunAlerts?.every((a) => a.wouldPublish)).toBe(true);
  });

  it('with no window due re-evaluates the latest committed window: the same alerts, none to publish again', async () => {
    // Act: the reference has committed W3 and nothing is due until W4 closes.
    const summary = await dryRun(reference, { mode: 'dry-run' });

    // Assess
    expect(summary.windows).toEqual([at(W3)]);
    expect(summary.deferredWindows).toBe(0);
    expect(decided(summary.dryRunAlerts)).toEqual(referenceAlerts[2]);
    expect(summary.dryRunAlerts?.map((a) => a.wouldPublish)).toEqual([false, false]);
  });
});
