import { SNSClient } from '@aws-sdk/client-sns';
import {
  AlertPublishError,
  SnsAlertPublisher,
  retryKmsThrottling,
} from '../../lambda/adapters/sns-alert-publisher';
import {
  AlertTooLargeError,
  type ChatbotNotification,
  type PublishedAlert,
} from '../../lambda/adapters/alert-format';
import type { Alert } from '../../lambda/core';
import { startLocalSns, type LocalSns } from '../support/local-sns';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:egress-alerts';

let sns: LocalSns;
let client: SNSClient;
let publisher: SnsAlertPublisher;

beforeAll(async () => {
  sns = await startLocalSns({ topics: [TOPIC] });
  client = new SNSClient({ ...sns.clientConfig(), maxAttempts: 1 });
  publisher = new SnsAlertPublisher({
    client,
    topicArn: TOPIC,
    format: { region: 'us-east-1', logGroupIdentifiers: ['/vpc/flows'] },
  });
});

beforeEach(() => sns.reset());

afterAll(async () => {
  client.destroy();
  await sns.stop();
});

const alert = (overrides: Partial<Alert> = {}): Alert => ({
  alertId: '2026-11-27T09:00:00Z/10.0.1.23',
  kind: 'spike',
  preset: 'recommended',
  severity: 'high',
  windowStart: '2026-11-27T09:00:00Z',
  windowEnd: '2026-11-27T10:00:00Z',
  srcIp: '10.0.1.23',
  blockedCount: 412,
  uniqueDestinations: 37,
  baseline: { mean: 12.3, sd: 4.1, dataPoints: 720 },
  zScore: 97.56,
  ...overrides,
});

describe('SnsAlertPublisher', () => {
  it('publishes one MessageStructure json message with every protocol key, subject and attributes', async () => {
    // Act
    const messageId = await publisher.publish(alert());

    // Assess
    expect(sns.published).toHaveLength(1);
    const [sent] = sns.published;
    expect(sent!.messageId).toBe(messageId);
    expect(sent!.messageStructure).toBe('json');
    expect(sent!.subject).toBe('[HIGH] Blocked egress spike: 10.0.1.23 (412 blocked, 2026-11-27T09:00Z)');
    expect(Object.keys(sent!.perProtocol ?? {}).sort()).toEqual([
      'default',
      'email',
      'https',
      'lambda',
      'sms',
      'sqs',
    ]);
    expect(sent!.perProtocol!.sms).toBe(sent!.subject);
    const chat = JSON.parse(sent!.perProtocol!.https!) as ChatbotNotification;
    expect(chat.version).toBe('1.0');
    expect((JSON.parse(sent!.perProtocol!.sqs!) as PublishedAlert).alertId).toBe(
      '2026-11-27T09:00:00Z/10.0.1.23',
    );
    expect(sent!.attributes).toEqual({
      severity: { dataType: 'String', stringValue: 'high' },
      kind: { dataType: 'String', stringValue: 'spike' },
      srcIp: { dataType: 'String', stringValue: '10.0.1.23' },
      region: { dataType: 'String', stringValue: 'us-east-1' },
      accountSrcIp: { dataType: 'String', stringValue: '-|10.0.1.23' },
    });
  });

  it('gets a huge alert accepted by an endpoint that enforces the 256 KB limit', async () => {
    // Prepare
    const topDestinations = Array.from({ length: 5_000 }, (_, i) => ({
      address: `203.0.${Math.floor(i / 256)}.${i % 256}`,
      port: 443,
      protocol: 6,
      count: 5_000 - i,
    }));

    // Act
    await publisher.publish(
      alert({ details: { topDestinations, totalDestinations: 5_000, interfaceIds: [] } }),
    );

    // Assess
    expect(sns.rejected).toEqual([]);
    const raw = JSON.parse(sns.published[0]!.perProtocol!.lambda!) as PublishedAlert;
    expect(raw.truncated?.topDestinations?.total).toBe(5_000);
  });

  it('marks a test alert in subject and severity attribute', async () => {
    await publisher.publish(alert(), { test: true });
    expect(sns.published[0]!.subject).toMatch(/^\[TEST\] /);
    expect(sns.published[0]!.attributes.severity?.stringValue).toBe('test');
  });

  it('retries KMSThrottling (an encrypted topic) as a throttle, which the SDK alone does not', async () => {
    // Prepare: the SDK's default retries (3 attempts), as the Lambda builds its client
    const plain = new SNSClient({ ...sns.clientConfig(), maxAttempts: 3 });
    const marked = retryKmsThrottling(new SNSClient({ ...sns.clientConfig(), maxAttempts: 3 }));
    const through = (c: SNSClient) =>
      new SnsAlertPublisher({
        client: c,
        topicArn: TOPIC,
        format: { region: 'us-east-1', logGroupIdentifiers: [] },
      });
    try {
      // Act and assess: without the marking, one throttle fails the publish
      sns.failNextPublishes(1, 'KMSThrottling');
      await expect(through(plain).publish(alert())).rejects.toThrow(/Injected KMSThrottling/);
      expect(sns.published).toHaveLength(0);

      sns.reset();
      sns.failNextPublishes(2, 'KMSThrottling');
      const messageId = await through(marked).publish(alert());
      expect(sns.published.map((m) => m.messageId)).toEqual([messageId]);
      expect(sns.publishCalls).toBe(3);

      // Another client error is still not retried: a topic that does not exist
      sns.reset();
      const elsewhere = new SnsAlertPublisher({
        client: marked,
        topicArn: `${TOPIC}-gone`,
        format: { region: 'us-east-1', logGroupIdentifiers: [] },
      });
      await expect(elsewhere.publish(alert())).rejects.toThrow(AlertPublishError);
      expect(sns.publishCalls).toBe(1);
    } finally {
      plain.destroy();
      marked.destroy();
    }
  });

  it('wraps a failed Publish in AlertPublishError naming the alert and topic', async () => {
    // Prepare
    sns.failNextPublishes(1, 'InternalError');

    // Act
    const attempt = publisher.publish(alert());

    // Assess
    await expect(attempt).rejects.toThrow(AlertPublishError);
    await expect(attempt).rejects.toThrow(
      /publishing alert 2026-11-27T09:00:00Z\/10\.0\.1\.23 to arn:aws:sns:us-east-1:123456789012:egress-alerts failed/,
    );
    expect(sns.published).toHaveLength(0);
  });

  it('calls an alert too large for SNS even with every list cut a refusal (parked, not retried every run)', async () => {
    // Prepare: a field no cut shortens, larger than SNS's 256 KB on its own
    const huge = alert({ alertId: `2026-11-27T09:00:00Z/${'x'.repeat(300_000)}` });

    // Act
    const error = await publisher.publish(huge).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(AlertPublishError);
    expect((error as AlertPublishError).refused).toBe(true);
    expect((error as AlertPublishError).cause).toBeInstanceOf(AlertTooLargeError);
    expect(sns.published).toHaveLength(0);
  });
});
