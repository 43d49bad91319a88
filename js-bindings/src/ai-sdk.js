// ai-sdk.js: the `holdfast/ai-sdk` entry — Holdfast under the Vercel AI SDK's useChat. Layer: JS
// glue. HoldfastChatTransport implements the AI SDK's ChatTransport: a chat id is a Holdfast
// session; sendMessages publishes the newest user message as user.prompt and returns the agent's
// reply (the first non-user message after that prompt) as a UI message chunk stream that follows
// the session, so a dropped link only pauses it (the core resumes from the last serial and the
// text is never repeated or lost). reconnectToStream replays the reply still being written from
// its start (resumeStreamIsReplay), which gives a reloaded page or a second tab the same text.
// useChat's stop() in the sending tab cancels the reply for every surface. The `ai` package is
// only needed for its types: nothing here imports it.
export { pipeOpenAIStream, pipeUIMessageStream } from './pipe.js';

/**
 * @typedef {object} ChatTransportOptions
 * @property {import('./holdfast.js').Holdfast} client a connected Holdfast client
 * @property {(chatId: string) => string} [sessionId] the session of a chat (default: the chat id)
 * @property {number} [catchUpMs] how long reconnectToStream and loadMessages wait for the session
 *   to catch up with the relay before answering from local history (default 5000)
 */

export class HoldfastChatTransport {
  /** Reconnecting replays the reply from its beginning (the AI SDK then resets that message). */
  resumeStreamIsReplay = true;
  #client;
  #sessionId;
  #catchUpMs;

  /** @param {ChatTransportOptions} options */
  constructor(options) {
    if (!options?.client) throw new TypeError('HoldfastChatTransport: the `client` option (a connected Holdfast) is required');
    this.#client = options.client;
    this.#sessionId = options.sessionId ?? ((chatId) => chatId);
    this.#catchUpMs = options.catchUpMs ?? 5000;
  }

  /** The Holdfast session behind a chat. */
  session(chatId) {
    return this.#client.session(this.#sessionId(chatId));
  }

  /**
   * ChatTransport: publishes the last user message as a prompt and streams the reply to it.
   * @param {{ trigger: string, chatId: string, messageId?: string, messages: any[], abortSignal?: AbortSignal }} options
   * @returns {Promise<ReadableStream<any>>}
   */
  async sendMessages({ trigger, chatId, messages, abortSignal }) {
    // A regenerate (or a send ending in an assistant message, e.g. after a tool result) would
    // re-publish an answered prompt: the agent skips it and the stream would wait forever.
    if (trigger === 'regenerate-message') {
      throw new Error('HoldfastChatTransport: regenerate is not supported yet; send a new message instead');
    }
    const session = this.session(chatId);
    const last = messages.at(-1);
    if (last?.role !== 'user') {
      throw new TypeError('HoldfastChatTransport: the last message must be the user message to send');
    }
    const text = textOf(last);
    const promptId = `prompt-${last.id}`;
    const known = new Set(session.messages().map((message) => message.id));
    /** @type {(error: unknown) => void} */
    let failed = () => {};
    session.prompt(text, { msgId: promptId }).catch((error) => failed(error));
    const stream = replyStream(session, {
      pick: (all) => {
        const at = all.findIndex((message) => message.id === promptId);
        return at < 0 ? undefined : all.slice(at + 1).find((message) => message.role !== 'user' && !known.has(message.id));
      },
      abortSignal,
      cancelOnAbort: true,
    });
    failed = stream.fail;
    return stream.readable;
  }

  /**
   * ChatTransport: the reply still being written in this chat, replayed from its start, or null.
   * Waits (up to catchUpMs) for the session to catch up first, so a reload sees the relay's state.
   * Aborting it (useChat's stop() or unmount) only stops following; cancel(chatId) stops the agent.
   * @param {{ chatId: string, abortSignal?: AbortSignal }} options
   * @returns {Promise<ReadableStream<any> | null>}
   */
  async reconnectToStream({ chatId, abortSignal }) {
    const session = this.session(chatId);
    await caughtUp(session, this.#catchUpMs, abortSignal);
    if (abortSignal?.aborted) return null;
    const newest = session.messages().at(-1);
    if (!newest || newest.role === 'user' || newest.status !== 'streaming') return null;
    return replyStream(session, { pick: (all) => all.find((message) => message.id === newest.id), abortSignal, cancelOnAbort: false }).readable;
  }

  /**
   * The chat so far as AI SDK UI messages, for useChat's `messages` option: every message except a
   * reply still being written (reconnectToStream brings that one). Waits up to catchUpMs for the
   * session to catch up with the relay.
   * @param {string} chatId
   * @returns {Promise<{ id: string, role: 'user' | 'assistant', parts: { type: 'text', text: string }[] }[]>}
   */
  async loadMessages(chatId) {
    const session = this.session(chatId);
    await caughtUp(session, this.#catchUpMs);
    const all = session.messages();
    const newest = all.at(-1);
    const done = newest && newest.role !== 'user' && newest.status === 'streaming' ? all.slice(0, -1) : all;
    return done.map(toUIMessage);
  }

  /**
   * Stops the reply being written in a chat, from any tab (what stop() does in the sending tab).
   * @param {string} chatId
   * @returns {Promise<'applied' | 'too_late' | 'rejected'>}
   */
  cancel(chatId) {
    return this.session(chatId).cancel();
  }
}

/** A Holdfast message as an AI SDK UI message (text only). */
export function toUIMessage(message) {
  return { id: message.id, role: message.role === 'user' ? 'user' : 'assistant', parts: [{ type: 'text', text: message.text }] };
}

function textOf(uiMessage) {
  if (Array.isArray(uiMessage.parts)) {
    return uiMessage.parts.filter((part) => part?.type === 'text').map((part) => part.text).join('');
  }
  return String(uiMessage.content ?? '');
}

function caughtUp(session, ms, abortSignal) {
  if (session.state === 'live') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); off(); abortSignal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    const off = session.on('state', (state) => { if (state === 'live') done(); });
    abortSignal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A UI message chunk stream of one Holdfast message, following the session: 'start' (with the
 * Holdfast message id), 'text-start', a 'text-delta' per growth of the text, 'text-end', then
 * 'finish' (complete), 'abort' (cancelled) or 'error'.
 */
function replyStream(session, { pick, abortSignal, cancelOnAbort }) {
  let controller;
  let messageId = null;
  let sent = 0;
  let finished = false;
  const offs = [];
  const cleanup = () => {
    finished = true;
    for (const off of offs.splice(0)) off();
    abortSignal?.removeEventListener('abort', onAbort);
  };
  const enqueue = (chunk) => { if (!finished) controller.enqueue(chunk); };
  const close = () => { if (!finished) { cleanup(); controller.close(); } };
  const fail = (error) => {
    if (finished) return;
    enqueue({ type: 'error', errorText: String(error?.message ?? error) });
    close();
  };
  const update = () => {
    if (finished) return;
    const all = session.messages();
    const message = messageId ? all.find((m) => m.id === messageId) : pick(all);
    if (!message) return;
    if (!messageId) {
      messageId = message.id;
      enqueue({ type: 'start', messageId });
      enqueue({ type: 'text-start', id: `text-${messageId}` });
    }
    if (message.text.length > sent) {
      enqueue({ type: 'text-delta', id: `text-${messageId}`, delta: message.text.slice(sent) });
      sent = message.text.length;
    }
    if (message.status === 'streaming') return;
    enqueue({ type: 'text-end', id: `text-${messageId}` });
    if (message.status === 'complete') enqueue({ type: 'finish', finishReason: 'stop' });
    else if (message.status === 'cancelled') enqueue({ type: 'abort', reason: message.reason || 'cancelled' });
    else enqueue({ type: 'error', errorText: message.reason || 'the agent failed' });
    close();
  };
  function onAbort() {
    if (cancelOnAbort) session.cancel(messageId ?? '').catch(() => {});
    close();
  }
  const readable = new ReadableStream({
    start(streamController) {
      controller = streamController;
      if (abortSignal?.aborted) { onAbort(); return; }
      abortSignal?.addEventListener('abort', onAbort, { once: true });
      offs.push(session.on('message', update), session.on('reset', () => { sent = 0; update(); }));
      update();
    },
    cancel() { cleanup(); },
  });
  return { readable, fail };
}
