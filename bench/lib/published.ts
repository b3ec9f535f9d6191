// What a `telnetlogin sensor` recorded, read end to end: the events its outbox
// forwarded to the bench's own JetStream stream, matched against the
// credentials whose "Login incorrect" the clients saw (as recorded.ts does for
// the embedded store).
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsNames } from '../../src/transport/subjects.ts';
import { parseEventMessage } from '../../src/transport/event-message.ts';
import { Tally, type Phase, type PhaseCount } from './recorded.ts';
import type { NatsTarget } from './server-process.ts';

const FETCH = { max_messages: 10_000, expires: 2000 };
const TIMEOUT_MS = 120_000;

/** Counts, for each phase, its credentials among the sensor's published events, and those published in its window. */
export async function countPublished(nats: NatsTarget, sensor: string, phases: Phase[]): Promise<PhaseCount[]> {
  const tally = new Tally(phases);
  const names = natsNames(nats.root);
  const subject = names.eventSubject(sensor);
  await withBroker(nats, async (nc) => {
    const info = await (await jetstreamManager(nc)).streams.info(names.stream, { subjects_filter: subject });
    const total = info.state.subjects?.[subject] ?? 0;
    const consumer = await jetstream(nc).consumers.get(names.stream, { filter_subjects: subject });
    const end = Date.now() + TIMEOUT_MS;
    for (let read = 0; read < total; ) {
      if (Date.now() > end) throw new Error(`read ${read} of ${total} events from ${names.stream} in ${TIMEOUT_MS} ms`);
      for await (const m of await consumer.fetch(FETCH)) {
        tally.add(parseEventMessage(m.data));
        read++;
      }
    }
  });
  return tally.counts;
}

/**
 * The stream the sensor publishes to (in production the collector makes it).
 * Limits retention rather than the collector's work queue, so that reading it
 * takes nothing away; the sensor's side is the same.
 */
export async function createStream(nats: NatsTarget): Promise<void> {
  const names = natsNames(nats.root);
  await withBroker(nats, async (nc) => {
    await (await jetstreamManager(nc)).streams.add({
      name: names.stream, subjects: names.streamSubjects, storage: StorageType.File, retention: RetentionPolicy.Limits,
    });
  });
}

/** Removes the bench's stream from the broker. */
export async function dropStream(nats: NatsTarget): Promise<void> {
  await withBroker(nats, async (nc) => {
    await (await jetstreamManager(nc)).streams.delete(natsNames(nats.root).stream);
  });
}

/** Runs `use` on a connection of its own to the bench's broker. */
async function withBroker(nats: NatsTarget, use: (nc: NatsConnection) => Promise<void>): Promise<void> {
  const nc = await connect({ servers: nats.url, reconnect: false }).catch((err: Error) => {
    throw new Error(`no NATS broker at ${nats.url} (BENCH_NATS sets another): ${err.message}`);
  });
  try {
    await use(nc);
  } finally {
    await nc.close();
  }
}
