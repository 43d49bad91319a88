#!/usr/bin/env node
// Local-history benchmarks in Chromium (Playwright driving Debian's /usr/bin/chromium, persistent
// profiles in a temp dir): cold start to rendered history from IndexedDB with the relay down, for
// conversations of 0 / 100 / 1,000 / 10,000 assistant messages, and the bytes IDBFS hands to
// IndexedDB per 1,000 streamed tokens at ~50 and ~1,000 tokens/s. Timing lives here, never in
// pass/fail tests; figures go to docs/benchmarks.md. Layer: benchmark.
//
// Builds nothing: needs build/sdk (bash scripts/build.sh wasm) and the relay binary
// (bash scripts/build.sh native). Usage:
//   npm run bench:browser [-- --sizes 0,100,1000,10000 --reps 5 --rates 50,1000 --stream-reps 3 --demo-timeout 60 --json out.json]
// Env: HOLDFAST_SDK_DIR (default build/sdk), HOLDFAST_RELAY_BINARY (default build/native/server/holdfast-relay),
// HOLDFAST_DEMO_DIR (default demo/web): e.g. all three from a clean export of one commit.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { chromiumArgs, chromiumPath, demoDir, relayBinary, root, sdkDir, startRelay, stopRelay, loadBenchTools } from './support.mjs';

const benchDir = path.join(root, 'bench/browser');

function fail(message) {
  console.error(`bench:browser: ${message}`);
  process.exit(1);
}

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '0,100,1000,10000' },
    reps: { type: 'string', default: '5' },
    rates: { type: 'string', default: '50,1000' },
    tokens: { type: 'string', default: '1000' },
    'stream-reps': { type: 'string', default: '3' },
    'demo-timeout': { type: 'string', default: '60' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('usage: history-bench.mjs [--sizes 0,100,1000,10000] [--reps 5] [--rates 50,1000] [--tokens 1000] [--stream-reps 3] [--demo-timeout 60] [--json file]');
  process.exit(0);
}
const sizes = flags.sizes.split(',').filter(Boolean).map(Number);
const reps = Number(flags.reps);
const rates = flags.rates.split(',').filter(Boolean).map(Number);
const streamTokens = Number(flags.tokens);
const streamReps = Number(flags['stream-reps']);
const demoTimeoutMs = Number(flags['demo-timeout']) * 1000;

// ---- prerequisites (this script builds nothing) ------------------------------------------------
const { chromium, WebSocket, Holdfast, wasmBinary } = await loadBenchTools(fail);

// ---- helpers -------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (value, digits = 1) => (value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits));
const log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const contentTypes = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

/**
 * The page without the relay (like e2e/support.mjs's startStaticServer): demo/web at /, the SDK at
 * /sdk/, this folder at /bench/ (the SDK-only cold-start page), all on one origin so they share
 * the IndexedDB history.
 */
function startStaticServer() {
  const routes = [['/sdk/', sdkDir], ['/bench/', benchDir], ['/', demoDir]];
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url, 'http://x').pathname;
    const [prefix, dir] = routes.find(([p]) => pathname.startsWith(p));
    const rest = pathname === '/' ? 'index.html' : pathname.slice(prefix.length);
    const file = path.resolve(dir, rest);
    if (!file.startsWith(path.resolve(dir)) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': contentTypes[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    fs.createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((done) => server.close(done)) });
  }));
}

/**
 * Runs in every document before its scripts: counts what IDBFS stores (each put's `contents`
 * bytes; IDBFS stores {timestamp, mode, contents}), its gets, deletes and read-write transactions
 * (one per syncfs), and — on the demo page, when `expected` >= 0 — polls once per animation frame
 * until messages() has the expected count and the DOM has as many bubbles.
 */
function initScript({ expected }) {
  const idb = { puts: 0, putBytes: 0, gets: 0, deletes: 0, writeTransactions: 0 };
  window.__idb = idb;
  const { put, get, delete: del } = IDBObjectStore.prototype;
  IDBObjectStore.prototype.put = function (value, ...rest) {
    idb.puts += 1;
    const contents = value?.contents;
    if (contents) idb.putBytes += contents.byteLength ?? contents.length ?? 0;
    return put.call(this, value, ...rest);
  };
  IDBObjectStore.prototype.get = function (...args) { idb.gets += 1; return get.apply(this, args); };
  IDBObjectStore.prototype.delete = function (...args) { idb.deletes += 1; return del.apply(this, args); };
  const { transaction } = IDBDatabase.prototype;
  IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
    if (mode === 'readwrite') idb.writeTransactions += 1;
    return transaction.call(this, stores, mode, ...rest);
  };
  const { open } = IDBFactory.prototype;
  const marks = {};
  window.__bench = marks;
  IDBFactory.prototype.open = function (...args) {
    if (marks.idbOpen === undefined) marks.idbOpen = performance.now();
    return open.apply(this, args);
  };
  if (expected < 0 || location.pathname !== '/') return;
  const tick = () => {
    const session = window.session;
    if (session && marks.session === undefined) marks.session = performance.now();
    // Rendered: the DOM shows every message the SDK restored (`expected` unless the history was cut).
    if (session && document.querySelectorAll('[data-testid="message"]').length === session.messages().length) {
      marks.rendered = performance.now();
      marks.count = session.messages().length;
      marks.storage = window.holdfast.storage;
      const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('holdfast_core.wasm'));
      marks.wasmLoaded = wasm?.responseEnd;
      marks.domContentLoaded = performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd;
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function launch(profile, expected) {
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, args: chromiumArgs, headless: true });
  await context.addInitScript(initScript, { expected });
  const page = context.pages()[0] ?? await context.newPage();
  return { context, page };
}

/** A Node agent on the SDK (memory storage), as the demo agent connects. */
async function connectAgent(wsUrl) {
  const hf = await Holdfast.connect({ url: wsUrl, storage: 'memory', agent: 'bench-agent', WebSocket, wasmBinary });
  hf.on('error', (error) => log(`agent error ${error.name}: ${error.message}`));
  return hf;
}

/**
 * Publishes `answers` assistant messages (message.start, 3 message.delta, message.end) with a
 * user.prompt before every other one, pipelined; resolves once the relay acknowledged them all.
 * Returns {events, messages}.
 */
async function populate(wsUrl, sessionId, answers) {
  const hf = await connectAgent(wsUrl);
  const session = hf.session(sessionId);
  const acks = [];
  let messages = 0;
  const inFlight = 2000;  // publishes in flight, so the outbox and socket buffers stay bounded
  for (let i = 0; i < answers; i++) {
    if (i % 2 === 0) {
      acks.push(session.prompt(`Question number ${i}: what happened next?`, { msgId: `prompt-${i}` }));
      messages += 1;
    }
    const msgId = `reply-${i}`;
    acks.push(session.publish('message.start', { role: 'assistant' }, { msgId }));
    for (let d = 0; d < 3; d++) acks.push(session.publish('message.delta', { text: `part ${d} of answer ${i}, some words. ` }, { msgId }));
    acks.push(session.publish('message.end', { status: 'complete' }, { msgId }));
    messages += 1;
    if (acks.length >= inFlight) await Promise.all(acks.splice(0, acks.length - inFlight / 2));
  }
  await Promise.all(acks);
  const events = session.lastSerial;
  hf.close();
  return { events, messages };
}

/** Bytes and files IDBFS holds in IndexedDB (database '/holdfast', store 'FILE_DATA'). */
function idbFootprint(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const request = indexedDB.open('/holdfast');
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const stats = { files: 0, bytes: 0 };
      const cursor = db.transaction('FILE_DATA', 'readonly').objectStore('FILE_DATA').openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) { db.close(); resolve(stats); return; }
        if (c.value?.contents) { stats.files += 1; stats.bytes += c.value.contents.byteLength; }
        c.continue();
      };
      cursor.onerror = () => reject(cursor.error);
    };
  }));
}

// ---- cold start ------------------------------------------------------------------------------

async function coldStart(site, answers) {
  const relay = await startRelay(fail);
  const sessionId = `cold-${answers}-${Date.now().toString(36)}`;
  let populated = { events: 0, messages: 0 };
  if (answers > 0) {
    const t0 = performance.now();
    populated = await populate(relay.wsUrl, sessionId, answers);
    log(`N=${answers}: published ${populated.events} events (${populated.messages} messages) in ${fmt(performance.now() - t0, 0)} ms`);
  }
  const expected = populated.messages;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-bench-history-'));
  const query = `session=${sessionId}&relay=${encodeURIComponent(relay.wsUrl)}`;
  const demoUrl = `${site.url}/?${query}`;
  const sdkUrl = `${site.url}/bench/sdk-cold.html?${query}`;
  const result = { answers, messages: expected, events: populated.events, demo: [], sdk: [], relaunch: [], relaunchSdk: [], incomplete: [] };
  let { context, page } = await launch(profile, expected);
  /** One navigation of the demo page; null when it did not render within --demo-timeout. */
  const measureDemo = async () => {
    await page.goto(demoUrl);
    try {
      await page.waitForFunction(() => window.__bench?.rendered !== undefined, null, { timeout: demoTimeoutMs, polling: 50 });
    } catch (error) {
      if (error.name !== 'TimeoutError') throw error;
      const bubbles = await page.evaluate(() => document.querySelectorAll('[data-testid="message"]').length);
      result.demoTimedOut = { afterMs: demoTimeoutMs, bubbles };
      log(`N=${answers}: the demo page did not render ${expected} messages within ${demoTimeoutMs} ms (${bubbles} bubbles by then); no more demo runs for this size`);
      await page.goto('about:blank');
      return null;
    }
    const demo = await page.evaluate(() => ({ ...window.__bench, idb: { ...window.__idb } }));
    if (demo.storage !== 'indexeddb') throw new Error(`demo page storage is ${demo.storage}, not indexeddb`);
    if (demo.count !== expected) {
      result.incomplete.push({ page: 'demo', count: demo.count });
      log(`N=${answers}: the demo page rendered ${demo.count} of ${expected} messages`);
    }
    return demo;
  };
  const measureSdk = async () => {
    await page.goto(sdkUrl);
    await page.waitForFunction(() => window.__sdkCold !== undefined, null, { timeout: 300_000, polling: 50 });
    const sdk = await page.evaluate(() => window.__sdkCold);
    if (sdk.error) throw new Error(`SDK cold-start page: ${sdk.error}`);
    if (sdk.storage !== 'indexeddb') throw new Error(`SDK page: storage ${sdk.storage}, not indexeddb`);
    if (sdk.count !== expected || sdk.warnings.length) {
      // Not the benchmark's doing: the SDK restored less than it stored. Recorded and reported.
      result.incomplete.push({ page: 'sdk', count: sdk.count, warnings: sdk.warnings });
      log(`N=${answers}: the SDK restored ${sdk.count} of ${expected} messages; warnings: ${sdk.warnings.join(' | ') || 'none'}`);
    }
    return sdk;
  };
  try {
    // Once with the relay up, on the SDK-only page (the demo page's rendering is measured below,
    // not here): it attaches, replays the whole log and stores it.
    await page.goto(sdkUrl);
    await page.waitForFunction(({ expected: n, events }) => window.session?.state === 'live' &&
      window.session.lastSerial === events && window.session.messages().length === n,
    { expected, events: populated.events }, { timeout: 600_000, polling: 100 });
    result.firstLoadMs = await page.evaluate(() => performance.now());
    await page.evaluate(() => window.holdfast.flush());
    result.storeIdb = await page.evaluate(() => ({ ...window.__idb }));
    result.footprint = await idbFootprint(page);
    log(`N=${answers}: replayed and stored in ${fmt(result.firstLoadMs, 0)} ms; IndexedDB holds ${result.footprint.bytes} bytes in ${result.footprint.files} files (${result.storeIdb.putBytes} bytes put)`);

    // The network cannot help from here on.
    await stopRelay(relay);
    for (let rep = 0; rep < reps; rep++) {
      result.sdk.push(await measureSdk());
      if (!result.demoTimedOut) {
        const demo = await measureDemo();
        if (demo) result.demo.push(demo);
      }
    }
    // The same after a browser restart (a new browser process on the profile): the SDK page,
    // then the demo page, each as the first page of a fresh browser.
    for (const [kind, measure] of [['relaunchSdk', measureSdk], ['relaunch', measureDemo]]) {
      for (let rep = 0; rep < reps && !(kind === 'relaunch' && result.demoTimedOut); rep++) {
        await page.goto('about:blank');
        await context.close();
        ({ context, page } = await launch(profile, expected));
        const sample = await measure();
        if (sample) result[kind].push(sample);
      }
    }
  } finally {
    await context.close().catch(() => {});
    await stopRelay(relay);
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return result;
}

// ---- IndexedDB bytes per streamed token ---------------------------------------------------------

/** `count` message.delta tokens of 6 bytes each ("t0001 "…), published at `rate` tokens/s. */
async function streamAnswer(session, msgId, count, rate) {
  const acks = [session.publish('message.start', { role: 'assistant' }, { msgId })];
  const t0 = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    for (; sent < due; sent++) acks.push(session.publish('message.delta', { text: `t${String(sent % 10000).padStart(4, '0')} ` }, { msgId }));
    await sleep(Math.max(1, Math.min(20, 1000 / rate)));
  }
  const elapsedMs = performance.now() - t0;
  acks.push(session.publish('message.end', { status: 'complete' }, { msgId }));
  await Promise.all(acks);
  return elapsedMs;
}

async function bytesPerToken(site) {
  const relay = await startRelay(fail);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-bench-stream-'));
  const { context, page } = await launch(profile, -1);
  const agent = await connectAgent(relay.wsUrl);
  const rawTextBytes = streamTokens * 6;
  const results = [];
  try {
    for (const rate of rates) {
      for (let rep = 0; rep < streamReps; rep++) {
        const sessionId = `stream-${rate}-${rep}-${Date.now().toString(36)}`;
        await page.goto(`${site.url}/?session=${sessionId}&relay=${encodeURIComponent(relay.wsUrl)}`);
        await page.waitForFunction(() => window.session?.state === 'live', null, { timeout: 30_000 });
        const storage = await page.evaluate(() => window.holdfast.storage);
        if (storage !== 'indexeddb') throw new Error(`stream page storage is ${storage}`);
        await page.evaluate(() => window.holdfast.flush());
        await sleep(500);
        await page.evaluate(async () => {
          await window.holdfast.flush();
          Object.assign(window.__idb, { puts: 0, putBytes: 0, gets: 0, deletes: 0, writeTransactions: 0 });
        });
        const session = agent.session(sessionId);
        const elapsedMs = await streamAnswer(session, 'reply-1', streamTokens, rate);
        await page.waitForFunction((length) => {
          const answer = window.session.messages().find((m) => m.id === 'reply-1');
          return answer?.status === 'complete' && answer.text.length === length;
        }, rawTextBytes, { timeout: 60_000, polling: 50 });
        await page.evaluate(() => window.holdfast.flush());
        const idb = await page.evaluate(() => ({ ...window.__idb }));
        session.close();
        const perThousand = (idb.putBytes * 1000) / streamTokens;
        results.push({ rate, rep, achievedRate: (streamTokens * 1000) / elapsedMs, ...idb, perThousand, ratio: idb.putBytes / rawTextBytes });
        log(`stream ${rate} tok/s rep ${rep}: achieved ${fmt((streamTokens * 1000) / elapsedMs, 0)} tok/s, ${idb.putBytes} bytes put in ${idb.puts} puts over ${idb.writeTransactions} syncs (${fmt(idb.putBytes / rawTextBytes)}× the text)`);
      }
    }
  } finally {
    agent.close();
    await context.close().catch(() => {});
    await stopRelay(relay);
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return { rawTextBytes, results };
}

// ---- main --------------------------------------------------------------------------------------

const git = (...args) => { try { return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim(); } catch { return '?'; } };
const started = new Date();
const site = await startStaticServer();
const report = {
  date: started.toISOString(),
  commit: git('rev-parse', '--short', 'HEAD'),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg().map((l) => l.toFixed(2)),
  chromium: execFileSync(chromiumPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
  sizes: [],
};
try {
  for (const answers of sizes) report.sizes.push(await coldStart(site, answers));
  if (rates.length && streamReps > 0) report.stream = await bytesPerToken(site);
} finally {
  await site.close();
}
report.loadavgAfter = os.loadavg().map((l) => l.toFixed(2));
report.durationS = (Date.now() - started.getTime()) / 1000;

// ---- report --------------------------------------------------------------------------------------
const out = (line = '') => console.log(line);
out(`Local history benchmark, ${report.date} (${report.durationS.toFixed(0)} s), commit ${report.commit}, ${report.chromium}, Node ${report.node}, ${report.cpus} CPUs, load ${report.loadavg.join(' ')} → ${report.loadavgAfter.join(' ')}`);
out(`SDK ${path.relative(root, sdkDir) || '.'}, relay ${path.relative(root, relayBinary)}, demo ${path.relative(root, demoDir)}`);
out();
out(`Cold start to rendered history, relay down (medians of ${reps}; ms from navigation start; the demo page stops at ${demoTimeoutMs / 1000} s):`);
out();
out('| answers | messages | events | IndexedDB bytes (files) | restored (min of runs) | demo page: rendered | demo page, fresh browser | SDK page: import | + connect | + session() | SDK page: total | SDK page, fresh browser | first load from the relay (1 run) |');
out('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const s of report.sizes) {
  s.median = {
    rendered: median(s.demo.map((d) => d.rendered)),
    relaunch: median(s.relaunch.map((d) => d.rendered)),
    imported: median(s.sdk.map((d) => d.imported)),
    connect: median(s.sdk.map((d) => d.connected - d.imported)),
    session: median(s.sdk.map((d) => d.session - d.connected)),
    sdkTotal: median(s.sdk.map((d) => d.messages)),
    relaunchSdk: median(s.relaunchSdk.map((d) => d.messages)),
    wasmLoaded: median(s.demo.map((d) => d.wasmLoaded)),
    idbOpen: median(s.demo.map((d) => d.idbOpen)),
  };
  const timedOut = s.demoTimedOut ? `> ${s.demoTimedOut.afterMs / 1000} s (${s.demoTimedOut.bubbles.toLocaleString('en')} bubbles by then)` : null;
  const demoCell = timedOut && !s.demo.length ? timedOut : fmt(s.median.rendered);
  const relaunchCell = timedOut && !s.relaunch.length ? 'not run' : fmt(s.median.relaunch);
  out(`| ${s.answers.toLocaleString('en')} | ${s.messages.toLocaleString('en')} | ${s.events.toLocaleString('en')} | ${s.footprint.bytes.toLocaleString('en')} (${s.footprint.files}) | ${Math.min(...[...s.sdk, ...s.relaunchSdk, ...s.demo, ...s.relaunch].map((d) => d.count)).toLocaleString('en')} | ${demoCell} | ${relaunchCell} | ${fmt(s.median.imported)} | ${fmt(s.median.connect)} | ${fmt(s.median.session)} | ${fmt(s.median.sdkTotal)} | ${fmt(s.median.relaunchSdk)} | ${fmt(s.firstLoadMs, 0)} |`);
}
const byAnswers = (n) => report.sizes.find((s) => s.answers === n);
if (byAnswers(100) && byAnswers(10000)) {
  const small = byAnswers(100).median;
  const large = byAnswers(10000).median;
  out();
  out(`Ratio 10,000 vs 100 answers: SDK page total ${fmt(large.sdkTotal / small.sdkTotal, 2)}×, SDK session() ${fmt(large.session / small.session, 2)}×, SDK page in a fresh browser ${fmt(large.relaunchSdk / small.relaunchSdk, 2)}×, demo page rendered ${fmt(large.rendered / small.rendered, 2)}×`);
}
for (const s of report.sizes) {
  if (!s.incomplete.length) continue;
  const warnings = [...new Set(s.incomplete.flatMap((i) => i.warnings ?? []))];
  out();
  out(`N=${s.answers}: ${s.incomplete.length} runs restored fewer than ${s.messages} messages (${s.incomplete.map((i) => `${i.page} ${i.count}`).join(', ')}); warnings: ${warnings.join(' | ') || 'none'}`);
}
out();
out('Demo page marks (medians, ms): wasm response end / first indexedDB.open / rendered:');
for (const s of report.sizes) out(`- ${s.answers}: ${fmt(s.median.wasmLoaded)} / ${fmt(s.median.idbOpen)} / ${fmt(s.median.rendered)}`);
if (report.stream) {
  out();
  out(`IndexedDB bytes per ${streamTokens.toLocaleString('en')} streamed tokens (6 bytes of text each = ${report.stream.rawTextBytes.toLocaleString('en')} bytes; medians of ${streamReps}):`);
  out();
  out('| target tokens/s | achieved tokens/s | syncs (read-write transactions) | puts | bytes put per 1,000 tokens | ÷ raw text bytes |');
  out('|---|---|---|---|---|---|');
  report.stream.medians = [];
  for (const rate of rates) {
    const runs = report.stream.results.filter((r) => r.rate === rate);
    const m = {
      rate,
      achievedRate: median(runs.map((r) => r.achievedRate)),
      writeTransactions: median(runs.map((r) => r.writeTransactions)),
      puts: median(runs.map((r) => r.puts)),
      perThousand: median(runs.map((r) => r.perThousand)),
      ratio: median(runs.map((r) => r.ratio)),
      range: [Math.min(...runs.map((r) => r.perThousand)), Math.max(...runs.map((r) => r.perThousand))],
    };
    report.stream.medians.push(m);
    out(`| ${rate} | ${fmt(m.achievedRate, 0)} | ${m.writeTransactions} | ${m.puts} | ${Math.round(m.perThousand).toLocaleString('en')} (${m.range.map((v) => Math.round(v).toLocaleString('en')).join('–')}) | ${fmt(m.ratio)}× |`);
  }
}
if (flags.json) {
  fs.writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
  log(`raw figures in ${flags.json}`);
}
