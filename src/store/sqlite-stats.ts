// The embedded store's rollups for the dashboard and the JSON API (src/store/stats.ts),
// kept up to date as events are stored (folded in batches, see sqlite-fold.ts).
// Each batch is aggregated in JS first: one upsert per distinct key per
// batch, not per event.
import type Database from 'better-sqlite3';
import { canonicalAddress } from '../feed/address.ts';
import { DAY_MS, HOUR_MS } from '../feed/summary.ts';
import { countAddresses, decodePair, KIND_CODES, rollUp, type RollupEvent } from './rollup.ts';
import { foldStoredEvents } from './sqlite-rows.ts';
import type { AddressStats, Bucket, CredentialStats, SensorStats, SeriesPoint, StatsReader, TopEntry, TopKind } from './stats.ts';

/**
 * An address's events, for its sensors and credentials (the address view),
 * by hour: the addresses of a fold's events are random, but their hours are
 * the current one, so a fold writes a few pages of this table. An index on
 * events by address cost every durable commit a page at a random place per
 * event (measured: about 7% of the sensor's CPU per login attempt at c=200, bench:sensor).
 * A reader finds an address's hours in stats_hour_ips.
 */
export const ADDRESS_EVENTS_SQL = `CREATE TABLE IF NOT EXISTS stats_address_events (hour INTEGER NOT NULL, ip TEXT NOT NULL, sensor TEXT NOT NULL,
    id TEXT NOT NULL, PRIMARY KEY (hour, ip, sensor, id)) STRICT, WITHOUT ROWID;`;
const INSERT_ADDRESS_EVENT = 'INSERT OR IGNORE INTO stats_address_events (hour, ip, sensor, id) VALUES (?, ?, ?, ?)';

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
  ${ADDRESS_EVENTS_SQL}
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
  readonly #addressEvent: Stmt;

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
    this.#addressEvent = db.prepare(INSERT_ADDRESS_EVENT);
  }

  /** Folds newly stored events in. */
  add(events: readonly RollupEvent[]): void {
    if (events.length === 0) return;
    const r = rollUp(events);
    // RETURNING the new total: it equals what was added exactly when the pair is new.
    const newHours: number[] = [];
    // Addresses new to the hour of their first event in the batch: only these can be new to the store.
    const newToFirstHour = new Set<string>();
    for (const [hour, ip, n] of r.hourIps) {
      if (this.#hourIp.get(hour, ip, n) !== n) continue;
      newHours.push(hour);
      if (hour === Math.floor(r.ips.get(ip)![0] / HOUR_MS)) newToFirstHour.add(ip);
    }
    const newDays: number[] = [];
    for (const [day, ip, n] of r.dayIps) if (this.#dayIp.get(day, ip, n) === n) newDays.push(day);
    // The store already had an event of any other address in the hour of its
    // first one here: its first event is then in that hour or earlier, and
    // wherever in that hour, its novelty stays in the same hour and day. Not
    // looking it up (as if known earlier) changes no count and saves a read
    // per address and fold.
    countAddresses(r, newHours, newDays, (ip) => (newToFirstHour.has(ip) ? (this.#addressFirst.get(ip) as number | undefined) : -Infinity));
    for (const [ip, [first, last, n]] of r.ips) this.#address.run(ip, first, last, n);
    for (const [hour, [a, d, f]] of r.hours) this.#hourly.run(hour, a, d, f);
    for (const [day, [a, d, f]] of r.days) this.#daily.run(day, a, d, f);
    for (const [kind, day, value, n] of r.top) this.#top.run(kind, day, value, n);
    for (const [sensor, [n, first, last]] of r.sensors) this.#sensor.run(sensor, n, first, last);
    for (const [hour, ip, sensor, id] of r.addressEvents) this.#addressEvent.run(hour, ip, sensor, id);
  }
}

/** Builds the rollups from the events already stored (the schema step that adds them). */
export function backfillStatsTables(db: Database.Database): void {
  for (const table of ['stats_hourly', 'stats_daily', 'stats_hour_ips', 'stats_day_ips', 'stats_addresses', 'stats_top', 'stats_sensors', 'stats_address_events']) {
    db.exec(`DELETE FROM ${table}`);
  }
  const tables = new SqliteStatsTables(db);
  foldStoredEvents(db, (events) => tables.add(events));
}

/** Fills stats_address_events from the events already stored (the schema step that adds it). */
export function backfillAddressEvents(db: Database.Database): void {
  const insert = db.prepare(INSERT_ADDRESS_EVENT);
  foldStoredEvents(db, (events) => {
    for (const row of rollUp(events).addressEvents) insert.run(...row);
  });
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
    // The address's hours, then its events of each hour.
    const addressEvents = 'stats_hour_ips h JOIN stats_address_events a ON a.hour = h.hour AND a.ip = h.ip';
    this.#addressSensors = db.prepare(`SELECT DISTINCT a.sensor FROM ${addressEvents} WHERE h.ip = ? ORDER BY a.sensor`).pluck();
    this.#credentials = db
      .prepare(`SELECT e.username, e.password, count(*) AS n, min(e.time), max(e.time) FROM ${addressEvents} JOIN events e ON e.id = a.id
        WHERE h.ip = ? GROUP BY e.username, e.password ORDER BY n DESC, max(e.time) DESC LIMIT ?`)
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
    return rows.map(([value, count]) => (kind === 'pairs' ? { ...decodePair(value), count } : { value, count }));
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
    const sensors = this.#addressSensors.all(ip) as string[];
    return { ip, first: row[0], last: row[1], attempts: row[2], hours, sensors };
  }

  async credentials(text: string, limit: number): Promise<CredentialStats[]> {
    this.#fresh();
    const ip = canonicalAddress(text);
    if (ip === null) return [];
    return (this.#credentials.all(ip, limit) as Array<[Buffer, Buffer, number, number, number]>).map(
      ([username, password, count, first, last]) => ({ username, password, count, first, last }),
    );
  }
}
