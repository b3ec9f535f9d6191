// The collector: pulls from the shared durable consumer, writes batches to
// PostgreSQL and acknowledges each message only after the transaction that
// holds it has committed. A collector that dies mid-batch leaves its messages
// unacknowledged; the broker delivers them again (to any collector) after the
// ack wait, and the insert, idempotent on the event id, stores each once.
// Several collectors may share the consumer.
import type { JsMsg, JetStreamClient } from '@nats-io/jetstream';
import type { LoginEventJson } from '../events/json.ts';
import { TelnetloginError } from '../errors.ts';
import { rowProblem } from '../store/postgres-copy.ts';
import type { IngestBatch, PostgresStore, RejectedMessage, SensorHeartbeat } from '../store/postgres.ts';
import { Backoff, sleep } from './backoff.ts';
import { parseEventMessage } from './event-message.ts';
import { decodeHeartbeat } from './heartbeat.ts';
import { natsNames, type NatsNames } from './subjects.ts';

// Batches written at once: one is encoded while PostgreSQL takes another.
const WRITERS = 2;
/** How often stored events are folded into the dashboard's rollups (postgres-stats.ts); one collector at a time does. */
const FOLD_EVERY_MS = 1000;
// The fold yields to the ingest: while every writer is busy (the collector is
// behind, as when sensors' outboxes drain after an outage) it waits, so that
// events reach PostgreSQL first (measured: a fold costs PostgreSQL about as
// much CPU per event as the insert), but not longer than this.
const FOLD_YIELD_MAX_MS = 30_000;

export interface CollectorOptions {
  store: PostgresStore;
  durable: string;
  /** The stream and subjects (default: under "telnetlogin"). */
  names?: NatsNames;
  /** Messages per transaction at most (default 5000). */
  batch?: number;
  /** How long a partial batch waits for more messages (default 20 ms). */
  lingerMs?: number;
  onError?(err: Error): void;
}

export interface CollectorStats {
  /** Events newly stored. */
  inserted: number;
  /** Events that were stored already (redeliveries, re-published outbox entries). */
  duplicates: number;
  heartbeats: number;
  /** Messages kept in rejected_messages instead of events. */
  rejected: number;
  /** Transactions committed. */
  batches: number;
  /** Failed attempts to write a batch (each retried). */
  storeErrors: number;
  /** Stored events this collector folded into the dashboard's rollups. */
  folded: number;
}

/** Sorts the messages of a batch into what goes to the store. */
export function sortMessages(
  messages: readonly { readonly subject: string; readonly data: Uint8Array; /** When the broker received it (JsMsg parses it only when asked). */ readonly time: Date }[],
  names: NatsNames = natsNames(),
): IngestBatch {
  const events: LoginEventJson[] = [];
  const heartbeats: SensorHeartbeat[] = [];
  const rejected: RejectedMessage[] = [];
  for (const m of messages) {
    const target = names.parseSubject(m.subject);
    try {
      if (!target) throw new TelnetloginError('TL_MESSAGE_INVALID', 'not a telnetlogin subject');
      if (target.kind === 'heartbeat') {
        heartbeats.push(decodeHeartbeat(m.data, target.sensor, m.time.getTime()));
        continue;
      }
      const event = parseEventMessage(m.data);
      // The subject is what the broker let this sensor publish on: an event
      // must not speak for another sensor.
      if (event.sensor !== target.sensor) {
        throw new TelnetloginError('TL_MESSAGE_INVALID', `event of sensor ${JSON.stringify(event.sensor)} on the subject of ${target.sensor}`);
      }
      const problem = rowProblem(event);
      if (problem !== undefined) throw new TelnetloginError('TL_MESSAGE_INVALID', `not a storable LoginEvent: ${problem}`);
      events.push(event);
    } catch (err) {
      rejected.push({ subject: m.subject, error: (err as Error).message, payload: m.data });
    }
  }
  return { events, heartbeats, rejected };
}

export class Collector {
  readonly #store: PostgresStore;
  readonly #durable: string;
  readonly #names: NatsNames;
  readonly #batch: number;
  readonly #lingerMs: number;
  readonly #onError: (err: Error) => void;
  readonly #stats: CollectorStats = { inserted: 0, duplicates: 0, heartbeats: 0, rejected: 0, batches: 0, storeErrors: 0, folded: 0 };
  #pending: JsMsg[] = [];
  /** Batches being written (each on its own connection). */
  readonly #writes = new Set<Promise<void>>();
  #linger: NodeJS.Timeout | undefined;
  #stopping = false;
  #stopConsuming: (() => void) | undefined;
  #folding: Promise<unknown> | undefined;
  #foldTimer: NodeJS.Timeout | undefined;

  constructor(options: CollectorOptions) {
    this.#store = options.store;
    this.#durable = options.durable;
    this.#names = options.names ?? natsNames();
    this.#batch = options.batch ?? 5000;
    this.#lingerMs = options.lingerMs ?? 20;
    this.#onError = options.onError ?? (() => {});
  }

  stats(): CollectorStats & { pending: number } {
    return { ...this.#stats, pending: this.#pending.length };
  }

  /**
   * Consumes until stop(). When consuming fails or ends (the broker lost its
   * state, say), `prepare` (re)creates stream and consumer and it goes on.
   */
  async run(js: JetStreamClient, prepare: () => Promise<void>): Promise<void> {
    let lastFold = Date.now();
    this.#foldTimer = setInterval(() => {
      if (this.#folding || (this.#writes.size >= WRITERS && Date.now() - lastFold < FOLD_YIELD_MAX_MS)) return;
      lastFold = Date.now();
      this.#folding = this.#store
        .foldStats()
        .then((n) => (this.#stats.folded += n))
        .catch((err: Error) => this.#onError(new Error(`folding events into the rollups: ${err.message}`, { cause: err })))
        .finally(() => (this.#folding = undefined));
    }, FOLD_EVERY_MS);
    const backoff = new Backoff(250, 10_000);
    for (let attempt = 0; !this.#stopping; attempt++) {
      try {
        if (attempt > 0) await prepare();
        const consumer = await js.consumers.get(this.#names.stream, this.#durable);
        // Buffered: the batches being written and one filling.
        const messages = await consumer.consume({ max_messages: this.#batch * (WRITERS + 1) });
        this.#stopConsuming = () => void messages.stop();
        if (this.#stopping) messages.stop();
        for await (const msg of messages) {
          this.#pending.push(msg);
          backoff.reset();
          if (this.#pending.length < this.#batch) {
            this.#linger ??= setTimeout(() => this.#flush(true), this.#lingerMs);
            continue;
          }
          // Backpressure: with every writer busy, no more messages are taken.
          while (this.#writes.size >= WRITERS) await Promise.race(this.#writes);
          this.#flush(false);
        }
      } catch (err) {
        if (this.#stopping) break;
        this.#onError(new Error(`consuming ${this.#names.stream}/${this.#durable}: ${(err as Error).message}`, { cause: err }));
      }
      if (!this.#stopping) await sleep(backoff.next());
    }
  }

  /** Stops taking messages, writes and acknowledges those taken. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopConsuming?.();
    clearInterval(this.#foldTimer);
    while (this.#writes.size > 0 || this.#pending.length > 0) {
      this.#flush(true);
      await Promise.race(this.#writes);
    }
    await this.#folding; // the store's close() folds what is left
  }

  /**
   * Starts writing full batches (and with `partial`, what is pending) while a
   * writer is free; a partial batch left over waits lingerMs for more.
   */
  #flush(partial: boolean): void {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    while (this.#writes.size < WRITERS && (this.#pending.length >= this.#batch || (partial && this.#pending.length > 0))) {
      const write: Promise<void> = this.#write(this.#pending.splice(0, this.#batch)).finally(() => {
        this.#writes.delete(write);
        this.#flush(this.#stopping);
      });
      this.#writes.add(write);
    }
    if (this.#pending.length > 0) this.#linger ??= setTimeout(() => this.#flush(true), this.#lingerMs);
  }

  /** Writes a batch (retrying until PostgreSQL takes it), then acknowledges it. */
  async #write(messages: JsMsg[]): Promise<void> {
    const batch = sortMessages(messages, this.#names);
    const backoff = new Backoff(200, 10_000);
    for (;;) {
      try {
        const { inserted } = await this.#store.ingest(batch);
        this.#stats.inserted += inserted;
        this.#stats.duplicates += batch.events.length - inserted;
        break;
      } catch (err) {
        this.#stats.storeErrors++;
        // Stopping: leave them unacknowledged, the broker delivers them again.
        if (this.#stopping && backoff.failures >= 3) return;
        const wait = backoff.next();
        this.#onError(new Error(`${(err as Error).message}; retrying in ${wait} ms`));
        // Keep the broker from handing these messages to another collector meanwhile.
        for (const m of messages) m.working();
        await sleep(wait);
      }
    }
    this.#stats.batches++;
    this.#stats.heartbeats += batch.heartbeats!.length;
    this.#stats.rejected += batch.rejected!.length;
    for (const m of messages) m.ack();
  }
}
