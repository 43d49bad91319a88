// The JS SDK (build/sdk/holdfast.js) driven against an in-process fake relay that speaks the real
// wire protocol: publish/ack, ordered delivery, message assembly, state transitions, reconnect and
// resume, rejections and close. Layer: tests (node --test).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

import { FakeRelay } from './fake-relay.mjs';
import { importSdk, loadModule, sdkDir, wasmBinary, until } from './sdk.mjs';

let Holdfast;
let HoldfastError;
let module;      // the instance the SDK shares (loadCore caches it)
let rawModule;   // a separate instance for the fake relay's decoding
let coresAtStart;

before(async () => {
  ({ Holdfast, HoldfastError } = await importSdk());
  const { loadCore } = await import(pathToFileURL(path.join(sdkDir, 'loadCore.js')).href);
  module = await loadCore({ wasmBinary });
  rawModule = await loadModule();
  coresAtStart = module.liveCores();
});
after(() => assert.equal(module.liveCores(), coresAtStart, 'closed clients left their Core undeleted'));

let sessionCounter = 0;
const uniqueSession = () => `t-${process.pid}-${++sessionCounter}`;

/** A connected client on a fresh fake relay; closed by the caller. */
async function setup(options = {}) {
  const relay = options.relay ?? new FakeRelay(rawModule);
  const hf = await Holdfast.connect({ url: 'ws://fake/v1/ws', storage: 'memory', wasmBinary, WebSocket: relay.WebSocket, ...options.connect });
  return { relay, hf };
}


/** Streams one assistant answer into `session` on the relay, as an agent would. */
function streamAnswer(relay, session, msgId, words) {
  relay.append(session, { kind: 'message.start', msgId, agent: 'bot', payload: { role: 'assistant' } });
  for (const word of words) relay.append(session, { kind: 'message.delta', msgId, agent: 'bot', payload: { text: word } });
  relay.append(session, { kind: 'message.end', msgId, agent: 'bot', payload: { status: 'complete' } });
}

describe('Holdfast against a fake relay', () => {
  test('prompt resolves with the serial of its ack; state goes connecting -> live', async () => {
    const { relay, hf } = await setup();
    const s = hf.session(uniqueSession());
    const states = [];
    s.on('state', (state) => states.push(state));
    assert.equal(s.state, 'connecting');
    relay.append(s.id, { kind: 'status', payload: { note: 'before' } });
    const serial = await s.prompt('hello');
    assert.equal(serial, 2);
    await until(() => s.state === 'live', 'live');
    assert.deepEqual(states, ['live']);
    assert.equal(s.lastSerial, 2);
    assert.deepEqual(hf.sessions, [s]);
    const messages = s.messages();
    assert.equal(messages.length, 1);
    assert.equal(messages[0].role, 'user');
    assert.equal(messages[0].text, 'hello');
    hf.close();
  });

  test('events arrive in serial order, messages assemble, one message event per change per batch', async () => {
    const { relay, hf } = await setup();
    const s = hf.session(uniqueSession());
    const events = [];
    const messageEvents = [];
    s.on('event', (event) => events.push(event));
    s.on('message', (message) => messageEvents.push(message));
    await until(() => s.state === 'live', 'live');
    await s.publish('user.prompt', { text: 'tell me' }, { msgId: 'p1' });
    streamAnswer(relay, s.id, 'reply-p1', ['Once ', 'upon ', 'a ', 'time.']);
    await until(() => s.messages()[1]?.status === 'complete', 'answer complete');
    assert.deepEqual(events.map((event) => event.serial), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(events.map((event) => event.kind),
      ['user.prompt', 'message.start', 'message.delta', 'message.delta', 'message.delta', 'message.delta', 'message.end']);
    assert.equal(events[0].msgId, 'p1');
    assert.deepEqual(events[0].payload, { text: 'tell me' });
    assert.equal(events[0].producerId, hf.clientId);
    assert.equal(typeof events[0].ts, 'number');
    assert.equal(events[1].agent, 'bot');
    const [prompt, answer] = s.messages();
    assert.deepEqual([prompt.id, prompt.role, prompt.text, prompt.status], ['p1', 'user', 'tell me', 'complete']);
    assert.deepEqual([answer.id, answer.role, answer.agent, answer.text, answer.status],
      ['reply-p1', 'assistant', 'bot', 'Once upon a time.', 'complete']);
    assert.equal(messageEvents.at(-1).status, 'complete');
    assert.ok(messageEvents.length <= events.length, `at most one message event per event, got ${messageEvents.length}`);
    hf.close();
  });

  test('events are rendered only while someone listens: a listener added later hears them from then on', async () => {
    const { relay, hf } = await setup();
    const s = hf.session(uniqueSession());
    const messageEvents = [];
    s.on('message', (message) => messageEvents.push(message));
    await until(() => s.state === 'live', 'live');
    // No 'event' listener yet: the core skips rendering events, nothing else changes.
    streamAnswer(relay, s.id, 'm1', ['a ', 'b']);
    await until(() => s.messages()[0]?.status === 'complete', 'first answer');
    assert.equal(s.lastSerial, 4);
    assert.equal(s.messages()[0].text, 'a b');
    assert.ok(messageEvents.length >= 1);

    const events = [];
    const stop = s.on('event', (event) => events.push(event));
    streamAnswer(relay, s.id, 'm2', ['c']);
    await until(() => s.messages()[1]?.status === 'complete', 'second answer');
    assert.deepEqual(events.map((event) => event.serial), [5, 6, 7], 'from the listener on, none before');
    assert.deepEqual(events.map((event) => event.kind), ['message.start', 'message.delta', 'message.end']);
    assert.deepEqual(events[1].payload, { text: 'c' });

    // The last listener gone: rendering stops again, and a later one starts over from then on.
    stop();
    streamAnswer(relay, s.id, 'm3', ['d']);
    await until(() => s.messages()[2]?.status === 'complete', 'third answer');
    assert.equal(events.length, 3);
    const later = [];
    s.on('event', (event) => later.push(event.serial));
    const serial = await s.prompt('own prompt');
    await until(() => later.includes(serial), 'own event echoed');
    assert.deepEqual(later, [serial]);
    assert.deepEqual(s.messages().map((message) => message.text), ['a b', 'c', 'd', 'own prompt']);
    hf.close();
  });

  test('events across hundreds of takes keep their kinds, message ids and writers (the tables go once, then start again)', async () => {
    const { relay, hf } = await setup();
    const s = hf.session(uniqueSession());
    const events = [];
    s.on('event', (event) => events.push(event));
    await until(() => s.state === 'live', 'live');
    // Each message a new id, two writers taking turns, each message its own takes: the core's
    // string table passes its size and starts again from 0 on the way.
    const want = [];
    for (let m = 0; m < 300; m++) {
      const writer = m % 2 ? { agent: 'bot-b', producerId: 'producer-b' } : { agent: 'bot-a', producerId: 'producer-a' };
      for (const kind of ['message.start', 'message.delta', 'message.end']) {
        relay.append(s.id, { kind, msgId: `m-${m}`, payload: kind === 'message.delta' ? { text: `${m}` } : {}, ...writer });
        want.push({ kind, msgId: `m-${m}`, ...writer });
      }
      await until(() => events.length === want.length, `message ${m}`);
    }
    assert.deepEqual(events.map(({ kind, msgId, agent, producerId }) => ({ kind, msgId, agent, producerId })), want);
    assert.deepEqual(events.map((event) => event.serial), want.map((_, i) => i + 1));
    hf.close();
  });

  test('a burst replayed on attach is one batch: each changed message is reported once', async () => {
    const { relay, hf } = await setup();
    const id = uniqueSession();
    streamAnswer(relay, id, 'm1', Array.from({ length: 50 }, (_, i) => `w${i} `));
    const s = hf.session(id);
    const messageEvents = [];
    s.on('message', (message) => messageEvents.push(message));
    await until(() => s.messages()[0]?.status === 'complete', 'replayed message');
    assert.equal(messageEvents.length, 1);
    assert.equal(s.messages()[0].text.split(' ').length, 51);
    hf.close();
  });

  test('two sessions in one message: a listener of the first that makes the core grow its memory leaves the second\'s events exact', async () => {
    // The events' numbers are read from the core's memory (eventColumns); a listener's call into
    // the core may grow and so move that memory, so every entry's events are made before any
    // listener runs.
    const { relay, hf } = await setup();
    const [a, b] = [hf.session(uniqueSession()), hf.session(uniqueSession())];
    await until(() => a.state === 'live' && b.state === 'live', 'both live');
    const eventsOf = (session, n) => Array.from({ length: n }, (_, i) => ({
      serial: i + 1, ts: 1795000000000 + i * 7, producer_id: `w-${i % 3}`, kind: i % 2 ? 'note' : 'status',
      msg_id: `${session}-m${i % 5}`, agent: i % 3 ? 'bot' : '', payload: { n: i + 1, session } }));
    const heardA = [];
    const heardB = [];
    a.on('event', (event) => {
      heardA.push(event);
      // A 4 M-character argument: the glue's scratch buffer grows the module's memory (the core
      // then refuses the publish as too large, which is not what this test is about).
      if (heardA.length === 1) a.publish('grow', { blob: 'x'.repeat(4_000_000) }).catch(() => {});
    });
    b.on('event', (event) => heardB.push(event));
    const [socket] = relay.sockets;
    const heapBefore = module.HEAPU8.buffer;
    const bundle = [{ type: 'events', session: a.id, events: eventsOf(a.id, 40) }, { type: 'events', session: b.id, events: eventsOf(b.id, 40) }];
    socket.deliver(bundle);
    await until(() => heardB.length === 40 && heardA.length === 40, 'both sessions\' events');
    assert.notEqual(module.HEAPU8.buffer, heapBefore, 'the listener grew the module\'s memory (else this tests nothing)');
    for (const [session, heard] of [[a, heardA], [b, heardB]]) {
      const want = eventsOf(session.id, 40);
      assert.deepEqual(heard.map((e) => [e.serial, e.ts, e.kind, e.msgId, e.producerId, e.agent, e.payload]),
        want.map((e) => [e.serial, e.ts, e.kind, e.msg_id, e.producer_id, e.agent, e.payload]), session.id);
    }
    hf.close();
  });

  test('a dropped link retries after the core\'s delay, resumes from lastSerial without duplicates', async () => {
    const { relay, hf } = await setup();
    const s = hf.session(uniqueSession());
    const retries = [];
    const states = [];
    const serials = [];
    hf.on('retry', (retry) => retries.push(retry));
    s.on('state', (state) => states.push(state));
    s.on('event', (event) => serials.push(event.serial));
    await s.prompt('first');
    await until(() => s.state === 'live', 'live');
    relay.dropAll();
    await until(() => s.state === 'offline', 'offline');
    relay.append(s.id, { kind: 'status', payload: { while: 'offline' } });
    const pending = s.prompt('sent while offline');
    assert.equal(retries.length, 1);
    assert.equal(retries[0].attempt, 1);
    assert.ok(retries[0].delayMs >= 0);
    assert.equal(await pending, 3);
    await until(() => s.state === 'live', 'live again');
    assert.deepEqual(serials, [1, 2, 3]);
    assert.deepEqual(states.slice(0, 2), ['live', 'offline']);
    assert.equal(states.at(-1), 'live');
    const resume = relay.received.filter(({ frame }) => frame.type === 'attach').at(-1).frame;
    assert.equal(resume.from_serial, 1);
    assert.equal(relay.logs.get(s.id).length, 3, 'the relay deduplicated any resent publish');
    hf.close();
  });

  test('a stalled link is declared dead by the heartbeat; the answer resumes exact, the agent unaware', async () => {
    const { relay, hf } = await setup({ connect: { heartbeat: { intervalMs: 60, timeoutMs: 60 } } });
    const s = hf.session(uniqueSession());
    await until(() => s.state === 'live', 'live');
    const words = Array.from({ length: 30 }, (_, i) => `w${i} `);
    relay.append(s.id, { kind: 'message.start', msgId: 'r', agent: 'bot', payload: {} });
    for (const word of words.slice(0, 10)) relay.append(s.id, { kind: 'message.delta', msgId: 'r', agent: 'bot', payload: { text: word } });
    await until(() => s.lastSerial === 11, 'first part');
    const states = [];
    s.on('state', (state) => states.push(state));
    relay.stallAll();  // no close event ever comes
    for (const word of words.slice(10)) relay.append(s.id, { kind: 'message.delta', msgId: 'r', agent: 'bot', payload: { text: word } });
    relay.append(s.id, { kind: 'message.end', msgId: 'r', agent: 'bot', payload: { status: 'complete' } });
    await until(() => s.messages()[0]?.status === 'complete', 'the answer to complete after the heartbeat replaced the link', 5000);
    assert.equal(s.messages().length, 1, 'one bubble for the message');
    assert.equal(s.messages()[0].text, words.join(''));
    assert.equal(s.lastSerial, 32);
    assert.ok(states.includes('offline'), `went offline: ${states}`);
    assert.equal(states.at(-1), 'live');
    hf.close();
  });

  test('a publish made while the link is down is sent once after reconnect', async () => {
    const { relay, hf } = await setup({ connect: { heartbeat: { intervalMs: 60, timeoutMs: 60 } } });
    const s = hf.session(uniqueSession());
    await until(() => s.state === 'live', 'live');
    relay.stallAll();
    await until(() => s.state === 'offline', 'offline', 5000);
    const serial = await s.prompt('sent while offline');
    assert.equal(serial, 1);
    const publishes = relay.received.filter(({ frame }) => frame.type === 'publish' && frame.session === s.id);
    assert.equal(relay.logs.get(s.id).length, 1, 'appended once');
    assert.ok(publishes.length >= 1);
    assert.equal(s.messages()[0].text, 'sent while offline');
    hf.close();
  });

  test('a refused connection keeps retrying until the relay accepts', async () => {
    const relay = new FakeRelay(rawModule);
    relay.refuse = true;
    const { hf } = await setup({ relay });
    const s = hf.session(uniqueSession());
    const retries = [];
    hf.on('retry', (retry) => retries.push(retry));
    await until(() => retries.length >= 2, 'two retries', 5000);
    assert.ok(retries[1].attempt > retries[0].attempt);
    relay.refuse = false;
    assert.equal(await s.prompt('finally'), 1);
    hf.close();
  });

  test('what the relay would refuse is refused before it is sent, and later publishes meet no gap', async () => {
    // The relay refuses these after the publish took its producer sequence, and a refused sequence
    // failed every later publish of the session (sequence_gap); one over the frame limit failed
    // the link instead, resent on every reconnect.
    const relay = new FakeRelay(rawModule);
    relay.maxFrameBytes = 64 * 1024;
    const { hf } = await setup({ relay });
    const s = hf.session(uniqueSession());
    assert.equal(await s.prompt('first'), 1);
    const nested = (depth) => (depth === 0 ? 1 : [nested(depth - 1)]);
    await assert.rejects(s.publish('agent.attached', { agent: 'me' }), { name: 'forbidden' });
    await assert.rejects(s.publish('tool.result', nested(29)), { name: 'limit_exceeded' });
    await assert.rejects(s.publish('tool.result', new Array(10_001).fill(0)), { name: 'limit_exceeded' });
    await assert.rejects(s.publish('tool.result', Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 0]))), { name: 'limit_exceeded' });
    await assert.rejects(s.publish('tool.result', 'x'.repeat(64 * 1024)), { name: 'frame_too_large' });
    assert.equal(await s.publish('tool.result', nested(28)), 2, 'the deepest payload subscribers read');
    assert.equal(await s.publish('tool.result', { items: new Array(10_000).fill(0) }), 3, 'the longest array');
    assert.equal(await s.prompt('after'), 4);
    const published = relay.received.filter(({ frame }) => frame.type === 'publish' && frame.session === s.id).map(({ frame }) => frame.producer_seq);
    assert.deepEqual(published, [1, 2, 3, 4], 'the refused ones never left and used no sequence');
    hf.close();
  });

  test('after close the client and its sessions say they are not connected', async () => {
    const { hf } = await setup();
    const s = hf.session(uniqueSession());
    await until(() => s.state === 'live', 'live');
    assert.equal(hf.connected, true);
    hf.close();
    assert.equal(hf.connected, false);
    assert.equal(s.state, 'offline');
  });

  test('a rejected publish rejects with a HoldfastError carrying the core\'s code', async () => {
    const { relay, hf } = await setup();
    relay.rejectKinds.add('tool.call');
    const s = hf.session(uniqueSession());
    await assert.rejects(s.publish('tool.call', { name: 'x' }), (error) => {
      assert.ok(error instanceof HoldfastError);
      assert.equal(error.name, 'forbidden');
      assert.equal(error.code, hf.errorCodes.forbidden);
      return true;
    });
    await assert.rejects(hf.session('$sessions').publish('status', {}), { name: 'forbidden' });
    // No JSON text at all (a function, a symbol): refused as a promise, never thrown.
    await assert.rejects(s.publish('status', () => 1), { name: 'invalid_payload' });
    await assert.rejects(s.publish('status', Symbol('x')), { name: 'invalid_payload' });
    assert.throws(() => hf.session('bad id with spaces'), { name: 'invalid_session_id' });
    hf.close();
  });

  test('close rejects outstanding publishes with closed', async () => {
    const { relay, hf } = await setup();
    relay.holdAcks = true;
    const s = hf.session(uniqueSession());
    const pending = s.prompt('never acknowledged');
    await until(() => relay.logs.get(s.id)?.length === 1, 'publish reached the relay');
    hf.close();
    await assert.rejects(pending, (error) => error instanceof HoldfastError && error.name === 'closed' && error.code === 15);
    await assert.rejects(s.prompt('after close'), { name: 'closed' });
    assert.throws(() => hf.session('x'), { name: 'closed' });
  });

  test('one ranged ack settles each publish it covers with its own serial, in call order', async () => {
    const { relay, hf } = await setup();
    relay.holdAcks = true;
    const s = hf.session(uniqueSession());
    const published = [];
    for (let i = 0; i < 5; i++) published.push(s.publish('token', { i }));
    await until(() => relay.logs.get(s.id)?.length === 5, 'the publishes reached the relay');
    const hello = relay.received.find(({ frame }) => frame.type === 'hello');
    assert.equal(hello.frame.ack_ranges, true, 'the client asks for ranged acks');
    // 1 and 2 alone, then 3-5 in one range; a range past what was sent settles nothing more.
    hello.socket.deliver({ type: 'ack', session: s.id, producer_id: hf.clientId, producer_seq: 1, serial: 40, count: 2 });
    hello.socket.deliver({ type: 'ack', session: s.id, producer_id: hf.clientId, producer_seq: 3, serial: 42, count: 100 });
    const serials = [];
    published.forEach((p, i) => p.then((serial) => { serials[i] = serial; }));
    await until(() => serials.filter((x) => x !== undefined).length === 5, 'every publish settled');
    assert.deepEqual(serials, [40, 41, 42, 43, 44]);
    hf.close();
  });

  test('two clients on one session see the same messages', async () => {
    const relay = new FakeRelay(rawModule);
    const { hf: a } = await setup({ relay });
    const { hf: b } = await setup({ relay, connect: { agent: 'bot' } });
    const id = uniqueSession();
    const sa = a.session(id);
    const sb = b.session(id);
    await sa.prompt('hi both', { msgId: 'p' });
    await sb.publish('message.start', { role: 'assistant' }, { msgId: 'r' });
    await sb.publish('message.delta', { text: 'hello' }, { msgId: 'r' });
    await sb.publish('message.end', { status: 'complete' }, { msgId: 'r' });
    await until(() => sa.messages()[1]?.status === 'complete' && sb.messages()[1]?.status === 'complete', 'both complete');
    assert.deepEqual(sa.messages(), sb.messages());
    assert.equal(sa.messages()[1].agent, 'bot');
    a.close();
    b.close();
  });

  test('a recreated log (new epoch) resets the session and rebuilds its messages', async () => {
    const { relay, hf } = await setup();
    const s = hf.session(uniqueSession());
    await s.prompt('old world', { msgId: 'old' });
    await until(() => s.state === 'live' && s.messages().length === 1, 'live with one message');
    let resets = 0;
    s.on('reset', () => {
      ++resets;
      assert.deepEqual(s.messages(), [], 'messages are dropped on reset');
    });
    relay.epoch = 2;
    relay.logs.set(s.id, []);
    relay.append(s.id, { kind: 'user.prompt', msgId: 'new', payload: { text: 'new world' } });
    relay.dropAll();
    await until(() => resets === 1 && s.messages()[0]?.id === 'new', 'rebuilt after reset', 3000);
    assert.equal(s.messages().length, 1);
    assert.equal(s.epoch, 2);
    assert.equal(s.lastSerial, 1);
    hf.close();
  });

  test('control is appended as control.<action> aimed at its target', async () => {
    const { hf } = await setup();
    const s = hf.session(uniqueSession());
    const events = [];
    s.on('event', (event) => events.push(event));
    const serial = await s.control('cancel', 'reply-1', { reason: 'user' });
    await until(() => events.length === 1, 'control event');
    assert.equal(events[0].serial, serial);
    assert.equal(events[0].kind, 'control.cancel');
    assert.equal(events[0].msgId, 'reply-1');
    assert.deepEqual(events[0].payload, { reason: 'user' });
    hf.close();
  });

  test('numbers in a payload come back as the same doubles (the browser build formats them in JS)', async () => {
    const { hf } = await setup();
    const s = hf.session(uniqueSession());
    const events = [];
    s.on('event', (event) => events.push(event));
    const numbers = { tenth: 0.1, third: 1 / 3, tiny: 1.5e-7, huge: 1e300, big: 2 ** 60, negative: -2.5,
      whole: 1700000000123, max: Number.MAX_VALUE, min: Number.MIN_VALUE, list: [0.2, -0.3e-12, 12345.6789] };
    await s.publish('status', numbers);
    await until(() => events.length === 1, 'status event');
    assert.deepEqual(events[0].payload, numbers);
    hf.close();
  });

  test('indexeddb without IndexedDB (Node) falls back to memory with a warning; off() removes a listener', async () => {
    const { hf } = await setup({ connect: { storage: 'indexeddb' } });
    const warning = await new Promise((resolve) => hf.on('warning', resolve));
    assert.match(warning.message, /IndexedDB is not available/);
    assert.equal(warning.storage, 'memory');
    assert.equal(hf.storage, 'memory');
    const s = hf.session(uniqueSession());
    let calls = 0;
    const listener = () => ++calls;
    s.on('state', listener);
    s.off('state', listener);
    await s.prompt('x');
    assert.equal(calls, 0);
    hf.close();
  });

  test('an unknown storage kind falls back to memory with a warning', async () => {
    const { hf } = await setup({ connect: { storage: 'floppy' } });
    const warning = await new Promise((resolve) => hf.on('warning', resolve));
    assert.match(warning.message, /storage 'floppy' is not available/);
    assert.equal(hf.storage, 'memory');
    hf.close();
  });
});
