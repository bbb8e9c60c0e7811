/**
 * One attempt's place in a lane, and the owner of its EXEC: it sends the commit, passes the turn
 * to the lane's next transaction, tells the lane's lock what became of a release the EXEC carried,
 * and says what became of the EXEC. The attempt (`transaction/attempt.ts`) takes a seat from its
 * lane, runs WATCH and `fn` on the seat's connection, commits through {@link Seat.commit}, and
 * leaves.
 */
import type { ConnectionPool } from '../connection/connection-pool.js';
import type { DedicatedConnection, MarkerWrite, Transaction } from '../connection/connection.js';
import { isErrorReply } from '../connection/errors.js';
import type { LockLostError } from '../errors/lock-errors.js';
import type { Cleanup } from '../util/cleanup.js';
import type { Fence, TrailerEnd } from './fence.js';
import type { HeldConnection } from './held-connection.js';

/** What becomes of the seat's connection when it is left. */
export type ConnectionFate =
  /** Healthy: the lane keeps using it. */
  | 'keep'
  /** Healthy but serving the wrong node (cluster redirection): back to its pool. */
  | 'return'
  /** Dead, or in an unknown state (a stalled EXEC): drop it once no other seat uses it. */
  | 'destroy';

/** What the seat needs to know of an EXEC that failed (the engine's classifier gives more). */
export interface ExecVerdict {
  /** Whether EXEC ran. */
  readonly ran: 'yes' | 'no' | 'unknown';
  /** What the call does next: a conflict (`retry`, `conflict`) may mean the lock was lost. */
  readonly next: { readonly do: string; readonly reason?: string };
}

/** What became of an attempt's EXEC. */
export type ExecOutcome<V extends ExecVerdict> = {
  /** Whether commands of `fn` went out (else its data is untouched whatever happened). */
  readonly wrote: boolean;
  /** Whether the commit marker went with them. */
  readonly marked: boolean;
} & (
  | { readonly kind: 'committed'; readonly replies: unknown[]; /** The reply of the plan's `after`. */ readonly after?: Promise<unknown> | undefined }
  /** EXEC failed; `verdict` is the classifier's on `error`. */
  | { readonly kind: 'failed'; readonly error: unknown; readonly verdict: V }
  /** EXEC aborted, and the lock it ran under was lost meanwhile: nothing was written. */
  | { readonly kind: 'lock-lost'; readonly error: LockLostError }
);

/** How {@link Seat.commit} waits for EXEC's reply and reads its failures. */
export interface CommitRules<V extends ExecVerdict> {
  /** Settles like `reply`, or rejects with `STOPPED` once the call is stopped. */
  race<T>(reply: Promise<T>): Promise<T>;
  /** The classifier's verdict on an EXEC that failed with `err`. */
  classify(err: unknown): V;
}

/** What a seat tells the lane it belongs to. */
export interface SeatHost {
  /** The turn goes to the next transaction (a seat passes it once). */
  passTurn(): Cleanup;
  /** A seat left: `fate` says what becomes of its connection; `holdsTurn`: it still held the turn. */
  left(held: HeldConnection, fate: ConnectionFate, holdsTurn: boolean): Cleanup;
}

export class Seat {
  readonly #lane: SeatHost;
  readonly #held: HeldConnection;
  /** What the lane's mode adds to the attempt, if anything. */
  readonly fence: Fence | undefined;
  #turnPassed = false;
  #left = false;

  constructor(lane: SeatHost, held: HeldConnection, fence: Fence | undefined) {
    this.#lane = lane;
    this.#held = held;
    this.fence = fence;
  }

  /** The pool the seat's connection came from. */
  get pool(): ConnectionPool {
    return this.#held.pool;
  }

  /** The seat's connection. */
  get connection(): DedicatedConnection {
    return this.#held.connection;
  }

  /**
   * Sends `transaction`'s EXEC (with `marker`, and the fence's trailer: the lock's release when
   * this EXEC ends the lane's hold) and waits for its reply. The turn passes as soon as EXEC is on
   * the wire, so the next transaction's WATCH and reads go out right behind it, unless the EXEC
   * carries the release: then the turn passes when the seat is left, once the lock knows what
   * became of the release and the connection's fate is applied (the next transaction takes the
   * lock anew, on a connection this one did not doom). After an aborted EXEC under the lock, a lost
   * lock turns the outcome into its `LockLostError`. Cleanup the EXEC leaves (a release by token)
   * is done before this resolves.
   */
  async commit<V extends ExecVerdict>(
    transaction: Transaction,
    marker: MarkerWrite | undefined,
    rules: CommitRules<V>,
    after?: readonly string[],
  ): Promise<ExecOutcome<V>> {
    const fence = this.fence;
    const trailer = fence?.trailer();
    const flight = transaction.exec({ marker, trailer: trailer && [trailer], after });
    // A release must land before any cleanup of this call that goes over another connection.
    if (trailer) this.connection.mustLand(flight.reply);
    else this.#passTurn();
    let replies: unknown[] | undefined;
    let failure: { error: unknown; verdict: V } | undefined;
    try {
      replies = await rules.race(flight.reply);
    } catch (error) {
      failure = { error, verdict: rules.classify(error) };
    }
    if (trailer) await fence!.trailerEnded(trailerEnd(failure?.verdict.ran ?? 'yes', flight.trailerReplies));
    const { wrote, marked } = flight;
    if (!failure) return { kind: 'committed', wrote, marked, replies: replies!, after: flight.after };
    const { next } = failure.verdict;
    if (fence && next.do === 'retry' && next.reason === 'conflict') {
      const lost = await fence.afterConflict();
      if (lost) return { kind: 'lock-lost', wrote, marked, error: lost };
    }
    return { kind: 'failed', wrote, marked, error: failure.error, verdict: failure.verdict };
  }

  /**
   * The attempt is over; `fate` says what to do with the connection. Passes the turn if it was not
   * yet. Resolves once what the lane leaves to clean up is done (the lane went idle holding its
   * lock: it is let go of now).
   */
  leave(fate: ConnectionFate): Cleanup {
    if (this.#left) return undefined;
    this.#left = true;
    const holdsTurn = !this.#turnPassed;
    this.#turnPassed = true;
    return this.#lane.left(this.#held, fate, holdsTurn);
  }

  /** Passes the turn, once. (The lane cannot go idle here: this seat has not left it.) */
  #passTurn(): void {
    if (this.#turnPassed) return;
    this.#turnPassed = true;
    void this.#lane.passTurn();
  }
}

/** What became of a trailer, from whether EXEC ran and the trailer's own replies. */
function trailerEnd(ran: ExecVerdict['ran'], replies: readonly unknown[] | undefined): TrailerEnd {
  if (ran === 'no') return 'not-run';
  if (ran === 'unknown' || !replies) return 'unknown';
  return replies.some(isErrorReply) ? 'failed' : 'ran';
}
