import { randomFillSync } from 'node:crypto';

// UUIDv7 (RFC 9562) with a 12-bit counter in rand_a (method 1), so ids made in
// the same millisecond still sort in creation order.
const pool = Buffer.alloc(8 * 1024);
let poolOffset = pool.length;
let lastMs = -1;
let counter = 0;
// The id's text is written byte by byte into one buffer and read out in one
// call: formatting it from a hex string's slices cost twice as much.
const text = Buffer.from('00000000-0000-7000-8000-000000000000', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of the 16 bytes' two hex digits go in the text. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/** Where 8 fresh random bytes start in the pool. */
function random8(): number {
  if (poolOffset + 8 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += 8;
  return poolOffset - 8;
}

function put(i: number, byte: number): void {
  text[AT[i]!] = HEX[byte >>> 4]!;
  text[AT[i]! + 1] = HEX[byte & 15]!;
}

export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = pool[random8()]! & 0x3f; // random start, room left to count up
  } else if (++counter > 0xfff) {
    lastMs += 1; // counter exhausted: borrow the next millisecond, never repeat
    counter = 0;
  }
  const high = Math.floor(lastMs / 0x10000); // the 48-bit time: 32 bits, then 16
  for (let i = 0; i < 4; i++) put(i, (high >>> (24 - 8 * i)) & 0xff);
  put(4, (lastMs >>> 8) & 0xff);
  put(5, lastMs & 0xff);
  put(6, 0x70 | (counter >>> 8));
  put(7, counter & 0xff);
  const r = random8();
  put(8, 0x80 | (pool[r]! & 0x3f));
  for (let i = 1; i < 8; i++) put(8 + i, pool[r + i]!);
  return text.toString('latin1');
}
