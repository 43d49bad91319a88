// One live event through the SDK's core in Node, call by call: what each of scenario D's 200
// subscribers pays per delivery before its 'event' listener runs. A Core (the SDK's own module)
// follows a session as leader; N one-event `events` frames, encoded beforehand, go through
// socketFrame, pending, takeUpdates and JSON.parse, each timed; prints ns per call (medians are
// not needed: 3/4 of N after a warm-up quarter, mean). No relay, no socket. Layer: bench.
//   node bench/peers/live-event.mjs [events=200000]     (HOLDFAST_SDK_DIR picks another SDK build;
//   node --liftoff-only ... times V8's baseline tier, which a freshly loaded page runs; PACKED=1
//   encodes the frames in their packed form, as the relay sends them to the SDK)
import { encode } from '../../tests/wasm/msgpack.mjs';
import { attachedCore, loadCoreModule } from './core-probe.mjs';

const module = await loadCoreModule();
const session = 'pipe-1795490674505-abcdef';
const core = attachedCore(module, session);
if (!core.takeUpdates().includes('"live"')) throw new Error('the session did not go live');

const count = Number(process.argv[2] ?? 200000);
// The harness's bench event: {seq, t (a fractional monotonic clock), tok}, from an agent.
const frames = [];
// PACKED=1: in the packed form the relay sends the SDK (docs/protocol.md), else the plain one.
const packed = Boolean(process.env.PACKED);
const producer = '220deb40-aa99-46de-99dd-0d6aab68a959';
for (let i = 1; i <= count; i++) {
  const ts = 1795490674505 + (i >> 9);
  const payload = { seq: i, t: 1234567.891 + i / 1000, tok: 'token-' + (i % 1000) };
  frames.push(encode(packed
    ? { type: 'packed', session, serial: i, producers: [[producer, 'bench-publisher']], events: [[ts, 0, 'bench', '', payload]] }
    : { type: 'events', session, events: [{ serial: i, ts, producer_id: producer, kind: 'bench', msg_id: '', agent: 'bench-publisher', payload }] }));
}
const now = process.hrtime.bigint;
const spent = { socketFrame: 0n, pending: 0n, takeUpdates: 0n, jsonParse: 0n, eventColumns: 0n };
let bytes = 0;
for (let i = 0; i < count; i++) {
  const a = now(); core.socketFrame(frames[i]);
  const b = now(); core.pending();
  const c = now(); const json = core.takeUpdates();
  const d = now(); JSON.parse(json);
  const e = now(); if (core.eventColumns) core.eventColumns();  // as the SDK takes them (builds before event columns have none)
  const f = now();
  if (i < count / 4) continue;
  spent.socketFrame += b - a; spent.pending += c - b; spent.takeUpdates += d - c; spent.jsonParse += e - d; spent.eventColumns += f - e;
  bytes += json.length;
}
const timed = count - Math.ceil(count / 4);
const ns = Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, Math.round(Number(v) / timed)]));
console.log(JSON.stringify({ events: count, packed, frameBytes: frames[0].length, nsPerCall: ns, updateBytes: Math.round(bytes / timed) }));
core.delete();
