// The relay with a secret and an Origin allow-list, seen from Chromium: a page from an origin that
// is not allowed cannot open a WebSocket (403 at the handshake), and a page holding a token
// scoped to session A gets A but is refused B. Layer: e2e (Playwright, Chromium).
import { chromium, expect, test } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromiumArgs, relayMetric, root, sdkDir, startStaticServer, stop, uniqueSession, waitHealthy } from './support.mjs';

const port = Number(process.env.HOLDFAST_E2E_SECURITY_PORT ?? 18107);
const base = `http://127.0.0.1:${port}`;
const wsUrl = `ws://127.0.0.1:${port}/v1/ws`;
const secret = 'e2e-security-secret-0123456789abcdef';

test.describe.configure({ mode: 'serial' });

/** A JWT HS256 capability token, as bin/holdfast-token mints them. */
function token(sessions, ttlSeconds = 600) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: 'e2e', exp: Math.floor(Date.now() / 1000) + ttlSeconds, sessions })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

let relay = null;
let dataDir = '';
let browser = null;

test.beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-e2e-security-'));
  relay = spawn('bin/holdfast-relay', ['--listen', `127.0.0.1:${port}`, '--store', 'memory:', '--static-dir', 'demo/web',
    '--sdk-dir', sdkDir, '--allowed-origins', base], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOLDFAST_AUTH_SECRET: secret } });
  relay.stderr.on('data', () => {});
  await waitHealthy(base);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs, headless: true });
});

test.afterAll(async () => {
  await browser?.close();
  await stop(relay);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a page from an origin that is not allowed cannot open a session', async () => {
  const other = await startStaticServer();  // another port: another origin
  try {
    const page = await browser.newPage();
    await page.goto(`${other.url}/sdk/holdfast.js`);
    const refusedBefore = await relayMetric(base, 'holdfast_http_requests_total{code="403"}').catch(() => 0);
    // Even holding a valid token, the handshake is refused before any frame.
    const outcome = await page.evaluate((url) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve('open');
      ws.onclose = (event) => resolve(`closed ${event.code}`);
    }), wsUrl);
    expect(outcome).toBe('closed 1006');
    expect(await relayMetric(base, 'holdfast_http_requests_total{code="403"}')).toBeGreaterThan(refusedBefore);

    // The same page loaded from the allowed origin opens one.
    const allowed = await browser.newPage();
    await allowed.goto(`${base}/sdk/holdfast.js`);
    expect(await allowed.evaluate((url) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => { resolve('open'); ws.close(); };
      ws.onclose = (event) => resolve(`closed ${event.code}`);
    }), wsUrl)).toBe('open');
  } finally {
    await other.close();
  }
});

test('a page with a token scoped to session A reads A and is refused B', async ({}, testInfo) => {
  const a = uniqueSession('sec-a', testInfo);
  const b = uniqueSession('sec-b', testInfo);
  // B has content, written over HTTP by a backend holding a token for it.
  const posted = await fetch(`${base}/v1/sessions/${b}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token({ [b]: ['agent'] })}` },
    body: JSON.stringify({ kind: 'user.prompt', msgId: 'secret-1', payload: { text: 'for B only' } }),
  });
  expect(posted.status).toBe(200);
  expect((await fetch(`${base}/v1/sessions/${b}/events`)).status).toBe(401);

  const page = await browser.newPage();
  await page.goto(`${base}/sdk/holdfast.js`);
  const seen = await page.evaluate(async ({ url, tokenA, a, b }) => {
    const { Holdfast } = await import('/sdk/holdfast.js');
    const hf = await Holdfast.connect({ url, getToken: async () => tokenA, storage: 'memory', tabs: 'isolated' });
    const errors = [];
    const forbidden = new Promise((resolve) => hf.on('error', (e) => { errors.push(e.name); if (e.name === 'forbidden') resolve(); }));
    const sa = hf.session(a);
    const serial = await sa.prompt('hello A');
    for (let i = 0; i < 100 && !sa.messages().some((m) => m.text === 'hello A'); ++i) await new Promise((r) => setTimeout(r, 50));
    const sb = hf.session(b);
    await forbidden;
    const result = { serial, aTexts: sa.messages().map((m) => m.text), bMessages: sb.messages().length, bState: sb.state, errors };
    hf.close();
    return result;
  }, { url: wsUrl, tokenA: token({ [a]: ['subscribe', 'publish'] }), a, b });
  expect(seen.serial).toBe(1);
  expect(seen.aTexts).toContain('hello A');
  expect(seen.bMessages).toBe(0);
  expect(seen.bState).not.toBe('live');
  expect(seen.errors).toContain('forbidden');
});
