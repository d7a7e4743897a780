/**
 * V8 without allocation-site pretenuring, for the Lambda. V8 watches where objects are made and,
 * once most objects from one place outlive a young-generation collection, makes that place's
 * later objects straight in the old generation, which only a full collection frees. A window of
 * a million sources first keeps every source's count and decision (long-lived), then makes and
 * drops a few small objects a source from the same code (a baseline to decide, to encode). With
 * pretenuring on, a steady-state window ran 71-76 full collections, 36 of them in the decide and
 * commit phases, which keep nothing, and collections took 12 s of its CPU; without it 46-49
 * (8-11 in those phases) and 7 s (`--trace-gc`; the CPU figures are in docs/performance.md).
 *
 * Not a NODE_OPTIONS flag: Node.js refuses V8 flags there but for a few (heap sizes), so it is
 * set here, as the handler's first import, before the detector's code has run. Node.js leaves
 * V8's flags unfrozen for this (`--no-freeze-flags-after-init`).
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');
