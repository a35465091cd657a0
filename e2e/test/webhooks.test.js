'use strict';

// Webhooks end to end (issue 7): pusher-js clients cause channel
// transitions and client events; a Node receiver checks every delivery
// with the pusher SDK's webhook validator and records the events. Covers
// batching on and off, the vacate/member_removed delay and its
// cancellation, retries through a receiver outage, no retry after a 400,
// and redelivery from the Redis queue after the server is killed with
// SIGKILL.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { DEFAULT_APP, appsConfig, startServer } = require('../helpers/server');
const {
  connected, json, newClient, quiet, sdk, subscribe, uid, waitFor,
} = require('../helpers/clients');
const { queueKeys, redisCommand, redisCommands } = require('../helpers/redis');
const { startReceiver } = require('../helpers/webhooks');

// The server holds channel_vacated and member_removed this long.
const DELAY_MS = 3000;

/** Events in list named name on channel whose fields include extra. */
function matching(list, name, channel, extra = {}) {
  return list.filter((e) => e.name === name && e.channel === channel
    && Object.entries(extra).every(([k, v]) => e[k] === v));
}

/** A compact, sorted list of events for failure messages and comparisons. */
function summary(list) {
  return list.map((e) => [e.name, e.channel, e.user_id || '', e.event || ''].join(' ')).sort();
}

/**
 * Starts a receiver and a server whose default app sends webhooks to it.
 * hooks(receiver) returns the app's webhooks (default: every event to
 * /webhooks). Clients made with env.client are disconnected, then the
 * server and the receiver stopped, when t ends.
 */
async function setup(t, { respond, env = {}, hooks } = {}) {
  const receiver = await startReceiver({ respond });
  const app = {
    ...DEFAULT_APP,
    enabled: true,
    enable_client_messages: true,
    webhooks: hooks ? hooks(receiver) : [{ url: receiver.url(), event_types: [] }],
  };
  let server;
  try {
    server = await startServer({ config: appsConfig([app]), env });
  } catch (err) {
    await receiver.close();
    throw err;
  }
  const clients = [];
  t.after(async () => {
    for (const c of clients) {
      c.disconnect();
    }
    try {
      await server.stop();
    } finally {
      await receiver.close();
    }
  });
  return {
    receiver,
    server,
    client(opts) {
      const c = newClient(null, server, opts);
      clients.push(c);
      return c;
    },
  };
}

/** Polls the HTTP API until channel is unoccupied on server. */
async function waitUnoccupied(server, channel) {
  const api = sdk(server);
  const deadline = Date.now() + 5000;
  for (;;) {
    const info = await json(await api.get({ path: `/channels/${channel}` }));
    if (info.occupied === false) {
      return;
    }
    assert.ok(Date.now() < deadline, `${channel} still occupied after 5 s: ${JSON.stringify(info)}`);
    await quiet(20);
  }
}

/**
 * Drives the transitions most tests expect: alice joins a presence channel
 * and a cache channel, sends a client event on the presence channel and
 * leaves both. Returns the channels and the events the receiver must get.
 */
async function aliceComesAndGoes(env) {
  const presence = `presence-hooks-${uid()}`;
  const cache = `cache-hooks-${uid()}`;
  const alice = env.client({ presence: { user_id: 'alice' } });
  const socketId = await connected(alice);
  const ch = await subscribe(alice, presence);
  await subscribe(alice, cache);
  assert.ok(ch.trigger('client-hello', { text: 'hi' }), 'pusher-js did not send the client event');
  // The client event reaches the server before the unsubscribes: one socket.
  alice.unsubscribe(presence);
  alice.unsubscribe(cache);
  const expected = [
    { name: 'channel_occupied', channel: presence },
    { name: 'member_added', channel: presence, user_id: 'alice' },
    { name: 'client_event', channel: presence, event: 'client-hello', user_id: 'alice', socket_id: socketId },
    { name: 'channel_occupied', channel: cache },
    { name: 'cache_miss', channel: cache },
    { name: 'channel_vacated', channel: presence },
    { name: 'member_removed', channel: presence, user_id: 'alice' },
    { name: 'channel_vacated', channel: cache },
  ];
  return { presence, cache, expected };
}

/** The expected events (see aliceComesAndGoes) not yet in list. */
function missing(list, expected) {
  return expected.filter(({ name, channel, ...extra }) => matching(list, name, channel, extra).length === 0);
}

describe('webhooks', () => {
  for (const batching of [true, false]) {
    test(`every transition is delivered once, signed, to a pusher SDK receiver (batching ${batching ? 'on' : 'off'})`, async (t) => {
      const runId = uid();
      const env = await setup(t, {
        env: batching ? {} : { WEBHOOK_BATCHING_ENABLED: 'false' },
        hooks: (r) => [
          { url: r.url('/all'), event_types: [], headers: { 'X-Test-Run': runId } },
          // Only occupied/vacated, only on private- channels.
          {
            url: r.url('/private-occupancy'),
            event_types: ['channel_occupied', 'channel_vacated'],
            filter: { channel_prefix: 'private-' },
          },
        ],
      });
      const { receiver } = env;
      const all = () => receiver.events((r) => r.path === '/all');
      const detail = () => receiver.describe();
      const presence = `presence-hooks-${uid()}`;
      const priv = `private-hooks-${uid()}`;
      const cache = `cache-hooks-${uid()}`;

      // alice joins with two sockets, bob with one.
      const alice1 = env.client({ presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
      const alice2 = env.client({ presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
      const bob = env.client({ presence: { user_id: 'bob' } });
      const alice1Id = await connected(alice1);
      await connected(alice2);
      const bobId = await connected(bob);

      const chAlice = await subscribe(alice1, presence);
      await waitFor(() => matching(all(), 'member_added', presence, { user_id: 'alice' }).length
        && matching(all(), 'channel_occupied', presence).length, 'channel_occupied and member_added for alice',
      { detail });
      await subscribe(alice2, presence);
      await subscribe(bob, presence);
      await waitFor(() => matching(all(), 'member_added', presence, { user_id: 'bob' }).length,
        'member_added for bob', { detail });

      // Client events: with user_id on the presence channel, without on a
      // private one; data is the event's data as a JSON string.
      assert.ok(chAlice.trigger('client-hello', { text: 'hi' }));
      const chPriv = await subscribe(bob, priv);
      assert.ok(chPriv.trigger('client-private', { n: 1 }));
      await subscribe(bob, cache);
      await waitFor(() => matching(all(), 'client_event', presence).length
        && matching(all(), 'client_event', priv).length
        && matching(all(), 'cache_miss', cache).length, 'client_event x2 and cache_miss', { detail });

      const [hello] = matching(all(), 'client_event', presence);
      assert.equal(hello.event, 'client-hello');
      assert.equal(hello.user_id, 'alice');
      assert.equal(hello.socket_id, alice1Id);
      assert.equal(typeof hello.data, 'string', `client_event data is not a string: ${JSON.stringify(hello)}`);
      assert.deepEqual(JSON.parse(hello.data), { text: 'hi' });
      const [privEv] = matching(all(), 'client_event', priv);
      assert.equal(privEv.event, 'client-private');
      assert.equal(privEv.socket_id, bobId);
      assert.equal(typeof privEv.data, 'string');
      assert.deepEqual(JSON.parse(privEv.data), { n: 1 });
      assert.ok(!('user_id' in privEv), `user_id on a private channel's client_event: ${JSON.stringify(privEv)}`);

      // Everyone leaves: one tab of alice closes, the other unsubscribes;
      // bob leaves everything. Removals and vacates wait for the delay.
      const leftAt = Date.now();
      alice1.disconnect();
      alice2.unsubscribe(presence);
      bob.unsubscribe(presence);
      bob.unsubscribe(priv);
      bob.unsubscribe(cache);
      const late = [
        ['member_removed', presence, { user_id: 'alice' }],
        ['member_removed', presence, { user_id: 'bob' }],
        ['channel_vacated', presence, {}],
        ['channel_vacated', priv, {}],
        ['channel_vacated', cache, {}],
      ];
      await waitFor(() => late.every(([n, c, x]) => matching(all(), n, c, x).length), 'member_removed x2 and channel_vacated x3',
        { timeout: DELAY_MS + 5000, detail });
      for (const [n, c, x] of late) {
        const [ev] = matching(all(), n, c, x);
        assert.ok(ev.at - leftAt >= DELAY_MS - 100,
          `${n} ${c} arrived ${ev.at - leftAt} ms after the leave, before the ${DELAY_MS} ms delay`);
      }

      // Exactly once each, nothing else.
      assert.deepEqual(summary(all()), summary([
        { name: 'channel_occupied', channel: presence },
        { name: 'channel_occupied', channel: priv },
        { name: 'channel_occupied', channel: cache },
        { name: 'member_added', channel: presence, user_id: 'alice' },
        { name: 'member_added', channel: presence, user_id: 'bob' },
        { name: 'client_event', channel: presence, user_id: 'alice', event: 'client-hello' },
        { name: 'client_event', channel: priv, event: 'client-private' },
        { name: 'cache_miss', channel: cache },
        { name: 'member_removed', channel: presence, user_id: 'alice' },
        { name: 'member_removed', channel: presence, user_id: 'bob' },
        { name: 'channel_vacated', channel: presence },
        { name: 'channel_vacated', channel: priv },
        { name: 'channel_vacated', channel: cache },
      ]));
      // The filtered target got only its event types on its channels.
      await waitFor(() => receiver.events((r) => r.path === '/private-occupancy').length >= 2,
        'both events on the filtered target', { detail });
      assert.deepEqual(summary(receiver.events((r) => r.path === '/private-occupancy')), summary([
        { name: 'channel_occupied', channel: priv },
        { name: 'channel_vacated', channel: priv },
      ]));

      assert.deepEqual(receiver.problems, []);
      const toAll = receiver.requests.filter((r) => r.path === '/all');
      for (const r of receiver.requests) {
        assert.equal(r.headers['x-test-run'], r.path === '/all' ? runId : undefined,
          `custom header on ${r.path}: ${JSON.stringify(r.headers)}`);
      }
      const sizes = toAll.map((r) => r.events.length);
      if (batching) {
        assert.ok(sizes.some((n) => n > 1), `no request carried more than one event with batching on: ${JSON.stringify(sizes)}`);
      } else {
        assert.ok(sizes.every((n) => n === 1), `a request carried several events with batching off: ${JSON.stringify(sizes)}`);
      }
    });
  }

  test('a receiver that refuses connections for 10 s gets every webhook afterwards', async (t) => {
    const env = await setup(t);
    const { receiver } = env;
    const { port } = receiver;
    await receiver.close();
    const downAt = Date.now();

    const { expected } = await aliceComesAndGoes(env);
    await quiet(Math.max(0, downAt + 10000 - Date.now()));
    await receiver.listen(port);

    // The first jobs failed at 0, 1, 3 and 7 s; the next try is at about
    // 15 s (back-off 1 s doubling).
    await waitFor(() => missing(receiver.events(), expected).length === 0, 'every webhook after the outage',
      { timeout: 20000, detail: () => `missing ${JSON.stringify(missing(receiver.events(), expected))}; got ${receiver.describe()}` });
    assert.deepEqual(receiver.problems, []);
    // Refused connections never reached the receiver: each webhook once.
    assert.deepEqual(summary(receiver.events()), summary(expected));
  });

  test('a receiver answering 400 is not retried', async (t) => {
    const env = await setup(t, { respond: () => 400, env: { WEBHOOK_BATCHING_ENABLED: 'false' } });
    const { receiver } = env;
    const c = env.client();
    await connected(c);
    const pub = `public-hooks-${uid()}`;
    const cache = `cache-hooks-${uid()}`;
    const priv = `private-hooks-${uid()}`;
    await subscribe(c, pub);
    await subscribe(c, cache);
    const ch = await subscribe(c, priv);
    assert.ok(ch.trigger('client-x', { a: 1 }));
    const expected = [
      { name: 'channel_occupied', channel: pub },
      { name: 'channel_occupied', channel: cache },
      { name: 'cache_miss', channel: cache },
      { name: 'channel_occupied', channel: priv },
      { name: 'client_event', channel: priv, event: 'client-x' },
    ];
    await waitFor(() => receiver.requests.length >= expected.length, `${expected.length} requests`,
      { detail: () => receiver.describe() });
    // A retry would come 1 s (the first back-off) after each answer.
    await quiet(2500);
    assert.deepEqual(receiver.problems, []);
    assert.equal(receiver.requests.length, expected.length,
      `requests after 400 answers: ${receiver.describe()}`);
    assert.equal(new Set(receiver.requests.map((r) => r.body)).size, expected.length, 'a webhook was sent twice');
    assert.deepEqual(summary(receiver.events()), summary(expected));
  });

  test('leaving and coming back within the delay sends no vacate, removal or second join', async (t) => {
    const env = await setup(t);
    const { receiver, server } = env;
    const detail = () => receiver.describe();
    const presence = `presence-back-${uid()}`;
    const sentinel = `public-sentinel-${uid()}`;
    const resub = `public-resub-${uid()}`;

    const c1 = env.client({ presence: { user_id: 'u1' } });
    const c3 = env.client();
    await connected(c1);
    await connected(c3);
    await subscribe(c1, presence);
    await subscribe(c1, sentinel);
    await subscribe(c3, resub);
    await waitFor(() => matching(receiver.events(), 'member_added', presence, { user_id: 'u1' }).length
      && [presence, sentinel, resub].every((ch) => matching(receiver.events(), 'channel_occupied', ch).length),
    'channel_occupied x3 and member_added', { detail });

    // Same socket: unsubscribe, then subscribe again once the server has
    // seen the channel empty.
    c3.unsubscribe(resub);
    await waitUnoccupied(server, resub);
    await subscribe(c3, resub);

    // Page reload: the socket closes (presence channel and sentinel empty),
    // a new socket of the same user joins the presence channel again.
    c1.disconnect();
    await waitUnoccupied(server, presence);
    await waitUnoccupied(server, sentinel);
    const c2 = env.client({ presence: { user_id: 'u1' } });
    await connected(c2);
    await subscribe(c2, presence);

    // The sentinel's vacate was held after the other two: once it has
    // arrived, theirs would have too.
    await waitFor(() => matching(receiver.events(), 'channel_vacated', sentinel).length,
      'channel_vacated for the sentinel', { timeout: DELAY_MS + 5000, detail });
    await quiet(300);
    const got = receiver.events();
    assert.deepEqual(receiver.problems, []);
    assert.deepEqual(summary(got), summary([
      { name: 'channel_occupied', channel: presence },
      { name: 'member_added', channel: presence, user_id: 'u1' },
      { name: 'channel_occupied', channel: sentinel },
      { name: 'channel_occupied', channel: resub },
      { name: 'channel_vacated', channel: sentinel },
    ]), 'a cancelled channel_vacated/member_removed or a second channel_occupied/member_added was sent');
  });

  test('kill -9 with the Redis queue: queued webhooks are delivered by the next server', async (t) => {
    const redisURL = process.env.SOCKUDO_TEST_REDIS_URL;
    if (!redisURL) {
      assert.notEqual(process.env.SOCKUDO_TEST_REQUIRE_SERVICES, '1',
        'SOCKUDO_TEST_REDIS_URL is not set but SOCKUDO_TEST_REQUIRE_SERVICES=1');
      t.skip('SOCKUDO_TEST_REDIS_URL is not set');
      return;
    }
    assert.equal(await redisCommand(redisURL, 'PING'), 'PONG');
    // Cleanups run last-registered first.
    const cleanups = [];
    t.after(async () => {
      for (const f of cleanups.reverse()) {
        await f();
      }
    });
    const prefix = `e2e-webhooks-${uid()}:`;
    const keys = queueKeys(prefix);
    cleanups.push(() => redisCommand(redisURL, 'DEL', ...Object.values(keys)));

    const receiver = await startReceiver({ respond: () => 503 });
    cleanups.push(() => receiver.close());
    const config = appsConfig([{
      ...DEFAULT_APP, enabled: true, enable_client_messages: true, webhooks: [{ url: receiver.url(), event_types: [] }],
    }]);
    const serverEnv = { QUEUE_DRIVER: 'redis', REDIS_URL: redisURL, QUEUE_REDIS_PREFIX: prefix };
    const first = await startServer({ config, env: serverEnv });
    cleanups.push(async () => {
      first.kill('SIGKILL');
      await first.exited;
      fs.rmSync(path.dirname(first.configPath), { recursive: true, force: true });
    });
    const clients = [];
    cleanups.push(() => clients.forEach((c) => c.disconnect()));

    const { expected } = await aliceComesAndGoes({
      receiver,
      client(opts) {
        const c = newClient(null, first, opts);
        clients.push(c);
        return c;
      },
    });
    // Every webhook was tried (and refused with 503) at least once, so it
    // is a job in Redis, not an event in the server's memory.
    await waitFor(() => missing(receiver.events(), expected).length === 0, 'every webhook tried once',
      { timeout: DELAY_MS + 5000, detail: () => receiver.describe() });
    assert.ok(receiver.requests.every((r) => r.status === 503));

    // Kill while no job is leased and none is due for 500 ms, so the next
    // server does not wait for a lease (30 s) to expire.
    let jobs;
    const deadline = Date.now() + 10000;
    for (;;) {
      const [ready, leased, delayed, stored, earliest, time] = await redisCommands(redisURL, [
        ['LLEN', keys.ready], ['ZCARD', keys.leased], ['ZCARD', keys.delayed], ['HLEN', keys.payload],
        ['ZRANGE', keys.delayed, 0, 0, 'WITHSCORES'], ['TIME'],
      ]);
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      if (receiver.inFlight === 0 && ready === 0 && leased === 0 && delayed === stored
        && earliest.length === 2 && Number(earliest[1]) - now >= 500) {
        jobs = stored;
        break;
      }
      assert.ok(Date.now() < deadline,
        `no moment without leased or due jobs in 10 s (ready ${ready}, leased ${leased}, delayed ${delayed}, stored ${stored})`);
      await quiet(20);
    }
    first.kill('SIGKILL');
    assert.equal((await first.waitExit()).signal, 'SIGKILL');
    clients.forEach((c) => c.disconnect());
    assert.ok(jobs >= 1);
    assert.equal(await redisCommand(redisURL, 'HLEN', keys.payload), jobs, 'jobs lost from Redis by the kill');

    // A fresh server on the same queue delivers them once the receiver
    // accepts.
    receiver.respond = () => 200;
    const second = await startServer({ config, env: serverEnv });
    try {
      const delivered = () => receiver.events((r) => r.status === 200);
      await waitFor(() => missing(delivered(), expected).length === 0, 'every webhook delivered by the second server',
        { timeout: 15000, detail: () => `missing ${JSON.stringify(missing(delivered(), expected))}\n${receiver.describe()}\n--- second server ---\n${second.logs()}` });
      const drainedBy = Date.now() + 5000;
      for (;;) {
        const left = await redisCommand(redisURL, 'HLEN', keys.payload);
        if (left === 0) {
          break;
        }
        assert.ok(Date.now() < drainedBy, `${left} jobs still in Redis after every webhook was delivered`);
        await quiet(50);
      }
      assert.deepEqual(receiver.problems, []);
    } finally {
      await second.stop();
    }
  });
});
