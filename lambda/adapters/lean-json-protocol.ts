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

/**
 * A string attribute value given as the pieces it is the concatenation of, for an operation this
 * module serializes: the pieces are escaped straight into the request's bytes, so the whole
 * string is never made. Why: a baseline bucket's `records` is some 150-350 KB of JSON text, and
 * making it, then its escaped copy inside the request's JSON, then that JSON's bytes put three
 * large strings a bucket on V8's old generation (strings over 128 KB are allocated there): at a
 * million sources a commit's 1 GB of them cost a full collection about every 90 MB.
 * Only for a client `usesLeanJson` says serializes the operation here (the SDK's own serializer
 * does not know it); `toString()` gives the whole string.
 */
export class StringPieces {
  constructor(readonly pieces: readonly string[]) {}

  toString(): string {
    return this.pieces.join('');
  }

  /** UTF-8 bytes of the whole string. */
  get byteLength(): number {
    let bytes = 0;
    for (const piece of this.pieces) bytes += Buffer.byteLength(piece, 'utf8');
    return bytes;
  }
}

/**
 * Where a request's body is written, given with the input (`[REQUEST_BUFFER]`) by a caller that
 * sends one request at a time through it and reuses it once the send has settled. Why: each
 * body is new memory outside V8's heap, and V8 runs a full collection for about every 64 MB of
 * that; a commit of a million sources sends some 1.5 GB of BatchWriteItem bodies (4-7 MB each).
 * The SDK sends (and retries) the body inside `send`, so after `send` resolves nothing reads it.
 */
export class RequestBuffer {
  /** Grown (replaced) when a body does not fit. */
  buffer: Buffer = Buffer.alloc(0);
  /** Bytes of the last body written here. */
  written = 0;
}

/** The input property (a symbol: JSON.stringify leaves it out) that carries a RequestBuffer. */
export const REQUEST_BUFFER = Symbol('leanJsonRequestBuffer');

/**
 * The input property that carries a body made beforehand with requestBytes (the rest of the
 * input is then not serialized). Why: an input's values stay reachable for as long as `send`
 * runs, so a bucket batch's 4 MB of text given as the input outlives a few young-generation
 * collections while the request is in flight and is copied into the old generation; its bytes
 * made before the send are the only copy that lives that long.
 */
export const REQUEST_BODY = Symbol('leanJsonRequestBody');

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

/** Whether `client`'s `operation` is serialized here (so it takes StringPieces values). */
export function usesLeanJson(client: object, operation: string): boolean {
  const config = (client as { config?: unknown }).config;
  if (typeof config !== 'object' || config === null) return false;
  const protocol = (config as { protocol?: unknown }).protocol;
  const operations = isProtocol(protocol)
    ? (protocol as { [LEAN_OPERATIONS]?: Set<string> })[LEAN_OPERATIONS]
    : undefined;
  return operations?.has(operation) ?? false;
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
    const given = input as { [REQUEST_BUFFER]?: unknown; [REQUEST_BODY]?: unknown } | undefined;
    const body = given?.[REQUEST_BODY];
    const into = given?.[REQUEST_BUFFER];
    request.body =
      body instanceof Uint8Array
        ? body
        : requestBytes(input ?? {}, into instanceof RequestBuffer ? into : undefined);
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

/**
 * `input` as JSON in UTF-8, each StringPieces value written as the JSON string of its pieces
 * joined, piece by piece. The JSON around them is made with JSON.stringify, a StringPieces value
 * standing in it as a marker string no other value can be (a random nonce and its index).
 */
export function requestBytes(input: unknown, into?: RequestBuffer): Buffer {
  const values: StringPieces[] = [];
  const marker = `\u0001lean-json-${Math.random().toString(36).slice(2)}-`;
  const text = JSON.stringify(input, function (this: Record<string, unknown>, key, value: unknown) {
    const original = this[key];
    if (!(original instanceof StringPieces)) return value;
    values.push(original);
    return `${marker}${values.length - 1}`;
  });
  let estimate = text.length;
  for (const value of values) for (const piece of value.pieces) estimate += piece.length;
  const out = new GrowingBytes(into ?? new RequestBuffer(), Math.ceil(estimate * 1.1) + 64);
  if (values.length === 0) {
    out.write(text);
    return out.bytes();
  }
  // The marker as JSON.stringify writes it (its control character escaped), quotes included.
  const quotedMarker = JSON.stringify(marker);
  const openMarker = quotedMarker.slice(0, -1);
  let from = 0;
  for (let index = 0; index < values.length; index += 1) {
    const whole = `${openMarker}${index}"`;
    const at = text.indexOf(whole, from);
    if (at < 0) throw new LeanJsonProtocolError('request', 'a string value given in pieces was not placed');
    out.write(text.slice(from, at));
    out.write('"');
    // Each piece escaped as JSON.stringify escapes a string (without its quotes): escapes never
    // span pieces, so the pieces' escapes are the whole string's.
    for (const piece of values[index]!.pieces)
      if (piece !== '') out.write(JSON.stringify(piece).slice(1, -1));
    out.write('"');
    from = at + whole.length;
  }
  out.write(text.slice(from));
  return out.bytes();
}

/** A RequestBuffer written from the start, grown (doubled at least) when it is full. */
class GrowingBytes {
  private length = 0;

  constructor(
    private readonly into: RequestBuffer,
    capacity: number,
  ) {
    if (into.buffer.length < capacity) into.buffer = Buffer.allocUnsafe(capacity);
  }

  write(text: string): void {
    const buffer = this.into.buffer;
    // At most 3 bytes a UTF-16 unit: checked cheaply, measured exactly only near the end.
    if (buffer.length - this.length < text.length * 3) {
      const needed = this.length + Buffer.byteLength(text, 'utf8');
      if (needed > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.max(needed, buffer.length * 2));
        buffer.copy(grown, 0, 0, this.length);
        this.into.buffer = grown;
      }
    }
    this.length += this.into.buffer.write(text, this.length, 'utf8');
  }

  bytes(): Buffer {
    this.into.written = this.length;
    return this.into.buffer.subarray(0, this.length);
  }
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
