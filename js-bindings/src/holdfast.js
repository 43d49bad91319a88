// holdfast.js: the public entry of the Holdfast SDK (served by the relay as /sdk/holdfast.js) and
// the Holdfast client class. Layer: JS glue. It wires a transport to the WebAssembly client core:
// link events and received frames go in, and once per turn it drains the core — sends the frames
// it queued and applies its one JSON batch of updates (events, messages, state, acks, rejections,
// errors, retry). Reconnect delays, resume and dedup are the core's decisions; this file only
// moves bytes, arms the timer the core asked for, and settles promises.
import { Emitter } from './Emitter.js';
import { HoldfastError } from './HoldfastError.js';
import { IdbStorage } from './IdbStorage.js';
import { MessageWriter } from './MessageWriter.js';
import { Session } from './Session.js';
import { TabLock } from './TabLock.js';
import { WebSocketTransport } from './WebSocketTransport.js';
import { loadCore } from './loadCore.js';

export { HoldfastError, MessageWriter, Session, WebSocketTransport };

/**
 * @typedef {object} ConnectOptions
 * @property {string} [url] relay WebSocket address; default ws(s)://<page host>/v1/ws
 * @property {'indexeddb' | 'memory'} [storage] where the local history lives: 'indexeddb' (the default
 *   in browsers) or 'memory' (the default elsewhere, and for isolated tabs). Falls back to memory
 *   with a 'warning' when IndexedDB is unusable.
 * @property {'shared' | 'isolated'} [tabs] 'shared' (default in browsers): the tabs of a profile
 *   elect one leader that holds the only socket and writes IndexedDB; the others follow it over a
 *   BroadcastChannel. 'isolated': this tab has its own socket and memory storage. Without Web
 *   Locks or BroadcastChannel, tabs are isolated.
 * @property {number} [leaderTimeoutMs] a follower takes over after hearing nothing from the leader
 *   for this long (a frozen tab keeps its lock; default 3000)
 * @property {number} [flushDelayMs] longest delay before written history reaches IndexedDB (300)
 * @property {{maxSessions?: number, maxBytes?: number}} [retention] local history limits; least
 *   recently used sessions are evicted first (defaults 200 sessions, 64 MiB)
 * @property {typeof WebSocket} [WebSocket] constructor used instead of globalThis.WebSocket
 * @property {string | URL} [wasmUrl] where to fetch holdfast_core.wasm (default: next to this file)
 * @property {ArrayBuffer | Uint8Array} [wasmBinary] the .wasm bytes (Node)
 * @property {string} [clientId] unique per client; also its producer id (default: a random UUID)
 * @property {string} [token] sent in hello (capability token, docs/security.md)
 * @property {() => Promise<string> | string} [getToken] fetches a fresh token: called before
 *   connecting, shortly before the current one expires, and when the relay reports
 *   `token_expired`. The new token is sent in a new hello on the live link, so sessions keep
 *   their positions.
 * @property {string} [agent] agent identity stamped on what this client publishes ('' for users)
 * @property {number} [producerEpoch] this producer's incarnation; must grow across restarts of one
 *   clientId (default: Date.now())
 * @property {{intervalMs?: number, timeoutMs?: number}} [heartbeat] dead-link detection: ping after
 *   intervalMs without traffic, declare the link dead when unanswered for timeoutMs
 *   (defaults 15000 / 10000)
 * @property {(url: string, WebSocketImpl?: typeof WebSocket) => import('./WebSocketTransport.js').Transport} [transport]
 *   factory for the link (tests); default: a WebSocketTransport
 */

const DEFAULT_HEARTBEAT = { intervalMs: 15000, timeoutMs: 10000 };

const STORAGE_KINDS = new Set(['memory', 'indexeddb']);
/** Live clients, so Holdfast.clearAll() can close them before wiping their storage. */
const liveClients = new Set();
/** Leader locks are named this plus the storage scope (one per relay). */
const LEADER_LOCK = 'holdfast-leader:';
/** Where Holdfast.clearAll() tells the other tabs of the origin to drop their copies. */
const CLEAR_ALL_CHANNEL = 'holdfast-clear-all';

/** A connection to a Holdfast relay that follows any number of sessions. */
export class Holdfast extends Emitter {
  #module;
  #core;
  #options;
  /** @type {Record<string, number>} */
  #codes;
  /** @type {Map<string, Session>} */
  #sessions = new Map();
  /** @type {Map<number, {resolve: (serial: number) => void, reject: (error: Error) => void}>} */
  #pending = new Map();
  /** Controls waiting for the relay's outcome, by request id. */
  #outcomes = new Map();
  /**
   * Each session's strings (kinds, message ids) and [producerId, agent] pairs, which the events'
   * numbers index; kept from take to take, an update bringing only what was added.
   * @type {Map<string, {strings: string[], producers: [string, string][]}>}
   */
  #tables = new Map();
  /** @type {import('./WebSocketTransport.js').Transport | null} */
  #transport = null;
  #transportOpen = false;
  /** Set while waiting out the delay the core chose; null while a link is up or being opened. */
  #retryTimer = null;
  #drainQueued = false;
  #closed = false;
  #tickTimer = null;
  #tokenTimer = null;
  #tokenRenewal = null;
  /** @type {IdbStorage | null} */
  #storage = null;
  /** @type {TabLock | null} */
  #lock = null;
  /** @type {BroadcastChannel | null} */
  #channel = null;
  #role = null;
  /** Browser signals, forwarded to the core, which decides what they mean for the link. */
  #pageListeners = [
    ['online', () => this.#core.onNetworkOnline(Date.now())],
    ['offline', () => this.#core.onNetworkOffline()],
    ['pageshow', (event) => {
      if (event?.persisted) this.#lock?.request();  // back from the back/forward cache: rejoin the election
      this.#core.onWake(Date.now());
    }],
    ['visibilitychange', () => {
      if (globalThis.document?.visibilityState === 'visible') this.#core.onWake(Date.now());
      else this.#flushNow();  // hidden may be the last moment we get
    }],
    ['pagehide', (event) => {
      this.#drain();
      // The last copy's transaction is created now, before the lock goes (below, or with the page):
      // IndexedDB runs it before anything the next leader writes (IdbStorage.flushBeforeLeaving).
      this.#storage?.flushBeforeLeaving().catch((error) => this.#storage?.onError?.(error));
      // A page kept in the back/forward cache must not keep the lock (or the socket) from the
      // other tabs, and an open lock keeps Chromium from caching it at all.
      if (event?.persisted && this.#lock?.held) {
        this.#lock.release();
        this.#core.lockLost();
      }
    }],
  ].map(([name, forward]) => [name, (event) => { if (!this.#closed) { forward(event); this.#drain(); } }]);

  /**
   * Loads the core (once per page) and starts connecting. Resolves without waiting for the link:
   * sessions work offline and catch up when it opens (watch each session's 'state').
   * @param {ConnectOptions} [options]
   * @returns {Promise<Holdfast>}
   */
  static async connect(options = {}) {
    const module = await loadCore(options);
    if (options.getToken) options = { ...options, token: await options.getToken() };
    const inBrowser = typeof window !== 'undefined';
    const url = options.url ?? defaultUrl();
    const scope = storageScope(url);
    const warnings = [];
    const canShare = typeof BroadcastChannel === 'function' && Boolean(globalThis.navigator?.locks);
    const shared = inBrowser && (options.tabs ?? 'shared') === 'shared' && canShare;
    if (inBrowser && (options.tabs ?? 'shared') === 'shared' && !canShare) {
      warnings.push({ message: 'Web Locks or BroadcastChannel unavailable: this tab runs isolated' });
    }
    // A tab that leads from the start adopts the stored outbox (resent under its own producers).
    const lock = shared ? new TabLock(`${LEADER_LOCK}${scope}`) : null;
    const leaderAtStart = lock ? await lock.tryAcquire() : true;

    const wanted = options.storage ?? (inBrowser && typeof indexedDB !== 'undefined' ? 'indexeddb' : 'memory');
    let storage = null;
    if (wanted === 'indexeddb' && !shared && inBrowser) {
      warnings.push({ message: 'isolated tabs keep their history in memory', storage: 'memory' });
    } else if (wanted === 'indexeddb') {
      try {
        storage = await IdbStorage.open(module, scope, options);
      } catch (error) {
        warnings.push({ message: `local history unavailable (${error.message}): keeping it in memory`, storage: 'memory' });
      }
    } else if (!STORAGE_KINDS.has(wanted)) {
      warnings.push({ message: `storage '${wanted}' is not available; using memory`, storage: 'memory' });
    }
    return new Holdfast(module, { ...options, url }, { storage, warnings, lock, leaderAtStart });
  }

  /**
   * Deletes every local history of this origin, for privacy (e.g. at sign-out). Open clients are
   * closed first. Works without an open client.
   * @param {{wasmUrl?: string | URL, wasmBinary?: ArrayBuffer | Uint8Array}} [options]
   */
  static async clearAll(options = {}) {
    await Promise.all([...liveClients].map((client) => client.#shutdown()));
    const module = await loadCore(options);
    const locks = globalThis.navigator?.locks;
    if (typeof BroadcastChannel !== 'function' || !locks) return IdbStorage.clearAll(module);
    // The other tabs close their clients without writing (a leader would write every history
    // back from its memory)...
    const channel = new BroadcastChannel(CLEAR_ALL_CHANNEL);
    channel.postMessage('clear');
    channel.close();
    // ...and IndexedDB is cleared while this tab holds every leader lock, so no tab writes then. A
    // tab that does not let go within 3 s (frozen) has its lock taken, as a new leader would.
    const { held = [] } = await locks.query();
    const names = [...new Set(held.map((lock) => lock.name).filter((name) => name?.startsWith(LEADER_LOCK)))];
    const holdAll = (rest) => {
      if (rest.length === 0) return IdbStorage.clearAll(module);
      const work = () => holdAll(rest.slice(1));
      return locks.request(rest[0], { signal: AbortSignal.timeout(3000) }, work).catch((error) => (
        error?.name === 'TimeoutError' || error?.name === 'AbortError' ? locks.request(rest[0], { steal: true }, work) : Promise.reject(error)));
    };
    await holdAll(names);
  }

  /** Tabs with IndexedDB storage hear another tab's clearAll (one channel per page). */
  static #clearAllChannel = null;
  static #hearClearAll() {
    if (Holdfast.#clearAllChannel || typeof BroadcastChannel !== 'function') return;
    Holdfast.#clearAllChannel = new BroadcastChannel(CLEAR_ALL_CHANNEL);
    Holdfast.#clearAllChannel.onmessage = () => {
      for (const client of [...liveClients]) client.#discard();
    };
  }

  /** Another tab cleared every local history: close without writing this tab's copy back. */
  #discard() {
    if (this.#closed) return;
    this.emit('warning', { message: 'closed: Holdfast.clearAll() in another tab deleted the local histories' });
    this.#storage?.discard();
    this.#shutdown().catch(() => {});
    this.#storage?.forget();  // the core is gone (shutdown deletes it first): its files go too
  }

  /** @internal Use Holdfast.connect(). */
  constructor(module, options, { storage = null, warnings = [], lock = null, leaderAtStart = true } = {}) {
    super();
    this.#module = module;
    this.#storage = storage;
    this.#lock = lock;
    this.#options = options;
    this.#codes = Object.freeze({ ...module.errorCodes() });
    const clientId = options.clientId ?? randomUuid();
    const heartbeat = { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    const leaderTimeoutMs = options.leaderTimeoutMs ?? 3000;
    this.#core = new module.Core({
      clientId,
      token: options.token ?? '',
      agent: options.agent ?? '',
      seed: Math.floor(Math.random() * 2 ** 52) + 1,
      producerEpoch: options.producerEpoch ?? Date.now(),
      heartbeatIntervalMs: heartbeat.intervalMs,
      heartbeatTimeoutMs: heartbeat.timeoutMs,
      storageRoot: storage?.root ?? '',
      maxSessions: options.retention?.maxSessions,
      maxBytes: options.retention?.maxBytes,
      adoptStoredProducer: leaderAtStart,
      sharedTabs: Boolean(lock),
      beatMs: Math.max(50, Math.floor(leaderTimeoutMs / 3)),
      leaderTimeoutMs,
      now: Date.now(),
    });
    // This page's producer id (a reload resends stored publishes under theirs, and is a new producer).
    this.clientId = this.#core.clientId();
    /** Where this client's local history lives: 'indexeddb' or 'memory'. */
    this.storage = storage ? 'indexeddb' : 'memory';
    if (storage) {
      storage.attach(() => this.#core.takeChangedFiles());
      storage.onFull = () => { const freed = this.#core.onStorageFull(); this.#drain(); return freed; };
      // IndexedDB's own errors (a DOMException) reach the app as the documented HoldfastError.
      storage.onError = (error) => this.emit('error', error instanceof HoldfastError ? error
        : HoldfastError.named(this.#codes, 'store_failure', `local history not saved: ${error?.name ?? 'Error'}: ${error?.message ?? error}`));
    }
    for (const warning of warnings) {
      // Emitted on a later task so a listener added right after `await connect()` hears it.
      setTimeout(() => this.emit('warning', warning), 0);
    }
    liveClients.add(this);
    if (storage) Holdfast.#hearClearAll();
    for (const [name, listener] of this.#pageListeners) addPageListener(name, listener);
    // The core compares times seen at ticks, so late ticks (throttled tabs) are harmless.
    const tickMs = Math.max(50, Math.min(500, Math.min(heartbeat.intervalMs, heartbeat.timeoutMs, leaderTimeoutMs) / 4));
    this.#tickTimer = setInterval(() => { this.#core.tick(Date.now()); this.#drain(); }, tickMs);
    this.#tickTimer.unref?.();  // Node: a client alone must not keep the process alive
    if (lock) {
      this.#channel = new BroadcastChannel(`holdfast:${storageScope(options.url)}`);
      this.#channel.onmessage = (event) => {
        if (this.#closed) return;
        this.#core.channelMessage(event.data, Date.now());
        this.#scheduleDrain();
      };
      lock.onAcquired = () => { if (!this.#closed) { this.#core.lockAcquired(Date.now()); this.#drain(); } };
      lock.onLost = () => {
        if (this.#closed) return;
        this.#core.lockLost();
        this.#drain();
        lock.request();  // queue again: this tab may lead later
      };
      if (!leaderAtStart) lock.request();
    }
    if (leaderAtStart) this.#core.lockAcquired(Date.now());
    this.#core.tick(Date.now());
    this.#drain();
    this.#scheduleTokenRenewal();
  }

  // ---- capability tokens: the core reads exp and sends the new hello; this only calls getToken.

  #scheduleTokenRenewal() {
    clearTimeout(this.#tokenTimer);
    if (!this.#options.getToken || this.#closed) return;
    const delay = this.#core.tokenRefreshDelayMs(Date.now());
    if (delay < 0) return;
    this.#tokenTimer = setTimeout(() => this.#renewToken(), Math.min(delay, 2 ** 31 - 1));
    this.#tokenTimer.unref?.();
  }

  #renewToken() {
    if (!this.#options.getToken || this.#closed || this.#tokenRenewal) return;
    this.#tokenRenewal = Promise.resolve()
      .then(() => this.#options.getToken())
      .then((token) => {
        if (this.#closed) return;
        this.#core.setToken(String(token));
        this.#drain();
        this.#scheduleTokenRenewal();
      }, (error) => this.emit('error', error))
      .finally(() => { this.#tokenRenewal = null; });
  }

  /** This tab's part: 'leader' (holds the socket and writes IndexedDB) or 'follower'. */
  get role() { return this.#role; }

  /** {name: code} for every error code, from the core (the single source of truth). */
  get errorCodes() { return this.#codes; }
  /** The wire protocol version of the loaded core. */
  get protocolVersion() { return this.#module.protocolVersion(); }
  /** @returns {Session[]} the sessions currently followed */
  get sessions() { return [...this.#sessions.values()]; }
  /** Whether the link to the relay is open right now. */
  get connected() { return this.#transportOpen; }

  /**
   * Follows a session (or returns the existing handle). Throws a HoldfastError for an invalid id.
   * @param {string} id 1-128 characters of [A-Za-z0-9._:@-]; '$'-ids are the relay's (read-only)
   * @returns {Session}
   */
  session(id) {
    this.#assertOpen();
    id = String(id);
    const existing = this.#sessions.get(id);
    if (existing) return existing;
    const outcome = this.#core.openSession(id);
    if (outcome.code !== undefined) throw HoldfastError.from(outcome);
    // Events are rendered only while the Session has an 'event' listener (it has none yet).
    this.#core.renderEvents(id, false);
    const session = new Session(id, {
      publish: (sid, kind, msgId, payload) => this.#request('publish', sid, kind, msgId, payload),
      control: (sid, action, target, payload) => this.#request('control', sid, action, target, payload),
      controlOutcome: (sid, action, target, payload) => this.#controlOutcome(sid, action, target, payload),
      closeSession: (sid) => this.#closeSession(sid),
      clearSession: (sid) => this.#clearSession(sid),
      wantEvents: (sid, wanted) => {
        if (!this.#closed && this.#sessions.get(sid) === session) this.#core.renderEvents(sid, wanted);
      },
    });
    this.#sessions.set(id, session);
    // Drained now, not on a later turn: the stored history is in messages() when this returns,
    // before the link has even opened.
    this.#drain();
    return session;
  }

  /** Resolves once everything written to the local history so far is in IndexedDB. */
  async flush() {
    this.#drain();
    await this.#storage?.flush();
  }

  /**
   * Closes the link, stops reconnecting and rejects every outstanding publish with 'closed'.
   * Local history is flushed in the background (await hf.flush() first to be sure).
   */
  close() {
    this.#shutdown().catch(() => {});
  }

  async #shutdown() {
    if (this.#closed) return;
    liveClients.delete(this);
    this.#drain();
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#tickTimer);
    clearTimeout(this.#tokenTimer);
    for (const [name, listener] of this.#pageListeners) removePageListener(name, listener);
    const transport = this.#transport;
    this.#transport = null;
    this.#transportOpen = false;
    transport?.close();
    this.#channel?.close();
    const pending = [...this.#pending.values(), ...this.#outcomes.values()];
    this.#pending.clear();
    this.#outcomes.clear();
    for (const { reject } of pending) reject(HoldfastError.named(this.#codes, 'closed', 'the client was closed'));
    for (const session of this.#sessions.values()) session._detach();
    this.#sessions.clear();
    this.#storage?.detach();
    this.#core.delete();
    this.removeAllListeners();
    // The lock goes once this tab's last copy is in IndexedDB (or after 2 s): the next leader's
    // first, whole copy must come after it, not be overwritten by it.
    const flushed = this.#storage?.close() ?? Promise.resolve();
    let timer = null;
    await Promise.race([flushed.catch(() => {}), new Promise((resolve) => { timer = setTimeout(resolve, 2000); })]);
    clearTimeout(timer);
    this.#lock?.close();  // the next tab in the queue takes over
    await flushed;
  }

  /** Syncs local storage now. Drained first: the core writes the outbox when its updates are taken. */
  #flushNow() {
    this.#drain();
    this.#storage?.flush().catch(() => {});
  }

  // ---- app calls ---------------------------------------------------------------------------

  #request(method, sessionId, a, b, payload, onRequest = null) {
    if (this.#closed) return Promise.reject(HoldfastError.named(this.#codes, 'closed', 'the client is closed'));
    let json;
    try {
      json = JSON.stringify(payload === undefined ? null : payload);
    } catch (error) {
      return Promise.reject(HoldfastError.named(this.#codes, 'invalid_payload', String(error)));
    }
    // A function or a symbol has no JSON text (stringify gives undefined): refused like the rest.
    if (json === undefined) return Promise.reject(HoldfastError.named(this.#codes, 'invalid_payload', `a ${typeof payload} is not JSON`));
    const outcome = this.#core[method](sessionId, String(a), String(b), json);
    if (outcome.code !== undefined) return Promise.reject(HoldfastError.from(outcome));
    const promise = new Promise((resolve, reject) => this.#pending.set(outcome.request, { resolve, reject }));
    onRequest?.(outcome.request);
    this.#scheduleDrain();
    return promise;
  }

  /** A control whose promise settles with the relay's outcome, not just its serial. */
  #controlOutcome(sessionId, action, target, payload) {
    let request = null;
    const acked = this.#request('control', sessionId, action, target, payload, (id) => { request = id; });
    if (request === null) return acked;  // refused before it was sent: rejects with its HoldfastError
    const outcome = new Promise((resolve, reject) => this.#outcomes.set(request, { resolve, reject }));
    acked.catch((error) => {
      this.#outcomes.get(request)?.reject(error);
      this.#outcomes.delete(request);
    });
    return outcome;
  }

  #closeSession(id) {
    if (this.#closed || !this.#sessions.delete(id)) return;
    this.#tables.delete(id);
    this.#core.closeSession(id);
    this.#scheduleDrain();
  }

  async #clearSession(id) {
    if (this.#closed) return;
    this.#sessions.delete(id);
    this.#tables.delete(id);
    this.#core.clearSession(id);
    this.#drain();
    await this.#storage?.flush();
  }

  #assertOpen() {
    if (this.#closed) throw HoldfastError.named(this.#codes, 'closed', 'the client is closed');
  }

  // ---- the link --------------------------------------------------------------------------
  // The core's tab coordinator decides; this only opens and closes sockets, posts channel
  // messages and arms the timer it asked for.

  #openSocket() {
    const old = this.#transport;
    this.#transport = null;
    old?.close();
    const make = this.#options.transport ?? ((url, impl) => new WebSocketTransport(url, impl));
    let transport;
    try {
      transport = make(this.#options.url, this.#options.WebSocket);
    } catch (error) {
      // A bad URL or a missing WebSocket is reported; the core still schedules the retry.
      this.emit('error', error);
      this.#core.socketClosed();
      return;
    }
    this.#transport = transport;
    this.#transportOpen = false;
    transport.onOpen = () => {
      if (this.#transport !== transport) return;
      this.#transportOpen = true;
      this.#core.socketOpen();
      this.#drain();
    };
    // One core call per received message; only the drain is coalesced, so a burst is one batch.
    transport.onFrame = (frame) => {
      if (this.#transport !== transport) return;
      this.#core.socketFrame(frame);
      this.#scheduleDrain();
    };
    transport.onClose = () => {
      if (this.#transport !== transport) return;
      this.#transport = null;
      this.#transportOpen = false;
      this.#core.socketClosed();
      this.#drain();
    };
  }

  #applyDirectives(directives) {
    if (directives.role !== this.#role) {
      this.#role = directives.role;
      if (this.#storage) this.#storage.writer = directives.role === 'leader';
      this.emit('role', directives.role);
    }
    if (directives.closeSocket) {
      // Detached first: the coordinator already counts this socket as gone.
      const dead = this.#transport;
      this.#transport = null;
      this.#transportOpen = false;
      dead?.close();
    }
    if (directives.openSocket) this.#openSocket();
    if (directives.stealLock) this.#lock?.steal();
  }

  // ---- draining the core -------------------------------------------------------------------

  #scheduleDrain() {
    if (this.#drainQueued) return;
    this.#drainQueued = true;
    queueMicrotask(() => {
      this.#drainQueued = false;
      this.#drain();
    });
  }

  #drain() {
    // Applying updates may feed the coordinator (a retry due, a dead link), which can produce
    // more output: go round until the core is quiet.
    // One call says which outputs have something: after a live event that is the updates only.
    for (let round = 0; round < 8 && !this.#closed; ++round) {
      const pending = this.#core.pending();
      if (pending === 0) return;
      if (pending & 1) {
        const directives = this.#core.takeDirectives();
        if (directives) this.#applyDirectives(JSON.parse(directives));
      }
      if (pending & 2) for (const frame of this.#core.takeSocketFrames()) this.#transport?.send(frame);
      if (pending & 4) for (const message of this.#core.takeChannelMessages()) this.#channel?.postMessage(message);
      if (pending & 8) {
        const json = this.#core.takeUpdates();
        if (json) this.#apply(JSON.parse(json));
      }
    }
  }

  #apply(updates) {
    // The events' numbers come beside the JSON, four per event in the order of the entries
    // (client.hpp, event_columns), as a view of the core's memory: every entry's events are made
    // before any listener runs, since a listener's call into the core may move that memory.
    const sessions = updates.sessions ?? [];
    const columns = sessions.some((update) => update.events) ? this.#core.eventColumns() : null;
    let at = 0;
    const events = sessions.map((update) => {
      if (!update.events) return [];  // the core sends tables with events only
      const made = Session._eventsOf(update, columns, at, this.#tablesOf(update));
      at += 4 * update.events.length;
      return made;
    });
    for (let i = 0; i < sessions.length; i++) {
      const update = sessions[i];
      this.#sessions.get(update.id)?._applyUpdate(update, events[i]);
      if (update.corrupt) this.emit('warning', { message: `local history of ${update.id} was damaged and cut: ${update.corrupt.join('; ')}`, session: update.id });
    }
    if (updates.persist) this.#storage?.markDirty();
    if (updates.evicted?.length) this.emit('evicted', { sessions: updates.evicted });
    // An ack with a count stands for a run: requests and serials go up together.
    for (const { request, serial, count = 1 } of updates.acks ?? []) {
      for (let i = 0; i < count; i++) this.#settle(request + i)?.resolve(serial + i);
    }
    for (const report of updates.rejects ?? []) this.#settle(report.request)?.reject(HoldfastError.from(report));
    for (const report of updates.errors ?? []) {
      if (report.code === this.#codes.token_expired) this.#renewToken();
      this.emit('error', HoldfastError.from(report));
    }
    for (const { request, outcome } of updates.controls ?? []) {
      this.#outcomes.get(request)?.resolve(outcome);
      this.#outcomes.delete(request);
    }
    if (this.#closed) return;
    if (updates.closeLink) this.#core.linkDead();
    if (updates.connectNow && this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      this.#core.reconnectDue();
    }
    if (updates.retry) {
      const { attempt, delayMs } = updates.retry;
      this.emit('retry', { attempt, delayMs });
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.#core.reconnectDue();
        this.#drain();
      }, delayMs);
    }
  }

  /** A session's tables, updated by its entry: what it added replaces them from its base (0 when left out). */
  #tablesOf(update) {
    let tables = this.#tables.get(update.id);
    if (!tables) this.#tables.set(update.id, (tables = { strings: [], producers: [] }));
    if (update.strings) tables.strings = tables.strings.slice(0, update.stringBase ?? 0).concat(update.strings);
    if (update.producers) tables.producers = tables.producers.slice(0, update.producerBase ?? 0).concat(update.producers);
    return tables;
  }

  #settle(request) {
    const entry = this.#pending.get(request);
    this.#pending.delete(request);
    return entry;
  }
}

/** Page-lifecycle and network events exist only in browsers; elsewhere these are no-ops. */
function addPageListener(name, listener) {
  const target = name === 'visibilitychange' ? globalThis.document : globalThis.window;
  target?.addEventListener?.(name, listener);
}

function removePageListener(name, listener) {
  const target = name === 'visibilitychange' ? globalThis.document : globalThis.window;
  target?.removeEventListener?.(name, listener);
}

/** One history per relay: a folder name derived from its URL. */
function storageScope(url) {
  return String(url).replace(/[^A-Za-z0-9]+/g, '_').slice(0, 120);
}

function defaultUrl() {
  const location = globalThis.location;
  if (!location?.host) throw new TypeError('Holdfast.connect: the `url` option is required outside a page');
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
}

function randomUuid() {
  const crypto = globalThis.crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
