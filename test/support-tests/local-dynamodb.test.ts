import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { createTable, startLocalDynamoDb, type LocalDynamoDb } from '../support/local-dynamodb';

const TABLE = 'detector';

describe('local DynamoDB (dynalite behind a counting, fault-injecting proxy)', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    // One attempt: the tests below observe each injected failure instead of the SDK's retries.
    client = new DynamoDBClient({ ...dynamo.clientConfig(), maxAttempts: 1 });
    await createTable(client, TABLE);
  });

  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });

  beforeEach(() => dynamo.resetCounters());

  const put = (pk: string, sk: string) => ({
    PutRequest: { Item: { pk: { S: pk }, sk: { S: sk }, v: { N: '1' } } },
  });

  it('creates the project table with pk/sk string keys, on demand', async () => {
    // Act
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));

    // Assess
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.TableStatus).toBe('ACTIVE');
  });

  it('forwards requests to dynalite and counts them per operation', async () => {
    // Act
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'a' }, sk: { S: '1' } } }));
    const got = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' }, sk: { S: '1' } } }),
    );
    await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' }, sk: { S: '2' } } }));

    // Assess
    expect(got.Item?.pk).toEqual({ S: 'a' });
    expect(dynamo.count('PutItem')).toBe(1);
    expect(dynamo.count('GetItem')).toBe(2);
    expect(dynamo.requests.map((r) => r.operation)).toEqual(['PutItem', 'GetItem', 'GetItem']);
  });

  it('holds back items of the next BatchWriteItem call as UnprocessedItems and writes only the rest', async () => {
    // Prepare
    dynamo.injectUnprocessedItems(1, 2);
    const writes = [put('b', '1'), put('b', '2'), put('b', '3'), put('b', '4'), put('b', '5')];

    // Act
    const first = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: writes } }));
    const held = first.UnprocessedItems?.[TABLE] ?? [];
    const storedAfterFirst = await client.send(
      new BatchGetItemCommand({
        RequestItems: {
          [TABLE]: { Keys: writes.map((w) => ({ pk: w.PutRequest.Item.pk, sk: w.PutRequest.Item.sk })) },
        },
      }),
    );
    const second = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: held } }));

    // Assess
    expect(held.map((w) => w.PutRequest?.Item?.sk?.S)).toEqual(['4', '5']);
    expect((storedAfterFirst.Responses?.[TABLE] ?? []).map((i) => i.sk?.S).sort()).toEqual(['1', '2', '3']);
    expect(second.UnprocessedItems ?? {}).toEqual({});
    expect(dynamo.count('BatchWriteItem')).toBe(2);
    expect(dynamo.batchWriteItemCount).toBe(7);
    expect(dynamo.batchWriteSizes).toEqual([5, 2]);
    expect(dynamo.batchGetSizes).toEqual([5]);
  });

  it('returns every item unprocessed, writing none, when the whole batch is held back', async () => {
    // Prepare
    dynamo.injectUnprocessedItems(1, 25);

    // Act
    const result = await client.send(
      new BatchWriteItemCommand({ RequestItems: { [TABLE]: [put('c', '1')] } }),
    );
    const stored = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'c' }, sk: { S: '1' } } }),
    );

    // Assess
    expect(result.UnprocessedItems?.[TABLE]).toHaveLength(1);
    expect(stored.Item).toBeUndefined();
  });

  it('holds back keys of the next BatchGetItem call as UnprocessedKeys, keeping the request options', async () => {
    // Prepare
    await client.send(
      new BatchWriteItemCommand({ RequestItems: { [TABLE]: [put('d', '1'), put('d', '2'), put('d', '3')] } }),
    );
    dynamo.injectUnprocessedKeys(1);
    const keys = ['1', '2', '3'].map((sk) => ({ pk: { S: 'd' }, sk: { S: sk } }));

    // Act
    const result = await client.send(
      new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys, ConsistentRead: true } } }),
    );

    // Assess: half rounded up (2 of 3) held back, from the end
    expect((result.Responses?.[TABLE] ?? []).map((i) => i.sk?.S)).toEqual(['1']);
    expect(result.UnprocessedKeys?.[TABLE]?.Keys?.map((k) => k.sk?.S)).toEqual(['2', '3']);
    expect(result.UnprocessedKeys?.[TABLE]?.ConsistentRead).toBe(true);
    expect(dynamo.batchGetKeyCount).toBe(3);
  });

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException'] as const)(
    'fails the next calls of one operation with %s, then recovers',
    async (code) => {
      // Prepare
      dynamo.injectThrottling('PutItem', 2, code);
      const item = { TableName: TABLE, Item: { pk: { S: 'e' }, sk: { S: code } } };

      // Act
      const first = client.send(new PutItemCommand(item));
      await expect(first).rejects.toMatchObject({ name: code, $metadata: { httpStatusCode: 400 } });
      await expect(client.send(new PutItemCommand(item))).rejects.toMatchObject({ name: code });
      await client.send(new PutItemCommand(item));
      const stored = await client.send(new GetItemCommand({ TableName: TABLE, Key: item.Item }));

      // Assess
      expect(stored.Item?.sk?.S).toBe(code);
      expect(dynamo.count('PutItem')).toBe(3);
    },
  );

  it('answers a BatchGetItem with up to 16 MB of items, as DynamoDB does, the rest as UnprocessedKeys', async () => {
    // Prepare: 60 items of about 300 KB (18 MB in all)
    const big = 'x'.repeat(300_000);
    const keys = Array.from({ length: 60 }, (_, i) => ({
      pk: { S: 'big' },
      sk: { S: String(i).padStart(2, '0') },
    }));
    for (let i = 0; i < keys.length; i += 20) {
      await client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [TABLE]: keys
              .slice(i, i + 20)
              .map((key) => ({ PutRequest: { Item: { ...key, v: { S: big } } } })),
          },
        }),
      );
    }

    // Act
    const first = await client.send(
      new BatchGetItemCommand({
        RequestItems: { [TABLE]: { Keys: keys.slice(0, 40), ConsistentRead: true } },
      }),
    );
    const all = await client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys } } }));

    // Assess: 40 items (12 MB) in one answer; of 60, the answer stops short of 16 MB and the rest
    // come back as keys to ask again
    expect(first.Responses?.[TABLE]).toHaveLength(40);
    expect(first.UnprocessedKeys?.[TABLE]?.Keys ?? []).toHaveLength(0);
    const got = all.Responses?.[TABLE] ?? [];
    const left = all.UnprocessedKeys?.[TABLE]?.Keys ?? [];
    expect(got.length).toBeGreaterThanOrEqual(50);
    expect(got.length * 300_000).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(got.length + left.length).toBe(60);
    expect(new Set([...got.map((item) => item.sk?.S), ...left.map((key) => key.sk?.S)]).size).toBe(60);
    expect(dynamo.count('BatchGetItem')).toBe(2);
  });

  it('lets the SDK retry an injected throttle on its own (default retry strategy)', async () => {
    // Prepare
    const retrying = new DynamoDBClient({ ...dynamo.clientConfig(), maxAttempts: 3 });
    dynamo.injectThrottling('GetItem', 1);

    // Act
    await retrying.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'x' }, sk: { S: 'y' } } }));
    retrying.destroy();

    // Assess
    expect(dynamo.count('GetItem')).toBe(2);
  });

  it('relays dynalite errors for the forwarded part of an injected batch', async () => {
    // Prepare
    dynamo.injectUnprocessedKeys(1, 1);
    const keys = ['1', '2'].map((sk) => ({ pk: { S: 'z' }, sk: { S: sk } }));

    // Act
    const read = client.send(new BatchGetItemCommand({ RequestItems: { missing: { Keys: keys } } }));

    // Assess
    await expect(read).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('passes dynalite validation errors through unchanged', async () => {
    // Act
    const bad = client.send(
      new PutItemCommand({ TableName: 'missing', Item: { pk: { S: 'a' }, sk: { S: 'b' } } }),
    );

    // Assess
    await expect(bad).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('rejects a negative injection count', () => {
    expect(() => dynamo.injectThrottling('PutItem', -1)).toThrow(RangeError);
  });
});
