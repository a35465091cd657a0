'use strict';

// Client events (client-*) between pusher-js clients: delivery to the other
// subscribers only, user_id on presence channels, rejection when the app
// disables them or on public channels, and the per-connection rate limit.
// Issue 2.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { DEFAULT_APP, appsConfig, startServer } = require('../helpers/server');
const {
  connected, errorCode, named, newClient, sdk, subscribe, uid, waitEvent, waitFor,
} = require('../helpers/clients');

const NO_CLIENT_APP = { id: 'quiet-app', key: 'quiet-key', secret: 'quiet-secret' };
const LIMIT_APP = { id: 'limit-app', key: 'limit-key', secret: 'limit-secret' };
const LIMIT = 5;

/** Returns the pusher:error messages a client received. */
function pusherErrors(client) {
  return client.rec.messages.filter((m) => m.event === 'pusher:error');
}

describe('client events', () => {
  let server;
  before(async () => {
    server = await startServer({
      config: appsConfig([
        { ...DEFAULT_APP, enabled: true, enable_client_messages: true },
        { ...NO_CLIENT_APP, enabled: true, enable_client_messages: false },
        { ...LIMIT_APP, enabled: true, enable_client_messages: true, max_client_events_per_second: LIMIT },
      ]),
    });
  });
  after(async () => {
    await server.stop();
  });

  /** Connects two clients of app to channel name; returns [a, chA, b, chB]. */
  async function pair(t, name, app = DEFAULT_APP, users = ['ua', 'ub'], withMetadata = []) {
    const a = newClient(t, server, { app, presence: { user_id: users[0], user_info: { name: users[0] } } });
    const b = newClient(t, server, { app, presence: { user_id: users[1], user_info: { name: users[1] } } });
    await connected(a);
    await connected(b);
    const chA = await subscribe(a, name, { withMetadata });
    const chB = await subscribe(b, name, { withMetadata });
    return [a, chA, b, chB];
  }

  test('private channel: delivered to the other subscriber, not echoed to the sender', async (t) => {
    const name = `private-chat-${uid()}`;
    const [a, chA, b, chB] = await pair(t, name, DEFAULT_APP, ['ua', 'ub'], ['client-typing', 'client-ack']);
    assert.equal(chA.trigger('client-typing', { x: 1 }), true);
    const got = await waitEvent(chB.events, 'client-typing', 'client-typing at b', { detail: b.describe });
    assert.deepEqual(got.data, { x: 1 });
    const raw = b.rec.messages.find((m) => m.event === 'client-typing');
    assert.equal(raw.channel, name);
    assert.equal(raw.user_id, undefined, 'user_id set on a private channel client event');

    // b answers only after it saw a's event, so a's copy (if any) is queued
    // before the answer.
    chB.trigger('client-ack', { ok: true });
    await waitEvent(chA.events, 'client-ack', 'client-ack at a', { detail: a.describe });
    assert.equal(named(chA.events, 'client-typing').length, 0, 'client event echoed to its sender');
    assert.equal(named(chB.events, 'client-ack').length, 0, 'client event echoed to its sender');
    assert.equal(pusherErrors(a).length, 0, JSON.stringify(pusherErrors(a)));
  });

  test('presence channel: user_id of the sender reaches the bound callback', async (t) => {
    const name = `presence-chat-${uid()}`;
    const [a, chA, b, chB] = await pair(t, name, DEFAULT_APP, ['alice', 'bob'], ['client-hello', 'client-reply']);
    chA.trigger('client-hello', { text: 'hi' });
    const got = await waitEvent(chB.events, 'client-hello', 'client-hello at bob', { detail: b.describe });
    assert.deepEqual(got.data, { text: 'hi' });
    // pusher-js passes {user_id} as the second argument of the callback.
    assert.deepEqual(got.metadata, { user_id: 'alice' });
    const raw = b.rec.messages.find((m) => m.event === 'client-hello');
    assert.equal(raw.user_id, 'alice');

    chB.trigger('client-reply', 'plain text');
    const reply = await waitEvent(chA.events, 'client-reply', 'client-reply at alice', { detail: a.describe });
    assert.equal(reply.data, 'plain text');
    assert.deepEqual(reply.metadata, { user_id: 'bob' });
    assert.equal(named(chA.events, 'client-hello').length, 0, 'client event echoed to its sender');
  });

  test('presence channel: user_id comes from the subscription, not from the frame', async (t) => {
    const name = `presence-spoof-${uid()}`;
    const [a, , b, chB] = await pair(t, name, DEFAULT_APP, ['honest', 'victim'], ['client-spoof']);
    // A hand-written frame that claims to come from someone else.
    a.send_event('client-spoof', { n: 1 }, name);
    a.connection.send(JSON.stringify({ event: 'client-spoof', channel: name, data: { n: 2 }, user_id: 'mallory' }));
    await waitFor(() => named(chB.events, 'client-spoof').length >= 2, 'two client-spoof events', { detail: b.describe });
    for (const e of named(chB.events, 'client-spoof')) {
      assert.deepEqual(e.metadata, { user_id: 'honest' }, `event ${JSON.stringify(e.data)}`);
    }
  });

  test('client events are rejected when the app disables them', async (t) => {
    const name = `private-off-${uid()}`;
    const [a, , b, chB] = await pair(t, name, NO_CLIENT_APP);
    chB.bind('client-nope', () => {});
    a.channel(name).trigger('client-nope', { x: 1 });
    await waitFor(() => pusherErrors(a).length > 0, 'pusher:error for the rejected client event',
      { detail: a.describe });
    // A server event published after the rejection arrives; the client
    // event never does.
    await sdk(server, NO_CLIENT_APP).trigger(name, 'sentinel', {});
    await waitEvent(chB.events, 'sentinel', 'sentinel at b');
    assert.equal(b.rec.messages.filter((m) => m.event === 'client-nope').length, 0,
      'client event delivered although the app disables client events');
    assert.equal(a.connection.state, 'connected', 'the sender was disconnected');
  });

  test('client events on a public channel are rejected', async (t) => {
    const name = `public-chat-${uid()}`;
    const [a, , b, chB] = await pair(t, name);
    a.channel(name).trigger('client-public', { x: 1 });
    await waitFor(() => pusherErrors(a).length > 0, 'pusher:error for a client event on a public channel',
      { detail: a.describe });
    await sdk(server).trigger(name, 'sentinel', {});
    await waitEvent(chB.events, 'sentinel', 'sentinel at b');
    assert.equal(b.rec.messages.filter((m) => m.event === 'client-public').length, 0,
      'client event delivered on a public channel');
    assert.equal(a.connection.state, 'connected');
  });

  test('client events on a channel the sender has not joined are rejected', async (t) => {
    const name = `private-notjoined-${uid()}`;
    const b = newClient(t, server);
    await connected(b);
    const chB = await subscribe(b, name);
    const a = newClient(t, server);
    await connected(a);
    a.send_event('client-intrude', { x: 1 }, name);
    await waitFor(() => pusherErrors(a).length > 0, 'pusher:error for a client event on an unjoined channel',
      { detail: a.describe });
    await sdk(server).trigger(name, 'sentinel', {});
    await waitEvent(chB.events, 'sentinel', 'sentinel at b');
    assert.equal(b.rec.messages.filter((m) => m.event === 'client-intrude').length, 0,
      'client event from a non-member delivered');
  });

  test('over max_client_events_per_second: pusher:error 4301, connection kept', async (t) => {
    const name = `private-flood-${uid()}`;
    const [a, chA, b, chB] = await pair(t, name, LIMIT_APP, ['ua', 'ub'], ['client-flood']);
    const sent = 4 * LIMIT;
    for (let i = 0; i < sent; i++) {
      chA.trigger('client-flood', { i });
    }
    await waitFor(() => pusherErrors(a).some((m) => m.data && m.data.code === 4301), 'pusher:error 4301',
      { detail: a.describe });
    // The sentinel is published after the flood was read by the server.
    await sdk(server, LIMIT_APP).trigger(name, 'sentinel', {});
    await waitEvent(chB.events, 'sentinel', 'sentinel at b');
    const delivered = named(chB.events, 'client-flood').length;
    assert.ok(delivered >= 1, 'no client event got through');
    assert.ok(delivered < sent, `all ${sent} client events were delivered despite the limit of ${LIMIT}/s`);
    assert.equal(a.connection.state, 'connected', `4301 closed the connection: ${a.describe()}`);
    assert.equal(a.rec.closes.length, 0, `connection closed: ${JSON.stringify(a.rec.closes)}`);
    assert.ok(!a.errorCodes().some((c) => c !== 4301),
      `unexpected error codes ${a.errorCodes()} (${a.rec.errors.map(errorCode)})`);
    // The connection still works after the rate limit error.
    await sdk(server, LIMIT_APP).trigger(name, 'still-there', {});
    await waitEvent(chA.events, 'still-there', 'event after the rate limit error');
  });
});
