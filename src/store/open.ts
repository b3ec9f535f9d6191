// Opens the store a command names: `--db sqlite:PATH`, `--db postgres://...`
// (or postgresql://), or the embedded SQLite store in `--data-dir`.
import { UsageError } from '../errors.ts';
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore, type SqliteLocation } from './sqlite.ts';
import type { EventReader, Store } from './store.ts';

export interface OpenStoreOptions {
  /** `sqlite:PATH`, `postgres://...` or `postgresql://...`; wins over dataDir. */
  db?: string;
  /** The embedded store's directory (default ./data). */
  dataDir?: string;
  /** Read only: no schema changes, writes refused; SQLite then works while a writer runs. */
  readonly?: boolean;
}

/** Where a `--db` URL points, or a UsageError naming what is wrong with it. */
export function parseDbUrl(db: string): { kind: 'postgres'; url: string } | { kind: 'sqlite'; file: string } {
  if (/^postgres(?:ql)?:\/\//i.test(db)) return { kind: 'postgres', url: db };
  if (/^sqlite:/i.test(db)) {
    const file = db.slice('sqlite:'.length);
    if (file === '') throw new UsageError('--db: "sqlite:" needs a file path, e.g. sqlite:./data/telnetlogin.sqlite');
    return { kind: 'sqlite', file };
  }
  throw new UsageError(`--db: "${db}" is neither sqlite:PATH nor a postgres://... (or postgresql://...) URL`);
}

export async function openStore(options: OpenStoreOptions & { readonly: true }): Promise<EventReader>;
export async function openStore(options: OpenStoreOptions & { readonly?: false }): Promise<Store>;
export async function openStore(options: OpenStoreOptions): Promise<Store | EventReader> {
  const target = options.db === undefined ? undefined : parseDbUrl(options.db);
  if (target?.kind === 'postgres') return openPostgresStore(target.url, { readonly: options.readonly });
  const location: SqliteLocation = target ? { file: target.file } : { dataDir: options.dataDir ?? './data' };
  return options.readonly ? openSqliteStore({ ...location, readonly: true }) : openSqliteStore(location);
}
