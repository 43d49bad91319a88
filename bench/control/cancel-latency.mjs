// Cancel latency on loopback: from a user's s.cancel() to the agent's message.end {cancelled}
// reaching that user, and to the cancel's outcome ('applied') settling. A relay (memory store) and
// two SDK clients in Node (user, agent) on the real protocol. Prints medians and p99 of N runs.
// Usage: node bench/control/cancel-latency.mjs [runs=200]   (after scripts/build.sh)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sdkDir = path.join(root, 'build/sdk');
const relayBinary = path.join(root, 'build/native/server/holdfast-relay');
for (const needed of [path.join(sdkDir, 'holdfast.js'), relayBinary]) {
  if (!fs.existsSync(needed)) { console.error(`missing ${needed}: run bash scripts/build.sh`); process.exit(2); }
}
const runs = Number(process.argv[2] ?? 200);
const freePort = () => new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
const port = await freePort();
const relay = spawn(relayBinary, ['--listen', `127.0.0.1:${port}`, '--store', 'memory:'], { stdio: 'ignore' });
for (let i = 0; i < 100; ++i) {
  try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break; } catch { /* starting */ }
  await new Promise((r) => setTimeout(r, 50));
}

const { Holdfast } = await import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
const wasmBinary = fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm'));
const connect = (agent) => Holdfast.connect({ url: `ws://127.0.0.1:${port}/v1/ws`, storage: 'memory', agent, WebSocket, wasmBinary });
const user = await connect('');
const agent = await connect('bench-agent');
const us = user.session('cancel-bench');
const as = agent.session('cancel-bench');
const until = (check) => new Promise((resolve) => { const t = setInterval(() => { if (check()) { clearInterval(t); resolve(); } }, 0); });
await until(() => us.state === 'live' && as.state === 'live');

const toEnd = [];
const toOutcome = [];
for (let i = 0; i < runs; ++i) {
  const id = `m${i}`;
  const writer = as.startMessage({ msgId: id });
  await writer.write('streaming ');
  await until(() => us.messages().some((m) => m.id === id && m.text));
  const ended = new Promise((resolve) => {
    const off = us.on('message', (m) => { if (m.id === id && m.status === 'cancelled') { off(); resolve(performance.now()); } });
  });
  const start = performance.now();
  const outcome = us.cancel(id).then((o) => { if (o !== 'applied') throw new Error(`outcome ${o}`); return performance.now(); });
  toEnd.push((await ended) - start);
  toOutcome.push((await outcome) - start);
}
const quantile = (values, q) => { const s = [...values].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const fmt = (v) => v.toFixed(2);
console.log(`cancel latency over ${runs} cancels (ms): to message.end{cancelled} seen by the user p50 ${fmt(quantile(toEnd, 0.5))} p99 ${fmt(quantile(toEnd, 0.99))}; ` +
  `to outcome 'applied' p50 ${fmt(quantile(toOutcome, 0.5))} p99 ${fmt(quantile(toOutcome, 0.99))}`);
user.close();
agent.close();
relay.kill('SIGTERM');
setTimeout(() => process.exit(0), 300).unref();
