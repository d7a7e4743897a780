/**
 * The one test that bundles like `cdk deploy` does: real esbuild bundling of lambda/handler.ts.
 * (CDK's built-in CloudFormation schema validation is left to `npx cdk synth` in .ci/run: it
 * costs about 20 s to load.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync, type Metafile } from 'esbuild';
import { createDetectorApp } from '../../lib/app';
import { DETECTOR_EXTERNAL_MODULES, detectorEsbuildOptions } from '../../lib/constructs/detector-bundling';

const ONE_MEGABYTE = 1024 * 1024;
const ROOT = path.join(__dirname, '..', '..');
const HANDLER = path.join(ROOT, 'lambda', 'handler.ts');

describe('cdk synth with real bundling', () => {
  let bundle: string;
  let bundleDir: string;
  let benchmarkDir: string;
  /** The benchmark's build of the same handler (detectorEsbuildOptions), with esbuild's metafile. */
  let benchmarkBuild: { code: string; inputs: string[] };

  beforeAll(() => {
    const { app, stack } = createDetectorApp({
      context: { flowLogGroups: ['/vpc/flow-logs/prod'] },
      builtinCloudFormationValidation: false,
    });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
    };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    const assetHash = fn?.Properties.Code?.S3Key?.replace(/\.zip$/, '');
    expect(assetHash).toMatch(/^[0-9a-f]{64}$/);
    bundleDir = path.join(assembly.directory, `asset.${assetHash}`);
    bundle = fs.readFileSync(path.join(bundleDir, 'index.js'), 'utf8');
    benchmarkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-test-'));
    const outfile = path.join(benchmarkDir, 'index.js');
    // The metafile lists every input that reached the output, with the bytes it left there (0 for
    // a module that only re-exports, e.g. zod's locale index); asking for it changes no byte of it.
    const result = buildSync({ ...detectorEsbuildOptions(ROOT, HANDLER, outfile), metafile: true });
    benchmarkBuild = {
      code: fs.readFileSync(outfile, 'utf8'),
      inputs: Object.entries((result.metafile as Metafile).outputs)
        .filter(([file]) => file.endsWith('index.js'))
        .flatMap(([, output]) =>
          Object.entries(output.inputs)
            .filter(([, input]) => input.bytesInOutput > 0)
            .map(([file]) => file),
        ),
    };
  });

  afterAll(() => fs.rmSync(benchmarkDir, { recursive: true, force: true }));

  it('bundles the handler minified with a source map, under 1 MB', () => {
    const size = Buffer.byteLength(bundle);
    expect(size).toBeLessThan(ONE_MEGABYTE);
    expect(bundle).toMatch(/sourceMappingURL=index\.js\.map/);
    expect(fs.existsSync(path.join(bundleDir, 'index.js.map'))).toBe(true);
    // Minified: long lines (an unminified build of the same code averages well under 40 characters a
    // line; template literals inside libraries keep a few short lines even when minified).
    const averageLineLength = size / bundle.split('\n').length;
    expect(averageLineLength).toBeGreaterThan(200);
  });

  it('is byte for byte the build the cold-start benchmark measures (detectorEsbuildOptions)', () => {
    expect(benchmarkBuild.code).toBe(bundle);
  });

  it('bundles the SDK clients it creates at init and requires only the listed modules at run time', () => {
    // The modules left out are require() (the EC2 client) or import() (the credential providers)
    // calls in the output.
    const required = new Set([...bundle.matchAll(/(?:require|import)\("([^"]+)"\)/g)].map((m) => m[1] ?? ''));
    const packages = [...required].filter((name) => !name.startsWith('node:') && !isBuiltin(name));
    const leftOut = (name: string) =>
      DETECTOR_EXTERNAL_MODULES.some((external) => name === external || name.startsWith(`${external}/`));
    expect(packages.filter((name) => !leftOut(name))).toEqual([]);
    expect(packages).toContain('@aws-sdk/client-ec2');
    expect(packages).toContain('@aws-sdk/client-cloudtrail');
  });

  it('tree-shakes zod to the English locale and leaves out the STS/SSO clients only profiles use', () => {
    const has = (pattern: RegExp) => benchmarkBuild.inputs.filter((input) => pattern.test(input));
    expect(has(/@aws-sdk\/client-(dynamodb|cloudwatch-logs|sns)\//).length).toBeGreaterThan(0);
    expect(has(/zod\/v4\/locales\//).map((input) => path.basename(input))).toEqual(['en.js']);
    expect(
      has(
        /@aws-sdk\/(nested-clients|client-ec2|client-cloudtrail|credential-provider-(sso|login)|token-providers)\//,
      ),
    ).toEqual([]);
    // the chain's providers for environments without credential variables stay in
    expect(has(/credential-provider-(http|imds|ini)\//).length).toBeGreaterThanOrEqual(3);
  });
});

function isBuiltin(name: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:module') as typeof import('node:module')).builtinModules.includes(name);
}
