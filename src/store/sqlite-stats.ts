// The embedded store's rollups for the dashboard and the JSON API (src/store/stats.ts),
// kept up to date as events are stored (folded in batches, see sqlite-fold.ts).
// Each batch is aggregated in JS first: one upsert per distinct key per
// batch, not per event.
import type Database from 'better-sqlite3';
import type { LoginEvent } from '../events/login-event.ts';
import { canonicalAddress } from '../feed/address.ts';
import { DAY_MS, HOUR_MS } from '../feed/summary.ts';
import { foldStoredEvents } from './sqlite-rows.ts';
import type { AddressStats, Bucket, CredentialStats, SensorStats, SeriesPoint, StatsReader, TopEntry, TopKind } from './stats.ts';

/** Longest value kept in a top list (bytes); longer ones are cut, so that a hostile client cannot grow the rollups. */
export const TOP_VALUE_MAX = 128;

const KIND_CODES: Record<TopKind, number> = { usernames: 1, passwords: 2, pairs: 3, ttypes: 4, options: 5 };

/**
 * Schema step that adds these tables (see sqlite-migrations.ts). Rerunnable:
 * the backfill empties them and rebuilds them from the events.
 */
export const STATS_TABLES_SQL = `
  -- Per hour and per day: attempts, distinct addresses, addresses seen for the first time.
  CREATE TABLE IF NOT EXISTS stats_hourly (hour INTEGER PRIMARY KEY, attempts INTEGER NOT NULL, addresses INTEGER NOT NULL, new INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS stats_daily (day INTEGER PRIMARY KEY, attempts INTEGER NOT NULL, addresses INTEGER NOT NULL, new INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS stats_hour_ips (hour INTEGER NOT NULL, ip TEXT NOT NULL, attempts INTEGER NOT NULL, PRIMARY KEY (hour, ip)) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS stats_hour_ips_ip ON stats_hour_ips (ip, hour);
  CREATE TABLE IF NOT EXISTS stats_day_ips (day INTEGER NOT NULL, ip TEXT NOT NULL, attempts INTEGER NOT NULL, PRIMARY KEY (day, ip)) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS stats_addresses (ip TEXT PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL, attempts INTEGER NOT NULL) STRICT, WITHOUT ROWID;
  -- Top lists per UTC day: kind (1 user name, 2 password, 3 pair, 4 terminal type, 5 option answers), value bytes.
  CREATE TABLE IF NOT EXISTS stats_top (kind INTEGER NOT NULL, day INTEGER NOT NULL, value BLOB NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (kind, day, value)) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS stats_sensors (sensor TEXT PRIMARY KEY, attempts INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL) STRICT, WITHOUT ROWID;
  -- An address's credentials and sensors (token-protected API) without a scan of all events.
  CREATE INDEX IF NOT EXISTS events_src_ip ON events (src_ip, sensor);
`;

type Stmt = Database.Statement;

/** Writes the rollups; `add` runs inside the caller's transaction. */
export class SqliteStatsTables {
  readonly #hourIp: Stmt;
  readonly #dayIp: Stmt;
  readonly #hourly: Stmt;
  readonly #daily: Stmt;
  readonly #addressFirst: Stmt;
  readonly #address: Stmt;
  readonly #top: Stmt;
  readonly #sensor: Stmt;

  constructor(db: Database.Database) {
    // INSERT of key and counts, or on conflict the counts added to those stored.
    const bump = (table: string, key: string, counts: string) => {
      const columns = `${key}, ${counts}`.split(', ');
      const sums = counts.split(', ').map((c) => `${c} = ${c} + excluded.${c}`);
      return db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
        ON CONFLICT (${key}) DO UPDATE SET ${sums.join(', ')}`);
    };
    // RETURNING the new total: it equals what was added exactly when the row is new.
    this.#hourIp = db.prepare(
      'INSERT INTO stats_hour_ips (hour, ip, attempts) VALUES (?, ?, ?) ON CONFLICT (hour, ip) DO UPDATE SET attempts = attempts + excluded.attempts RETURNING attempts',
    ).pluck();
    this.#dayIp = db.prepare(
      'INSERT INTO stats_day_ips (day, ip, attempts) VALUES (?, ?, ?) ON CONFLICT (day, ip) DO UPDATE SET attempts = attempts + excluded.attempts RETURNING attempts',
    ).pluck();
    this.#hourly = bump('stats_hourly', 'hour', 'attempts, addresses, new');
    this.#daily = bump('stats_daily', 'day', 'attempts, addresses, new');
    this.#addressFirst = db.prepare('SELECT first FROM stats_addresses WHERE ip = ?').pluck();
    this.#address = db.prepare(`INSERT INTO stats_addresses (ip, first, last, attempts) VALUES (?, ?, ?, ?)
      ON CONFLICT (ip) DO UPDATE SET first = min(first, excluded.first), last = max(last, excluded.last), attempts = attempts + excluded.attempts`);
    this.#top = bump('stats_top', 'kind, day, value', 'count');
    this.#sensor = db.prepare(`INSERT INTO stats_sensors (sensor, attempts, first, last) VALUES (?, ?, ?, ?)
      ON CONFLICT (sensor) DO UPDATE SET attempts = attempts + excluded.attempts, first = min(first, excluded.first), last = max(last, excluded.last)`);
  }

  /** Folds newly stored events in. */
  add(events: readonly LoginEvent[]): void {
    if (events.length === 0) return;
    const hourIps = new Map<string, [number, string, number]>();
    const dayIps = new Map<string, [number, string, number]>();
    const ips = new Map<string, [first: number, last: number, attempts: number]>();
    const top = new Map<string, [number, number, Buffer, number]>();
    const sensors = new Map<string, [number, number, number]>();
    // Per hour and per day: [attempts, new distinct addresses, new first-seen addresses].
    const hours = new Map<number, [number, number, number]>();
    const days = new Map<number, [number, number, number]>();
    const at = (map: Map<number, [number, number, number]>, k: number) => {
      let v = map.get(k);
      if (!v) map.set(k, (v = [0, 0, 0]));
      return v;
    };
    const count = (kind: TopKind, day: number, value: Buffer) => {
      const key = `${KIND_CODES[kind]} ${day} ${value.toString('latin1')}`;
      const v = top.get(key);
      if (v) v[3]++;
      else top.set(key, [KIND_CODES[kind], day, value, 1]);
    };
    for (const e of events) {
      const ip = canonicalAddress(e.src_ip) ?? e.src_ip;
      const hour = Math.floor(e.time / HOUR_MS);
      const day = Math.floor(e.time / DAY_MS);
      at(hours, hour)[0]++;
      at(days, day)[0]++;
      tally(hourIps, `${hour} ${ip}`, hour, ip);
      tally(dayIps, `${day} ${ip}`, day, ip);
      const a = ips.get(ip);
      if (a) {
        a[0] = Math.min(a[0], e.time);
        a[1] = Math.max(a[1], e.time);
        a[2]++;
      } else ips.set(ip, [e.time, e.time, 1]);
      const s = sensors.get(e.sensor);
      if (s) {
        s[0]++;
        s[1] = Math.min(s[1], e.time);
        s[2] = Math.max(s[2], e.time);
      } else sensors.set(e.sensor, [1, e.time, e.time]);
      const user = cut(e.username);
      const pass = cut(e.password);
      count('usernames', day, user);
      count('passwords', day, pass);
      count('pairs', day, encodePair(user, pass));
      // Fingerprints count connections, not attempts: once, with the first credential.
      if (e.attempt === 1) {
        count('options', day, cut(Buffer.from(e.client.options.join(','))));
        for (const ttype of new Set(e.client.ttypes)) count('ttypes', day, cut(Buffer.from(ttype)));
      }
    }
    for (const [hour, ip, n] of hourIps.values()) if (this.#hourIp.get(hour, ip, n) === n) at(hours, hour)[1]++;
    for (const [day, ip, n] of dayIps.values()) if (this.#dayIp.get(day, ip, n) === n) at(days, day)[1]++;
    for (const [ip, [first, last, n]] of ips) {
      const known = this.#addressFirst.get(ip) as number | undefined;
      if (known === undefined || first < known) {
        // A first sighting, or an earlier one (an import of older events): the address is new elsewhere.
        if (known !== undefined) {
          at(hours, Math.floor(known / HOUR_MS))[2]--;
          at(days, Math.floor(known / DAY_MS))[2]--;
        }
        at(hours, Math.floor(first / HOUR_MS))[2]++;
        at(days, Math.floor(first / DAY_MS))[2]++;
      }
      this.#address.run(ip, first, last, n);
    }
    for (const [hour, [a, d, f]] of hours) this.#hourly.run(hour, a, d, f);
    for (const [day, [a, d, f]] of days) this.#daily.run(day, a, d, f);
    for (const [kind, day, value, n] of top.values()) this.#top.run(kind, day, value, n);
    for (const [sensor, [n, first, last]] of sensors) this.#sensor.run(sensor, n, first, last);
  }
}

function tally(map: Map<string, [number, string, number]>, key: string, bucket: number, ip: string): void {
  const v = map.get(key);
  if (v) v[2]++;
  else map.set(key, [bucket, ip, 1]);
}

function cut(bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return b.length > TOP_VALUE_MAX ? Buffer.from(b.subarray(0, TOP_VALUE_MAX)) : Buffer.from(b);
}

/** A pair as one key: u8 user name length, user name, password (both already cut to TOP_VALUE_MAX). */
function encodePair(user: Buffer, pass: Buffer): Buffer {
  return Buffer.concat([Buffer.of(user.length), user, pass]);
}

/** Builds the rollups from the events already stored (the schema step that adds them). */
export function backfillStatsTables(db: Database.Database): void {
  for (const table of ['stats_hourly', 'stats_daily', 'stats_hour_ips', 'stats_day_ips', 'stats_addresses', 'stats_top', 'stats_sensors']) {
    db.exec(`DELETE FROM ${table}`);
  }
  const tables = new SqliteStatsTables(db);
  foldStoredEvents(db, (events) => tables.add(events));
}

/** Reads the rollups (on the writer's connection or a read-only one). */
export class SqliteStats implements StatsReader {
  readonly events: StatsReader['events'];
  readonly #series: Record<Bucket, Stmt>;
  readonly #top: Stmt;
  readonly #hourIps: Stmt;
  readonly #dayIps: Stmt;
  readonly #sensors: Stmt;
  readonly #totals: Stmt;
  readonly #address: Stmt;
  readonly #addressHours: Stmt;
  readonly #addressSensors: Stmt;
  readonly #credentials: Stmt;
  /** Brings the rollups up to date first (the writer folds recorded events in; see sqlite-fold.ts). */
  readonly #fresh: () => void;

  constructor(db: Database.Database, events: StatsReader['events'], fresh: () => void = () => {}) {
    this.events = events;
    this.#fresh = fresh;
    this.#series = {
      hour: db.prepare('SELECT hour, attempts, addresses, new FROM stats_hourly WHERE hour >= ? AND hour < ? ORDER BY hour').raw(),
      day: db.prepare('SELECT day, attempts, addresses, new FROM stats_daily WHERE day >= ? AND day < ? ORDER BY day').raw(),
    };
    this.#top = db
      .prepare('SELECT value, sum(count) AS n FROM stats_top WHERE kind = ? AND day >= ? AND day < ? GROUP BY value ORDER BY n DESC, value LIMIT ?')
      .raw();
    this.#hourIps = db.prepare('SELECT ip, sum(attempts) FROM stats_hour_ips WHERE hour >= ? AND hour < ? GROUP BY ip').raw();
    this.#dayIps = db.prepare('SELECT ip, sum(attempts) FROM stats_day_ips WHERE day >= ? AND day < ? GROUP BY ip').raw();
    this.#sensors = db.prepare('SELECT sensor, attempts, first, last FROM stats_sensors ORDER BY sensor').raw();
    this.#totals = db.prepare('SELECT (SELECT coalesce(sum(attempts), 0) FROM stats_daily), (SELECT count(*) FROM stats_addresses)').raw();
    this.#address = db.prepare('SELECT first, last, attempts FROM stats_addresses WHERE ip = ?').raw();
    this.#addressHours = db.prepare('SELECT hour, attempts FROM stats_hour_ips WHERE ip = ? ORDER BY hour').raw();
    this.#addressSensors = db.prepare('SELECT DISTINCT sensor FROM events WHERE src_ip IN (?, ?) ORDER BY sensor').pluck();
    this.#credentials = db
      .prepare(`SELECT username, password, count(*) AS n, min(time), max(time) FROM events WHERE src_ip IN (?, ?)
        GROUP BY username, password ORDER BY n DESC, max(time) DESC LIMIT ?`)
      .raw();
  }

  /** Whether the file has the rollups (a read-only opening of an older store may not). */
  static available(db: Database.Database): boolean {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'stats_hourly'").get() !== undefined;
  }

  async series(from: number, to: number, bucket: Bucket): Promise<SeriesPoint[]> {
    this.#fresh();
    const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
    const rows = this.#series[bucket].all(Math.floor(from / size), Math.ceil(to / size)) as Array<[number, number, number, number]>;
    return rows.map(([k, attempts, addresses, n]) => ({ t: k * size, attempts, addresses, new: n }));
  }

  async top(kind: TopKind, from: number, to: number, limit: number): Promise<TopEntry[]> {
    this.#fresh();
    const rows = this.#top.all(KIND_CODES[kind], Math.floor(from / DAY_MS), Math.ceil(to / DAY_MS), limit) as Array<[Buffer, number]>;
    return rows.map(([value, count]) => {
      if (kind !== 'pairs') return { value, count };
      const n = value[0]!;
      return { value: value.subarray(1, 1 + n), password: value.subarray(1 + n), count };
    });
  }

  async addresses(from: number, to: number): Promise<Array<[string, number]>> {
    this.#fresh();
    // Whole days when the range is long (fewer rows), whole hours otherwise.
    if (to - from > 2 * DAY_MS) return this.#dayIps.all(Math.floor(from / DAY_MS), Math.ceil(to / DAY_MS)) as Array<[string, number]>;
    return this.#hourIps.all(Math.floor(from / HOUR_MS), Math.ceil(to / HOUR_MS)) as Array<[string, number]>;
  }

  async sensors(): Promise<SensorStats[]> {
    this.#fresh();
    return (this.#sensors.all() as Array<[string, number, number, number]>).map(([sensor, attempts, firstEvent, lastEvent]) => ({
      sensor, attempts, firstEvent, lastEvent,
    }));
  }

  async totals(): Promise<{ events: number; addresses: number }> {
    this.#fresh();
    const [events, addresses] = this.#totals.get() as [number, number];
    return { events, addresses };
  }

  async address(text: string): Promise<AddressStats | null> {
    this.#fresh();
    const ip = canonicalAddress(text);
    if (ip === null) return null;
    const row = this.#address.get(ip) as [number, number, number] | undefined;
    if (!row) return null;
    const hours = (this.#addressHours.all(ip) as Array<[number, number]>).map(([h, n]): [number, number] => [h * HOUR_MS, n]);
    const sensors = this.#addressSensors.all(ip, mapped(ip)) as string[];
    return { ip, first: row[0], last: row[1], attempts: row[2], hours, sensors };
  }

  async credentials(text: string, limit: number): Promise<CredentialStats[]> {
    const ip = canonicalAddress(text);
    if (ip === null) return [];
    return (this.#credentials.all(ip, mapped(ip), limit) as Array<[Buffer, Buffer, number, number, number]>).map(
      ([username, password, count, first, last]) => ({ username, password, count, first, last }),
    );
  }
}

/** The IPv4-mapped IPv6 spelling an event may carry for an IPv4 address. */
function mapped(ip: string): string {
  return ip.includes(':') ? ip : `::ffff:${ip}`;
}
