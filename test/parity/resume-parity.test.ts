/**
 * A replay resumed from its state (`--state`) decides what one replay over all the input and the
 * scheduled Lambda decide, also when the new input starts hours after the state's watermark: the
 * quiet windows in between are evaluated (zero-filled into the baselines) on every side.
 */
import { seededRandom } from '../../lambda/core';
import { withEndpoints, type Endpoints } from '../e2e/harness';
import { runParityCase, v2Line } from './parity';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const D0 = Date.parse('2026-11-24T00:00:00Z');
const SOURCES = ['10.0.1.10', '10.0.1.11', '10.0.1.12'];

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

/**
 * Three days of steady traffic (5-8 blocked records an hour per source). Day 3 has no records at
 * all from 00:00 to 09:59, and at 12:00 10.0.1.11 sends a modest burst: a spike only against the
 * baseline those ten quiet hours pulled down.
 */
function quietGapDays(): string[] {
  const random = seededRandom(7);
  const lines: string[] = [];
  for (let h = 0; h < 72; h += 1) {
    for (const src of SOURCES) {
      const count = 5 + Math.floor(random() * 4) + (h === 60 && src === '10.0.1.11' ? 8 : 0);
      for (let i = 0; i < count; i += 1) {
        const at = D0 + h * HOUR + Math.floor(random() * 3000) * 1000;
        if (h < 48 || h >= 58) lines.push(v2Line({ at, src, dst: `203.0.113.${i + 1}` }));
      }
    }
  }
  return lines;
}

describe('a replay resumed from its state across a quiet gap', () => {
  it('decides the alerts of one replay and of the Lambda', async () => {
    // Act: the resumed replay's second part starts at day 3 00:00; its first record is at 10:00
    const result = await runParityCase(endpoints, {
      name: 'resume-gap',
      files: [{ name: 'flows.log', lines: quietGapDays() }],
      resumeAt: D0 + 2 * DAY,
    });

    // Assess
    const day3 = result.lambda.filter((a) => a.windowStart >= '2026-11-26');
    expect(day3.map((a) => `${a.kind} ${a.windowStart} ${a.source}`)).toEqual([
      'spike 2026-11-26T12:00:00Z 10.0.1.11',
    ]);
    expect(result.replay).toEqual(result.lambda);
    expect(result.resumed).toEqual(result.lambda);
  }, 300_000);
});
