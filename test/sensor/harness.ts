// Test helper: a LoginSession with recording hooks and no socket.
import { personaSchema, type PersonaConfig } from '../../src/sensor/persona.ts';
import { LoginSession, defaultLimits, type Credential, type SessionLimits } from '../../src/sensor/session.ts';

export interface Harness {
  session: LoginSession;
  /** Every write, in order. */
  writes: Buffer[];
  /** All output so far as one buffer. */
  output(): Buffer;
  /** Output since the last call. */
  take(): Buffer;
  credentials: Credential[];
  closed: boolean;
  /** Resolvers of pending submits (when `hold` is set). */
  pending: { resolve(): void; reject(err: Error): void }[];
  send(bytes: string | number[] | Uint8Array): void;
}

export function harness(
  persona: PersonaConfig = {},
  opts: { hold?: boolean; limits?: Partial<SessionLimits> } = {},
): Harness {
  let taken = 0;
  const h: Harness = {
    writes: [],
    output: () => Buffer.concat(h.writes),
    take() {
      const all = h.output();
      const fresh = all.subarray(taken);
      taken = all.length;
      return fresh;
    },
    credentials: [],
    closed: false,
    pending: [],
    send(bytes) {
      h.session.receive(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Uint8Array.from(bytes));
    },
    session: undefined as unknown as LoginSession,
  };
  h.session = new LoginSession(
    personaSchema.parse({ promptDelayMs: 30, failureDelayMs: 0, ...persona }),
    {
      write: (b) => void h.writes.push(Buffer.from(b)),
      close: () => void (h.closed = true),
      submit(c) {
        h.credentials.push(c);
        if (!opts.hold) return Promise.resolve();
        return new Promise<void>((resolve, reject) => h.pending.push({ resolve, reject }));
      },
    },
    { ...defaultLimits, ...opts.limits },
  );
  return h;
}

/** Lets promise callbacks (the store's acknowledgement) run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
