// Test helper: a scripted TELNET client over loopback. It keeps every byte the
// server sent (`raw`) and, decoded by its own small reader (deliberately not
// the sensor's parser), the data (`text`) and the commands; scripts wait for
// text with a timeout and send bytes whole, split or one at a time.
import net from 'node:net';

export const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
export const ECHO = 1, SGA = 3, TTYPE = 24, NAWS = 31, LINEMODE = 34, AUTHENTICATION = 37;

/** Bytes from a string, one byte per character (latin1): '\xff' is 0xFF. */
export const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
/** Bytes shown as a string, one character per byte: comparing two of them compares bytes exactly. */
export const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ConnectOptions {
  port: number;
  host?: string;
  localAddress?: string;
  timeoutMs?: number;
  /** Called for every IAC WILL/WONT/DO/DONT the server sends, in order. */
  onNegotiation?(client: ScriptedClient, verb: number, option: number): void;
  /** Called with every chunk the server sends, after it is decoded (for clients that read raw bytes). */
  onData?(client: ScriptedClient, chunk: Buffer): void;
}

type ReaderState = 'data' | 'iac' | 'verb' | 'sb' | 'sbIac';

export class ScriptedClient {
  /** Everything the server sent, as sent. */
  raw = Buffer.alloc(0);
  /** The server's data, TELNET commands removed and IAC IAC undone. */
  text = Buffer.alloc(0);
  readonly negotiations: [verb: number, option: number][] = [];
  readonly subnegotiations: [option: number, data: Buffer][] = [];
  /** The server sent FIN. */
  ended = false;
  closed = false;
  /** Where `expect` looks from: just past its last match. */
  cursor = 0;
  private state: ReaderState = 'data';
  private verb = 0;
  private sb: number[] = [];
  private textBytes: number[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: net.Socket, private readonly options: ConnectOptions) {
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {}); // resets end in 'close'
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(options: ConnectOptions): Promise<ScriptedClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: options.port, host: options.host ?? '127.0.0.1', localAddress: options.localAddress });
      const client = new ScriptedClient(socket, options);
      const timer = setTimeout(() => (socket.destroy(), reject(new Error('connect timed out'))), options.timeoutMs ?? 5000);
      socket.once('connect', () => {
        clearTimeout(timer);
        client.localAddress = socket.localAddress!.replace(/^::ffff:(?=\d+\.)/, '');
        client.localPort = socket.localPort!;
        resolve(client);
      });
      socket.once('error', (err) => (clearTimeout(timer), reject(err)));
    });
  }

  /** Our address and port: the src_ip (IPv4-mapped IPv6 unmapped) and src_port the sensor records. */
  localAddress = '';
  localPort = 0;
  /** When the connection was opened (ms since the epoch). */
  readonly startedAt = Date.now();

  /** Waits until `condition` holds, re-checking whenever bytes arrive or the connection ends. */
  until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) done();
        else if (this.closed) done(new Error(`connection closed while waiting for ${what}; server text: ${JSON.stringify(latin1(this.text))}`));
      };
      const timer = setTimeout(
        () => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; server text: ${JSON.stringify(latin1(this.text))}`)),
        timeoutMs,
      );
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for `needle` in the server's text after the cursor, then moves the cursor past it. */
  async expect(needle: string | RegExp, timeoutMs = 5000): Promise<string> {
    let match: RegExpExecArray | null = null;
    const pattern = typeof needle === 'string' ? new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : needle;
    await this.until(() => (match = pattern.exec(latin1(this.text.subarray(this.cursor)))) !== null, String(needle), timeoutMs);
    const m = match as unknown as RegExpExecArray;
    this.cursor += m.index + m[0].length;
    return m[0];
  }

  /** Resolves once the server closed the connection. */
  closedWithin(timeoutMs: number): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs).catch((err: Error) => {
      throw this.closed ? err : new Error(`still open after ${timeoutMs} ms`);
    });
  }

  send(data: string | Uint8Array): Promise<void> {
    const chunk = typeof data === 'string' ? bytes(data) : data;
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) return reject(new Error('socket destroyed'));
      this.socket.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Sends one byte at a time, `gapMs` apart (a keyboard, or Hydra without LINEMODE). */
  async type(data: string | Uint8Array, gapMs: number): Promise<void> {
    for (const b of typeof data === 'string' ? bytes(data) : data) {
      await this.send(Uint8Array.of(b));
      if (gapMs > 0) await sleep(gapMs);
    }
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.raw = Buffer.concat([this.raw, chunk]);
    for (const b of chunk) this.step(b);
    if (this.textBytes.length > 0) {
      this.text = Buffer.concat([this.text, Buffer.from(this.textBytes)]);
      this.textBytes = [];
    }
    this.options.onData?.(this, chunk);
    this.wake();
  }

  private step(b: number): void {
    switch (this.state) {
      case 'data':
        if (b === IAC) this.state = 'iac';
        else this.textBytes.push(b);
        return;
      case 'iac':
        if (b === IAC) {
          this.textBytes.push(IAC);
          this.state = 'data';
        } else if (b >= WILL && b <= DONT) {
          this.verb = b;
          this.state = 'verb';
        } else if (b === SB) {
          this.sb = [];
          this.state = 'sb';
        } else this.state = 'data';
        return;
      case 'verb':
        this.state = 'data';
        this.negotiations.push([this.verb, b]);
        this.options.onNegotiation?.(this, this.verb, b);
        return;
      case 'sb':
        if (b === IAC) this.state = 'sbIac';
        else this.sb.push(b);
        return;
      case 'sbIac':
        if (b === IAC) {
          this.sb.push(IAC);
          this.state = 'sb';
        } else {
          this.subnegotiations.push([this.sb[0] ?? -1, Buffer.from(this.sb.slice(1))]);
          this.state = 'data';
        }
        return;
    }
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}
