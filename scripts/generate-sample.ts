/**
 * `npm run sample [-- --out file --days n --hosts n --scale x --seed n]`: writes the deterministic
 * flow log sample (v2 format, header line first; gzip when the name ends in .gz), and its
 * CloudTrail log files and interface map (change-aware alerts; `--cloudtrail-dir`, `--interface-map`),
 * by default beside the flow log file: a sample written elsewhere leaves the bundled one whole.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { isoTime } from '../lambda/core/windows';
import { writeSampleChanges } from './cloudtrail-sample';
import { writeSample } from './flow-log-sample';

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};
const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const program = new Command('generate-sample')
  .description('write a deterministic VPC flow log sample with injected events')
  .option('--out <file>', 'output file (.gz for gzip)', 'samples/vpc-flow-logs.log.gz')
  .option('--days <n>', 'days of hourly windows', positiveInt, 21)
  .option('--hosts <n>', 'internal hosts', positiveInt, 60)
  .option('--scale <x>', 'multiplier for never-counted background records', positiveNumber, 1)
  .option('--seed <n>', 'random seed', positiveInt, 20260301)
  .option(
    '--cloudtrail-dir <dir>',
    "where the CloudTrail log files go (default: cloudtrail/ beside --out's file)",
  )
  .option(
    '--interface-map <file>',
    "where the interface map goes (default: interface-map.json beside --out's file)",
  )
  .action(
    async (options: {
      out: string;
      days: number;
      hosts: number;
      scale: number;
      seed: number;
      cloudtrailDir?: string;
      interfaceMap?: string;
    }) => {
      const cloudtrailDir = options.cloudtrailDir ?? join(dirname(options.out), 'cloudtrail');
      const interfaceMap = options.interfaceMap ?? join(dirname(options.out), 'interface-map.json');
      await mkdir(dirname(options.out), { recursive: true });
      const truth = await writeSample(options.out, {
        days: options.days,
        hosts: options.hosts,
        backgroundScale: options.scale,
        seed: options.seed,
      });
      console.log(
        `wrote ${options.out}: ${options.days} days from ${isoTime(truth.startMs)}, ${truth.hosts.length} hosts`,
      );
      console.log(
        `  exfiltration spike  ${truth.exfiltration.srcIp} at ${isoTime(truth.exfiltration.windowStart)}`,
      );
      console.log(
        `  policy rollout      ${truth.rollout.srcIps.length} hosts at ${isoTime(truth.rollout.windowStart)}`,
      );
      console.log(`  new host burst      ${truth.newHost.srcIp} at ${isoTime(truth.newHost.windowStart)}`);
      console.log(`  SKIPDATA window     ${isoTime(truth.skipDataWindow)}`);
      const changes = await writeSampleChanges(truth, cloudtrailDir, interfaceMap);
      console.log(
        `wrote ${changes.cloudTrailFiles.length} CloudTrail log files to ${cloudtrailDir} and ${changes.interfaceMap}`,
      );
    },
  );

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
