/**
 * End to end, records that reach CloudWatch Logs late: flow logs aggregate for up to 10 minutes
 * (1 on Nitro interfaces and on the stack's own flow logs) and are then delivered in about 5
 * minutes, best effort. The local Logs Insights endpoint shows a query only what was ingested by
 * the test clock, as the service does.
 */
import { resolveDetectorConfig } from '../../lambda/core';
import type { RunLogger } from '../../lambda/detector-run';
import { parseDeploymentContext } from '../../lib/deployment-context';
import { detectorSchedule } from '../../lib/schedule';
import {
  E2E_LAG_MINUTES,
  HOUR,
  flowRecord,
  newDetector,
  numberAttr,
  withEndpoints,
  type Endpoints,
  key,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const MINUTE = 60_000;
const SOURCE = '10.0.1.5';

let endpoints: Endpoints;
withEndpoints((started) => (endpoints = started));

afterEach(() => endpoints.logs.setClock(undefined));

/** A blocked record starting at `start`, ending `aggregation` later, ingested `delivery` after its end. */
function lateRecord(start: number, aggregationMinutes: number, deliveryMinutes: number) {
  const record = flowRecord(start, SOURCE, '203.0.113.9');
  const startSeconds = Math.floor(start / 1000);
  const end = startSeconds + aggregationMinutes * 60;
  return {
    ...record,
    message: record.message.replace(` ${startSeconds} ${startSeconds + 60} `, ` ${startSeconds} ${end} `),
    ingestionTime: end * 1000 + deliveryMinutes * MINUTE,
  };
}

class RecordingLogger implements RunLogger {
  readonly warnings: { message: string; extra: Record<string, unknown>[] }[] = [];
  info(): void {}
  error(): void {}
  appendKeys(): void {}
  removeKeys(): void {}
  warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.warnings.push({ message, extra });
  }
}

describe('late records', () => {
  it('the default lag counts a record that starts in the last minutes of a window under 10-minute aggregation', async () => {
    // Prepare: the default detector config, run when the stack schedules it for existing flow log
    // groups (which may aggregate for 10 minutes): lag + the default 2-minute margin after the window.
    const lagMinutes = resolveDetectorConfig({}).lagMinutes;
    const margin = parseDeploymentContext({ flowLogGroups: ['/vpc/flow-logs'] }).scheduleMarginMinutes;
    const { expression } = detectorSchedule(60, lagMinutes, margin);
    const runMinute = Number(/^cron\((\d+) /.exec(expression)?.[1]);
    const detector = await newDetector(endpoints, { env: { DETECTOR_CONFIG: '{}' } });
    endpoints.logs.seed(detector.logGroup, [
      lateRecord(W + 5 * MINUTE, 1, 1),
      lateRecord(W + 30 * MINUTE, 10, 5),
      // 09:58 to 10:08 (a 10-minute aggregation interval), delivered in the typical 5 minutes: 10:13.
      lateRecord(W + 58 * MINUTE, 10, 5),
    ]);
    endpoints.logs.setClock(detector.clock.now);
    detector.clock.set(new Date(W + HOUR + runMinute * MINUTE).toISOString());

    // Act
    const summary = await detector.invoke({});

    // Assess: the first window learns; the source's baseline is its count, the late record included
    expect(summary.windows).toEqual(['2026-11-27T09:00:00Z']);
    expect(numberAttr((await detector.items()).get(`SRC#${key(SOURCE)}|BASELINE`), 'mean')).toBe(3);
    expect(summary.maxDeliveryDelaySeconds).toBe(15 * 60);
    expect(summary.deliveryLaterThanLag).toBeUndefined();
  });

  it('measures how late records arrived, publishes it, and warns when it is more than the lag', async () => {
    // Prepare: lag 10; a record delivered 14 minutes after its start (still before the run)
    const logger = new RecordingLogger();
    const detector = await newDetector(endpoints, { runtime: { logger } });
    endpoints.logs.seed(detector.logGroup, [
      lateRecord(W + 10 * MINUTE, 10, 4),
      lateRecord(W + 20 * MINUTE, 1, 2),
      lateRecord(W + HOUR + 10 * MINUTE, 1, 2),
    ]);
    endpoints.logs.setClock(detector.clock.now);

    // Act
    detector.clock.set(new Date(W + HOUR + (E2E_LAG_MINUTES + 2) * MINUTE).toISOString());
    const late = await detector.invoke({});
    const lateMetric = detector.metrics.last('MaxDeliveryDelay');
    detector.clock.set(new Date(W + 2 * HOUR + (E2E_LAG_MINUTES + 2) * MINUTE).toISOString());
    const timely = await detector.invoke({});
    const timelyMetric = detector.metrics.last('MaxDeliveryDelay');
    detector.clock.set(new Date(W + 3 * HOUR + (E2E_LAG_MINUTES + 2) * MINUTE).toISOString());
    const empty = await detector.invoke({});

    // Assess
    expect(late).toMatchObject({ maxDeliveryDelaySeconds: 14 * 60, deliveryLaterThanLag: true });
    expect(lateMetric).toBe(14 * 60);
    expect(logger.warnings.map((w) => w.message)).toContainEqual(
      expect.stringMatching(/^records arrived up to 14 min after their start, later than lagMinutes \(10\)/),
    );
    expect(timely.maxDeliveryDelaySeconds).toBe(3 * 60);
    expect(timely.deliveryLaterThanLag).toBeUndefined();
    expect(timelyMetric).toBe(3 * 60);
    // A window without records measures nothing: no datapoint rather than a delay of zero.
    expect(empty.windows).toEqual(['2026-11-27T11:00:00Z']);
    expect(empty.maxDeliveryDelaySeconds).toBeUndefined();
    expect(detector.metrics.published.at(-1)?.map((m) => m.name)).not.toContain('MaxDeliveryDelay');
  });
});
