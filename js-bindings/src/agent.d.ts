// Types of the `holdfast/agent` entry (agent.js). Hand-written; keep in step with its JSDoc.
import type { ConnectOptions, Holdfast } from './holdfast.js';

export { Holdfast, HoldfastError, MessageWriter, Session } from './holdfast.js';
export type { ConnectOptions, HoldfastEvent, HoldfastMessage, IncomingControl, ControlOutcome, SessionState } from './holdfast.js';
export { pipeOpenAIStream, pipeUIMessageStream } from './pipe.js';
export type { PipeOptions, PipeResult, OpenAIChunkLike, UIChunkLike, UIMessageStreamSource } from './pipe.js';

/** Options of connectAgent(): ConnectOptions with the relay address and the agent's name required. */
export interface AgentConnectOptions extends ConnectOptions {
  url: string;
  /** This agent's identity, stamped by the relay on what it publishes. */
  agent: string;
}

/**
 * Connects as an agent. Node defaults: memory storage, the packaged .wasm, the global WebSocket or
 * else the `ws` package.
 */
export function connectAgent(options: AgentConnectOptions): Promise<Holdfast>;

/** Calls onSession for every session in the relay's `$sessions` index, past and future. */
export function onSessions(hf: Holdfast, onSession: (sessionId: string) => void): () => void;
