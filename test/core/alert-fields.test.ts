/**
 * What a spike and a mass-spike alert carry, field by field, where no other engine suite pins it:
 * the distinct destinations of the details query, the members' order and their tail
 * probabilities (absent, not undefined, for a preset without one).
 */
import { resolveDetectorConfig } from '../../lambda/core/config';
import { evaluateWindow } from '../../lambda/core/detect';
import { storedBaseline, windowInput } from './engine-fixtures';

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
});
