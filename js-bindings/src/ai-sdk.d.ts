// Types of the `holdfast/ai-sdk` entry (ai-sdk.js). Hand-written; keep in step with its JSDoc.
// Needs the `ai` package (a peer dependency) for the ChatTransport interface it implements.
import type { ChatTransport, UIMessage, UIMessageChunk } from 'ai';
import type { ControlOutcome, Holdfast, HoldfastMessage, Session } from './holdfast.js';

export { pipeOpenAIStream, pipeUIMessageStream } from './pipe.js';
export type { PipeOptions, PipeResult, OpenAIChunkLike, UIChunkLike, UIMessageStreamSource } from './pipe.js';

export interface HoldfastChatTransportOptions {
  /** A connected Holdfast client. */
  client: Holdfast;
  /** The session of a chat (default: the chat id itself). */
  sessionId?: (chatId: string) => string;
  /** How long reconnectToStream and loadMessages wait for the session to catch up (default 5000). */
  catchUpMs?: number;
}

/** useChat's transport over a Holdfast session: resume, multi-tab and stop for every surface. */
export class HoldfastChatTransport<UI_MESSAGE extends UIMessage = UIMessage> implements ChatTransport<UI_MESSAGE> {
  constructor(options: HoldfastChatTransportOptions);
  readonly resumeStreamIsReplay: true;
  /** The Holdfast session behind a chat. */
  session(chatId: string): Session;
  sendMessages: ChatTransport<UI_MESSAGE>['sendMessages'];
  reconnectToStream: ChatTransport<UI_MESSAGE>['reconnectToStream'];
  /** The chat so far (without a reply still being written), for useChat's `messages` option. */
  loadMessages(chatId: string): Promise<UI_MESSAGE[]>;
  /** Stops the reply being written in a chat, from any tab. */
  cancel(chatId: string): Promise<ControlOutcome>;
}

/** A Holdfast message as a text-only UI message. */
export function toUIMessage(message: HoldfastMessage): UIMessage;

export type { UIMessageChunk };
