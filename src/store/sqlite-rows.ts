// The events table's rows as read with better-sqlite3, shared by the store's
// reads and the schema steps that rebuild derived tables from the events.
import type Database from 'better-sqlite3';
import type { LoginEvent } from '../events/login-event.ts';

export const COLUMNS = 'id, time, sensor, src_ip, src_port, dst_ip, dst_port, session, attempt, username, password, client';

// A row as read in raw mode (arrays are cheaper to build than objects), in COLUMNS order.
export type Row = [
  id: string,
  time: number,
  sensor: string,
  src_ip: string,
  src_port: number,
  dst_ip: string,
  dst_port: number,
  session: string,
  attempt: number,
  username: Buffer,
  password: Buffer,
  client: string,
];

export function rowToEvent(row: Row): LoginEvent {
  const [id, time, sensor, src_ip, src_port, dst_ip, dst_port, session, attempt, username, password, client] = row;
  return {
    id, time, sensor, src_ip, src_port, dst_ip, dst_port, session, attempt, username, password,
    client: JSON.parse(client) as LoginEvent['client'],
  };
}

/** Hands every stored event to `fold`, in id order, a page at a time (for schema backfills). */
export function foldStoredEvents(db: Database.Database, fold: (events: LoginEvent[]) => void): void {
  const page = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT 20000`).raw();
  let after = '';
  for (;;) {
    const rows = page.all(after);
    if (rows.length === 0) return;
    fold(rows.map(rowToEvent));
    after = rows[rows.length - 1]![0];
  }
}
