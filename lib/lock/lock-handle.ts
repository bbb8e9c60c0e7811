import { performance } from 'node:perf_hooks';
import { isPermanentReply } from '../connection/errors.js';
import { LockLostError } from '../errors/lock-errors.js';
import { refusedBy } from './acquire-lock.js';
import { parseInput } from '../validation/parse-input.js';
import { leaseMsSchema } from './lock-options.js';
import { type Observer, SILENT } from '../observability/observer.js';
import type { LockBackend } from './lock-backend.js';
import type { LockReplication } from './replicated-script.js';
import { noop } from '../util/noop.js';

/** Retry a failed renewal this often (a network blip should not cost the lease). */
const EXTEND_RETRY_MS = 100;

/**
 * Unrenewed, `signal` aborts this share of the lease before its validity ends: time for the
 * holder to notice and stop, even if its event loop is a little late to fire the timer.
 */
const ABORT_AHEAD_SHARE = 0.1;

/** What a {@link Lock} is made from. @internal */
export interface LockInit {
  backend: LockBackend;
  resources: readonly string[];
  token: string;
  fencingToken: number;
  validUntil: number;
  ttlMs: number;
  autoExtend: boolean;
  /** Replicas that must acknowledge each renewal for it to count. */
  replication?: LockReplication | undefined;
  observer?: Observer;
}

/**
 * A held lock. Hand `fencingToken` to whatever the lock protects outside Redis (a database row,
 * a file store) so it can refuse writes from a holder whose lease already ran out.
 *
 * @example
 * ```ts
 * const lock = await tx.lock(['report:2026-11'], { ttlMs: 30_000, autoExtend: true });
 * try {
 *   await renderReport({ fencingToken: lock.fencingToken, signal: lock.signal });
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class Lock {
  /** The resources held, all of them. */
  readonly resources: readonly string[];
  /**
   * A number that strictly increases with every acquisition of any of these resources (over a
   * Redlock quorum, under the assumptions stated at `createRedlock`).
   */
  readonly fencingToken: number;
  /**
   * Aborts when the lock must be considered gone: its lease is about to run out unrenewed (10% of
   * the TTL, plus a drift margin, before it does), a renewal found it taken, or it was released.
   */
  readonly signal: AbortSignal;
  /** @internal */
  readonly token: string;
  readonly #backend: LockBackend;
  readonly #ttlMs: number;
  readonly #controller = new AbortController();
  readonly #observer: Observer;
  #validUntil: number;
  #expiryTimer: NodeJS.Timeout | undefined;
  #extendTimer: NodeJS.Timeout | undefined;
  readonly #autoExtend: boolean;
  readonly #replication: LockReplication | undefined;
  #done = false;
  #released = false;

  /** Acquired locks come from `tx.lock`, `tx.withLock` or a Redlock, never from `new`. @internal */
  static held(init: LockInit): Lock {
    return new Lock(init);
  }

  private constructor(init: LockInit) {
    this.#observer = init.observer ?? SILENT;
    this.#backend = init.backend;
    this.resources = init.resources;
    this.token = init.token;
    this.fencingToken = init.fencingToken;
    this.#validUntil = init.validUntil;
    this.#ttlMs = init.ttlMs;
    this.#autoExtend = init.autoExtend;
    this.#replication = init.replication;
    this.signal = this.#controller.signal;
    this.#schedule();
    this.#observer.lockAcquired(this.resources, this.fencingToken);
  }

  /**
   * Milliseconds the lock is still guaranteed to be held, measured on a monotonic clock from
   * when the acquiring (or renewing) request was sent, minus a drift margin. 0 once it is not.
   */
  get validityMs(): number {
    return this.#done ? 0 : Math.max(0, this.#validUntil - performance.now());
  }

  /**
   * Whether the lock is still held as far as this process can tell: judged on the monotonic clock
   * (not only by `signal`, whose timer a blocked event loop delays).
   */
  get held(): boolean {
    return !this.signal.aborted && this.validityMs > 0;
  }

  /**
   * Renews the lease to `ttlMs` from now. Throws {@link LockLostError} (and aborts `signal`) when
   * the lock was lost, including when its lease already ran out on this process's clock (a
   * blocked event loop kept the renewal from running in time); it never renews a lock someone
   * else now holds.
   * With the transactor's `replication`, a renewal too few replicas acknowledged throws
   * `LockUnavailableError` (`reason: 'replication'`): the lock stays held until its previous lease ends.
   * @param ttlMs - The new lease, in whole milliseconds (20 to 2147483647). Defaults to the lock's
   *   `ttlMs`. A bad value throws {@link InvalidOptionsError} before anything is sent; the lock
   *   stays held as it was.
   */
  async extend(ttlMs: number = this.#ttlMs): Promise<void> {
    const lease = parseInput(leaseMsSchema, ttlMs, 'ttlMs');
    if (this.#done) throw new LockLostError(this.resources, 'it was already released or lost');
    const lapsed = this.checkLease();
    if (lapsed) throw lapsed;
    const validUntil = await this.#backend.extend(this.resources, this.token, lease, this.#replication).catch((err: unknown) => {
      throw isPermanentReply(err) ? refusedBy(this.resources, err) : err;
    });
    if (validUntil === null || validUntil <= performance.now()) {
      const lost = new LockLostError(
        this.resources,
        validUntil === null ? 'its lease ran out and it was taken or expired' : 'the renewal took longer than the lease',
      );
      this.#finish(lost);
      throw lost;
    }
    if (this.#done) return;
    this.#validUntil = validUntil;
    this.#schedule();
    this.#observer.lockExtended(this.resources, this.validityMs);
  }

  /**
   * Judges the lease now, on the monotonic clock: when the event loop was blocked, the expiry
   * timer has not run yet, but a lease past its validity is gone whatever the timers say. Marks
   * the lock lost then (aborting `signal`). Returns the {@link LockLostError} when the lock was
   * lost, `undefined` while it is held or after it was released.
   * @internal
   */
  checkLease(): LockLostError | undefined {
    if (this.#done) return this.signal.reason instanceof LockLostError ? this.signal.reason : undefined;
    if (this.#validUntil > performance.now()) return undefined;
    const lost = new LockLostError(this.resources, 'its lease ran out before it was renewed (was the event loop blocked?)');
    this.#finish(lost);
    return lost;
  }

  /**
   * Releases the lock. Resolves to `true` when it was still held, `false` when it had already run
   * out (no other holder's lock is ever touched). Safe to call more than once.
   */
  async release(): Promise<boolean> {
    if (this.#released) return false;
    this.#released = true;
    if (this.#done) {
      // Lost as far as this process can tell, but a renewal that did not count (too few replicas)
      // may still have extended it on the primary: let go of it by token, best effort.
      if (this.#replication) await this.#backend.release(this.resources, this.token).catch(noop);
      return false;
    }
    this.#finish(new Error('the lock was released'));
    return this.#backend.release(this.resources, this.token).catch((err: unknown) => {
      throw isPermanentReply(err) ? refusedBy(this.resources, err) : err;
    });
  }

  #schedule(): void {
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#extendTimer);
    if (this.#done) return;
    const left = this.#validUntil - performance.now();
    this.#expiryTimer = setTimeout(
      () => this.#finish(new LockLostError(this.resources, 'its lease is running out and could not be renewed')),
      Math.max(0, left - this.#ttlMs * ABORT_AHEAD_SHARE),
    );
    this.#expiryTimer.unref();
    if (this.#autoExtend) this.#scheduleExtend(Math.max(0, left - this.#ttlMs / 2));
  }

  #scheduleExtend(delay: number): void {
    // One renewal timer at a time, whatever path asks for the next one.
    clearTimeout(this.#extendTimer);
    this.#extendTimer = setTimeout(() => {
      this.extend().catch((err: unknown) => {
        // Lost: extend() already aborted the signal. Otherwise (Redis unreachable) try again
        // while the lease lasts; the expiry timer aborts the signal if it never succeeds.
        if (!this.#done && !(err instanceof LockLostError)) this.#scheduleExtend(Math.min(EXTEND_RETRY_MS, this.validityMs / 4));
      });
    }, delay);
    this.#extendTimer.unref();
  }

  #finish(reason: unknown): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#extendTimer);
    this.#controller.abort(reason);
    if (reason instanceof LockLostError) this.#observer.lockLost(this.resources, reason);
  }
}
