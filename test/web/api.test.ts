import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { FeedPublisher } from '../../src/feed/publisher.ts';
import { EMPTY_POLICY, parseMatch } from '../../src/feed/policy.ts';
import { migrate, migrations } from '../../src/store/sqlite-migrations.ts';
import { openSqliteStore, storeFile } from '../../src/store/sqlite.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/web/dashboard/routes.ts';
import { event } from '../feed/helpers.ts';
import { tempDir } from '../store/fixtures.ts';
import { asdb, HOSTILE, HOUR, seededStore, TOKEN, webApp } from './seed.ts';

const DAY = 24 * HOUR;

test('stats: attempts, distinct, new and returning addresses per hour and per day', async (t) => {
  const seeded = await seededStore(t, Date.parse('2026-12-04T12:40:00Z'));
  const app = webApp(seeded);
  t.after(() => app.close());
  const hourly = (await app.inject({ url: '/api/v1/stats' })).json();
  assert.equal(hourly.bucket, 'hour');
  const hour = Date.parse('2026-12-04T12:00:00Z');
  assert.deepEqual(hourly.series, [{ t: hour, attempts: 8, addresses: 3, new: 2 }]);
  assert.deepEqual(hourly.totals, { events: 9, addresses: 3 });
  const daily = (await app.inject({ url: `/api/v1/stats?from=${seeded.now - 7 * DAY}&bucket=day` })).json();
  assert.deepEqual(
    daily.series.map((p: { attempts: number; addresses: number; new: number }) => [p.attempts, p.addresses, p.new]),
    [[1, 1, 1], [8, 3, 2]],
  );
  assert.equal((await app.inject({ url: '/api/v1/stats?bucket=minute' })).statusCode, 400);
  assert.match((await app.inject({ url: '/api/v1/stats?from=yesterday' })).json().error, /^from: /);
});

test('top lists: user names, passwords, pairs (with _b64 for bytes that are not UTF-8), fingerprints and ASNs', async (t) => {
  const seeded = await seededStore(t);
  const app = webApp(seeded);
  t.after(() => app.close());
  const get = async (kind: string, q = '') => (await app.inject({ url: `/api/v1/top/${kind}?limit=3${q}` })).json();
  assert.deepEqual((await get('usernames')).items[0], { value: 'root', count: 5 });
  const passwords = (await app.inject({ url: '/api/v1/top/passwords?limit=10' })).json().items;
  assert.deepEqual(passwords.find((p: { value_b64?: string }) => p.value_b64), { value: '\ufffd\ufffd\u0000', value_b64: '//4A', count: 1 });
  const pairs = (await get('pairs')).items;
  assert.deepEqual(pairs[0], { username: 'root', password: 'xc3511', count: 3 });
  const all = (await app.inject({ url: '/api/v1/top/pairs?limit=100' })).json().items;
  assert.ok(all.some((p: { username: string; password: string }) => p.username === HOSTILE.script && p.password === HOSTILE.img));
  const prints = await get('fingerprints');
  assert.deepEqual(prints.ttypes.map((x: { value: string }) => x.value).sort(), [HOSTILE.ttype, 'xterm'].sort());
  assert.deepEqual(prints.options[0], { value: 'DO ECHO,WILL NAWS', count: 2 }); // connections (first attempts), not attempts
  const asns = (await get('asns', `&from=${seeded.now - 7 * DAY}`)).items;
  assert.deepEqual(asns[0], { asn: 64500, name: 'EXAMPLE-NET <b>bold</b>', addresses: 1, attempts: 6 });
  assert.equal(asns.length, 3);
  assert.equal((await app.inject({ url: '/api/v1/top/secrets' })).statusCode, 404);
});

test("address view: tags and exclusions as the last feed build's lists see them", async (t) => {
  const seeded = await seededStore(t);
  const feeds = new FeedPublisher({
    source: seeded.store,
    asdb: Promise.resolve({ current: asdb }),
    policy: async () => ({
      ...EMPTY_POLICY,
      exclude: [parseMatch('2001:db8::/32')],
      tags: [{ match: parseMatch('198.51.100.0/24'), label: 'research-scanner' }, { match: parseMatch(64501), label: 'surveyor' }],
    }),
    windowMs: 7 * DAY,
    rebuildEveryMs: 3_600_000,
  });
  const app = webApp(seeded, { feeds });
  t.after(() => app.close());
  const before = (await app.inject({ url: '/api/v1/address/198.51.100.7' })).json();
  assert.deepEqual([before.tags, before.withheld], [[], null], 'no build yet');
  await feeds.rebuild(seeded.now);
  const tagged = (await app.inject({ url: '/api/v1/address/198.51.100.7' })).json();
  assert.equal(tagged.origin.asn, 64501);
  assert.deepEqual([tagged.tags, tagged.withheld], [['research-scanner', 'surveyor'], null]);
  const excluded = (await app.inject({ url: '/api/v1/address/2001:db8::5' })).json();
  assert.deepEqual([excluded.tags, excluded.withheld], [[], 'excluded']);
  // The seeded events were sent to 192.0.2.1: an address of the sensor, which also logged in to itself.
  const own = (await app.inject({ url: '/api/v1/address/192.0.2.1' })).json();
  assert.deepEqual([own.tags, own.withheld], [[], 'own']);
});

test('address view: aggregates in public, credentials only with the token', async (t) => {
  const seeded = await seededStore(t);
  const app = webApp(seeded);
  t.after(() => app.close());
  const a = (await app.inject({ url: '/api/v1/address/192.0.2.1' })).json();
  assert.equal(a.attempts, 6);
  assert.equal(a.first, seeded.now - 2 * DAY);
  assert.deepEqual(a.sensors, ['test-sensor']);
  assert.equal(a.origin.asn, 64500);
  assert.equal(a.hours.length, 2);
  assert.equal((await app.inject({ url: '/api/v1/address/203.0.113.9' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/api/v1/address/not-an-ip' })).statusCode, 404);

  const url = '/api/v1/address/198.51.100.7/credentials';
  const refused = await app.inject({ url });
  assert.equal(refused.statusCode, 401);
  assert.equal(refused.headers['www-authenticate'], 'Bearer realm="telnetlogin"');
  assert.equal((await app.inject({ url, headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  const ok = await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json().credentials.map((c: { username: string }) => c.username).sort(), ['admin', HOSTILE.script].sort());
  const v6 = await app.inject({ url: '/api/v1/address/2001:0db8:0:0::5/credentials', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(v6.json().credentials[0].password_b64, '//4A');
});

test('raw events need the token; without a configured token they answer 403 saying how to set one', async (t) => {
  const seeded = await seededStore(t);
  const app = webApp(seeded);
  t.after(() => app.close());
  assert.equal((await app.inject({ url: '/api/v1/events' })).statusCode, 401);
  const ok = await app.inject({ url: `/api/v1/events?since=${seeded.now - HOUR}&limit=2`, headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().events.length, 2);
  assert.equal(ok.json().events[0].src_ip, '192.0.2.1');

  const open = webApp(seeded, { token: undefined });
  t.after(() => open.close());
  const forbidden = await open.inject({ url: '/api/v1/events', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(forbidden.statusCode, 403);
  assert.match(forbidden.json().error, /TELNETLOGIN_API_TOKEN/);
});

test('a store without rollups answers 501; sensors and feed answer without a publisher', async (t) => {
  const seeded = await seededStore(t);
  const app = webApp(seeded, { stats: null });
  t.after(() => app.close());
  assert.equal((await app.inject({ url: '/api/v1/stats' })).statusCode, 501);
  const withStats = webApp(seeded, {
    live: () => [{ sensor: 'test-sensor', open: 2, accepted: 9, shed: 1, outboxDepth: null }],
    // A remote sensor whose heartbeat the collector recorded, with no events yet.
    heartbeats: async () => [{ id: 'remote-1', version: '0.1.0', lastSeen: seeded.now - 5000, counters: { open: 1, accepted: 4, shed: 0, outboxDepth: 17, attempts: 0 } }],
  });
  t.after(() => withStats.close());
  const sensors = (await withStats.inject({ url: '/api/v1/sensors' })).json().sensors;
  assert.deepEqual(sensors[0].heartbeat, { at: seeded.now, version: null, open: 2, accepted: 9, shed: 1, outboxDepth: null }, 'this process: live');
  assert.equal(sensors[0].attempts, 9);
  assert.deepEqual(sensors[1], {
    sensor: 'remote-1', attempts: 0, firstEvent: 0, lastEvent: 0,
    heartbeat: { at: seeded.now - 5000, version: '0.1.0', open: 1, accepted: 4, shed: 0, outboxDepth: 17 },
  });
  assert.deepEqual((await withStats.inject({ url: '/api/v1/feed' })).json().built, null);
});

test('the dashboard files carry the CSP and nosniff headers; /metrics has the store and per-sensor families', async (t) => {
  const seeded = await seededStore(t);
  const app = webApp(seeded);
  t.after(() => app.close());
  for (const url of ['/', '/dashboard.js', '/dashboard.css', '/vendor/uPlot.iife.min.js', '/api/v1/stats']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, url);
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY, url);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
  }
  const html = (await app.inject({ url: '/' })).body;
  assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler');
  const metrics = (await app.inject({ url: '/metrics' })).body;
  assert.match(metrics, /^telnetlogin_store_commit_seconds_count [1-9]/m);
  assert.match(metrics, /^telnetlogin_store_fold_seconds_count [1-9]/m);
  assert.match(metrics, /^telnetlogin_store_folded_events_total 9$/m);
  assert.match(metrics, /^telnetlogin_sensor_attempts\{sensor="test-sensor"\} 9$/m);
});

test('the rollups built by the schema step from stored events equal those kept on insert', async (t) => {
  const now = Date.parse('2026-12-04T12:40:00Z');
  const events = Array.from({ length: 300 }, (_, i) =>
    event(`192.0.2.${i % 17}`, now - ((i * 7919) % (5 * DAY)), { username: Buffer.from(`u${i % 5}`), attempt: (i % 3) + 1 }),
  );
  // Live: a current store records the events.
  const live = openSqliteStore({ dataDir: tempDir(t) });
  await Promise.all(events.map((e) => live.record(e)));
  // Upgraded: a store of the previous schema holding the same events, then opened (migrated, backfilled).
  const dir = tempDir(t);
  const older = openSqliteStore({ dataDir: dir });
  await older.close();
  const db = new Database(storeFile({ dataDir: dir }));
  db.exec('DROP TABLE stats_address_events; DROP TABLE stats_hourly; DROP TABLE stats_daily; DROP TABLE stats_hour_ips; DROP TABLE stats_day_ips; DROP TABLE stats_addresses; DROP TABLE stats_top; DROP TABLE stats_sensors; DROP TABLE fold_batches');
  db.pragma(`user_version = ${migrations.findIndex((m) => m.name === 'dashboard rollups')}`);
  const insert = db.prepare('INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)');
  for (const e of events) insert.run(e.id, e.time, e.sensor, e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.session, e.attempt, e.username, e.password, JSON.stringify(e.client));
  migrate(db, 'test');
  db.close();
  const upgraded = openSqliteStore({ dataDir: dir });
  t.after(async () => {
    await live.close();
    await upgraded.close();
  });
  const a = live.stats()!;
  const b = upgraded.stats()!;
  for (const bucket of ['hour', 'day'] as const) assert.deepEqual(await b.series(now - 6 * DAY, now, bucket), await a.series(now - 6 * DAY, now, bucket));
  assert.deepEqual(await b.top('usernames', now - 6 * DAY, now, 10), await a.top('usernames', now - 6 * DAY, now, 10));
  assert.deepEqual(await b.address('192.0.2.3'), await a.address('192.0.2.3'));
  assert.deepEqual(await b.credentials('192.0.2.3', 10), await a.credentials('192.0.2.3', 10));
  // And the series agree with a count over the events.
  const daily = await a.series(now - 6 * DAY, now, 'day');
  assert.equal(daily.reduce((s, p) => s + p.attempts, 0), 300);
  assert.equal(daily.reduce((s, p) => s + p.new, 0), 17);
});
