/**
 * Logs Insights scans per window: the detector runs one count query per window and a details
 * query only for windows where something alerted. ESCU's search scans the window twice on every
 * run (its subsearch and its outer search run the same filter over the same hour).
 *
 * 200 sources, 48 hourly windows (baselines mature after 24), three spikes; each window detected
 * by the Lambda handler against the local endpoints (in process: only counts are measured). Bytes
 * scanned come from the endpoint's query statistics (message bytes in the time range, as the
 * service bills them). Peer: ESCU, 2 x the window's bytes every run. Ratio = ESCU bytes / ours.
 */
import type { BenchResult } from './run';
import { blocked, HOUR, newDetector, startEndpoints } from '../test/e2e/harness';
import type { LogEvent } from '../test/support/local-logs-insights';

const SOURCES = 200;
const WINDOWS = 48;
const SPIKES = new Map([
  [30, 7],
  [38, 91],
  [44, 150],
]); // window -> source index
const T0 = Date.UTC(2026, 9, 1, 0);

export async function run(): Promise<BenchResult> {
  // The SDK's notice that it will require Node 22 next year would only add noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoints = await startEndpoints();
  try {
    const detector = await newDetector(endpoints);
    const sources = Array.from({ length: SOURCES }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    const events: LogEvent[] = [];
    for (let w = 0; w < WINDOWS; w += 1) {
      sources.forEach((src, i) => {
        const count = SPIKES.get(w) === i ? 300 : 2 + ((w * 7 + i * 3) % 6);
        events.push(...blocked(T0 + w * HOUR, src, count));
      });
    }
    endpoints.logs.seed(detector.logGroup, events);

    let quietWindows = 0;
    let quietQueries = 0;
    let alertWindows = 0;
    let alertQueries = 0;
    let ourBytes = 0;
    let escuBytes = 0;
    for (let w = 0; w < WINDOWS; w += 1) {
      detector.clock.set(new Date(T0 + (w + 1) * HOUR + 15 * 60_000).toISOString());
      const startedBefore = endpoints.logs.startedQueries.length;
      const summary = await detector.invoke({});
      const started = endpoints.logs.startedQueries.slice(startedBefore);
      if (summary.windows.length !== 1) throw new Error(`window ${w}: ran ${summary.windows.length} windows`);
      // The count query scans the whole window: what one full scan of it costs.
      const windowBytes = summary.bytesScanned / Math.max(1, started.length);
      ourBytes += summary.bytesScanned;
      escuBytes += 2 * windowBytes;
      if (summary.alertsDecided > 0) {
        alertWindows += 1;
        alertQueries += started.length;
      } else {
        quietWindows += 1;
        quietQueries += started.length;
      }
    }
    const perQuiet = quietQueries / quietWindows;
    const perAlert = alertQueries / Math.max(1, alertWindows);
    console.log(
      `${WINDOWS} windows: ${quietWindows} quiet (${perQuiet.toFixed(2)} queries each), ` +
        `${alertWindows} with alerts (${perAlert.toFixed(2)} queries each); bytes scanned ` +
        `${(ourBytes / 1e6).toFixed(2)} MB vs ESCU ${(escuBytes / 1e6).toFixed(2)} MB`,
    );
    return {
      name: 'query-scans',
      summary:
        `queries per window: ${perQuiet.toFixed(2)} when quiet (target 1), ${perAlert.toFixed(2)} with an alert ` +
        `(count + details; ESCU 2 every run); bytes scanned over ${WINDOWS} windows ` +
        `${(ourBytes / 1e6).toFixed(2)} MB vs ESCU's ${(escuBytes / 1e6).toFixed(2)} MB; ratio = ESCU bytes / ours`,
      ratio: escuBytes / ourBytes,
    };
  } finally {
    await endpoints.stop();
  }
}
