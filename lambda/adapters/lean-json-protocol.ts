/**
 * Plain JSON.stringify / JSON.parse for the few bulk operations of the AWS JSON protocols
 * (DynamoDB BatchGetItem / BatchWriteItem, Logs Insights GetQueryResults), in place of the SDK's
 * schema-driven (de)serializer.
 *
 * Why: at 100,000 sources a run sends 5,000 DynamoDB batches and reads 200,000 Logs Insights
 * result rows. The SDK walks every attribute value and every `{field, value}` cell through its
 * generic schema code: on the development machine about 0.3 ms per 25-item BatchWriteItem and
 * 4 s (plus the garbage) for the 200,000 rows, some 30% of the run's CPU (bench/cpu-time.ts).
 * For these operations the wire JSON *is* the SDK's input/output shape (DynamoDB's low-level
 * AttributeValue maps, Logs Insights' `[[{field, value}]]`), so JSON.stringify/JSON.parse give
 * the same objects for a fraction of the CPU.
 *
 * How: the schema-based clients (SDK v3 since late 2025) call `config.protocol.serializeRequest`
 * and `deserializeResponse` for every command; `useLeanJson` wraps that protocol object so the
 * named operations skip the schema walk and everything else goes through unchanged. The SDK
 * still builds the request (endpoint, headers, target), signs it, sends it, retries it and turns
 * error responses into its named exceptions: only the body of a successful call, or of the
 * request, is handled here. A client without a protocol object (older SDKs generate their
 * serializers per operation) is left alone.
 *
 * Limit: binary attribute values (`B`, `BS`) would stay base64 strings in and out; the detector's
 * table has none (strings and numbers only).
 */

/** The part of the SDK's ClientProtocol this module touches. */
interface OperationSchemaLike {
  name?: string;
}
interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body?: unknown;
}
interface HttpRequestLike {
  body?: unknown;
}
interface ProtocolLike {
  serializeRequest(
    operation: OperationSchemaLike,
    input: unknown,
    context: unknown,
  ): Promise<HttpRequestLike>;
  deserializeResponse(
    operation: OperationSchemaLike,
    context: unknown,
    response: HttpResponseLike,
  ): Promise<unknown>;
}

/** Marks a wrapped protocol, so wrapping twice is a no-op. */
const LEAN_OPERATIONS = Symbol('leanJsonOperations');

export class LeanJsonProtocolError extends Error {
  constructor(
    readonly operation: string,
    readonly problem: string,
  ) {
    super(`${operation}: ${problem}`);
    this.name = 'LeanJsonProtocolError';
  }
}

/**
 * Makes `client` (a DynamoDBClient or CloudWatchLogsClient) serialize `operations` with
 * JSON.stringify and parse their successful responses with JSON.parse. Returns whether it could
 * (false: the client has no protocol object to wrap).
 */
export function useLeanJson(client: { config: object }, operations: readonly string[]): boolean {
  const config = client.config as { protocol?: unknown };
  const protocol = config.protocol;
  if (!isProtocol(protocol)) return false;
  const already = (protocol as { [LEAN_OPERATIONS]?: Set<string> })[LEAN_OPERATIONS];
  if (already !== undefined) {
    for (const operation of operations) already.add(operation);
    return true;
  }
  config.protocol = leanJsonProtocol(protocol, new Set(operations));
  return true;
}

function isProtocol(value: unknown): value is ProtocolLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ProtocolLike).serializeRequest === 'function' &&
    typeof (value as ProtocolLike).deserializeResponse === 'function'
  );
}

function leanJsonProtocol(inner: ProtocolLike, operations: Set<string>): ProtocolLike {
  const serializeRequest: ProtocolLike['serializeRequest'] = async (operation, input, context) => {
    if (!operations.has(operation.name ?? '')) return inner.serializeRequest(operation, input, context);
    // The SDK builds the request around an empty input (endpoint, target and content-type
    // headers); the body is the input itself, which for these operations is already wire JSON.
    const request = await inner.serializeRequest(operation, {}, context);
    // Bytes, not a string: the SDK measures the body (Content-Length), hashes it (SigV4) and
    // writes it, each of which would encode a string of megabytes (a 25-bucket batch) again.
    request.body = Buffer.from(JSON.stringify(input ?? {}), 'utf8');
    return request;
  };
  const deserializeResponse: ProtocolLike['deserializeResponse'] = async (operation, context, response) => {
    const name = operation.name ?? '';
    // Errors keep the SDK's handling: its named exceptions (throttling, conditional checks).
    if (!operations.has(name) || response.statusCode >= 300) {
      return inner.deserializeResponse(operation, context, response);
    }
    const text = await bodyText(response.body);
    let output: unknown;
    try {
      output = text === '' ? {} : JSON.parse(text);
    } catch (error) {
      throw new LeanJsonProtocolError(name, `response body is not JSON (${(error as Error).message})`);
    }
    if (typeof output !== 'object' || output === null || Array.isArray(output)) {
      throw new LeanJsonProtocolError(name, 'response body is not a JSON object');
    }
    const headers = response.headers;
    (output as Record<string, unknown>).$metadata = {
      httpStatusCode: response.statusCode,
      requestId: headers['x-amzn-requestid'] ?? headers['x-amzn-request-id'] ?? headers['x-amz-request-id'],
      extendedRequestId: headers['x-amz-id-2'],
      cfId: headers['x-amz-cf-id'],
    };
    return output;
  };
  // Everything else (setSerdeContext, error handling, endpoint updates, ...) is the inner protocol's.
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'serializeRequest') return serializeRequest;
      if (property === 'deserializeResponse') return deserializeResponse;
      if (property === LEAN_OPERATIONS) return operations;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The whole body as text: a Node stream (the SDK's node handler), bytes, or a string. */
async function bodyText(body: unknown): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array)
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body as AsyncIterable<unknown>) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  throw new LeanJsonProtocolError(
    'response',
    `unsupported body type ${Object.prototype.toString.call(body)}`,
  );
}
