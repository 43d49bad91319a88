// Holdfast without a framework: follow a session, render its messages, send prompts, stop.
import { Holdfast } from 'holdfast';
import { chatIdFromUrl, relayUrl } from './relay.js';

const hf = await Holdfast.connect({ url: relayUrl });
const session = hf.session(chatIdFromUrl());

function render() {
  document.getElementById('state').textContent = session.state;
  document.getElementById('messages').replaceChildren(...session.messages().map((message) => {
    const item = document.createElement('li');
    item.dataset.role = message.role;
    item.dataset.status = message.status;
    item.textContent = message.text;
    return item;
  }));
}
session.on('message', render);
session.on('state', render);
session.on('reset', render);
render();

document.getElementById('ask').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('prompt');
  session.prompt(input.value);
  input.value = '';
});
document.getElementById('stop').addEventListener('click', () => session.cancel());
