/**
 * `npm run docs:screenshot`: replays the bundled sample as `npm start` does, opens the report in
 * headless Chromium and writes docs/report-screenshot.png (the top of the page: summary, alerts
 * per day, the alerts table) and docs/report-chart.png (its first chart), with
 * docs/report-screenshot.json, which records the report's fingerprint so a test can tell when the
 * screenshots no longer show the current report. Run it after a change that alters the report
 * of the sample.
 */
import { promises as fs } from 'node:fs';
import { reportFingerprint } from '../lambda/replay/html-report';
import {
  launchChromium,
  pngSize,
  renderSampleReport,
  SCREENSHOT_PATHS,
  SCREENSHOT_RECORD_PATH,
  SCREENSHOT_VIEWPORT,
  type ScreenshotRecord,
} from '../test/support/report-browser';

async function run(): Promise<void> {
  const { html } = await renderSampleReport();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: SCREENSHOT_VIEWPORT, deviceScaleFactor: 1 });
    await page.setContent(html, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('#charts canvas').length > 0);
    const top = await page.screenshot({ type: 'png' });
    // The first chart: a source whose counts, expected count and spike line share one scale.
    const source = await page.evaluate(
      () => document.querySelector('section.chart')?.getAttribute('data-src-ip') ?? undefined,
    );
    if (source === undefined) throw new Error('the sample report charts no source');
    const chart = await page.locator(`section.chart[data-src-ip="${source}"]`).screenshot({ type: 'png' });
    await fs.writeFile(SCREENSHOT_PATHS.page, top);
    await fs.writeFile(SCREENSHOT_PATHS.chart, chart);
    const record: ScreenshotRecord = {
      report: reportFingerprint(html),
      command: 'npm run docs:screenshot',
      sizes: { page: pngSize(top), chart: pngSize(chart) },
    };
    await fs.writeFile(SCREENSHOT_RECORD_PATH, `${JSON.stringify(record, null, 2)}\n`);
    console.log(
      `wrote ${SCREENSHOT_PATHS.page} and ${SCREENSHOT_PATHS.chart} (${top.length + chart.length} bytes)`,
    );
  } finally {
    await browser.close();
  }
}

run().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
