import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { canonicalAddress } from '../../src/feed/address.ts';
import { collect, ipText, type Collected } from '../../src/feed/collect.ts';
import { CREDENTIALS_CAP, HOUR_MS, SENSORS_CAP } from '../../src/feed/summary.ts';
import { windowEnding } from '../../src/feed/window.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { FeedSource } from '../../src/store/store.ts';
import { tempDir } from '../store/fixtures.ts';
import { arraySource, DAY, event, NOW } from './helpers.ts';

const noPause = async () => {};

/** What the feed must say, computed the obvious way from the events. */
function expected(events: readonly LoginEvent[], from: number, to: number) {
  const by = new Map<string, { first: number; last: number; attempts: number; creds: Set<string>; sensors: Set<string> }>();
  for (const e of events) {
    if (e.time < from || e.time > to) continue;
    const ip = canonicalAddress(e.src_ip)!;
    const a = by.get(ip) ?? { first: Infinity, last: -Infinity, attempts: 0, creds: new Set(), sensors: new Set() };
    a.first = Math.min(a.first, e.time);
    a.last = Math.max(a.last, e.time);
    a.attempts++;
    a.creds.add(`${Buffer.from(e.username).toString('hex')}/${Buffer.from(e.password).toString('hex')}`);
    a.sensors.add(e.sensor);
    by.set(ip, a);
  }
  return [...by]
    .map(([ip, a]) => ({
      ip,
      first: a.first,
      last: a.last,
      attempts: a.attempts,
      credentials: Math.min(a.creds.size, CREDENTIALS_CAP),
      sensors: Math.min(a.sensors.size, SENSORS_CAP),
    }))
    .sort((x, y) => (x.ip < y.ip ? -1 : 1));
}

function rows(c: Collected) {
  return c.last
    .map((_, i) => ({ ip: ipText(c, i), first: c.first![i], last: c.last[i], attempts: c.attempts![i], credentials: c.credentials![i], sensors: c.sensors![i] }))
    .sort((x, y) => (x.ip < y.ip ? -1 : 1));
}

async function collected(source: FeedSource, from: number, to: number, detail = true): Promise<Collected> {
  const snapshot = await source.feedSnapshot();
  try {
    return await collect(snapshot, { from, to }, detail, noPause);
  } finally {
    await snapshot.close();
  }
}

async function storeWith(t: { after(fn: () => unknown): void }, events: readonly LoginEvent[]) {
  const store = openSqliteStore({ dataDir: tempDir(t as never) });
  t.after(() => store.close());
  await Promise.all(events.map((e) => store.record(e)));
  return store;
}

test('window edges: an attempt exactly 7 days old and one at the end are in; 1 ms older is out', async (t) => {
  const { from, to } = windowEnding(NOW, 7 * DAY);
  const events = [
    event('192.0.2.1', from), // exactly 7 days old
    event('192.0.2.2', from - 1),
    event('192.0.2.3', to),
    event('192.0.2.4', from - 1),
    event('192.0.2.4', from + 5), // same hour as an attempt outside: the straddling hour is settled from events
  ];
  const store = await storeWith(t, events);
  for (const detail of [true, false]) {
    const c = await collected(store, from, to, detail);
    assert.equal(c.path, 'summaries');
    assert.deepEqual(c.last.map((_, i) => ipText(c, i)).toSorted(), ['192.0.2.1', '192.0.2.3', '192.0.2.4']);
  }
  const got = rows(await collected(store, from, to));
  assert.deepEqual(got, expected(events, from, to));
  assert.deepEqual(got.find((r) => r.ip === '192.0.2.4'), { ip: '192.0.2.4', first: from + 5, last: from + 5, attempts: 1, credentials: 1, sensors: 1 });
});

test('distinct credentials and sensors are counted exactly up to their caps', async (t) => {
  const events: LoginEvent[] = [];
  for (let i = 0; i < CREDENTIALS_CAP + 40; i++) {
    events.push(event('198.51.100.7', NOW - DAY + i * 1000, { password: Buffer.from(`pw${i}`), sensor: `s${i % (SENSORS_CAP + 5)}` }));
  }
  // The same pair twice, and pairs that differ only in where user name ends and password begins.
  events.push(event('198.51.100.8', NOW - 10, { username: Buffer.from('ab'), password: Buffer.from('c') }));
  events.push(event('198.51.100.8', NOW - 9, { username: Buffer.from('a'), password: Buffer.from('bc') }));
  events.push(event('198.51.100.8', NOW - 8, { username: Buffer.from('a'), password: Buffer.from('bc') }));
  const store = await storeWith(t, events);
  const got = rows(await collected(store, NOW - 7 * DAY, NOW));
  assert.deepEqual(got, expected(events, NOW - 7 * DAY, NOW));
  assert.equal(got[0]!.credentials, CREDENTIALS_CAP);
  assert.equal(got[0]!.sensors, SENSORS_CAP);
  assert.equal(got[1]!.credentials, 2);
});

test('re-recording stored events changes nothing (imports are idempotent for the feed too)', async (t) => {
  const events = [event('203.0.113.9', NOW - 5000), event('203.0.113.9', NOW - 4000)];
  const store = await storeWith(t, events);
  await Promise.all(events.map((e) => store.record(e)));
  assert.deepEqual(rows(await collected(store, NOW - DAY, NOW)), expected(events, NOW - DAY, NOW));
});

test('when an attempt is newer than the window end, or the window is longer than the horizon, the events are read', async (t) => {
  const events = [event('192.0.2.10', NOW - 2 * DAY), event('192.0.2.10', NOW + 1000), event('192.0.2.11', NOW - 9 * DAY)];
  const store = await storeWith(t, events);
  const past = await collected(store, NOW - 7 * DAY, NOW);
  assert.equal(past.path, 'events');
  assert.deepEqual(rows(past), expected(events, NOW - 7 * DAY, NOW));
  const long = await collected(store, NOW - 30 * DAY, NOW + 1000);
  assert.equal(long.path, 'events');
  assert.deepEqual(rows(long), expected(events, NOW - 30 * DAY, NOW + 1000));
});

test('the embedded store, from events stored before the feed tables existed (schema upgrade backfill)', async (t) => {
  const dir = tempDir(t);
  const events = [event('192.0.2.20', NOW - DAY), event('2001:db8::1', NOW - 2 * DAY), event('::ffff:192.0.2.20', NOW - 3 * DAY)];
  const store = openSqliteStore({ dataDir: dir });
  await Promise.all(events.map((e) => store.record(e)));
  await store.close();
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(`${dir}/telnetlogin.sqlite`);
  db.exec('DROP TABLE feed_addresses; DROP TABLE sensor_addresses; DROP TABLE fold_batches; PRAGMA user_version = 1');
  db.close();
  const again = openSqliteStore({ dataDir: dir });
  t.after(() => again.close());
  const c = await collected(again, NOW - 7 * DAY, NOW);
  assert.equal(c.path, 'summaries');
  assert.deepEqual(rows(c), expected(events, NOW - 7 * DAY, NOW));
  assert.deepEqual(await again.sensors(), [{ id: 'test-sensor', addresses: ['192.0.2.1'], firstSeen: NOW - 3 * DAY, lastSeen: NOW - DAY }]);
});

test('property: summaries, the events of a store without them, and the obvious computation agree', async (t) => {
  const ips = ['192.0.2.1', '192.0.2.2', '::ffff:192.0.2.2', '2001:db8::7', '2001:DB8:0:0::7', '10.1.2.3'];
  const anEvent = fc.record({
    ip: fc.constantFrom(...ips),
    // Clustered near the window edges and hour boundaries, where mistakes hide.
    time: fc.oneof(
      fc.integer({ min: NOW - 9 * DAY, max: NOW }),
      fc.integer({ min: -3 * HOUR_MS, max: 3 * HOUR_MS }).map((d) => NOW - 7 * DAY + d),
      fc.integer({ min: -2000, max: 0 }).map((d) => NOW + d),
    ),
    user: fc.constantFrom('root', 'admin', ''),
    pass: fc.constantFrom('xc3511', 'admin', '1234', ''),
    sensor: fc.constantFrom('s1', 's2'),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(anEvent, { maxLength: 40 }),
      fc.constantFrom(7 * DAY, DAY, HOUR_MS, 90_000),
      fc.integer({ min: -2 * HOUR_MS, max: 0 }),
      async (specs, windowMs, shift) => {
        const events = specs.map((s) => event(s.ip, s.time, { username: Buffer.from(s.user), password: Buffer.from(s.pass), sensor: s.sensor }));
        const dir = tempDir(t);
        const store = openSqliteStore({ dataDir: dir });
        try {
          await Promise.all(events.map((e) => store.record(e)));
          const end = NOW + shift; // a past end: events after it send the build to the events
          const { from, to } = windowEnding(end, windowMs);
          const want = expected(events, from, to);
          assert.deepEqual(rows(await collected(store, from, to)), want);
          assert.deepEqual(rows(await collected(arraySource(events), from, to)), want);
          const plain = await collected(store, from, to, false);
          assert.deepEqual(
            plain.last.map((last, i) => ({ ip: ipText(plain, i), last })).sort((x, y) => (x.ip < y.ip ? -1 : 1)),
            want.map(({ ip, last }) => ({ ip, last })),
          );
        } finally {
          await store.close();
        }
      },
    ),
    { numRuns: 40 },
  );
});
