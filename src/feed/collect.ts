// The read phase of a build: per address, what happened inside the window.
//
// From summaries (the usual case) it reads one row per address whose newest
// attempt is in the window, plus the events of the part of an hour the window
// starts in (settling the one summary bucket that straddles the window's
// start). A pipe-format build needs only (address, newest attempt) and reads
// no summary at all. When the summaries cannot answer exactly (the store
// keeps none, an attempt is newer than the window's end, or the window is
// longer than the summaries' horizon), a store that aggregates per address
// itself (PostgreSQL) is asked for the window's aggregates; otherwise the
// window's events are aggregated here: the same result, at O(events) cost.
import type { FeedSnapshot } from '../store/store.ts';
import { formatIPv4, parseIPv4 } from '../asdb/ip.ts';
import { canonicalAddress } from './address.ts';
import {
  AddressSummary,
  CREDENTIALS_CAP,
  type EdgeCount,
  HOUR_MS,
  SENSORS_CAP,
  SUMMARY_HORIZON_MS,
  summarizeWindow,
  type WindowSummary,
} from './summary.ts';
import type { FeedWindow } from './window.ts';
import type { Pacer } from './pacer.ts';

/**
 * Addresses with their attempts in the window, as columns. An IPv4 address
 * is kept as a number (v4[i]; ips[i] is null): a million strings that
 * survive the read cost more in garbage collection than anything else.
 * An IPv6 address is kept as text (ips[i]; v4[i] is -1).
 */
export interface Collected {
  v4: number[];
  ips: Array<string | null>;
  last: number[];
  /** Present when detail was asked for. */
  first?: number[];
  attempts?: number[];
  credentials?: number[];
  sensors?: number[];
  /** How the rows were obtained. */
  path: 'summaries' | 'aggregates' | 'events';
}

export async function collect(snapshot: FeedSnapshot, window: FeedWindow, detail: boolean, pace: Pacer): Promise<Collected> {
  const newest = snapshot.summaries ? await snapshot.summaries.newest() : undefined;
  const usable = newest !== undefined && (newest === null || newest <= window.to) && window.to - window.from <= SUMMARY_HORIZON_MS;
  if (usable) return fromSummaries(snapshot, window, detail, pace);
  return snapshot.aggregates ? fromAggregates(snapshot, window, detail, pace) : fromEvents(snapshot, window, detail, pace);
}

function columns(detail: boolean, path: Collected['path']): Collected {
  return detail
    ? { v4: [], ips: [], last: [], first: [], attempts: [], credentials: [], sensors: [], path }
    : { v4: [], ips: [], last: [], path };
}

/** Adds an address (canonical text) to the columns. */
function address(c: Collected, ip: string): void {
  const v4 = parseIPv4(ip);
  c.v4.push(v4);
  c.ips.push(v4 >= 0 ? null : ip);
}

/** The text of entry i's address. */
export function ipText(c: Collected, i: number): string {
  return c.ips[i] ?? formatIPv4(c.v4[i]!);
}

function push(c: Collected, ip: string, s: WindowSummary): void {
  address(c, ip);
  c.last.push(s.last);
  if (c.first) {
    c.first.push(s.first);
    c.attempts!.push(s.attempts);
    c.credentials!.push(s.credentials);
    c.sensors!.push(s.sensors);
  }
}

async function fromSummaries(snapshot: FeedSnapshot, window: FeedWindow, detail: boolean, pace: Pacer): Promise<Collected> {
  const out = columns(detail, 'summaries');
  const edge = detail ? await edgeCounts(snapshot, window, pace) : undefined;
  for await (const page of snapshot.summaries!.read(window.from, detail)) {
    if (!detail) {
      // Every address read had its newest attempt in the window, and none is newer than its end.
      for (const ip of page.ips) address(out, ip);
      Array.prototype.push.apply(out.last, page.last);
    } else {
      for (let i = 0; i < page.ips.length; i++) {
        const s = summarizeWindow(page.data![i]!, window.from, window.to, edge!.get(page.ips[i]!));
        if (s) push(out, page.ips[i]!, s);
      }
    }
    await pace();
  }
  return out;
}

/** Attempts per address from the window's start to the end of that hour. */
async function edgeCounts(snapshot: FeedSnapshot, window: FeedWindow, pace: Pacer): Promise<Map<string, EdgeCount>> {
  const counts = new Map<string, EdgeCount>();
  const hourEnd = Math.min((Math.floor(window.from / HOUR_MS) + 1) * HOUR_MS, window.to + 1);
  if (window.from % HOUR_MS === 0) return counts; // no hour straddles the start
  for await (const page of snapshot.events(window.from, hourEnd)) {
    for (const e of page) {
      const ip = canonicalAddress(e.src_ip);
      if (ip === null) continue;
      const c = counts.get(ip);
      if (c === undefined) counts.set(ip, { first: e.time, attempts: 1 });
      else {
        c.attempts++;
        if (e.time < c.first) c.first = e.time;
      }
    }
    await pace();
  }
  return counts;
}

async function fromAggregates(snapshot: FeedSnapshot, window: FeedWindow, detail: boolean, pace: Pacer): Promise<Collected> {
  const out = columns(detail, 'aggregates');
  for await (const page of snapshot.aggregates!(window.from, window.to + 1, detail)) {
    for (let i = 0; i < page.ips.length; i++) {
      const ip = canonicalAddress(page.ips[i]!);
      if (ip === null) continue;
      address(out, ip);
      out.last.push(page.last[i]!);
      if (out.first) {
        out.first.push(page.first![i]!);
        out.attempts!.push(page.attempts![i]!);
        out.credentials!.push(Math.min(page.credentials![i]!, CREDENTIALS_CAP));
        out.sensors!.push(Math.min(page.sensors![i]!, SENSORS_CAP));
      }
    }
    await pace();
  }
  return out;
}

async function fromEvents(snapshot: FeedSnapshot, window: FeedWindow, detail: boolean, pace: Pacer): Promise<Collected> {
  const byAddress = new Map<string, AddressSummary>();
  for await (const page of snapshot.events(window.from, window.to + 1)) {
    for (const e of page) {
      const ip = canonicalAddress(e.src_ip);
      if (ip === null) continue;
      let s = byAddress.get(ip);
      if (s === undefined) byAddress.set(ip, (s = new AddressSummary()));
      s.add(e);
    }
    await pace();
  }
  const out = columns(detail, 'events');
  let n = 0;
  for (const [ip, s] of byAddress) {
    // Every attempt here is inside the window, so nothing is to be cut at the horizon.
    push(out, ip, summarizeWindow(s.encode(Infinity), window.from, window.to)!);
    if ((++n & 4095) === 0) await pace();
  }
  return out;
}
