/**
 * The replay's HTML report of the bundled sample, and headless Chromium to look at it: shared by
 * the browser test (test/replay/report-browser.test.ts) and `npm run docs:screenshot`, so the
 * screenshot in docs/ is of exactly the report the test checks.
 *
 * Chromium is Debian's `chromium` package (`.ci/run` installs it), driven by playwright-core,
 * which needs no browser download of its own. A missing browser is an error, never a skip.
 */
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { runReplayCli } from './replay-cli';

export const ROOT = join(__dirname, '..', '..');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine with no network: no sandbox (containers, root), no
 * GPU, and none of the background connections (updates, sync, component downloads) that a closed
 * network refuses. Playwright gives each launch a fresh, temporary user-data-dir.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(
      `Chromium not found at ${path}: install Debian's chromium package (apt-get update && apt-get install -y chromium), or set CHROMIUM_PATH`,
    );
    this.name = 'ChromiumMissingError';
  }
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new ChromiumMissingError(CHROMIUM_PATH);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * The arguments `npm start` passes to `egress-spike` (from package.json, so the two cannot
 * differ), with the report written to `reportPath` instead of out/.
 */
export async function sampleReplayArguments(reportPath: string): Promise<string[]> {
  const scripts = (
    JSON.parse(await fs.readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const start = scripts.start ?? '';
  const command = 'node dist/egress-spike.js ';
  if (!start.startsWith(command)) throw new Error(`npm start is not "${command}...": ${start}`);
  const args = start.slice(command.length).trim().split(/\s+/);
  const report = args.indexOf('--report');
  if (report < 0 || args[report + 1] === undefined) throw new Error(`npm start writes no --report: ${start}`);
  args[report + 1] = reportPath;
  return args;
}

/** Runs the replay of the bundled sample as `npm start` does (in this process) and returns its HTML report. */
export async function renderSampleReport(): Promise<{ html: string; stdout: string }> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'sample-report-'));
  try {
    const reportPath = join(dir, 'report.html');
    // npm start runs from the repository root; its paths (and the report's "input" line) are relative to it.
    const { code, stdout, stderr } = await runReplayCli(await sampleReplayArguments(reportPath), {
      cwd: ROOT,
    });
    if (code !== 0) throw new Error(`the sample replay exited ${code}: ${stderr}`);
    return { html: await fs.readFile(reportPath, 'utf8'), stdout };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The screenshots in docs/: the top of the report (summary, alerts per day, the alerts table)
 * and its first chart; and the record of which report they show.
 */
export const SCREENSHOT_PATHS = {
  page: join(ROOT, 'docs', 'report-screenshot.png'),
  chart: join(ROOT, 'docs', 'report-chart.png'),
};
export const SCREENSHOT_RECORD_PATH = join(ROOT, 'docs', 'report-screenshot.json');
export const SCREENSHOT_VIEWPORT = { width: 1100, height: 1400 };

export interface ScreenshotRecord {
  /** reportFingerprint of the report the PNGs show. */
  report: string;
  /** How they were made. */
  command: string;
  /** Their sizes, by name (as in SCREENSHOT_PATHS). */
  sizes: Record<keyof typeof SCREENSHOT_PATHS, { width: number; height: number }>;
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = '89504e470d0a1a0a';
  if (png.subarray(0, 8).toString('hex') !== signature || png.subarray(12, 16).toString('latin1') !== 'IHDR')
    throw new Error('not a PNG file');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
