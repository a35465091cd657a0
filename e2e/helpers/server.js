'use strict';

// Starting and stopping the standalone server (cmd/sockudo) for the
// end-to-end tests. Each test file starts its own server on a free loopback
// port with its own environment and config file, and stops it with SIGTERM.

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The app the standalone server serves when nothing else is configured. */
const DEFAULT_APP = Object.freeze({ id: 'app-id', key: 'app-key', secret: 'app-secret' });

const READY_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 5000;
const LOG_LIMIT = 64 * 1024;

let builtBinary;

/**
 * Returns the path of the server binary: $SOCKUDO_E2E_SERVER_BIN when set
 * (run-tests.js builds it once for the whole run), else a binary built
 * here once per process into a temporary directory.
 */
function serverBinary() {
  if (process.env.SOCKUDO_E2E_SERVER_BIN) {
    return process.env.SOCKUDO_E2E_SERVER_BIN;
  }
  if (!builtBinary) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-e2e-bin-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    builtBinary = buildServer(dir);
  }
  return builtBinary;
}

/** Builds ./cmd/sockudo into dir and returns the binary's path. */
function buildServer(dir) {
  const out = path.join(dir, 'sockudo-server');
  execFileSync('go', ['build', '-o', out, './cmd/sockudo'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 10 * 60 * 1000,
  });
  return out;
}

/** Resolves to a TCP port that was free on 127.0.0.1 a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** GET http://127.0.0.1:port/path; resolves to {status, body}. */
function httpGet(port, urlPath, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A running server process. */
class ServerProcess {
  constructor(child, port, configPath) {
    this.child = child;
    this.port = port;
    this.host = '127.0.0.1';
    this.configPath = configPath;
    this.output = '';
    this.exit = null; // {code, signal} once exited
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    const keep = (chunk) => {
      this.output += chunk.toString('utf8');
      if (this.output.length > LOG_LIMIT) {
        this.output = this.output.slice(-LOG_LIMIT);
      }
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
  }

  /** The server's recent stdout and stderr, for failure messages. */
  logs() {
    return this.output;
  }

  /** Sends a signal to the server process. */
  kill(signal = 'SIGTERM') {
    if (this.exit === null) {
      this.child.kill(signal);
    }
  }

  /**
   * Resolves to {code, signal} when the process exits, or rejects after
   * timeoutMs.
   */
  waitExit(timeoutMs = STOP_TIMEOUT_MS) {
    if (this.exit !== null) {
      return Promise.resolve(this.exit);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`server did not exit within ${timeoutMs} ms\n--- server output ---\n${this.logs()}`));
      }, timeoutMs);
      this.exited.then((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  }

  /**
   * Stops the server with SIGTERM and resolves to {code, signal}. It rejects
   * if the server does not exit within STOP_TIMEOUT_MS (then it is killed)
   * or exits with anything but status 0.
   */
  async stop() {
    if (this.exit === null) {
      this.kill('SIGTERM');
    }
    let e;
    try {
      e = await this.waitExit(STOP_TIMEOUT_MS);
    } catch (err) {
      this.kill('SIGKILL');
      await this.exited;
      throw err;
    } finally {
      if (this.configPath) {
        fs.rmSync(path.dirname(this.configPath), { recursive: true, force: true });
      }
    }
    if (e.code !== 0) {
      throw new Error(`server exited with ${JSON.stringify(e)} after SIGTERM\n--- server output ---\n${this.logs()}`);
    }
    return e;
  }
}

const running = new Set();
process.on('exit', () => {
  for (const s of running) {
    s.kill('SIGKILL');
  }
});

/**
 * Starts the server on a free 127.0.0.1 port and waits until GET /up
 * answers 200.
 *
 * options.env: extra environment variables (the server gets only PATH,
 * HOME, HOST, PORT, METRICS_ENABLED=false and these).
 * options.config: an object written as the --config JSON file.
 * options.bin: another program to start instead of the standalone server
 * (for example the hook host, helpers/hookhost.js).
 */
async function startServer({ env = {}, config, bin = serverBinary() } = {}) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let configPath;
    const args = [];
    if (config !== undefined) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-e2e-cfg-'));
      configPath = path.join(dir, 'config.json');
      fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
      args.push('--config', configPath);
    }
    const child = spawn(bin, args, {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME || os.tmpdir(),
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_ENABLED: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(child, port, configPath);
    running.add(server);
    server.exited.then(() => running.delete(server));
    child.on('error', () => {}); // surfaced through 'exit'
    try {
      await waitUp(server);
      return server;
    } catch (err) {
      lastErr = err;
      server.kill('SIGKILL');
      await server.exited;
      if (configPath) {
        fs.rmSync(path.dirname(configPath), { recursive: true, force: true });
      }
      // Another process may have taken the port between freePort and
      // the server's bind; try a new port. Anything else is fatal.
      if (!/address already in use/i.test(server.logs())) {
        throw err;
      }
    }
  }
  throw lastErr;
}

/** Polls GET /up until it answers 200, the process exits, or time runs out. */
async function waitUp(server) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (server.exit !== null) {
      throw new Error(`server exited before it was ready: ${JSON.stringify(server.exit)}\n--- server output ---\n${server.logs()}`);
    }
    try {
      const res = await httpGet(server.port, '/up');
      if (res.status === 200) {
        return;
      }
      last = `status ${res.status}: ${res.body.slice(0, 200)}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not answer GET /up with 200 within ${READY_TIMEOUT_MS} ms (last: ${last})\n--- server output ---\n${server.logs()}`);
}

/**
 * Returns a config.json object (Sockudo's shape) serving the given apps,
 * each in the flat app shape: {id, key, secret, enabled, ...}.
 */
function appsConfig(apps) {
  return { app_manager: { array: { apps } } };
}

module.exports = {
  DEFAULT_APP,
  REPO_ROOT,
  appsConfig,
  buildServer,
  freePort,
  httpGet,
  serverBinary,
  startServer,
};
