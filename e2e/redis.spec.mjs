// Two relay nodes on one Redis in the browser: a page on each node follows the same session, the
// prompt goes in through one node, the demo agent (attached to the other) streams the answer, and
// both pages must end with the identical, complete answer; both nodes serve the same gap-free log.
// This suite starts its own redis-server (tests/redis/redis-server.sh: loopback, a free port, AOF
// with appendfsync always, a temp dir) and two relays on free ports. Layer: e2e (Playwright).
import { expect, test } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { composeAnswer } from '../demo/agent/answer.mjs';
import { relayLog, root, sdkDir, startAgent, stop, uniqueSession, waitHealthy } from './support.mjs';

const redisScript = path.join(root, 'tests/redis/redis-server.sh');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function startNode(port, storeUrl) {
  const child = spawn('bin/holdfast-relay', ['--listen', `127.0.0.1:${port}`, '--store', storeUrl,
    '--static-dir', 'demo/web', '--sdk-dir', sdkDir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', () => {});
  return child;
}

test.describe.configure({ mode: 'serial' });

const fx = { dir: '', redisPort: 0, nodes: [], agent: null };

test.beforeAll(async () => {
  fx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-e2e-redis-'));
  fx.redisPort = Number(execFileSync('bash', [redisScript, 'start', path.join(fx.dir, 'redis')]).toString().trim());
  const store = `redis://127.0.0.1:${fx.redisPort}/0`;
  for (let i = 0; i < 2; i += 1) {
    const port = await freePort();
    const node = { port, base: `http://127.0.0.1:${port}`, child: startNode(port, store) };
    fx.nodes.push(node);
    await waitHealthy(node.base);
  }
  // The agent lives on node 0 only; pages on node 1 reach it through Redis alone.
  fx.agent = await startAgent(fx.nodes[0].port, 40);
});

test.afterAll(async () => {
  await stop(fx.agent);
  for (const node of fx.nodes) await stop(node.child);
  try {
    execFileSync('bash', [redisScript, 'stop', path.join(fx.dir, 'redis')]);
  } finally {
    fs.rmSync(fx.dir, { recursive: true, force: true });
  }
});

async function openDemo(page, base, session) {
  await page.goto(`${base}/?session=${encodeURIComponent(session)}`);
  await expect(page.getByTestId('state')).toHaveText('live');
}

test('two pages on two nodes see one streamed answer, identical in both', async ({ browser }, testInfo) => {
  const session = uniqueSession('redis', testInfo);
  const pageOnAgentNode = await (await browser.newContext()).newPage();
  const pageOnOtherNode = await (await browser.newContext()).newPage();
  await openDemo(pageOnAgentNode, fx.nodes[0].base, session);
  await openDemo(pageOnOtherNode, fx.nodes[1].base, session);

  // The prompt enters through node 1; the agent on node 0 hears it through Redis and answers.
  const prompt = 'How do two relays share one conversation?';
  await pageOnOtherNode.getByTestId('prompt-input').fill(prompt);
  await pageOnOtherNode.getByTestId('send').click();

  for (const page of [pageOnAgentNode, pageOnOtherNode]) {
    const answer = page.locator('[data-testid="message"][data-role="assistant"]');
    await expect(answer).toHaveAttribute('data-status', 'complete');
    await expect(answer.locator('.text')).toHaveText(composeAnswer(prompt));
    await expect(page.getByTestId('message')).toHaveCount(2);
  }

  // Both nodes serve the same log: serials 1..n, one prompt, one complete answer.
  const [fromAgentNode, fromOtherNode] = await Promise.all(fx.nodes.map((node) => relayLog(node.base, session)));
  expect(fromOtherNode).toEqual(fromAgentNode);
  const events = fromAgentNode.events;
  expect(events.map((e) => e.serial)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => e.kind === 'user.prompt').map((e) => e.payload.text)).toEqual([prompt]);
  const starts = events.filter((e) => e.kind === 'message.start');
  expect(starts).toHaveLength(1);
  const deltas = events.filter((e) => e.kind === 'message.delta' && e.msgId === starts[0].msgId);
  expect(deltas.map((e) => e.payload.text).join('')).toBe(composeAnswer(prompt));
});
