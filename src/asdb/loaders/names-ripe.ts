// RIPE-style AS names (ftp.ripe.net's asn.txt, also the CIDR report's list):
// `<asn> <NAME descr>, <CC>` per line.
import { forEachLine, isBlankOrComment, parseAsn } from '../lines.ts';
import { withoutCountry } from '../names.ts';
import type { Loader } from './common.ts';

export const loadNamesRipe: Loader = async (input, { names }) => {
  await forEachLine(input.file, input.chunks(), (line) => {
    if (isBlankOrComment(line, '#')) return;
    const match = /^(\d+) (.*)$/.exec(line);
    if (!match) throw new Error('expected `<asn> <name>`');
    names.set(parseAsn(match[1], 0), withoutCountry(match[2]), 'names-file');
  });
};
