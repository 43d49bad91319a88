// Scenario C's replay through fresh cores, in Node, without a relay or a socket: per repetition a
// new Core (the SDK's own module) receives the 10,000 harness events {seq, t, tok} in two packed
// frames (7,900 and 2,100 events, as the relay's first two replay messages), each frame timed
// through socketFrame, then takeUpdates and JSON.parse with eventColumns. Prints medians (the
// first two repetitions left out) and the first one alone. Layer: bench. Timing only here.
//   node --liftoff-only bench/peers/cold-replay.mjs   V8's baseline tier only, as a page's first
//                                                    catch-up runs almost wholly (issue 10, C)
//   node bench/peers/cold-replay.mjs                  with tier-up, as Node runs it
// Env: REPS (15), HOLDFAST_SDK_DIR (another SDK build, e.g. an older commit's to alternate with).
import { encode } from '../../tests/wasm/msgpack.mjs';
import { attachedCore, loadCoreModule, sdkDir } from './core-probe.mjs';

const module = await loadCoreModule();
const session = 'pipe-1795490674505-abcdef';
const producer = '220deb40-aa99-46de-99dd-0d6aab68a959';
// A packed frame of n events from serial `from`: a ts step every seventh event, one producer.
const packedFrame = (from, n) => {
  const events = [];
  for (let i = from; i < from + n; i++) {
    const tsDelta = i === from ? 1795490674505 + i : (i % 7 === 0 ? 1 : 0);
    events.push([tsDelta, 0, 'bench', '', { seq: i, t: 1234567.891 + i / 1000, tok: 'token-' + (i % 1000) }]);
  }
  return encode({ type: 'packed', session, serial: from, producers: [[producer, 'bench-publisher']], events });
};
const frames = [packedFrame(1, 7900), packedFrame(7901, 2100)];
const reps = Math.max(3, Number(process.env.REPS || 15));
const spent = { socketFrame: [], takeUpdates: [], parse: [] };
for (let r = 0; r < reps; r++) {
  const core = attachedCore(module, session, { headSerial: 10000, maxBatchEvents: 8192 });
  core.takeUpdates();
  let frame = 0, take = 0, parse = 0, events = 0;
  for (const bytes of frames) {
    const a = performance.now();
    core.socketFrame(bytes);
    const b = performance.now();
    core.pending();
    const json = core.takeUpdates();
    const c = performance.now();
    const update = JSON.parse(json);
    core.eventColumns();
    const d = performance.now();
    frame += b - a; take += c - b; parse += d - c;
    events += update.sessions[0].events.length;
  }
  if (events !== 10000) throw new Error(`cold-replay: ${events} events came out of 10000`);
  spent.socketFrame.push(frame); spent.takeUpdates.push(take); spent.parse.push(parse);
  core.delete();
}
const median = (values) => {
  const kept = values.slice(2).sort((x, y) => x - y);
  return +kept[Math.floor(kept.length / 2)].toFixed(2);
};
console.log(JSON.stringify({
  sdk: sdkDir, events: 10000, reps, firstSocketFrameMs: +spent.socketFrame[0].toFixed(2),
  medianMs: { socketFrame: median(spent.socketFrame), takeUpdates: median(spent.takeUpdates), parseAndColumns: median(spent.parse) },
}));
