/**
 * docs/configuration.md against the schemas it documents: every detector setting, stack context
 * key and Lambda environment variable is in its table, every row names one that exists, and the
 * documented defaults are the schemas' own. A setting added, renamed or re-defaulted without its
 * documentation fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectorConfigInputSchema, PRESET_DEFAULTS } from '../../lambda/core/config';
import { runtimeEnvironmentSchema } from '../../lambda/runtime-config';
import { DEPLOYMENT_CONTEXT_KEYS, deploymentContextSchema } from '../../lib/deployment-context';
import { codeSpans, tableUnder } from './markdown';

const ROOT = join(__dirname, '..', '..');
const page = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

/** A default as the tables write it: the first code span, or "none" / "required" as text. */
function documentedDefault(cell: string): string {
  if (/^none\b/.test(cell)) return 'none';
  if (/^required\b/.test(cell)) return 'required';
  const [first] = codeSpans(cell);
  if (first === undefined) throw new Error(`default cell without a value: "${cell}"`);
  return first;
}

function formatDefault(value: unknown): string {
  if (value === undefined) return 'none';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string') && value.length > 0)
    return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** key -> row, one row per code span of the first column (a row may document several names). */
function rowsByName(heading: string, column: string): Map<string, Record<string, string>> {
  const byName = new Map<string, Record<string, string>>();
  for (const row of tableUnder(page, heading)) {
    const names = codeSpans(row[column] ?? '');
    if (names.length === 0) throw new Error(`a row of "${heading}" names nothing: ${JSON.stringify(row)}`);
    for (const name of names) {
      if (byName.has(name)) throw new Error(`"${name}" is documented twice under "${heading}"`);
      byName.set(name, row);
    }
  }
  return byName;
}

describe('docs/configuration.md', () => {
  it("documents every detector setting, and only those, with both presets' defaults", () => {
    const rows = rowsByName('Detector settings', 'key');
    const schemaKeys = Object.keys(detectorConfigInputSchema.shape).sort();
    expect([...rows.keys()].sort()).toEqual(schemaKeys);
    for (const key of schemaKeys) {
      const row = rows.get(key)!;
      for (const preset of ['recommended', 'splunk-escu'] as const) {
        const defaults = PRESET_DEFAULTS[preset] as Record<string, unknown>;
        expect({ key, preset, documented: documentedDefault(row[`\`${preset}\` default`] ?? '') }).toEqual({
          key,
          preset,
          documented: formatDefault(defaults[key]),
        });
      }
    }
  });

  it('documents every stack context key, and only those, with its default', () => {
    const rows = rowsByName('Stack context keys', 'key');
    expect([...rows.keys()].sort()).toEqual([...DEPLOYMENT_CONTEXT_KEYS].sort());
    // One of flowLogGroups / vpcIds is required: parse twice so each shows its own default.
    const withVpc = deploymentContextSchema.parse({ vpcIds: ['vpc-0123456789abcdef0'] }) as Record<
      string,
      unknown
    >;
    const withGroup = deploymentContextSchema.parse({ flowLogGroups: ['/vpc/flow-logs'] }) as Record<
      string,
      unknown
    >;
    for (const key of DEPLOYMENT_CONTEXT_KEYS) {
      const value = key === 'vpcIds' ? withGroup[key] : withVpc[key];
      expect({ key, documented: documentedDefault(rows.get(key)!.default ?? '') }).toEqual({
        key,
        documented: formatDefault(value),
      });
    }
  });

  it('documents every Lambda environment variable, and only those, with its default', () => {
    const rows = rowsByName('Lambda environment', 'variable');
    const variables = Object.keys(runtimeEnvironmentSchema.shape).sort();
    expect([...rows.keys()].sort()).toEqual(variables);
    // The defaults are what the schema fills in when a variable is unset; required ones fail.
    const minimal: Record<string, string> = {
      LOG_GROUP_IDENTIFIERS: '/vpc/flow-logs',
      TABLE_NAME: 'table',
      TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
    };
    for (const variable of variables) {
      const without = { ...minimal };
      delete without[variable];
      const parsed = runtimeEnvironmentSchema.safeParse(without);
      const expected = parsed.success
        ? formatDefault((parsed.data as Record<string, unknown>)[variable])
        : 'required';
      expect({ variable, documented: documentedDefault(rows.get(variable)!.default ?? '') }).toEqual({
        variable,
        documented: expected,
      });
    }
  });

  it("names only settings that exist in the README's most used settings", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const known = new Set([
      ...Object.keys(detectorConfigInputSchema.shape),
      ...DEPLOYMENT_CONTEXT_KEYS,
      ...Object.keys(runtimeEnvironmentSchema.shape),
    ]);
    const documented = tableUnder(readme, 'Most used settings').flatMap((row) =>
      codeSpans(row.setting ?? ''),
    );
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((name) => !known.has(name))).toEqual([]);
  });
});
