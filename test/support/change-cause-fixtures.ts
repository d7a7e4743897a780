/**
 * What the change-cause tests of the core share: a spike alert of the window 2026-11-27 15:00
 * UTC, a CloudTrail record read as the change it must be, and one alert explained against a
 * topology whose every lookup was complete.
 */
import {
  explainAlerts,
  parsePolicyChange,
  resolveDetectorConfig,
  type Alert,
  type NetworkTopology,
  type PolicyChange,
  type PolicyChangeMode,
} from '../../lambda/core';

/** A high spike of `srcIp` in the window 2026-11-27 15:00-16:00 UTC. */
export const spikeAlert = (srcIp: string, fields: Partial<Alert> = {}): Alert => ({
  alertId: `2026-11-27T15:00:00Z/${srcIp}`,
  kind: 'spike',
  preset: 'recommended',
  severity: 'high',
  windowStart: '2026-11-27T15:00:00Z',
  windowEnd: '2026-11-27T16:00:00Z',
  srcIp,
  blockedCount: 400,
  uniqueDestinations: 3,
  baseline: { mean: 4, sd: 2, dataPoints: 300 },
  zScore: 198,
  ...fields,
});

/** A medium mass spike of `members` (200 records each) in the same window, members carrying no interfaces. */
export const massSpikeAlert = (members: string[]): Alert => ({
  ...spikeAlert(members[0]!),
  alertId: '2026-11-27T15:00:00Z/mass-spike',
  kind: 'mass-spike',
  severity: 'medium',
  srcIp: undefined,
  srcIps: members,
  members: members.map((srcIp) => ({ srcIp, blockedCount: 200, zScore: 9 })),
  baseline: null,
  zScore: null,
  uniqueDestinations: null,
});

/** The change a test record holds; throws if it is not read as one. */
export function readChange(record: unknown): PolicyChange {
  const change = parsePolicyChange(record);
  if (change === undefined) throw new Error('the test record was not read');
  return change;
}

/** One alert explained by `changes` over `topology`, every lookup complete. */
export function explainOne(
  alert: Alert,
  changes: PolicyChange[],
  topology: NetworkTopology,
  policyChangeSpikes: PolicyChangeMode = 'annotate',
): Alert {
  const [explained] = explainAlerts(
    [alert],
    { changes, topology, lookupFor: () => ({ status: 'complete' }) },
    resolveDetectorConfig({ policyChangeSpikes }),
  );
  if (explained === undefined) throw new Error('explainAlerts dropped the alert');
  return explained;
}
