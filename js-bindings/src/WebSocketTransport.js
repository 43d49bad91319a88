// WebSocketTransport: one WebSocket link to the relay behind the small Transport interface the
// client uses (send, close, and three callbacks). Layer: JS glue, a browser adapter. It moves bytes
// only: no framing, no retry and no protocol decisions (the core makes those). Tests and Node
// inject a WebSocket constructor (e.g. the `ws` package's) in place of globalThis.WebSocket.

/**
 * @typedef {object} Transport
 * @property {(frame: Uint8Array) => void} send
 * @property {() => void} close
 * @property {(() => void) | null} onOpen
 * @property {((frame: Uint8Array) => void) | null} onFrame
 * @property {(() => void) | null} onClose  called once, whether the link closed or failed
 */

const OPEN = 1;

/** @implements {Transport} */
export class WebSocketTransport {
  /** @type {WebSocket} */
  #socket;
  #closed = false;
  /** @type {(() => void) | null} */
  onOpen = null;
  /** @type {((frame: Uint8Array) => void) | null} */
  onFrame = null;
  /** @type {(() => void) | null} */
  onClose = null;

  /**
   * Starts connecting at once.
   * @param {string} url ws:// or wss:// address of the relay's /v1/ws
   * @param {typeof WebSocket} [WebSocketImpl] defaults to globalThis.WebSocket
   */
  constructor(url, WebSocketImpl = globalThis.WebSocket) {
    if (typeof WebSocketImpl !== 'function') {
      throw new TypeError('no WebSocket implementation: pass the `WebSocket` option (e.g. from the ws package)');
    }
    const socket = new WebSocketImpl(url);
    // Node's `ws` (an EventEmitter: it has `on`) hands over its own Buffer (a Uint8Array) as
    // 'nodebuffer', where 'arraybuffer' costs it a copy per message; a browser's WebSocket knows
    // only 'blob' and 'arraybuffer' (and warns in the console about any other value).
    socket.binaryType = typeof socket.on === 'function' ? 'nodebuffer' : 'arraybuffer';
    socket.onopen = () => { if (!this.#closed) this.onOpen?.(); };
    socket.onmessage = (event) => {
      if (this.#closed) return;
      const data = event.data;
      // Text frames are not part of the protocol; hand them over as bytes so the core reports them.
      this.onFrame?.(typeof data === 'string' ? new TextEncoder().encode(data)
        : data instanceof Uint8Array ? data : new Uint8Array(data));
    };
    // 'error' is normally followed by 'close'; either one ends the link, reported exactly once.
    socket.onerror = () => this.#finish();
    socket.onclose = () => this.#finish();
    this.#socket = socket;
  }

  /** Sends one binary frame; dropped when the link is not open (the core's outbox resends). */
  send(frame) {
    if (!this.#closed && this.#socket.readyState === OPEN) this.#socket.send(frame);
  }

  /** Closes the link; onClose fires (once) so the owner learns the link is gone. */
  close() {
    try {
      this.#socket.close(1000);
    } catch {
      // Closing a socket that never opened can throw in some implementations; it is gone either way.
    }
    this.#finish();
  }

  #finish() {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose?.();
  }
}
