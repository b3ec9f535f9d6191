// LoginEvents from Cowrie's JSON log (one JSON object a line, cowrie.json):
// each `cowrie.login.failed` / `cowrie.login.success` is a login attempt.
// Their ports and destination come from the session's earlier
// `cowrie.session.connect`, which also says whether the session was TELNET
// or SSH (its `protocol`; older Cowrie versions do not say).
//
// Ids are derived from the log line's content (a UUIDv7 made of the
// attempt's time and a hash of sensor, session, time, event, user name and
// password), so importing the same log twice stores each attempt once.
import { createHash } from 'node:crypto';
import { canonicalAddress } from '../feed/address.ts';
import { emptyClientInfo, type LoginEvent } from './login-event.ts';

export type CowrieProtocol = 'telnet' | 'ssh' | 'any';

interface Session {
  protocol: string | undefined;
  srcPort: number;
  dstIp: string | undefined;
  dstPort: number;
  attempts: number;
}

const LOGIN_EVENTS = new Set(['cowrie.login.failed', 'cowrie.login.success']);
// ISO 8601 as Cowrie writes it: microseconds, then Z or an offset such as +0000.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

export class CowrieLog {
  readonly #sessions = new Map<string, Session>();
  readonly #protocol: CowrieProtocol;
  readonly #sensorId: string | undefined;
  /** Login attempts left out: of another protocol, or of a session whose protocol the log does not say. */
  readonly skipped = { otherProtocol: 0, unknownProtocol: 0 };

  constructor(options: { protocol?: CowrieProtocol; sensorId?: string } = {}) {
    this.#protocol = options.protocol ?? 'telnet';
    this.#sensorId = options.sensorId;
  }

  /** The login attempt on this line, if it is one to import; throws an Error saying what is wrong with the line. */
  line(text: string): LoginEvent | undefined {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (err) {
      throw new Error(`not JSON (${(err as Error).message})`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('not a JSON object');
    const e = o as Record<string, unknown>;
    if (typeof e.eventid !== 'string') throw new Error('no "eventid": not a Cowrie event');
    const sessionId = typeof e.session === 'string' ? e.session : undefined;
    const key = `${String(e.sensor)}\n${sessionId}`;
    if (e.eventid === 'cowrie.session.connect') {
      this.#sessions.set(key, {
        protocol: typeof e.protocol === 'string' ? e.protocol : undefined,
        srcPort: port(e.src_port),
        dstIp: typeof e.dst_ip === 'string' ? (canonicalAddress(e.dst_ip) ?? undefined) : undefined,
        dstPort: port(e.dst_port),
        attempts: 0,
      });
      return undefined;
    }
    if (e.eventid === 'cowrie.session.closed') {
      this.#sessions.delete(key);
      return undefined;
    }
    if (!LOGIN_EVENTS.has(e.eventid)) return undefined;

    const field = (name: string): string => {
      if (typeof e[name] !== 'string') throw new Error(`${e.eventid} without a string "${name}"`);
      return e[name] as string;
    };
    const srcIp = canonicalAddress(field('src_ip'));
    if (srcIp === null) throw new Error(`src_ip ${JSON.stringify(e.src_ip)} is not an IP address`);
    const timestamp = field('timestamp');
    const time = parseTimestamp(timestamp);
    if (time < 0) throw new Error(`timestamp ${timestamp} is before 1970`);
    const session = field('session');
    const username = field('username');
    const password = field('password');
    const rawSensor = typeof e.sensor === 'string' ? e.sensor : '';
    const sensor = this.#sensorId ?? (rawSensor.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'cowrie');

    let s = this.#sessions.get(key);
    if (!s) this.#sessions.set(key, (s = { protocol: undefined, srcPort: 0, dstIp: undefined, dstPort: 0, attempts: 0 }));
    if (this.#protocol !== 'any') {
      if (s.protocol === undefined) return void this.skipped.unknownProtocol++;
      if (s.protocol !== this.#protocol) return void this.skipped.otherProtocol++;
    }
    s.attempts++;
    const digest = createHash('sha256').update([rawSensor, session, timestamp, e.eventid, username, password].join('\0')).digest();
    return {
      id: uuidFrom(digest, 7, time),
      time,
      sensor,
      src_ip: srcIp,
      src_port: s.srcPort,
      // Unknown when the log holds no connect event for the session.
      dst_ip: s.dstIp ?? (srcIp.includes(':') ? '::' : '0.0.0.0'),
      dst_port: s.dstPort,
      session: uuidFrom(createHash('sha256').update(`${rawSensor}\0${session}`).digest(), 8),
      attempt: s.attempts,
      username: Buffer.from(username, 'utf8'),
      password: Buffer.from(password, 'utf8'),
      client: emptyClientInfo(),
    };
  }
}

function port(v: unknown): number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? (v as number) : 0;
}

export function parseTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
    const offset = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2))) * 60_000;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0').slice(0, 3)));
    const check = new Date(ms);
    if (check.getUTCDate() === Number(d) && check.getUTCMonth() === Number(mo) - 1 && Number(h) < 24 && Number(mi) < 60 && Number(s) < 60) {
      return ms - offset;
    }
  }
  throw new Error(`timestamp ${JSON.stringify(text)} is not an ISO 8601 time`);
}

/** A UUID of `version` (7: the first 48 bits are `ms`; 8: all hash) from a hash's bytes. */
function uuidFrom(digest: Buffer, version: 7 | 8, ms = 0): string {
  const b = Buffer.from(digest.subarray(0, 16));
  if (version === 7) b.writeUIntBE(ms, 0, 6);
  b[6] = (version << 4) | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
