// The demo agent's optional real LLM: with HOLDFAST_LLM_URL set it streams the answer from an
// OpenAI-compatible endpoint (here a fake one in this process speaking the chat-completions SSE
// stream), and Stop aborts that request. Layer: e2e (Playwright, Chromium).
import { chromium, expect, test } from '@playwright/test';
import http from 'node:http';
import path from 'node:path';

import { chromiumArgs, relayFixture, uniqueSession } from './support.mjs';

const port = Number(process.env.HOLDFAST_E2E_LLM_PORT ?? 18110);
const llmPort = port + 1;
const base = `http://127.0.0.1:${port}`;

test.describe.configure({ mode: 'serial' });

/** What the fake endpoint saw: one entry per request. */
const requests = [];
const fastPieces = ['Holdfast ', 'keeps ', 'the ', 'answer ', 'whole.'];
let fake;

test.beforeAll(async () => {
  fake = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', async () => {
      const entry = { url: req.url, auth: req.headers.authorization, body: JSON.parse(body), aborted: false, finished: false };
      requests.push(entry);
      res.on('close', () => { if (!entry.finished) entry.aborted = true; });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const prompt = entry.body.messages.at(-1).content;
      const slow = prompt.includes('slowly');
      const pieces = slow ? Array.from({ length: 400 }, (_, i) => `w${i} `) : fastPieces;
      for (const piece of pieces) {
        if (res.destroyed) return;
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
        await new Promise((resolve) => setTimeout(resolve, slow ? 50 : 5));
      }
      entry.finished = true;
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise((resolve) => fake.listen(llmPort, '127.0.0.1', resolve));
});
test.afterAll(async () => { await new Promise((resolve) => fake.close(resolve)); });

const fx = relayFixture(test, {
  port, tokensPerSecond: 50, name: 'llm',
  agentEnv: { HOLDFAST_LLM_URL: `http://127.0.0.1:${llmPort}/v1`, HOLDFAST_LLM_API_KEY: 'test-key', HOLDFAST_LLM_MODEL: 'fake-model' },
});

async function openPage(name, session) {
  const context = await chromium.launchPersistentContext(path.join(fx.dataDir, name), { executablePath: '/usr/bin/chromium', args: chromiumArgs, headless: true });
  const page = await context.newPage();
  await page.goto(`${base}/?session=${session}`);
  await expect(page.getByTestId('state')).toHaveText('live');
  return { context, page };
}
const bubble = (page) => page.locator('[data-testid="message"][data-role="assistant"]');

test('with HOLDFAST_LLM_URL set the demo agent streams the endpoint\'s answer', async ({}, testInfo) => {
  const session = uniqueSession('llm', testInfo);
  const { context, page } = await openPage('answer', session);
  await page.getByTestId('prompt-input').fill('what does holdfast do?');
  await page.getByTestId('send').click();
  await expect(bubble(page)).toHaveAttribute('data-status', 'complete');
  await expect(bubble(page).locator('.text')).toHaveText(fastPieces.join(''));
  const seen = requests.find((r) => r.body.messages.some((m) => m.content === 'what does holdfast do?'));
  expect(seen.url).toBe('/v1/chat/completions');
  expect(seen.auth).toBe('Bearer test-key');
  expect(seen.body.model).toBe('fake-model');
  expect(seen.body.stream).toBe(true);
  await context.close();
});

test('Stop aborts the LLM request and the answer ends cancelled', async ({}, testInfo) => {
  const session = uniqueSession('llm-stop', testInfo);
  const { context, page } = await openPage('stop', session);
  await page.getByTestId('prompt-input').fill('answer slowly please');
  await page.getByTestId('send').click();
  await expect(bubble(page).locator('.text')).toContainText('w3 ');
  await page.getByTestId('stop').click();
  await expect(bubble(page)).toHaveAttribute('data-status', 'cancelled');
  const seen = requests.find((r) => r.body.messages.some((m) => m.content === 'answer slowly please'));
  await expect.poll(() => seen.aborted).toBe(true);
  expect(seen.finished).toBe(false);
  await context.close();
});
