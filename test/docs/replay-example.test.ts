/**
 * docs/replay.md shows the summary `--json` prints for the bundled sample: the command it gives,
 * run here in-process, must print that summary, but for the run's own times (`elapsedMs`,
 * `timings`), so the example cannot go stale when the engine's decisions change.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { runReplayCli } from '../support/replay-cli';

const ROOT = join(__dirname, '..', '..');

/** The fenced `npm run replay -- ...` command and the JSON block after it ("ends with"). */
function documentedExample(markdown: string): { args: string[]; summary: Record<string, unknown> } {
  const command = /```\nnpm run replay -- (--json [^\n]+)\n```\n\nends with\n\n```json\n([\s\S]*?)\n```/.exec(
    markdown,
  );
  if (command === null)
    throw new Error('docs/replay.md: the --json example (command, "ends with", JSON) is not found');
  return {
    args: ['replay', ...command[1]!.split(' ')],
    summary: JSON.parse(command[2]!) as Record<string, unknown>,
  };
}

it("docs/replay.md's --json example is what the command prints for the sample (but for its times)", async () => {
  // Prepare
  const { args, summary: documented } = documentedExample(
    await fs.readFile(join(ROOT, 'docs', 'replay.md'), 'utf8'),
  );

  // Act: npm run replay runs from the repository root
  const { code, stdout } = await runReplayCli(args, { cwd: ROOT });

  // Assess
  expect(code).toBe(0);
  const lines = stdout.trim().split('\n');
  const printed = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  const withoutTimes = ({ elapsedMs: _elapsed, timings: _timings, ...rest }: Record<string, unknown>) => rest;
  expect(withoutTimes(printed)).toEqual(withoutTimes(documented));
  expect(Object.keys(documented)).toEqual(Object.keys(printed));
});
