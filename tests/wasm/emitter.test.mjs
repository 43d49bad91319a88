// The listener base of Holdfast and Session (js-bindings/src/Emitter.js): order, adding twice,
// removing during a delivery, and a throwing listener that must not cost the others their event.
// Layer: tests (node --test).
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';

import { sdkDir } from './sdk.mjs';

const { Emitter } = await import(pathToFileURL(path.join(sdkDir, 'Emitter.js')).href);

class Probe extends Emitter {
  fire(name, value) { return this.emit(name, value); }
}

test('listeners hear each event in the order they were added; adding one twice adds it once', () => {
  const e = new Probe();
  const heard = [];
  const first = (v) => heard.push(['first', v]);
  e.on('x', first);
  e.on('x', (v) => heard.push(['second', v]));
  e.on('x', first);
  assert.equal(e.listenerCount('x'), 2);
  assert.equal(e.fire('x', 1), true);
  assert.deepEqual(heard, [['first', 1], ['second', 1]]);
  assert.equal(e.fire('nobody', 1), false);
});

test('a delivery under way goes to the listeners there were when it began', () => {
  const e = new Probe();
  const heard = [];
  let removeLater = null;
  e.on('x', (v) => {
    heard.push(`a${v}`);
    removeLater();                              // removed during this delivery: still hears it
    e.on('x', (w) => heard.push(`late${w}`));   // added during it: hears only the next one
  });
  removeLater = e.on('x', (v) => heard.push(`b${v}`));
  e.fire('x', 1);
  assert.deepEqual(heard, ['a1', 'b1']);
  e.fire('x', 2);
  assert.deepEqual(heard, ['a1', 'b1', 'a2', 'late2']);
  e.off('x', () => {});  // never added: nothing happens
  assert.equal(e.listenerCount('x'), 3);
});

test('a listener that throws does not stop the others; its error is rethrown on a later task', () => {
  const e = new Probe();
  const heard = [];
  const boom = new Error('listener bug');
  const later = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (callback, ms) => { later.push([callback, ms]); };
  try {
    e.on('x', () => { throw boom; });
    e.on('x', (v) => heard.push(v));
    e.fire('x', 7);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.deepEqual(heard, [7]);
  assert.equal(later.length, 1);
  assert.equal(later[0][1], 0);
  assert.throws(later[0][0], (error) => error === boom);
});

test('off() of the last listener leaves none; removeAllListeners() drops every name', () => {
  const e = new Probe();
  const f = () => {};
  e.on('x', f);
  e.on('y', f);
  e.off('x', f);
  assert.equal(e.listenerCount('x'), 0);
  assert.equal(e.fire('x'), false);
  e.removeAllListeners();
  assert.equal(e.listenerCount('y'), 0);
});
