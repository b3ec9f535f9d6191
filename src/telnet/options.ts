// Option negotiation by the Q method of RFC 1143: for each option and each
// side, NO / YES / WANTNO / WANTYES plus a one-slot queue, so that we never
// answer a request for the state we are already in and no negotiation loops.
// Pure: replies go out through `send`, agreed changes through `changed`.
import { DO, DONT, WILL, WONT } from './constants.ts';

const NO = 0;
const YES = 1;
const WANTNO = 2;
const WANTYES = 3;
const OPPOSITE = 4; // queue bit, stored beside the 2-bit state

/** "us": options we perform (answer DO/DONT with WILL/WONT); "him": options the client performs. */
export type Side = 'us' | 'him';

export interface OptionPolicy {
  /** Options we agree to perform when the client asks (DO). */
  us: ReadonlySet<number>;
  /** Options we agree the client may perform when it offers (WILL). */
  him: ReadonlySet<number>;
}

export interface OptionCallbacks {
  send(verb: number, option: number): void;
  changed(side: Side, option: number, enabled: boolean): void;
}

export class OptionTable {
  // One byte per option: our side in the low nibble, the client's in the high
  // one, each 2 bits of state and 1 bit of queue. 256 bytes a connection,
  // cut from Node's shared buffer pool rather than allocated one by one.
  private readonly table = Buffer.allocUnsafe(256).fill(NO);

  constructor(
    private readonly policy: OptionPolicy,
    private readonly cb: OptionCallbacks,
  ) {}

  enabled(side: Side, option: number): boolean {
    return (this.get(side, option) & 3) === YES;
  }

  private get(side: Side, option: number): number {
    const b = this.table[option]!;
    return side === 'us' ? b & 0xf : b >>> 4;
  }

  private set(side: Side, option: number, q: number): void {
    const b = this.table[option]!;
    this.table[option] = side === 'us' ? (b & 0xf0) | q : (b & 0x0f) | (q << 4);
  }

  /** Ask for an option: we offer to perform it (us, WILL) or ask the client to (him, DO). */
  request(side: Side, option: number, enable: boolean): void {
    const q = this.get(side, option);
    const state = q & 3;
    const queued = (q & OPPOSITE) !== 0;
    const want = enable ? YES : NO;
    if (state === want) return;
    if (state === NO || state === YES) {
      this.set(side, option, enable ? WANTYES : WANTNO);
      this.cb.send(verbFor(side, enable), option);
    } else if ((state === WANTYES) !== enable) {
      // Negotiating the other way: queue the reversal, once.
      if (!queued) this.set(side, option, state | OPPOSITE);
    } else if (queued) {
      this.set(side, option, state); // cancel a queued reversal
    }
  }

  /** Handle a received WILL/WONT/DO/DONT. */
  receive(verb: number, option: number): void {
    const side: Side = verb === DO || verb === DONT ? 'us' : 'him';
    const positive = verb === WILL || verb === DO;
    const q = this.get(side, option);
    const state = q & 3;
    const queued = (q & OPPOSITE) !== 0;
    if (positive) {
      switch (state) {
        case NO:
          if (!this.policy[side].has(option)) return this.cb.send(verbFor(side, false), option);
          this.cb.send(verbFor(side, true), option);
          return this.agree(side, option, YES, true);
        case YES:
          return;
        case WANTNO:
          // An answer of "yes" to our "no": take it as the client's choice.
          return queued ? this.agree(side, option, YES, true) : this.set(side, option, NO);
        case WANTYES:
          if (!queued) return this.agree(side, option, YES, true);
          this.agree(side, option, WANTNO, true);
          return this.cb.send(verbFor(side, false), option);
      }
    } else {
      switch (state) {
        case NO:
          return;
        case YES:
          this.agree(side, option, NO, false);
          return this.cb.send(verbFor(side, false), option);
        case WANTNO:
          if (!queued) return this.agree(side, option, NO, false);
          this.agree(side, option, WANTYES, false);
          return this.cb.send(verbFor(side, true), option);
        case WANTYES:
          return this.set(side, option, NO); // refused
      }
    }
  }

  /** A new state that changes whether the option is on. */
  private agree(side: Side, option: number, next: number, enabled: boolean): void {
    this.set(side, option, next);
    this.cb.changed(side, option, enabled);
  }
}

/** WILL/WONT for our side, DO/DONT for the client's. */
function verbFor(side: Side, enable: boolean): number {
  if (side === 'us') return enable ? WILL : WONT;
  return enable ? DO : DONT;
}
