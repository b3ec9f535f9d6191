// `telnetlogin feed`: builds the feed once, to stdout or atomically to --out.
// Also what `run` and `serve` share to keep the feed published.
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { openAsdb } from '../asdb/asdb.ts';
import type { AsdbHolder } from '../asdb/reload.ts';
import { TelnetloginError, UsageError } from '../errors.ts';
import { writeFileAtomically } from '../feed/atomic-file.ts';
import { buildFeed } from '../feed/build.ts';
import { loadFeedPolicy, type FeedConfig } from '../feed/config.ts';
import { pacer } from '../feed/pacer.ts';
import { FeedPublisher } from '../feed/publisher.ts';
import { FORMATS, isFormatName, render } from '../feed/render.ts';
import { feedSourceOf } from '../feed/source.ts';
import { parseDuration, parseTime } from '../feed/window.ts';
import { openStore } from '../store/open.ts';
import type { EventReader, FeedSource } from '../store/store.ts';
import { loadConfig } from './config.ts';

export const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

interface FeedFlags {
  config?: string;
  dataDir?: string;
  db?: string;
  asdb?: string[];
  format: string;
  out?: string;
  window?: string;
  now?: string;
}

export function addFeedCommand(program: Command): void {
  program
    .command('feed')
    .description('build the feed once, to stdout or --out FILE')
    .option('--format <format>', 'dataplane (the pipe format), csv or json', 'dataplane')
    .option('--out <file>', 'write here (atomically: a temporary file renamed) instead of stdout')
    .option('--window <duration>', 'how far back the feed reaches (default 7d, or feed.window in the config)')
    .option('--now <time>', 'the end of the window and the stated generation time, ISO 8601 (reproducible builds)')
    .option('--asdb <file>', 'routing table or AS-name file, repeatable (default: the embedded table)', collect)
    .option('--data-dir <dir>', 'where the embedded store lives (default ./data)')
    .option('--db <url>', 'read another store: sqlite:PATH or postgres://... (instead of --data-dir)')
    .option('--config <file>', 'JSON config file (feed settings, exclusions and tags)')
    .action(async (flags: FeedFlags) => buildOnce(flags));
}

async function buildOnce(flags: FeedFlags): Promise<void> {
  if (!isFormatName(flags.format)) throw new UsageError(`--format: "${flags.format}" is not dataplane, csv or json`);
  const format = FORMATS[flags.format];
  const config = loadConfig({ config: flags.config, dataDir: flags.dataDir });
  const windowMs = flags.window === undefined ? config.feed.window : parseDuration(flags.window, '--window');
  const now = flags.now === undefined ? undefined : parseTime(flags.now, '--now');
  const policy = await loadFeedPolicy(config.feed);
  const asdb = await openAsdb(flags.asdb ?? [], { onWarning: (m) => process.stderr.write(`telnetlogin: ${m}\n`) });
  const store = await openForFeed(flags.db, config.dataDir);
  const progress = terminalProgress();
  try {
    const feed = await buildFeed({ source: feedSourceOf(store), asdb, policy, windowMs, now, detail: format.detail, onProgress: progress.show });
    progress.show('writing');
    const chunks = render(feed, format, pacer());
    if (flags.out) await writeFileAtomically(flags.out, chunks);
    else await writeOut(process.stdout, chunks);
  } finally {
    progress.done();
    await store.close();
  }
}

/** Opens a store read-only for feed builds, with a message that says which store when it cannot. */
export async function openForFeed(db: string | undefined, dataDir: string): Promise<EventReader & Partial<FeedSource>> {
  try {
    return await openStore({ db, dataDir, readonly: true });
  } catch (err) {
    if (!(err instanceof TelnetloginError) || err instanceof UsageError) throw err;
    const where = db === undefined ? `--data-dir ${dataDir}` : `--db ${db}`;
    const hint = err.code === 'TL_STORE_NOT_FOUND' ? ' ("telnetlogin run" creates the store)' : '';
    throw new UsageError(`${where}: ${err.message}${hint}`, { cause: err });
  }
}

/** Writes chunks with backpressure; a reader that goes away (`| head`) ends the output quietly. */
async function writeOut(out: NodeJS.WritableStream, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const ignore = () => {};
  out.on('error', ignore);
  try {
    for await (const chunk of chunks) {
      await new Promise<void>((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPIPE' && code !== 'ERR_STREAM_DESTROYED') throw err;
  } finally {
    out.off('error', ignore);
  }
}

/** Progress on stderr when it is a terminal; nothing in pipes. */
function terminalProgress(): { show(message: string): void; done(): void } {
  if (!process.stderr.isTTY) return { show() {}, done() {} };
  let shown = false;
  return {
    show(message) {
      shown = true;
      process.stderr.write(`\r\x1b[Ktelnetlogin feed: ${message}...`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export interface PublishingOptions {
  source: FeedSource;
  asdb: Promise<AsdbHolder>;
  feed: FeedConfig;
  /** --publish-dir, over feed.publishDir. */
  publishDir?: string;
  log: Logger;
}

/** Starts the scheduled builds of `run` and `serve`. */
export function startPublishing({ source, asdb, feed, publishDir, log }: PublishingOptions): FeedPublisher {
  const publisher = new FeedPublisher({
    source,
    asdb,
    policy: () => loadFeedPolicy(feed),
    windowMs: feed.window,
    rebuildEveryMs: feed.rebuildEvery,
    publishDir: publishDir ?? feed.publishDir,
    onBuilt: (r) => log.info({ addresses: r.addresses, ms: Math.round(r.durationMs), from: r.path }, 'feed built'),
    onError: (err) => log.error({ err }, 'feed build failed'),
  });
  publisher.start();
  return publisher;
}
