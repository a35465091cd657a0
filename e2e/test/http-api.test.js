'use strict';

// The HTTP API driven by the pusher Node SDK: trigger (one and many
// channels, socket_id exclusion, info), triggerBatch, channel listing and
// info, presence users, and the error statuses the SDK surfaces. Issue 3.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');

const { DEFAULT_APP, appsConfig, startServer } = require('../helpers/server');
const {
  connected, json, named, newClient, quiet, requestError, sdk, subscribe, uid, waitEvent, waitFor,
} = require('../helpers/clients');

/** Connects a client and subscribes it to each of names; returns [client, ...channels]. */
async function joined(t, server, names, presence) {
  const c = newClient(t, server, { presence });
  await connected(c);
  const chans = [];
  for (const n of names) {
    chans.push(await subscribe(c, n));
  }
  return [c, ...chans];
}

/** Sends a request signed by hand, so its signing inputs can be bent. */
function rawRequest(server, { method, path, query = {}, body, secret = DEFAULT_APP.secret, timestamp, md5 }) {
  const params = {
    auth_key: DEFAULT_APP.key,
    auth_timestamp: String(timestamp !== undefined ? timestamp : Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...query,
  };
  if (body !== undefined) {
    params.body_md5 = md5 || crypto.createHash('md5').update(body).digest('hex');
  }
  const sorted = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const sig = crypto.createHmac('sha256', secret).update(`${method}\n${path}\n${sorted}`).digest('hex');
  const qs = new URLSearchParams({ ...params, auth_signature: sig }).toString();
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: server.host, port: server.port, method, path: `${path}?${qs}`,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      timeout: 5000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body !== undefined) {
      req.write(body);
    }
    req.end();
  });
}

describe('HTTP API with the pusher SDK', () => {
  let server;
  let api;
  before(async () => {
    server = await startServer({
      config: appsConfig([
        // Pusher's limits, set explicitly: an app that sets none is
        // unchecked, as in Sockudo (dropin.test.js).
        {
          ...DEFAULT_APP, enabled: true, enable_client_messages: true, enable_subscription_count_events: true,
          max_event_payload_in_kb: 10, max_event_channels_at_once: 100, max_event_batch_size: 10,
        },
      ]),
    });
    api = sdk(server);
  });
  after(async () => {
    await server.stop();
  });

  test('trigger answers 200 {} and delivers the event', async (t) => {
    const name = `api-${uid()}`;
    const [c, ch] = await joined(t, server, [name]);
    const res = await api.trigger(name, 'created', { id: 7 });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {});
    const ev = await waitEvent(ch.events, 'created', 'created event', { detail: c.describe });
    assert.deepEqual(ev.data, { id: 7 });
  });

  test('trigger with a string payload is delivered byte for byte', async (t) => {
    const name = `api-str-${uid()}`;
    const [c] = await joined(t, server, [name]);
    const payload = '{"b":2,  "a":"\u00e9"}';
    await api.trigger(name, 'raw', payload);
    const frame = await waitFor(() => c.rec.frames.map((f) => JSON.parse(f)).find((m) => m.event === 'raw'),
      'raw event', { detail: c.describe });
    assert.equal(frame.data, payload, 'data was re-encoded');
    assert.equal(frame.channel, name);
  });

  test('trigger to many channels reaches each channel once', async (t) => {
    const names = [0, 1, 2].map((i) => `multi-${i}-${uid()}`);
    const [c1, ch0, ch1] = await joined(t, server, [names[0], names[1]]);
    const [c2, ch2] = await joined(t, server, [names[2]]);
    await api.trigger(names, 'fanout', { ok: 1 });
    for (const ch of [ch0, ch1, ch2]) {
      await waitEvent(ch.events, 'fanout', `fanout on ${ch.name}`);
    }
    // c1 is on two of the channels: one frame per channel.
    await api.trigger(names[0], 'sentinel', {});
    await waitEvent(ch0.events, 'sentinel', 'sentinel');
    const frames = c1.rec.messages.filter((m) => m.event === 'fanout').map((m) => m.channel).sort();
    assert.deepEqual(frames, [names[0], names[1]].sort());
    assert.equal(c2.rec.messages.filter((m) => m.event === 'fanout').length, 1);
  });

  test('socket_id excludes the sender from delivery', async (t) => {
    const name = `excl-${uid()}`;
    const [a, chA] = await joined(t, server, [name]);
    const [, chB] = await joined(t, server, [name]);
    await api.trigger(name, 'not-for-a', { n: 1 }, { socket_id: a.connection.socket_id });
    await waitEvent(chB.events, 'not-for-a', 'event at b');
    await api.trigger(name, 'for-all', { n: 2 });
    await waitEvent(chA.events, 'for-all', 'second event at a');
    assert.equal(named(chA.events, 'not-for-a').length, 0, 'excluded socket received the event');
  });

  test('trigger with info returns user_count and subscription_count', async (t) => {
    const pres = `presence-info-${uid()}`;
    const pub = `info-${uid()}`;
    await joined(t, server, [pres, pub], { user_id: 'i1' });
    await joined(t, server, [pres, pub], { user_id: 'i1' });
    await joined(t, server, [pres], { user_id: 'i2' });
    const res = await api.trigger([pres, pub], 'with-info', {}, { info: 'user_count,subscription_count' });
    const body = await json(res);
    assert.equal(body.channels[pres].user_count, 2, JSON.stringify(body));
    assert.equal(body.channels[pub].subscription_count, 2, JSON.stringify(body));
    assert.equal(body.channels[pub].user_count, undefined, JSON.stringify(body));
  });

  test('triggerBatch delivers every event, honours socket_id and info', async (t) => {
    const c1 = `batch-1-${uid()}`;
    const c2 = `batch-2-${uid()}`;
    const [a, a1, a2] = await joined(t, server, [c1, c2]);
    const [, b1] = await joined(t, server, [c1]);
    const res = await api.triggerBatch([
      { channel: c1, name: 'one', data: { n: 1 } },
      { channel: c2, name: 'two', data: 'two' },
      { channel: c1, name: 'three', data: { n: 3 }, socket_id: a.connection.socket_id },
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {});
    assert.deepEqual((await waitEvent(a1.events, 'one', 'one at a')).data, { n: 1 });
    assert.equal((await waitEvent(a2.events, 'two', 'two at a')).data, 'two');
    await waitEvent(b1.events, 'three', 'three at b');
    await api.trigger(c1, 'sentinel', {});
    await waitEvent(a1.events, 'sentinel', 'sentinel at a');
    assert.equal(named(a1.events, 'three').length, 0, 'batch socket_id exclusion ignored');

    const infoRes = await api.triggerBatch([
      { channel: c1, name: 'x', data: {}, info: 'subscription_count' },
      { channel: c2, name: 'y', data: {} },
    ]);
    const info = await json(infoRes);
    assert.ok(Array.isArray(info.batch), JSON.stringify(info));
    assert.equal(info.batch.length, 2);
    assert.equal(info.batch[0].subscription_count, 2, JSON.stringify(info));
  });

  test('GET /channels filters by prefix and reports user_count / subscription_count', async (t) => {
    const run = uid();
    const p1 = `presence-list-${run}-a`;
    const p2 = `presence-list-${run}-b`;
    const pubA = `list-${run}-a`;
    const pubB = `list-${run}-b`;
    await joined(t, server, [p1, p2, pubA], { user_id: 'l1' });
    await joined(t, server, [p2, pubA, pubB], { user_id: 'l2' });
    await joined(t, server, [p2], { user_id: 'l2' });

    let res = await api.get({ path: '/channels', params: { filter_by_prefix: `presence-list-${run}`, info: 'user_count' } });
    assert.deepEqual(await json(res), { channels: { [p1]: { user_count: 1 }, [p2]: { user_count: 2 } } });

    res = await api.get({ path: '/channels', params: { filter_by_prefix: `list-${run}`, info: 'subscription_count' } });
    assert.deepEqual(await json(res), {
      channels: { [pubA]: { subscription_count: 2 }, [pubB]: { subscription_count: 1 } },
    });

    res = await api.get({ path: '/channels', params: { filter_by_prefix: `list-${run}` } });
    assert.deepEqual(await json(res), { channels: { [pubA]: {}, [pubB]: {} } });

    res = await api.get({ path: '/channels' });
    const all = (await json(res)).channels;
    for (const n of [p1, p2, pubA, pubB]) {
      assert.ok(n in all, `${n} missing from GET /channels`);
    }
  });

  test('GET /channels lists only occupied channels', async (t) => {
    const name = `vacate-${uid()}`;
    const [c] = await joined(t, server, [name]);
    let res = await api.get({ path: '/channels', params: { filter_by_prefix: name } });
    assert.deepEqual(Object.keys((await json(res)).channels), [name]);
    c.unsubscribe(name);
    const deadline = Date.now() + 5000;
    for (;;) {
      res = await api.get({ path: '/channels', params: { filter_by_prefix: name } });
      const body = await json(res);
      if (Object.keys(body.channels).length === 0) {
        break;
      }
      assert.ok(Date.now() < deadline, `channel still listed 5 s after the last unsubscribe: ${JSON.stringify(body)}`);
      await quiet(50);
    }
  });

  test('GET /channels/{name} reports occupancy and counts', async (t) => {
    const pub = `chinfo-${uid()}`;
    const pres = `presence-chinfo-${uid()}`;
    await joined(t, server, [pub, pres], { user_id: 'c1' });
    await joined(t, server, [pub, pres], { user_id: 'c1' });

    let res = await api.get({ path: `/channels/${pub}`, params: { info: 'subscription_count' } });
    assert.deepEqual(await json(res), { occupied: true, subscription_count: 2 });

    res = await api.get({ path: `/channels/${pres}`, params: { info: 'user_count' } });
    assert.deepEqual(await json(res), { occupied: true, user_count: 1 });

    res = await api.get({ path: `/channels/${pub}` });
    assert.deepEqual(await json(res), { occupied: true });

    res = await api.get({ path: `/channels/empty-${uid()}` });
    assert.deepEqual(await json(res), { occupied: false });
  });

  test('GET /channels/{name} with info=cache returns the cached event', async () => {
    const name = `cache-info-${uid()}`;
    await api.trigger(name, 'cached', { c: 1 });
    const res = await api.get({ path: `/channels/${name}`, params: { info: 'cache' } });
    const body = await json(res);
    assert.equal(body.occupied, false, JSON.stringify(body));
    assert.ok(body.cache, `no cache in ${JSON.stringify(body)}`);
    assert.equal(typeof body.cache.ttl, 'number', JSON.stringify(body));
    assert.equal(body.cache.data, '{"c":1}', JSON.stringify(body));
  });

  test('GET /channels/{presence}/users lists distinct users with string ids', async (t) => {
    const name = `presence-users-${uid()}`;
    await joined(t, server, [name], { user_id: 'alice', user_info: { a: 1 } });
    await joined(t, server, [name], { user_id: 'bob' });
    await joined(t, server, [name], { user_id: 'bob' });
    const res = await api.get({ path: `/channels/${name}/users` });
    const body = await json(res);
    body.users.sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(body, { users: [{ id: 'alice' }, { id: 'bob' }] });
  });

  test('POST /users/{id}/terminate_connections answers {} for an unknown user', async () => {
    const res = await api.terminateUserConnections(`nobody-${uid()}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {});
  });

  describe('error statuses surfaced by the SDK', () => {
    test('user_count without a presence prefix is 400', async () => {
      const err = await requestError(() => api.get({ path: '/channels', params: { info: 'user_count' } }));
      assert.equal(err.status, 400, err.body);
    });

    test('user_count on a public channel is 400', async () => {
      const err = await requestError(() => api.get({ path: `/channels/pub-${uid()}`, params: { info: 'user_count' } }));
      assert.equal(err.status, 400, err.body);
    });

    test('users of a non-presence channel is 400', async () => {
      const err = await requestError(() => api.get({ path: `/channels/pub-${uid()}/users` }));
      assert.equal(err.status, 400, err.body);
    });

    test('a wrong secret is 401', async () => {
      const bad = sdk(server, { ...DEFAULT_APP, secret: 'not-the-secret' });
      const err = await requestError(() => bad.trigger(`x-${uid()}`, 'e', {}));
      assert.equal(err.status, 401, err.body);
      const err2 = await requestError(() => bad.get({ path: '/channels' }));
      assert.equal(err2.status, 401, err2.body);
    });

    test('a wrong key is 401 (or 404)', async () => {
      const bad = sdk(server, { ...DEFAULT_APP, key: 'not-the-key' });
      const err = await requestError(() => bad.trigger(`x-${uid()}`, 'e', {}));
      assert.ok([401, 404].includes(err.status), `status ${err.status}: ${err.body}`);
    });

    test('an unknown app id is 404 (or 401)', async () => {
      const bad = sdk(server, { ...DEFAULT_APP, id: 'no-such-app' });
      const err = await requestError(() => bad.get({ path: '/channels' }));
      assert.ok([401, 404].includes(err.status), `status ${err.status}: ${err.body}`);
    });

    test('event data over 10 KB is 413', async () => {
      const err = await requestError(() => api.trigger(`big-${uid()}`, 'big', 'x'.repeat(10 * 1024 + 1)));
      assert.equal(err.status, 413, err.body);
    });

    test('more than 100 channels is 400 or 413', async () => {
      const channels = Array.from({ length: 101 }, (_, i) => `many-${i}`);
      const err = await requestError(() => api.post({ path: '/events', body: { name: 'e', channels, data: '{}' } }));
      assert.ok([400, 413].includes(err.status), `status ${err.status}: ${err.body}`);
    });

    test('more than 10 events in a batch is 400 or 413', async () => {
      const batch = Array.from({ length: 11 }, (_, i) => ({ channel: `b-${i}`, name: 'e', data: {} }));
      const err = await requestError(() => api.triggerBatch(batch));
      assert.ok([400, 413].includes(err.status), `status ${err.status}: ${err.body}`);
    });

    test('an event without a name is 400', async () => {
      const err = await requestError(() => api.post({ path: '/events', body: { channels: ['x'], data: '{}' } }));
      assert.equal(err.status, 400, err.body);
    });

    test('an invalid channel name is 400', async () => {
      const err = await requestError(() => api.post({ path: '/events', body: { name: 'e', channels: ['bad name!'], data: '{}' } }));
      assert.equal(err.status, 400, err.body);
    });

    test('a stale auth_timestamp is 401', async () => {
      const body = JSON.stringify({ name: 'e', channels: ['stale'], data: '{}' });
      const fresh = await rawRequest(server, { method: 'POST', path: `/apps/${DEFAULT_APP.id}/events`, body });
      assert.equal(fresh.status, 200, `hand-signed request rejected: ${fresh.body}`);
      const stale = await rawRequest(server, {
        method: 'POST', path: `/apps/${DEFAULT_APP.id}/events`, body, timestamp: Math.floor(Date.now() / 1000) - 3600,
      });
      assert.equal(stale.status, 401, stale.body);
    });

    test('a body_md5 that does not match the body is 401', async () => {
      const body = JSON.stringify({ name: 'e', channels: ['md5'], data: '{}' });
      const res = await rawRequest(server, {
        method: 'POST', path: `/apps/${DEFAULT_APP.id}/events`, body, md5: crypto.createHash('md5').update('other').digest('hex'),
      });
      assert.equal(res.status, 401, res.body);
    });
  });
});
