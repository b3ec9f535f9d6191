// The derived tables (feed summaries, sensor addresses, rollups) are folded in
// after the events' commit: readers in the writer's process never see them
// behind, and a crash between the two loses nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { openSqliteStore, storeFile } from '../../src/store/sqlite.ts';
import { makeEvent, tempDir } from './fixtures.ts';

const DERIVED = [
  'feed_addresses', 'sensor_addresses', 'stats_hourly', 'stats_daily', 'stats_hour_ips', 'stats_day_ips',
  'stats_addresses', 'stats_top', 'stats_sensors',
];

/** Every derived table's rows, in a fixed order: two stores with the same events must agree on all of it. */
function derivedState(dataDir: string): Record<string, unknown[]> {
  const db = new Database(storeFile({ dataDir }), { readonly: true });
  try {
    return Object.fromEntries(DERIVED.map((table) => [table, db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).raw().all()]));
  } finally {
    db.close();
  }
}

/** Events listed as waiting to be folded. */
function listed(dataDir: string): number {
  const db = new Database(storeFile({ dataDir }), { readonly: true });
  try {
    return db.prepare('SELECT coalesce(sum(json_array_length(ids)), 0) FROM fold_batches').pluck().get() as number;
  } finally {
    db.close();
  }
}

function count(dataDir: string, table: string): number {
  const db = new Database(storeFile({ dataDir }), { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** 300 events from 30 addresses over two days, two sensors, repeated credentials. */
function someEvents(): LoginEvent[] {
  const start = Date.UTC(2026, 10, 1, 22);
  return Array.from({ length: 300 }, (_, i) =>
    makeEvent({
      time: start + i * 10 * 60_000,
      src_ip: `198.51.100.${i % 30}`,
      sensor: i % 2 ? 'sensor-a' : 'sensor-b',
      dst_ip: i % 2 ? '192.0.2.1' : '2001:db8::1',
      attempt: (i % 3) + 1,
      username: Buffer.from(['root', 'admin', 'guest'][i % 3]!),
      password: Buffer.from(`pw${i % 7}`),
    }),
  );
}

/** A store that recorded `events` by itself, in batches of 50, folding as usual: what the others must match. */
async function recordedAlone(t: Parameters<typeof tempDir>[0], events: readonly LoginEvent[]): Promise<string> {
  const dataDir = tempDir(t);
  const store = openSqliteStore({ dataDir });
  for (let i = 0; i < events.length; i += 50) await Promise.all(events.slice(i, i + 50).map((e) => store.record(e)));
  await store.close();
  return dataDir;
}

test('events are folded after their commit; readers in the writer process see them at once', async (t) => {
  const dataDir = tempDir(t);
  const store = openSqliteStore({ dataDir, foldIntervalMs: 60_000 });
  t.after(() => store.close());
  const events = someEvents().slice(0, 5);
  await Promise.all(events.map((e) => store.record(e)));
  // Committed and listed, not yet folded.
  assert.equal(count(dataDir, 'events'), 5);
  assert.equal(listed(dataDir), 5);
  assert.equal(count(dataDir, 'stats_addresses'), 0);

  assert.deepEqual(await store.stats()!.totals(), { events: 5, addresses: 5 });
  assert.equal(listed(dataDir), 0);
  assert.equal(count(dataDir, 'feed_addresses'), 5);
  assert.deepEqual((await store.sensors()).map((s) => s.id), ['sensor-a', 'sensor-b']);
});

test('without a reader, the fold comes by itself (every 250 ms)', async (t) => {
  const dataDir = tempDir(t);
  const store = openSqliteStore({ dataDir });
  t.after(() => store.close());
  await store.record(makeEvent());
  const deadline = Date.now() + 5000;
  while (listed(dataDir) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(listed(dataDir), 0);
  assert.equal(count(dataDir, 'feed_addresses'), 1);
});

test('events a killed writer left unfolded are folded at the next opening, exactly as if never interrupted', async (t) => {
  const events = someEvents();
  const reference = await recordedAlone(t, events);

  const dataDir = tempDir(t);
  const input = join(dataDir, '..', `${dataDir.split('/').pop()}-events.json`);
  writeFileSync(input, JSON.stringify(events, (_k, v) => (v?.type === 'Buffer' ? { b64: Buffer.from(v.data).toString('base64') } : v)));
  t.after(() => rmSync(input, { force: true }));
  // The child records everything, in batches, and is killed before its first fold.
  const script = `
    import { readFileSync } from 'node:fs';
    import { openSqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite.ts', import.meta.url).href)};
    const events = JSON.parse(readFileSync(${JSON.stringify(input)}, 'utf8'), (_k, v) => (v && typeof v.b64 === 'string' ? Buffer.from(v.b64, 'base64') : v));
    const store = openSqliteStore({ dataDir: ${JSON.stringify(dataDir)}, foldIntervalMs: 60_000 });
    for (let i = 0; i < events.length; i += 50) await Promise.all(events.slice(i, i + 50).map((e) => store.record(e)));
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL', stderr);
  assert.equal(count(dataDir, 'events'), events.length);
  assert.equal(listed(dataDir), events.length, 'killed before any fold');
  assert.equal(count(dataDir, 'stats_addresses'), 0);

  await openSqliteStore({ dataDir }).close();
  assert.equal(listed(dataDir), 0);
  assert.deepEqual(derivedState(dataDir), derivedState(reference));
});

test('a fold that fails is reported and tried again; nothing is lost', async (t) => {
  const dataDir = tempDir(t);
  const errors: Error[] = [];
  const store = openSqliteStore({ dataDir, busyTimeoutMs: 0, onFoldError: (err) => errors.push(err) });
  t.after(() => store.close());
  await store.record(makeEvent({ src_ip: '203.0.113.7' }));
  const locker = new Database(storeFile({ dataDir }));
  t.after(() => locker.close());
  locker.exec('BEGIN IMMEDIATE'); // another process holds the write lock
  assert.deepEqual(await store.stats()!.totals(), { events: 0, addresses: 0 }, 'the read goes on with what was folded');
  assert.match(errors[0]?.message ?? '', /database is locked/);
  locker.exec('ROLLBACK');
  assert.deepEqual(await store.stats()!.totals(), { events: 1, addresses: 1 });
  assert.equal(listed(dataDir), 0);
});

test('two writers on one file (an import beside run): each event is folded once, by whichever gets to it first', async (t) => {
  const events = someEvents();
  const reference = await recordedAlone(t, events);

  const dataDir = tempDir(t);
  const run = openSqliteStore({ dataDir, foldIntervalMs: 60_000 });
  t.after(() => run.close());
  await Promise.all(events.slice(0, 200).map((e) => run.record(e))); // committed, listed, not folded
  // A second writer opens: it folds what is listed (it cannot tell run's waiting events from a crash's).
  const importer = openSqliteStore({ dataDir, foldIntervalMs: 60_000 });
  assert.equal(listed(dataDir), 0);
  await Promise.all(events.slice(200).map((e) => importer.record(e)));
  await importer.close();
  await run.close(); // folds its own waiting events: those already folded are skipped
  assert.deepEqual(derivedState(dataDir), derivedState(reference));
});

test('a store whose events were listed one by one (schema 5) lists them by commit, and folds them', async (t) => {
  const events = [...someEvents(), ...someEvents()]; // more than one batch of 512
  const reference = await recordedAlone(t, events);

  const dataDir = tempDir(t);
  await openSqliteStore({ dataDir }).close();
  const db = new Database(storeFile({ dataDir }));
  // What a crash under schema 5 left: events stored and listed, none folded.
  db.exec('DROP TABLE fold_batches; CREATE TABLE fold_pending (id TEXT PRIMARY KEY) STRICT, WITHOUT ROWID; PRAGMA user_version = 5');
  const insert = db.prepare('INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)');
  const note = db.prepare('INSERT INTO fold_pending VALUES (?)');
  for (const e of events) {
    insert.run(e.id, e.time, e.sensor, e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.session, e.attempt, e.username, e.password, JSON.stringify(e.client));
    note.run(e.id);
  }
  db.close();

  await openSqliteStore({ dataDir }).close();
  assert.equal(listed(dataDir), 0);
  assert.deepEqual(derivedState(dataDir), derivedState(reference));
});
