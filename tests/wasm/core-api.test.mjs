// The module's C ABI as core_api.js presents it (the `Core` class the SDK drives): lifetime and
// leak count, the shapes of results and failures, byte arguments of every kind, and frames copied
// out of the heap. Layer: tests (node --test, on build/sdk's module).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { encode } from './msgpack.mjs';
import { sdkDir, wasmBinary } from './sdk.mjs';

let m;
before(async () => {
  const { default: createHoldfastCore } = await import(new URL(`file://${sdkDir}/holdfast_core.js`).href);
  m = await createHoldfastCore({ wasmBinary });
});

const options = (extra = {}) => ({ clientId: 'c-1', seed: 7, producerEpoch: 1, now: 1000, adoptStoredProducer: true, ...extra });

describe('Core over the C ABI', () => {
  test('the shipped module has no codec test helpers', () => {
    assert.equal(m.describeFrame, undefined);
    assert.equal(m.reencodeFrame, undefined);
  });

  test('delete() frees the core once; a call afterwards throws instead of touching freed memory', () => {
    const before = m.liveCores();
    const core = new m.Core(options());
    assert.equal(m.liveCores(), before + 1);
    assert.equal(core.clientId(), 'c-1');
    core.delete();
    assert.equal(m.liveCores(), before);
    assert.throws(() => core.tick(2000), /after delete/);
    assert.throws(() => core.delete(), /after delete/);
    assert.equal(m.liveCores(), before);
  });

  test('a UTF-8 client id survives the round trip through the scratch buffer', () => {
    const core = new m.Core(options({ clientId: 'tab-é-日本-🙂' }));
    assert.equal(core.clientId(), 'tab-é-日本-🙂');
    core.delete();
  });

  test('failures come back as {code, name, message} with the core\'s code; successes as values', () => {
    const core = new m.Core(options());
    const codes = m.errorCodes();
    const bad = core.openSession('');
    assert.equal(bad.code, codes.invalid_session_id);
    assert.equal(bad.name, 'invalid_session_id');
    assert.equal(typeof bad.message, 'string');
    assert.deepEqual(core.openSession('s-1'), {});
    const rejected = core.publish('s-1', 'status', '', '{not json');
    assert.equal(rejected.name, 'invalid_payload');
    assert.equal(rejected.code, codes.invalid_payload);
    const accepted = core.publish('s-1', 'status', '', '{"n":0.5}');
    assert.equal(typeof accepted.request, 'number');
    assert.equal(accepted.code, undefined);
    core.delete();
  });

  test('frames out are separate copies; bytes in may be a Uint8Array, a view into a larger buffer or an ArrayBuffer', () => {
    const core = new m.Core(options());
    core.lockAcquired(1000);
    core.socketOpen();
    core.openSession('s-2');
    const frames = core.takeSocketFrames();
    assert.ok(frames.length >= 1, 'hello (and attach) are queued once the socket opens');
    for (const frame of frames) {
      assert.ok(frame instanceof Uint8Array);
      assert.notEqual(frame.buffer, m.HEAPU8.buffer, 'a copy, not a view into the wasm heap');
    }
    assert.deepEqual(core.takeSocketFrames(), [], 'taken frames are gone');
    // The same relay frame three ways in: none may throw, and the core stays usable.
    const ping = encode({ type: 'ping', nonce: 1 });
    const padded = new Uint8Array(ping.length + 8);
    padded.set(ping, 4);
    core.socketFrame(ping);
    core.socketFrame(padded.subarray(4, 4 + ping.length));
    core.socketFrame(ping.slice().buffer);
    assert.throws(() => core.socketFrame(42), TypeError);
    core.tick(1100);
    assert.equal(typeof core.takeUpdates(), 'string');
    core.delete();
  });
});
