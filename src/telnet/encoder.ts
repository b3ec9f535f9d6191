// Bytes we send: data with IAC doubled, option commands and subnegotiations.
import { IAC, SB, SE } from './constants.ts';

/** Data for the wire: every 0xFF doubled (IAC IAC). Returns the input itself when it holds none. */
export function escapeData(bytes: Uint8Array): Uint8Array {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === IAC) count++;
  if (count === 0) return bytes;
  const out = new Uint8Array(bytes.length + count);
  let j = 0;
  for (let i = 0; i < bytes.length; i++) {
    out[j++] = bytes[i]!;
    if (bytes[i] === IAC) out[j++] = IAC;
  }
  return out;
}

// Every connection sends and answers a few of these: made once each and
// shared (nothing writes into them; sockets and Buffer.concat only read them).
const negotiations = new Map<number, Uint8Array>();

/** IAC verb option. */
export function negotiation(verb: number, option: number): Uint8Array {
  const key = (verb << 8) | option;
  let bytes = negotiations.get(key);
  if (!bytes) negotiations.set(key, (bytes = Uint8Array.of(IAC, verb, option)));
  return bytes;
}

/** IAC SB option data IAC SE, with IAC in data doubled. */
export function subnegotiation(option: number, data: Uint8Array): Uint8Array {
  const body = escapeData(data);
  const out = new Uint8Array(body.length + 5);
  out.set([IAC, SB, option], 0);
  out.set(body, 3);
  out.set([IAC, SE], 3 + body.length);
  return out;
}
