/**
 * Zod without its JIT, for the Lambda. Zod compiles a parser (`new Function`) for each object
 * schema the first time it parses one, which pays off over thousands of parses; the Lambda parses
 * its environment and config once per cold start, where compiling cost more than it saved
 * (parsing took 11-30 ms instead of 4-6 ms here). Same validation, same errors.
 *
 * Imported first by handler.ts: zod reads the setting when a schema is created, so it must run
 * before the modules that create the schemas.
 */
// zod/mini, as the schemas (the setting is zod's core's, shared by `zod` and `zod/mini`).
import * as z from 'zod/mini';

z.config({ jitless: true });
