// `telnetlogin run`: the embedded default, one process with the sensor, the
// SQLite store and HTTP (health, metrics, the feed, the JSON API and the dashboard).
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { pino } from 'pino';
import { ReloadableAsdb } from '../asdb/reload.ts';
import { Sensor } from '../sensor/server.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { createWebApp } from '../web/app.ts';
import { addFeedMetrics } from '../web/feed-routes.ts';
import { addDashboardMetrics, addStoreMetrics, createMetrics } from '../web/metrics.ts';
import { loadConfig, type ConfigFlags } from './config.ts';
import { startPublishing } from './feed.ts';
import { formatListenAddress } from './listen-address.ts';
import { shutdown } from './shutdown.ts';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the sensor, the embedded store and the HTTP server in one process')
    .option('--config <file>', 'JSON config file (flags and TELNETLOGIN_* variables override it)')
    .option('--data-dir <dir>', 'where the embedded store lives (default ./data)')
    .option('--telnet-listen <host:port>', 'TELNET listener, repeatable (default [::]:2323)', collect)
    .option('--http-listen <host:port>', 'HTTP listener (default 127.0.0.1:8080)')
    .option('--failure-delay <ms|min-max>', "pause before 'Login incorrect' (overrides the persona)")
    .option('--sensor-id <id>', 'this sensor\'s id in events (default: host name)')
    .option('--asdb <file>', 'routing table or AS-name file for the feed, repeatable (default: the embedded table)', collect)
    .option('--publish-dir <dir>', 'also write the feed files here, atomically, after each build')
    .action(async (flags: RunFlags) => run(flags));
}

interface RunFlags extends ConfigFlags {
  asdb?: string[];
  publishDir?: string;
}

async function run(flags: RunFlags): Promise<void> {
  const config = loadConfig(flags);
  const log = pino({ base: undefined }, pino.destination(2));
  const metrics = createMetrics(() => sensor.counters);
  const store = openSqliteStore({
    dataDir: config.dataDir,
    ...addStoreMetrics(metrics),
    onFoldError: (err) => log.error({ err }, 'folding events into the feed summaries and rollups failed; retrying'),
  });
  // Addresses the sensor listens on by name are its own: the feed never lists them.
  const own = config.telnetListen.map((l) => l.host).filter((h) => isIP(h) && h !== '0.0.0.0' && h !== '::');
  store.addSensorAddresses(config.sensorId, own);
  // The route origin data may take seconds to load the first time: the sensor does not wait for it.
  const asdb = ReloadableAsdb.serve(flags.asdb ?? [], {
    onWarning: (m) => log.warn(m),
    log: { info: (m) => log.info(m), error: (m) => log.error(m) },
  });
  asdb.catch(() => {}); // reported below
  const publisher = startPublishing({ source: store, asdb, feed: config.feed, publishDir: flags.publishDir, log });
  const sensor = new Sensor({
    sensorId: config.sensorId,
    listen: config.telnetListen,
    persona: config.persona,
    sink: store,
    limits: config.limits,
    onError: (err) => log.error({ err }, 'sensor error'),
  });
  addFeedMetrics(metrics, publisher);
  const stats = store.stats();
  addDashboardMetrics(metrics, stats, publisher);
  const live = () => [{ sensor: config.sensorId, ...sensor.counters, outboxDepth: null }];
  const web = createWebApp({ metrics, feeds: publisher, api: { stats, asdb, feeds: publisher, token: config.api.token, live } });

  const { stop, fail, done } = shutdown(log, async () => {
    await Promise.allSettled([sensor.close(), web.close(), publisher.close()]);
    await store.close(); // commits what is pending
  });

  try {
    const telnet = await sensor.listen();
    await web.listen({ host: config.httpListen.host, port: config.httpListen.port });
    const http = web.server.address();
    const httpText = typeof http === 'object' && http ? formatListenAddress({ host: http.address, port: http.port }) : String(http);
    for (const address of telnet) process.stdout.write(`telnet: listening on ${formatListenAddress(address)}\n`);
    process.stdout.write(`http:   http://${httpText}/  (dashboard; feed at /telnetlogin.txt, .csv, .json; API at /api/v1; metrics at /metrics, health at /healthz)\n`);
    process.stdout.write(`store:  ${config.dataDir}\n`);
  } catch (err) {
    await stop('startup failure');
    throw err;
  }

  asdb.catch((err: Error) => fail('route origin data failed to load', err));
  await done;
}
