'use strict';

// Channel subscriptions with pusher-js, events published with the pusher
// Node SDK: public, private, presence, encrypted, cache channels and
// subscription count events. Issues 2 and 4.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const nacl = require('tweetnacl');

const { DEFAULT_APP, appsConfig, startServer } = require('../helpers/server');
const {
  connected, named, newClient, quiet, sdk, subscribe, uid, waitEvent, waitFor,
} = require('../helpers/clients');

const COUNT_APP = { id: 'count-app', key: 'count-key', secret: 'count-secret' };

describe('channels', () => {
  let server;
  before(async () => {
    server = await startServer({
      config: appsConfig([
        { ...DEFAULT_APP, enabled: true, enable_client_messages: true },
        { ...COUNT_APP, enabled: true, enable_subscription_count_events: true },
      ]),
    });
  });
  after(async () => {
    await server.stop();
  });

  test('public channel: subscribe and receive an event triggered with the SDK', async (t) => {
    const c = newClient(t, server);
    await connected(c);
    const name = `public-${uid()}`;
    const ch = await subscribe(c, name);
    const res = await sdk(server).trigger(name, 'my-event', { hello: 'world', n: 1 });
    assert.equal(res.status, 200);
    const ev = await waitEvent(ch.events, 'my-event', 'my-event on the public channel', { detail: c.describe });
    assert.deepEqual(ev.data, { hello: 'world', n: 1 });
    const raw = c.rec.messages.find((m) => m.event === 'my-event');
    assert.equal(raw.channel, name);
  });

  test('unsubscribing stops delivery', async (t) => {
    const c = newClient(t, server);
    await connected(c);
    const gone = `public-gone-${uid()}`;
    const kept = `public-kept-${uid()}`;
    const chGone = await subscribe(c, gone);
    const chKept = await subscribe(c, kept);
    c.unsubscribe(gone);
    // The unsubscribe has no reply; a later subscription on the same socket
    // is handled after it.
    await subscribe(c, `public-sync-${uid()}`);
    const api = sdk(server);
    await api.trigger(gone, 'late', {});
    await api.trigger(kept, 'sentinel', {});
    await waitEvent(chKept.events, 'sentinel', 'sentinel on the kept channel');
    assert.equal(c.rec.messages.filter((m) => m.channel === gone && m.event === 'late').length, 0,
      'event delivered after unsubscribe');
    assert.equal(named(chGone.events, 'late').length, 0);
  });

  test('a repeated subscribe is acknowledged again and does not duplicate delivery', async (t) => {
    const c = newClient(t, server);
    await connected(c);
    const name = `public-dup-${uid()}`;
    const ch = await subscribe(c, name);
    // pusher-js never repeats a subscribe itself; send the frame by hand.
    c.send_event('pusher:subscribe', { channel: name, auth: '' });
    await waitFor(() => c.rec.messages.filter((m) => m.channel === name
      && m.event === 'pusher_internal:subscription_succeeded').length === 2, 'second subscription_succeeded',
    { detail: c.describe });
    await sdk(server).trigger(name, 'once', {});
    await sdk(server).trigger(name, 'sentinel', {});
    await waitEvent(ch.events, 'sentinel', 'sentinel');
    assert.equal(c.rec.messages.filter((m) => m.event === 'once').length, 1, 'event delivered twice');
    assert.equal(c.rec.messages.filter((m) => m.event === 'pusher:error').length, 0);
  });

  test('private channel: a correct signature subscribes', async (t) => {
    const c = newClient(t, server);
    await connected(c);
    const name = `private-${uid()}`;
    const ch = await subscribe(c, name);
    assert.equal(ch.subscribed, true);
    await sdk(server).trigger(name, 'secret', { x: 1 });
    const ev = await waitEvent(ch.events, 'secret', 'event on the private channel');
    assert.deepEqual(ev.data, { x: 1 });
  });

  for (const [label, badAuth] of [
    ['signed with the wrong secret', (socketId, channel) => sdk(server, { ...DEFAULT_APP, secret: 'wrong-secret' })
      .authorizeChannel(socketId, channel)],
    ['signed for another socket id', (socketId, channel) => sdk(server).authorizeChannel('1234.5678', channel)],
    ['with another app key', (socketId, channel) => sdk(server, { ...DEFAULT_APP, key: 'other-key' })
      .authorizeChannel(socketId, channel)],
  ]) {
    test(`private channel: auth ${label} is rejected without closing the connection`, async (t) => {
      const c = newClient(t, server, {
        channelAuth: (socketId, channel) => (channel.startsWith('private-bad-') ? badAuth(socketId, channel)
          : sdk(server).authorizeChannel(socketId, channel)),
      });
      const id = await connected(c);
      const name = `private-bad-${uid()}`;
      const ch = c.subscribe(name);
      ch.events = [];
      ch.bind_global((event, data) => ch.events.push({ event, data }));

      // The server answers with a channel-scoped pusher:subscription_error
      // and/or a connection-level pusher:error.
      await waitFor(() => named(ch.events, 'pusher:subscription_error').length > 0
        || c.rec.messages.some((m) => m.event === 'pusher:error'),
      'pusher:subscription_error or pusher:error', { detail: c.describe });

      // Later requests on the same socket still work, and by the time this
      // one is answered a wrong subscription_succeeded would have arrived.
      const ok = await subscribe(c, `private-good-${uid()}`);
      assert.equal(ok.subscribed, true);
      assert.equal(ch.subscribed, false, 'bad auth subscribed');
      assert.equal(named(ch.events, 'pusher:subscription_succeeded').length, 0);
      assert.equal(c.connection.state, 'connected');
      assert.equal(c.connection.socket_id, id, 'the connection was dropped');

      // And the server does not deliver the channel's events to it.
      await sdk(server).trigger([name, ok.name], 'after', {});
      await waitEvent(ok.events, 'after', 'event on the good channel');
      assert.equal(c.rec.messages.filter((m) => m.channel === name && m.event === 'after').length, 0,
        'event delivered on a channel whose auth failed');
    });
  }

  test('presence channel: members, me, user_info, member_added/removed once per user', async (t) => {
    const name = `presence-room-${uid()}`;
    const alice = newClient(t, server, { presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
    await connected(alice);
    const chA = await subscribe(alice, name);
    assert.equal(chA.members.count, 1);
    assert.equal(chA.members.me.id, 'alice');
    assert.deepEqual(chA.members.me.info, { name: 'Alice' });

    // bob joins: alice sees member_added with bob's user_info; bob sees both.
    const bob1 = newClient(t, server, { presence: { user_id: 'bob', user_info: { name: 'Bob' } } });
    await connected(bob1);
    const chB1 = await subscribe(bob1, name);
    const added = await waitEvent(chA.events, 'pusher:member_added', 'member_added for bob',
      { pred: (e) => e.data.id === 'bob' });
    assert.deepEqual(added.data.info, { name: 'Bob' });
    assert.equal(chB1.members.count, 2);
    assert.equal(chB1.members.me.id, 'bob');
    assert.deepEqual(chB1.members.get('alice').info, { name: 'Alice' });

    // bob opens a second tab: no second member_added, count stays per user.
    const bob2 = newClient(t, server, { presence: { user_id: 'bob', user_info: { name: 'Bob' } } });
    await connected(bob2);
    const chB2 = await subscribe(bob2, name);
    assert.equal(chB2.members.count, 2, 'presence count counts sockets, not users');
    // bob1 also holds a private channel alone; its occupancy tells when the
    // server has processed bob1's disconnect below.
    const marker = `private-marker-${uid()}`;
    await subscribe(bob1, marker);

    // carol joins after bob2; her member_added is a sentinel for ordering.
    const carol = newClient(t, server, { presence: { user_id: 'carol' } });
    await connected(carol);
    await subscribe(carol, name);
    await waitEvent(chA.events, 'pusher:member_added', 'member_added for carol',
      { pred: (e) => e.data.id === 'carol' });
    assert.equal(named(chA.events, 'pusher:member_added').filter((e) => e.data.id === 'bob').length, 1,
      'member_added sent once per socket instead of once per user');
    assert.equal(chA.members.count, 3);

    // bob closes one tab: bob is still present, no member_removed.
    bob1.disconnect();
    const api = sdk(server);
    const deadline = Date.now() + 5000;
    for (;;) {
      const info = JSON.parse(await (await api.get({ path: `/channels/${marker}` })).text());
      if (info.occupied === false) {
        break;
      }
      assert.ok(Date.now() < deadline, 'server did not notice the closed tab within 5 s');
      await quiet(50);
    }
    carol.unsubscribe(name);
    await waitEvent(chA.events, 'pusher:member_removed', 'member_removed for carol',
      { pred: (e) => e.data.id === 'carol' });
    assert.equal(named(chA.events, 'pusher:member_removed').filter((e) => e.data.id === 'bob').length, 0,
      'member_removed sent while the user still has another socket');
    assert.equal(chA.members.count, 2);

    // bob closes the last tab: exactly one member_removed.
    bob2.disconnect();
    await waitEvent(chA.events, 'pusher:member_removed', 'member_removed for bob',
      { pred: (e) => e.data.id === 'bob' });
    const dave = newClient(t, server, { presence: { user_id: 'dave' } });
    await connected(dave);
    await subscribe(dave, name);
    await waitEvent(chA.events, 'pusher:member_added', 'member_added for dave',
      { pred: (e) => e.data.id === 'dave' });
    assert.equal(named(chA.events, 'pusher:member_removed').filter((e) => e.data.id === 'bob').length, 1);
    assert.deepEqual(Object.keys(chA.members.members).sort(), ['alice', 'dave']);
  });

  test('presence channel: a numeric user_id is reported as a string', async (t) => {
    const name = `presence-num-${uid()}`;
    const a = newClient(t, server, { presence: { user_id: 42, user_info: { n: 42 } } });
    await connected(a);
    const ch = await subscribe(a, name);
    assert.equal(ch.members.count, 1);
    assert.ok(ch.members.get('42'), `member 42 missing: ${JSON.stringify(ch.members.members)}`);
    const res = await sdk(server).get({ path: `/channels/${name}/users` });
    assert.deepEqual(JSON.parse(await res.text()), { users: [{ id: '42' }] });
  });

  test('encrypted channel: the SDK encrypts, pusher-js decrypts, the server forwards ciphertext', async (t) => {
    const masterKey = crypto.randomBytes(32).toString('base64');
    const c = newClient(t, server, { masterKey });
    await connected(c);
    const name = `private-encrypted-${uid()}`;
    const ch = await subscribe(c, name);
    const api = sdk(server, DEFAULT_APP, { encryptionMasterKeyBase64: masterKey });
    await api.trigger(name, 'secret-event', { msg: 'top secret' });
    const ev = await waitEvent(ch.events, 'secret-event', 'decrypted event', { detail: c.describe });
    assert.deepEqual(ev.data, { msg: 'top secret' });

    // The frame on the wire is the SDK's {nonce, ciphertext} untouched.
    const raw = c.rec.messages.find((m) => m.event === 'secret-event');
    assert.equal(typeof raw.data.nonce, 'string');
    assert.equal(typeof raw.data.ciphertext, 'string');
    const opened = nacl.secretbox.open(
      Buffer.from(raw.data.ciphertext, 'base64'),
      Buffer.from(raw.data.nonce, 'base64'),
      api.channelSharedSecret(name),
    );
    assert.ok(opened, 'ciphertext does not open with the channel shared secret');
    assert.deepEqual(JSON.parse(Buffer.from(opened).toString('utf8')), { msg: 'top secret' });
  });

  test('cache channel: a late subscriber gets the last event first', async (t) => {
    const name = `cache-${uid()}`;
    const api = sdk(server);
    await api.trigger(name, 'old', { v: 1 });
    await api.trigger(name, 'latest', { v: 2 });
    const c = newClient(t, server);
    await connected(c);
    const ch = await subscribe(c, name);
    const ev = await waitEvent(ch.events, 'latest', 'the cached event', { detail: c.describe });
    assert.deepEqual(ev.data, { v: 2 });
    const onChannel = c.rec.messages.filter((m) => m.channel === name).map((m) => m.event);
    assert.deepEqual(onChannel.slice(0, 2), ['pusher_internal:subscription_succeeded', 'latest']);
    assert.equal(named(ch.events, 'old').length, 0, 'an older event was replayed');
    assert.equal(named(ch.events, 'pusher:cache_miss').length, 0, 'cache_miss sent although an event was cached');
  });

  test('cache channel: an empty cache channel sends pusher:cache_miss', async (t) => {
    const c = newClient(t, server);
    await connected(c);
    const name = `cache-empty-${uid()}`;
    const ch = await subscribe(c, name);
    await waitEvent(ch.events, 'pusher:cache_miss', 'pusher:cache_miss', { detail: c.describe });
  });

  test('private cache channel: cached event after authorized subscription', async (t) => {
    const name = `private-cache-${uid()}`;
    await sdk(server).trigger(name, 'state', { on: true });
    const c = newClient(t, server);
    await connected(c);
    const ch = await subscribe(c, name);
    const ev = await waitEvent(ch.events, 'state', 'the cached event');
    assert.deepEqual(ev.data, { on: true });
  });

  test('subscription counts: pusher:subscription_count follows joins and leaves', async (t) => {
    const name = `counted-${uid()}`;
    const a = newClient(t, server, { app: COUNT_APP });
    await connected(a);
    const chA = await subscribe(a, name);
    const b = newClient(t, server, { app: COUNT_APP });
    await connected(b);
    await subscribe(b, name);
    const two = await waitEvent(chA.events, 'pusher:subscription_count', 'subscription_count 2',
      { pred: (e) => e.data.subscription_count === 2, detail: a.describe });
    assert.equal(chA.subscriptionCount, 2);
    b.unsubscribe(name);
    const after2 = chA.events.indexOf(two);
    await waitEvent(chA.events, 'pusher:subscription_count', 'subscription_count 1 after a leave',
      { pred: (e) => e.data.subscription_count === 1 && chA.events.indexOf(e) > after2, detail: a.describe });
    assert.equal(chA.subscriptionCount, 1);
  });

  test('subscription counts are not sent when the app does not enable them', async (t) => {
    const name = `uncounted-${uid()}`;
    const a = newClient(t, server);
    await connected(a);
    const chA = await subscribe(a, name);
    const b = newClient(t, server);
    await connected(b);
    await subscribe(b, name);
    await sdk(server).trigger(name, 'sentinel', {});
    await waitEvent(chA.events, 'sentinel', 'sentinel event');
    assert.equal(a.rec.messages.filter((m) => m.event === 'pusher_internal:subscription_count').length, 0);
  });
});
