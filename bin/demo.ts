/**
 * `npm start` until the replay command lands: the engine learns 14 days of simulated per-source
 * counts, then decides one window holding an exfiltration-like spike and a new host's burst.
 */
import { bootstrapBaselines, evaluateWindow, poisson, resolveDetectorConfig, seededRandom, isoTime } from '../lambda/core';

const HOUR = 3_600_000;
const config = resolveDetectorConfig({ preset: process.argv.includes('--escu') ? 'splunk-escu' : 'recommended' });
const random = seededRandom(42);
const sources = Array.from({ length: 40 }, (_, i) => ({ ip: `10.0.${Math.floor(i / 10)}.${10 + i}`, rate: 1 + (i % 10) * 4 }));
const start = Date.UTC(2026, 10, 1);
const history = Array.from({ length: 14 * 24 }, (_, w) => ({
  windowStart: start + w * HOUR,
  complete: true,
  counts: new Map(sources.map((s) => [s.ip, poisson(random, s.rate)])),
}));
const learned = bootstrapBaselines(history, config);
const windowStart = start + 14 * 24 * HOUR;
const counts = new Map(sources.map((s) => [s.ip, poisson(random, s.rate)]));
counts.set(sources[3]!.ip, 180); // usually ~13 an hour
counts.set('10.0.9.99', 450); // never seen before
const result = evaluateWindow({ windowStart, counts, complete: true, baselines: learned.baselines, clock: learned.clock }, config);

console.log(`preset ${config.preset}: learned ${learned.baselines.size} baselines from ${learned.windows} windows`);
console.log(`window ${isoTime(windowStart)}: ${result.stats.sourcesSeen} sources, ${result.stats.spikes} spike(s)`);
for (const alert of result.alerts) {
  const baseline = alert.baseline ? `baseline ${alert.baseline.mean}±${alert.baseline.sd} (n=${alert.baseline.dataPoints})` : 'no baseline';
  console.log(`  ${alert.severity.padEnd(6)} ${alert.kind.padEnd(10)} ${alert.srcIp} blocked=${alert.blockedCount} ${baseline} z=${alert.zScore}`);
}
