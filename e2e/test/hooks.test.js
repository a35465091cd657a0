'use strict';

// Host hooks seen by the real pusher-js (issue 11). The standalone server
// has no hooks, so these tests start the hook host (e2e/hookhost), a tiny
// Go program that embeds the server with WithHooks: it vetoes channels
// whose name contains "vetoed", refuses the app refused-key on connect,
// drops client-blocked, and records the lifecycle hooks it sees.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const {
  connected, named, newClient, quiet, subscribe, uid, waitEvent, waitFor,
} = require('../helpers/clients');
const { hookEvents, startHookHost } = require('../helpers/hookhost');

const DELAY_MS = 1000;
const REFUSED_APP = { id: 'refused-app', key: 'refused-key', secret: 'refused-secret' };

describe('hooks', () => {
  let server;
  before(async () => {
    server = await startHookHost({ delayMs: DELAY_MS });
  });
  after(async () => {
    await server.stop();
  });

  /** The recorded lifecycle hook calls for channel. */
  async function eventsOf(channel) {
    return (await hookEvents(server)).filter((e) => e.channel === channel);
  }

  /** Polls the host until pred(the calls for channel) holds; returns them. */
  async function waitHooks(channel, pred, what, timeout = 5000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const got = await eventsOf(channel);
      if (pred(got)) {
        return got;
      }
      if (Date.now() >= deadline) {
        throw new Error(`timed out after ${timeout} ms waiting for ${what}; hooks saw ${JSON.stringify(got)}`);
      }
      await quiet(20);
    }
  }

  test('an OnSubscribe veto is a pusher:subscription_error on the channel', async (t) => {
    const c = newClient(t, server);
    const id = await connected(c);
    for (const name of [`vetoed-${uid()}`, `private-vetoed-${uid()}`]) {
      const ch = c.subscribe(name);
      const errors = [];
      ch.bind('pusher:subscription_error', (data) => errors.push(data));
      await waitFor(() => errors.length > 0, `pusher:subscription_error on ${name}`, { detail: c.describe });
      assert.deepEqual(errors[0], { type: 'Forbidden', error: 'Vetoed by the host', status: 403 });
      assert.equal(ch.subscribed, false, `${name} subscribed despite the veto`);
    }
    // The socket stays connected, and its host data (checked by the
    // host's OnSubscribe) is still there for the next subscription.
    const ok = await subscribe(c, `private-fine-${uid()}`);
    assert.equal(ok.subscribed, true);
    assert.equal(c.connection.state, 'connected');
    assert.equal(c.connection.socket_id, id, 'the connection was dropped');
  });

  test('an OnConnect refusal closes with its code and pusher-js does not reconnect', async (t) => {
    const c = newClient(t, server, { app: REFUSED_APP });
    await waitFor(() => c.errorCodes().includes(4009), 'error code 4009', { detail: c.describe });
    await waitFor(() => ['disconnected', 'failed'].includes(c.connection.state), 'state disconnected or failed',
      { detail: c.describe });
    await quiet(1500); // longer than pusher-js's back-off
    assert.equal(c.rec.states.filter((s) => s === 'connecting').length, 1, `client retried: ${c.describe()}`);
    assert.ok(!c.rec.states.includes('connected'), `client was connected: ${c.describe()}`);
  });

  test('an event OnClientEvent drops never reaches the other clients', async (t) => {
    const name = `private-chat-${uid()}`;
    const a = newClient(t, server);
    const b = newClient(t, server);
    await connected(a);
    await connected(b);
    const chA = await subscribe(a, name);
    const chB = await subscribe(b, name);
    chA.trigger('client-blocked', { n: 1 });
    chA.trigger('client-fine', { n: 2 });
    await waitEvent(chB.events, 'client-fine', 'client-fine at b', { detail: b.describe });
    // Client events of one socket arrive in order: client-blocked would
    // have come first.
    assert.equal(named(chB.events, 'client-blocked').length, 0, 'a dropped client event was delivered');
    assert.equal(a.rec.messages.filter((m) => m.event === 'pusher:error').length, 0, 'a silent drop told the sender');
  });

  test('lifecycle hooks: once per transition, vacate delayed and cancelled by a return', async (t) => {
    const name = `presence-room-${uid()}`;
    const member = { user_id: 'u1', user_info: { name: 'Ann' } };
    const a = newClient(t, server, { presence: member });
    const b = newClient(t, server, { presence: member });
    await connected(a);
    await connected(b);
    await subscribe(a, name);
    await subscribe(b, name);
    await waitHooks(name, (got) => got.some((e) => e.name === 'member_added'), 'member_added hook');

    // Both tabs leave and one comes back within the delay: no transition.
    a.unsubscribe(name);
    b.unsubscribe(name);
    await quiet(100);
    await subscribe(a, name);
    await quiet(DELAY_MS + 300);
    let got = await eventsOf(name);
    assert.deepEqual(got.map((e) => `${e.name} ${e.user_id || ''}`), ['channel_occupied ', 'member_added u1'],
      'a leave and return within the delay was reported');

    const left = Date.now();
    a.unsubscribe(name);
    got = await waitHooks(name, (list) => list.length >= 4, 'channel_vacated and member_removed hooks', DELAY_MS + 5000);
    const late = got.slice(2);
    assert.deepEqual(late.map((e) => `${e.name} ${e.user_id || ''}`).sort(), ['channel_vacated ', 'member_removed u1']);
    for (const e of late) {
      assert.ok(e.at_ms - left >= DELAY_MS - 50, `${e.name} after ${e.at_ms - left} ms, before the ${DELAY_MS} ms delay`);
    }
    await quiet(300);
    assert.equal((await eventsOf(name)).length, 4, 'a transition was reported twice');
  });
});
