/** The replay CLI run in this process, its output captured: what the tests of its output share. */
import { PassThrough } from 'node:stream';
import { main } from '../../lambda/replay/cli';

/**
 * Runs `egress-spike` with `args` and returns its exit code and what it printed. `cwd`: the
 * directory it runs from (relative paths and the report's "input" line are relative to it), put
 * back afterwards.
 */
export async function runReplayCli(
  args: string[],
  options: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const previous = process.cwd();
  if (options.cwd !== undefined) process.chdir(options.cwd);
  try {
    const code = await main(args, { stdout, stderr });
    return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  } finally {
    process.chdir(previous);
  }
}
