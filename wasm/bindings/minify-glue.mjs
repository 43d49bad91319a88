// Minifies Emscripten's JS glue (holdfast_core.js) for build/sdk with terser: Emscripten 3.1.6
// only strips whitespace without the Closure Compiler, and terser (Debian's node-terser, found
// through NODE_PATH=/usr/share/nodejs, or an npm install) shortens its names: about a quarter of
// the glue's gzipped bytes. Without terser the glue is copied as it is, with a note.
// Before that, FS methods nothing calls are cut out: the network loaders (createLazyFile with its
// synchronous-XHR LazyUint8Array, createPreloadedFile), FS's own whole-tree IndexedDB copy (IDBFS
// does the SDK's syncing), and calls the C++ core never makes. An object's methods are beyond
// terser's dead-code removal. The cut is by acorn's syntax tree (Debian's node-acorn, which
// Emscripten itself needs), and it is undone whole if any cut name is still mentioned after it.
// The SDK's own FS calls (IdbStorage.js: chmod, filesystems, isDir, isFile, mkdir, mkdirTree,
// mount, readdir, rmdir, stat, unlink, utime, writeFile; IDBFS.loadLocalEntry) must never be in
// the list.
// Usage: node minify-glue.mjs <in.js> <out.js>. Layer: bindings (build step).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { loadTerser, minifyOptions } from './terser.mjs';

const unusedFsMethods = new Set(['createLazyFile', 'createPreloadedFile', 'forceLoadFile', 'loadFilesFromDB',
  'saveFilesToDB', 'unmount', 'readFile', 'createPath', 'chdir', 'ftruncate', 'findObject', 'quit', 'fchown', 'fchmod']);

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
  let found = 0;
  (function visit(node) {
    if (!node || typeof node.type !== 'string') return;
    if (node.type === 'VariableDeclarator' && node.id.name === 'FS' && node.init?.type === 'ObjectExpression') {
      const props = node.init.properties;
      const cut = props.map((p) => Boolean(p.key && unusedFsMethods.has(p.key.name)));
      found = cut.filter(Boolean).length;
      // A trailing run of cut properties goes with the comma before it; any other cut property
      // goes with the comma after it. The ranges are disjoint, so they are cut from the end.
      let tail = props.length;
      while (tail > 0 && cut[tail - 1]) --tail;
      if (tail < props.length && tail > 0) cuts.push([props[tail - 1].end, props[props.length - 1].end]);
      else if (tail === 0 && props.length) cuts.push([props[0].start, props[props.length - 1].end]);
      for (let i = 0; i < tail; i++) if (cut[i]) cuts.push([props[i].start, props[i + 1].start]);
      return;
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === 'object') visit(value);
    }
  })(ast);
  if (found !== unusedFsMethods.size) {
    console.warn(`minify-glue: found ${found} of ${unusedFsMethods.size} unused FS methods; glue left whole`);
    return source;
  }
  let out = source;
  for (const [start, end] of cuts.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + out.slice(end);
  // createLazyFile's own error texts name it; any other mention would be a caller.
  const mentioned = [...unusedFsMethods].filter((name) => name !== 'createLazyFile' && new RegExp(`\\b${name}\\b`).test(out));
  if (mentioned.length) {
    console.warn(`minify-glue: ${mentioned.join(', ')} still used after the cut; glue left whole`);
    return source;
  }
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
