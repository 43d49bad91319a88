#!/usr/bin/env node
// Main-thread cost of the SDK in Chromium (issue 10): per event at 150 ev/s, and the apply rate on
// a batch against a pure-JS pipeline (msgpackr decode + JS assembly) on the same events. Timing
// lives here, never in pass/fail tests. Layer: benchmark.
//
// A relay (memory store) and an agent on the SDK in Node stream message.delta events; the page
// (main-thread.html, served cross-origin isolated by this script so performance.now() is precise
// to 5 µs) runs main-thread-page.mjs in Debian's Chromium through playwright-core:
//   live   the agent writes one message at 150 ev/s (1 s warm-up, then --seconds); the page times
//          each WebSocket message from its handler's start to the session's 'message' listener
//          (decode + boundary + assembly + persist enqueue; IndexedDB storage and shared tabs,
//          the browser defaults, unless --live-storage/--live-tabs say otherwise) and to the end
//          of that drain. p50/p99/max, and the share of each core call, JSON.parse and the
//          leader's BroadcastChannel posts (--bare: without those timers, whose own cost is
//          a few µs per message). --stored-sessions N: the page first follows N other sessions
//          of 100 events, so its storage holds them, as a user's earlier conversations.
//   batch  the agent writes --batch deltas into another session; the page records the relay's
//          replay of it to a new client (real frames, bytes as sent), then applies those frames
//          --reps times through a fresh SDK client (memory and IndexedDB storage) and through the
//          pure-JS pipeline; median events/s of each and the ratio SDK / JS.
// Builds nothing: needs build/sdk and the relay (bash scripts/build.sh). Usage:
//   npm run bench:main-thread [-- --seconds 10 --rate 150 --batch 10000 --reps 7 --stored-sessions 0 --json out.json]
// Env: HOLDFAST_SDK_DIR, HOLDFAST_RELAY_BINARY (see support.mjs); MAIN_PROF=DIR writes a CDP CPU
// profile of the live run and of each instrumented batch run there (read it with an SDK built by
// build/wasm-prof for function names); MAIN_TRACE=FILE keeps the Chrome trace of the live run
// (with the v8 categories added).
//
// The live run is traced (toplevel, mojom, devtools.timeline): per WebSocket message, the
// trace gives the wall time and the main thread's CPU time of the task that delivered it (from
// Blink's receipt to the end of its microtasks). On 2 cores shared with the relay and the agent,
// the wall time includes the thread's preemption; the CPU time is the SDK's cost.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { chromiumArgs, chromiumPath, relayBinary, root, sdkDir, startRelay, stopRelay, loadBenchTools } from './support.mjs';

const benchDir = path.join(root, 'bench/browser');
const msgpackrDir = path.join(root, 'node_modules/msgpackr');

function fail(message) {
  console.error(`bench:main-thread: ${message}`);
  process.exit(1);
}

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '150' },
    batch: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '7' },
    'live-storage': { type: 'string', default: 'indexeddb' },
    'live-tabs': { type: 'string', default: 'shared' },
    'stored-sessions': { type: 'string', default: '0' },
    bare: { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('usage: main-thread-bench.mjs [--seconds 10] [--rate 150] [--batch 10000] [--reps 7] [--live-storage indexeddb|memory] [--live-tabs shared|isolated] [--stored-sessions 0] [--bare] [--json file]');
  process.exit(0);
}
const rate = Number(flags.rate);
const liveCount = Math.round(Number(flags.seconds) * rate);
const warmCount = rate;
const batchCount = Number(flags.batch);
const reps = Number(flags.reps);
const liveStorage = flags['live-storage'];
if (!['indexeddb', 'memory'].includes(liveStorage)) fail('--live-storage is indexeddb or memory');
const liveTabs = flags['live-tabs'];
if (!['shared', 'isolated'].includes(liveTabs)) fail('--live-tabs is shared (the browser default: a leader posts to the other tabs) or isolated');
for (const [name, v] of [['rate', rate], ['seconds', liveCount], ['batch', batchCount], ['reps', reps]]) {
  if (!Number.isFinite(v) || v <= 0) fail(`--${name} must be a positive number`);
}

if (!fs.existsSync(path.join(msgpackrDir, 'unpack.js'))) fail('msgpackr is not installed (npm ci): it is the pure-JS baseline');
const { chromium, WebSocket, Holdfast, wasmBinary } = await loadBenchTools(fail);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1), mean: sorted.reduce((s, v) => s + v, 0) / sorted.length };
}
const median = (values) => summary(values).p50;
const us = (ms) => (ms * 1000).toFixed(1);

const contentTypes = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/**
 * The page's origin: /bench/ (this folder), /sdk/ (build/sdk), /vendor/msgpackr/. Cross-origin
 * isolated (COOP same-origin + COEP require-corp; everything is same-origin), which is what lifts
 * performance.now()'s coarsening from 100 µs to 5 µs. The WebSocket goes to the relay's port.
 */
function startStaticServer() {
  const routes = [['/sdk/', sdkDir], ['/bench/', benchDir], ['/vendor/msgpackr/', msgpackrDir]];
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url, 'http://x').pathname;
    const route = routes.find(([prefix]) => pathname.startsWith(prefix));
    const file = route && path.resolve(route[1], pathname.slice(route[0].length));
    if (!file || !file.startsWith(path.resolve(route[1])) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'content-type': contentTypes[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    fs.createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((done) => server.close(done)) });
  }));
}

/** An agent on the SDK in Node, as a product's agent would be. */
async function connectAgent(wsUrl) {
  const hf = await Holdfast.connect({ url: wsUrl, WebSocket, wasmBinary, storage: 'memory', agent: 'bench-agent' });
  hf.on('error', (error) => log(`agent error ${error.name}: ${error.message}`));
  return hf;
}

async function live(session, ms) {
  if (session.state === 'live') return;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent: ${session.id} not live after ${ms} ms`)), ms);
    const off = session.on('state', (state) => { if (state === 'live') { clearTimeout(timer); off(); resolve(); } });
  });
}

/** A token of the kind an LLM streams (~5 characters). */
const token = (i) => [' the', ' stream', ' of', ' tok', 'ens', ',', ' and', ' so', ' on'][i % 9] + (i % 97 === 0 ? '\n' : '');

/** Writes `count` deltas at `perSecond`, paced against the clock (not setTimeout's drift). */
async function writePaced(writer, count, perSecond, seqBase) {
  const pending = [];
  const t0 = performance.now();
  for (let i = 0; i < count; ++i) {
    const due = t0 + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(writer.write(token(seqBase + i)));
  }
  await Promise.all(pending);
  return (count / (performance.now() - t0)) * 1000;
}

/**
 * The tasks of a Chrome trace that delivered a WebSocket message to the page: Blink's "Receive
 * mojo message" on the renderer's main thread holding a WebSocketReceive instant. Wall and
 * thread (CPU) time of each, in ms.
 */
function messageTasks(trace) {
  const events = trace.traceEvents ?? trace;
  const receives = events.filter((e) => e.name === 'WebSocketReceive');
  const threadOf = (e) => `${e.pid}:${e.tid}`;
  const perThread = new Map();
  for (const e of receives) perThread.set(threadOf(e), (perThread.get(threadOf(e)) ?? 0) + 1);
  const main = [...perThread].sort((a, b) => b[1] - a[1])[0]?.[0];
  const tasks = events.filter((e) => threadOf(e) === main && e.ph === 'X' && e.name === 'Receive mojo message' && e.tdur !== undefined)
    .sort((a, b) => a.ts - b.ts);
  const marks = receives.filter((e) => threadOf(e) === main).map((e) => e.ts).sort((a, b) => a - b);
  const out = [];
  let m = 0;
  for (const task of tasks) {
    while (m < marks.length && marks[m] < task.ts) ++m;
    if (m < marks.length && marks[m] <= task.ts + task.dur) out.push({ wallMs: task.dur / 1000, cpuMs: task.tdur / 1000 });
  }
  // Every task of that thread, whatever it ran (the storage's syncs, timers, GC): its whole CPU.
  let threadCpuUs = 0;
  for (const e of events) {
    if (threadOf(e) === main && e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && e.tdur !== undefined) threadCpuUs += e.tdur;
  }
  out.threadCpuMs = threadCpuUs / 1000;
  return out;
}

/** A CDP CPU profile of the page from now until stop(name) (MAIN_PROF=DIR: DIR/main-thread-name.cpuprofile). */
async function startProfiler(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  return {
    async stop(name) {
      const { profile } = await cdp.send('Profiler.stop');
      fs.mkdirSync(process.env.MAIN_PROF, { recursive: true });
      const file = path.join(process.env.MAIN_PROF, `main-thread-${name}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(profile));
      log(`profile: ${file}`);
      await cdp.detach();
    },
  };
}

const relay = await startRelay(fail);
const statics = await startStaticServer();
let browser = null;
let agent = null;
const results = { startedAt: new Date().toISOString(), host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAverage1m: os.loadavg()[0] }, params: { rate, liveCount, warmCount, batchCount, reps } };
try {
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  results.browser = browser.version();
  const page = await browser.newPage();
  page.on('pageerror', (error) => log(`page error: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'error') log(`page console: ${message.text()}`); });
  await page.goto(`${statics.url}/bench/main-thread.html`);
  await page.waitForFunction(() => window.__ready === true, null, { timeout: 15000 });
  agent = await connectAgent(relay.wsUrl);

  // ---- live: 150 ev/s into one message ----
  const liveSession = `mt-live-${Date.now()}`;
  const as = agent.session(liveSession);
  await live(as, 15000);
  // --stored-sessions N: N other sessions of 100 events each, which the page follows (so holds in
  // its storage) before the live run, as a user's earlier conversations.
  const stored = [];
  for (let k = 0; k < Number(flags['stored-sessions']); ++k) {
    const id = `mt-stored-${Date.now()}-${k}`;
    const w = agent.session(id);
    await live(w, 15000);
    const m = w.startMessage();
    await Promise.all(Array.from({ length: 100 }, (_, i) => m.write(token(i))));
    await m.end();
    stored.push(id);
  }
  if (stored.length) log(`live: the page holds ${stored.length} other sessions`);
  const pageInfo = await page.evaluate((cfg) => __bench.startLive(cfg), { url: relay.wsUrl, session: liveSession, storage: liveStorage, tabs: liveTabs, split: !flags.bare, stored });
  results.page = pageInfo;
  if (!pageInfo.crossOriginIsolated) log('warning: the page is not cross-origin isolated: performance.now() is coarsened to 100 µs');
  const profiler = process.env.MAIN_PROF ? await startProfiler(page) : null;
  const writer = as.startMessage();
  log(`live: warm-up ${warmCount} deltas at ${rate} ev/s`);
  await writePaced(writer, warmCount, rate, 0);
  await page.waitForFunction((n) => __bench.liveCount() >= n, warmCount + 1, { timeout: 15000 });
  await page.evaluate(() => __bench.resetLive());
  const tracePath = process.env.MAIN_TRACE || path.join(os.tmpdir(), `holdfast-main-thread-${process.pid}.json`);
  await browser.startTracing(page, { path: tracePath,
    categories: ['toplevel', 'mojom', 'devtools.timeline', ...(process.env.MAIN_TRACE ? ['v8', 'v8.wasm', 'blink'] : [])] });
  log(`live: ${liveCount} deltas at ${rate} ev/s`);
  const achieved = await writePaced(writer, liveCount, rate, warmCount);
  await page.waitForFunction((n) => __bench.liveCount() >= n, liveCount, { timeout: 30000 });
  await writer.end();
  await sleep(200);
  const liveRaw = await page.evaluate(() => __bench.stopLive());
  await profiler?.stop('live');
  await browser.stopTracing();
  const traced = messageTasks(JSON.parse(fs.readFileSync(tracePath, 'utf8')));
  if (process.env.MAIN_TRACE) log(`trace: ${tracePath}`); else fs.rmSync(tracePath, { force: true });
  const perEvent = summary(liveRaw.samples);
  const perDrain = summary(liveRaw.drainSamples);
  const perFrame = summary(liveRaw.eventsPerFrame);
  // Under load the relay may put several events in one WebSocket message: that message's cost
  // shared among its events (the arrays are per message, in step).
  const perEventShare = summary(liveRaw.samples.map((ms, i) => ms / Math.max(1, liveRaw.eventsPerFrame[i])));
  results.live = { storage: pageInfo.storage, tabs: liveTabs, instrumented: !flags.bare, agentRate: achieved, events: liveRaw.events, frames: liveRaw.samples.length,
    eventsPerFrame: { p50: perFrame.p50, max: perFrame.max }, framesWithoutMessage: liveRaw.framesWithoutMessage,
    toMessageMs: perEvent, toDrainEndMs: perDrain, toMessagePerEventMs: perEventShare,
    // Per label: its time in each frame that called it (summary), and summed over all frames.
    split: Object.fromEntries(Object.entries(liveRaw.split).map(([label, v]) => [label, { ...summary(v), totalMs: v.reduce((a, b) => a + b, 0) }])) };
  results.live.broadcastBytesPerFrame = summary(liveRaw.postedBytes);
  results.live.traced = { messages: traced.length, wallMs: summary(traced.map((m) => m.wallMs)), cpuMs: summary(traced.map((m) => m.cpuMs)),
    threadCpuMs: traced.threadCpuMs, messageCpuMs: traced.reduce((sum, m) => sum + m.cpuMs, 0) };
  // Per WebSocket message, in arrival order (for --json readers looking for what the slow ones share).
  results.live.perFrameMs = { toMessage: liveRaw.samples, toDrainEnd: liveRaw.drainSamples, split: liveRaw.split };
  // The message grows by one token per event: does the cost grow with it? First vs last fifth.
  const fifth = Math.max(1, Math.floor(liveRaw.samples.length / 5));
  results.live.toMessageFirstFifthMs = summary(liveRaw.samples.slice(0, fifth));
  results.live.toMessageLastFifthMs = summary(liveRaw.samples.slice(-fifth));
  results.live.textLength = liveRaw.textLength;
  results.host.loadAverage1mAfterLive = os.loadavg()[0];

  // ---- batch: N deltas replayed through the SDK and through msgpackr + JS ----
  const batchSession = `mt-batch-${Date.now()}`;
  const bs = agent.session(batchSession);
  await live(bs, 15000);
  const bw = bs.startMessage();
  log(`batch: the agent writes ${batchCount} deltas`);
  const writes = [];
  for (let i = 0; i < batchCount; ++i) {
    writes.push(bw.write(token(i)));
    if (i % 500 === 499) await Promise.all(writes.splice(0));  // a window, as an LLM stream would be
  }
  await Promise.all(writes);
  await bw.end();
  const captured = await page.evaluate((cfg) => __bench.capture(cfg), { url: relay.wsUrl, session: batchSession, expectedEvents: batchCount + 2 });
  log(`batch: recorded ${captured.eventFrames} frames holding ${captured.eventCount} events (${captured.bytes} bytes)`);
  const runs = { sdkMemory: [], sdkIndexedDb: [], js: [], jsPlain: [] };
  const checks = [];
  for (let rep = 0; rep < reps + 1; ++rep) {
    // Rotated so no pipeline always runs first (rep 0 is a warm-up for all three, not counted).
    const order = ['js', 'sdkMemory', 'jsPlain', 'sdkIndexedDb'];
    for (let k = 0; k < rep % 4; ++k) order.push(order.shift());
    for (const name of order) {
      const r = name.startsWith('js') ? await page.evaluate((plain) => __bench.replayJs({ plain }), name === 'jsPlain')
        : await page.evaluate((storage) => __bench.replaySdk({ storage }), name === 'sdkMemory' ? 'memory' : 'indexeddb');
      if (!r.ok) checks.push(`${name} rep ${rep}: ${r.events} events, the message differs from the one the recording client assembled`);
      if (rep > 0) runs[name].push({ ...r, evPerS: (captured.eventCount / r.ms) * 1000 });
    }
  }
  // One more run of each SDK storage, instrumented (not in the rates): where the batch's time goes.
  const batchSplit = {};
  for (const storage of ['memory', 'indexeddb']) {
    const batchProfiler = process.env.MAIN_PROF ? await startProfiler(page) : null;
    batchSplit[storage] = await page.evaluate((st) => __bench.replaySdkSplit({ storage: st }), storage);
    await batchProfiler?.stop(`batch-${storage}`);
  }
  await page.evaluate(() => __bench.cleanUp());
  const rateOf = (name) => median(runs[name].map((r) => r.evPerS));
  results.batch = { captured, problems: checks,
    evPerS: { sdkMemory: rateOf('sdkMemory'), sdkIndexedDb: rateOf('sdkIndexedDb'), js: rateOf('js'), jsPlain: rateOf('jsPlain') },
    msMedian: { sdkMemory: median(runs.sdkMemory.map((r) => r.ms)), sdkIndexedDb: median(runs.sdkIndexedDb.map((r) => r.ms)),
      js: median(runs.js.map((r) => r.ms)), jsPlain: median(runs.jsPlain.map((r) => r.ms)) },
    messageEmits: { sdk: runs.sdkMemory[0]?.messageEmits, js: runs.js[0]?.messageEmits },
    storageSeen: runs.sdkIndexedDb[0]?.storage, split: batchSplit };
  results.batch.ratio = { sdkMemoryOverJs: results.batch.evPerS.sdkMemory / results.batch.evPerS.js, sdkIndexedDbOverJs: results.batch.evPerS.sdkIndexedDb / results.batch.evPerS.js,
    sdkMemoryOverJsPlain: results.batch.evPerS.sdkMemory / results.batch.evPerS.jsPlain };
} finally {
  agent?.close();
  await browser?.close();
  await statics.close();
  await stopRelay(relay);
}

// ---- report ----
const L = results.live;
const B = results.batch;
console.log(`Main-thread cost in ${results.browser} (${results.host.cpus} × ${results.host.cpuModel}), ${results.startedAt}`);
console.log(`page cross-origin isolated: ${results.page.crossOriginIsolated} (performance.now() resolution ${results.page.crossOriginIsolated ? '5 µs' : '100 µs'})`);
console.log(`live: ${L.events} message.delta events at ${L.agentRate.toFixed(1)} ev/s, ${L.frames} WebSocket messages (events per message p50 ${L.eventsPerFrame.p50}, max ${L.eventsPerFrame.max}), storage ${L.storage}, tabs ${L.tabs}`);
console.log('| main thread, per WebSocket message of the relay | p50 µs | p99 µs | max µs | mean µs |');
console.log('|---|---|---|---|---|');
console.log(`| socket message → 'message' emitted | ${us(L.toMessageMs.p50)} | ${us(L.toMessageMs.p99)} | ${us(L.toMessageMs.max)} | ${us(L.toMessageMs.mean)} |`);
console.log(`| the same ÷ events in that message (per event) | ${us(L.toMessagePerEventMs.p50)} | ${us(L.toMessagePerEventMs.p99)} | ${us(L.toMessagePerEventMs.max)} | ${us(L.toMessagePerEventMs.mean)} |`);
console.log(`| the same, first fifth of the message | ${us(L.toMessageFirstFifthMs.p50)} | ${us(L.toMessageFirstFifthMs.p99)} | ${us(L.toMessageFirstFifthMs.max)} | ${us(L.toMessageFirstFifthMs.mean)} |`);
console.log(`| the same, last fifth (message ${L.textLength} characters at the end) | ${us(L.toMessageLastFifthMs.p50)} | ${us(L.toMessageLastFifthMs.p99)} | ${us(L.toMessageLastFifthMs.max)} | ${us(L.toMessageLastFifthMs.mean)} |`);
console.log(`| socket message → drain done | ${us(L.toDrainEndMs.p50)} | ${us(L.toDrainEndMs.p99)} | ${us(L.toDrainEndMs.max)} | ${us(L.toDrainEndMs.mean)} |`);
console.log(`| the task that delivered it (Blink's receipt, handler, microtasks), wall, traced | ${us(L.traced.wallMs.p50)} | ${us(L.traced.wallMs.p99)} | ${us(L.traced.wallMs.max)} | ${us(L.traced.wallMs.mean)} |`);
console.log(`| the same task, main-thread CPU time, traced | ${us(L.traced.cpuMs.p50)} | ${us(L.traced.cpuMs.p99)} | ${us(L.traced.cpuMs.max)} | ${us(L.traced.cpuMs.mean)} |`);
console.log(`(${L.traced.messages} traced WebSocket messages; the wall time includes the thread's preemption by the relay, the agent and the browser's other processes on ${results.host.cpus} cores)`);
console.log(`main thread CPU over the traced run, every task: ${L.traced.threadCpuMs.toFixed(1)} ms, ${us(L.traced.threadCpuMs / L.events)} µs per event (the messages' tasks ${L.traced.messageCpuMs.toFixed(1)} ms; the rest: storage syncs, timers, the page)`);
const totalMs = L.toDrainEndMs.mean * L.toDrainEndMs.n;
if (!L.instrumented) {
  console.log('(--bare: core calls not timed)');
} else {
  console.log(`where it goes (all frames, share of the socket message → drain done total; calls timed in the page):`);
  for (const [label, v] of Object.entries(L.split).sort((a, b) => b[1].totalMs - a[1].totalMs)) {
    console.log(`  ${label.padEnd(32)} ${(100 * v.totalMs / totalMs).toFixed(1).padStart(5)} %   p50 ${us(v.p50)} µs, p99 ${us(v.p99)} µs over ${v.n} frames`);
  }
  console.log(`  (bytes posted to the BroadcastChannel per frame: p50 ${L.broadcastBytesPerFrame.p50}, max ${L.broadcastBytesPerFrame.max})`);
}
console.log(`machine load (1 min average) at start ${results.host.loadAverage1m.toFixed(2)}, after the live run ${results.host.loadAverage1mAfterLive.toFixed(2)}`);
console.log(`batch: ${B.captured.eventCount} events in ${B.captured.eventFrames} relay frames (${B.captured.bytes} bytes), median of ${reps}`);
console.log('| pipeline | ms | events/s | vs pure JS |');
console.log('|---|---|---|---|');
console.log(`| pure JS (msgpackr + JS assembly), the same bytes | ${B.msMedian.js.toFixed(1)} | ${Math.round(B.evPerS.js)} | 1.00× |`);
console.log(`| pure JS on the plain form of those frames (${B.captured.plainBytes} bytes) | ${B.msMedian.jsPlain.toFixed(1)} | ${Math.round(B.evPerS.jsPlain)} | ${(B.evPerS.jsPlain / B.evPerS.js).toFixed(2)}× (the SDK ${B.ratio.sdkMemoryOverJsPlain.toFixed(2)}× this) |`);
console.log(`| SDK, memory storage | ${B.msMedian.sdkMemory.toFixed(1)} | ${Math.round(B.evPerS.sdkMemory)} | ${B.ratio.sdkMemoryOverJs.toFixed(2)}× |`);
console.log(`| SDK, IndexedDB storage (${B.storageSeen}) | ${B.msMedian.sdkIndexedDb.toFixed(1)} | ${Math.round(B.evPerS.sdkIndexedDb)} | ${B.ratio.sdkIndexedDbOverJs.toFixed(2)}× |`);
console.log(`'message' emitted per batch: SDK ${B.messageEmits.sdk}, pure JS ${B.messageEmits.js}`);
for (const [storage, r] of Object.entries(B.split)) {
  console.log(`where the SDK's batch time goes, ${storage} storage (one instrumented run, ${r.ms.toFixed(1)} ms):`);
  for (const [label, ms] of Object.entries(r.split).sort((a, b) => b[1] - a[1])) {
    console.log(`  ${label.padEnd(32)} ${(100 * ms / r.ms).toFixed(1).padStart(5)} %   ${ms.toFixed(2)} ms`);
  }
}
for (const p of B.problems) console.log(`PROBLEM: ${p}`);
if (flags.json) fs.writeFileSync(flags.json, JSON.stringify(results, null, 2));
process.exit(B.problems.length ? 1 : 0);
