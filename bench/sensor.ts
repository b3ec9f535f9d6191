// Sensor benchmark: the real `telnetlogin run` as a child process, driven over
// loopback by clients that log in like bots, with the server's CPU, memory and
// system calls read from /proc (whole process tree). Prints:
//   - completed login attempts/s, latency, server CPU ms per recorded attempt
//     and the share of replied attempts found in the store, for one attempt
//     per connection (Mirai) and three (brute-forcers), at several
//     concurrencies, with the failure delay at 0; the same load against a
//     bare Node.js server that only writes the prompts, for reference, and
//     each sensor's CPU per attempt as a multiple of the reference's;
//   - server RSS with many idle connections;
//   - a concurrency-1 login client's rate and latency during a garbage flood.
// Run: npm run bench:sensor. Environment (all optional):
//   BENCH_SECONDS=5            measured window of each phase (after BENCH_WARMUP_SECONDS=1)
//   BENCH_CONCURRENCY=1,20,200 parallel connections per phase (the reference runs the last)
//   BENCH_ATTEMPTS=1,3         attempts per connection (the persona allows 3)
//   BENCH_SERVERS=default,prompt0,bare   servers to measure: the default persona,
//                              promptDelayMs 0 (both with failure delay 0), the bare reference;
//                              also outbox: `telnetlogin sensor` as prompt0, its outbox publishing
//                              to NATS JetStream (BENCH_NATS, default TELNETLOGIN_TEST_NATS or
//                              nats://127.0.0.1:4222; a stream of its own, removed at the end)
//   BENCH_IDLE=10000           idle connections against the first server (0: skip)
//   BENCH_FLOOD=50             garbage-flood connections against the last sensor (0: skip)
//   BENCH_REPEAT=1             measure every load this many times, the servers taking turns (the
//                              table then shows the run with the median CPU per attempt, and all of them)
//   BENCH_DIR=/tmp             where the store goes (the cost of fsync depends on that disk)
//   BENCH_CPU_PROF=DIR         run the servers with --cpu-prof; profiles land in DIR at exit
//   TELNETLOGIN_NODE_ARGS=     more flags for the servers' node, e.g. --perf-basic-prof (for perf)
import { cpus, loadavg, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFlood, type FloodReport } from './lib/flood.ts';
import { openIdleConnections } from './lib/idle.ts';
import { LoginLoad, type LoginLoadResult } from './lib/login-client.ts';
import { CLOCK_TICKS, machineBusyMs, type IoCounters } from './lib/proc.ts';
import { countRecorded, type Phase, type PhaseCount } from './lib/recorded.ts';
import { countPublished } from './lib/published.ts';
import { SENSOR_ID, ServerUnderTest, type ServerKind } from './lib/server-process.ts';
import { table } from './lib/table.ts';

function numbers(name: string, fallback: number[]): number[] {
  const text = process.env[name];
  if (!text) return fallback;
  const values = text.split(',').map(Number);
  if (values.some((v) => !Number.isFinite(v) || v < 0)) throw new Error(`${name}: "${text}" is not a list of numbers`);
  return values;
}

const [SECONDS] = numbers('BENCH_SECONDS', [5]) as [number];
const [WARMUP_SECONDS] = numbers('BENCH_WARMUP_SECONDS', [1]) as [number];
const CONCURRENCY = numbers('BENCH_CONCURRENCY', [1, 20, 200]);
const ATTEMPTS = numbers('BENCH_ATTEMPTS', [1, 3]);
const [IDLE] = numbers('BENCH_IDLE', [10_000]) as [number];
const [FLOOD] = numbers('BENCH_FLOOD', [50]) as [number];
const [REPEAT] = numbers('BENCH_REPEAT', [1]) as [number];
const DIR = process.env.BENCH_DIR || tmpdir();
const CPU_PROF = process.env.BENCH_CPU_PROF;
const NATS_URL = process.env.BENCH_NATS || process.env.TELNETLOGIN_TEST_NATS || 'nats://127.0.0.1:4222';

const SERVERS: Record<string, { label: string; server: ServerKind }> = {
  default: { label: 'default persona (prompt delay 20-50 ms)', server: { kind: 'sensor', config: {}, failureDelay: '0' } },
  prompt0: { label: 'persona with promptDelayMs 0', server: { kind: 'sensor', config: { persona: { promptDelayMs: 0 } }, failureDelay: '0' } },
  bare: { label: 'bare Node.js reference (prompts only, records nothing)', server: { kind: 'bare' } },
  outbox: {
    label: `telnetlogin sensor, promptDelayMs 0, its outbox publishing to ${NATS_URL} (the broker's CPU not counted)`,
    server: { kind: 'sensor', config: { persona: { promptDelayMs: 0 } }, failureDelay: '0', nats: { url: NATS_URL, root: `bench${process.pid}` } },
  },
};
const serverNames = (process.env.BENCH_SERVERS || 'default,prompt0,bare').split(',');
for (const name of serverNames) if (!SERVERS[name]) throw new Error(`BENCH_SERVERS: unknown "${name}" (${Object.keys(SERVERS).join(', ')})`);
const sensorNames = serverNames.filter((n) => SERVERS[n]!.server.kind === 'sensor');

const HOST = '127.0.0.1';
const MB = 1024 * 1024;

/** Progress on a terminal only; the figures go to stdout at the end. */
const progress = (text: string) => process.stderr.isTTY && process.stderr.write(`${text}\n`);

interface LoginRun {
  server: string;
  attempts: number;
  concurrency: number;
  client: LoginLoadResult;
  phase: Phase;
  serverCpuMs: number;
  clientCpuMs: number;
  /** CPU ms the rest of the machine spent in the window (other work disturbs the figures). */
  otherCpuMs: number;
  io: IoCounters;
  peakRss: number;
  shed: number;
  /** The store's time per event, from its /metrics: commits and folds into the derived tables (sensors only). */
  store?: { commitMs: number; foldMs: number };
  /** What the store holds for this run (sensors only). */
  recorded?: PhaseCount;
}

const ioDelta = (a: IoCounters, b: IoCounters): IoCounters => ({
  readBytes: b.readBytes - a.readBytes,
  writeBytes: b.writeBytes - a.writeBytes,
  readCalls: b.readCalls - a.readCalls,
  writeCalls: b.writeCalls - a.writeCalls,
});

/** One login load: warm-up, the measured window, then the attempts under way finish. */
async function loginRun(server: ServerUnderTest, name: string, attempts: number, concurrency: number): Promise<LoginRun> {
  const before = await server.metrics();
  const tag = `${name}-${attempts}x${concurrency}-${Date.now()}-`;
  const load = new LoginLoad({ host: HOST, port: server.telnetPort, concurrency, attemptsPerConnection: attempts, tag });
  const since = Date.now();
  load.start();
  await sleep(WARMUP_SECONDS * 1000);
  server.takePeakRss();
  const cpu0 = server.cpuMs();
  const io0 = server.io();
  const client0 = process.cpuUsage();
  const busy0 = machineBusyMs();
  const from = Date.now();
  load.beginWindow();
  await sleep(SECONDS * 1000);
  load.endWindow();
  const to = Date.now();
  const serverCpuMs = server.cpuMs() - cpu0;
  const io = ioDelta(io0, server.io());
  const clientCpu = process.cpuUsage(client0);
  const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
  const otherCpuMs = machineBusyMs() - busy0 - serverCpuMs - clientCpuMs;
  const peakRss = server.takePeakRss();
  const client = await load.stop();
  server.assertAlive();
  const after = await server.metrics();
  const shed = (after.telnetlogin_connections_shed_total ?? 0) - (before.telnetlogin_connections_shed_total ?? 0);
  const delta = (name: string) => (after[name] ?? NaN) - (before[name] ?? NaN);
  const store = server.httpUrl && !server.nats // the embedded store's (a `telnetlogin sensor` has an outbox instead)
    ? {
        commitMs: (delta('telnetlogin_store_commit_seconds_sum') * 1000) / delta('telnetlogin_store_committed_events_total'),
        foldMs: (delta('telnetlogin_store_fold_seconds_sum') * 1000) / delta('telnetlogin_store_folded_events_total'),
      }
    : undefined;
  return {
    server: name, attempts, concurrency, client, phase: { replied: client.replied, since, from, to },
    serverCpuMs, clientCpuMs, otherCpuMs, io, peakRss, shed, store,
  };
}

interface IdleRun {
  ready: number;
  openMs: number;
  cpuMsPerConnection: number;
  rssBefore: number;
  rssIdle: number;
  peakRss: number;
  rssAfter: number;
  serverOpen: number;
}

async function idleRun(server: ServerUnderTest): Promise<IdleRun> {
  const rssBefore = server.rssBytes();
  server.takePeakRss();
  const cpu0 = server.cpuMs();
  const t0 = Date.now();
  const idle = await openIdleConnections(HOST, server.telnetPort, IDLE);
  const openMs = Date.now() - t0;
  const cpuMsPerConnection = (server.cpuMs() - cpu0) / Math.max(idle.ready, 1);
  await sleep(1000); // what the server does after the prompt (timers, GC) shows in RSS too
  const rssIdle = server.rssBytes();
  const serverOpen = (await server.metrics()).telnetlogin_connections_open ?? NaN;
  const peakRss = server.takePeakRss();
  await idle.close();
  await sleep(2000);
  server.assertAlive();
  return { ready: idle.ready, openMs, cpuMsPerConnection, rssBefore, rssIdle, peakRss, rssAfter: server.rssBytes(), serverOpen };
}

interface FloodRun {
  server: string;
  quiet: LoginRun;
  flooded: LoginRun;
  flood: FloodReport;
  accepted: number;
}

async function floodRun(server: ServerUnderTest, name: string): Promise<FloodRun> {
  const quiet = await loginRun(server, name, 1, 1);
  const before = await server.metrics();
  const flood = await startFlood({ host: HOST, port: server.telnetPort, connections: FLOOD });
  let flooded: LoginRun;
  let report: FloodReport;
  try {
    await sleep(500); // let the flood ramp up
    flooded = await loginRun(server, `${name}-flood`, 1, 1);
  } finally {
    report = await flood.stop();
  }
  const after = await server.metrics();
  const accepted = (after.telnetlogin_connections_accepted_total ?? 0) - (before.telnetlogin_connections_accepted_total ?? 0);
  return { server: name, quiet, flooded, flood: report, accepted };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const mb = (bytes: number) => fixed(bytes / MB, 1);
const perSecond = (r: LoginRun) => r.client.windowAttempts / (r.client.windowMs / 1000);
const cpuPercent = (r: LoginRun) => (r.serverCpuMs / r.client.windowMs) * 100;
const latencies = (r: LoginRun) => [...r.client.latenciesMs].sort((a, b) => a - b);
/** Per attempt: stored events in the window for a sensor, verdicts seen for the bare server. */
const attemptsInWindow = (r: LoginRun) => r.recorded?.inWindow ?? r.client.windowAttempts;
const recordedText = (r: LoginRun) =>
  r.recorded ? `${fixed((r.recorded.matched / r.client.replied.size) * 100, 2)}% (${r.recorded.matched}/${r.client.replied.size})` : '-';

const cpuPerAttempt = (r: LoginRun) => r.serverCpuMs / attemptsInWindow(r);

/** Per server and load, the run with the median CPU per attempt (of an even number, the higher), and every run's figure (sorted). */
function medianRuns(logins: LoginRun[]): Array<{ run: LoginRun; all: number[] }> {
  const groups = new Map<string, LoginRun[]>();
  for (const r of logins) {
    const key = `${r.server} ${r.attempts} ${r.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((list) => {
    const sorted = [...list].sort((a, b) => cpuPerAttempt(a) - cpuPerAttempt(b));
    return { run: sorted[sorted.length >> 1]!, all: sorted.map(cpuPerAttempt) };
  });
}

function report(started: number, load0: number, logins: LoginRun[], baseline: string[], idle?: IdleRun, flood?: FloodRun): string {
  const out: string[] = [];
  out.push(`telnetlogin sensor benchmark  ${new Date(started).toISOString()}, ${cpus().length} CPUs, node ${process.version}, load average ${load0.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`);
  out.push(`server: ./bin/telnetlogin run --failure-delay 0, store on ${DIR}; CPU = utime+stime of its process tree (${CLOCK_TICKS} ticks/s), RSS = VmRSS of the tree`);
  out.push('clients: loopback, sources rotating over 127.N.0.1-127.N.3.254; each answers the options like Mirai, then sends a unique user/password pair');
  out.push(`phases: ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured; attempts = verdicts the client saw; recorded = replied credentials found in the store (telnetlogin events; outbox: in its JetStream stream)`);
  for (const name of serverNames) out.push(`  ${name}: ${SERVERS[name]!.label}`);
  out.push('');
  const medians = medianRuns(logins);
  // The bare reference's figure for the same load, from the same run: the host's speed moves both alike.
  const bareCpu = new Map(medians.filter(({ run: r }) => r.server === 'bare').map(({ run: r }) => [`${r.attempts} ${r.concurrency}`, cpuPerAttempt(r)]));
  out.push(table(
    ['server', 'attempts', 'conc', 'attempts/s', 'p50 ms', 'p99 ms', 'srv CPU%', 'CPU ms/att', 'x bare', 'store ms/att c+f', 'syscalls/att r+w', 'recorded', 'dropped', 'shed', 'peak RSS MB', 'client CPU%', 'other CPU%',
      ...(REPEAT > 1 ? ['CPU ms/att, all runs'] : [])],
    medians.map(({ run: r, all }) => {
      const lat = latencies(r);
      const n = attemptsInWindow(r);
      const bare = r.server === 'bare' ? undefined : bareCpu.get(`${r.attempts} ${r.concurrency}`);
      return [
        r.server, r.attempts === 1 ? '1/conn (Mirai)' : `${r.attempts}/conn (brute)`, String(r.concurrency),
        fixed(perSecond(r), 0), fixed(percentile(lat, 50), 2), fixed(percentile(lat, 99), 2),
        fixed(cpuPercent(r), 0), fixed(cpuPerAttempt(r), 3), bare ? fixed(cpuPerAttempt(r) / bare, 2) : '-', r.store ? `${fixed(r.store.commitMs, 3)}+${fixed(r.store.foldMs, 3)}` : '-',
        `${fixed(r.io.readCalls / n, 1)}+${fixed(r.io.writeCalls / n, 1)}`,
        recordedText(r),
        String(r.client.closedEarly + r.client.stalled), String(r.shed), mb(r.peakRss), fixed((r.clientCpuMs / r.client.windowMs) * 100, 0),
        fixed((r.otherCpuMs / r.client.windowMs) * 100, 0),
        ...(REPEAT > 1 ? [all.map((v) => fixed(v, 3)).join(' ')] : []),
      ];
    }),
  ));
  out.push('  CPU ms/att = server CPU in the window / attempts in the window (sensors: events stored with a time in it); srv CPU% of one core');
  out.push('  x bare = CPU ms/att over the bare reference\'s for the same load in this run (the host\'s speed moves both; compare runs by it)');
  out.push('  store ms/att c+f = the store\'s time per event in its commits + in its folds into the feed summaries and rollups (its /metrics, whole run)');
  out.push('  syscalls/att = the server\'s read-like + write-like system calls (/proc/PID/io) per attempt; dropped = connections ended or');
  out.push('  stalled before their last verdict; shed = connections the sensor refused (limits); client CPU% = this benchmark process;');
  out.push(`  other CPU% = the rest of the machine (${cpus().length} CPUs = ${cpus().length * 100}%): other work running at the same time makes the figures noisy`);
  out.push(`  RSS after start-up: ${baseline.join(', ')}`);
  if (idle) {
    out.push('');
    out.push(table(
      ['idle connections', 'prompted', 'open s', 'sensor open', 'CPU ms/conn', 'RSS before MB', 'RSS idle MB', 'peak RSS MB', 'KB/conn', 'RSS after close MB'],
      [[
        String(IDLE), String(idle.ready), fixed(idle.openMs / 1000, 1), String(idle.serverOpen), fixed(idle.cpuMsPerConnection, 3),
        mb(idle.rssBefore), mb(idle.rssIdle), mb(idle.peakRss), fixed((idle.rssIdle - idle.rssBefore) / 1024 / Math.max(idle.ready, 1), 1), mb(idle.rssAfter),
      ]],
    ));
    out.push(`  server ${serverNames[0]}; opened in batches of 500 from 127.2.0.1-127.2.3.254, each waiting for its login prompt`);
  }
  if (flood) {
    const row = (name: string, r: LoginRun) => {
      const lat = latencies(r);
      return [
        name, fixed(perSecond(r), 0), fixed(percentile(lat, 50), 2), fixed(percentile(lat, 99), 2), fixed(Math.max(...lat), 1),
        recordedText(r), String(r.client.closedEarly + r.client.stalled), fixed(cpuPercent(r), 0),
        fixed(r.io.readBytes / MB / (r.client.windowMs / 1000), 1), mb(r.peakRss), String(r.recorded?.foreignInWindow ?? '-'),
      ];
    };
    const f = flood.flood;
    out.push('');
    out.push(table(
      ['login client, conc 1, 1/conn', 'attempts/s', 'p50 ms', 'p99 ms', 'max ms', 'recorded', 'dropped', 'srv CPU%', 'srv read MB/s', 'peak RSS MB', 'flood events'],
      [row('without flood', flood.quiet), row(`during flood (${FLOOD} conns)`, flood.flooded)],
    ));
    out.push(`  server ${flood.server}; flood: ${FLOOD} connections sending random bytes from 127.3.x.y, reconnecting when hung up:`);
    out.push(`  ${fixed(f.bytes / MB / (f.ms / 1000), 1)} MB/s written, ${fixed(f.connections / (f.ms / 1000), 0)} connections/s (sensor accepted ${flood.accepted})`);
    out.push('  flood events = events stored in the window that no login client sent (random bytes hold CR and LF, so they make credentials)');
  }
  out.push('');
  out.push(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = loadavg()[0]!;
  const baseline: string[] = [];
  let idle: IdleRun | undefined;
  let flood: FloodRun | undefined;

  // Every server runs from the start, so that each repetition measures them
  // one right after the other: the machine's speed drifts (other work on the
  // host), and interleaving spreads that drift over all of them.
  const servers = new Map<string, ServerUnderTest>();
  const runs = new Map<string, LoginRun[]>(serverNames.map((name) => [name, []]));
  try {
    for (const name of serverNames) {
      const { label, server: kind } = SERVERS[name]!;
      progress(`${name}: ${label}`);
      servers.set(name, await ServerUnderTest.start(kind, {
        parentDir: DIR,
        nodeArgs: CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF)}`] : [],
      }));
    }
    await sleep(1000); // start-up work (compiling, the first collections) out of the way
    for (const [name, server] of servers) baseline.push(`${name} ${mb(server.rssBytes())} MB`);
    if (IDLE > 0) {
      progress(`${serverNames[0]}: ${IDLE} idle connections`);
      idle = await idleRun(servers.get(serverNames[0]!)!);
    }
    for (let rep = 1; rep <= REPEAT; rep++) {
      for (const attempts of ATTEMPTS) {
        for (const concurrency of CONCURRENCY) {
          for (const [name, server] of servers) {
            if (SERVERS[name]!.server.kind !== 'sensor' && concurrency !== CONCURRENCY.at(-1)) continue;
            progress(`${name}: ${attempts} attempt(s) per connection, concurrency ${concurrency}${REPEAT > 1 ? `, run ${rep} of ${REPEAT}` : ''}`);
            runs.get(name)!.push(await loginRun(server, name, attempts, concurrency));
          }
        }
      }
    }
    const floodTarget = sensorNames.at(-1);
    if (floodTarget !== undefined && FLOOD > 0) {
      progress(`${floodTarget}: garbage flood, ${FLOOD} connections`);
      flood = await floodRun(servers.get(floodTarget)!, floodTarget);
      runs.get(floodTarget)!.push(flood.quiet, flood.flooded);
    }
    for (const name of sensorNames) {
      const server = servers.get(name)!;
      const list = runs.get(name)!;
      const phases = list.map((r) => r.phase);
      let counts: PhaseCount[];
      if (server.nats) {
        progress(`${name}: reading what the outbox published (JetStream)`);
        await server.outboxDrained();
        counts = await countPublished(server.nats, SENSOR_ID, phases);
      } else {
        progress(`${name}: reading the store (telnetlogin events)`);
        counts = await countRecorded(server.dataDir, phases);
      }
      list.forEach((r, i) => (r.recorded = counts[i]));
    }
  } finally {
    for (const server of servers.values()) await server.stop();
  }
  const logins = [...runs.values()].flat().filter((r) => !flood || (r !== flood.quiet && r !== flood.flooded));
  process.stdout.write(report(started, load0, logins, baseline, idle, flood));
}

await main();
