// End-to-end tests of the demo page on the real relay and demo agent: a prompt streams back a
// complete answer with the expected text; a second page on the same session shows the same
// messages; a reload rebuilds the conversation from the relay. Layer: e2e (Playwright, Chromium).
import { expect, test } from '@playwright/test';

import { composeAnswer } from '../demo/agent/answer.mjs';

/** A session id no other test (or earlier run against the same relay) uses. */
function uniqueSession(testInfo) {
  return `e2e-${testInfo.workerIndex}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

async function openDemo(page, session) {
  await page.goto(`/?session=${encodeURIComponent(session)}`);
  await expect(page.getByTestId('state')).toHaveText('live');
}

/** [id, role, status, text] of every message bubble, in page order. */
function transcript(page) {
  return page.getByTestId('message').evaluateAll((bubbles) => bubbles.map((bubble) => [
    bubble.dataset.id, bubble.dataset.role, bubble.dataset.status, bubble.querySelector('.text').textContent,
  ]));
}

async function ask(page, text) {
  await page.getByTestId('prompt-input').fill(text);
  await page.getByTestId('send').click();
}

test('a prompt streams back a complete answer', async ({ page }, testInfo) => {
  const session = uniqueSession(testInfo);
  await openDemo(page, session);
  const prompt = 'How do durable sessions survive a reload?';
  await ask(page, prompt);

  const user = page.locator('[data-testid="message"][data-role="user"]');
  await expect(user).toHaveCount(1);
  await expect(user).toHaveAttribute('data-status', 'complete');
  await expect(user.locator('.text')).toHaveText(prompt);

  const answer = page.locator('[data-testid="message"][data-role="assistant"]');
  await expect(answer).toHaveCount(1);
  await expect(answer).toHaveAttribute('data-status', 'complete');
  await expect(answer.locator('.text')).toHaveText(composeAnswer(prompt));
  await expect(answer).toHaveAttribute('data-id', `reply-${await user.getAttribute('data-id')}`);
  await expect(page.getByTestId('message')).toHaveCount(2);
});

test('a second page on the same session sees the same messages', async ({ context }, testInfo) => {
  const session = uniqueSession(testInfo);
  const first = await context.newPage();
  const second = await context.newPage();
  await openDemo(first, session);
  await openDemo(second, session);

  await ask(first, 'first question from page one');
  await expect(second.locator('[data-role="assistant"][data-status="complete"]')).toHaveCount(1);
  await ask(second, 'second question from page two');
  for (const page of [first, second]) {
    await expect(page.locator('[data-role="assistant"][data-status="complete"]')).toHaveCount(2);
  }

  const seen = await transcript(first);
  expect(await transcript(second)).toEqual(seen);
  expect(seen.map(([, role]) => role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  expect(seen[1][3]).toBe(composeAnswer('first question from page one'));
  expect(seen[3][3]).toBe(composeAnswer('second question from page two'));

  // A page opened afterwards replays the same conversation from the relay.
  const late = await context.newPage();
  await openDemo(late, session);
  await expect(late.getByTestId('message')).toHaveCount(4);
  expect(await transcript(late)).toEqual(seen);
});

test('a reload rebuilds the conversation from the relay', async ({ page }, testInfo) => {
  const session = uniqueSession(testInfo);
  await openDemo(page, session);
  await ask(page, 'remember me');
  await expect(page.locator('[data-role="assistant"][data-status="complete"]')).toHaveCount(1);
  const before = await transcript(page);
  await page.reload();
  await expect(page.getByTestId('state')).toHaveText('live');
  await expect(page.getByTestId('message')).toHaveCount(2);
  expect(await transcript(page)).toEqual(before);
});
