// LoginEvents on the wire: the JSON form of design.md (credentials as strings,
// with username_b64/password_b64 carrying the exact bytes when they are not
// UTF-8), one event per message. Reading trusts nothing: a message may come
// from a compromised sensor. The collector stores the JSON form as it is
// (see store/postgres-copy.ts, which checks every column).
import { eventToJson, type LoginEventJson } from '../events/json.ts';
import type { ClientInfo, LoginEvent } from '../events/login-event.ts';
import { TelnetloginError } from '../errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeEvent(event: LoginEvent): Uint8Array {
  return encoder.encode(JSON.stringify(eventToJson(event)));
}

const invalid = (why: string) => new TelnetloginError('TL_MESSAGE_INVALID', `not a LoginEvent: ${why}`);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** What a client revealed, as ClientInfo (and nothing else a sender added); a TL_MESSAGE_INVALID error otherwise. */
function clientInfo(v: unknown): ClientInfo {
  if (!isObject(v)) throw invalid('client is not an object');
  const { options, ttypes, naws, env } = v;
  if (!isStringArray(options) || !isStringArray(ttypes)) throw invalid('client.options/ttypes are not lists of strings');
  if (!isObject(env) || !Object.values(env).every((s) => typeof s === 'string')) throw invalid('client.env is not a map of strings');
  const info: ClientInfo = { options, ttypes, env: env as Record<string, string> };
  if (naws !== undefined) {
    if (!isObject(naws) || !Number.isSafeInteger(naws.width) || !Number.isSafeInteger(naws.height)) {
      throw invalid('client.naws is not {width, height}');
    }
    info.naws = { width: naws.width as number, height: naws.height as number };
  }
  return info;
}

/**
 * The event in a message, in its JSON form, its `client` checked; the other
 * fields are checked by the store (rowProblem) before anything is written.
 * A TelnetloginError (TL_MESSAGE_INVALID) says what is wrong.
 */
export function parseEventMessage(data: Uint8Array): LoginEventJson {
  let o: unknown;
  try {
    o = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(o)) throw invalid('not a JSON object');
  o.client = clientInfo(o.client);
  return o as unknown as LoginEventJson;
}
