// `telnetlogin run`: the embedded default, one process with the sensor, the
// SQLite store and HTTP (health, metrics; feed and dashboard come later).
import type { Command } from 'commander';
import { pino } from 'pino';
import { Sensor } from '../sensor/server.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { createWebApp } from '../web/app.ts';
import { createMetrics } from '../web/metrics.ts';
import { loadConfig, type ConfigFlags } from './config.ts';
import { formatListenAddress } from './listen-address.ts';

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
    .action(async (flags: ConfigFlags) => run(flags));
}

async function run(flags: ConfigFlags): Promise<void> {
  const config = loadConfig(flags);
  const log = pino({ base: undefined }, pino.destination(2));
  const store = openSqliteStore({ dataDir: config.dataDir });
  const sensor = new Sensor({
    sensorId: config.sensorId,
    listen: config.telnetListen,
    persona: config.persona,
    sink: store,
    limits: config.limits,
    onError: (err) => log.error({ err }, 'sensor error'),
  });
  const web = createWebApp({ metrics: createMetrics(() => sensor.counters) });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) =>
    (stopping ??= (async () => {
      log.info({ signal }, 'stopping');
      await Promise.allSettled([sensor.close(), web.close()]);
      await store.close(); // commits what is pending
      log.info('stopped');
    })());

  try {
    const telnet = await sensor.listen();
    await web.listen({ host: config.httpListen.host, port: config.httpListen.port });
    const http = web.server.address();
    const httpText = typeof http === 'object' && http ? formatListenAddress({ host: http.address, port: http.port }) : String(http);
    for (const address of telnet) process.stdout.write(`telnet: listening on ${formatListenAddress(address)}\n`);
    process.stdout.write(`http:   http://${httpText}/  (metrics at /metrics, health at /healthz)\n`);
    process.stdout.write(`store:  ${config.dataDir}\n`);
  } catch (err) {
    await stop('startup failure');
    throw err;
  }

  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void stop(signal).then(resolve));
    }
  });
}
