/**
 * `npm run sample -- --out <file>` (scripts/generate-sample.ts) writes a sample where it is told,
 * its CloudTrail log files and interface map beside it, and leaves the bundled sample in
 * samples/ as it was (npm start and its documented results read those).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Every file under samples/ with a hash of its bytes. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    result[path] = createHash('sha256')
      .update(await fs.readFile(path))
      .digest('hex');
  }
  return result;
}

it('writes another sample where --out says, its CloudTrail files and interface map beside it, and leaves samples/ as it was', async () => {
  // Prepare
  const dir = await fs.mkdtemp(join(tmpdir(), 'generate-sample-'));
  const before = await snapshot(join(ROOT, 'samples'));
  try {
    // Act: another seed, so every file of it differs from the bundled one's
    const run = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        join(ROOT, 'scripts', 'generate-sample.ts'),
        '--out',
        join(dir, 'new', 'flows.log.gz'),
        '--days',
        '2',
        '--seed',
        '5',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );

    // Assess
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(await snapshot(join(ROOT, 'samples'))).toEqual(before);
    const written = await fs.readdir(join(dir, 'new'), { recursive: true });
    expect(written).toEqual(expect.arrayContaining(['flows.log.gz', 'interface-map.json', 'cloudtrail']));
    expect(
      written.filter((name) => name.startsWith('cloudtrail/') && name.endsWith('.json.gz')).length,
    ).toBeGreaterThan(0);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
