import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSince } from '../../src/cli/events.ts';
import { credentialBytes, type LoginEventJson } from '../../src/events/json.ts';
import { UsageError } from '../../src/errors.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { hostileEvents, makeEvent, tempDir } from '../store/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `telnetlogin events ARGS`; `firstLineOnly` closes our end of stdout after one line, like `| head -1`. */
function events(args: string[], { firstLineOnly = false } = {}): Promise<Result> {
  const child = spawn(BIN, ['events', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TELNETLOGIN_DATA_DIR: '', TELNETLOGIN_CONFIG: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (firstLineOnly && stdout.includes('\n')) child.stdout.destroy();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

const parse = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LoginEventJson);

test('prints every stored event as one NDJSON line; hostile credentials survive byte for byte', async (t) => {
  const dataDir = tempDir(t);
  const stored = hostileEvents();
  const store = openSqliteStore({ dataDir });
  await Promise.all(stored.map((e) => store.record(e)));
  await store.close();

  const { code, stdout, stderr } = await events(['--data-dir', dataDir]);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
  const lines = stdout.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, stored.length);
  // Nothing a terminal would act on: no raw control, C1, separator or bidi characters.
  assert.doesNotMatch(stdout.replaceAll('\n', ''), /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);

  const printed = parse(stdout);
  for (const [i, e] of stored.entries()) {
    const p = printed[i]!;
    assert.equal(p.id, e.id);
    assert.equal(p.time, new Date(e.time).toISOString());
    assert.deepEqual(credentialBytes(p.username, p.username_b64), Buffer.from(e.username), `username of event ${i}`);
    assert.deepEqual(credentialBytes(p.password, p.password_b64), Buffer.from(e.password), `password of event ${i}`);
    assert.deepEqual(p.client, e.client);
  }
});

test('--since (ISO 8601 or a duration) and --limit select events', async (t) => {
  const dataDir = tempDir(t);
  const now = Date.now();
  const stored = [30, 20, 10, 1].map((daysAgo) => makeEvent({ time: now - daysAgo * 86_400_000 }));
  const store = openSqliteStore({ dataDir });
  await Promise.all(stored.map((e) => store.record(e)));
  await store.close();
  const ids = async (...args: string[]) => {
    const { code, stdout, stderr } = await events(['--data-dir', dataDir, ...args]);
    assert.equal(code, 0, stderr);
    return parse(stdout).map((e) => e.id);
  };
  const all = stored.map((e) => e.id);
  const [recent, fromIso, limited] = await Promise.all([
    ids('--since', '15d'),
    ids('--since', new Date(stored[1]!.time).toISOString()),
    ids('--since', '25d', '--limit', '1'),
  ]);
  assert.deepEqual(recent, all.slice(2));
  assert.deepEqual(fromIso, all.slice(1));
  assert.deepEqual(limited, all.slice(1, 2));
});

test('works while a writer has the store open and is recording', async (t) => {
  const dataDir = tempDir(t);
  const store = openSqliteStore({ dataDir });
  t.after(() => store.close());
  await Promise.all(Array.from({ length: 50 }, () => store.record(makeEvent())));
  let writing = true;
  const writer = (async () => {
    while (writing) await Promise.all(Array.from({ length: 10 }, () => store.record(makeEvent())));
  })();
  const { code, stdout, stderr } = await events(['--data-dir', dataDir]);
  writing = false;
  await writer;
  assert.equal(code, 0, stderr);
  assert.ok(parse(stdout).length >= 50);
});

test('a reader that goes away (| head) ends the output quietly', async (t) => {
  const dataDir = tempDir(t);
  const store = openSqliteStore({ dataDir });
  // About 2 MB of NDJSON: far more than a pipe holds.
  await Promise.all(Array.from({ length: 5000 }, () => store.record(makeEvent())));
  await store.close();
  const { code, stderr } = await events(['--data-dir', dataDir], { firstLineOnly: true });
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('usage errors exit with status 2 and say what is wrong', async (t) => {
  const dir = tempDir(t);
  const [missing, badSince, badLimit] = await Promise.all([
    events(['--data-dir', join(dir, 'nope')]),
    events(['--data-dir', dir, '--since', 'yesterday']),
    events(['--data-dir', dir, '--limit', '-1']),
  ]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--data-dir .*nope: .*nope\/telnetlogin.sqlite does not exist \("telnetlogin run" creates the store\)/);
  assert.equal(badSince.code, 2);
  assert.match(badSince.stderr, /--since: "yesterday" is neither/);
  assert.equal(badLimit.code, 2);
  assert.match(badLimit.stderr, /--limit: "-1" is not a whole number/);
});

test('parseSince: ISO 8601 (UTC unless an offset is given) and durations', () => {
  const now = Date.UTC(2026, 11, 4, 12);
  assert.equal(parseSince('2026-12-04T19:22:44.123Z', now), Date.UTC(2026, 11, 4, 19, 22, 44, 123));
  assert.equal(parseSince('2026-12-04T19:22:44', now), Date.UTC(2026, 11, 4, 19, 22, 44));
  assert.equal(parseSince('2026-12-04 19:22', now), Date.UTC(2026, 11, 4, 19, 22));
  assert.equal(parseSince('2026-12-04T19:22:44+01:00', now), Date.UTC(2026, 11, 4, 18, 22, 44));
  assert.equal(parseSince('2026-12-04', now), Date.UTC(2026, 11, 4));
  assert.equal(parseSince('90s', now), now - 90_000);
  assert.equal(parseSince('1h', now), now - 3_600_000);
  assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
  assert.equal(parseSince('1d12h', now), now - 36 * 3_600_000);
  assert.equal(parseSince('250ms', now), now - 250);
  for (const bad of ['', 'yesterday', '1x', '-1h', 'h', '2026-02-30', '2026-13-01', '2026-12-04T25:00', '1700000000']) {
    assert.throws(() => parseSince(bad, now), UsageError, bad);
  }
});
