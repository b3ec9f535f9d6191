// Group commit: items added in the same event-loop turn (or while an
// asynchronous commit is running) are committed together, and each add()
// resolves only after the commit holding its item succeeded. One fsync then
// serves many login attempts, and the durability rule (reply only after the
// event is on disk) costs little per attempt.

/**
 * Commits a batch. It throws (or rejects) when the batch as a whole failed;
 * it may instead return, per item, the error that kept that item out while the
 * others were committed (undefined entries, or no array at all, mean success).
 */
export type CommitBatch<T> = (
  items: T[],
) => ReadonlyArray<Error | undefined> | void | Promise<ReadonlyArray<Error | undefined> | void>;

export interface GroupCommitOptions {
  /** A batch that reaches this many items is committed at once instead of at the end of the turn. */
  maxBatch?: number;
  /**
   * Commits start at least this far apart: under load, items gather for up to
   * this long and one commit (one fsync) serves them all; when idle, an item
   * is committed in the same turn as ever.
   */
  minIntervalMs?: number;
}

export class GroupCommit<T> {
  readonly #commit: CommitBatch<T>;
  readonly #maxBatch: number;
  #items: T[] = [];
  #resolves: Array<() => void> = [];
  #rejects: Array<(err: unknown) => void> = [];
  #scheduled = false;
  /** The interval's timer while a batch gathers items (see hurry). */
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #batches = 0;
  readonly #minIntervalMs: number;
  #lastCommit = -Infinity;

  constructor(commit: CommitBatch<T>, options: GroupCommitOptions = {}) {
    this.#commit = commit;
    this.#maxBatch = options.maxBatch ?? 512;
    this.#minIntervalMs = options.minIntervalMs ?? 0;
    if (!(Number.isInteger(this.#maxBatch) && this.#maxBatch >= 1)) {
      throw new RangeError(`maxBatch must be a positive integer, not ${this.#maxBatch}`);
    }
  }

  /** Resolves once `item` is committed; rejects with the error that kept it out. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#items.push(item);
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
      if (this.#items.length >= this.#maxBatch) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        const wait = this.#lastCommit + this.#minIntervalMs - performance.now();
        if (wait > 0) this.#timer = setTimeout(this.#onTimer, wait);
        else setImmediate(this.#onTimer);
      }
    });
  }

  /** How many batches have been handed to the commit function (for metrics and tests). */
  get batches(): number {
    return this.#batches;
  }

  /** Commits everything added so far; resolves when no commit is pending or running. */
  async drain(): Promise<void> {
    this.#flush();
    while (this.#running) {
      await this.#running;
      this.#flush();
    }
  }

  /**
   * Commits the gathering batch at the end of this turn instead of when the
   * interval is up: for when the caller knows no more items are coming (every
   * client is waiting on this batch), so waiting would gain nothing.
   */
  hurry(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    setImmediate(this.#onTimer);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#scheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#running || this.#items.length === 0) return;
    const items = this.#items;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#items = [];
    this.#resolves = [];
    this.#rejects = [];
    let result: ReturnType<CommitBatch<T>>;
    this.#batches++;
    this.#lastCommit = performance.now();
    try {
      result = this.#commit(items);
    } catch (err) {
      for (const reject of rejects) reject(err);
      return;
    }
    if (!(result instanceof Promise)) {
      settle(result, resolves, rejects);
      return;
    }
    // Items added while this commit runs wait for it, then go together.
    this.#running = result.then(
      (errors) => settle(errors, resolves, rejects),
      (err: unknown) => {
        for (const reject of rejects) reject(err);
      },
    ).finally(() => {
      this.#running = undefined;
      this.#flush();
    });
  }
}

function settle(
  errors: ReadonlyArray<Error | undefined> | void,
  resolves: Array<() => void>,
  rejects: Array<(err: unknown) => void>,
): void {
  for (let i = 0; i < resolves.length; i++) {
    const err = errors?.[i];
    if (err === undefined) resolves[i]!();
    else rejects[i]!(err);
  }
}
