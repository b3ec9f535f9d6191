// The PostgreSQL store's rollups answer exactly as the SQLite store's do for
// the same events, however they arrive: in batches, again (redelivered), from
// collectors writing at once, or from events stored before the rollups existed.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { eventToJson } from '../../src/events/json.ts';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { pgMigrations } from '../../src/store/postgres-migrations.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { TOP_KINDS, type StatsReader } from '../../src/store/stats.ts';
import { pgClient, usePostgres } from '../helpers/services.ts';
import { makeEvent, tempDir } from './fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 11, 4, 12);

/** 600 events over three days from 40 addresses (IPv4, IPv4-mapped and IPv6), two sensors, hostile bytes. */
function someEvents(): LoginEvent[] {
  return Array.from({ length: 600 }, (_, i) => {
    const n = (i * 7) % 40;
    const src_ip = n < 20 ? `198.51.100.${n}` : n < 30 ? `::ffff:203.0.113.${n}` : `2001:db8::${n.toString(16)}`;
    return makeEvent({
      time: NOW - 3 * DAY + i * 431_000,
      src_ip,
      sensor: i % 3 ? 'sensor-a' : 'sensor-b',
      attempt: (i % 3) + 1,
      username: i % 11 ? Buffer.from(['root', 'admin', 'guest'][i % 3]!) : Buffer.from([0xff, 0x00, 0x3c, 0x73]),
      // Some longer than the top lists keep (cut there).
      password: i % 13 ? Buffer.from(`pw${i % 7}`) : Buffer.alloc(200 + (i % 2), 0x41 + (i % 3)),
      client: { options: i % 2 ? ['DO ECHO', 'WILL NAWS'] : [], ttypes: i % 5 ? ['xterm'] : ['<b>', 'vt\u0000100', 'vt100'], env: {} },
    });
  });
}

/** Everything a StatsReader answers about the events, in a comparable form. */
async function answers(s: StatsReader): Promise<unknown> {
  const from = NOW - 4 * DAY;
  const to = NOW + DAY;
  const bytes = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('hex'));
  const out: Record<string, unknown> = {
    hours: await s.series(from, to, 'hour'),
    days: await s.series(from, to, 'day'),
    addressesLong: (await s.addresses(from, to)).sort(),
    addressesShort: (await s.addresses(NOW - DAY, NOW)).sort(),
    sensors: await s.sensors(),
    totals: await s.totals(),
  };
  for (const kind of TOP_KINDS) out[kind] = (await s.top(kind, from, to, 50)).map((e) => [bytes(e.value), bytes(e.password), e.count]);
  for (const ip of ['198.51.100.7', '203.0.113.21', '::ffff:203.0.113.21', '2001:db8::1f', '192.0.2.99']) {
    out[`address ${ip}`] = await s.address(ip);
    out[`credentials ${ip}`] = (await s.credentials(ip, 100)).map((c) => [bytes(c.username), bytes(c.password), c.count, c.first, c.last]);
  }
  return out;
}

async function sqliteAnswers(t: TestContext, events: LoginEvent[]): Promise<unknown> {
  const store = openSqliteStore({ dataDir: tempDir(t) });
  t.after(() => store.close());
  await Promise.all(events.map((e) => store.record(e)));
  return answers(store.stats()!);
}

test('rollups: the same answers as the SQLite store, folded in any order, and a redelivered batch counts once', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const store = await openPostgresStore(url);
  t.after(() => store.close());
  const events = someEvents();
  const json = events.map(eventToJson);
  // Newest first, each batch folded before the next (reading folds): older
  // events keep moving addresses' first sighting to earlier buckets.
  for (let i = json.length - 100; i >= 0; i -= 100) {
    await store.ingest({ events: json.slice(i, i + 100) });
    await store.stats().totals();
  }
  await store.ingest({ events: json.slice(50, 250) }); // redelivered: nothing new
  await store.ingest({ events: [json[599]!, json[599]!] }); // the same event twice in a batch
  assert.deepEqual(await store.stats().totals(), { events: 600, addresses: 40 });
  assert.equal((await store.stats().address('::ffff:203.0.113.21'))?.attempts, 15);
  assert.deepEqual(await answers(store.stats()), await sqliteAnswers(t, events));
});

test('rollups: collectors ingesting at once (overlapping batches, new addresses in both) stay exact', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const stores = await Promise.all([openPostgresStore(url), openPostgresStore(url), openPostgresStore(url)]);
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const events = someEvents();
  const json = events.map(eventToJson);
  await Promise.all(stores.map(async (store, k) => {
    for (let i = k * 50; i < json.length; i += 150) await store.ingest({ events: json.slice(i, i + 200) });
  }));
  assert.deepEqual(await answers(stores[0]!.stats()), await sqliteAnswers(t, events));
});

test('rollups: the schema step builds them from events stored before it', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const events = someEvents();
  const before = await openPostgresStore(url);
  await before.ingest({ events: events.map(eventToJson) });
  await before.close();
  const client = await pgClient(t, url);
  const step = pgMigrations.findIndex((m) => m.name === 'dashboard rollups');
  await client.query('DROP TABLE stats_hourly, stats_daily, stats_hour_ips, stats_day_ips, stats_addresses, stats_top, stats_sensors, sensor_addresses, stats_pending');
  await client.query('UPDATE telnetlogin_schema SET version = $1', [step]);
  const after = await openPostgresStore(url);
  t.after(() => after.close());
  assert.deepEqual(await answers(after.stats()), await sqliteAnswers(t, events));
});

test('rollups are folded after the ingest: a read-only opening sees them once a writer folded', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const writer = await openPostgresStore(url);
  t.after(() => writer.close());
  const reader = await openPostgresStore(url, { readonly: true });
  t.after(() => reader.close());
  const json = someEvents().map(eventToJson);
  await writer.ingest({ events: json.slice(0, 400) });
  await writer.ingest({ events: json.slice(300) }); // 100 of them again: pending once
  const client = await pgClient(t, url);
  const pending = async () => Number((await client.query('SELECT count(*) AS n FROM stats_pending')).rows[0].n);
  assert.equal(await pending(), 600);
  assert.deepEqual(await reader.stats().totals(), { events: 0, addresses: 0 }, 'nothing folded yet');
  assert.equal(await writer.foldStats(), 600);
  assert.equal(await pending(), 0);
  assert.deepEqual(await reader.stats().totals(), { events: 600, addresses: 40 });
  await assert.rejects(reader.foldStats(), { code: 'TL_STORE_READONLY' });
});

test('rollups: a stored client that is not what it should be counts as no answers, and the folds go on', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const store = await openPostgresStore(url);
  t.after(() => store.close());
  const json = someEvents().map(eventToJson);
  await store.ingest({ events: json.slice(0, 3) });
  const client = await pgClient(t, url);
  // As if written by something that skipped the checks: not JSON, the wrong shapes.
  await client.query(`UPDATE stats_pending SET client = (ARRAY['not json', '{"options": 5, "ttypes": [1]}', 'null'])[attempt]`);
  assert.equal(await store.foldStats(), 3);
  await store.ingest({ events: json.slice(3, 10) });
  assert.equal(await store.foldStats(), 7);
  assert.equal((await store.stats().totals()).events, 10);
});
