// Shared by the API, dashboard and browser tests: a temporary SQLite store
// seeded with events, hostile strings among them, and the web app over it.
import type { TestContext } from 'node:test';
import { Registry } from 'prom-client';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.ts';
import { createWebApp } from '../../src/web/app.ts';
import type { ApiOptions } from '../../src/web/api.ts';
import { addDashboardMetrics, addStoreMetrics } from '../../src/web/metrics.ts';
import { event, testAsdb } from '../feed/helpers.ts';
import { tempDir } from '../store/fixtures.ts';

export const HOUR = 3_600_000;
export const TOKEN = 'test-token-0123456789abcdef';

/** Strings a client may send to attack the dashboard. */
export const HOSTILE = {
  script: '<script>window.__pwned=1</script>',
  img: '"><img src=x onerror="window.__pwned=1">',
  rtl: 'admin\u202Egnp.exe',
  ttype: '<svg onload="window.__pwned=1">\u0007',
};

export const asdb = testAsdb(
  [
    ['192.0.2.0/24', 64500],
    ['198.51.100.0/24', 64501],
    ['2001:db8::/32', 64502],
  ],
  { 64500: 'EXAMPLE-NET <b>bold</b>', 64501: 'OTHER-NET', 64502: 'V6-NET' },
);

/** Events in the hour before `now`, and some from two days before (the returning addresses). */
export function seedEvents(now: number): LoginEvent[] {
  const events: LoginEvent[] = [];
  const add = (ip: string, time: number, username: string | Buffer, password: string | Buffer, attempt = 1, client?: Partial<LoginEvent['client']>) =>
    events.push(
      event(ip, time, {
        username: Buffer.from(username),
        password: Buffer.from(password),
        attempt,
        client: { options: ['DO ECHO', 'WILL NAWS'], ttypes: ['xterm'], env: {}, ...client },
      }),
    );
  // Returning: seen two days ago and now.
  add('192.0.2.1', now - 2 * 24 * HOUR, 'root', 'xc3511');
  for (let i = 0; i < 5; i++) add('192.0.2.1', now - 30 * 60_000 + i, 'root', i % 2 ? 'vizxv' : 'xc3511', i + 1);
  add('198.51.100.7', now - 20 * 60_000, 'admin', 'admin');
  add('198.51.100.7', now - 20 * 60_000 + 1, HOSTILE.script, HOSTILE.img, 2);
  add('2001:db8::5', now - 10 * 60_000, HOSTILE.rtl, Buffer.from([0xff, 0xfe, 0x00]), 1, { ttypes: [HOSTILE.ttype], options: ['WONT ECHO'] });
  return events;
}

export interface Seeded {
  store: SqliteStore;
  now: number;
  events: LoginEvent[];
  metrics: Registry;
}

export async function seededStore(t: TestContext, now = Date.now()): Promise<Seeded> {
  const metrics = new Registry();
  const store = openSqliteStore({ dataDir: tempDir(t), ...addStoreMetrics(metrics) });
  t.after(() => store.close());
  const events = seedEvents(now);
  await Promise.all(events.map((e) => store.record(e)));
  addDashboardMetrics(metrics, store.stats());
  return { store, now, events, metrics };
}

export function webApp(seeded: Seeded, api: Partial<ApiOptions> = {}) {
  return createWebApp({
    metrics: seeded.metrics,
    api: { stats: seeded.store.stats(), asdb: Promise.resolve({ current: asdb }), token: TOKEN, now: () => seeded.now, ...api },
  });
}
