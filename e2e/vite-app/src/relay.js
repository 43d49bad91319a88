// Where the relay is and which chat to show: the relay address comes from VITE_HOLDFAST_URL at
// build time (default: the page's own host), the chat id from ?chat= (a new one is put there, so a
// reload shows the same chat).
export const relayUrl = import.meta.env.VITE_HOLDFAST_URL ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;

export function chatIdFromUrl() {
  const url = new URL(location.href);
  let id = url.searchParams.get('chat');
  if (!id) {
    id = `chat-${crypto.randomUUID()}`;
    url.searchParams.set('chat', id);
    history.replaceState(null, '', url);
  }
  return id;
}
