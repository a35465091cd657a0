'use strict';

// The hook host (e2e/hookhost): a tiny Go program that embeds the server
// with hooks, since the standalone server has no hooks to configure. It is
// built once per process and started with startServer({ bin }).

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const { REPO_ROOT, startServer } = require('./server');

let built;

/** Returns the path of the hook host binary, building it the first time. */
function hookHostBinary() {
  if (!built) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-e2e-hookhost-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    built = path.join(dir, 'hookhost');
    execFileSync('go', ['build', '-o', built, './e2e/hookhost'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 10 * 60 * 1000,
    });
  }
  return built;
}

/** Starts the hook host with its vacate/member_removed delay in ms. */
function startHookHost({ delayMs = 1000 } = {}) {
  return startServer({ bin: hookHostBinary(), env: { HOOKHOST_DELAY_MS: String(delayMs) } });
}

/** Resolves to the lifecycle hook calls the host recorded. */
function hookEvents(server) {
  return new Promise((resolve, reject) => {
    http.get({ host: server.host, port: server.port, path: '/hook-events' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(new Error(`GET /hook-events answered ${res.statusCode}: ${body}`));
        }
      });
    }).on('error', reject);
  });
}

module.exports = { hookEvents, hookHostBinary, startHookHost };
