// The `feed` section of the config file (validated with zod; every error
// names the key), and the exclusion and tag lists it may point to.
//
//   "feed": {
//     "window": "7d", "rebuildEvery": "5m", "publishDir": "/var/www/feed",
//     "ownAddresses": ["192.0.2.10", "2001:db8:1::/64"],
//     "exclude": ["198.51.100.0/24", "AS64500"], "excludeFiles": ["allowlist.txt"],
//     "tags": [{ "match": "AS398324", "label": "censys" }], "tagFiles": ["scanners.txt"],
//     "excludeTaggedFromDataplane": false
//   }
//
// List files: one entry a line, `#` starts a comment; exclusion files hold a
// CIDR prefix, address or ASN per line, tag files `MATCH LABEL`.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UsageError } from '../errors.ts';
import { LABEL, parseMatch, parsePrefix, type FeedPolicy, type Match, type TagRule } from './policy.ts';
import { parseDuration } from './window.ts';

function parsed<T>(parse: (text: string) => T) {
  return (value: string | number, ctx: z.RefinementCtx): T => {
    try {
      return parse(String(value));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  };
}

const duration = (max: number) =>
  z.string().transform(parsed((s) => {
    const ms = parseDuration(s, 'duration');
    if (ms > max) throw new Error(`"${s}" is longer than ${max / 86_400_000} days`);
    return ms;
  }));
const match = z.union([z.string(), z.number()]).transform(parsed(parseMatch));
const prefix = z.string().transform(parsed(parsePrefix));
const label = z.string().regex(LABEL, 'a label is 1-64 letters, digits and . _ : @ / + -, starting with a letter or digit');

export const feedConfigSchema = z
  .object({
    window: duration(366 * 86_400_000).prefault('7d'),
    rebuildEvery: duration(86_400_000).prefault('5m'),
    publishDir: z.string().min(1).optional(),
    ownAddresses: z.array(prefix).default([]),
    exclude: z.array(match).default([]),
    excludeFiles: z.array(z.string().min(1)).default([]),
    tags: z.array(z.object({ match, label }).strict()).default([]),
    tagFiles: z.array(z.string().min(1)).default([]),
    excludeTaggedFromDataplane: z.boolean().default(false),
  })
  .strict();

export type FeedConfig = z.output<typeof feedConfigSchema>;

/** The policy the config describes, with its list files read now (a UsageError names the file and line). */
export async function loadFeedPolicy(config: FeedConfig): Promise<FeedPolicy> {
  const exclude: Match[] = [...config.exclude];
  const tags: TagRule[] = [...config.tags];
  for (const file of config.excludeFiles) {
    for (const { text, where } of await listLines(file)) exclude.push(orFail(where, () => parseMatch(text)));
  }
  for (const file of config.tagFiles) {
    for (const { text, where } of await listLines(file)) {
      const [matchText = '', labelText = '', extra] = text.split(/\s+/);
      if (extra !== undefined || !LABEL.test(labelText)) {
        throw new UsageError(`${where}: expected "CIDR-or-ASN LABEL", the label 1-64 letters, digits and . _ : @ / + -`);
      }
      tags.push({ match: orFail(where, () => parseMatch(matchText)), label: labelText });
    }
  }
  return { ownAddresses: config.ownAddresses, exclude, tags, excludeTaggedFromDataplane: config.excludeTaggedFromDataplane };
}

async function listLines(file: string): Promise<Array<{ text: string; where: string }>> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the list ${file}: ${(err as Error).message}`);
  }
  return content.split('\n').flatMap((line, i) => {
    const text = line.replace(/#.*/, '').trim();
    return text === '' ? [] : [{ text, where: `${file}:${i + 1}` }];
  });
}

function orFail<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`${where}: ${(err as Error).message}`);
  }
}
