import type { ResolvedLockOptions } from '../lock/lock-options.js';
import { noop } from '../util/noop.js';

/**
 * How one call uses its lane's lock: never (optimistic mode), always (lock mode), or as contention
 * says (auto mode). The lane asks before each of the call's turns.
 * @internal
 */
export interface CallLocking {
  /** Lease and wait of the lock when this call is the one that takes it for the lane. */
  readonly options: ResolvedLockOptions;
  /** Whether the next attempt must run under the lane's lock. */
  wantsLock(): boolean;
  /** Whether this call met contention already (a lock it takes for the lane counts as contended). */
  readonly contended: boolean;
  /** Whether the call needs to know if a conflict may be its own process's doing (auto mode). */
  readonly attributesConflicts: boolean;
  /** Whether an attempt without the lock may watch and read the lock keys to give way to a holder. */
  readonly aware: boolean;
  /**
   * When `aware`: whether the next attempt does so (a holder can be expected), or runs as a plain
   * optimistic one; `laneBusy`: other calls of this process are on the lane.
   */
  expectsLock(laneBusy: boolean): boolean;
  /** An attempt found the lock held by another process and gave way. */
  gaveWay(attempt: number): void;
  /**
   * An attempt's EXEC aborted on a watched key; `local`: an EXEC of this process on one of its
   * keys went out meanwhile (the writer may be this process, not another one).
   */
  conflicted(attempt: number, local: boolean): void;
}

/** Optimistic mode: runs under the lane's lock only when a sibling already holds it. @internal */
export function optimisticLocking(options: ResolvedLockOptions): CallLocking {
  return { options, aware: false, attributesConflicts: false, contended: false, wantsLock: () => false, expectsLock: () => true, gaveWay: noop, conflicted: noop };
}

/** Lock mode: every attempt under the lane's lock. @internal */
export function lockModeLocking(options: ResolvedLockOptions): CallLocking {
  return { options, aware: true, attributesConflicts: false, contended: false, wantsLock: () => true, expectsLock: () => true, gaveWay: noop, conflicted: noop };
}
