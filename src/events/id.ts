import { randomFillSync } from 'node:crypto';

// UUIDv7 (RFC 9562) with a 12-bit counter in rand_a (method 1), so ids made in
// the same millisecond still sort in creation order.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(8 * 1024);
let poolOffset = pool.length;
let lastMs = -1;
let counter = 0;

function random8(): Buffer {
  if (poolOffset + 8 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 8);
  poolOffset += 8;
  return bytes;
}

export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = random8()[0]! & 0x3f; // random start, room left to count up
  } else if (++counter > 0xfff) {
    lastMs += 1; // counter exhausted: borrow the next millisecond, never repeat
    counter = 0;
  }
  const ms = lastMs;
  const r = random8();
  const b = [
    Math.floor(ms / 2 ** 40) & 0xff, Math.floor(ms / 2 ** 32) & 0xff, (ms >>> 24) & 0xff,
    (ms >>> 16) & 0xff, (ms >>> 8) & 0xff, ms & 0xff,
    0x70 | (counter >>> 8), counter & 0xff,
    0x80 | (r[0]! & 0x3f), r[1]!, r[2]!, r[3]!, r[4]!, r[5]!, r[6]!, r[7]!,
  ];
  const h = b.map((x) => HEX[x]!);
  return `${h[0]}${h[1]}${h[2]}${h[3]}-${h[4]}${h[5]}-${h[6]}${h[7]}-${h[8]}${h[9]}-${h.slice(10).join('')}`;
}
