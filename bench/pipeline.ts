// Scale-out pipeline benchmark, on a broker of its own (nats-server on a free
// loopback port) and a fresh schema in PostgreSQL. Prints:
//   (a) the collector's insert rate: N events already in the stream, then
//       `telnetlogin collector` (a child process) started; rows/s from its
//       start until all N are in PostgreSQL; then how long the dashboard's
//       rollups, folded in after the inserts, took to catch up;
//   (b) end to end: synthetic events fed into an outbox (as a sensor's would
//       be, as fast as it takes them), forwarded to JetStream, collected into
//       PostgreSQL; events/s from the first record() until the last row is
//       there, and the outbox's largest depth on the way;
//   (c) how far the rollups were behind when (b) ended, and how long they
//       took to catch up.
// Every event is from a new address with a new password: the most work per
// event for the rollups.
// With each, the CPU time per event of the processes involved (read from
// /proc): the collector, nats-server, the collector's PostgreSQL backends and,
// in (b), this process (outbox and forwarder, as in a sensor). Their sum says
// what the machine's cores allow, whatever else runs on it.
// Run: npm run bench:pipeline. Environment (optional):
//   BENCH_EVENTS=200000     events per phase
//   BENCH_BATCH=5000        the collector's --batch
//   BENCH_COLLECTORS=1      collectors sharing the consumer
//   BENCH_COLLECTOR_ARGS=   more flags for `telnetlogin collector`, e.g. "--max-ack-pending 40000"
//   TELNETLOGIN_NODE_ARGS=  flags for the collectors' node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (see bin/telnetlogin)
//   BENCH_PG=postgres://... database to use (default TELNETLOGIN_TEST_PG, else local); a schema is made and dropped
//   BENCH_DIR=/tmp          where the outbox goes (its fsyncs depend on that disk)
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { uuidv7 } from '../src/events/id.ts';
import type { LoginEvent } from '../src/events/login-event.ts';
import { withDefaultUser } from '../src/store/postgres.ts';
import { Forwarder } from '../src/transport/forwarder.ts';
import { Outbox } from '../src/transport/outbox.ts';
import { ensureStream } from '../src/transport/stream.ts';
import { natsNames } from '../src/transport/subjects.ts';
import { NATS_SERVER, makeBroker, withSchema } from '../test/helpers/services.ts';
import { metric, startCollector, type Cleanups } from '../test/transport/harness.ts';
import { treeCpuMs } from './lib/proc.ts';

const EVENTS = Number(process.env.BENCH_EVENTS || 200_000);
const BATCH = process.env.BENCH_BATCH || '5000';
const COLLECTORS = Number(process.env.BENCH_COLLECTORS || 1);
const COLLECTOR_ARGS = (process.env.BENCH_COLLECTOR_ARGS || '').split(' ').filter(Boolean);
const names = natsNames();
const PG_URL = withDefaultUser(process.env.BENCH_PG || process.env.TELNETLOGIN_TEST_PG || 'postgres://127.0.0.1:5432/test');
const DIR = process.env.BENCH_DIR || tmpdir();
const PHASE_TIMEOUT_MS = 180_000;

const cleanups: Array<() => unknown> = [];
const ctx: Cleanups = { after: (fn) => void cleanups.push(fn) };

function event(sensor: string, i: number): LoginEvent {
  const now = Date.now();
  return {
    id: uuidv7(now),
    time: now,
    sensor,
    src_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    src_port: 40000 + (i % 20000),
    dst_ip: '192.0.2.23',
    dst_port: 23,
    session: uuidv7(now),
    attempt: 1,
    username: Buffer.from(`root${i % 1000}`),
    password: Buffer.from(`xc3511-${i}`),
    client: { options: ['WONT ECHO', 'WILL NAWS', 'DO ECHO', 'DO SGA'], ttypes: [], naws: { width: 80, height: 24 }, env: {} },
  };
}

/** Records `count` events into the outbox as fast as it takes them (up to 4096 waiting for their commit). */
async function feed(outbox: Outbox, sensor: string, count: number): Promise<void> {
  let waiting: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    waiting.push(outbox.record(event(sensor, i)));
    if (waiting.length >= 4096) {
      await Promise.all(waiting);
      waiting = [];
    }
  }
  await Promise.all(waiting);
}

async function until(what: string, done: () => Promise<boolean> | boolean, everyMs = 50): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not done in ${PHASE_TIMEOUT_MS / 1000} s`);
    await sleep(everyMs);
  }
}

/** CPU milliseconds used so far by each part of the pipeline. */
type CpuSample = Record<string, number>;

/** The processes (each with its descendants) of each part; 'self': this process alone (its descendants are the other parts). */
type Parts = Record<string, number[] | 'self'>;

async function cpuSample(parts: Parts): Promise<CpuSample> {
  const sample: CpuSample = {};
  for (const [name, pids] of Object.entries(parts)) {
    if (pids === 'self') {
      const { user, system } = process.cpuUsage();
      sample[name] = (user + system) / 1000;
    } else sample[name] = pids.reduce((sum, pid) => sum + treeCpuMs(pid), 0);
  }
  return sample;
}

/** "collector 21.3, nats-server 14.0, ... = 52.1 µs CPU per event: at most N events/s on C cores". */
function cpuReport(before: CpuSample, after: CpuSample, events: number): string {
  const parts = Object.keys(after).map((name) => [name, ((after[name]! - (before[name] ?? 0)) * 1000) / events] as const);
  const total = parts.reduce((sum, [, us]) => sum + us, 0);
  const ceiling = Math.round((cpus().length * 1e6) / total).toLocaleString('en-US');
  return `${parts.map(([name, us]) => `${name} ${us.toFixed(1)}`).join(', ')} = ${total.toFixed(1)} µs CPU per event (at most ${ceiling}/s on ${cpus().length} cores)`;
}

const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;

async function main(): Promise<void> {
  if (!NATS_SERVER) throw new Error('nats-server is not installed (apt-get install nats-server)');
  console.log(`pipeline benchmark: ${EVENTS.toLocaleString('en-US')} events per phase, collector --batch ${BATCH}, ` +
    `${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const schema = `tl_bench_${process.pid}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  cleanups.push(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });
  const db = withSchema(PG_URL, schema);
  const broker = await makeBroker(NATS_SERVER);
  cleanups.push(() => broker.remove());
  await broker.start();
  const nc = await connect({ servers: broker.url });
  cleanups.push(() => nc.close());
  await ensureStream(await jetstreamManager(nc), names);

  const outboxDir = mkdtempSync(join(DIR, 'telnetlogin-bench-outbox-'));
  cleanups.push(() => rmSync(outboxDir, { recursive: true, force: true }));
  const outbox = new Outbox(outboxDir, { maxEvents: EVENTS * 2 });
  cleanups.push(() => outbox.close());
  const forwarder = new Forwarder({ outbox, subject: names.eventSubject('bench-a'), onError: (err) => console.error(err.message) });
  cleanups.push(() => forwarder.stop());

  // (a) The stream holds N events; then the collector starts.
  let start = performance.now();
  await feed(outbox, 'bench-a', EVENTS);
  const fedMs = performance.now() - start;
  forwarder.attach(nc);
  await until('forwarding to JetStream', () => outbox.depth === 0, 20);
  const forwardMs = performance.now() - start;
  console.log(`outbox record():              ${rate(EVENTS, fedMs)} (${EVENTS} events, group commit, fsync)`);
  console.log(`outbox -> JetStream:          ${rate(EVENTS, forwardMs - fedMs)} (published and acknowledged after the outbox was full)`);

  start = performance.now();
  const app = `tl_bench_collector_${process.pid}`;
  const collectorDb = new URL(db);
  collectorDb.searchParams.set('application_name', app);
  const collectors = await Promise.all(
    Array.from({ length: COLLECTORS }, async () => {
      const proc = await startCollector(ctx, { nats: broker.url, db: collectorDb.toString(), extra: ['--batch', BATCH, '--http-listen', '127.0.0.1:0', ...COLLECTOR_ARGS] });
      cleanups.push(() => proc.kill('SIGTERM')); // a clean stop (writes a --cpu-prof profile)
      return { proc, http: Number((await proc.waitFor(/http: +http:\/\/127\.0\.0\.1:(\d+)\//))[1]) };
    }),
  );
  const ready = performance.now();
  const backends = async () =>
    (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app])).rows.map((r) => r.pid);
  const parts = async (): Promise<Parts> => ({
    [COLLECTORS === 1 ? 'collector' : `${COLLECTORS} collectors`]: collectors.map((c) => c.proc.child.pid!),
    'nats-server': [broker.pid!],
    'PostgreSQL backends': await backends(),
  });
  let cpuBefore = await cpuSample(await parts());
  const inserted = async () => (await Promise.all(collectors.map((c) => metric(c.http, 'telnetlogin_collector_events_inserted_total')))).reduce((a, b) => a + b, 0);
  await until('collector (a)', async () => (await inserted()) >= EVENTS);
  const insertMs = performance.now() - ready;
  console.log(`(a) ${COLLECTORS === 1 ? 'collector' : `${COLLECTORS} collectors`} inserts:        ${rate(EVENTS, insertMs)} rows ` +
    `(from ${COLLECTORS === 1 ? 'its' : 'their'} start, ${(ready - start).toFixed(0)} ms, until all ${EVENTS} were committed; the rollups' fold waits meanwhile)`);
  console.log(`    ${cpuReport(cpuBefore, await cpuSample(await parts()), EVENTS)}`);

  // The dashboard's rollups follow the events: folded by a collector after
  // the inserts (postgres-stats.ts), as soon as the collectors keep up.
  const folded = async () =>
    Number((await admin.query<{ n: string }>(`SELECT coalesce(sum(attempts), 0) AS n FROM ${schema}.stats_daily`)).rows[0]!.n);
  async function rollups(label: string, total: number): Promise<void> {
    const before = await cpuSample(await parts());
    const atEnd = await folded();
    const from = performance.now();
    await until(`rollups ${label}`, async () => (await folded()) >= total);
    const ms = performance.now() - from;
    console.log(`${label} rollups: ${(total - atEnd).toLocaleString('en-US')} events still to fold, folded ${(ms / 1000).toFixed(1)} s later ` +
      `(${rate(total - atEnd, ms)})`);
    console.log(`    ${cpuReport(before, await cpuSample(await parts()), Math.max(1, total - atEnd))}`);
  }
  await rollups('   ', EVENTS);

  // (b) End to end, with everything running, from a quiet start.
  await forwarder.stop();
  const sensorB = 'bench-b';
  const forwarderB = new Forwarder({ outbox, subject: names.eventSubject(sensorB), onError: (err) => console.error(err.message) });
  cleanups.push(() => forwarderB.stop());
  forwarderB.attach(nc);
  let maxDepth = 0;
  const sampler = setInterval(() => (maxDepth = Math.max(maxDepth, outbox.depth)), 20);
  const withSensor = async (): Promise<Parts> => ({ 'this process (outbox, forwarder)': 'self', ...(await parts()) });
  cpuBefore = await cpuSample(await withSensor());
  start = performance.now();
  await feed(outbox, sensorB, EVENTS);
  const fedB = performance.now() - start;
  await until('end to end (b)', async () => (await inserted()) >= 2 * EVENTS);
  const endToEndMs = performance.now() - start;
  clearInterval(sampler);
  console.log(`(b) end to end:               ${rate(EVENTS, endToEndMs)} events (outbox -> JetStream -> collector -> PostgreSQL; ` +
    `fed at ${rate(EVENTS, fedB)}, outbox depth at most ${maxDepth})`);
  console.log(`    ${cpuReport(cpuBefore, await cpuSample(await withSensor()), EVENTS)}`);
  await rollups('(c)', 2 * EVENTS);

  const counted = await admin.query<{ sensor: string; n: number; d: number }>(
    `SELECT sensor, count(*)::int AS n, count(DISTINCT id)::int AS d FROM ${schema}.events GROUP BY sensor ORDER BY sensor`,
  );
  for (const row of counted.rows) {
    if (row.n !== EVENTS || row.d !== EVENTS) throw new Error(`${row.sensor}: ${row.n} rows, ${row.d} distinct ids; expected ${EVENTS}`);
  }
  console.log(`check: PostgreSQL holds each event exactly once (${counted.rows.map((r) => `${r.sensor} ${r.n}`).join(', ')})`);
}

try {
  await main();
} finally {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`);
    }
  }
}
