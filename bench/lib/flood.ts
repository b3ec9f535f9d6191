// The garbage flood, run in a child process (flood-process.ts) so that it
// competes with the sensor for the CPU, as a real flood would, but not with
// the benchmark's own login client for its event loop.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './cleanup.ts';
import type { FloodOptions, FloodReport } from './flood-process.ts';

export type { FloodReport };

export interface Flood {
  /** Stops the flood and reports what it sent. */
  stop(): Promise<FloodReport>;
}

const script = fileURLToPath(new URL('./flood-process.ts', import.meta.url));

/** Starts the flood; resolves once its connections are being opened. */
export async function startFlood(options: Omit<FloodOptions, 'maxMs'> & { maxMs?: number }): Promise<Flood> {
  const full: FloodOptions = { maxMs: 120_000, ...options };
  const child: ChildProcess = track(fork(script, [JSON.stringify(full)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  }));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`flood process exited (${signal ?? code}) before reporting`))),
  );
  exited.catch(() => {}); // observed through the races below
  const message = (type: string) =>
    new Promise<{ type: string; report?: FloodReport }>((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
    });
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`flood: no ${what} in ${ms} ms`)), ms)));
    return Promise.race([p, exited, late]).finally(() => clearTimeout(timer));
  };
  try {
    await within(message('started'), 30_000, 'start');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    async stop() {
      const report = message('report');
      child.send('stop');
      try {
        return (await within(report, 10_000, 'report')).report!;
      } finally {
        child.kill('SIGKILL');
      }
    },
  };
}
