/**
 * `egress-spike replay [options] <file|dir>...`: the command line of the backtest.
 * Exit codes: 0 done, 2 usage or configuration error (the message names the option, value or
 * file), 1 failure while running.
 */
import { promises as fs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, PRESETS, resolveDetectorConfig, type DetectorConfig } from '../core/config';
import { parseFlowLogFormat } from '../core/flow-log-format';
import { isoTime } from '../core/windows';
import { ChangeInputError, readChangeInputs } from './change-files';
import { expandInputs, InputFileError, withoutBom } from './file-reader';
import { renderReport } from './html-report';
import { MemoryBaselineStore, StateFileError } from './memory-store';
import { DEFAULT_BASELINE_TTL_DAYS } from '../baseline-expiry';
import {
  DEFAULT_MAX_WINDOWS,
  MAX_BASELINE_TTL_DAYS,
  MAX_WORKERS,
  RegionMismatchError,
  runReplay,
  SeveralRegionsError,
  SourceKeysChangedError,
  WindowSpanError,
} from './replay';
import { toHumanText, toNdjson } from './text-output';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A usage or configuration problem: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class ReportWriteError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ReportWriteError';
  }
}

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** The built scan-worker script, when running from the bundle. */
  workerScript?: string;
}

interface ReplayFlags {
  format?: string;
  preset?: (typeof PRESETS)[number];
  bootstrapDays?: number;
  state?: string;
  config?: string;
  json?: boolean;
  report?: string;
  workers?: number;
  maxWindows?: number;
  baselineTtlDays?: number;
  region?: string;
  cloudtrail?: string[];
  interfaceMap?: string[];
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const positiveInteger =
  (label: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${label} must be a positive whole number.`);
    return n;
  };

const wholeNumberUpTo =
  (label: string, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0 || n > max)
      throw new InvalidArgumentError(`${label} must be a whole number from 1 to ${max}.`);
    return n;
  };

const regionArgument = (value: string): string => {
  if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(value))
    throw new InvalidArgumentError(`--region must be an AWS Region such as eu-west-1, not "${value}".`);
  return value;
};

const formatArgument = (value: string): string => {
  try {
    return parseFlowLogFormat(value).join(' ');
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

function buildProgram(io: CliIo, run: (paths: string[], flags: ReplayFlags) => Promise<void>): Command {
  const program = new Command('egress-spike')
    .description('Blocked-egress spike detector: local tools')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program
    .command('replay')
    .description(
      'backtest VPC flow log files (plain, .gz or .parquet; files or directories) with the detection engine',
    )
    .argument('<paths...>', 'flow log files or directories (searched recursively)')
    .addOption(
      new Option(
        '--format <fields>',
        'flow log format: field names as in AWS format strings (a header line in a file wins)',
      ).argParser(formatArgument),
    )
    .addOption(new Option('--preset <name>', 'detection preset (overrides the config file)').choices(PRESETS))
    .addOption(
      new Option(
        '--bootstrap-days <n>',
        'build baselines from the first n days of windows, then detect',
      ).argParser(positiveInteger('--bootstrap-days')),
    )
    .option('--state <file>', 'load baselines from this JSON file and save them back')
    .option('--config <file>', 'detection parameters (JSON, the same schema as the Lambda)')
    .option('--json', 'NDJSON on stdout: one object per alert, then a summary object')
    .option('--report <file.html>', 'write a self-contained HTML report with charts')
    .addOption(
      new Option(
        '--workers <n>',
        `scan threads for large inputs, 1 to ${MAX_WORKERS} (default: the cores, at most 8)`,
      ).argParser(wholeNumberUpTo('--workers', MAX_WORKERS)),
    )
    .addOption(
      new Option(
        '--max-windows <n>',
        // Not toLocaleString: that loads ICU's locale data, some 100 M instructions at every start.
        `the most windows to evaluate, quiet ones included (default ${String(DEFAULT_MAX_WINDOWS).replace(/\B(?=(\d{3})+$)/g, ',')})`,
      ).argParser(positiveInteger('--max-windows')),
    )
    .addOption(
      new Option(
        '--baseline-ttl-days <n>',
        `forget a source's baseline after n days without blocked records, as the Lambda's BASELINE_TTL_DAYS does (1 to ${MAX_BASELINE_TTL_DAYS}, default ${DEFAULT_BASELINE_TTL_DAYS})`,
      ).argParser(wholeNumberUpTo('--baseline-ttl-days', MAX_BASELINE_TTL_DAYS)),
    )
    .addOption(
      new Option(
        '--region <region>',
        "replay one Region's flow logs, as its detector counts them: files whose S3 path names another Region are left out",
      ).argParser(regionArgument),
    )
    .option(
      '--cloudtrail <file|dir>',
      'CloudTrail log files as delivered to S3 (.json or .json.gz, directories searched): each spike names the egress-policy change that likely caused it (repeatable)',
      collect,
    )
    .option(
      '--interface-map <file>',
      'with --cloudtrail: the network facts EC2 would give (the JSON of aws ec2 describe-network-interfaces, describe-network-acls, describe-security-group-rules; repeatable)',
      collect,
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .action(run);
  return program;
}

async function loadConfig(flags: ReplayFlags): Promise<DetectorConfig> {
  let input: Record<string, unknown> = {};
  const origin = flags.config ?? 'config';
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = await fs.readFile(flags.config, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(
        `--config: cannot read "${flags.config}": ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(withoutBom(text));
    } catch (error) {
      throw new UsageError(`--config "${flags.config}": not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new UsageError(`--config "${flags.config}": expected a JSON object of detection parameters`);
    }
    input = value as Record<string, unknown>;
  }
  if (flags.preset !== undefined) input = { ...input, preset: flags.preset };
  if (flags.format !== undefined) input = { ...input, flowLogFormat: flags.format };
  return resolveDetectorConfig(input, origin);
}

function progressReporter(io: CliIo): ((done: number, total: number) => void) | undefined {
  // Only for people watching a terminal, and only for inputs that take a while.
  if (!io.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    if (total < 64 * 1024 * 1024) return;
    const now = Date.now();
    if (now - last < 250 && done < total) return;
    last = now;
    const percent = Math.floor((100 * done) / total);
    io.stderr.write(
      `\rscanning ${percent}% of ${(total / 1_048_576).toFixed(0)} MB${done >= total ? '\r\x1b[K' : ''}`,
    );
  };
}

async function replayCommand(paths: string[], flags: ReplayFlags, io: CliIo): Promise<void> {
  const config = await loadConfig(flags);
  await expandInputs(paths); // missing inputs are usage errors, found before any work
  if (flags.interfaceMap !== undefined && flags.cloudtrail === undefined) {
    throw new UsageError('--interface-map relates CloudTrail changes to sources: it needs --cloudtrail');
  }
  // Read (and checked) before the scan: a bad CloudTrail file costs no scanning.
  const changes =
    flags.cloudtrail === undefined
      ? undefined
      : await readChangeInputs(flags.cloudtrail, flags.interfaceMap ?? []);
  const store =
    flags.state === undefined
      ? new MemoryBaselineStore()
      : await MemoryBaselineStore.load(flags.state, config);
  // A resumed run's first windows would be learned without being decided: alerts lost. The
  // Lambda refuses a bootstrap once it has a watermark too (BootstrapRefusedError).
  if (flags.bootstrapDays !== undefined && store.watermark !== undefined) {
    throw new UsageError(
      `--bootstrap-days learns the baselines of a detector without state, but the state file "${flags.state}" ` +
        `already has a watermark (${isoTime(store.watermark)}): leave --bootstrap-days out to resume from it ` +
        '(a run resumed in parts decides the same alerts as one run)',
    );
  }
  const result = await runReplay({
    inputs: paths,
    config,
    store,
    bootstrapDays: flags.bootstrapDays,
    workers: flags.workers,
    maxWindows: flags.maxWindows,
    baselineTtlDays: flags.baselineTtlDays,
    ...(flags.region === undefined ? {} : { region: flags.region }),
    workerScript: io.workerScript,
    collectSeries: flags.report !== undefined,
    onProgress: progressReporter(io),
    ...(changes === undefined ? {} : { changes }),
  });
  if (flags.report !== undefined) {
    try {
      await fs.mkdir(dirname(resolve(flags.report)), { recursive: true });
      await fs.writeFile(flags.report, renderReport(result, { inputs: paths }));
    } catch (error) {
      throw new ReportWriteError(
        `cannot write report "${flags.report}": ${(error as Error).message}`,
        flags.report,
        { cause: error },
      );
    }
  }
  if (flags.state !== undefined) await result.store.save(flags.state, config);
  if (flags.json) {
    io.stdout.write(toNdjson(result));
    if (flags.report !== undefined) io.stderr.write(`HTML report written to ${flags.report}\n`);
  } else {
    io.stdout.write(toHumanText(result, { inputs: paths, reportPath: flags.report, statePath: flags.state }));
  }
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io, (paths, flags) => replayCommand(paths, flags, io));
  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return EXIT_OK;
      }
      return EXIT_USAGE; // commander has printed the message naming the option
    }
    const usage =
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof ChangeInputError ||
      error instanceof WindowSpanError ||
      error instanceof SourceKeysChangedError ||
      error instanceof SeveralRegionsError ||
      error instanceof RegionMismatchError ||
      (error instanceof StateFileError && error.operation === 'load') ||
      (error instanceof InputFileError && error.phase === 'find');
    io.stderr.write(`egress-spike: ${(error as Error).message}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}
