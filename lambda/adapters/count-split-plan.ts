/**
 * The count query's split plan, kept between runs.
 *
 * Why: a window whose sources outnumber the row limit (100,000) is counted in parts, found by
 * splitting every result that comes back full (logs-insights-flow-source.ts). Each full result is
 * paged in whole (ten pages), parsed and thrown away, and each of its queries scans, and is billed
 * for, the whole window. At 1,000,000 sources that was 17 discarded queries of 36 every hour, and
 * the largest share of the run's CPU after the decisions. The sources of one hour are nearly those
 * of the next, so the parts that fitted last time are where the next window starts.
 *
 * What is kept: per log group part (fingerprinted by its log groups and the count query, so a
 * change of either starts afresh), the split tree: which nodes were split, the prefix a split
 * jumped to (splitNarrowing), and the rows each leaf's result held. Nothing else: the parts'
 * narrowings are derived again from the tree by the same code that split them (`derive`), so a
 * restored plan always partitions the address space exactly as a live split would; a plan that
 * does not derive (edited, truncated, from another version) is refused whole and the window is
 * counted from one query, as without a plan. A plan can only change how many queries count a
 * window, never what they count.
 *
 * When sources go away: a node whose leaves held fewer than half the row limit between them is
 * merged back into one query (splitting at the limit, merging below half of it, so a window near
 * the limit does not split and merge in turn).
 *
 * Without a plan (a detector's first window, a new log group part): splitAhead. A full result
 * says more than "too many": its rows are some of the part's groups with their counts, and the
 * query's `recordsMatched` is the sum of every group's count (the count and history queries count
 * each matched record in exactly one group). Rows x recordsMatched / (the rows' counts) estimates
 * the part's rows; the sample's spread over the parts estimates each part's share. A part
 * estimated at 80% of the limit or more is split again before it is queried, so a million
 * sources are not found one halving (and one discarded 100,000-row result) at a time. The
 * estimate only chooses where to split: a part that still comes back full is split as before,
 * and one split too finely is merged back by the next window's plan.
 */
import { createHash } from 'node:crypto';
import type ipaddr from 'ipaddr.js';
import { narrowingTest, type Narrowing } from './logs-insights-query';

/** One query of a split, or a node that was split into the parts `children`. */
export interface SplitNode {
  /** undefined: the whole log group part (the unsplit query). */
  narrowing: Narrowing | undefined;
  children?: SplitNode[];
  /** The prefix the split jumped to (splitNarrowing), when it did. */
  jump?: string;
  /** Rows of the node's complete result (a leaf that was queried). */
  rows?: number;
}

/** The parts of a node split at `jump` (undefined: a plain split), or undefined when it cannot be split. */
export type DeriveSplit = (
  narrowing: Narrowing | undefined,
  jump: string | undefined,
) => Narrowing[] | undefined;

/** The serialized form: a leaf `{r: rows}`, a split node `{c: [...], j?: prefix}`. */
interface EncodedNode {
  r?: number;
  c?: EncodedNode[];
  j?: string;
}

interface EncodedPlan {
  v: 1;
  parts: Record<string, EncodedNode>;
}

/** A plan's text is refused past this length (the state item it lives in is limited to 400 KB). */
export const MAX_PLAN_CHARS = 64_000;

export class SplitPlanError extends Error {
  constructor(problem: string) {
    super(`count split plan not used: ${problem}`);
    this.name = 'SplitPlanError';
  }
}

/** The fingerprint of a log group part's count query: its log groups and the query text. */
export function partFingerprint(groups: readonly string[], countQuery: string): string {
  return createHash('sha256')
    .update(JSON.stringify([groups, countQuery]))
    .digest('hex')
    .slice(0, 24);
}

/** The leaves of a tree, left to right: the queries that count it. */
export function leavesOf(node: SplitNode): SplitNode[] {
  if (node.children === undefined) return [node];
  return node.children.flatMap(leavesOf);
}

/**
 * The plan to keep after a window counted with these trees (one per log group part, by
 * fingerprint): nodes whose leaves held fewer than `mergeBelow` rows in all are merged into one.
 */
export function encodePlan(trees: ReadonlyMap<string, SplitNode>, mergeBelow: number): string {
  const parts: Record<string, EncodedNode> = {};
  for (const [fingerprint, tree] of trees) parts[fingerprint] = compact(tree, mergeBelow).node;
  const text = JSON.stringify({ v: 1, parts } satisfies EncodedPlan);
  // A plan restorePlan would refuse is not kept: none, rather than an older one.
  return text.length <= MAX_PLAN_CHARS ? text : JSON.stringify({ v: 1, parts: {} } satisfies EncodedPlan);
}

function compact(node: SplitNode, mergeBelow: number): { node: EncodedNode; rows: number } {
  if (node.children === undefined) return { node: { r: node.rows ?? 0 }, rows: node.rows ?? 0 };
  const children = node.children.map((child) => compact(child, mergeBelow));
  const rows = children.reduce((sum, child) => sum + child.rows, 0);
  if (rows < mergeBelow) return { node: { r: rows }, rows };
  return {
    node: { c: children.map((child) => child.node), ...(node.jump === undefined ? {} : { j: node.jump }) },
    rows,
  };
}

/**
 * The tree a kept plan gives the part with this fingerprint, its parts derived again by `derive`;
 * undefined when the plan has none for it (a new or changed part: start from one query). Throws
 * SplitPlanError when the plan is not one this code wrote (nothing of it is used then).
 */
export function restorePlan(
  text: string,
  fingerprint: string,
  derive: DeriveSplit,
  maxNodes: number,
): SplitNode | undefined {
  if (text.length > MAX_PLAN_CHARS)
    throw new SplitPlanError(`${text.length} characters (at most ${MAX_PLAN_CHARS})`);
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch {
    throw new SplitPlanError('not JSON');
  }
  if (!isRecord(plan) || plan.v !== 1 || !isRecord(plan.parts))
    throw new SplitPlanError('not a version 1 plan');
  const encoded = plan.parts[fingerprint];
  if (encoded === undefined) return undefined;
  const budget = { nodes: maxNodes };
  return restoreNode(encoded, undefined, derive, budget, 'root');
}

function restoreNode(
  encoded: unknown,
  narrowing: Narrowing | undefined,
  derive: DeriveSplit,
  budget: { nodes: number },
  path: string,
): SplitNode {
  budget.nodes -= 1;
  if (budget.nodes < 0) throw new SplitPlanError('more parts than queries allowed in a call');
  if (!isRecord(encoded)) throw new SplitPlanError(`${path} is not a node`);
  if (encoded.c === undefined) {
    const rows = encoded.r;
    if (typeof rows !== 'number' || !Number.isSafeInteger(rows) || rows < 0)
      throw new SplitPlanError(`${path} has no row count`);
    return { narrowing, rows };
  }
  const jump = encoded.j;
  if (jump !== undefined && typeof jump !== 'string') throw new SplitPlanError(`${path} has a bad jump`);
  const encodedParts: unknown = encoded.c;
  if (!Array.isArray(encodedParts)) throw new SplitPlanError(`${path} has no parts`);
  let parts: Narrowing[] | undefined;
  try {
    parts = derive(narrowing, jump);
  } catch (error) {
    throw new SplitPlanError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parts === undefined || parts.length !== encodedParts.length)
    throw new SplitPlanError(`${path} does not split into ${encodedParts.length} parts`);
  const children = parts.map((part, i) => restoreNode(encodedParts[i], part, derive, budget, `${path}.${i}`));
  return { narrowing, children, ...(jump === undefined ? {} : { jump }) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One sampled row of a full result: where its source is, to estimate how parts below fill. */
export interface SampledSource {
  text: string;
  address: ipaddr.IPv4 | ipaddr.IPv6;
  account: string | undefined;
}

/** A node's parts, given the addresses seen in it (the flow source's split: CIDRs, jumps, accounts). */
export type SplitBySeen = (
  narrowing: Narrowing | undefined,
  seen: Iterable<string>,
) => { children: Narrowing[]; jump?: string } | undefined;

export interface SplitAheadOptions {
  /** Result rows each sampled source stands for (the estimate's scale). */
  rowsPerSample: number;
  /** A part estimated at this many rows or more is split again. */
  splitAt: number;
  /** A part with fewer sampled sources is not split again (too little to go on). */
  minSample: number;
  /** Levels split ahead below the node's own split. */
  maxLevels: number;
  /** Parts that may still be added (the call's query budget). */
  budget: { nodes: number };
  split: SplitBySeen;
}

/**
 * Splits the (unqueried) parts of a node that was just split, where the sample says a part would
 * come back full: each part gets the sampled sources it holds, and one estimated at `splitAt` rows
 * or more is split again, down to `maxLevels`. Returns the parts added.
 */
export function splitAhead(
  node: SplitNode,
  sample: readonly SampledSource[],
  options: SplitAheadOptions,
): number {
  let added = 0;
  const refine = (part: SplitNode, members: readonly SampledSource[], level: number): void => {
    if (level > options.maxLevels || members.length < options.minSample) return;
    if (members.length * options.rowsPerSample < options.splitAt) return;
    const split = options.split(
      part.narrowing,
      members.map((m) => m.text),
    );
    if (split === undefined || split.children.length > options.budget.nodes) return;
    options.budget.nodes -= split.children.length;
    added += split.children.length;
    part.children = split.children.map((narrowing) => ({ narrowing }));
    if (split.jump !== undefined) part.jump = split.jump;
    for (const child of part.children) refine(child, membersOf(child, members), level + 1);
  };
  for (const child of node.children ?? []) refine(child, membersOf(child, sample), 1);
  return added;
}

function membersOf(part: SplitNode, sample: readonly SampledSource[]): SampledSource[] {
  if (part.narrowing === undefined) return [];
  const holds = narrowingTest(part.narrowing);
  return sample.filter((m) => holds(m.address, m.account));
}
