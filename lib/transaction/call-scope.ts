import { performance } from 'node:perf_hooks';
import { TransactAbortedError, TransactTimeoutError } from '../errors/transaction-errors.js';
import { raceAbort } from '../util/race-abort.js';
import { STOPPED } from '../util/stopped.js';

const NEVER = new AbortController().signal;

/**
 * The cancellation state of one `transact` call: the caller's signal and the policy's deadline,
 * merged into the one `signal` that `fn` sees as `t.signal`. Costs nothing when neither is set.
 */
export class CallScope {
  /** Aborts when the caller aborts or the deadline passes. */
  readonly signal: AbortSignal;
  readonly #userSignal: AbortSignal | undefined;
  readonly #deadlineMs: number | null;
  readonly #deadlineAt: number;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(userSignal: AbortSignal | undefined, deadlineMs: number | null) {
    this.#userSignal = userSignal;
    this.#deadlineMs = deadlineMs;
    this.#deadlineAt = deadlineMs === null ? Infinity : performance.now() + deadlineMs;
    if (deadlineMs === null) {
      this.signal = userSignal ?? NEVER;
      return;
    }
    const deadline = new AbortController();
    this.#timer = setTimeout(() => deadline.abort(new Error(`deadline of ${deadlineMs} ms passed`)), deadlineMs);
    this.#timer.unref();
    this.signal = userSignal ? AbortSignal.any([userSignal, deadline.signal]) : deadline.signal;
  }

  /** The signal to wait on, or `undefined` when nothing can stop this call (no listener needed). */
  get abortable(): AbortSignal | undefined {
    return this.signal === NEVER ? undefined : this.signal;
  }

  /** True once the caller aborted or the deadline passed. */
  get stopped(): boolean {
    return this.signal.aborted || performance.now() >= this.#deadlineAt;
  }

  /** Milliseconds left before the deadline (`Infinity` without one). */
  remainingMs(): number {
    return this.#deadlineAt - performance.now();
  }

  /** The error that ends the call because it was stopped: aborted wins over the deadline. */
  stopError(keys: readonly string[], attempts: number): TransactAbortedError | TransactTimeoutError {
    if (this.#userSignal?.aborted) {
      return new TransactAbortedError({ keys, attempts, cause: this.#userSignal.reason });
    }
    return new TransactTimeoutError({ keys, attempts, deadlineMs: this.#deadlineMs ?? 0 });
  }

  /**
   * Settles like `work`, or rejects with `STOPPED` as soon as the scope stops, whichever is first.
   * `work` always gets a handler: a race it loses never leaves its rejection unhandled.
   */
  race<T>(work: Promise<T>): Promise<T> {
    return this.signal === NEVER ? work : raceAbort(work, this.signal, STOPPED);
  }

  /** Releases the deadline timer. */
  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }
}
