'use strict';

// Apps of config.json and SOCKUDO_DEFAULT_APP_* (which, as in Sockudo,
// replaces the inline apps) are registered into a database app manager at
// start (issue 13), but only where the id is free: a second start with
// another secret leaves the stored row alone. Runs against the real PostgreSQL and MariaDB of CI.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');

const { startServer } = require('../helpers/server');
const { connected, newClient, sdk, uid } = require('../helpers/clients');

/** The database settings of a DSN, as the server's variables, or null. */
function databaseEnv(driver) {
  const name = driver === 'postgres' ? 'SOCKUDO_TEST_POSTGRES_DSN' : 'SOCKUDO_TEST_MYSQL_DSN';
  const dsn = process.env[name];
  if (!dsn) {
    return { missing: name };
  }
  // postgres://user[:pass]@host:port/db?... or user[:pass]@tcp(host:port)/db?...
  const m = driver === 'postgres'
    ? dsn.match(/^postgres(?:ql)?:\/\/([^:@]+)(?::([^@]*))?@([^:/]+):(\d+)\/([^?]+)/)
    : dsn.match(/^([^:@]+)(?::([^@]*))?@tcp\(([^:)]+):(\d+)\)\/([^?]+)/);
  assert.ok(m, `${name} has an unexpected shape: ${dsn}`);
  const p = driver === 'postgres' ? 'DATABASE_POSTGRES' : 'DATABASE_MYSQL';
  return {
    env: {
      APP_MANAGER_DRIVER: driver === 'postgres' ? 'postgres' : 'mysql',
      [`${p}_USERNAME`]: m[1],
      [`${p}_PASSWORD`]: m[2] || '',
      [`${p}_HOST`]: m[3],
      [`${p}_PORT`]: m[4],
      [`${p}_DATABASE`]: m[5],
      [`${p}_TABLE_NAME`]: `e2e_seed_${uid().replace(/[^a-z0-9]/gi, '')}`.toLowerCase(),
    },
  };
}

/** Skips (or, when services are required, fails) without the database. */
function skipWithout(t, db) {
  if (!db.missing) {
    return false;
  }
  assert.notEqual(process.env.SOCKUDO_TEST_REQUIRE_SERVICES, '1',
    `${db.missing} is not set but SOCKUDO_TEST_REQUIRE_SERVICES=1`);
  t.skip(`${db.missing} is not set`);
  return true;
}

for (const driver of ['postgres', 'mysql']) {
  describe(`seeding apps into ${driver}`, () => {
    const servers = [];
    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
    });

    /** Starts a server on the test's table with the given env and inline apps. */
    const start = async (db, env, apps) => {
      const server = await startServer({
        env: { ...db.env, ...env },
        config: apps && { app_manager: { driver: db.env.APP_MANAGER_DRIVER, array: { apps } } },
      });
      servers.push(server);
      return server;
    };
    const stop = async (server) => {
      servers.splice(servers.indexOf(server), 1);
      await server.stop();
    };
    /** The status of a signed publish, or of its error. */
    const publish = (server, app) => sdk(server, app).trigger(`seeded-${uid()}`, 'e', {})
      .then((r) => r.status, (e) => e.status);

    test('config.json apps are written at start and never overwritten', async (t) => {
      const db = databaseEnv(driver);
      if (skipWithout(t, db)) return;
      const app = { id: `inline-${uid()}`, key: `inline-key-${uid()}`, secret: 'first-secret' };
      const first = await start(db, {}, [{ ...app, enabled: true }]);
      assert.match(first.logs(), /apps seeded" source=config created=1 existing=0/);
      await connected(newClient(t, first, { app }));
      assert.equal(await publish(first, app), 200);
      await stop(first);

      // A second start with another secret finds the row and keeps it.
      const second = await start(db, {}, [{ ...app, secret: 'second-secret', enabled: true }]);
      assert.match(second.logs(), /apps seeded" source=config created=0 existing=1/);
      assert.equal(await publish(second, app), 200, 'the stored secret signs');
      assert.equal(await publish(second, { ...app, secret: 'second-secret' }), 401, 'the stored row was overwritten');
    });

    test('SOCKUDO_DEFAULT_APP_* is written at start', async (t) => {
      const db = databaseEnv(driver);
      if (skipWithout(t, db)) return;
      const app = { id: `env-${uid()}`, key: `env-key-${uid()}`, secret: 'env-secret' };
      const server = await start(db, {
        SOCKUDO_DEFAULT_APP_ID: app.id,
        SOCKUDO_DEFAULT_APP_KEY: app.key,
        SOCKUDO_DEFAULT_APP_SECRET: app.secret,
        SOCKUDO_DEFAULT_APP_ENABLED: 'true',
      });
      assert.match(server.logs(), /apps seeded" source=env created=1/);
      await connected(newClient(t, server, { app }));
      assert.equal(await publish(server, app), 200);
    });
  });
}
