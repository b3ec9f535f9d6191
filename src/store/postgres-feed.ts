// The PostgreSQL store's side of the feed: one consistent view for a build
// (a read-only REPEATABLE READ transaction on a connection of its own). The
// server aggregates the window's events per address itself (one GROUP BY,
// exact for any window), so a build receives one row per address, not every
// event (measured at a million events: 48 s reading the events into the
// builder); the events themselves are also there, through a cursor.
import type pg from 'pg';
import type { AddressAggregatePage, FeedEvent, FeedSnapshot } from './store.ts';

const FETCH = 10_000; // rows per round trip

/** An inet column as canonicalAddress() has it: an IPv4-mapped IPv6 address is the IPv4 address. */
export const canonicalInet = (column: string) =>
  `CASE WHEN family(${column}) = 6 AND ${column} << '::ffff:0.0.0.0/96' THEN '0.0.0.0'::inet + (${column} - '::ffff:0.0.0.0'::inet) ELSE ${column} END`;
const MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::int8`;

/** A timestamp literal for a finite ms value (DECLARE takes no bind parameters). */
function timestamp(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`not a finite time: ${ms}`);
  return `'${new Date(Math.max(-2e14, Math.min(2e14, ms))).toISOString()}'::timestamptz`;
}

export async function openPgFeedSnapshot(pool: pg.Pool): Promise<FeedSnapshot> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  } catch (err) {
    client.release(true);
    throw err;
  }
  let cursors = 0;
  let done = false;
  // A query's rows through a server-side cursor, FETCH rows at a time.
  async function* fetchAll<Row extends pg.QueryResultRow>(query: string): AsyncGenerator<Row[]> {
    const cursor = `tl_feed_${++cursors}`;
    await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${query}`);
    for (;;) {
      const r = await client.query<Row>(`FETCH ${FETCH} FROM ${cursor}`);
      if (r.rows.length === 0) break;
      yield r.rows;
    }
    await client.query(`CLOSE ${cursor}`);
  }
  return {
    async *aggregates(from: number, to: number, detail: boolean): AsyncGenerator<AddressAggregatePage> {
      const where = `time >= ${timestamp(from)} AND time < ${timestamp(to)}`;
      const figures = detail
        ? `, ${MS('min(time)')} AS first, count(*) AS attempts, count(DISTINCT (username, password)) AS credentials, count(DISTINCT sensor) AS sensors`
        : '';
      type Row = { ip: string; last: string; first?: string; attempts?: string; credentials?: string; sensors?: string };
      for await (const rows of fetchAll<Row>(`SELECT host(${canonicalInet('src_ip')}) AS ip, ${MS('max(time)')} AS last${figures} FROM events WHERE ${where} GROUP BY 1`)) {
        const page: AddressAggregatePage = { ips: rows.map((r) => r.ip), last: rows.map((r) => Number(r.last)) };
        if (detail) {
          page.first = rows.map((r) => Number(r.first));
          page.attempts = rows.map((r) => Number(r.attempts));
          page.credentials = rows.map((r) => Number(r.credentials));
          page.sensors = rows.map((r) => Number(r.sensors));
        }
        yield page;
      }
    },
    async *events(from: number, to: number): AsyncGenerator<FeedEvent[]> {
      type Row = { src_ip: string; ms: string; sensor: string; username: Buffer; password: Buffer };
      const query = `SELECT host(src_ip) AS src_ip, ${MS('time')} AS ms, sensor, username, password
        FROM events WHERE time >= ${timestamp(from)} AND time < ${timestamp(to)}`;
      for await (const rows of fetchAll<Row>(query)) {
        yield rows.map((row) => ({ src_ip: row.src_ip, time: Number(row.ms), sensor: row.sensor, username: row.username, password: row.password }));
      }
    },
    async close() {
      if (done) return;
      done = true;
      try {
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        client.release(true);
        throw err;
      }
    },
  };
}
