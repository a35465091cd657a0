'use strict';

// permessage-deflate (issue 13): off by default, as Sockudo ships, and
// negotiated with a client that offers it when WEBSOCKET_COMPRESSION asks
// for it. The client here is a plain HTTP upgrade offering the extension,
// the first thing every deflate-capable client (browsers, ws) sends.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const crypto = require('node:crypto');

const { DEFAULT_APP, startServer } = require('../helpers/server');

/** Upgrades to /app/<key> offering permessage-deflate; resolves to the 101's headers. */
function upgrade(server) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: server.host,
      port: server.port,
      path: `/app/${DEFAULT_APP.key}?protocol=7&client=e2e&version=1`,
      timeout: 5000,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'),
        'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.headers);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('permessage-deflate', () => {
  const servers = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('is not negotiated by default', async () => {
    const server = await startServer();
    servers.push(server);
    const headers = await upgrade(server);
    assert.equal(headers['sec-websocket-extensions'], undefined);
  });

  test('is negotiated with WEBSOCKET_COMPRESSION=dedicated', async () => {
    const server = await startServer({ env: { WEBSOCKET_COMPRESSION: 'dedicated' } });
    servers.push(server);
    const headers = await upgrade(server);
    assert.match(headers['sec-websocket-extensions'] || '', /^permessage-deflate/);
  });
});
