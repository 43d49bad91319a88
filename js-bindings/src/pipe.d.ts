// Types of pipe.js (re-exported by `holdfast/agent` and `holdfast/ai-sdk`). Hand-written; keep in
// step with the JSDoc of pipe.js.
import type { Session } from './holdfast.js';

export interface PipeOptions {
  /** The caller's own stop (e.g. shutdown): ends the message 'cancelled' (reason 'aborted'). */
  signal?: AbortSignal;
  /** Aborted when a user cancels or interrupts the message (for a stream created before the pipe). */
  controller?: AbortController;
  /** The message id (default: a fresh one). */
  msgId?: string;
  /** Groups messages so one cancel stops them all. */
  run?: string;
  /** Default 'assistant'. */
  role?: string;
}

export interface PipeResult {
  messageId: string;
  status: 'complete' | 'cancelled' | 'error';
  /** Everything written to the message. */
  text: string;
  reason?: string;
}

/** Anything a pipe reads: an async iterable or ReadableStream of chunks. */
export type ChunkSource<T> = AsyncIterable<T> | ReadableStream<T> | Iterable<T>;

/** A UI message chunk as far as the pipe reads it (the `ai` package's UIMessageChunk fits). */
export type UIChunkLike = { type: string; delta?: string; errorText?: string; reason?: string };

/** An AI SDK streamText result, or anything else with toUIMessageStream(). */
export interface UIMessageStreamSource {
  toUIMessageStream(...args: any[]): ChunkSource<any>;
}

/** One OpenAI-compatible chat completion chunk, as far as the pipe reads it. */
export interface OpenAIChunkLike {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  error?: { message?: string } | string;
}

type OrFactory<T> = T | Promise<T> | ((signal: AbortSignal) => T | Promise<T>);

/**
 * Streams an AI SDK UI message stream into `session` as one message (text-delta → message.delta;
 * finish → complete; error → error; abort → cancelled). Given a function, calls it with the
 * message's AbortSignal, aborted when a user cancels: pass it to streamText as `abortSignal`.
 */
export function pipeUIMessageStream(
  session: Session,
  stream: OrFactory<UIMessageStreamSource | ChunkSource<UIChunkLike>>,
  options?: PipeOptions,
): Promise<PipeResult>;

/**
 * Streams OpenAI-compatible chunks (objects, or a Response / byte stream of server-sent events)
 * into `session` as one message.
 */
export function pipeOpenAIStream(
  session: Session,
  stream: OrFactory<Response | ChunkSource<OpenAIChunkLike | Uint8Array | string>>,
  options?: PipeOptions,
): Promise<PipeResult>;
