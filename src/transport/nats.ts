// Connecting to NATS with a sensor's or collector's own credentials: user and
// password, a token, an nkey seed file or a creds file (JWT + seed), and TLS
// (a CA to verify the server, a client certificate and key).
import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { UsageError } from '../errors.ts';
import { Backoff, sleep } from './backoff.ts';

export interface NatsSettings {
  /** nats://host:port (or tls://), one or more. */
  servers: string[];
  /** Shown by the server's monitoring, e.g. "telnetlogin-sensor s1". */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** File holding an nkey seed (SU...). */
  nkeySeedFile?: string;
  /** A .creds file (user JWT and seed, as nsc writes it). */
  credsFile?: string;
  /** CA certificate(s) to verify the server with (PEM). */
  tlsCa?: string;
  /** Client certificate and key (PEM) for servers that verify clients. */
  tlsCert?: string;
  tlsKey?: string;
  /** Reply subjects under this prefix instead of _INBOX (see sensorInboxPrefix). */
  inboxPrefix?: string;
  /** The root of the stream's and subjects' names (subjects.ts). */
  root: string;
}

function readSecret(file: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The client options for `settings`; a UsageError for contradictory or unreadable ones. */
export function connectionOptions(settings: NatsSettings): NodeConnectionOptions {
  const methods = [
    settings.user !== undefined || settings.pass !== undefined ? '--nats-user/--nats-pass' : undefined,
    settings.token !== undefined ? '--nats-token' : undefined,
    settings.nkeySeedFile !== undefined ? '--nats-nkey-seed' : undefined,
    settings.credsFile !== undefined ? '--nats-creds' : undefined,
  ].filter((m) => m !== undefined);
  if (methods.length > 1) throw new UsageError(`NATS credentials: use one of ${methods.join(', ')}, not several`);
  if ((settings.user === undefined) !== (settings.pass === undefined)) {
    throw new UsageError('NATS credentials: --nats-user and --nats-pass go together');
  }
  if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined)) {
    throw new UsageError('NATS TLS: --nats-tls-cert and --nats-tls-key go together');
  }
  if (settings.servers.length === 0) throw new UsageError('--nats: no server URL given');
  const options: NodeConnectionOptions = {
    servers: settings.servers,
    name: settings.name,
    // Never give up: a sensor keeps its events in the outbox meanwhile.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    reconnectJitter: 1000,
    reconnectJitterTLS: 1000,
    // A broker that vanished without a FIN/RST is noticed within ~30 s.
    pingInterval: 10_000,
    maxPingOut: 3,
    timeout: 5000,
    user: settings.user,
    pass: settings.pass,
    token: settings.token,
    inboxPrefix: settings.inboxPrefix,
  };
  if (settings.nkeySeedFile !== undefined) {
    const seed = new TextDecoder().decode(readSecret(settings.nkeySeedFile, '--nats-nkey-seed')).trim();
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (settings.credsFile !== undefined) options.authenticator = credsAuthenticator(readSecret(settings.credsFile, '--nats-creds'));
  if (settings.tlsCa !== undefined || settings.tlsCert !== undefined) {
    options.tls = { caFile: settings.tlsCa, certFile: settings.tlsCert, keyFile: settings.tlsKey };
  }
  return options;
}

/**
 * Connects, retrying with backoff while the broker is unreachable (the client
 * then reconnects by itself for good). Resolves undefined when `signal`
 * aborts first.
 */
export async function connectNats(
  options: NodeConnectionOptions,
  { signal, onRetry }: { signal?: AbortSignal; onRetry?(err: Error, waitMs: number): void } = {},
): Promise<NatsConnection | undefined> {
  const backoff = new Backoff(250, 15_000);
  while (!signal?.aborted) {
    try {
      const nc = await connect(options);
      if (!signal?.aborted) return nc;
      await nc.close();
      return undefined;
    } catch (err) {
      const wait = backoff.next();
      onRetry?.(err as Error, wait);
      await sleep(wait, signal);
    }
  }
  return undefined;
}
