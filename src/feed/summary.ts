// Per-address summaries: what a feed build needs to know about one client
// address, kept up to date by the store as events are recorded, so that a
// build reads one row per address in the window instead of every event.
//
// A summary holds, for the last SUMMARY_HORIZON_MS before its newest attempt:
// - hourly buckets (hour, first and last attempt in it, attempts), from which
//   any window of up to the horizon gets its first seen, last seen and
//   attempts exactly, except inside the one hour the window starts in, which
//   the builder settles from that hour's events (see collect.ts);
// - each distinct credential (user name + password) and sensor, as a 53-bit
//   hash with the time it was last used: "used inside [from, to]" is then
//   "last used at or after from", exact as long as no attempt is newer than
//   `to`. Only the most recently used CREDENTIALS_CAP credentials and
//   SENSORS_CAP sensors are kept, so the counts saturate at those caps
//   (min(true count, cap), exactly; see countSince).
//
// Binary form (little-endian), stored as a BLOB:
//   u8 version (1), u8 0, u16 hours, u16 credentials, u16 sensors
//   hours x (u32 hour since the epoch, u32 first ms in the hour, u32 last ms in the hour, u32 attempts)
//   credentials x (f64 hash, f64 last used ms), then sensors likewise
import type { FeedEvent } from '../store/store.ts';
import { canonicalAddress } from './address.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** How far back from its newest attempt a summary keeps detail: windows up to this long are built from summaries. */
export const SUMMARY_HORIZON_MS = 8 * DAY_MS;
export const CREDENTIALS_CAP = 256;
export const SENSORS_CAP = 64;

const VERSION = 1;
const HEADER = 8;
const BUCKET = 16;
const KEYED = 16;

/** What the feed says about an address over a window. */
export interface WindowSummary {
  first: number;
  last: number;
  attempts: number;
  credentials: number;
  sensors: number;
}

/** Attempts inside the hour a window starts in, from that hour's events. */
export interface EdgeCount {
  first: number;
  attempts: number;
}

export class AddressSummary {
  last = -Infinity;
  /** Flat [hour, firstOffset, lastOffset, attempts] quadruples, ascending by hour. */
  readonly hours: number[] = [];
  readonly credentials = new RecentKeys();
  readonly sensors = new RecentKeys();

  static decode(bytes: Uint8Array | undefined): AddressSummary {
    const s = new AddressSummary();
    if (bytes === undefined) return s;
    const v = view(bytes);
    const [nHours, nCreds, nSensors] = [v.getUint16(2, true), v.getUint16(4, true), v.getUint16(6, true)];
    let o = HEADER;
    for (let i = 0; i < nHours; i++, o += BUCKET) {
      const hour = v.getUint32(o, true);
      const lastOffset = v.getUint32(o + 8, true);
      s.hours.push(hour, v.getUint32(o + 4, true), lastOffset, v.getUint32(o + 12, true));
      s.last = Math.max(s.last, hour * HOUR_MS + lastOffset);
    }
    s.credentials.read(v, o, nCreds);
    s.sensors.read(v, o + nCreds * KEYED, nSensors);
    return s;
  }

  add(e: FeedEvent): void {
    const t = e.time;
    const hour = Math.floor(t / HOUR_MS);
    const offset = t - hour * HOUR_MS;
    const h = this.hours;
    // Events mostly arrive in time order: look from the newest bucket back.
    let i = h.length - 4;
    while (i >= 0 && h[i]! > hour) i -= 4;
    if (i >= 0 && h[i] === hour) {
      if (offset < h[i + 1]!) h[i + 1] = offset;
      if (offset > h[i + 2]!) h[i + 2] = offset;
      h[i + 3]!++;
    } else {
      h.splice(i + 4, 0, hour, offset, offset, 1);
    }
    if (t > this.last) this.last = t;
    this.credentials.touch(credentialKey(e.username, e.password), t);
    this.sensors.touch(textKey(e.sensor), t);
  }

  /**
   * The binary form, without what no window of up to `horizonMs` ending at
   * or after the newest attempt can see, and with only the most recently used
   * credentials and sensors up to their caps.
   */
  encode(horizonMs = SUMMARY_HORIZON_MS): Uint8Array {
    const since = this.last - horizonMs;
    const h = this.hours;
    let firstKept = 0;
    while (firstKept < h.length && h[firstKept]! * HOUR_MS + h[firstKept + 2]! < since) firstKept += 4;
    const credentials = this.credentials.mostRecent(since, CREDENTIALS_CAP);
    const sensors = this.sensors.mostRecent(since, SENSORS_CAP);
    const nHours = (h.length - firstKept) / 4;
    const bytes = new Uint8Array(HEADER + nHours * BUCKET + (credentials.length + sensors.length) * KEYED);
    const v = view(bytes);
    v.setUint8(0, VERSION);
    v.setUint16(2, nHours, true);
    v.setUint16(4, credentials.length, true);
    v.setUint16(6, sensors.length, true);
    let o = HEADER;
    for (let i = firstKept; i < h.length; i++, o += 4) v.setUint32(o, h[i]!, true);
    o = this.credentials.write(v, o, credentials);
    this.sensors.write(v, o, sensors);
    return bytes;
  }
}

/**
 * The summary of the attempts inside [from, to], from a summary's binary
 * form; null when there were none. Valid when no attempt in the summary is
 * newer than `to` and `from` is within the horizon of its newest attempt.
 * `edge` gives the attempts in [from, end of from's hour) when the summary's
 * bucket for that hour also holds earlier attempts.
 */
export function summarizeWindow(bytes: Uint8Array, from: number, to: number, edge?: EdgeCount): WindowSummary | null {
  const v = view(bytes);
  if (v.getUint8(0) !== VERSION) throw new Error(`address summary version ${v.getUint8(0)} is not ${VERSION}`);
  const [nHours, nCreds, nSensors] = [v.getUint16(2, true), v.getUint16(4, true), v.getUint16(6, true)];
  let first = Infinity;
  let last = -Infinity;
  let attempts = 0;
  let o = HEADER;
  for (let i = 0; i < nHours; i++, o += BUCKET) {
    const start = v.getUint32(o, true) * HOUR_MS;
    const bucketFirst = start + v.getUint32(o + 4, true);
    const bucketLast = start + v.getUint32(o + 8, true);
    if (bucketLast < from || bucketFirst > to) continue;
    if (bucketLast > last) last = bucketLast;
    if (bucketFirst >= from) {
      if (bucketFirst < first) first = bucketFirst;
      attempts += v.getUint32(o + 12, true);
    } else {
      // Only the bucket of the hour holding `from` can straddle it.
      if (edge === undefined) throw new Error('address summary: the window starts inside an hour with attempts on both sides, and no count for that hour was given');
      if (edge.first < first) first = edge.first;
      attempts += edge.attempts;
    }
  }
  if (attempts === 0) return null;
  const credentials = countSince(v, o, nCreds, from);
  const sensors = countSince(v, o + nCreds * KEYED, nSensors, from);
  return { first, last, attempts, credentials, sensors };
}

/**
 * Keys (of `n` at byte `o`) last used at or after `from`. Because only the
 * most recently used keys are kept, this is min(true count, cap): when at
 * least `cap` keys were used in the window, the kept ones all were.
 */
function countSince(v: DataView, o: number, n: number, from: number): number {
  let count = 0;
  for (let i = 0; i < n; i++, o += KEYED) if (v.getFloat64(o + 8, true) >= from) count++;
  return count;
}

/**
 * Folds recorded events into the summaries of their addresses: one read and
 * one write per distinct address, so a store calls it once per transaction.
 * Events whose src_ip is not an address are left out of the feed.
 */
export function updateSummaries(
  events: readonly FeedEvent[],
  read: (ip: string) => Uint8Array | undefined,
  write: (ip: string, last: number, summary: Uint8Array) => void,
): void {
  const byAddress = new Map<string, FeedEvent[]>();
  for (const e of events) {
    const ip = canonicalAddress(e.src_ip);
    if (ip === null) continue;
    const list = byAddress.get(ip);
    if (list) list.push(e);
    else byAddress.set(ip, [e]);
  }
  for (const [ip, list] of byAddress) {
    const summary = AddressSummary.decode(read(ip));
    for (const e of list) summary.add(e);
    write(ip, summary.last, summary.encode());
  }
}

/** Lookups scanned before a RecentKeys builds its index. */
const SCANS_BEFORE_INDEX = 16;
/** Keys over the cap that mostRecent drops one scan at a time rather than by sorting them all. */
const EVICT_BY_SCAN = 8;

/**
 * Keys (53-bit hashes) with the time each was last used, in two flat arrays.
 * A fold decodes a stored summary (up to the cap of keys), touches the few
 * keys of its new events and encodes it again: a linear scan finds those few,
 * where filling a Map with every stored key cost more than the rest of the
 * update. A summary built from many events gets a Map index after a few
 * lookups.
 */
class RecentKeys {
  // Plain arrays (of unboxed doubles in V8): allocating typed arrays per summary cost more than the update.
  #keys: number[] = [];
  #times: number[] = [];
  #scans = 0;
  #index: Map<number, number> | undefined;

  /** Loads `n` (key, time) pairs from the binary form at byte `o`. */
  read(v: DataView, o: number, n: number): void {
    const keys: number[] = [];
    const times: number[] = [];
    for (let i = 0; i < n; i++, o += KEYED) {
      keys.push(v.getFloat64(o, true));
      times.push(v.getFloat64(o + 8, true));
    }
    this.#keys = keys;
    this.#times = times;
    this.#index = undefined;
  }

  /** Marks `key` as used at `t` (a later time than it has, or a new key). */
  touch(key: number, t: number): void {
    const i = this.#find(key);
    if (i >= 0) {
      if (t > this.#times[i]!) this.#times[i] = t;
      return;
    }
    this.#index?.set(key, this.#keys.length);
    this.#keys.push(key);
    this.#times.push(t);
  }

  /**
   * Positions of the `cap` most recently used keys used at or after `since`
   * (ties broken by the smaller key).
   */
  mostRecent(since: number, cap: number): number[] {
    const times = this.#times;
    const keys = this.#keys;
    const picked: number[] = [];
    for (let i = 0; i < times.length; i++) if (times[i]! >= since) picked.push(i);
    if (picked.length <= cap) return picked; // the usual case
    // More recent first, then the smaller key.
    const before = (a: number, b: number) => times[a]! > times[b]! || (times[a] === times[b] && keys[a]! < keys[b]!);
    if (picked.length - cap > EVICT_BY_SCAN) return picked.sort((a, b) => (before(a, b) ? -1 : 1)).slice(0, cap);
    // A fold adds a few keys to a full summary: drop the last few, a scan each.
    while (picked.length > cap) {
      let last = 0;
      for (let j = 1; j < picked.length; j++) if (before(picked[last]!, picked[j]!)) last = j;
      picked.splice(last, 1);
    }
    return picked;
  }

  /** Writes the pairs at `positions` from byte `o`; returns the byte after them. */
  write(v: DataView, o: number, positions: readonly number[]): number {
    for (const i of positions) {
      v.setFloat64(o, this.#keys[i]!, true);
      v.setFloat64(o + 8, this.#times[i]!, true);
      o += KEYED;
    }
    return o;
  }

  #find(key: number): number {
    if (this.#index) return this.#index.get(key) ?? -1;
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i;
    if (++this.#scans === SCANS_BEFORE_INDEX) {
      this.#index = new Map();
      for (let i = 0; i < keys.length; i++) this.#index.set(keys[i]!, i);
    }
    return -1;
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// A 53-bit hash (two 32-bit multiply-xorshift lanes, in the manner of
// cyrb53): collisions among the few hundred keys of one address are
// negligible (about 1e-11), and it costs far less than a cryptographic hash
// on the insert path. Lengths seed it, so ("ab", "c") and ("a", "bc") differ.
function mix(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export function credentialKey(username: Uint8Array, password: Uint8Array): number {
  let h1 = 0xdeadbeef ^ username.length;
  let h2 = 0x41c6ce57 ^ password.length;
  for (let i = 0; i < username.length; i++) {
    const b = username[i]!;
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  for (let i = 0; i < password.length; i++) {
    const b = password[i]! | 0x100; // apart from the user name's bytes
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  return mix(h1, h2);
}

export function textKey(text: string): number {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  return mix(h1, h2);
}
