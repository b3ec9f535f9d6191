// Turns a built feed into the bytes of one of its formats, a chunk at a
// time, so that output streams and the event loop is never held for long.
import type { BuiltFeed } from './build.ts';
import { csvFormat } from './formats/csv.ts';
import { dataplaneFormat } from './formats/dataplane.ts';
import { jsonFormat } from './formats/json.ts';
import type { Pacer } from './pacer.ts';

/** Counts of what an output lists. */
export interface Listed {
  addresses: number;
  /** Distinct origin ASes (NA not counted). */
  asns: number;
}

export interface FeedFormat {
  name: 'dataplane' | 'csv' | 'json';
  /** File name under which it is published, and its media type. */
  file: string;
  contentType: string;
  /** Whether it needs the detail columns (first seen, attempts, ...). */
  detail: boolean;
  /** Whether entry `i` is in this format. */
  lists(feed: BuiltFeed, i: number): boolean;
  header(feed: BuiltFeed, listed: Listed): string;
  /** Entry `i`; `index` is its position among the listed entries. */
  entry(feed: BuiltFeed, i: number, index: number): string;
  footer(feed: BuiltFeed, listed: Listed): string;
}

const CHUNK = 64 * 1024;

export const FORMATS = {
  dataplane: dataplaneFormat,
  csv: csvFormat,
  json: jsonFormat,
} as const satisfies Record<string, FeedFormat>;

export type FormatName = keyof typeof FORMATS;

export function isFormatName(name: string): name is FormatName {
  return Object.hasOwn(FORMATS, name);
}

/** What `format` lists of the feed. */
export function listed(feed: BuiltFeed, format: FeedFormat): Listed {
  let addresses = 0;
  let asns = 0;
  let previous = -1;
  for (const i of feed.order) {
    if (!format.lists(feed, i)) continue;
    addresses++;
    const asn = feed.asn[i]!;
    if (asn !== previous && asn !== 0) asns++;
    previous = asn;
  }
  return { addresses, asns };
}

export async function* render(feed: BuiltFeed, format: FeedFormat, pace: Pacer): AsyncGenerator<Buffer> {
  const counts = listed(feed, format);
  // Entries are joined once per chunk: far cheaper than growing a string, or
  // writing each into a buffer, entry by entry.
  let parts = [format.header(feed, counts)];
  let size = 0;
  let index = 0;
  for (const i of feed.order) {
    if (!format.lists(feed, i)) continue;
    const entry = format.entry(feed, i, index++);
    parts.push(entry);
    size += entry.length;
    if (size >= CHUNK) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
      await pace();
    }
  }
  parts.push(format.footer(feed, counts));
  yield Buffer.from(parts.join(''), 'utf8');
}
