// Continuity across tabs and devices: three tabs of one profile share one relay socket and render
// identical transcripts; closing the leader mid-answer hands over within a second with no gap or
// duplicate; prompts from followers (also while the leader is closing) land exactly once; a second
// browser context (another device) sees the same serials live. Layer: e2e (Playwright, Chromium).
import { chromium, expect, test } from '@playwright/test';
import path from 'node:path';

import { composeAnswer } from '../demo/agent/answer.mjs';
import { chromiumArgs, relayFixture, relayLog, relayMetric, uniqueSession } from './support.mjs';

const port = Number(process.env.HOLDFAST_E2E_TABS_PORT ?? 18100);
const base = `http://127.0.0.1:${port}`;

test.describe.configure({ mode: 'serial' });

const fx = relayFixture(test, { port, tokensPerSecond: 20, name: 'tabs' });

function launch(name) {
  return chromium.launchPersistentContext(path.join(fx.dataDir, name), { executablePath: '/usr/bin/chromium', args: chromiumArgs, headless: true });
}

/** Opens the demo on `session` and records every event serial the page's session delivers. */
async function openTab(context, session) {
  const page = await context.newPage();
  await page.goto(`${base}/?session=${session}`);
  await expect(page.getByTestId('state')).toHaveText('live');
  await page.evaluate(() => {
    window.serials = [];
    window.session.on('event', (event) => window.serials.push(event.serial));
  });
  return page;
}

const roleOf = (page) => page.evaluate(() => window.holdfast.role);
const answerOf = (page) => page.locator('[data-testid="message"][data-role="assistant"]');
const transcript = (page) => page.getByTestId('message').evaluateAll((bubbles) => bubbles.map((b) => [b.dataset.id, b.dataset.status, b.querySelector('.text').textContent]));

/** A tab's delivered serials since it started recording: consecutive, ending at `head`. */
async function expectNoGapNoDuplicate(page, head) {
  const serials = await page.evaluate(() => window.serials);
  expect(serials.length).toBeGreaterThan(0);
  expect(serials).toEqual(serials.map((_, i) => serials[0] + i));
  expect(serials.at(-1)).toBe(head);
}

async function ask(page, text) {
  await page.getByTestId('prompt-input').fill(text);
  await page.getByTestId('send').click();
}

async function promptsInLog(session, text) {
  return (await relayLog(base, session)).events.filter((e) => e.kind === 'user.prompt' && e.payload.text === text).length;
}

test('three tabs share one socket, render identical transcripts, and survive closing the leader mid-answer', async ({}, testInfo) => {
  const session = uniqueSession('tabs', testInfo);
  const context = await launch('profile-a');
  const tabs = [];
  for (let i = 0; i < 3; ++i) tabs.push(await openTab(context, session));
  const roles = await Promise.all(tabs.map(roleOf));
  expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
  expect(roles.filter((r) => r === 'follower')).toHaveLength(2);
  // One socket for the three tabs, plus the agent's.
  expect(await relayMetric(base, 'holdfast_open_connections')).toBe(2);

  const prompt = 'Tell all my tabs the same story';
  await ask(tabs[1], prompt);  // from a follower
  for (const tab of tabs) await expect(answerOf(tab)).toHaveAttribute('data-status', 'streaming');
  const streaming = await Promise.all(tabs.map((tab) => answerOf(tab).locator('.text').textContent()));
  expect(streaming.every((text) => composeAnswer(prompt).startsWith(text))).toBe(true);

  // Close the leader mid-answer.
  const leader = tabs[roles.indexOf('leader')];
  const rest = tabs.filter((tab) => tab !== leader);
  const closedAt = Date.now();
  await leader.close();
  await expect.poll(async () => (await Promise.all(rest.map(roleOf))).filter((r) => r === 'leader').length, { timeout: 5000 }).toBe(1);
  expect(Date.now() - closedAt).toBeLessThan(1500);

  for (const tab of rest) {
    await expect(answerOf(tab)).toHaveAttribute('data-status', 'complete');
    await expect(answerOf(tab).locator('.text')).toHaveText(composeAnswer(prompt));
  }
  const head = (await relayLog(base, session)).headSerial;
  for (const tab of rest) await expectNoGapNoDuplicate(tab, head);
  expect(await transcript(rest[0])).toEqual(await transcript(rest[1]));
  expect(await promptsInLog(session, prompt)).toBe(1);
  expect(await relayMetric(base, 'holdfast_open_connections')).toBe(2);
  await context.close();
});

test('a prompt sent from a follower while the leader is closing is delivered once', async ({}, testInfo) => {
  const session = uniqueSession('tabs-closing', testInfo);
  const context = await launch('profile-b');
  const first = await openTab(context, session);
  const second = await openTab(context, session);
  expect(await roleOf(first)).toBe('leader');
  expect(await roleOf(second)).toBe('follower');
  const prompt = 'sent while the leader closes';
  await Promise.all([ask(second, prompt), first.close()]);
  await expect.poll(() => roleOf(second)).toBe('leader');
  await expect(answerOf(second)).toHaveAttribute('data-status', 'complete');
  await expect(answerOf(second).locator('.text')).toHaveText(composeAnswer(prompt));
  expect(await promptsInLog(session, prompt)).toBe(1);
  await context.close();
});

test('another device sees the answer live with the same serials', async ({}, testInfo) => {
  const session = uniqueSession('devices', testInfo);
  const deviceA = await launch('device-a');
  const deviceB = await launch('device-b');
  const a = await openTab(deviceA, session);
  const b = await openTab(deviceB, session);
  const prompt = 'Same story on both devices';
  await ask(a, prompt);
  await expect(answerOf(b)).toHaveAttribute('data-status', 'streaming');  // live on B while A asked
  for (const page of [a, b]) await expect(answerOf(page)).toHaveAttribute('data-status', 'complete');
  const head = (await relayLog(base, session)).headSerial;
  for (const page of [a, b]) await expectNoGapNoDuplicate(page, head);
  expect(await a.evaluate(() => window.serials)).toEqual(await b.evaluate(() => window.serials));
  expect(await transcript(a)).toEqual(await transcript(b));
  await deviceA.close();
  await deviceB.close();
});

test('clearAll in one tab deletes every history for good: the leading tab closes instead of writing them back', async ({}, testInfo) => {
  // Sign-out in a follower tab: the leader holds every history in memory and used to copy it all
  // back to IndexedDB on its next write, including sessions no tab followed any more.
  const session = uniqueSession('tabs-clear', testInfo);
  const context = await launch('profile-clear');
  const leader = await openTab(context, session);
  await ask(leader, 'private question');
  await expect(answerOf(leader)).toHaveAttribute('data-status', 'complete', { timeout: 20_000 });
  await leader.evaluate(async () => {
    const old = window.holdfast.session('old-private-chat');
    await old.prompt('an older private conversation');
    old.close();
  });
  await leader.evaluate(() => window.holdfast.flush());
  const follower = await openTab(context, session);
  expect(await roleOf(leader)).toBe('leader');
  expect(await roleOf(follower)).toBe('follower');
  const storedHistories = () => follower.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('/holdfast');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const keys = await new Promise((resolve) => {
      const request = db.transaction('FILE_DATA').objectStore('FILE_DATA').getAllKeys();
      request.onsuccess = () => resolve(request.result);
    });
    db.close();
    return keys.map(String).filter((key) => key.includes('/s_'));
  });
  expect((await storedHistories()).some((key) => key.includes('old-private-chat'))).toBe(true);
  await leader.evaluate(() => {
    window.warnings = [];
    window.holdfast.on('warning', (w) => window.warnings.push(w.message));
  });

  await follower.evaluate(async () => {
    const { Holdfast } = await import('/sdk/holdfast.js');
    await Holdfast.clearAll();
  });
  await expect.poll(() => leader.evaluate(() => window.warnings.join(' | '))).toContain('clearAll');
  expect(await leader.evaluate(() => window.holdfast.connected)).toBe(false);
  expect(await storedHistories()).toEqual([]);
  await leader.waitForTimeout(1500);  // the leader's flush delay, several times over
  expect(await storedHistories()).toEqual([]);
  await context.close();
});
