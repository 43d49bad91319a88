// Cancel latency on loopback: from a user's s.cancel() to the agent's message.end {cancelled}
// reaching that user, and to the cancel's outcome ('applied') settling. A relay (memory store), an
// agent on the SDK in Node and a user that is either another SDK client in Node or (--page) a
// Chromium page loading /sdk/holdfast.js from the relay, timed inside the page. Prints p50/p99.
// Usage: node bench/control/cancel-latency.mjs [runs=200] [--page]   (after scripts/build.sh)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { freePort } from '../browser/support.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sdkDir = path.join(root, 'build/sdk');
const relayBinary = path.join(root, 'build/native/server/holdfast-relay');
for (const needed of [path.join(sdkDir, 'holdfast.js'), relayBinary]) {
  if (!fs.existsSync(needed)) { console.error(`missing ${needed}: run bash scripts/build.sh`); process.exit(2); }
}
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const inPage = process.argv.includes('--page');
const runs = Number(positional[0] ?? 200);
const staticDir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'holdfast-cancel-bench-'));
fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>cancel bench</title>');
const port = await freePort();
const relay = spawn(relayBinary, ['--listen', `127.0.0.1:${port}`, '--store', 'memory:', '--static-dir', staticDir, '--sdk-dir', sdkDir], { stdio: 'ignore' });
for (let i = 0; i < 100; ++i) {
  try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break; } catch { /* starting */ }
  await new Promise((r) => setTimeout(r, 50));
}

const { Holdfast } = await import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
const wasmBinary = fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm'));
const connect = (agent) => Holdfast.connect({ url: `ws://127.0.0.1:${port}/v1/ws`, storage: 'memory', agent, WebSocket, wasmBinary });
const agent = await connect('bench-agent');
const as = agent.session('cancel-bench');
const until = (check) => new Promise((resolve) => { const t = setInterval(() => { if (check()) { clearInterval(t); resolve(); } }, 0); });

/** The user side: open the session, and per run time one cancel of a streaming message. */
let user;
let browser;
let timeCancel;
if (inPage) {
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.evaluate(async (url) => {
    const { Holdfast } = await import('/sdk/holdfast.js');
    window.hf = await Holdfast.connect({ url, storage: 'memory' });
    window.us = window.hf.session('cancel-bench');
    await new Promise((resolve) => { const t = setInterval(() => { if (window.us.state === 'live') { clearInterval(t); resolve(); } }, 0); });
  }, `ws://127.0.0.1:${port}/v1/ws`);
  timeCancel = (id) => page.evaluate(async (id) => {
    const us = window.us;
    await new Promise((resolve) => { const t = setInterval(() => { if (us.messages().some((m) => m.id === id && m.text)) { clearInterval(t); resolve(); } }, 0); });
    const ended = new Promise((resolve) => {
      const off = us.on('message', (m) => { if (m.id === id && m.status === 'cancelled') { off(); resolve(performance.now()); } });
    });
    const start = performance.now();
    const outcome = us.cancel(id).then((o) => { if (o !== 'applied') throw new Error(`outcome ${o}`); return performance.now(); });
    return [(await ended) - start, (await outcome) - start];
  }, id);
} else {
  user = await connect('');
  const us = user.session('cancel-bench');
  await until(() => us.state === 'live');
  timeCancel = async (id) => {
    await until(() => us.messages().some((m) => m.id === id && m.text));
    const ended = new Promise((resolve) => {
      const off = us.on('message', (m) => { if (m.id === id && m.status === 'cancelled') { off(); resolve(performance.now()); } });
    });
    const start = performance.now();
    const outcome = us.cancel(id).then((o) => { if (o !== 'applied') throw new Error(`outcome ${o}`); return performance.now(); });
    return [(await ended) - start, (await outcome) - start];
  };
}
await until(() => as.state === 'live');

const toEnd = [];
const toOutcome = [];
for (let i = 0; i < runs; ++i) {
  const id = `m${i}`;
  const writer = as.startMessage({ msgId: id });
  await writer.write('streaming ');
  const [end, outcome] = await timeCancel(id);
  toEnd.push(end);
  toOutcome.push(outcome);
}
const quantile = (values, q) => { const s = [...values].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const fmt = (v) => v.toFixed(2);
console.log(`cancel latency over ${runs} cancels, user in ${inPage ? 'a Chromium page' : 'Node'} (ms): to message.end{cancelled} seen by the user p50 ${fmt(quantile(toEnd, 0.5))} p99 ${fmt(quantile(toEnd, 0.99))}; ` +
  `to outcome 'applied' p50 ${fmt(quantile(toOutcome, 0.5))} p99 ${fmt(quantile(toOutcome, 0.99))}`);
user?.close();
await browser?.close();
agent.close();
fs.rmSync(staticDir, { recursive: true, force: true });
relay.kill('SIGTERM');
setTimeout(() => process.exit(0), 300).unref();
