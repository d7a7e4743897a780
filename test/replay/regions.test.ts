/**
 * Flow logs of several Regions in one replay: S3 keeps every Region under `AWSLogs/<account>/
 * vpcflowlogs/<region>/`, and replay.md's `aws s3 sync .../AWSLogs/` brings them all. Each Region
 * has its own detector (and baselines), and the default format names no Region or VPC, so one
 * account's address in two Regions (every default VPC is 172.31.0.0/16) must not become one
 * source: the replay refuses such an input and `--region` replays one Region as its detector
 * counts it. With `vpc-id` in the format the sources stay apart and nothing is refused.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDetectorConfig, type Alert } from '../../lambda/core';
import { runReplayCli } from '../support/replay-cli';
import { regionOfPath } from '../../lambda/replay/file-reader';
import { runReplay, SeveralRegionsError } from '../../lambda/replay/replay';

const ACCOUNT = '111111111111';
const HOUR = 3600;
const T0 = Date.UTC(2026, 9, 1) / 1000;
const DAYS = 4;
const V2 =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const WITH_VPC =
  'version account-id vpc-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

let root: string;
const config = resolveDetectorConfig({ preset: 'recommended', internalCidrs: ['172.16.0.0/12'] });

/**
 * eu-west-1's 172.31.5.10 blocks 10-14 records every hour for four days; us-east-1's host of the
 * same address only appears in the last hour, with 150 (a new source there); a quiet us-east-1
 * host keeps that Region's detector busy.
 */
async function writeRegions(base: string, vpc: boolean): Promise<{ eu: string; us: string }> {
  const line = (vpcId: string, start: number, src: string, dst: string) =>
    `2 ${ACCOUNT} ${vpc ? `${vpcId} ` : ''}eni-0a1b2c3d4e5f60000 ${src} ${dst} 49152 443 6 3 180 ${start} ${start + 60} REJECT OK`;
  const eu = [vpc ? WITH_VPC : V2];
  for (let h = 0; h < DAYS * 24; h += 1)
    for (let k = 0; k < 10 + (h % 5); k += 1)
      eu.push(line('vpc-0e0e0e0e', T0 + h * HOUR + k * 60, '172.31.5.10', '203.0.113.9'));
  const us = [vpc ? WITH_VPC : V2];
  for (let h = 0; h < DAYS * 24; h += 1)
    for (let k = 0; k < 2; k += 1)
      us.push(line('vpc-0a0a0a0a', T0 + h * HOUR + k * 60, '172.31.9.9', '203.0.113.9'));
  const last = T0 + (DAYS * 24 - 1) * HOUR;
  for (let k = 0; k < 150; k += 1)
    us.push(line('vpc-0a0a0a0a', last + k * 20, '172.31.5.10', '198.51.100.7'));
  const file = async (region: string, lines: string[]) => {
    const dir = join(base, 'AWSLogs', ACCOUNT, 'vpcflowlogs', region, '2026', '10', '01');
    await fs.mkdir(dir, { recursive: true });
    const path = join(dir, `${ACCOUNT}_vpcflowlogs_${region}_fl-0a1b2c3d_20261001T0000Z_a1b2c3d4.log`);
    await fs.writeFile(path, `${lines.join('\n')}\n`);
    return path;
  };
  return { eu: await file('eu-west-1', eu), us: await file('us-east-1', us) };
}

const brief = (alerts: readonly Alert[]) =>
  alerts
    .map(
      (a) => `${a.windowStart} ${a.kind} ${a.accountId}|${a.vpcId ?? ''}|${a.srcIp ?? ''} ${a.blockedCount}`,
    )
    .sort();

const cli = (args: string[]) => runReplayCli(args);

beforeAll(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'replay-regions-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('a replay of several Regions', () => {
  it('reads the Region from S3 paths and file names as VPC Flow Logs and Security Lake write them', () => {
    expect(regionOfPath(`logs/AWSLogs/${ACCOUNT}/vpcflowlogs/eu-west-1/2026/10/01/x.log.gz`)).toBe(
      'eu-west-1',
    );
    expect(
      regionOfPath(
        'AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/a.parquet',
      ),
    ).toBe('us-east-1');
    expect(regionOfPath(`/tmp/${ACCOUNT}_vpcflowlogs_ap-southeast-2_fl-1_20261001T0000Z_a.log`)).toBe(
      'ap-southeast-2',
    );
    expect(regionOfPath('lake/region=eu-central-1/accountId=1/x.parquet')).toBe('eu-central-1');
    expect(regionOfPath('flows.log')).toBeUndefined();
    expect(regionOfPath('backup/us-east-1/flows.log')).toBeUndefined();
  });

  it('refuses files of two Regions whose records name no VPC (exit 2), and --region replays one as its detector counts it', async () => {
    // Prepare
    const base = join(root, 'default-format');
    const { eu, us } = await writeRegions(base, false);
    const usAlone = await runReplay({ inputs: [us], config, workers: 1 });
    const euAlone = await runReplay({ inputs: [eu], config, workers: 1 });

    // Act
    const merged = await runReplay({ inputs: [base], config, workers: 1 }).catch((error: unknown) => error);
    const refused = await cli(['replay', base]);
    const usOnly = await runReplay({ inputs: [base], config, workers: 1, region: 'us-east-1' });
    const text = await cli(['replay', '--region', 'eu-west-1', base]);
    const badRegion = await cli(['replay', '--region', 'Europe', base]);

    // Assess
    expect(merged).toBeInstanceOf(SeveralRegionsError);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the input holds flow logs of 2 Regions (eu-west-1, us-east-1');
    expect(refused.stderr).toContain('--region <region>');
    expect(brief(usAlone.alerts)).toEqual([`2026-10-04T23:00:00Z new-source ${ACCOUNT}||172.31.5.10 150`]);
    expect(brief(usOnly.alerts)).toEqual(brief(usAlone.alerts));
    expect(usOnly.summary).toMatchObject({ files: 1, filesInOtherRegions: 1 });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('1 of other Regions left out');
    expect(brief(euAlone.alerts)).toEqual([]);
    expect(badRegion.code).toBe(2);
    expect(badRegion.stderr).toContain('--region must be an AWS Region');
  });

  it("refuses a --region none of the files are of, and a state file of another Region's flow logs (exit 2)", async () => {
    // Prepare
    const base = join(root, 'state');
    const { eu, us } = await writeRegions(base, false);
    const euState = join(root, 'eu-state.json');
    const guessed = join(root, 'guessed-state.json');

    // Act
    const typo = await cli(['replay', '--region', 'eu-west-2', base]);
    const first = await cli(['replay', '--region', 'eu-west-1', '--state', euState, base]);
    const other = await cli(['replay', '--region', 'us-east-1', '--state', euState, base]);
    // Without --region, a state file takes the one Region its files name.
    const fromFile = await cli(['replay', '--state', guessed, eu]);
    const otherFile = await cli(['replay', '--state', guessed, us]);

    // Assess
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      '--region eu-west-2: no input file is of that Region (their S3 paths name eu-west-1, us-east-1)',
    );
    expect(first.code).toBe(0);
    expect(JSON.parse(await fs.readFile(euState, 'utf8'))).toMatchObject({ region: 'eu-west-1' });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(
      "the state file's baselines are of eu-west-1's flow logs, this replay's are of us-east-1",
    );
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(await fs.readFile(guessed, 'utf8'))).toMatchObject({ region: 'eu-west-1' });
    expect(otherFile.code).toBe(2);
  });

  it("reads files whose paths name no Region beside another Region's, and never stamps a state with one Region from several", async () => {
    // Prepare: us-east-1's file under its S3 path, and the eu-west-1 file copied to a path that
    // names no Region; then two Regions with vpc-id (replayed together, no --region)
    const base = join(root, 'mixed');
    const { eu, us } = await writeRegions(base, false);
    const plain = join(root, 'plain');
    await fs.mkdir(plain, { recursive: true });
    await fs.copyFile(eu, join(plain, 'flows.log'));
    const vpcBase = join(root, 'mixed-vpc');
    await writeRegions(vpcBase, true);
    const euState = join(root, 'mixed-eu-state.json');
    const bothState = join(root, 'both-state.json');

    // Act
    const withPlain = await cli(['replay', '--region', 'eu-west-1', plain, us]);
    const stamped = await cli(['replay', '--region', 'eu-west-1', '--state', euState, plain]);
    const both = await cli(['replay', '--state', euState, vpcBase]);
    const unstamped = await cli(['replay', '--state', bothState, vpcBase]);

    // Assess
    expect(withPlain.code).toBe(0);
    expect(withPlain.stdout).toContain('1 of other Regions left out');
    expect(stamped.code).toBe(0);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain(
      "the state file's baselines are of eu-west-1's flow logs, this replay's are of us-east-1",
    );
    expect(unstamped.code).toBe(0);
    // --region of another Region than the state's, over files whose paths name none: refused.
    const plainOther = await cli(['replay', '--region', 'us-east-1', '--state', euState, plain]);
    expect(plainOther.code).toBe(2);
    expect(JSON.parse(await fs.readFile(bothState, 'utf8'))).not.toHaveProperty('region');
  });

  it('keeps two Regions apart by VPC where the format has vpc-id: nothing refused, the same alerts as each Region alone', async () => {
    // Prepare
    const base = join(root, 'with-vpc');
    const { eu, us } = await writeRegions(base, true);
    const alone = [
      ...(await runReplay({ inputs: [eu], config, workers: 1 })).alerts,
      ...(await runReplay({ inputs: [us], config, workers: 1 })).alerts,
    ];

    // Act
    const both = await runReplay({ inputs: [base], config, workers: 1 });

    // Assess
    expect(both.summary.sources).toBe(3);
    expect(brief(both.alerts)).toEqual(brief(alone));
    expect(brief(both.alerts)).toContain(
      `2026-10-04T23:00:00Z new-source ${ACCOUNT}|vpc-0a0a0a0a|172.31.5.10 150`,
    );
  });
});
