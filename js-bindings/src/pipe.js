// pipe.js: model output into a Holdfast session, agent side — pipeUIMessageStream for an AI SDK
// streamText result (or any UI message chunk stream) and pipeOpenAIStream for OpenAI-compatible
// chat completion chunks (objects or server-sent events). Layer: JS glue (agent side). Each writes
// one message (message.start, a message.delta per text piece, message.end). A user's cancel ends
// the message at once (the MessageWriter does that), aborts the AbortSignal handed to the model
// call and stops reading the stream. No Node or browser APIs beyond streams: exported by both
// `holdfast/agent` and `holdfast/ai-sdk`.
import { Session } from './Session.js';

/**
 * @typedef {object} PipeOptions
 * @property {AbortSignal} [signal] the caller's own stop (e.g. shutdown): ends the message
 *   'cancelled' with reason 'aborted' and stops reading the stream
 * @property {AbortController} [controller] aborted when a user cancels or interrupts the message,
 *   for a stream created before the pipe (pass its signal to the model call)
 * @property {string} [msgId] the message id (default: a fresh one)
 * @property {string} [run] groups messages so one cancel stops them all
 * @property {string} [role] default 'assistant'
 *
 * @typedef {object} PipeResult
 * @property {string} messageId
 * @property {'complete' | 'cancelled' | 'error'} status
 * @property {string} text everything written to the message
 * @property {string} [reason]
 */

/**
 * Streams an AI SDK UI message stream into `session` as one message: text-delta chunks become
 * message.delta, 'finish' ends it complete, 'error' ends it with status 'error', 'abort' cancelled.
 * `stream` is a streamText result (anything with toUIMessageStream()), a ReadableStream or async
 * iterable of UI message chunks, or a function given the message's AbortSignal (aborted when a
 * user cancels) that returns one of those — pass that signal to the model call as `abortSignal`.
 * @param {Session} session
 * @param {unknown} stream
 * @param {PipeOptions} [options]
 * @returns {Promise<PipeResult>}
 */
export function pipeUIMessageStream(session, stream, options = {}) {
  return pipe(session, stream, options, async (source) => {
    const chunks = typeof source?.toUIMessageStream === 'function' ? source.toUIMessageStream() : source;
    return chunks;
  }, uiChunkAction);
}

/**
 * Streams OpenAI-compatible chat completion chunks into `session` as one message:
 * choices[0].delta.content becomes message.delta; the end of the stream ends it complete (a
 * finish_reason of 'length' or 'content_filter' is kept as the end's reason). `stream` is an async
 * iterable or ReadableStream of chunk objects (the `openai` package's stream), a fetch Response or
 * byte stream of server-sent events (`data: {...}` … `data: [DONE]`), or a function given the
 * message's AbortSignal returning one of those. A Response that is not ok ends the message with
 * status 'error' and the HTTP status as the reason.
 * @param {Session} session
 * @param {unknown} stream
 * @param {PipeOptions} [options]
 * @returns {Promise<PipeResult>}
 */
export function pipeOpenAIStream(session, stream, options = {}) {
  return pipe(session, stream, options, async (source) => {
    if (!isResponse(source)) return sseOrObjects(source);
    // An HTTP error carries a JSON body, not events: the message ends as an error saying why.
    if (!source.ok) throw new Error(`HTTP ${source.status}: ${(await source.text()).slice(0, 200)}`);
    return sseOrObjects(source.body);
  }, openAIChunkAction);
}

/** What one UI message chunk means for the message: text to write, or its end. */
function uiChunkAction(chunk) {
  switch (chunk?.type) {
    case 'text-delta': return { text: String(chunk.delta ?? '') };
    case 'finish': return { end: { status: 'complete' } };
    case 'error': return { end: { status: 'error', reason: String(chunk.errorText ?? 'error') } };
    case 'abort': return { end: { status: 'cancelled', reason: String(chunk.reason ?? 'aborted') } };
    default: return null;  // start, text-start/end, steps, reasoning, tools: not part of the text
  }
}

function openAIChunkAction(chunk) {
  if (chunk === '[DONE]') return { end: { status: 'complete' } };
  if (chunk?.error) return { end: { status: 'error', reason: String(chunk.error.message ?? chunk.error) } };
  const choice = chunk?.choices?.[0];
  const text = choice?.delta?.content;
  const finish = choice?.finish_reason;
  const action = {};
  if (typeof text === 'string' && text) action.text = text;
  if (finish && finish !== 'stop' && finish !== 'tool_calls') action.reason = String(finish);
  return action;
}

async function pipe(session, stream, options, open, actionOf) {
  if (!(session instanceof Session)) throw new TypeError('pipe: `session` must be a Session from hf.session(id)');
  options.signal?.throwIfAborted();
  const writer = session.startMessage({ msgId: options.msgId, run: options.run, role: options.role });
  let text = '';
  let iterator = null;
  let endReason;
  // A cancel must not wait for a source that ignores its signal: reading stops at once.
  let stopped;
  const stoppedReading = new Promise((resolve) => { stopped = resolve; });
  const stopReading = () => {
    stopped({ done: true, value: undefined });
    Promise.resolve(iterator?.return?.()).catch(() => {});
  };
  writer.signal.addEventListener('abort', () => {
    options.controller?.abort(writer.signal.reason);
    stopReading();
  }, { once: true });
  const onCallerAbort = () => {
    writer.end({ status: 'cancelled', reason: 'aborted' }).catch(() => {});
    stopReading();
  };
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const writes = [];
  try {
    const source = typeof stream === 'function' ? await stream(writer.signal) : await stream;
    iterator = asyncIterator(await open(source));
    while (!writer.ended) {
      const { value, done } = await Promise.race([iterator.next(), stoppedReading]);
      if (done || writer.ended) break;
      const action = actionOf(value);
      if (!action) continue;
      if (action.reason) endReason = action.reason;
      if (action.text) {
        text += action.text;
        writes.push(writer.write(action.text));
      }
      if (action.end) {
        writes.push(writer.end(endReason && action.end.status === 'complete' ? { ...action.end, reason: endReason } : action.end));
        break;
      }
    }
    if (!writer.ended) writes.push(writer.end(endReason ? { status: 'complete', reason: endReason } : {}));
  } catch (error) {
    // A cancel makes the model call throw an AbortError: the message already ended cancelled.
    if (!writer.ended) writes.push(writer.end({ status: 'error', reason: String(error?.message ?? error) }));
  } finally {
    options.signal?.removeEventListener('abort', onCallerAbort);
    stopReading();
  }
  await Promise.all(writes);
  const mine = session.messages().find((message) => message.id === writer.id);
  const status = mine && mine.status !== 'streaming' ? mine.status : writer.signal.aborted || options.signal?.aborted ? 'cancelled' : 'complete';
  const result = { messageId: writer.id, status, text };
  if (mine?.reason) result.reason = mine.reason;
  return result;
}

function asyncIterator(source) {
  if (source?.[Symbol.asyncIterator]) return source[Symbol.asyncIterator]();
  if (typeof source?.getReader === 'function') {
    const reader = source.getReader();
    return {
      next: () => reader.read(),
      return: async () => { await reader.cancel().catch(() => {}); return { done: true, value: undefined }; },
    };
  }
  if (source?.[Symbol.iterator]) return source[Symbol.iterator]();
  throw new TypeError('pipe: the stream must be a ReadableStream, an async iterable or a streamText result');
}

function isResponse(value) {
  return typeof Response === 'function' && value instanceof Response;
}

/**
 * OpenAI-compatible chunks from either a stream of objects (passed through) or a byte/text stream
 * of server-sent events (`data: {...}` blocks, ending with `data: [DONE]`), parsed.
 */
async function* sseOrObjects(source) {
  const iterator = asyncIterator(source);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value: piece, done } = await iterator.next();
      if (done) return;
      if (!(piece instanceof Uint8Array) && typeof piece !== 'string') {
        yield piece;
        continue;
      }
      buffer += typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true });
      buffer = buffer.replace(/\r\n/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n');
        if (!data) continue;
        if (data === '[DONE]') { yield '[DONE]'; return; }
        yield JSON.parse(data);
      }
    }
  } finally {
    await iterator.return?.();
  }
}

