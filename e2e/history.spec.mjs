// Local history in IndexedDB, in a persistent Chromium profile: a reload mid-answer shows the text
// already received before any socket connects (proved with the relay down: the page comes from a
// separate static server), the relay then replays only the missing tail (its metrics say so),
// the rest of the answer arrives, and after closing the browser the history is readable with the
// relay still down. Layer: e2e (Playwright, Chromium).
import { chromium, expect, test } from '@playwright/test';
import path from 'node:path';

import { composeAnswer } from '../demo/agent/answer.mjs';
import { chromiumArgs, relayFixture, relayLog, relayMetric, startStaticServer, uniqueSession } from './support.mjs';

const port = Number(process.env.HOLDFAST_E2E_HISTORY_PORT ?? 18095);
const base = `http://127.0.0.1:${port}`;

test.describe.configure({ mode: 'serial' });

const fx = relayFixture(test, { port, tokensPerSecond: 20, name: 'history' });
let site;
test.beforeAll(async () => { site = await startStaticServer(); });
test.afterAll(async () => { await site?.close(); });

function launch(profile) {
  return chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args: chromiumArgs, headless: true });
}

const bubbles = (page) => page.getByTestId('message');
const answerOf = (page) => page.locator('[data-testid="message"][data-role="assistant"]');
const stateOf = (page) => page.getByTestId('state');

test('reload mid-answer shows stored text before the link, replays only the tail, and survives a browser restart', async ({}, testInfo) => {
  const session = uniqueSession('hist', testInfo);
  const pageUrl = `${site.url}/?session=${session}&relay=${encodeURIComponent(`ws://127.0.0.1:${port}/v1/ws`)}`;
  const profile = path.join(fx.dataDir, 'profile');
  let context = await launch(profile);
  let page = context.pages()[0] ?? await context.newPage();
  await page.goto(pageUrl);
  await expect(stateOf(page)).toHaveText('live');
  const prompt = 'Keep my history across reloads';
  await page.getByTestId('prompt-input').fill(prompt);
  await page.getByTestId('send').click();
  await expect(answerOf(page)).toHaveAttribute('data-status', 'streaming');
  await expect.poll(async () => (await answerOf(page).locator('.text').textContent()).split(' ').length).toBeGreaterThan(5);

  // The page drops off the network while the agent keeps writing: the relay gets ahead of it.
  await context.setOffline(true);
  await expect(stateOf(page)).toHaveText('offline');
  const storedText = await answerOf(page).locator('.text').textContent();
  const storedSerial = await page.evaluate(() => window.session.lastSerial);
  await page.evaluate(() => window.holdfast.flush());
  await expect.poll(async () => (await relayLog(base, session)).headSerial).toBeGreaterThan(storedSerial + 5);

  // Freeze the agent (so only the page attaches next), stop the relay, and reload.
  fx.agent.kill('SIGSTOP');
  await fx.stopRelay('SIGKILL');
  await context.setOffline(false);
  await page.reload();
  await expect(answerOf(page).locator('.text')).toHaveText(storedText);
  await expect(answerOf(page)).toHaveAttribute('data-status', 'streaming');
  await expect(bubbles(page)).toHaveCount(2);
  await expect(stateOf(page)).not.toHaveText('live');

  // The relay comes back: the page asks for the tail only.
  await fx.startRelay();
  await expect(stateOf(page)).toHaveText('live');
  const head = (await relayLog(base, session)).headSerial;
  expect(await relayMetric(base, 'holdfast_events_replayed_total')).toBe(head - storedSerial);

  fx.agent.kill('SIGCONT');
  await expect(answerOf(page)).toHaveAttribute('data-status', 'complete');
  await expect(answerOf(page).locator('.text')).toHaveText(composeAnswer(prompt));
  const transcript = await bubbles(page).allTextContents();
  await page.evaluate(() => window.holdfast.flush());
  await context.close();

  // Reopen the browser with the relay down: the whole conversation is there.
  await fx.stopRelay('SIGKILL');
  context = await launch(profile);
  page = context.pages()[0] ?? await context.newPage();
  await page.goto(pageUrl);
  await expect(bubbles(page)).toHaveCount(2);
  expect(await bubbles(page).allTextContents()).toEqual(transcript);
  await expect(answerOf(page)).toHaveAttribute('data-status', 'complete');
  await expect(stateOf(page)).not.toHaveText('live');
  await context.close();
  await fx.startRelay();
});
