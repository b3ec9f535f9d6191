// The store at scale: LoginEvents in PostgreSQL, in day partitions, behind the
// same Store interface as the embedded SQLite store. The collector writes
// batches through ingest() (events, sensor heartbeats and rejected messages in
// one transaction); record() groups single events into such batches.
//
// Every write is idempotent on the event id: a batch goes in by COPY, and a
// batch that collides with stored ids (a redelivery, a re-published outbox
// entry) goes again through a staging table with ON CONFLICT DO NOTHING.
import { userInfo } from 'node:os';
import pg from 'pg';
import { eventToJson, type LoginEventJson } from '../events/json.ts';
import type { LoginEvent } from '../events/login-event.ts';
import { TelnetloginError } from '../errors.ts';
import { GroupCommit } from './group-commit.ts';
import { EVENT_COLUMNS, copyFrom, copyRow, rowDay, rowProblem } from './postgres-copy.ts';
import { pgCheckVersion, pgMigrate, pgSchemaVersion } from './postgres-migrations.ts';
import { openPgFeedSnapshot } from './postgres-feed.ts';
import { foldPgStats, PgStats } from './postgres-stats.ts';
import { sensorRecords } from './rollup.ts';
import { DAY_MS, createPartitions, dayOf, dropPartitionsBefore, listPartitionDays } from './postgres-partitions.ts';
import type { EventQuery, FeedSnapshot, FeedSource, SensorRecord, Store } from './store.ts';

export interface PostgresStoreOptions {
  /** Connections kept open (default 4). */
  poolSize?: number;
  /** record(): commit at once when this many events are pending (default 2000). */
  maxBatch?: number;
  /** Open for reading only: no migrations, record() and ingest() refuse. */
  readonly?: boolean;
  /** Days of partitions kept created ahead of today (default 3). */
  partitionsAhead?: number;
  /** Errors of idle connections (the server went away); they are replaced on next use. */
  onError?(err: Error): void;
}

/** What a sensor reports about itself (telnetlogin.heartbeats.<id>). */
export interface SensorHeartbeat {
  sensor: string;
  /** When it was received (the broker's time, ms), not the sensor's clock. */
  time: number;
  addresses: string[];
  version: string;
  counters: Record<string, number>;
}

/** A message the collector could not store, kept as received. */
export interface RejectedMessage {
  subject: string;
  error: string;
  payload: Uint8Array;
}

export interface IngestBatch {
  /** In their JSON form (design.md), as the collector receives them. */
  events: LoginEventJson[];
  heartbeats?: SensorHeartbeat[];
  rejected?: RejectedMessage[];
}

export interface SensorRow {
  id: string;
  addresses: string[];
  version: string;
  firstSeen: number;
  lastSeen: number;
  counters: Record<string, number>;
}

const PAGE = 1000; // rows per query while streaming `events`

const SELECT_EVENTS = `
  SELECT id, (extract(epoch FROM time) * 1000)::int8 AS ms, sensor, host(src_ip) AS src_ip, src_port,
         host(dst_ip) AS dst_ip, dst_port, session, attempt, username, password, client
    FROM events WHERE time >= $1 AND id > $2 ORDER BY id LIMIT $3`;

const UPSERT_SENSOR = `
  INSERT INTO sensors AS s (id, addresses, version, first_seen, last_seen, counters)
  VALUES ($1, $2::inet[], $3, $4, $4, $5)
  ON CONFLICT (id) DO UPDATE SET
    first_seen = LEAST(s.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen),
    -- A late (redelivered) heartbeat does not overwrite a newer one.
    addresses = CASE WHEN EXCLUDED.last_seen >= s.last_seen THEN EXCLUDED.addresses ELSE s.addresses END,
    version = CASE WHEN EXCLUDED.last_seen >= s.last_seen THEN EXCLUDED.version ELSE s.version END,
    counters = CASE WHEN EXCLUDED.last_seen >= s.last_seen THEN EXCLUDED.counters ELSE s.counters END`;

/** A row as node-postgres returns it: time as ms text (int8), bytea as Buffers, client as JSON text. */
type EventRow = Omit<LoginEvent, 'time' | 'username' | 'password' | 'client'> & {
  ms: string;
  username: Buffer;
  password: Buffer;
  client: string;
};

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable PostgreSQL URL)';
  }
}

/**
 * The URL with a user name: like libpq, node-postgres's own default is the
 * USER variable, which services and CI runs may lack; libpq then asks the OS.
 */
export function withDefaultUser(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || process.env.PGUSER || !u.host) return url;
    u.username = encodeURIComponent(process.env.USER || userInfo().username);
    return u.toString();
  } catch {
    return url; // pg reports what is wrong with it
  }
}

/** Connects, checks (and unless read-only, upgrades) the schema and creates the coming days' partitions. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const where = redactUrl(url);
  // Idle connections stay open (the default closes them after 10 s): a collector
  // folds every second, and its fold keeps working tables on its connection.
  const pool = new pg.Pool({ connectionString: withDefaultUser(url), max: options.poolSize ?? 4, idleTimeoutMillis: 0 });
  pool.on('error', (err) => options.onError?.(err));
  try {
    const client = await pool.connect();
    try {
      if (options.readonly) {
        const version = await pgCheckVersion(client, where);
        if (version !== pgSchemaVersion) {
          throw new TelnetloginError(
            'TL_STORE_VERSION',
            version === 0
              ? `${where} holds no telnetlogin store (schema version 0)`
              : `${where} has schema version ${version}, this telnetlogin reads ${pgSchemaVersion}; open it once for writing (telnetlogin collector) to upgrade it`,
          );
        }
      } else {
        await pgMigrate(client, where);
      }
    } finally {
      client.release();
    }
    const store = new PostgresStore(pool, where, options);
    if (!options.readonly) await store.maintain();
    return store;
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof TelnetloginError) throw err;
    throw new TelnetloginError('TL_STORE_OPEN', `cannot open ${where}: ${(err as Error).message}`, { cause: err });
  }
}

export class PostgresStore implements Store, FeedSource {
  readonly where: string;
  readonly #pool: pg.Pool;
  readonly #options: PostgresStoreOptions;
  readonly #batcher: GroupCommit<LoginEventJson>;
  /** Days known to have a partition (re-read after any failed write). */
  #partitions: Set<number> | undefined;
  #closed = false;

  /** Use openPostgresStore. */
  constructor(pool: pg.Pool, where: string, options: PostgresStoreOptions) {
    this.#pool = pool;
    this.where = where;
    this.#options = options;
    this.#batcher = new GroupCommit(
      async (events) => {
        const errors = events.map((e) => {
          const problem = rowProblem(e);
          return problem === undefined ? undefined : new TelnetloginError('TL_STORE_EVENT', `event ${String(e.id)} not stored: ${problem}`);
        });
        await this.ingest({ events: events.filter((_, i) => errors[i] === undefined) });
        return errors;
      },
      { maxBatch: options.maxBatch ?? 2000 },
    );
  }

  /** Transactions run by record() so far. */
  get commits(): number {
    return this.#batcher.batches;
  }

  /** Resolves once the transaction holding `event` has committed. */
  record(event: LoginEvent): Promise<void> {
    const refused = this.#refuseWrites();
    return refused ? Promise.reject(refused) : this.#batcher.add(eventToJson(event));
  }

  /**
   * Stores a batch in one transaction and resolves after it committed:
   * events idempotently on their id (every one must have passed rowProblem()),
   * heartbeats into `sensors`/`heartbeats`, rejected messages as they came.
   * Resolves with the number of events that were new.
   */
  async ingest(batch: IngestBatch): Promise<{ inserted: number }> {
    const refused = this.#refuseWrites();
    if (refused) throw refused;
    const { events, heartbeats = [], rejected = [] } = batch;
    try {
      await this.#ensurePartitions(events.map(rowDay));
      // In id order, so that writers of overlapping batches take row locks in
      // the same order and cannot deadlock.
      const data = Buffer.from([...events].sort(byId).map(copyRow).join(''), 'utf8');
      return await this.#withClient((client) => this.#ingestOn(client, data, heartbeats, rejected));
    } catch (err) {
      this.#partitions = undefined;
      throw new TelnetloginError(
        'TL_STORE_COMMIT',
        `${this.where}: ${events.length} events not committed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async #ingestOn(
    client: pg.PoolClient,
    data: Buffer,
    heartbeats: SensorHeartbeat[],
    rejected: RejectedMessage[],
  ): Promise<{ inserted: number }> {
    const transaction = async (events: () => Promise<number>) => {
      await client.query('BEGIN');
      try {
        const inserted = data.length === 0 ? 0 : await events();
        await this.#writeHeartbeats(client, heartbeats);
        await this.#writeRejected(client, rejected);
        await client.query('COMMIT');
        return inserted;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    };
    // New events also go to stats_pending, for the rollups' fold (postgres-stats.ts).
    try {
      return {
        inserted: await transaction(async () => {
          await copyFrom(client, `COPY events (${EVENT_COLUMNS}) FROM STDIN`, data);
          return copyFrom(client, `COPY stats_pending (${EVENT_COLUMNS}) FROM STDIN`, data);
        }),
      };
    } catch (err) {
      if ((err as pg.DatabaseError).code !== '23505') throw err; // unique_violation: some ids are stored already
    }
    return {
      inserted: await transaction(async () => {
        await client.query('CREATE TEMP TABLE IF NOT EXISTS events_incoming (LIKE events) ON COMMIT DELETE ROWS');
        await copyFrom(client, `COPY events_incoming (${EVENT_COLUMNS}) FROM STDIN`, data);
        const r = await client.query(`
          WITH inserted AS (INSERT INTO events SELECT * FROM events_incoming ORDER BY id ON CONFLICT (id, time) DO NOTHING RETURNING *)
          INSERT INTO stats_pending SELECT * FROM inserted`);
        return r.rowCount ?? 0;
      }),
    };
  }

  async #writeHeartbeats(client: pg.ClientBase, heartbeats: SensorHeartbeat[]): Promise<void> {
    for (const h of [...heartbeats].sort((a, b) => a.time - b.time)) {
      const time = new Date(h.time).toISOString();
      const counters = JSON.stringify(h.counters);
      await client.query({ name: 'tl_upsert_sensor', text: UPSERT_SENSOR, values: [h.sensor, h.addresses, h.version, time, counters] });
      await client.query({
        name: 'tl_insert_heartbeat',
        text: 'INSERT INTO heartbeats (sensor, time, counters) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        values: [h.sensor, time, counters],
      });
    }
  }

  async #writeRejected(client: pg.ClientBase, rejected: RejectedMessage[]): Promise<void> {
    if (rejected.length === 0) return;
    const noNul = (s: string) => s.replaceAll('\0', '\\0'); // text columns cannot hold NUL
    await client.query(
      'INSERT INTO rejected_messages (subject, error, payload) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])',
      [rejected.map((r) => noNul(r.subject)), rejected.map((r) => noNul(r.error)), rejected.map((r) => Buffer.from(r.payload))],
    );
  }

  async #ensurePartitions(days: number[]): Promise<void> {
    this.#partitions ??= new Set(await this.#withClient(listPartitionDays));
    const known = this.#partitions;
    const missing = new Set<number>();
    for (const day of days) if (!known.has(day)) missing.add(day);
    if (missing.size === 0) return;
    await this.#withClient((client) => createPartitions(client, missing));
    for (const day of missing) known.add(day);
  }

  /**
   * Creates the partitions of today and the coming days and, given a
   * retention, drops partitions (and heartbeats and rejected messages) older
   * than that. Cheap: run it at start and every hour or so.
   */
  async maintain({ now = Date.now(), retentionMs }: { now?: number; retentionMs?: number } = {}): Promise<{ dropped: number[] }> {
    const ahead = this.#options.partitionsAhead ?? 3;
    const today = dayOf(now);
    await this.#ensurePartitions(Array.from({ length: ahead + 1 }, (_, i) => today + i * DAY_MS));
    if (retentionMs === undefined) return { dropped: [] };
    const cutoff = now - retentionMs;
    const dropped = await this.#withClient(async (client) => {
      const days = await dropPartitionsBefore(client, cutoff);
      const before = new Date(cutoff).toISOString();
      await client.query('DELETE FROM heartbeats WHERE time < $1', [before]);
      await client.query('DELETE FROM rejected_messages WHERE received < $1', [before]);
      return days;
    });
    for (const day of dropped) this.#partitions?.delete(day);
    return { dropped };
  }

  /** A consistent view of the events for one feed build (postgres-feed.ts). */
  feedSnapshot(): Promise<FeedSnapshot> {
    return openPgFeedSnapshot(this.#pool);
  }

  /**
   * Each sensor and its own addresses (never listed in the feed): those its
   * heartbeats report, and the destinations of its events (as folded).
   */
  async sensors(): Promise<SensorRecord[]> {
    if (!this.#options.readonly && !this.#closed) await this.foldStats({ wait: true });
    const sightings: Array<[string, string[], number, number]> = (await this.heartbeats()).map((h) => [h.id, h.addresses, h.firstSeen, h.lastSeen]);
    const seen = await this.#pool.query<{ sensor: string; address: string; first: string; last: string }>(
      'SELECT sensor, host(address) AS address, first, last FROM sensor_addresses ORDER BY sensor, address',
    );
    for (const r of seen.rows) sightings.push([r.sensor, [r.address], Number(r.first), Number(r.last)]);
    return sensorRecords(sightings).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The sensors that have sent heartbeats, by id, each with its latest report. */
  async heartbeats(): Promise<SensorRow[]> {
    const r = await this.#pool.query<{
      id: string;
      addresses: string;
      version: string;
      first_seen: Date;
      last_seen: Date;
      counters: Record<string, number>;
    }>(`SELECT id, array_to_json(array(SELECT host(a) FROM unnest(addresses) a))::text AS addresses, version,
               first_seen, last_seen, counters FROM sensors ORDER BY id`);
    return r.rows.map((row) => ({
      id: row.id,
      addresses: JSON.parse(row.addresses) as string[],
      version: row.version,
      firstSeen: row.first_seen.getTime(),
      lastSeen: row.last_seen.getTime(),
      counters: row.counters,
    }));
  }

  /**
   * Events in id order, a page at a time (keyset pagination on the primary
   * key): no query stays open between pages, and events committed meanwhile
   * with a later id are included.
   */
  async *events(query: EventQuery = {}): AsyncGenerator<LoginEvent> {
    const since = query.since;
    let remaining = query.limit ?? Infinity;
    if (since !== undefined && !Number.isFinite(since)) throw new RangeError(`since must be a finite number of ms, not ${since}`);
    if (!(remaining >= 0 && (Number.isInteger(remaining) || remaining === Infinity))) {
      throw new RangeError(`limit must be a whole number, not ${remaining}`);
    }
    // Outside timestamptz's range, a time before every event.
    const from = since === undefined || since < -2e14 ? '-infinity' : new Date(since).toISOString();
    let after = '';
    while (remaining > 0) {
      const n = Math.min(remaining, PAGE);
      const r = await this.#pool.query<EventRow>({ name: 'tl_events_page', text: SELECT_EVENTS, values: [from, after, n] });
      for (const row of r.rows) yield rowToEvent(row);
      remaining -= r.rows.length;
      if (r.rows.length < n) return;
      after = r.rows[r.rows.length - 1]!.id;
    }
  }

  /**
   * The dashboard's rollups and per-address reads. On a store open for
   * writing, each read first folds in what is pending; a read-only opening
   * reads them as the collectors last folded them.
   */
  stats(): PgStats {
    const fresh = this.#options.readonly ? async () => {} : async () => void (await this.foldStats({ wait: true }));
    return new PgStats(this.#pool, (query) => this.events(query), fresh);
  }

  /**
   * Folds the events stored since the last fold into the rollups; returns
   * how many. With another connection folding, returns 0 at once, or with
   * `wait` waits for it and folds what it left.
   */
  foldStats(options: { wait?: boolean } = {}): Promise<number> {
    const refused = this.#refuseWrites();
    if (refused) return Promise.reject(refused);
    return this.#withClient((client) => foldPgStats(client, options));
  }

  /** Commits what record() has pending, then closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#batcher.drain();
      // Best effort: what is not folded stays pending for the next fold.
      if (!this.#options.readonly) {
        await this.#withClient((client) => foldPgStats(client, { wait: true })).catch((err: Error) => this.#options.onError?.(err));
      }
    } finally {
      await this.#pool.end();
    }
  }

  #refuseWrites(): TelnetloginError | undefined {
    if (this.#closed) return new TelnetloginError('TL_STORE_CLOSED', `${this.where} is closed`);
    if (this.#options.readonly) return new TelnetloginError('TL_STORE_READONLY', `${this.where} is open read-only`);
    return undefined;
  }

  async #withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    // The pool listens for errors of idle connections only: one that dies
    // (the server terminated it) while checked out would otherwise crash the
    // process. Its queries fail on their own; it is not reused.
    let failed = true;
    let died = false;
    const dead = (err: Error) => {
      died = true;
      this.#options.onError?.(err);
    };
    client.on('error', dead);
    try {
      const result = await fn(client);
      failed = false;
      return result;
    } finally {
      client.off('error', dead);
      client.release(failed || died);
    }
  }
}

const byId = (a: LoginEventJson, b: LoginEventJson) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function rowToEvent(row: EventRow): LoginEvent {
  return {
    id: row.id,
    time: Number(row.ms),
    sensor: row.sensor,
    src_ip: row.src_ip,
    src_port: row.src_port,
    dst_ip: row.dst_ip,
    dst_port: row.dst_port,
    session: row.session,
    attempt: row.attempt,
    username: row.username,
    password: row.password,
    client: JSON.parse(row.client) as LoginEvent['client'],
  };
}
