import { UsageError } from '../errors.ts';
import type { ListenAddress } from '../sensor/server.ts';

/** "[::]:2323", "0.0.0.0:23", "127.0.0.1:8080", "localhost:80" -> host and port. */
export function parseListenAddress(text: string, what: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`${what}: "${text}" is not HOST:PORT (IPv6 in brackets, e.g. [::]:2323 or 127.0.0.1:8080)`);
  }
  return { host: m[1] ?? m[2]!, port };
}

export function formatListenAddress({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
