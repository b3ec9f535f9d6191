// The feed built from the PostgreSQL store (its events, read in one snapshot
// through a cursor) is byte for byte the feed built from the SQLite store (its
// per-address summaries) for the same events: every format, window edges,
// IPv4-mapped addresses, hostile bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventToJson } from '../../src/events/json.ts';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { CREDENTIALS_CAP, SENSORS_CAP } from '../../src/feed/summary.ts';
import { windowEnding } from '../../src/feed/window.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { build, DAY, event, NOW, testAsdb, text } from '../feed/helpers.ts';
import { usePostgres } from '../helpers/services.ts';
import { tempDir } from './fixtures.ts';

const asdb = testAsdb([['192.0.2.0/24', 64500], ['198.51.100.0/24', 64501], ['2001:db8::/32', 64502]], { 64500: 'EXAMPLE|NET\u0007', 64501: '=SURVEY' });

function someEvents(): LoginEvent[] {
  const { from, to } = windowEnding(NOW, 7 * DAY);
  const events = [event('192.0.2.1', from), event('192.0.2.2', from - 1), event('192.0.2.3', to), event('::ffff:198.51.100.4', NOW - DAY)];
  for (let i = 0; i < 500; i++) {
    events.push(event(i % 4 ? `198.51.100.${i % 50}` : `2001:db8::${(i % 30).toString(16)}`, NOW - 6 * DAY + i * 997_000, {
      sensor: `s${i % 3}`,
      username: Buffer.from([0xff, i % 7, 0x3d]),
      password: Buffer.from(`pw${i % 11}`),
    }));
  }
  // Distinct credentials and sensors past their caps; pairs that differ only in where the user name ends.
  for (let i = 0; i < CREDENTIALS_CAP + 40; i++) {
    events.push(event('203.0.113.7', NOW - DAY + i * 1000, { password: Buffer.from(`p${i}`), sensor: `c${i % (SENSORS_CAP + 5)}` }));
  }
  events.push(event('203.0.113.8', NOW - 10, { username: Buffer.from('ab'), password: Buffer.from('c') }));
  events.push(event('203.0.113.8', NOW - 9, { username: Buffer.from('a'), password: Buffer.from('bc') }));
  events.push(event('203.0.113.8', NOW - 8, { username: Buffer.from('a'), password: Buffer.from('bc') }));
  return events;
}

test('the feed from PostgreSQL equals the feed from SQLite, byte for byte, in every format', async (t) => {
  const url = await usePostgres(t);
  if (!url) return;
  const events = someEvents();
  const pgStore = await openPostgresStore(url);
  t.after(() => pgStore.close());
  await pgStore.ingest({ events: events.map(eventToJson) });
  const sqlite = openSqliteStore({ dataDir: tempDir(t) });
  t.after(() => sqlite.close());
  await Promise.all(events.map((e) => sqlite.record(e)));

  const fromPg = await build(pgStore, asdb);
  const fromSqlite = await build(sqlite, asdb);
  assert.equal(fromPg.path, 'aggregates');
  assert.equal(fromSqlite.path, 'summaries');
  assert.equal(fromPg.order.length, 68); // 3 + 50 + 15 + 2 addresses in the window, less the sensor's own
  for (const format of ['dataplane', 'csv', 'json'] as const) assert.equal(await text(fromPg, format), await text(fromSqlite, format), format);
  // The events were sent to 192.0.2.1: an address of their sensor, withheld by both, though it logged in too.
  assert.deepEqual([fromPg.withheld, fromSqlite.withheld], [{ own: 1, excluded: 0 }, { own: 1, excluded: 0 }]);
  assert.deepEqual(await pgStore.sensors(), await sqlite.sensors());
  // A build as of two days ago: SQLite's summaries cannot answer it (newer attempts), it reads its events.
  const pastPg = await build(pgStore, asdb, { now: NOW - 2 * DAY });
  const pastSqlite = await build(sqlite, asdb, { now: NOW - 2 * DAY });
  assert.equal(pastSqlite.path, 'events');
  for (const format of ['dataplane', 'csv', 'json'] as const) assert.equal(await text(pastPg, format), await text(pastSqlite, format), format);
});
