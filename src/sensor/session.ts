// The login conversation of one connection, with no socket inside: bytes come
// in through receive(), go out through write(), credentials through submit().
// The server file only wires it to a socket (as ssh2's Protocol does).
//
// Flow: TELNET options first (Mirai-family bots stall otherwise), after a short
// pause the banner and login prompt, the username echoed (Ncrack waits for each
// echo), the password not echoed, then - once the credential is durable and the
// failure delay is over - the failure text and the next prompt in one write
// (Ncrack stalls when they arrive apart), up to maxAttempts, then hang up.
import { TelnetParser, type TelnetEvents } from '../telnet/parser.ts';
import { type OptionCallbacks, OptionTable, type Side } from '../telnet/options.ts';
import { DO, EC, EL, Option, WILL, WONT, negotiationName, optionCode } from '../telnet/constants.ts';
import { escapeData, negotiation, subnegotiation } from '../telnet/encoder.ts';
import { emptyClientInfo, type ClientInfo } from '../events/login-event.ts';
import { type Persona, parseNegotiation } from './persona.ts';

export interface SessionLimits {
  /** Longest username or password kept; further bytes of the line are dropped. */
  maxLine: number;
  /** Bytes a connection may send in all; then it is hung up on. */
  maxInput: number;
  /** Largest subnegotiation kept (the rest is dropped). */
  maxSubnegotiation: number;
  /** Hard cap on a connection's life, whatever it does. */
  maxLifetimeMs: number;
}

export const defaultLimits: SessionLimits = {
  maxLine: 256,
  maxInput: 16 * 1024,
  maxSubnegotiation: 512,
  maxLifetimeMs: 5 * 60_000,
};

export interface Credential {
  attempt: number;
  username: Uint8Array;
  password: Uint8Array;
  /** A snapshot of what the client revealed so far. */
  client: ClientInfo;
}

export interface SessionHooks {
  write(bytes: Uint8Array): void;
  /** Hang up once what was written is flushed. */
  close(): void;
  /** Record a credential; the reply waits until this resolves (durability rule). */
  submit(credential: Credential): Promise<void>;
  /** The credential could not be recorded: the connection is closed without a reply. */
  error?(err: unknown): void;
}

const enum Phase {
  Opening, // options sent, prompt not yet
  Username,
  Password,
  Verdict, // waiting for the store and the failure delay
  Closed,
}

// Recorded details are capped: the client decides how many it sends.
const MAX_RECORDED_OPTIONS = 32;
const MAX_TTYPES = 4;
const MAX_ENV = 16;
const MAX_ENV_TEXT = 128;
/** Lines typed ahead of a prompt that are kept: two credentials. */
const MAX_HELD_LINES = 4;

const BS = 8;
const DEL = 127;
const CTRL_U = 21;
const CRLF = Buffer.from('\r\n');
const ERASE = Buffer.from('\b \b');
const utf8 = new TextDecoder();

/** What a persona sends, encoded once and shared by all its sessions. */
interface Script {
  firstPrompt: Uint8Array;
  loginPrompt: Uint8Array;
  passwordPrompt: Uint8Array;
  failure: Uint8Array;
  timeout: Uint8Array;
  /** The opening options as requests: which side, which option, on or off. */
  requests: { side: Side; option: number; enable: boolean }[];
  policy: { us: Set<number>; him: Set<number> };
}

const scripts = new WeakMap<Persona, Script>();

function scriptFor(p: Persona): Script {
  let s = scripts.get(p);
  if (s) return s;
  const text = (t: string) => escapeData(Buffer.from(t.replace(/\r?\n/g, '\r\n'), 'utf8'));
  const login = text(p.loginPrompt.replaceAll('{hostname}', p.hostname));
  const banner = p.banner === '' ? '' : p.banner.replace(/\r?\n$/, '') + '\n';
  const requests = p.options.map((o) => {
    const [verb, option] = parseNegotiation(o)!;
    return { side: verb === WILL || verb === WONT ? ('us' as const) : ('him' as const), option, enable: verb === WILL || verb === DO };
  });
  s = {
    firstPrompt: Buffer.concat([CRLF, text(banner), login]),
    loginPrompt: login,
    passwordPrompt: text(p.passwordPrompt),
    // The line break after the password goes out with the verdict: one write fewer per attempt.
    failure: Buffer.concat([CRLF, text(p.failureText), CRLF]),
    requests,
    timeout: Buffer.concat([CRLF, text(p.timeoutText.replaceAll('{seconds}', String(Math.round(p.idleTimeoutMs / 1000)))), CRLF]),
    policy: {
      us: new Set(p.acceptDo.map((o) => optionCode(o)!)),
      him: new Set(p.acceptWill.map((o) => optionCode(o)!)),
    },
  };
  scripts.set(p, s);
  return s;
}

function pick([min, max]: readonly [number, number]): number {
  return min === max ? min : min + Math.floor(Math.random() * (max - min + 1));
}

/** An empty line (zero bytes: nothing to share or mutate). */
const NOTHING = new Uint8Array(0);

export class LoginSession implements TelnetEvents, OptionCallbacks {
  readonly client: ClientInfo = emptyClientInfo();
  /** A copy of `client` as it is now, shared by the credentials sent until it changes (its store encodes it once). */
  private snapshot: ClientInfo | undefined;
  private phase = Phase.Opening;
  private readonly script: Script;
  private readonly parser: TelnetParser;
  private readonly options: OptionTable;
  private out: Uint8Array[] = [];
  /** Allocated at the first typed byte: idle and scanning clients never type. */
  private line: Uint8Array | undefined;
  private lineLength = 0;
  private username: Uint8Array = NOTHING;
  private attempts = 0;
  private emptyUsernames = 0;
  private received = 0;
  private startedAt = 0;
  private lastInput = 0;
  /** Input that arrives while no prompt is up, replayed when the next one is (like a tty's typeahead). */
  private held: (Uint8Array | null)[] = [];
  private heldLines = 0;
  private heldLineBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly persona: Persona,
    private readonly hooks: SessionHooks,
    private readonly limits: SessionLimits = defaultLimits,
  ) {
    this.script = scriptFor(persona);
    this.parser = new TelnetParser(this, limits.maxSubnegotiation);
    this.options = new OptionTable(this.script.policy, this);
  }

  // --- OptionCallbacks (no closures of its own: idle connections are many) ---

  send(verb: number, option: number): void {
    this.out.push(negotiation(verb, option));
  }

  changed(side: Side, option: number, enabled: boolean): void {
    if (side === 'him' && enabled) this.askFor(option);
  }

  /** Sends the opening options and schedules the first prompt. */
  start(): void {
    for (const { side, option, enable } of this.script.requests) this.options.request(side, option, enable);
    this.startedAt = this.lastInput = Date.now();
    this.armWatchdog();
    const delay = pick(this.persona.promptDelayMs);
    if (delay === 0) return this.prompt(this.script.firstPrompt); // options and prompt in one write
    this.flush();
    this.timer = setTimeout(() => {
      this.timer = undefined; // the Timeout and this closure go with it
      this.prompt(this.script.firstPrompt);
    }, delay);
  }

  receive(chunk: Uint8Array): void {
    if (this.phase === Phase.Closed) return;
    this.lastInput = Date.now();
    const room = this.limits.maxInput - this.received;
    this.received += chunk.length;
    this.parser.feed(room >= chunk.length ? chunk : chunk.subarray(0, Math.max(room, 0)));
    this.flush();
    if (this.received > this.limits.maxInput) this.hangUp();
  }

  /** The connection is gone: stop every timer. */
  end(): void {
    this.phase = Phase.Closed;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
  }

  // --- TelnetEvents ---

  data(bytes: Uint8Array): void {
    if (this.phase === Phase.Username || this.phase === Phase.Password) this.typed(bytes);
    else this.hold(bytes);
  }

  eol(): void {
    if (this.phase === Phase.Username) this.usernameDone();
    else if (this.phase === Phase.Password) this.passwordDone();
    else this.hold(null);
  }

  command(code: number): void {
    if (code === EC) this.data(Uint8Array.of(BS));
    else if (code === EL) this.data(Uint8Array.of(CTRL_U));
  }

  negotiation(verb: number, option: number): void {
    this.snapshot = undefined;
    if (this.client.options.length < MAX_RECORDED_OPTIONS) this.client.options.push(negotiationName(verb, option));
    this.options.receive(verb, option);
  }

  subnegotiation(option: number, data: Uint8Array): void {
    this.snapshot = undefined;
    if (option === Option.NAWS && data.length >= 4) {
      this.client.naws = { width: (data[0]! << 8) | data[1]!, height: (data[2]! << 8) | data[3]! };
    } else if (option === Option.TTYPE && data[0] === 0 && this.client.ttypes.length < MAX_TTYPES) {
      this.client.ttypes.push(utf8.decode(data.subarray(1, 1 + MAX_ENV_TEXT)));
    } else if (option === Option.NEW_ENVIRON && (data[0] === 0 || data[0] === 2)) {
      this.readEnvironment(data.subarray(1));
    }
  }

  // --- the login conversation ---

  private typed(bytes: Uint8Array): void {
    // Echoed whatever the client said about ECHO: a BusyBox tty echoes, and Ncrack
    // (which answers WILL ECHO with DONT ECHO) waits for each echoed byte.
    const echo = this.phase === Phase.Username;
    let echoFrom = -1; // start of a run of bytes to echo as they are
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const erase = b === BS || b === DEL;
      if (erase || b === CTRL_U || (b < 32 && echoFrom >= 0)) {
        if (echo && echoFrom >= 0) this.out.push(escapeData(bytes.subarray(echoFrom, i)));
        echoFrom = -1;
      }
      if (erase || b === CTRL_U) {
        const n = erase ? Math.min(1, this.lineLength) : this.lineLength;
        this.lineLength -= n;
        if (echo) for (let k = 0; k < n; k++) this.out.push(ERASE);
        continue;
      }
      this.line ??= new Uint8Array(this.limits.maxLine);
      if (this.lineLength < this.line.length) this.line[this.lineLength++] = b;
      if (b >= 32 && echoFrom < 0) echoFrom = i;
    }
    if (echo && echoFrom >= 0) this.out.push(escapeData(bytes.subarray(echoFrom)));
  }

  private takeLine(): Uint8Array {
    const value = this.line ? this.line.slice(0, this.lineLength) : NOTHING;
    this.lineLength = 0;
    return value;
  }

  private usernameDone(): void {
    this.out.push(CRLF);
    if (this.lineLength === 0) {
      if (++this.emptyUsernames >= this.persona.maxEmptyUsernames) return this.hangUp();
      this.out.push(this.script.loginPrompt);
      return;
    }
    this.username = this.takeLine();
    this.phase = Phase.Password;
    this.out.push(this.script.passwordPrompt);
  }

  private passwordDone(): void {
    this.phase = Phase.Verdict;
    const credential: Credential = {
      attempt: ++this.attempts,
      username: this.username,
      password: this.takeLine(),
      client: (this.snapshot ??= { ...this.client, options: [...this.client.options], ttypes: [...this.client.ttypes], env: { ...this.client.env } }),
    };
    const delayMs = pick(this.persona.failureDelayMs);
    const committed = this.hooks.submit(credential);
    const delayed = delayMs === 0 ? undefined : new Promise<void>((resolve) => (this.timer = setTimeout(resolve, delayMs)));
    (delayed ? Promise.all([committed, delayed]) : committed).then(
      () => this.verdict(),
      (err: unknown) => {
        this.hooks.error?.(err);
        this.hangUp();
      },
    );
  }

  private verdict(): void {
    if (this.phase !== Phase.Verdict) return;
    this.out.push(this.script.failure);
    if (this.attempts >= this.persona.maxAttempts) return this.hangUp();
    this.prompt(this.script.loginPrompt);
  }

  /** Shows a login prompt, then reads whatever the client typed ahead. */
  private prompt(bytes: Uint8Array): void {
    if (this.phase === Phase.Closed) return;
    this.out.push(bytes);
    this.phase = Phase.Username;
    const held = this.held;
    this.held = [];
    this.heldLines = 0;
    this.heldLineBytes = 0;
    for (const piece of held) {
      if (piece) this.data(piece);
      else this.eol();
    }
    this.flush();
  }

  // Typeahead is bounded by lines, each cut like a typed line, so that a
  // dropped piece never shifts a password into the username field.
  private hold(piece: Uint8Array | null): void {
    if (this.heldLines >= MAX_HELD_LINES) return;
    if (piece === null) {
      this.held.push(null);
      this.heldLines++;
      this.heldLineBytes = 0;
      return;
    }
    const keep = Math.min(piece.length, this.limits.maxLine - this.heldLineBytes);
    if (keep <= 0) return;
    this.held.push(piece.slice(0, keep));
    this.heldLineBytes += keep;
  }

  // One watchdog timer per connection for both the idle timeout and the
  // lifetime cap, re-armed only when it fires: cheaper than resetting a timer
  // on every packet.
  private armWatchdog(): void {
    const now = Date.now();
    const timeout = this.persona.idleTimeoutMs;
    const lifeLeft = this.startedAt + this.limits.maxLifetimeMs - now;
    // While we owe the verdict, the silence is ours, not the client's.
    const idleLeft = this.phase === Phase.Verdict ? timeout : this.lastInput + timeout - now;
    if (lifeLeft <= 0) return this.hangUp();
    if (idleLeft <= 0) {
      this.out.push(this.script.timeout);
      return this.hangUp();
    }
    this.watchdog = setTimeout(() => this.armWatchdog(), Math.min(idleLeft, lifeLeft));
  }

  private hangUp(): void {
    if (this.phase === Phase.Closed) return;
    this.flush();
    this.end();
    this.hooks.close();
  }

  private flush(): void {
    if (this.out.length === 0 || this.phase === Phase.Closed) return;
    const bytes = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    this.hooks.write(bytes);
  }

  /** The client offered an option we accepted: ask for what it carries. */
  private askFor(option: number): void {
    if (option === Option.TTYPE || option === Option.NEW_ENVIRON) {
      this.out.push(subnegotiation(option, Uint8Array.of(1))); // SEND
    }
  }

  /** NEW-ENVIRON IS/INFO: VAR|USERVAR name [VALUE value] ..., with ESC quoting (RFC 1572). */
  private readEnvironment(data: Uint8Array): void {
    const VAR = 0, VALUE = 1, ESC = 2, USERVAR = 3;
    let name: number[] | null = null;
    let value: number[] | null = null;
    const save = () => {
      if (name && Object.keys(this.client.env).length < MAX_ENV) {
        const key = utf8.decode(Uint8Array.from(name.slice(0, MAX_ENV_TEXT)));
        this.client.env[key] = value ? utf8.decode(Uint8Array.from(value.slice(0, MAX_ENV_TEXT))) : '';
      }
    };
    for (let i = 0; i < data.length; i++) {
      let b = data[i]!;
      if (b === VAR || b === USERVAR) {
        save();
        name = [];
        value = null;
        continue;
      }
      if (b === VALUE) {
        value = [];
        continue;
      }
      if (b === ESC && i + 1 < data.length) b = data[++i]!;
      (value ?? name)?.push(b);
    }
    save();
  }
}
