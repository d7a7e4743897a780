/**
 * useLeanJson against the local endpoints, through the real SDK clients: the lean operations send
 * the same request bodies and return the same outputs as the SDK's own (de)serializer, errors
 * still arrive as the SDK's named exceptions, and other operations are untouched.
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { useLeanJson } from '../../lambda/adapters/lean-json-protocol';
import { createTable, startLocalDynamoDb, type LocalDynamoDb } from '../support/local-dynamodb';
import { startLocalLogsInsights, type LocalLogsInsights } from '../support/local-logs-insights';

const TABLE = 'lean-json';
const withoutMetadata = <T extends { $metadata?: unknown }>(output: T): Omit<T, '$metadata'> => {
  const { $metadata: _metadata, ...rest } = output;
  return rest;
};

describe('useLeanJson with DynamoDB', () => {
  let local: LocalDynamoDb;
  let sdk: DynamoDBClient;
  let lean: DynamoDBClient;

  beforeAll(async () => {
    local = await startLocalDynamoDb();
    sdk = new DynamoDBClient(local.clientConfig());
    lean = new DynamoDBClient({ ...local.clientConfig(), maxAttempts: 1 });
    expect(useLeanJson(lean, ['BatchGetItem', 'BatchWriteItem'])).toBe(true);
    await createTable(sdk, TABLE);
  });

  afterAll(async () => {
    sdk.destroy();
    lean.destroy();
    await local.stop();
  });

  const writes = (prefix: string): WriteRequest[] =>
    Array.from({ length: 25 }, (_, i) => ({
      PutRequest: {
        Item: {
          pk: { S: `${prefix}#10.0.0.${i}` },
          sk: { S: 'BASELINE' },
          mean: { N: String(i + 0.25) },
          prev: { S: JSON.stringify({ mean: i, note: 'quote " and é' }) },
          tags: { SS: ['a', 'b'] },
          nested: { M: { n: { N: '-1e-7' }, l: { L: [{ S: 'x' }, { BOOL: true }, { NULL: true }] } } },
        },
      },
    }));

  it('sends BatchWriteItem bodies equal to the SDK serializer and reads items back as the SDK does', async () => {
    // Prepare
    local.resetCounters();

    // Act: the same 25 puts (under two key prefixes) through each client, then read both back through each
    await sdk.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: writes('SDK') } }));
    await lean.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: writes('LEAN') } }));
    const keys = (prefix: string) =>
      writes(prefix).map((w) => ({ pk: w.PutRequest!.Item!.pk!, sk: w.PutRequest!.Item!.sk! }));
    const read = async (client: DynamoDBClient, prefix: string) =>
      await client.send(
        new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys(prefix), ConsistentRead: true } } }),
      );
    const bySdk = await read(sdk, 'LEAN');
    const byLean = await read(lean, 'LEAN');

    // Assess: identical request bodies (prefix aside), identical outputs, metadata present
    const [sdkBody, leanBody] = local.requests.slice(0, 2).map((r) => JSON.stringify(r.body));
    expect(leanBody).toBe(sdkBody?.replaceAll('SDK#', 'LEAN#'));
    expect(byLean.Responses?.[TABLE]).toHaveLength(25);
    const sortByPk = (items: Record<string, unknown>[] | undefined) =>
      [...(items ?? [])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(sortByPk(byLean.Responses?.[TABLE])).toEqual(sortByPk(bySdk.Responses?.[TABLE]));
    expect(withoutMetadata({ ...byLean, Responses: undefined })).toEqual(
      withoutMetadata({ ...bySdk, Responses: undefined }),
    );
    expect(byLean.$metadata.httpStatusCode).toBe(200);
    expect(byLean.$metadata.requestId).toEqual(expect.any(String));
  });

  it('still raises the SDK named exception on an error response', async () => {
    // Prepare
    local.injectThrottling('BatchWriteItem', 1);

    // Act
    const sent = lean.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: writes('THROTTLED') } }));

    // Assess
    await expect(sent).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
  });

  it('leaves other operations to the SDK (GetItem output unmarshalled as usual)', async () => {
    // Act
    const { Item } = await lean.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'LEAN#10.0.0.3' }, sk: { S: 'BASELINE' } } }),
    );

    // Assess
    expect(Item?.mean).toEqual({ N: '3.25' });
    expect(Item?.tags).toEqual({ SS: ['a', 'b'] });
  });

  it('reports false for a client without a protocol object and does not wrap twice', () => {
    expect(useLeanJson({ config: {} }, ['BatchGetItem'])).toBe(false);
    const protocolBefore = (lean.config as { protocol?: unknown }).protocol;
    expect(useLeanJson(lean, ['BatchGetItem'])).toBe(true);
    expect((lean.config as { protocol?: unknown }).protocol).toBe(protocolBefore);
  });
});

describe('useLeanJson with Logs Insights GetQueryResults', () => {
  let local: LocalLogsInsights;
  let sdk: CloudWatchLogsClient;
  let lean: CloudWatchLogsClient;
  const T0 = Date.UTC(2026, 10, 27, 10);

  beforeAll(async () => {
    local = await startLocalLogsInsights({ scheduledPolls: 0, runningPolls: 0 });
    sdk = new CloudWatchLogsClient(local.clientConfig());
    lean = new CloudWatchLogsClient(local.clientConfig());
    useLeanJson(lean, ['GetQueryResults']);
    local.seed(
      '/vpc/lean',
      Array.from({ length: 30 }, (_, i) => ({
        timestamp: T0 + i * 1000,
        message: `2 123456789012 eni-0abc 10.0.${i % 3}.1 198.51.100.${i} 49152 443 6 3 180 ${T0 / 1000 + i} ${T0 / 1000 + i + 60} REJECT OK`,
        logStream: 'eni-0abc-all',
      })),
    );
  });

  afterAll(async () => {
    sdk.destroy();
    lean.destroy();
    await local.stop();
  });

  it('returns the same results, statistics and status as the SDK deserializer', async () => {
    // Prepare
    const { queryId } = await sdk.send(
      new StartQueryCommand({
        logGroupIdentifiers: ['/vpc/lean'],
        startTime: T0 / 1000,
        endTime: T0 / 1000 + 3600,
        queryString: 'fields @timestamp, @message | stats count(*) as n by bin(1m) as minute',
        limit: 100,
      }),
    );

    // Act
    const fetch = async (client: CloudWatchLogsClient): Promise<GetQueryResultsCommandOutput> => {
      for (;;) {
        const output = await client.send(new GetQueryResultsCommand({ queryId }));
        if (output.status === 'Complete') return output;
      }
    };
    const bySdk = await fetch(sdk);
    const byLean = await fetch(lean);

    // Assess
    expect(byLean.results?.length).toBeGreaterThan(0);
    expect(withoutMetadata(byLean)).toEqual(withoutMetadata(bySdk));
    expect(byLean.$metadata.httpStatusCode).toBe(200);
  });
});
