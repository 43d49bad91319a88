// SDK size: what a page downloads for `import { Holdfast } from '/sdk/holdfast.js'`, per file raw,
// minified (terser, as a bundler would) and gzip -9 of the minified text, with the targets of
// issue 10 for the core (holdfast_core.wasm + its Emscripten glue holdfast_core.js: <= 37 kB,
// never above 80 kB; 1 kB = 1000 bytes). The SDK's own modules are the ones holdfast.js imports,
// followed through their relative imports, and are reported separately.
// Usage: node bench/size/sdk-size.mjs [--sdk-dir DIR] [--max-core-kb N]
//   (after scripts/build.sh wasm; npm run bench:size; bench/peers/run.sh prints it first).
//   --max-core-kb N: exit 1 when the core's gzipped bytes exceed N kB (the test script's guard).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

import { loadTerser, minifyOptions } from '../../wasm/bindings/terser.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const sdkDir = path.resolve(option('--sdk-dir') ?? process.env.HOLDFAST_SDK_DIR ?? path.join(root, 'build/sdk'));
const maxCoreKb = option('--max-core-kb') === undefined ? undefined : Number(option('--max-core-kb'));
const TARGET_KB = 37;
const CEILING_KB = 80;

const entry = path.join(sdkDir, 'holdfast.js');
if (!fs.existsSync(entry)) {
  console.error(`sdk-size: no ${entry}: run bash scripts/build.sh wasm`);
  process.exit(2);
}
const terser = loadTerser();
if (!terser) console.warn('sdk-size: terser not found (apt-get install node-terser): "minified" = raw');

/** The relative modules `file` imports or re-exports, statically or dynamically. */
function relativeImports(file) {
  const text = fs.readFileSync(file, 'utf8');
  const found = new Set();
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|import\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    found.add(path.resolve(path.dirname(file), m[1] ?? m[2] ?? m[3]));
  }
  return [...found];
}

/** Every module reachable from holdfast.js, in discovery order. */
function moduleGraph(start) {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length) {
    for (const next of relativeImports(queue.shift())) {
      if (!seen.has(next) && fs.existsSync(next)) { seen.add(next); queue.push(next); }
    }
  }
  return [...seen];
}

/** Bytes after `gzip -9 -n` (the tool itself when present; zlib at level 9 otherwise). */
function gzip(bytes) {
  try { return execFileSync('gzip', ['-9', '-n', '-c'], { input: bytes, maxBuffer: 1 << 26 }).length; } catch { return zlib.gzipSync(bytes, { level: 9 }).length; }
}

async function measure(file) {
  const raw = fs.readFileSync(file);
  let minified = raw;
  if (file.endsWith('.js') && terser) minified = Buffer.from((await terser.minify(raw.toString('utf8'), minifyOptions)).code);
  return { name: path.basename(file), raw: raw.length, minified: file.endsWith('.wasm') ? undefined : minified.length, gzip: gzip(minified) };
}

const modules = moduleGraph(entry);
const glue = modules.find((file) => path.basename(file) === 'holdfast_core.js') ?? path.join(sdkDir, 'holdfast_core.js');
const core = [await measure(path.join(sdkDir, 'holdfast_core.wasm')), await measure(glue)];
const sdk = [];
for (const file of modules) if (file !== glue) sdk.push(await measure(file));

const kb = (bytes) => (bytes / 1000).toFixed(1);
const sum = (rows, key) => rows.reduce((total, row) => total + (row[key] ?? row.raw), 0);
const line = (name, raw, minified, zipped) =>
  console.log(`${name.padEnd(34)}${String(raw).padStart(9)}${String(minified ?? '-').padStart(11)}${String(zipped).padStart(11)}  ${(typeof zipped === 'number' ? `${kb(zipped)} kB` : 'gzip kB').padStart(9)}`);

console.log(`SDK size (${sdkDir}); bytes; minified = terser; gzip = gzip -9 of the minified file; kB = 1000 bytes`);
line('file', 'raw', 'minified', 'gzip');
for (const row of core) line(`  ${row.name}`, row.raw, row.minified, row.gzip);
const coreGzip = sum(core, 'gzip');
line('core total (wasm + glue)', sum(core, 'raw'), sum(core, 'minified'), coreGzip);
for (const row of sdk) line(`  ${row.name}`, row.raw, row.minified, row.gzip);
const sdkGzip = sum(sdk, 'gzip');
line(`SDK modules (${sdk.length})`, sum(sdk, 'raw'), sum(sdk, 'minified'), sdkGzip);
line('a page importing holdfast.js', sum(core, 'raw') + sum(sdk, 'raw'), sum(core, 'minified') + sum(sdk, 'minified'), coreGzip + sdkGzip);
const verdict = coreGzip <= TARGET_KB * 1000 ? 'meets the target' : coreGzip <= CEILING_KB * 1000 ? 'under the ceiling, above the target' : 'ABOVE THE CEILING';
console.log(`core gzip ${kb(coreGzip)} kB: target <= ${TARGET_KB} kB, ceiling ${CEILING_KB} kB: ${verdict}`);

if (maxCoreKb !== undefined && coreGzip > maxCoreKb * 1000) {
  console.error(`sdk-size: the core is ${kb(coreGzip)} kB gzipped, above --max-core-kb ${maxCoreKb}`);
  process.exit(1);
}
