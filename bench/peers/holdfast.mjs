// Holdfast's adapter for the shared peer benchmark (../shared/peers, contract in its
// adapters/README.md). Layer: bench. It uses the product as a user would:
//   server      a fresh `bin/holdfast-relay --store memory:` per scenario, on a free loopback port,
//               serving this folder's page/ as its static dir and build/sdk at /sdk/
//   publisher   an agent on the WebSocket agent API: the SDK in Node (`ws` + the .wasm bytes),
//               `session.publish('bench', ev)` pipelined (never awaited one by one);
//               barrier() = every publish made before it is acknowledged by the relay
//   page        /sdk/holdfast.js from the relay's origin, storage 'memory'; cut/resume through the
//               SDK's `transport` option (a wrapper around its WebSocketTransport whose link the
//               harness can drop and whose reconnect it holds until resume())
//   subscribers (scenario D) the SDK in Node, one client per subscriber, all in one process
// The bench event {seq, t, tok} travels as the event payload; only kind 'bench' is handed on.
// Env: HOLDFAST_RELAY_BIN (default <repo>/bin/holdfast-relay), HOLDFAST_SDK_DIR (default
// <repo>/build/sdk), HOLDFAST_RELAY_ARGS (extra relay flags, space-separated).
// Imported by the bench, publisher and fan-out processes: no side effects at the top level.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { freePort } from '../browser/support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const relayBin = () => process.env.HOLDFAST_RELAY_BIN || path.join(root, 'bin/holdfast-relay');
const sdkDir = () => path.resolve(process.env.HOLDFAST_SDK_DIR || path.join(root, 'build/sdk'));
const staticDir = path.join(here, 'page');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function healthy(base) {
  try { return (await fetch(base + '/healthz')).ok; } catch { return false; }
}

// The SDK in Node: loaded once per process; every client shares the one WASM instance.
let sdkPromise = null;
function loadSdk() {
  sdkPromise ??= (async () => {
    const dir = sdkDir();
    const [{ Holdfast }, { WebSocket }] = await Promise.all([
      import(pathToFileURL(path.join(dir, 'holdfast.js')).href),
      import('ws'),
    ]);
    return { Holdfast, WebSocket, wasmBinary: fs.readFileSync(path.join(dir, 'holdfast_core.wasm')) };
  })();
  return sdkPromise;
}

async function connect(info, extra = {}) {
  const { Holdfast, WebSocket, wasmBinary } = await loadSdk();
  const hf = await Holdfast.connect({ url: info.ws, WebSocket, wasmBinary, storage: 'memory', ...extra });
  hf.on('error', (e) => console.error(`holdfast ${extra.agent || 'client'} error ${e.name}: ${e.message}`));
  return hf;
}

/** Resolves once the session is caught up with the relay's head ('live'); rejects after ms. */
function live(session, ms, what) {
  if (session.state === 'live') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { off(); reject(new Error(`${what}: session ${session.id} not live after ${ms} ms (state ${session.state})`)); }, ms);
    const off = session.on('state', (st) => { if (st === 'live') { clearTimeout(t); off(); resolve(); } });
  });
}

export default {
  name: 'holdfast',
  label: 'Holdfast 0.1 (relay, WASM SDK)',
  untested: false,
  vendor: {},

  async startServer({ log } = {}) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const out = log ? fs.openSync(log, 'a') : 'ignore';
    const extra = (process.env.HOLDFAST_RELAY_ARGS || '').split(' ').filter(Boolean);
    // bin/holdfast-relay execs the binary, so this pid is the relay's own (sampled for RSS/CPU).
    const child = spawn(relayBin(), ['--listen', `127.0.0.1:${port}`, '--store', 'memory:',
      '--static-dir', staticDir, '--sdk-dir', sdkDir(), ...extra], { stdio: ['ignore', out, out] });
    if (typeof out === 'number') fs.closeSync(out);
    let exited = null;
    const gone = new Promise((r) => child.once('exit', (code, sig) => { exited = { code, sig }; r(); }));
    child.once('error', (e) => { exited = { error: String(e) }; });
    for (let i = 0; i < 150 && !exited && !(await healthy(base)); i++) await sleep(100);
    const stop = async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const k = setTimeout(() => { try { child.kill('SIGKILL'); } catch {} }, 3000);
      await gone; clearTimeout(k);
    };
    if (exited || !(await healthy(base))) {
      await stop();
      throw new Error(`holdfast-relay did not become healthy at ${base} (${relayBin()}, exit ${JSON.stringify(exited)})`);
    }
    return { pid: child.pid, info: { base, ws: `ws://127.0.0.1:${port}/v1/ws`, port }, stop };
  },

  async prepareSession() {}, // a session comes into being when first attached or written

  // An agent on the WebSocket API. It follows the session as an agent does (it would read prompts
  // there), so the relay also fans every bench event back to it.
  async createPublisher(info, session) {
    const hf = await connect(info, { agent: 'bench-publisher' });
    const s = hf.session(session);
    await live(s, 15000, 'publisher');
    let last = Promise.resolve();
    let failures = 0;
    const report = (e) => { if (failures++ < 10) console.error(`holdfast publish failed: ${e.name}: ${e.message}`); };
    return {
      append(ev) {
        last = s.publish('bench', ev);
        last.catch(report);
      },
      // A producer's publishes are acknowledged in order (docs/protocol.md, Producers): the latest
      // one's ack covers every earlier publish, as the Durable Streams adapter's latest append does.
      barrier() {
        return last.then(() => undefined, () => undefined);
      },
      async close() {
        await last.catch(() => {});
        hf.close();
      },
    };
  },

  async createSubscriber(info, session, onEvent) {
    const hf = await connect(info);
    const s = hf.session(session);
    s.on('event', (ev) => { if (ev.kind === 'bench') onEvent(ev.payload); });
    await live(s, 30000, 'subscriber');
    return { close() { hf.close(); } };
  },

  browser: {
    // The relay's own origin: /sdk/holdfast.js and its .wasm load from there, as in an app.
    pageUrl: (cfg) => cfg.info.base + '/blank.html',
    // Runs in the page (serialized with toString()): nothing from this module's scope.
    subscribe: async function (cfg, onEvent) {
      const { Holdfast, WebSocketTransport } = await import('/sdk/holdfast.js');
      // A Transport around the SDK's WebSocketTransport. cut() closes the open link (the SDK sees
      // its link end, keeps its position and schedules a reconnect); links the SDK opens while
      // `held` are parked, not started, until resume() starts them.
      let held = false;
      const open = new Set();
      const parked = [];
      class BenchLink {
        constructor(url, impl) {
          this.url = url; this.impl = impl; this.inner = null; this.done = false;
          this.onOpen = null; this.onFrame = null; this.onClose = null;
          if (held) parked.push(this); else this.start();
        }
        start() {
          if (this.done) return;
          const t = new WebSocketTransport(this.url, this.impl);
          t.onOpen = () => this.onOpen?.();
          t.onFrame = (f) => this.onFrame?.(f);
          t.onClose = () => { open.delete(this); this.done = true; this.onClose?.(); };
          this.inner = t;
          open.add(this);
        }
        send(frame) { this.inner?.send(frame); }
        close() {
          if (this.inner) { this.inner.close(); return; }
          if (!this.done) { this.done = true; this.onClose?.(); }
        }
      }
      const hf = await Holdfast.connect({ url: cfg.info.ws, storage: 'memory', transport: (url, impl) => new BenchLink(url, impl) });
      const s = hf.session(cfg.session);
      let resets = 0;
      s.on('reset', () => { resets++; });
      s.on('event', (ev) => { if (ev.kind === 'bench') onEvent(ev.payload); });
      const whenLive = (ms) => new Promise((resolve, reject) => {
        const check = () => s.state === 'live' && hf.connected;
        if (check()) return resolve();
        const t = setTimeout(() => { off(); reject(new Error(`not live after ${ms} ms (state ${s.state})`)); }, ms);
        const off = s.on('state', () => { if (check()) { clearTimeout(t); off(); resolve(); } });
      });
      await whenLive(15000);
      let cutAt = null;
      return {
        async cut() {
          held = true;
          cutAt = { lastSerial: s.lastSerial, epoch: s.epoch };
          for (const link of [...open]) link.inner.close();
          return { ...cutAt, state: s.state, links: open.size };
        },
        async resume() {
          const before = { lastSerial: s.lastSerial, epoch: s.epoch, resets };
          held = false;
          const waiting = parked.splice(0);
          for (const link of waiting) link.start();
          // No reconnect parked yet (the SDK's retry timer is still running): the network is back.
          if (!waiting.length) window.dispatchEvent(new Event('online'));
          await whenLive(30000);
          const recovered = resets === before.resets && s.epoch === before.epoch && s.lastSerial >= before.lastSerial;
          return { recovered, parkedLinks: waiting.length, lastSerialAtCut: cutAt?.lastSerial, lastSerialAtResume: before.lastSerial,
            lastSerialLive: s.lastSerial, resets: resets - before.resets };
        },
        close() { hf.close(); },
      };
    },
  },
};
