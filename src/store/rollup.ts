// The dashboard's rollups (src/store/stats.ts) as one batch of events adds to
// them, worked out in memory first, so that the SQLite store (its fold,
// sqlite-stats.ts) writes one upsert per distinct key per batch, not per
// event. The PostgreSQL store folds the same way in SQL (postgres-stats.ts)
// and shares the pieces below that describe the stored values.
import type { LoginEvent } from '../events/login-event.ts';
import { canonicalAddress } from '../feed/address.ts';
import { DAY_MS, HOUR_MS } from '../feed/summary.ts';
import type { TopKind } from './stats.ts';
import type { SensorRecord } from './store.ts';

/** Longest value kept in a top list (bytes); longer ones are cut, so that a hostile client cannot grow the rollups. */
export const TOP_VALUE_MAX = 128;

/** How each top list is stored (stats_top.kind). */
export const KIND_CODES: Record<TopKind, number> = { usernames: 1, passwords: 2, pairs: 3, ttypes: 4, options: 5 };

/** What the rollups read of an event. */
export type RollupEvent = Pick<LoginEvent, 'id' | 'src_ip' | 'time' | 'sensor' | 'username' | 'password' | 'attempt' | 'client'>;

/** Per hour or day: attempts, addresses new to the bucket, addresses seen for the first time ever. */
export type BucketCounts = [attempts: number, addresses: number, fresh: number];

export interface Rollup {
  hours: Map<number, BucketCounts>;
  days: Map<number, BucketCounts>;
  /** [hour, canonical address, attempts], one per distinct pair. */
  hourIps: Array<[number, string, number]>;
  dayIps: Array<[number, string, number]>;
  /** Canonical address -> [first, last, attempts]. */
  ips: Map<string, [number, number, number]>;
  /** [kind code, day, value bytes, count], one per distinct key. */
  top: Array<[number, number, Uint8Array, number]>;
  /** Sensor -> [attempts, first, last]. */
  sensors: Map<string, [number, number, number]>;
  /** [hour, canonical address, sensor, event id] of every event. */
  addressEvents: Array<[number, string, string, string]>;
}

/** Everything but the addresses' novelty, which only the store knows: see countAddresses. */
export function rollUp(events: readonly RollupEvent[]): Rollup {
  const hourIps = new BucketTally();
  const dayIps = new BucketTally();
  const top = new TopCounts();
  const r: Rollup = { hours: new Map(), days: new Map(), hourIps: [], dayIps: [], ips: new Map(), top: [], sensors: new Map(), addressEvents: [] };
  const count = (kind: TopKind, day: number, value: Uint8Array) => top.add(kind, day, value, 1);
  for (const e of events) {
    const ip = canonicalAddress(e.src_ip) ?? e.src_ip;
    const hour = Math.floor(e.time / HOUR_MS);
    const day = Math.floor(e.time / DAY_MS);
    bucket(r.hours, hour)[0]++;
    bucket(r.days, day)[0]++;
    hourIps.add(hour, ip);
    dayIps.add(day, ip);
    r.addressEvents.push([hour, ip, e.sensor, e.id]);
    const a = r.ips.get(ip);
    if (a) {
      a[0] = Math.min(a[0], e.time);
      a[1] = Math.max(a[1], e.time);
      a[2]++;
    } else r.ips.set(ip, [e.time, e.time, 1]);
    const s = r.sensors.get(e.sensor);
    if (s) {
      s[0]++;
      s[1] = Math.min(s[1], e.time);
      s[2] = Math.max(s[2], e.time);
    } else r.sensors.set(e.sensor, [1, e.time, e.time]);
    const user = cut(e.username);
    const pass = cut(e.password);
    count('usernames', day, user);
    count('passwords', day, pass);
    count('pairs', day, encodePair(user, pass));
    // Fingerprints count connections, not attempts: once, with the first credential.
    if (e.attempt === 1) for (const [kind, value] of fingerprints(e.client)) count(kind, day, value);
  }
  r.hourIps = hourIps.rows();
  r.dayIps = dayIps.rows();
  r.top = top.rows();
  return r;
}

// The counters below key their maps by number first, then by one string, not
// by a string made per event from both: building and hashing those strings
// was most of the cost of a rollup.

/** Attempts per (hour or day, canonical address). */
class BucketTally {
  readonly #buckets = new Map<number, Map<string, [number, string, number]>>();

  add(b: number, ip: string): void {
    let inBucket = this.#buckets.get(b);
    if (!inBucket) this.#buckets.set(b, (inBucket = new Map()));
    const v = inBucket.get(ip);
    if (v) v[2]++;
    else inBucket.set(ip, [b, ip, 1]);
  }

  /** [bucket, address, attempts], one per distinct pair. */
  rows(): Array<[number, string, number]> {
    const out: Array<[number, string, number]> = [];
    for (const inBucket of this.#buckets.values()) for (const v of inBucket.values()) out.push(v);
    return out;
  }
}

/** Counts per top-list key (kind, day, value bytes), as stats_top holds them. */
export class TopCounts {
  /** By list (kind and day), then by value (its bytes as latin1 text: one character per byte). */
  readonly #lists = new Map<number, Map<string, [number, number, Uint8Array, number]>>();

  add(kind: TopKind, day: number, value: Uint8Array, n: number): void {
    const code = KIND_CODES[kind];
    const list = day * 8 + code; // codes are 1 to 5
    let counts = this.#lists.get(list);
    if (!counts) this.#lists.set(list, (counts = new Map()));
    const key = latin1(value);
    const v = counts.get(key);
    if (v) v[3] += n;
    else counts.set(key, [code, day, value, n]);
  }

  /** [kind code, day, value, count], one per distinct key. */
  rows(): Array<[number, number, Uint8Array, number]> {
    const out: Array<[number, number, Uint8Array, number]> = [];
    for (const counts of this.#lists.values()) for (const v of counts.values()) out.push(v);
    return out;
  }
}

/** What a connection's client adds to the fingerprint top lists: its option answers, and each terminal type it named. */
export function fingerprints(client: Pick<LoginEvent['client'], 'options' | 'ttypes'>): Array<[TopKind, Buffer]> {
  const out: Array<[TopKind, Buffer]> = [['options', cut(Buffer.from(client.options.join(',')))]];
  for (const ttype of new Set(client.ttypes)) out.push(['ttypes', cut(Buffer.from(ttype))]);
  return out;
}

/**
 * Adds to the hour and day counts what the store found when it wrote the
 * batch: the hours and days each new (bucket, address) pair is in, and the
 * first attempt it already knew of each address of the batch (undefined: a
 * new address). An address first seen earlier than the store knew (an import
 * of older events) moves its "new" from the old bucket to the earlier one.
 */
export function countAddresses(r: Rollup, newHourPairs: Iterable<number>, newDayPairs: Iterable<number>, knownFirst: (ip: string) => number | undefined): void {
  for (const hour of newHourPairs) bucket(r.hours, hour)[1]++;
  for (const day of newDayPairs) bucket(r.days, day)[1]++;
  for (const [ip, [first]] of r.ips) {
    const known = knownFirst(ip);
    if (known !== undefined && first >= known) continue;
    if (known !== undefined) {
      bucket(r.hours, Math.floor(known / HOUR_MS))[2]--;
      bucket(r.days, Math.floor(known / DAY_MS))[2]--;
    }
    bucket(r.hours, Math.floor(first / HOUR_MS))[2]++;
    bucket(r.days, Math.floor(first / DAY_MS))[2]++;
  }
}

/** A sensor's address as its events show it (their destination), with the first and last time seen there. */
export interface SeenAddress {
  sensor: string;
  address: string;
  first: number;
  last: number;
}

/**
 * The destinations of events, as their sensors' own addresses (the feed never
 * lists them): one per distinct (sensor, address), canonical; an unspecified
 * destination (an import that did not know it) is no address of the sensor.
 */
export function sensorAddresses(events: ReadonlyArray<Pick<LoginEvent, 'sensor' | 'dst_ip' | 'time'>>): SeenAddress[] {
  const seen = new Map<string, SeenAddress | null>();
  for (const e of events) {
    const key = `${e.sensor}\n${e.dst_ip}`;
    const known = seen.get(key);
    if (known === null) continue;
    if (known) {
      known.first = Math.min(known.first, e.time);
      known.last = Math.max(known.last, e.time);
      continue;
    }
    const address = canonicalAddress(e.dst_ip);
    seen.set(key, address === null || address === '0.0.0.0' || address === '::' ? null : { sensor: e.sensor, address, first: e.time, last: e.time });
  }
  return [...seen.values()].filter((s): s is SeenAddress => s !== null);
}

/**
 * Sensor records from sightings ([sensor, its addresses then, first, last]),
 * in the order the sensors first appear; each address listed once.
 */
export function sensorRecords(sightings: Iterable<readonly [string, readonly string[], number, number]>): SensorRecord[] {
  const byId = new Map<string, SensorRecord>();
  for (const [id, addresses, first, last] of sightings) {
    let s = byId.get(id);
    if (!s) byId.set(id, (s = { id, addresses: [], firstSeen: first, lastSeen: last }));
    for (const a of addresses) if (!s.addresses.includes(a)) s.addresses.push(a);
    s.firstSeen = Math.min(s.firstSeen, first);
    s.lastSeen = Math.max(s.lastSeen, last);
  }
  return [...byId.values()];
}

/** A pair as stored in a top list: u8 user name length, user name, password (both already cut). */
export function encodePair(user: Uint8Array, pass: Uint8Array): Uint8Array {
  const pair = new Uint8Array(1 + user.length + pass.length);
  pair[0] = user.length;
  pair.set(user, 1);
  pair.set(pass, 1 + user.length);
  return pair;
}

/** The user name and password of a stored pair. */
export function decodePair(value: Uint8Array): { value: Uint8Array; password: Uint8Array } {
  const n = value[0]!;
  return { value: value.subarray(1, 1 + n), password: value.subarray(1 + n) };
}

function bucket(map: Map<number, BucketCounts>, k: number): BucketCounts {
  let v = map.get(k);
  if (!v) map.set(k, (v = [0, 0, 0]));
  return v;
}

/** The first TOP_VALUE_MAX bytes: the value itself or a view (events are never changed, so nothing is copied). */
function cut<T extends Uint8Array>(bytes: T): T {
  return bytes.length <= TOP_VALUE_MAX ? bytes : (bytes.subarray(0, TOP_VALUE_MAX) as T);
}

/**
 * The bytes as text, a character per byte: a key that tells values apart
 * exactly. One string from the codes at once (a string built a character at
 * a time makes garbage per character); values are cut to TOP_VALUE_MAX bytes,
 * few enough to pass as arguments.
 */
function latin1(bytes: Uint8Array): string {
  if (bytes.length > TOP_VALUE_MAX) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}
