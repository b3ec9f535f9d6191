// `telnetlogin collector`: the durable JetStream consumer that writes events
// and heartbeats into PostgreSQL, acknowledging after commit. Several may run
// at once. It creates the stream and the consumer when absent, keeps the day
// partitions made ahead and applies the retention.
import type { Command } from 'commander';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { UsageError } from '../errors.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { parseDbUrl } from '../store/open.ts';
import { Collector } from '../transport/collector.ts';
import { connectNats, connectionOptions } from '../transport/nats.ts';
import { ensureConsumer, ensureStream } from '../transport/stream.ts';
import { natsNames } from '../transport/subjects.ts';
import { createWebApp } from '../web/app.ts';
import { createCollectorMetrics } from '../web/metrics.ts';
import { parseListenAddress, formatListenAddress } from './listen-address.ts';
import { loadConfig } from './config.ts';
import { addNatsOptions, flagOrEnv, natsSettings, parseCount, type NatsFlags } from './sensor.ts';
import { shutdown } from './shutdown.ts';

interface CollectorFlags extends NatsFlags {
  config?: string;
  db?: string;
  durable?: string;
  batch?: string;
  ackWait?: string;
  maxAckPending?: string;
  duplicateWindow?: string;
  retention?: string;
  httpListen?: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "2m", "30d", "1d12h" -> milliseconds. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  if (!/^(?:\d+(?:ms|s|m|h|d|w))+$/.test(t)) throw new UsageError(`${what}: "${text}" is not a duration (90s, 2m, 1h, 30d)`);
  let ms = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

const HOUR_MS = 3_600_000;

export function addCollectorCommand(program: Command): void {
  const command = program
    .command('collector')
    .description('consume events and heartbeats from NATS JetStream into PostgreSQL (several may run at once)')
    .option('--config <file>', 'JSON config file; the collector reads its "nats" settings (or TELNETLOGIN_CONFIG)')
    .option('--db <url>', 'PostgreSQL URL, postgres://user@host/db (or TELNETLOGIN_DB)')
    .option('--durable <name>', 'durable consumer shared by the collectors (default telnetlogin-collector, or TELNETLOGIN_DURABLE)')
    .option('--batch <n>', 'messages per transaction at most (default 5000, or TELNETLOGIN_BATCH)')
    .option('--ack-wait <duration>', 'unacknowledged messages go to a collector again after this (default 30s)')
    .option('--max-ack-pending <n>', 'messages out and unacknowledged over all collectors (default 20000)')
    .option('--duplicate-window <duration>', 'broker-side de-duplication window of a stream it creates (default 2m)')
    .option('--retention <duration>', 'drop events (whole days) older than this, e.g. 90d (default: keep all; or TELNETLOGIN_RETENTION)')
    .option('--http-listen <host:port>', 'HTTP listener for /healthz and /metrics (default: none)');
  addNatsOptions(command).action(async (flags: CollectorFlags) => runCollector(flags));
}

async function runCollector(flags: CollectorFlags): Promise<void> {
  const db = flagOrEnv(flags.db, 'TELNETLOGIN_DB');
  if (db === undefined) throw new UsageError('--db: the collector needs a PostgreSQL URL (postgres://user@host/db)');
  if (parseDbUrl(db).kind !== 'postgres') throw new UsageError(`--db: the collector writes to PostgreSQL, not "${db}"`);
  const durable = flagOrEnv(flags.durable, 'TELNETLOGIN_DURABLE') ?? 'telnetlogin-collector';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(durable)) throw new UsageError(`--durable: "${durable}" is not 1-64 letters, digits, _ or -`);
  const batchText = flagOrEnv(flags.batch, 'TELNETLOGIN_BATCH');
  const batch = batchText === undefined ? 5000 : parseCount(batchText, '--batch', 1, 100_000);
  const ackWaitMs = flags.ackWait === undefined ? undefined : parseDuration(flags.ackWait, '--ack-wait');
  const maxAckPending = flags.maxAckPending === undefined ? undefined : parseCount(flags.maxAckPending, '--max-ack-pending', 1, 10_000_000);
  const duplicateWindowMs = flags.duplicateWindow === undefined ? undefined : parseDuration(flags.duplicateWindow, '--duplicate-window');
  const retentionText = flagOrEnv(flags.retention, 'TELNETLOGIN_RETENTION');
  const retentionMs = retentionText === undefined ? undefined : parseDuration(retentionText, '--retention');
  const http = flags.httpListen === undefined ? undefined : parseListenAddress(flags.httpListen, '--http-listen');
  const nats = natsSettings(flags, `telnetlogin-collector ${durable}`, undefined, process.env, loadConfig({ config: flags.config }).nats);
  const names = natsNames(nats.root);
  const natsOptions = connectionOptions(nats);
  const log = pino({ base: undefined }, pino.destination(2));

  const store = await openPostgresStore(db, { onError: (err) => log.warn({ err: err.message }, 'PostgreSQL connection lost') });
  const collector = new Collector({ store, durable, names, batch, onError: (err) => log.warn({ err }, 'collecting') });
  const web = http ? createWebApp({ metrics: createCollectorMetrics(() => collector.stats()) }) : undefined;
  const connecting = new AbortController();
  const maintain = async () => {
    try {
      const { dropped } = await store.maintain({ retentionMs });
      if (dropped.length > 0) log.info({ days: dropped.map((d) => new Date(d).toISOString().slice(0, 10)) }, 'retention: dropped day partitions');
    } catch (err) {
      log.warn({ err }, 'partition maintenance failed; trying again in an hour');
    }
  };
  await maintain();
  const maintenance = setInterval(() => void maintain(), HOUR_MS);

  let nc: Awaited<ReturnType<typeof connectNats>>;
  const { stop, done } = shutdown(log, async () => {
    connecting.abort();
    clearInterval(maintenance);
    await web?.close();
    await collector.stop(); // writes and acknowledges what it has taken
    await nc?.drain().catch(() => {});
    await store.close();
  });

  try {
    if (web && http) {
      await web.listen({ host: http.host, port: http.port });
      const a = web.server.address();
      if (typeof a === 'object' && a) process.stdout.write(`http:   http://${formatListenAddress({ host: a.address, port: a.port })}/metrics\n`);
    }
    nc = await connectNats(natsOptions, {
      signal: connecting.signal,
      onRetry: (err, waitMs) => log.warn({ err: err.message, waitMs }, 'NATS unreachable, retrying'),
    });
    if (!nc) return void (await done);
    const jsm = await jetstreamManager(nc);
    const prepare = async () => {
      await ensureStream(jsm, names, { duplicateWindowMs });
      await ensureConsumer(jsm, names, { durable, ackWaitMs, maxAckPending });
    };
    await prepare();
    process.stdout.write(`collector: ${names.stream}/${durable} on ${nats.servers.join(',')} into ${store.where}\n`);
    await collector.run(jetstream(nc), prepare);
  } catch (err) {
    await stop('failure');
    throw err;
  }
  await done;
}
