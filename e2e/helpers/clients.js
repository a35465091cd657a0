'use strict';

// pusher-js clients and pusher (Node SDK) instances pointed at a test
// server, plus polling helpers. Every wait has a timeout; every client made
// with newClient is disconnected when its test ends.

const crypto = require('node:crypto');
const PusherJS = require('pusher-js');
const PusherSDK = require('pusher');

const { DEFAULT_APP } = require('./server');

const WAIT_MS = 5000;
const POLL_MS = 10;

/**
 * Resolves when cond() returns a truthy value (resolving to that value) and
 * rejects after timeoutMs with a message naming what was awaited. detail(),
 * if given, is appended to the timeout message.
 */
async function waitFor(cond, what, { timeout = WAIT_MS, detail } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = cond();
    if (v) {
      return v;
    }
    if (Date.now() >= deadline) {
      const extra = detail ? `\n${detail()}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${extra}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Resolves after ms milliseconds. Only for "nothing happens" windows. */
function quiet(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A short random suffix to keep names unique within a server. */
function uid() {
  return crypto.randomBytes(4).toString('hex');
}

/** Returns a pusher (Node SDK) instance for app on server. */
function sdk(server, app = DEFAULT_APP, extra = {}) {
  return new PusherSDK({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: server.host,
    port: String(server.port),
    useTLS: false,
    ...extra,
  });
}

/** Extracts the Pusher error code from a pusher-js 'error' event. */
function errorCode(e) {
  if (!e) {
    return undefined;
  }
  if (e.data && e.data.code !== undefined) {
    return e.data.code;
  }
  if (e.error && e.error.data && e.error.data.code !== undefined) {
    return e.error.data.code;
  }
  return undefined;
}

/**
 * Creates a pusher-js client for app on server and records what happens
 * to it on client.rec:
 *   states:   ['connecting', 'connected', ...] (every state change)
 *   errors:   pusher-js 'error' events
 *   messages: every decoded message received ({event, channel, data, user_id})
 *   frames:   the raw text of every frame received on established connections
 *   closes:   WebSocket close events ({code, reason}) of established connections
 *   socketIds: socket ids of each established connection
 *
 * opts.app        the app (id/key/secret) used for the key and for signing
 * opts.key        a key to connect with instead of app.key
 * opts.presence   {user_id, user_info} sent as channel_data on presence channels
 * opts.user       user data for signin ({id, user_info, watchlist})
 * opts.channelAuth(socketId, channelName) overrides the channel authorizer
 * opts.userAuth(socketId) overrides the user authenticator
 * opts.masterKey  base64 encryption master key (for private-encrypted-*)
 * opts.options    extra pusher-js options (activityTimeout, pongTimeout, ...)
 *
 * t is the node:test context; the client is disconnected when t ends.
 */
function newClient(t, server, opts = {}) {
  const app = opts.app || DEFAULT_APP;
  const signer = sdk(server, app, opts.masterKey ? { encryptionMasterKeyBase64: opts.masterKey } : {});
  const channelAuth = opts.channelAuth || ((socketId, channelName) => signer.authorizeChannel(
    socketId,
    channelName,
    channelName.startsWith('presence-') ? opts.presence : undefined,
  ));
  const userAuth = opts.userAuth || ((socketId) => signer.authenticateUser(socketId, opts.user));

  const client = new PusherJS(opts.key || app.key, {
    cluster: 'local',
    wsHost: server.host,
    wsPort: server.port,
    wssPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => {
        let res;
        try {
          res = channelAuth(socketId, channelName);
        } catch (err) {
          cb(err, null);
          return;
        }
        cb(null, res);
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, cb) => {
        let res;
        try {
          res = userAuth(socketId);
        } catch (err) {
          cb(err, null);
          return;
        }
        cb(null, res);
      },
    },
    ...(opts.options || {}),
  });

  // pusher-js starts connecting inside its constructor, so the first state
  // change has already happened; record the current state as the first.
  const rec = {
    states: [client.connection.state], errors: [], messages: [], frames: [], closes: [], socketIds: [],
  };
  client.rec = rec;
  const sockets = [];
  client.connection.bind('state_change', ({ current }) => {
    rec.states.push(current);
  });
  client.connection.bind('error', (e) => {
    rec.errors.push(e);
  });
  client.connection.bind('message', (m) => {
    rec.messages.push(m);
  });
  client.connection.bind('connected', () => {
    rec.socketIds.push(client.connection.socket_id);
    const conn = client.connection.connection;
    if (conn && conn.transport) {
      sockets.push(conn.transport.socket);
      conn.transport.bind('message', (ev) => {
        rec.frames.push(ev && ev.data);
      });
      conn.transport.bind('closed', (ev) => {
        rec.closes.push({ code: ev && ev.code, reason: ev && ev.reason });
      });
    }
  });

  /** A one-line summary of the client's history, for timeout messages. */
  client.describe = () => JSON.stringify({
    state: client.connection.state,
    states: rec.states,
    errors: rec.errors.map((e) => ({ type: e.type, code: errorCode(e), data: e.data || (e.error && e.error.data) })),
    closes: rec.closes,
    messages: rec.messages.slice(-20),
  });

  /** Pusher error codes seen by this client (pusher:error and close codes). */
  client.errorCodes = () => rec.errors.map(errorCode).filter((c) => c !== undefined && c !== null);

  if (t) {
    t.after(() => {
      client.disconnect();
      // When the server closes a connection with a "refused" code
      // (4000-4099), pusher-js calls close() on the already closed
      // WebSocket, and its WebSocket library then arms a 30 s close timer
      // that nothing clears. Let it not keep the test process alive.
      for (const socket of sockets) {
        const timer = socket && socket._closeTimer;
        if (timer && typeof timer.unref === 'function') {
          timer.unref();
        }
      }
    });
  }
  return client;
}

/** Waits until the client is connected and returns its socket id. */
async function connected(client, timeout = WAIT_MS) {
  await waitFor(() => client.connection.state === 'connected', 'state connected', {
    timeout,
    detail: client.describe,
  });
  return client.connection.socket_id;
}

/**
 * Records every event emitted on a pusher-js channel (or user facade) into
 * an array of {event, data, metadata}; events bound later with bind() also
 * see metadata, bind_global does not, so named events can be listed.
 */
function record(dispatcher, names = []) {
  const got = [];
  dispatcher.bind_global((event, data) => {
    if (!names.includes(event)) {
      got.push({ event, data });
    }
  });
  for (const name of names) {
    dispatcher.bind(name, (data, metadata) => {
      got.push({ event: name, data, metadata });
    });
  }
  return got;
}

/**
 * Subscribes client to name, waits for pusher:subscription_succeeded and
 * returns the channel with channel.events recording everything it emits
 * (names listed in opts.withMetadata are recorded with their metadata).
 */
async function subscribe(client, name, { withMetadata = [], timeout = WAIT_MS } = {}) {
  const channel = client.subscribe(name);
  channel.events = channel.events || record(channel, withMetadata);
  await waitFor(() => channel.subscribed || channel.events.find((e) => e.event === 'pusher:subscription_error'),
    `subscription to ${name}`, { timeout, detail: client.describe });
  const failed = channel.events.find((e) => e.event === 'pusher:subscription_error');
  if (!channel.subscribed && failed) {
    throw new Error(`subscription to ${name} failed: ${JSON.stringify(failed.data)}`);
  }
  return channel;
}

/** Returns the events named name in a recorded list. */
function named(events, name) {
  return events.filter((e) => e.event === name);
}

/** Waits for the first recorded event named name matching pred and returns it. */
function waitEvent(events, name, what, { pred = () => true, timeout = WAIT_MS, detail } = {}) {
  return waitFor(() => events.find((e) => e.event === name && pred(e)), what || name, { timeout, detail });
}

/** Parses an SDK response body as JSON. */
async function json(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`response is not JSON: ${text.slice(0, 200)}`);
  }
}

/**
 * Runs fn, which must return a promise that rejects with the SDK's
 * RequestError, and returns that error ({status, body}).
 */
async function requestError(fn) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    if (err && err.name === 'PusherRequestError') {
      return err;
    }
    throw err;
  }
  const body = res && typeof res.text === 'function' ? await res.text() : '';
  throw new Error(`request succeeded with status ${res && res.status} (body ${body.slice(0, 200)}), expected an error status`);
}

module.exports = {
  WAIT_MS,
  connected,
  errorCode,
  json,
  named,
  newClient,
  quiet,
  record,
  requestError,
  sdk,
  subscribe,
  uid,
  waitEvent,
  waitFor,
};
