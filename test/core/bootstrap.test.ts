/**
 * bootstrapBaselines' own bookkeeping: where it starts from, what it counts, the order it
 * accepts, and that learning from history raises nothing. (The ESCU arithmetic of the history is
 * in escu-arithmetic.test.ts, the equality of bootstrapping and detecting in
 * engine-properties.test.ts.) Each case here was a mutant that survived the engine's whole
 * mutation run.
 */
import { bootstrapBaselines, type HistoryWindow } from '../../lambda/core/bootstrap';
import { evaluateWindow } from '../../lambda/core/detect';
import type { Baseline } from '../../lambda/core/baseline';
import { HOUR, T0, escuConfig, recommendedConfig } from './engine-fixtures';

const history = (rows: Array<Record<string, number>>, incomplete: number[] = []): HistoryWindow[] =>
  rows.map((counts, i) => ({
    windowStart: T0 + i * HOUR,
    complete: !incomplete.includes(i),
    counts: new Map(Object.entries(counts)),
  }));

describe('bootstrapBaselines', () => {
  it('continues from the baselines and clock it is given (recommended)', () => {
    const config = recommendedConfig();
    const rows: Array<Record<string, number>> = [{ a: 3 }, { a: 5, b: 2 }, {}];
    // Learned from two earlier windows, the clock at 2.
    const earlier = bootstrapBaselines(
      [
        {
          windowStart: T0 - 2 * HOUR,
          complete: true,
          counts: new Map([
            ['a', 4],
            ['c', 7],
          ]),
        },
        { windowStart: T0 - HOUR, complete: true, counts: new Map([['a', 6]]) },
      ],
      config,
    );
    expect(earlier.clock).toBe(2);
    const result = bootstrapBaselines(history(rows), config, {
      baselines: earlier.baselines,
      clock: earlier.clock,
    });
    // Expected: the same windows evaluated one by one from that state, learning only.
    let baselines = new Map<string, Baseline>(earlier.baselines);
    let clock = earlier.clock;
    for (const window of history(rows)) {
      const step = evaluateWindow({ ...window, baselines, clock }, config, { learnOnly: true });
      baselines = new Map([...baselines, ...step.updatedBaselines]);
      clock = step.clockAfter;
    }
    expect(result.clock).toBe(5);
    expect(result.baselines).toEqual(baselines);
    // A source only the earlier history saw is kept; one seen in both has both in its baseline.
    expect(result.baselines.get('c')).toEqual(earlier.baselines.get('c'));
    expect(result.baselines.get('a')?.dataPoints).toBe(4);
  });

  it('counts the windows it read and, in splunk-escu, only the complete ones on the clock', () => {
    const result = bootstrapBaselines(history([{ a: 1 }, { a: 2 }, {}, { a: 3 }], [1, 2]), escuConfig(), {
      clock: 10,
    });
    expect(result.windows).toBe(4);
    expect(result.clock).toBe(12);
    expect(result.lastWindow).toBe(T0 + 3 * HOUR);
    expect(result.baselines.get('a')).toMatchObject({
      dataPoints: 3,
      lastWindow: T0 + 3 * HOUR,
      clockAtLastFold: 12,
    });
  });

  it('refuses a window that repeats the one before it', () => {
    const repeated = [...history([{ a: 1 }]), ...history([{ a: 2 }])];
    expect(() => bootstrapBaselines(repeated, recommendedConfig())).toThrow('increasing window order');
  });

  it('learns without alert state: a new busy source and a spike in the history start no cooldown', () => {
    const config = recommendedConfig();
    // Quiet for two days, then a new source far above newSourceMinCount and a spike of a mature one.
    const rows: Array<Record<string, number>> = Array.from({ length: 48 }, () => ({ a: 2 }));
    rows.push({ a: 5_000, fresh: 10_000 });
    // The same window evaluated live would alert on both: the history must not.
    const learned = bootstrapBaselines(history(rows.slice(0, 48)), config);
    const live = evaluateWindow(
      { ...history(rows)[48]!, baselines: learned.baselines, clock: learned.clock },
      config,
    );
    expect(live.alerts.map((alert) => alert.kind).sort()).toEqual(['new-source', 'spike']);
    const result = bootstrapBaselines(history(rows), config);
    for (const source of ['a', 'fresh']) {
      expect(result.baselines.get(source)?.lastAlertWindow).toBeUndefined();
      expect(result.baselines.get(source)?.lastAlertCount).toBeUndefined();
    }
  });
});
