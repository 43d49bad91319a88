// A consumer of every entry of the `holdfast` package, type-checked with `tsc --strict --noEmit`
// (scripts/vite-app.sh typecheck). It proves the .d.ts files resolve through the exports map and
// fit React, the AI SDK's useChat and an agent; the @ts-expect-error lines prove the types reject
// misuse rather than accepting anything.
import { useChat } from '@ai-sdk/react';
import type { ChatTransport, UIMessage } from 'ai';
import { Holdfast, HoldfastError, type HoldfastMessage, type Session, type SessionState } from 'holdfast';
import { connectAgent, onSessions, pipeOpenAIStream, pipeUIMessageStream, type PipeResult } from 'holdfast/agent';
import { HoldfastChatTransport } from 'holdfast/ai-sdk';
import { HoldfastProvider, useHoldfast, useSession } from 'holdfast/react';

export async function browser(): Promise<number> {
  const hf = await Holdfast.connect({ url: 'ws://localhost:8080/v1/ws', wasmUrl: new URL('https://cdn.example/holdfast_core.wasm') });
  const session: Session = hf.session('chat-1');
  const state: SessionState = session.state;
  const texts: string[] = session.messages().map((m: HoldfastMessage) => m.text);
  session.on('message', (m) => console.log(m.status, state, texts.length));
  // @ts-expect-error: not an event a session emits
  session.on('nonsense', () => {});
  // @ts-expect-error: the storage kinds are a closed set of names plus strings, but not numbers
  await Holdfast.connect({ storage: 42 });
  try {
    return await session.prompt('hello');
  } catch (error) {
    if (error instanceof HoldfastError) return error.code;
    throw error;
  }
}

export function ReactChat({ id }: { id: string }) {
  const { messages, state, lastSerial, prompt, cancel, steer, interrupt, streaming } = useSession(null, id);
  const client: Holdfast | null = useHoldfast();
  void client;
  void steer('', 'shorter');
  void interrupt('', 'other question');
  return (
    <div data-serial={lastSerial}>
      {state}
      {messages.map((m) => <p key={m.id}>{m.text}</p>)}
      <button disabled={!streaming} onClick={() => { void cancel(); }}>Stop</button>
      <button onClick={() => { void prompt('again'); }}>Ask</button>
    </div>
  );
}

export function Root({ hf }: { hf: Holdfast }) {
  return <HoldfastProvider client={hf}><ReactChat id="chat-1" /></HoldfastProvider>;
}

export function AiSdkChat({ hf }: { hf: Holdfast }) {
  const transport = new HoldfastChatTransport({ client: hf });
  const asInterface: ChatTransport<UIMessage> = transport;
  void asInterface;
  const { messages, sendMessage, stop } = useChat({ id: 'chat-1', transport, resume: true });
  return <button onClick={() => { void sendMessage({ text: 'hi' }); void stop(); }}>{messages.length}</button>;
}

export async function agent(): Promise<PipeResult[]> {
  const hf = await connectAgent({ url: 'ws://localhost:8080/v1/ws', agent: 'writer' });
  // @ts-expect-error: an agent needs a name
  await connectAgent({ url: 'ws://localhost:8080/v1/ws' });
  const results: PipeResult[] = [];
  onSessions(hf, (id) => {
    const session = hf.session(id);
    void pipeUIMessageStream(session, (signal) => fakeStreamText(signal), { msgId: 'reply-1' }).then((r) => results.push(r));
    void pipeOpenAIStream(session, fetch('https://llm.example/v1/chat/completions'));
  });
  return results;
}

function fakeStreamText(signal: AbortSignal) {
  return {
    toUIMessageStream: () => new ReadableStream({
      start(controller) {
        if (!signal.aborted) controller.enqueue({ type: 'text-delta' as const, id: 't', delta: 'hi' });
        controller.close();
      },
    }),
  };
}
