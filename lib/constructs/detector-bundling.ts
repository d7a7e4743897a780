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
  '@aws-sdk/client-cloudtrail',
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
