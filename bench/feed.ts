// The feed at scale: BENCH_EVENTS login events (default 10 million) from
// BENCH_ADDRESSES client addresses (default a tenth of that) spread over 7
// days go into a fresh embedded store through its record() path (group
// commit); then each format is built by a process of its own (as
// `telnetlogin feed` would: build time and peak memory), and a serving
// process rebuilds all three (event-loop delay while it does) and answers
// conditional GETs, timed from another process.
//
// Run: npm run bench:feed [-- DIR]   (DIR: where the store goes, default the OS temp dir)
//      BENCH_EVENTS=1000000 npm run bench:feed   for a quick run
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { openAsdb } from '../src/asdb/asdb.ts';
import { uuidv7 } from '../src/events/id.ts';
import type { LoginEvent } from '../src/events/login-event.ts';
import { writeFileAtomically } from '../src/feed/atomic-file.ts';
import { buildFeed } from '../src/feed/build.ts';
import { pacer } from '../src/feed/pacer.ts';
import { EMPTY_POLICY } from '../src/feed/policy.ts';
import { FeedPublisher } from '../src/feed/publisher.ts';
import { FORMATS, render, type FormatName } from '../src/feed/render.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { createWebApp } from '../src/web/app.ts';
import { table } from './lib/table.ts';

const DAY = 86_400_000;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? Math.max(1, Math.floor(EVENTS / 10)));
const NOW = Date.parse('2026-12-04T12:00:00.000Z');
const CONDITIONAL_GETS = 1000;
// Events per transaction while loading (a sensor's batches are as large as what arrives in one event-loop turn).
const BATCH = Number(process.env.BENCH_BATCH ?? 65_536);

// Mirai's classic dictionary, in part: the credentials such clients send.
const CREDENTIALS = [
  ['root', 'xc3511'], ['root', 'vizxv'], ['root', 'admin'], ['admin', 'admin'], ['root', '888888'], ['root', 'xmhdipc'],
  ['root', 'default'], ['root', 'juantech'], ['root', '123456'], ['root', '54321'], ['support', 'support'], ['root', ''],
  ['admin', 'password'], ['root', 'root'], ['root', '12345'], ['user', 'user'], ['admin', ''], ['root', 'pass'],
  ['admin', 'admin1234'], ['root', '1111'], ['admin', 'smcadmin'], ['admin', '1111'], ['root', '666666'], ['root', 'password'],
  ['root', '1234'], ['root', 'klv123'], ['Administrator', 'admin'], ['service', 'service'], ['supervisor', 'supervisor'],
  ['guest', 'guest'], ['guest', '12345'], ['admin1', 'password'], ['administrator', '1234'], ['666666', '666666'],
  ['888888', '888888'], ['ubnt', 'ubnt'], ['root', 'klv1234'], ['root', 'Zte521'], ['root', 'hi3518'], ['root', 'jvbzd'],
  ['root', 'anko'], ['root', 'zlxx.'], ['root', '7ujMko0vizxv'], ['root', '7ujMko0admin'], ['root', 'system'],
  ['root', 'ikwb'], ['root', 'dreambox'], ['root', 'user'], ['root', 'realtek'], ['root', '00000000'], ['admin', '1111111'],
  ['admin', '1234'], ['admin', '12345'], ['admin', '54321'], ['admin', '123456'], ['admin', '7ujMko0admin'],
  ['admin', 'pass'], ['admin', 'meinsm'], ['tech', 'tech'], ['mother', 'fucker'],
].map(([u, p]) => [Buffer.from(u!), Buffer.from(p!)] as const);
const CLIENT = { options: ['DO ECHO', 'DO SGA', 'WILL NAWS', 'WILL TTYPE'], ttypes: ['xterm'], naws: { width: 80, height: 24 }, env: {} };

/** A deterministic pseudo-random generator (mulberry32), so every run stores the same data. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Public-looking addresses: IPv4 from 1.0.0.0 to 223.255.255.255 (one in twenty IPv6). */
function addressPool(n: number, rand: () => number): string[] {
  const pool = new Set<string>();
  while (pool.size < n) {
    if (rand() < 0.05) {
      const g = () => Math.floor(rand() * 0x10000).toString(16);
      pool.add(`2a0${Math.floor(rand() * 10)}:${g()}:${g()}:${g()}::${g()}`);
    } else {
      const v = 0x01000000 + Math.floor(rand() * (0xdf000000 - 0x01000000));
      pool.add(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`);
    }
  }
  return [...pool];
}

async function ingest(dataDir: string): Promise<string[]> {
  const rand = random(42);
  const pool = addressPool(ADDRESSES, rand);
  const store = openSqliteStore({ dataDir, maxBatch: BATCH });
  const start = NOW - 7 * DAY + 1;
  const step = (7 * DAY - 2) / EVENTS;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let pending: Array<Promise<void>> = [];
  let progressAt = t0;
  for (let i = 0; i < EVENTS; i++) {
    const time = Math.floor(start + i * step);
    const [username, password] = CREDENTIALS[Math.floor(rand() * CREDENTIALS.length)]!;
    const id = uuidv7(time);
    const event: LoginEvent = {
      id, time, sensor: `sensor-${i % 4}`, src_ip: pool[Math.floor(rand() * pool.length)]!, src_port: 1024 + (i % 60000),
      dst_ip: `192.0.2.${i % 4}`, dst_port: 23, session: id, attempt: 1 + (i % 3), username, password, client: CLIENT,
    };
    pending.push(store.record(event));
    if (pending.length === BATCH) {
      await Promise.all(pending);
      pending = [];
      if (process.stderr.isTTY && performance.now() - progressAt > 1000) {
        progressAt = performance.now();
        process.stderr.write(`\r\x1b[Kingest: ${i + 1} of ${EVENTS} events`);
      }
    }
  }
  await Promise.all(pending);
  await store.close();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const size = statSync(join(dataDir, 'telnetlogin.sqlite')).size;
  console.log(
    `ingest: ${EVENTS} events from ${ADDRESSES} addresses over 7 days in ${seconds.toFixed(1)} s: ` +
      `${Math.round(EVENTS / seconds)} events/s, ${((cpu.user + cpu.system) / EVENTS).toFixed(1)} µs CPU per event ` +
      `(generation included; record() with group commit, synchronous=FULL); store ${(size / 2 ** 20).toFixed(0)} MiB`,
  );
  return pool;
}

/** Child: one `telnetlogin feed`-like build of `format` into a file. */
async function buildChild(dataDir: string, format: FormatName): Promise<void> {
  const t0 = performance.now();
  const asdb = await openAsdb([]);
  const asdbMs = performance.now() - t0;
  const store = openSqliteStore({ dataDir, readonly: true });
  const out = join(dataDir, FORMATS[format].file);
  const t1 = performance.now();
  const feed = await buildFeed({ source: store, asdb, policy: EMPTY_POLICY, windowMs: 7 * DAY, now: NOW, detail: FORMATS[format].detail });
  await writeFileAtomically(out, render(feed, FORMATS[format], pacer()));
  const ms = performance.now() - t1;
  await store.close();
  const report = { format, ms, asdbMs, addresses: feed.order.length, path: feed.path, bytes: statSync(out).size, maxRssKiB: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** Child: a feed server; reports the rebuild (its time, the event-loop delay meanwhile), then serves until killed. */
async function serveChild(dataDir: string): Promise<void> {
  const asdb = await openAsdb([]);
  const store = openSqliteStore({ dataDir, readonly: true });
  const publisher = new FeedPublisher({
    source: store, asdb: Promise.resolve({ current: asdb }), policy: async () => EMPTY_POLICY, windowMs: 7 * DAY, rebuildEveryMs: 3_600_000,
  });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const t0 = performance.now();
  await publisher.rebuild(NOW);
  const ms = performance.now() - t0;
  delay.disable();
  const app = createWebApp({ metrics: new Registry(), feeds: publisher });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  const sizes = Object.fromEntries((Object.keys(FORMATS) as FormatName[]).map((f) => [f, { plain: publisher.current(f)!.size, gzip: publisher.current(f)!.gzip.length }]));
  process.stdout.write(
    `${JSON.stringify({
      port: address.port, ms, sizes, maxDelayMs: delay.max / 1e6, p99DelayMs: delay.percentile(99) / 1e6,
      rssKiB: Math.round(process.memoryUsage().rss / 1024), maxRssKiB: process.resourceUsage().maxRSS,
    })}\n`,
  );
}

function child(args: string[]): { done: Promise<string>; kill(): void; firstLine: Promise<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let resolveLine: (line: string) => void;
  const firstLine = new Promise<string>((r) => (resolveLine = r));
  proc.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    if (out.includes('\n')) resolveLine(out.slice(0, out.indexOf('\n')));
  });
  const done = once(proc, 'exit').then(([code]) => {
    if (code !== 0 && code !== null) throw new Error(`child ${args.join(' ')} exited with ${code}`);
    return out;
  });
  return { done, firstLine, kill: () => proc.kill('SIGKILL') };
}

async function conditionalGets(port: number): Promise<string[][]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; etag: string; ms: number; bytes: number }>((resolve, reject) => {
      const t0 = performance.now();
      http.get({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode!, etag: String(res.headers.etag), ms: performance.now() - t0, bytes }));
      }).on('error', reject);
    });
  const rows: string[][] = [];
  for (const format of Object.keys(FORMATS) as FormatName[]) {
    const path = `/${FORMATS[format].file}`;
    const full = await get(path, { 'accept-encoding': 'gzip' });
    const times: number[] = [];
    for (let i = 0; i < CONDITIONAL_GETS; i++) {
      const r = await get(path, { 'accept-encoding': 'gzip', 'if-none-match': full.etag });
      if (r.status !== 304) throw new Error(`expected 304, got ${r.status}`);
      times.push(r.ms);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
    rows.push([format, `${full.ms.toFixed(0)} ms (${(full.bytes / 2 ** 20).toFixed(1)} MiB gzip)`, at(0.5), at(0.99), times.at(-1)!.toFixed(2)]);
  }
  agent.destroy();
  return rows;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [, , , mode, dataDir, format] = process.argv;
    if (mode === 'build') await buildChild(dataDir!, format as FormatName);
    else await serveChild(dataDir!);
    return;
  }
  // BENCH_STORE=DIR keeps the store in DIR and reuses it on the next run (to measure builds again).
  const kept = process.env.BENCH_STORE;
  const root = kept ?? mkdtempSync(join(process.argv[2] ?? tmpdir(), 'telnetlogin-bench-feed-'));
  try {
    if (kept && existsSync(join(kept, 'telnetlogin.sqlite'))) console.log(`reusing the store in ${kept}`);
    else {
      // Each event updates the summary of its address: with a million addresses that is I/O at random places.
      console.log(`loading ${EVENTS} events into ${root} (on 2 shared cores, about 10k events/s at a million addresses;`);
      console.log('BENCH_EVENTS=1000000 for a quick run, BENCH_STORE=DIR to keep the store and measure builds again)');
      await ingest(root);
    }
    const builds: string[][] = [];
    for (const format of Object.keys(FORMATS) as FormatName[]) {
      const r = JSON.parse(await child(['build', root, format]).done);
      builds.push([format, String(r.addresses), (r.ms / 1000).toFixed(2), (r.maxRssKiB / 1024).toFixed(0), (r.bytes / 2 ** 20).toFixed(1), r.path]);
    }
    console.log(`\nfeed build, one process per format (like \`telnetlogin feed --out\`; route origin data: the embedded table, opened before timing):`);
    console.log(table(['format', 'addresses', 'build s', 'peak RSS MiB', 'file MiB', 'read from'], builds));

    const server = child(['serve', root]);
    try {
      const s = JSON.parse(await server.firstLine);
      console.log(
        `\nserving process: rebuild of all three formats (with gzip) in ${(s.ms / 1000).toFixed(1)} s; event-loop delay meanwhile ` +
          `max ${s.maxDelayMs.toFixed(0)} ms, p99 ${s.p99DelayMs.toFixed(0)} ms; RSS after ${(s.rssKiB / 1024).toFixed(0)} MiB, peak ${(s.maxRssKiB / 1024).toFixed(0)} MiB`,
      );
      console.log(`\nHTTP on loopback, keep-alive, from another process (${CONDITIONAL_GETS} conditional GETs per format, If-None-Match -> 304):`);
      console.log(table(['format', 'full GET', '304 p50 ms', '304 p99 ms', '304 max ms'], await conditionalGets(s.port)));
    } finally {
      server.kill();
    }
  } finally {
    if (!kept) rmSync(root, { recursive: true, force: true });
  }
}

await main();
