// A loopback load client that logs in the way bots do: wait for `login: `,
// send a username, wait for `Password: `, send a password, wait for
// `Login incorrect`. Every credential is unique, so the benchmark can check
// afterwards that each attempt that got a reply was recorded.
// Kept cheap on purpose (raw sockets, a search for three tokens), since it
// shares the machine with the server it measures.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { SourceBlock, sourceAddress } from './sources.ts';

export interface LoginLoadOptions {
  host: string;
  port: number;
  /** Connections open at once. */
  concurrency: number;
  /** 1: a new connection per credential (Mirai); 3: until the sensor hangs up (brute-forcers). */
  attemptsPerConnection: number;
  /** Makes this run's credentials unique in the store. */
  tag: string;
  /** A connection that makes no progress for this long is dropped and counted. */
  stallTimeoutMs?: number;
}

export interface LoginLoadResult {
  /** username -> password of every attempt whose verdict arrived, the whole run. */
  replied: Map<string, string>;
  /** Verdicts that arrived inside the measured window. */
  windowAttempts: number;
  windowMs: number;
  /** Milliseconds from the start of each attempt (connect, or the previous verdict) to its verdict, in the window. */
  latenciesMs: number[];
  connections: number;
  /** Connections that ended before their last verdict (reset, refused, closed by the sensor). */
  closedEarly: number;
  /** Connections dropped for making no progress within stallTimeoutMs. */
  stalled: number;
}

const LOGIN = Buffer.from('login: ');
const PASSWORD = Buffer.from('Password: ');
const VERDICT = Buffer.from('incorrect');
const LONGEST_TOKEN = Math.max(LOGIN.length, PASSWORD.length, VERDICT.length);
// What a Mirai-family bot answers to the opening options (clients.md):
// WONT ECHO, WILL NAWS + SB NAWS 80x24, DO ECHO, DO SGA.
const NEGOTIATION = Buffer.from([
  255, 252, 1, 255, 251, 31, 255, 250, 31, 0, 80, 0, 24, 255, 240, 255, 253, 1, 255, 253, 3,
]);

const enum Expect {
  Login,
  Password,
  Verdict,
}
const TOKENS = [LOGIN, PASSWORD, VERDICT];

interface Connection {
  socket: net.Socket;
  expect: Expect;
  negotiated: boolean;
  attempts: number;
  attemptStart: number;
  lastProgress: number;
  username: string;
  password: string;
  /** The end of the previous read, in case a token was split across reads. */
  carry: Buffer | undefined;
  done: boolean;
}

export class LoginLoad {
  readonly #o: Required<LoginLoadOptions>;
  readonly #open = new Set<Connection>();
  readonly #replied = new Map<string, string>();
  readonly #latencies: number[] = [];
  #credentials = 0;
  #sources = 0;
  #connections = 0;
  #closedEarly = 0;
  #stalled = 0;
  #inWindow = false;
  #windowAttempts = 0;
  #windowStart = 0;
  #windowMs = 0;
  #stopping = false;
  #watchdog: NodeJS.Timeout | undefined;
  #allClosed: (() => void) | undefined;

  constructor(options: LoginLoadOptions) {
    this.#o = { stallTimeoutMs: 10_000, ...options };
  }

  start(): void {
    this.#watchdog = setInterval(() => this.#dropStalled(), 500);
    for (let i = 0; i < this.#o.concurrency; i++) this.#connect();
  }

  beginWindow(): void {
    this.#inWindow = true;
    this.#windowStart = performance.now();
  }

  endWindow(): void {
    this.#inWindow = false;
    this.#windowMs = performance.now() - this.#windowStart;
  }

  /** Starts no new attempt, lets those under way finish (for at most `graceMs`), then hangs up. */
  async stop(graceMs = 5000): Promise<LoginLoadResult> {
    this.#stopping = true;
    for (const c of this.#open) if (c.expect !== Expect.Verdict) this.#finish(c);
    if (this.#open.size > 0) {
      const grace = setTimeout(() => {
        for (const c of this.#open) c.socket.destroy();
      }, graceMs);
      await new Promise<void>((resolve) => (this.#allClosed = resolve));
      clearTimeout(grace);
    }
    clearInterval(this.#watchdog);
    return {
      replied: this.#replied,
      windowAttempts: this.#windowAttempts,
      windowMs: this.#windowMs,
      latenciesMs: this.#latencies,
      connections: this.#connections,
      closedEarly: this.#closedEarly,
      stalled: this.#stalled,
    };
  }

  #connect(): void {
    const now = performance.now();
    const socket = net.connect({
      host: this.#o.host,
      port: this.#o.port,
      localAddress: sourceAddress(SourceBlock.logins, this.#sources++),
      noDelay: true,
    });
    const c: Connection = {
      socket,
      expect: Expect.Login,
      negotiated: false,
      attempts: 0,
      attemptStart: now,
      lastProgress: now,
      username: '',
      password: '',
      carry: undefined,
      done: false,
    };
    this.#connections++;
    this.#open.add(c);
    socket.on('data', (chunk: Buffer) => this.#receive(c, chunk));
    socket.on('error', () => {}); // counted at 'close'
    socket.on('close', () => this.#closed(c));
  }

  #receive(c: Connection, chunk: Buffer): void {
    if (c.done) return;
    c.lastProgress = performance.now();
    if (!c.negotiated) {
      c.negotiated = true;
      c.socket.write(NEGOTIATION);
    }
    const bytes = c.carry ? Buffer.concat([c.carry, chunk]) : chunk;
    c.carry = undefined;
    let at = 0;
    for (;;) {
      const token = TOKENS[c.expect]!;
      const i = bytes.indexOf(token, at);
      if (i < 0) break;
      at = i + token.length;
      this.#step(c);
      if (c.done) return;
    }
    const keep = Math.min(bytes.length - at, LONGEST_TOKEN - 1);
    if (keep > 0) c.carry = Buffer.from(bytes.subarray(bytes.length - keep));
  }

  /** The token the connection waited for has arrived. */
  #step(c: Connection): void {
    if (c.expect === Expect.Login) {
      if (this.#stopping) return this.#finish(c);
      const n = this.#credentials++;
      c.username = `${this.#o.tag}u${n}`;
      c.password = `${this.#o.tag}p${n}`;
      c.socket.write(`${c.username}\r\n`);
      c.expect = Expect.Password;
    } else if (c.expect === Expect.Password) {
      c.socket.write(`${c.password}\r\n`);
      c.expect = Expect.Verdict;
    } else {
      const now = performance.now();
      this.#replied.set(c.username, c.password);
      if (this.#inWindow) {
        this.#windowAttempts++;
        this.#latencies.push(now - c.attemptStart);
      }
      c.attemptStart = now;
      c.expect = Expect.Login;
      if (++c.attempts >= this.#o.attemptsPerConnection) this.#finish(c);
    }
  }

  /** This connection is through: hang up (a bot closes after its verdict). */
  #finish(c: Connection): void {
    c.done = true;
    c.socket.destroy();
  }

  #closed(c: Connection): void {
    this.#open.delete(c);
    if (!c.done) this.#closedEarly++;
    if (!this.#stopping) {
      // Back off a little after a failure, so a dead server is not hammered in a tight loop.
      if (c.done) this.#connect();
      else setTimeout(() => this.#stopping || this.#connect(), 10);
    } else if (this.#open.size === 0) {
      this.#allClosed?.();
    }
  }

  #dropStalled(): void {
    const limit = performance.now() - this.#o.stallTimeoutMs;
    for (const c of this.#open) {
      if (c.lastProgress < limit) {
        this.#stalled++;
        c.done = true;
        c.socket.destroy();
      }
    }
  }
}
