// Idle connections: many clients that connect, get the login prompt and then
// say nothing, the cheapest way to tie up a sensor's memory.
import net from 'node:net';
import { SourceBlock, sourceAddress } from './sources.ts';

export interface IdleResult {
  /** Connections that got the login prompt. */
  ready: number;
  /** Connections that failed or did not get the prompt in time. */
  failed: number;
  /** Hangs up every connection. */
  close(): Promise<void>;
}

const PROMPT = Buffer.from('login: ');

/**
 * Opens `count` connections in batches of `batch` (a batch at a time, so the
 * listen backlog never overflows) and resolves once each has got its prompt or
 * failed; a batch waits at most `batchTimeoutMs`.
 */
export async function openIdleConnections(
  host: string,
  port: number,
  count: number,
  { batch = 500, batchTimeoutMs = 10_000 } = {},
): Promise<IdleResult> {
  const sockets: net.Socket[] = [];
  let ready = 0;
  for (let first = 0; first < count; first += batch) {
    const waits: Promise<void>[] = [];
    for (let i = first; i < Math.min(first + batch, count); i++) {
      const socket = net.connect({ host, port, localAddress: sourceAddress(SourceBlock.idle, i) });
      sockets.push(socket);
      waits.push(
        new Promise<void>((resolve) => {
          let seen = Buffer.alloc(0);
          socket.on('error', () => {});
          socket.on('close', () => resolve());
          socket.on('data', function prompted(chunk: Buffer) {
            seen = Buffer.concat([seen.subarray(-PROMPT.length), chunk]);
            if (!seen.includes(PROMPT)) return;
            ready++;
            socket.off('data', prompted);
            resolve();
          });
        }),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), batchTimeoutMs)));
    const outcome = await Promise.race([Promise.all(waits), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') break; // the rest would only pile up behind it
  }
  return {
    ready,
    failed: count - ready,
    async close() {
      const closed = sockets.map((s) => (s.closed ? undefined : new Promise<void>((resolve) => s.once('close', () => resolve()))));
      for (const s of sockets) s.destroy();
      await Promise.all(closed);
    },
  };
}
