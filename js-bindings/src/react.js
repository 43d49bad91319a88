// react.js: the `holdfast/react` entry — React bindings of the Holdfast client. Layer: JS glue
// (React). useSession subscribes a component to one session through useSyncExternalStore: the
// snapshot is replaced only when the session reports a change ('message', 'state', 'reset',
// 'agents'), so React re-renders exactly then and concurrent renders see one consistent value.
// HoldfastProvider hands a connected client down the tree. No JSX, so the file ships as is.
import { createContext, createElement, useCallback, useContext, useMemo, useSyncExternalStore } from 'react';

const HoldfastContext = createContext(/** @type {import('./holdfast.js').Holdfast | null} */ (null));

/**
 * Makes a connected Holdfast client available to useSession(undefined, id) / useHoldfast().
 * @param {{ client: import('./holdfast.js').Holdfast | null, children?: any }} props
 */
export function HoldfastProvider({ client, children }) {
  return createElement(HoldfastContext.Provider, { value: client ?? null }, children);
}

/** The client given to the nearest HoldfastProvider (null while none, e.g. still connecting). */
export function useHoldfast() {
  return useContext(HoldfastContext);
}

const EMPTY = Object.freeze({ messages: Object.freeze([]), state: 'connecting', lastSerial: 0, agents: Object.freeze([]) });
const CHANGES = ['message', 'state', 'reset', 'agents'];

/** One store per (client, session id), shared by every component following that session. */
const stores = new WeakMap();

function storeFor(hf, id) {
  let byId = stores.get(hf);
  if (!byId) stores.set(hf, (byId = new Map()));
  let store = byId.get(id);
  if (store) return store;
  const session = hf.session(id);
  let snapshot = read(session);
  const listeners = new Set();
  let unsubscribe = null;
  store = {
    session,
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      if (!unsubscribe) {
        const offs = CHANGES.map((name) => session.on(name, () => {
          snapshot = read(session);
          for (const notify of [...listeners]) notify();
        }));
        unsubscribe = () => offs.forEach((off) => off());
        // Changes between the first render and this subscription are not lost.
        const now = read(session);
        if (now.lastSerial !== snapshot.lastSerial || now.state !== snapshot.state || now.messages.length !== snapshot.messages.length) {
          snapshot = now;
          queueMicrotask(() => listeners.forEach((notify) => notify()));
        }
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && unsubscribe) { unsubscribe(); unsubscribe = null; }
      };
    },
  };
  byId.set(id, store);
  return store;
}

function read(session) {
  return Object.freeze({ messages: Object.freeze(session.messages()), state: session.state, lastSerial: session.lastSerial, agents: Object.freeze(session.agents()) });
}

const noopSubscribe = () => () => {};
const getEmpty = () => EMPTY;

/**
 * Follows session `id` of client `hf` (or of the HoldfastProvider's client when `hf` is null or
 * undefined). While there is no client yet it returns an empty 'connecting' session whose actions
 * reject.
 * @param {import('./holdfast.js').Holdfast | null | undefined} hf
 * @param {string} id
 */
export function useSession(hf, id) {
  const provided = useContext(HoldfastContext);
  const client = hf ?? provided;
  const store = useMemo(() => (client ? storeFor(client, String(id)) : null), [client, id]);
  const snapshot = useSyncExternalStore(store ? store.subscribe : noopSubscribe, store ? store.getSnapshot : getEmpty, store ? store.getSnapshot : getEmpty);
  const session = store?.session ?? null;
  const missing = () => Promise.reject(new Error('useSession: no Holdfast client yet'));
  const prompt = useCallback((text, options) => (session ? session.prompt(text, options) : missing()), [session]);
  const cancel = useCallback((target) => (session ? session.cancel(target) : missing()), [session]);
  const steer = useCallback((target, text) => (session ? session.steer(target, text) : missing()), [session]);
  const interrupt = useCallback((target, text) => (session ? session.interrupt(target, text) : missing()), [session]);
  return {
    session,
    messages: snapshot.messages,
    state: snapshot.state,
    lastSerial: snapshot.lastSerial,
    agents: snapshot.agents,
    /** Whether the newest message is still being written. */
    streaming: snapshot.messages.length > 0 && snapshot.messages[snapshot.messages.length - 1].status === 'streaming',
    prompt,
    cancel,
    steer,
    interrupt,
  };
}
