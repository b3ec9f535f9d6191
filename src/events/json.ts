import type { LoginEvent } from './login-event.ts';

// The JSON shape of a LoginEvent (design.md): time as ISO 8601, credentials as
// strings, plus username_b64/password_b64 carrying the exact bytes whenever
// they are not valid UTF-8.
export interface LoginEventJson extends Omit<LoginEvent, 'time' | 'username' | 'password'> {
  time: string;
  username: string;
  username_b64?: string;
  password: string;
  password_b64?: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export function eventToJson(e: LoginEvent): LoginEventJson {
  const out: LoginEventJson = {
    id: e.id,
    time: new Date(e.time).toISOString(),
    sensor: e.sensor,
    src_ip: e.src_ip,
    src_port: e.src_port,
    dst_ip: e.dst_ip,
    dst_port: e.dst_port,
    session: e.session,
    attempt: e.attempt,
    username: lenientUtf8.decode(e.username),
    password: lenientUtf8.decode(e.password),
    client: e.client,
  };
  if (!isUtf8(e.username)) out.username_b64 = Buffer.from(e.username).toString('base64');
  if (!isUtf8(e.password)) out.password_b64 = Buffer.from(e.password).toString('base64');
  return out;
}

/** Inverse of eventToJson: the _b64 fields, when present, are the exact bytes. */
export function credentialBytes(text: string, b64: string | undefined): Uint8Array {
  return b64 === undefined ? Buffer.from(text, 'utf8') : Buffer.from(b64, 'base64');
}
