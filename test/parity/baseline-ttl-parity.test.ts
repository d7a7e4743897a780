/**
 * Baselines expire the same way in the Lambda and the replay: a source not folded for more than
 * BASELINE_TTL_DAYS (90 by default, `--baseline-ttl-days`) is new again, judged by the window's
 * start (lambda/baseline-expiry.ts), not by when the run happens.
 */
import { withEndpoints, type Endpoints } from '../e2e/harness';
import { isoTime } from '../../lambda/core';
import { blockedLines, runParityCase } from './parity';

const DAY = 86_400_000;
const D0 = Date.parse('2026-06-01T00:00:00Z');

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

/**
 * Daily windows. 10.0.1.20 blocks every day. 10.0.1.10 and 10.0.1.30 block on days 0-29, then
 * fall silent: 10.0.1.30 is back after exactly 90 days (day 119, the last window that still sees
 * its baseline), 10.0.1.10 after 96 (day 125, forgotten), each with 150 records.
 */
function silentSources(): string[] {
  const lines: string[] = [];
  for (let d = 0; d < 126; d += 1)
    lines.push(...blockedLines(D0 + d * DAY, '10.0.1.20', 30 + ((d * 7) % 11)));
  for (let d = 0; d < 30; d += 1) {
    lines.push(...blockedLines(D0 + d * DAY, '10.0.1.10', 40 + ((d * 5) % 9)));
    lines.push(...blockedLines(D0 + d * DAY, '10.0.1.30', 40 + ((d * 3) % 7)));
  }
  lines.push(...blockedLines(D0 + 119 * DAY, '10.0.1.30', 150));
  lines.push(...blockedLines(D0 + 125 * DAY, '10.0.1.10', 150));
  return lines;
}

describe('a source back after a long silence', () => {
  it.each([
    ['recommended', ['spike 10.0.1.30 (day 119)', 'new-source 10.0.1.10 (day 125)']],
    ['splunk-escu', ['spike 10.0.1.30 (day 119)']],
  ] as const)(
    '%s: remembered after 90 days, new again after 96, in both',
    async (preset, expected) => {
      // Act
      const result = await runParityCase(endpoints, {
        name: `ttl-${preset}`,
        files: [{ name: 'flows.log', lines: silentSources() }],
        config: { preset, windowMinutes: 1440 },
      });

      // Assess
      const day = (ms: string) => (Date.parse(ms) - D0) / DAY;
      const returning = result.lambda.filter((a) => a.source !== '10.0.1.20' && day(a.windowStart) >= 100);
      expect(returning.map((a) => `${a.kind} ${a.source} (day ${day(a.windowStart)})`)).toEqual(expected);
      expect(returning[0]?.windowStart).toBe(isoTime(D0 + 119 * DAY));
      expect(result.replay).toEqual(result.lambda);
    },
    600_000,
  );
});
