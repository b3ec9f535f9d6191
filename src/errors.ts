// Errors with stable codes (in the spirit of undici's lib/core/errors.js):
// callers and tests match on `code`, never on message text.
export class TelnetloginError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TelnetloginError';
    this.code = code;
  }
}

/** Bad flags, environment or config file: the CLI exits with status 2. */
export class UsageError extends TelnetloginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TL_USAGE', message, options);
    this.name = 'UsageError';
  }
}
