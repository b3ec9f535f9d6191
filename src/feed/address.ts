// Addresses as the feed spells them: one canonical text per address, so that
// the same client is one entry however its address was written.
import { formatIPv4, formatIPv6, parseAddress, parseIPv4 } from '../asdb/ip.ts';

/**
 * Dotted-quad IPv4 (IPv4-mapped IPv6 becomes IPv4) or RFC 5952 IPv6; null
 * when `text` is not an IP address.
 */
export function canonicalAddress(text: string): string | null {
  // The common case, an IPv4 address already in canonical form, allocates nothing.
  const v4 = parseIPv4(text);
  if (v4 >= 0) return text;
  const parsed = parseAddress(text);
  if (parsed === null) return null;
  return parsed.family === 4 ? formatIPv4(parsed.v4) : formatIPv6(parsed.v6);
}

/** Parses `text` into `words` (IPv4: words[0]; IPv6: words[0..3]); the family, or 0 when it is not an address. */
export function numericAddress(text: string, words: Uint32Array): 0 | 4 | 6 {
  const v4 = parseIPv4(text);
  if (v4 >= 0) {
    words[0] = v4;
    return 4;
  }
  const parsed = parseAddress(text);
  if (parsed === null) return 0;
  if (parsed.family === 4) {
    words[0] = parsed.v4;
    return 4;
  }
  words.set(parsed.v6);
  return 6;
}
