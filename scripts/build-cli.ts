/**
 * Builds the replay CLI (`dist/egress-spike.js` and its scan worker) with esbuild: the one build
 * definition behind `npm run build:cli` (and so `npm start` / `npm run replay`), the CLI tests and
 * the replay benchmark. uplot stays external: the report reads it from node_modules when written.
 */
import { buildSync } from 'esbuild';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export function buildCli(): void {
  buildSync({
    entryPoints: [join(ROOT, 'bin', 'egress-spike.ts'), join(ROOT, 'lambda', 'replay', 'scan-worker.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outdir: join(ROOT, 'dist'),
    entryNames: '[name]',
    external: ['uplot'],
    logLevel: 'warning',
  });
}

if (require.main === module) buildCli();
