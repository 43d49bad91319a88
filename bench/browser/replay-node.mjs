#!/usr/bin/env node
// The main-thread benchmark's batch in Node, for profiling: the relay's replay of N message.delta
// events to a fresh SDK client is recorded (real frames, as sent), then applied REPS times through
// the SDK (memory storage) and through the pure-JS pipeline (replay-pipelines.mjs); prints the
// medians. PROF=FILE writes a CPU profile of the SDK's runs (node:inspector, 50 µs sampling; read
// it with an SDK built by build/wasm-prof for function names). Layer: benchmark. Timing only here.
//   node bench/browser/replay-node.mjs      Env: N (10000), REPS (200), PROF, HOLDFAST_SDK_DIR
// Node's V8 is older than Chromium's and runs this wasm ~1.5x slower: compare builds with it,
// not with the page's figures (npm run bench:main-thread).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Session as Inspector } from 'node:inspector/promises';

import { Unpackr } from 'msgpackr';

import adapter from '../peers/holdfast.mjs';
import { JsSession, replayThroughSdk } from './replay-pipelines.mjs';

const sdkDir = path.resolve(process.env.HOLDFAST_SDK_DIR || new URL('../../build/sdk', import.meta.url).pathname);
const { Holdfast } = await import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
const { WebSocket } = await import('ws');
const wasmBinary = fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm'));
const count = Number(process.env.N || 10000);
const reps = Number(process.env.REPS || 200);

const server = await adapter.startServer({});
const session = `replay-node-${Date.now()}`;
const agent = await Holdfast.connect({ url: server.info.ws, WebSocket, wasmBinary, storage: 'memory' });
// The tokens bench:main-thread streams.
const token = (i) => [' the', ' stream', ' of', ' tok', 'ens', ',', ' and', ' so', ' on'][i % 9] + (i % 97 === 0 ? '\n' : '');
const writer = agent.session(session).startMessage();
const writes = [];
for (let i = 0; i < count; i++) writes.push(writer.write(token(i)));
writes.push(writer.end());
await Promise.all(writes);

// Record what the relay sends a new subscriber: the prelude, then the replay's messages.
const received = [];
class Recorder extends WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (e) => received.push(new Uint8Array(e.data)));
  }
}
const subscriber = await Holdfast.connect({ url: server.info.ws, WebSocket: Recorder, wasmBinary, storage: 'memory' });
const followed = subscriber.session(session);
let seen = 0;
followed.on('event', () => { seen += 1; });
while (!(followed.state === 'live' && seen >= count + 2)) await new Promise((resolve) => setTimeout(resolve, 5));
subscriber.close();
agent.close();

const unpackr = new Unpackr({ int64AsType: 'number', mapsAsObjects: true, useRecords: false });
const unpack = (bytes) => unpackr.unpack(bytes);
const prelude = [];
const eventFrames = [];
for (const bytes of received) {
  const decoded = unpack(bytes);
  const frames = Array.isArray(decoded) ? decoded : [decoded];
  if (frames.some((f) => f.type === 'packed' || f.type === 'events')) eventFrames.push(bytes);
  else if (!eventFrames.length) prelude.push(bytes);
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const sdkOnce = () => replayThroughSdk({ Holdfast, connectOptions: { url: 'ws://replay.invalid/v1/ws', storage: 'memory', wasmBinary },
  session, prelude, eventFrames, now: () => performance.now() });
const jsOnce = () => {
  const js = new JsSession(unpack);
  js.onEvent = () => {};
  js.onMessage = () => {};
  const t0 = performance.now();
  for (const bytes of eventFrames) js.apply(bytes);
  return performance.now() - t0;
};
for (let i = 0; i < 20; i++) { await sdkOnce(); jsOnce(); }  // warm-up: both optimized

const inspector = new Inspector();
if (process.env.PROF) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 50 });
  await inspector.post('Profiler.start');
}
const sdkMs = [];
for (let i = 0; i < reps; i++) {
  const run = await sdkOnce();
  if (run.events !== count + 2) throw new Error(`the SDK delivered ${run.events} events, not ${count + 2}`);
  sdkMs.push(run.ms);
}
if (process.env.PROF) {
  const { profile } = await inspector.post('Profiler.stop');
  fs.writeFileSync(process.env.PROF, JSON.stringify(profile));
}
const jsMs = [];
for (let i = 0; i < reps; i++) jsMs.push(jsOnce());
console.log(JSON.stringify({ events: count + 2, frames: eventFrames.length, bytes: eventFrames.reduce((sum, b) => sum + b.length, 0),
  sdkMs: +median(sdkMs).toFixed(2), pureJsMs: +median(jsMs).toFixed(2), sdkVsPureJs: +(median(jsMs) / median(sdkMs)).toFixed(2) }));
await server.stop();
process.exit(0);
