/**
 * End to end, a redeploy that changes what the stored baselines mean (another window length,
 * preset or rhythm calendar): the detector refuses to detect on them, naming the change and the
 * way out, changes nothing, and a bootstrap with `overwrite` relearns them; a change that leaves
 * them meaning the same (another threshold) runs on.
 */
import { BaselineSettingsChangedError } from '../../lambda/baseline-settings';
import {
  E2E_LAG_MINUTES,
  HOUR,
  blocked,
  newDetector,
  withEndpoints,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];
const runTimeFor = (windowStart: number) => new Date(windowStart + HOUR + 12 * 60_000).toISOString();

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

/** A detector of hourly windows that has committed W-1h and W. */
async function runningDetector(): Promise<Detector> {
  const detector = await newDetector(endpoints);
  endpoints.logs.seed(
    detector.logGroup,
    Array.from({ length: 30 }, (_, h) => W - 26 * HOUR + h * HOUR).flatMap((w) =>
      SOURCES.flatMap((s, i) => blocked(w, s, 3 + i)),
    ),
  );
  for (const w of [W - HOUR, W]) {
    detector.clock.set(runTimeFor(w));
    await detector.invoke({});
  }
  return detector;
}

/** The same table and log group, deployed again with `changes` to its configuration. */
const redeployed = (detector: Detector, changes: Record<string, unknown>) =>
  newDetector(endpoints, {
    env: {
      TABLE_NAME: detector.tableName,
      LOG_GROUP_IDENTIFIERS: detector.logGroup,
      DETECTOR_CONFIG: JSON.stringify({ lagMinutes: E2E_LAG_MINUTES, ...changes }),
    },
  });

describe('a redeploy with other settings', () => {
  it('refuses to detect (and to dry-run) on baselines of another window length, changing nothing; a bootstrap with overwrite relearns', async () => {
    // Prepare
    const detector = await runningDetector();
    const state = (await detector.items()).get('STATE|DETECTOR');
    const halfHourly = await redeployed(detector, { windowMinutes: 30 });
    halfHourly.clock.set(runTimeFor(W + HOUR));
    const before = await detector.items();

    // Act
    const scheduled = halfHourly.invoke({});
    const dryRun = halfHourly.invoke({ mode: 'dry-run' });

    // Assess: both refused with the change and the way out; the table is as it was
    expect(JSON.parse(state!.baselineSettings!.S!)).toMatchObject({
      preset: 'recommended',
      windowMinutes: 60,
    });
    await expect(scheduled).rejects.toThrow(BaselineSettingsChangedError);
    await expect(scheduled).rejects.toThrow(/60-minute -> 30-minute windows.*"overwrite":true/);
    await expect(dryRun).rejects.toThrow(/60-minute -> 30-minute windows/);
    const after = await detector.items();
    after.delete('LEASE|RUN');
    before.delete('LEASE|RUN');
    expect(after).toEqual(before);

    // Act 2: relearn at the new length, then the schedule goes on
    const boot = await halfHourly.invoke({ mode: 'bootstrap', days: 1, overwrite: true });
    halfHourly.clock.set(runTimeFor(W + 2 * HOUR));
    const next = await halfHourly.invoke({});

    // Assess 2: 48 half-hour windows learnt up to 10:30; the next run takes 11:00 and 11:30
    expect(boot.bootstrap).toMatchObject({ windows: 48, watermark: '2026-11-27T10:30:00Z' });
    expect(next.windows).toEqual(['2026-11-27T11:00:00Z', '2026-11-27T11:30:00Z']);
    const settingsNow = JSON.parse((await detector.items()).get('STATE|DETECTOR')!.baselineSettings!.S!);
    expect(settingsNow).toMatchObject({ windowMinutes: 30 });
  });

  it('refuses a flow log format that keys sources anew (vpc-id added): every busy source would be new', async () => {
    const detector = await runningDetector();
    const byVpc = await redeployed(detector, {
      flowLogFormat:
        '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id}',
    });
    byVpc.clock.set(runTimeFor(W + HOUR));

    await expect(byVpc.invoke({})).rejects.toThrow(/source keys account\|address -> account\|vpc\|address/);
    expect(endpoints.sns.publishCalls).toBe(0);
  });

  it('refuses another time zone for rhythm profiles, and runs on after a change that keeps their meaning', async () => {
    const detector = await runningDetector();
    const newYork = await redeployed(detector, { timezone: 'America/New_York' });
    const stricter = await redeployed(detector, { minBlockedCount: 50, weekendDays: ['Sun', 'Sat'] });
    for (const d of [newYork, stricter]) d.clock.set(runTimeFor(W + HOUR));

    await expect(newYork.invoke({})).rejects.toThrow(/time zone UTC -> America\/New_York/);
    const ran = await stricter.invoke({});

    expect(ran.windows).toEqual(['2026-11-27T10:00:00Z']);
  });
});
