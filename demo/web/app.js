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

const pending = new Map();

/**
 * Queues a message's bubble for update. The SDK emits one 'message' per changed message per
 * batch, synchronously; they are written together, with one layout read for the whole batch:
 * reading scrollHeight after each write would force a layout per bubble (quadratic over a long
 * replay).
 */
function render(message) {
  if (pending.size === 0) queueMicrotask(flushRenders);
  pending.set(message.id, message);
}

function flushRenders() {
  const nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
  for (const message of pending.values()) place(message);
  pending.clear();
  if (nearBottom) transcript.scrollTop = transcript.scrollHeight;
}

/** DOM writes only: creates or updates one bubble. */
function place(message) {
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
  bubble.dataset.status = message.status;
  bubble.querySelector('.text').textContent = message.text;
  if (!bubble.isConnected) transcript.append(bubble);
}

function renderAll(messages) {
  pending.clear();
  for (const bubble of bubbles.values()) bubble.remove();
  bubbles.clear();
  for (const message of messages) place(message);
  transcript.scrollTop = transcript.scrollHeight;
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

  const agentsBadge = $('agents');
  const showAgents = (agents) => {
    agentsBadge.textContent = agents.map((a) => `${a.name}: ${a.state}`).join(' · ');
  };
  showAgents(session.agents());
  session.on('agents', showAgents);

  // Stop and Steer act on the newest streaming message; the relay decides the outcome.
  const control = async (label, action) => {
    try {
      const outcome = await action();
      if (outcome !== 'applied') showNotice(`${label}: ${outcome.replace('_', ' ')}`);
    } catch (error) {
      showNotice(`${label} failed: ${error.message}`);
    }
  };
  $('stop').addEventListener('click', () => control('Stop', () => session.cancel()));
  $('steer').addEventListener('click', () => {
    const text = input.value.trim();
    if (!text) return showNotice('Type a direction first, then press Steer.');
    input.value = '';
    return control('Steer', () => session.steer('', text));
  });

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
