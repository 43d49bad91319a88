#!/usr/bin/env node
// The Holdfast demo agent: a Node process that uses the SDK's agent entry (`holdfast/agent`, i.e.
// agent.js of build/sdk, with the `ws` package) to follow the relay's `$sessions` index, open every session
// announced there, and answer each user.prompt with a simulated LLM stream
// (message.start, one message.delta per word at a fixed rate, message.end). Layer: demo.
// It never answers a prompt twice: a prompt whose reply id already has a message in the replayed
// log is skipped, so restarts and reconnects are safe. It honours control.cancel on a reply.
//
// Usage: node demo/agent/agent.mjs [--url ws://127.0.0.1:8080/v1/ws] [--rate 50] [--agent demo-agent]
// Env: HOLDFAST_URL, HOLDFAST_RATE, HOLDFAST_AGENT, HOLDFAST_SDK_DIR (default build/sdk);
// HOLDFAST_LLM_URL (+ HOLDFAST_LLM_API_KEY, HOLDFAST_LLM_MODEL) streams from an OpenAI-compatible
// endpoint instead of the simulator (llm.mjs).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

import { answerTokens, composeSteered, composeTeamPart, isTeamPrompt, tokensOf } from './answer.mjs';
import { llmConfigFromEnv, streamChatCompletion } from './llm.mjs';

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
// What an npm install names `holdfast/agent`; it reads the .wasm next to itself.
const { connectAgent, onSessions } = await import(pathToFileURL(path.join(sdkDir, 'agent.js')).href);
const connectAs = (agent) => connectAgent({ url: flags.url, agent, WebSocket });
const hf = await connectAs(flags.agent);
/** The team's sub-agents: their own connections, so their tokens never pass through the orchestrator. */
let team = null;
const log = (line) => console.log(`${new Date().toISOString()} agent: ${line}`);
hf.on('retry', ({ attempt, delayMs }) => log(`link lost; retry ${attempt} in ${delayMs} ms`));
hf.on('error', (error) => log(`error ${error.name}: ${error.message}`));

const llm = llmConfigFromEnv();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let stopping = false;
/** reply ids being streamed by this process */
const streaming = new Set();

/** Follows one session and answers its prompts (and interruptions). */
function follow(sessionId) {
  if (hf.sessions.some((s) => s.id === sessionId)) return;
  const session = hf.session(sessionId);
  /** prompts seen in the log, in order: { serial, msgId, text } */
  const prompts = [];
  let scanQueued = false;

  session.on('event', (event) => {
    if (event.kind === 'user.prompt') prompts.push({ serial: event.serial, msgId: event.msgId, text: event.payload?.text ?? '' });
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
        if (answered.has(replyId) || answered.has(`${replyId}-researcher`) || streaming.has(replyId)) continue;
        if (isTeamPrompt(prompt.text)) answerAsTeam(session.id, prompt, replyId);
        else answer(session, prompt.text, replyId, `prompt ${prompt.serial}`);
      }
    });
  }
}

/** The simulator: the words of `tokens`, one every 1/rate seconds. */
async function* paced(tokens) {
  for (const token of tokens) {
    await sleep(1000 / tokensPerSecond);
    yield token;
  }
}

/**
 * Where an answer's text comes from: `compose(steer)` gives the pieces to write, first with
 * steer = null, then anew with the user's direction after each steer. The simulator by default;
 * an OpenAI-compatible endpoint when HOLDFAST_LLM_URL is set (llm.mjs), aborted with the writer.
 */
function sourceFor(prompt, writer, simulated) {
  if (!llm) return (steer) => paced(steer === null ? simulated : tokensOf(composeSteered(steer)));
  return (steer) => {
    const messages = [{ role: 'user', content: prompt }];
    if (steer !== null) messages.push({ role: 'user', content: `Change of direction for the rest of your answer: ${steer}` });
    // Its own controller too, so a steer stops the superseded request at once.
    const superseded = new AbortController();
    const feed = streamChatCompletion(llm, messages, { signal: AbortSignal.any([writer.signal, superseded.signal]) });
    feed.abort = () => superseded.abort();
    return feed;
  };
}

/**
 * Writes a source's pieces into a message, honouring controls: a cancel or an interrupt ends the
 * writer (the SDK does it, and aborts its signal), a steer swaps the rest for a new source.
 * Publishes are not awaited one by one: the outbox keeps them in order, across reconnects too.
 */
async function stream(writer, compose, onInterrupt) {
  let generation = 0;
  let feed = compose(null);
  let written = 0;
  writer.on('steer', ({ text, control }) => {
    ++generation;
    feed.abort?.();
    feed.return?.().catch(() => {});
    feed = compose(text ?? '');
    writer.reportOutcome(control, 'applied').catch(() => {});
  });
  if (onInterrupt) writer.on('interrupt', ({ text, control }) => onInterrupt(text ?? '', control));
  const sent = [];
  while (!writer.ended && !stopping) {
    const mine = generation;
    let next;
    try {
      next = await feed.next();
    } catch (error) {
      if (mine !== generation || writer.ended || stopping) continue;  // a steer or a cancel aborted it
      sent.push(writer.end({ status: 'error', reason: 'llm_failed' }));
      log(`${writer.id}: ${error.message}`);
      break;
    }
    if (mine !== generation) continue;  // steered while this piece was on its way: drop it
    if (next.done || writer.ended || stopping) break;
    sent.push(writer.write(next.value));
    ++written;
  }
  if (!writer.ended && !stopping) sent.push(writer.end());
  await Promise.all(sent);
  return written;
}

/** Streams one answer to `text` as message `replyId`. */
async function answer(session, text, replyId, label) {
  streaming.add(replyId);
  const started = Date.now();
  try {
    session.status('thinking').catch(() => {});
    const writer = session.startMessage({ msgId: replyId });
    const written = await stream(writer, sourceFor(text, writer, answerTokens(text)), (interruption, control) => {
      answer(session, interruption, `reply-interrupt-${control.serial}`, `interruption ${control.serial}`);
    });
    log(`${session.id}: answered ${label} as ${replyId} (${written} tokens, ${writer.ended ? 'ended' : 'stopped'}, ${Date.now() - started} ms)`);
  } catch (error) {
    log(`${session.id}: reply ${replyId} failed: ${error.name}: ${error.message}`);
  } finally {
    streaming.delete(replyId);
  }
}

/**
 * A team prompt: the orchestrator (this agent) starts two sub-agents on their own connections;
 * they stream into the same session concurrently under one run id, so one cancel of the run
 * stops both and a cancel of one message leaves the other running.
 */
async function answerAsTeam(sessionId, prompt, replyId) {
  streaming.add(replyId);
  try {
    team ??= { researcher: await connectAs('researcher'), writer: await connectAs('writer') };
    const run = `run-${replyId}`;
    log(`${sessionId}: team run ${run} for prompt ${prompt.serial}`);
    await Promise.all(Object.entries(team).map(async ([role, client]) => {
      const session = client.session(sessionId);
      const writer = session.startMessage({ msgId: `${replyId}-${role}`, run });
      await stream(writer, sourceFor(`As the ${role}: ${prompt.text}`, writer, tokensOf(composeTeamPart(role, prompt.text))));
    }));
  } catch (error) {
    log(`${sessionId}: team reply ${replyId} failed: ${error.name}: ${error.message}`);
  } finally {
    streaming.delete(replyId);
  }
}

onSessions(hf, (id) => { if (!stopping) follow(id); });
hf.session('$sessions').on('state', (state) => log(`$sessions ${state}`));
log(`${flags.agent} following $sessions at ${flags.url}, ` +
  (llm ? `answers from ${llm.model} at ${llm.url}` : `simulated answers at ${tokensPerSecond} tokens/s`));

function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  hf.close();
  team?.researcher.close();
  team?.writer.close();
  // Pending timers end on their own; nothing else holds the event loop once the link is closed.
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
