import { validateKeys } from '../validation/keys.js';
import { validateFn } from '../validation/function.js';
import { parseInput } from '../validation/parse-input.js';
import { acquireLock, newLockToken } from './acquire-lock.js';
import type { InFlight } from '../lifecycle/in-flight.js';
import { settleWithin } from '../util/time-bounds.js';
import type { Observer } from '../observability/observer.js';
import { type LockBackend, RELEASE_WAIT_MS } from './lock-backend.js';
import { Lock } from './lock-handle.js';
import { type LockOptions, lockOptionsSchema, resolveLockOptions } from './lock-options.js';
import type { LockReplication } from './replicated-script.js';

/** The lock API, the same over one Redis server (`tx.lock`) and a quorum (`createRedlock`). */
export interface Locker {
  /**
   * Acquires all of `resources` atomically (never a partial hold), waiting while any is busy.
   * Release it with `lock.release()`.
   * @throws {@link LockUnavailableError} when the wait times out or is aborted.
   * @example
   * ```ts
   * const lock = await tx.lock(['invoice:7']);
   * try { await work(lock.fencingToken); } finally { await lock.release(); }
   * ```
   */
  lock(resources: readonly string[], options?: LockOptions): Promise<Lock>;
  /**
   * Runs `fn` while holding `resources` (renewing the lease as it runs) and always releases.
   * Rejects with `fn`'s error, or with {@link LockLostError} when the lock was lost before `fn`
   * finished (then `fn`'s work was not protected to the end: `lock.signal` told it when). The
   * lease is judged on the monotonic clock when `fn` settles: if `fn` blocked the event loop past
   * the lease, the renewal could not run, and `withLock` rejects even though no timer fired yet.
   * It never releases a lock another holder took meanwhile.
   * @example
   * ```ts
   * await tx.withLock(['report:2026-11'], async (lock) => {
   *   await storage.write(report, { fencingToken: lock.fencingToken, signal: lock.signal });
   * });
   * ```
   */
  withLock<T>(resources: readonly string[], fn: (lock: Lock) => T | Promise<T>, options?: LockOptions): Promise<T>;
}

/** Builds the {@link Locker} API over a backend, with defaults for its options. */
export function createLocker(
  backend: () => LockBackend,
  defaults: { ttlMs: number; acquireTimeoutMs: number; replication?: LockReplication | undefined },
  checkResources: (resources: readonly string[]) => unknown = () => undefined,
  observer?: Observer,
  inFlight?: InFlight,
): Locker {
  const counted = <T>(work: () => Promise<T>): Promise<T> => (inFlight ? inFlight.run(work) : work());
  async function lock(resources: readonly string[], options: LockOptions | undefined, autoExtend: boolean): Promise<Lock> {
    const valid = validateKeys(resources, 'resources');
    checkResources(valid); // on a cluster: one hash slot, or CrossSlotError
    const resolved = resolveLockOptions(
      options === undefined ? undefined : parseInput(lockOptionsSchema, options, 'options'),
      defaults,
      autoExtend,
    );
    const token = newLockToken();
    const held = backend();
    const acquired = await acquireLock(held, valid, token, resolved);
    return Lock.held({
      backend: held,
      resources: valid,
      token,
      ...acquired,
      ttlMs: resolved.ttlMs,
      autoExtend: resolved.autoExtend,
      replication: resolved.replication,
      observer,
    });
  }

  return {
    lock: (resources, options) =>
      counted(async () => {
        const held = await lock(resources, options, false);
        // close() releases it if the caller has not, bounded like every best-effort release.
        inFlight?.hold({ signal: held.signal, release: () => settleWithin(held.release(), RELEASE_WAIT_MS) });
        return held;
      }),
    withLock: (resources, fn, options) => counted(() => withLock(resources, fn, options)),
  };

  async function withLock<T>(resources: readonly string[], fn: (lock: Lock) => T | Promise<T>, options: LockOptions | undefined): Promise<T> {
    validateFn(fn);
    const held = await lock(resources, options, true);
    try {
      const value = await fn(held);
      // Judged on the clock, not only by the signal: a blocked event loop ran neither the renewal
      // nor the expiry timer, and a lease that ran out meanwhile did not protect fn to the end.
      const lost = held.checkLease();
      if (lost) throw lost;
      return value;
    } finally {
      await settleWithin(held.release(), RELEASE_WAIT_MS);
    }
  }
}
