/**
 * Building baselines from history (the ESCU support search "Baseline of blocked outbound
 * traffic from AWS"), one window of per-source counts after another.
 */
import { escuBaselineFromHistory, type Baseline } from './baseline';
import type { DetectorConfig } from './config';
import { evaluateWindow } from './detect';

export interface HistoryWindow {
  windowStart: number;
  counts: ReadonlyMap<string, number>;
  complete: boolean;
}

export interface BootstrapResult {
  baselines: Map<string, Baseline>;
  /** The complete-window clock after the last window. */
  clock: number;
  /** Start of the last window of the history, or undefined when there was none. */
  lastWindow: number | undefined;
  windows: number;
}

/**
 * splunk-escu: mean and sample standard deviation over the windows in which each source had
 * records. recommended: every window folded in order with the live update rule (zeros included,
 * lazily), so bootstrapping and then detecting equals detecting all along.
 * `history` must be in window order; `start` continues from existing baselines.
 */
export function bootstrapBaselines(
  history: Iterable<HistoryWindow>,
  config: DetectorConfig,
  start: { baselines?: ReadonlyMap<string, Baseline>; clock?: number } = {},
): BootstrapResult {
  const baselines = new Map(start.baselines ?? []);
  let clock = start.clock ?? 0;
  let lastWindow: number | undefined;
  let windows = 0;
  const escuHistory = new Map<string, number[]>();

  for (const window of history) {
    if (lastWindow !== undefined && window.windowStart <= lastWindow) {
      throw new RangeError('bootstrap history must be in increasing window order');
    }
    lastWindow = window.windowStart;
    windows += 1;
    if (config.preset === 'splunk-escu') {
      for (const [srcIp, count] of window.counts) {
        if (!(count > 0)) continue;
        const counts = escuHistory.get(srcIp);
        if (counts) counts.push(count);
        else escuHistory.set(srcIp, [count]);
      }
      if (window.complete) clock += 1;
      continue;
    }
    const result = evaluateWindow({ ...window, baselines, clock }, config, { learnOnly: true });
    for (const [srcIp, baseline] of result.updatedBaselines) baselines.set(srcIp, baseline);
    clock = result.clockAfter;
  }

  if (lastWindow !== undefined) {
    for (const [srcIp, counts] of escuHistory) {
      // ESCU's lookup is rebuilt from scratch by the support search: history replaces what was there.
      baselines.set(srcIp, escuBaselineFromHistory(counts, lastWindow, clock));
    }
  }
  return { baselines, clock, lastWindow, windows };
}
