// The scale-out pipeline as real processes over loopback, for the fault
// tests: `telnetlogin sensor` and `telnetlogin collector` as children that can
// be killed (SIGKILL) and started again, and checks against PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { LoginLoad } from '../../bench/lib/login-client.ts';
import { killOnExit } from '../helpers/cli.ts';

/** What the helpers need of a test: somewhere to register clean-ups (benchmarks pass their own). */
export interface Cleanups {
  after(fn: () => unknown): void;
}

const BIN = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));
// Only what a test passes: no TELNETLOGIN_* settings from the caller's
// environment, but its node flags for bin/telnetlogin (TELNETLOGIN_NODE_ARGS).
const CHILD_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TELNETLOGIN_') || name === 'TELNETLOGIN_NODE_ARGS'));

export interface CliProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The first match of `pattern` in stdout, waiting for it (at most timeoutMs). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `telnetlogin ARGS`; killed (SIGKILL) when the test ends if still running. */
export function startCli(t: Cleanups, args: string[]): CliProcess {
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: CHILD_ENV });
  killOnExit(child);
  let stdout = '';
  let all = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    all += d;
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    all += d.length > 2000 ? `${d.slice(0, 2000)}...\n` : d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    for (const w of waiters) w();
  });
  const proc: CliProcess = {
    child,
    output: () => all,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(stdout);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`telnetlogin ${args[0]} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${all}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`telnetlogin ${args[0]} did not print ${pattern} in ${timeoutMs} ms:\n${all}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
  t.after(() => proc.kill());
  return proc;
}

/** Starts a sensor and resolves with it and its TELNET and HTTP ports once it listens. */
export async function startSensor(
  t: Cleanups,
  options: { nats: string; id: string; outbox: string; extra?: string[] },
): Promise<{ proc: CliProcess; telnetPort: number; httpPort: number }> {
  const proc = startCli(t, [
    'sensor',
    '--nats', options.nats,
    '--sensor-id', options.id,
    '--outbox', options.outbox,
    '--telnet-listen', '127.0.0.1:0',
    '--http-listen', '127.0.0.1:0',
    '--failure-delay', '0',
    '--heartbeat-interval', '1',
    ...(options.extra ?? []),
  ]);
  const telnet = await proc.waitFor(/telnet: listening on 127\.0\.0\.1:(\d+)/);
  const http = await proc.waitFor(/http: +http:\/\/127\.0\.0\.1:(\d+)\//);
  return { proc, telnetPort: Number(telnet[1]), httpPort: Number(http[1]) };
}

/** Logins at a sensor until stop(); every credential is unique to this run. */
export function load(port: number, tag: string): LoginLoad {
  const l = new LoginLoad({ host: '127.0.0.1', port, concurrency: 16, attemptsPerConnection: 1, tag, stallTimeoutMs: 5000 });
  l.start();
  return l;
}

/** Starts a collector and resolves once it consumes. */
export async function startCollector(t: Cleanups, options: { nats: string; db: string; extra?: string[] }): Promise<CliProcess> {
  const proc = startCli(t, ['collector', '--nats', options.nats, '--db', options.db, '--ack-wait', '3s', '--batch', '500', ...(options.extra ?? [])]);
  await proc.waitFor(/^collector: /m);
  return proc;
}

/** A Prometheus sample from a process's /metrics. */
export async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
}

/** How many times each username of `sensor` is stored. */
export async function storedUsernames(db: pg.Client, sensor: string): Promise<Map<string, number>> {
  const r = await db.query<{ u: string; n: number }>(
    `SELECT convert_from(username, 'UTF8') AS u, count(*)::int AS n FROM events WHERE sensor = $1 GROUP BY 1`,
    [sensor],
  );
  return new Map(r.rows.map((row) => [row.u, row.n]));
}

/**
 * Waits (at most timeoutMs) until every credential whose client got a reply is
 * in PostgreSQL, then checks that each is there exactly once (and that the
 * stored password is the one sent). Returns how many stored events had no reply.
 */
export async function assertExactlyOnce(
  db: pg.Client,
  sensor: string,
  replied: Map<string, string>,
  timeoutMs = 60_000,
): Promise<{ unreplied: number }> {
  const deadline = Date.now() + timeoutMs;
  let stored = await storedUsernames(db, sensor);
  const missing = () => [...replied.keys()].filter((u) => !stored.has(u));
  while (missing().length > 0 && Date.now() < deadline) {
    await sleep(250);
    stored = await storedUsernames(db, sensor);
  }
  await sleep(500); // let anything that would be a duplicate arrive too
  stored = await storedUsernames(db, sensor);
  const lost = missing();
  if (lost.length > 0) throw new Error(`${lost.length} of ${replied.size} replied attempts are not in PostgreSQL, e.g. ${lost.slice(0, 5).join(', ')}`);
  const doubled = [...stored].filter(([, n]) => n > 1);
  if (doubled.length > 0) throw new Error(`${doubled.length} attempts are stored more than once, e.g. ${JSON.stringify(doubled.slice(0, 5))}`);
  const r = await db.query<{ u: string; p: string }>(
    `SELECT convert_from(username, 'UTF8') AS u, convert_from(password, 'UTF8') AS p FROM events WHERE sensor = $1`,
    [sensor],
  );
  for (const { u, p } of r.rows) if (replied.has(u) && replied.get(u) !== p) throw new Error(`${u}: stored password ${p}, sent ${replied.get(u)}`);
  return { unreplied: stored.size - replied.size };
}
