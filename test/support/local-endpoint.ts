/**
 * Shared plumbing of the local AWS endpoints used by the tests: loopback-only HTTP servers on an
 * ephemeral port, request bodies read whole, and the client configuration that points a real
 * AWS SDK v3 client at one of them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Client configuration for a real SDK v3 client talking to a local endpoint. */
export interface LocalClientConfig {
  endpoint: string;
  region: 'us-east-1';
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export function localClientConfig(endpoint: string): LocalClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** How long the local endpoints keep an idle keep-alive connection open. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

export interface ListeningServer {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts `handler` on 127.0.0.1 with an OS-assigned port. A handler that throws answers 500 with
 * the error text so a bug in a test server shows up in the failing test, not as a hang.
 */
export async function listenOnLoopback(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<ListeningServer> {
  const server: Server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      // Also on stderr: an SDK client reports a 500 without its body, so a long run (a benchmark)
      // would otherwise lose the endpoint's stack. A client that hung up is no bug (nobody to answer).
      if ((error as NodeJS.ErrnoException | undefined)?.code !== 'ECONNRESET')
        console.error('local endpoint bug:', error);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('Content-Type', 'text/plain');
      }
      res.end(
        `local endpoint bug: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    });
  });
  // Node closes a keep-alive connection after 5 s idle; a client that sends on it at that moment
  // gets ECONNRESET (the tests' clients make one attempt). On a busy machine a test's calls can be
  // 5 s apart, so idle connections are kept for longer than any test (stop() drops them).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () => closeServer(server),
  };
}

/** Closes a server, dropping idle keep-alive connections the SDK's agent may still hold. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}

/** Who signed a request: the access key of its SigV4 `Authorization` header and its session token. */
export interface RequestCaller {
  accessKeyId: string | undefined;
  sessionToken: string | undefined;
}

/** `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...` */
export function callerOf(req: IncomingMessage): RequestCaller {
  const authorization = req.headers.authorization ?? '';
  const token = req.headers['x-amz-security-token'];
  return {
    accessKeyId: /Credential=([^/,\s]+)\//.exec(authorization)?.[1],
    sessionToken: Array.isArray(token) ? token[0] : token,
  };
}

let requestCounter = 0;
/** A request id shaped loosely like AWS's, unique within the process. */
export function newRequestId(): string {
  requestCounter += 1;
  return `00000000-0000-4000-8000-${requestCounter.toString(16).padStart(12, '0')}`;
}
