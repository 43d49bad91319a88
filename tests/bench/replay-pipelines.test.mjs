// The main-thread benchmark compares the SDK with a pure-JS pipeline (msgpackr + JS assembly) on
// the same relay frames; that comparison only means something if both do the same work. Here
// both get the same frames (the relay's encoding: the golden fixture, and frames built with the
// tests' own msgpack encoder) and must end with the same message, the same events, and one
// 'message' per received message that changed it. Layer: tests (node --test, on build/sdk).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { Unpackr } from 'msgpackr';

import { JsSession, eventsOf, replayThroughSdk } from '../../bench/browser/replay-pipelines.mjs';
import { encode } from '../wasm/msgpack.mjs';
import { fixturesDir, importSdk, wasmBinary } from '../wasm/sdk.mjs';

const unpackr = new Unpackr({ int64AsType: 'number', mapsAsObjects: true, useRecords: false });
const unpack = (bytes) => unpackr.unpack(bytes);

const SESSION = 'bench-replay';
const MSG = 'm1';

/** An events frame in its packed form (docs/protocol.md), as the relay sends it to the SDK. */
function packedFrame(frame) {
  const producers = [];
  const rows = [];
  let previous = 0;
  for (const ev of frame.events) {
    let index = producers.findIndex(([id, agent]) => id === ev.producer_id && agent === ev.agent);
    if (index < 0) index = producers.push([ev.producer_id, ev.agent]) - 1;
    rows.push([ev.ts - previous, index, ev.kind, ev.msg_id, ev.payload]);
    previous = ev.ts;
  }
  return { type: 'packed', session: frame.session, serial: frame.events[0].serial, producers, events: rows };
}

/** welcome + attached, then `events` spread over messages of `perFrame` (some as bundles), packed or plain. */
function recording(events, perFrame, packed = false) {
  const prelude = [
    encode({ type: 'welcome', connection_id: 'c1', version: 1, limits: { max_frame_bytes: 1 << 20, max_batch_events: 1000 } }),
    encode({ type: 'attached', session: SESSION, epoch: 7, head_serial: events.at(-1).serial }),
  ];
  const eventFrames = [];
  for (let i = 0; i < events.length; i += perFrame) {
    const chunk = events.slice(i, i + perFrame);
    const form = (f) => (packed ? packedFrame(f) : f);
    const frame = { type: 'events', session: SESSION, events: chunk };
    // Every third message is a bundle of two frames, as the relay sends to clients that take them.
    if (eventFrames.length % 3 === 2 && chunk.length > 1) {
      const half = chunk.length >> 1;
      eventFrames.push(encode([form({ ...frame, events: chunk.slice(0, half) }), form({ ...frame, events: chunk.slice(half) })]));
    } else {
      eventFrames.push(encode(form(frame)));
    }
  }
  return { prelude, eventFrames };
}

function event(serial, kind, payload) {
  return { serial, ts: 1_800_000_000_000 + serial, producer_id: 'agent-1', kind, msg_id: MSG, agent: 'bench-agent', payload };
}

/** A streamed message: start, deltas (one a bare string), a status event, the end, a late delta. */
function streamedMessage(deltas) {
  const events = [event(1, 'message.start', { role: 'assistant' })];
  for (let i = 0; i < deltas; ++i) {
    const text = ` tok${i}`;
    events.push(event(events.length + 1, 'message.delta', i === 3 ? text : { text }));
  }
  events.push(event(events.length + 1, 'status', { state: 'thinking' }));
  events.push(event(events.length + 1, 'message.end', { status: 'complete' }));
  events.push(event(events.length + 1, 'message.delta', { text: ' after the end' }));
  const expected = Array.from({ length: deltas }, (_, i) => ` tok${i}`).join('');
  return { events, expected };
}

function runJs({ eventFrames }) {
  const js = new JsSession(unpack);
  let events = 0;
  let messageEmits = 0;
  js.onEvent = () => { events += 1; };
  js.onMessage = () => { messageEmits += 1; };
  for (const bytes of eventFrames) js.apply(bytes);
  const last = js.messages.at(-1);
  return { events, messageEmits, text: last?.text, status: last?.status, js };
}

let Holdfast;
before(async () => {
  ({ Holdfast } = await importSdk());
});

const runSdk = (rec) => replayThroughSdk({ Holdfast, connectOptions: { url: 'ws://replay.invalid/v1/ws', storage: 'memory', wasmBinary },
  session: SESSION, ...rec, now: () => performance.now() });

describe('replay pipelines: the SDK and the pure-JS baseline do the same work', () => {
  test('msgpackr decodes the relay\'s golden events frame with numeric serials and the payload as an object', () => {
    const frame = unpack(fs.readFileSync(path.join(fixturesDir, 'events.msgpack')));
    assert.equal(frame.type, 'events');
    assert.ok(frame.events.length > 0);
    for (const ev of frame.events) {
      assert.equal(typeof ev.serial, 'number');
      assert.equal(typeof ev.ts, 'number');
      assert.equal(typeof ev.kind, 'string');
    }
  });

  test('the baseline reads the golden packed frame as the events of the golden plain one', () => {
    const plain = unpack(fs.readFileSync(path.join(fixturesDir, 'events.msgpack')));
    const packed = unpack(fs.readFileSync(path.join(fixturesDir, 'packed.msgpack')));
    assert.equal(packed.type, 'packed');
    assert.deepEqual(eventsOf(packed), eventsOf(plain));
    assert.ok(eventsOf(plain).length > 0);
  });

  for (const [perFrame, packed] of [[1, false], [7, false], [500, false], [7, true], [500, true]]) {
    test(`same message, events and 'message' emits, ${perFrame} event(s) per relay message${packed ? ', packed frames' : ''}`, async () => {
      const { events, expected } = streamedMessage(300);
      const rec = recording(events, perFrame, packed);
      const js = runJs(rec);
      const sdk = await runSdk(rec);
      assert.equal(js.text, expected);
      assert.equal(sdk.text, expected);
      assert.equal(js.status, 'complete');
      assert.equal(sdk.status, 'complete');
      assert.equal(js.events, events.length);
      assert.equal(sdk.events, events.length);
      assert.equal(js.messageEmits, sdk.messageEmits, 'one emit per received message that changed the message');
    });
  }

  test('the baseline drops a repeated serial, as the SDK does', async () => {
    const { events, expected } = streamedMessage(20);
    const rec = recording(events, 5);
    rec.eventFrames.splice(2, 0, rec.eventFrames[1]);  // a message delivered twice
    const js = runJs(rec);
    const sdk = await runSdk(rec);
    assert.equal(js.text, expected);
    assert.equal(sdk.text, expected);
    assert.equal(js.events, events.length);
    assert.equal(sdk.events, events.length);
  });
});
