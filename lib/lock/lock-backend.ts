/** What one try at acquiring a lock gave. */
export type AcquireResult =
  | { readonly acquired: true; readonly fencingToken: number; readonly validUntil: number }
  | { readonly acquired: false; readonly waitHintMs: number };

/**
 * Where locks live: one Redis server, or a quorum of independent ones. Times (`validUntil`) are
 * `performance.now()` values: monotonic, immune to wall-clock jumps.
 * @internal
 */
export interface LockBackend {
  /** One try, all resources or none. Rejects only when no verdict could be had (e.g. Redis down). */
  tryAcquire(resources: readonly string[], token: string, ttlMs: number): Promise<AcquireResult>;
  /** Renews the lease; resolves to the new `validUntil`, or `null` when the token no longer holds it. */
  extend(resources: readonly string[], token: string, ttlMs: number): Promise<number | null>;
  /** Releases what `token` holds (never another holder's lock); resolves to whether it still held it. */
  release(resources: readonly string[], token: string): Promise<boolean>;
  /** A waiter that gives up leaves the wait queue. Best effort. */
  leave(resources: readonly string[], token: string): Promise<void>;
  /** Starts listening, for `token`'s waiter, for releases of `resources`. */
  listen(resources: readonly string[], token: string): Promise<ReleaseListener>;
  /** Closes the backend's own connections. */
  close(): Promise<void>;
}

/** Waits for releases of the resources it was opened on. @internal */
export interface ReleaseListener {
  /** Resolves on a release that names the waiter (or nobody), a timeout, or an abort. */
  wait(timeoutMs: number, signal: AbortSignal | undefined): Promise<void>;
  close(): void;
}

/**
 * How long a best-effort release may take before its caller goes on anyway (a call's cleanup,
 * `withLock`'s end, `close()`): a server that is down must not hold them; the lease expires by
 * itself.
 */
export const RELEASE_WAIT_MS = 1_000;

/**
 * The least time one try at a lock gets for its answer, whatever is left of `acquireTimeoutMs` (a
 * wait of 0 still makes its one try; a quorum's try is bounded by its nodes' timeouts). Only the
 * caller's signal, or a lock-mode call's deadline, cut a try shorter. A server that stalls ends a
 * lock wait at most this long after `acquireTimeoutMs`.
 */
export const TRY_FLOOR_MS = 1_000;

/**
 * How much of a lease to give up for clock drift between this process and Redis: 1% of the TTL
 * plus 2 ms, as in the Redlock algorithm.
 */
export function driftMs(ttlMs: number): number {
  return Math.floor(ttlMs * 0.01) + 2;
}
