/**
 * The replay command as a user runs it: the esbuild bundle in dist/, started with node, checked
 * by exit code, stdout and stderr.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLLOUT_EVENT_ID, writeSampleChanges } from '../../scripts/cloudtrail-sample';
import { writeSample, type SampleTruth } from '../../scripts/flow-log-sample';
import { buildCli } from '../../scripts/build-cli';
import { resolveDetectorConfig, type Alert } from '../../lambda/core';
import { recountFlowLog } from '../support/flow-log-recount';
import type { FlowLogLocation } from '../../lambda/adapters/athena-table';
import { writeFlowLogObjects } from '../support/flow-log-objects';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'egress-spike.js');
const T0 = 1790812800; // 2026-10-01T00:00:00Z

let dir: string;
let sample: string;
let truth: SampleTruth;

beforeAll(async () => {
  buildCli();
  dir = await fs.mkdtemp(join(tmpdir(), 'replay-cli-'));
  sample = join(dir, 'sample.log');
  truth = await writeSample(sample, { days: 4, hosts: 20, seed: 5 });
  await writeSampleChanges(truth, join(dir, 'trail'), join(dir, 'interfaces.json'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const ndjson = (text: string): Record<string, unknown>[] =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('egress-spike replay (built CLI)', () => {
  it('prints help and exits 0', () => {
    const top = run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('replay');
    const replay = run('replay', '--help');
    expect(replay.code).toBe(0);
    for (const option of [
      '--format',
      '--preset',
      '--bootstrap-days',
      '--state',
      '--config',
      '--json',
      '--report',
    ])
      expect(replay.stdout).toContain(option);
  });

  it("turns off TurboFan's inlining, once, when the CLI loads (lambda/replay/v8-tuning.ts)", () => {
    // A V8 flag Node.js refuses in NODE_OPTIONS: the CLI sets it itself, as it starts.
    const script =
      "const v8 = require('node:v8');" +
      'const set = v8.setFlagsFromString;' +
      'const calls = [];' +
      'v8.setFlagsFromString = (flags) => { calls.push(flags); set(flags); };' +
      "process.on('exit', () => process.stderr.write('CALLS ' + JSON.stringify(calls) + '\\n'));" +
      "process.argv = [process.argv[0], 'egress-spike', '--help'];" +
      `require(${JSON.stringify(CLI)});`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stdout).toContain('Usage: egress-spike');
    const line = result.stderr.split('\n').find((l) => l.startsWith('CALLS ')) ?? 'CALLS null';
    expect(JSON.parse(line.slice(6))).toEqual(['--no-turbo-inlining']);
  });

  it("sets the flag before any of its own modules runs: v8-tuning is the bundle's first", async () => {
    // esbuild writes a module's code in the order modules run, each under a `// <path>` line;
    // only lazily required node_modules (commonJS wrappers) may come before it.
    const bundle = await fs.readFile(CLI, 'utf8');
    const ownModules = bundle.split('\n').filter((l) => /^\/\/ (lambda|bin)\//.test(l));
    expect(ownModules[0]).toBe('// lambda/replay/v8-tuning.ts');
    expect(ownModules).toContain('// lambda/core/rhythm.ts');
  });

  it.each([
    [[], 'Usage: egress-spike'],
    [['replay'], "missing required argument 'paths'"],
    [['replay', '--preset', 'aggressive', 'x.log'], "'aggressive' is invalid"],
    [['replay', '--bootstrap-days', '0', 'x.log'], '--bootstrap-days must be a positive whole number'],
    [['replay', '--bootstrap-days', 'ten', 'x.log'], '--bootstrap-days must be a positive whole number'],
    [['replay', '--format', 'version srcaddr bogus', 'x.log'], 'unknown flow log field "bogus"'],
    [['replay', '--wat', 'x.log'], "unknown option '--wat'"],
    [['replay', 'no-such-file.log'], 'cannot read input "no-such-file.log": no such file or directory'],
    [['replay', '--config', 'no-such-config.json', 'x.log'], '--config: cannot read "no-such-config.json"'],
  ])('exits 2 on a usage error %j, naming it', (args, message) => {
    const result = run(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('exits 2 naming the field of an invalid config file', async () => {
    await fs.writeFile(join(dir, 'bad-config.json'), JSON.stringify({ internalCidrs: ['10.0.0.0/33'] }));
    const result = run('replay', '--config', 'bad-config.json', sample);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('bad-config.json.internalCidrs[0]: invalid CIDR "10.0.0.0/33"');
  });

  it('reads a config file, an interface map and a state file saved with a UTF-8 byte order mark as without it', async () => {
    // Prepare: PowerShell's UTF8 encoding writes the mark
    const bom = (text: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const config = JSON.stringify({ falseAlertBudgetPerDay: 2 });
    await fs.writeFile(join(dir, 'config.json'), config);
    await fs.writeFile(join(dir, 'bom-config.json'), bom(config));
    await fs.writeFile(
      join(dir, 'bom-interfaces.json'),
      bom(await fs.readFile(join(dir, 'interfaces.json'), 'utf8')),
    );
    const plain = run(
      'replay',
      '--json',
      '--config',
      'config.json',
      '--cloudtrail',
      'trail',
      '--interface-map',
      'interfaces.json',
      '--state',
      'plain-state.json',
      sample,
    );
    expect(plain.code).toBe(0);
    await fs.writeFile(
      join(dir, 'bom-state.json'),
      bom(await fs.readFile(join(dir, 'plain-state.json'), 'utf8')),
    );

    // Act
    const marked = run(
      'replay',
      '--json',
      '--config',
      'bom-config.json',
      '--cloudtrail',
      'trail',
      '--interface-map',
      'bom-interfaces.json',
      sample,
    );
    const resumed = run('replay', '--json', '--state', 'bom-state.json', '--config', 'config.json', sample);

    // Assess: the same alerts (the causes need the interface map), the state read
    expect(marked.stderr).toBe('');
    const alerts = (out: string) => ndjson(out).filter((line) => line.kind !== 'summary');
    expect(alerts(marked.stdout)).toEqual(alerts(plain.stdout));
    expect(alerts(marked.stdout).some((alert) => alert.likelyCause !== undefined)).toBe(true);
    expect(resumed.code).toBe(0);
    expect(ndjson(resumed.stdout).at(-1)).toMatchObject({ windowsSkipped: 96 });
  });

  it('accepts an empty file: a summary of zeros', async () => {
    await fs.writeFile(join(dir, 'empty.log'), '');
    const result = run('replay', '--json', 'empty.log');
    expect(result.code).toBe(0);
    expect(ndjson(result.stdout)).toEqual([
      expect.objectContaining({
        kind: 'summary',
        linesRead: 0,
        recordsCounted: 0,
        windows: 0,
        alerts: 0,
        malformedLines: 0,
      }),
    ]);
    const human = run('replay', 'empty.log');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('No alerts.');
  });

  it('exits 1 when a file cannot be read as gzip', async () => {
    await fs.writeFile(join(dir, 'broken.log.gz'), 'this is not gzip');
    const result = run('replay', 'broken.log.gz');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read "broken.log.gz": not valid gzip data');
  });

  it('writes NDJSON: one object per alert, then the summary, with counts as the file holds them', async () => {
    // Expected: the file recounted line by line (test/support/flow-log-recount), default CIDRs.
    const recount = recountFlowLog(
      await fs.readFile(sample, 'latin1'),
      resolveDetectorConfig({}).internalCidrs,
    );
    const result = run('replay', '--json', sample);
    expect(result.code).toBe(0);
    const objects = ndjson(result.stdout);
    const summary = objects[objects.length - 1];
    const alerts = objects.slice(0, -1) as unknown as Alert[];
    expect(summary).toMatchObject({
      kind: 'summary',
      windows: 96,
      alerts: alerts.length,
      malformedLines: 0,
      linesRead: recount.lines,
      headerLines: recount.headerLines,
      blankLines: recount.blankLines,
      noDataRecords: recount.noDataRecords,
      skipDataRecords: recount.skipDataRecords,
      recordsCounted: recount.recordsCounted,
    });
    expect(recount.recordsCounted).toBeGreaterThan(1000);
    expect(alerts.map((a) => a.kind).sort()).toEqual(
      expect.arrayContaining(['mass-spike', 'new-source', 'spike']),
    );
    const counted = (alert: Alert, srcIp: string) =>
      recount.counted.get(`${Date.parse(alert.windowStart)} ${srcIp}`) ?? 0;
    for (const alert of alerts) {
      expect(alert.windowStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00Z$/);
      if (alert.kind === 'mass-spike') {
        expect(alert.srcIps!.length).toBeGreaterThan(1);
        expect(alert.blockedCount).toBe(alert.srcIps!.reduce((sum, ip) => sum + counted(alert, ip), 0));
        expect(alert.baseline).toBeNull();
      } else {
        expect(alert.blockedCount).toBe(counted(alert, alert.srcIp!));
        expect(alert.uniqueDestinations).toBeGreaterThanOrEqual(1);
        if (alert.kind === 'new-source') expect(alert).toMatchObject({ baseline: null, severity: 'low' });
        else {
          expect(alert.baseline!.dataPoints).toBeGreaterThan(0);
          expect(alert.blockedCount).toBeGreaterThan(alert.baseline!.mean);
          expect(alert.zScore).toBeGreaterThan(0);
          expect(['medium', 'high']).toContain(alert.severity);
        }
      }
    }
  });

  it('gives the same result with worker threads as in one thread', () => {
    const one = ndjson(run('replay', '--json', '--workers', '1', sample).stdout);
    const two = ndjson(run('replay', '--json', '--workers', '2', sample).stdout);
    expect(one[one.length - 1]).toMatchObject({ workers: 1 });
    expect(two[two.length - 1]).toMatchObject({ workers: 2 });
    expect(two[two.length - 1]?.chunks).toBeGreaterThan(2);
    const strip = (objects: Record<string, unknown>[]) =>
      objects.map(({ elapsedMs: _e, timings: _t, workers: _w, chunks: _c, ...rest }) => rest);
    expect(strip(two)).toEqual(strip(one));
  });

  it('reads a directory of Parquet flow logs as aws s3 sync downloads it, in worker threads, as the text', async () => {
    // Arrange: the sample's records as VPC Flow Logs writes them to S3, in Parquet under
    // Hive-compatible hourly prefixes, and as gzip text
    const lines = (await fs.readFile(sample, 'utf8')).split('\n').filter((line) => line.length > 0);
    const location: FlowLogLocation = {
      bucket: 'parquet',
      prefix: '',
      hiveCompatible: true,
      hourlyPartitions: true,
      fileFormat: 'parquet',
      accounts: ['123456789012'],
      regions: ['us-east-1'],
      firstYear: 2024,
    };
    const parquet = await writeFlowLogObjects(join(dir, 's3'), location, lines);
    await writeFlowLogObjects(
      join(dir, 's3'),
      { ...location, bucket: 'text', fileFormat: 'plain-text' },
      lines,
    );
    expect(parquet.keys.length).toBeGreaterThan(24);

    // Act
    const fromParquet = run('replay', '--json', '--workers', '2', join(dir, 's3', 'parquet'));
    const fromText = run('replay', '--json', '--workers', '1', join(dir, 's3', 'text'));

    // Assess
    expect(fromParquet.code).toBe(0);
    // The files differ in size, and only text files have header lines; the rest is the same.
    const strip = (objects: Record<string, unknown>[]) =>
      objects.map(
        ({
          elapsedMs: _e,
          timings: _t,
          workers: _w,
          chunks: _c,
          bytes: _b,
          headerLines: _h,
          linesRead: _l,
          ...rest
        }) => rest,
      );
    const parquetOut = ndjson(fromParquet.stdout);
    const textOut = ndjson(fromText.stdout);
    const parquetSummary = parquetOut[parquetOut.length - 1]!;
    const textSummary = textOut[textOut.length - 1]!;
    expect(parquetSummary).toMatchObject({ workers: 2, headerLines: 0 });
    expect(parquetSummary.linesRead).toBe(Number(textSummary.linesRead) - Number(textSummary.headerLines));
    expect(parquetOut.length).toBeGreaterThan(1);
    expect(strip(parquetOut)).toEqual(strip(textOut));
  }, 60_000);

  it('saves state and skips the windows it already holds on the next run', async () => {
    const first = run('replay', '--json', '--state', 'state.json', sample);
    expect(first.code).toBe(0);
    const state = JSON.parse(await fs.readFile(join(dir, 'state.json'), 'utf8')) as {
      watermark: string;
      baselines: Record<string, unknown>;
    };
    expect(state.watermark).toBe('2026-10-04T23:00:00Z');
    // 19 IPv4 hosts and the new one; the IPv6 hosts are external under the default internalCidrs.
    expect(Object.keys(state.baselines).length).toBe(20);
    const second = ndjson(run('replay', '--json', '--state', 'state.json', sample).stdout);
    expect(second).toEqual([
      expect.objectContaining({ kind: 'summary', alerts: 0, windowsSkipped: 96, detectedWindows: 0 }),
    ]);
    await fs.writeFile(join(dir, 'bad-state.json'), JSON.stringify({ ...state, clock: 'soon' }));
    const bad = run('replay', '--state', 'bad-state.json', sample);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('state file "bad-state.json".clock');
  });

  it('refuses a state keyed otherwise than the input (vpc-id in one format only) with exit 2, leaving it as it was', async () => {
    // Prepare: a state from the sample, and the sample again with a vpc-id column
    expect(run('replay', '--json', '--state', 'keys-state.json', sample).code).toBe(0);
    const saved = await fs.readFile(join(dir, 'keys-state.json'), 'utf8');
    const [header, ...lines] = (await fs.readFile(sample, 'utf8')).trimEnd().split('\n');
    await fs.writeFile(
      join(dir, 'by-vpc.log'),
      [`${header} vpc-id`, ...lines.map((line) => `${line} vpc-0abc1234`)].join('\n') + '\n',
    );

    // Act
    const byVpc = run('replay', '--json', '--state', 'keys-state.json', 'by-vpc.log');
    const fresh = run('replay', '--json', 'by-vpc.log');

    // Assess: refused before any window, the state untouched; the same file without a state runs
    expect(byVpc.code).toBe(2);
    expect(byVpc.stderr).toContain(
      "the state's baselines are keyed account|address, this input's sources account|vpc|address",
    );
    expect(await fs.readFile(join(dir, 'keys-state.json'), 'utf8')).toBe(saved);
    expect(fresh.code).toBe(0);
  });

  it('--cloudtrail with --interface-map: the rollout names its likely cause in the text and the NDJSON', async () => {
    // A digest file among the log files is skipped, as CloudTrail delivers both to the bucket.
    await fs.mkdir(join(dir, 'trail', 'digest'), { recursive: true });
    await fs.writeFile(
      join(dir, 'trail', 'digest', '123456789012_CloudTrail-Digest_us-east-1_sample.json'),
      JSON.stringify({ digestStartTime: '2026-10-01T00:00:00Z', logFiles: [] }),
    );
    const text = run('replay', '--cloudtrail', 'trail', '--interface-map', 'interfaces.json', sample);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Likely causes (CloudTrail):');
    expect(text.stdout).toMatch(
      /mass spike: RevokeSecurityGroupEgress on sg-0f1ee7000000000b2 \(egress tcp\/443 to 198\.51\.100\.77\/32, 2001:db8:ffff::10\/128 removed\) by arn:aws:sts::123456789012:assumed-role\/Deployer\/jane at 14:52 UTC, 8 minutes before the window; explains (\d+) of \1 sources/,
    );
    expect(text.stdout).toMatch(
      /cloudtrail +4 files \(1 digest files skipped\), \d+ events from .*3 egress-policy changes; 1 interface map file/,
    );
    const objects = ndjson(
      run('replay', '--json', '--cloudtrail', 'trail', '--interface-map', 'interfaces.json', sample).stdout,
    );
    const rollout = objects.find((o) => o.kind === 'mass-spike');
    expect(rollout).toMatchObject({
      windowStart: new Date(truth.rollout.windowStart).toISOString().replace('.000Z', 'Z'),
      likelyCause: { eventId: ROLLOUT_EVENT_ID, eventName: 'RevokeSecurityGroupEgress' },
      causeLookup: { status: 'found' },
    });
    expect(objects.at(-1)).toMatchObject({ kind: 'summary', cloudTrail: { files: 4, changes: 3 } });
  });

  it.each([
    [
      ['--interface-map', 'interfaces.json'],
      '--interface-map relates CloudTrail changes to sources: it needs --cloudtrail',
    ],
    [['--cloudtrail', 'no-such-dir'], '--cloudtrail: cannot read "no-such-dir": no such file or directory'],
    [['--cloudtrail', 'interfaces.json'], '--cloudtrail: "interfaces.json" is not a CloudTrail log file'],
    [
      ['--cloudtrail', 'trail', '--interface-map', 'bad-map.json'],
      'bad-map.json.NetworkInterfaces[0].NetworkInterfaceId: not a network interface id (got "nic-1")',
    ],
  ])('exits 2 on bad change inputs %j, naming them, before any scanning', async (args, message) => {
    await fs.writeFile(
      join(dir, 'bad-map.json'),
      JSON.stringify({ NetworkInterfaces: [{ NetworkInterfaceId: 'nic-1' }] }),
    );
    const result = run('replay', ...args, sample);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('writes a self-contained HTML report with untrusted strings escaped', async () => {
    // Prepare: a new host with a burst (after a first window, which a fresh replay only learns),
    // from an interface id and a file name made to inject markup.
    const evil = '<script>alert(1)</script>';
    const rows = Array.from(
      { length: 150 },
      (_, i) =>
        `2 123456789012 eni-${evil} 10.9.9.9 203.0.113.${i % 200} 40000 443 6 1 60 ${T0 + 3600 + i} ${T0 + 3600 + i + 5} REJECT OK`,
    );
    rows.unshift(`2 123456789012 eni-0a1 10.0.0.1 203.0.113.1 40000 443 6 1 60 ${T0} ${T0 + 5} REJECT OK`);
    const name = '<img src=x onerror=alert(2)>.log';
    await fs.writeFile(join(dir, name), rows.join('\n'));
    // Act
    const result = run('replay', '--report', 'out/report.html', name);
    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('HTML report written to out/report.html');
    const html = await fs.readFile(join(dir, 'out', 'report.html'), 'utf8');
    expect(html).not.toContain(evil);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('eni-&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('&#60;img src=x onerror=alert(2)&#62;.log');
    // Self-contained: no external scripts, styles or images; the chart library is inline.
    expect(html).not.toMatch(/<script[^>]+src=|<link |<img /);
    expect(html).toContain('uPlot');
    expect(html).toContain('10.9.9.9');
  });
});

describe('egress-spike replay limits (built CLI)', () => {
  it.each([['500'], ['33']])('refuses --workers %s: more scan threads than it allows, exit 2', (n) => {
    const result = run('replay', '--workers', n, sample);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--workers must be a whole number from 1 to 32');
    expect(result.stdout).toBe('');
  });

  it('refuses an inconsistent state file with exit 2 naming the field, and leaves it as it was', async () => {
    // Prepare: a state saved by a run, then its watermark moved off the window grid.
    expect(run('replay', '--json', '--state', 'good-state.json', sample).code).toBe(0);
    const state = JSON.parse(await fs.readFile(join(dir, 'good-state.json'), 'utf8')) as {
      watermark: string;
    };
    const text = `${JSON.stringify({ ...state, watermark: state.watermark.replace(':00:00Z', ':30:00Z') }, null, 2)}\n`;
    await fs.writeFile(join(dir, 'shifted-state.json'), text);
    // Act
    const result = run('replay', '--json', '--state', 'shifted-state.json', sample);
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('state file "shifted-state.json".watermark');
    expect(result.stderr).toContain('not aligned to 60-minute windows');
    expect(result.stdout).toBe('');
    expect(await fs.readFile(join(dir, 'shifted-state.json'), 'utf8')).toBe(text);
  });

  it('refuses --bootstrap-days with a state file that has a watermark (exit 2), as the Lambda refuses a bootstrap once it runs', async () => {
    // Prepare: a state saved by a run
    expect(run('replay', '--json', '--state', 'resumed-state.json', sample).code).toBe(0);
    const text = await fs.readFile(join(dir, 'resumed-state.json'), 'utf8');

    // Act: the next part of the logs, with the flag a first run used
    const result = run('replay', '--json', '--state', 'resumed-state.json', '--bootstrap-days', '3', sample);

    // Assess: nothing learned without detecting, the state as it was
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--bootstrap-days learns the baselines of a detector without state, but the state file "resumed-state.json" already has a watermark (2026-10-04T23:00:00Z)',
    );
    expect(result.stdout).toBe('');
    expect(await fs.readFile(join(dir, 'resumed-state.json'), 'utf8')).toBe(text);
  });

  it('exits 2 when the input spans more windows than --max-windows, naming the option', async () => {
    const rows = [T0, T0 + 2000 * 3600].map(
      (t) => `2 123456789012 eni-0a1 10.0.0.1 203.0.113.1 40000 443 6 1 60 ${t} ${t + 5} REJECT OK`,
    );
    await fs.writeFile(join(dir, 'long.log'), rows.join('\n'));
    const refused = run('replay', '--max-windows', '2000', 'long.log');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the input spans 2,001 windows of 60 minutes');
    expect(refused.stderr).toContain('raise --max-windows to evaluate them all');
    expect(refused.stdout).toBe('');
    const lifted = run('replay', '--json', '--max-windows', '2001', 'long.log');
    expect(lifted.code).toBe(0);
    expect(ndjson(lifted.stdout).pop()).toMatchObject({ kind: 'summary', windows: 2001 });
  });

  it('takes --workers 32 (the most it allows)', () => {
    const result = run('replay', '--json', '--workers', '32', sample);
    expect(result.code).toBe(0);
    expect(ndjson(result.stdout).pop()).toMatchObject({ kind: 'summary', windows: 96 });
  });
});
