'use strict';

// A webhook receiver for the end-to-end tests: an HTTP server on
// 127.0.0.1 that checks every delivery with the pusher (Node SDK) webhook
// validator, answers with a status the test chooses, and records what it
// got.

const http = require('node:http');
const PusherSDK = require('pusher');

const { DEFAULT_APP } = require('./server');

/**
 * Receives webhooks for one app. Every request is recorded in requests as
 * {path, at, answeredAt, status, headers, body, events}; anything that the
 * pusher SDK's validator rejects (method, Content-Type that is not exactly
 * application/json, key, signature, body) is listed in problems.
 *
 * respond(req) decides each answer: a status, or {status, headers}. It can
 * be replaced at any time (receiver.respond = () => 200).
 */
class WebhookReceiver {
  constructor({ app = DEFAULT_APP, respond = () => 200 } = {}) {
    this.app = app;
    this.respond = respond;
    this.signer = new PusherSDK({ appId: app.id, key: app.key, secret: app.secret });
    this.requests = [];
    this.problems = [];
    this.inFlight = 0;
    this.port = 0;
    this.server = null;
  }

  /** Listens on 127.0.0.1:port (a free port when port is 0). */
  listen(port = this.port) {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.port = server.address().port;
        resolve(this);
      });
    });
  }

  /**
   * Stops listening and drops open connections, so that deliveries are
   * refused until listen() is called again (on the same port).
   */
  close() {
    const { server } = this;
    this.server = null;
    if (!server) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The URL of path on this receiver. */
  url(path = '/webhooks') {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  handle(req, res) {
    this.inFlight++;
    let rec = null;
    res.on('close', () => {
      if (rec) {
        rec.answeredAt = Date.now();
      }
      this.inFlight--;
    });
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      rec = {
        path: req.url,
        at: Date.now(),
        answeredAt: 0,
        status: 0,
        headers: req.headers,
        body: rawBody,
        events: [],
      };
      this.requests.push(rec);
      const problem = this.validate(req, rawBody, rec);
      if (problem) {
        this.problems.push(`${req.method} ${req.url}: ${problem} (headers ${JSON.stringify(req.headers)}, body ${rawBody.slice(0, 300)})`);
      }
      let answer;
      try {
        answer = this.respond(req);
      } catch (err) {
        this.problems.push(`respond threw: ${err.message}`);
        answer = 500;
      }
      const { status, headers = {} } = typeof answer === 'number' ? { status: answer } : answer;
      rec.status = status;
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
      res.end(status >= 200 && status < 300 ? 'ok' : 'no');
    });
  }

  /** Checks one delivery; returns a description of what is wrong, or ''. */
  validate(req, rawBody, rec) {
    if (req.method !== 'POST') {
      return `method ${req.method}, want POST`;
    }
    if (req.headers['content-type'] !== 'application/json') {
      return `Content-Type ${JSON.stringify(req.headers['content-type'])}, want exactly application/json`;
    }
    const hook = this.signer.webhook({ headers: req.headers, rawBody });
    if (!hook.isValid()) {
      return 'the pusher SDK says the webhook is not valid (key or signature)';
    }
    let events;
    let time;
    try {
      events = hook.getEvents();
      time = hook.getTime();
    } catch (err) {
      return `the pusher SDK cannot read the webhook: ${err.message}`;
    }
    if (!Array.isArray(events) || events.length === 0) {
      return 'events is not a non-empty array';
    }
    if (Number.isNaN(time.getTime()) || Math.abs(time.getTime() - Date.now()) > 10 * 60 * 1000) {
      return `time_ms ${JSON.stringify(hook.getData().time_ms)} is not a current time`;
    }
    for (const e of events) {
      if (!e || typeof e.name !== 'string' || typeof e.channel !== 'string') {
        return `event without a name or channel: ${JSON.stringify(e)}`;
      }
    }
    rec.events = events;
    return '';
  }

  /**
   * Returns every event received, each with the request's path, status
   * and arrival time: {name, channel, ..., path, status, at}. filter(rec)
   * selects requests.
   */
  events(filter = () => true) {
    const out = [];
    for (const r of this.requests) {
      if (!filter(r)) {
        continue;
      }
      for (const e of r.events) {
        out.push({ ...e, path: r.path, status: r.status, at: r.at });
      }
    }
    return out;
  }

  /** A short history of the receiver, for failure messages. */
  describe() {
    return JSON.stringify(this.requests.map((r) => ({
      path: r.path, status: r.status, at: r.at, events: r.events,
    })));
  }
}

/** Starts a receiver (see WebhookReceiver) on a free port. */
function startReceiver(opts) {
  return new WebhookReceiver(opts).listen(0);
}

module.exports = {
  WebhookReceiver,
  startReceiver,
};
