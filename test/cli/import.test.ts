import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import type { LoginEventJson } from '../../src/events/json.ts';
import { telnetlogin } from '../helpers/run-cli.ts';
import { tempDir } from '../store/fixtures.ts';

const COWRIE = fileURLToPath(new URL('../fixtures/cowrie.json', import.meta.url));

async function stored(dataDir: string): Promise<LoginEventJson[]> {
  const r = await telnetlogin(['events', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LoginEventJson);
}

test('a Cowrie JSON log: TELNET logins become events, with ports and destination from the session; importing again adds nothing', async (t) => {
  const dataDir = tempDir(t);
  const first = await telnetlogin(['import', '--format', 'cowrie', '--data-dir', dataDir, COWRIE]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /imported 5 login events from 1 file/);
  assert.match(first.stdout, /left out 1 logins of other protocols/);
  assert.match(first.stdout, /left out 1 logins of sessions whose protocol the log does not give/);
  const events = await stored(dataDir);
  assert.deepEqual(
    events.map((e) => [e.time, e.sensor, e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.attempt, e.username, e.password]),
    [
      ['2026-12-01T08:15:03.402Z', 'honeypot-ams-1', '203.0.113.45', 47316, '172.17.0.2', 2223, 1, 'root', 'xc3511'],
      ['2026-12-01T08:15:05.911Z', 'honeypot-ams-1', '203.0.113.45', 47316, '172.17.0.2', 2223, 2, 'root', 'vizxv'],
      ['2026-12-01T08:15:08.250Z', 'honeypot-ams-1', '203.0.113.45', 47316, '172.17.0.2', 2223, 3, 'admin', 'admin'],
      ['2026-12-02T23:59:59.999Z', 'honeypot-ams-1', '2001:db8:7:1::42', 51844, '2001:db8:ffff::2', 23, 1, 'support', 'support'],
      ['2026-12-03T00:00:02.417Z', 'honeypot-ams-1', '2001:db8:7:1::42', 51844, '2001:db8:ffff::2', 23, 2, 'root', '密码|=cmd'],
    ],
  );
  assert.equal(new Set(events.slice(0, 3).map((e) => e.session)).size, 1);
  for (const e of events) assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  // Again, and gzipped under another name: the same ids, nothing added.
  const gz = join(dataDir, 'cowrie.json.2026-12-01.gz');
  writeFileSync(gz, gzipSync(readFileSync(COWRIE)));
  assert.equal((await telnetlogin(['import', '--format', 'cowrie', '--data-dir', dataDir, COWRIE, gz])).code, 0);
  assert.deepEqual(await stored(dataDir), events);

  const any = await telnetlogin(['import', '--format', 'cowrie', '--cowrie-protocol', 'any', '--sensor-id', 'cowrie-1', '--data-dir', dataDir, COWRIE]);
  assert.equal(any.code, 0, any.stderr);
  const all = await stored(dataDir);
  assert.equal(all.length, 7); // the SSH login and the one without a connect event; the rest were stored already
  const rotated = all.find((e) => e.username === 'guest')!;
  assert.deepEqual([rotated.sensor, rotated.src_ip, rotated.dst_ip, rotated.src_port], ['cowrie-1', '192.0.2.77', '0.0.0.0', 0]);
});

test('NDJSON as `events` prints it round-trips; a malformed line stops the import, naming file and line, storing nothing', async (t) => {
  const source = tempDir(t);
  assert.equal((await telnetlogin(['import', '--format', 'cowrie', '--data-dir', source, COWRIE])).code, 0);
  const exported = await telnetlogin(['events', '--data-dir', source]);
  const ndjson = join(source, 'events.ndjson');
  writeFileSync(ndjson, exported.stdout);

  const target = tempDir(t);
  const ok = await telnetlogin(['import', '--data-dir', target, ndjson]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await telnetlogin(['events', '--data-dir', target])).stdout, exported.stdout);

  const broken = join(source, 'broken.ndjson');
  const lines = exported.stdout.split('\n');
  writeFileSync(broken, [lines[0], '{"id": "not an event"', lines[1]].join('\n'));
  const empty = tempDir(t);
  const bad = await telnetlogin(['import', '--data-dir', empty, broken]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`${broken.replace(/[.]/g, '\\.')}:2: not a LoginEvent: not JSON`));
  const none = await telnetlogin(['events', '--data-dir', empty]);
  assert.equal(none.code, 2, 'the store was never created');

  const cowrieBad = join(source, 'cowrie-bad.json');
  writeFileSync(cowrieBad, '{"eventid":"cowrie.login.failed","username":"root","password":"x","timestamp":"yesterday","src_ip":"192.0.2.1","session":"abc"}\n');
  const badTime = await telnetlogin(['import', '--format', 'cowrie', '--cowrie-protocol', 'any', '--data-dir', empty, cowrieBad]);
  assert.equal(badTime.code, 2);
  assert.match(badTime.stderr, /cowrie-bad\.json:1: timestamp "yesterday" is not an ISO 8601 time/);
});
