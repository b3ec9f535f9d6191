// One LoginEvent per credential pair a client submits (see design.md).

/** What a client revealed about itself during TELNET negotiation. */
export interface ClientInfo {
  /** Option commands the client sent, in order, e.g. "WILL NAWS", "DONT ECHO" (capped). */
  options: string[];
  /** Terminal types the client reported (SB TTYPE IS), in order (capped). */
  ttypes: string[];
  /** Window size from SB NAWS, if any. */
  naws?: { width: number; height: number };
  /** NEW-ENVIRON variables (VAR and USERVAR), name -> value (capped). */
  env: Record<string, string>;
}

export interface LoginEvent {
  /** UUIDv7: unique and time-ordered. */
  id: string;
  /** Milliseconds since the epoch (UTC). Serialised as ISO 8601 with milliseconds. */
  time: number;
  sensor: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  /** UUIDv7 of the TCP connection. */
  session: string;
  /** 1..n within the connection. */
  attempt: number;
  /** Exactly the bytes the client sent after TELNET decoding and line editing, without the terminator. */
  username: Uint8Array;
  password: Uint8Array;
  client: ClientInfo;
}

export function emptyClientInfo(): ClientInfo {
  return { options: [], ttypes: [], env: {} };
}
