// Live control from any surface: Stop pressed in one tab stops the answer another tab is watching
// (both show it cancelled, no delta after the agent's end); a dropped network never cancels (the
// answer keeps growing on another device); a steer changes the rest of the answer; a team prompt
// makes two agents stream into one session, where one message or the whole run can be stopped.
// Layer: e2e (Playwright, Chromium).
import { chromium, expect, test } from '@playwright/test';
import path from 'node:path';

import { composeAnswer, composeSteered, composeTeamPart } from '../demo/agent/answer.mjs';
import { chromiumArgs, relayFixture, relayLog, startAgent, uniqueSession } from './support.mjs';

const port = Number(process.env.HOLDFAST_E2E_CONTROL_PORT ?? 18105);
const base = `http://127.0.0.1:${port}`;

test.describe.configure({ mode: 'serial' });

const fx = relayFixture(test, { port, tokensPerSecond: 15, name: 'control' });

const launch = (name) => chromium.launchPersistentContext(path.join(fx.dataDir, name), { executablePath: '/usr/bin/chromium', args: chromiumArgs, headless: true });

async function open(context, session) {
  const page = await context.newPage();
  await page.goto(`${base}/?session=${session}`);
  await expect(page.getByTestId('state')).toHaveText('live');
  return page;
}

const bubble = (page, role = 'assistant') => page.locator(`[data-testid="message"][data-role="${role}"]`);
async function ask(page, text) {
  await page.getByTestId('prompt-input').fill(text);
  await page.getByTestId('send').click();
}
async function wordsShown(locator) {
  return (await locator.locator('.text').textContent()).split(' ').length;
}

test('Stop in tab B stops the answer tab A is watching; both show it cancelled', async ({}, testInfo) => {
  const session = uniqueSession('stop', testInfo);
  const context = await launch('stop');
  const a = await open(context, session);
  const b = await open(context, session);
  const prompt = 'Please stop me halfway';
  await ask(a, prompt);
  await expect(bubble(a)).toHaveAttribute('data-status', 'streaming');
  await expect.poll(() => wordsShown(bubble(a))).toBeGreaterThan(4);
  await b.getByTestId('stop').click();
  for (const page of [a, b]) await expect(bubble(page)).toHaveAttribute('data-status', 'cancelled');
  const stoppedText = await bubble(a).locator('.text').textContent();
  expect(composeAnswer(prompt).startsWith(stoppedText)).toBe(true);
  expect(stoppedText.length).toBeLessThan(composeAnswer(prompt).length);

  const events = (await relayLog(base, session)).events;
  const cancel = events.find((e) => e.kind === 'control.cancel');
  const end = events.find((e) => e.kind === 'message.end');
  const outcome = events.find((e) => e.kind === 'control.outcome');
  expect(end.payload.status).toBe('cancelled');
  expect(outcome.payload).toMatchObject({ control: cancel.serial, outcome: 'applied' });
  // Once the agent acknowledged the cancel (its end), not one more word of that answer.
  expect(events.filter((e) => e.kind === 'message.delta' && e.msgId === end.msgId && e.serial > end.serial)).toHaveLength(0);
  await context.close();
});

test('a dropped network never cancels: the answer keeps growing on device B', async ({}, testInfo) => {
  const session = uniqueSession('no-cancel', testInfo);
  const deviceA = await launch('device-a');
  const deviceB = await launch('device-b');
  const a = await open(deviceA, session);
  const b = await open(deviceB, session);
  const prompt = 'Keep going even if I drop';
  await ask(a, prompt);
  await expect.poll(() => wordsShown(bubble(a))).toBeGreaterThan(3);
  await deviceA.setOffline(true);
  await expect(a.getByTestId('state')).toHaveText('offline');
  const seenOnA = await wordsShown(bubble(a));
  await expect.poll(() => wordsShown(bubble(b))).toBeGreaterThan(seenOnA + 5);
  await expect(bubble(b)).toHaveAttribute('data-status', 'complete');
  await deviceA.setOffline(false);
  await expect(bubble(a)).toHaveAttribute('data-status', 'complete');
  await expect(bubble(a).locator('.text')).toHaveText(composeAnswer(prompt));
  await deviceA.close();
  await deviceB.close();
});

test('a steer mid-answer changes the rest of the answer', async ({}, testInfo) => {
  const session = uniqueSession('steer', testInfo);
  const context = await launch('steer');
  const page = await open(context, session);
  const prompt = 'Tell me a long story';
  await ask(page, prompt);
  await expect.poll(() => wordsShown(bubble(page))).toBeGreaterThan(3);
  await page.getByTestId('prompt-input').fill('talk about boats');
  await page.getByTestId('steer').click();
  await expect(bubble(page)).toHaveAttribute('data-status', 'complete');
  const text = await bubble(page).locator('.text').textContent();
  expect(text.endsWith(composeSteered('talk about boats'))).toBe(true);
  expect(composeAnswer(prompt).startsWith(text.slice(0, text.length - composeSteered('talk about boats').length))).toBe(true);
  const outcome = (await relayLog(base, session)).events.find((e) => e.kind === 'control.outcome');
  expect(outcome.payload.outcome).toBe('applied');
  await context.close();
});

test('two agents stream into one session; one message, then the run, can be stopped', async ({}, testInfo) => {
  const session = uniqueSession('team', testInfo);
  const context = await launch('team');
  const page = await open(context, session);
  await ask(page, 'team: durable sessions');
  const researcher = page.locator('[data-testid="message"][data-id$="-researcher"]');
  const writer = page.locator('[data-testid="message"][data-id$="-writer"]');
  await expect(researcher).toHaveAttribute('data-status', 'streaming');
  await expect(writer).toHaveAttribute('data-status', 'streaming');
  // Both stream at once: interleaved deltas from two producers.
  await expect.poll(async () => Math.min(await wordsShown(researcher), await wordsShown(writer))).toBeGreaterThan(2);
  const researcherId = await researcher.getAttribute('data-id');
  expect(await page.evaluate((id) => window.session.cancel(id), researcherId)).toBe('applied');
  await expect(researcher).toHaveAttribute('data-status', 'cancelled');
  await expect(writer).toHaveAttribute('data-status', 'streaming');  // the other agent keeps going
  await expect(writer).toHaveAttribute('data-status', 'complete');
  await expect(writer.locator('.text')).toHaveText(composeTeamPart('writer', 'team: durable sessions'));

  // A second team prompt, stopped as a whole run.
  await ask(page, 'team: stop everything');
  const second = page.locator('[data-testid="message"][data-id*="-"][data-status="streaming"]');
  await expect(second).toHaveCount(2);
  const run = `run-reply-${(await page.locator('[data-role="user"]').nth(1).getAttribute('data-id'))}`;
  expect(await page.evaluate((target) => window.session.cancel(target), run)).toBe('applied');
  await expect(page.locator('[data-status="cancelled"]')).toHaveCount(3);
  await context.close();
});

test('an agent killed mid-answer has its message ended as agent_lost once its lease runs out', async ({}, testInfo) => {
  const session = uniqueSession('lost', testInfo);
  const context = await launch('lost');
  const page = await open(context, session);
  await ask(page, 'An answer whose agent dies');
  await expect.poll(() => wordsShown(bubble(page))).toBeGreaterThan(3);
  const killedAt = Date.now();
  fx.agent.kill('SIGKILL');
  // The relay's default lease is 5 s: no surface shows a forever-streaming bubble.
  await expect(bubble(page)).toHaveAttribute('data-status', 'error', { timeout: 15_000 });
  expect(Date.now() - killedAt).toBeGreaterThan(4000);  // a disconnect alone ended nothing
  const end = (await relayLog(base, session)).events.find((e) => e.kind === 'message.end');
  expect(end.payload).toMatchObject({ status: 'error', reason: 'agent_lost' });
  await context.close();
  fx.agent = await startAgent(fx.port, 15);  // for whatever runs after
});
