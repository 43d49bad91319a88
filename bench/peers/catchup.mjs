// Scenario C in Node, broken down: a subscriber on the SDK holds 100 events, its link is cut,
// 10,000 more are appended, and it reconnects. Prints ms from the new link's creation to each step
// (link open, first and last replayed event delivered to the app, the session live again) and the
// subscriber process's CPU from the cut's end to the last event, medians of N runs. Layer: bench. The relay is the peers adapter's (memory store).
//   node bench/peers/catchup.mjs [gap=10000] [runs=5]
import adapter from './holdfast.mjs';

const gap = Number(process.argv[2] ?? 10000);
const runs = Number(process.argv[3] ?? 5);
const mono = () => Number(process.hrtime.bigint()) / 1e6;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const server = await adapter.startServer({});
const results = [];
for (let run = 0; run < runs; run++) {
  const session = `catchup-${Date.now()}-${run}`;
  const pub = await adapter.createPublisher(server.info, session);
  const { Holdfast, WebSocketTransport } = await import(new URL('../../build/sdk/holdfast.js', import.meta.url).href);
  const { WebSocket } = await import('ws');
  let held = false;
  let live = null;
  const marks = {};
  const hf = await Holdfast.connect({
    url: server.info.ws, WebSocket, storage: 'memory',
    wasmBinary: (await import('node:fs')).readFileSync(new URL('../../build/sdk/holdfast_core.wasm', import.meta.url)),
    transport: (url, impl) => {
      const t = new WebSocketTransport(url, impl);
      if (held) marks.linkCreated ??= mono();
      const onOpen = () => { if (held) marks.open ??= mono(); };
      queueMicrotask(() => { const inner = t.onOpen; t.onOpen = () => { onOpen(); inner?.(); }; });
      live = t;
      return t;
    },
  });
  const s = hf.session(session);
  let count = 0;
  let done;
  const all = new Promise((r) => { done = r; });
  s.on('event', (ev) => {
    if (ev.kind !== 'bench') return;
    count++;
    if (held && count === 101) marks.first = mono();
    if (count === 100 + gap) { marks.last = mono(); done(); }
  });
  s.on('state', (st) => { if (held && st === 'live') marks.live ??= mono(); });
  await new Promise((r) => { const off = s.on('state', (st) => { if (st === 'live') { off(); r(); } }); if (s.state === 'live') r(); });
  for (let i = 0; i < 100; i++) pub.append({ seq: i, t: mono(), tok: 'x' });
  await pub.barrier();
  while (count < 100) await new Promise((r) => setTimeout(r, 5));
  held = true;
  live.close();
  for (let i = 100; i < 100 + gap; i++) pub.append({ seq: i, t: mono(), tok: 'x' });
  await pub.barrier();
  await new Promise((r) => setTimeout(r, 50));
  // In Node there is no 'online' signal: the SDK reconnects when its retry delay is over, so the
  // clock starts when it creates the new link (the harness's page starts it at resume()).
  const cpu0 = process.cpuUsage();
  await all;
  const cpu = process.cpuUsage(cpu0);
  const t0 = marks.linkCreated;
  results.push({
    open: marks.open - t0, live: (marks.live ?? NaN) - t0, first: marks.first - t0, last: marks.last - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
  hf.close();
  await pub.close();
}
await server.stop();
const pick = (k) => +median(results.map((r) => r[k])).toFixed(1);
console.log(JSON.stringify({ gap, runs, medianMs: { linkOpen: pick('open'), firstEvent: pick('first'), lastEvent: pick('last'),
  live: pick('live') }, subscriberCpuMs: pick('cpuMs') }));
