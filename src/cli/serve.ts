// `telnetlogin serve`: the feed (and health, metrics) over HTTP from a store
// that others write: the embedded store of a `run` (read-only, beside it) or
// PostgreSQL at scale. Stateless: any number may serve the same store.
import type { Command } from 'commander';
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ReloadableAsdb } from '../asdb/reload.ts';
import { feedSourceOf } from '../feed/source.ts';
import { PostgresStore } from '../store/postgres.ts';
import { SqliteStore } from '../store/sqlite.ts';
import { createWebApp } from '../web/app.ts';
import { addFeedMetrics } from '../web/feed-routes.ts';
import { addDashboardMetrics } from '../web/metrics.ts';
import { loadConfig } from './config.ts';
import { collect, openForFeed, startPublishing } from './feed.ts';
import { formatListenAddress } from './listen-address.ts';
import { shutdown } from './shutdown.ts';

interface ServeFlags {
  config?: string;
  dataDir?: string;
  db?: string;
  httpListen?: string;
  asdb?: string[];
  publishDir?: string;
}

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the feed over HTTP from a store, rebuilding it on a schedule')
    .option('--data-dir <dir>', 'the embedded store to read (default ./data)')
    .option('--db <url>', 'read another store: sqlite:PATH or postgres://... (instead of --data-dir)')
    .option('--http-listen <host:port>', 'HTTP listener (default 127.0.0.1:8080)')
    .option('--asdb <file>', 'routing table or AS-name file, repeatable (default: the embedded table)', collect)
    .option('--publish-dir <dir>', 'also write the feed files here, atomically, after each build')
    .option('--config <file>', 'JSON config file (flags and TELNETLOGIN_* variables override it)')
    .action(async (flags: ServeFlags) => serve(flags));
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = loadConfig({ config: flags.config, dataDir: flags.dataDir, httpListen: flags.httpListen });
  const log = pino({ base: undefined }, pino.destination(2));
  const store = await openForFeed(flags.db, config.dataDir);
  const asdb = ReloadableAsdb.serve(flags.asdb ?? [], {
    onWarning: (m) => log.warn(m),
    log: { info: (m) => log.info(m), error: (m) => log.error(m) },
  });
  asdb.catch(() => {}); // reported below, once listening
  const publisher = startPublishing({ source: feedSourceOf(store), asdb, feed: config.feed, publishDir: flags.publishDir, log });
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'telnetlogin_process_' });
  addFeedMetrics(metrics, publisher);
  // Both stores keep the dashboard's rollups; PostgreSQL also the sensors' heartbeats (the collector writes them).
  const stats = store instanceof SqliteStore || store instanceof PostgresStore ? store.stats() : null;
  const heartbeats = store instanceof PostgresStore ? () => store.heartbeats() : undefined;
  addDashboardMetrics(metrics, stats, publisher);
  const web = createWebApp({ metrics, feeds: publisher, api: { stats, asdb, feeds: publisher, token: config.api.token, heartbeats } });

  const { stop, fail, done } = shutdown(log, async () => {
    await Promise.allSettled([web.close(), publisher.close()]);
    await store.close();
  });
  try {
    await web.listen({ host: config.httpListen.host, port: config.httpListen.port });
  } catch (err) {
    await stop('startup failure');
    throw err;
  }
  const http = web.server.address();
  const httpText = typeof http === 'object' && http ? formatListenAddress({ host: http.address, port: http.port }) : String(http);
  process.stdout.write(`http:   http://${httpText}/telnetlogin.txt  (also .csv, .json; metrics at /metrics)\n`);
  process.stdout.write(`store:  ${flags.db ?? config.dataDir}\n`);

  asdb.catch((err: Error) => fail('route origin data failed to load', err));
  await done;
}
