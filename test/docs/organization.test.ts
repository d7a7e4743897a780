/**
 * docs/organization.md's JSON blocks against what they claim to be: the CloudFormation snippets
 * (OAM sink and link) are read by CDK's CloudFormation include, and every property must be one
 * the resource type has (a misspelt or invented property is dropped by the typed L1 and fails the
 * comparison); every other JSON block is stack context the app accepts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { parseDeploymentContext } from '../../lib/deployment-context';

const page = readFileSync(join(__dirname, '..', '..', 'docs', 'organization.md'), 'utf8');

/** The fenced ```json blocks of a page, parsed. */
function jsonBlocks(markdown: string): unknown[] {
  return [...markdown.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map(
    (match) => JSON.parse(match[1]!) as unknown,
  );
}

type Template = {
  Parameters?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: unknown }>;
};

const blocks = jsonBlocks(page);
const templates = blocks.filter(
  (b): b is Template => typeof b === 'object' && b !== null && 'Resources' in b,
);
const contexts = blocks.filter((b) => !templates.includes(b as Template));
const SINK_ARN = 'arn:aws:oam:eu-west-1:111111111111:sink/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

/** The template with `{"Ref": "SinkArn"}` replaced by a value, as the include fills it in. */
function withParameters(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withParameters);
  if (typeof value !== 'object' || value === null) return value;
  const ref = (value as { Ref?: string }).Ref;
  if (ref === 'SinkArn') return SINK_ARN;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withParameters(v)]));
}

describe('docs/organization.md', () => {
  it('has the OAM sink and link snippets and example contexts', () => {
    expect(templates.flatMap((t) => Object.values(t.Resources).map((r) => r.Type)).sort()).toEqual([
      'AWS::Oam::Link',
      'AWS::Oam::Sink',
    ]);
    expect(contexts.length).toBeGreaterThanOrEqual(2);
  });

  it.each(templates.map((t) => [Object.values(t.Resources)[0]!.Type, t] as const))(
    'the %s snippet uses only properties the resource type has',
    (_type, template) => {
      const dir = mkdtempSync(join(tmpdir(), 'organization-doc-'));
      try {
        const file = join(dir, 'template.json');
        writeFileSync(file, JSON.stringify(template));
        const stack = new Stack(new App(), 'Doc');
        const included = new CfnInclude(stack, 'Snippet', {
          templateFile: file,
          ...(template.Parameters?.SinkArn === undefined ? {} : { parameters: { SinkArn: SINK_ARN } }),
        });
        for (const [id, resource] of Object.entries(template.Resources)) {
          // Rendered from the typed properties only (not the raw overrides the include keeps for
          // what it does not know): a property the type does not have is missing here.
          const l1 = included.getResource(id) as unknown as {
            cfnProperties: Record<string, unknown>;
            renderProperties(props: Record<string, unknown>): Record<string, unknown>;
          };
          const properties = stack.resolve(l1.renderProperties(l1.cfnProperties));
          expect(properties).toEqual(withParameters(resource.Properties));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.each(contexts.map((c, i) => [i + 1, c] as const))(
    'example context %i is accepted by the app',
    (_i, context) => {
      expect(() => parseDeploymentContext(context as Record<string, unknown>)).not.toThrow();
    },
  );
});
