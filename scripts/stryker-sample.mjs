/**
 * A uniform random sample of the mutants, for a score when the whole run cannot be afforded
 * (docs/testing.md "Mutation testing"): preloaded into Stryker's process,
 *
 *   STRYKER_SAMPLE=0.2 STRYKER_SAMPLE_SEED=1 NODE_OPTIONS="--import ./scripts/stryker-sample.mjs" npx stryker run ...
 *
 * marks every mutant outside the sample Ignored ("outside the sample"), so it is neither run nor
 * counted. A mutant is in the sample when a hash of the seed, its file, position, mutator and
 * replacement falls under the fraction: the same mutants on every run with the same seed (so
 * incremental runs and re-runs after new tests score the same sample), independent of the order
 * Stryker finds them in, and each mutant with the same chance whatever file or mutator it is.
 * Stryker has no sampling option; this wraps its mutant collector (a class of the instrumenter).
 */
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const fraction = Number(process.env.STRYKER_SAMPLE);
const seed = process.env.STRYKER_SAMPLE_SEED ?? '1';
if (process.env.STRYKER_SAMPLE !== undefined && !(fraction > 0 && fraction <= 1))
  throw new Error(`STRYKER_SAMPLE must be a fraction in (0, 1], not ${process.env.STRYKER_SAMPLE}`);

/** FNV-1a, 32 bits, then MurmurHash3's finaliser (so similar keys spread evenly), over 2^32. */
function unitHash(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}

if (fraction > 0 && fraction < 1) {
  const require = createRequire(join(process.cwd(), 'package.json'));
  const instrumenter = dirname(require.resolve('@stryker-mutator/instrumenter/package.json'));
  const { MutantCollector } = await import(
    pathToFileURL(join(instrumenter, 'dist', 'src', 'transformers', 'mutant-collector.js')).href
  );
  const collect = MutantCollector.prototype.collect;
  MutantCollector.prototype.collect = function collectSampled(...args) {
    const mutant = collect.apply(this, args);
    if (mutant.ignoreReason === undefined) {
      const { start, end } = mutant.original.loc;
      const key = [
        seed,
        relative(process.cwd(), mutant.fileName),
        start.line,
        start.column,
        end.line,
        end.column,
        mutant.mutatorName,
        mutant.replacementCode,
      ].join('|');
      if (unitHash(key) >= fraction)
        mutant.ignoreReason = `outside the sample (${fraction} of mutants, seed ${seed})`;
    }
    return mutant;
  };
}
