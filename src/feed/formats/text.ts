// What the formats share: per-build text caches and prose helpers for headers.
import type { BuiltFeed } from '../build.ts';

/** `make` cached per build and key (an ASN, a label set): what entries share is made once. */
export function perBuild(make: (feed: BuiltFeed, key: number) => string): (feed: BuiltFeed, key: number) => string {
  const caches = new WeakMap<BuiltFeed, Map<number, string>>();
  return (feed, key) => {
    let cache = caches.get(feed);
    if (!cache) caches.set(feed, (cache = new Map()));
    let text = cache.get(key);
    if (text === undefined) cache.set(key, (text = make(feed, key)));
    return text;
  };
}

/** "7 days", "24 hours", "90 minutes", "36 hours". */
export function describeDuration(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms % size === 0) return `${ms / size} ${name}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}

/** Words of `text` as lines of at most `width` characters, each starting with `indent`. */
export function wrapComment(text: string, indent = '', width = 70): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ (?! )/)) {
    // Two spaces after a sentence survive as the word's leading space.
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line.trimEnd());
      line = word.trimStart();
    } else line = line === '' ? word.trimStart() : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line.trimEnd());
  return lines;
}
