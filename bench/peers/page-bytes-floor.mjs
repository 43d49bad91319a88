// How long Chromium's WebSocket takes to hand a page a replay-sized burst, as a function of its
// bytes alone: a `ws` server sends five binary messages of total/5 bytes on request, and a page
// whose `onmessage` only counts bytes times their arrival. No Holdfast code runs. This is what
// showed that scenario C's floor in a page follows the replay's bytes (docs/benchmarks.md), which
// the packed events frames (docs/protocol.md) then cut. `DEFLATE=1` negotiates permessage-deflate,
// to see whether the cost is before or after decompression (it is after: no gain). Layer: bench.
//   node bench/peers/page-bytes-floor.mjs [totalBytes...]     Env: RUNS (9), DEFLATE
import http from 'node:http';

import { chromium } from 'playwright-core';
import { WebSocketServer } from 'ws';

import { chromiumArgs, chromiumPath } from '../browser/support.mjs';

const runs = Number(process.env.RUNS ?? 9);
const totals = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (!totals.length) totals.push(1_350_000, 1_000_000, 700_000, 550_000, 350_000, 275_000);
const messages = 5;

const server = http.createServer((request, response) => {
  response.setHeader('content-type', 'text/html');
  response.end('<!doctype html><title>bytes floor</title>');
});
const sockets = new WebSocketServer({ server, perMessageDeflate: process.env.DEFLATE ? { threshold: 1024 } : false });
sockets.on('connection', (socket) => socket.on('message', (request) => {
  const size = Number(String(request));
  // Varied bytes, so a deflate run compresses them as it would a replay, not as zeros.
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (Math.imul(i, 2654435761) >>> 24) & (i % 7 ? 0xff : 0x0f);
  for (let i = 0; i < messages; i++) socket.send(body);
}));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  const results = [];
  for (const total of totals) {
    const times = await page.evaluate(async ({ port, total, messages, runs }) => {
      const out = [];
      for (let run = 0; run < runs; run++) {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
        socket.binaryType = 'arraybuffer';
        await new Promise((resolve) => { socket.onopen = resolve; });
        let received = 0;
        const start = performance.now();
        await new Promise((resolve) => {
          socket.onmessage = (event) => { received += event.data.byteLength; if (received >= total) resolve(); };
          socket.send(String(Math.ceil(total / messages)));
        });
        out.push(performance.now() - start);
        socket.close();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return out.sort((a, b) => a - b);
    }, { port, total, messages, runs });
    const median = times[Math.floor(times.length / 2)];
    console.log(`${total} bytes in ${messages} messages: median ${median.toFixed(1)} ms (${times[0].toFixed(1)}–${times.at(-1).toFixed(1)})`);
    results.push({ totalBytes: total, medianMs: Math.round(median * 10) / 10, minMs: Math.round(times[0] * 10) / 10, maxMs: Math.round(times.at(-1) * 10) / 10 });
  }
  console.log(JSON.stringify({ runs, deflate: Boolean(process.env.DEFLATE), results }));
} finally {
  await browser.close();
  server.close();
}
