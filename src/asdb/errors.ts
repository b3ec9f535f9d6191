// Errors of the routing data layer, with stable codes (see src/errors.ts).
import { TelnetloginError } from '../errors.ts';

export type AsdbErrorCode =
  /** A file's content is malformed; the message names the file and the line or record. */
  | 'TL_ASDB_FORMAT'
  /** A file cannot be read. */
  | 'TL_ASDB_IO'
  /** A string given for lookup is not an IP address. */
  | 'TL_ASDB_ADDRESS';

export class AsdbError extends TelnetloginError {
  declare readonly code: AsdbErrorCode;
  constructor(code: AsdbErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AsdbError';
  }
}

/** A malformed line: `FILE:LINE: problem`, the form compilers and editors understand. */
export function lineError(file: string, line: number, problem: string): AsdbError {
  return new AsdbError('TL_ASDB_FORMAT', `${file}:${line}: ${problem}`);
}

/** A malformed file or binary record: `FILE: problem`. */
export function fileError(file: string, problem: string, cause?: unknown): AsdbError {
  return new AsdbError('TL_ASDB_FORMAT', `${file}: ${problem}`, { cause });
}
