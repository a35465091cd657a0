'use strict';

// `npm test`: builds the server once (unless SOCKUDO_E2E_SERVER_BIN names a
// binary), then runs every test file under test/ one at a time with the
// node:test runner, which prints its summary. Extra arguments are passed to
// `node --test` (for example --test-name-pattern=presence).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { buildServer } = require('./helpers/server');

let tmp;
if (!process.env.SOCKUDO_E2E_SERVER_BIN) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-e2e-bin-'));
  const started = Date.now();
  process.stdout.write('building ./cmd/sockudo ... ');
  try {
    process.env.SOCKUDO_E2E_SERVER_BIN = buildServer(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    console.error(`\ngo build ./cmd/sockudo failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const testDir = path.join(__dirname, 'test');
const files = fs.readdirSync(testDir)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => path.join('test', f));

const res = spawnSync(process.execPath, [
  '--test',
  '--test-concurrency=1',
  '--test-timeout=60000',
  ...process.argv.slice(2),
  ...files,
], { cwd: __dirname, stdio: 'inherit', env: process.env });

if (tmp) {
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (res.error) {
  console.error(res.error);
  process.exit(1);
}
process.exit(res.status === null ? 1 : res.status);
