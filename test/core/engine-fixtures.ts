/** Small builders shared by the engine tests: a window input, a stored baseline, a config. */
import type { Baseline } from '../../lambda/core/baseline';
import {
  resolveDetectorConfig,
  type DetectorConfig,
  type DetectorConfigInput,
} from '../../lambda/core/config';
import type { WindowInput } from '../../lambda/core/detect';

export const HOUR = 3_600_000;
/** 2026-03-01T00:00:00Z, an aligned window start. */
export const T0 = Date.UTC(2026, 2, 1);

export const escuConfig = (overrides: DetectorConfigInput = {}): DetectorConfig =>
  resolveDetectorConfig({ preset: 'splunk-escu', ...overrides });

export const recommendedConfig = (overrides: DetectorConfigInput = {}): DetectorConfig =>
  resolveDetectorConfig({ preset: 'recommended', ...overrides });

/** A stored baseline whose last fold was the window before `T0` and whose clock is in step. */
export function storedBaseline(
  fields: Partial<Baseline> & Pick<Baseline, 'mean' | 'variance' | 'dataPoints'>,
): Baseline {
  return { lastWindow: T0 - HOUR, clockAtLastFold: 100, ...fields };
}

export function windowInput(
  counts: Record<string, number>,
  baselines: Record<string, Baseline> = {},
  fields: Partial<Omit<WindowInput, 'counts' | 'baselines'>> = {},
): WindowInput {
  return {
    windowStart: T0,
    complete: true,
    clock: 100,
    ...fields,
    counts: new Map(Object.entries(counts)),
    baselines: new Map(Object.entries(baselines)),
  };
}
