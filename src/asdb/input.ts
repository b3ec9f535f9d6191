// One input file: compression detected from its first bytes (gzip, bzip2 or
// none), content read as a stream of decompressed chunks, progress reported
// as the share of the file read.
//
// bzip2: RouteViews publishes its dumps as .bz2. The pure-JavaScript decoder
// (unbzip2-stream) manages about 4 MB/s of output here, the system's `bzip2`
// about 30 MB/s, so `bzip2 -dc` is used when it is on the PATH and the
// JavaScript decoder otherwise: nothing beyond Node is required.
import { spawn } from 'node:child_process';
import { accessSync, constants, createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import unbzip2 from 'unbzip2-stream';
import { AsdbError, fileError } from './errors.ts';

export type Compression = 'gzip' | 'bzip2' | 'none';

export interface InputOptions {
  /** Called as the file is read: bytes of the (compressed) file read so far and its size. */
  onProgress?: (file: string, bytesRead: number, size: number) => void;
  /** `js` forces the JavaScript bzip2 decoder (tests compare both). */
  bzip2?: 'auto' | 'js';
}

const HEAD_BYTES = 64 * 1024;
const TAIL_BYTES = 128 * 1024;

export class Input {
  private headChunks: Buffer[] | null = null;
  private rest: AsyncIterator<Buffer> | null = null;
  private consumed = false;

  private constructor(
    readonly file: string,
    readonly size: number,
    readonly compression: Compression,
    /** The first bytes of the file as stored (before decompression). */
    readonly magic: Buffer,
    /** The last bytes of an uncompressed file (where an mmdb keeps its metadata); empty otherwise. */
    readonly tail: Buffer,
    private readonly options: InputOptions,
  ) {}

  static async open(file: string, options: InputOptions = {}): Promise<Input> {
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new AsdbError('TL_ASDB_IO', `${file}: not a regular file`);
      const fh = await open(file, 'r');
      try {
        const magic = Buffer.alloc(Math.min(16, info.size));
        await fh.read(magic, 0, magic.length, 0);
        const compression = compressionOf(magic);
        let tail = Buffer.alloc(0);
        if (compression === 'none') {
          tail = Buffer.alloc(Math.min(TAIL_BYTES, info.size));
          await fh.read(tail, 0, tail.length, info.size - tail.length);
        }
        return new Input(file, info.size, compression, magic, tail, options);
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (err instanceof AsdbError) throw err;
      throw new AsdbError('TL_ASDB_IO', `${file}: cannot read: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The first 64 KiB or so of the decompressed content (starts reading). */
  async head(): Promise<Buffer> {
    if (this.headChunks === null) {
      const it = this.decompressed()[Symbol.asyncIterator]();
      const chunks: Buffer[] = [];
      let n = 0;
      while (n < HEAD_BYTES) {
        const r = await it.next();
        if (r.done) break;
        chunks.push(r.value);
        n += r.value.length;
      }
      this.headChunks = chunks;
      this.rest = it;
    }
    return Buffer.concat(this.headChunks);
  }

  /** The whole decompressed content as a stream of chunks; can be taken once. */
  async *chunks(): AsyncGenerator<Buffer> {
    if (this.consumed) throw new Error(`${this.file}: input already read`);
    this.consumed = true;
    await this.head();
    yield* this.headChunks!;
    this.headChunks = [];
    for (;;) {
      const r = await this.rest!.next();
      if (r.done) return;
      yield r.value;
    }
  }

  /** Stops reading (a decoder process, open files) when the content is not read to its end. */
  async close(): Promise<void> {
    const rest = this.rest;
    this.rest = null;
    this.consumed = true;
    await rest?.return?.(undefined);
  }

  /** The whole decompressed content in memory (for formats read at random: mmdb, built files). */
  async readAll(): Promise<Buffer> {
    if (this.compression === 'none' && this.headChunks === null) {
      const data = await readFile(this.file);
      this.options.onProgress?.(this.file, data.length, this.size);
      return data;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.chunks()) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  private decompressed(): AsyncIterable<Buffer> {
    switch (this.compression) {
      case 'none':
        return this.rawChunks();
      case 'gzip':
        // Errors surface through iteration, so pipeline's callback has nothing to do.
        return this.checked(pipeline(Readable.from(this.rawChunks()), createGunzip(), () => {}), 'gzip');
      case 'bzip2': {
        const external = this.options.bzip2 !== 'js' ? findExecutable('bzip2') : null;
        return external ? this.externalBzip2(external) : this.checked(jsBzip2(this.rawChunks()), 'bzip2');
      }
    }
  }

  private async *rawChunks(): AsyncGenerator<Buffer> {
    let read = 0;
    for await (const chunk of createReadStream(this.file, { highWaterMark: 1 << 20 })) {
      read += chunk.length;
      // Not while only the head is read for format detection (all inputs are detected first).
      if (this.consumed) this.options.onProgress?.(this.file, read, this.size);
      yield chunk as Buffer;
    }
  }

  /** Turns a decoder's failure into a message about the file. */
  private async *checked(stream: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
    try {
      yield* stream;
    } catch (err) {
      throw fileError(this.file, `${what} data is truncated or corrupt (${(err as Error).message})`, err);
    }
  }

  private async *externalBzip2(command: string): AsyncGenerator<Buffer> {
    const child = spawn(command, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s.slice(0, 1000)));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    // A write error (EPIPE) shows as bzip2's exit status.
    pipeline(Readable.from(this.rawChunks()), child.stdin, () => {});
    try {
      for await (const chunk of child.stdout) yield chunk as Buffer;
      const status = await exited;
      if (status !== 0) {
        const why = stderr.split('\n').find((l) => l.trim() !== '') ?? `exit status ${status}`;
        throw fileError(this.file, `bzip2 data is truncated or corrupt (${why.replace(/^bzip2: /, '')})`);
      }
    } finally {
      if (child.exitCode === null) child.kill();
    }
  }
}

function compressionOf(magic: Buffer): Compression {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic[0] === 0x42 && magic[1] === 0x5a && magic[2] === 0x68) return 'bzip2';
  return 'none';
}

/** unbzip2-stream is a classic (through) stream that decodes synchronously in write(). */
async function* jsBzip2(raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const decoder = unbzip2();
  const out: Buffer[] = [];
  let error: Error | null = null;
  decoder.on('data', (chunk: Buffer) => out.push(chunk));
  decoder.on('error', (err: Error) => (error ??= err));
  for await (const chunk of raw) {
    decoder.write(chunk);
    yield* out.splice(0);
    if (error) throw error;
  }
  decoder.end();
  yield* out.splice(0);
  if (error) throw error;
}

function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return null;
}
