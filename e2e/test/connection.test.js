'use strict';

// Connecting with pusher-js: handshake, refused connections (4001, 4003,
// 4004) and the ping/pong keep-alive. Issue 2, WebSocket side.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { DEFAULT_APP, appsConfig, startServer } = require('../helpers/server');
const { connected, newClient, quiet, sdk, subscribe, uid, waitEvent, waitFor } = require('../helpers/clients');

const DISABLED_APP = { id: 'disabled-app', key: 'disabled-key', secret: 'disabled-secret' };
const LIMITED_APP = { id: 'limited-app', key: 'limited-key', secret: 'limited-secret' };

// pusher-js retries a "backoff" close after 1 s; a refused client must stay
// disconnected for longer than that.
const NO_RECONNECT_WINDOW_MS = 1500;

/**
 * Waits until client gives up, then checks it was refused with code and
 * made exactly one connection attempt.
 */
async function assertRefused(client, code) {
  await waitFor(() => ['disconnected', 'failed'].includes(client.connection.state),
    `state disconnected or failed (refused with ${code})`, { detail: client.describe });
  await waitFor(() => client.errorCodes().includes(code), `error code ${code}`, { detail: client.describe });
  await quiet(NO_RECONNECT_WINDOW_MS);
  assert.ok(['disconnected', 'failed'].includes(client.connection.state),
    `client reconnected after a ${code} refusal: ${client.describe()}`);
  assert.equal(client.rec.states.filter((s) => s === 'connecting').length, 1,
    `client retried after a ${code} refusal: ${client.describe()}`);
  assert.ok(!client.rec.states.includes('connected'), `client was connected: ${client.describe()}`);
}

describe('connection (config file apps)', () => {
  let server;
  before(async () => {
    server = await startServer({
      config: appsConfig([
        { ...DEFAULT_APP, enabled: true, enable_client_messages: true },
        { ...DISABLED_APP, enabled: false },
        { ...LIMITED_APP, enabled: true, max_connections: 1 },
      ]),
    });
  });
  after(async () => {
    await server.stop();
  });

  test('connects and gets a socket id in the Pusher format', async (t) => {
    const a = newClient(t, server);
    const b = newClient(t, server);
    const idA = await connected(a);
    const idB = await connected(b);
    assert.match(idA, /^\d+\.\d+$/);
    assert.match(idB, /^\d+\.\d+$/);
    assert.notEqual(idA, idB, 'two connections share a socket id');
    // The handshake frame carries socket_id and a positive activity_timeout;
    // pusher-js refuses a handshake without one, so reaching 'connected'
    // already proves it is there.
    assert.deepEqual(a.rec.states, ['connecting', 'connected']);
  });

  test('an unknown app key is refused with 4001 and pusher-js does not reconnect', async (t) => {
    const c = newClient(t, server, { key: `no-such-key-${uid()}` });
    await assertRefused(c, 4001);
  });

  test('a disabled app is refused with 4003', async (t) => {
    const c = newClient(t, server, { app: DISABLED_APP });
    await assertRefused(c, 4003);
  });

  test('an app over max_connections refuses the next connection with 4004', async (t) => {
    const first = newClient(t, server, { app: LIMITED_APP });
    await connected(first);
    const second = newClient(t, server, { app: LIMITED_APP });
    await assertRefused(second, 4004);
    assert.equal(first.connection.state, 'connected', 'the connection within the quota was dropped');

    // Closing the first connection frees the slot. The server notices the
    // close asynchronously, so retry (bounded) until a new client connects.
    first.disconnect();
    const deadline = Date.now() + 5000;
    let third;
    for (;;) {
      third = newClient(t, server, { app: LIMITED_APP });
      await waitFor(() => ['connected', 'disconnected', 'failed'].includes(third.connection.state),
        'a connection attempt to finish', { detail: third.describe });
      if (third.connection.state === 'connected' || Date.now() > deadline) {
        break;
      }
      third.disconnect();
      await quiet(100);
    }
    assert.equal(third.connection.state, 'connected', `quota slot was not freed: ${third.describe()}`);
  });

  test('pusher:ping is answered with pusher:pong and the connection stays up', async (t) => {
    // pusher-js sends pusher:ping after activityTimeout ms without traffic
    // and reconnects when no pong arrives within pongTimeout.
    const c = newClient(t, server, { options: { activityTimeout: 1000, pongTimeout: 2000 } });
    const id = await connected(c);
    const pongs = () => c.rec.messages.filter((m) => m.event === 'pusher:pong').length;
    await waitFor(() => pongs() >= 3, 'three pusher:pong replies', { timeout: 8000, detail: c.describe });
    assert.equal(c.connection.state, 'connected');
    assert.equal(c.connection.socket_id, id, 'the client reconnected');
    assert.deepEqual(c.rec.states, ['connecting', 'connected']);
  });

  test('a public channel subscription survives idle periods with pings', async (t) => {
    const c = newClient(t, server, { options: { activityTimeout: 1000, pongTimeout: 2000 } });
    await connected(c);
    const name = `idle-${uid()}`;
    const ch = await subscribe(c, name);
    await waitFor(() => c.rec.messages.filter((m) => m.event === 'pusher:pong').length >= 2,
      'two pusher:pong replies', { timeout: 8000, detail: c.describe });
    await sdk(server).trigger(name, 'after-idle', { ok: true });
    const ev = await waitEvent(ch.events, 'after-idle', 'the event after an idle period');
    assert.deepEqual(ev.data, { ok: true });
  });
});

describe('connection (default app from SOCKUDO_DEFAULT_APP_* variables)', () => {
  const ENV_APP = { id: `env-app-${uid()}`, key: `env-key-${uid()}`, secret: `env-secret-${uid()}` };
  let server;
  before(async () => {
    server = await startServer({
      env: {
        SOCKUDO_DEFAULT_APP_ID: ENV_APP.id,
        SOCKUDO_DEFAULT_APP_KEY: ENV_APP.key,
        SOCKUDO_DEFAULT_APP_SECRET: ENV_APP.secret,
        SOCKUDO_DEFAULT_APP_ENABLED: 'true',
        SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS: '1',
      },
    });
  });
  after(async () => {
    await server.stop();
  });

  test('the configured key connects, receives events and the built-in app-key is unknown', async (t) => {
    const c = newClient(t, server, { app: ENV_APP });
    await connected(c);
    const name = `env-${uid()}`;
    const ch = await subscribe(c, name);
    await sdk(server, ENV_APP).trigger(name, 'hello', 'from env');
    const ev = await waitEvent(ch.events, 'hello', 'event on the env-configured app');
    assert.equal(ev.data, 'from env');

    const stranger = newClient(t, server, { app: DEFAULT_APP });
    await assertRefused(stranger, 4001);
  });

  test('SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS limits connections (4004)', async (t) => {
    // The previous test's clients were disconnected; wait for the slot.
    const deadline = Date.now() + 5000;
    let first;
    for (;;) {
      first = newClient(t, server, { app: ENV_APP });
      await waitFor(() => ['connected', 'disconnected', 'failed'].includes(first.connection.state),
        'a connection attempt to finish', { detail: first.describe });
      if (first.connection.state === 'connected' || Date.now() > deadline) {
        break;
      }
      first.disconnect();
      await quiet(100);
    }
    assert.equal(first.connection.state, 'connected', `could not connect: ${first.describe()}`);
    const second = newClient(t, server, { app: ENV_APP });
    await assertRefused(second, 4004);
  });
});
