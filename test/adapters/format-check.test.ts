/**
 * The flow log format check (LogsInsightsFlowSource.checkFormat) against the local Logs Insights
 * endpoint: records that do not have the configured format are counted, whatever way they
 * differ; records that have it (NODATA and SKIPDATA rows included) are not. When a check is due
 * is the run's decision (test/e2e/format-check.test.ts).
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LogsInsightsFlowSource } from '../../lambda/adapters/logs-insights-flow-source';
import { resolveDetectorConfig, windowAt, type DetectorConfigInput } from '../../lambda/core';
import { startLocalLogsInsights, type LocalLogsInsights } from '../support/local-logs-insights';

const HOUR = 3_600_000;
const W = Date.UTC(2026, 10, 27, 9);
const AT = (W + HOUR - 5 * 60_000) / 1000; // in the window's last 10 minutes
const V2 = `2 123456789012 eni-0a1b 10.0.1.5 198.51.100.7 40000 443 6 1 60 ${AT} ${AT + 30} REJECT OK`;
const NODATA = `2 123456789012 eni-0a1b - - - - - - - ${AT} ${AT + 60} - NODATA`;
const SKIPDATA = `2 123456789012 eni-0a1b - - - - - - - ${AT} ${AT + 60} - SKIPDATA`;

let server: LocalLogsInsights;
let client: CloudWatchLogsClient;
let groups = 0;

beforeAll(async () => {
  server = await startLocalLogsInsights();
  client = new CloudWatchLogsClient({ ...server.clientConfig(), maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await server.stop();
});

/** A log group holding `lines` (each at its start time), and a source over it. */
function sourceOver(lines: string[], config: DetectorConfigInput = {}) {
  groups += 1;
  const group = `/vpc/format-check-${groups}`;
  server.seed(
    group,
    lines.map((message) => ({ timestamp: AT * 1000, message })),
  );
  return new LogsInsightsFlowSource({
    client,
    logGroupIdentifiers: [group],
    config: resolveDetectorConfig(config),
    pollIntervalMs: 1,
  });
}

const deadline = () => Date.now() + 60_000;
const window = windowAt(W, resolveDetectorConfig({}));

describe('format check', () => {
  it('counts no record of the configured format, NODATA and SKIPDATA rows included', async () => {
    // Act
    const check = await sourceOver([V2, V2, NODATA, SKIPDATA]).checkFormat(window, deadline());

    // Assess
    expect(check).toEqual({
      from: W + HOUR - 10 * 60_000,
      to: W + HOUR,
      recordsScanned: 4,
      notInFormat: 0,
    });
  });

  it.each([
    ['more fields (a v5 format with vpc-id at the end)', `${V2} vpc-0a1b2c3d`],
    ['fewer fields (the log-status missing)', V2.split(' ').slice(0, 13).join(' ')],
    ['fields in another order (action and log-status swapped)', V2.replace('REJECT OK', 'OK REJECT')],
    ['another order with the same field count (srcport first)', `40000 ${V2.replace(' 40000 ', ' ')}`],
  ])('counts records with %s', async (_name, other) => {
    // Act
    const check = await sourceOver([V2, other, other]).checkFormat(window, deadline());

    // Assess
    expect(check).toMatchObject({ recordsScanned: 3, notInFormat: 2 });
  });

  it('counts default-format records under a custom format, whatever Logs Insights discovered in them (a failed parse leaves discovered fields alone), and the count query counts none', async () => {
    // Prepare: a Standard-class group of default (v2) records, whose fields Logs Insights
    // discovers as version, srcAddr, action, ...; the detector configured for a v5 format.
    const custom =
      'version vpc-id subnet-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr ' +
      'pkt-dstaddr protocol bytes packets start end action tcp-flags log-status flow-direction';
    const source = sourceOver([V2, V2.replace('10.0.1.5', '10.0.1.6'), V2.replace('10.0.1.5', '10.0.1.7')], {
      flowLogFormat: custom,
    });

    // Act
    const check = await source.checkFormat(window, deadline());
    const counted = await source.countWindow(window, deadline());

    // Assess: named as discovered, the parse's fields were the discovered ones on a record it did
    // not match, so the check found nothing wrong and the count query counted every REJECT.
    expect(check).toMatchObject({ recordsScanned: 3, notInFormat: 3 });
    expect(counted.counts.size).toBe(0);
  });

  it('checks against a custom flowLogFormat, by its own last field (here one whose values hold an s)', async () => {
    // Prepare: records of a format ending in flow-direction; one written with an extra field
    const format =
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction';
    const line = `${V2} egress`;

    // Act
    const check = await sourceOver([line, `${V2} ingress`, `${line} 2`], {
      flowLogFormat: format,
    }).checkFormat(window, deadline());

    // Assess
    expect(check).toMatchObject({ recordsScanned: 3, notInFormat: 1 });
  });
});
