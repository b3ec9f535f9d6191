// The JSON API, /api/v1/...: aggregates for the dashboard (public) and raw
// events and credentials (behind the bearer token from the config). Every
// answer reads the store's rollups (src/store/stats.ts), not its events.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AsdbHolder } from '../asdb/reload.ts';
import { eventToJson } from '../events/json.ts';
import type { FeedPublisher } from '../feed/publisher.ts';
import { FORMATS, type FormatName } from '../feed/render.ts';
import { DAY_MS } from '../feed/summary.ts';
import { TOP_KINDS, type Bucket, type StatsReader, type TopKind } from '../store/stats.ts';

/** What the process knows live about the sensors it runs (only `run` has any). */
export interface LiveSensor {
  sensor: string;
  open: number;
  accepted: number;
  shed: number;
  /** Events waiting for the broker; null where there is no outbox (the embedded store). */
  outboxDepth: number | null;
}

/** A sensor's latest heartbeat as the collector recorded it (PostgreSQL). */
export interface SensorHeartbeatRow {
  id: string;
  version: string;
  lastSeen: number;
  counters: Record<string, number>;
}

export interface ApiOptions {
  /** null: this store keeps no rollups (an older read-only store): the stats endpoints answer 501. */
  stats: StatsReader | null;
  asdb?: Promise<AsdbHolder>;
  feeds?: Pick<FeedPublisher, 'current' | 'lastBuild' | 'failures' | 'standing'>;
  /** The bearer token for raw events and credentials; without one those answer 403. */
  token?: string;
  live?: () => LiveSensor[];
  /** The sensors' latest heartbeats, where a collector records them. */
  heartbeats?: () => Promise<SensorHeartbeatRow[]>;
  now?: () => number;
}

const MAX_SPAN_MS = 400 * DAY_MS;
/** How long top lists and the ASN grouping are reused. */
const CACHE_MS = 15_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function registerApi(app: FastifyInstance, options: ApiOptions): void {
  const now = options.now ?? Date.now;
  const stats = (): StatsReader => {
    if (!options.stats) throw new HttpError(501, 'this store keeps no dashboard rollups (open it once for writing to add them)');
    return options.stats;
  };
  // Answers that read many rows, kept briefly: the dashboard asks for the same ones every 10 s.
  const cached = new Map<string, { at: number; value: Promise<unknown> }>();
  const cache = <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    let entry = cached.get(key);
    if (!entry || now() - entry.at > CACHE_MS) {
      if (cached.size > 64) cached.clear();
      entry = { at: now(), value: compute() };
      entry.value.catch(() => cached.delete(key));
      cached.set(key, entry);
    }
    return entry.value as Promise<T>;
  };
  // Top lists count whole days, so one answer serves every range within the same days.
  const top = (kind: TopKind, from: number, to: number, limit: number) =>
    cache(`${kind} ${Math.floor(from / DAY_MS)} ${Math.ceil(to / DAY_MS)} ${limit}`, () => stats().top(kind, from, to, limit));

  app.register(
    async (api) => {
      api.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
        const status = err instanceof HttpError ? err.status : (err.statusCode ?? 500);
        if (status >= 500 && !(err instanceof HttpError)) api.log.error({ err }, 'api error');
        return reply.code(status).send({ error: status >= 500 && !(err instanceof HttpError) ? 'internal error' : err.message });
      });
      api.addHook('onSend', async (_req, reply) => {
        reply.header('cache-control', 'no-store');
      });

      api.get('/stats', async (req) => {
        const { from, to } = range(req, now());
        const bucket = bucketOf(req, to - from);
        const s = stats();
        const [series, totals] = await Promise.all([s.series(from, to, bucket), s.totals()]);
        return { from, to, bucket, series, totals };
      });

      api.get<{ Params: { kind: string } }>('/top/:kind', async (req) => {
        const { from, to } = range(req, now());
        const limit = intParam(req, 'limit', 10, 1, 100);
        const kind = req.params.kind;
        if (kind === 'asns') {
          // Grouping every address of the range by AS costs tens of ms over a month: cached, to the minute.
          const items = await cache(`asns ${Math.floor(from / 60_000)} ${Math.floor(to / 60_000)}`, () => topAsns(stats(), options.asdb, from, to));
          return { from, to, kind, items: items.slice(0, limit) };
        }
        if (kind === 'fingerprints') {
          const [options_, ttypes] = await Promise.all([top('options', from, to, limit), top('ttypes', from, to, limit)]);
          return { from, to, kind, options: options_.map((e) => ({ ...text('value', e.value), count: e.count })), ttypes: ttypes.map((e) => ({ ...text('value', e.value), count: e.count })) };
        }
        if (!(TOP_KINDS as readonly string[]).includes(kind) || kind === 'options' || kind === 'ttypes') {
          throw new HttpError(404, `no top list "${kind}"; try usernames, passwords, pairs, asns or fingerprints`);
        }
        const items = await top(kind as TopKind, from, to, limit);
        return {
          from,
          to,
          kind,
          items: items.map((e) =>
            e.password ? { ...text('username', e.value), ...text('password', e.password), count: e.count } : { ...text('value', e.value), count: e.count },
          ),
        };
      });

      // Health per sensor: its events (rollups), and its latest heartbeat: the
      // process itself for `run`'s own sensor, the collector's record otherwise.
      api.get('/sensors', async () => {
        const at = now();
        const beats = new Map<string, Heartbeat>();
        for (const h of (await options.heartbeats?.()) ?? []) {
          const c = h.counters;
          beats.set(h.id, { at: h.lastSeen, version: h.version, open: c.open ?? null, accepted: c.accepted ?? null, shed: c.shed ?? null, outboxDepth: c.outboxDepth ?? null });
        }
        for (const l of options.live?.() ?? []) beats.set(l.sensor, { at, version: null, open: l.open, accepted: l.accepted, shed: l.shed, outboxDepth: l.outboxDepth });
        const rows = await stats().sensors();
        const sensors = rows.map((s) => ({ ...s, heartbeat: beats.get(s.sensor) ?? null }));
        for (const [sensor, heartbeat] of beats) {
          if (!rows.some((r) => r.sensor === sensor)) sensors.push({ sensor, attempts: 0, firstEvent: 0, lastEvent: 0, heartbeat });
        }
        return { now: at, sensors };
      });

      api.get('/feed', async () => {
        const build = options.feeds?.lastBuild;
        const files = Object.fromEntries(
          (Object.keys(FORMATS) as FormatName[]).map((name) => {
            const f = options.feeds?.current(name);
            return [FORMATS[name].file, f ? { size: f.size, gzipSize: f.gzip.length, lastModified: f.lastModified } : null];
          }),
        );
        return {
          built: build ? { at: build.at, durationMs: build.durationMs, addresses: build.addresses } : null,
          failures: options.feeds?.failures ?? 0,
          files,
        };
      });

      api.get<{ Params: { ip: string } }>('/address/:ip', async (req) => {
        const a = await stats().address(req.params.ip);
        if (!a) throw new HttpError(404, 'no attempts from this address (or it is not an IP address)');
        const origin = await originOf(options.asdb, a.ip);
        // As the last feed build's lists see it: its tags, or why the feed never lists it (own sensor, excluded).
        const standing = options.feeds?.standing(a.ip) ?? null;
        return { ...a, origin, tags: standing?.tags ?? [], withheld: standing?.withheld ?? null };
      });

      api.get<{ Params: { ip: string } }>('/address/:ip/credentials', { preHandler: bearer(options.token) }, async (req) => {
        const limit = intParam(req, 'limit', 100, 1, 1000);
        const rows = await stats().credentials(req.params.ip, limit);
        return {
          ip: req.params.ip,
          credentials: rows.map((c) => ({ ...text('username', c.username), ...text('password', c.password), count: c.count, first: c.first, last: c.last })),
        };
      });

      api.get('/events', { preHandler: bearer(options.token) }, async (req) => {
        const since = intParam(req, 'since', 0, 0, Number.MAX_SAFE_INTEGER);
        const limit = intParam(req, 'limit', 100, 1, 1000);
        const events = [];
        for await (const e of stats().events({ since, limit })) events.push(eventToJson(e));
        return { events };
      });
    },
    { prefix: '/api/v1' },
  );
}

interface Heartbeat {
  at: number;
  version: string | null;
  open: number | null;
  accepted: number | null;
  shed: number | null;
  /** Events waiting in the sensor's outbox; null for the embedded store, which has none. */
  outboxDepth: number | null;
}

interface AsnRow {
  asn: number;
  name: string | null;
  addresses: number;
  attempts: number;
}

async function topAsns(stats: StatsReader, asdb: Promise<AsdbHolder> | undefined, from: number, to: number): Promise<AsnRow[]> {
  if (!asdb) throw new HttpError(501, 'no route origin data loaded');
  const [holder, rows] = await Promise.all([asdb, stats.addresses(from, to)]);
  const db = holder.current;
  const byAsn = new Map<number, AsnRow>();
  for (const [ip, attempts] of rows) {
    let asn = 0;
    try {
      asn = db.asn(ip);
    } catch {
      // not an address: counted under AS 0 (unknown)
    }
    let row = byAsn.get(asn);
    if (!row) byAsn.set(asn, (row = { asn, name: asn ? db.name(asn) : null, addresses: 0, attempts: 0 }));
    row.addresses++;
    row.attempts += attempts;
  }
  return [...byAsn.values()].sort((a, b) => b.addresses - a.addresses || b.attempts - a.attempts || a.asn - b.asn);
}

async function originOf(asdb: Promise<AsdbHolder> | undefined, ip: string): Promise<{ asn: number; name: string | null; prefix: string } | null> {
  if (!asdb) return null;
  const origin = (await asdb).current.lookup(ip);
  return origin ? { asn: origin.asn, name: origin.name, prefix: origin.prefix } : null;
}

/** A client's bytes in JSON: the text, plus `_b64` with the exact bytes when they are not UTF-8. */
function text(field: string, bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = { [field]: Buffer.from(bytes).toString('utf8') };
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    out[`${field}_b64`] = Buffer.from(bytes).toString('base64');
  }
  return out;
}

function query(req: FastifyRequest): Record<string, string | undefined> {
  return req.query as Record<string, string | undefined>;
}

function intParam(req: FastifyRequest, name: string, fallback: number, min: number, max: number): number {
  const raw = query(req)[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name}: expected a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

/** `from` and `to` as ms since the epoch or ISO 8601; default: the last 24 hours. */
function range(req: FastifyRequest, now: number): { from: number; to: number } {
  const time = (name: 'from' | 'to', fallback: number): number => {
    const raw = query(req)[name];
    if (raw === undefined || raw === '') return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(n)) throw new HttpError(400, `${name}: expected ms since the epoch or an ISO 8601 time, not ${JSON.stringify(raw)}`);
    return n;
  };
  const to = time('to', now);
  const from = time('from', to - DAY_MS);
  if (!(from < to)) throw new HttpError(400, 'from must be before to');
  if (to - from > MAX_SPAN_MS) throw new HttpError(400, 'the range may span at most 400 days');
  return { from, to };
}

function bucketOf(req: FastifyRequest, span: number): Bucket {
  const raw = query(req).bucket;
  if (raw === undefined || raw === '') return span <= 2 * DAY_MS ? 'hour' : 'day';
  if (raw !== 'hour' && raw !== 'day') throw new HttpError(400, `bucket: expected hour or day, not ${JSON.stringify(raw)}`);
  if (raw === 'hour' && span > 31 * DAY_MS) throw new HttpError(400, 'bucket=hour allows a range of at most 31 days');
  return raw;
}

/** Checks `Authorization: Bearer <token>` in constant time. */
function bearer(token: string | undefined) {
  const want = token ? digest(token) : undefined;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!want) {
      return reply.code(403).send({
        error: 'raw events and credentials need an API token: set "api": { "token": "..." } in the config file, or TELNETLOGIN_API_TOKEN',
      });
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1]!), want)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="telnetlogin"').send({ error: 'missing or wrong bearer token' });
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
