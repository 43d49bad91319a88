// MessageWriter: an agent's handle on one message it streams — message.start, then deltas, then
// one message.end — and the controls users aim at it. Layer: JS glue (agent side). Which controls
// reach it was decided by the core (by message id or run id); this only publishes and dispatches.
// A cancel or an interrupt ends the message at once (status 'cancelled'), so nothing more is
// written to it and the user's cancel resolves 'applied'; `signal` aborts so the agent's own work
// (an LLM request) stops too. A steer is the agent's to apply: it reports the outcome.
import { Emitter } from './Emitter.js';

export class MessageWriter extends Emitter {
  #publish;
  #id;
  #ended = false;
  #controller = new AbortController();
  #endPromise = null;

  /**
   * @internal Use `session.startMessage()`.
   * @param {string} id
   * @param {(kind: string, payload: unknown, msgId: string) => Promise<number>} publish
   */
  constructor(id, publish) {
    super();
    this.#id = id;
    this.#publish = publish;
  }

  /** The message id (`msgId` of its events). */
  get id() { return this.#id; }
  /** Aborted when a user cancels or interrupts this message (or its run). */
  get signal() { return this.#controller.signal; }
  /** Whether message.end was written. */
  get ended() { return this.#ended; }

  /**
   * Appends text to the message. After the end (e.g. a cancel) it writes nothing and resolves null.
   * @param {string} text
   * @returns {Promise<number | null>} the delta's serial
   */
  write(text) {
    if (this.#ended) return Promise.resolve(null);
    return this.#publish('message.delta', { text: String(text) }, this.#id);
  }

  /**
   * Ends the message once; later calls return the first end's promise.
   * @param {{status?: 'complete' | 'cancelled' | 'error', reason?: string}} [options]
   * @returns {Promise<number>} the end's serial
   */
  end(options = {}) {
    if (this.#endPromise) return this.#endPromise;
    this.#ended = true;
    const payload = { status: options.status ?? 'complete' };
    if (options.reason) payload.reason = options.reason;
    this.#endPromise = this.#publish('message.end', payload, this.#id);
    this.emit('end', payload);
    this.removeAllListeners();
    return this.#endPromise;
  }

  /**
   * Tells everyone a control took effect (or did not): the relay settles the user's steer or
   * interrupt with it.
   * @param {{serial: number, action: string, target: string}} control as received in 'steer'
   * @param {'applied' | 'too_late' | 'rejected'} [outcome]
   */
  reportOutcome(control, outcome = 'applied') {
    return this.#publish('control.outcome', { control: control.serial, action: control.action, target: control.target, outcome }, this.#id);
  }

  /**
   * @internal The session saw this message end without this writer's end (the relay ended it with
   * `agent_lost` while the agent was away, or another writer did): nothing more is written, `signal`
   * aborts and 'end' fires with that end's status and reason.
   * @param {{status: string, reason?: string, lastSerial: number}} message
   */
  _endedElsewhere(message) {
    if (this.#endPromise) return;
    this.#ended = true;
    this.#endPromise = Promise.resolve(message.lastSerial);
    const payload = { status: message.status };
    if (message.reason) payload.reason = message.reason;
    this.#controller.abort(message.reason ?? message.status);
    this.emit('end', payload);
    this.removeAllListeners();
  }

  /** @internal A control aimed at this message, from the core's update. */
  _control(control) {
    const text = control.payload?.text;
    if (control.action === 'cancel' || control.action === 'interrupt') {
      if (this.#ended) return;
      this.emit(control.action, { text, control });
      this.#controller.abort(control.action);
      // Nobody awaits this end; if the client closes before its ack, the outbox (or the relay's
      // lease) still settles the message, so a rejection here is not the agent's to handle.
      this.end({ status: 'cancelled', reason: control.action === 'interrupt' ? 'interrupted' : 'cancelled' }).catch(() => {});
      return;
    }
    this.emit(control.action, { text, control });
  }
}
