// ip-location-db ASN CSV (the embedded default, @ip-location-db/asn's
// asn-ipv4.csv and asn-ipv6.csv): `first,last,asn,name`, inclusive address
// ranges, the name quoted as CSV requires. Ranges are split into CIDR
// prefixes; the name is kept as the AS name.
import { forEachLine, isBlankOrComment, parseAsn } from '../lines.ts';
import { addRange, type Loader } from './common.ts';

export const loadRangeCsv: Loader = async (input, { routes, names }) => {
  routes.beginSource('last');
  await forEachLine(input.file, input.chunks(), (line) => {
    if (isBlankOrComment(line, '#')) return;
    const fields = splitCsvLine(line);
    if (fields.length !== 4) throw new Error('expected `first,last,asn,name`');
    if (fields[2] === '0') return;
    const asn = parseAsn(fields[2]);
    addRange(routes, fields[0], fields[1], asn);
    names.set(asn, fields[3], 'routing-table');
  });
};

/** One RFC 4180 record on one line: fields split on commas, `"..."` quoting with `""` for a quote. */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') throw new Error('text after a quoted field');
      i++;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}
