// Holdfast in React: <HoldfastProvider> hands the client down, useSession follows one session.
// Reloading the page shows the same chat, and an answer still being written goes on streaming.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Holdfast } from 'holdfast';
import { HoldfastProvider, useSession } from 'holdfast/react';
import { chatIdFromUrl, relayUrl } from './relay.js';

function Chat({ chatId }) {
  const { messages, state, streaming, prompt, cancel } = useSession(null, chatId);
  const [text, setText] = useState('');
  const send = (event) => {
    event.preventDefault();
    prompt(text);
    setText('');
  };
  return (
    <main>
      <p>Link: <span data-testid="state">{state}</span></p>
      <ol>
        {messages.map((message) => (
          <li key={message.id} data-testid="message" data-role={message.role} data-status={message.status}>
            {message.text}
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <input aria-label="prompt" value={text} onChange={(event) => setText(event.target.value)} />
        <button type="submit">Send</button>
        <button type="button" onClick={() => cancel()} disabled={!streaming}>Stop</button>
      </form>
    </main>
  );
}

const hf = await Holdfast.connect({ url: relayUrl });
createRoot(document.getElementById('root')).render(
  <HoldfastProvider client={hf}>
    <Chat chatId={chatIdFromUrl()} />
  </HoldfastProvider>,
);
