// Finds terser for the glue's minification (minify-glue.mjs) and the size report
// (bench/size/sdk-size.mjs): an npm install first, then Debian's node-terser (its dependencies
// resolve through NODE_PATH=/usr/share/nodejs). Layer: bindings (build tooling).
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** terser's module, or null when neither install is present. */
export function loadTerser() {
  try { return require('terser'); } catch { /* not from npm */ }
  if (!(process.env.NODE_PATH ?? '').split(':').includes('/usr/share/nodejs')) {
    // Debian's terser needs its sibling packages on the lookup path.
    process.env.NODE_PATH = ['/usr/share/nodejs', process.env.NODE_PATH].filter(Boolean).join(':');
    Module._initPaths();
  }
  try { return require('/usr/share/nodejs/terser'); } catch { return null; }
}

/** ES module input (the glue is EXPORT_ES6), two compress passes, local names shortened. */
export const minifyOptions = { module: true, compress: { passes: 2 }, mangle: true };
