'use strict';

// User features with pusher-js and the pusher SDK: signin and sendToUser,
// terminateUserConnections, watchlist online/offline events, and
// authorized connections (enable_user_authentication with
// USER_AUTHENTICATION_TIMEOUT). Issue 4.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { DEFAULT_APP, appsConfig, startServer } = require('../helpers/server');
const {
  connected, named, newClient, record, sdk, subscribe, uid, waitEvent, waitFor,
} = require('../helpers/clients');

const WATCH_APP = { id: 'watch-app', key: 'watch-key', secret: 'watch-secret' };
const AUTH_APP = { id: 'authconn-app', key: 'authconn-key', secret: 'authconn-secret' };

/**
 * Creates a client for user (an {id, ...} object), signs it in and waits
 * until pusher-js is subscribed to its #server-to-user channel. The user
 * facade's events are recorded on client.userEvents.
 */
async function signedIn(t, server, user, app = DEFAULT_APP) {
  const c = newClient(t, server, { app, user });
  c.userEvents = record(c.user);
  await connected(c);
  c.signin();
  await waitFor(() => c.rec.messages.some((m) => m.event === 'pusher:signin_success'), `signin of ${user.id}`,
    { detail: c.describe });
  assert.equal(c.user.user_data && c.user.user_data.id, user.id);
  await waitFor(() => c.user.serverToUserChannel && c.user.serverToUserChannel.subscribed,
    `#server-to-user-${user.id} subscription`, { detail: c.describe });
  return c;
}

describe('users', () => {
  let server;
  before(async () => {
    server = await startServer({
      env: { USER_AUTHENTICATION_TIMEOUT: '1' },
      config: appsConfig([
        { ...DEFAULT_APP, enabled: true, enable_client_messages: true },
        { ...WATCH_APP, enabled: true, enable_watchlist_events: true },
        { ...AUTH_APP, enabled: true, enable_user_authentication: true },
      ]),
    });
  });
  after(async () => {
    await server.stop();
  });

  test('signin succeeds and sendToUser reaches every connection of that user only', async (t) => {
    const id = `u-${uid()}`;
    const tab1 = await signedIn(t, server, { id, user_info: { name: 'Tab' } });
    const tab2 = await signedIn(t, server, { id });
    const other = await signedIn(t, server, { id: `other-${uid()}` });

    const api = sdk(server);
    const res = await api.sendToUser(id, 'notice', { text: 'hello' });
    assert.equal(res.status, 200);
    for (const c of [tab1, tab2]) {
      const ev = await waitEvent(c.userEvents, 'notice', 'notice on pusher.user', { detail: c.describe });
      assert.deepEqual(ev.data, { text: 'hello' });
    }
    await api.sendToUser(other.user.user_data.id, 'sentinel', {});
    await waitEvent(other.userEvents, 'sentinel', 'sentinel for the other user');
    assert.equal(named(other.userEvents, 'notice').length, 0, 'another user received the message');
  });

  test('signin with a bad signature is refused', async (t) => {
    const c = newClient(t, server, {
      user: { id: `bad-${uid()}` },
      userAuth: (socketId) => sdk(server, { ...DEFAULT_APP, secret: 'wrong' }).authenticateUser(socketId, { id: 'bad' }),
    });
    await connected(c);
    c.signin();
    await waitFor(() => c.rec.messages.some((m) => m.event === 'pusher:error') || c.rec.closes.length > 0,
      'pusher:error or close after a bad signin', { detail: c.describe });
    assert.equal(c.rec.messages.filter((m) => m.event === 'pusher:signin_success').length, 0);
    assert.equal(c.user.user_data, null);
  });

  test('a connection not signed in as the user cannot subscribe to #server-to-user-{id}', async (t) => {
    const id = `target-${uid()}`;
    const owner = await signedIn(t, server, { id });
    const intruder = newClient(t, server);
    await connected(intruder);
    // pusher-js refuses '#' channel names, so send the frame by hand.
    intruder.send_event('pusher:subscribe', { channel: `#server-to-user-${id}`, auth: '' });
    const sync = await subscribe(intruder, `sync-${uid()}`);
    await sdk(server).sendToUser(id, 'private-note', { n: 1 });
    await waitEvent(owner.userEvents, 'private-note', 'note at the owner');
    await sdk(server).trigger(sync.name, 'sentinel', {});
    await waitEvent(sync.events, 'sentinel', 'sentinel at the intruder');
    const onChannel = intruder.rec.messages.filter((m) => m.channel === `#server-to-user-${id}`);
    const leaked = onChannel.filter((m) => !['pusher:error', 'pusher:subscription_error'].includes(m.event));
    assert.deepEqual(leaked, [], 'intruder got frames on another user\'s channel');
    assert.ok(onChannel.length > 0 || intruder.rec.messages.some((m) => m.event === 'pusher:error'),
      `no error for the refused subscription: ${intruder.describe()}`);
  });

  test('terminateUserConnections closes every connection of the user with 4009', async (t) => {
    const id = `term-${uid()}`;
    const a = await signedIn(t, server, { id });
    const b = await signedIn(t, server, { id });
    const bystander = await signedIn(t, server, { id: `keep-${uid()}` });

    const res = await sdk(server).terminateUserConnections(id);
    assert.equal(res.status, 200);
    for (const c of [a, b]) {
      await waitFor(() => c.rec.closes.length > 0, 'the server to close the connection', { detail: c.describe });
      assert.equal(c.rec.closes[0].code, 4009, `close code: ${c.describe()}`);
      // 4009 is in the "do not reconnect" range.
      await waitFor(() => c.connection.state === 'disconnected', 'pusher-js to stay disconnected',
        { detail: c.describe });
    }
    await sdk(server).sendToUser(bystander.user.user_data.id, 'still-here', {});
    await waitEvent(bystander.userEvents, 'still-here', 'message to the other user');
    assert.equal(bystander.connection.state, 'connected');
    assert.equal(bystander.rec.closes.length, 0);
  });

  test('watchlist: online when a watched user signs in, offline when it leaves', async (t) => {
    const watched = `w-${uid()}`;
    const watcher = newClient(t, server, { app: WATCH_APP, user: { id: `watcher-${uid()}`, watchlist: [watched] } });
    const seen = record(watcher.user.watchlist, ['online', 'offline']);
    await connected(watcher);
    watcher.signin();
    await waitFor(() => watcher.rec.messages.some((m) => m.event === 'pusher:signin_success'), 'watcher signin',
      { detail: watcher.describe });
    const has = (e, name) => e.event === name && Array.isArray(e.data.user_ids) && e.data.user_ids.includes(watched);
    assert.ok(!seen.some((e) => has(e, 'online')), `online before the user signed in: ${JSON.stringify(seen)}`);

    const w = await signedIn(t, server, { id: watched }, WATCH_APP);
    await waitFor(() => seen.find((e) => has(e, 'online')), `online for ${watched}`, { detail: watcher.describe });

    const mark = seen.length;
    w.disconnect();
    await waitFor(() => seen.slice(mark).find((e) => has(e, 'offline')), `offline for ${watched}`,
      { detail: watcher.describe });
  });

  test('watchlist: a user already online is reported right after signin', async (t) => {
    const watched = `pre-${uid()}`;
    await signedIn(t, server, { id: watched }, WATCH_APP);
    const watcher = newClient(t, server, { app: WATCH_APP, user: { id: `late-${uid()}`, watchlist: [watched] } });
    const seen = record(watcher.user.watchlist, ['online', 'offline']);
    await connected(watcher);
    watcher.signin();
    await waitFor(() => seen.find((e) => e.event === 'online' && e.data.user_ids.includes(watched)),
      `initial online for ${watched}`, { detail: watcher.describe });
    const raw = watcher.rec.messages.find((m) => m.event === 'pusher_internal:watchlist_events');
    assert.ok(Array.isArray(raw.data.events), JSON.stringify(raw));
  });

  test('authorized connections: an unsigned connection is closed with 4009 after the timeout', async (t) => {
    // Three clients start together: unsigned on the authorized-connections
    // app (must be closed), signed-in on the same app (must stay), and
    // unsigned on an app without the feature (must stay).
    const unsigned = newClient(t, server, { app: AUTH_APP });
    const signed = newClient(t, server, { app: AUTH_APP, user: { id: `ok-${uid()}` } });
    const plain = newClient(t, server);
    signed.signin();
    await Promise.all([connected(unsigned), connected(signed), connected(plain)]);
    await waitFor(() => signed.user.serverToUserChannel && signed.user.serverToUserChannel.subscribed,
      'signin and #server-to-user subscription', { detail: signed.describe });

    await waitFor(() => unsigned.rec.closes.length > 0, 'the unsigned connection to be closed',
      { timeout: 8000, detail: unsigned.describe });
    assert.equal(unsigned.rec.closes[0].code, 4009, `close code: ${unsigned.describe()}`);
    await waitFor(() => unsigned.connection.state === 'disconnected', 'pusher-js to give up',
      { detail: unsigned.describe });

    // The timeout has passed for the other two as well.
    const id = signed.connection.socket_id;
    await sdk(server, AUTH_APP).sendToUser(signed.user.user_data.id, 'alive', {});
    await waitFor(() => signed.rec.messages.some((m) => m.event === 'alive'), 'message to the signed-in user',
      { detail: signed.describe });
    assert.equal(signed.connection.state, 'connected');
    assert.equal(signed.connection.socket_id, id);
    assert.equal(signed.rec.closes.length, 0, `signed-in connection closed: ${signed.describe()}`);
    assert.equal(plain.connection.state, 'connected');
    assert.equal(plain.rec.closes.length, 0, `connection of an app without the feature closed: ${plain.describe()}`);
  });
});
