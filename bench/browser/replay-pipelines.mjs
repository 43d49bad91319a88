// The two pipelines the main-thread benchmark applies a recorded replay through (page side in
// main-thread-page.mjs; tests/bench/replay-pipelines.test.mjs checks they do the same work).
// Layer: benchmark. No imports: the page hands in msgpackr's unpack and the SDK's Holdfast, the
// Node test hands in its own.
//  - JsSession: the pure-JS pipeline a team might write instead of the SDK — msgpack decode of
//    each WebSocket message (plain or packed events frames), events kept (serial order, repeats dropped) and handed on,
//    message.start/delta/end assembled into messages, each changed message emitted once per
//    received message (as the SDK emits once per drain).
//  - replayThroughSdk: the same bytes through a fresh SDK client whose transport is a ReplayLink
//    (open at once, no network), frame by frame with the drain each frame schedules.

/** The frames of one WebSocket message (a bundle is an array of frames). */
export const framesOf = (decoded) => (Array.isArray(decoded) ? decoded : [decoded]);

/**
 * The events a frame carries as objects {serial, ts, producer_id, kind, msg_id, agent, payload}:
 * an `events` frame's as they are, a `packed` one's unpacked (docs/protocol.md, "Packed events":
 * serials from `serial`, each ts the previous one's plus its difference, the producer from the
 * table). The SDK asks the relay for packed frames, so a recorded replay holds those; the pure-JS
 * pipeline reads the same bytes.
 */
export function eventsOf(frame) {
  if (frame?.type === 'events') return Array.isArray(frame.events) ? frame.events : [];
  if (frame?.type !== 'packed' || !Array.isArray(frame.events) || !Array.isArray(frame.producers)) return [];
  const out = new Array(frame.events.length);
  let ts = 0;
  for (let i = 0; i < frame.events.length; i++) {
    const row = frame.events[i];
    const producer = frame.producers[row[1]];
    ts += row[0];
    out[i] = { serial: frame.serial + i, ts, producer_id: producer[0], kind: row[2], msg_id: row[3], agent: producer[1], payload: row[4] };
  }
  return out;
}

export class JsSession {
  events = [];
  messages = [];
  lastSerial = 0;
  /** @type {((event: object) => void) | null} */
  onEvent = null;
  /** @type {((message: object) => void) | null} */
  onMessage = null;
  #byId = new Map();
  #unpack;

  /** @param {(bytes: Uint8Array) => unknown} unpack a msgpack decoder giving u64 as numbers */
  constructor(unpack) {
    this.#unpack = unpack;
  }

  /** Applies one WebSocket message of the relay. */
  apply(bytes) {
    const changed = new Set();
    const fresh = [];
    for (const frame of framesOf(this.#unpack(bytes))) {
      for (const ev of eventsOf(frame)) {
        if (!(ev.serial > this.lastSerial)) continue;
        this.lastSerial = ev.serial;
        this.events.push(ev);
        fresh.push(ev);
        const message = this.#assemble(ev);
        if (message) changed.add(message);
      }
    }
    for (const ev of fresh) this.onEvent?.(ev);
    for (const message of changed) this.onMessage?.({ ...message });
  }

  #assemble(ev) {
    const payload = ev.payload;
    switch (ev.kind) {
      case 'message.start': {
        if (this.#byId.has(ev.msg_id)) return null;
        const message = { id: ev.msg_id, role: payload?.role ?? 'assistant', agent: ev.agent, text: typeof payload?.text === 'string' ? payload.text : '', status: 'streaming' };
        this.#byId.set(ev.msg_id, message);
        this.messages.push(message);
        return message;
      }
      case 'message.delta': {
        const message = this.#byId.get(ev.msg_id);
        if (!message || message.status !== 'streaming') return null;
        message.text += typeof payload === 'string' ? payload : (typeof payload?.text === 'string' ? payload.text : '');
        return message;
      }
      case 'message.end': {
        const message = this.#byId.get(ev.msg_id);
        if (!message || message.status !== 'streaming') return null;
        message.status = payload?.status ?? 'complete';
        return message;
      }
      default:
        return null;
    }
  }
}

/** A Transport whose link is open as soon as the benchmark says, fed the recorded frames. */
export class ReplayLink {
  onOpen = null;
  onFrame = null;
  onClose = null;
  sent = 0;
  send() { this.sent += 1; }
  close() { const handler = this.onClose; this.onClose = null; handler?.(); }
}

/**
 * Applies a recorded replay through a fresh SDK client: the prelude (welcome, attached) untimed,
 * then each events message followed by the drain it scheduled, timed with `now`.
 * @param {{Holdfast: any, connectOptions: object, session: string, prelude: Uint8Array[],
 *   eventFrames: Uint8Array[], now: () => number, onTimed?: (running: boolean) => void}} replay
 *   onTimed(true) just before the timed part starts, onTimed(false) just after it ends
 * @returns {Promise<{ms: number, events: number, messageEmits: number, text: string, status: string | undefined, storage: string}>}
 */
export async function replayThroughSdk({ Holdfast, connectOptions, session, prelude, eventFrames, now, onTimed }) {
  let link = null;
  const hf = await Holdfast.connect({ ...connectOptions, transport: () => (link = new ReplayLink()) });
  try {
    const s = hf.session(session);
    // A shared tab takes its lock before it opens the link.
    for (let i = 0; !link && i < 100; ++i) await new Promise((resolve) => setTimeout(resolve, 10));
    if (!link) throw new Error('the SDK opened no link');
    link.onOpen();
    for (const bytes of prelude) { link.onFrame(bytes); await null; }
    let events = 0;
    let messageEmits = 0;
    s.on('event', () => { events += 1; });
    s.on('message', () => { messageEmits += 1; });
    onTimed?.(true);
    const t0 = now();
    for (const bytes of eventFrames) {
      link.onFrame(bytes);
      await null;  // the drain this frame scheduled runs here, as after a WebSocket message task
    }
    const ms = now() - t0;
    onTimed?.(false);
    const last = s.messages().at(-1);
    if (hf.storage === 'indexeddb') await hf.flush();
    return { ms, events, messageEmits, text: last?.text ?? '', status: last?.status, storage: hf.storage };
  } finally {
    hf.close();
  }
}
