// Test helper: checks that what clients submitted is what `telnetlogin events`
// shows, byte for byte, grouped by connection (one session per TCP connection,
// attempts numbered 1..n in it).
import assert from 'node:assert/strict';
import { credentialBytes, type LoginEventJson } from '../../src/events/json.ts';
import { latin1 } from './telnet-client.ts';

/**
 * What one client connection submitted: its address, the credential pairs in order, and when it
 * ran (ms since the epoch): the kernel reuses source ports, so the address alone is not enough.
 */
export interface Submitted {
  ip: string;
  port: number;
  from: number;
  to: number;
  credentials: (readonly [username: Uint8Array, password: Uint8Array])[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const isUtf8 = (b: Uint8Array) => {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
};

/** The exact bytes of an event's credential. */
export function credentialOf(e: LoginEventJson): { username: Buffer; password: Buffer } {
  return {
    username: Buffer.from(credentialBytes(e.username, e.username_b64)),
    password: Buffer.from(credentialBytes(e.password, e.password_b64)),
  };
}

const belongs = (e: LoginEventJson, conn: Submitted) => {
  const time = Date.parse(e.time);
  return e.src_ip === conn.ip && e.src_port === conn.port && time >= conn.from && time <= conn.to;
};

/** The events of one connection, by attempt. */
export function eventsOf(events: LoginEventJson[], conn: Submitted): LoginEventJson[] {
  return events.filter((e) => belongs(e, conn)).sort((a, b) => a.attempt - b.attempt);
}

/**
 * Every credential of every connection is recorded exactly once, byte-exact,
 * with its source address, attempt number and one session per connection; a
 * `_b64` field is there exactly when the bytes are not valid UTF-8.
 */
export function assertRecorded(events: LoginEventJson[], connections: Submitted[], dstPort?: number): void {
  const sessions = new Map<string, string>();
  for (const conn of connections) {
    const mine = eventsOf(events, conn);
    const where = `connection from ${conn.ip}:${conn.port}`;
    const show = (pairs: (readonly [Uint8Array, Uint8Array])[]) => pairs.map(([u, p], i) => ({ attempt: i + 1, username: latin1(u), password: latin1(p) }));
    assert.deepEqual(
      mine.map((e) => {
        const c = credentialOf(e);
        return { attempt: e.attempt, username: latin1(c.username), password: latin1(c.password) };
      }),
      show(conn.credentials),
      `${where}: recorded credentials differ from those submitted`,
    );
    for (const e of mine) {
      assert.equal(e.session, mine[0]!.session, `${where}: one session per connection`);
      if (dstPort !== undefined) assert.equal(e.dst_port, dstPort, `${where}: dst_port`);
      const c = credentialOf(e);
      assert.equal(e.username_b64 !== undefined, !isUtf8(c.username), `${where}: username_b64 iff not UTF-8`);
      assert.equal(e.password_b64 !== undefined, !isUtf8(c.password), `${where}: password_b64 iff not UTF-8`);
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    if (mine.length > 0) {
      const other = sessions.get(mine[0]!.session);
      assert.equal(other, undefined, `${where} shares its session id with ${other}`);
      sessions.set(mine[0]!.session, where);
    }
  }
}

/** No event comes from a connection outside `connections`, except from `otherIps` (floods whose bytes are random). */
export function assertNothingElse(events: LoginEventJson[], connections: Submitted[], otherIps: string[] = []): void {
  const extra = events.filter((e) => !otherIps.includes(e.src_ip) && !connections.some((c) => belongs(e, c)));
  assert.deepEqual(
    extra.map((e) => ({ src: `${e.src_ip}:${e.src_port}`, attempt: e.attempt, ...credentialOf(e) })),
    [],
    'events from no known client',
  );
}

/** Attempts are numbered 1..n within each session (for clients whose credentials are random). */
export function assertAttemptsNumbered(events: Iterable<{ session: string; attempt: number }>): void {
  const bySession = new Map<string, number[]>();
  for (const e of events) bySession.set(e.session, [...(bySession.get(e.session) ?? []), e.attempt]);
  for (const [session, numbers] of bySession) assert.deepEqual(numbers, numbers.map((_, i) => i + 1), `attempts of session ${session}`);
}
