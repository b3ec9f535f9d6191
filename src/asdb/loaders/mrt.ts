// MRT RIB dumps straight from RouteViews (rib.*.bz2) or RIPE RIS (bview.*.gz),
// TABLE_DUMP_V2 or TABLE_DUMP: what pyasn_util_convert.py --single reads,
// with the same result (origin rule in origin.ts): the first record of a
// prefix that yields an origin wins, and the default route is dropped.
// A dump cut short (an interrupted download) is refused.
import { fileError } from '../errors.ts';
import { MrtFormatError, MrtParser, type MrtRoute } from '../mrt.ts';
import type { Loader } from './common.ts';

export const loadMrt: Loader = async (input, { routes }) => {
  routes.beginSource('first');
  // TABLE_DUMP repeats a prefix once per peer, in a row: drop those repeats
  // here rather than hold them all until the index is built.
  const previous = { family: 0, len: -1, words: new Uint32Array(4) };
  const isRepeat = (r: MrtRoute): boolean => {
    if (r.family !== previous.family || r.len !== previous.len) return false;
    for (let k = 0; k < 4; k++) if (r.words[k] !== previous.words[k]) return false;
    return true;
  };
  const parser = new MrtParser((r) => {
    if (r.origin === 0 || r.len === 0 || isRepeat(r)) return;
    if (r.family === 4) routes.addV4(r.words[0], r.len, r.origin);
    else routes.addV6(r.words, 0, r.len, r.origin);
    previous.family = r.family;
    previous.len = r.len;
    previous.words.set(r.words);
  });
  try {
    for await (const chunk of input.chunks()) parser.push(chunk);
    parser.end();
  } catch (err) {
    if (err instanceof MrtFormatError) throw fileError(input.file, err.message, err);
    throw err;
  }
};
