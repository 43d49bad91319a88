#!/usr/bin/env node
// Tabs benchmark in Chromium (Playwright driving Debian's /usr/bin/chromium, one persistent profile
// in a temp dir): the tabs of a profile share one relay socket through an elected leader that
// forwards every relay frame to the other tabs over a BroadcastChannel. Measured on the demo page
// (`/?session=…`, served by a relay on a memory store), with an agent publishing from Node (the SDK
// with ws + wasmBinary):
//   (a) latency at a paced rate (default 50 and 1,000 events/s): follower arrival − leader arrival
//       for each event (both pages stamp `performance.timeOrigin + performance.now()` in their
//       'event' listener; each clock is calibrated against Date.now(), the shared system clock), and
//       publish → leader / publish → follower against Node's clock calibrated the same way;
//   (b) throughput to a follower: N events (default 20,000) published as fast as the relay acks them
//       (a window of publishes in flight), events/s delivered to the leader and to the follower;
//   (c) failover: the leader page is closed mid-stream; from the close to the follower reporting
//       role 'leader' (hf.on('role')), to its session being 'live' again, and to its next event.
// Timing lives here, never in pass/fail tests; figures go to docs/benchmarks.md. Layer: benchmark.
//
// Builds nothing: needs build/sdk (bash scripts/build.sh wasm) and the relay binary
// (bash scripts/build.sh native). Usage:
//   npm run bench:tabs [-- --rates 50,1000 --counts 600,5000 --reps 5 --burst 20000 --failover-rate 100 --json out.json]
// Env: HOLDFAST_SDK_DIR (default build/sdk), HOLDFAST_RELAY_BINARY (default build/native/server/holdfast-relay),
// HOLDFAST_DEMO_DIR (default demo/web): e.g. all three from a clean export of one commit.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { chromiumArgs, chromiumPath, demoDir, relayBinary, root, sdkDir, startRelay, stopRelay, loadBenchTools } from './support.mjs';


function fail(message) {
  console.error(`bench:tabs: ${message}`);
  process.exit(1);
}

const { values: flags } = parseArgs({
  options: {
    rates: { type: 'string', default: '50,1000' },
    counts: { type: 'string', default: '600,5000' },
    reps: { type: 'string', default: '5' },
    burst: { type: 'string', default: '20000' },
    window: { type: 'string', default: '2000' },
    'failover-rate': { type: 'string', default: '100' },
    skip: { type: 'string', default: '' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('usage: tabs-bench.mjs [--rates 50,1000] [--counts 600,5000] [--reps 5] [--burst 20000] [--window 2000] [--failover-rate 100] [--skip latency,throughput,failover] [--json file]');
  process.exit(0);
}
const rates = flags.rates.split(',').filter(Boolean).map(Number);
const counts = flags.counts.split(',').filter(Boolean).map(Number);
if (counts.length !== rates.length) fail('--counts needs one count per rate');
const reps = Number(flags.reps);
const burstCount = Number(flags.burst);
const inFlight = Number(flags.window);
const failoverRate = Number(flags['failover-rate']);
const skip = new Set(flags.skip.split(',').filter(Boolean));

// ---- prerequisites (this script builds nothing) ------------------------------------------------
const { chromium, WebSocket, Holdfast, wasmBinary } = await loadBenchTools(fail);

// ---- helpers -------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const immediate = () => new Promise((resolve) => setImmediate(resolve));
const median = (values) => {
  const sorted = values.filter((v) => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
/** Nearest-rank percentile. */
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
const fmt = (value, digits = 2) => (value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits));
const log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
/** Node's high-resolution wall clock, ms. */
const nodeNow = () => performance.timeOrigin + performance.now();

/**
 * How far a high-resolution clock (timeOrigin + now()) runs ahead of Date.now(), the system clock
 * every process shares: the mean of (hi − Date.now()) over a busy 50 ms, less the 0.5 ms that
 * Date.now()'s truncation to whole milliseconds takes off on average. Subtracting it puts the
 * pages' and Node's stamps on one clock within ~0.1 ms (Chromium coarsens now() to 100 µs).
 * The same function runs in Node and, serialized, in the pages.
 */
function clockBias() {
  const end = Date.now() + 50;
  let sum = 0;
  let n = 0;
  for (;;) {
    const wall = Date.now();
    if (wall >= end) break;
    sum += performance.timeOrigin + performance.now() - wall;
    n += 1;
  }
  return sum / n - 0.5;
}

async function relayMetric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

// ---- pages -----------------------------------------------------------------------------------

/**
 * Opens the demo page on `sessionId`, waits until the SDK reports a role and the session is live,
 * then records in the page, for every 'bench' event: [payload.i, serial, hi-res arrival]; and every
 * role and state change with its hi-res time.
 */
async function openTab(context, base, sessionId, wantRole) {
  const page = await context.newPage();
  await page.goto(`${base}/?session=${sessionId}`);
  await page.waitForFunction((role) => window.holdfast?.role === role && window.session?.state === 'live',
    wantRole, { timeout: 30_000, polling: 20 });
  await page.evaluate(() => {
    const hi = () => performance.timeOrigin + performance.now();
    const rec = { arrivals: [], serials: [], roles: [], states: [] };
    window.__tabs = rec;
    window.session.on('event', (event) => {
      const t = hi();
      rec.serials.push(event.serial);
      if (event.kind === 'bench') rec.arrivals.push([event.payload.i, event.serial, t]);
    });
    window.holdfast.on('role', (role) => rec.roles.push([role, hi()]));
    window.session.on('state', (state) => rec.states.push([state, hi()]));
  });
  return page;
}

const pageBias = (page) => page.evaluate(clockBias);

/** The page's recording, with every time moved onto the shared clock (the page's bias removed). */
async function recording(page) {
  const bias = await pageBias(page);
  const rec = await page.evaluate(() => ({ ...window.__tabs, visibility: document.visibilityState }));
  return {
    bias,
    visibility: rec.visibility,
    serials: rec.serials,
    arrivals: rec.arrivals.map(([i, serial, t]) => [i, serial, t - bias]),
    roles: rec.roles.map(([role, t]) => [role, t - bias]),
    states: rec.states.map(([state, t]) => [state, t - bias]),
  };
}

/** Opens a fresh leader tab and a follower tab on a new session; checks they share one socket. */
async function openPair(context, relay, sessionId) {
  const leader = await openTab(context, relay.base, sessionId, 'leader');
  const follower = await openTab(context, relay.base, sessionId, 'follower');
  // The publisher's socket and the leader's: the follower has none of its own.
  const sockets = await relayMetric(relay.base, 'holdfast_open_connections');
  if (sockets !== 2) log(`warning: ${sockets} open connections on the relay with one publisher and two tabs (expected 2)`);
  return { leader, follower, sockets };
}

async function closeAll(context) {
  for (const page of context.pages()) await page.close().catch(() => {});
}

// ---- the publisher (Node) -----------------------------------------------------------------------

async function connectAgent(wsUrl) {
  const hf = await Holdfast.connect({ url: wsUrl, storage: 'memory', agent: 'bench-agent', WebSocket, wasmBinary });
  hf.on('error', (error) => log(`agent error ${error.name}: ${error.message}`));
  return hf;
}

/**
 * Publishes `count` 'bench' events {i, sent} at `rate` events/s on a schedule (each event sent at
 * its due time, `sent` the Node clock in ms on the shared clock); resolves {sends, elapsedMs} once
 * every one is acknowledged. `onSent(i)` runs after each publish.
 */
async function publishPaced(session, count, rate, nodeBias, onSent = () => {}) {
  const sends = new Array(count);
  const acks = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1.5) await sleep(wait - 1);
    // The last millisecond in event-loop turns, never a synchronous spin: the SDK sends the frame
    // in a microtask and reads acks and echoes as I/O, so the loop must keep turning.
    while (performance.now() < due) await immediate();
    const sent = nodeNow() - nodeBias;
    sends[i] = sent;
    acks.push(session.publish('bench', { i, sent: Math.round(sent * 1000) }));
    onSent(i);
    await immediate();  // the publish leaves now, not when the loop next sleeps
  }
  const elapsedMs = performance.now() - t0;
  await Promise.all(acks);
  return { sends, elapsedMs };
}

/** Publishes `count` events as fast as the relay acks them, at most `inFlight` unacknowledged. */
async function publishBurst(session, count, nodeBias) {
  const acks = [];
  const start = nodeNow() - nodeBias;
  for (let i = 0; i < count; i++) {
    acks.push(session.publish('bench', { i, sent: 0 }));
    if (acks.length >= inFlight) await Promise.all(acks.splice(0, acks.length - inFlight / 2));
  }
  await Promise.all(acks);
  return { start, acked: nodeNow() - nodeBias };
}

async function waitDelivered(page, count, timeout = 120_000) {
  await page.waitForFunction((n) => window.__tabs.arrivals.length >= n, count, { timeout, polling: 50 });
}

/** Every page received events 1…n consecutively: no gap, no duplicate. */
function checkSerials(serials) {
  for (let k = 1; k < serials.length; k++) if (serials[k] !== serials[k - 1] + 1) return false;
  return true;
}

// ---- (a) latency ----------------------------------------------------------------------------------

async function latencyRun(context, relay, agent, rate, count, rep) {
  const sessionId = `tabs-lat-${rate}-${rep}-${Date.now().toString(36)}`;
  const { leader, follower, sockets } = await openPair(context, relay, sessionId);
  const session = agent.session(sessionId);
  await sleep(300);
  const nodeBias = clockBias();
  const { sends, elapsedMs } = await publishPaced(session, count, rate, nodeBias);
  await waitDelivered(leader, count);
  await waitDelivered(follower, count);
  const [L, F] = [await recording(leader), await recording(follower)];
  session.close();
  await closeAll(context);
  const at = (rec) => {
    const map = new Array(count);
    for (const [i, , t] of rec.arrivals) map[i] = t;
    return map;
  };
  const [la, fa] = [at(L), at(F)];
  const delta = [];
  const toLeader = [];
  const toFollower = [];
  for (let i = 0; i < count; i++) {
    delta.push(fa[i] - la[i]);
    toLeader.push(la[i] - sends[i]);
    toFollower.push(fa[i] - sends[i]);
  }
  const stats = (values) => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values), min: Math.min(...values) });
  const result = {
    rate, count, rep, sockets, achievedRate: (count * 1000) / elapsedMs,
    biases: { node: nodeBias, leader: L.bias, follower: F.bias },
    visibility: [L.visibility, F.visibility],
    ordered: checkSerials(L.serials) && checkSerials(F.serials) && L.arrivals.length === count && F.arrivals.length === count,
    delta: stats(delta), toLeader: stats(toLeader), toFollower: stats(toFollower),
    negativeDeltas: delta.filter((d) => d < 0).length,
  };
  log(`latency ${rate}/s rep ${rep}: achieved ${fmt(result.achievedRate, 0)}/s; follower − leader p50 ${fmt(result.delta.p50)} p99 ${fmt(result.delta.p99)} ms; publish → leader p50 ${fmt(result.toLeader.p50)} p99 ${fmt(result.toLeader.p99)}; publish → follower p50 ${fmt(result.toFollower.p50)} p99 ${fmt(result.toFollower.p99)}; clock biases node ${fmt(nodeBias, 3)} leader ${fmt(L.bias, 3)} follower ${fmt(F.bias, 3)}${result.ordered ? '' : '; GAP OR DUPLICATE'}`);
  return result;
}

// ---- (b) throughput ---------------------------------------------------------------------------------

async function throughputRun(context, relay, agent, rep) {
  const sessionId = `tabs-burst-${rep}-${Date.now().toString(36)}`;
  const { leader, follower } = await openPair(context, relay, sessionId);
  const session = agent.session(sessionId);
  await sleep(300);
  const nodeBias = clockBias();
  const { start, acked } = await publishBurst(session, burstCount, nodeBias);
  await waitDelivered(leader, burstCount, 300_000);
  await waitDelivered(follower, burstCount, 300_000);
  const [L, F] = [await recording(leader), await recording(follower)];
  session.close();
  await closeAll(context);
  const last = (rec) => Math.max(...rec.arrivals.map(([, , t]) => t));
  const first = (rec) => Math.min(...rec.arrivals.map(([, , t]) => t));
  const result = {
    rep,
    count: burstCount,
    acceptedRate: (burstCount * 1000) / (acked - start),
    leaderRate: (burstCount * 1000) / (last(L) - start),
    followerRate: (burstCount * 1000) / (last(F) - start),
    // Once events flow: from each page's first arrival to its last.
    leaderStreamRate: (burstCount * 1000) / (last(L) - first(L)),
    followerStreamRate: (burstCount * 1000) / (last(F) - first(F)),
    followerLagAtEndMs: last(F) - last(L),
    ordered: checkSerials(L.serials) && checkSerials(F.serials) && L.arrivals.length === burstCount && F.arrivals.length === burstCount,
  };
  log(`throughput rep ${rep}: accepted ${fmt(result.acceptedRate, 0)}/s; delivered leader ${fmt(result.leaderRate, 0)}/s, follower ${fmt(result.followerRate, 0)}/s; follower's last event ${fmt(result.followerLagAtEndMs, 1)} ms after the leader's${result.ordered ? '' : '; GAP OR DUPLICATE'}`);
  return result;
}

// ---- (c) failover -----------------------------------------------------------------------------------

async function failoverRun(context, relay, agent, rep) {
  const sessionId = `tabs-failover-${rep}-${Date.now().toString(36)}`;
  const { leader, follower } = await openPair(context, relay, sessionId);
  const session = agent.session(sessionId);
  await sleep(300);
  const nodeBias = clockBias();
  // 4 s of events at --failover-rate; the leader is closed 2 s in.
  const count = Math.round(failoverRate * 4);
  const closeAt = Math.round(count / 2);
  let closing = null;
  let closedAt;
  let closeReturnedAt;
  const published = publishPaced(session, count, failoverRate, nodeBias, (i) => {
    if (i !== closeAt) return;
    closedAt = nodeNow() - nodeBias;
    closing = leader.close().then(() => { closeReturnedAt = nodeNow() - nodeBias; });
  });
  await published;
  await closing;
  await waitDelivered(follower, count, 60_000);
  await follower.waitForFunction(() => window.session.state === 'live', null, { timeout: 30_000 });
  const F = await recording(follower);
  session.close();
  await closeAll(context);
  const roleAt = F.roles.find(([role, t]) => role === 'leader' && t >= closedAt)?.[1];
  const liveAt = F.states.find(([state, t]) => state === 'live' && t >= (roleAt ?? closedAt))?.[1];
  const statesAfter = F.states.filter(([, t]) => t >= closedAt).map(([state, t]) => `${state}@${fmt(t - closedAt, 1)}`);
  const lastBefore = Math.max(...F.arrivals.filter(([, , t]) => t < closedAt).map(([, , t]) => t));
  const nextEvent = Math.min(...F.arrivals.filter(([, , t]) => t > (roleAt ?? closedAt)).map(([, , t]) => t));
  const result = {
    rep,
    rate: failoverRate,
    count,
    closeCallMs: closeReturnedAt - closedAt,
    toRoleLeaderMs: roleAt - closedAt,
    toLiveMs: liveAt - closedAt,
    toNextEventMs: nextEvent - closedAt,
    deliveryGapMs: nextEvent - lastBefore,
    statesAfter,
    ordered: checkSerials(F.serials) && F.arrivals.length === count,
  };
  log(`failover rep ${rep}: close() returned after ${fmt(result.closeCallMs, 1)} ms; follower leader after ${fmt(result.toRoleLeaderMs, 1)} ms, live after ${fmt(result.toLiveMs, 1)} ms, next event after ${fmt(result.toNextEventMs, 1)} ms (delivery gap ${fmt(result.deliveryGapMs, 1)} ms); states ${statesAfter.join(' ')}${result.ordered ? '' : '; GAP OR DUPLICATE'}`);
  return result;
}

// ---- main --------------------------------------------------------------------------------------

const git = (...args) => { try { return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim(); } catch { return '?'; } };
const started = new Date();
const report = {
  date: started.toISOString(),
  commit: git('rev-parse', '--short', 'HEAD'),
  sdkDir,
  relayBinary,
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg().map((l) => l.toFixed(2)),
  chromium: execFileSync(chromiumPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
  latency: [], throughput: [], failover: [],
};
const relay = await startRelay(fail);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-bench-tabs-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, args: chromiumArgs, headless: true });
const agent = await connectAgent(relay.wsUrl);
try {
  // The persistent context opens with one blank page; it takes no part.
  if (!skip.has('latency')) {
    for (let k = 0; k < rates.length; k++) {
      for (let rep = 0; rep < reps; rep++) report.latency.push(await latencyRun(context, relay, agent, rates[k], counts[k], rep));
    }
  }
  if (!skip.has('throughput')) for (let rep = 0; rep < reps; rep++) report.throughput.push(await throughputRun(context, relay, agent, rep));
  if (!skip.has('failover')) for (let rep = 0; rep < reps; rep++) report.failover.push(await failoverRun(context, relay, agent, rep));
} finally {
  agent.close();
  await context.close().catch(() => {});
  await stopRelay(relay);
  fs.rmSync(profile, { recursive: true, force: true });
}
report.loadavgAfter = os.loadavg().map((l) => l.toFixed(2));
report.durationS = (Date.now() - started.getTime()) / 1000;

// ---- report --------------------------------------------------------------------------------------
const out = (line = '') => console.log(line);
out(`Tabs benchmark, ${report.date} (${report.durationS.toFixed(0)} s), commit ${report.commit}, ${report.chromium}, Node ${report.node}, ${report.cpus} CPUs, load ${report.loadavg.join(' ')} → ${report.loadavgAfter.join(' ')}`);
out(`SDK ${path.relative(root, sdkDir) || '.'}, relay ${path.relative(root, relayBinary)}, demo ${path.relative(root, demoDir)}`);
if (report.latency.length) {
  out();
  out(`(a) Latency, ms (per-run percentiles; medians over ${reps} runs; one leader tab and one follower tab of one profile on the demo page):`);
  out();
  out('| rate (achieved) | events/run | follower − leader p50 | p99 | publish → leader p50 | p99 | publish → follower p50 | p99 | publish → follower ÷ publish → leader, p50 | p99 | runs without gap/dup |');
  out('|---|---|---|---|---|---|---|---|---|---|---|');
  for (let k = 0; k < rates.length; k++) {
    const runs = report.latency.filter((r) => r.rate === rates[k]);
    const m = (f) => median(runs.map(f));
    out(`| ${rates[k]}/s (${fmt(m((r) => r.achievedRate), 0)}) | ${counts[k]} | ${fmt(m((r) => r.delta.p50))} | ${fmt(m((r) => r.delta.p99))} | ${fmt(m((r) => r.toLeader.p50))} | ${fmt(m((r) => r.toLeader.p99))} | ${fmt(m((r) => r.toFollower.p50))} | ${fmt(m((r) => r.toFollower.p99))} | ${fmt(m((r) => r.toFollower.p50) / m((r) => r.toLeader.p50))}× | ${fmt(m((r) => r.toFollower.p99) / m((r) => r.toLeader.p99))}× | ${runs.filter((r) => r.ordered).length}/${runs.length} |`);
  }
  out();
  out(`Clock biases (hi-res − Date.now(), ms), range over runs: node ${report.latency.map((r) => fmt(r.biases.node, 3)).join(' ')}; leader ${report.latency.map((r) => fmt(r.biases.leader, 3)).join(' ')}; follower ${report.latency.map((r) => fmt(r.biases.follower, 3)).join(' ')}. Negative follower − leader deltas per run (the leader posts the frame to the channel before applying it itself, so a follower can stamp first): ${report.latency.map((r) => r.negativeDeltas).join(' ')}. Visibility: ${[...new Set(report.latency.flatMap((r) => r.visibility))].join(', ')}.`);
}
if (report.throughput.length) {
  const m = (f) => median(report.throughput.map(f));
  out();
  out(`(b) Throughput, ${burstCount.toLocaleString('en')} events published as fast as the relay acks them (${inFlight} in flight); events/s from the first publish to each page's last arrival (medians of ${reps}):`);
  out();
  out('| accepted (publisher) | delivered to leader | delivered to follower | follower ÷ leader | follower, first → last arrival | follower\'s last event after the leader\'s (ms) | runs without gap/dup |');
  out('|---|---|---|---|---|---|---|');
  out(`| ${fmt(m((r) => r.acceptedRate), 0)} | ${fmt(m((r) => r.leaderRate), 0)} | ${fmt(m((r) => r.followerRate), 0)} | ${fmt(m((r) => r.followerRate) / m((r) => r.leaderRate))}× | ${fmt(m((r) => r.followerStreamRate), 0)} | ${fmt(m((r) => r.followerLagAtEndMs), 1)} | ${report.throughput.filter((r) => r.ordered).length}/${report.throughput.length} |`);
}
if (report.failover.length) {
  const m = (f) => median(report.failover.map(f));
  const range = (f) => `${fmt(Math.min(...report.failover.map(f)), 1)}–${fmt(Math.max(...report.failover.map(f)), 1)}`;
  out();
  out(`(c) Failover: the leader page closed mid-stream (${failoverRate} events/s); ms from the close() call (medians of ${reps}, range):`);
  out();
  out('| page.close() returned | follower role \'leader\' | session \'live\' again | next event delivered | follower delivery gap | runs without gap/dup |');
  out('|---|---|---|---|---|---|');
  out(`| ${fmt(m((r) => r.closeCallMs), 1)} (${range((r) => r.closeCallMs)}) | ${fmt(m((r) => r.toRoleLeaderMs), 1)} (${range((r) => r.toRoleLeaderMs)}) | ${fmt(m((r) => r.toLiveMs), 1)} (${range((r) => r.toLiveMs)}) | ${fmt(m((r) => r.toNextEventMs), 1)} (${range((r) => r.toNextEventMs)}) | ${fmt(m((r) => r.deliveryGapMs), 1)} (${range((r) => r.deliveryGapMs)}) | ${report.failover.filter((r) => r.ordered).length}/${report.failover.length} |`);
  out();
  for (const r of report.failover) out(`- run ${r.rep}: states after the close: ${r.statesAfter.join(' ') || 'none'}`);
}
if (flags.json) {
  fs.writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
  log(`raw figures in ${flags.json}`);
}
