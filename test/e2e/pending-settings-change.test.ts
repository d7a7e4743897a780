/**
 * A redeploy with a window length the stored watermark does not fit, while alerts are pending:
 * the pending alerts go out first, then the run refuses by name (BaselineSettingsChangedError).
 * The pending phase asks whether a window is due before the settings are checked; that question
 * must not fail on the misaligned watermark (it threw a RangeError, and no alert went out).
 */
import { BaselineSettingsChangedError } from '../../lambda/baseline-settings';
import {
  E2E_LAG_MINUTES,
  HOUR,
  InjectedCrash,
  blocked,
  newDetector,
  startEndpoints,
  type AwsCall,
  type Detector,
  type Endpoints,
} from './harness';

const W = Date.parse('2026-11-27T09:00:00Z');
const QUIET = Array.from({ length: 40 }, (_, i) => `10.2.${i}.9`);
let endpoints: Endpoints;
beforeAll(async () => {
  endpoints = await startEndpoints();
});
afterAll(async () => {
  await endpoints.stop();
});

const isWatermarkUpdate = (call: AwsCall) =>
  call.service === 'dynamodb' &&
  call.operation === 'UpdateItem' &&
  (call.input.Key as { pk?: { S?: string } } | undefined)?.pk?.S === 'STATE' &&
  String(call.input.UpdateExpression).startsWith('SET watermark');

it('pending alerts are published, then the changed window length is refused by name', async () => {
  const detector: Detector = await newDetector(endpoints);
  endpoints.logs.seed(detector.logGroup, [
    ...QUIET.flatMap((s, i) => blocked(W - HOUR, s, 1 + (i % 4))),
    ...QUIET.flatMap((s, i) => blocked(W, s, 2 + (i % 3))),
    ...blocked(W, '10.0.5.5', 150),
  ]);
  detector.clock.set('2026-11-27T09:12:00Z');
  await detector.invoke({});
  detector.clock.set('2026-11-27T10:12:00Z');
  endpoints.sns.reset();
  await expect(detector.invoke({}, { crash: { at: isWatermarkUpdate, after: true } })).rejects.toThrow(
    InjectedCrash,
  );
  expect(endpoints.sns.publishCalls).toBe(0);

  // Redeployed with 40-minute windows (09:00 = 540 min is not a multiple of 40)
  const redeployed = await newDetector(endpoints, {
    env: {
      TABLE_NAME: detector.tableName,
      LOG_GROUP_IDENTIFIERS: detector.logGroup,
      DETECTOR_CONFIG: JSON.stringify({ lagMinutes: E2E_LAG_MINUTES, windowMinutes: 40 }),
    },
  });
  redeployed.clock.set('2026-11-27T11:12:00Z');
  const run = redeployed.invoke({});
  await expect(run).rejects.toThrow(BaselineSettingsChangedError);
  expect(endpoints.sns.publishCalls).toBe(1);
});
