/**
 * The run summary and the BytesScanned metric count every Logs Insights query the run paid for:
 * the details query scans the window again (it was left out, so an alerting window reported half
 * its scan cost).
 */
import { blocked, HOUR, newDetector, withEndpoints, type Endpoints } from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

describe('scan accounting', () => {
  it('adds the details query of an alerting window to queries and bytes scanned', async () => {
    // Prepare: a first run learns the window before W (a fresh table alerts on nothing); in W a
    // new source over the new-source threshold (100) alerts, so details are queried.
    const detector = await newDetector(endpoints);
    const events = [...blocked(W, '10.0.1.10', 5), ...blocked(W, '10.0.7.7', 120)];
    endpoints.logs.seed(detector.logGroup, [...blocked(W - HOUR, '10.0.1.10', 5), ...events]);
    const windowBytes = events.reduce((sum, e) => sum + Buffer.byteLength(e.message), 0);
    detector.clock.set(new Date(W + 12 * 60_000).toISOString());
    await detector.invoke({});
    detector.clock.set(new Date(W + HOUR + 12 * 60_000).toISOString());
    endpoints.logs.resetCounters();

    // Act
    const summary = await detector.invoke({});

    // Assess
    expect(summary.alertsDecided).toBe(1);
    expect(endpoints.logs.queriesStarted).toBe(2);
    expect(summary.queries).toBe(2);
    expect(summary.bytesScanned).toBe(2 * windowBytes);
    expect(detector.metrics.last('BytesScanned')).toBe(2 * windowBytes);
  });
});
