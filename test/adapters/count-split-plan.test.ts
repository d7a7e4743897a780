/**
 * The count query's split plan (count-split-plan.ts): what is kept of a split tree, the merge rule
 * when sources go away, and how a kept plan is derived again. The plan in use against the local
 * Logs Insights endpoint is tested in logs-insights-local.test.ts.
 */
import {
  encodePlan,
  leavesOf,
  partFingerprint,
  restorePlan,
  SplitPlanError,
  type DeriveSplit,
  type SplitNode,
} from '../../lambda/adapters/count-split-plan';
import { splitNarrowingAt, type Narrowing } from '../../lambda/adapters/logs-insights-query';

const SPACE: Narrowing = { field: 'srcAddr', cidr: '10.0.0.0/8' };
/** Halves (or jumps), as the flow source derives a CIDR split; the root is the whole of 10.0.0.0/8. */
const derive: DeriveSplit = (narrowing, jump) => splitNarrowingAt(narrowing ?? SPACE, jump);

const leaf = (narrowing: Narrowing, rows: number): SplitNode => ({ narrowing, rows });
const cidr = (text: string): Narrowing => ({ field: 'srcAddr', cidr: text });

describe('count split plan', () => {
  it('keeps split nodes and leaf rows, and merges a node whose leaves hold fewer rows than mergeBelow', () => {
    // Prepare: 10/8 split in halves; the lower half split again, its halves now nearly empty
    const tree: SplitNode = {
      narrowing: undefined,
      children: [
        {
          narrowing: cidr('10.0.0.0/9'),
          children: [leaf(cidr('10.0.0.0/10'), 3), leaf(cidr('10.64.0.0/10'), 4)],
        },
        leaf(cidr('10.128.0.0/9'), 30),
      ],
    };

    // Act
    const text = encodePlan(new Map([['part-a', tree]]), 10);

    // Assess: the lower half is one query again (7 < 10); the root stays split (37 >= 10)
    expect(JSON.parse(text)).toEqual({ v: 1, parts: { 'part-a': { c: [{ r: 7 }, { r: 30 }] } } });
    expect(JSON.parse(encodePlan(new Map([['part-a', tree]]), 38))).toEqual({
      v: 1,
      parts: { 'part-a': { r: 37 } },
    });
    expect(JSON.parse(encodePlan(new Map([['part-a', tree]]), 7))).toEqual({
      v: 1,
      parts: { 'part-a': { c: [{ c: [{ r: 3 }, { r: 4 }] }, { r: 30 }] } },
    });
  });

  it('derives the same parts again from a kept plan, jumps included', () => {
    // Prepare: a split that jumped to 10.1.2.0/24 inside the upper half
    const upper = cidr('10.128.0.0/9');
    const jumped = splitNarrowingAt(cidr('10.0.0.0/9'), '10.1.2.0/24')!;
    const tree: SplitNode = {
      narrowing: undefined,
      children: [
        {
          narrowing: cidr('10.0.0.0/9'),
          jump: '10.1.2.0/24',
          children: jumped.map((n, i) => leaf(n, 40 + i)),
        },
        leaf(upper, 50),
      ],
    };
    const text = encodePlan(new Map([['p', tree]]), 20);

    // Act
    const restored = restorePlan(text, 'p', derive, 256)!;

    // Assess
    expect(leavesOf(restored).map((n) => n.narrowing)).toEqual([...jumped, upper]);
    expect(jumped.at(-1)).toEqual({ field: 'srcAddr', cidr: '10.0.0.0/9', exclude: ['10.1.2.0/24'] });
    expect(leavesOf(restored).map((n) => n.rows)).toEqual([40, 41, 42, 50]);
    expect(restored.children![0]!.jump).toBe('10.1.2.0/24');
    expect(restorePlan(text, 'another part', derive, 256)).toBeUndefined();
  });

  it('refuses a plan with more nodes than the queries a call may run', () => {
    const text = JSON.stringify({ v: 1, parts: { p: { c: [{ c: [{ r: 1 }, { r: 1 }] }, { r: 1 }] } } });
    expect(restorePlan(text, 'p', derive, 5)).toBeDefined();
    expect(() => restorePlan(text, 'p', derive, 4)).toThrow(SplitPlanError);
    expect(() => restorePlan('x'.repeat(64_001), 'p', derive, 4)).toThrow(/64001 characters/);
  });

  it('fingerprints a part by its log groups and its count query', () => {
    const base = partFingerprint(['/a', '/b'], 'q');
    expect(base).toMatch(/^[0-9a-f]{24}$/);
    expect(partFingerprint(['/a', '/b'], 'q')).toBe(base);
    expect(partFingerprint(['/a', '/c'], 'q')).not.toBe(base);
    expect(partFingerprint(['/a', '/b'], 'q2')).not.toBe(base);
    expect(partFingerprint(['/a/b'], 'q')).not.toBe(partFingerprint(['/a', 'b'], 'q'));
  });
});
