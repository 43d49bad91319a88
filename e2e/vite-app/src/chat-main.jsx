// The AI SDK's useChat over Holdfast: the one Holdfast line is `transport`. The answer survives
// dropped links and reloads, every tab shows the same chat, and Stop stops the agent.
import { useChat } from '@ai-sdk/react';
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Holdfast } from 'holdfast';
import { HoldfastChatTransport } from 'holdfast/ai-sdk';
import { chatIdFromUrl, relayUrl } from './relay.js';

const hf = await Holdfast.connect({ url: relayUrl });
const transport = new HoldfastChatTransport({ client: hf });
const chatId = chatIdFromUrl();
// What the chat holds already (another tab's, or before a reload); a reply still being written
// comes back through `resume`.
const initialMessages = await transport.loadMessages(chatId);

function Chat() {
  const { messages, sendMessage, status, stop } = useChat({ id: chatId, messages: initialMessages, transport, resume: true });
  const [text, setText] = useState('');
  const send = (event) => {
    event.preventDefault();
    sendMessage({ text });
    setText('');
  };
  return (
    <main>
      <p>Status: <span data-testid="status">{status}</span></p>
      <ol>
        {messages.map((message) => (
          <li key={message.id} data-testid="message" data-role={message.role}>
            {message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('')}
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <input aria-label="prompt" value={text} onChange={(event) => setText(event.target.value)} />
        <button type="submit">Send</button>
        <button type="button" onClick={() => stop()} disabled={status !== 'streaming' && status !== 'submitted'}>Stop</button>
      </form>
    </main>
  );
}

createRoot(document.getElementById('root')).render(<Chat />);
