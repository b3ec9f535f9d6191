// Loopback source addresses for load clients. Each client kind gets its own
// 127.N.0.0/22 block, and connections rotate over its 1016 addresses, so no
// address comes near the sensor's per-source limit (64 by default) and no
// address runs short of ephemeral ports.
export const SOURCES_PER_BLOCK = 4 * 254;

/** The i-th address of block N: 127.N.0.1, 127.N.0.2, ... 127.N.3.254, then again. */
export function sourceAddress(block: number, i: number): string {
  const k = i % SOURCES_PER_BLOCK;
  return `127.${block}.${Math.floor(k / 254)}.${(k % 254) + 1}`;
}

/** Which block each client kind uses. */
export const SourceBlock = { logins: 1, idle: 2, flood: 3 } as const;
