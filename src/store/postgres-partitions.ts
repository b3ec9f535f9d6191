// Day partitions of the PostgreSQL `events` table: events_pYYYYMMDD holds the
// UTC day [YYYY-MM-DD 00:00, next day 00:00). Partitions are created ahead of
// time (and on demand for an event of a day that has none, e.g. an import of
// old data), and retention drops whole partitions, which costs no more than
// removing a file, however many rows it held.
import type pg from 'pg';

export const DAY_MS = 86_400_000;
const NAME = /^events_p(\d{4})(\d{2})(\d{2})$/;

/** The start (ms, UTC midnight) of the day holding `ms`. */
export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

export function partitionName(day: number): string {
  return `events_p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The day a partition holds, from its name; undefined for a table that is not one of ours. */
export function partitionDay(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

// Partition DDL by concurrent writers is serialised per schema.
const LOCK = `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.events_partitions'))`;

/** The days that have a partition now. */
export async function listPartitionDays(client: pg.ClientBase): Promise<number[]> {
  const r = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'events'::regclass`,
  );
  return r.rows.map((row) => partitionDay(row.name)).filter((d): d is number => d !== undefined).sort((a, b) => a - b);
}

/** Creates the partitions of `days` that do not exist yet (one transaction). */
export async function createPartitions(client: pg.ClientBase, days: Iterable<number>): Promise<void> {
  const wanted = [...new Set([...days].map(dayOf))].sort((a, b) => a - b);
  if (wanted.length === 0) return;
  await client.query('BEGIN');
  try {
    await client.query(LOCK);
    for (const day of wanted) {
      const from = new Date(day).toISOString();
      const to = new Date(day + DAY_MS).toISOString();
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF events FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Drops the partitions that hold only times before `cutoff`; returns the days dropped. */
export async function dropPartitionsBefore(client: pg.ClientBase, cutoff: number): Promise<number[]> {
  const dropped: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query(LOCK);
    for (const day of await listPartitionDays(client)) {
      if (day + DAY_MS > cutoff) break;
      await client.query(`DROP TABLE ${partitionName(day)}`);
      dropped.push(day);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return dropped;
}
