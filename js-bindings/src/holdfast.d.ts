// Types of the Holdfast SDK's public API (holdfast.js and the classes it re-exports).
// Layer: JS glue. Written by hand beside the JSDoc of the sources; keep both in step.

/** Link state of one session. */
export type SessionState = 'connecting' | 'live' | 'offline' | 'resuming';

/** Status of an assembled message. */
export type MessageStatus = 'streaming' | 'complete' | 'cancelled' | 'error';

/** One event of a session's log, as the relay stored it. */
export interface HoldfastEvent {
  /** Position in the session's log: 1, 2, 3… with no holes. */
  serial: number;
  /** e.g. 'user.prompt', 'message.start', 'message.delta', 'message.end', 'control.cancel'. */
  kind: string;
  msgId: string;
  /** The publishing connection's agent identity ('' for users). */
  agent: string;
  /** The publishing client's id. */
  producerId: string;
  payload: unknown;
  /** Relay wall clock at append, ms since the Unix epoch. */
  ts: number;
}

/** A message assembled by the core from user.prompt and message.start/delta/end events. */
export interface HoldfastMessage {
  id: string;
  /** 'user' for prompts, else the start payload's role (default 'assistant'). */
  role: string;
  agent: string;
  text: string;
  status: MessageStatus;
  /** Why it ended, when the end payload says so (e.g. 'agent_lost'); '' otherwise. */
  reason: string;
  firstSerial: number;
  lastSerial: number;
}

/** The part of the WebSocket API the SDK uses (the DOM's and the `ws` package's both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of Holdfast.connect(). */
export interface ConnectOptions {
  /** Relay WebSocket address; default ws(s)://<page host>/v1/ws (required outside a page). */
  url?: string;
  /** 'memory' (default). Other values fall back to memory and emit a 'warning'. */
  storage?: 'indexeddb' | 'memory' | (string & {});
  /** Longest delay before written history reaches IndexedDB (default 300 ms). */
  flushDelayMs?: number;
  /** Local history limits; least recently used sessions not in use are evicted first. */
  retention?: { maxSessions?: number; maxBytes?: number };
  /**
   * 'shared' (default in browsers): the profile's tabs elect one leader holding the only socket
   * and writing IndexedDB; the others follow it over a BroadcastChannel. 'isolated': own socket,
   * memory storage.
   */
  tabs?: 'shared' | 'isolated';
  /** A follower takes over after hearing nothing from the leader for this long (default 3000). */
  leaderTimeoutMs?: number;
  /** WebSocket constructor used instead of globalThis.WebSocket (Node: the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /** Where to fetch holdfast_core.wasm; default next to holdfast.js. */
  wasmUrl?: string | URL;
  /** The .wasm bytes (Node: fs.readFileSync of holdfast_core.wasm). */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Unique per client; also its producer id. Default: crypto.randomUUID(). */
  clientId?: string;
  /** Capability token (JWT HS256, docs/security.md) sent to the relay in hello. */
  token?: string;
  /**
   * Fetches a fresh token: called before connecting, shortly before the current token's `exp`,
   * and when the relay reports `token_expired`. The new token goes out in a new hello on the
   * live link, so every session keeps its position. Takes precedence over `token`.
   */
  getToken?: () => Promise<string> | string;
  /** Agent identity stamped on this client's events ('' or absent for users). */
  agent?: string;
  /** This producer's incarnation; must grow across restarts of one clientId. Default: Date.now(). */
  producerEpoch?: number;
  /**
   * Dead-link detection: a ping after `intervalMs` without traffic; the link is declared dead and
   * replaced when the ping stays unanswered for `timeoutMs`. Defaults 15000 / 10000.
   */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
  /** Link factory replacing the WebSocket transport (tests). */
  transport?: (url: string, WebSocketImpl?: WebSocketConstructor) => Transport;
}

/** The small interface the client drives its link through. */
export interface Transport {
  send(frame: Uint8Array): void;
  close(): void;
  onOpen: (() => void) | null;
  onFrame: ((frame: Uint8Array) => void) | null;
  /** Called once when the link closes or fails. */
  onClose: (() => void) | null;
}

/** A failure reported by the core or the relay. */
export class HoldfastError extends Error {
  constructor(code: number, name: string, message?: string);
  /** Numeric code shared with the C++ core (see Holdfast#errorCodes). */
  code: number;
  /** Stable lower_snake name, e.g. 'closed', 'forbidden', 'invalid_session_id'. */
  name: string;
  static from(report: { code: number; name: string; message?: string }): HoldfastError;
  static named(codes: Record<string, number>, name: string, message?: string): HoldfastError;
}

interface HoldfastEvents {
  retry: { attempt: number; delayMs: number };
  error: HoldfastError | Error;
  warning: { message: string; storage?: string; session?: string };
  evicted: { sessions: string[] };
  role: 'leader' | 'follower';
}

export type ControlOutcome = 'applied' | 'too_late' | 'rejected';

export interface AgentPresence {
  name: string;
  /** 'idle', 'streaming', or the agent's last status ('thinking', …). */
  state: string;
  /** The message it is streaming, if any. */
  messageId: string;
}

/** A control aimed at one of this client's own messages (agent side). */
export interface IncomingControl {
  serial: number;
  action: 'cancel' | 'steer' | 'interrupt' | (string & {});
  target: string;
  messageId: string;
  payload: unknown;
}

interface SessionEvents {
  event: HoldfastEvent;
  message: HoldfastMessage;
  state: SessionState;
  reset: undefined;
  corrupt: { problems: string[] };
  agents: AgentPresence[];
  control: IncomingControl;
}

interface MessageWriterEvents {
  cancel: { text?: string; control: IncomingControl };
  interrupt: { text?: string; control: IncomingControl };
  steer: { text?: string; control: IncomingControl };
  end: { status: string; reason?: string };
  error: HoldfastError;
}

/** Agent side: one message being streamed. Get it from session.startMessage(). */
export class MessageWriter {
  private constructor();
  readonly id: string;
  /** Aborted when a user cancels or interrupts this message or its run. */
  readonly signal: AbortSignal;
  readonly ended: boolean;
  /** Appends text; after the end (e.g. a cancel) writes nothing and resolves null. */
  write(text: string): Promise<number | null>;
  /** Writes message.end once. */
  end(options?: { status?: 'complete' | 'cancelled' | 'error'; reason?: string }): Promise<number>;
  /** Reports that a steer (or interrupt) took effect; settles the user's promise. */
  reportOutcome(control: IncomingControl, outcome?: ControlOutcome): Promise<number>;
  on<K extends keyof MessageWriterEvents>(name: K, listener: (value: MessageWriterEvents[K]) => void): () => void;
  off<K extends keyof MessageWriterEvents>(name: K, listener: (value: MessageWriterEvents[K]) => void): void;
}

/** One followed session. Get it from hf.session(id). */
export class Session {
  private constructor();
  readonly id: string;
  readonly state: SessionState;
  /** Highest serial held (0: none). */
  readonly lastSerial: number;
  /** Incarnation of the session's log on the relay (0: not attached yet). */
  readonly epoch: number;
  /** The assembled messages in conversation order (a copy). */
  messages(): HoldfastMessage[];
  /** Publishes user.prompt {text}; resolves with its serial once acknowledged. */
  prompt(text: string, options?: { msgId?: string }): Promise<number>;
  /** Publishes one event; resolves with its serial once acknowledged. */
  publish(kind: string, payload: unknown, options?: { msgId?: string }): Promise<number>;
  /** Sends a control (appended as control.<action> with msgId = target); resolves with its serial. */
  control(action: string, target: string, payload?: unknown): Promise<number>;
  /** Stops a streaming message (default: the newest). A disconnect never cancels; this always does. */
  cancel(target?: string): Promise<ControlOutcome>;
  /** Redirects a streaming message; the agent reports when the steer took effect. */
  steer(target: string, text: string): Promise<ControlOutcome>;
  /** Stops a streaming message and asks its agent to answer `text` instead. */
  interrupt(target: string, text: string): Promise<ControlOutcome>;
  /** Agents present in the session and what they are doing. */
  agents(): AgentPresence[];
  /** Agent side: starts a message (message.start); `run` groups messages for one cancel. */
  startMessage(options?: { msgId?: string; run?: string; role?: string }): MessageWriter;
  /** Agent side: publishes a status ('thinking', …). */
  status(state: string): Promise<number>;
  /** Deletes the session's local history and stops following it. */
  clear(): Promise<void>;
  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof SessionEvents>(name: K, listener: (value: SessionEvents[K]) => void): () => void;
  off<K extends keyof SessionEvents>(name: K, listener: (value: SessionEvents[K]) => void): void;
  /** Stops following the session and drops its listeners. */
  close(): void;
}

/** A connection to a Holdfast relay following any number of sessions. */
export class Holdfast {
  private constructor();
  /** Loads the core (once per page) and starts connecting; resolves without waiting for the link. */
  static connect(options?: ConnectOptions): Promise<Holdfast>;
  readonly clientId: string;
  /** {name: code} for every error code, from the core. */
  readonly errorCodes: Readonly<Record<string, number>>;
  readonly protocolVersion: number;
  /** The sessions currently followed. */
  readonly sessions: Session[];
  /** Whether this tab's own socket to the relay is open (a follower's is not: it uses the leader's). */
  readonly connected: boolean;
  /** Where the local history lives. */
  readonly storage: 'indexeddb' | 'memory';
  /** This tab's part in a shared profile. */
  readonly role: 'leader' | 'follower' | null;
  /** Resolves once everything written to the local history so far is in IndexedDB. */
  flush(): Promise<void>;
  /** Closes every open client and deletes every local history of this origin. */
  static clearAll(options?: { wasmUrl?: string | URL; wasmBinary?: ArrayBuffer | Uint8Array }): Promise<void>;
  /** Follows a session (or returns its existing handle). Throws HoldfastError 'invalid_session_id'. */
  session(id: string): Session;
  on<K extends keyof HoldfastEvents>(name: K, listener: (value: HoldfastEvents[K]) => void): () => void;
  off<K extends keyof HoldfastEvents>(name: K, listener: (value: HoldfastEvents[K]) => void): void;
  /** Closes the link, stops reconnecting, rejects outstanding publishes with 'closed'. */
  close(): void;
}

/** The WebSocket link (exported for composition and tests). */
export class WebSocketTransport implements Transport {
  constructor(url: string, WebSocketImpl?: WebSocketConstructor);
  send(frame: Uint8Array): void;
  close(): void;
  onOpen: (() => void) | null;
  onFrame: ((frame: Uint8Array) => void) | null;
  onClose: (() => void) | null;
}
