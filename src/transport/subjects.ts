// NATS names of the scale-out pipeline (design.md, "Scale-out"). A sensor
// publishes only under its own id, so the broker's per-user permissions can
// pin each sensor to its subjects.
export const STREAM = 'TELNETLOGIN';
export const EVENTS_PREFIX = 'telnetlogin.events';
export const HEARTBEATS_PREFIX = 'telnetlogin.heartbeats';
export const STREAM_SUBJECTS = [`${EVENTS_PREFIX}.>`, `${HEARTBEATS_PREFIX}.>`];

export const eventSubject = (sensor: string): string => `${EVENTS_PREFIX}.${sensor}`;
export const heartbeatSubject = (sensor: string): string => `${HEARTBEATS_PREFIX}.${sensor}`;

/**
 * A sensor's own reply subjects (`_INBOX_<id>.>`), so that the broker can let
 * it receive its PubAcks without letting it read anyone else's replies (the
 * collector's pulled messages arrive on `_INBOX.>`).
 */
export const sensorInboxPrefix = (sensor: string): string => `_INBOX_${sensor}`;

/** What a stream subject carries and for which sensor; undefined for anything else. */
export function parseSubject(subject: string): { kind: 'event' | 'heartbeat'; sensor: string } | undefined {
  const m = /^telnetlogin\.(events|heartbeats)\.([A-Za-z0-9_-]{1,64})$/.exec(subject);
  if (!m) return undefined;
  return { kind: m[1] === 'events' ? 'event' : 'heartbeat', sensor: m[2]! };
}
