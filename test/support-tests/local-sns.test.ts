import {
  CreateTopicCommand,
  type MessageAttributeValue,
  PublishCommand,
  type PublishCommandInput,
  SNSClient,
} from '@aws-sdk/client-sns';
import { SNS_LIMITS, startLocalSns, type LocalSns } from '../support/local-sns';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:egress-alerts';

describe('local SNS endpoint, through @aws-sdk/client-sns', () => {
  let sns: LocalSns;
  let client: SNSClient;

  beforeAll(async () => {
    sns = await startLocalSns({ topics: [TOPIC] });
    client = new SNSClient({ ...sns.clientConfig(), maxAttempts: 1 });
  });

  afterAll(async () => {
    client.destroy();
    await sns.stop();
  });

  beforeEach(() => sns.reset());

  const publish = (input: Partial<PublishCommandInput>) =>
    client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'hello', ...input }));

  it('captures a MessageStructure json publish with its subject, per-protocol messages and attributes', async () => {
    // Prepare
    const message = {
      default: '{"version":"1.0","source":"custom","content":{"description":"spike"}}',
      https: '{"version":"1.0","source":"custom","content":{"description":"spike"}}',
      email: 'Blocked egress spike from 10.0.0.5 <&>',
      sqs: '{"kind":"spike"}',
      lambda: '{"kind":"spike"}',
    };

    // Act
    const result = await publish({
      Subject: 'Blocked egress spike: 10.0.0.5 (high) & more',
      MessageStructure: 'json',
      Message: JSON.stringify(message),
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'high' },
        zScore: { DataType: 'Number', StringValue: '7.25' },
        srcIps: { DataType: 'String.Array', StringValue: '["10.0.0.5","10.0.0.6"]' },
      },
    });

    // Assess
    expect(sns.published).toEqual([
      {
        messageId: result.MessageId,
        topicArn: TOPIC,
        subject: 'Blocked egress spike: 10.0.0.5 (high) & more',
        message: JSON.stringify(message),
        messageStructure: 'json',
        perProtocol: message,
        attributes: {
          severity: { dataType: 'String', stringValue: 'high' },
          zScore: { dataType: 'Number', stringValue: '7.25' },
          srcIps: { dataType: 'String.Array', stringValue: '["10.0.0.5","10.0.0.6"]' },
        },
      },
    ]);
    expect(result.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts a plain message without subject or attributes', async () => {
    // Act
    await publish({ Message: 'plain text' });

    // Assess
    expect(sns.published).toMatchObject([
      { message: 'plain text', subject: undefined, perProtocol: undefined, attributes: {} },
    ]);
  });

  describe('size limit: message, subject and attributes together, in UTF-8 bytes', () => {
    it('accepts exactly 262,144 bytes and rejects one more', async () => {
      // Act
      await publish({ Message: 'x'.repeat(SNS_LIMITS.maxMessageBytes) });
      const over = publish({ Message: 'x'.repeat(SNS_LIMITS.maxMessageBytes + 1) });

      // Assess
      await expect(over).rejects.toMatchObject({
        name: 'InvalidParameterException',
        $metadata: { httpStatusCode: 400 },
      });
      expect(sns.published).toHaveLength(1);
    });

    it('counts multi-byte characters as bytes', async () => {
      // 'é' is 2 bytes: half the limit in characters is the whole limit in bytes.
      await publish({ Message: 'é'.repeat(SNS_LIMITS.maxMessageBytes / 2) });
      await expect(
        publish({ Message: 'é'.repeat(SNS_LIMITS.maxMessageBytes / 2) + 'x' }),
      ).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
    });

    it('counts the subject and the attribute names, types and values', async () => {
      // Prepare: 'severity' (8) + 'String' (6) + 'high' (4) + subject 'S' (1) = 19 bytes besides the message
      const attributes = { severity: { DataType: 'String', StringValue: 'high' } };
      const fits = 'x'.repeat(SNS_LIMITS.maxMessageBytes - 19);

      // Act
      await publish({ Message: fits, Subject: 'S', MessageAttributes: attributes });
      const over = publish({ Message: `${fits}x`, Subject: 'S', MessageAttributes: attributes });

      // Assess
      await expect(over).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: expect.stringMatching(/too long/),
      });
      expect(sns.published).toHaveLength(1);
    });
  });

  describe('subject', () => {
    it('accepts 99 characters and rejects 100', async () => {
      await publish({ Subject: 's'.repeat(99) });
      await expect(publish({ Subject: 's'.repeat(100) })).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
      expect(sns.published).toHaveLength(1);
    });

    it.each([
      ['a line feed', 'spike\nfrom 10.0.0.5'],
      ['a carriage return', 'spike\rfrom 10.0.0.5'],
      ['a tab', 'spike\tfrom'],
      ['an escape character', 'spike\u001b[31m'],
      ['only spaces', '   '],
      ['an empty string', ''],
    ])('rejects %s', async (_case, subject) => {
      await expect(publish({ Subject: subject })).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
      expect(sns.published).toHaveLength(0);
      expect(sns.rejected).toHaveLength(1);
    });
  });

  describe('MessageStructure json', () => {
    it.each([
      ['a body that is not JSON', '{"default": '],
      ['a JSON array', '["default"]'],
      ['no default key', '{"email":"x"}'],
      ['a non-string default', '{"default":{"text":"x"}}'],
      ['a key twice', '{"default":"x","email":"a","email":"b"}'],
      ['default twice', '{"default":"x","default":"y"}'],
    ])('rejects %s', async (_case, message) => {
      await expect(publish({ MessageStructure: 'json', Message: message })).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: expect.stringMatching(/Message Structure/),
      });
      expect(sns.published).toHaveLength(0);
    });

    it('ignores keys of no protocol and protocol keys whose value is not a string, as SNS documents', async () => {
      // Act
      await publish({
        MessageStructure: 'json',
        Message:
          '{"default":"x","slack":"y","sqs":{"kind":"spike"},"email":"e","nested":{"default":"z","default":"w"}}',
      });

      // Assess
      expect(sns.published).toHaveLength(1);
      expect(sns.published[0]!.perProtocol).toEqual({ default: 'x', email: 'e' });
    });

    it('rejects a MessageStructure other than json', async () => {
      await expect(publish({ MessageStructure: 'xml' })).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
    });
  });

  describe('message attributes', () => {
    it.each<[string, Record<string, MessageAttributeValue>, string]>([
      [
        'an unknown data type',
        { severity: { DataType: 'Text', StringValue: 'high' } },
        'InvalidParameterValueException',
      ],
      [
        'a non-numeric Number',
        { count: { DataType: 'Number', StringValue: 'many' } },
        'InvalidParameterValueException',
      ],
      [
        'a String.Array that is not an array',
        { ips: { DataType: 'String.Array', StringValue: '10.0.0.5' } },
        'InvalidParameterValueException',
      ],
      [
        'a String.Array holding objects',
        { ips: { DataType: 'String.Array', StringValue: '[{"a":1}]' } },
        'InvalidParameterValueException',
      ],
      [
        'an empty String value',
        { severity: { DataType: 'String', StringValue: '' } },
        'InvalidParameterValueException',
      ],
      [
        'a reserved AWS. name',
        { 'AWS.severity': { DataType: 'String', StringValue: 'high' } },
        'InvalidParameterException',
      ],
      [
        'a name with a space',
        { 'src ip': { DataType: 'String', StringValue: '10.0.0.5' } },
        'InvalidParameterException',
      ],
    ])('rejects %s', async (_case, attributes, errorName) => {
      await expect(publish({ MessageAttributes: attributes })).rejects.toMatchObject({ name: errorName });
      expect(sns.published).toHaveLength(0);
    });

    it('accepts String values with a custom type suffix and Binary values', async () => {
      // Act
      await publish({
        MessageAttributes: {
          kind: { DataType: 'String.alertKind', StringValue: 'spike' },
          blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      });

      // Assess
      expect(sns.published[0]?.attributes).toEqual({
        kind: { dataType: 'String.alertKind', stringValue: 'spike' },
        blob: { dataType: 'Binary', binaryValue: Buffer.from([1, 2, 3]).toString('base64') },
      });
    });
  });

  it('answers NotFound (HTTP 404) for a topic that does not exist, and InvalidParameter for an empty message', async () => {
    await expect(publish({ TopicArn: `${TOPIC}-other` })).rejects.toMatchObject({
      name: 'NotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(publish({ Message: '' })).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect(sns.publishCalls).toBe(2);
    expect(sns.published).toHaveLength(0);
  });

  it('answers InvalidAction to actions other than Publish', async () => {
    await expect(client.send(new CreateTopicCommand({ Name: 'new' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(/CreateTopic is not valid/),
    });
  });

  it('refuses a Publish to a FIFO topic without MessageGroupId, or without a deduplication id unless the topic deduplicates by content', async () => {
    // Prepare
    const fifo = 'arn:aws:sns:us-east-1:123456789012:alerts.fifo';
    const byContent = 'arn:aws:sns:us-east-1:123456789012:by-content.fifo';
    const local = await startLocalSns({ topics: [fifo, byContent], contentBasedDeduplication: [byContent] });
    const fifoClient = new SNSClient({ ...local.clientConfig(), maxAttempts: 1 });
    const send = (input: Partial<PublishCommandInput>) =>
      fifoClient.send(new PublishCommand({ TopicArn: fifo, Message: 'hello', ...input }));
    try {
      // Act + Assess
      await expect(send({})).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: expect.stringMatching(/MessageGroupId parameter is required for FIFO topics/) as string,
      });
      await expect(send({ MessageGroupId: 'g' })).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: expect.stringMatching(
          /ContentBasedDeduplication enabled or MessageDeduplicationId/,
        ) as string,
      });
      await send({ MessageGroupId: 'g', MessageDeduplicationId: 'd' });
      await send({ TopicArn: byContent, MessageGroupId: 'g' });
      expect(local.published.map((p) => p.topicArn)).toEqual([fifo, byContent]);
      expect(local.rejected).toHaveLength(2);
    } finally {
      fifoClient.destroy();
      await local.stop();
    }
  });

  it('publishes to a topic added later', async () => {
    // Prepare
    const second = 'arn:aws:sns:us-east-1:123456789012:second';
    sns.addTopic(second);

    // Act
    await publish({ TopicArn: second });

    // Assess
    expect(sns.published.map((p) => p.topicArn)).toEqual([second]);
  });

  describe('injected failures', () => {
    it.each<['InternalError' | 'Throttled' | 'Throttling', string, number]>([
      ['InternalError', 'InternalErrorException', 500],
      ['Throttled', 'ThrottledException', 429],
      ['Throttling', 'Throttling', 400],
    ])(
      'fails the next publishes with %s, capturing nothing, then recovers',
      async (code, errorName, status) => {
        // Prepare
        sns.failNextPublishes(2, code);

        // Act
        await expect(publish({})).rejects.toMatchObject({
          name: errorName,
          $metadata: { httpStatusCode: status },
        });
        await expect(publish({})).rejects.toMatchObject({ name: errorName });
        await publish({ Message: 'third time lucky' });

        // Assess
        expect(sns.published.map((p) => p.message)).toEqual(['third time lucky']);
        expect(sns.publishCalls).toBe(3);
      },
    );

    it('lets the SDK retry an InternalError by itself', async () => {
      // Prepare
      const retrying = new SNSClient({ ...sns.clientConfig(), maxAttempts: 2 });
      sns.failNextPublishes(1);

      // Act
      const result = await retrying.send(new PublishCommand({ TopicArn: TOPIC, Message: 'retried' }));
      retrying.destroy();

      // Assess
      expect(sns.published.map((p) => p.messageId)).toEqual([result.MessageId]);
      expect(sns.publishCalls).toBe(2);
    });

    it('rejects a non-positive failure count', () => {
      expect(() => sns.failNextPublishes(0)).toThrow(RangeError);
    });
  });
});
