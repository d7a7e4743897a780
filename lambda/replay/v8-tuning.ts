/**
 * V8 without TurboFan's inlining, for the replay CLI. A replay is a short process whose engine
 * code (lambda/core) runs cold: on the benchmark file its 26,500 source-window decisions took
 * three times as long as the same decisions once warm, because the optimising compiler, one
 * background thread, was still compiling when the last window was decided (`--trace-opt`: about
 * 0.6 s of compile jobs in a 0.22 s evaluation). Inlining is most of that work: evaluateWindow
 * took 60 ms to compile with decide, candidate and decideCandidate inlined into it, and each
 * deoptimisation of a newly reached path (a first spike, a first rhythm model) compiled the
 * inlined graph again. Without inlining each function compiles once and small, and optimised code
 * arrives sooner: the benchmark's evaluation about a quarter shorter. Once warm, the same
 * decisions take about a tenth longer without inlining, so a replay with five to eight times the
 * benchmark's source-windows gives back what this saves, and a larger one loses a small part of
 * a run whose scan of gigabytes takes most of its time. Measured in docs/performance.md.
 *
 * Not for the Lambda, whose long windows run warm. Set as the CLI's first import, before any of
 * the engine's code has been compiled; V8's flags are process-wide, so the scan workers get it
 * too (their scan is WebAssembly, which this flag leaves alone). Node.js leaves V8's flags
 * unfrozen for this (`--no-freeze-flags-after-init`), as lambda/v8-tuning.ts relies on.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-turbo-inlining');
