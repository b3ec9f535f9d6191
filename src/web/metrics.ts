// Prometheus metrics: counters are read from their owners when scraped, so
// the hot paths only bump plain numbers.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SensorCounters } from '../sensor/server.ts';

export function createMetrics(sensor: () => SensorCounters): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'telnetlogin_process_' });

  const counter = (name: string, help: string, read: (c: SensorCounters) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(sensor()));
      },
    });
  counter('telnetlogin_connections_accepted_total', 'TELNET connections accepted', (c) => c.accepted);
  counter('telnetlogin_connections_shed_total', 'TELNET connections refused by a connection limit', (c) => c.shed);
  counter('telnetlogin_logins_recorded_total', 'Login attempts recorded durably', (c) => c.attempts);
  counter('telnetlogin_record_failures_total', 'Login attempts the store failed to record (no reply sent)', (c) => c.recordFailures);
  new Gauge({
    name: 'telnetlogin_connections_open',
    help: 'TELNET connections open now',
    registers: [registry],
    collect() {
      this.set(sensor().open);
    },
  });
  return registry;
}
