// What the browser benchmarks share: where the build and Chromium are, and a relay child process
// on a free loopback port (memory store, the demo page and the SDK as its static folders).
// Layer: bench. HOLDFAST_SDK_DIR, HOLDFAST_RELAY_BINARY and HOLDFAST_DEMO_DIR point it at another
// build (e.g. a clean export of one commit).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sdkDir = path.resolve(root, process.env.HOLDFAST_SDK_DIR ?? 'build/sdk');
export const relayBinary = path.resolve(root, process.env.HOLDFAST_RELAY_BINARY ?? 'build/native/server/holdfast-relay');
export const demoDir = path.resolve(root, process.env.HOLDFAST_DEMO_DIR ?? 'demo/web');
export const chromiumPath = '/usr/bin/chromium';
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the relay and waits for /healthz; `fail(message)` ends the benchmark when it cannot. */
export async function startRelay(fail) {
  const port = await freePort();
  const child = spawn(relayBinary, ['--listen', `127.0.0.1:${port}`, '--store', 'memory:',
    '--static-dir', demoDir, '--sdk-dir', sdkDir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) fail(`the relay exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) fail(`the relay on ${base} did not become healthy: ${stderr}`);
    await sleep(50);
  }
  return { child, base, wsUrl: `ws://127.0.0.1:${port}/v1/ws` };
}

export async function stopRelay(relay) {
  const { child } = relay;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

/**
 * What every browser benchmark needs before it starts, checked (these scripts build nothing):
 * the SDK and relay builds, Debian's Chromium, and the npm tools. `fail(message)` ends the
 * benchmark when something is missing.
 * @returns {Promise<{chromium: any, WebSocket: any, Holdfast: any, wasmBinary: Buffer}>}
 */
export async function loadBenchTools(fail) {
  for (const file of ['holdfast.js', 'holdfast_core.js', 'holdfast_core.wasm']) {
    if (!fs.existsSync(path.join(sdkDir, file))) fail(`${path.join(sdkDir, file)} is missing: build the SDK first (bash scripts/build.sh wasm)`);
  }
  if (!fs.existsSync(relayBinary)) fail(`relay binary ${relayBinary} is missing: build it first (bash scripts/build.sh native)`);
  if (!fs.existsSync(chromiumPath)) fail(`${chromiumPath} is missing (Debian's chromium package); this script never downloads a browser`);
  let chromium;
  let WebSocket;
  try {
    ({ chromium } = await import('playwright-core'));
    WebSocket = (await import('ws')).default;
  } catch (error) {
    fail(`playwright-core or ws is not installed (npm ci): ${error.message}`);
  }
  const { Holdfast } = await import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
  return { chromium, WebSocket, Holdfast, wasmBinary: fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm')) };
}
