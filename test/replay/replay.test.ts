import { promises as fs } from 'node:fs';
// The module object itself (not an import wrapper), so a spy on it sees the reader's calls.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs = require('node:fs') as typeof import('node:fs');
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  resolveDetectorConfig,
  resolveDetectorConfigJson,
  seededRandom,
  type Alert,
} from '../../lambda/core';
import { MemoryBaselineStore } from '../../lambda/replay/memory-store';
import { runReplay, type ReplayResult } from '../../lambda/replay/replay';
import { readChangeInputs } from '../../lambda/replay/change-files';
import { ROLLOUT_EVENT_ID, SAMPLE_DEPLOYER, SAMPLE_GROUPS } from '../../scripts/cloudtrail-sample';
import { generateSample, sampleTruth } from '../../scripts/flow-log-sample';
import { recountFlowLog } from '../support/flow-log-recount';

const ROOT = join(__dirname, '..', '..');
const SAMPLE = join(ROOT, 'samples', 'vpc-flow-logs.log.gz');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'replay-test-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const sampleConfig = async () =>
  resolveDetectorConfigJson(
    await fs.readFile(join(ROOT, 'samples', 'detector-config.json'), 'utf8'),
    'samples/detector-config.json',
  );
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('golden: the bundled sample under the recommended preset', () => {
  let result: ReplayResult;
  const truth = sampleTruth();
  beforeAll(async () => {
    result = await runReplay({ inputs: [SAMPLE], config: await sampleConfig(), collectSeries: true });
  });

  it('finds the exfiltration spike, with its many destinations', () => {
    const alerts = result.alerts.filter((a) => a.windowStart === iso(truth.exfiltration.windowStart));
    expect(alerts).toHaveLength(1);
    const [alert] = alerts as [Alert];
    expect(alert).toMatchObject({ kind: 'spike', severity: 'high', srcIp: truth.exfiltration.srcIp });
    expect(alert.blockedCount).toBeGreaterThan(truth.exfiltration.extraRecords);
    // 230 injected targets drawn from 762 documentation addresses, plus the host's usual few.
    expect(alert.uniqueDestinations).toBeGreaterThan(150);
    expect(alert.details?.topDestinations).toHaveLength(10);
    expect(alert.details?.totalDestinations).toBeGreaterThan(alert.uniqueDestinations ?? 0);
    expect(alert.details?.interfaceIds).toEqual([
      truth.hosts.find((h) => h.ip === truth.exfiltration.srcIp)?.interfaceId,
    ]);
    expect(alert.tailProbability).toBeLessThan(1e-20);
  });

  it('turns the policy rollout into one mass-spike alert, not one per host', () => {
    const alerts = result.alerts.filter((a) => a.windowStart === iso(truth.rollout.windowStart));
    expect(alerts.map((a) => a.kind)).toEqual(['mass-spike']);
    const members = alerts[0]?.srcIps ?? [];
    const rolledOut = new Set(truth.rollout.srcIps);
    expect(members.every((ip) => rolledOut.has(ip))).toBe(true);
    expect(members.length).toBeGreaterThanOrEqual(0.8 * rolledOut.size);
    // A mass spike's members are its content: no details pass over them, as in the Lambda.
    expect(alerts[0]).toMatchObject({ uniqueDestinations: null });
    expect(alerts[0]?.details).toBeUndefined();
    // Members are in their cooldown afterwards: the rollout's next hour raises nothing per host.
    expect(result.alerts.filter((a) => a.windowStart === iso(truth.rollout.windowStart + HOUR))).toEqual([]);
  });

  it('raises a new-source alert for the host that appears with a burst', () => {
    const alert = result.alerts.find((a) => a.kind === 'new-source');
    expect(alert).toMatchObject({
      srcIp: truth.newHost.srcIp,
      windowStart: iso(truth.newHost.windowStart),
      blockedCount: truth.newHost.records,
      severity: 'low',
    });
    expect(result.alerts.filter((a) => a.kind === 'new-source')).toHaveLength(1);
  });

  it('stays within the false-alert budget everywhere else', () => {
    const injected = new Set(
      [truth.exfiltration.windowStart, truth.rollout.windowStart, truth.newHost.windowStart].map(iso),
    );
    const others = result.alerts.filter((a) => !injected.has(a.windowStart));
    // The background is negative-binomial noise, which the recommended preset budgets at
    // falseAlertBudgetPerDay (1) false alerts a day for the whole fleet: about 0.6/day is
    // expected at this fleet size (DESIGN.md). Allow the budget over the detection days.
    const detectionDays = (truth.endMs - truth.startMs) / DAY - 1;
    expect(others.length).toBeLessThanOrEqual(detectionDays);
    expect(others.every((a) => a.kind === 'spike' && a.severity === 'medium')).toBe(true);
  });

  it('summarises the input: records, NODATA, the SKIPDATA window, nothing malformed', () => {
    expect(result.summary).toMatchObject({
      kind: 'summary',
      windows: 21 * 24,
      detectedWindows: 21 * 24,
      malformedLines: 0,
      headerLines: 1,
      skipDataRecords: 3,
      incompleteWindows: 1,
      firstWindow: iso(truth.startMs),
      lastWindow: iso(truth.endMs - HOUR),
      alerts: result.alerts.length,
    });
    expect(result.summary.noDataRecords).toBeGreaterThan(1000);
    expect(result.summary.sources).toBe(truth.hosts.length + 1);
  });

  it('keeps series for the report: counts, the expected count and the count from which each alerted source spikes', async () => {
    // The expected count is recounted from the file line by line (test/support/flow-log-recount).
    const text = gunzipSync(await fs.readFile(SAMPLE)).toString('latin1');
    const recount = recountFlowLog(text, (await sampleConfig()).internalCidrs);
    const expected = recount.counted.get(`${truth.exfiltration.windowStart} ${truth.exfiltration.srcIp}`);
    expect(expected).toBeGreaterThan(truth.exfiltration.extraRecords);
    const series = result.series?.sources.find((s) => s.srcIp === truth.exfiltration.srcIp);
    const index = result.series?.windows.indexOf(truth.exfiltration.windowStart) ?? -1;
    expect(index).toBeGreaterThan(0);
    const alert = result.alerts.find((a) => a.srcIp === truth.exfiltration.srcIp && a.kind === 'spike');
    expect(series?.counts[index]).toBe(expected);
    expect(alert?.blockedCount).toBe(expected);
    expect(series?.mean[index]).toBeGreaterThan(0);
    expect(series?.mean[index]).toBeCloseTo(alert?.baseline?.mean ?? NaN, 3);
    expect(series?.spikeAt[index]).toBeLessThanOrEqual(expected ?? 0);
    expect(series?.counts).toHaveLength(21 * 24);
    // Its baseline needs 24 windows before it can spike: nothing to draw on the first day.
    expect(series?.spikeAt.slice(0, 24).every((v) => v === null)).toBe(true);
  });

  it("draws each charted source's spike line where the engine decided: at or above it exactly in its spiking windows", () => {
    // In the sample every spike became an alert (none held back by a cooldown), either the
    // source's own or its membership of the mass spike, so the windows in which a charted source
    // reached its line must be exactly its alerted windows (new-source alerts aside: no line).
    expect(result.summary.spikesSuppressedByCooldown).toBe(0);
    const series = result.series!;
    expect(series.sources).toHaveLength(40);
    let compared = 0;
    for (const source of series.sources) {
      const reached = series.windows.filter((_, i) => {
        const line = source.spikeAt[i];
        return line !== null && line !== undefined && (source.counts[i] as number) >= line;
      });
      const alerted = result.alerts
        .filter(
          (a) => a.kind !== 'new-source' && (a.srcIp === source.srcIp || a.srcIps?.includes(source.srcIp)),
        )
        .map((a) => Date.parse(a.windowStart));
      expect({ srcIp: source.srcIp, reached }).toEqual({
        srcIp: source.srcIp,
        reached: alerted.sort((a, b) => a - b),
      });
      compared += source.spikeAt.filter((v) => v !== null).length;
    }
    expect(compared).toBeGreaterThan(10_000);
    // The alerts table's column: the line at each spike alert's window, none for the others.
    result.alerts.forEach((alert, i) => {
      const line = series.alertSpikeAt[i];
      if (alert.kind === 'spike') expect(line).toBeLessThanOrEqual(alert.blockedCount);
      else expect(line).toBeNull();
    });
  });

  it('keeps no series in a plain replay', async () => {
    const plain = await runReplay({ inputs: [SAMPLE], config: await sampleConfig() });
    expect(plain.series).toBeUndefined();
    expect(plain.alerts).toEqual(result.alerts);
  });
});

describe('golden: the bundled sample with its CloudTrail files (what npm start shows)', () => {
  const truth = sampleTruth();
  let result: ReplayResult;
  beforeAll(async () => {
    const changes = await readChangeInputs(
      [join(ROOT, 'samples', 'cloudtrail')],
      [join(ROOT, 'samples', 'interface-map.json')],
    );
    result = await runReplay({ inputs: [SAMPLE], config: await sampleConfig(), changes });
  });

  it("names the rollout's egress revoke as the mass spike's likely cause, for every member", () => {
    const [mass] = result.alerts.filter((a) => a.windowStart === iso(truth.rollout.windowStart));
    expect(mass?.kind).toBe('mass-spike');
    const members = mass?.srcIps?.length ?? 0;
    expect(members).toBeGreaterThan(10);
    expect(mass?.likelyCause).toMatchObject({
      eventId: ROLLOUT_EVENT_ID,
      eventName: 'RevokeSecurityGroupEgress',
      resource: SAMPLE_GROUPS.fleet,
      principal: SAMPLE_DEPLOYER,
      eventTime: iso(truth.rollout.windowStart - 8 * 60_000),
      minutesFromWindowStart: -8,
      explains: members,
      of: members,
    });
    expect(mass?.likelyCause?.description).toContain('198.51.100.77/32');
  });

  it('says no change explains the exfiltration or any other spike; the unrelated revoke and the ingress change explain nothing', () => {
    const others = result.alerts.filter((a) => a.kind === 'spike');
    expect(others.length).toBeGreaterThan(0);
    expect(others.find((a) => a.srcIp === truth.exfiltration.srcIp)?.causeLookup?.status).toBe('none');
    for (const alert of others) expect(alert.causeLookup?.status).toBe('none');
    expect(result.alerts.find((a) => a.kind === 'new-source')?.causeLookup).toBeUndefined();
    // Three changes read: the rollout, the unrelated revoke, and the ingress rule on the fleet's own
    // group (ingress rules relate only through an appliance's interface, which no record names here).
    expect(result.summary.cloudTrail).toMatchObject({ files: 21, changes: 3, interfaceMaps: 1 });
    expect(result.summary.changeCauses).toEqual({ found: 1, none: others.length, unavailable: 0 });
  });
});

/** Flow log lines for `count` blocked records from `src` in the window starting at `windowMs`. */
function blocked(
  src: string,
  windowMs: number,
  count: number,
  dst = '203.0.113.9',
  account = '123456789012',
): string[] {
  const start = Math.floor(windowMs / 1000);
  return Array.from(
    { length: count },
    (_, i) =>
      `2 ${account} eni-0abc ${src} ${dst} ${40000 + i} 443 6 1 60 ${start + i} ${start + i + 30} REJECT OK`,
  );
}

describe('splunk-escu replay', () => {
  it('reproduces the ESCU arithmetic on a seeded baseline', async () => {
    // Prepare: a stored baseline (mean 10, sd 2, 30 points) and a window with 25 records.
    const config = resolveDetectorConfig({ preset: 'splunk-escu' });
    const w = Date.UTC(2026, 9, 5, 12);
    const store = MemoryBaselineStore.fromJson(
      JSON.stringify({
        version: 1,
        preset: 'splunk-escu',
        windowMinutes: 60,
        sourceKeys: 'account|address',
        clock: 30,
        watermark: iso(w - HOUR),
        baselines: {
          '123456789012|10.0.0.5': {
            mean: 10,
            variance: 4,
            dataPoints: 30,
            lastWindow: iso(w - HOUR),
            clockAtLastFold: 30,
          },
        },
      }),
      'seed.json',
      config,
    );
    const path = join(dir, 'escu.log');
    // Another account's 10.0.0.5 in the same window: another source (ESCU's `by src_ip` would
    // add its 7 records to the 25 and fold 32 into the seeded baseline).
    await fs.writeFile(
      path,
      [
        ...blocked('10.0.0.5', w, 25),
        ...blocked('10.0.0.6', w, 8),
        ...blocked('10.0.0.5', w, 7, '203.0.113.9', '210987654321'),
      ].join('\n'),
    );
    // Act
    const result = await runReplay({ inputs: [path], config, store });
    // Assess: the SPL by hand, N = 720.
    const mean = 10 + (25 - 10) / 720;
    const variance = (4 * 719 + (25 - mean) * (25 - 10)) / 720;
    const sd = Math.sqrt(variance);
    expect(25 > mean + 3 * sd).toBe(true);
    expect(result.alerts).toHaveLength(1);
    expect(result.alerts[0]).toMatchObject({
      kind: 'spike',
      srcIp: '10.0.0.5',
      blockedCount: 25,
      severity: 'high',
      uniqueDestinations: 1,
    });
    expect(result.alerts[0]?.baseline?.mean).toBeCloseTo(mean, 4);
    expect(result.alerts[0]?.baseline?.sd).toBeCloseTo(sd, 4);
    expect(result.alerts[0]?.baseline?.dataPoints).toBe(31);
    expect(result.alerts[0]?.zScore).toBeCloseTo((25 - mean) / sd, 3);
    const saved = result.store.baselines.get('123456789012|10.0.0.5');
    expect(saved?.mean).toBeCloseTo(mean, 12);
    expect(saved?.variance).toBeCloseTo(variance, 12);
    expect(saved?.dataPoints).toBe(31);
    // ESCU never initialises a new source; this implementation does, without alerting.
    expect(result.store.baselines.get('123456789012|10.0.0.6')).toMatchObject({
      mean: 8,
      variance: 0,
      dataPoints: 1,
    });
    expect(result.store.baselines.get('210987654321|10.0.0.5')).toMatchObject({
      mean: 7,
      variance: 0,
      dataPoints: 1,
    });
    expect(result.alerts[0]).toMatchObject({ accountId: '123456789012' });
  });

  it('bootstraps from the first days (mean and sample sd over active windows), then detects', async () => {
    const config = resolveDetectorConfig({ preset: 'splunk-escu' });
    const day0 = Date.UTC(2026, 9, 1);
    const history = [4, 6, 5, 5, 7, 3, 5, 5];
    const lines = history.flatMap((n, hour) => blocked('10.0.0.7', day0 + hour * HOUR, n));
    lines.push(...blocked('10.0.0.7', day0 + 5 * HOUR + DAY, 40));
    const path = join(dir, 'bootstrap.log');
    await fs.writeFile(path, lines.join('\n'));
    const result = await runReplay({ inputs: [path], config, bootstrapDays: 1 });
    expect(result.summary).toMatchObject({ bootstrapWindows: 24, detectedWindows: 6, windows: 30 });
    expect(result.alerts.map((a) => [a.srcIp, a.windowStart])).toEqual([
      ['10.0.0.7', iso(day0 + DAY + 5 * HOUR)],
    ]);
    const mean = history.reduce((a, b) => a + b, 0) / history.length;
    const sampleVariance = history.reduce((a, b) => a + (b - mean) ** 2, 0) / (history.length - 1);
    const mean2 = mean + (40 - mean) / 720;
    expect(result.alerts[0]?.baseline?.mean).toBeCloseTo(mean2, 4);
    expect(result.alerts[0]?.baseline?.sd).toBeCloseTo(
      Math.sqrt((sampleVariance * 719 + (40 - mean2) * (40 - mean)) / 720),
      4,
    );
  });
});

describe('replay order and state', () => {
  async function sampleLines(options: Parameters<typeof generateSample>[0]): Promise<string[]> {
    return [...generateSample(options)]
      .join('')
      .split('\n')
      .filter((l) => l.length > 0);
  }
  const comparable = (alerts: readonly Alert[]) => JSON.parse(JSON.stringify(alerts)) as unknown;

  it('gives the same alerts and baselines whatever order and files the records come in', async () => {
    // Prepare: a short sample, then the same lines shuffled across three files (one gzipped is not needed here).
    const config = resolveDetectorConfig({});
    const lines = await sampleLines({ days: 4, hosts: 20, seed: 7 });
    const ordered = join(dir, 'ordered.log');
    await fs.writeFile(ordered, `${lines.join('\n')}\n`);
    const random = seededRandom(99);
    const shuffled = lines
      .slice(1)
      .map((l) => [random(), l] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, l]) => l);
    const shuffledDir = join(dir, 'shuffled');
    await fs.mkdir(shuffledDir);
    const third = Math.ceil(shuffled.length / 3);
    for (let i = 0; i < 3; i += 1)
      await fs.writeFile(
        join(shuffledDir, `part-${i}.log`),
        shuffled.slice(i * third, (i + 1) * third).join('\n'),
      );
    // Act
    const a = await runReplay({ inputs: [ordered], config });
    const b = await runReplay({ inputs: [shuffledDir], config });
    // Assess
    expect(a.alerts.length).toBeGreaterThan(0);
    expect(comparable(b.alerts)).toEqual(comparable(a.alerts));
    expect(b.store.toJSON(config)).toEqual(a.store.toJSON(config));
    expect(b.summary.recordsCounted).toBe(a.summary.recordsCounted);
  });

  it('continues from a saved state as if the input had been replayed in one go', async () => {
    // Prepare: a 6-day sample, and the same split at day 3 into two files.
    const config = resolveDetectorConfig({});
    const options = { days: 6, hosts: 25, seed: 11 };
    const lines = await sampleLines(options);
    const split = Math.floor((sampleTruth(options).startMs + 3 * DAY) / 1000);
    const before: string[] = [];
    const after: string[] = [];
    for (const l of lines) {
      const start = Number(l.split(' ')[10]);
      (Number.isFinite(start) && start >= split ? after : before).push(l);
    }
    await fs.writeFile(join(dir, 'all.log'), lines.join('\n'));
    await fs.writeFile(join(dir, 'before.log'), before.join('\n'));
    await fs.writeFile(join(dir, 'after.log'), after.join('\n'));
    const statePath = join(dir, 'state', 'baselines.json');
    // Act
    const whole = await runReplay({ inputs: [join(dir, 'all.log')], config });
    const first = await runReplay({
      inputs: [join(dir, 'before.log')],
      config,
      store: await MemoryBaselineStore.load(statePath, config),
    });
    await first.store.save(statePath, config);
    const second = await runReplay({
      inputs: [join(dir, 'after.log')],
      config,
      store: await MemoryBaselineStore.load(statePath, config),
    });
    await second.store.save(statePath, config);
    const again = await runReplay({
      inputs: [join(dir, 'after.log')],
      config,
      store: await MemoryBaselineStore.load(statePath, config),
    });
    // Assess
    expect(whole.alerts.length).toBeGreaterThan(0);
    expect(comparable([...first.alerts, ...second.alerts])).toEqual(comparable(whole.alerts));
    expect(second.store.toJSON(config)).toEqual(whole.store.toJSON(config));
    expect(again.alerts).toEqual([]);
    expect(again.summary).toMatchObject({ windowsSkipped: 3 * 24, detectedWindows: 0 });
  });

  it('forgets a baseline not folded for more than the TTL, and drops such baselines from the state', async () => {
    // Prepare: a daily-window state with 10.0.0.5 last seen on day 0 and 10.0.0.6 on day 9
    const config = resolveDetectorConfig({ windowMinutes: 1440 });
    const day0 = Date.parse('2026-10-01T00:00:00Z');
    const seen = [
      ...blocked('10.0.0.5', day0, 20),
      ...Array.from({ length: 10 }, (_, d) => blocked('10.0.0.6', day0 + d * DAY, 20)).flat(),
    ];
    await fs.writeFile(join(dir, 'ttl-before.log'), seen.join('\n'));
    // Day 15: 10.0.0.5 returns after 15 days, 10.0.0.6 after 6
    await fs.writeFile(
      join(dir, 'ttl-after.log'),
      [...blocked('10.0.0.5', day0 + 15 * DAY, 20), ...blocked('10.0.0.6', day0 + 15 * DAY, 20)].join('\n'),
    );
    const saved = await runReplay({ inputs: [join(dir, 'ttl-before.log')], config });
    const state = JSON.stringify(saved.store.toJSON(config));
    // Act
    const result = await runReplay({
      inputs: [join(dir, 'ttl-after.log')],
      config,
      store: MemoryBaselineStore.fromJson(state, 'ttl.json', config),
      baselineTtlDays: 10,
    });
    const quiet = await runReplay({
      inputs: [join(dir, 'ttl-before.log')],
      config,
      store: new MemoryBaselineStore(),
      baselineTtlDays: 5,
    });
    // Assess: 10.0.0.5 starts over (one data point), 10.0.0.6 folds on; at the end of the quiet
    // run (watermark day 9) only 10.0.0.6's baseline can still be read
    const baselines = result.store.toJSON(config).baselines;
    expect(baselines['123456789012|10.0.0.5']?.dataPoints).toBe(1);
    expect(baselines['123456789012|10.0.0.6']?.dataPoints).toBeGreaterThan(10);
    expect(Object.keys(quiet.store.toJSON(config).baselines)).toEqual(['123456789012|10.0.0.6']);
    expect(quiet.summary.baselines).toBe(1);
    await expect(runReplay({ inputs: [], config, baselineTtlDays: 0 })).rejects.toThrow(
      'baselineTtlDays must be a whole number from 1 to 3650, not 0',
    );
  });

  it('resumes at the window after the watermark: the quiet gap is evaluated and counts against --max-windows', async () => {
    // Prepare: a state whose watermark is day 0 23:00, and an input whose first record is day 1 10:00.
    const config = resolveDetectorConfig({});
    const day0 = Date.parse('2026-10-01T00:00:00Z');
    await fs.writeFile(join(dir, 'gap-before.log'), blocked('10.0.0.5', day0 + 23 * HOUR, 4).join('\n'));
    await fs.writeFile(join(dir, 'gap-after.log'), blocked('10.0.0.5', day0 + 34 * HOUR, 4).join('\n'));
    const saved = await runReplay({ inputs: [join(dir, 'gap-before.log')], config });
    const state = JSON.stringify(saved.store.toJSON(config));
    const resume = () => MemoryBaselineStore.fromJson(state, 'gap.json', config);
    // Act
    const resumed = await runReplay({ inputs: [join(dir, 'gap-after.log')], config, store: resume() });
    const tooLong = runReplay({
      inputs: [join(dir, 'gap-after.log')],
      config,
      store: resume(),
      maxWindows: 10,
    });
    // Assess: 00:00 to 10:00 of day 1, the ten quiet hours first
    expect(resumed.summary).toMatchObject({
      firstWindow: iso(day0 + DAY),
      lastWindow: iso(day0 + 34 * HOUR),
      windows: 11,
      windowsSkipped: 0,
    });
    await expect(tooLong).rejects.toThrow(
      'the input spans 11 windows of 60 minutes (2026-10-02T00:00:00Z to 2026-10-02T10:00:00Z, ' +
        "from the window after the state file's watermark), more than --max-windows allows (10)",
    );
  });

  it.each([
    ['with destinations tallied in the count pass', undefined, 1],
    ['re-read whole once the destination budget runs out', 40, 2],
  ])(
    'gives a gzip file the alert details of a plain-file re-read of the same data (%s)',
    async (_path, detailsBudget, gzipReads) => {
      // Prepare: the same records as a plain file (its details re-read from the alerted
      // stretches) and as gzip (tallied in the count pass while the budget lasts, else read again).
      const config = resolveDetectorConfig({});
      const text = (await sampleLines({ days: 4, hosts: 20, seed: 3 })).join('\n');
      const plainPath = join(dir, 'details.log');
      const gzipPath = join(dir, 'details.log.gz');
      await fs.writeFile(plainPath, text);
      await fs.writeFile(gzipPath, gzipSync(text));
      const reference = await runReplay({ inputs: [plainPath], config });
      // gzip input is streamed through node:fs createReadStream: one stream per pass over the file.
      const streams = jest.spyOn(nodeFs, 'createReadStream');

      // Act
      let gzip: ReplayResult;
      let passes: number;
      try {
        gzip = await runReplay({
          inputs: [gzipPath],
          config,
          ...(detailsBudget === undefined ? {} : { detailsBudget }),
        });
      } finally {
        passes = streams.mock.calls.filter(([path]) => path === gzipPath).length;
        streams.mockRestore();
      }

      // Assess
      expect(passes).toBe(gzipReads);
      expect(reference.alerts.length).toBeGreaterThan(0);
      const perSource = reference.alerts.filter((a) => a.kind !== 'mass-spike');
      expect(perSource.length).toBeGreaterThan(0);
      expect(perSource.every((a) => (a.details?.topDestinations.length ?? 0) > 0)).toBe(true);
      expect(comparable(gzip.alerts)).toEqual(comparable(reference.alerts));
    },
  );

  it('rejects a state file that is invalid or from another preset, naming the problem', () => {
    const config = resolveDetectorConfig({});
    const valid = {
      version: 1,
      preset: 'recommended',
      windowMinutes: 60,
      clock: 0,
      watermark: null,
      baselines: {},
    };
    expect(() => MemoryBaselineStore.fromJson('{', 's.json', config)).toThrow(
      'state file "s.json": not valid JSON',
    );
    expect(() =>
      MemoryBaselineStore.fromJson(JSON.stringify({ ...valid, clock: -1 }), 's.json', config),
    ).toThrow('"s.json".clock');
    expect(() =>
      MemoryBaselineStore.fromJson(
        JSON.stringify({ ...valid, baselines: { '10.0.0.1': { mean: 'x' } } }),
        's.json',
        config,
      ),
    ).toThrow('"s.json".baselines.10.0.0.1.mean');
    expect(() =>
      MemoryBaselineStore.fromJson(JSON.stringify({ ...valid, preset: 'splunk-escu' }), 's.json', config),
    ).toThrow('built with preset splunk-escu and 60-minute windows, this run uses recommended');
  });
});

describe("the report's spike line in a window the source sent nothing", () => {
  it.each(['recommended', 'splunk-escu'] as const)(
    '%s: is the count from which it would have spiked, had it sent that many',
    async (preset) => {
      // Prepare: three steady sources over 48 hours; A is silent in hour 40.
      const config = resolveDetectorConfig({ preset, cooldownMinutes: 0, massSpikeMinSources: 0 });
      const t0 = Date.UTC(2026, 9, 1);
      const silent = 40;
      const rows = (countAtSilent: number): string => {
        const lines: string[] = [];
        for (let hour = 0; hour < 48; hour += 1) {
          const w = t0 + hour * HOUR;
          lines.push(...blocked('10.0.0.2', w, 4 + (hour % 3)), ...blocked('10.0.0.3', w, 6 + (hour % 5)));
          const a = hour === silent ? countAtSilent : 3 + ((hour * 7) % 5);
          lines.push(...blocked('10.0.0.1', w, a));
        }
        return lines.join('\n');
      };
      const replayWith = async (countAtSilent: number) => {
        const path = join(dir, `silent-${preset}-${countAtSilent}.log`);
        await fs.writeFile(path, rows(countAtSilent));
        return runReplay({ inputs: [path], config });
      };
      const spikedAtSilent = (result: ReplayResult): boolean =>
        result.alerts.some((a) => a.srcIp === '10.0.0.1' && Date.parse(a.windowStart) === t0 + silent * HOUR);

      // Act: a burst at hour 47 makes A an alerted, charted source without touching hour 40.
      const withBurst = async (count: number) => {
        const path = join(dir, `silent-${preset}-burst-${count}.log`);
        const lines = rows(count).split('\n');
        lines.push(...blocked('10.0.0.1', t0 + 47 * HOUR, 500, '198.51.100.1'));
        await fs.writeFile(path, lines.join('\n'));
        return runReplay({ inputs: [path], config, collectSeries: true });
      };
      const charted = await withBurst(0);
      const line = charted.series?.sources.find((s) => s.srcIp === '10.0.0.1')?.spikeAt[silent];

      // Assess: the engine, given that many records from A in hour 40, spikes; one fewer, not.
      expect(charted.series?.windows[silent]).toBe(t0 + silent * HOUR);
      expect(line).toEqual(expect.any(Number));
      expect(spikedAtSilent(await replayWith(line as number))).toBe(true);
      expect(spikedAtSilent(await replayWith((line as number) - 1))).toBe(false);
    },
  );
});
