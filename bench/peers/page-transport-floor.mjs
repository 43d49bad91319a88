// The floor under scenario C in a Chromium page: how long Chromium's WebSocket alone takes to hand
// a 10,100-event replay from the relay to a page handler that does nothing but count bytes. The
// page first follows the session with the SDK (storage 'memory'), recording the hello and attach
// frames it sends and the bytes its replay took; each run then opens a plain WebSocket, sends
// those two frames and times the replay's arrival, message by message. What the SDK spends on top
// of this (decode, history, JSON, the app's events) runs on the same main thread that reads the
// socket, so the two add up rather than overlap (docs/benchmarks.md, "C"). Layer: bench.
//   node bench/peers/page-transport-floor.mjs          Env: RUNS (5), HOLDFAST_SDK_DIR, HOLDFAST_RELAY_BIN
import { chromium } from 'playwright-core';

import adapter from './holdfast.mjs';
import { chromiumArgs, chromiumPath } from '../browser/support.mjs';

const runs = Number(process.env.RUNS ?? 5);
const events = 10100;  // scenario C's 100 before the cut and 10,000 during it, replayed from serial 0
const server = await adapter.startServer({});
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
const session = `transport-floor-${Date.now()}`;
const publisher = await adapter.createPublisher(server.info, session);
try {
  for (let i = 0; i < events; i++) publisher.append({ seq: i, t: 0, tok: 'x' });
  await publisher.barrier();
  const page = await browser.newPage();
  await page.goto(adapter.browser.pageUrl({ info: server.info }));
  const result = await page.evaluate(async ({ info, session, events, runs }) => {
    const { Holdfast, WebSocketTransport } = await import('/sdk/holdfast.js');
    const sent = [];
    let replayBytes = 0;
    const hf = await Holdfast.connect({
      url: info.ws, storage: 'memory',
      transport: (url, impl) => {
        const link = new WebSocketTransport(url, impl);
        const send = link.send.bind(link);
        link.send = (frame) => { sent.push(new Uint8Array(frame).slice()); send(frame); };
        // The SDK sets onFrame after construction: count the bytes on the way through.
        let onFrame = null;
        Object.defineProperty(link, 'onFrame', {
          get: () => onFrame,
          set: (handler) => { onFrame = (frame) => { replayBytes += frame.byteLength ?? frame.length; handler(frame); }; },
        });
        return link;
      },
    });
    const s = hf.session(session);
    let held = 0;
    s.on('event', () => { held++; });
    await new Promise((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`the SDK holds ${held} of ${events} events after 30 s`)), 30000);
      const check = () => (s.state === 'live' && held >= events ? (clearTimeout(timeout), resolve()) : setTimeout(check, 5));
      check();
    });
    hf.close();
    const [hello, attach] = sent;
    const out = [];
    for (let run = 0; run < runs; run++) {
      await new Promise((r) => setTimeout(r, 300));
      const ws = new WebSocket(info.ws);
      ws.binaryType = 'arraybuffer';
      const t0 = performance.now();
      const arrivals = [];
      let bytes = 0;
      await new Promise((resolve, reject) => {
        const timeout = setTimeout(() => reject(new Error(`raw run ${run}: ${bytes} of ${replayBytes} bytes after 30 s`)), 30000);
        ws.onopen = () => { arrivals.push(`open ${(performance.now() - t0).toFixed(1)}`); ws.send(hello); ws.send(attach); };
        ws.onmessage = (e) => {
          bytes += e.data.byteLength;
          arrivals.push(`${(performance.now() - t0).toFixed(1)}:${Math.round(e.data.byteLength / 1024)}KiB`);
          // The SDK's link also carried its own acks and pongs: the replay is all but a few bytes of it.
          if (bytes >= replayBytes * 0.99) { clearTimeout(timeout); resolve(); }
        };
      });
      out.push({ ms: performance.now() - t0, arrivals });
      ws.close();
    }
    return { replayBytes, out };
  }, { info: server.info, session, events, runs });
  const times = result.out.map((r) => +r.ms.toFixed(1));
  for (const [i, r] of result.out.entries()) console.log(`run ${i}: ${r.ms.toFixed(1)} ms; ${r.arrivals.join(' ')}`);
  const sorted = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({ events, replayBytes: result.replayBytes, runs, rawMs: times, medianMs: sorted[Math.floor(sorted.length / 2)] }));
} finally {
  await browser.close();
  await publisher.close();
  await server.stop();
}
