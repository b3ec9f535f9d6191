import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDuration } from '../../src/cli/collector.ts';
import { loadConfig } from '../../src/cli/config.ts';
import { natsSettings, publicAddresses } from '../../src/cli/sensor.ts';
import { UsageError } from '../../src/errors.ts';
import { connectionOptions } from '../../src/transport/nats.ts';
import { tempDir } from '../store/fixtures.ts';
import { startCli } from './harness.ts';

async function exitOf(t: Parameters<typeof startCli>[0], args: string[]) {
  const proc = startCli(t, args);
  const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
  return { code, output: proc.output() };
}

test('collector and sensor: bad flags are usage errors (exit 2) that name the flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['collector'], /--db: the collector needs a PostgreSQL URL/],
    [['collector', '--db', 'sqlite:x.sqlite'], /--db: the collector writes to PostgreSQL/],
    [['collector', '--db', 'postgres://h/db', '--retention', 'forever'], /--retention: "forever" is not a duration/],
    [['collector', '--db', 'postgres://h/db', '--batch', '0'], /--batch/],
    [['sensor', '--nats-user', 'u'], /--nats-user and --nats-pass go together/],
    [['sensor', '--nats', 'http://x'], /--nats: "http:\/\/x" is not a NATS URL/],
    [['sensor', '--outbox-max-events', 'lots'], /--outbox-max-events/],
  ];
  for (const [args, message] of cases) {
    const { code, output } = await exitOf(t, args);
    assert.equal(code, 2, `${args.join(' ')}: ${output}`);
    assert.match(output, message);
  }
});

test('NATS settings: flags over TELNETLOGIN_* variables; one credential method at a time; files must be readable', () => {
  const env = { TELNETLOGIN_NATS_URL: 'nats://a:1,nats://b:2', TELNETLOGIN_NATS_TOKEN: 'secret' };
  const s = natsSettings({}, 'x', '_INBOX_s1', env);
  assert.deepEqual(s.servers, ['nats://a:1', 'nats://b:2']);
  assert.equal(s.token, 'secret');
  assert.equal(connectionOptions(s).inboxPrefix, '_INBOX_s1');
  assert.deepEqual(natsSettings({ nats: 'nats://c:3' }, 'x', undefined, env).servers, ['nats://c:3']);
  assert.throws(() => connectionOptions(natsSettings({ natsUser: 'u', natsPass: 'p' }, 'x', undefined, env)), /one of/);
  assert.throws(() => connectionOptions(natsSettings({ natsNkeySeed: '/nonexistent/seed' }, 'x', undefined, {})), UsageError);
  assert.throws(() => connectionOptions(natsSettings({ natsTlsCert: 'c.pem' }, 'x', undefined, {})), /go together/);
  const tls = connectionOptions(natsSettings({ natsTlsCa: 'ca.pem' }, 'x', undefined, {}));
  assert.deepEqual(tls.tls, { caFile: 'ca.pem', certFile: undefined, keyFile: undefined });
});

test('NATS settings from the config file ("nats"), below flags and variables; a bad key is named', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ nats: { url: ['nats://f:1', 'nats://g:2'], user: 'sensor-1', pass: 'from-file', tlsCa: '/etc/ca.pem' } }));
  const { nats } = loadConfig({ config: file }, {});
  const s = natsSettings({}, 'x', undefined, {}, nats);
  assert.deepEqual([s.servers, s.user, s.pass, s.tlsCa], [['nats://f:1', 'nats://g:2'], 'sensor-1', 'from-file', '/etc/ca.pem']);
  const over = natsSettings({ natsUser: 'flag-user' }, 'x', undefined, { TELNETLOGIN_NATS_PASS: 'from-env', TELNETLOGIN_NATS_URL: 'nats://e:3' }, nats);
  assert.deepEqual([over.servers, over.user, over.pass], [['nats://e:3'], 'flag-user', 'from-env']);
  writeFileSync(file, JSON.stringify({ nats: { password: 'x' } }));
  assert.throws(() => loadConfig({ config: file }, {}), /nats: Unrecognized key: "password"/);
});

test('heartbeat addresses: configured ones, else the listen addresses (a wildcard: the interfaces)', () => {
  assert.deepEqual(publicAddresses(['192.0.2.1'], [{ host: '127.0.0.1', port: 23 }]), ['192.0.2.1']);
  assert.deepEqual(publicAddresses([], [{ host: '127.0.0.1', port: 23 }, { host: '::1', port: 23 }]), ['127.0.0.1', '::1']);
  assert.ok(!publicAddresses([], [{ host: '::', port: 23 }]).includes('::'));
});

test('durations', () => {
  assert.equal(parseDuration('90s', 'x'), 90_000);
  assert.equal(parseDuration('1d12h', 'x'), 129_600_000);
  assert.throws(() => parseDuration('7', 'x'), UsageError);
});
