import type { LoginEvent } from '../events/login-event.ts';

/** Where the sensor's events go. `record` resolves once the event is durable. */
export interface EventSink {
  record(event: LoginEvent): Promise<void>;
  /** A hint: no other event will be recorded until the pending ones are durable, so commit them without waiting out the commit interval. */
  commitSoon?(): void;
}

export interface EventQuery {
  /** Only events at or after this time (ms since the epoch). */
  since?: number;
  /** At most this many events, oldest first. */
  limit?: number;
}

/** A store of LoginEvents (SQLite embedded; PostgreSQL at scale). */
export interface Store extends EventSink {
  /** Events in id (time) order. */
  events(query?: EventQuery): AsyncIterable<LoginEvent>;
  /** Commits whatever is pending and releases the store. */
  close(): Promise<void>;
}

/** What a read-only opening offers: reading events while another process writes. */
export type EventReader = Pick<Store, 'events' | 'close'>;

// What the feed builder reads (src/feed). A separate interface, so that each
// store implements it when it can; other stores are read through their
// events (src/feed/source.ts), which is exact but costs O(events).

/** The fields of a LoginEvent that the feed uses. */
export type FeedEvent = Pick<LoginEvent, 'src_ip' | 'time' | 'sensor' | 'username' | 'password'>;

/** Per-address summaries kept as events are stored (format: src/feed/summary.ts), as columns: row i is ips[i], last[i], data[i]. */
export interface AddressSummaryPage {
  /** Canonical address text. */
  ips: string[];
  /** Each address's newest attempt (ms). */
  last: number[];
  /** The summaries themselves, when asked for. */
  data?: Uint8Array[];
}

/**
 * Per-address aggregates over a window, worked out by the store itself, as
 * columns: row i is ips[i] and its figures; the distinct counts are exact
 * (the builder caps them as summaries do).
 */
export interface AddressAggregatePage {
  /** Canonical address text. */
  ips: string[];
  last: number[];
  /** Present when detail was asked for. */
  first?: number[];
  attempts?: number[];
  credentials?: number[];
  sensors?: number[];
}

/** One consistent view of a store for one feed build. */
export interface FeedSnapshot {
  /** Present when the store keeps per-address summaries. */
  summaries?: {
    /** The newest attempt of any address; null when there is none. */
    newest(): Promise<number | null>;
    /** The addresses whose newest attempt is at or after `since`, a page at a time. */
    read(since: number, withData: boolean): AsyncIterable<AddressSummaryPage>;
  };
  /** Present when the store aggregates per address itself: the addresses with attempts in from <= time < to. */
  aggregates?(from: number, to: number, detail: boolean): AsyncIterable<AddressAggregatePage>;
  /** Events with from <= time < to, a page at a time, in no particular order. */
  events(from: number, to: number): AsyncIterable<FeedEvent[]>;
  close(): Promise<void>;
}

/** A sensor and its own addresses (configured, reported, or seen as the destination of its events). */
export interface SensorRecord {
  id: string;
  addresses: string[];
  firstSeen: number;
  lastSeen: number;
}

export interface FeedSource {
  feedSnapshot(): Promise<FeedSnapshot>;
  sensors(): Promise<SensorRecord[]>;
}
