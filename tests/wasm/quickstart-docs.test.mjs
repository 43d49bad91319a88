// docs/quickstart.md shows the Vite app fixture's files verbatim, so the examples in the docs are
// the ones e2e/vite-app.spec.mjs runs: every block marked `<!-- file: path -->` must equal that
// file. Layer: tests (node --test).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('every file block of docs/quickstart.md equals the fixture file it names', () => {
  const doc = fs.readFileSync(path.join(root, 'docs/quickstart.md'), 'utf8');
  const blocks = [...doc.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)```\n/g)];
  assert.ok(blocks.length >= 6, `expected the fixture's files in the quickstart, found ${blocks.length}`);
  for (const [, file, text] of blocks) {
    assert.equal(text, fs.readFileSync(path.join(root, file), 'utf8'), `${file} differs from its copy in docs/quickstart.md`);
  }
  for (const page of ['src/vanilla.js', 'src/react-main.jsx', 'src/chat-main.jsx']) {
    assert.ok(blocks.some(([, file]) => file === `e2e/vite-app/${page}`), `${page} is in the quickstart`);
  }
});
