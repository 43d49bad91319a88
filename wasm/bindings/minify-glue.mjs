// Minifies Emscripten's JS glue (holdfast_core.js) for build/sdk with terser: Emscripten 3.1.6
// only strips whitespace without the Closure Compiler, and terser (Debian's node-terser, found
// through NODE_PATH=/usr/share/nodejs, or an npm install) shortens its names: about a quarter of
// the glue's gzipped bytes. Without terser the glue is copied as it is, with a note.
// Usage: node minify-glue.mjs <in.js> <out.js>. Layer: bindings (build step).
import fs from 'node:fs';
import { loadTerser, minifyOptions } from './terser.mjs';

const [input, output] = process.argv.slice(2);
const source = fs.readFileSync(input, 'utf8');
const terser = loadTerser();
if (!terser) {
  console.warn('minify-glue: terser not found (apt-get install node-terser); holdfast_core.js left unminified');
  fs.writeFileSync(output, source);
} else {
  const { code } = await terser.minify(source, minifyOptions);
  fs.writeFileSync(output, code);
}
