import type { LockReplication } from './replicated-script.js';

/** What one try at acquiring a lock gave. */
export type AcquireResult =
  | { readonly acquired: true; readonly fencingToken: number; readonly validUntil: number }
  | {
      readonly acquired: false;
      readonly waitHintMs: number;
      /** Its place in the wait queue (one node, fair waits): a hand-over to it names this ticket. */
      readonly ticket?: number;
    };

/**
 * Where locks live: one Redis server, or a quorum of independent ones. Times (`validUntil`) are
 * `performance.now()` values: monotonic, immune to wall-clock jumps.
 * @internal
 */
export interface LockBackend {
  /**
   * One try, all resources or none. Rejects only when no verdict could be had (e.g. Redis down),
   * or (with `replication`, one node only) with `LockUnavailableError` `'replication'` when the
   * lock was taken but too few replicas acknowledged it in time (it was given back).
   */
  tryAcquire(resources: readonly string[], token: string, ttlMs: number, replication?: LockReplication): Promise<AcquireResult>;
  /**
   * Renews the lease; resolves to the new `validUntil`, or `null` when the token no longer holds
   * it. With `replication` (one node only), a renewal too few replicas acknowledged rejects with
   * `LockUnavailableError` `'replication'`: the replicas still have the previous lease.
   */
  extend(resources: readonly string[], token: string, ttlMs: number, replication?: LockReplication): Promise<number | null>;
  /**
   * Releases what `token` holds (never another holder's lock), and takes it out of the wait queues
   * (a waiter that gives up); resolves to whether it still held the lock.
   */
  release(resources: readonly string[], token: string): Promise<boolean>;
  /** Starts listening, for `token`'s waiter, for releases of `resources`. */
  listen(resources: readonly string[], token: string): Promise<ReleaseListener>;
  /** Closes the backend's own connections. */
  close(): Promise<void>;
}

/** Waits for releases of the resources it was opened on. @internal */
export interface ReleaseListener {
  /**
   * Resolves on a release that names the waiter (or nobody), a timeout, or an abort: to the ticket
   * of the place in line a release handed the lock to, when one named the waiter (on a single node:
   * it was handed the lock, if that place is still its own); else `undefined`.
   */
  wait(timeoutMs: number, signal: AbortSignal | undefined): Promise<number | undefined>;
  close(): void;
}

/**
 * How long a best-effort release may take before its caller goes on anyway (a call's cleanup,
 * `withLock`'s end, `close()`): a server that is down must not hold them; the lease expires by
 * itself.
 */
export const RELEASE_WAIT_MS = 1_000;

/**
 * How long the one try of a lock wait of 0 (`acquireTimeoutMs: 0`: try once) may wait for its
 * answer. Longer waits bound each try by what is left of them; the caller's signal, or a
 * lock-mode call's deadline, cut any try at once.
 */
export const TRY_ONCE_MS = 1_000;

/** How long one try may wait for its answer, given what is left of a wait of `acquireTimeoutMs`. */
export function tryBoundMs(acquireTimeoutMs: number, remainingMs: number): number {
  return acquireTimeoutMs === 0 ? TRY_ONCE_MS : Math.max(0, remainingMs);
}

/**
 * How much of a lease to give up for clock drift between this process and Redis: 1% of the TTL
 * plus 2 ms, as in the Redlock algorithm.
 */
export function driftMs(ttlMs: number): number {
  return Math.floor(ttlMs * 0.01) + 2;
}
