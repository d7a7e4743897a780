/**
 * What the production bundle loads at cold start. The EC2 client module alone took about a third
 * of a second to load (more than the rest of the handler), for an optional feature that is off by
 * default: it must load only when ENRICH_WITH_EC2 is on. (Init time itself is measured by
 * `npm run bench -- cold-start`, not here.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = join(__dirname, '..', '..');
const ENV = {
  LOG_GROUP_IDENTIFIERS: '/vpc/flow-logs',
  TABLE_NAME: 'egress-spike-detector',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:egress-alerts',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

describe('cold start of the bundled handler', () => {
  let dir: string;
  let bundle: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
    bundle = join(dir, 'index.js');
    // As the stack bundles it (lib/constructs/detector-function.ts): the SDK stays external.
    buildSync({
      entryPoints: [join(ROOT, 'lambda', 'handler.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      minify: true,
      external: ['@aws-sdk/*'],
      outfile: bundle,
      logLevel: 'error',
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The @aws-sdk/client-* packages loaded after requiring the bundle in a fresh process. */
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

  it('does not load the EC2 client when enrichment is off (the default)', () => {
    expect(clientsLoaded(ENV)).toEqual(['client-cloudwatch-logs', 'client-dynamodb', 'client-sns']);
  });

  it('loads it at init when ENRICH_WITH_EC2=true', () => {
    expect(clientsLoaded({ ...ENV, ENRICH_WITH_EC2: 'true' })).toContain('client-ec2');
  });
});
