// Local history in IndexedDB, in a persistent Chromium profile: a reload mid-answer shows the text
// already received before any socket connects (proved with the relay down: the page comes from a
// separate static server), the relay then replays only the missing tail (its metrics say so),
// the rest of the answer arrives, and after closing the browser the history is readable with the
// relay still down. Layer: e2e (Playwright, Chromium).
import { chromium, expect, test } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

import { composeAnswer } from '../demo/agent/answer.mjs';
import { chromiumArgs, relayFixture, relayLog, relayMetric, root, sdkDir, startStaticServer, uniqueSession } from './support.mjs';

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

test('after the first sync, IndexedDB follows the files the history writes and removes: the same set as in memory', async ({}, testInfo) => {
  // The page copies only the paths its core reports changed (IdbStorage.js) once its lead's first,
  // whole sync is done. 1,500 events fold raw segments into chunks, which removes the raw files:
  // a copy that missed removals would leave them in IndexedDB.
  const session = uniqueSession('hist-files', testInfo);
  const url = `ws://127.0.0.1:${port}/v1/ws`;
  const context = await launch(path.join(fx.dataDir, 'profile-files'));
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(`${site.url}/?session=${session}&relay=${encodeURIComponent(url)}`);
  await expect(stateOf(page)).toHaveText('live');
  await page.evaluate(() => window.holdfast.flush());  // the lead's whole sync, before any event

  const { Holdfast } = await import(pathToFileURL(path.resolve(root, sdkDir, 'holdfast.js')).href);
  const wasmBinary = fs.readFileSync(path.resolve(root, sdkDir, 'holdfast_core.wasm'));
  const writer = await Holdfast.connect({ url, storage: 'memory', WebSocket, wasmBinary, agent: 'filler' });
  try {
    const ws = writer.session(session);
    const total = 1500;
    for (let from = 0; from < total; from += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => ws.publish('note', { n: from + k, text: `note ${from + k} of the filler agent` })));
      await page.evaluate(() => window.holdfast.flush());  // many partial syncs along the way
    }
  } finally {
    writer.close();
  }
  const head = (await relayLog(base, session)).headSerial;
  await expect.poll(() => page.evaluate(() => window.session.lastSerial)).toBe(head);
  await page.evaluate(() => window.holdfast.flush());

  const { files, keys } = await page.evaluate(async (id) => {
    const { loadCore } = await import('/sdk/loadCore.js');
    const { FS } = await loadCore();
    const inMemory = [];
    const walk = (dir) => {
      for (const name of FS.readdir(dir)) {
        if (name === '.' || name === '..') continue;
        const child = `${dir}/${name}`;
        inMemory.push(child);
        if (FS.isDir(FS.stat(child).mode)) walk(child);
      }
    };
    walk('/holdfast');
    const stored = await new Promise((resolve, reject) => {
      const open = indexedDB.open('/holdfast');
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const request = open.result.transaction(['FILE_DATA'], 'readonly').objectStore('FILE_DATA').getAllKeys();
        request.onerror = () => reject(request.error);
        request.onsuccess = () => { open.result.close(); resolve(request.result); };
      };
    });
    const mine = (p) => p.includes(id);
    return { files: inMemory.filter(mine).sort(), keys: stored.map(String).filter(mine).sort() };
  }, session);
  const names = files.map((f) => f.slice(f.lastIndexOf('/') + 1));
  expect(names.some((n) => n.startsWith('c'))).toBe(true);  // folds happened, so raw files were removed
  expect(keys).toEqual(files);

  // Another tab wipes IndexedDB (Holdfast.clearAll there) while this one leads: its next partial
  // copy must store the folders above the files it copies, or IDBFS could not load them again.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('/holdfast');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const transaction = open.result.transaction(['FILE_DATA'], 'readwrite');
      transaction.objectStore('FILE_DATA').clear();
      transaction.oncomplete = () => { open.result.close(); resolve(); };
      transaction.onabort = () => reject(transaction.error);
    };
  }));
  const again = await Holdfast.connect({ url, storage: 'memory', WebSocket, wasmBinary, agent: 'filler' });
  try {
    await again.session(session).publish('note', { n: 'after the wipe' });
  } finally {
    again.close();
  }
  await expect.poll(() => page.evaluate(() => window.session.lastSerial)).toBe(head + 1);
  await page.evaluate(() => window.holdfast.flush());
  const afterWipe = await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('/holdfast');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const request = open.result.transaction(['FILE_DATA'], 'readonly').objectStore('FILE_DATA').getAllKeys();
      request.onerror = () => reject(request.error);
      request.onsuccess = () => { open.result.close(); resolve(request.result.map(String)); };
    };
  }));
  expect(afterWipe.some((k) => k.includes(session))).toBe(true);  // the segment the new event went to
  for (const key of afterWipe) {
    for (let folder = key.slice(0, key.lastIndexOf('/')); folder.length > '/holdfast'.length; folder = folder.slice(0, folder.lastIndexOf('/'))) {
      expect(afterWipe, `${key} is stored without its folder ${folder}`).toContain(folder);
    }
  }
  await context.close();
});

test('a leader leaving for the back/forward cache starts its last copy before it lets the lock go, even behind a sync under way', async ({}, testInfo) => {
  // IndexedDB runs read-write transactions on one store in the order they were created. The next
  // leader can only write after this tab releases the lock, so this tab's last copy must exist as
  // a transaction by then. Here a transaction of the page's own holds the store, so the tab's
  // sync is stuck behind it; the tab is then hidden (pagehide, persisted) and a transaction
  // created right after stands for the next leader: it must already read what the tab holds in
  // memory, and what it writes (a marker in every file of the session) must not be overwritten.
  const session = uniqueSession('hist-leave', testInfo);
  const url = `ws://127.0.0.1:${port}/v1/ws`;
  const context = await launch(path.join(fx.dataDir, 'profile-leave'));
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(`${site.url}/?session=${session}&relay=${encodeURIComponent(url)}`);
    await expect(stateOf(page)).toHaveText('live');
    await page.evaluate(() => window.holdfast.flush());  // the lead's whole copy

    const { Holdfast } = await import(pathToFileURL(path.resolve(root, sdkDir, 'holdfast.js')).href);
    const wasmBinary = fs.readFileSync(path.resolve(root, sdkDir, 'holdfast_core.wasm'));
    const writer = await Holdfast.connect({ url, storage: 'memory', WebSocket, wasmBinary, agent: 'filler' });
    const notes = async (from) => {
      await Promise.all(Array.from({ length: 20 }, (_, k) => writer.session(session).publish('note', { n: from + k })));
      // The head read each time: the demo agent's own agent.attached may land at any moment.
      await expect.poll(async () => (await relayLog(base, session)).headSerial - await page.evaluate(() => window.session.lastSerial)).toBe(0);
    };
    await page.evaluate(() => {
      const digest = (key, bytes) => `${key}:${bytes.length}:${bytes.reduce((h, b) => (h * 31 + b) >>> 0, 7)}`;
      window.digest = digest;
      window.openHistory = () => new Promise((resolve, reject) => {
        const request = indexedDB.open('/holdfast');
        request.onerror = () => reject(request.error);
        request.onsuccess = () => resolve(request.result);
      });
      // The session's stored files as "path:length:hash"; the transaction is created by the call.
      // `mark`: then overwrite each with a marker, as a next leader's copy would.
      window.storedFiles = (db, id, mark = false) => new Promise((resolve, reject) => {
        const transaction = db.transaction(['FILE_DATA'], mark ? 'readwrite' : 'readonly');
        const store = transaction.objectStore('FILE_DATA');
        let files = [];
        const keys = store.getAllKeys();
        const values = store.getAll();
        values.onsuccess = () => {
          const records = keys.result.map((key, i) => [String(key), values.result[i]]).filter(([key, record]) => key.includes(id) && record.contents);
          files = records.map(([key, record]) => digest(key, record.contents)).sort();
          if (mark) for (const [key, record] of records) store.put({ ...record, contents: new TextEncoder().encode('next leader') }, key);
        };
        transaction.oncomplete = () => resolve(files);
        transaction.onabort = () => reject(transaction.error);
      });
    });
    try {
      await notes(0);
      await page.evaluate(() => window.holdfast.flush());
      // The page's own transaction holds the store until released (a request chain keeps it alive).
      await page.evaluate(() => window.openHistory().then((db) => {
        const store = db.transaction(['FILE_DATA'], 'readwrite').objectStore('FILE_DATA');
        let held = true;
        window.releaseStore = () => { held = false; };
        const keepAlive = () => { if (held) store.get('/holdfast').onsuccess = keepAlive; };
        keepAlive();
      }));
      await notes(20);
      await page.evaluate(() => { window.holdfast.flush(); });  // its transaction waits behind the page's
      await page.waitForTimeout(100);
      await notes(40);  // changed again: what only a last copy can take
    } finally {
      writer.close();
    }

    const { seen, memory } = await page.evaluate(async (id) => {
      const db = await window.openHistory();
      const { loadCore } = await import('/sdk/loadCore.js');
      const { FS } = await loadCore();
      const memory = [];
      const walk = (dir) => {
        for (const name of FS.readdir(dir)) {
          if (name === '.' || name === '..') continue;
          const child = `${dir}/${name}`;
          if (FS.isDir(FS.stat(child).mode)) walk(child);
          else if (child.includes(id)) FS.filesystems.IDBFS.loadLocalEntry(child, (error, entry) => { if (!error) memory.push(window.digest(child, entry.contents)); });
        }
      };
      walk('/holdfast');  // what the tab holds when it leaves
      let seen;
      try {
        window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
        seen = window.storedFiles(db, id, true);  // the next leader's first transaction
      } finally {
        window.releaseStore();
      }
      return { seen: await seen, memory: memory.sort() };
    }, session);
    expect(memory.length).toBeGreaterThan(0);
    expect(seen).toEqual(memory);
    await page.waitForTimeout(500);  // anything this tab still had queued would be written by now
    const later = await page.evaluate(async (id) => window.storedFiles(await window.openHistory(), id), session);
    const marker = new TextEncoder().encode('next leader');
    expect(later).toEqual(memory.map((file) => `${file.split(':')[0]}:${marker.length}:${marker.reduce((h, b) => (h * 31 + b) >>> 0, 7)}`));
  } finally {
    await context.close();
  }
});

test('an IndexedDB that refuses to open leaves the page live on memory storage, with a warning', async ({}, testInfo) => {
  // Private modes and blocked storage refuse the open; IDBFS's own open never called back then,
  // and connect() waited forever.
  const session = uniqueSession('hist-refused', testInfo);
  const context = await launch(path.join(fx.dataDir, 'profile-refused'));
  await context.addInitScript(() => {
    indexedDB.open = () => {
      const request = {};
      setTimeout(() => {
        Object.defineProperty(request, 'error', { value: new DOMException('refused for the test', 'InvalidStateError') });
        request.onerror?.({ target: request, preventDefault() {} });
      }, 0);
      return request;
    };
  });
  const page = context.pages()[0] ?? await context.newPage();
  const warnings = [];
  page.on('console', (message) => { if (message.type() === 'warning') warnings.push(message.text()); });
  await page.goto(`${site.url}/?session=${session}&relay=${encodeURIComponent(`ws://127.0.0.1:${port}/v1/ws`)}`);
  await expect(stateOf(page)).toHaveText('live');
  expect(await page.evaluate(() => window.holdfast.storage)).toBe('memory');
  await expect.poll(() => warnings.some((w) => w.includes('local history unavailable') && w.includes('refused for the test'))).toBe(true);
  await context.close();
});

test("damage found while a history opens reaches the session's 'corrupt' listener, and the relay refills it", async ({}, testInfo) => {
  // The damage is found inside hf.session(), before its caller could add a listener: the event
  // used to fire there and then, heard by no one.
  const session = uniqueSession('hist-corrupt', testInfo);
  const context = await launch(path.join(fx.dataDir, 'profile-corrupt'));
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(`${site.url}/sdk/loadCore.js`);  // the origin only (a text document): no demo page
  const relay = `ws://127.0.0.1:${port}/v1/ws`;
  const written = await page.evaluate(async ({ relay, session }) => {
    const { Holdfast } = await import('/sdk/holdfast.js');
    const hf = await Holdfast.connect({ url: relay });
    const s = hf.session(session);
    for (let i = 0; i < 6; i++) await s.publish('note', { i, text: `note ${i} `.repeat(20) });
    await hf.flush();
    const last = s.lastSerial;
    hf.close();
    return last;
  }, { relay, session });
  // Flip bytes in the middle of a stored record of that session.
  const damaged = await page.evaluate(async (session) => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('/holdfast');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const store = (mode) => db.transaction('FILE_DATA', mode).objectStore('FILE_DATA');
    const done = (request) => new Promise((resolve, reject) => { request.onsuccess = () => resolve(request.result); request.onerror = () => reject(request.error); });
    const keys = (await done(store('readonly').getAllKeys())).filter((key) => String(key).includes(`/s_${session}/r`));
    if (keys.length === 0) return null;
    const key = keys[Math.floor(keys.length / 2)];
    const value = await done(store('readonly').get(key));
    const bytes = new Uint8Array(value.contents);
    for (let i = Math.floor(bytes.length / 2); i < bytes.length; i += 7) bytes[i] ^= 0x5a;
    value.contents = bytes;
    await done(store('readwrite').put(value, key));
    db.close();
    return String(key);
  }, session);
  expect(damaged, 'a stored record of the session').not.toBeNull();

  await page.reload();
  const seen = await page.evaluate(async ({ relay, session, written }) => {
    const { Holdfast } = await import('/sdk/holdfast.js');
    const hf = await Holdfast.connect({ url: relay });
    const s = hf.session(session);
    const corrupt = [];
    s.on('corrupt', (event) => corrupt.push(event));  // after session() returned, as an app does
    const heldAtOpen = s.lastSerial;
    await new Promise((resolve) => {
      const check = () => (s.state === 'live' && s.lastSerial >= written ? resolve() : setTimeout(check, 20));
      check();
    });
    const result = { corrupt, heldAtOpen, lastSerial: s.lastSerial };
    hf.close();
    return result;
  }, { relay, session, written });
  expect(seen.corrupt.length).toBe(1);
  expect(seen.corrupt[0].problems.length).toBeGreaterThan(0);
  expect(seen.heldAtOpen).toBeLessThan(written);  // the history was cut at the damage
  expect(seen.lastSerial).toBeGreaterThanOrEqual(written);  // and the relay gave the rest back
  await context.close();
});

test('a prompt sent with the relay down and the page reloaded at once is resent after the reload, once', async ({}, testInfo) => {
  // The outbox reaches IndexedDB in the copy made on pagehide; its transaction used to be
  // committed only when the page's task ended, and a reload within the flush delay lost it.
  const session = uniqueSession('hist-outbox', testInfo);
  const pageUrl = `${site.url}/?session=${session}&relay=${encodeURIComponent(`ws://127.0.0.1:${port}/v1/ws`)}`;
  const context = await launch(path.join(fx.dataDir, 'profile-outbox'));
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(pageUrl);
  await expect(stateOf(page)).toHaveText('live');
  await page.evaluate(() => window.holdfast.flush());  // the lead's first, whole copy is done
  fx.agent.kill('SIGSTOP');  // only the prompt is written while the relay is back
  await fx.stopRelay('SIGKILL');
  await expect(stateOf(page)).not.toHaveText('live');
  const prompt = `sent while the relay is down ${Date.now()}`;
  await page.evaluate((text) => { window.session.prompt(text).catch(() => {}); }, prompt);
  await page.reload();  // well within the 300 ms flush delay
  await expect(stateOf(page)).not.toHaveText('live');
  await fx.startRelay();
  await expect(stateOf(page)).toHaveText('live');
  await expect.poll(async () => (await relayLog(base, session)).events.filter((e) => e.payload?.text === prompt).length).toBe(1);
  await page.waitForTimeout(500);  // a duplicate would have been appended by now
  expect((await relayLog(base, session)).events.filter((e) => e.payload?.text === prompt).length).toBe(1);
  fx.agent.kill('SIGCONT');
  await context.close();
});

test('an IndexedDB that refuses the writes reaches the app as a HoldfastError store_failure', async ({}, testInfo) => {
  // A database another script of the origin made with the same name and version, but whose store
  // lacks the index IDBFS reads: the history opens (nothing stored) and every copy then fails.
  const session = uniqueSession('hist-badstore', testInfo);
  const context = await launch(path.join(fx.dataDir, 'profile-badstore'));
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(`${site.url}/sdk/loadCore.js`);  // the origin only (a text document)
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('/holdfast', 21);  // IDBFS's DB_VERSION: no upgrade of its own
    open.onupgradeneeded = () => open.result.createObjectStore('FILE_DATA', { keyPath: 'key' });
    open.onsuccess = () => { open.result.close(); resolve(); };
    open.onerror = () => reject(open.error);
  }));
  const errors = await page.evaluate(async ({ relay, session }) => {
    const { Holdfast, HoldfastError } = await import('/sdk/holdfast.js');
    const hf = await Holdfast.connect({ url: relay });
    const seen = [];
    hf.on('error', (error) => seen.push({ holdfast: error instanceof HoldfastError, name: error.name, message: error.message }));
    await hf.session(session).prompt('kept on the relay, not here');
    // The copy made within flushDelayMs (300 ms) fails; its error goes to 'error'. (hf.flush()
    // would reject with it instead.)
    await new Promise((resolve) => setTimeout(resolve, 1000));
    hf.close();
    return seen;
  }, { relay: `ws://127.0.0.1:${port}/v1/ws`, session });
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) {
    expect(error).toMatchObject({ holdfast: true, name: 'store_failure' });
    expect(error.message).toContain('local history not saved');
  }
  await context.close();
});
