/**
 * The one test that bundles like `cdk deploy` does: real esbuild bundling of lambda/handler.ts.
 * (CDK's built-in CloudFormation schema validation is left to `npx cdk synth` in .ci/run: it
 * costs about 20 s to load.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDetectorApp } from '../../lib/app';

const ONE_MEGABYTE = 1024 * 1024;

describe('cdk synth with real bundling', () => {
  it('bundles the handler minified with a source map, under 1 MB', () => {
    // Act
    const { app, stack } = createDetectorApp({
      context: { flowLogGroups: ['/vpc/flow-logs/prod'] },
      builtinCloudFormationValidation: false,
    });
    const assembly = app.synth();

    // Assess: the function's code asset is the esbuild output
    const template = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
    };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    const assetHash = fn?.Properties.Code?.S3Key?.replace(/\.zip$/, '');
    expect(assetHash).toMatch(/^[0-9a-f]{64}$/);
    const bundleDir = path.join(assembly.directory, `asset.${assetHash}`);
    const bundle = fs.readFileSync(path.join(bundleDir, 'index.js'), 'utf8');
    const size = Buffer.byteLength(bundle);
    expect(size).toBeLessThan(ONE_MEGABYTE);
    expect(bundle).toMatch(/sourceMappingURL=index\.js\.map/);
    expect(fs.existsSync(path.join(bundleDir, 'index.js.map'))).toBe(true);
    // Minified: long lines (an unminified build of the same code averages well under 40 characters a
    // line; template literals inside libraries keep a few short lines even when minified).
    const averageLineLength = size / bundle.split('\n').length;
    expect(averageLineLength).toBeGreaterThan(200);
  });
});
