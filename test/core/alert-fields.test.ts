/**
 * What a spike and a mass-spike alert carry, field by field, where no other engine suite pins it:
 * the distinct destinations of the details query, the members' order and their tail
 * probabilities (absent, not undefined, for a preset without one).
 */
import { spreadOf, updateMoments } from '../../lambda/core/baseline';
import { resolveDetectorConfig } from '../../lambda/core/config';
import { evaluateWindow } from '../../lambda/core/detect';
import { recommendedConfig, storedBaseline, windowInput } from './engine-fixtures';

const flat = storedBaseline({ mean: 2, variance: 1, dataPoints: 100 });
const escu = (massSpikeMinSources?: number) =>
  resolveDetectorConfig({ preset: 'splunk-escu', ...(massSpikeMinSources ? { massSpikeMinSources } : {}) });

describe('alert fields', () => {
  it("gives a spike its source's distinct destinations, and null where the window has none for it", () => {
    const result = evaluateWindow(
      windowInput(
        { '10.0.0.5': 80, '10.0.0.6': 90 },
        { '10.0.0.5': flat, '10.0.0.6': flat },
        { uniqueDestinations: new Map([['10.0.0.5', 7]]) },
      ),
      escu(),
    );
    const bySource = Object.fromEntries(result.alerts.map((a) => [a.srcIp, a]));
    expect(bySource['10.0.0.5']?.uniqueDestinations).toBe(7);
    expect(bySource['10.0.0.6']?.uniqueDestinations).toBeNull();
  });

  it('gives a new-source alert its distinct destinations too, and null where the window has none for it', () => {
    const result = evaluateWindow(
      windowInput(
        { '10.0.0.7': 500, '10.0.0.8': 600 },
        {},
        { uniqueDestinations: new Map([['10.0.0.7', 3]]) },
      ),
      recommendedConfig(),
    );
    const bySource = Object.fromEntries(result.alerts.map((a) => [a.srcIp, a]));
    expect(bySource['10.0.0.7']).toMatchObject({ kind: 'new-source', uniqueDestinations: 3 });
    expect(bySource['10.0.0.8']).toMatchObject({ kind: 'new-source', uniqueDestinations: null });
  });

  it('gives a flat spike exactly its fields: no recurring job, expected count or cause keys left undefined', () => {
    const [alert] = evaluateWindow(
      windowInput({ '10.0.0.5': 80 }, { '10.0.0.5': flat }),
      recommendedConfig(),
    ).alerts;
    expect(Object.keys(alert!).sort()).toEqual(
      [
        'alertId',
        'kind',
        'severity',
        'preset',
        'windowStart',
        'windowEnd',
        'srcIp',
        'blockedCount',
        'uniqueDestinations',
        'baseline',
        'zScore',
        'tailProbability',
        'threshold',
      ].sort(),
    );
  });

  it("lists a mass spike's members by count, then by address, whatever order the window gave them in", () => {
    // Both orders of the tied sources in the window (a Map keeps insertion order).
    for (const order of [
      ['10.0.0.9', '10.0.0.1', '10.0.0.5'],
      ['10.0.0.1', '10.0.0.9', '10.0.0.5'],
      ['10.0.0.5', '10.0.0.9', '10.0.0.1'],
    ]) {
      const counts = Object.fromEntries(order.map((ip) => [ip, ip === '10.0.0.5' ? 80 : 50]));
      const baselines = Object.fromEntries(order.map((ip) => [ip, flat]));
      const result = evaluateWindow(windowInput(counts, baselines), escu(2));
      expect(result.alerts).toHaveLength(1);
      const alert = result.alerts[0]!;
      expect(alert.kind).toBe('mass-spike');
      expect(alert.members?.map((m) => m.srcIp)).toEqual(['10.0.0.5', '10.0.0.1', '10.0.0.9']);
      expect(alert.srcIps).toEqual(['10.0.0.5', '10.0.0.1', '10.0.0.9']);
      // ESCU has no tail probability: the members say none (no key), not undefined.
      for (const member of alert.members ?? []) expect(member).not.toHaveProperty('tailProbability');
    }
  });

  it("gives a recommended mass spike the window's threshold and each member its own tail probability", () => {
    const counts = { '10.0.0.1': 60, '10.0.0.2': 70, '10.0.0.3': 80 };
    const baselines = Object.fromEntries(Object.keys(counts).map((ip) => [ip, flat]));
    const result = evaluateWindow(
      windowInput(counts, baselines),
      recommendedConfig({ massSpikeMinSources: 2 }),
    );
    expect(result.alerts).toHaveLength(1);
    const alert = result.alerts[0]!;
    expect(alert.kind).toBe('mass-spike');
    expect(result.stats.threshold).toBeGreaterThan(0);
    expect(alert.threshold).toBe(result.stats.threshold);
    const tails = new Map(result.decisions.map((d) => [d.srcIp, d.tailProbability]));
    expect(alert.members).toHaveLength(3);
    for (const member of alert.members ?? []) {
      expect(member.tailProbability).toBeGreaterThan(0);
      expect(member.tailProbability).toBe(tails.get(member.srcIp));
    }
  });

  it('grades an ESCU spike high from exactly 2k standard deviations (the rule is "2k or more")', () => {
    // ESCU's z for 80 against the baseline after folding 80 in, computed as the engine does; with
    // k set to half of it, z is exactly 2k.
    const count = 80;
    const standard = escu();
    const after = updateMoments(flat, count, standard);
    const z = (count - after.mean) / spreadOf(after.mean, after.variance, standard);
    const halfZ = resolveDetectorConfig({ preset: 'splunk-escu', deviationThreshold: z / 2 });
    expect(2 * halfZ.deviationThreshold).toBe(z);
    const at = evaluateWindow(windowInput({ '10.0.0.5': count }, { '10.0.0.5': flat }), halfZ);
    expect(at.alerts[0]?.severity).toBe('high');
    // Just above 2k it is medium.
    const above = resolveDetectorConfig({ preset: 'splunk-escu', deviationThreshold: (z * (1 + 1e-9)) / 2 });
    expect(
      evaluateWindow(windowInput({ '10.0.0.5': count }, { '10.0.0.5': flat }), above).alerts[0]?.severity,
    ).toBe('medium');
  });
});
