/**
 * A replay resumed from its state (`--state`) across a SKIPDATA record whose capture interval
 * runs from the last window of the first run into the first window of the second: the record
 * says records may be missing from both windows (docs/design.md, which records count;
 * `skipDataWindows`, lambda/core/windows.ts), so the second window is incomplete. One replay over
 * all the input and the scheduled Lambda (which keeps the carry in its state, `skipDataThrough`)
 * say so; the resumed replay must too, since a run resumed in parts decides the same alerts as
 * one run (docs/replay.md, the state file).
 *
 * Found by the randomized parity fuzzer (test/parity/fuzz-parity.test.ts).
 */
import { isoTime } from '../../lambda/core';
import { withEndpoints, type Endpoints } from '../e2e/harness';
import { blockedLines, ordinaryTraffic, runParityCase, skipDataLine } from './parity';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const D0 = Date.parse('2026-11-24T00:00:00Z');

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

describe('a replay resumed from its state across a SKIPDATA record that straddles the resume point', () => {
  it('marks the window after the resume point incomplete, as one replay and the Lambda do', async () => {
    // Prepare: ordinary traffic 00:00-11:59; SKIPDATA from 05:55 to 06:05 (its record starts
    // before the resume point, so it is in the first run's input); a new source at 06:00
    const resumeAt = D0 + 6 * HOUR;
    const lines = [
      ...ordinaryTraffic(D0, 12, ['10.0.1.10', '10.0.1.11'], 7),
      skipDataLine(resumeAt - 5 * MINUTE, resumeAt + 5 * MINUTE),
      ...blockedLines(resumeAt, '10.0.8.8', 130, 3),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'resume-skipdata',
      files: [{ name: 'flows.log', lines }],
      resumeAt,
    });

    // Assess: one replay and the Lambda agree that the 06:00 window is incomplete
    expect(result.lambda.map((a) => `${a.kind} ${a.windowStart} ${a.source} ${a.incompleteWindow}`)).toEqual([
      `new-source ${isoTime(resumeAt)} 10.0.8.8 true`,
    ]);
    expect(result.replay).toEqual(result.lambda);
    // ...and the replay resumed from the first run's state decides the same
    expect(result.resumed).toEqual(result.lambda);
  });

  it('does not advance the complete-window clock there: a source absent from that window gets no extra zero', async () => {
    // Prepare: 10.0.1.12 blocks a few records an hour until 05:59, is silent from 06:00 and bursts
    // at 09:00; SKIPDATA from 05:55 to 06:05. The 06:00 window is incomplete, so it does not
    // advance the clock (docs/design.md) and 10.0.1.12's baseline gets zeros for 07:00 and 08:00
    // only, not for 06:00.
    const resumeAt = D0 + 6 * HOUR;
    const burst = D0 + 9 * HOUR;
    const lines = [
      ...ordinaryTraffic(D0, 12, ['10.0.1.10', '10.0.1.11'], 7),
      ...ordinaryTraffic(D0, 6, ['10.0.1.12'], 8),
      skipDataLine(resumeAt - 5 * MINUTE, resumeAt + 5 * MINUTE),
      ...blockedLines(burst, '10.0.1.12', 60, 3),
    ];

    // Act
    const result = await runParityCase(endpoints, {
      name: 'resume-skipdata-clock',
      files: [{ name: 'flows.log', lines }],
      config: { minDataPoints: 3 },
      resumeAt,
    });

    // Assess: one replay and the Lambda compare the burst with the same baseline
    expect(result.lambda.map((a) => `${a.kind} ${a.windowStart} ${a.source}`)).toEqual([
      `spike ${isoTime(burst)} 10.0.1.12`,
    ]);
    expect(result.replay).toEqual(result.lambda);
    // ...and so does the resumed replay (it had folded one zero more: dataPoints 9, not 8)
    expect(result.resumed?.map((a) => a.content.baseline)).toEqual(
      result.lambda.map((a) => a.content.baseline),
    );
    expect(result.resumed).toEqual(result.lambda);
  });
});
