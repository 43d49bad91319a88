// The WASM build of the codec against the native one: every golden frame written by the native
// test suite (tests/fixtures/*.msgpack) must decode and re-encode to the same bytes in WASM, and
// corrupt input must come back as the right error name, never as a thrown exception.
// Layer: tests (node --test, on build/sdk).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { encode } from './msgpack.mjs';
import { fixturesDir, loadModule } from './sdk.mjs';

const fixtures = fs.existsSync(fixturesDir)
  ? fs.readdirSync(fixturesDir).filter((name) => name.endsWith('.msgpack')).sort()
  : [];

let m;
before(async () => {
  m = await loadModule();
});

describe('golden fixtures', () => {
  test('fixtures exist', () => assert.ok(fixtures.length > 0, `no *.msgpack in ${fixturesDir}`));
  // The packed form of an events frame is read as the events frame it packs (the same sample).
  const plainFormOf = { 'packed.msgpack': 'events.msgpack' };
  for (const name of fixtures) {
    test(`${name} re-encodes ${plainFormOf[name] ? `as ${plainFormOf[name]}` : "byte for byte"}`, () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(fixturesDir, name)));
      const result = m.reencodeFrame(bytes);
      assert.equal(result.name, undefined, `decode failed: ${result.name}: ${result.message}`);
      const plain = plainFormOf[name] ?? name;
      assert.deepEqual(result.bytes, new Uint8Array(fs.readFileSync(path.join(fixturesDir, plain))));
      const type = plain.replace(/\.msgpack$/, '');
      assert.equal(JSON.parse(m.describeFrame(bytes)).type, type);
    });
    test(`${name} truncated is malformed_frame`, () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(fixturesDir, name)));
      for (const cut of [1, Math.floor(bytes.length / 2)]) {
        const result = m.reencodeFrame(bytes.subarray(0, bytes.length - cut));
        assert.equal(result.name, 'malformed_frame', `cut ${cut}: ${JSON.stringify(result)}`);
        assert.equal(result.code, m.errorCodes().malformed_frame);
      }
    });
  }
});

describe('corrupt input', () => {
  const cases = [
    ['empty frame', new Uint8Array(0), 'malformed_frame'],
    ['not a map', encode([1, 2, 3]), 'malformed_frame'],
    ['trailing bytes', Uint8Array.of(...encode({ type: 'ping', nonce: 1 }), 0xc0), 'malformed_frame'],
    ['no type', encode({ session: 'a' }), 'missing_field'],
    ['type not a string', encode({ type: 7 }), 'wrong_type'],
    ['unknown type', encode({ type: 'teleport' }), 'unknown_frame_type'],
    ['missing member', encode({ type: 'attach', session: 'a', from_serial: 0 }), 'missing_field'],
    ['string where an integer belongs', encode({ type: 'attach', session: 'a', from_serial: 'x', epoch: 0 }), 'wrong_type'],
    ['integer where a string belongs', encode({ type: 'attach', session: 5, from_serial: 0, epoch: 0 }), 'wrong_type'],
    ['negative serial', encode({ type: 'attach', session: 'a', from_serial: -1, epoch: 0 }), 'wrong_type'],
    ['nesting too deep', encode({ type: 'ping', nonce: 1, junk: nest(64) }), 'limit_exceeded'],
    ['frame too large', new Uint8Array((1 << 20) + 1), 'frame_too_large'],
  ];
  for (const [label, bytes, expected] of cases) {
    test(label, () => {
      const result = m.reencodeFrame(bytes);
      assert.equal(result.bytes, undefined, `decoded unexpectedly: ${m.describeFrame(bytes)}`);
      assert.equal(result.name, expected, JSON.stringify(result));
      assert.equal(result.code, m.errorCodes()[expected]);
      assert.equal(typeof result.message, 'string');
      assert.match(m.describeFrame(bytes), new RegExp(`^error ${expected}`));
    });
  }

  test('unknown keys are ignored', () => {
    const result = m.reencodeFrame(encode({ type: 'ping', nonce: 3, future_field: [1, 2] }));
    assert.deepEqual(result.bytes, encode({ type: 'ping', nonce: 3 }));
  });

  test('random bytes never throw', () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 2000; ++i) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256));
      const result = m.reencodeFrame(bytes);
      assert.ok(result.bytes instanceof Uint8Array || typeof result.name === 'string');
    }
  });
});

describe('error codes', () => {
  test('names and numbers come from the core, dense from 0', () => {
    const codes = m.errorCodes();
    assert.equal(codes.ok, 0);
    assert.equal(codes.closed, 15);
    assert.deepEqual(Object.values(codes).sort((a, b) => a - b), [...Object.values(codes).keys()]);
    assert.ok(!('unknown' in codes), 'every code below last_errc has a name');
  });
  test('protocol version', () => assert.equal(m.protocolVersion(), 1));
});

function nest(depth) {
  let value = 0;
  for (let i = 0; i < depth; ++i) value = [value];
  return value;
}
