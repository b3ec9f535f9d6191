// The feed over HTTP: /telnetlogin.txt, .csv and .json from the publisher's
// latest build, with strong ETags, Last-Modified, conditional GET (304),
// gzip (precomputed; plain responses are inflated as they are sent) and HEAD.
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FeedPublisher, PublishedFile } from '../feed/publisher.ts';
import { FORMATS, type FormatName } from '../feed/render.ts';

export const CACHE_CONTROL = 'public, max-age=60';

export function registerFeedRoutes(app: FastifyInstance, feeds: Pick<FeedPublisher, 'current'>): void {
  for (const name of Object.keys(FORMATS) as FormatName[]) {
    // HEAD declared here, not derived from GET by fastify: it answers from the validators alone.
    app.route({
      method: ['GET', 'HEAD'],
      url: `/${FORMATS[name].file}`,
      handler: (request, reply) => {
        const file = feeds.current(name);
        if (!file) {
          return reply.code(503).header('retry-after', '10').send({ error: 'the feed is being built; try again shortly' });
        }
        return sendFeed(request, reply, file);
      },
    });
  }
}

function sendFeed(request: FastifyRequest, reply: FastifyReply, file: PublishedFile): FastifyReply {
  const gzip = acceptsGzip(request.headers['accept-encoding']);
  reply
    .header('content-type', file.format.contentType)
    .header('cache-control', CACHE_CONTROL)
    .header('vary', 'Accept-Encoding')
    .header('etag', gzip ? file.gzipEtag : file.etag)
    .header('last-modified', new Date(file.lastModified).toUTCString());
  if (notModified(request, file)) return reply.code(304).send();
  reply.header('content-length', gzip ? file.gzip.length : file.size);
  if (gzip) reply.header('content-encoding', 'gzip');
  if (request.method === 'HEAD') return reply.send();
  return reply.send(gzip ? file.gzip : Readable.from([file.gzip]).pipe(createGunzip()));
}

/** RFC 9110 13.1.2 and 13.1.3: If-None-Match (weak comparison, either representation) wins over If-Modified-Since. */
function notModified(request: FastifyRequest, file: PublishedFile): boolean {
  const inm = request.headers['if-none-match'];
  if (inm !== undefined) {
    return inm.split(',').some((t) => {
      const tag = t.trim().replace(/^W\//, '');
      return tag === '*' || tag === file.etag || tag === file.gzipEtag;
    });
  }
  const ims = request.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && Math.floor(file.lastModified / 1000) * 1000 <= since;
}

/** Whether Accept-Encoding allows gzip (q > 0, named or as *). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    const allowed = q === undefined || Number(q) > 0;
    if (coding.trim() === 'gzip' || coding.trim() === 'x-gzip') return allowed;
    if (coding.trim() === '*') star = allowed;
  }
  return star;
}

/** Feed build figures for /metrics. */
export function addFeedMetrics(registry: Registry, publisher: FeedPublisher): void {
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v !== undefined) this.set(v);
      },
    });
  gauge('telnetlogin_feed_addresses', 'Addresses in the latest feed build', () => publisher.lastBuild?.addresses);
  gauge('telnetlogin_feed_build_seconds', 'How long the latest feed build took', () => (publisher.lastBuild ? publisher.lastBuild.durationMs / 1000 : undefined));
  gauge('telnetlogin_feed_built_timestamp_seconds', 'When the latest feed build was made (its window end)', () =>
    publisher.lastBuild ? publisher.lastBuild.at / 1000 : undefined,
  );
  new Counter({
    name: 'telnetlogin_feed_build_failures_total',
    help: 'Feed builds that failed (the previous build stays published)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(publisher.failures);
    },
  });
}
