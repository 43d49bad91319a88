// The main-thread cost benchmark, page side (main-thread.html; driven by main-thread-bench.mjs).
// Layer: benchmark. Two measurements, both with performance.now() on the page's main thread:
//  live    a client of /sdk/holdfast.js follows a session an agent streams into at 150 ev/s; each
//          WebSocket message is timed from the start of its 'message' handler (the socket frame
//          in) to the session's 'message' listener (decode + boundary + assembly + persist
//          enqueue done), and to the end of the drain that applied it.
//  batch   the frames of a catch-up replay of N events, recorded once from the relay, are applied
//          through a fresh SDK client (a transport that hands them over, no network) and through
//          a pure-JS pipeline (msgpackr decode + JS assembly: keep the events, append each
//          delta's text to its message, emit the changed messages); events/s of each.
import { Holdfast } from '/sdk/holdfast.js';
import { loadCore } from '/sdk/loadCore.js';
import { Packr } from '/vendor/msgpackr/pack.js';
import { Unpackr } from '/vendor/msgpackr/unpack.js';
import { JsSession, eventsOf, framesOf, replayThroughSdk } from '/bench/replay-pipelines.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function whenLive(session, ms) {
  return new Promise((resolve, reject) => {
    if (session.state === 'live') { resolve(); return; }
    const timer = setTimeout(() => { off(); reject(new Error(`session ${session.id} not live after ${ms} ms (${session.state})`)); }, ms);
    const off = session.on('state', (state) => { if (state === 'live') { clearTimeout(timer); off(); resolve(); } });
  });
}

// ---- live: per-event main-thread cost ----------------------------------------------------------

/**
 * Where the time goes: wraps every call into the core (the module is the SDK's own instance,
 * loadCore shares it), JSON.parse and BroadcastChannel posts (the leader's messages to other
 * tabs) with timers that add into sink.splitNow[label] (ms) and sink.postedBytesNow. What is not
 * in them is the SDK's other JS (Session, emit) and the timing itself. Returns the undo.
 */
async function instrument(sink) {
  const wrapped = [];
  const time = (target, method, label) => {
    const original = target[method];
    wrapped.push([target, method, original]);
    target[method] = function (...args) {
      const t0 = performance.now();
      try { return original.apply(this, args); } finally { sink.splitNow[label] = (sink.splitNow[label] ?? 0) + performance.now() - t0; }
    };
  };
  const core = (await loadCore()).Core.prototype;
  for (const method of Object.getOwnPropertyNames(core)) {
    if (method !== 'constructor' && typeof core[method] === 'function') time(core, method, `core.${method}`);
  }
  time(BroadcastChannel.prototype, 'postMessage', 'BroadcastChannel.postMessage');
  const post = BroadcastChannel.prototype.postMessage;
  wrapped.push([BroadcastChannel.prototype, 'postMessage', post]);
  BroadcastChannel.prototype.postMessage = function (data) {
    sink.postedBytesNow += data?.byteLength ?? 0;
    return post.call(this, data);
  };
  time(JSON, 'parse', 'JSON.parse');
  return () => { for (const [target, method, original] of wrapped.reverse()) target[method] = original; };
}

let live = null;

/**
 * Follows `session` with the SDK (storage as given; 'indexeddb' is the browser default, so the
 * persist enqueue is on the measured path) through a WebSocket whose message handler is timed.
 */
export async function startLive({ url, session, storage = 'indexeddb', tabs = 'shared', split = true, stored = [] }) {
  const state = { samples: [], drainSamples: [], eventsPerFrame: [], framesWithoutMessage: 0, frameStart: null, eventsInFrame: 0, events: 0,
    split: {}, splitNow: {}, postedBytes: [], postedBytesNow: 0 };
  const unwrap = split ? await instrument(state) : () => {};
  class TimedWebSocket extends WebSocket {
    set onmessage(handler) {
      super.onmessage = (event) => {
        state.frameStart = performance.now();
        state.eventsInFrame = 0;
        state.splitNow = {};
        state.postedBytesNow = 0;
        handler(event);
        // Queued behind the drain the handler scheduled: runs once the frame is fully applied.
        queueMicrotask(() => {
          if (state.frameStart !== null) { state.framesWithoutMessage += 1; state.frameStart = null; return; }
          state.drainSamples.push(performance.now() - state.drainFrom);
          state.eventsPerFrame.push(state.eventsInFrame);
          for (const [label, ms] of Object.entries(state.splitNow)) (state.split[label] ??= []).push(ms);
          state.postedBytes.push(state.postedBytesNow);
        });
      };
    }
    get onmessage() { return super.onmessage; }
  }
  const hf = await Holdfast.connect({ url, storage, tabs, WebSocket: TimedWebSocket });
  // Histories the page already holds (--stored-sessions): followed until live, kept in storage.
  for (const id of stored) {
    const other = hf.session(id);
    await whenLive(other, 15000);
    other.close();
  }
  if (stored.length) await hf.flush();
  const s = hf.session(session);
  s.on('event', () => { state.eventsInFrame += 1; state.events += 1; });
  s.on('message', () => {
    if (state.frameStart === null) return;  // a later message of the same batch, or not from a frame
    const now = performance.now();
    state.samples.push(now - state.frameStart);
    state.drainFrom = state.frameStart;
    state.frameStart = null;
  });
  await whenLive(s, 15000);
  live = { hf, s, state, unwrap };
  return { storage: hf.storage, crossOriginIsolated: globalThis.crossOriginIsolated === true };
}

/** Forgets the samples so far (after the warm-up). */
export function resetLive() {
  const { state } = live;
  state.samples = []; state.drainSamples = []; state.eventsPerFrame = []; state.framesWithoutMessage = 0; state.events = 0;
  state.split = {}; state.postedBytes = [];
}

export function liveCount() { return live.state.events; }

/** The samples (ms), then closes the client (its IndexedDB flush first). */
export async function stopLive() {
  const { hf, s, state, unwrap } = live;
  unwrap();  // the batch runs must not pay for the timing wrappers
  const text = s.messages().at(-1)?.text ?? '';
  await hf.flush();
  hf.close();
  live = null;
  return { samples: state.samples, drainSamples: state.drainSamples, eventsPerFrame: state.eventsPerFrame,
    split: state.split, postedBytes: state.postedBytes,
    framesWithoutMessage: state.framesWithoutMessage, events: state.events, textLength: text.length };
}

// ---- batch: apply rate, SDK vs pure JS ---------------------------------------------------------

const unpackr = new Unpackr({ int64AsType: 'number', mapsAsObjects: true, useRecords: false });
const unpack = (bytes) => unpackr.unpack(bytes);

let recorded = null;

/**
 * Records, byte for byte, what the relay sends a new client that attaches to `session` from 0,
 * until it is live with `expectedEvents` events: the prelude (welcome, attached) and the frames
 * carrying the replay's events.
 */
export async function capture({ url, session, expectedEvents }) {
  const messages = [];
  class RecordingWebSocket extends WebSocket {
    set onmessage(handler) {
      super.onmessage = (event) => {
        if (event.data instanceof ArrayBuffer) messages.push(new Uint8Array(event.data.slice(0)));
        handler(event);
      };
    }
    get onmessage() { return super.onmessage; }
  }
  const hf = await Holdfast.connect({ url, storage: 'memory', tabs: 'isolated', WebSocket: RecordingWebSocket });
  const s = hf.session(session);
  let events = 0;
  s.on('event', () => { events += 1; });
  const deadline = performance.now() + 60000;
  while (events < expectedEvents) {
    if (performance.now() > deadline) throw new Error(`capture: ${events} of ${expectedEvents} events after 60 s`);
    await sleep(20);
  }
  await whenLive(s, 15000);
  const expectedText = s.messages().at(-1)?.text ?? '';
  hf.close();
  // Classified outside any timing: which messages carry this session's events.
  const prelude = [];
  const eventFrames = [];
  let eventCount = 0;
  for (const bytes of messages) {
    const frames = framesOf(unpack(bytes));
    const n = frames.reduce((sum, f) => sum + (f.session === session ? eventsOf(f).length : 0), 0);
    if (n > 0) { eventFrames.push(bytes); eventCount += n; } else if (!eventFrames.length) prelude.push(bytes);
  }
  // The same replay in the plain form (a map per event), for the pure-JS pipeline as it read the
  // relay's frames before they were packed: the SDK asks for packed frames, a baseline of one's own
  // would carry self-describing ones.
  const packr = new Packr({ useRecords: false });
  const plainEventFrames = eventFrames.map((bytes) => {
    const frames = framesOf(unpack(bytes)).map((f) => (f?.type === 'packed' ? { type: 'events', session: f.session, events: eventsOf(f) } : f));
    return packr.pack(frames.length === 1 ? frames[0] : frames);
  });
  recorded = { session, prelude, eventFrames, plainEventFrames, eventCount, expectedText };
  return { messages: messages.length, prelude: prelude.length, eventFrames: eventFrames.length, eventCount,
    bytes: eventFrames.reduce((sum, b) => sum + b.length, 0), plainBytes: plainEventFrames.reduce((sum, b) => sum + b.length, 0),
    textLength: expectedText.length };
}

let replays = 0;

/** Applies the recorded replay through a fresh SDK client; returns {ms, events, messageEmits, ok}. */
export async function replaySdk({ storage = 'memory', onTimed }) {
  const { session, prelude, eventFrames, eventCount, expectedText } = recorded;
  // A scope of its own per run (the URL names it): no stored history from an earlier run.
  const connectOptions = { url: `ws://replay-${++replays}.invalid/v1/ws`, storage, tabs: storage === 'indexeddb' ? 'shared' : 'isolated' };
  const r = await replayThroughSdk({ Holdfast, connectOptions, session, prelude, eventFrames, now: () => performance.now(), onTimed });
  return { ms: r.ms, events: r.events, messageEmits: r.messageEmits, storage: r.storage, ok: r.events === eventCount && r.text === expectedText };
}

/** As replaySdk, with every core call, JSON.parse and channel post timed: where a batch's time goes. */
export async function replaySdkSplit({ storage = 'memory' }) {
  const sink = { splitNow: {}, postedBytesNow: 0 };
  const unwrap = await instrument(sink);
  let timed = null;
  try {
    // Only the timed part counts (not connecting, the prelude or closing).
    const r = await replaySdk({ storage, onTimed: (running) => {
      if (running) { sink.splitNow = {}; sink.postedBytesNow = 0; } else timed = { split: sink.splitNow, postedBytes: sink.postedBytesNow };
    } });
    return { ms: r.ms, ...timed, ok: r.ok };
  } finally {
    unwrap();
  }
}

/**
 * Applies the recorded replay through the pure-JS pipeline; returns {ms, events, messageEmits, ok}.
 * `plain`: its plain-form copy instead of the bytes the SDK got.
 */
export async function replayJs({ plain = false } = {}) {
  const { eventFrames, plainEventFrames, eventCount, expectedText } = recorded;
  const js = new JsSession(unpack);
  let events = 0;
  let messageEmits = 0;
  js.onEvent = () => { events += 1; };
  js.onMessage = () => { messageEmits += 1; };
  const t0 = performance.now();
  for (const bytes of plain ? plainEventFrames : eventFrames) {
    js.apply(bytes);
    await null;  // the same yield as the SDK run gets
  }
  const ms = performance.now() - t0;
  const text = js.messages.at(-1)?.text ?? '';
  return { ms, events, messageEmits, ok: events === eventCount && text === expectedText };
}

/** Deletes the IndexedDB histories the runs left. */
export async function cleanUp() {
  await Holdfast.clearAll();
}
