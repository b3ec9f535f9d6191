// The CSV form (RFC 4180: comma-separated, CRLF line ends, a header row):
// the pipe format's fields, then first_seen, attempts, credentials (distinct
// user name + password pairs), sensors (distinct sensors) and tags
// (semicolon-separated labels). Text cells are written so that a spreadsheet
// never runs them as formulas (OWASP's advice on CSV injection).
import { cleanAsName } from '../asname.ts';
import { ipText } from '../collect.ts';
import { CATEGORY } from '../build.ts';
import type { FeedFormat } from '../render.ts';
import { formatSecond } from '../window.ts';
import { perBuild } from './text.ts';

export const CSV_COLUMNS = ['asn', 'as_name', 'ip', 'last_seen', 'category', 'first_seen', 'attempts', 'credentials', 'sensors', 'tags'];

/**
 * One text cell: a leading = + - @ TAB or CR (which a spreadsheet would take
 * for a formula) gets a ' in front, and a cell holding a comma, a quote, a
 * line end or surrounding space is quoted, its quotes doubled.
 */
export function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]|^\s|\s$/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The first two cells with their commas. */
const asPrefix = perBuild((feed, asn) => {
  const name = asn === 0 ? null : cleanAsName(feed.asName(asn));
  return `${asn === 0 ? '' : asn},${name === null ? '' : csvCell(name)},`;
});

const tagsCell = perBuild((feed, set) => {
  const tags = feed.tagSets[set]!;
  return `${tags.length === 0 ? '' : csvCell(tags.join(';'))}\r\n`;
});

export const csvFormat: FeedFormat = {
  name: 'csv',
  file: 'telnetlogin.csv',
  contentType: 'text/csv; charset=utf-8; header=present',
  detail: true,
  lists: () => true,
  header: () => `${CSV_COLUMNS.join(',')}\r\n`,
  entry(feed, i) {
    const r = feed.rows;
    return (
      `${asPrefix(feed, feed.asn[i]!)}${ipText(r, i)},${formatSecond(r.last[i]!)},${CATEGORY},${formatSecond(r.first![i]!)},` +
      `${r.attempts![i]},${r.credentials![i]},${r.sensors![i]},${tagsCell(feed, feed.tagSet[i]!)}`
    );
  },
  footer: () => '',
};
