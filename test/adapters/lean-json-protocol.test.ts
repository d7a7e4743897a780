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
import fc from 'fast-check';
import {
  REQUEST_BODY,
  REQUEST_BUFFER,
  RequestBuffer,
  requestBytes,
  StringPieces,
  useLeanJson,
  usesLeanJson,
} from '../../lambda/adapters/lean-json-protocol';
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

  it('writes a string given in pieces (StringPieces) as the whole string, through the endpoint', async () => {
    // Prepare: a records-like value in pieces, quotes, a backslash, non-ASCII and a surrogate
    // pair split between two pieces
    const pieces = ['{', '"a|10.0.0.1":[1,2.5,"x\\y"]', ',', '"b":["é \ud83d', '\ude00","\u0007"]', '}'];
    const whole = pieces.join('');
    const item = (prefix: string, records: string | StringPieces) => ({
      PutRequest: {
        Item: { pk: { S: `${prefix}#pieces` }, sk: { S: 'BUCKET' }, records: { S: records as string } },
      },
    });

    // Act
    await lean.send(
      new BatchWriteItemCommand({ RequestItems: { [TABLE]: [item('LEAN', new StringPieces(pieces))] } }),
    );
    const { Item } = await sdk.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'LEAN#pieces' }, sk: { S: 'BUCKET' } } }),
    );

    // Assess: stored as the joined string, and usesLeanJson tells the clients apart
    expect(Item?.records).toEqual({ S: whole });
    expect(usesLeanJson(lean, 'BatchWriteItem')).toBe(true);
    expect(usesLeanJson(lean, 'GetItem')).toBe(false);
    expect(usesLeanJson(sdk, 'BatchWriteItem')).toBe(false);
    expect(usesLeanJson({}, 'BatchWriteItem')).toBe(false);
  });

  it('writes each body into the RequestBuffer given with the input, reused while it fits', async () => {
    // Prepare
    const into = new RequestBuffer();
    const send = (prefix: string) =>
      lean.send(
        new BatchWriteItemCommand({
          RequestItems: { [TABLE]: writes(prefix) },
          [REQUEST_BUFFER]: into,
        } as never),
      );

    // Act: a body, a second one of the same size, then the same puts from the SDK's serializer
    await send('REUSE1');
    const first = { buffer: into.buffer, text: into.buffer.toString('utf8', 0, into.written) };
    await send('REUSE2');
    const second = into.buffer.toString('utf8', 0, into.written);
    await sdk.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: writes('REUSE3') } }));

    // Assess: the buffer holds the bodies the endpoint got (equal to the SDK's, prefix aside), the
    // second written over the first in the same memory, and the items are stored
    const bodies = local.requests.slice(-3).map((r) => JSON.stringify(r.body));
    expect(JSON.stringify(JSON.parse(first.text))).toBe(bodies[0]);
    expect(JSON.stringify(JSON.parse(second))).toBe(bodies[1]);
    expect(bodies[1]).toBe(bodies[2]!.replaceAll('REUSE3#', 'REUSE2#'));
    expect(into.buffer).toBe(first.buffer);
    const { Item } = await sdk.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'REUSE2#10.0.0.4' }, sk: { S: 'BASELINE' } } }),
    );
    expect(Item?.mean).toEqual({ N: '4.25' });
  });

  it('sends a body made beforehand (REQUEST_BODY) in place of the input', async () => {
    // Prepare: the body of 25 puts, and an input naming the table without items
    const body = requestBytes({ RequestItems: { [TABLE]: writes('PREBUILT') } });

    // Act
    await lean.send(
      new BatchWriteItemCommand({ RequestItems: { [TABLE]: [] }, [REQUEST_BODY]: body } as never),
    );

    // Assess: the endpoint got those bytes, and stored the 25 items
    expect(local.requests.at(-1)?.body).toEqual(JSON.parse(body.toString('utf8')));
    const { Item } = await sdk.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'PREBUILT#10.0.0.24' }, sk: { S: 'BASELINE' } },
      }),
    );
    expect(Item?.mean).toEqual({ N: '24.25' });
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

describe('requestBytes', () => {
  it('gives the bytes of JSON.stringify with every StringPieces joined (any strings, any split)', () => {
    // Any text (full Unicode, control characters, quotes) cut anywhere, in values nested at any depth
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const pieces = fc.array(text, { maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), pieces, text), { minLength: 1, maxLength: 6 }),
        (values) => {
          const asPieces = {
            L: values.map(([inPieces, p, plain]) => ({
              S: inPieces ? new StringPieces(p) : plain,
              k: plain,
            })),
          };
          const joined = {
            L: values.map(([inPieces, p, plain]) => ({ S: inPieces ? p.join('') : plain, k: plain })),
          };
          expect(
            requestBytes({ RequestItems: asPieces }).equals(
              Buffer.from(JSON.stringify({ RequestItems: joined }), 'utf8'),
            ),
          ).toBe(true);
        },
      ),
    );
  });

  it('tells a piece from a string that looks like its marker, and grows past its estimate', () => {
    // Prepare: a plain string shaped like the marker, and a value whose pieces escape to 6x their length
    const lookalike = '\u0001lean-json-0-0';
    const controls = Array.from({ length: 1_000 }, () => '\u0002');

    // Act
    const bytes = requestBytes({ a: lookalike, b: new StringPieces(controls), c: new StringPieces([]) });

    // Assess
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({ a: lookalike, b: controls.join(''), c: '' });
  });

  it('writes into a RequestBuffer, growing it when a body does not fit', () => {
    // Prepare: room for a short body only
    const into = new RequestBuffer();
    const short = requestBytes({ a: 'x' }, into);
    const small = into.buffer;

    // Act
    const long = requestBytes({ a: new StringPieces(['y'.repeat(10_000), '"'.repeat(5_000)]) }, into);

    // Assess
    expect(short.toString()).toBe('{"a":"x"}');
    expect(into.buffer).not.toBe(small);
    expect(into.written).toBe(long.length);
    expect(JSON.parse(into.buffer.toString('utf8', 0, into.written))).toEqual({
      a: 'y'.repeat(10_000) + '"'.repeat(5_000),
    });
  });

  it('has the byte length and the text of its pieces joined', () => {
    const value = new StringPieces(['é', '😀', 'a"b']);
    expect(value.toString()).toBe('é😀a"b');
    expect(value.byteLength).toBe(Buffer.byteLength('é😀a"b', 'utf8'));
  });
});
