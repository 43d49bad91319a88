// Relay idle cost: N WebSocket clients on loopback, each past hello and attached to a session
// (100 sessions), then idle; reports the relay's RSS growth per connection (VmRSS from /proc, the
// relay started by this script on a memory store) and the time to attach them all. Bounded: at
// most N connections, at most 120 s. Layer: bench.
// Usage: node bench/net/idle-connections.mjs [N=10000]   (after scripts/build.sh native)
// Raises nothing itself: run with `ulimit -n` ≥ N + 100 (npm run bench:idle does, via bash).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

import { encode } from '../../tests/wasm/msgpack.mjs';
import { freePort } from '../browser/support.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const relayBinary = process.env.HOLDFAST_RELAY_BINARY ?? path.join(root, 'build/native/server/holdfast-relay');
if (!fs.existsSync(relayBinary)) { console.error(`missing ${relayBinary}: run bash scripts/build.sh native`); process.exit(2); }
const count = Number(process.argv[2] ?? 10000);
const deadline = Date.now() + 120_000;

const port = await freePort();
const extra = (process.env.HOLDFAST_RELAY_ARGS ?? '').split(' ').filter(Boolean);
const relay = spawn(relayBinary, ['--listen', `127.0.0.1:${port}`, '--store', 'memory:', ...extra], { stdio: 'ignore' });
for (let i = 0; i < 100; ++i) {
  try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break; } catch { /* starting */ }
  await new Promise((r) => setTimeout(r, 50));
}
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${relay.pid}/status`, 'utf8'))[1]);

/** One client: hello, then attach; resolves when the relay's `attached` (or an event batch) came. */
function attachOne(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    let frames = 0;
    ws.on('open', () => {
      ws.send(encode({ type: 'hello', version: 1, token: '', client_id: `idle-${i}`, agent: '' }));
      ws.send(encode({ type: 'attach', session: `idle-${i % 100}`, from_serial: 0, epoch: 0 }));
    });
    ws.on('message', () => { if (++frames === 2) resolve(ws); });  // welcome, attached
    ws.on('error', reject);
  });
}

const before = rssKiB();
const sockets = [];
const started = performance.now();
const batch = 200;
for (let i = 0; i < count && Date.now() < deadline; i += batch) {
  const wave = [];
  for (let k = i; k < Math.min(count, i + batch); ++k) wave.push(attachOne(k));
  sockets.push(...await Promise.all(wave));
}
const attachMs = performance.now() - started;
await new Promise((r) => setTimeout(r, 1000));  // let the relay settle its buffers
const after = rssKiB();
const perConnection = ((after - before) / sockets.length).toFixed(2);
console.log(`idle connections: ${sockets.length} attached in ${attachMs.toFixed(0)} ms; relay RSS ${(before / 1024).toFixed(1)} MiB -> ` +
  `${(after / 1024).toFixed(1)} MiB = ${perConnection} KiB per connection (target <= 16 KiB)`);
for (const ws of sockets) ws.terminate();
relay.kill('SIGTERM');
setTimeout(() => process.exit(0), 300).unref();
