// Resilient delivery in the browser: the network drops mid-answer, a prompt is sent while
// offline, the relay is killed (SIGKILL) and restarted mid-answer. Each time the page must end
// with exactly the agent's answer — no gap, no duplicate fragment, one bubble per message — and
// the relay's log must hold every publish exactly once. This suite runs its own relay (SQLite
// store, so it can be killed and restarted) and a slower agent, so outages land mid-answer.
// Layer: e2e (Playwright, Chromium).
import { expect, test } from '@playwright/test';

import { composeAnswer } from '../demo/agent/answer.mjs';
import { relayFixture, relayLog as fetchLog, stop, uniqueSession as unique } from './support.mjs';

const port = Number(process.env.HOLDFAST_E2E_RESILIENCE_PORT ?? 18090);
const base = `http://127.0.0.1:${port}`;
const tokensPerSecond = 20;  // a ~70-word answer takes ~3.5 s: room for an outage inside it

test.describe.configure({ mode: 'serial' });

const fx = relayFixture(test, { port, tokensPerSecond, name: 'resilience' });

const uniqueSession = (testInfo) => unique('res', testInfo);

async function openDemo(page, session) {
  await page.goto(`${base}/?session=${encodeURIComponent(session)}`);
  await expect(page.getByTestId('state')).toHaveText('live');
}

async function ask(page, text) {
  await page.getByTestId('prompt-input').fill(text);
  await page.getByTestId('send').click();
}

async function relayLog(session) {
  return (await fetchLog(base, session)).events;
}

/** The log holds serials 1..n, one prompt, and one complete answer whose deltas spell `text`. */
async function expectExactLog(session, prompt) {
  const events = await relayLog(session);
  expect(events.map((e) => e.serial)).toEqual(events.map((_, i) => i + 1));
  const prompts = events.filter((e) => e.kind === 'user.prompt');
  expect(prompts.map((e) => e.payload.text)).toEqual([prompt]);
  const starts = events.filter((e) => e.kind === 'message.start');
  const ends = events.filter((e) => e.kind === 'message.end');
  expect(starts).toHaveLength(1);
  expect(ends).toHaveLength(1);
  const deltas = events.filter((e) => e.kind === 'message.delta' && e.msgId === starts[0].msgId);
  expect(deltas.map((e) => e.payload.text).join('')).toBe(composeAnswer(prompt));
}

/** Waits until the streaming answer shows a few words: the outage then lands mid-answer. */
async function waitMidAnswer(page) {
  const answer = page.locator('[data-testid="message"][data-role="assistant"]');
  await expect(answer).toHaveAttribute('data-status', 'streaming');
  await expect.poll(async () => (await answer.locator('.text').textContent()).split(' ').length).toBeGreaterThan(5);
  return answer;
}

test('the network drops mid-answer for seconds; the page ends with exactly the agent\'s answer', async ({ page, context }, testInfo) => {
  const session = uniqueSession(testInfo);
  await openDemo(page, session);
  const prompt = 'What happens when my Wi-Fi blinks?';
  await ask(page, prompt);
  const answer = await waitMidAnswer(page);

  await context.setOffline(true);
  await expect(page.getByTestId('state')).toHaveText('offline');
  const seenBeforeOutage = await answer.locator('.text').textContent();
  // The agent keeps writing during the outage; the page must not miss or repeat any of it.
  await page.waitForTimeout(2500);
  await context.setOffline(false);

  await expect(page.getByTestId('state')).toHaveText('live');
  await expect(answer).toHaveAttribute('data-status', 'complete');
  await expect(answer.locator('.text')).toHaveText(composeAnswer(prompt));
  expect(composeAnswer(prompt).startsWith(seenBeforeOutage)).toBe(true);
  await expect(page.getByTestId('message')).toHaveCount(2);
  await expectExactLog(session, prompt);
});

test('a prompt sent while offline arrives exactly once after the network returns', async ({ page, context }, testInfo) => {
  const session = uniqueSession(testInfo);
  await openDemo(page, session);
  await context.setOffline(true);
  await expect(page.getByTestId('state')).toHaveText('offline');
  const prompt = 'queued while offline';
  await ask(page, prompt);
  await context.setOffline(false);

  const answer = page.locator('[data-testid="message"][data-role="assistant"]');
  await expect(answer).toHaveAttribute('data-status', 'complete');
  await expect(answer.locator('.text')).toHaveText(composeAnswer(prompt));
  await expect(page.locator('[data-testid="message"][data-role="user"]')).toHaveCount(1);
  await expectExactLog(session, prompt);
});

test('the relay is killed and restarted mid-answer; page and agent recover by themselves', async ({ page }, testInfo) => {
  const session = uniqueSession(testInfo);
  await openDemo(page, session);
  const prompt = 'Survive a relay crash, please';
  await ask(page, prompt);
  const answer = await waitMidAnswer(page);

  await fx.stopRelay('SIGKILL');
  await expect(page.getByTestId('state')).not.toHaveText('live');
  await fx.startRelay();

  await expect(page.getByTestId('state')).toHaveText('live');
  await expect(answer).toHaveAttribute('data-status', 'complete');
  await expect(answer.locator('.text')).toHaveText(composeAnswer(prompt));
  await expect(page.getByTestId('message')).toHaveCount(2);
  await expectExactLog(session, prompt);
});
