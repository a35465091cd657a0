'use strict';

// What a Sockudo user relies on besides the protocol (issue 13): Sockudo's
// shipped path_prefix "/", pusher-js in Node (no Origin header) on an app
// whose allowed_origins is ["*"], the /up/{app_id} and /live probes of
// Sockudo's docker-compose file and Helm chart, a browser's CORS preflight
// to the HTTP API, and Laravel Echo with the `reverb` broadcaster
// authorizing a private channel through a Laravel-like auth endpoint and
// whispering to another client.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');

const PusherJS = require('pusher-js');

const { DEFAULT_APP, appsConfig, startServer } = require('../helpers/server');
const {
  connected, newClient, sdk, uid, waitFor, quiet,
} = require('../helpers/clients');

const STAR_APP = { id: 'star-app', key: 'star-key', secret: 'star-secret' };
const LISTED_APP = { id: 'listed-app', key: 'listed-key', secret: 'listed-secret' };
const OFF_APP = { id: 'off-app', key: 'off-key', secret: 'off-secret' };

/** Sends a request to the server; resolves to {status, headers, body}. */
function request(server, method, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: server.host, port: server.port, method, path: urlPath, headers, timeout: 5000,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts what a Laravel app's POST /broadcasting/auth does: reads the
 * form-encoded socket_id and channel_name pusher-js sends and answers with
 * the signature made by the pusher SDK. Resolves to {url, calls, close}.
 */
function startAuthEndpoint(server, app) {
  const signer = sdk(server, app);
  const calls = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      calls.push({ method: req.method, path: req.url, socketId: form.get('socket_id'), channel: form.get('channel_name') });
      if (req.method !== 'POST' || req.url !== '/broadcasting/auth' || !form.get('channel_name').startsWith('private-')) {
        res.writeHead(403, { 'Content-Type': 'application/json' });
        res.end('{}');
        return;
      }
      const auth = signer.authorizeChannel(form.get('socket_id'), form.get('channel_name'));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(auth));
    });
  });
  return new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${srv.address().port}/broadcasting/auth`,
        calls,
        close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
      });
    });
  });
}

describe('drop-in for Sockudo users', () => {
  let server;
  let Echo;
  before(async () => {
    // laravel-echo 2.5.0's CommonJS build does not load under Node (its
    // package is "type": "module"), so its ES module build is imported,
    // as bundlers do.
    Echo = (await import('laravel-echo')).default;
    server = await startServer({
      env: { PATH_PREFIX: '/' },
      config: {
        path_prefix: '/',
        ...appsConfig([
          { ...DEFAULT_APP, enabled: true, enable_client_messages: true },
          { ...STAR_APP, enabled: true, allowed_origins: ['*'] },
          { ...LISTED_APP, enabled: true, allowed_origins: ['https://app.example.com'] },
          { ...OFF_APP, enabled: false },
        ]),
      },
    });
  });
  after(async () => {
    await server.stop();
  });

  test('path_prefix "/" serves at the root', async () => {
    const res = await request(server, 'GET', '/up');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'OK');
  });

  test('pusher-js in Node (no Origin) connects to an app allowing "*"', async (t) => {
    const c = newClient(t, server, { app: STAR_APP });
    await connected(c);
    assert.deepEqual(c.errorCodes(), []);
  });

  test('pusher-js in Node (no Origin) is refused 4009 by an explicit origin list, as by Sockudo', async (t) => {
    const c = newClient(t, server, { app: LISTED_APP });
    await waitFor(() => c.errorCodes().includes(4009), 'error 4009', { detail: c.describe });
    // 4009 is a "do not reconnect" code: no new attempt within the back-off.
    await quiet(1500);
    assert.ok(!c.rec.states.includes('connected'), `client was connected: ${c.describe()}`);
    assert.equal(c.rec.states.filter((s) => s === 'connecting').length, 1, `client retried: ${c.describe()}`);
  });

  test('/up/{app_id}: OK, NOT_FOUND for an unknown app, ERROR for a disabled one', async () => {
    for (const [path, status, verdict] of [
      [`/up/${DEFAULT_APP.id}`, 200, 'OK'],
      ['/up/no-such-app', 404, 'NOT_FOUND'],
      [`/up/${OFF_APP.id}`, 503, 'ERROR'],
    ]) {
      const res = await request(server, 'GET', path);
      assert.equal(res.status, status, path);
      assert.equal(res.body, verdict, path);
      assert.equal(res.headers['x-health-check'], verdict, path);
    }
  });

  test('an app that sets no payload limit takes a 50 KB event, as Sockudo does', async () => {
    const res = await sdk(server, DEFAULT_APP).trigger(`big-${uid()}`, 'big', 'x'.repeat(50 * 1024));
    assert.equal(res.status, 200);
  });

  test('/live answers 200 with an empty body', async () => {
    const res = await request(server, 'GET', '/live');
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
  });

  test('a browser CORS preflight to the HTTP API is answered with Sockudo\'s default policy', async () => {
    const res = await request(server, 'OPTIONS', `/apps/${DEFAULT_APP.id}/events`, {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.match(res.headers['access-control-allow-methods'], /\bPOST\b/);
    assert.match(res.headers['access-control-allow-headers'], /\bContent-Type\b/i);
    assert.equal(res.headers['access-control-allow-credentials'], undefined, 'credentials with "*"');
    // The actual request carries the header too (here refused: unsigned).
    const get = await request(server, 'GET', `/apps/${DEFAULT_APP.id}/channels`, { Origin: 'https://app.example.com' });
    assert.equal(get.status, 401);
    assert.equal(get.headers['access-control-allow-origin'], '*');
  });

  test('Laravel Echo (reverb broadcaster): private channel via /broadcasting/auth, whisper to another client', async (t) => {
    const auth = await startAuthEndpoint(server, DEFAULT_APP);
    t.after(() => auth.close());
    const echo = () => {
      const e = new Echo({
        broadcaster: 'reverb',
        Pusher: PusherJS,
        key: DEFAULT_APP.key,
        wsHost: server.host,
        wsPort: server.port,
        wssPort: server.port,
        forceTLS: false,
        enabledTransports: ['ws', 'wss'],
        authEndpoint: auth.url,
        disableStats: true,
      });
      t.after(() => e.disconnect());
      return e;
    };
    const room = `room.${uid()}`;
    const alice = echo();
    const bob = echo();
    const whispers = [];
    const subscribed = [];
    alice.private(room)
      .subscribed(() => subscribed.push('alice'))
      .listenForWhisper('typing', (data) => whispers.push({ to: 'alice', data }));
    bob.private(room)
      .subscribed(() => subscribed.push('bob'))
      .listenForWhisper('typing', (data) => whispers.push({ to: 'bob', data }));
    await waitFor(() => subscribed.length === 2, 'both Echo clients subscribed', {
      detail: () => JSON.stringify({ subscribed, calls: auth.calls }),
    });
    // Each subscription was authorized by the auth endpoint for its socket.
    assert.deepEqual(
      auth.calls.map((c) => [c.path, c.channel]).sort(),
      [['/broadcasting/auth', `private-${room}`], ['/broadcasting/auth', `private-${room}`]],
    );
    assert.deepEqual(auth.calls.map((c) => c.socketId).sort(), [alice.socketId(), bob.socketId()].sort());

    bob.private(room).whisper('typing', { name: 'bob' });
    await waitFor(() => whispers.length > 0, 'the whisper at alice', { detail: () => JSON.stringify(whispers) });
    assert.deepEqual(whispers[0], { to: 'alice', data: { name: 'bob' } });
    // Not echoed to the sender: alice's answer arrives at bob, and is the
    // only thing bob got.
    alice.private(room).whisper('typing', { name: 'alice' });
    await waitFor(() => whispers.some((w) => w.to === 'bob'), 'the whisper at bob', { detail: () => JSON.stringify(whispers) });
    assert.deepEqual(whispers, [{ to: 'alice', data: { name: 'bob' } }, { to: 'bob', data: { name: 'alice' } }]);
  });
});
