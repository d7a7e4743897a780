/**
 * Stack traces of the bundled Lambda mapped back to the TypeScript, on demand. Node's
 * `--enable-source-maps` reads and indexes the whole source map (0.9 MB) and measures every line
 * of the bundle at load, some 30 ms of every cold start (`npm run bench -- cold-start`), for
 * stacks that are only printed when a run fails. Here the map is read the first time a stack is
 * mapped, with Node's own SourceMap class.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';

/** undefined: not read yet; null: this module is not running from a bundle with a map beside it. */
let bundleMap: SourceMap | null | undefined;

function loadBundleMap(): SourceMap | null {
  if (bundleMap === undefined) {
    try {
      bundleMap = new SourceMap(JSON.parse(readFileSync(`${__filename}.map`, 'utf8')) as SourceMapPayload);
    } catch {
      bundleMap = null;
    }
  }
  return bundleMap;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `stack` with each frame in this bundle (`.../index.js:LINE:COLUMN`) replaced by its original
 * file, line and column (`lambda/detector-run.ts:120:11`). Frames elsewhere, or that the map does
 * not cover, are left as they are; without a map the stack comes back unchanged.
 */
export function sourceMappedStack(stack: string): string {
  const map = loadBundleMap();
  if (map === null) return stack;
  const frame = new RegExp(`${escapeRegExp(__filename)}:(\\d+):(\\d+)`, 'g');
  return stack.replace(frame, (whole, line: string, column: string) => {
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1);
    if (!('originalSource' in entry)) return whole;
    const source = entry.originalSource.replace(/^(\.\.\/)+/, '').replace(/^.*node_modules\//, '');
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}
