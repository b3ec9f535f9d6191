// `telnetlogin sensor`: the sensor of `run`, with its events going to a local
// outbox (durable, bounded) and from there to NATS JetStream; heartbeats tell
// the collector who and how the sensor is. HTTP serves /healthz and /metrics.
// Also the NATS connection flags, which `collector` shares.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { UsageError } from '../errors.ts';
import { Sensor, type ListenAddress } from '../sensor/server.ts';
import { Forwarder } from '../transport/forwarder.ts';
import { HeartbeatSender } from '../transport/heartbeat.ts';
import { connectNats, connectionOptions, type NatsSettings } from '../transport/nats.ts';
import { Outbox } from '../transport/outbox.ts';
import { DEFAULT_ROOT, natsNames, ROOT_PATTERN, sensorInboxPrefix } from '../transport/subjects.ts';
import { createWebApp } from '../web/app.ts';
import { addOutboxMetrics, createMetrics } from '../web/metrics.ts';
import { loadConfig, type ConfigFlags, type NatsConfig } from './config.ts';
import { formatListenAddress } from './listen-address.ts';
import { shutdown } from './shutdown.ts';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export interface NatsFlags {
  nats?: string;
  natsUser?: string;
  natsPass?: string;
  natsToken?: string;
  natsNkeySeed?: string;
  natsCreds?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
  natsRoot?: string;
}

/** A flag, else its TELNETLOGIN_* variable (flags > environment), else undefined. */
export function flagOrEnv(flag: string | undefined, variable: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag !== undefined) return flag;
  const value = env[variable];
  return value === undefined || value === '' ? undefined : value;
}

/** The NATS connection flags of `sensor` and `collector`. */
export function addNatsOptions(command: Command): Command {
  const option = (flags: string, description: string, variable: string) =>
    command.addOption(new Option(flags, `${description} (or ${variable})`));
  option('--nats <urls>', 'NATS server URL(s), comma-separated (default nats://127.0.0.1:4222)', 'TELNETLOGIN_NATS_URL');
  option('--nats-user <user>', 'NATS user name, with --nats-pass', 'TELNETLOGIN_NATS_USER');
  option('--nats-pass <password>', 'NATS password; prefer the variable, flags show in ps', 'TELNETLOGIN_NATS_PASS');
  option('--nats-token <token>', 'NATS token; prefer the variable', 'TELNETLOGIN_NATS_TOKEN');
  option('--nats-nkey-seed <file>', 'file holding this client\'s nkey seed', 'TELNETLOGIN_NATS_NKEY_SEED');
  option('--nats-creds <file>', 'NATS .creds file (user JWT and nkey seed)', 'TELNETLOGIN_NATS_CREDS');
  option('--nats-tls-ca <file>', 'CA certificate(s) that sign the NATS server\'s certificate (PEM); implies TLS', 'TELNETLOGIN_NATS_TLS_CA');
  option('--nats-tls-cert <file>', 'client certificate (PEM), with --nats-tls-key', 'TELNETLOGIN_NATS_TLS_CERT');
  option('--nats-tls-key <file>', 'client private key (PEM)', 'TELNETLOGIN_NATS_TLS_KEY');
  option('--nats-root <name>', `root of the stream and subject names, for deployments sharing a broker (default ${DEFAULT_ROOT})`, 'TELNETLOGIN_NATS_ROOT');
  return command;
}

/** The broker settings: flags > TELNETLOGIN_NATS_* variables > the config file's `nats` > defaults. */
export function natsSettings(flags: NatsFlags, name: string, inboxPrefix?: string, env = process.env, file: NatsConfig = {}): NatsSettings {
  const get = (flag: string | undefined, variable: string, fromFile: string | undefined) => flagOrEnv(flag, variable, env) ?? fromFile;
  const fileUrl = Array.isArray(file.url) ? file.url.join(',') : file.url;
  const servers = (get(flags.nats, 'TELNETLOGIN_NATS_URL', fileUrl) ?? 'nats://127.0.0.1:4222').split(',').map((s) => s.trim()).filter(Boolean);
  for (const server of servers) {
    if (!/^(?:nats|tls):\/\/[^/\s]+$|^[^:/\s]+:\d+$/.test(server)) {
      throw new UsageError(`--nats: "${server}" is not a NATS URL (nats://host:port or tls://host:port)`);
    }
  }
  const root = get(flags.natsRoot, 'TELNETLOGIN_NATS_ROOT', file.root) ?? DEFAULT_ROOT;
  if (!ROOT_PATTERN.test(root)) throw new UsageError(`--nats-root: "${root}" is not 1-32 lowercase letters, digits, _ or -`);
  return {
    servers,
    name,
    root,
    user: get(flags.natsUser, 'TELNETLOGIN_NATS_USER', file.user),
    pass: get(flags.natsPass, 'TELNETLOGIN_NATS_PASS', file.pass),
    token: get(flags.natsToken, 'TELNETLOGIN_NATS_TOKEN', file.token),
    nkeySeedFile: get(flags.natsNkeySeed, 'TELNETLOGIN_NATS_NKEY_SEED', file.nkeySeedFile),
    credsFile: get(flags.natsCreds, 'TELNETLOGIN_NATS_CREDS', file.credsFile),
    tlsCa: get(flags.natsTlsCa, 'TELNETLOGIN_NATS_TLS_CA', file.tlsCa),
    tlsCert: get(flags.natsTlsCert, 'TELNETLOGIN_NATS_TLS_CERT', file.tlsCert),
    tlsKey: get(flags.natsTlsKey, 'TELNETLOGIN_NATS_TLS_KEY', file.tlsKey),
    inboxPrefix,
  };
}

/** A whole number from a flag or variable, within [min, max]. */
export function parseCount(text: string, what: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${what}: "${text}" is not a whole number from ${min} to ${max}`);
  return n;
}

/**
 * This telnetlogin's version, from its package.json: the nearest one named
 * telnetlogin above this file (the sources, or bin/telnetlogin's bundle in
 * node_modules/.cache).
 */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'telnetlogin') return pkg.version ?? 'unknown';
    } catch {
      // none here (or unreadable): look further up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/**
 * The addresses a heartbeat reports: those configured, else the listen
 * addresses, where a wildcard stands for every non-loopback interface address.
 */
export function publicAddresses(configured: string[], listen: ListenAddress[]): string[] {
  if (configured.length > 0) return configured;
  const wildcard = listen.some((l) => l.host === '::' || l.host === '0.0.0.0');
  const addresses = new Set(listen.map((l) => l.host).filter((h) => h !== '::' && h !== '0.0.0.0'));
  if (wildcard) {
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) if (!i.internal && !i.address.includes('%') && !i.address.startsWith('fe80:')) addresses.add(i.address);
    }
  }
  return [...addresses];
}

interface SensorFlags extends ConfigFlags, NatsFlags {
  outbox?: string;
  outboxMaxEvents?: string;
  heartbeatInterval?: string;
  publicAddress?: string[];
}

export function addSensorCommand(program: Command): void {
  const command = program
    .command('sensor')
    .description('run the sensor alone: events go to a local outbox, then to NATS JetStream')
    .option('--config <file>', 'JSON config file (flags and TELNETLOGIN_* variables override it)')
    .option('--sensor-id <id>', "this sensor's id: events go to telnetlogin.events.<id> (default: host name)")
    .option('--telnet-listen <host:port>', 'TELNET listener, repeatable (default [::]:2323)', collect)
    .option('--http-listen <host:port>', 'HTTP listener for /healthz and /metrics (default 127.0.0.1:8080)')
    .option('--failure-delay <ms|min-max>', "pause before 'Login incorrect' (overrides the persona)")
    .option('--outbox <dir>', 'where the outbox keeps events until the broker has them (default ./outbox, or TELNETLOGIN_OUTBOX)')
    .option('--outbox-max-events <n>', 'outbox limit; when full, logins get no reply (default 1000000, or TELNETLOGIN_OUTBOX_MAX_EVENTS)')
    .option('--heartbeat-interval <seconds>', 'seconds between heartbeats (default 30, or TELNETLOGIN_HEARTBEAT_INTERVAL)')
    .option('--public-address <ip>', 'address reported in heartbeats, repeatable (default: the listen addresses; or TELNETLOGIN_PUBLIC_ADDRESS, comma-separated)', collect);
  addNatsOptions(command).action(async (flags: SensorFlags) => runSensor(flags));
}

async function runSensor(flags: SensorFlags): Promise<void> {
  const config = loadConfig(flags);
  const id = config.sensorId;
  const nats = natsSettings(flags, `telnetlogin-sensor ${id}`, sensorInboxPrefix(id), process.env, config.nats);
  const names = natsNames(nats.root);
  const natsOptions = connectionOptions(nats); // checks the credential and TLS flags before anything starts
  const outboxDir = flagOrEnv(flags.outbox, 'TELNETLOGIN_OUTBOX') ?? './outbox';
  const maxEventsText = flagOrEnv(flags.outboxMaxEvents, 'TELNETLOGIN_OUTBOX_MAX_EVENTS');
  const maxEvents = maxEventsText === undefined ? undefined : parseCount(maxEventsText, '--outbox-max-events', 1, 1_000_000_000);
  const intervalText = flagOrEnv(flags.heartbeatInterval, 'TELNETLOGIN_HEARTBEAT_INTERVAL');
  const heartbeatSeconds = intervalText === undefined ? 30 : parseCount(intervalText, '--heartbeat-interval', 1, 86_400);
  const configured = flags.publicAddress ?? flagOrEnv(undefined, 'TELNETLOGIN_PUBLIC_ADDRESS')?.split(',').map((s) => s.trim()) ?? [];
  const log = pino({ base: undefined }, pino.destination(2));

  const outbox = new Outbox(outboxDir, { maxEvents });
  const sensor = new Sensor({
    sensorId: id,
    listen: config.telnetListen,
    persona: config.persona,
    sink: outbox,
    limits: config.limits,
    onError: (err) => log.error({ err }, 'sensor error'),
  });
  const forwarder = new Forwarder({
    outbox,
    subject: names.eventSubject(id),
    inboxPrefix: nats.inboxPrefix,
    onError: (err) => log.warn({ err }, 'forwarding events'),
  });
  const version = packageVersion();
  let addresses: string[] = configured;
  const heartbeats = new HeartbeatSender({
    subject: names.heartbeatSubject(id),
    intervalMs: heartbeatSeconds * 1000,
    build: () => {
      const { accepted, shed, open, attempts, recordFailures } = sensor.counters;
      const { depth, refused } = outbox.stats();
      return {
        sensor: id,
        time: new Date().toISOString(),
        addresses,
        version,
        counters: { accepted, shed, open, attempts, recordFailures, outboxDepth: depth, outboxRefused: refused },
      };
    },
    onError: (err) => log.warn({ err }, 'heartbeat'),
  });
  const metrics = createMetrics(() => sensor.counters);
  addOutboxMetrics(metrics, () => outbox.stats(), () => forwarder.stats());
  const web = createWebApp({ metrics });
  const connecting = new AbortController();
  let nc: Awaited<ReturnType<typeof connectNats>>;

  const { stop, done } = shutdown(log, async () => {
    connecting.abort();
    await Promise.allSettled([sensor.close(), web.close()]);
    heartbeats.stop();
    await forwarder.stop();
    await nc?.close().catch(() => {});
    await outbox.close(); // commits what is pending; the rest goes out next time
  });

  try {
    const telnet = await sensor.listen();
    if (configured.length === 0) addresses = publicAddresses([], telnet);
    await web.listen({ host: config.httpListen.host, port: config.httpListen.port });
    const http = web.server.address();
    const httpText = typeof http === 'object' && http ? formatListenAddress({ host: http.address, port: http.port }) : String(http);
    for (const address of telnet) process.stdout.write(`telnet: listening on ${formatListenAddress(address)}\n`);
    process.stdout.write(`http:   http://${httpText}/  (metrics at /metrics, health at /healthz)\n`);
    process.stdout.write(`outbox: ${outbox.file} (${outbox.depth} events waiting)\n`);
    process.stdout.write(`nats:   ${nats.servers.join(',')} as sensor ${id}, subject ${names.eventSubject(id)}\n`);
  } catch (err) {
    await stop('startup failure');
    throw err;
  }

  // Logins are taken (into the outbox) whether or not the broker is there yet.
  void connectNats(natsOptions, {
    signal: connecting.signal,
    onRetry: (err, waitMs) => log.warn({ err: err.message, waitMs }, 'NATS unreachable, retrying'),
  }).then((connection) => {
    nc = connection;
    if (!connection) return;
    log.info({ server: connection.getServer() }, 'connected to NATS');
    forwarder.attach(connection);
    heartbeats.attach(connection);
  });

  await done;
}
