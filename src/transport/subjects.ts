// NATS names of the scale-out pipeline (design.md, "Scale-out"). A sensor
// publishes only under its own id, so the broker's per-user permissions can
// pin each sensor to its subjects. All names derive from a root (default
// "telnetlogin"): separate deployments, or the tests, may share a broker
// under roots of their own.

export const DEFAULT_ROOT = 'telnetlogin';
/** A root is one subject token that also makes a stream name. */
export const ROOT_PATTERN = /^[a-z0-9_-]{1,32}$/;

export interface NatsNames {
  root: string;
  /** The stream: the root in capitals (TELNETLOGIN). */
  stream: string;
  streamSubjects: string[];
  eventSubject(sensor: string): string;
  heartbeatSubject(sensor: string): string;
  /** What a stream subject carries and for which sensor; undefined for anything else. */
  parseSubject(subject: string): { kind: 'event' | 'heartbeat'; sensor: string } | undefined;
}

export function natsNames(root = DEFAULT_ROOT): NatsNames {
  if (!ROOT_PATTERN.test(root)) throw new RangeError(`NATS root "${root}" is not 1-32 lowercase letters, digits, _ or -`);
  const events = `${root}.events`;
  const heartbeats = `${root}.heartbeats`;
  const pattern = new RegExp(`^${root}\\.(events|heartbeats)\\.([A-Za-z0-9_-]{1,64})$`);
  return {
    root,
    stream: root.toUpperCase(),
    streamSubjects: [`${events}.>`, `${heartbeats}.>`],
    eventSubject: (sensor) => `${events}.${sensor}`,
    heartbeatSubject: (sensor) => `${heartbeats}.${sensor}`,
    parseSubject(subject) {
      const m = pattern.exec(subject);
      if (!m) return undefined;
      return { kind: m[1] === 'events' ? 'event' : 'heartbeat', sensor: m[2]! };
    },
  };
}

/**
 * A sensor's own reply subjects (`_INBOX_<id>.>`), so that the broker can let
 * it receive its PubAcks without letting it read anyone else's replies (the
 * collector's pulled messages arrive on `_INBOX.>`).
 */
export const sensorInboxPrefix = (sensor: string): string => `_INBOX_${sensor}`;
