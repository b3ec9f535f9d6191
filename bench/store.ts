// Micro benchmark of the embedded store's record(): events/s and process CPU
// per event, for different numbers of events recorded in the same turn (one
// group commit each); then the store's whole cost per event under the sensor
// benchmark's load (bench:sensor, c=200), its folds into the derived tables
// included. Run: node --import tsx bench/store.ts [DIR]
// DIR (default: the OS temp dir) should be on the disk the store will use,
// since every commit waits for fsync.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { uuidv7 } from '../src/events/id.ts';
import type { LoginEvent } from '../src/events/login-event.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';

const BATCH_SIZES = [1, 20, 200];
const MAX_EVENTS = 200_000;
const MAX_SECONDS = 3;

function makeEvent(i: number): LoginEvent {
  const now = Date.now();
  return {
    id: uuidv7(now),
    time: now,
    sensor: 'bench',
    src_ip: `198.51.100.${i % 256}`,
    src_port: 40000 + (i % 20000),
    dst_ip: '192.0.2.1',
    dst_port: 23,
    session: uuidv7(now),
    attempt: 1 + (i % 5),
    username: Buffer.from(['root', 'admin', 'support', 'user'][i % 4]!),
    password: Buffer.from(['xc3511', 'vizxv', 'admin', '7ujMko0admin', '\xff\x00'][i % 5]!, 'latin1'),
    // What a Mirai-like client typically reveals.
    client: { options: ['DO ECHO', 'DO SGA', 'WILL NAWS', 'WILL TTYPE'], ttypes: ['xterm'], naws: { width: 80, height: 24 }, env: {} },
  };
}

const root = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'telnetlogin-bench-store-'));
console.log(`store in ${root} (synchronous=FULL, WAL); each row: up to ${MAX_EVENTS} events or ${MAX_SECONDS} s of recording`);
console.log('batch  events   events/s   CPU µs/event   wall µs/commit');
try {
  for (const batch of BATCH_SIZES) {
    // No commit interval: each row measures commits of its batch size, not
    // the interval's wait (a lone writer has no sensor to hurry its commits).
    const store = openSqliteStore({ dataDir: join(root, `batch-${batch}`), maxBatch: Math.max(batch, 512), commitIntervalMs: 0 });
    // Only record() and the wait for its commit are measured, not making the events.
    let cpuUs = 0;
    let wallMs = 0;
    let done = 0;
    while (done < MAX_EVENTS && wallMs < MAX_SECONDS * 1000) {
      const events = Array.from({ length: batch }, (_, i) => makeEvent(done + i));
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(events.map((e) => store.record(e)));
      wallMs += performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      cpuUs += cpu.user + cpu.system;
      done += batch;
    }
    await store.close();
    console.log(
      `${String(batch).padStart(5)}  ${String(done).padStart(6)}  ${Math.round((done / wallMs) * 1000).toString().padStart(9)}` +
        `  ${(cpuUs / done).toFixed(2).padStart(13)}  ${((wallMs * 1000) / (done / batch)).toFixed(0).padStart(15)}`,
    );
  }

  // As bench:sensor's brute-force load reaches the store at about 10,000
  // attempts/s: commits of 100 events, a fold every 250 ms (2,500 events),
  // 1,016 client addresses, three attempts per connection, each credential new.
  const SENSOR_LIKE = 200_000;
  const store = openSqliteStore({ dataDir: join(root, 'sensor-like'), commitIntervalMs: 0, foldIntervalMs: 3_600_000 });
  const client = { options: ['WONT ECHO', 'WILL NAWS', 'DO ECHO', 'DO SGA'], ttypes: [], naws: { width: 80, height: 24 }, env: {} };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < SENSOR_LIKE; ) {
    const now = Date.now();
    const events = Array.from({ length: 100 }, (_, j): LoginEvent => {
      const i = done + j;
      const k = Math.floor(i / 3) % 1016;
      return {
        ...makeEvent(i),
        src_ip: `127.1.${Math.floor(k / 254)}.${(k % 254) + 1}`,
        session: uuidv7(now),
        attempt: 1 + (i % 3),
        username: Buffer.from(`u${i}`),
        password: Buffer.from(`p${i}`),
        client,
      };
    });
    await Promise.all(events.map((e) => store.record(e)));
    done += events.length;
    if (done % 2500 === 0) await store.sensors(); // a reader folds first (src/store/sqlite-fold.ts)
  }
  await store.close();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  console.log(`\nsensor-like load (commits of 100, a fold every 2,500 events, 1,016 addresses, new credentials):`);
  console.log(`  ${SENSOR_LIKE} events, ${Math.round((SENSOR_LIKE / wallMs) * 1000)} events/s, ${((cpu.user + cpu.system) / SENSOR_LIKE).toFixed(1)} µs CPU per event (making the events included)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
