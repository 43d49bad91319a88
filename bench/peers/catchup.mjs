// Scenario C in Node, broken down: a subscriber on the SDK holds 100 events, its link is cut,
// 10,000 more are appended, and its reconnect (held until then) starts. Prints ms from that start
// to each step (link open, first and last replayed event delivered to the app, the session live
// again) and this process's and the relay's CPU over that time, medians of N runs. Layer: bench. The relay is the peers adapter's (memory store).
// CATCHUP_PROF=DIR writes a CPU profile of each catch-up (reconnect to last event) there.
//   node bench/peers/catchup.mjs [gap=10000] [runs=5]   (HOLDFAST_SDK_DIR picks another SDK build)
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Session as Inspector } from 'node:inspector/promises';

import adapter from './holdfast.mjs';

const gap = Number(process.argv[2] ?? 10000);
const runs = Number(process.argv[3] ?? 5);
const mono = () => Number(process.hrtime.bigint()) / 1e6;
// utime + stime of a process in seconds (clock ticks of 10 ms: coarse, hence medians of runs).
const cpuOf = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const sdkDir = path.resolve(process.env.HOLDFAST_SDK_DIR || new URL('../../build/sdk', import.meta.url).pathname);
const { Holdfast, WebSocketTransport } = await import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
const { WebSocket } = await import('ws');
const wasmBinary = fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm'));

const server = await adapter.startServer({});
const results = [];
for (let run = 0; run < runs; run++) {
  const session = `catchup-${Date.now()}-${run}`;
  const pub = await adapter.createPublisher(server.info, session);
  // While held, links the SDK opens are parked (created, not connected) until the gap is appended,
  // as the harness's page does: the catch-up then starts at a known moment, after all 10,000.
  let held = false;
  let live = null;
  const parked = [];
  const marks = {};
  class ParkedLink {
    constructor(url, impl) { this.url = url; this.impl = impl; this.inner = null; this.onOpen = this.onFrame = this.onClose = null; }
    start() {
      const t = new WebSocketTransport(this.url, this.impl);
      t.onOpen = () => { marks.open ??= mono(); this.onOpen?.(); };
      t.onFrame = (frame) => this.onFrame?.(frame);
      t.onClose = () => this.onClose?.();
      this.inner = t;
    }
    send(frame) { this.inner?.send(frame); }
    close() { if (this.inner) this.inner.close(); else this.onClose?.(); }
  }
  const hf = await Holdfast.connect({
    url: server.info.ws, WebSocket, storage: 'memory', wasmBinary,
    transport: (url, impl) => {
      if (held) {
        const link = new ParkedLink(url, impl);
        parked.push(link);
        return link;
      }
      live = new WebSocketTransport(url, impl);
      return live;
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
  while (parked.length === 0) await new Promise((r) => setTimeout(r, 5));  // the SDK's retry is due
  const inspector = process.env.CATCHUP_PROF ? new Inspector() : null;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 50 });
    await inspector.post('Profiler.start');
  }
  const cpu0 = process.cpuUsage();
  const relayCpu0 = cpuOf(server.pid);
  const t0 = mono();
  parked[0].start();
  await all;
  const cpu = process.cpuUsage(cpu0);
  const relayCpuMs = (cpuOf(server.pid) - relayCpu0) * 1000;
  if (inspector) {
    const { profile } = await inspector.post('Profiler.stop');
    fs.mkdirSync(process.env.CATCHUP_PROF, { recursive: true });
    fs.writeFileSync(path.join(process.env.CATCHUP_PROF, `catchup-${run}.cpuprofile`), JSON.stringify(profile));
    inspector.disconnect();
  }
  results.push({
    open: marks.open - t0, live: (marks.live ?? NaN) - t0, first: marks.first - t0, last: marks.last - t0,
    cpuMs: (cpu.user + cpu.system) / 1000, relayCpuMs,
  });
  hf.close();
  await pub.close();
}
await server.stop();
const pick = (k) => +median(results.map((r) => r[k])).toFixed(1);
console.log(JSON.stringify({ gap, runs, medianMs: { linkOpen: pick('open'), firstEvent: pick('first'), lastEvent: pick('last'),
  live: pick('live') }, subscriberCpuMs: pick('cpuMs'), relayCpuMs: pick('relayCpuMs') }));
