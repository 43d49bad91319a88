// The npm package as front-end developers use it: scripts/vite-app.sh packs `holdfast`, installs
// the tarball into the Vite app fixture (e2e/vite-app, copied to build/vite-app) with current Vite,
// React and the AI SDK from npm, and builds it; `vite preview` serves it; Chromium drives it
// against a real relay and the demo agent. The vanilla page and the React hook render a streamed
// answer, Stop stops it, a reload resumes it; useChat with HoldfastChatTransport streams, survives
// a cut link with the exact text, shows the same in a second tab, and stops the agent. The
// consumer file of every entry type-checks under tsc --strict, and the installed holdfast/agent
// gets a cancel sent while its link was down. Layer: e2e (Playwright, Chromium; Node for the agent).
import { chromium, expect, test } from '@playwright/test';
import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

import { composeAnswer } from '../demo/agent/answer.mjs';
import { chromiumArgs, relayFixture, relayLog, root, stop, uniqueSession } from './support.mjs';

const port = Number(process.env.HOLDFAST_E2E_VITE_PORT ?? 18140);
const appPort = port + 1;
const appBase = `http://127.0.0.1:${appPort}`;
const appDir = path.join(root, 'build/vite-app');

test.describe.configure({ mode: 'serial' });

// Slow enough that Stop, a reload and a cut link land mid-answer (about 70 words: ~6 s).
const fx = relayFixture(test, { port, tokensPerSecond: 12, name: 'vite-app' });
let preview = null;

function run(command, args, options = {}) {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, maxBuffer: 16 << 20, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

test.beforeAll(async () => {
  test.setTimeout(600_000);  // a cold npm cache downloads Vite, React and the AI SDK once
  const built = await run('bash', ['scripts/vite-app.sh'], { env: { ...process.env, VITE_HOLDFAST_URL: `ws://127.0.0.1:${port}/v1/ws` } });
  if (built.code !== 0) throw new Error(`scripts/vite-app.sh failed:\n${built.output}`);
  preview = spawn(process.execPath, [path.join(appDir, 'node_modules/vite/bin/vite.js'), 'preview', '--port', String(appPort), '--strictPort', '--host', '127.0.0.1'],
    { cwd: appDir, stdio: ['ignore', 'ignore', 'pipe'] });
  preview.stderr.on('data', () => {});
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${appBase}/index.html`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('vite preview did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test.afterAll(async () => { await stop(preview); });

const launch = (name) => chromium.launchPersistentContext(path.join(fx.dataDir, name), { executablePath: '/usr/bin/chromium', args: chromiumArgs, headless: true });

const assistant = (page) => page.locator('[data-testid="message"][data-role="assistant"]');
const words = async (locator) => ((await locator.textContent()) ?? '').trim().split(/\s+/).filter(Boolean).length;

async function ask(page, text) {
  await page.getByLabel('prompt').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

/** The reply's text as the relay stored it: its deltas, in serial order. */
async function storedReply(session) {
  const events = (await relayLog(fx.base, session)).events;
  const start = events.find((e) => e.kind === 'message.start');
  const mine = events.filter((e) => e.msg_id === start.msg_id);
  return {
    text: mine.filter((e) => e.kind === 'message.delta').map((e) => e.payload.text).join(''),
    end: mine.find((e) => e.kind === 'message.end'),
  };
}

test('the consumer file of every entry type-checks under tsc --strict --noEmit', async () => {
  const checked = await run(process.execPath, [path.join(appDir, 'node_modules/typescript/bin/tsc'), '-p', 'typecheck/tsconfig.json'], { cwd: appDir });
  expect(checked.output).toBe('');
  expect(checked.code).toBe(0);
});

test('the build ships the .wasm the package finds with new URL(..., import.meta.url)', async () => {
  const html = await (await fetch(`${appBase}/index.html`)).text();
  expect(html).toContain('<script type="module"');
  const listing = await run('ls', [path.join(appDir, 'dist/assets')]);
  expect(listing.output).toMatch(/holdfast_core-[\w-]+\.wasm/);
});

test('holdfast/agent from the installed package: a cancel sent while the agent is cut off aborts its model call once it is back within its lease', async ({}, testInfo) => {
  // Resolved through the installed package's exports map, as an app's `import 'holdfast/agent'`.
  const requireFromApp = createRequire(path.join(appDir, 'package.json'));
  const { Holdfast, connectAgent, pipeUIMessageStream } = await import(pathToFileURL(requireFromApp.resolve('holdfast/agent')).href);
  const url = `ws://127.0.0.1:${port}/v1/ws`;
  const agentSockets = [];
  class TrackedWebSocket extends WebSocket {
    constructor(address) { super(address); agentSockets.push(this); }
  }
  const agent = await connectAgent({ url, agent: 'pipe-agent', WebSocket: TrackedWebSocket });
  const user = await Holdfast.connect({ url, storage: 'memory', WebSocket });
  const id = uniqueSession('vite-agent', testInfo);
  const as = agent.session(id);
  const us = user.session(id);
  let modelSignal = null;
  // A simulated streamText result: a word per 50 ms until its abortSignal fires.
  const piping = pipeUIMessageStream(as, (abortSignal) => {
    modelSignal = abortSignal;
    return {
      toUIMessageStream: () => new ReadableStream({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          if (abortSignal.aborted) controller.error(new DOMException('aborted', 'AbortError'));
          else controller.enqueue({ type: 'text-delta', id: 't', delta: 'word ' });
        },
      }),
    };
  }, { msgId: 'piped-reply' });
  await expect.poll(() => us.messages()[0]?.text.length ?? 0).toBeGreaterThan(10);
  agentSockets.at(-1).terminate();  // the agent's link dies; the relay starts its lease
  const outcome = await us.cancel('piped-reply');
  expect(outcome).toBe('applied');
  expect(modelSignal.aborted).toBe(true);
  const result = await piping;
  expect(result.status).toBe('cancelled');
  expect(agentSockets.length).toBeGreaterThan(1);  // it was back on a new link
  const events = (await relayLog(fx.base, id)).events;
  const end = events.find((e) => e.kind === 'message.end');
  expect(end.payload.status).toBe('cancelled');  // the agent's end, not the lease's agent_lost
  expect(events.filter((e) => e.kind === 'message.delta').map((e) => e.payload.text).join('')).toBe(us.messages()[0].text);
  agent.close();
  user.close();
});

test('vanilla JS: the page streams an answer and Stop cancels the next', async ({}, testInfo) => {
  const session = uniqueSession('vite-vanilla', testInfo);
  const context = await launch('vanilla');
  const page = await context.newPage();
  await page.goto(`${appBase}/vanilla.html?chat=${session}`);
  await expect(page.locator('#state')).toHaveText('live');
  await ask(page, 'Plain script please');
  const replies = page.locator('#messages li[data-role="assistant"]');
  await expect(replies.first()).toHaveAttribute('data-status', 'complete');
  await expect(replies.first()).toHaveText(composeAnswer('Plain script please'));
  await ask(page, 'Now stop');
  await expect.poll(() => words(replies.nth(1))).toBeGreaterThanOrEqual(3);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(replies.nth(1)).toHaveAttribute('data-status', 'cancelled');
  await context.close();
});

test.describe('React hook (useSession)', () => {
  test('renders a streamed answer', async ({}, testInfo) => {
    const session = uniqueSession('vite-react', testInfo);
    const context = await launch('react-stream');
    const page = await context.newPage();
    await page.goto(`${appBase}/index.html?chat=${session}`);
    await expect(page.getByTestId('state')).toHaveText('live');
    await ask(page, 'How does the React hook stream?');
    await expect(page.locator('[data-testid="message"][data-role="user"]')).toHaveText('How does the React hook stream?');
    // Seen while streaming, then complete with exactly the agent's answer.
    await expect(assistant(page)).toHaveAttribute('data-status', 'streaming');
    await expect(assistant(page)).toHaveAttribute('data-status', 'complete');
    await expect(assistant(page)).toHaveText(composeAnswer('How does the React hook stream?'));
    await context.close();
  });

  test('Stop cancels the answer; the page keeps what the relay stored', async ({}, testInfo) => {
    const session = uniqueSession('vite-stop', testInfo);
    const context = await launch('react-stop');
    const page = await context.newPage();
    await page.goto(`${appBase}/index.html?chat=${session}`);
    await expect(page.getByTestId('state')).toHaveText('live');
    await ask(page, 'Please stop me halfway');
    await expect.poll(() => words(assistant(page))).toBeGreaterThanOrEqual(4);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect(assistant(page)).toHaveAttribute('data-status', 'cancelled');
    await expect(page.getByRole('button', { name: 'Stop' })).toBeDisabled();
    const stored = await storedReply(session);
    expect(stored.end.payload.status).toBe('cancelled');
    await expect(assistant(page)).toHaveText(stored.text.trim());
    expect(composeAnswer('Please stop me halfway').startsWith(stored.text)).toBe(true);
    expect(stored.text.length).toBeLessThan(composeAnswer('Please stop me halfway').length);
    await context.close();
  });

  test('a reload mid-answer resumes it to the exact text, once', async ({}, testInfo) => {
    const session = uniqueSession('vite-reload', testInfo);
    const context = await launch('react-reload');
    const page = await context.newPage();
    await page.goto(`${appBase}/index.html?chat=${session}`);
    await expect(page.getByTestId('state')).toHaveText('live');
    await ask(page, 'Reload me in the middle');
    await expect.poll(() => words(assistant(page))).toBeGreaterThanOrEqual(4);
    await page.reload();
    await expect(page.locator('[data-testid="message"][data-role="user"]')).toHaveText('Reload me in the middle');
    await expect(assistant(page)).toHaveAttribute('data-status', 'complete');
    await expect(assistant(page)).toHaveText(composeAnswer('Reload me in the middle'));
    await expect(assistant(page)).toHaveCount(1);
    await context.close();
  });
});

test.describe('AI SDK useChat with HoldfastChatTransport', () => {
  test('the answer streams through useChat', async ({}, testInfo) => {
    const session = uniqueSession('vite-chat', testInfo);
    const context = await launch('chat-stream');
    const page = await context.newPage();
    await page.goto(`${appBase}/chat.html?chat=${session}`);
    await expect(page.getByTestId('status')).toHaveText('ready');
    await ask(page, 'Stream through useChat');
    await expect(page.getByTestId('status')).toHaveText('streaming');
    await expect(page.getByTestId('status')).toHaveText('ready');
    await expect(assistant(page)).toHaveText(composeAnswer('Stream through useChat'));
    await context.close();
  });

  test('a link cut mid-answer resumes with the exact text', async ({}, testInfo) => {
    const session = uniqueSession('vite-cut', testInfo);
    const context = await launch('chat-cut');
    const page = await context.newPage();
    await page.goto(`${appBase}/chat.html?chat=${session}`);
    await expect(page.getByTestId('status')).toHaveText('ready');
    await ask(page, 'Cut my link please');
    await expect.poll(() => words(assistant(page))).toBeGreaterThanOrEqual(4);
    await context.setOffline(true);
    const shownAtCut = await assistant(page).textContent();
    // The agent goes on writing while the page is cut off; the page shows none of it yet.
    await expect.poll(async () => (await storedReply(session)).text.trim().length).toBeGreaterThan(shownAtCut.length + 20);
    await expect(assistant(page)).toHaveText(shownAtCut);
    await context.setOffline(false);
    await expect(page.getByTestId('status')).toHaveText('ready');
    await expect(assistant(page)).toHaveText(composeAnswer('Cut my link please'));
    await expect(assistant(page)).toHaveCount(1);
    await context.close();
  });

  test('a second tab shows the same chat and answer', async ({}, testInfo) => {
    const session = uniqueSession('vite-tabs', testInfo);
    const context = await launch('chat-tabs');
    const first = await context.newPage();
    await first.goto(`${appBase}/chat.html?chat=${session}`);
    await expect(first.getByTestId('status')).toHaveText('ready');
    await ask(first, 'Show me in two tabs');
    await expect.poll(() => words(assistant(first))).toBeGreaterThanOrEqual(4);
    const second = await context.newPage();
    await second.goto(`${appBase}/chat.html?chat=${session}`);
    await expect(second.locator('[data-testid="message"][data-role="user"]')).toHaveText('Show me in two tabs');
    const answer = composeAnswer('Show me in two tabs');
    await expect(assistant(second)).toHaveText(answer);
    await expect(assistant(first)).toHaveText(answer);
    await expect(assistant(second)).toHaveCount(1);
    await context.close();
  });

  test("useChat's stop() cancels the agent", async ({}, testInfo) => {
    const session = uniqueSession('vite-chat-stop', testInfo);
    const context = await launch('chat-stop');
    const page = await context.newPage();
    await page.goto(`${appBase}/chat.html?chat=${session}`);
    await expect(page.getByTestId('status')).toHaveText('ready');
    await ask(page, 'Stop this chat answer');
    await expect.poll(() => words(assistant(page))).toBeGreaterThanOrEqual(4);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect(page.getByTestId('status')).toHaveText('ready');
    await expect.poll(async () => (await storedReply(session)).end?.payload.status).toBe('cancelled');
    expect((await storedReply(session)).text.length).toBeLessThan(composeAnswer('Stop this chat answer').length);
    await context.close();
  });
});
