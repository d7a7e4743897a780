/**
 * How the detector Lambda is bundled: the one definition that the stack (DetectorFunction),
 * the cold-start benchmark and the bundle tests all build from, so what is measured and tested
 * is what is deployed.
 *
 * The AWS SDK clients are bundled, not left to the copy the Node.js 22 runtime ships: one
 * minified, tree-shaken file loads in about half the time of the hundreds of node_modules files
 * the runtime's SDK is spread over (`npm run bench -- cold-start`), and the lock file then pins
 * the SDK version production runs. `module` before `main` makes esbuild take the packages' ES
 * module builds, which it can tree-shake (the SDK's CommonJS builds cannot be).
 */
import type { BuildOptions } from 'esbuild';

/**
 * Left out of the bundle, loaded from the runtime's own SDK if ever needed:
 * - the EC2 client (1.1 MB minified, as much as everything else together), loaded only when
 *   alert enrichment or change causes are on (lambda/adapters/ec2-enricher.ts);
 * - the CloudTrail client, loaded only when change causes are on and a window alerted
 *   (lambda/adapters/cloudtrail-change-lookup.ts);
 * - the STS client, loaded only when a member role is configured and another account's context
 *   is needed (lambda/adapters/account-context.ts);
 * - the STS, SSO and sign-in clients and the SSO and login credential providers that use them
 *   (about 70 KB): the SDK's default credential chain imports them (dynamic import()) only for a
 *   profile that assumes a role or uses SSO or a web identity token file. Lambda gives the role's
 *   credentials in environment variables, so they never load there; bundled, they would only be
 *   compiled at every cold start. The rest of the chain stays bundled, so credentials from a
 *   container or instance metadata endpoint still work (a test runs the bundle that way: an
 *   import() of a module left out does not search NODE_PATH, where Lambda keeps its SDK).
 */
export const DETECTOR_EXTERNAL_MODULES: readonly string[] = [
  '@aws-sdk/client-ec2',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-cloudtrail',
  // The Athena and S3 clients, loaded only by a detector whose flow source is Athena
  // (lambda/adapters/athena-flow-source.ts): a CloudWatch detector's cold start never sees them.
  '@aws-sdk/client-athena',
  '@aws-sdk/client-s3',
  '@aws-sdk/nested-clients',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/token-providers',
];

/** The esbuild settings, in the shape of NodejsFunction's `bundling` props. */
export const DETECTOR_BUNDLING = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node22',
  format: 'cjs',
  mainFields: ['module', 'main'],
  externalModules: DETECTOR_EXTERNAL_MODULES,
} as const;

/**
 * The same build through esbuild's API, as NodejsFunction runs it (its CLI with the working
 * directory at the project root, the lock file's directory): same options, same bytes.
 */
export function detectorEsbuildOptions(projectRoot: string, entry: string, outfile: string): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: DETECTOR_BUNDLING.target,
    format: DETECTOR_BUNDLING.format,
    minify: DETECTOR_BUNDLING.minify,
    sourcemap: DETECTOR_BUNDLING.sourceMap,
    sourcesContent: DETECTOR_BUNDLING.sourcesContent,
    mainFields: [...DETECTOR_BUNDLING.mainFields],
    external: [...DETECTOR_BUNDLING.externalModules],
    outfile,
    logLevel: 'error',
  };
}

/**
 * The detector function's NODE_OPTIONS: V8's old space capped at 15/32 of the function's memory
 * (480 MB of 1,024), its young generation's semi-spaces at 1/64 (16 MB; the young generation is
 * three of them). The rest is for what lives outside the JavaScript heap, most of all the
 * window's baseline tables (BaselineTable: some 310 MB at a million sources), and for the code.
 * Without the cap Lambda's runtime lets the old space grow to about 90% of the memory, and V8
 * collects lazily: in a million-source steady-state window the heap's garbage grew to 616 MB
 * while its live objects were under 200 MB, and the process to 1,112 MB, past a 1,024 MB
 * function's memory. Capped, the same window peaked at 715 MB (`npm run bench -- memory`), for
 * some 10 s more CPU in collections. The semi-space is set too because Lambda's runtime, given
 * one of the two sizes in NODE_OPTIONS, leaves the other to V8, whose default shrinks with the
 * heap limit on newer V8s (Node.js documents under 16 MB below 2 GB, 1 MB at 512 MB): 16 MB is what
 * Node.js 20 picks at this cap and what the benchmarks measured (32 MB took more CPU and 50 MB
 * more memory in a million-source steady state). The benchmarks run the detector process with
 * the same flags.
 */
export function detectorNodeOptions(memoryMb: number): string {
  return `--max-old-space-size=${Math.floor((memoryMb * 15) / 32)} --max-semi-space-size=${Math.floor(memoryMb / 64)}`;
}
