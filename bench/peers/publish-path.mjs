// The publisher's side of scenario B in one process, no relay or socket: a Core bundling
// publishes of the bench's events ({seq, t, tok}) 500 at a time, each bundle then acknowledged
// by one ranged ack, as the relay answers it. Times the steps per event: JSON.stringify,
// core.publish, takeSocketFrames and the ack's socketFrame + takeUpdates. Layer: bench.
//   node bench/peers/publish-path.mjs [events=200000]      (HOLDFAST_SDK_DIR: another SDK build)
import { encode } from '../../tests/wasm/msgpack.mjs';
import { attachedCore, loadCoreModule } from './core-probe.mjs';

const count = Number(process.argv[2] ?? 200000);
const session = 'bench-session';
const module = await loadCoreModule();
const core = attachedCore(module, session);
core.socketFrame(encode({ type: 'welcome', connection_id: '1', version: 1,
  limits: { max_frame_bytes: 1 << 20, max_batch_events: 2048, max_bundle_frames: 256 } }));
core.takeUpdates();
const mono = () => Number(process.hrtime.bigint()) / 1e6;
const spent = { stringify: 0, publish: 0, takeSocketFrames: 0, ack: 0 };
let seq = 0;
let serial = 0;
function round(n, timed) {
  const jsons = [];
  let t0 = performance.now();
  for (let i = 0; i < n; i++) jsons.push(JSON.stringify({ seq: seq + i, t: mono(), tok: 'token-' + ((seq + i) % 1000) }));
  let t1 = performance.now();
  for (const json of jsons) core.publish(session, 'bench', '', json);
  const t2 = performance.now();
  const frames = core.takeSocketFrames();
  const t3 = performance.now();
  if (frames.length === 0) throw new Error('no frames');
  core.socketFrame(encode({ type: 'ack', session, producer_id: 'bench', producer_seq: seq + 1, serial: serial + 1, count: n }));
  const updates = JSON.parse(core.takeUpdates());
  const t4 = performance.now();
  if ((updates.acks?.length ?? 0) !== n) throw new Error(`expected ${n} acks, got ${updates.acks?.length}`);
  seq += n;
  serial += n;
  if (!timed) return;
  spent.stringify += t1 - t0;
  spent.publish += t2 - t1;
  spent.takeSocketFrames += t3 - t2;
  spent.ack += t4 - t3;
}
for (let i = 0; i < 100; i++) round(500, false);
for (let done = 0; done < count; done += 500) round(500, true);
const per = Object.fromEntries(Object.entries(spent).map(([k, ms]) => [k, +(ms * 1000 / count).toFixed(3)]));
console.log(JSON.stringify({ events: count, microsecondsPerEvent: per }));
