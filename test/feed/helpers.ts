// Shared by the feed tests: a small route origin table, events, and feed
// sources over plain arrays of events.
import { Asdb } from '../../src/asdb/asdb.ts';
import { IndexBuilder } from '../../src/asdb/index-builder.ts';
import { AsNames } from '../../src/asdb/names.ts';
import { uuidv7 } from '../../src/events/id.ts';
import { emptyClientInfo, type LoginEvent } from '../../src/events/login-event.ts';
import { buildFeed, type BuiltFeed } from '../../src/feed/build.ts';
import { EMPTY_POLICY, parsePrefix, type FeedPolicy } from '../../src/feed/policy.ts';
import { FORMATS, render, type FormatName } from '../../src/feed/render.ts';
import { feedSourceOf } from '../../src/feed/source.ts';
import type { EventReader, FeedSource, SensorRecord } from '../../src/store/store.ts';

export const DAY = 86_400_000;
export const NOW = Date.parse('2026-12-04T12:00:00.000Z');

/** An Asdb over the given prefixes and names (attribution "test routing data"). */
export function testAsdb(routes: Array<[string, number]>, names: Record<number, string>): Asdb {
  const builder = new IndexBuilder();
  builder.beginSource('last');
  for (const [text, asn] of routes) {
    const p = parsePrefix(text);
    if (p.family === 4) builder.addV4(p.words[0]!, p.len, asn);
    else builder.addV6(p.words, 0, p.len, asn);
  }
  const map = new Map(Object.entries(names).map(([asn, name]) => [Number(asn), name]));
  return new Asdb(builder.build(), AsNames.fromMap(map), {
    created: '2026-01-01T00:00:00.000Z',
    attribution: 'test routing data',
    sources: [{ file: 'test', format: 'test' }],
  });
}

export function event(src_ip: string, time: number, overrides: Partial<LoginEvent> = {}): LoginEvent {
  return {
    id: uuidv7(time),
    time,
    sensor: 'test-sensor',
    src_ip,
    src_port: 40000,
    dst_ip: '192.0.2.1',
    dst_port: 23,
    session: uuidv7(time),
    attempt: 1,
    username: Buffer.from('root'),
    password: Buffer.from('xc3511'),
    client: emptyClientInfo(),
    ...overrides,
  };
}

/** A feed source over an array of events (read the way other stores are: through events()). */
export function arraySource(events: readonly LoginEvent[], sensors: SensorRecord[] = []): FeedSource {
  const reader: EventReader & { sensors(): Promise<SensorRecord[]> } = {
    async *events(query = {}) {
      for (const e of [...events].sort((a, b) => (a.id < b.id ? -1 : 1))) if (e.time >= (query.since ?? -Infinity)) yield e;
    },
    async close() {},
    sensors: async () => sensors,
  };
  return feedSourceOf(reader);
}

export async function text(feed: BuiltFeed, format: FormatName): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of render(feed, FORMATS[format], async () => {})) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function build(
  source: FeedSource,
  asdb: Asdb,
  options: { policy?: FeedPolicy; now?: number; windowMs?: number; detail?: boolean } = {},
): Promise<BuiltFeed> {
  return buildFeed({
    source,
    asdb,
    policy: options.policy ?? EMPTY_POLICY,
    windowMs: options.windowMs ?? 7 * DAY,
    now: options.now ?? NOW,
    detail: options.detail ?? true,
    pace: async () => {},
  });
}

/** The data lines of a pipe-format text. */
export const dataLines = (t: string) => t.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
