/**
 * alignedAlertState: after a retry reuses the alerts an earlier attempt stored, each source's
 * alert bookkeeping follows what was published, not what the retry would have decided. The
 * members a mass spike lists as held back keep their own state; members cut from a stored mass
 * spike (to fit the outbox) are not listed, and for them the retry's own decision stands.
 */
import { alignedAlertState } from '../../lambda/detector-run';
import type { StoredAlert } from '../../lambda/adapters/alert-format';
import { sourceKey } from '../../lambda/core';
import { recommendedConfig, storedBaseline, T0, HOUR } from '../core/engine-fixtures';

/** The source key of an address with no account (as the records' keys are in the Lambda). */
const key = (address: string) => sourceKey({ address });

const config = recommendedConfig();
const at = new Date(T0).toISOString().replace('.000Z', 'Z');

/** A mass spike of `listed` members (the last one held back since an hour ago), maybe cut from `total`. */
function storedMassSpike(listed: string[], total?: number): StoredAlert {
  return {
    alertId: `${at}/mass-spike`,
    kind: 'mass-spike',
    preset: 'recommended',
    severity: 'medium',
    windowStart: at,
    windowEnd: new Date(T0 + HOUR).toISOString().replace('.000Z', 'Z'),
    srcIps: listed,
    blockedCount: 500 * listed.length,
    uniqueDestinations: null,
    baseline: null,
    zScore: null,
    members: listed.map((srcIp, i) => ({
      srcIp,
      blockedCount: 500,
      zScore: 9,
      ...(i === listed.length - 1 ? { lastAlertedAt: new Date(T0 - HOUR).toISOString() } : {}),
    })),
    ...(total === undefined ? {} : { truncated: { members: { shown: listed.length, total } } }),
  };
}

const before = storedBaseline({ mean: 10, variance: 10, dataPoints: 100 });
/** What this attempt decided for a source it alerted itself. */
const alertedHere = { ...before, lastWindow: T0, lastAlertWindow: T0, lastAlertCount: 500 };
const counts = new Map([
  [key('10.0.0.1'), 500],
  [key('10.0.0.2'), 500],
  [key('10.0.0.3'), 450],
]);

describe('alignedAlertState', () => {
  it('gives a listed member the published alert, keeps a held-back one as it was, and restores a source only this attempt alerted', () => {
    const align = alignedAlertState([storedMassSpike(['10.0.0.1', '10.0.0.2'])], counts, T0, config);
    expect(align(key('10.0.0.1'), { ...before, lastWindow: T0 }, before)).toMatchObject({
      lastAlertWindow: T0,
      lastAlertCount: 500,
    });
    const heldBefore = { ...before, lastAlertWindow: T0 - HOUR, lastAlertCount: 400 };
    expect(align(key('10.0.0.2'), { ...heldBefore, lastWindow: T0 }, heldBefore)).toMatchObject({
      lastAlertWindow: T0 - HOUR,
      lastAlertCount: 400,
    });
    // Not published by the stored attempt: the state before the window
    expect(align(key('10.0.0.3'), alertedHere, before).lastAlertWindow).toBeUndefined();
  });

  it("keeps this attempt's own alert for a source the stored mass spike's cut list may have dropped", () => {
    const align = alignedAlertState([storedMassSpike(['10.0.0.1', '10.0.0.2'], 3)], counts, T0, config);
    expect(align(key('10.0.0.3'), alertedHere, before)).toEqual(alertedHere);
  });
});
