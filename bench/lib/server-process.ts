// The server under test as a child process, measured from outside through
// /proc: the real `telnetlogin run` with its own store in a temporary
// directory, `telnetlogin sensor` with its outbox there publishing to a NATS
// stream of its own, or the bare reference server (bare-server.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { removeNow, temporary, track } from './cleanup.ts';
import { createStream, dropStream } from './published.ts';
import { treeCpuMs, treeIo, treeRssBytes, type IoCounters } from './proc.ts';

export type ServerKind =
  | {
      kind: 'sensor';
      /** Contents of the --config file (persona, limits). */
      config: object;
      /** --failure-delay */
      failureDelay: string;
      /** Runs `telnetlogin sensor` (outbox, then NATS JetStream under this root) instead of `run` (embedded store). */
      nats?: NatsTarget;
    }
  | { kind: 'bare' };

export interface NatsTarget {
  url: string;
  /** The subject root of the bench's own stream (removed when the server stops). */
  root: string;
}

export interface ServerOptions {
  /** Parent of the temporary directory (default: the OS temp dir); its disk decides the cost of fsync. */
  parentDir?: string;
  /** Flags for node itself, e.g. --cpu-prof (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

const bin = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));
/** The sensors' --sensor-id. */
export const SENSOR_ID = 'bench';
const bare = fileURLToPath(new URL('./bare-server.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const RSS_SAMPLE_MS = 200;
const DRAIN_TIMEOUT_MS = 60_000;

export class ServerUnderTest {
  #peakRss = 0;
  readonly #sampler: NodeJS.Timeout;

  private constructor(
    private readonly child: ChildProcess,
    private readonly root: string,
    private readonly stderr: () => string,
    readonly telnetPort: number,
    /** The sensor's HTTP base URL; undefined for the bare server. */
    readonly httpUrl: string | undefined,
    /** Where a `telnetlogin sensor` publishes; undefined for `run` and the bare server. */
    readonly nats: NatsTarget | undefined,
  ) {
    this.#sampler = setInterval(() => this.#sampleRss(), RSS_SAMPLE_MS);
  }

  /** Starts the server on loopback ports it picks itself; resolves once it listens. */
  static async start(server: ServerKind, options: ServerOptions = {}): Promise<ServerUnderTest> {
    const nats = server.kind === 'sensor' ? server.nats : undefined;
    if (nats) await createStream(nats);
    const root = temporary(mkdtempSync(join(options.parentDir ?? tmpdir(), 'telnetlogin-bench-')));
    let args: string[];
    if (server.kind === 'sensor') {
      writeFileSync(join(root, 'config.json'), JSON.stringify(server.config));
      const where = nats
        ? ['sensor', '--outbox', join(root, 'outbox'), '--nats', nats.url, '--nats-root', nats.root]
        : ['run', '--data-dir', join(root, 'data')];
      args = [...where, '--config', join(root, 'config.json'),
        '--telnet-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--failure-delay', server.failureDelay, '--sensor-id', SENSOR_ID];
    } else {
      args = ['--import', 'tsx', bare];
    }
    // The sensor starts as a user starts it, with the node flags bin/telnetlogin gives its job
    // (and those TELNETLOGIN_NODE_ARGS adds, e.g. --perf-basic-prof).
    const nodeArgs = [...(process.env.TELNETLOGIN_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(options.nodeArgs ?? [])];
    const child = track(
      server.kind === 'sensor'
        ? spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TELNETLOGIN_NODE_ARGS: nodeArgs.join(' ') } })
        : spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    try {
      const [telnetPort, httpUrl] = await new Promise<[number, string | undefined]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "telnet: listening" within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        child.once('exit', (code, signal) => reject(new Error(`exited with ${signal ?? code} while starting`)));
        let stdout = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const telnet = /^telnet: listening on 127\.0\.0\.1:(\d+)$/m.exec(stdout);
          const http = /^http:\s+(http:\/\/\S+\/)/m.exec(stdout);
          if (telnet && (http || server.kind === 'bare')) {
            clearTimeout(timer);
            resolve([Number(telnet[1]), http?.[1]]);
          }
        });
      });
      return new ServerUnderTest(child, root, () => stderr, telnetPort, httpUrl, nats);
    } catch (err) {
      child.kill('SIGKILL');
      removeNow(root);
      if (nats) await dropStream(nats);
      throw new Error(`${args.join(' ')}: ${(err as Error).message}\n${stderr}`);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The sensor's store directory. */
  get dataDir(): string {
    return join(this.root, 'data');
  }

  /** CPU ms used so far by the server's whole process tree. */
  cpuMs(): number {
    return treeCpuMs(this.pid);
  }

  rssBytes(): number {
    return treeRssBytes(this.pid);
  }

  io(): IoCounters {
    return treeIo(this.pid);
  }

  /** Highest RSS seen (sampled every 200 ms) since the last call. */
  takePeakRss(): number {
    this.#sampleRss();
    const peak = this.#peakRss;
    this.#peakRss = 0;
    return peak;
  }

  /** Throws, with the end of its stderr, if the server is gone. */
  assertAlive(): void {
    const { exitCode, signalCode } = this.child;
    if (exitCode !== null || signalCode !== null) throw new Error(`the server exited with ${signalCode ?? exitCode}:\n${this.stderr()}`);
  }

  /** The sensor's counters from /metrics, by name (none for the bare server). */
  async metrics(): Promise<Record<string, number>> {
    const values: Record<string, number> = {};
    if (!this.httpUrl) return values;
    const response = await fetch(`${this.httpUrl}metrics`, { signal: AbortSignal.timeout(10_000) });
    for (const m of (await response.text()).matchAll(/^(telnetlogin_[a-z_]+) (\S+)$/gm)) values[m[1]!] = Number(m[2]);
    return values;
  }

  /** Resolves once a `telnetlogin sensor`'s outbox is empty: the broker has every event it recorded. */
  async outboxDrained(): Promise<void> {
    const end = Date.now() + DRAIN_TIMEOUT_MS;
    while ((await this.metrics()).telnetlogin_outbox_depth !== 0) {
      if (Date.now() > end) throw new Error(`the outbox still holds events after ${DRAIN_TIMEOUT_MS} ms`);
      await sleep(200);
    }
  }

  /** SIGTERM (the store flushes, a CPU profile is written), SIGKILL if it lingers; removes the store (and the stream). */
  async stop(): Promise<void> {
    clearInterval(this.#sampler);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    removeNow(this.root);
    if (this.nats) await dropStream(this.nats);
  }

  #sampleRss(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.#peakRss = Math.max(this.#peakRss, this.rssBytes());
  }
}
