// Child process of the garbage flood (see flood.ts): connections that send
// random bytes as fast as the sensor takes them and reconnect whenever it
// hangs up. It runs apart from the benchmark so that the flood does not slow
// down the login client whose latency the benchmark measures.
// Argument: JSON FloodOptions. Messages: sends 'started', on 'stop' sends a FloodReport and exits.
import { randomFillSync } from 'node:crypto';
import net from 'node:net';
import { SourceBlock, sourceAddress } from './sources.ts';

export interface FloodOptions {
  host: string;
  port: number;
  connections: number;
  /** The flood stops by itself after this long, whatever the parent does. */
  maxMs: number;
}

export interface FloodReport {
  /** Bytes handed to the kernel (the sensor may not have read them all). */
  bytes: number;
  connections: number;
  ms: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as FloodOptions;
const pool = randomFillSync(Buffer.alloc(1 << 20));
const CHUNK = 4096;
const started = Date.now();
let stopping = false;
let bytes = 0;
let connections = 0;
let sources = 0;
const open = new Set<net.Socket>();

const sent = (socket: net.Socket) => socket.bytesWritten - socket.writableLength;

function garbage(): Buffer {
  const at = Math.floor(Math.random() * (pool.length - CHUNK));
  return pool.subarray(at, at + CHUNK);
}

function connect(): void {
  if (stopping) return;
  connections++;
  const socket = net.connect({ host: options.host, port: options.port, localAddress: sourceAddress(SourceBlock.flood, sources++) });
  open.add(socket);
  const pour = () => {
    while (!stopping && !socket.destroyed && socket.write(garbage()));
  };
  socket.on('connect', pour);
  socket.on('drain', pour);
  socket.resume(); // read and discard what the sensor says
  socket.on('error', () => {});
  socket.on('close', () => {
    if (!open.delete(socket)) return; // counted at stop()
    bytes += sent(socket);
    // A refused connection would otherwise spin: retry it a little later.
    if (socket.bytesWritten === 0) setTimeout(connect, 10);
    else connect();
  });
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  const ms = Date.now() - started;
  for (const socket of open) bytes += sent(socket);
  for (const socket of open) socket.destroy();
  open.clear();
  setImmediate(() => {
    const report: FloodReport = { bytes, connections, ms };
    if (process.connected) process.send!({ type: 'report', report }, () => process.exit(0));
    else process.exit(0);
  });
}

process.on('message', (m) => m === 'stop' && stop());
process.on('disconnect', stop);
setTimeout(stop, options.maxMs).unref();
for (let i = 0; i < options.connections; i++) connect();
process.send!({ type: 'started' });
