/**
 * V8 without TurboFan's inlining, for the replay CLI. A replay is a short process whose engine
 * code (lambda/core) runs cold: on the benchmark file its 26,500 source-window decisions took
 * three times as long as the same decisions once warm, because the optimising compiler, one
 * background thread, was still compiling when the last window was decided (`--trace-opt`: about
 * 0.6 s of compile jobs in a 0.22 s evaluation). Inlining is most of that work: evaluateWindow
 * took 60 ms to compile with decide, candidate and decideCandidate inlined into it, and each
 * deoptimisation of a newly reached path (a first spike, a first rhythm model) compiled the
 * inlined graph again. Without inlining each function compiles once and small, and optimised code
 * arrives sooner; a warm loop loses a little, which a replay never reaches. Measured in
 * docs/performance.md (the replay's evaluation about a third shorter).
 *
 * Not for the Lambda, whose long windows run warm. Set as the CLI's first import, before any of
 * the engine's code has been compiled; V8's flags are process-wide, so the scan workers get it
 * too (their scan is WebAssembly, which this flag leaves alone). Node.js leaves V8's flags
 * unfrozen for this (`--no-freeze-flags-after-init`), as lambda/v8-tuning.ts relies on.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-turbo-inlining');
