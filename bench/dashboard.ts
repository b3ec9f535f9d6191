// The dashboard API over a large embedded store: seeds EVENTS (default 1M)
// login events spread over 30 days through the store's batch insert path
// (record() with group commit, so the rollups are kept as in production),
// then times each /api/v1 endpoint (median and max of N requests through
// fastify's inject, no network) and prints a table.
// Run: npm run bench:dashboard [-- EVENTS [DIR]]
//   BENCH_PG=postgres://127.0.0.1:5432/test   the PostgreSQL store instead (a
//   schema of its own, dropped at the end): events ingested in batches as a
//   collector writes them, rollups folded, then read as `serve` reads them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { uuidv7 } from '../src/events/id.ts';
import type { LoginEvent } from '../src/events/login-event.ts';
import pg from 'pg';
import { eventToJson } from '../src/events/json.ts';
import { openPostgresStore, withDefaultUser } from '../src/store/postgres.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import type { StatsReader } from '../src/store/stats.ts';
import { withSchema } from '../test/helpers/services.ts';
import { createWebApp } from '../src/web/app.ts';
import { asdb } from '../test/web/seed.ts';
import { temporary } from './lib/cleanup.ts';
import { table } from './lib/table.ts';

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const DAYS = 30;
const ADDRESSES = 60_000;
const PG = process.env.BENCH_PG;
const BATCH = PG ? 5000 : 2000;
const REQUESTS = 25;
const TOKEN = 'bench-token-0123456789abcdef';
const tty = process.stderr.isTTY;

const USERS = ['root', 'admin', 'support', 'user', 'guest', 'ubnt', 'telnet', 'default', 'supervisor', 'Administrator'];
// A few hundred common passwords and a long tail, as dictionary attacks send.
const PASSWORDS = Array.from({ length: 300 }, (_, i) => ['xc3511', 'vizxv', 'admin', '7ujMko0admin', '123456', 'default'][i] ?? `pw${i}`);

// Deterministic pseudo-random numbers (xorshift), so runs compare.
let seed = 2463534242;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
// Skewed: a few addresses send most attempts, as brute-forcers do.
const skewed = (n: number) => Math.floor(n * rand() ** 3);

const now = Date.now();
function makeEvent(i: number): LoginEvent {
  const time = now - Math.floor(((EVENTS - i) / EVENTS) * DAYS * 86_400_000);
  const a = skewed(ADDRESSES);
  return {
    id: uuidv7(time),
    time,
    sensor: `sensor-${a % 8}`,
    src_ip: a % 10 === 0 ? `2001:db8::${a.toString(16)}` : `${a % 3 ? '198.51.100' : '192.0.2'}.${a % 256}`.replace(/\.(\d+)$/, `.${a % 256}`) + '',
    src_port: 40000 + (i % 20000),
    dst_ip: '203.0.113.1',
    dst_port: 23,
    session: uuidv7(time),
    attempt: 1 + (i % 3),
    username: Buffer.from(USERS[skewed(USERS.length)]!),
    password: Buffer.from(rand() < 0.05 ? `rnd${Math.floor(rand() * 1e6)}` : PASSWORDS[skewed(PASSWORDS.length)]!),
    client: { options: ['DO ECHO', 'DO SGA', 'WILL NAWS', 'WILL TTYPE'].slice(0, 1 + (a % 4)), ttypes: a % 5 ? ['xterm'] : ['vt100', 'ANSI'], env: {} },
  };
}

/** Seeds the store the run is about; resolves with its dashboard reader and how to close it. */
async function seedStore(): Promise<{ stats: StatsReader; what: string; close(): Promise<void> }> {
  const batches = async (write: (events: LoginEvent[]) => Promise<unknown>) => {
    for (let done = 0; done < EVENTS; ) {
      const n = Math.min(BATCH, EVENTS - done);
      await write(Array.from({ length: n }, (_, k) => makeEvent(done + k)));
      done += n;
      if (tty && done % 50_000 < BATCH) process.stderr.write(`\rseeding ${done.toLocaleString('en')} / ${EVENTS.toLocaleString('en')} events`);
    }
    if (tty) process.stderr.write('\r\x1b[K');
  };
  if (PG) {
    const admin = new pg.Client({ connectionString: withDefaultUser(PG) });
    await admin.connect();
    const schema = `tl_bench_dashboard_${process.pid}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = withSchema(withDefaultUser(PG), schema);
    const writer = await openPostgresStore(url);
    await batches((events) => writer.ingest({ events: events.map(eventToJson) }));
    await writer.close(); // folds the rollups
    // As autovacuum would within a minute of a bulk load: without statistics
    // the planner takes the rollups for empty (top pairs over 30 days: 117
    // instead of 66 ms, sorting on disk).
    await admin.query(`ANALYZE ${schema}.stats_top, ${schema}.stats_hour_ips, ${schema}.stats_day_ips, ${schema}.stats_addresses`);
    const reader = await openPostgresStore(url, { readonly: true });
    return {
      stats: reader.stats(),
      what: 'PostgreSQL (ingest as a collector writes, rollups folded, read-only reader as serve)',
      close: async () => {
        await reader.close();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      },
    };
  }
  const dir = temporary(mkdtempSync(join(process.argv[3] ?? tmpdir(), 'telnetlogin-bench-dashboard-')));
  const store = openSqliteStore({ dataDir: dir, maxBatch: BATCH, commitIntervalMs: 0 });
  await batches((events) => Promise.all(events.map((e) => store.record(e))));
  return { stats: store.stats()!, what: 'SQLite (record() with group commit; feed summaries and rollups folded)', close: () => store.close() };
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const seeded = await seedStore();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  `${seeded.what}: seeded ${EVENTS.toLocaleString('en')} events (${DAYS} days, up to ${ADDRESSES.toLocaleString('en')} addresses) in ${seconds.toFixed(1)} s: ` +
    `${Math.round(EVENTS / seconds).toLocaleString('en')} events/s, ${(((cpu.user + cpu.system) / EVENTS)).toFixed(1)} µs CPU/event in this process (batches of ${BATCH})`,
);

const app = createWebApp({
  metrics: new Registry(),
  api: { stats: seeded.stats, asdb: Promise.resolve({ current: asdb }), token: TOKEN },
});
const day = 86_400_000;
const range = (span: number) => `from=${now - span}&to=${now}`;
const endpoints: Array<[string, string, boolean?]> = [
  ['stats 24h (hour)', `/api/v1/stats?${range(day)}`],
  ['stats 7d (hour)', `/api/v1/stats?${range(7 * day)}&bucket=hour`],
  ['stats 30d (day)', `/api/v1/stats?${range(30 * day)}`],
  ['top usernames 24h', `/api/v1/top/usernames?${range(day)}`],
  ['top passwords 30d (first, uncached)', `/api/v1/top/passwords?${range(30 * day)}&limit=11`],
  ['top passwords 30d (cached)', `/api/v1/top/passwords?${range(30 * day)}`],
  ['top pairs 30d (first, uncached)', `/api/v1/top/pairs?${range(30 * day)}&limit=11`],
  ['top pairs 30d (cached)', `/api/v1/top/pairs?${range(30 * day)}`],
  ['top pairs 24h (first, uncached)', `/api/v1/top/pairs?${range(day)}&limit=11`],
  ['top fingerprints 30d', `/api/v1/top/fingerprints?${range(30 * day)}`],
  ['top asns 24h (first, uncached)', `/api/v1/top/asns?${range(day)}`],
  ['top asns 30d (first, uncached)', `/api/v1/top/asns?${range(30 * day)}`],
  ['top asns 30d (cached)', `/api/v1/top/asns?${range(30 * day)}`],
  ['sensors', '/api/v1/sensors'],
  ['feed', '/api/v1/feed'],
  ['address (busiest)', '/api/v1/address/192.0.2.0'],
  ['address credentials (busiest, token)', '/api/v1/address/192.0.2.0/credentials', true],
  ['events 100 (token)', `/api/v1/events?since=${now - day}&limit=100`, true],
];
const rows: string[][] = [];
for (const [name, url, auth] of endpoints) {
  const headers = auth ? { authorization: `Bearer ${TOKEN}` } : {};
  const first = name.includes('uncached'); // one request: the next would be answered from the cache
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < (first ? 1 : REQUESTS); i++) {
    const s = performance.now();
    const res = await app.inject({ url, headers });
    times.push(performance.now() - s);
    status = res.statusCode;
  }
  times.sort((a, b) => a - b);
  rows.push([name, String(status), times[Math.floor(times.length / 2)]!.toFixed(2), times[times.length - 1]!.toFixed(2), String(times.length)]);
}
console.log(table(['endpoint', 'status', 'median ms', 'max ms', 'requests'], rows));
await app.close();
await seeded.close();
