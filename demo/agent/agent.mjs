#!/usr/bin/env node
// The Holdfast demo agent: a Node process that uses the SDK itself (build/sdk, with the `ws`
// package and the .wasm bytes) to follow the relay's `$sessions` index, open every session
// announced there, and answer each user.prompt with a simulated LLM stream
// (message.start, one message.delta per word at a fixed rate, message.end). Layer: demo.
// It never answers a prompt twice: a prompt whose reply id already has a message in the replayed
// log is skipped, so restarts and reconnects are safe. It honours control.cancel on a reply.
//
// Usage: node demo/agent/agent.mjs [--url ws://127.0.0.1:8080/v1/ws] [--rate 50] [--agent demo-agent]
// Env: HOLDFAST_URL, HOLDFAST_RATE, HOLDFAST_AGENT, HOLDFAST_SDK_DIR (default build/sdk).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

import { answerTokens } from './answer.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: flags } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.HOLDFAST_URL ?? 'ws://127.0.0.1:8080/v1/ws' },
    rate: { type: 'string', default: process.env.HOLDFAST_RATE ?? '50' },
    agent: { type: 'string', default: process.env.HOLDFAST_AGENT ?? 'demo-agent' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('usage: agent.mjs [--url ws://host:port/v1/ws] [--rate tokens-per-second] [--agent name]');
  process.exit(0);
}
const tokensPerSecond = Number(flags.rate);
if (!(tokensPerSecond > 0)) {
  console.error(`agent: --rate must be a positive number, got ${flags.rate}`);
  process.exit(2);
}

const sdkDir = path.resolve(process.env.HOLDFAST_SDK_DIR ?? path.join(root, 'build/sdk'));
const { Holdfast } = await import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
const hf = await Holdfast.connect({
  url: flags.url,
  storage: 'memory',
  agent: flags.agent,
  WebSocket,
  wasmBinary: fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm')),
});
const log = (line) => console.log(`${new Date().toISOString()} agent: ${line}`);
hf.on('retry', ({ attempt, delayMs }) => log(`link lost; retry ${attempt} in ${delayMs} ms`));
hf.on('error', (error) => log(`error ${error.name}: ${error.message}`));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let stopping = false;
/** reply ids being streamed by this process -> { cancelled } */
const streaming = new Map();

/** Follows one session and answers its prompts. */
function follow(sessionId) {
  if (hf.sessions.some((s) => s.id === sessionId)) return;
  const session = hf.session(sessionId);
  /** prompts seen in the log, in order: { serial, msgId, text } */
  const prompts = [];
  let scanQueued = false;

  session.on('event', (event) => {
    if (event.kind === 'user.prompt') {
      prompts.push({ serial: event.serial, msgId: event.msgId, text: event.payload?.text ?? '' });
    } else if (event.kind === 'control.cancel' && streaming.has(event.msgId)) {
      streaming.get(event.msgId).cancelled = true;
    }
    scheduleScan();
  });
  session.on('state', scheduleScan);
  session.on('reset', () => { prompts.length = 0; });

  // Decide only once caught up (state 'live'): during a replay the reply to an early prompt may
  // still be in a later batch, and answering then would answer it twice.
  function scheduleScan() {
    if (scanQueued) return;
    scanQueued = true;
    queueMicrotask(() => {
      scanQueued = false;
      if (stopping || session.state !== 'live') return;
      const answered = new Set(session.messages().map((m) => m.id));
      for (const prompt of prompts) {
        const replyId = `reply-${prompt.msgId || prompt.serial}`;
        if (answered.has(replyId) || streaming.has(replyId)) continue;
        answer(session, prompt, replyId);
      }
    });
  }
}

/** Streams one answer. Publishes are not awaited one by one: the outbox keeps them in order
 * (and across reconnects), so the rate is set by the timer, not by round trips. */
async function answer(session, prompt, replyId) {
  const state = { cancelled: false };
  streaming.set(replyId, state);
  const tokens = answerTokens(prompt.text);
  const started = Date.now();
  const sent = [session.publish('message.start', { role: 'assistant' }, { msgId: replyId })];
  let count = 0;
  for (const token of tokens) {
    if (state.cancelled || stopping) break;
    await sleep(1000 / tokensPerSecond);
    if (state.cancelled || stopping) break;
    sent.push(session.publish('message.delta', { text: token }, { msgId: replyId }));
    ++count;
  }
  const status = state.cancelled ? 'cancelled' : 'complete';
  if (!stopping) sent.push(session.publish('message.end', { status }, { msgId: replyId }));
  try {
    await Promise.all(sent);
    log(`${session.id}: answered prompt ${prompt.serial} as ${replyId} (${count}/${tokens.length} tokens, ` +
        `${status}, ${Date.now() - started} ms)`);
  } catch (error) {
    log(`${session.id}: reply ${replyId} failed: ${error.name}: ${error.message}`);
  } finally {
    streaming.delete(replyId);
  }
}

const index = hf.session('$sessions');
index.on('event', (event) => {
  const id = event.kind === 'session.created' ? event.payload?.session : undefined;
  if (typeof id === 'string' && !stopping) follow(id);
});
index.on('state', (state) => log(`$sessions ${state}`));
log(`${flags.agent} following $sessions at ${flags.url}, ${tokensPerSecond} tokens/s`);

function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  hf.close();
  // Pending timers end on their own; nothing else holds the event loop once the link is closed.
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
