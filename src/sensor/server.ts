// Wires LoginSessions to TCP listeners and enforces the limits that keep a
// hostile crowd from exhausting the sensor: connections overall and per source
// address, session lifetime, written-but-unread output. Over a limit, new
// connections are shed (closed at once); the server never stops accepting.
import net from 'node:net';
import { uuidv7 } from '../events/id.ts';
import type { LoginEvent } from '../events/login-event.ts';
import type { EventSink } from '../store/store.ts';
import { LoginSession, defaultLimits, type Credential, type SessionHooks, type SessionLimits } from './session.ts';
import type { Persona } from './persona.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ServerLimits extends SessionLimits {
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** Output a client leaves unread before it is hung up on. */
  maxUnreadOutput: number;
  backlog: number;
}

export const defaultServerLimits: ServerLimits = {
  ...defaultLimits,
  maxConnections: 20_000,
  // Hydra runs 16 tasks by default, Ncrack and Medusa fewer: their credentials are the intelligence.
  maxConnectionsPerSource: 64,
  maxUnreadOutput: 64 * 1024,
  backlog: 4096,
};

const CLOSE_GRACE_MS = 2000;
/** Bytes still read after the sensor hung up (input already in flight), before the socket is destroyed. */
const HANG_UP_ALLOWANCE = 4096;

export interface SensorCounters {
  accepted: number;
  shed: number;
  open: number;
  attempts: number;
  /** Credentials the sink failed to record (the client got no reply). */
  recordFailures: number;
}

export interface SensorOptions {
  sensorId: string;
  listen: ListenAddress[];
  persona: Persona;
  sink: EventSink;
  limits?: Partial<ServerLimits>;
  onError?(err: unknown): void;
}

/** "::ffff:1.2.3.4" -> "1.2.3.4": one spelling per address, whichever stack it came in on. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class Sensor {
  readonly counters: SensorCounters = { accepted: 0, shed: 0, open: 0, attempts: 0, recordFailures: 0 };
  private readonly limits: ServerLimits;
  private readonly servers: net.Server[] = [];
  private readonly perSource = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
  /** Connections waiting for their credential to be recorded. */
  private recording = 0;

  constructor(private readonly options: SensorOptions) {
    this.limits = { ...defaultServerLimits, ...options.limits };
  }

  /** Starts every listener; resolves with the bound addresses (port 0 gets a free port). */
  async listen(): Promise<ListenAddress[]> {
    const bound: ListenAddress[] = [];
    for (const { host, port } of this.options.listen) {
      const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
      server.on('error', (err) => this.options.onError?.(err));
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // `::` also takes IPv4 (dual stack) unless the system forbids it.
        server.listen({ host, port, backlog: this.limits.backlog, ipv6Only: false }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as net.AddressInfo;
      bound.push({ host: address.address, port: address.port });
    }
    return bound;
  }

  /** Stops accepting and hangs up every connection. */
  async close(): Promise<void> {
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closed);
  }

  private accept(socket: net.Socket): void {
    const source = normalizeAddress(socket.remoteAddress);
    const fromSource = this.perSource.get(source) ?? 0;
    if (this.counters.open >= this.limits.maxConnections || fromSource >= this.limits.maxConnectionsPerSource) {
      this.counters.shed++;
      socket.on('error', () => {});
      socket.resetAndDestroy();
      return;
    }
    this.counters.accepted++;
    this.counters.open++;
    this.perSource.set(source, fromSource + 1);
    this.sockets.add(socket);
    const connection = new Connection(this.options, this.limits, this.counters, this.record, socket, source);
    socket.on('close', () => {
      connection.closed();
      this.sockets.delete(socket);
      this.counters.open--;
      const n = (this.perSource.get(source) ?? 1) - 1;
      if (n === 0) this.perSource.delete(source);
      else this.perSource.set(source, n);
    });
  }

  // When every open connection waits for its credential to be recorded, no
  // other credential can join the batch before it commits: the sink need not
  // wait out its commit interval. At low concurrency that wait was idle time
  // that cost CPU as well as latency (npm run bench:sensor, c=1 and c=20).
  private readonly record = (event: LoginEvent): Promise<void> => {
    const { sink } = this.options;
    const recorded = sink.record(event);
    if (++this.recording >= this.counters.open) sink.commitSoon?.();
    return recorded.then(
      () => {
        this.recording--;
        this.counters.attempts++;
      },
      (err: unknown) => {
        this.recording--;
        throw err;
      },
    );
  };
}

/** One accepted socket and its login session: the session's hooks, wired to the socket. */
function ignore(): void {}

class Connection implements SessionHooks {
  private readonly session: LoginSession;
  /** Made at the first credential: most connections (scanners, idle) never send one. */
  private sessionId: string | undefined;
  /** After our hang-up the socket is still read, to see the client's FIN at once. */
  private hungUp = false;
  private afterHangUp = 0;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: SensorOptions,
    private readonly limits: ServerLimits,
    private readonly counters: SensorCounters,
    private readonly record: (event: LoginEvent) => Promise<void>,
    private readonly socket: net.Socket,
    private readonly source: string,
  ) {
    this.session = new LoginSession(options.persona, this, limits);
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('error', ignore); // resets and timeouts end in 'close'
    this.session.start();
  }

  write(bytes: Uint8Array): void {
    if (this.socket.writableLength > this.limits.maxUnreadOutput) this.socket.destroy();
    else this.socket.write(bytes);
  }

  close(): void {
    // Let the last words drain, but do not wait on a client that never reads.
    this.hungUp = true;
    this.socket.end();
    this.graceTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
  }

  submit(c: Credential): Promise<void> {
    const now = Date.now();
    const socket = this.socket;
    const event: LoginEvent = {
      id: uuidv7(now),
      time: now,
      sensor: this.options.sensorId,
      src_ip: this.source,
      src_port: socket.remotePort ?? 0,
      dst_ip: normalizeAddress(socket.localAddress),
      dst_port: socket.localPort ?? 0,
      session: (this.sessionId ??= uuidv7(now)),
      attempt: c.attempt,
      username: c.username,
      password: c.password,
      client: c.client,
    };
    return this.record(event);
  }

  error(err: unknown): void {
    this.counters.recordFailures++;
    this.options.onError?.(err);
  }

  closed(): void {
    clearTimeout(this.graceTimer);
    this.session.end();
  }

  private data(chunk: Buffer): void {
    if (!this.hungUp) return this.session.receive(chunk);
    // A client that keeps sending after the hang-up is cut off.
    this.afterHangUp += chunk.length;
    if (this.afterHangUp > HANG_UP_ALLOWANCE) this.socket.destroy();
  }
}
