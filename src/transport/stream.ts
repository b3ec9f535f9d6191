// The JetStream stream and the collectors' durable consumer, created by the
// collector when absent (sensors need no stream-admin permission).
//
// Work-queue retention: a message leaves the stream once a collector has
// acknowledged it, and with discard=new a full stream refuses new messages
// (sensors keep them in their outboxes) instead of dropping unconsumed ones.
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { NatsNames } from './subjects.ts';

const NS_PER_MS = 1_000_000;

export interface StreamSettings {
  /** Repeats of a message id within this window are dropped by the broker (default 2 min). */
  duplicateWindowMs?: number;
  /** Stream size limit in bytes (default: none, the server's JetStream limits apply). */
  maxBytes?: number;
}

export interface ConsumerSettings {
  durable: string;
  /** A delivered message not acknowledged in this time goes to a collector again (default 30 s). */
  ackWaitMs?: number;
  /** Messages delivered and not yet acknowledged, over all collectors (default 20,000). */
  maxAckPending?: number;
}

const isNotFound = (err: unknown) => err instanceof JetStreamApiError && err.status === 404;

/** The stream, created when absent. */
export async function ensureStream(jsm: JetStreamManager, names: NatsNames, settings: StreamSettings = {}): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(names.stream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    return await jsm.streams.add({
      name: names.stream,
      subjects: names.streamSubjects,
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.New,
      max_bytes: settings.maxBytes ?? -1,
      duplicate_window: (settings.duplicateWindowMs ?? 120_000) * NS_PER_MS,
    });
  } catch (err) {
    // Another collector created it at the same moment.
    try {
      return await jsm.streams.info(names.stream);
    } catch {
      throw err;
    }
  }
}

/** The collectors' shared durable pull consumer, created when absent and updated when its settings changed. */
export async function ensureConsumer(jsm: JetStreamManager, names: NatsNames, settings: ConsumerSettings): Promise<void> {
  const ackWait = (settings.ackWaitMs ?? 30_000) * NS_PER_MS;
  const maxAckPending = settings.maxAckPending ?? 20_000;
  try {
    const info = await jsm.consumers.info(names.stream, settings.durable);
    if (info.config.ack_wait !== ackWait || info.config.max_ack_pending !== maxAckPending) {
      await jsm.consumers.update(names.stream, settings.durable, { ack_wait: ackWait, max_ack_pending: maxAckPending });
    }
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await jsm.consumers.add(names.stream, {
    durable_name: settings.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ackWait,
    max_ack_pending: maxAckPending,
    max_deliver: -1, // a batch PostgreSQL could not take is tried until it can
  });
}
