import { randomFillSync } from 'node:crypto';

// UUIDv7 (RFC 9562) with a 12-bit counter in rand_a (method 1), so ids made in
// the same millisecond still sort in creation order.
const pool = Buffer.alloc(8 * 1024);
let poolOffset = pool.length;
let lastMs = -1;
let counter = 0;
const bytes = Buffer.alloc(16);

function random8(): Buffer {
  if (poolOffset + 8 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += 8;
  return pool.subarray(poolOffset - 8, poolOffset);
}

export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = random8()[0]! & 0x3f; // random start, room left to count up
  } else if (++counter > 0xfff) {
    lastMs += 1; // counter exhausted: borrow the next millisecond, never repeat
    counter = 0;
  }
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  random8().copy(bytes, 8);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
