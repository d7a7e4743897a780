/**
 * The HTML report of the bundled sample, as `npm start` writes it, in a real browser (headless
 * Chromium): it loads with no console error and no failed request, every alerted source's chart
 * and the alerts-per-day plot have drawn (their canvases hold the series' own colours), and it
 * stays usable at a phone's width. The screenshots in docs/ are of this same report.
 *
 * Needs Debian's chromium (`.ci/run` installs it); without it the suite fails, it does not skip.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { reportFingerprint } from '../../lambda/replay/html-report';
import { buildCli } from '../../scripts/build-cli';
import { v2Line } from '../parity/parity';
import {
  launchChromium,
  pngSize,
  renderSampleReport,
  SCREENSHOT_PATHS,
  SCREENSHOT_RECORD_PATH,
  type ScreenshotRecord,
} from '../support/report-browser';

jest.setTimeout(120_000);

const CLI = join(__dirname, '..', '..', 'dist', 'egress-spike.js');

interface ReportData {
  colors: {
    counts: string;
    spikeAt: string;
    severity: Record<string, string>;
    kinds: Record<string, string>;
  };
  perDay: { days: number[]; counts: Record<string, number[]> };
  sources: { srcIp: string; spikeAt: (number | null)[]; alerts: { severity: string }[] }[];
}

let html: string;
let dir: string;
let reportUrl: string;
let browser: Browser;

beforeAll(async () => {
  ({ html } = await renderSampleReport());
  dir = await fs.mkdtemp(join(tmpdir(), 'report-browser-'));
  const path = join(dir, 'replay-report.html');
  await fs.writeFile(path, html);
  reportUrl = pathToFileURL(path).href;
});

afterAll(async () => {
  await browser?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Opens the report in a fresh context, recording every console error, page error and failed request. */
async function open(options: Parameters<Browser['newContext']>[0]): Promise<{
  context: BrowserContext;
  page: Page;
  problems: string[];
}> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`failed request: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  await page.goto(reportUrl, { waitUntil: 'load' });
  return { context, page, problems };
}

/**
 * In the page: per element of `selector`, how many pixels of its canvas are near each colour
 * (within 40 per channel, opaque enough to be drawn), read back from the canvas itself. Browser
 * code, kept as text (like the report's own chart script): it runs in Chromium, not in Node.
 */
const COLOUR_COUNTS = `({ selector, colours }) => {
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const wanted = Object.entries(colours).map(([name, hex]) => [name, rgb(hex)]);
  return [...document.querySelectorAll(selector)].map((root) => {
    const canvas = root.querySelector('canvas');
    const counts = Object.fromEntries(wanted.map(([name]) => [name, 0]));
    const id = root.getAttribute('data-src-ip') || root.id;
    if (!canvas) return { id, counts };
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i + 3] < 200) continue;
      for (const [name, [r, g, b]] of wanted) {
        if (Math.abs(pixels[i] - r) < 40 && Math.abs(pixels[i + 1] - g) < 40 && Math.abs(pixels[i + 2] - b) < 40) counts[name] += 1;
      }
    }
    return { id, counts };
  });
}`;

function colourCounts(
  page: Page,
  selector: string,
  colours: Record<string, string>,
): Promise<{ id: string; counts: Record<string, number> }[]> {
  return page.evaluate(`(${COLOUR_COUNTS})(${JSON.stringify({ selector, colours })})`);
}

/** In the page: how the report is laid out (widths in CSS px) and the smallest text on it. */
const LAYOUT = `(() => {
  const box = document.querySelector('.scroll');
  const texts = [...document.querySelectorAll('body *')].filter(
    (el) => el.offsetParent !== null && [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== ''),
  );
  const canvases = [...document.querySelectorAll('canvas')];
  return {
    innerWidth: window.innerWidth,
    documentWidth: document.documentElement.scrollWidth,
    bodyWidth: document.body.scrollWidth,
    table: { overflowX: getComputedStyle(box).overflowX, scrolls: box.scrollWidth > box.clientWidth, right: box.getBoundingClientRect().right },
    smallestFontPx: Math.min(...texts.map((el) => parseFloat(getComputedStyle(el).fontSize))),
    textElements: texts.length,
    canvasRight: Math.max(...canvases.map((c) => c.getBoundingClientRect().right)),
    canvases: canvases.length,
  };
})()`;

interface Layout {
  innerWidth: number;
  documentWidth: number;
  bodyWidth: number;
  table: { overflowX: string; scrolls: boolean; right: number };
  smallestFontPx: number;
  textElements: number;
  canvasRight: number;
  canvases: number;
}

const reportData = (page: Page): Promise<ReportData> =>
  page.evaluate(`JSON.parse(document.getElementById('report-data').textContent)`);

describe('the sample report in Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
  });
  it("loads with no console error and no failed request, and draws every alerted source's chart", async () => {
    const { context, page, problems } = await open({
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 1,
    });
    try {
      const data = await reportData(page);
      // Every alerted source up to the report's limit has a chart section with a canvas.
      const sections = await page.$$eval('section.chart', (all) =>
        all.map((s) => s.getAttribute('data-src-ip')),
      );
      expect(sections).toEqual(data.sources.map((s) => s.srcIp));
      expect(sections).toHaveLength(40);

      const charts = await colourCounts(page, 'section.chart', {
        counts: data.colors.counts,
        spikeAt: data.colors.spikeAt,
        ...data.colors.severity,
      });
      for (const [i, chart] of charts.entries()) {
        const source = data.sources[i]!;
        const drawn = {
          srcIp: chart.id,
          counts: chart.counts.counts! > 100,
          spikeAt: chart.counts.spikeAt! > 50,
          // One marker (11 px across) per alert, in its severity's colour.
          severities: Object.fromEntries(
            source.alerts.map((a) => [a.severity, chart.counts[a.severity]! > 30]),
          ),
        };
        expect(drawn).toEqual({
          srcIp: source.srcIp,
          counts: true,
          spikeAt: source.spikeAt.some((v) => v !== null),
          severities: Object.fromEntries(source.alerts.map((a) => [a.severity, true])),
        });
      }

      // Alerts per day: a bar in each kind's colour for the kinds that alerted.
      const [perDay] = await colourCounts(page, '#per-day', data.colors.kinds);
      const kindsAlerted = Object.entries(data.perDay.counts).filter(([, days]) => days.some((n) => n > 0));
      expect(kindsAlerted.map(([kind]) => kind).sort()).toEqual(['mass-spike', 'new-source', 'spike']);
      for (const [kind] of kindsAlerted)
        expect({ kind, pixels: perDay!.counts[kind]! > 100 }).toEqual({ kind, pixels: true });

      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('runs only its own scripts: a script injected into the page (as a missed escape would) is refused by its Content-Security-Policy', async () => {
    // Prepare: the same report with an inline script and an event handler added, as markup from
    // a flow log would add them if escaping ever missed a value
    const injected = html.replace(
      '</body>',
      '<script>window.__injected = 1;</script><img src="x" onerror="window.__injected = 2"></body>',
    );
    const path = join(dir, 'injected.html');
    await fs.writeFile(path, injected);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') violations.push(message.text());
    });
    try {
      // Act
      await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });

      // Assess: neither ran, the browser said why, and the report's own charts were drawn
      expect(await page.evaluate('window.__injected')).toBeUndefined();
      expect(violations.some((text) => text.includes('Content Security Policy'))).toBe(true);
      expect(await page.$$eval('section.chart canvas', (all) => all.length)).toBe(40);
      expect(html).toContain(
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'sha256-',
      );
    } finally {
      await context.close();
    }
  });

  it("stays usable at a phone's width: no sideways scrolling of the page, the table scrolls in its box, text readable", async () => {
    const { context, page, problems } = await open({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const layout = await page.evaluate<Layout>(LAYOUT);
      // The page is laid out at the phone's width (the viewport meta tag works) and fits it.
      expect(layout.innerWidth).toBe(390);
      expect(layout.documentWidth).toBeLessThanOrEqual(390);
      expect(layout.bodyWidth).toBeLessThanOrEqual(390);
      // The wide alerts table scrolls inside its own box, which fits the screen.
      expect(layout.table).toEqual({ overflowX: 'auto', scrolls: true, right: expect.any(Number) });
      expect(layout.table.right).toBeLessThanOrEqual(390);
      // Text stays readable without zooming: nothing below 12 CSS px.
      expect(layout.textElements).toBeGreaterThan(100);
      expect(layout.smallestFontPx).toBeGreaterThanOrEqual(12);
      // The charts are drawn at the phone's width too.
      expect(layout.canvases).toBe(41);
      expect(layout.canvasRight).toBeLessThanOrEqual(390);
      const data = await reportData(page);
      const [first] = await colourCounts(page, 'section.chart', { counts: data.colors.counts });
      expect(first!.counts.counts).toBeGreaterThan(100);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe("a long replay's report in Chromium", () => {
  beforeAll(async () => {
    browser ??= await launchChromium();
  });

  it('draws the chart of 131,040 one-minute windows, and a long malformed line does not widen the page on a phone', async () => {
    // Prepare: 91 days of one-minute windows (past the ~124,000 arguments Math.max.apply takes):
    // a source blocked twice an hour, a 300-record burst on day 80, and a 300-character line
    // without a space
    const minute = 60_000;
    const t0 = Date.parse('2026-08-01T00:00:00Z');
    const days = 91;
    const lines = [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    ];
    for (let at = t0; at < t0 + days * 86_400_000; at += 30 * minute)
      lines.push(v2Line({ at, src: '10.0.0.5', dst: '198.51.100.7' }));
    const burst = t0 + 80 * 86_400_000 + 7 * minute;
    for (let i = 0; i < 300; i += 1)
      lines.push(v2Line({ at: burst, src: '10.0.0.5', dst: '198.51.100.7', dstPort: 1000 + i }));
    lines.push('x'.repeat(300));
    lines.push(v2Line({ at: t0 + days * 86_400_000 - minute, src: '10.0.0.5', dst: '198.51.100.7' }));
    const input = join(dir, 'long.log');
    await fs.writeFile(input, `${lines.join('\n')}\n`);
    await fs.writeFile(join(dir, 'minutes.json'), JSON.stringify({ windowMinutes: 1 }));
    const path = join(dir, 'long-report.html');
    // The built CLI, as users run it (in Jest's module system the replay of 131,040 windows takes ten times as long).
    buildCli();
    const replay = spawnSync(
      process.execPath,
      [CLI, 'replay', '--json', '--config', join(dir, 'minutes.json'), '--report', path, input],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    expect(replay.status).toBe(0);
    const summary = JSON.parse(replay.stdout.trim().split('\n').pop()!) as {
      windows: number;
      malformedLines: number;
    };
    expect(summary).toMatchObject({ windows: days * 1440, malformedLines: 1 });
    expect(replay.stdout).toContain(`"windowStart":"${new Date(burst).toISOString().replace('.000Z', 'Z')}"`);
    const context = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });

    try {
      // Act
      await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });

      // Assess: no error, the source's chart drawn in the counts' colour, the page as wide as the phone
      expect(problems).toEqual([]);
      const data = await reportData(page);
      const [chart] = await colourCounts(page, 'section.chart', { counts: data.colors.counts });
      expect(chart!.id).toBe('10.0.0.5');
      expect(chart!.counts.counts).toBeGreaterThan(100);
      const width = await page.evaluate<number>('document.documentElement.scrollWidth');
      expect(width).toBeLessThanOrEqual(375);
    } finally {
      await context.close();
    }
  });
});

describe('the screenshots in docs/', () => {
  it('show the current report of the sample (else: npm run docs:screenshot)', async () => {
    const record = JSON.parse(await fs.readFile(SCREENSHOT_RECORD_PATH, 'utf8')) as ScreenshotRecord;
    expect({ report: record.report, hint: 'the report changed: run npm run docs:screenshot' }).toEqual({
      report: reportFingerprint(html),
      hint: 'the report changed: run npm run docs:screenshot',
    });
    for (const name of Object.keys(SCREENSHOT_PATHS) as (keyof typeof SCREENSHOT_PATHS)[]) {
      expect({ name, size: pngSize(await fs.readFile(SCREENSHOT_PATHS[name])) }).toEqual({
        name,
        size: record.sizes[name],
      });
    }
  });
});
