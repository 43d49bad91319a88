// The publisher's side of scenario B in one process, no relay or socket: publishes of the bench's
// events ({seq, t, tok}) 500 at a time, each 500 then acknowledged by one ranged ack, as the relay
// answers a bundle. Layer: bench.
//   node bench/peers/publish-path.mjs [events=200000]      (HOLDFAST_SDK_DIR: another SDK build)
// Prints microseconds per event, twice:
//   core  a Core's own calls: JSON.stringify, core.publish, takeSocketFrames, and the ack's
//         socketFrame + takeUpdates + JSON.parse
//   sdk   the SDK's session.publish() (a promise per event, as an agent streaming tokens pays),
//         up to its bundle handed to the transport; then the ack until the last promise settles
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { encode } from '../../tests/wasm/msgpack.mjs';
import { attachedCore, loadCoreModule, sdkDir } from './core-probe.mjs';

const count = Number(process.argv[2] ?? 200000);
const chunk = 500;
const session = 'bench-session';
const mono = () => Number(process.hrtime.bigint()) / 1e6;
const event = (seq) => ({ seq, t: mono(), tok: 'token-' + (seq % 1000) });
const welcome = encode({ type: 'welcome', connection_id: '1', version: 1,
  limits: { max_frame_bytes: 1 << 20, max_batch_events: 2048, max_bundle_frames: 256 } });
const ackOf = (producer, seq, n) => encode({ type: 'ack', session, producer_id: producer, producer_seq: seq + 1, serial: seq + 1, count: n });
const perEvent = (spent) => Object.fromEntries(Object.entries(spent).map(([k, ms]) => [k, +(ms * 1000 / count).toFixed(3)]));

async function corePath() {
  const core = attachedCore(await loadCoreModule(), session);
  core.socketFrame(welcome);
  core.takeUpdates();
  const spent = { stringify: 0, publish: 0, takeSocketFrames: 0, ack: 0 };
  let seq = 0;
  const round = (timed) => {
    const t0 = performance.now();
    const jsons = [];
    for (let i = 0; i < chunk; i++) jsons.push(JSON.stringify(event(seq + i)));
    const t1 = performance.now();
    for (const json of jsons) core.publish(session, 'bench', '', json);
    const t2 = performance.now();
    if (core.takeSocketFrames().length === 0) throw new Error('no frames');
    const t3 = performance.now();
    core.socketFrame(ackOf('bench', seq, chunk));
    const acks = JSON.parse(core.takeUpdates()).acks ?? [];
    const t4 = performance.now();
    const settled = acks.reduce((n, ack) => n + (ack.count ?? 1), 0);  // a run of requests counts as many
    if (settled !== chunk) throw new Error(`expected ${chunk} acks, got ${settled}`);
    seq += chunk;
    if (!timed) return;
    spent.stringify += t1 - t0; spent.publish += t2 - t1; spent.takeSocketFrames += t3 - t2; spent.ack += t4 - t3;
  };
  for (let i = 0; i < 100; i++) round(false);
  for (let done = 0; done < count; done += chunk) round(true);
  core.delete();
  return perEvent(spent);
}

async function sdkPath() {
  const { Holdfast } = await import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
  let link = null;
  const transport = () => (link = { sent: 0, send() { this.sent++; }, close() {}, onOpen: null, onFrame: null, onClose: null });
  const hf = await Holdfast.connect({ url: 'ws://127.0.0.1:1/v1/ws', transport, wasmBinary: fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm')),
    storage: 'memory', tabs: 'isolated', agent: 'bench-publisher' });
  const s = hf.session(session);
  for (let i = 0; i < 100 && !link?.onOpen; i++) await new Promise((r) => setTimeout(r, 5));
  link.onOpen();
  link.onFrame(welcome);
  link.onFrame(encode({ type: 'attached', session, epoch: 5, head_serial: 0 }));
  const spent = { publish: 0, ack: 0 };
  let seq = 0;
  const round = async (timed) => {
    const events = [];
    for (let i = 0; i < chunk; i++) events.push(event(seq + i));
    const sent = link.sent;
    const t0 = performance.now();
    let last;
    for (const ev of events) { last = s.publish('bench', ev); last.catch(() => {}); }
    await Promise.resolve();  // the SDK's drain (a microtask) hands the bundle to the transport
    const t1 = performance.now();
    if (link.sent === sent) throw new Error('nothing sent');
    link.onFrame(ackOf(hf.clientId, seq, chunk));
    await last;
    const t2 = performance.now();
    seq += chunk;
    if (timed) { spent.publish += t1 - t0; spent.ack += t2 - t1; }
  };
  for (let i = 0; i < 100; i++) await round(false);
  for (let done = 0; done < count; done += chunk) await round(true);
  hf.close();
  return perEvent(spent);
}

console.log(JSON.stringify({ events: count, microsecondsPerEvent: { core: await corePath(), sdk: await sdkPath() } }));
