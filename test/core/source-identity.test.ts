/**
 * A source is an address within its account (issue 14): the engine keeps each source key's
 * baseline, cooldown and alert apart, and its alerts name the address, the account (and its
 * configured name) and the VPC, with alert ids made of the key.
 */
import { alertSourceKeys, evaluateWindow, sourceIdentity } from '../../lambda/core/detect';
import { sourceKey } from '../../lambda/core/source-key';
import { HOUR, recommendedConfig, storedBaseline, T0, windowInput } from './engine-fixtures';

const A = '111111111111';
const B = '222222222222';
const inA = sourceKey({ accountId: A, address: '10.0.0.10' });
const inB = sourceKey({ accountId: B, address: '10.0.0.10' });

describe('two accounts with the same address', () => {
  const config = recommendedConfig({ accountNames: { [B]: 'payments-prod' } });
  // A's 10.0.0.10 is busy (about 150 a window), B's is quiet (about 10).
  const baselines = {
    [inA]: storedBaseline({ mean: 150, variance: 400, dataPoints: 200 }),
    [inB]: storedBaseline({ mean: 10, variance: 9, dataPoints: 200 }),
  };

  it("alerts B's source at 15x its usual count, naming B, and leaves A's busier source alone", () => {
    const result = evaluateWindow(windowInput({ [inA]: 150, [inB]: 150 }, baselines), config);
    expect(result.alerts).toHaveLength(1);
    expect(result.alerts[0]).toMatchObject({
      kind: 'spike',
      alertId: `2026-03-01T00:00:00Z/${B}|10.0.0.10`,
      srcIp: '10.0.0.10',
      accountId: B,
      accountName: 'payments-prod',
      blockedCount: 150,
      baseline: { mean: 10 },
    });
    expect(result.alerts[0]).not.toHaveProperty('vpcId');
    const outcomes = Object.fromEntries(result.decisions.map((d) => [d.srcIp, d.outcome]));
    expect(outcomes).toEqual({ [inA]: 'normal', [inB]: 'spike' });
    // Each key folds its own count into its own baseline.
    expect(result.updatedBaselines.get(inA)!.mean).toBeCloseTo(150, 6);
    expect(result.updatedBaselines.get(inB)!.lastAlertWindow).toBe(T0);
    expect(result.updatedBaselines.get(inA)!.lastAlertWindow).toBeUndefined();
  });

  it("keeps B's cooldown from silencing A", () => {
    const cooling = {
      [inA]: storedBaseline({ mean: 10, variance: 9, dataPoints: 200 }),
      [inB]: storedBaseline({
        mean: 10,
        variance: 9,
        dataPoints: 200,
        lastAlertWindow: T0 - HOUR,
        lastAlertCount: 150,
      }),
    };
    const result = evaluateWindow(windowInput({ [inA]: 150, [inB]: 150 }, cooling), config);
    expect(result.alerts.map((a) => a.accountId)).toEqual([A]);
    expect(result.decisions.find((d) => d.srcIp === inB)?.outcome).toBe('spike-in-cooldown');
  });

  it('names a new source by its account and VPC', () => {
    const key = sourceKey({ accountId: A, vpcId: 'vpc-0abc', address: 'fd00::7' });
    const result = evaluateWindow(windowInput({ [key]: 500 }, baselines), config);
    expect(result.alerts[0]).toMatchObject({
      kind: 'new-source',
      alertId: `2026-03-01T00:00:00Z/${A}|vpc-0abc|fd00::7`,
      srcIp: 'fd00::7',
      accountId: A,
      vpcId: 'vpc-0abc',
    });
    expect(result.alerts[0]).not.toHaveProperty('accountName');
    expect(alertSourceKeys(result.alerts[0]!)).toEqual([key]);
  });
});

describe('mass spikes over accounts', () => {
  it("lists each member's address and account, and gives back the members' keys", () => {
    const config = recommendedConfig({ accountNames: { [A]: 'shared-services' } });
    const counts: Record<string, number> = {};
    const baselines: Record<string, ReturnType<typeof storedBaseline>> = {};
    for (let i = 0; i < 6; i += 1) {
      const key = sourceKey({ accountId: i % 2 === 0 ? A : B, address: `10.0.0.${10 + Math.floor(i / 2)}` });
      counts[key] = 200 + i;
      baselines[key] = storedBaseline({ mean: 10, variance: 9, dataPoints: 200 });
    }
    const result = evaluateWindow(windowInput(counts, baselines), config);
    expect(result.alerts).toHaveLength(1);
    const alert = result.alerts[0]!;
    expect(alert.kind).toBe('mass-spike');
    expect(alert.members!.map((m) => [m.srcIp, m.accountId, m.accountName])).toEqual([
      ['10.0.0.12', B, undefined],
      ['10.0.0.12', A, 'shared-services'],
      ['10.0.0.11', B, undefined],
      ['10.0.0.11', A, 'shared-services'],
      ['10.0.0.10', B, undefined],
      ['10.0.0.10', A, 'shared-services'],
    ]);
    expect(alert.srcIps).toEqual(alert.members!.map((m) => m.srcIp));
    expect(new Set(alertSourceKeys(alert))).toEqual(new Set(Object.keys(counts)));
  });
});

describe('sourceIdentity', () => {
  it('reads a key without an account (a format without account-id) as an address alone', () => {
    // Strict: a field the key does not carry is absent, not present and undefined.
    expect(sourceIdentity('-|10.0.0.10', {})).toStrictEqual({ srcIp: '10.0.0.10' });
    expect(sourceIdentity(`${A}|10.0.0.10`, { accountNames: { [A]: 'x' } })).toStrictEqual({
      srcIp: '10.0.0.10',
      accountId: A,
      accountName: 'x',
    });
  });

  it('names the account without a friendly name where the config gives no names at all', () => {
    expect(sourceIdentity(`${A}|10.0.0.10`, {})).toStrictEqual({ srcIp: '10.0.0.10', accountId: A });
    expect(sourceIdentity(`${A}|10.0.0.10`, { accountNames: { '999999999999': 'other' } })).toStrictEqual({
      srcIp: '10.0.0.10',
      accountId: A,
    });
  });
});

describe('alertSourceKeys', () => {
  it("gives a spike's own key, and none for an alert that names no source", () => {
    const base = {
      alertId: 'x',
      kind: 'spike' as const,
      preset: 'recommended' as const,
      severity: 'high' as const,
      windowStart: '2026-03-01T00:00:00Z',
      windowEnd: '2026-03-01T01:00:00Z',
      blockedCount: 150,
      uniqueDestinations: 1,
      baseline: null,
      zScore: null,
    };
    expect(alertSourceKeys({ ...base, srcIp: '10.0.0.10', accountId: B })).toEqual([inB]);
    expect(alertSourceKeys(base)).toEqual([]);
  });
});
