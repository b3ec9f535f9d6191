// Test helper: the real `telnetlogin run` as a child process on loopback, and
// `telnetlogin events` to read back what it recorded. Children are killed
// when the test process exits, however it exits.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LoginEventJson } from '../../src/events/json.ts';
import type { ListenAddress } from '../../src/sensor/server.ts';

const BIN = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));
const STARTUP_TIMEOUT_MS = 30_000; // tsx compiles on first start; two shared cores
const run = promisify(execFile);

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Kills `child` when the test process exits, if it still runs then (a failed or interrupted test). */
export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.on('exit', () => children.delete(child));
}

// Only what a test passes: no TELNETLOGIN_* settings from the caller's environment.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TELNETLOGIN_')));

export interface RunOptions {
  /** Written to a JSON file passed with --config. */
  config?: object;
  /** --telnet-listen values (default one IPv4 loopback listener on a free port). */
  telnetListen?: string[];
  /** --failure-delay (default 0). */
  failureDelay?: string;
  /** More arguments for `run`. */
  args?: string[];
}

export interface RunningSensor {
  dataDir: string;
  /** Where the sensor listens, in the order of `telnetListen`. */
  telnet: ListenAddress[];
  /** The first listener's port. */
  port: number;
  httpUrl: string;
  child: ChildProcess;
  /** What the process wrote to stderr so far (its log). */
  stderr(): string;
  /** True while the process runs. */
  alive(): boolean;
  /** GET /healthz: the HTTP status (throws when it does not answer within `timeoutMs`). */
  healthz(timeoutMs?: number): Promise<number>;
  /** Every stored event, through `telnetlogin events`. */
  events(): Promise<LoginEventJson[]>;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Kills the process if it still runs and removes the data directory. */
  dispose(): Promise<void>;
}

export async function startSensor(options: RunOptions = {}): Promise<RunningSensor> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tl-run-'));
  const args = ['run', '--data-dir', dataDir, '--http-listen', '127.0.0.1:0', '--failure-delay', options.failureDelay ?? '0'];
  for (const listen of options.telnetListen ?? ['127.0.0.1:0']) args.push('--telnet-listen', listen);
  args.push(...(options.args ?? []));
  if (options.config) {
    const file = join(dataDir, 'config.json');
    writeFileSync(file, JSON.stringify(options.config));
    args.push('--config', file);
  }
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const ready = await Promise.race([
    new Promise<true>((resolve) => {
      const check = () => /^store: /m.test(stdout) && (child.stdout!.off('data', check), resolve(true));
      child.stdout!.on('data', check);
    }),
    exited.then(() => false),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), STARTUP_TIMEOUT_MS).unref()),
  ]);
  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  if (!ready) {
    await dispose();
    throw new Error(`telnetlogin run did not start.\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  }

  const telnet = [...stdout.matchAll(/^telnet: listening on \[?([^\]\s]+?)\]?:(\d+)$/gm)].map((m) => ({ host: m[1]!, port: Number(m[2]) }));
  const httpUrl = /^http: +(http:\/\/\S+?)\/ /m.exec(stdout)![1]!;

  return {
    dataDir,
    telnet,
    port: telnet[0]!.port,
    httpUrl,
    child,
    stderr: () => stderr,
    alive: () => child.exitCode === null && child.signalCode === null,
    async healthz(timeoutMs = 5000) {
      const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return res.status;
    },
    async events() {
      const { stdout: ndjson } = await run(BIN, ['events', '--data-dir', dataDir], {
        env,
        maxBuffer: 256 * 1024 * 1024,
        timeout: 60_000,
      });
      return ndjson.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LoginEventJson);
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    dispose,
  };
}
