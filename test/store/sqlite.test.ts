import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { uuidv7 } from '../../src/events/id.ts';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { TelnetloginError } from '../../src/errors.ts';
import { openSqliteStore, type SqliteStore, storeFile } from '../../src/store/sqlite.ts';
import { type Migration, migrate, migrations, schemaVersion } from '../../src/store/sqlite-migrations.ts';
import type { EventReader } from '../../src/store/store.ts';
import { hostileEvents, makeEvent, tempDir } from './fixtures.ts';

/** Buffers on both sides, so deepEqual compares bytes, not Uint8Array vs Buffer. */
const comparable = (e: LoginEvent) => ({ ...e, username: Buffer.from(e.username), password: Buffer.from(e.password) });

/** The order events() promises: by id. */
const inStoreOrder = (events: LoginEvent[]) => [...events].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));

async function all(reader: EventReader, query?: Parameters<EventReader['events']>[0]): Promise<LoginEvent[]> {
  const out: LoginEvent[] = [];
  for await (const e of reader.events(query)) out.push(e);
  return out;
}

function openWriter(t: { after(fn: () => unknown): void }, dataDir: string, options = {}): SqliteStore {
  const store = openSqliteStore({ dataDir, ...options });
  t.after(() => store.close());
  return store;
}

/** A second, independent connection to the store's file, as another process would have. */
function rawConnection(t: { after(fn: () => unknown): void }, dataDir: string, readonly = true): Database.Database {
  const db = new Database(storeFile({ dataDir }), { readonly });
  t.after(() => db.close());
  return db;
}

test('a new store gets the directory, the file and the current schema; reopening keeps both', async (t) => {
  const dataDir = join(tempDir(t), 'nested', 'data');
  const store = openSqliteStore({ dataDir });
  const event = makeEvent();
  await store.record(event);
  await store.close();

  const db = rawConnection(t, dataDir);
  assert.equal(db.pragma('user_version', { simple: true }), schemaVersion);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') ORDER BY name").pluck().all();
  assert.deepEqual(tables, [
    'events', 'events_time', 'feed_addresses', 'feed_addresses_last', 'fold_batches', 'sensor_addresses', 'sqlite_autoindex_feed_addresses_1', 'sqlite_sequence',
    'stats_address_events', 'stats_addresses', 'stats_daily', 'stats_day_ips', 'stats_hour_ips', 'stats_hour_ips_ip', 'stats_hourly', 'stats_sensors',
    'stats_top',
  ]);

  const again = openWriter(t, dataDir);
  assert.deepEqual((await all(again)).map(comparable), [comparable(event)]);
});

test("a store with an index on events by address loses it and gets each address's events by hour, with the same answers", async (t) => {
  const dataDir = tempDir(t);
  const now = Date.now();
  const events = [
    makeEvent({ src_ip: '192.0.2.9', username: Buffer.from('admin'), time: now - 2 * 3_600_000 }),
    makeEvent({ src_ip: '::ffff:192.0.2.9', time: now - 1000, sensor: 'other' }),
    makeEvent({ src_ip: '192.0.2.10', time: now }),
  ];
  const store = openSqliteStore({ dataDir });
  for (const e of events) await store.record(e);
  await store.close();
  // The schema before: events_src_ip, no stats_address_events (and events listed one by one).
  const old = new Database(storeFile({ dataDir }));
  old.exec('CREATE INDEX events_src_ip ON events (src_ip, sensor); DROP TABLE stats_address_events');
  old.exec('DROP TABLE fold_batches; CREATE TABLE fold_pending (id TEXT PRIMARY KEY) STRICT, WITHOUT ROWID');
  old.pragma(`user_version = ${migrations.findIndex((m) => m.name === "an address's events by hour")}`);
  old.close();
  const upgraded = openWriter(t, dataDir);
  const db = rawConnection(t, dataDir);
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'events_src_ip'").pluck().get(), 0);
  assert.equal(db.prepare('SELECT count(*) FROM stats_address_events').pluck().get(), 3);
  const stats = upgraded.stats()!;
  // Both spellings of the address, in two hours; equal counts, the newest first.
  assert.deepEqual((await stats.address('192.0.2.9'))?.sensors, ['other', 'test-sensor']);
  const credentials = await stats.credentials('192.0.2.9', 10);
  assert.deepEqual(credentials.map((c) => [Buffer.from(c.username).toString(), c.count]), [['root', 1], ['admin', 1]]);
});

test('an empty existing file is migrated', async (t) => {
  const dataDir = tempDir(t);
  writeFileSync(storeFile({ dataDir }), '');
  const store = openWriter(t, dataDir);
  await store.record(makeEvent());
  assert.equal((await all(store)).length, 1);
});

test('migrations run in order, once each, each with its version; a failing step keeps the last good version', (t) => {
  const db = new Database(join(tempDir(t), 'm.sqlite'));
  t.after(() => db.close());
  const steps: Migration[] = [
    { name: 'a', sql: 'CREATE TABLE a (x INTEGER)' },
    { name: 'b', sql: "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1)" },
  ];
  migrate(db, 'm.sqlite', steps.slice(0, 1));
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  migrate(db, 'm.sqlite', steps);
  migrate(db, 'm.sqlite', steps);
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.equal(db.prepare('SELECT count(*) FROM a').pluck().get(), 1, 'step b ran once');

  const broken = [...steps, { name: 'broken', sql: 'CREATE TABLE c (x INTEGER); CREATE TABLE a (y)' }];
  assert.throws(() => migrate(db, 'm.sqlite', broken), (err: TelnetloginError) => {
    assert.equal(err.code, 'TL_STORE_MIGRATION');
    assert.match(err.message, /step 3 \(broken\)/);
    return true;
  });
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'c'").pluck().get(), 0, 'step rolled back');
});

test('a store from a newer telnetlogin is refused, for writing and for reading', async (t) => {
  const dataDir = tempDir(t);
  await openSqliteStore({ dataDir }).close();
  const db = new Database(storeFile({ dataDir }));
  db.pragma(`user_version = ${schemaVersion + 1}`);
  db.close();
  for (const readonly of [false, true] as const) {
    assert.throws(() => openSqliteStore({ dataDir, readonly: readonly as true }), { code: 'TL_STORE_VERSION' });
  }
});

test('read-only opening: a missing store, a file that is not a store, no writes', async (t) => {
  const dataDir = tempDir(t);
  assert.throws(() => openSqliteStore({ dataDir: join(dataDir, 'nope'), readonly: true }), {
    code: 'TL_STORE_NOT_FOUND',
  });
  writeFileSync(storeFile({ dataDir }), 'not a database, just text that is long enough to have a header.'.repeat(2));
  assert.throws(() => openSqliteStore({ dataDir, readonly: true }), { code: 'TL_STORE_OPEN' });

  const other = tempDir(t);
  await openSqliteStore({ dataDir: other }).close();
  const reader = openSqliteStore({ dataDir: other, readonly: true });
  t.after(() => reader.close());
  await assert.rejects((reader as SqliteStore).record(makeEvent()), { code: 'TL_STORE_READONLY' });
});

test('hostile credentials and client strings round-trip byte for byte', async (t) => {
  const dataDir = tempDir(t);
  const store = openWriter(t, dataDir);
  const events = hostileEvents();
  await Promise.all(events.map((e) => store.record(e)));
  assert.deepEqual((await all(store)).map(comparable), events.map(comparable));

  const db = rawConnection(t, dataDir);
  const types = db.prepare('SELECT DISTINCT typeof(username), typeof(password) FROM events').raw().all();
  assert.deepEqual(types, [['blob', 'blob']], 'credentials are BLOBs, empty ones included, never NULL or TEXT');
});

test('events recorded in the same turn share one transaction; all resolve and all are stored', async (t) => {
  const dataDir = tempDir(t);
  const store = openWriter(t, dataDir, { maxBatch: 100 });
  const events = Array.from({ length: 1000 }, () => makeEvent());
  const before = store.commits;
  await Promise.all(events.map((e) => store.record(e)));
  assert.equal(store.commits - before, 10, '1000 events, batches of at most 100');
  assert.equal(rawConnection(t, dataDir).prepare('SELECT count(*) FROM events').pluck().get(), 1000);

  await Promise.all(Array.from({ length: 7 }, () => store.record(makeEvent())));
  assert.equal(store.commits - before, 11, 'a small burst is one transaction');
});

test('record() resolves only once the event is visible to another connection', async (t) => {
  const dataDir = tempDir(t);
  const store = openWriter(t, dataDir);
  const other = rawConnection(t, dataDir);
  const count = other.prepare('SELECT count(*) FROM events WHERE id = ?').pluck();
  const event = makeEvent();
  const recorded = store.record(event).then(() => count.get(event.id));
  assert.equal(count.get(event.id), 0, 'not committed yet when record() returns');
  assert.equal(await recorded, 1, 'committed when the promise resolves');
});

test('a resolved record() survives the process being killed right after', async (t) => {
  const dataDir = tempDir(t);
  await openSqliteStore({ dataDir }).close();
  const id = uuidv7();
  // The child never closes the store: only what record() committed can survive.
  const script = `
    import { openSqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite.ts', import.meta.url).href)};
    import { makeEvent } from ${JSON.stringify(new URL('./fixtures.ts', import.meta.url).href)};
    const store = openSqliteStore({ dataDir: ${JSON.stringify(dataDir)} });
    await store.record(makeEvent({ id: ${JSON.stringify(id)} }));
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL', stderr);
  const reader = openSqliteStore({ dataDir, readonly: true });
  t.after(() => reader.close());
  assert.deepEqual((await all(reader)).map((e) => e.id), [id]);
});

test('a failing commit rejects its whole batch only; later batches are stored', async (t) => {
  const dataDir = tempDir(t);
  const store = openWriter(t, dataDir, { busyTimeoutMs: 0 });
  const locker = rawConnection(t, dataDir, false);
  locker.exec('BEGIN IMMEDIATE'); // another writer holds the lock: the batch cannot commit
  const failed = [makeEvent(), makeEvent()];
  const results = await Promise.allSettled(failed.map((e) => store.record(e)));
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  const reason = (results[0] as PromiseRejectedResult).reason as TelnetloginError;
  assert.equal(reason.code, 'TL_STORE_COMMIT');
  assert.match(reason.message, /2 events not committed: database is locked/);
  locker.exec('ROLLBACK');

  const later = [makeEvent(), makeEvent()];
  await Promise.all(later.map((e) => store.record(e)));
  assert.deepEqual((await all(store)).map((e) => e.id), later.map((e) => e.id));
});

test('an event SQLite refuses is rejected alone; the rest of its batch is stored', async (t) => {
  const store = openWriter(t, tempDir(t));
  const good = [makeEvent(), makeEvent()];
  const bad = makeEvent({ time: 1.5 }); // STRICT: not an integer
  const duplicate = { ...makeEvent(), id: good[0]!.id };
  const results = await Promise.allSettled([good[0]!, bad, good[1]!, duplicate].map((e) => store.record(e)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  assert.equal(((results[1] as PromiseRejectedResult).reason as TelnetloginError).code, 'TL_STORE_EVENT');
  const stored = await all(store);
  assert.deepEqual(stored.map((e) => e.id), good.map((e) => e.id));
  assert.deepEqual(comparable(stored[0]!), comparable(good[0]!), 'recording a known id again changes nothing');
});

test('close() commits what is pending; record() after close() rejects', async (t) => {
  const dataDir = tempDir(t);
  const store = openSqliteStore({ dataDir });
  const pending = store.record(makeEvent());
  await store.close();
  await pending;
  await assert.rejects(store.record(makeEvent()), { code: 'TL_STORE_CLOSED' });
  const reader = openSqliteStore({ dataDir, readonly: true });
  t.after(() => reader.close());
  assert.equal((await all(reader)).length, 1);
});

test('events(): id order, since and limit, across pages', async (t) => {
  const store = openWriter(t, tempDir(t));
  const t0 = Date.UTC(2026, 0, 1);
  const events = Array.from({ length: 2500 }, (_, i) => makeEvent({ time: t0 + i }));
  await Promise.all(events.map((e) => store.record(e)));
  const ids = (q?: Parameters<SqliteStore['events']>[0]) => all(store, q).then((es) => es.map((e) => e.id));
  const expected = events.map((e) => e.id);

  assert.deepEqual(await ids(), expected);
  assert.deepEqual(await ids({ since: t0 + 1200 }), expected.slice(1200));
  assert.deepEqual(await ids({ limit: 10 }), expected.slice(0, 10));
  assert.deepEqual(await ids({ since: t0 + 500, limit: 1200 }), expected.slice(500, 1700));
  assert.deepEqual(await ids({ limit: 0 }), []);
  assert.deepEqual(await ids({ since: t0 + 2500 }), []);
});

test('events(): in id order, since by time, even when times are in another order (imported events)', async (t) => {
  const store = openWriter(t, tempDir(t));
  const events = [300, 100, 200, 200].map((time) => makeEvent({ time })); // ids ascending
  await Promise.all(events.map((e) => store.record(e)));
  const [late, , mid1, mid2] = events.map((e) => e.id);
  assert.deepEqual((await all(store, { since: 150 })).map((e) => e.id), [late, mid1, mid2]);
  assert.deepEqual((await all(store, { since: 250 })).map((e) => e.id), [late]);
});

test('iterating events() on the writer does not block its commits', async (t) => {
  const store = openWriter(t, tempDir(t));
  await Promise.all(Array.from({ length: 2100 }, () => store.record(makeEvent())));
  let seen = 0;
  for await (const _ of store.events()) {
    if (++seen === 500 || seen === 1000) await store.record(makeEvent()); // within a page, between pages
  }
  assert.equal(seen, 2102, 'events committed during the walk, with later ids, are included');
});

test('readers work while another connection writes, and never see uncommitted events', async (t) => {
  const dataDir = tempDir(t);
  const writer = openWriter(t, dataDir);
  await writer.record(makeEvent());
  const reader = openSqliteStore({ dataDir, readonly: true, busyTimeoutMs: 0 });
  t.after(() => reader.close());

  // Another writer in the middle of a transaction does not block reading.
  const locker = rawConnection(t, dataDir, false);
  locker.exec('BEGIN IMMEDIATE');
  locker.prepare('INSERT INTO events SELECT ? , time, sensor, src_ip, src_port, dst_ip, dst_port, session, attempt, username, password, client FROM events').run(uuidv7());
  assert.equal((await all(reader)).length, 1);
  locker.exec('ROLLBACK');

  // Batches committing while the reader walks the table: ids stay in order, nothing is lost.
  const writing = (async () => {
    for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 100 }, () => writer.record(makeEvent())));
  })();
  let done = false;
  void writing.then(() => (done = true));
  while (!done) {
    const seen = await all(reader);
    assert.deepEqual(seen, inStoreOrder(seen));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writing;
  assert.equal((await all(reader)).length, 2001);
});

test('property: any event round-trips through the store', async (t) => {
  const text = fc.string({ unit: 'grapheme', maxLength: 40 });
  const anyString = fc.string({ unit: 'binary', maxLength: 40 }); // lone surrogates too: client is JSON
  const port = fc.integer({ min: 0, max: 65535 });
  const event = fc
    .record({
      time: fc.integer({ min: -8.64e15, max: 8.64e15 }),
      sensor: text,
      src_ip: text,
      src_port: port,
      dst_ip: text,
      dst_port: port,
      session: text,
      attempt: fc.integer({ min: 1, max: 2 ** 31 }),
      username: fc.uint8Array({ maxLength: 300 }),
      password: fc.uint8Array({ maxLength: 300 }),
      client: fc.record(
        {
          options: fc.array(anyString, { maxLength: 8 }),
          ttypes: fc.array(anyString, { maxLength: 4 }),
          naws: fc.record({ width: port, height: port }, { noNullPrototype: true }),
          env: fc.dictionary(anyString, anyString, { maxKeys: 6, noNullPrototype: true }),
        },
        { requiredKeys: ['options', 'ttypes', 'env'], noNullPrototype: true },
      ),
    }, { noNullPrototype: true })
    .map((e): LoginEvent => ({ id: uuidv7(), ...e }));
  const store = openWriter(t, tempDir(t));
  await fc.assert(
    fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 20 }), async (events) => {
      await Promise.all(events.map((e) => store.record(e)));
      const ids = new Set(events.map((e) => e.id));
      const stored = (await all(store)).filter((e) => ids.has(e.id));
      assert.deepEqual(stored.map(comparable), inStoreOrder(events).map(comparable));
    }),
    { numRuns: 100 },
  );
});
