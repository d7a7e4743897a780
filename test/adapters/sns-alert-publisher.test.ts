import { SNSClient } from '@aws-sdk/client-sns';
import { AlertPublishError, SnsAlertPublisher } from '../../lambda/adapters/sns-alert-publisher';
import type { ChatbotNotification, PublishedAlert } from '../../lambda/adapters/alert-format';
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
      'sqs',
    ]);
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
});
