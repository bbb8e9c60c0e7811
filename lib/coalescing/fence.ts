import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { MultiBuilder } from '../connection/node-redis-types.js';
import type { AttemptMode } from '../observability/events.js';

/** What an attempt learns from its fence's reads, taken at WATCH time. */
export type FenceVerdict =
  /** EXEC may follow. */
  | 'go'
  /** Another process holds the keys' lock: this attempt gives way and runs again under the lock. */
  | 'give-way';

/**
 * What a lane adds to one attempt so that its EXEC commits only under the conditions of the
 * lane's mode: under the lane's lock (lock mode), or only while nobody else holds it (auto mode's
 * lock-aware optimistic attempts). The attempt drives it at fixed points (WATCH, reads, EXEC) and
 * needs to know nothing else about locks.
 * @internal
 */
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
  /** After `fn` and the WATCH replies. Throws `LockLostError` when the lane's lock was lost. */
  check(): Promise<FenceVerdict>;
  /**
   * Queues what must commit with the writes, after them (the lock's release, when this EXEC ends
   * the lane's hold). Returns how many commands it queued: their replies are not the caller's.
   */
  beforeExec(builder: MultiBuilder): number;
}
