#!/usr/bin/env node
// Size of each entry of the npm package `holdfast`, as an app's bundler would ship it: each entry
// bundled alone from the installed package (build/vite-app/node_modules/holdfast, made by
// scripts/vite-app.sh) with Rolldown (Vite's bundler), minified, then gzipped (level 9); peer
// dependencies (react, ai, ws) and node: modules stay external. The .wasm is listed on its own:
// `holdfast` fetches it at connect. Prints a Markdown table for docs/benchmarks.md.
// Usage: node scripts/package-size.mjs (after scripts/vite-app.sh)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const app = path.join(root, 'build/vite-app');
const packageDir = path.join(app, 'node_modules/holdfast');
if (!fs.existsSync(packageDir)) {
  console.error('package-size: build/vite-app/node_modules/holdfast is missing (run scripts/vite-app.sh)');
  process.exit(1);
}
const { build } = await import(pathToFileURL(path.join(app, 'node_modules/rolldown/dist/index.mjs')).href);
const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));

const gzip = (bytes) => zlib.gzipSync(bytes, { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

const entries = ['holdfast', 'holdfast/react', 'holdfast/ai-sdk', 'holdfast/agent'];
const rows = [];
const scratch = fs.mkdtempSync(path.join(app, '.size-'));
try {
  for (const entry of entries) {
    const input = path.join(scratch, `${entry.replace('/', '-')}.js`);
    fs.writeFileSync(input, `export * from '${entry}';\n`);
    const output = await build({
      input,
      cwd: app,
      external: [/^react($|\/)/, /^ai$/, /^ws$/, /^node:/],
      logLevel: 'silent',
      write: false,
      output: { format: 'esm', minify: true, codeSplitting: false },
    });
    const code = output.output.filter((item) => item.type === 'chunk').map((chunk) => chunk.code).join('\n');
    const bytes = Buffer.from(code);
    rows.push([`\`${entry}\``, kib(bytes.length), kib(gzip(bytes))]);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
const wasm = fs.readFileSync(path.join(packageDir, 'src/holdfast_core.wasm'));
rows.push(['`holdfast_core.wasm` (fetched by `holdfast` at connect)', kib(wasm.length), kib(gzip(wasm))]);

console.log(`holdfast ${version}, Rolldown minify, gzip -9\n`);
console.log('| Entry | min | min + gzip |');
console.log('|---|---:|---:|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
