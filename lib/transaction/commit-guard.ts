import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { MultiBuilder } from '../connection/node-redis-types.js';
import type { AttemptMode } from '../observability/events.js';
import type { CallScope } from './call-scope.js';

/**
 * What a pessimistic mode adds to an optimistic attempt. Lock mode implements it: take the lock
 * with the first reads, prove at WATCH time that it is still ours, commit the release with the
 * writes. Without a guard an attempt is purely optimistic.
 * @internal
 */
export interface CommitGuard {
  /** The mode the next attempt runs in. */
  readonly mode: AttemptMode;
  /** Once, before the first attempt (lock mode: make sure the server has the lock scripts). */
  prepare(): Promise<void>;
  /** Start of an attempt, before WATCH, on its connection. Returns more keys to WATCH. */
  begin(connection: DedicatedConnection): readonly string[];
  /** Right after WATCH, in the same write: reads that let `check` prove the guard at WATCH time. */
  probe(connection: DedicatedConnection): void;
  /**
   * After `fn` and the WATCH replies. `go`: EXEC may follow. `wait`: not our turn; retry after
   * `waitForTurn`. `recheck`: our turn began after WATCH; run the attempt again.
   * Throws `LockLostError` when the guard was lost.
   */
  check(): Promise<'go' | 'wait' | 'recheck'>;
  /**
   * Queues what must commit together with the writes, after them. Returns how many commands it
   * queued: their replies are cut from the caller's.
   */
  beforeExec(builder: MultiBuilder): number;
  /**
   * A command of this call on `connection` may still change its lock keys (EXEC carrying the
   * release): the call's cleanup waits for its reply, and dropping the connection lets it land
   * first, so a release can never overtake it.
   */
  sentOn(connection: DedicatedConnection, reply: Promise<unknown>): void;
  /** EXEC aborted on a watched key. Throws `LockLostError` when it was the guard's key. */
  afterAbort(): Promise<void>;
  /** EXEC's outcome is unknown and the call (idempotent) will try again: forget what EXEC may have done. */
  afterUnknown(): void;
  /** EXEC committed, and with it what `beforeExec` queued. */
  committed(): void;
  /** Waits until the next attempt may go. */
  waitForTurn(scope: CallScope, attempt: number): Promise<void>;
  /** The call ends without a commit: let go of whatever is held. */
  dispose(): Promise<void>;
}
