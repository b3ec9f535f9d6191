// A pure, incremental TELNET decoder (RFC 854/855, line ends per RFC 1123
// 3.3.1). It is a byte state machine: it never touches a socket, never throws
// on input and keeps no more than one capped subnegotiation buffer, so however
// hostile the input, its memory stays bounded. Events depend only on the byte
// sequence, not on how it is split into chunks (data may arrive in more pieces).
import { CR, DONT, IAC, LF, NUL, SB, SE, WILL } from './constants.ts';

export interface TelnetEvents {
  /** Decoded data, without line terminators. A view into the input: copy it to keep it. */
  data(bytes: Uint8Array): void;
  /** End of a line: CR LF, CR NUL, bare LF or bare CR. */
  eol(): void;
  /** IAC followed by a command byte other than an option verb or SB (NOP, AYT, EC, EL, IP, ...; also unknown bytes). */
  command(code: number): void;
  /** IAC WILL/WONT/DO/DONT option. */
  negotiation(verb: number, option: number): void;
  /** IAC SB option ... IAC SE, with IAC IAC undone; `truncated` when it exceeded the cap. */
  subnegotiation(option: number, data: Uint8Array, truncated: boolean): void;
}

const enum State {
  Data,
  Iac,
  Verb,
  SbOption,
  SbData,
  SbIac,
}

export const DEFAULT_MAX_SUBNEGOTIATION = 512;

export class TelnetParser {
  private state = State.Data;
  private verb = 0;
  /** A CR ended the last line: a following LF or NUL belongs to it. */
  private afterCr = false;
  private sbOption = 0;
  private sbLength = 0;
  private sbTruncated = false;
  /** Allocated at the first subnegotiation: most clients (Mirai) never send one. */
  private sb: Uint8Array | undefined;

  constructor(
    private readonly on: TelnetEvents,
    private readonly maxSubnegotiation: number = DEFAULT_MAX_SUBNEGOTIATION,
  ) {}

  feed(chunk: Uint8Array): void {
    let runStart = -1; // start of a pending run of plain data bytes
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.state === State.Data) {
        if (b !== IAC && b !== CR && b !== LF && !(b === NUL && this.afterCr)) {
          this.afterCr = false;
          if (runStart < 0) runStart = i;
          continue;
        }
        if (runStart >= 0) {
          this.on.data(chunk.subarray(runStart, i));
          runStart = -1;
        }
        if (b === IAC) {
          this.state = State.Iac;
        } else if (b === CR) {
          this.afterCr = true;
          this.on.eol();
        } else if (this.afterCr) {
          this.afterCr = false; // the LF or NUL of CR LF / CR NUL
        } else {
          this.on.eol(); // bare LF
        }
        continue;
      }
      this.step(b, chunk, i);
    }
    if (runStart >= 0) this.on.data(chunk.subarray(runStart));
  }

  private step(b: number, chunk: Uint8Array, i: number): void {
    switch (this.state) {
      case State.Iac:
        if (b === IAC) {
          this.state = State.Data;
          this.afterCr = false;
          this.on.data(chunk.subarray(i, i + 1)); // IAC IAC: one data byte 255
        } else if (b >= WILL && b <= DONT) {
          this.verb = b;
          this.state = State.Verb;
        } else if (b === SB) {
          this.state = State.SbOption;
        } else {
          this.state = State.Data;
          this.on.command(b);
        }
        return;
      case State.Verb:
        this.state = State.Data;
        this.on.negotiation(this.verb, b);
        return;
      case State.SbOption:
        this.sbOption = b;
        this.sb ??= new Uint8Array(this.maxSubnegotiation);
        this.sbLength = 0;
        this.sbTruncated = false;
        this.state = State.SbData;
        return;
      case State.SbData:
        if (b === IAC) this.state = State.SbIac;
        else this.sbPush(b);
        return;
      case State.SbIac:
        if (b === IAC) {
          this.sbPush(IAC);
          this.state = State.SbData;
        } else {
          // IAC SE ends it; any other byte is a broken subnegotiation: deliver
          // what came and read the byte as the command it introduces.
          this.on.subnegotiation(this.sbOption, this.sb!.slice(0, this.sbLength), this.sbTruncated);
          this.state = State.Iac;
          if (b === SE) this.state = State.Data;
          else this.step(b, chunk, i);
        }
        return;
    }
  }

  private sbPush(b: number): void {
    if (this.sbLength < this.maxSubnegotiation) this.sb![this.sbLength++] = b;
    else this.sbTruncated = true;
  }
}
