'use strict';

// Graceful shutdown: on SIGTERM the server closes every WebSocket with 4200
// (pusher-js then reconnects at once, to another node in a cluster) and
// exits with status 0 within a few seconds. Issue 2.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { startServer } = require('../helpers/server');
const { connected, newClient, subscribe, uid, waitFor } = require('../helpers/clients');

test('SIGTERM closes connections with 4200, pusher-js reconnects, the process exits 0', async (t) => {
  const server = await startServer();
  t.after(() => server.kill('SIGKILL'));

  const a = newClient(t, server);
  const b = newClient(t, server, { presence: { user_id: 'u1' } });
  await connected(a);
  await connected(b);
  await subscribe(a, `public-${uid()}`);
  await subscribe(b, `presence-${uid()}`);

  server.kill('SIGTERM');

  for (const c of [a, b]) {
    await waitFor(() => c.rec.closes.length > 0, 'the server to close the connection', { detail: c.describe });
    assert.equal(c.rec.closes[0].code, 4200, `close code: ${c.describe()}`);
    // 4200-4299 means "reconnect immediately": pusher-js goes back to
    // connecting rather than giving up.
    await waitFor(() => c.rec.states.indexOf('connecting', c.rec.states.indexOf('connected') + 1) > 0,
      'pusher-js to start reconnecting',
      { detail: c.describe });
    assert.notEqual(c.connection.state, 'disconnected', `pusher-js gave up: ${c.describe()}`);
  }

  const exit = await server.waitExit(5000);
  assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM\n${server.logs()}`);
  a.disconnect();
  b.disconnect();
});
