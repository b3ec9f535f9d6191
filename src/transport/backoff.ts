// Exponential backoff with jitter for reconnects and retries: each failure
// doubles the ceiling (up to maxMs) and the wait is drawn from its upper half,
// so a fleet of sensors that lost the broker together does not return in step.
export class Backoff {
  #failures = 0;
  constructor(
    readonly baseMs = 100,
    readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The wait before the next try, and one more failure counted. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** After a success: the next failure waits the base time again. */
  reset(): void {
    this.#failures = 0;
  }

  get failures(): number {
    return this.#failures;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
