import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventToJson } from '../../src/events/json.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { event } from '../feed/helpers.ts';
import { killOnExit, startSensor } from '../helpers/cli.ts';
import { usePostgres } from '../helpers/services.ts';
import { ScriptedClient, sleep } from '../helpers/telnet-client.ts';
import { fixture } from './feed-fixture.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BIN = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));

/** GETs `url` until `ok` accepts the response (the first build may still be running). */
async function poll(url: string, ok: (res: Response, body: string) => boolean, timeoutMs = 90_000): Promise<{ res: Response; body: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    if (ok(res, body)) return { res, body };
    if (Date.now() > deadline) throw new Error(`${url}: gave up waiting; last answer ${res.status}: ${body.slice(0, 500)}`);
    await sleep(250);
  }
}

/** Starts `telnetlogin serve` with `args`; resolves with its base URL once it listens. */
async function startServe(t: TestContext, args: string[]): Promise<{ child: ChildProcess; base: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TELNETLOGIN_')));
  const child = spawn(BIN, ['serve', ...args, '--http-listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const deadline = Date.now() + 60_000;
  while (!/^http: +http:\/\/\S+\/telnetlogin\.txt/m.test(stdout) && Date.now() < deadline) await sleep(100);
  return { child, base: /^http: +(http:\/\/\S+)\/telnetlogin\.txt/m.exec(stdout)![1]! };
}

test('serve: the feed of a store over HTTP, conditional GET, metrics, and the publish directory', async (t) => {
  const { dir, data, asdb } = await fixture(t, Date.now());
  const publish = join(dir, 'public');
  const { child, base } = await startServe(t, [...data, ...asdb, '--publish-dir', publish]);

  const { res, body } = await poll(`${base}/telnetlogin.txt`, (r) => r.status === 200);
  const listed = body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('  |  ')[2]!.trim());
  // (198.51.100.7 was exactly 7 days old when stored: older by the time serve builds.)
  assert.deepEqual(listed, ['192.0.2.1', '2001:db8::99']);
  const etag = res.headers.get('etag')!;
  const again = await fetch(`${base}/telnetlogin.txt`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  const json = (await (await fetch(`${base}/telnetlogin.json`)).json()) as { entries: unknown[] };
  assert.equal(json.entries.length, 2);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^telnetlogin_feed_addresses 2$/m);
  assert.equal(readFileSync(join(publish, 'telnetlogin.txt'), 'utf8'), body);
  assert.ok(existsSync(join(publish, 'telnetlogin.json.gz')));

  child.kill('SIGTERM');
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
});

test('serve --db postgres://: feed, dashboard statistics and sensor heartbeats, as the collector wrote them', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const now = Date.now();
  const { asdb } = await fixture(t, now);
  const store = await openPostgresStore(url);
  await store.ingest({
    events: [event('192.0.2.1', now - 2 * HOUR), event('2001:db8::99', now - HOUR), event('192.0.2.1', now - HOUR)].map((e) => eventToJson({ ...e, dst_ip: '192.0.2.250' })),
    heartbeats: [{ sensor: 'remote-1', time: now - 3000, addresses: ['192.0.2.250'], version: '0.1.0', counters: { open: 3, accepted: 40, shed: 0, outboxDepth: 12 } }],
  });
  await store.close();
  const { child, base } = await startServe(t, ['--db', url, ...asdb]);
  const { body } = await poll(`${base}/telnetlogin.txt`, (r) => r.status === 200);
  assert.deepEqual(body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('  |  ')[2]!.trim()), ['192.0.2.1', '2001:db8::99']);
  const stats = (await (await fetch(`${base}/api/v1/stats?from=${now - DAY}&to=${now}`)).json()) as { totals: unknown };
  assert.deepEqual(stats.totals, { events: 3, addresses: 2 });
  const address = (await (await fetch(`${base}/api/v1/address/192.0.2.1`)).json()) as { attempts: number; origin: { asn: number } };
  assert.deepEqual([address.attempts, address.origin.asn], [2, 64500]);
  const sensors = (await (await fetch(`${base}/api/v1/sensors`)).json()) as { sensors: Array<{ sensor: string; heartbeat: { outboxDepth: number } | null }> };
  assert.deepEqual(sensors.sensors.map((s) => [s.sensor, s.heartbeat?.outboxDepth ?? null]), [['test-sensor', null], ['remote-1', 12]]);
  child.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0);
});

test("run: logins become feed entries, but never from the sensor's own address", async (t) => {
  const sensor = await startSensor({ config: { feed: { rebuildEvery: '1s' } } });
  t.after(() => sensor.dispose());
  for (const localAddress of ['127.0.0.2', '127.0.0.1']) {
    const client = await ScriptedClient.connect({ port: sensor.port, host: '127.0.0.1', localAddress });
    await client.expect('login: ');
    await client.send('root\r\n');
    await client.expect('Password: ');
    await client.send('xc3511\r\n');
    await client.expect('Login incorrect');
    client.socket.destroy();
  }
  const { body } = await poll(`${sensor.httpUrl}/telnetlogin.csv`, (r, b) => r.status === 200 && b.includes('127.0.0.2'));
  const rows = body.trim().split('\r\n').slice(1).map((l) => l.split(','));
  assert.deepEqual(rows.map((r) => [r[2], r[6], r[7]]), [['127.0.0.2', '1', '1']]);
});
