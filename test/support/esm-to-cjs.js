/**
 * Jest transform for the few ES-module-only packages the code imports (hyparquet): esbuild turns
 * them into CommonJS, as it does when it bundles the CLI. Jest on Node 20 cannot require() an ES
 * module itself (Node can, and the bundles never need to).
 */
const { transformSync } = require('esbuild');

module.exports = {
  process(source, path) {
    const { code, map } = transformSync(source, {
      loader: 'js',
      format: 'cjs',
      target: 'node20',
      sourcemap: true,
      sourcefile: path,
    });
    return { code, map };
  },
};
