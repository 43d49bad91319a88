// Minifies Emscripten's JS glue (holdfast_core.js) for build/sdk with terser: Emscripten 3.1.6
// only strips whitespace without the Closure Compiler, and terser (Debian's node-terser, found
// through NODE_PATH=/usr/share/nodejs, or an npm install) shortens its names: about a quarter of
// the glue's gzipped bytes. Without terser the glue is copied as it is, with a note.
// Before that, the FS methods that load files over the network (createLazyFile with its
// synchronous-XHR LazyUint8Array, createPreloadedFile and what only they use) are cut out: the
// SDK never calls them, and an object's methods are beyond terser's dead-code removal. The cut
// is by acorn's syntax tree (Debian's node-acorn, which Emscripten itself needs), not by text.
// Usage: node minify-glue.mjs <in.js> <out.js>. Layer: bindings (build step).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { loadTerser, minifyOptions } from './terser.mjs';

const unusedFsMethods = new Set(['createLazyFile', 'createPreloadedFile', 'forceLoadFile']);

function loadAcorn() {
  const require = createRequire(import.meta.url);
  for (const name of ['acorn', '/usr/share/nodejs/acorn']) {
    try { return require(name); } catch { /* next */ }
  }
  return null;
}

/** The glue without the FS object's unused methods; unchanged (with a note) if they are not found. */
export function withoutUnusedFsMethods(source) {
  const acorn = loadAcorn();
  if (!acorn) {
    console.warn('minify-glue: acorn not found (apt-get install node-acorn); FS methods left in');
    return source;
  }
  const ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'module' });
  const cuts = [];
  (function visit(node) {
    if (!node || typeof node.type !== 'string') return;
    if (node.type === 'VariableDeclarator' && node.id.name === 'FS' && node.init?.type === 'ObjectExpression') {
      const props = node.init.properties;
      props.forEach((p, i) => {
        if (p.key && unusedFsMethods.has(p.key.name)) {
          // With its trailing comma (or the leading one for the last property).
          cuts.push(i + 1 < props.length ? [p.start, props[i + 1].start] : [props[i - 1].end, p.end]);
        }
      });
      return;
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === 'object') visit(value);
    }
  })(ast);
  if (cuts.length !== unusedFsMethods.size) {
    console.warn(`minify-glue: found ${cuts.length} of ${unusedFsMethods.size} unused FS methods; glue left whole`);
    return source;
  }
  let out = source;
  for (const [start, end] of cuts.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + out.slice(end);
  return out;
}

const [input, output] = process.argv.slice(2);
if (input) {
  const source = withoutUnusedFsMethods(fs.readFileSync(input, 'utf8'));
  const terser = loadTerser();
  if (!terser) {
    console.warn('minify-glue: terser not found (apt-get install node-terser); holdfast_core.js left unminified');
    fs.writeFileSync(output, source);
  } else {
    const { code } = await terser.minify(source, minifyOptions);
    fs.writeFileSync(output, code);
  }
}
