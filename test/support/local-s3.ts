/**
 * A minimal local Amazon S3 endpoint for tests: `GetObject` and `HeadObject` over the S3 REST
 * protocol, path-style (`/<bucket>/<key>`, as an SDK client with `forcePathStyle: true` sends
 * them), from a directory laid out `<root>/<bucket>/<key>`: where the local Athena endpoint writes
 * its result objects. Missing buckets and keys answer S3's XML errors (NoSuchBucket, NoSuchKey,
 * 404); anything else answers NotImplemented (501). `failNextGets(n)` answers InternalError (500);
 * `stallNextGets(n, ms)` sends the headers and the first half of the body, then nothing for `ms`
 * (a slow or stuck connection, which a reader must bound by its own deadline).
 */
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { listenOnLoopback, localClientConfig, newRequestId, type LocalClientConfig } from './local-endpoint';

export interface LocalS3 {
  endpoint: string;
  /** Keys read, `bucket/key`, in order. */
  readonly gets: readonly string[];
  failNextGets(count: number): void;
  /** The next `count` GETs stop halfway through the body for `ms` before the rest. */
  stallNextGets(count: number, ms: number): void;
  resetCounters(): void;
  /** Client config with path-style addressing, which a local endpoint needs. */
  clientConfig(): LocalClientConfig & { forcePathStyle: true };
  stop(): Promise<void>;
}

export async function startLocalS3(options: { root: string }): Promise<LocalS3> {
  const root = normalize(options.root);
  let gets: string[] = [];
  let failures = 0;
  let stalls = 0;
  let stallMs = 0;
  const stalled = new Set<{ timer: NodeJS.Timeout; res: ServerResponse }>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, bucket = '', ...keyParts] = url.pathname.split('/');
    const key = keyParts.map(decodeURIComponent).join('/');
    if (
      (req.method !== 'GET' && req.method !== 'HEAD') ||
      bucket === '' ||
      key === '' ||
      url.search.includes('uploads')
    ) {
      return error(res, 501, 'NotImplemented', 'Only GetObject and HeadObject are implemented here');
    }
    if (req.method === 'GET') {
      gets.push(`${bucket}/${key}`);
      if (failures > 0) {
        failures -= 1;
        return error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      }
    }
    try {
      await fs.stat(join(root, bucket));
    } catch {
      return error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    }
    const path = normalize(join(root, bucket, key));
    if (!path.startsWith(join(root, bucket) + sep)) return error(res, 400, 'InvalidArgument', 'bad key');
    let body: Buffer;
    try {
      body = await fs.readFile(path);
    } catch {
      return error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', key.endsWith('.csv') ? 'text/csv' : 'application/octet-stream');
    res.setHeader('Content-Length', body.length);
    res.setHeader('ETag', `"${body.length.toString(16)}"`);
    res.setHeader('x-amz-request-id', newRequestId());
    if (req.method === 'GET' && stalls > 0) {
      stalls -= 1;
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half));
      const entry = {
        res,
        timer: setTimeout(() => {
          stalled.delete(entry);
          res.end(body.subarray(half));
        }, stallMs),
      };
      stalled.add(entry);
      return;
    }
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server = await listenOnLoopback(handle);
  return {
    endpoint: server.endpoint,
    get gets() {
      return [...gets];
    },
    failNextGets(count) {
      failures = count;
    },
    stallNextGets(count, ms) {
      stalls = count;
      stallMs = ms;
    },
    resetCounters() {
      gets = [];
      failures = 0;
    },
    clientConfig: () => ({ ...localClientConfig(server.endpoint), forcePathStyle: true }),
    stop: () => {
      for (const { timer, res } of stalled) {
        clearTimeout(timer);
        res.destroy();
      }
      stalled.clear();
      return server.stop();
    },
  };
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${newRequestId()}</RequestId></Error>`;
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
