// Moves events from the outbox to JetStream: each event is published on
// telnetlogin.events.<sensor> with its id as message id (Nats-Msg-Id, so the
// broker drops a repeat within the stream's duplicate window), and leaves the
// outbox only after the broker's PubAck says the stream stored it.
//
// Throughput: many publishes are in flight at once (a window), all answered on
// one wildcard reply subscription whose last token is the outbox sequence
// number. This costs a fraction of a request per message (bench/pipeline.ts).
// While the broker is unreachable nothing is sent; publishes that got no
// answer go again, after a backoff with jitter.
//
// A re-publish after the duplicate window (a sensor offline for longer, then
// resending what it had sent just before) is stored twice in the stream; the
// collector's insert is idempotent on the event id, so PostgreSQL still holds
// it once.
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Backoff } from './backoff.ts';
import type { Outbox, OutboxEntry } from './outbox.ts';

export interface ForwarderOptions {
  outbox: Outbox;
  /** The subject events go to (telnetlogin.events.<sensor>). */
  subject: string;
  /** Publishes in flight at most (default 4096). */
  window?: number;
  /** The connection's inbox prefix (the sensor may subscribe only under it). */
  inboxPrefix?: string;
  /** A publish without an answer for this long goes again (default 10 s). */
  ackTimeoutMs?: number;
  onError?(err: Error): void;
}

export interface ForwarderStats {
  connected: boolean;
  /** Events the stream acknowledged (duplicates included). */
  published: number;
  /** Of those, the ones the stream already had (a repeat within its duplicate window). */
  duplicates: number;
  /** Publishes that failed or got no answer in time, and went again. */
  retries: number;
  inFlight: number;
}

interface PubAckJson {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; description?: string };
}

const decoder = new TextDecoder();
// Acknowledged events leave the outbox in transactions of this many (or every tick).
const REMOVAL_BATCH = 2048;

export class Forwarder {
  readonly #outbox: Outbox;
  readonly #subject: string;
  readonly #window: number;
  readonly #ackTimeoutMs: number;
  readonly #inboxPrefix: string;
  readonly #onError: (err: Error) => void;
  readonly #backoff = new Backoff(100, 30_000);
  readonly #stats = { published: 0, duplicates: 0, retries: 0 };
  /** Published, waiting for the PubAck: seq -> entry and when it was sent. */
  readonly #inFlight = new Map<number, { entry: OutboxEntry; sentAt: number }>();
  /** Sent without success: they go first when sending resumes. */
  #retry: OutboxEntry[] = [];
  /** Acknowledged, still to be removed from the outbox. */
  #acked: number[] = [];
  /** The highest sequence number taken from the outbox. */
  #cursor = 0;
  #nc: NatsConnection | undefined;
  #replies: Subscription | undefined;
  #inbox = '';
  #connected = false;
  #pausedUntil = 0;
  #scheduled = false;
  #stopped = false;
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;

  constructor(options: ForwarderOptions) {
    this.#outbox = options.outbox;
    this.#subject = options.subject;
    this.#window = options.window ?? 4096;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#inboxPrefix = options.inboxPrefix ?? '_INBOX';
    this.#onError = options.onError ?? (() => {});
    this.#unsubscribe = this.#outbox.onCommit(() => this.#schedule());
    // Expires unanswered publishes, resumes after a pause, removes what was acknowledged.
    this.#timer = setInterval(() => this.#tick(), 250);
    this.#timer.unref();
  }

  /** Starts publishing over `nc` (connected; it reconnects by itself). */
  attach(nc: NatsConnection): void {
    this.#nc = nc;
    this.#inbox = createInbox(this.#inboxPrefix);
    this.#replies = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => (err ? this.#onError(err) : this.#answer(msg)) });
    this.#connected = !nc.isClosed();
    void this.#watch(nc);
    this.#schedule();
  }

  stats(): ForwarderStats {
    return { connected: this.#connected, ...this.#stats, inFlight: this.#inFlight.size };
  }

  /** Stops sending; what is not acknowledged stays in the outbox for next time. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    clearInterval(this.#timer);
    this.#flushRemovals();
    this.#replies?.unsubscribe();
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.#connected = false;
        this.#requeueAll(); // their answers, if any, died with the connection
      } else if (status.type === 'reconnect') {
        this.#connected = true;
        this.#backoff.reset();
        this.#pausedUntil = 0;
        this.#schedule();
      } else if (status.type === 'error') {
        this.#onError(status.error); // e.g. a permissions violation: these credentials may not publish here
      }
    }
    this.#connected = false;
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Fills the window: retries first, then the outbox in order. */
  #pump(): void {
    if (this.#acked.length >= REMOVAL_BATCH) this.#flushRemovals();
    const nc = this.#nc;
    if (!nc || !this.#connected || this.#stopped || Date.now() < this.#pausedUntil) return;
    try {
      while (this.#inFlight.size < this.#window) {
        let batch = this.#retry;
        this.#retry = [];
        if (batch.length === 0) {
          batch = this.#outbox.take(this.#cursor, Math.min(1024, this.#window - this.#inFlight.size));
          if (batch.length === 0) return;
          this.#cursor = batch[batch.length - 1]!.seq;
        }
        const now = Date.now();
        for (let i = 0; i < batch.length; i++) {
          const entry = batch[i]!;
          const h = headers();
          h.set('Nats-Msg-Id', entry.id);
          try {
            nc.publish(this.#subject, entry.payload, { reply: `${this.#inbox}.${entry.seq}`, headers: h });
          } catch (err) {
            this.#retry.push(...batch.slice(i)); // the connection closed meanwhile
            throw err;
          }
          this.#inFlight.set(entry.seq, { entry, sentAt: now });
        }
      }
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #answer(msg: Msg): void {
    const seq = Number(msg.subject.slice(this.#inbox.length + 1));
    const sent = this.#inFlight.get(seq);
    let ack: PubAckJson | undefined;
    try {
      ack = msg.data.length > 0 ? (JSON.parse(decoder.decode(msg.data)) as PubAckJson) : undefined;
    } catch {
      ack = undefined;
    }
    if (ack === undefined || ack.error || ack.seq === undefined) {
      // 503 "no responders": no stream takes the subject (yet); or a stream error, e.g. full.
      const why = ack?.error?.description ?? (msg.headers?.code === 503 ? 'no stream takes this subject (no responders)' : 'bad answer');
      if (sent) {
        this.#inFlight.delete(seq);
        this.#retry.push(sent.entry);
        this.#stats.retries++;
        this.#fail(new Error(`publish to ${this.#subject} refused: ${why}`));
      }
      return;
    }
    if (sent) this.#inFlight.delete(seq);
    else {
      // A late answer to a publish that was already sent again: it counts all the same.
      const i = this.#retry.findIndex((e) => e.seq === seq);
      if (i < 0) return; // already acknowledged once
      this.#retry.splice(i, 1);
    }
    this.#stats.published++;
    if (ack.duplicate) this.#stats.duplicates++;
    this.#acked.push(seq);
    this.#backoff.reset();
    if (this.#inFlight.size <= this.#window / 2) this.#schedule();
  }

  /** A failed publish: pause (backoff with jitter), then everything unanswered goes again. */
  #fail(err: Error): void {
    const wait = this.#backoff.next();
    this.#pausedUntil = Date.now() + wait;
    if (this.#backoff.failures <= 1 || this.#backoff.failures % 10 === 0) {
      this.#onError(new Error(`${err.message}; retrying in ${wait} ms`, { cause: err }));
    }
  }

  #requeueAll(): void {
    for (const { entry } of this.#inFlight.values()) this.#retry.push(entry);
    this.#stats.retries += this.#inFlight.size;
    this.#inFlight.clear();
    this.#retry.sort((a, b) => a.seq - b.seq);
  }

  #tick(): void {
    this.#flushRemovals();
    const expired = Date.now() - this.#ackTimeoutMs;
    let timedOut = 0;
    for (const [seq, { entry, sentAt }] of this.#inFlight) {
      if (sentAt > expired) continue;
      this.#inFlight.delete(seq);
      this.#retry.push(entry);
      timedOut++;
    }
    if (timedOut > 0) {
      this.#stats.retries += timedOut;
      this.#retry.sort((a, b) => a.seq - b.seq);
      this.#fail(new Error(`${timedOut} publishes to ${this.#subject} got no answer in ${this.#ackTimeoutMs} ms`));
    }
    this.#schedule();
  }

  #flushRemovals(): void {
    if (this.#acked.length === 0) return;
    try {
      this.#outbox.remove(this.#acked);
      this.#acked = [];
    } catch (err) {
      this.#onError(err as Error); // kept: tried again next time
    }
  }
}
