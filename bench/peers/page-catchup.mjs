// Scenario C in a Chromium page, broken down: the adapter's own page code (holdfast.mjs's
// browser.subscribe) holds 100 events, its link is cut, 10,000 more are appended, and it resumes.
// Prints ms from resume() to the last event, and per relay WebSocket message its arrival (ms from
// resume), handler time and size. Layer: bench. Playwright drives Debian Chromium.
//   node bench/peers/page-catchup.mjs [chromium flags...]      e.g. --js-flags=--no-wasm-dynamic-tiering
// Env: RUNS (3), PAGE_PROF=DIR (a CDP CPU profile of each catch-up), PAGE_TRACE=PREFIX (a Chrome
// trace of each, PREFIX-N.json), HOLDFAST_SDK_DIR (another SDK build, as for holdfast.mjs),
// RELOAD=1 (every run in one tab of one browser context, the page loaded anew, 3 s apart: what a
// user's reload gets from the browser's caches), RESTART=1 (every run in a browser started anew
// on one profile, 3 s after the last: what a returning visitor gets from the disk caches; not
// with PAGE_TRACE).
import fs from 'node:fs';
import { chromium } from 'playwright-core';

import adapter from './holdfast.mjs';
import { chromiumArgs, chromiumPath } from '../browser/support.mjs';

const runs = Number(process.env.RUNS ?? 3);
const gap = 10000;
const mono = () => Number(process.hrtime.bigint()) / 1e6;
const server = await adapter.startServer({});
const launchOptions = { executablePath: chromiumPath, headless: true, args: [...chromiumArgs, ...process.argv.slice(2)] };
const restart = process.env.RESTART === '1';
if (restart && process.env.PAGE_TRACE) throw new Error('page-catchup: PAGE_TRACE traces a launched browser, not RESTART=1\'s persistent contexts');
const profileDir = restart ? fs.mkdtempSync('/tmp/holdfast-page-catchup-') : null;
let browser = restart ? null : await chromium.launch(launchOptions);
const results = [];
const reload = process.env.RELOAD === '1';
const context = reload ? await browser.newContext() : null;
const tab = reload ? await context.newPage() : null;
let persistent = null;
try {
  for (let run = 0; run < runs; run++) {
    const session = `page-catchup-${Date.now()}-${run}`;
    const pub = await adapter.createPublisher(server.info, session);
    // V8 caches a module's optimized code about 2 s after it was compiled.
    if ((reload || restart) && run > 0) await new Promise((r) => setTimeout(r, 3000));
    if (restart) {
      await persistent?.close();
      persistent = await chromium.launchPersistentContext(profileDir, launchOptions);
      browser = persistent;  // tracing and newPage below work on the context alike
    }
    const page = tab ?? (restart ? persistent.pages()[0] ?? await persistent.newPage() : await browser.newPage());
    await page.goto(adapter.browser.pageUrl({ info: server.info }));
    await page.evaluate(`window.__subscribe = ${adapter.browser.subscribe.toString()}`);
    // Every WebSocket message: [arrival, handler ms, bytes] (the SDK's drain runs in a microtask
    // right after the handler, so it is not in the handler's time).
    await page.evaluate(() => {
      window.__messages = [];
      const onmessage = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
      Object.defineProperty(WebSocket.prototype, 'onmessage', {
        get() { return onmessage.get.call(this); },
        set(handler) {
          onmessage.set.call(this, (event) => {
            const t0 = performance.now();
            handler(event);
            window.__messages.push([t0, performance.now() - t0, event.data.byteLength ?? event.data.length]);
          });
        },
      });
    });
    await page.evaluate(async ({ info, session, total }) => {
      window.__count = 0;
      window.__done = null;
      window.__sub = await window.__subscribe({ info, session }, () => {
        if (++window.__count === total && window.__done) window.__done();
      });
    }, { info: server.info, session, total: 100 + gap });
    for (let i = 0; i < 100; i++) pub.append({ seq: i, t: mono(), tok: 'x' });
    await pub.barrier();
    await page.waitForFunction(() => window.__count >= 100);
    await page.evaluate(() => window.__sub.cut());
    for (let i = 100; i < 100 + gap; i++) pub.append({ seq: i, t: mono(), tok: 'x' });
    await pub.barrier();
    await new Promise((r) => setTimeout(r, 300));
    if (process.env.PAGE_TRACE) {
      await browser.startTracing(page, { path: `${process.env.PAGE_TRACE}-${run}.json`,
        categories: ['devtools.timeline', 'v8', 'v8.wasm', 'toplevel', 'blink', 'mojom'] });
    }
    const cdp = await page.context().newCDPSession(page);
    if (process.env.PAGE_PROF) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    }
    const r = await page.evaluate(async () => {
      const t0 = performance.now();
      const all = new Promise((resolve) => { window.__done = resolve; });
      await window.__sub.resume();
      await all;
      const ms = performance.now() - t0;
      const messages = window.__messages.filter(([t]) => t >= t0)
        .map(([t, d, n]) => `${(t - t0).toFixed(1)}+${d.toFixed(1)}ms:${Math.round(n / 1024)}KiB`);
      return { ms, messages };
    });
    if (process.env.PAGE_PROF) {
      const { profile } = await cdp.send('Profiler.stop');
      fs.mkdirSync(process.env.PAGE_PROF, { recursive: true });
      fs.writeFileSync(`${process.env.PAGE_PROF}/page-catchup-${run}.cpuprofile`, JSON.stringify(profile));
    }
    if (process.env.PAGE_TRACE) await browser.stopTracing();
    console.log(`run ${run}: ${r.ms.toFixed(1)} ms; messages (arrival+handler:size) ${r.messages.join(' ')}`);
    results.push(r.ms);
    if (!reload && !restart) await page.close();
    await pub.close();
  }
} finally {
  await (persistent ?? browser)?.close();
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  await server.stop();
}
const sorted = [...results].sort((a, b) => a - b);
console.log(JSON.stringify({ gap, runs, catchupMs: results.map((x) => +x.toFixed(1)), medianMs: +sorted[Math.floor(sorted.length / 2)].toFixed(1) }));
