// One orderly stop for a long-running command (run, serve, sensor,
// collector): on SIGINT or SIGTERM, on a failure the command reports, or when
// start-up fails. Its steps run once, whatever asks first, between two log
// lines.
import type { Logger } from 'pino';

export interface Shutdown {
  /** Runs the steps (once: later calls get the same promise). */
  stop(reason: string): Promise<void>;
  /** Stops because of `err`; `done` then rejects with it. */
  fail(reason: string, err: Error): void;
  /** Settles once stopped by a signal (resolves) or by fail() (rejects). */
  done: Promise<void>;
}

export function shutdown(log: Pick<Logger, 'info'>, steps: () => Promise<void>): Shutdown {
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) =>
    (stopping ??= (async () => {
      log.info({ reason }, 'stopping');
      await steps();
      log.info('stopped');
    })());
  let fail!: Shutdown['fail'];
  const done = new Promise<void>((resolve, reject) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(signal).then(resolve, reject));
    fail = (reason, err) => void stop(reason).then(() => reject(err), reject);
  });
  return { stop, fail, done };
}
