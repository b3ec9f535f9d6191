// Bulk loading for the PostgreSQL store: LoginEvents as COPY text rows, and a
// minimal COPY FROM STDIN for node-postgres (a pg "Submittable", the interface
// pg-copy-streams builds on). COPY of a whole batch is about twice as fast on
// the server as a multi-row INSERT from unnest() arrays (bench/pipeline.ts).
import { isIP } from 'node:net';
import type pg from 'pg';
import type { LoginEventJson } from '../events/json.ts';

// Rows are made from the JSON form of events (design.md): the form the
// collector receives, so a message becomes a row without building a
// LoginEvent (and its byte buffers) in between.

// Ids and session ids: UUIDs (ours are UUIDv7) or ULIDs; either way no byte
// that COPY text format would need to escape.
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ULID = /^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$/;
const isId = (s: unknown) => typeof s === 'string' && (s.length === 36 ? UUID.test(s) : ULID.test(s));
const SENSOR_ID = /^[A-Za-z0-9_-]{1,64}$/;
// ISO 8601 UTC with milliseconds, as eventToJson writes it.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MAX_INT = 2 ** 31 - 1;

const isPort = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 65535;
/** inet takes no zone index ("fe80::1%eth0"); isIP does. */
const isInet = (s: unknown) => typeof s === 'string' && isIP(s) !== 0 && !s.includes('%');
const isOptionalString = (s: unknown) => s === undefined || typeof s === 'string';

// Events of a batch come from the same seconds: the last second found valid is remembered.
let validSecond = '';
/** A real UTC time from 1970 on, as PostgreSQL reads it ("2026-02-30..." is not one). */
function isTime(t: unknown): boolean {
  if (typeof t !== 'string' || !ISO_TIME.test(t)) return false;
  const second = t.slice(0, 19);
  if (second === validSecond) return true;
  const ms = Date.parse(t);
  if (!(ms >= 0) || new Date(ms).toISOString() !== t) return false;
  validSecond = second;
  return true;
}

/** Why PostgreSQL would refuse the event (and with it the whole COPY), or undefined when it is fine. */
export function rowProblem(e: LoginEventJson): string | undefined {
  if (!isId(e.id)) return 'id is not a UUID or ULID';
  if (!isTime(e.time)) return 'time is not an ISO 8601 UTC time with milliseconds from 1970 on';
  if (typeof e.sensor !== 'string' || !SENSOR_ID.test(e.sensor)) return 'sensor is not 1-64 letters, digits, _ or -';
  if (!isInet(e.src_ip)) return 'src_ip is not an IP address';
  if (!isInet(e.dst_ip)) return 'dst_ip is not an IP address';
  if (!isPort(e.src_port) || !isPort(e.dst_port)) return 'a port is not 0-65535';
  if (!isId(e.session)) return 'session is not a UUID or ULID';
  if (!(Number.isInteger(e.attempt) && e.attempt >= 1 && e.attempt <= MAX_INT)) return 'attempt is not a positive integer';
  if (typeof e.username !== 'string' || typeof e.password !== 'string') return 'username or password is not a string';
  if (!isOptionalString(e.username_b64) || !isOptionalString(e.password_b64)) return 'username_b64 or password_b64 is not a string';
  if (typeof e.client !== 'object' || e.client === null || Array.isArray(e.client)) return 'client is not an object';
  return undefined;
}

let lastDate = '';
let lastDay = 0;
/** The UTC day (ms at midnight) of an event that passed rowProblem(). */
export function rowDay(e: LoginEventJson): number {
  const date = e.time.slice(0, 10);
  if (date !== lastDate) {
    lastDate = date;
    lastDay = Date.parse(date);
  }
  return lastDay;
}

/** The columns of a COPY row, in table order. */
export const EVENT_COLUMNS = 'id, time, sensor, src_ip, src_port, dst_ip, dst_port, session, attempt, username, password, client';

// COPY text format escapes backslash, tab, newline and carriage return. The
// JSON of `client` is the only free text, and JSON.stringify leaves no control
// character in it (tab is \t, NUL is \u0000): only its backslashes are doubled.
const jsonText = (json: string) => (json.includes('\\') ? json.replaceAll('\\', '\\\\') : json);
// Printable ASCII but the backslash: the same bytes in COPY text and in
// bytea's escape format, so most credentials go in as they are.
const PLAIN = /^[\x20-\x5b\x5d-\x7e]*$/;

/** A bytea field: the exact bytes (from _b64 when given, else the UTF-8 of the text). */
function bytea(text: string, b64: string | undefined): string {
  if (b64 !== undefined) return `\\\\x${Buffer.from(b64, 'base64').toString('hex')}`;
  return PLAIN.test(text) ? text : `\\\\x${Buffer.from(text, 'utf8').toString('hex')}`;
}

/** One event as a line of COPY text; the event must have passed rowProblem(). */
export function copyRow(e: LoginEventJson): string {
  // An array's join builds the line flat: a template would build a tree of
  // string pieces that the batch's join then walks (measured: 0.7 µs a row).
  const fields = [
    e.id, e.time, e.sensor, e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.session, e.attempt,
    bytea(e.username, e.username_b64), bytea(e.password, e.password_b64), jsonText(JSON.stringify(e.client)),
  ];
  return `${fields.join('\t')}\n`;
}

/** Runs `COPY ... FROM STDIN` with `data` (COPY text, UTF-8) as its input; resolves with the number of rows copied. */
export function copyFrom(client: pg.ClientBase, sql: string, data: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    // pg passes the submittable back to these handlers as the active query.
    let error: unknown;
    let rows = 0;
    const submittable = {
      submit(connection: CopyConnection) {
        connection.query(sql);
      },
      handleCopyInResponse(connection: CopyConnection) {
        connection.sendCopyFromChunk(data);
        connection.endCopyFrom();
      },
      handleCommandComplete(msg: { text: string }) {
        rows = Number(/\d+$/.exec(msg.text)?.[0] ?? 0);
      },
      // A backend error arrives here and no ReadyForQuery follows for this
      // query; a dead socket ends every query here too.
      handleError(err: unknown) {
        error = err;
        reject(err);
      },
      handleReadyForQuery() {
        if (error === undefined) resolve(rows);
      },
      handleEmptyQuery() {},
      handleRowDescription() {},
      handleDataRow() {},
      handlePortalSuspended() {},
      handleCopyData() {},
    };
    client.query(submittable as unknown as pg.Submittable);
  });
}

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}
