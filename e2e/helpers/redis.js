'use strict';

// A minimal Redis client for inspecting and cleaning up what the server
// stores (the e2e suite has no Redis library): one connection per call,
// commands pipelined, RESP2 replies parsed. Error replies reject.

const net = require('node:net');

const TIMEOUT_MS = 5000;

/** Parses a redis:// URL into {host, port, username, password, db}. */
function parseRedisURL(raw) {
  const u = new URL(raw);
  if (u.protocol !== 'redis:') {
    throw new Error(`unsupported Redis URL scheme ${u.protocol} (want redis://)`);
  }
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    username: decodeURIComponent(u.username || ''),
    password: decodeURIComponent(u.password || ''),
    db: Number.isInteger(db) ? db : 0,
  };
}

/** Encodes one command as a RESP array of bulk strings. */
function encode(args) {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) {
    const s = String(a);
    parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
  }
  return parts.join('');
}

/**
 * Parses one reply at pos; returns [value, next] or null when buf does not
 * hold a whole reply yet. Error replies become Error values.
 */
function parseReply(buf, pos) {
  if (pos >= buf.length) {
    return null;
  }
  const end = buf.indexOf('\r\n', pos);
  if (end < 0) {
    return null;
  }
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, end);
  switch (type) {
    case '+':
      return [line, end + 2];
    case '-':
      return [new Error(`redis: ${line}`), end + 2];
    case ':':
      return [Number(line), end + 2];
    case '$': {
      const n = Number(line);
      if (n < 0) {
        return [null, end + 2];
      }
      if (buf.length < end + 2 + n + 2) {
        return null;
      }
      return [buf.toString('utf8', end + 2, end + 2 + n), end + 2 + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) {
        return [null, end + 2];
      }
      const out = [];
      let p = end + 2;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) {
          return null;
        }
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      throw new Error(`redis: unexpected reply type ${JSON.stringify(type)}`);
  }
}

/**
 * Runs commands (arrays of arguments) on the Redis server at url, in
 * order on one connection, and resolves to their replies. It rejects on
 * an error reply, a connection error or after 5 s.
 */
function redisCommands(url, commands) {
  const cfg = parseRedisURL(url);
  const pre = [];
  if (cfg.password) {
    pre.push(cfg.username ? ['AUTH', cfg.username, cfg.password] : ['AUTH', cfg.password]);
  }
  if (cfg.db) {
    pre.push(['SELECT', cfg.db]);
  }
  const all = [...pre, ...commands];
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: cfg.host, port: cfg.port });
    let buf = Buffer.alloc(0);
    let pos = 0;
    const replies = [];
    const finish = (err, value) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) {
        reject(err);
      } else {
        resolve(value);
      }
    };
    const timer = setTimeout(() => finish(new Error(`redis: no answer from ${cfg.host}:${cfg.port} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    sock.on('error', (err) => finish(err));
    sock.on('connect', () => sock.write(all.map(encode).join('')));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (;;) {
          const r = parseReply(buf, pos);
          if (!r) {
            break;
          }
          replies.push(r[0]);
          pos = r[1];
        }
      } catch (err) {
        finish(err);
        return;
      }
      if (replies.length >= all.length) {
        const failed = replies.find((r) => r instanceof Error);
        finish(failed, replies.slice(pre.length));
      }
    });
  });
}

/** Runs one command and resolves to its reply. */
async function redisCommand(url, ...args) {
  const [reply] = await redisCommands(url, [args]);
  return reply;
}

/**
 * Returns the keys of a queue/redis queue with the given prefix and name,
 * as that package documents them: ready (list), delayed and leased
 * (sorted sets), payload, attempts and enqueued (hashes).
 */
function queueKeys(prefix, name = 'webhooks') {
  const tag = `{${prefix}${name}}:`;
  const keys = {};
  for (const k of ['ready', 'delayed', 'leased', 'payload', 'attempts', 'enqueued']) {
    keys[k] = tag + k;
  }
  return keys;
}

module.exports = {
  parseRedisURL,
  queueKeys,
  redisCommand,
  redisCommands,
};
