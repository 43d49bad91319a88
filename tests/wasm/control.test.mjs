// Live control through the JS SDK, against the fake relay's model of the relay's control rules:
// a user's cancel stops an agent's message (its writer ends itself) and resolves 'applied'; a
// cancel after the end is 'too_late', one aimed at nothing 'rejected'; a steer reaches the agent,
// which reports it applied. Layer: tests (node --test).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { FakeRelay } from './fake-relay.mjs';
import { importSdk, loadModule, wasmBinary, until } from './sdk.mjs';

let Holdfast;
let rawModule;

before(async () => {
  ({ Holdfast } = await importSdk());
  rawModule = await loadModule();
});


let counter = 0;

/** A user and an agent on one session of a fresh fake relay. */
async function pair() {
  const relay = new FakeRelay(rawModule);
  const connect = (extra) => Holdfast.connect({ url: 'ws://fake/v1/ws', storage: 'memory', wasmBinary, WebSocket: relay.WebSocket, ...extra });
  const id = `ctl-${process.pid}-${++counter}`;
  const user = await connect({});
  const agent = await connect({ agent: 'writer' });
  const us = user.session(id);
  const as = agent.session(id);
  await until(() => us.state === 'live' && as.state === 'live', 'both live');
  return { relay, user, agent, us, as, close: () => { user.close(); agent.close(); } };
}

describe('live control', () => {
  test("a cancel from the user stops the agent's message and resolves applied", async () => {
    const { us, as, close } = await pair();
    const writer = as.startMessage({ msgId: 'answer-1' });
    await writer.write('Hello ');
    await writer.write('wor');
    await until(() => us.messages()[0]?.text === 'Hello wor', 'the start of the answer');
    let heard = null;
    writer.on('cancel', (event) => { heard = event; });
    const outcome = await us.cancel();  // default target: the newest streaming message
    assert.equal(outcome, 'applied');
    assert.ok(heard, 'the agent heard the cancel');
    assert.equal(writer.signal.aborted, true);
    assert.equal(await writer.write('ld'), null, 'nothing is written after the end');
    await until(() => us.messages()[0]?.status === 'cancelled', 'cancelled on the user side');
    assert.equal(us.messages()[0].text, 'Hello wor');
    close();
  });

  test('a cancel after the end is too_late; one aimed at nothing is rejected', async () => {
    const { us, as, close } = await pair();
    const writer = as.startMessage({ msgId: 'done' });
    await writer.write('complete answer');
    await writer.end();
    await until(() => us.messages()[0]?.status === 'complete', 'complete');
    assert.equal(await us.cancel('done'), 'too_late');
    assert.equal(await us.cancel('no-such-message'), 'rejected');
    close();
  });

  test("a message the relay ended (agent_lost) ends the agent's writer: signal, 'end', no more writes", async () => {
    const { relay, us, as, close } = await pair();
    const writer = as.startMessage({ msgId: 'lost-answer' });
    await writer.write('partial ');
    let ended = null;
    writer.on('end', (event) => { ended = event; });
    // What the relay writes when the agent's lease runs out while its link is down.
    relay.append(as.id, { kind: 'message.end', msgId: 'lost-answer', payload: { status: 'error', reason: 'agent_lost' }, producerId: 'relay' });
    await until(() => writer.ended, 'the writer learns its message ended');
    assert.deepEqual(ended, { status: 'error', reason: 'agent_lost' });
    assert.equal(writer.signal.aborted, true);
    assert.equal(await writer.write('more'), null, 'nothing is written into the ended message');
    await until(() => us.messages()[0]?.status === 'error', 'ended on the user side');
    assert.equal(us.messages()[0].text, 'partial ');
    close();
  });

  test('a steer reaches the agent, which reports it applied', async () => {
    const { us, as, close } = await pair();
    const writer = as.startMessage({ msgId: 'steered' });
    writer.on('steer', ({ text, control }) => {
      writer.write(`[now: ${text}] `);
      writer.reportOutcome(control, 'applied');
    });
    await writer.write('first part ');
    await until(() => us.messages()[0]?.text === 'first part ', 'first part');
    assert.equal(await us.steer('steered', 'be brief'), 'applied');
    await until(() => us.messages()[0]?.text === 'first part [now: be brief] ', 'steered text');
    await writer.end();
    close();
  });

  test('agents() follows presence and activity from the log', async () => {
    const { relay, us, as, close } = await pair();
    relay.append(us.id, { kind: 'agent.attached', producerId: 'relay', payload: { agent: 'writer' } });
    await until(() => us.agents().length === 1, 'agent present');
    const seen = [];
    us.on('agents', (agents) => seen.push(agents.map((a) => a.state).join(',')));
    const writer = as.startMessage({ msgId: 'busy' });
    await until(() => us.agents()[0]?.state === 'streaming', 'streaming');
    assert.equal(us.agents()[0].messageId, 'busy');
    await writer.end();
    await until(() => us.agents()[0]?.state === 'idle', 'idle');
    assert.deepEqual(seen, ['streaming', 'idle']);
    close();
  });
});
