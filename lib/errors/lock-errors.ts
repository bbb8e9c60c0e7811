import { describeKeys, hasTransactCode, nameError, TransactError } from './base.js';

/** Why a lock could not be had. */
export type LockUnavailableReason = 'timeout' | 'aborted' | 'quorum' | 'refused' | 'replication';

/**
 * The lock could not be acquired: it stayed busy (or Redis did not answer) past `acquireTimeoutMs`
 * (`reason: 'timeout'`), the caller's signal aborted the wait (`'aborted'`, `cause` is the signal's
 * reason), too few Redis nodes answered to form a majority (`'quorum'`, `cause` is the last node
 * error), Redis refused the lock script (`'refused'`: NOPERM, OOM under `maxmemory`; `cause` is
 * its reply; a READONLY reply, a failover in progress, is tried again while the wait lasts), or,
 * with the `replication` option, the lock never reached the replicas it requires within the wait
 * (`'replication'`). Nothing is held when this is thrown by an acquisition. (`lock.extend` throws
 * it too, for a renewal that did not count: the lock is then held until its previous lease ends.)
 */
export class LockUnavailableError extends TransactError {
  readonly code = 'ERR_LOCK_UNAVAILABLE' as const;
  readonly resources: readonly string[];
  readonly reason: LockUnavailableReason;
  constructor(resources: readonly string[], reason: LockUnavailableReason, detail: string, cause?: unknown) {
    super(`could not lock ${describeKeys(resources)}: ${detail}`, cause === undefined ? undefined : { cause });
    this.resources = resources;
    this.reason = reason;
  }
}
nameError(LockUnavailableError, 'LockUnavailableError');

/**
 * The lock was lost: its lease ran out (or another holder took over after it did) before the work
 * it protected was done. In lock mode the fenced EXEC was refused, so nothing was written.
 */
export class LockLostError extends TransactError {
  readonly code = 'ERR_LOCK_LOST' as const;
  readonly resources: readonly string[];
  constructor(resources: readonly string[], detail: string, cause?: unknown) {
    super(`lost the lock on ${describeKeys(resources)}: ${detail}`, cause === undefined ? undefined : { cause });
    this.resources = resources;
  }
}
nameError(LockLostError, 'LockLostError');

/** True when `err` is a {@link LockUnavailableError}, also across duplicate installs. */
export const isLockUnavailableError = (err: unknown): err is LockUnavailableError =>
  hasTransactCode(err, 'ERR_LOCK_UNAVAILABLE');
/** True when `err` is a {@link LockLostError}, also across duplicate installs. */
export const isLockLostError = (err: unknown): err is LockLostError => hasTransactCode(err, 'ERR_LOCK_LOST');
