import type { LoginEvent } from '../events/login-event.ts';

/** Where the sensor's events go. `record` resolves once the event is durable. */
export interface EventSink {
  record(event: LoginEvent): Promise<void>;
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
