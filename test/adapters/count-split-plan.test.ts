/**
 * The count query's split plan (count-split-plan.ts): what is kept of a split tree, the merge rule
 * when sources go away, and how a kept plan is derived again. The plan in use against the local
 * Logs Insights endpoint is tested in logs-insights-local.test.ts.
 */
import ipaddr from 'ipaddr.js';
import {
  encodePlan,
  leavesOf,
  partFingerprint,
  restorePlan,
  splitAhead,
  SplitPlanError,
  type DeriveSplit,
  type SampledSource,
  type SplitNode,
} from '../../lambda/adapters/count-split-plan';
import {
  accountNarrowings,
  jumpPrefix,
  narrowingTest,
  NO_ACCOUNT,
  splitNarrowingAt,
  type Narrowing,
} from '../../lambda/adapters/logs-insights-query';

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

  it('keeps no plan (not an older one) where the plan would be longer than restorePlan takes', () => {
    const wide: SplitNode = {
      narrowing: undefined,
      children: Array.from({ length: 6_000 }, (_, i) => leaf(cidr(`10.${i % 256}.0.0/16`), 123_456 + i)),
    };
    expect(encodePlan(new Map([['p', wide]]), 10)).toBe('{"v":1,"parts":{}}');
    const narrow: SplitNode = { narrowing: undefined, children: wide.children!.slice(0, 100) };
    expect(JSON.parse(encodePlan(new Map([['p', narrow]]), 10)).parts.p.c).toHaveLength(100);
  });

  it('keeps a node split whose leaves hold exactly mergeBelow rows (merges only below it)', () => {
    const tree: SplitNode = {
      narrowing: undefined,
      children: [leaf(cidr('10.0.0.0/9'), 20), leaf(cidr('10.128.0.0/9'), 17)],
    };
    expect(JSON.parse(encodePlan(new Map([['p', tree]]), 37)).parts.p).toEqual({ c: [{ r: 20 }, { r: 17 }] });
    expect(JSON.parse(encodePlan(new Map([['p', tree]]), 38)).parts.p).toEqual({ r: 37 });
  });

  it('refuses plans whose parts are not an object of nodes', () => {
    for (const text of [
      '[]',
      'null',
      '{"v":1,"parts":[]}',
      '{"v":1,"parts":null}',
      '{"v":1,"parts":{"p":[]}}',
    ]) {
      expect(() => restorePlan(text, 'p', derive, 256)).toThrow(SplitPlanError);
    }
    // An empty part is a part: zero rows is a count
    expect(restorePlan('{"v":1,"parts":{"p":{"r":0}}}', 'p', derive, 256)).toEqual({
      narrowing: undefined,
      rows: 0,
    });
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

  describe('splitAhead: parts a full result says would come back full are split before they are queried', () => {
    const sampled = (text: string, account?: string): SampledSource => ({
      text,
      address: ipaddr.parse(text),
      account,
    });
    const halves = (narrowing: Narrowing | undefined, seen: Iterable<string>) => {
      const part = narrowing ?? SPACE;
      const jump = part.accounts === undefined ? jumpPrefix(part, seen) : undefined;
      const children =
        (part.accounts === undefined ? splitNarrowingAt(part, jump) : undefined) ??
        accountNarrowings(part, true);
      return children && { children, ...(jump === undefined ? {} : { jump }) };
    };
    /** 10.0.0.0/8 just split in halves, its parts not yet queried. */
    const justSplit = (): SplitNode => ({
      narrowing: SPACE,
      children: [{ narrowing: cidr('10.0.0.0/9') }, { narrowing: cidr('10.128.0.0/9') }],
    });
    /** `n` sampled sources spread evenly over 10.0.0.0/9 (no long common prefix: plain halves). */
    const spread = (n: number): SampledSource[] =>
      Array.from({ length: n }, (_, i) => sampled(`10.${(i * 41) % 128}.${i & 255}.${(i * 7) & 255}`));
    const options = (rowsPerSample: number, nodes = 256) => ({
      rowsPerSample,
      splitAt: 75,
      minSample: 4,
      maxLevels: 4,
      budget: { nodes },
      split: halves,
    });

    it('splits each part down to where its estimate is under splitAt, and no further', () => {
      // Prepare: 400 sampled sources in the lower /9, each standing for one row; none in the upper
      const node = justSplit();
      const sample = spread(400);

      // Act
      const added = splitAhead(node, sample, options(1));

      // Assess: /10s (200 rows), /11s (100), /12s (50 < 75): eight /12s; the upper /9 untouched
      const leaves = leavesOf(node).map((n) => n.narrowing!.cidr);
      expect(leaves).toEqual([...Array.from({ length: 8 }, (_, i) => `10.${i * 16}.0.0/12`), '10.128.0.0/9']);
      expect(added).toBe(2 + 4 + 8);
      // Every sampled source is in exactly one leaf: the leaves partition what was split
      for (const m of sample) {
        expect(leavesOf(node).filter((n) => narrowingTest(n.narrowing!)(m.address, m.account))).toHaveLength(
          1,
        );
      }
    });

    it('splits nothing when no part is estimated at splitAt (the estimate scale matters)', () => {
      const node = justSplit();
      expect(splitAhead(node, spread(400), options(0.1))).toBe(0);
      expect(leavesOf(node)).toHaveLength(2);
    });

    it('stops at maxLevels, at minSample, and within the query budget', () => {
      const deep = justSplit();
      splitAhead(deep, spread(400), { ...options(1000), maxLevels: 2 });
      expect(leavesOf(deep).map((n) => n.narrowing!.cidr)).toEqual([
        '10.0.0.0/11',
        '10.32.0.0/11',
        '10.64.0.0/11',
        '10.96.0.0/11',
        '10.128.0.0/9',
      ]);
      const thin = justSplit();
      expect(splitAhead(thin, spread(3), options(1000))).toBe(0);
      const poor = justSplit();
      expect(splitAhead(poor, spread(400), options(1000, 3))).toBe(2);
      expect(leavesOf(poor)).toHaveLength(3);
    });

    it('splits at exactly splitAt rows, exactly minSample sources and exactly the budget left', () => {
      // 75 sampled sources in the lower /9, one row each: estimated at splitAt (75) exactly
      const atSplit = justSplit();
      expect(splitAhead(atSplit, spread(75), { ...options(1), maxLevels: 1 })).toBe(2);
      const underSplit = justSplit();
      expect(splitAhead(underSplit, spread(74), { ...options(1), maxLevels: 1 })).toBe(0);
      // 4 sampled sources with minSample 4
      const atMin = justSplit();
      expect(splitAhead(atMin, spread(4), { ...options(1000), maxLevels: 1 })).toBe(2);
      // a budget of exactly the two parts of the split
      const atBudget = justSplit();
      expect(splitAhead(atBudget, spread(400), { ...options(1000, 2), maxLevels: 1 })).toBe(2);
      const overBudget = justSplit();
      expect(splitAhead(overBudget, spread(400), { ...options(1000, 1), maxLevels: 1 })).toBe(0);
    });

    it('jumps where the sampled sources share a long prefix, as a live split would', () => {
      const node = justSplit();
      const hosts = Array.from({ length: 100 }, (_, i) => sampled(`10.1.2.${i + 1}`));
      splitAhead(node, hosts, options(1));
      expect(node.children![0]!.jump).toBe('10.1.2.0/25');
      expect(leavesOf(node).map((n) => n.narrowing)).toEqual([
        cidr('10.1.2.0/26'),
        cidr('10.1.2.64/26'),
        { field: 'srcAddr', cidr: '10.0.0.0/9', exclude: ['10.1.2.0/25'] },
        cidr('10.128.0.0/9'),
      ]);
    });

    it('splits a shared address by account, from the accounts sampled', () => {
      // Prepare: 10.0.0.5 in 60 accounts, split down to the address already
      const node: SplitNode = {
        narrowing: cidr('10.0.0.4/31'),
        children: [{ narrowing: cidr('10.0.0.4/32') }, { narrowing: cidr('10.0.0.5/32') }],
      };
      const accounts = Array.from({ length: 60 }, (_, i) =>
        String(100_000_000_000 + i * 13_000_000_000).padStart(12, '0'),
      );
      const sample = [...accounts.map((a) => sampled('10.0.0.5', a)), sampled('10.0.0.5', 'unknown')];

      // Act
      splitAhead(node, sample, { ...options(10), minSample: 2 });

      // Assess: the address's records by account id digit (and of no account), then the busy digits again
      const parts = leavesOf(node).map((n) => n.narrowing!);
      expect(parts[0]).toEqual(cidr('10.0.0.4/32'));
      expect(parts.filter((p) => p.accounts === NO_ACCOUNT)).toHaveLength(1);
      expect(parts.some((p) => p.accounts !== undefined && p.accounts.length === 2)).toBe(true);
      for (const m of sample) {
        expect(parts.filter((p) => narrowingTest(p)(m.address, m.account))).toHaveLength(1);
      }
    });
  });
});
