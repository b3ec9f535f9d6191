// The PostgreSQL store's rollups for the dashboard and the JSON API: the same
// tables and meaning as the SQLite store's (sqlite-stats.ts, rollup.ts).
// As in SQLite they are folded in after the events commit, not in the
// ingest transaction (which stays a COPY: measured, the rollups in it cut a
// collector from 60,000 to 20,000 rows/s): ingest copies each new event into
// `stats_pending` too, and a fold takes up to FOLD_BATCH of them at a time,
// works out what they add, writes one statement per table and deletes them,
// in one transaction. Collectors fold every second; one at a time (an
// advisory lock), so the counts of new addresses stay exact and no two folds
// lock rollup rows in different orders.
import type pg from 'pg';
import { canonicalAddress } from '../feed/address.ts';
import { DAY_MS, HOUR_MS } from '../feed/summary.ts';
import type { LoginEvent } from '../events/login-event.ts';
import { countAddresses, decodePair, KIND_CODES, rollUp, sensorAddresses, type RollupEvent } from './rollup.ts';
import type { AddressStats, Bucket, CredentialStats, SensorStats, SeriesPoint, StatsReader, TopEntry, TopKind } from './stats.ts';

/** Events a fold takes at most per transaction. */
export const FOLD_BATCH = 50_000;

/** Schema step that adds the tables (see postgres-migrations.ts); times are ms since the epoch, as in SQLite. */
export const PG_STATS_SQL = `
  CREATE TABLE stats_hourly (hour integer PRIMARY KEY, attempts bigint NOT NULL, addresses bigint NOT NULL, new bigint NOT NULL);
  CREATE TABLE stats_daily (day integer PRIMARY KEY, attempts bigint NOT NULL, addresses bigint NOT NULL, new bigint NOT NULL);
  CREATE TABLE stats_hour_ips (hour integer NOT NULL, ip inet NOT NULL, attempts bigint NOT NULL, PRIMARY KEY (hour, ip));
  CREATE INDEX stats_hour_ips_ip ON stats_hour_ips (ip, hour);
  CREATE TABLE stats_day_ips (day integer NOT NULL, ip inet NOT NULL, attempts bigint NOT NULL, PRIMARY KEY (day, ip));
  CREATE TABLE stats_addresses (ip inet PRIMARY KEY, first bigint NOT NULL, last bigint NOT NULL, attempts bigint NOT NULL);
  CREATE TABLE stats_top (kind smallint NOT NULL, day integer NOT NULL, value bytea NOT NULL, count bigint NOT NULL, PRIMARY KEY (kind, day, value));
  CREATE TABLE stats_sensors (sensor text PRIMARY KEY, attempts bigint NOT NULL, first bigint NOT NULL, last bigint NOT NULL);
  -- Each sensor's own addresses as its events show them (their destinations): never in the feed.
  CREATE TABLE sensor_addresses (sensor text NOT NULL, address inet NOT NULL, first bigint NOT NULL, last bigint NOT NULL, PRIMARY KEY (sensor, address));
  -- Events stored but not yet folded in (no index: appended, then taken whole).
  CREATE TABLE stats_pending (LIKE events);
`;

// Answers, per bucket, how many of the pairs were new: (xmax = 0) marks a
// row this statement inserted rather than updated.
const PAIRS = (table: string, key: string) => `
  WITH up AS (
    INSERT INTO ${table} AS t (${key}, ip, attempts) SELECT * FROM unnest($1::integer[], $2::inet[], $3::bigint[])
    ON CONFLICT (${key}, ip) DO UPDATE SET attempts = t.attempts + excluded.attempts
    RETURNING ${key} AS bucket, (xmax = 0) AS inserted)
  SELECT bucket, count(*)::integer AS n FROM up WHERE inserted GROUP BY bucket`;
const BUCKETS = (table: string, key: string) => `
  INSERT INTO ${table} AS t (${key}, attempts, addresses, new) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::bigint[])
  ON CONFLICT (${key}) DO UPDATE SET attempts = t.attempts + excluded.attempts, addresses = t.addresses + excluded.addresses, new = t.new + excluded.new`;
const KNOWN_FIRST = `
  SELECT u.i, s.first FROM unnest($1::inet[]) WITH ORDINALITY AS u(ip, i) JOIN stats_addresses s ON s.ip = u.ip`;
const ADDRESSES = `
  INSERT INTO stats_addresses AS t (ip, first, last, attempts) SELECT * FROM unnest($1::inet[], $2::bigint[], $3::bigint[], $4::bigint[])
  ON CONFLICT (ip) DO UPDATE SET first = LEAST(t.first, excluded.first), last = GREATEST(t.last, excluded.last), attempts = t.attempts + excluded.attempts`;
const TOP = `
  INSERT INTO stats_top AS t (kind, day, value, count) SELECT * FROM unnest($1::smallint[], $2::integer[], $3::bytea[], $4::bigint[])
  ON CONFLICT (kind, day, value) DO UPDATE SET count = t.count + excluded.count`;
const SENSOR_ADDRESSES = `
  INSERT INTO sensor_addresses AS t (sensor, address, first, last) SELECT * FROM unnest($1::text[], $2::inet[], $3::bigint[], $4::bigint[])
  ON CONFLICT (sensor, address) DO UPDATE SET first = LEAST(t.first, excluded.first), last = GREATEST(t.last, excluded.last)`;
const SENSORS = `
  INSERT INTO stats_sensors AS t (sensor, attempts, first, last) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
  ON CONFLICT (sensor) DO UPDATE SET attempts = t.attempts + excluded.attempts, first = LEAST(t.first, excluded.first), last = GREATEST(t.last, excluded.last)`;

/** The fold's lock: one per schema (each holds a store of its own). */
const LOCK_KEY = `hashtext(current_schema() || '.stats_fold')`;

type PendingRow = { ms: string; sensor: string; src_ip: string; dst_ip: string; attempt: number; username: Buffer; password: Buffer; client: string };

const TAKE_PENDING = `
  DELETE FROM stats_pending WHERE ctid IN (SELECT ctid FROM stats_pending LIMIT ${FOLD_BATCH})
  RETURNING (extract(epoch FROM time) * 1000)::int8 AS ms, sensor, host(src_ip) AS src_ip, host(dst_ip) AS dst_ip, attempt, username, password, client`;

/**
 * Folds what is pending into the rollups, FOLD_BATCH events per transaction,
 * until none is left; returns how many. When another connection is folding,
 * returns 0 at once, unless `wait` (then it waits for the lock and folds what
 * is left).
 */
export async function foldPgStats(client: pg.ClientBase, { wait = false } = {}): Promise<number> {
  let folded = 0;
  for (;;) {
    await client.query('BEGIN');
    try {
      if (wait) await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
      else if (!(await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${LOCK_KEY}) AS ok`)).rows[0]!.ok) {
        await client.query('COMMIT');
        return folded;
      }
      const rows = (await client.query<PendingRow>(TAKE_PENDING)).rows;
      await addToRollups(client, rows.map((row) => ({ ...row, time: Number(row.ms), client: JSON.parse(row.client) as RollupEvent['client'] })));
      await client.query('COMMIT');
      folded += rows.length;
      if (rows.length < FOLD_BATCH) return folded;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }
}

/** Adds events to the rollups; runs inside the caller's transaction, holding the fold's lock. */
async function addToRollups(client: pg.ClientBase, events: ReadonlyArray<RollupEvent & Pick<LoginEvent, 'dst_ip'>>): Promise<void> {
  if (events.length === 0) return;
  // (No sorting for lock order: folds take turns under the advisory lock.)
  const r = rollUp(events);
  const newIn = async (table: string, key: string, pairs: Array<[number, string, number]>) => {
    const res = await client.query<{ bucket: number; n: number }>(PAIRS(table, key), columns(pairs, 3));
    return res.rows.flatMap((row) => new Array<number>(row.n).fill(row.bucket));
  };
  const newHours = await newIn('stats_hour_ips', 'hour', r.hourIps);
  const newDays = await newIn('stats_day_ips', 'day', r.dayIps);
  const ips = [...r.ips.keys()];
  const known = new Map<string, number>();
  for (const row of (await client.query<{ i: string; first: string }>(KNOWN_FIRST, [ips])).rows) known.set(ips[Number(row.i) - 1]!, Number(row.first));
  countAddresses(r, newHours, newDays, (ip) => known.get(ip));
  await client.query(ADDRESSES, columns([...r.ips].map(([ip, v]) => [ip, ...v]), 4));
  await client.query(BUCKETS('stats_hourly', 'hour'), columns([...r.hours].map(([k, v]) => [k, ...v]), 4));
  await client.query(BUCKETS('stats_daily', 'day'), columns([...r.days].map(([k, v]) => [k, ...v]), 4));
  await client.query(TOP, columns(r.top, 4));
  await client.query(SENSORS, columns([...r.sensors].map(([s, v]) => [s, ...v]), 4));
  await client.query(SENSOR_ADDRESSES, columns(sensorAddresses(events).map((a) => [a.sensor, a.address, a.first, a.last]), 4));
}

/** Rows as column arrays, the form unnest() takes. */
function columns(rows: ReadonlyArray<ReadonlyArray<unknown>>, width: number): unknown[][] {
  const out = Array.from({ length: width }, () => new Array<unknown>(rows.length));
  for (let i = 0; i < rows.length; i++) for (let c = 0; c < width; c++) out[c]![i] = rows[i]![c];
  return out;
}

/** The schema step that adds the rollups: every event already stored is pending. */
export async function backfillPgStats(client: pg.ClientBase): Promise<void> {
  await client.query('INSERT INTO stats_pending SELECT * FROM events');
}

/** Reads the rollups, and an address's events through their (src_ip, time) index. */
export class PgStats implements StatsReader {
  readonly #pool: pg.Pool;
  readonly events: StatsReader['events'];
  /** Brings the rollups up to date first (a store open for writing folds what is pending). */
  readonly #fresh: () => Promise<void>;

  constructor(pool: pg.Pool, events: StatsReader['events'], fresh: () => Promise<void> = async () => {}) {
    this.#pool = pool;
    this.events = events;
    this.#fresh = fresh;
  }

  async series(from: number, to: number, bucket: Bucket): Promise<SeriesPoint[]> {
    await this.#fresh();
    const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
    const [table, key] = bucket === 'hour' ? ['stats_hourly', 'hour'] : ['stats_daily', 'day'];
    const r = await this.#pool.query<{ k: number; attempts: string; addresses: string; new: string }>(
      `SELECT ${key} AS k, attempts, addresses, new FROM ${table} WHERE ${key} >= $1 AND ${key} < $2 ORDER BY ${key}`,
      [Math.floor(from / size), Math.ceil(to / size)],
    );
    return r.rows.map((row) => ({ t: row.k * size, attempts: Number(row.attempts), addresses: Number(row.addresses), new: Number(row.new) }));
  }

  async top(kind: TopKind, from: number, to: number, limit: number): Promise<TopEntry[]> {
    await this.#fresh();
    const r = await this.#pool.query<{ value: Buffer; n: string }>(
      `SELECT value, sum(count) AS n FROM stats_top WHERE kind = $1 AND day >= $2 AND day < $3 GROUP BY value ORDER BY n DESC, value LIMIT $4`,
      [KIND_CODES[kind], Math.floor(from / DAY_MS), Math.ceil(to / DAY_MS), limit],
    );
    return r.rows.map((row) => (kind === 'pairs' ? { ...decodePair(row.value), count: Number(row.n) } : { value: row.value, count: Number(row.n) }));
  }

  async addresses(from: number, to: number): Promise<Array<[string, number]>> {
    await this.#fresh();
    const [table, key, size] = to - from > 2 * DAY_MS ? ['stats_day_ips', 'day', DAY_MS] : ['stats_hour_ips', 'hour', HOUR_MS];
    const r = await this.#pool.query<{ ip: string; n: string }>(
      `SELECT host(ip) AS ip, sum(attempts) AS n FROM ${table} WHERE ${key} >= $1 AND ${key} < $2 GROUP BY ip`,
      [Math.floor(from / size), Math.ceil(to / size)],
    );
    return r.rows.map((row) => [row.ip, Number(row.n)]);
  }

  async sensors(): Promise<SensorStats[]> {
    await this.#fresh();
    const r = await this.#pool.query<{ sensor: string; attempts: string; first: string; last: string }>(
      'SELECT sensor, attempts, first, last FROM stats_sensors ORDER BY sensor',
    );
    return r.rows.map((row) => ({ sensor: row.sensor, attempts: Number(row.attempts), firstEvent: Number(row.first), lastEvent: Number(row.last) }));
  }

  async totals(): Promise<{ events: number; addresses: number }> {
    await this.#fresh();
    const r = await this.#pool.query<{ events: string; addresses: string }>(
      'SELECT (SELECT coalesce(sum(attempts), 0) FROM stats_daily) AS events, (SELECT count(*) FROM stats_addresses) AS addresses',
    );
    return { events: Number(r.rows[0]!.events), addresses: Number(r.rows[0]!.addresses) };
  }

  async address(text: string): Promise<AddressStats | null> {
    await this.#fresh();
    const ip = canonicalAddress(text);
    if (ip === null) return null;
    const [row] = (await this.#pool.query<{ first: string; last: string; attempts: string }>('SELECT first, last, attempts FROM stats_addresses WHERE ip = $1', [ip])).rows;
    if (!row) return null;
    const [hours, sensors] = await Promise.all([
      this.#pool.query<{ hour: number; attempts: string }>('SELECT hour, attempts FROM stats_hour_ips WHERE ip = $1 ORDER BY hour', [ip]),
      this.#pool.query<{ sensor: string }>('SELECT DISTINCT sensor FROM events WHERE src_ip = ANY($1::inet[]) ORDER BY sensor', [spellings(ip)]),
    ]);
    return {
      ip,
      first: Number(row.first),
      last: Number(row.last),
      attempts: Number(row.attempts),
      hours: hours.rows.map((h): [number, number] => [h.hour * HOUR_MS, Number(h.attempts)]),
      sensors: sensors.rows.map((s) => s.sensor),
    };
  }

  async credentials(text: string, limit: number): Promise<CredentialStats[]> {
    const ip = canonicalAddress(text);
    if (ip === null) return [];
    const r = await this.#pool.query<{ username: Buffer; password: Buffer; n: string; first: string; last: string }>(
      `SELECT username, password, count(*) AS n, (extract(epoch FROM min(time)) * 1000)::int8 AS first, (extract(epoch FROM max(time)) * 1000)::int8 AS last
         FROM events WHERE src_ip = ANY($1::inet[]) GROUP BY username, password ORDER BY n DESC, max(time) DESC LIMIT $2`,
      [spellings(ip), limit],
    );
    return r.rows.map((row) => ({ username: row.username, password: row.password, count: Number(row.n), first: Number(row.first), last: Number(row.last) }));
  }
}

/** An address as events may carry it: canonical, and for IPv4 also IPv4-mapped IPv6. */
function spellings(ip: string): string[] {
  return ip.includes(':') ? [ip] : [ip, `::ffff:${ip}`];
}
