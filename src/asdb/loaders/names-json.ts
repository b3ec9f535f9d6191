// pyasn's AS-name JSON (asnames.json from pyasn_util_asnames.py):
// `{"4134": "CHINANET-BACKBONE No.31,Jin-rong Street, CN", ...}`, one flat
// object of AS number -> name (or null), read whole (a few MB). JSON.parse
// does the reading; when it fails, a token scan finds the line to name.
import { fileError, lineError } from '../errors.ts';
import { parseAsn } from '../lines.ts';
import { withoutCountry } from '../names.ts';
import type { Loader } from './common.ts';

export const loadNamesJson: Loader = async (input, { names }) => {
  const text = (await input.readAll()).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const line = errorLine(text);
    throw lineError(input.file, line, `invalid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw fileError(input.file, 'expected a JSON object of AS number -> name');
  }
  const entries = doc as Record<string, unknown>;
  for (const key in entries) {
    const name = entries[key];
    let asn: number;
    try {
      asn = parseAsn(key, 0);
    } catch (err) {
      throw lineError(input.file, lineOf(text, text.indexOf(JSON.stringify(key))), `key ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
    if (name === null) continue;
    if (typeof name !== 'string') throw fileError(input.file, `AS ${key}: the name must be a string or null`);
    names.set(asn, withoutCountry(name), 'names-file');
  }
};

function lineOf(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

// A string, a number, a literal, or punctuation, after optional white space.
const TOKEN = /\s*("(?:[^"\\\u0000-\u001f]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|[{}[\]:,])/y;

/** The line of the first token where a flat JSON object of strings goes wrong. */
function errorLine(text: string): number {
  let at = 0;
  let expect: 'open' | 'key' | 'colon' | 'value' | 'next' = 'open';
  for (;;) {
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    const start = at + (match ? match[0].length - match[1].length : text.slice(at).search(/\S|$/));
    if (match === null) return lineOf(text, start);
    const token = match[1];
    const ok =
      (expect === 'open' && token === '{') ||
      (expect === 'key' && (token.startsWith('"') || token === '}')) ||
      (expect === 'colon' && token === ':') ||
      (expect === 'value' && (token.startsWith('"') || token === 'null')) ||
      (expect === 'next' && (token === ',' || token === '}'));
    if (!ok || token === '}') return lineOf(text, start);
    expect = expect === 'open' || token === ',' ? 'key' : expect === 'key' ? 'colon' : expect === 'colon' ? 'value' : 'next';
    at += match[0].length;
  }
}
