// Prometheus metrics: counters are read from their owners when scraped, so
// the hot paths only bump plain numbers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FeedPublisher } from '../feed/publisher.ts';
import { FORMATS, type FormatName } from '../feed/render.ts';
import type { StatsReader } from '../store/stats.ts';
import type { SensorCounters } from '../sensor/server.ts';
import type { CollectorStats } from '../transport/collector.ts';
import type { ForwarderStats } from '../transport/forwarder.ts';
import type { OutboxStats } from '../transport/outbox.ts';

export function createMetrics(sensor: () => SensorCounters): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'telnetlogin_process_' });

  const counter = (name: string, help: string, read: (c: SensorCounters) => number) =>
    counterFrom(registry, name, help, () => read(sensor()));
  counter('telnetlogin_connections_accepted_total', 'TELNET connections accepted', (c) => c.accepted);
  counter('telnetlogin_connections_shed_total', 'TELNET connections refused by a connection limit', (c) => c.shed);
  counter('telnetlogin_logins_recorded_total', 'Login attempts recorded durably', (c) => c.attempts);
  counter('telnetlogin_record_failures_total', 'Login attempts the store failed to record (no reply sent)', (c) => c.recordFailures);
  gaugeFrom(registry, 'telnetlogin_connections_open', 'TELNET connections open now', () => sensor().open);
  return registry;
}

/** A counter whose value is read from its owner at scrape time. */
function counterFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge whose value is read from its owner at scrape time. */
function gaugeFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** `telnetlogin sensor`: the outbox (its growth is bounded and shows here) and the forwarder to JetStream. */
export function addOutboxMetrics(registry: Registry, outbox: () => OutboxStats, forwarder: () => ForwarderStats): void {
  gaugeFrom(registry, 'telnetlogin_outbox_depth', 'Events in the outbox, not yet acknowledged by the broker', () => outbox().depth);
  gaugeFrom(registry, 'telnetlogin_outbox_max_events', 'The outbox limit; at it, logins are hung up on without a reply', () => outbox().maxEvents);
  gaugeFrom(registry, 'telnetlogin_outbox_oldest_age_seconds', 'Age of the oldest event in the outbox (0 when empty)', () => outbox().oldestAgeMs / 1000);
  counterFrom(registry, 'telnetlogin_outbox_refused_total', 'Events refused because the outbox was full', () => outbox().refused);
  gaugeFrom(registry, 'telnetlogin_nats_connected', '1 while connected to the NATS broker', () => (forwarder().connected ? 1 : 0));
  counterFrom(registry, 'telnetlogin_forwarder_published_total', 'Events the JetStream stream acknowledged', () => forwarder().published);
  counterFrom(registry, 'telnetlogin_forwarder_duplicates_total', 'Acknowledged events the stream already held (re-sent within its duplicate window)', () => forwarder().duplicates);
  counterFrom(registry, 'telnetlogin_forwarder_retries_total', 'Publishes that failed or went unanswered and were sent again', () => forwarder().retries);
  gaugeFrom(registry, 'telnetlogin_forwarder_in_flight', 'Publishes waiting for their acknowledgement', () => forwarder().inFlight);
}

/** `telnetlogin collector`: what it stored, and how PostgreSQL is doing. */
export function createCollectorMetrics(collector: () => CollectorStats & { pending: number }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'telnetlogin_process_' });
  counterFrom(registry, 'telnetlogin_collector_events_inserted_total', 'Events newly stored in PostgreSQL', () => collector().inserted);
  counterFrom(registry, 'telnetlogin_collector_events_duplicate_total', 'Events delivered again that PostgreSQL already held', () => collector().duplicates);
  counterFrom(registry, 'telnetlogin_collector_heartbeats_total', 'Sensor heartbeats recorded', () => collector().heartbeats);
  counterFrom(registry, 'telnetlogin_collector_rejected_total', 'Messages kept in rejected_messages instead of being stored as events', () => collector().rejected);
  counterFrom(registry, 'telnetlogin_collector_batches_total', 'Transactions committed', () => collector().batches);
  counterFrom(registry, 'telnetlogin_collector_store_errors_total', 'Failed attempts to write a batch to PostgreSQL (each retried)', () => collector().storeErrors);
  gaugeFrom(registry, 'telnetlogin_collector_pending', 'Messages received and waiting to be written', () => collector().pending);
  // Against events_inserted_total (summed over the collectors): how far the rollups lag behind the events.
  counterFrom(registry, 'telnetlogin_collector_events_folded_total', "Stored events folded into the dashboard's rollups by this collector", () => collector().folded);
  return registry;
}

/** The embedded store: how long its commits and its folds take. Returns the hooks to hand the store (SqliteStoreOptions). */
export function addStoreMetrics(registry: Registry): { onCommit: BatchTimer; onFold: BatchTimer } {
  return {
    onCommit: batchTimer(registry, 'telnetlogin_store_commit_seconds', 'Time to commit one batch of events (including its fsync)',
      'telnetlogin_store_committed_events_total', 'Events in committed batches'),
    onFold: batchTimer(registry, 'telnetlogin_store_fold_seconds', 'Time to fold one batch of stored events into the feed summaries and dashboard rollups',
      'telnetlogin_store_folded_events_total', 'Events folded into the feed summaries and rollups'),
  };
}

type BatchTimer = (ms: number, events: number) => void;

/** A histogram of how long batches take, and a counter of the events in them. */
function batchTimer(registry: Registry, name: string, help: string, eventsName: string, eventsHelp: string): BatchTimer {
  const seconds = new Histogram({ name, help, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] });
  const events = new Counter({ name: eventsName, help: eventsHelp, registers: [registry] });
  return (ms, n) => {
    seconds.observe(ms / 1000);
    events.inc(n);
  };
}

/** Per-sensor figures from the store's rollups, and the feed files' sizes. */
export function addDashboardMetrics(registry: Registry, stats: StatsReader | null, feeds?: Pick<FeedPublisher, 'current'>): void {
  if (stats) {
    new Gauge({
      name: 'telnetlogin_sensor_attempts',
      help: 'Login attempts stored, per sensor (from the store, so every sensor writing to it)',
      labelNames: ['sensor'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of await stats.sensors()) this.set({ sensor: s.sensor }, s.attempts);
      },
    });
    new Gauge({
      name: 'telnetlogin_sensor_last_event_timestamp_seconds',
      help: 'When each sensor last recorded a login attempt',
      labelNames: ['sensor'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of await stats.sensors()) this.set({ sensor: s.sensor }, s.lastEvent / 1000);
      },
    });
  }
  if (feeds) {
    new Gauge({
      name: 'telnetlogin_feed_bytes',
      help: 'Size of each feed file in the latest build (uncompressed)',
      labelNames: ['format'],
      registers: [registry],
      collect() {
        for (const name of Object.keys(FORMATS) as FormatName[]) {
          const f = feeds.current(name);
          if (f) this.set({ format: name }, f.size);
        }
      },
    });
  }
}
