// Sensor heartbeats on telnetlogin.heartbeats.<sensor>: id, public addresses,
// version and counters, every few seconds. The collector records them in
// `sensors` (the feed never lists a sensor's own address; the dashboard shows
// each sensor's health). A missed heartbeat is replaced by the next one, so
// they skip the outbox and are simply published while the broker is there.
import { isIP } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { TelnetloginError } from '../errors.ts';
import type { SensorHeartbeat } from '../store/postgres.ts';

export interface HeartbeatMessage {
  sensor: string;
  /** The sensor's clock (ISO 8601); the collector records the broker's time instead. */
  time: string;
  addresses: string[];
  version: string;
  counters: Record<string, number>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_ADDRESSES = 64;
const MAX_COUNTERS = 32;

export function encodeHeartbeat(message: HeartbeatMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

const invalid = (why: string) => new TelnetloginError('TL_MESSAGE_INVALID', `not a heartbeat: ${why}`);

/**
 * The heartbeat in a message on `sensor`'s subject (the subject, which the
 * broker's permissions pin to the sensor's credentials, is what names it),
 * received at `receivedMs` by the broker.
 */
export function decodeHeartbeat(data: Uint8Array, sensor: string, receivedMs: number): SensorHeartbeat {
  let o: Partial<Record<keyof HeartbeatMessage, unknown>>;
  try {
    o = JSON.parse(decoder.decode(data)) as typeof o;
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  if (typeof o !== 'object' || o === null) throw invalid('not a JSON object');
  if (o.sensor !== sensor) throw invalid(`it names sensor ${JSON.stringify(o.sensor)} on the subject of ${sensor}`);
  const { addresses, version, counters } = o;
  if (!Array.isArray(addresses) || addresses.length > MAX_ADDRESSES || !addresses.every((a) => typeof a === 'string' && isIP(a) && !a.includes('%'))) {
    throw invalid(`addresses is not a list of at most ${MAX_ADDRESSES} IP addresses`);
  }
  if (typeof version !== 'string' || version.length > 64 || version.includes('\0')) throw invalid('version is not a short string');
  if (
    typeof counters !== 'object' || counters === null || Array.isArray(counters) ||
    Object.keys(counters).length > MAX_COUNTERS ||
    !Object.entries(counters).every(([k, v]) => /^[A-Za-z0-9_]{1,64}$/.test(k) && Number.isSafeInteger(v))
  ) {
    throw invalid('counters is not a small map of names to integers');
  }
  return { sensor, time: receivedMs, addresses: addresses as string[], version, counters: counters as Record<string, number> };
}

export interface HeartbeatSenderOptions {
  subject: string;
  intervalMs: number;
  /** The message to send now. */
  build(): HeartbeatMessage;
  onError?(err: Error): void;
}

/** Publishes a heartbeat at once after attach(), then every intervalMs while connected. */
export class HeartbeatSender {
  readonly #options: HeartbeatSenderOptions;
  #nc: NatsConnection | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HeartbeatSenderOptions) {
    this.#options = options;
  }

  attach(nc: NatsConnection): void {
    this.#nc = nc;
    this.beat();
    this.#timer = setInterval(() => this.beat(), this.#options.intervalMs);
    this.#timer.unref();
  }

  beat(): void {
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return;
    try {
      nc.publish(this.#options.subject, encodeHeartbeat(this.#options.build()));
    } catch (err) {
      this.#options.onError?.(err as Error);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
