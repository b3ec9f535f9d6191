// Shared by the store and `events` tests: temporary data dirs, events, and
// credentials a hostile client could send.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { uuidv7 } from '../../src/events/id.ts';
import { emptyClientInfo, type LoginEvent } from '../../src/events/login-event.ts';

/** A fresh directory, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'telnetlogin-store-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function makeEvent(overrides: Partial<LoginEvent> = {}): LoginEvent {
  const time = overrides.time ?? Date.now();
  return {
    id: uuidv7(time),
    time,
    sensor: 'test-sensor',
    src_ip: '127.0.0.1',
    src_port: 40000,
    dst_ip: '127.0.0.1',
    dst_port: 2323,
    session: uuidv7(time),
    attempt: 1,
    username: Buffer.from('root'),
    password: Buffer.from('xc3511'),
    client: { options: ['DO ECHO', 'WILL NAWS'], ttypes: ['xterm'], naws: { width: 80, height: 24 }, env: { USER: 'root' } },
    ...overrides,
  };
}

const bytes = (...values: number[]) => Uint8Array.from(values);

/** Credentials that must survive storage byte for byte. */
export const hostileCredentials: Uint8Array[] = [
  new Uint8Array(0),
  Uint8Array.from({ length: 256 }, (_, i) => i), // every byte value
  Uint8Array.from({ length: 256 }, (_, i) => 255 - i),
  ...Array.from({ length: 256 }, (_, i) => bytes(i)), // each byte alone
  bytes(0), // NUL
  bytes(0, 0, 0),
  new Uint8Array(64).fill(0xff), // 0xFF run (IAC once TELNET-decoded)
  bytes(0xff, 0xff, 0x00, 0xff),
  bytes(0xc3), // truncated 2-byte sequence
  bytes(0xc3, 0x28), // invalid continuation
  bytes(0xe2, 0x82), // truncated 3-byte sequence
  bytes(0xed, 0xa0, 0x80), // UTF-8-encoded surrogate
  bytes(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
  bytes(0xc0, 0xaf), // overlong '/'
  bytes(0xfe, 0xfe, 0xff, 0xff),
  bytes(0x80, 0x81, 0xbf),
  Buffer.from('root\x00admin', 'latin1'),
  Buffer.from('\x1b[2J\x1b]0;pwned\x07\r\n', 'latin1'), // terminal escapes, CR LF
  Buffer.from('\u009b31m\u202egnp.exe\u2028', 'utf8'), // C1 CSI, bidi override, line separator
  Buffer.from('пароль密码🔑', 'utf8'),
  Buffer.from('=cmd|"/c calc"!A1', 'utf8'),
];

/** One event per hostile credential, as username and (reversed) as password. */
export function hostileEvents(): LoginEvent[] {
  const base = Date.now();
  return hostileCredentials.map((cred, i) =>
    makeEvent({
      time: base + i,
      attempt: i + 1,
      username: cred,
      password: Uint8Array.from(cred).reverse(),
      client: { ...emptyClientInfo(), env: { TERM: Buffer.from(cred).toString('latin1') } },
    }),
  );
}
