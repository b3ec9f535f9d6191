import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseDelay } from '../../src/cli/config.ts';
import { UsageError } from '../../src/errors.ts';

function withFile(content: string, fn: (file: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'tl-config-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, content);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults: dual-stack [::]:2323, HTTP on 127.0.0.1:8080, ./data, the BusyBox persona', () => {
  const c = loadConfig({}, {});
  assert.deepEqual(c.telnetListen, [{ host: '::', port: 2323 }]);
  assert.deepEqual(c.httpListen, { host: '127.0.0.1', port: 8080 });
  assert.equal(c.dataDir, './data');
  assert.equal(c.persona.hostname, '(none)');
  assert.deepEqual(c.persona.failureDelayMs, [2500, 3500]);
});

test('flags override the environment, which overrides the file', () => {
  withFile(JSON.stringify({ dataDir: '/from/file', httpListen: '127.0.0.1:1', persona: { hostname: 'cam' } }), (file) => {
    const env = { TELNETLOGIN_DATA_DIR: '/from/env', TELNETLOGIN_TELNET_LISTEN: '127.0.0.1:23,[::1]:23' };
    const c = loadConfig({ config: file, dataDir: '/from/flag', failureDelay: '0' }, env);
    assert.equal(c.dataDir, '/from/flag');
    assert.deepEqual(c.telnetListen, [{ host: '127.0.0.1', port: 23 }, { host: '::1', port: 23 }]);
    assert.deepEqual(c.httpListen, { host: '127.0.0.1', port: 1 });
    assert.equal(c.persona.hostname, 'cam');
    assert.deepEqual(c.persona.failureDelayMs, [0, 0]);
  });
});

test('errors name the key and the problem', () => {
  const fails = (config: object, pattern: RegExp) =>
    withFile(JSON.stringify(config), (file) =>
      assert.throws(() => loadConfig({ config: file }, {}), (err: Error) => err instanceof UsageError && pattern.test(err.message)),
    );
  fails({ persona: { maxAttempts: 0 } }, /persona\.maxAttempts: .*>=1/i);
  fails({ persona: { failureText: 'Access denied #' } }, /persona\.failureText: .*successful login/);
  fails({ persona: { options: ['DO NOTHING'] } }, /persona\.options\.0: expected "WILL\|WONT\|DO\|DONT/);
  fails({ telnetListen: ['nonsense'] }, /telnetListen\.0: .*HOST:PORT/);
  fails({ limits: { maxLine: -1 } }, /limits\.maxLine/);
  fails({ colour: 'blue' }, /colour/);
  withFile('{ not json', (file) => assert.throws(() => loadConfig({ config: file }, {}), /not valid JSON/));
  assert.throws(() => loadConfig({ config: '/nonexistent/x.json' }, {}), /cannot read/);
  assert.throws(() => loadConfig({ failureDelay: '5-1' }, {}), /--failure-delay: "5-1"/);
});

test('parseDelay takes MS or MIN-MAX', () => {
  assert.deepEqual(parseDelay('0', 'x'), [0, 0]);
  assert.deepEqual(parseDelay('2000-4000', 'x'), [2000, 4000]);
  assert.throws(() => parseDelay('fast', 'x'), UsageError);
});
