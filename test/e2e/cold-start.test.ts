/**
 * The production bundle (built with the stack's own options, lib/constructs/detector-bundling.ts)
 * in a fresh process: what it loads at cold start, and that the SDK bundled into it talks to the
 * local endpoints as the node_modules SDK does in the other end-to-end tests. (Init time itself is
 * measured by `npm run bench -- cold-start`, not here.)
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSync } from 'esbuild';
import { detectorEsbuildOptions } from '../../lib/constructs/detector-bundling';
import type { RunSummary } from '../../lambda/detector-run';
import { blocked, HOUR, startEndpoints, TOPIC_ARN, type Endpoints } from './harness';
import { createTable } from '../support/local-dynamodb';

const ROOT = join(__dirname, '..', '..');
const ENV = {
  LOG_GROUP_IDENTIFIERS: '/vpc/flow-logs',
  TABLE_NAME: 'egress-spike-detector',
  TOPIC_ARN,
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

describe('cold start of the production bundle', () => {
  let dir: string;
  let bundle: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
    bundle = join(dir, 'index.js');
    buildSync(detectorEsbuildOptions(ROOT, join(ROOT, 'lambda', 'handler.ts'), bundle));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The @aws-sdk/client-* packages loaded from node_modules after requiring the bundle in a fresh process. */
  const clientsLoaded = (env: Record<string, string>): string[] => {
    const script =
      `const m = require(${JSON.stringify(bundle)});` +
      "if (typeof m.handler !== 'function') throw new Error('no handler');" +
      'const names = Object.keys(require.cache).map((f) => /@aws-sdk[\\\\/](client-[a-z0-9-]+)/.exec(f)?.[1]).filter(Boolean);' +
      'process.stdout.write(JSON.stringify([...new Set(names)].sort()));';
    const out = execFileSync(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), ...env },
      encoding: 'utf8',
    });
    return JSON.parse(out) as string[];
  };

  it('loads no SDK package from node_modules when enrichment is off (the default): the clients are bundled', () => {
    expect(clientsLoaded(ENV)).toEqual([]);
  });

  it('loads the EC2 client (left out of the bundle, 1.1 MB) at init only when ENRICH_WITH_EC2=true', () => {
    expect(clientsLoaded({ ...ENV, ENRICH_WITH_EC2: 'true' })).toEqual(['client-ec2']);
  });

  it('parses its configuration with zod jitless: no parser compiled with new Function at init', () => {
    // zod's JIT compiles one parser per object schema (three at this init); parsing the
    // configuration once, that cost more than it saved. lambda/zod-jitless.ts must run first.
    const script =
      'let compiled = 0;' +
      'const F = Function;' +
      'globalThis.Function = new Proxy(F, { construct(target, args) { compiled += 1; return Reflect.construct(target, args); } });' +
      `require(${JSON.stringify(bundle)});` +
      'process.stdout.write(String(compiled));';
    const out = execFileSync(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', ...ENV },
      encoding: 'utf8',
    });
    expect(Number(out)).toBe(0);
  });

  it('turns off V8 allocation-site pretenuring, once, when the bundle loads (lambda/v8-tuning.ts)', () => {
    // A V8 flag Node.js refuses in NODE_OPTIONS: the bundle must set it itself, once, at load.
    const script =
      "const v8 = require('node:v8');" +
      'const set = v8.setFlagsFromString;' +
      'const calls = [];' +
      'v8.setFlagsFromString = (flags) => { calls.push(flags); set(flags); };' +
      `const m = require(${JSON.stringify(bundle)});` +
      'process.stdout.write(JSON.stringify({ calls, handler: typeof m.handler }));';
    const out = execFileSync(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', ...ENV },
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ calls: ['--no-allocation-site-pretenuring'], handler: 'function' });
  });

  it('maps the stack of a failed run to the TypeScript without --enable-source-maps', () => {
    // Act: an invalid manual payload fails the run in lambda/manual-payload.ts
    const script =
      `const { handler } = require(${JSON.stringify(bundle)});` +
      "handler({ mode: 'bogus' }, { getRemainingTimeInMillis: () => 60000, awsRequestId: 'r' })" +
      "  .then(() => process.exit(1), (error) => process.stdout.write('\\nSTACK ' + JSON.stringify(error.stack) + '\\n'));";
    const child = spawnSync(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', ...ENV },
      encoding: 'utf8',
    });
    const out = child.stdout;

    // Assess: the rethrown error (what Lambda logs) and the 'run failed' log line
    const stack = JSON.parse(
      out
        .split('\n')
        .find((l) => l.startsWith('STACK '))
        ?.slice(6) ?? '""',
    ) as string;
    const frames = stack.split('\n').filter((l) => l.trim().startsWith('at '));
    expect(stack).toMatch(/^InvalidPayloadError: invalid invocation payload/);
    expect(frames[0]).toMatch(/lambda\/manual-payload\.ts:\d+:\d+\)$/);
    expect(frames.filter((f) => f.includes(bundle))).toEqual([]);
    // Powertools writes ERROR lines to stderr
    const logged = child.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { message?: string; error?: { stack?: string } })
      .find((r) => r.message === 'run failed');
    expect(logged?.error?.stack).toBe(stack);
  });

  describe('against the local endpoints', () => {
    let endpoints: Endpoints;

    beforeAll(async () => {
      endpoints = await startEndpoints();
    });

    afterAll(async () => {
      await endpoints.stop();
    });

    it('runs a scheduled window (Logs Insights, DynamoDB) and a test alert (SNS) with the bundled SDK', async () => {
      // Arrange: a table, and blocked traffic from two sources in each of the last six hours, so
      // the window the run picks (the latest closed one, after the delivery delay) has both.
      await createTable(endpoints.dynamoClient, 'bundle-e2e');
      const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
      for (let h = 1; h <= 6; h += 1) {
        endpoints.logs.seed('/vpc/flow-logs', [
          ...blocked(thisHour - h * HOUR, '10.0.0.5', 4),
          ...blocked(thisHour - h * HOUR, '10.0.0.6', 3),
        ]);
      }
      const script =
        `const { handler } = require(${JSON.stringify(bundle)});` +
        "const context = { getRemainingTimeInMillis: () => 60000, awsRequestId: 'bundle-e2e' };" +
        '(async () => {' +
        '  const scheduled = await handler({}, context);' +
        "  const testAlert = await handler({ mode: 'test-alert' }, context);" +
        "  process.stdout.write('\\nRESULT ' + JSON.stringify({ scheduled, testAlert }) + '\\n');" +
        '})().catch((error) => { console.error(error); process.exit(1); });';

      // Act: as Lambda runs it, credentials from the environment
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
        env: {
          PATH: process.env.PATH ?? '',
          ...ENV,
          TABLE_NAME: 'bundle-e2e',
          LOGS_ENDPOINT: endpoints.logs.endpoint,
          DYNAMODB_ENDPOINT: endpoints.dynamo.endpoint,
          SNS_ENDPOINT: endpoints.sns.endpoint,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        },
      });

      // Assess
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      const result = JSON.parse(line?.slice('RESULT '.length) ?? '{}') as {
        scheduled: RunSummary;
        testAlert: RunSummary;
      };
      expect(result.scheduled.mode).toBe('scheduled');
      expect(result.scheduled.queries).toBeGreaterThanOrEqual(1);
      expect(result.scheduled.sourcesEvaluated).toBe(2);
      expect(result.testAlert.alertsPublished).toBe(1);
      expect(endpoints.sns.published).toHaveLength(1);
      const written = endpoints.dynamo.requests.filter((r) => r.operation === 'BatchWriteItem');
      expect(written.length).toBeGreaterThanOrEqual(1);
    });

    it('gets credentials from a container credentials endpoint when the environment has none (that provider stays bundled)', async () => {
      // Arrange: a credentials endpoint as ECS and Lambda-like hosts serve it, on loopback
      const served: string[] = [];
      const credentialsServer = createServer((request, response) => {
        served.push(request.url ?? '');
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            AccessKeyId: 'container-key',
            SecretAccessKey: 'container-secret',
            Token: 'container-token',
            Expiration: new Date(Date.now() + HOUR).toISOString(),
          }),
        );
      });
      await new Promise<void>((resolve) => credentialsServer.listen(0, '127.0.0.1', resolve));
      const { port } = credentialsServer.address() as AddressInfo;
      const published = endpoints.sns.published.length;
      const script =
        `const { handler } = require(${JSON.stringify(bundle)});` +
        "handler({ mode: 'test-alert' }, { getRemainingTimeInMillis: () => 60000, awsRequestId: 'creds' })" +
        "  .then((summary) => process.stdout.write('\\nRESULT ' + JSON.stringify(summary) + '\\n'), (error) => { console.error(error); process.exit(1); });";

      // Act
      let stdout: string;
      try {
        ({ stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
          env: {
            PATH: process.env.PATH ?? '',
            ...ENV,
            SNS_ENDPOINT: endpoints.sns.endpoint,
            AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/credentials`,
          },
        }));
      } finally {
        await new Promise((resolve) => credentialsServer.close(resolve));
      }

      // Assess
      const summary = JSON.parse(
        stdout
          .split('\n')
          .find((l) => l.startsWith('RESULT '))
          ?.slice('RESULT '.length) ?? '{}',
      ) as RunSummary;
      expect(summary.alertsPublished).toBe(1);
      expect(served).toEqual(['/credentials']);
      expect(endpoints.sns.published).toHaveLength(published + 1);
    });
  });
});
