// getToken in the JS SDK against the fake relay: the token is fetched before connecting, and a
// token_expired report makes the SDK fetch a new one that the core sends in a second hello on
// the same link, with no re-attach, so the session keeps its position. Layer: tests (Node).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { FakeRelay } from './fake-relay.mjs';
import { importSdk, loadModule, wasmBinary, until as untilWithin } from './sdk.mjs';

let Holdfast;
let rawModule;
before(async () => {
  ({ Holdfast } = await importSdk());
  rawModule = await loadModule();
});

// These waits cover a whole agent/token round trip through the fake relay: 3 s each.
const until = (check, label, ms = 3000) => untilWithin(check, label, ms);

test('getToken before connecting and on token_expired; the renewal keeps the link and the position', async () => {
  const relay = new FakeRelay(rawModule);
  let calls = 0;
  const hf = await Holdfast.connect({ url: 'ws://fake/v1/ws', storage: 'memory', wasmBinary, WebSocket: relay.WebSocket,
    getToken: async () => `token-${++calls}` });
  const session = `token-${process.pid}`;
  const s = hf.session(session);
  relay.append(session, { kind: 'status', payload: { n: 1 } });
  await until(() => s.lastSerial === 1, 'first event');
  const sent = (type) => relay.received.filter((r) => r.frame.type === type);
  assert.deepEqual(sent('hello').map((r) => r.frame.token), ['token-1']);

  const errors = [];
  hf.on('error', (e) => errors.push(e.name));
  const [socket] = relay.sockets;
  socket.deliver({ type: 'error', code: rawModule.errorCodes().token_expired, message: 'token expired' });
  await until(() => sent('hello').length === 2, 'the renewal hello');
  assert.deepEqual(sent('hello').map((r) => r.frame.token), ['token-1', 'token-2']);
  assert.equal(sent('hello')[1].socket, socket, 'sent on the live link');
  assert.equal(sent('attach').length, 1, 'no re-attach: the position is kept');
  assert.deepEqual(errors, ['token_expired']);

  relay.append(session, { kind: 'status', payload: { n: 2 } });
  await until(() => s.lastSerial === 2, 'the next event on the same link');
  hf.close();
});
