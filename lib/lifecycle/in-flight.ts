import { TransactorClosedError } from '../errors/usage-errors.js';

/** What a transactor lets go of when it closes: locks from `tx.lock` still held by their callers. */
export interface Releasable {
  /** Releases it; settles within a bound even when Redis is down. */
  release(): Promise<unknown>;
  /** Aborts once it is released or lost: then there is nothing to let go of. */
  readonly signal: AbortSignal;
}

/**
 * The calls a transactor has accepted and not yet settled, so that `close()` can stop taking new
 * ones, let those finish on their own terms (commit, fail, time out), release the locks its
 * callers still hold, and only then close connections.
 * @internal
 */
export class InFlight {
  #count = 0;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  readonly #held = new Set<Releasable>();

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Runs one call, counted until it settles. Throws {@link TransactorClosedError} (before
   * `work` starts, so nothing is sent) once the transactor is closing.
   */
  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TransactorClosedError());
    this.#count++;
    let running: Promise<T>;
    try {
      running = work();
    } catch (err) {
      this.#settled();
      return Promise.reject(err);
    }
    // The caller gets the call's own promise, not one more around it; the count drops before the
    // caller's own continuation runs (this handler comes first).
    running.then(this.#settled, this.#settled);
    return running;
  }

  readonly #settled = (): void => {
    if (--this.#count === 0) this.#drained?.();
  };

  /** A lock handed to the caller: `close()` releases it if the caller has not. */
  hold(lock: Releasable): void {
    if (lock.signal.aborted) return;
    this.#held.add(lock);
    lock.signal.addEventListener('abort', () => this.#held.delete(lock), { once: true });
  }

  /** Refuses new calls, waits for the accepted ones, then releases the locks still held. */
  close(): Promise<void> {
    this.#closing ??= this.#drain();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    if (this.#count > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await Promise.all([...this.#held].map((lock) => lock.release()));
  }
}
