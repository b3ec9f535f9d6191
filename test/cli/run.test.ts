import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSensor } from '../helpers/cli.ts';
import { lineClient } from '../helpers/client-models.ts';
import { telnetlogin } from '../helpers/run-cli.ts';

const bytes = (s: string) => Buffer.from(s);

async function originOf(httpUrl: string, ip: string): Promise<number | undefined> {
  const res = await fetch(`${httpUrl}/api/v1/address/${ip}`);
  const body = (await res.json()) as { origin?: { asn: number } | null };
  return body.origin?.asn;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('run reloads its --asdb table on SIGHUP and when the file is replaced, without stopping', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-asdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const table = join(dir, 'table.dat');
  writeFileSync(table, '127.0.0.0/8\t64500\n');
  const sensor = await startSensor({ args: ['--asdb', table] });
  t.after(() => sensor.dispose());
  await lineClient({ port: sensor.port, host: '127.0.0.1' }, [[bytes('root'), bytes('vizxv')]]);
  assert.equal(await until(() => originOf(sensor.httpUrl, '127.0.0.1'), (asn) => asn === 64500), 64500);

  writeFileSync(table, '127.0.0.0/8\t64501\n');
  sensor.child.kill('SIGHUP');
  assert.equal(await until(() => originOf(sensor.httpUrl, '127.0.0.1'), (asn) => asn === 64501), 64501);

  // A broken table is refused: the one in use stays, and the log says why.
  writeFileSync(table, '127.0.0.0/8 broken\n');
  sensor.child.kill('SIGHUP');
  await until(async () => sensor.stderr(), (log) => /reload failed, keeping the table in use/.test(log));
  assert.equal(await originOf(sensor.httpUrl, '127.0.0.1'), 64501);

  // An atomic replacement (write, then rename) is picked up by the file watcher.
  writeFileSync(`${table}.new`, '127.0.0.0/8\t64502\n');
  renameSync(`${table}.new`, table);
  assert.equal(await until(() => originOf(sensor.httpUrl, '127.0.0.1'), (asn) => asn === 64502), 64502);
  assert.ok(sensor.alive());
  assert.equal(await sensor.stop('SIGTERM'), 0);
});

test("run: a login is on the dashboard's API at once (the newcomer's first minute)", async (t) => {
  const sensor = await startSensor();
  t.after(() => sensor.dispose());
  await lineClient({ port: sensor.port, host: '127.0.0.1' }, [[bytes('root'), bytes('xc3511')]]);
  const started = Date.now();
  const get = async (path: string) => (await fetch(`${sensor.httpUrl}${path}`)).json();
  const stats = (await get('/api/v1/stats')) as { series: Array<{ attempts: number; new: number }>; totals: { events: number } };
  assert.deepEqual([stats.totals.events, stats.series.at(-1)?.attempts, stats.series.at(-1)?.new], [1, 1, 1]);
  const users = (await get('/api/v1/top/usernames')) as { items: Array<{ value: string; count: number }> };
  assert.deepEqual(users.items, [{ value: 'root', count: 1 }]);
  const sensors = (await get('/api/v1/sensors')) as { sensors: Array<{ attempts: number; heartbeat: { at: number; open: number } | null }> };
  assert.equal(sensors.sensors[0]?.attempts, 1);
  assert.ok(sensors.sensors[0]?.heartbeat && sensors.sensors[0].heartbeat.at >= started, 'the sensor of this process is alive now');
});

test('run and serve stop (exit 1, naming the file) when the route origin data cannot be loaded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-asdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'missing.dat');
  for (const args of [
    ['run', '--data-dir', join(dir, 'data'), '--telnet-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--asdb', missing],
    ['serve', '--data-dir', join(dir, 'data'), '--http-listen', '127.0.0.1:0', '--asdb', missing],
  ]) {
    const r = await telnetlogin(args);
    assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`telnetlogin: ${missing.replaceAll('/', '\\/')}: cannot read`));
  }
});
