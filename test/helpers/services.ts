// Test helpers for the services of the scale-out tests: PostgreSQL at
// TELNETLOGIN_TEST_PG (default: the standard local port); the NATS broker at
// TELNETLOGIN_TEST_NATS (default: the standard local port), where a test
// works under a subject root of its own; and NATS brokers of the test's own
// (nats-server on a free loopback port, with JetStream in a temporary
// directory) for the tests that stop and restart the broker or configure it.
// An unreachable service skips the test loudly, except under CI=true, where
// the test fails: CI must never pass by testing nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { withDefaultUser } from '../../src/store/postgres.ts';

export const PG_URL = withDefaultUser(process.env.TELNETLOGIN_TEST_PG || 'postgres://127.0.0.1:5432/test');
const CI = process.env.CI === 'true';

/** Skips the test with a message saying what is missing, or (under CI=true) fails it. */
export function unavailable(t: TestContext, what: string): undefined {
  if (CI) throw new Error(`${what}; CI=true, so this fails instead of skipping`);
  process.stderr.write(`\n*** SKIPPED: ${t.name}: ${what}\n`);
  t.skip(what);
  return undefined;
}

export const NATS_URL = process.env.TELNETLOGIN_TEST_NATS || 'nats://127.0.0.1:4222';

/** The shared broker's URL, or undefined (the test skipped, or failed under CI) when it is unreachable or has no JetStream. */
export async function useNats(t: TestContext): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: NATS_URL, reconnect: false, timeout: 3000 });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
    } finally {
      await nc.close();
    }
  } catch (err) {
    return unavailable(t, `NATS with JetStream at ${NATS_URL} is unreachable: ${(err as Error).message} (TELNETLOGIN_TEST_NATS points the tests elsewhere)`);
  }
  return NATS_URL;
}

/** `url` with the search_path set to `schema`, so everything the code creates lands there. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/**
 * A fresh schema in the test database, dropped when the test ends; returns a
 * URL whose connections use it (or undefined when PostgreSQL is unreachable
 * and the test was skipped).
 */
export async function usePostgres(t: TestContext): Promise<string | undefined> {
  const schema = `tl_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
  } catch (err) {
    await admin.end().catch(() => {});
    return unavailable(t, `PostgreSQL at ${PG_URL} is unreachable: ${(err as Error).message} (TELNETLOGIN_TEST_PG points the tests elsewhere)`);
  }
  // Hooks run in the order they were added: the test's collectors may still be
  // writing (and folding) when this drops their schema, and PostgreSQL may
  // pick the DROP as a deadlock's victim. It is tried again until it is through.
  t.after(async () => {
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          return;
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (attempt >= 20 || (code !== '40P01' && code !== '55P03')) throw err;
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    } finally {
      await admin.end();
    }
  });
  return withSchema(PG_URL, schema);
}

/** A client on the test's schema, closed when the test ends. */
export async function pgClient(t: TestContext, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  return client;
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}


/** A nats-server of the test's own, on a free loopback port, with JetStream in a temporary directory. */
export interface OwnBroker {
  url: string;
  port: number;
  /** The process id while it runs (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  /** Starts it (again, on the same port and store). */
  start(): Promise<void>;
  /** Stops it (SIGKILL: the broker vanishes as in a crash or a cut cable). */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

/**
 * Makes a broker on a free loopback port, not yet started. `config` makes the
 * text of a server config file from the port and the JetStream directory;
 * without it the broker runs with plain flags.
 */
export async function makeBroker(binary: string, config?: (port: number, storeDir: string) => string): Promise<OwnBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'telnetlogin-nats-'));
  const storeDir = join(dir, 'js');
  let args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (config !== undefined) {
    const file = join(dir, 'nats-server.conf');
    writeFileSync(file, config(port, storeDir));
    args = ['-c', file];
  }
  let child: ChildProcess | undefined;
  const broker: OwnBroker = {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async start() {
      if (child) return;
      const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = proc;
      let log = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nats-server did not start in 10 s:\n${log}`)), 10_000);
        proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
          log += d;
          if (log.includes('Server is ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`nats-server exited with ${code}:\n${log}`));
        });
      });
      proc.stderr!.resume();
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      child = undefined;
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    },
    async remove() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return broker;
}

export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((f) => existsSync(f));

/**
 * Starts a broker for the test, stopped and removed when the test ends.
 * `config` is the text of a server config file without listen address and
 * JetStream directory (the test's own are added).
 */
export async function startOwnBroker(t: TestContext, config?: string): Promise<OwnBroker | undefined> {
  if (!NATS_SERVER) return unavailable(t, 'nats-server is not installed (apt-get install nats-server)');
  const broker = await makeBroker(
    NATS_SERVER,
    config === undefined ? undefined : (port, storeDir) => `${config}\nlisten: "127.0.0.1:${port}"\njetstream { store_dir: "${storeDir}" }\n`,
  );
  t.after(() => broker.remove());
  await broker.start();
  return broker;
}
