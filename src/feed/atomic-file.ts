// Files that readers (nginx, a CDN, a script) only ever see whole: written to
// a temporary name beside the target, synced, then renamed over it.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export class AtomicFile {
  readonly #path: string;
  readonly #temp: string;
  readonly #file: Promise<import('node:fs/promises').FileHandle>;

  constructor(path: string) {
    this.#path = path;
    this.#temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    this.#file = open(this.#temp, 'w', 0o644);
    this.#file.catch(() => {}); // reported by the first write
  }

  async write(data: Uint8Array): Promise<void> {
    await (await this.#file).write(data);
  }

  /** Makes the file visible under its name, complete. */
  async commit(): Promise<void> {
    const file = await this.#file;
    await file.sync();
    await file.close();
    await rename(this.#temp, this.#path);
  }

  async abort(): Promise<void> {
    await (await this.#file.catch(() => undefined))?.close().catch(() => {});
    await rm(this.#temp, { force: true });
  }
}

/** Writes `chunks` to `path` atomically. */
export async function writeFileAtomically(path: string, chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): Promise<void> {
  const file = new AtomicFile(path);
  try {
    for await (const chunk of chunks) await file.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
}
