// The npm package's `holdfast/agent` and `holdfast/ai-sdk` entries in Node, against the fake
// relay: connectAgent loads the packaged .wasm by itself; pipeUIMessageStream turns a simulated
// AI SDK streamText result into one message; a user's cancel aborts the signal handed to the model
// call and ends the message cancelled; pipeOpenAIStream reads OpenAI-compatible chunks as objects
// and as server-sent events; HoldfastChatTransport streams a reply as UI message chunks, cancels
// it on abort and replays it on reconnect. Layer: tests (node --test).
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, test } from 'node:test';

import { FakeRelay } from './fake-relay.mjs';
import { loadModule, sdkDir, until as untilWithin } from './sdk.mjs';

let agentEntry;
let aiSdkEntry;
let rawModule;

before(async () => {
  agentEntry = await import(pathToFileURL(path.join(sdkDir, 'agent.js')).href);
  aiSdkEntry = await import(pathToFileURL(path.join(sdkDir, 'ai-sdk.js')).href);
  rawModule = await loadModule();
});

// These waits cover a whole agent/token round trip through the fake relay: 3 s each.
const until = (check, label, ms = 3000) => untilWithin(check, label, ms);

let counter = 0;

/** A user client and an agent (connectAgent, no wasmBinary given) on one session of a fake relay. */
async function pair() {
  const relay = new FakeRelay(rawModule);
  const url = 'ws://fake/v1/ws';
  const { Holdfast, connectAgent } = agentEntry;
  const agent = await connectAgent({ url, agent: 'writer', WebSocket: relay.WebSocket });
  const user = await Holdfast.connect({ url, storage: 'memory', WebSocket: relay.WebSocket });
  const id = `agent-entry-${process.pid}-${++counter}`;
  const us = user.session(id);
  const as = agent.session(id);
  await until(() => us.state === 'live' && as.state === 'live', 'both live');
  return { relay, user, agent, us, as, close: () => { user.close(); agent.close(); } };
}

/** Chunks in the shape the AI SDK's streamText(...).toUIMessageStream() produces. */
function uiChunks(words, { end = { type: 'finish', finishReason: 'stop' } } = {}) {
  return [
    { type: 'start', messageId: 'ai-generated' },
    { type: 'start-step' },
    { type: 'text-start', id: 't0' },
    ...words.map((delta) => ({ type: 'text-delta', id: 't0', delta })),
    { type: 'text-end', id: 't0' },
    { type: 'finish-step' },
    ...(end ? [end] : []),
  ];
}

/**
 * A simulated streamText result: toUIMessageStream() emits one chunk per macrotask; `gate`, when
 * given, holds the stream after that many text deltas until the test releases it. Aborting
 * `abortSignal` errors the stream with an AbortError, as the AI SDK does.
 */
function simulatedStreamText(words, { abortSignal, gate } = {}) {
  return {
    toUIMessageStream() {
      const chunks = uiChunks(words);
      let deltas = 0;
      return new ReadableStream({
        async pull(controller) {
          if (abortSignal?.aborted) { controller.error(new DOMException('aborted', 'AbortError')); return; }
          if (gate && deltas === gate.after) await gate.released;
          if (abortSignal?.aborted) { controller.error(new DOMException('aborted', 'AbortError')); return; }
          await new Promise((resolve) => setTimeout(resolve, 0));
          const chunk = chunks.shift();
          if (!chunk) { controller.close(); return; }
          if (chunk.type === 'text-delta') ++deltas;
          controller.enqueue(chunk);
        },
      });
    },
  };
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

describe('holdfast/agent', () => {
  test('connectAgent needs a url and an agent name', async () => {
    await assert.rejects(agentEntry.connectAgent({ agent: 'x' }), TypeError);
    await assert.rejects(agentEntry.connectAgent({ url: 'ws://fake/v1/ws' }), TypeError);
  });

  test('pipeUIMessageStream writes a simulated streamText result as one complete message', async () => {
    const { us, as, close } = await pair();
    const words = ['Durable ', 'sessions ', 'keep ', 'every ', 'word.'];
    const result = await agentEntry.pipeUIMessageStream(as, simulatedStreamText(words), { msgId: 'reply-1' });
    assert.deepEqual(result, { messageId: 'reply-1', status: 'complete', text: words.join('') });
    await until(() => us.messages()[0]?.status === 'complete', 'complete on the user side');
    assert.equal(us.messages()[0].text, words.join(''));
    assert.equal(us.messages()[0].role, 'assistant');
    assert.equal(us.messages()[0].agent, 'writer');
    // After the first entry the core sends a message's new text and status only: the rest is held.
    assert.equal(us.messages()[0].id, 'reply-1');
    assert.ok(us.messages()[0].firstSerial >= 1 && us.messages()[0].firstSerial < us.messages()[0].lastSerial,
      `firstSerial ${us.messages()[0].firstSerial}, lastSerial ${us.messages()[0].lastSerial}`);
    close();
  });

  test("a user's cancel aborts the model call's signal and ends the message cancelled", async () => {
    const { us, as, close } = await pair();
    const gate = { after: 2, ...(() => { const d = deferred(); return { released: d.promise, release: d.resolve }; })() };
    let modelSignal = null;
    const piping = agentEntry.pipeUIMessageStream(as, (signal) => {
      modelSignal = signal;
      return simulatedStreamText(['one ', 'two ', 'three ', 'four '], { abortSignal: signal, gate });
    }, { msgId: 'reply-cancel' });
    await until(() => us.messages()[0]?.text === 'one two ', 'two words');
    assert.equal(modelSignal.aborted, false);
    assert.equal(await us.cancel(), 'applied');
    assert.equal(modelSignal.aborted, true, 'the signal handed to the model call is aborted');
    gate.release();
    const result = await piping;
    assert.equal(result.status, 'cancelled');
    assert.equal(result.text, 'one two ');
    await until(() => us.messages()[0]?.status === 'cancelled', 'cancelled on the user side');
    assert.equal(us.messages()[0].text, 'one two ', 'nothing was written after the cancel');
    close();
  });

  test('a controller given to the pipe is aborted by a cancel too', async () => {
    const { us, as, close } = await pair();
    const controller = new AbortController();
    const gate = { after: 1, ...(() => { const d = deferred(); return { released: d.promise, release: d.resolve }; })() };
    const piping = agentEntry.pipeUIMessageStream(as, simulatedStreamText(['a ', 'b '], { abortSignal: controller.signal, gate }), { controller });
    await until(() => us.messages()[0]?.text === 'a ', 'first word');
    assert.equal(await us.cancel(), 'applied');
    assert.equal(controller.signal.aborted, true);
    gate.release();
    assert.equal((await piping).status, 'cancelled');
    close();
  });

  test('an error chunk ends the message with status error and its text as the reason', async () => {
    const { us, as, close } = await pair();
    const source = { toUIMessageStream: () => ReadableStream.from(uiChunks(['partial '], { end: { type: 'error', errorText: 'rate limited' } })) };
    const result = await agentEntry.pipeUIMessageStream(as, source);
    assert.equal(result.status, 'error');
    assert.equal(result.reason, 'rate limited');
    await until(() => us.messages()[0]?.status === 'error', 'error on the user side');
    assert.equal(us.messages()[0].text, 'partial ');
    close();
  });

  test('pipeOpenAIStream reads chunk objects and server-sent events alike', async () => {
    const { us, as, close } = await pair();
    const chunk = (content, finish = null) => ({ choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] });
    async function* objects() {
      yield chunk('Hello');
      yield chunk(', world');
      yield chunk(null, 'stop');
    }
    const first = await agentEntry.pipeOpenAIStream(as, objects(), { msgId: 'openai-objects' });
    assert.deepEqual(first, { messageId: 'openai-objects', status: 'complete', text: 'Hello, world' });

    const sse = [chunk('Server'), chunk('-sent'), chunk(' events'), chunk(null, 'length')]
      .map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
    // Split mid-event so the parser has to join pieces.
    const bytes = new TextEncoder().encode(sse);
    const body = ReadableStream.from([bytes.slice(0, 17), bytes.slice(17, 90), bytes.slice(90)]);
    const second = await agentEntry.pipeOpenAIStream(as, new Response(body), { msgId: 'openai-sse' });
    assert.equal(second.text, 'Server-sent events');
    assert.equal(second.status, 'complete');
    assert.equal(second.reason, 'length', 'a truncated answer says so');
    await until(() => us.messages().length === 2 && us.messages()[1].status === 'complete', 'both on the user side');
    assert.deepEqual(us.messages().map((m) => m.text), ['Hello, world', 'Server-sent events']);
    close();
  });

  test('an HTTP error from an OpenAI-compatible endpoint ends the message as an error saying why', async () => {
    const { us, as, close } = await pair();
    const response = new Response('{"error":{"message":"rate limited"}}', { status: 429, headers: { 'content-type': 'application/json' } });
    const result = await agentEntry.pipeOpenAIStream(as, async () => response, { msgId: 'http-error' });
    assert.equal(result.status, 'error');
    assert.match(result.reason, /^HTTP 429: .*rate limited/);
    await until(() => us.messages()[0]?.status === 'error', 'error on the user side');
    assert.equal(us.messages()[0].text, '');
    close();
  });

  test("the caller's own signal ends the message cancelled", async () => {
    const { us, as, close } = await pair();
    const stop = new AbortController();
    async function* endless() {
      for (let i = 0; ; ++i) {
        yield { choices: [{ delta: { content: `${i} ` } }] };
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    const piping = agentEntry.pipeOpenAIStream(as, endless(), { signal: stop.signal, msgId: 'stopped' });
    await until(() => (us.messages()[0]?.text.length ?? 0) >= 6, 'a few chunks');
    stop.abort();
    const result = await piping;
    assert.equal(result.status, 'cancelled');
    await until(() => us.messages()[0]?.status === 'cancelled', 'cancelled on the user side');
    assert.equal(us.messages()[0].text, result.text);
    close();
  });

  test('onSessions reports sessions of the $sessions index once each', async () => {
    const { relay, agent, close } = await pair();
    const seen = [];
    agentEntry.onSessions(agent, (id) => seen.push(id));
    relay.append('$sessions', { kind: 'session.created', producerId: 'relay', payload: { session: 'a' } });
    relay.append('$sessions', { kind: 'session.created', producerId: 'relay', payload: { session: 'b' } });
    relay.append('$sessions', { kind: 'session.created', producerId: 'relay', payload: { session: 'a' } });
    await until(() => seen.length === 2, 'two sessions');
    assert.deepEqual(seen, ['a', 'b']);
    close();
  });
});

/** Reads a UI message chunk stream to its end. */
async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const textOf = (chunks) => chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('');

describe('holdfast/ai-sdk HoldfastChatTransport', () => {
  const userMessage = (id, text) => ({ id, role: 'user', parts: [{ type: 'text', text }] });

  test('sendMessages publishes the prompt and streams the reply to it as UI message chunks', async () => {
    const { user, us, as, close } = await pair();
    const transport = new aiSdkEntry.HoldfastChatTransport({ client: user });
    const streamPromise = transport.sendMessages({ trigger: 'submit-message', chatId: us.id, messageId: undefined, messages: [userMessage('u1', 'hi there')], abortSignal: undefined });
    const prompt = await new Promise((resolve) => as.on('event', (e) => { if (e.kind === 'user.prompt') resolve(e); }));
    assert.equal(prompt.msgId, 'prompt-u1');
    assert.deepEqual(prompt.payload, { text: 'hi there' });
    const piping = agentEntry.pipeUIMessageStream(as, simulatedStreamText(['Hello ', 'from ', 'the agent.']), { msgId: 'reply-prompt-u1' });
    const chunks = await readAll(await streamPromise);
    await piping;
    assert.equal(chunks[0].type, 'start');
    assert.equal(chunks[0].messageId, 'reply-prompt-u1');
    assert.equal(textOf(chunks), 'Hello from the agent.');
    assert.deepEqual(chunks.slice(-2).map((c) => c.type), ['text-end', 'finish']);
    assert.deepEqual(await transport.loadMessages(us.id), [
      { id: 'prompt-u1', role: 'user', parts: [{ type: 'text', text: 'hi there' }] },
      { id: 'reply-prompt-u1', role: 'assistant', parts: [{ type: 'text', text: 'Hello from the agent.' }] },
    ]);
    assert.equal(await transport.reconnectToStream({ chatId: us.id }), null, 'nothing to resume once complete');
    close();
  });

  test("aborting sendMessages' signal (useChat's stop) cancels the reply for everyone", async () => {
    const { user, us, as, close } = await pair();
    const transport = new aiSdkEntry.HoldfastChatTransport({ client: user });
    const stop = new AbortController();
    const stream = await transport.sendMessages({ trigger: 'submit-message', chatId: us.id, messageId: undefined, messages: [userMessage('u2', 'long one')], abortSignal: stop.signal });
    await until(() => us.messages().length === 1, 'prompt');
    const gate = { after: 1, ...(() => { const d = deferred(); return { released: d.promise, release: d.resolve }; })() };
    let modelSignal;
    const piping = agentEntry.pipeUIMessageStream(as, (signal) => { modelSignal = signal; return simulatedStreamText(['first ', 'second '], { abortSignal: signal, gate }); });
    const reader = stream.getReader();
    const seen = [];
    while (!seen.some((c) => c.type === 'text-delta')) seen.push((await reader.read()).value);
    stop.abort();
    await until(() => modelSignal.aborted, 'the agent heard the cancel');
    gate.release();
    assert.equal((await piping).status, 'cancelled');
    await until(() => us.messages()[1]?.status === 'cancelled', 'cancelled for the user');
    close();
  });

  test('a regenerate, or a send without a new user message, is refused rather than left waiting', async () => {
    const { user, us, close } = await pair();
    const transport = new aiSdkEntry.HoldfastChatTransport({ client: user });
    const history = [userMessage('u3', 'q'), { id: 'a3', role: 'assistant', parts: [{ type: 'text', text: 'a' }] }];
    await assert.rejects(transport.sendMessages({ trigger: 'regenerate-message', chatId: us.id, messageId: 'a3', messages: history, abortSignal: undefined }), /regenerate is not supported/);
    await assert.rejects(transport.sendMessages({ trigger: 'submit-message', chatId: us.id, messageId: undefined, messages: history, abortSignal: undefined }), TypeError);
    assert.equal(us.messages().length, 0, 'nothing was published');
    close();
  });

  test('reconnectToStream replays a reply still being written from its start', async () => {
    const { user, us, as, close } = await pair();
    const transport = new aiSdkEntry.HoldfastChatTransport({ client: user });
    assert.equal(transport.resumeStreamIsReplay, true);
    await us.prompt('question', { msgId: 'p1' });
    const writer = as.startMessage({ msgId: 'r1' });
    await writer.write('already ');
    await writer.write('written ');
    await until(() => us.messages()[1]?.text === 'already written ', 'the start');
    const stream = await transport.reconnectToStream({ chatId: us.id });
    assert.ok(stream, 'a reply is being written');
    assert.deepEqual(await transport.loadMessages(us.id), [{ id: 'p1', role: 'user', parts: [{ type: 'text', text: 'question' }] }]);
    await writer.write('and the rest.');
    await writer.end();
    const chunks = await readAll(stream);
    assert.equal(chunks[0].messageId, 'r1');
    assert.equal(textOf(chunks), 'already written and the rest.');
    assert.equal(chunks.at(-1).type, 'finish');
    close();
  });
});
