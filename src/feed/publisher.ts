// Keeps the feed published: rebuilds it on a schedule (one build serves the
// three formats), holds each format gzipped in memory with its validators
// for HTTP, and with a publish directory also writes the files (and .gz
// beside them, for nginx's gzip_static) atomically for a web server or CDN.
//
// Memory: only the gzipped bytes stay (a plain response is inflated as it is
// sent), about a tenth of the plain size.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import type { AsdbHolder } from '../asdb/reload.ts';
import type { FeedSource } from '../store/store.ts';
import { AtomicFile } from './atomic-file.ts';
import { type AddressStanding, buildFeed, type BuiltFeed } from './build.ts';
import { pacer, type Pacer } from './pacer.ts';
import type { FeedPolicy } from './policy.ts';
import { FORMATS, render, type FeedFormat, type FormatName } from './render.ts';

export interface PublishedFile {
  format: FeedFormat;
  /** Strong validators of the plain and of the gzipped representation. */
  etag: string;
  gzipEtag: string;
  /** Length of the plain bytes. */
  size: number;
  gzip: Buffer;
  /** The build's time (its window's end), ms. */
  lastModified: number;
}

export interface BuildReport {
  at: number;
  durationMs: number;
  addresses: number;
  path: BuiltFeed['path'];
}

export interface PublisherOptions {
  source: FeedSource;
  /** Route origin data, reloadable: each build takes the table in use then. */
  asdb: Promise<AsdbHolder>;
  /** Called before each build: list files are re-read, so edits apply without a restart. */
  policy: () => Promise<FeedPolicy>;
  windowMs: number;
  rebuildEveryMs: number;
  publishDir?: string;
  onBuilt?: (report: BuildReport) => void;
  onError?: (err: Error) => void;
  pace?: Pacer;
}

export class FeedPublisher {
  readonly #options: PublisherOptions;
  readonly #files = new Map<FormatName, PublishedFile>();
  #timer: NodeJS.Timeout | undefined;
  #building: Promise<void> | undefined;
  #closed = false;
  #lastPolicy: FeedPolicy | undefined;
  lastBuild: BuildReport | undefined;
  failures = 0;
  #standing: BuiltFeed['standing'] | undefined;

  constructor(options: PublisherOptions) {
    this.#options = options;
  }

  /** The latest build of a format; undefined until the first build is done. */
  current(name: FormatName): PublishedFile | undefined {
    return this.#files.get(name);
  }

  /** How the last build treated an address (undefined before the first build; null for no IP address). */
  standing(ip: string): AddressStanding | null | undefined {
    return this.#standing?.(ip);
  }

  /** Builds now, then every rebuildEveryMs (counted from each build's start). */
  start(): void {
    const tick = () => {
      const started = Date.now();
      void this.rebuild().finally(() => {
        if (this.#closed) return;
        this.#timer = setTimeout(tick, Math.max(0, started + this.#options.rebuildEveryMs - Date.now()));
        this.#timer.unref();
      });
    };
    tick();
  }

  /** One build of all formats; a failure is reported and leaves the previous files in place. */
  rebuild(now?: number): Promise<void> {
    this.#building ??= this.#build(now)
      .catch((err: Error) => {
        this.failures++;
        this.#options.onError?.(err);
      })
      .finally(() => (this.#building = undefined));
    return this.#building;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#building;
  }

  async #build(now: number | undefined): Promise<void> {
    const o = this.#options;
    const started = performance.now();
    const pace = o.pace ?? pacer();
    let policy: FeedPolicy;
    try {
      policy = this.#lastPolicy = await o.policy();
    } catch (err) {
      if (!this.#lastPolicy) throw err;
      o.onError?.(new Error(`keeping the previous exclusion and tag lists: ${(err as Error).message}`));
      policy = this.#lastPolicy;
    }
    const feed = await buildFeed({ source: o.source, asdb: (await o.asdb).current, policy, windowMs: o.windowMs, now, detail: true, pace });
    if (o.publishDir) await mkdir(o.publishDir, { recursive: true });
    const files = new Map<FormatName, PublishedFile>();
    for (const name of Object.keys(FORMATS) as FormatName[]) {
      files.set(name, await publish(feed, FORMATS[name], o.publishDir, pace));
    }
    for (const [name, file] of files) this.#files.set(name, file);
    this.#standing = feed.standing;
    this.lastBuild = { at: feed.window.to, durationMs: performance.now() - started, addresses: feed.order.length, path: feed.path };
    o.onBuilt?.(this.lastBuild);
  }
}

/** Renders one format: hashed, gzipped into memory, and written to `dir` when given. */
export async function publish(feed: BuiltFeed, format: FeedFormat, dir: string | undefined, pace: Pacer): Promise<PublishedFile> {
  const hash = createHash('sha256');
  const gzip = createGzip({ level: 6 });
  const gzipped: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => gzipped.push(chunk));
  const ended = once(gzip, 'end');
  const plain = dir ? new AtomicFile(join(dir, format.file)) : undefined;
  const packed = dir ? new AtomicFile(join(dir, `${format.file}.gz`)) : undefined;
  let size = 0;
  try {
    for await (const bytes of render(feed, format, pace)) {
      hash.update(bytes);
      size += bytes.length;
      if (!gzip.write(bytes)) await once(gzip, 'drain');
      await plain?.write(bytes);
    }
    gzip.end();
    await ended;
    const gz = Buffer.concat(gzipped);
    if (packed && plain) {
      await packed.write(gz);
      await packed.commit();
      await plain.commit();
    }
    const tag = hash.digest('base64url').slice(0, 27);
    return { format, etag: `"${tag}"`, gzipEtag: `"${tag}-gz"`, size, gzip: gz, lastModified: feed.window.to };
  } catch (err) {
    gzip.destroy();
    await Promise.all([plain?.abort(), packed?.abort()]);
    throw err;
  }
}
