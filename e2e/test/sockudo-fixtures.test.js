'use strict';

// Drop-in for Sockudo (issue 13): the server starts from a config.json with
// every section and key of Sockudo's shipped config/config.json
// (fixtures/sockudo-config.json, own values) and from the variables of
// Sockudo's .env.example (fixtures/sockudo-env.json, own values), and
// serves pusher-js: connect, subscribe, receive an event from the SDK.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { startServer } = require('../helpers/server');
const { connected, newClient, sdk, subscribe, uid, waitEvent } = require('../helpers/clients');

const fixture = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', name), 'utf8'));

async function roundTrip(t, server, app) {
  const c = newClient(t, server, { app });
  await connected(c);
  const name = `fixture-${uid()}`;
  const ch = await subscribe(c, name);
  const res = await sdk(server, app).trigger(name, 'fixture-event', { from: 'sdk' });
  assert.equal(res.status, 200);
  const ev = await waitEvent(ch.events, 'fixture-event', 'fixture-event on the public channel', { detail: c.describe });
  assert.deepEqual(ev.data, { from: 'sdk' });
}

describe('Sockudo fixtures', () => {
  const servers = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('config.json with every key of Sockudo\'s shipped config', async (t) => {
    const config = fixture('sockudo-config.json');
    const server = await startServer({ config });
    servers.push(server);
    const a = config.app_manager.array.apps[0];
    await roundTrip(t, server, { id: a.id, key: a.key, secret: a.secret });
    const logs = server.logs();
    assert.match(logs, /config key not supported, ignored" key=delta_compression/);
    assert.match(logs, /app setting not supported, ignored" key=policy\.channels\.channel_namespaces apps=fixture-app/);
    assert.match(logs, /msg="app limits" app_id=fixture-app/);
  });

  test('the variables of Sockudo\'s .env.example', async (t) => {
    // The harness picks the listener; the fixture's HOST, PORT and metrics
    // settings would collide with other servers.
    const { HOST, PORT, METRICS_PORT, METRICS_ENABLED, ...env } = fixture('sockudo-env.json');
    assert.ok(HOST && PORT && METRICS_PORT && METRICS_ENABLED, 'fixture lacks the listener variables');
    const server = await startServer({ env });
    servers.push(server);
    await roundTrip(t, server, {
      id: env.SOCKUDO_DEFAULT_APP_ID, key: env.SOCKUDO_DEFAULT_APP_KEY, secret: env.SOCKUDO_DEFAULT_APP_SECRET,
    });
    assert.match(server.logs(), /msg="app limits" app_id=env-app/);
  });
});
