/**
 * What a lane adds to one attempt so that its EXEC commits only under the conditions of the
 * lane's mode: under the lane's lock (lock mode, `lane-lock.ts`), or only while nobody else holds
 * it (auto mode's lock-aware optimistic attempts, `lock-aware-fence.ts`). The attempt and its seat
 * drive it at fixed points (WATCH, reads, EXEC) and need to know nothing else about locks.
 */
import type { DedicatedConnection } from '../connection/connection.js';
import type { LockLostError } from '../errors/lock-errors.js';
import type { AttemptMode } from '../observability/events.js';

/** What an attempt learns from its fence's reads, taken at WATCH time. */
export type FenceVerdict =
  /** EXEC may follow. */
  | 'go'
  /** Another process holds the keys' lock: this attempt gives way and runs again under the lock. */
  | 'give-way';

/** What became of an EXEC that carried the fence's trailer (the lock's release). */
export type TrailerEnd =
  /** EXEC ran, and the trailer with it. */
  | 'ran'
  /** EXEC ran, but the trailer failed (its script was missing after a restart or SCRIPT FLUSH). */
  | 'failed'
  /** EXEC did not run (aborted, refused, never sent): nor did the trailer. */
  | 'not-run'
  /** Unknown: the reply was lost. */
  | 'unknown';

export interface Fence {
  /** The mode the attempt runs in. */
  readonly mode: AttemptMode;
  /**
   * Before WATCH, on the attempt's connection (a lease renewal goes here, never between WATCH and
   * EXEC). Returns more keys to WATCH with the call's, or `undefined` when what the fence stands
   * for is gone (the lane's lock was lost since the turn came): the attempt gives way before `fn`.
   */
  begin(connection: DedicatedConnection): readonly string[] | undefined;
  /** Right after WATCH, in the same write: the reads `check` judges by. */
  probe(connection: DedicatedConnection): void;
  /**
   * After `fn` and the WATCH replies. Throws `LockLostError` when the lane's lock was lost (and
   * only once what that leaves to clean up is done).
   */
  check(): Promise<FenceVerdict>;
  /**
   * At EXEC: a command to send after `fn`'s in the same MULTI (the lock's release, when this EXEC
   * ends the lane's hold), or `undefined`. Asked once per attempt.
   */
  trailer(): readonly string[] | undefined;
  /** What became of the EXEC that carried the trailer. Resolves once what it leaves to clean up is done. */
  trailerEnded(end: TrailerEnd): Promise<void>;
  /**
   * After the attempt's EXEC aborted: the `LockLostError` that ends the call when the lock it ran
   * under was lost (its lease ran out on the local clock, or a probe found it taken), else
   * `undefined` (a writer that ignores the lock changed a key: retry).
   */
  afterConflict(): Promise<LockLostError | undefined>;
}
