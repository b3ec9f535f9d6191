// AS names as the feed prints them. They come from routing and registry data
// that anyone can influence (an AS picks its own name), so they are treated
// as hostile text: no control characters, no line or paragraph separators,
// no bidirectional overrides, and in the pipe format no `|` and at most 30
// bytes, cut on a UTF-8 character boundary.

// C0, DEL, C1, LRM/RLM/ALM, line and paragraph separators, bidi embeddings,
// overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

export const DATAPLANE_NAME_BYTES = 30;

/** The name with unsafe characters as spaces and without surrounding space; null when nothing is left. */
export function cleanAsName(name: string | null | undefined): string | null {
  if (name == null) return null;
  const clean = name.replace(UNSAFE, ' ').trim();
  return clean === '' ? null : clean;
}

/**
 * The ASname field of the pipe format: cleaned, `|` as `/`, a leading `"`
 * as `'` (PHP's CSV reader, MISP's, would open a quoted cell there and read
 * past the next `|`), at most 30 bytes; `NA` when there is none.
 */
export function dataplaneAsName(name: string | null | undefined): string {
  const clean = cleanAsName(name?.replaceAll('|', '/'))?.replace(/^"/, "'") ?? null;
  if (clean === null) return 'NA';
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= DATAPLANE_NAME_BYTES) return clean;
  let end = DATAPLANE_NAME_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to the start of the cut character
  return bytes.subarray(0, end).toString('utf8').trimEnd() || 'NA';
}
