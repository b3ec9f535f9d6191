import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { uuidv7 } from '../../src/events/id.ts';
import { eventToJson } from '../../src/events/json.ts';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { UsageError } from '../../src/errors.ts';
import { openStore, parseDbUrl } from '../../src/store/open.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.ts';
import { pgMigrations } from '../../src/store/postgres-migrations.ts';
import { DAY_MS, dayOf, partitionName } from '../../src/store/postgres-partitions.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import { pgClient, usePostgres } from '../helpers/services.ts';
import { hostileEvents, makeEvent, tempDir } from './fixtures.ts';

async function all(store: { events(q?: { since?: number; limit?: number }): AsyncIterable<LoginEvent> }, q = {}) {
  const out: LoginEvent[] = [];
  for await (const e of store.events(q)) out.push(e);
  return out;
}

const plain = (e: LoginEvent) => ({ ...e, username: Buffer.from(e.username), password: Buffer.from(e.password) });

async function open(t: Parameters<typeof usePostgres>[0]): Promise<{ store: PostgresStore; url: string } | undefined> {
  const url = await usePostgres(t);
  if (!url) return undefined;
  const store = await openPostgresStore(url);
  t.after(() => store.close());
  return { store, url };
}

test('record() then events(): every field, hostile credentials byte for byte, in id order', async (t) => {
  const s = await open(t);
  if (!s) return;
  const stored = hostileEvents();
  stored.push(makeEvent({ src_ip: '2001:db8::1', dst_ip: '::1', client: { options: [], ttypes: [], env: { 'A\tB': 'x\\y\n\r\u0000' } } }));
  await Promise.all(stored.map((e) => s.store.record(e)));
  assert.ok(s.store.commits < stored.length, 'group commit: fewer transactions than events');
  const read = await all(s.store);
  assert.deepEqual(read.map(plain), [...stored].sort((a, b) => (a.id < b.id ? -1 : 1)).map(plain));
});

test('ingest() then events(): any credentials and any client strings come back exactly (COPY escaping)', async (t) => {
  const s = await open(t);
  if (!s) return;
  // Any code point, COPY's special characters, NUL and lone surrogates (a sender's JSON may hold "\ud800").
  const unit = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom('\\', '\t', '\n', '\r', '\0', '\ud800', '\udfff'));
  const text = fc.string({ unit, maxLength: 12 });
  const event = fc.record({
    username: fc.uint8Array({ maxLength: 12 }),
    password: fc.uint8Array({ maxLength: 12 }),
    ttypes: fc.array(text, { maxLength: 3 }),
    env: fc.dictionary(text, text, { maxKeys: 3 }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 5 }), async (drawn) => {
      const events = drawn.map(({ username, password, ttypes, env }) =>
        makeEvent({ username, password, client: { options: ['DO ECHO'], ttypes, env: { ...env } } }),
      );
      await s.store.ingest({ events: events.map(eventToJson) });
      const read = (await all(s.store, { since: Math.min(...events.map((e) => e.time)) })).filter((e) => events.some((x) => x.id === e.id));
      assert.deepEqual(read.map(plain), events.map(plain));
    }),
    { numRuns: 60 },
  );
});

test('events({since, limit}) pages through many events across day partitions', async (t) => {
  const s = await open(t);
  if (!s) return;
  const base = dayOf(Date.now()) - 3 * DAY_MS;
  const events = Array.from({ length: 2500 }, (_, i) => makeEvent({ time: base + i * 100_000 })); // ~2.9 days
  await s.store.ingest({ events: events.map(eventToJson) });
  assert.equal((await all(s.store)).length, 2500);
  const since = events[1234]!.time;
  const tail = await all(s.store, { since });
  assert.deepEqual(tail.map((e) => e.id), events.slice(1234).map((e) => e.id));
  const limited = await all(s.store, { since, limit: 1001 });
  assert.deepEqual(limited.map((e) => e.id), events.slice(1234, 2235).map((e) => e.id));
  assert.deepEqual(await all(s.store, { limit: 0 }), []);
});

test('ingest() is idempotent on the event id: repeats, overlaps and duplicates inside a batch', async (t) => {
  const s = await open(t);
  if (!s) return;
  const events = Array.from({ length: 300 }, () => makeEvent());
  assert.deepEqual(await s.store.ingest({ events: events.slice(0, 200).map(eventToJson) }), { inserted: 200 });
  assert.deepEqual(await s.store.ingest({ events: events.slice(100).map(eventToJson) }), { inserted: 100 }, 'overlap: only the new ones');
  assert.deepEqual(await s.store.ingest({ events: [events[5]!, events[5]!].map(eventToJson) }), { inserted: 0 });
  const fresh = makeEvent();
  assert.deepEqual(await s.store.ingest({ events: [fresh, fresh].map(eventToJson) }), { inserted: 1 }, 'the same id twice in one batch');
  await s.store.record(events[0]!);
  assert.equal((await all(s.store)).length, 301);
});

test('concurrent writers of the same events store each exactly once', async (t) => {
  const s = await open(t);
  if (!s) return;
  const other = await openPostgresStore(s.url);
  t.after(() => other.close());
  const events = Array.from({ length: 2000 }, () => makeEvent());
  const results = await Promise.all([s.store.ingest({ events: events.map(eventToJson) }), other.ingest({ events: [...events].reverse().map(eventToJson) })]);
  assert.equal(results[0].inserted + results[1].inserted, 2000);
  const db = await pgClient(t, s.url);
  const r = await db.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM events');
  assert.deepEqual(r.rows[0], { n: 2000, d: 2000 });
});

test('record() rejects only the events PostgreSQL could not hold; the rest of the batch commits', async (t) => {
  const s = await open(t);
  if (!s) return;
  const good = makeEvent();
  const zone = makeEvent({ src_ip: 'fe80::1%eth0' });
  const badId = makeEvent({ id: "x'); DROP TABLE events; --" });
  const results = await Promise.allSettled([s.store.record(good), s.store.record(zone), s.store.record(badId)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected']);
  assert.equal(((results[1] as PromiseRejectedResult).reason as { code: string }).code, 'TL_STORE_EVENT');
  assert.deepEqual((await all(s.store)).map((e) => e.id), [good.id]);
});

test('heartbeats upsert sensors (newest wins) and keep their history; rejected messages are kept', async (t) => {
  const s = await open(t);
  if (!s) return;
  const now = Date.now();
  const hb = (time: number, version: string) => ({
    sensor: 's1',
    time,
    addresses: ['192.0.2.1', '2001:db8::23'],
    version,
    counters: { accepted: 5, attempts: 3, outboxDepth: 0 },
  });
  await s.store.ingest({ events: [], heartbeats: [hb(now, '2'), hb(now - 1000, '1')] });
  await s.store.ingest({ events: [], heartbeats: [hb(now - 2000, '0')], rejected: [{ subject: 'telnetlogin.events.s1', error: 'bad\0json', payload: Buffer.from([0, 255]) }] });
  const sensors = await s.store.heartbeats();
  assert.equal(sensors.length, 1);
  assert.deepEqual(sensors[0], {
    id: 's1',
    addresses: ['192.0.2.1', '2001:db8::23'],
    version: '2',
    firstSeen: now - 2000,
    lastSeen: now,
    counters: { accepted: 5, attempts: 3, outboxDepth: 0 },
  });
  const db = await pgClient(t, s.url);
  assert.equal((await db.query('SELECT count(*)::int AS n FROM heartbeats')).rows[0].n, 3);
  const rejected = await db.query('SELECT subject, error, payload FROM rejected_messages');
  assert.deepEqual(rejected.rows, [{ subject: 'telnetlogin.events.s1', error: 'bad\\0json', payload: Buffer.from([0, 255]) }]);
});

test('day partitions are made ahead and on demand; retention drops whole old partitions', async (t) => {
  const s = await open(t);
  if (!s) return;
  const db = await pgClient(t, s.url);
  const partitions = async () =>
    (await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1`,
    )).rows.map((r) => r.name);
  const today = dayOf(Date.now());
  for (let i = 0; i <= 3; i++) assert.ok((await partitions()).includes(partitionName(today + i * DAY_MS)), `day +${i} made ahead`);
  const old = makeEvent({ time: today - 40 * DAY_MS + 5 });
  const recent = makeEvent({ time: today - 2 * DAY_MS });
  await s.store.ingest({ events: [old, recent].map(eventToJson) });
  assert.ok((await partitions()).includes(partitionName(today - 40 * DAY_MS)), 'made for an old event');
  const { dropped } = await s.store.maintain({ retentionMs: 30 * DAY_MS });
  assert.deepEqual(dropped, [today - 40 * DAY_MS]);
  assert.deepEqual((await all(s.store)).map((e) => e.id), [recent.id]);
  // A write for a dropped day recreates its partition (another process may have dropped it).
  await s.store.ingest({ events: [eventToJson(old)] });
  assert.equal((await all(s.store)).length, 2);
});

test('migrations: a second opening (and concurrent ones) leave the schema as it is', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url)));
  await Promise.all(stores.map((s) => s.close()));
  const db = await pgClient(t, url);
  assert.equal((await db.query('SELECT version FROM telnetlogin_schema')).rows[0].version, pgMigrations.length);
  const reader = await openStore({ db: url, readonly: true });
  t.after(() => reader.close());
  assert.deepEqual(await all(reader), []);
});

test('openStore: sqlite:PATH, the data dir, postgres URLs; anything else is a usage error', async (t) => {
  const dir = tempDir(t);
  const sqlite = await openStore({ db: `sqlite:${dir}/x.sqlite` });
  assert.ok(sqlite instanceof SqliteStore);
  assert.equal(sqlite.file, `${dir}/x.sqlite`);
  await sqlite.close();
  const embedded = await openStore({ dataDir: dir });
  assert.ok(embedded instanceof SqliteStore);
  await embedded.close();
  assert.deepEqual(parseDbUrl('postgresql://u@h/db'), { kind: 'postgres', url: 'postgresql://u@h/db' });
  for (const bad of ['mysql://h/db', 'sqlite:', '/var/lib/x.sqlite']) {
    assert.throws(() => parseDbUrl(bad), UsageError, bad);
  }
  await assert.rejects(openStore({ db: 'redis://localhost' }), UsageError);
});

test('a PostgreSQL id sorts like the SQLite store: bytewise, uuidv7 in time order', async (t) => {
  const s = await open(t);
  if (!s) return;
  const ids = Array.from({ length: 50 }, () => uuidv7());
  await s.store.ingest({ events: [...ids].reverse().map((id) => eventToJson(makeEvent({ id }))) });
  assert.deepEqual((await all(s.store)).map((e) => e.id), ids);
});
