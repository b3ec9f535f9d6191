// What the dashboard and the JSON API read: rollups kept by the store as it
// records events, so that each answer reads a few hundred rows, not events.
import type { LoginEvent } from '../events/login-event.ts';

export type Bucket = 'hour' | 'day';
export const TOP_KINDS = ['usernames', 'passwords', 'pairs', 'ttypes', 'options'] as const;
export type TopKind = (typeof TOP_KINDS)[number];

export interface SeriesPoint {
  /** Start of the bucket, ms. */
  t: number;
  attempts: number;
  /** Distinct addresses in the bucket. */
  addresses: number;
  /** Addresses whose first attempt ever falls in the bucket (the others in it are returning). */
  new: number;
}

export interface TopEntry {
  /** The bytes the client sent (for pairs: the user name). */
  value: Uint8Array;
  /** Pairs only: the password. */
  password?: Uint8Array;
  count: number;
}

export interface SensorStats {
  sensor: string;
  attempts: number;
  firstEvent: number;
  lastEvent: number;
}

export interface AddressStats {
  ip: string;
  first: number;
  last: number;
  attempts: number;
  /** Attempts per hour: [hour start ms, attempts]. */
  hours: Array<[number, number]>;
  sensors: string[];
}

export interface CredentialStats {
  username: Uint8Array;
  password: Uint8Array;
  count: number;
  first: number;
  last: number;
}

export interface StatsReader {
  series(from: number, to: number, bucket: Bucket): Promise<SeriesPoint[]>;
  /** Most frequent values over the whole UTC days overlapping [from, to). */
  top(kind: TopKind, from: number, to: number, limit: number): Promise<TopEntry[]>;
  /** Each address seen in [from, to) (whole hours) with its attempts there. */
  addresses(from: number, to: number): Promise<Array<[ip: string, attempts: number]>>;
  sensors(): Promise<SensorStats[]>;
  totals(): Promise<{ events: number; addresses: number }>;
  address(ip: string): Promise<AddressStats | null>;
  credentials(ip: string, limit: number): Promise<CredentialStats[]>;
  /** Raw events in id (time) order from `since`. */
  events(query: { since?: number; limit?: number }): AsyncIterable<LoginEvent>;
}
