// A fake relay for Node tests of the JS SDK: an in-process stand-in that speaks the real wire
// protocol (client frames decoded with the WASM module's describeFrame, relay frames encoded with
// msgpack.mjs) and hands the SDK a WebSocket constructor to inject. Serials, replay from
// from_serial, producer dedup and fan-out behave as the relay's do, minimally. Layer: tests.
import { encode } from './msgpack.mjs';

export class FakeRelay {
  /** @type {Map<string, object[]>} session -> events */
  logs = new Map();
  /** @type {Set<FakeSocket>} */
  sockets = new Set();
  /** every decoded client frame, in arrival order: {socket, frame} */
  received = [];
  /** when true, new sockets fail to connect */
  refuse = false;
  /** when true, publishes are not acknowledged (the test acks later or not at all) */
  holdAcks = false;
  /** max_frame_bytes announced in welcome */
  maxFrameBytes = 1 << 20;
  /** publishes of these kinds are answered with an error frame (code forbidden) */
  rejectKinds = new Set();
  epoch = 1;
  /** session -> Map(msgId -> {ended, status, pending: [{serial, action}]}): the relay's control model */
  #messages = new Map();
  #dedup = new Map();  // `${session}/${producer}/${epoch}/${seq}` -> serial
  #connections = 0;

  /** @param {{describeFrame(bytes: Uint8Array): string}} module */
  constructor(module) {
    this.module = module;
    const relay = this;
    /** The WebSocket constructor to inject as the SDK's `WebSocket` option. */
    this.WebSocket = class extends FakeSocket {
      constructor(url) { super(relay, url); }
    };
  }

  /** Appends an event as if another producer published it, fanning it out. */
  append(session, { kind, msgId = '', agent = '', payload = null, producerId = 'other' }) {
    const log = this.#log(session);
    const event = { serial: log.length + 1, ts: Date.now(), producer_id: producerId, kind, msg_id: msgId, agent, payload };
    log.push(event);
    for (const socket of this.sockets) {
      if (socket.attached.has(session)) socket.deliver({ type: 'events', session, events: [event] });
    }
    this.#track(session, event);
    return event.serial;
  }

  /** The relay's control rules, minimally (docs/protocol.md, "Live control and agents"). */
  #track(session, event) {
    if (!this.#messages.has(session)) this.#messages.set(session, new Map());
    const messages = this.#messages.get(session);
    const outcome = (control, action, target, result) => this.append(session, {
      kind: 'control.outcome', msgId: target, producerId: 'relay', payload: { control, action, target, outcome: result } });
    if (event.kind === 'message.start') messages.set(event.msg_id, { ended: false, pending: [] });
    if (event.kind === 'message.end') {
      const m = messages.get(event.msg_id);
      if (m && !m.ended) {
        m.ended = true;
        for (const { serial, action } of m.pending) outcome(serial, action, event.msg_id, event.payload?.status === 'cancelled' && action === 'cancel' ? 'applied' : 'too_late');
        m.pending = [];
      }
    }
    if (event.kind === 'control.outcome' && event.producer_id !== 'relay') {
      for (const m of messages.values()) m.pending = m.pending.filter((p) => p.serial !== event.payload?.control);
    }
  }

  /** Resolves a control's target as the relay does: '' means the newest open message. */
  resolveTarget(session, target) {
    const messages = this.#messages.get(session) ?? new Map();
    if (target) return target;
    return [...messages].reverse().find(([, m]) => !m.ended)?.[0] ?? '';
  }

  /** After a control event is appended: an immediate outcome, or a pending one. */
  settleControl(session, serial, action, target) {
    const m = (this.#messages.get(session) ?? new Map()).get(target);
    const immediate = !m ? 'rejected' : m.ended ? 'too_late' : null;
    if (immediate) {
      this.append(session, { kind: 'control.outcome', msgId: target, producerId: 'relay', payload: { control: serial, action, target, outcome: immediate } });
    } else {
      m.pending.push({ serial, action });
    }
  }

  /** Closes every open link from the relay's side. */
  dropAll() {
    for (const socket of [...this.sockets]) socket.serverClose();
  }

  /**
   * Every open link stops moving bytes in both directions without closing, as a sleeping laptop's
   * or an offline browser's socket does: only the client's heartbeat can notice.
   */
  stallAll() {
    for (const socket of this.sockets) socket.stalled = true;
    this.sockets.clear();
  }

  /** @internal */
  onConnect(socket) {
    if (this.refuse) return false;
    this.sockets.add(socket);
    return true;
  }

  /** @internal One binary frame from a client. */
  onFrame(socket, bytes) {
    const frame = JSON.parse(this.module.describeFrame(new Uint8Array(bytes)));
    this.received.push({ socket, frame });
    switch (frame.type) {
    case 'hello':
      socket.agent = frame.agent;
      socket.deliver({ type: 'welcome', connection_id: `c${++this.#connections}`, version: 1,
                       limits: { max_frame_bytes: this.maxFrameBytes, max_batch_events: 1000 } });
      break;
    case 'attach': {
      const log = this.#log(frame.session);
      socket.attached.add(frame.session);
      socket.deliver({ type: 'attached', session: frame.session, epoch: this.epoch, head_serial: log.length });
      const from = frame.epoch === this.epoch ? frame.from_serial : 0;
      const replay = log.filter((event) => event.serial > from);
      if (replay.length > 0) socket.deliver({ type: 'events', session: frame.session, events: replay });
      break;
    }
    case 'detach':
      socket.attached.delete(frame.session);
      break;
    case 'publish':
    case 'control': {
      if (this.rejectKinds.has(frame.kind)) {
        socket.deliver({ type: 'error', code: 14, message: `kind ${frame.kind} is not allowed`,
                         session: frame.session, producer_seq: frame.producer_seq });
        break;
      }
      const key = `${frame.session}/${frame.producer_id}/${frame.producer_epoch}/${frame.producer_seq}`;
      let serial = this.#dedup.get(key);
      let settle = null;
      if (serial === undefined) {
        const kind = frame.type === 'publish' ? frame.kind : `control.${frame.action}`;
        const msgId = frame.type === 'publish' ? frame.msg_id : this.resolveTarget(frame.session, frame.target);
        serial = this.append(frame.session, { kind, msgId, agent: socket.agent, payload: frame.payload, producerId: frame.producer_id });
        this.#dedup.set(key, serial);
        if (frame.type === 'control') settle = () => this.settleControl(frame.session, serial, frame.action, msgId);
      }
      if (!this.holdAcks) {
        socket.deliver({ type: 'ack', session: frame.session, producer_id: frame.producer_id, producer_seq: frame.producer_seq, serial });
      }
      settle?.();
      break;
    }
    case 'ping':
      socket.deliver({ type: 'pong', nonce: frame.nonce });
      break;
    default:
      socket.deliver({ type: 'error', code: 2, message: `unknown frame ${frame.type}` });
    }
  }

  #log(session) {
    if (!this.logs.has(session)) this.logs.set(session, []);
    return this.logs.get(session);
  }
}

/** The client's end of one link: the subset of WebSocket the SDK uses. */
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 3;
  // As in browsers: only 'blob' and 'arraybuffer' are taken, any other value is ignored.
  #binaryType = 'blob';
  get binaryType() { return this.#binaryType; }
  set binaryType(value) { if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value; }
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  attached = new Set();
  agent = '';
  /** A stalled link swallows what is sent and delivers nothing, and never closes by itself. */
  stalled = false;

  constructor(relay, url) {
    this.relay = relay;
    this.url = url;
    setTimeout(() => {
      if (this.readyState !== 0) return;
      if (!relay.onConnect(this)) {
        this.readyState = 3;
        this.onerror?.({ type: 'error' });
        this.onclose?.({ type: 'close', code: 1006 });
        return;
      }
      this.readyState = 1;
      this.onopen?.({ type: 'open' });
    }, 0);
  }

  send(bytes) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    if (!(bytes instanceof Uint8Array)) throw new TypeError('the SDK must send binary frames');
    if (this.stalled) return;
    this.relay.onFrame(this, bytes.slice());
  }

  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.relay.sockets.delete(this);
    setTimeout(() => this.onclose?.({ type: 'close', code: 1000 }), 0);
  }

  /** @internal relay -> client, asynchronously like a network. */
  deliver(frame) {
    const bytes = encode(frame);
    setTimeout(() => {
      if (this.readyState !== 1 || this.stalled) return;
      if (this.binaryType !== 'arraybuffer') throw new Error('the SDK must set binaryType to arraybuffer');
      this.onmessage?.({ type: 'message', data: bytes.buffer });
    }, 0);
  }

  /** @internal the relay drops the link. */
  serverClose() {
    this.close();
  }
}
