// Session: the app's handle on one followed session — its events, its assembled messages, its
// link state — and the way to publish into it. Layer: JS glue. It mirrors what the core reports in
// each update batch (events, changed messages by index, state, reset) and re-emits it; every
// decision (ordering, dedup, resume, message assembly) was already made by the core.
import { Emitter } from './Emitter.js';
import { MessageWriter } from './MessageWriter.js';

/**
 * @typedef {object} HoldfastEvent
 * @property {number} serial
 * @property {string} kind
 * @property {string} msgId
 * @property {string} agent
 * @property {string} producerId
 * @property {unknown} payload
 * @property {number} ts
 *
 * @typedef {object} HoldfastMessage
 * @property {string} id
 * @property {string} role
 * @property {string} agent
 * @property {string} text
 * @property {'streaming'|'complete'|'cancelled'|'error'} status
 * @property {string} [reason]
 * @property {number} [firstSerial]
 * @property {number} [lastSerial]
 *
 * @typedef {'connecting'|'live'|'offline'|'resuming'} SessionState
 *
 * @typedef {object} SessionHost  what a Session needs from its Holdfast client
 * @property {(session: string, kind: string, msgId: string, payload: unknown) => Promise<number>} publish
 * @property {(session: string, action: string, target: string, payload: unknown) => Promise<number>} control
 * @property {(session: string) => void} closeSession
 * @property {(session: string, wanted: boolean) => void} [wantEvents] whether the core should
 *   render this session's events (someone listens for 'event'); messages and state come regardless
 */

/** One session followed by a Holdfast client. Get it from `hf.session(id)`. */
export class Session extends Emitter {
  #id;
  /** @type {SessionHost} */
  #host;
  /** @type {SessionState} */
  #state = 'connecting';
  #lastSerial = 0;
  #epoch = 0;
  /** @type {HoldfastMessage[]} */
  #messages = [];
  /** @type {{name: string, state: string, messageId: string}[]} */
  #agents = [];
  /** @type {Map<string, MessageWriter>} messages this client is writing, as an agent */
  #writers = new Map();
  #closed = false;
  /** Whether the core renders this session's events: only while an 'event' listener exists. */
  #eventsWanted = false;

  /** @internal Use `hf.session(id)`. @param {string} id @param {SessionHost} host */
  constructor(id, host) {
    super();
    this.#id = id;
    this.#host = host;
  }

  /**
   * Adds a listener (see Emitter). The core renders a session's events into each update batch
   * only while someone listens for 'event' (an agent that only publishes would otherwise pay for
   * its own events coming back); a listener added later hears the events delivered from then on.
   * @param {string} name
   * @param {Function} listener
   * @returns {() => void} removes this listener
   */
  on(name, listener) {
    const remove = super.on(name, listener);
    if (name === 'event') this.#eventListenersChanged();
    return remove;
  }

  /** @param {string} name @param {Function} listener */
  off(name, listener) {
    super.off(name, listener);
    if (name === 'event') this.#eventListenersChanged();
  }

  #eventListenersChanged() {
    const wanted = this.listenerCount('event') > 0;
    if (wanted === this.#eventsWanted || this.#closed) return;
    this.#eventsWanted = wanted;
    this.#host.wantEvents?.(this.#id, wanted);
  }

  /** The session id. */
  get id() { return this.#id; }
  /** @returns {SessionState} the link state of this session */
  get state() { return this.#state; }
  /** The highest serial this client holds for the session (0: none yet). */
  get lastSerial() { return this.#lastSerial; }
  /** The incarnation of the session's log on the relay (0: not attached yet). */
  get epoch() { return this.#epoch; }

  /** @returns {HoldfastMessage[]} the assembled messages, in conversation order (a copy) */
  messages() {
    return this.#messages.slice();
  }

  /**
   * Publishes a `user.prompt` event with payload {text}.
   * @param {string} text
   * @param {{ msgId?: string }} [options] msgId defaults to a fresh unique id
   * @returns {Promise<number>} the serial the relay assigned, once acknowledged
   */
  prompt(text, options = {}) {
    const msgId = options.msgId ?? `prompt-${randomId()}`;
    return this.publish('user.prompt', { text: String(text) }, { msgId });
  }

  /**
   * Publishes one event. It waits in the outbox while offline and is sent exactly once per relay
   * (the relay deduplicates retries).
   * @param {string} kind e.g. 'message.delta'
   * @param {unknown} payload any JSON-serializable value
   * @param {{ msgId?: string }} [options]
   * @returns {Promise<number>} the serial, once acknowledged; rejects with a HoldfastError
   */
  publish(kind, payload, options = {}) {
    return this.#host.publish(this.#id, kind, options.msgId ?? '', payload);
  }

  /**
   * Sends a control (cancel, steer, interrupt) aimed at a message or run; it is appended to the
   * log as `control.<action>` so every surface sees it.
   * @param {string} action e.g. 'cancel'
   * @param {string} target e.g. the message id being generated
   * @param {unknown} [payload]
   * @returns {Promise<number>} the serial, once acknowledged
   */
  control(action, target, payload = {}) {
    return this.#host.control(this.#id, action, target, payload);
  }

  /**
   * Deletes this session's local history (privacy) and stops following it.
   * @returns {Promise<void>} resolves once IndexedDB no longer holds it
   */
  clear() {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.removeAllListeners();
    return this.#host.clearSession(this.#id);
  }

  /**
   * Stops a streaming message (default: the newest one), from any tab or device. A disconnect
   * never cancels; this always does.
   * @param {string} [target] a message id or run id; '' = the newest streaming message
   * @returns {Promise<'applied' | 'too_late' | 'rejected'>} the relay's outcome
   */
  cancel(target = '') {
    return this.#host.controlOutcome(this.#id, 'cancel', target ?? '', {});
  }

  /**
   * Redirects a streaming message: the agent takes `text` into account for the rest of it.
   * @param {string} target a message id or run id; '' = the newest streaming message
   * @param {string} text
   * @returns {Promise<'applied' | 'too_late' | 'rejected'>}
   */
  steer(target, text) {
    return this.#host.controlOutcome(this.#id, 'steer', target ?? '', { text: String(text) });
  }

  /**
   * Stops a streaming message and asks its agent to answer `text` instead.
   * @param {string} target a message id or run id; '' = the newest streaming message
   * @param {string} text
   * @returns {Promise<'applied' | 'too_late' | 'rejected'>}
   */
  interrupt(target, text) {
    return this.#host.controlOutcome(this.#id, 'interrupt', target ?? '', { text: String(text) });
  }

  /** @returns {{name: string, state: string, messageId: string}[]} agents present and what they do */
  agents() {
    return this.#agents.map((agent) => ({ ...agent }));
  }

  /**
   * Agent side: starts streaming a message into this session (message.start).
   * @param {{msgId?: string, run?: string, role?: string}} [options] `run` groups messages so one
   *   cancel can stop them all
   * @returns {MessageWriter}
   */
  startMessage(options = {}) {
    const id = options.msgId ?? `msg-${randomId()}`;
    const publish = (kind, payload, msgId) => this.publish(kind, payload, { msgId });
    const writer = new MessageWriter(id, publish);
    this.#writers.set(id, writer);
    writer.on('end', () => this.#writers.delete(id));
    const payload = { role: options.role ?? 'assistant' };
    if (options.run) payload.run = String(options.run);
    publish('message.start', payload, id).catch((error) => writer.emit('error', error));
    return writer;
  }

  /**
   * Agent side: says what the agent is doing ('thinking', …), shown in every surface's agents().
   * @param {string} state
   */
  status(state) {
    return this.publish('status', { state: String(state) });
  }

  /** Stops following the session and drops every listener. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.closeSession(this.#id);
    this.removeAllListeners();
  }

  /**
   * @internal The event objects of one session entry of a core update batch: its payloads, and
   * their numbers in columns, four per event [ts, kind, msgId, producer] from `at`, kind and msgId
   * indexing the session's strings and producer its [producerId, agent] pairs (client.hpp): a
   * stream repeats those, so they are parsed once. Serials run on from serialFrom.
   * @param {{serialFrom: number, events: unknown[]}} update
   * @param {ArrayLike<number>} columns the batch's event numbers
   * @param {number} at where this entry's events start in columns
   * @param {{strings: string[], producers: [string, string][]}} tables the session's, this entry applied
   * @returns {HoldfastEvent[]}
   */
  static _eventsOf(update, columns, at, { strings, producers }) {
    const payloads = update.events;
    const events = new Array(payloads.length);
    for (let i = 0, c = at, serial = update.serialFrom; i < payloads.length; i++, c += 4, serial++) {
      const producer = producers[columns[c + 3]];
      events[i] = { serial, ts: columns[c], kind: strings[columns[c + 1]], msgId: strings[columns[c + 2]], agent: producer[1], producerId: producer[0], payload: payloads[i] };
    }
    return events;
  }

  /**
   * @internal Applies one session entry of a core update batch. Everything is stored first, so a
   * listener reading messages() or state sees the whole batch; then it emits, in this order:
   * 'reset', 'event' per event, 'message' per changed message, 'state'.
   * @param {{state?: SessionState, lastSerial?: number, epoch?: number, reset?: boolean,
   *          messages?: ((HoldfastMessage | {status: string, reason: string, lastSerial: number}) & {index: number, textAppend?: string})[]}} update
   * @param {HoldfastEvent[]} events the entry's events (Session._eventsOf)
   */
  _applyUpdate(update, events) {
    if (this.#closed) return;
    if (update.lastSerial !== undefined) this.#lastSerial = update.lastSerial;
    if (update.epoch !== undefined) this.#epoch = update.epoch;
    if (update.reset) this.#messages = [];
    const changed = [];
    // A streaming message comes as textAppend (its new text only, with what can change: status,
    // reason, lastSerial) once JS holds it; its identity is then the one held.
    for (const m of update.messages ?? []) {
      const held = m.textAppend === undefined ? m : this.#messages[m.index];
      const text = m.textAppend === undefined ? m.text : held.text + m.textAppend;
      const message = { id: held.id, role: held.role, agent: held.agent, text, status: m.status, reason: m.reason,
        firstSerial: held.firstSerial, lastSerial: m.lastSerial };
      this.#messages[m.index] = message;
      changed.push(message);
    }
    if (update.agents) this.#agents = update.agents;
    const stateChanged = update.state !== undefined && update.state !== this.#state;
    if (stateChanged) this.#state = update.state;

    // continuityLost: the relay's retention dropped events this copy lacked (never a silent gap).
    if (update.reset) this.emit('reset', { continuityLost: update.continuityLost === true });
    // The damage is found while hf.session() opens the history, before its caller could listen:
    // told once the caller's turn is over (the cut history is already in messages()).
    if (update.corrupt) queueMicrotask(() => this.emit('corrupt', { problems: update.corrupt }));
    for (const event of events) this.emit('event', event);
    for (const message of changed) this.emit('message', message);
    // A message of ours ended by someone else (the relay after the agent's lease ran out, another
    // writer): its writer stops too, or the agent would go on streaming into an ended message.
    for (const message of changed) if (message.status !== 'streaming') this.#writers.get(message.id)?._endedElsewhere(message);
    if (update.agents) this.emit('agents', this.agents());
    for (const control of update.incoming ?? []) {
      this.#writers.get(control.messageId)?._control(control);
      this.emit('control', control);
    }
    if (stateChanged) this.emit('state', this.#state);
  }

  /** @internal The client closed: no more events, and no link ('offline'). */
  _detach() {
    this.#closed = true;
    this.#state = 'offline';
    this.removeAllListeners();
  }
}

function randomId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
