// Processes and helpers the e2e suites that run their own relay share: start/stop a relay on a
// SQLite file (so it can be killed and restarted), start the demo agent, wait for health, read the
// relay's log and metrics over HTTP, serve the demo page and SDK from a separate static server
// (so a page can load while the relay is down). Layer: e2e.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const sdkDir = process.env.HOLDFAST_SDK_DIR ?? 'build/sdk';
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export function startRelay(port, dbPath) {
  const child = spawn('bin/holdfast-relay', ['--listen', `127.0.0.1:${port}`, '--store', `sqlite:${dbPath}`,
    '--static-dir', 'demo/web', '--sdk-dir', sdkDir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', () => {});
  return child;
}

export async function waitHealthy(base) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`relay at ${base} did not become healthy`);
}

export function startAgent(port, tokensPerSecond, env = {}) {
  const child = spawn('node', ['demo/agent/agent.mjs', '--url', `ws://127.0.0.1:${port}/v1/ws`, '--rate', String(tokensPerSecond)],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOLDFAST_SDK_DIR: sdkDir, ...env } });
  child.stderr.on('data', () => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent did not start')), 15_000);
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('$sessions live')) { clearTimeout(timer); resolve(child); }
    });
  });
}

export async function stop(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await gone;
}

/** The relay's log of a session over its HTTP API: {epoch, headSerial, events}. */
export async function relayLog(base, session) {
  const response = await fetch(`${base}/v1/sessions/${encodeURIComponent(session)}/events?from=0&limit=10000`);
  if (!response.ok) throw new Error(`GET events: ${response.status}`);
  return response.json();
}

/** One counter or gauge from the relay's Prometheus text. */
export async function relayMetric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.split(' ')[1]);
}

export function uniqueSession(prefix, testInfo) {
  return `${prefix}-${testInfo.workerIndex}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

const contentTypes = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

/** Serves demo/web at / and the SDK at /sdk/ — the page without the relay. Resolves {url, close}. */
export function startStaticServer() {
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url, 'http://x').pathname;
    const [dir, rest] = pathname.startsWith('/sdk/') ? [sdkDir, pathname.slice(5)] : ['demo/web', pathname === '/' ? 'index.html' : pathname.slice(1)];
    const file = path.resolve(root, dir, rest);
    if (!file.startsWith(path.resolve(root, dir)) || !fs.existsSync(file)) {
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
 * Registers, on a serial Playwright suite, a relay on a SQLite file in a temp dir plus the demo
 * agent, started before the suite's tests and stopped after them. The handle lets tests kill,
 * restart or pause them.
 * @param {typeof import('@playwright/test').test} test
 * @param {{port: number, tokensPerSecond: number, name: string, agentEnv?: Record<string, string>}} options
 */
export function relayFixture(test, { port, tokensPerSecond, name, agentEnv = {} }) {
  const fixture = {
    port,
    base: `http://127.0.0.1:${port}`,
    dataDir: '',
    relay: null,
    agent: null,
    dbPath() { return path.join(this.dataDir, 'relay.db'); },
    /** Starts (or restarts) the relay on the same database and port; resolves once healthy. */
    async startRelay() {
      this.relay = startRelay(port, this.dbPath());
      await waitHealthy(this.base);
    },
    async stopRelay(signal = 'SIGTERM') { await stop(this.relay, signal); },
  };
  test.beforeAll(async () => {
    fixture.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `holdfast-e2e-${name}-`));
    await fixture.startRelay();
    fixture.agent = await startAgent(port, tokensPerSecond, agentEnv);
  });
  test.afterAll(async () => {
    fixture.agent?.kill('SIGCONT');  // a test may have paused it
    await stop(fixture.agent);
    await stop(fixture.relay);
    fs.rmSync(fixture.dataDir, { recursive: true, force: true });
  });
  return fixture;
}
