// agent.js: the `holdfast/agent` entry — the agent side of Holdfast in Node, on the same WASM core
// as the browser client. Layer: JS glue (agent side). It connects as an agent (the .wasm is read
// from next to this file, `ws` is used when Node has no global WebSocket), follows the relay's
// `$sessions` index, and re-exports the pipes (pipe.js) that turn model output into
// message.start/delta/end with a user's cancel wired to an AbortSignal.
import { Holdfast, HoldfastError, MessageWriter, Session } from './holdfast.js';

export { Holdfast, HoldfastError, MessageWriter, Session };
export { pipeOpenAIStream, pipeUIMessageStream } from './pipe.js';

/**
 * Connects to a relay as an agent. Defaults for Node: memory storage, the .wasm read from the
 * package, the global WebSocket or else the `ws` package (an optional peer dependency).
 * @param {import('./holdfast.js').ConnectOptions & { url: string, agent: string }} options
 * @returns {Promise<Holdfast>}
 */
export async function connectAgent(options) {
  if (!options || typeof options.url !== 'string' || !options.url) {
    throw new TypeError('connectAgent: the `url` option (ws://host:port/v1/ws) is required');
  }
  if (typeof options.agent !== 'string' || !options.agent) {
    throw new TypeError('connectAgent: the `agent` option (this agent\'s name) is required');
  }
  const WebSocketImpl = options.WebSocket ?? (options.transport ? undefined : await defaultWebSocket());
  const wasmBinary = options.wasmBinary ?? (options.wasmUrl ? undefined : await readPackagedWasm());
  return Holdfast.connect({ storage: 'memory', tabs: 'isolated', ...options, WebSocket: WebSocketImpl, wasmBinary });
}

/**
 * Calls `onSession(id)` for every session the relay announces in its `$sessions` index: those
 * created before (replayed) and those created later.
 * @param {Holdfast} hf
 * @param {(sessionId: string) => void} onSession
 * @returns {() => void} stops following the index
 */
export function onSessions(hf, onSession) {
  const index = hf.session('$sessions');
  const seen = new Set();
  return index.on('event', (event) => {
    const id = event.kind === 'session.created' ? /** @type {any} */ (event.payload)?.session : undefined;
    if (typeof id === 'string' && !seen.has(id)) {
      seen.add(id);
      onSession(id);
    }
  });
}

async function defaultWebSocket() {
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  try {
    return (await import('ws')).default;
  } catch {
    throw new TypeError('connectAgent: this Node has no global WebSocket; install the `ws` package or pass `WebSocket`');
  }
}

/** Node: the packaged holdfast_core.wasm (the web build cannot read files itself). */
async function readPackagedWasm() {
  const { readFile } = await import('node:fs/promises');
  return readFile(new URL('./holdfast_core.wasm', import.meta.url));
}
