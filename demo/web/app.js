// The demo page's behaviour: connects to the relay that served it with the Holdfast SDK, follows
// the session named by ?session= (default chat-1), renders each message as a bubble, updating only
// the bubble a 'message' event names, shows the link state in the header badge, and sends prompts.
// Layer: demo (an app on the public SDK; it knows nothing of the protocol).
import { Holdfast } from '/sdk/holdfast.js';

const sessionId = new URLSearchParams(location.search).get('session') || 'chat-1';
const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);
const transcript = $('transcript');
const stateBadge = $('state');
const form = $('prompt-form');
const input = $('prompt-input');
const notice = $('notice');
/** message id -> its bubble element */
const bubbles = new Map();

$('session').textContent = sessionId;
document.title = `Holdfast · ${sessionId}`;

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

function showState(state) {
  stateBadge.textContent = state;
  stateBadge.dataset.state = state;
}

/** Creates or updates the bubble of one message; the only DOM work per 'message' event. */
function render(message) {
  let bubble = bubbles.get(message.id);
  if (!bubble) {
    bubble = document.createElement('article');
    bubble.className = 'message';
    bubble.dataset.testid = 'message';
    bubble.dataset.id = message.id;
    bubble.dataset.role = message.role;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = message.role === 'user' ? 'you' : message.agent || message.role;
    const text = document.createElement('span');
    text.className = 'text';
    bubble.append(meta, text);
    bubbles.set(message.id, bubble);
    $('empty')?.remove();
  }
  // New messages only ever join the end of a conversation, so appending keeps the order.
  const nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
  bubble.dataset.status = message.status;
  bubble.querySelector('.text').textContent = message.text;
  if (!bubble.isConnected) transcript.append(bubble);
  if (nearBottom) transcript.scrollTop = transcript.scrollHeight;
}

function renderAll(messages) {
  for (const bubble of bubbles.values()) bubble.remove();
  bubbles.clear();
  for (const message of messages) render(message);
}

async function main() {
  // History lives in IndexedDB (the SDK's default in browsers): a reload shows the conversation
  // before the network answers. ?relay=ws://host:port/v1/ws points the page at another relay.
  const relay = new URLSearchParams(location.search).get('relay') ?? undefined;
  const hf = await Holdfast.connect({ url: relay });
  hf.on('warning', (warning) => console.warn('holdfast:', warning.message));
  hf.on('error', (error) => console.warn('holdfast error:', error.name, error.message));
  hf.on('retry', ({ attempt, delayMs }) => console.info(`holdfast: reconnecting (attempt ${attempt}) in ${delayMs} ms`));

  const session = hf.session(sessionId);
  showState(session.state);
  session.on('state', showState);
  session.on('message', render);
  session.on('reset', () => renderAll(session.messages()));
  renderAll(session.messages());

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    showNotice('');
    try {
      await session.prompt(text);
    } catch (error) {
      showNotice(`Could not send: ${error.message}`);
    }
  });
  // For debugging from the console.
  Object.assign(window, { holdfast: hf, session });
}

main().catch((error) => {
  showState('offline');
  showNotice(`Holdfast failed to start: ${error.message}`);
  console.error(error);
});
