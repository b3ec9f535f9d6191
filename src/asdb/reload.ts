// A routing table that can be replaced while the server runs: reload() opens
// the files again and swaps the table in only when that succeeded; a failed
// reload keeps the table in use and says why. Triggers are opt-in: a SIGHUP
// handler and a watcher on the files (their directories, so that a file
// replaced by rename, the usual atomic update, is seen too).
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { openAsdb, type Asdb, type OpenOptions } from './asdb.ts';

export interface ReloadLog {
  info(message: string): void;
  error(message: string): void;
}

export interface ReloadableOptions extends OpenOptions {
  log?: ReloadLog;
  /** Quiet time after the last file change before reloading (ms). Default 1000. */
  debounceMs?: number;
}

export type ReloadResult = { ok: true; asdb: Asdb } | { ok: false; error: Error };

/** What servers hold: the table in use now, read afresh at each use. */
export interface AsdbHolder {
  readonly current: Asdb;
}

export class ReloadableAsdb implements AsdbHolder {
  private table: Asdb;
  private running: Promise<ReloadResult> | null = null;
  private again = false;
  private readonly disposers: (() => void)[] = [];

  private constructor(
    private readonly files: readonly string[],
    private readonly options: ReloadableOptions,
    first: Asdb,
  ) {
    this.table = first;
  }

  /** Opens the files (a failure here is an error: there is no table to keep). */
  static async open(files: readonly string[], options: ReloadableOptions = {}): Promise<ReloadableAsdb> {
    return new ReloadableAsdb(files, options, await openAsdb(files, options));
  }

  /**
   * For a server: opens the files, reloads them on SIGHUP and when one of
   * them changes on disk (the embedded default only changes with the package).
   */
  static async serve(files: readonly string[], options: ReloadableOptions = {}): Promise<ReloadableAsdb> {
    const asdb = await ReloadableAsdb.open(files, options);
    asdb.reloadOnSighup();
    if (files.length > 0) asdb.watchFiles();
    return asdb;
  }

  /** The table in use; take it per request rather than keeping it. */
  get current(): Asdb {
    return this.table;
  }

  /**
   * Opens the files again and, when that succeeds, switches to the new table.
   * Calls during a reload are folded into one more reload after it.
   */
  reload(): Promise<ReloadResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.load().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.running;
  }

  /** Reloads on SIGHUP until close(). */
  reloadOnSighup(): void {
    const handler = (): void => void this.reload();
    process.on('SIGHUP', handler);
    this.disposers.push(() => process.off('SIGHUP', handler));
  }

  /** Reloads when one of the files changes, until close(). */
  watchFiles(): void {
    const debounceMs = this.options.debounceMs ?? 1000;
    let timer: NodeJS.Timeout | undefined;
    const changed = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.reload(), debounceMs);
    };
    const byDir = new Map<string, Set<string>>();
    for (const file of this.files) {
      const dir = dirname(resolve(file));
      if (!byDir.has(dir)) byDir.set(dir, new Set());
      byDir.get(dir)!.add(basename(file));
    }
    for (const [dir, names] of byDir) {
      const watcher: FSWatcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || names.has(name.toString())) changed();
      });
      watcher.on('error', (err) => this.options.log?.error(`asdb: watching ${dir} failed: ${err.message}`));
      this.disposers.push(() => watcher.close());
    }
    this.disposers.push(() => clearTimeout(timer));
  }

  /** Stops the signal handler and the watchers. */
  close(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
  }

  private async load(): Promise<ReloadResult> {
    const started = performance.now();
    try {
      const asdb = await openAsdb(this.files, this.options);
      this.table = asdb;
      const ms = Math.round(performance.now() - started);
      this.options.log?.info(
        `asdb: reloaded ${this.describe()} in ${ms} ms (${asdb.index.v4.size} IPv4 and ${asdb.index.v6.size} IPv6 intervals)`,
      );
      return { ok: true, asdb };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.options.log?.error(`asdb: reload failed, keeping the table in use: ${error.message}`);
      return { ok: false, error };
    }
  }

  private describe(): string {
    return this.files.length > 0 ? this.files.join(', ') : 'the embedded default table';
  }
}
