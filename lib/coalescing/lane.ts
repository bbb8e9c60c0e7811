import type { ConnectionPool } from '../connection/connection-pool.js';
import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { SingleNodeBackend } from '../lock/single-node-backend.js';
import type { CallLocking } from './call-locking.js';
import type { Fence } from './fence.js';
import { type ExecEnd, LaneLock, LockAwareFence } from './lane-lock.js';

/** What becomes of the connection when a seat is left. */
export type SeatExit =
  /** Healthy: the lane keeps using it. */
  | 'keep'
  /** Healthy but serving the wrong node (cluster redirection): back to its pool. */
  | 'return'
  /** Dead, or in an unknown state (a stalled EXEC): drop it once no other seat uses it. */
  | 'destroy';

/** Where a transaction's connection comes from: the pool of the node serving its keys now. @internal */
export interface PoolRoute {
  pool(): ConnectionPool;
}

/** What a transaction asks of its lane for one attempt. @internal */
export interface TurnRequest {
  readonly route: PoolRoute;
  /** Gives up the wait (for the turn, the lock, a connection), rejecting with `stopped`. */
  readonly signal: AbortSignal | undefined;
  readonly stopped: unknown;
  /** `remainingMs()` of the call's deadline (`Infinity` without one); a lock wait ends there too. */
  readonly remainingMs: () => number;
  /** Served first: a transaction retrying after losing to another process. */
  readonly priority: boolean;
  readonly locking: CallLocking;
}

/** What a lane needs from the lanes it belongs to. @internal */
export interface LaneHost {
  /** Where the lane's lock lives. */
  readonly backend: () => SingleNodeBackend;
  /** A lock hold ended; `contended`: it had to wait, or made another process wait. */
  holdEnded(keys: readonly string[], contended: boolean): void;
  /** Work that outlives the call that caused it (a release): `close()` waits for it. */
  background(work: Promise<void>): void;
}

interface Waiter {
  readonly resume: () => void;
}

/** A leased connection and the seats still using it (one awaits its EXEC reply while the next reads). */
class HeldConnection {
  users = 0;
  /** No longer the lane's connection; it goes back (or is dropped) once its last user leaves. */
  retired = false;
  /** Must be dropped, not reused. */
  doomed = false;
  released = false;
  constructor(
    readonly connection: DedicatedConnection,
    readonly pool: ConnectionPool,
  ) {}
}

/**
 * Transactions in this process on the same keys wait their turn here instead of fighting each
 * other over WATCH: only one of them is between WATCH and EXEC at a time, so only other processes
 * can make it conflict. They share one connection, and a turn passes as soon as the holder's EXEC
 * is on the wire: the next transaction's WATCH and reads go out right behind it (the server runs
 * them after that EXEC, so they see its writes), saving a round trip per hand-over.
 *
 * In lock mode the lane also holds the Redis lock on its keys, taken by the first transaction that
 * needs it, before its `fn` runs, and handed on with the turn (see {@link LaneLock}). A transaction
 * that waits for the lock waits with the turn but without a connection: it holds nothing another
 * transaction needs to finish.
 * @internal
 */
export class Lane {
  readonly keys: readonly string[];
  /** Transactions retrying after losing to another process: served first, in arrival order. */
  readonly #priority: Waiter[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #host: LaneHost;
  readonly #onIdle: () => void;
  #busy = false;
  #held: HeldConnection | undefined;
  #users = 0;
  #lock: LaneLock | undefined;

  constructor(keys: readonly string[], host: LaneHost, onIdle: () => void) {
    this.keys = keys;
    this.#host = host;
    this.#onIdle = onIdle;
  }

  /** Whether the lane holds its keys' lock now. */
  get locked(): boolean {
    return this.#lock?.held ?? false;
  }

  /**
   * Waits for the turn (first come, first served; `priority` first), then, when the call wants the
   * lock and the lane does not hold it, for the lock, then for a connection to the route's node.
   */
  async take(request: TurnRequest): Promise<Seat> {
    if (this.#busy) await this.#queue(request.signal, request.stopped, request.priority);
    else this.#busy = true;
    let fence: Fence | undefined;
    let held: HeldConnection;
    try {
      fence = await this.#fenceFor(request);
      held = await this.#connection(request.route, request.signal, request.stopped);
    } catch (err) {
      this.#passTurn();
      throw err;
    }
    held.users++;
    this.#users++;
    return new Seat(this, held, fence);
  }

  /** How many transactions wait for the turn. */
  get waiting(): number {
    return this.#priority.length + this.#waiters.length;
  }

  async #fenceFor(request: TurnRequest): Promise<Fence | undefined> {
    const { locking } = request;
    if (!this.locked && locking.wantsLock()) {
      this.#lock ??= new LaneLock(this.#host.backend(), this.keys, {
        waiting: () => this.waiting,
        holdEnded: (contended) => this.#host.holdEnded(this.keys, contended),
        background: (work) => this.#host.background(work),
      });
      await this.#lock.acquire(locking.options, request.signal, request.remainingMs(), request.stopped, locking.contended);
    }
    if (this.locked) return this.#lock!.fence();
    if (locking.aware) return new LockAwareFence(this.#host.backend().keyspace.unprefixedLockKeys(this.keys));
    return undefined;
  }

  /** @internal Passes the turn, unless the EXEC on the wire ends the lane's hold. Returns whether it did. */
  passTurn(): boolean {
    // An EXEC that carries the release: the next transaction must take the lock after it lands.
    if (this.#lock?.releasing) return false;
    this.#passTurn();
    return true;
  }

  /** @internal */
  execEnded(end: ExecEnd): void {
    this.#lock?.execEnded(end);
  }

  /** @internal */
  confirmLock(): Promise<void> {
    return this.#lock?.confirm() ?? Promise.resolve();
  }

  /** @internal */
  left(held: HeldConnection, exit: SeatExit, turnPassed: boolean): void {
    held.users--;
    this.#users--;
    if (exit !== 'keep') this.#retire(held, exit);
    else if (held.retired && held.users === 0) this.#release(held);
    if (!turnPassed) {
      // A seat that leaves before its releasing EXEC settled (stopped): whether the release ran is unknown.
      if (this.#lock?.releasing) this.#lock.execEnded('unknown');
      this.#passTurn();
    } else this.#idleCheck();
  }

  #queue(signal: AbortSignal | undefined, stopped: unknown, priority: boolean): Promise<void> {
    if (signal?.aborted) return Promise.reject(stopped);
    return new Promise((resolve, reject) => {
      const queue = priority ? this.#priority : this.#waiters;
      const onAbort = () => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        reject(stopped);
        this.#idleCheck();
      };
      const waiter: Waiter = {
        resume: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
  }

  #passTurn(): void {
    const next = this.#priority.shift() ?? this.#waiters.shift();
    if (next) next.resume(); // the turn goes on: #busy stays true
    else {
      this.#busy = false;
      this.#idleCheck();
    }
  }

  /** The lane's connection to the node the route names now, leasing a fresh one if needed. */
  async #connection(route: PoolRoute, signal: AbortSignal | undefined, stopped: unknown): Promise<HeldConnection> {
    const pool = route.pool();
    const held = this.#held;
    if (held && !held.retired && held.pool === pool && held.connection.alive) return held;
    if (held && !held.retired) this.#retire(held, held.connection.alive ? 'return' : 'destroy');
    const fresh = new HeldConnection(await pool.acquire(signal, stopped), pool);
    this.#held = fresh;
    return fresh;
  }

  #retire(held: HeldConnection, exit: 'return' | 'destroy'): void {
    held.retired = true;
    if (this.#held === held) this.#held = undefined;
    if (exit === 'destroy') held.doomed = true;
    // Not while another seat still uses it (its EXEC may be in flight on it): the last one to
    // leave returns or drops it. A dead connection has nothing left to protect.
    if (held.users === 0 || !held.connection.alive) this.#release(held);
  }

  #release(held: HeldConnection): void {
    if (held.released) return;
    held.released = true;
    held.pool.release(held.connection, !held.doomed);
  }

  #idleCheck(): void {
    if (this.#busy || this.waiting > 0 || this.#users > 0) return;
    // Nobody left to hand the lock to, and no EXEC in flight that could still need it.
    this.#lock?.releaseIdle();
    const held = this.#held;
    this.#held = undefined;
    if (held) this.#release(held);
    this.#onIdle();
  }
}

/** One transaction attempt's place in a lane: the turn, the connection, and its fence. */
export class Seat {
  readonly #lane: Lane;
  readonly #held: HeldConnection;
  /** What the lane's mode adds to the attempt, if anything. */
  readonly fence: Fence | undefined;
  #passAsked = false;
  #turnPassed = false;
  #left = false;

  /** @internal */
  constructor(lane: Lane, held: HeldConnection, fence: Fence | undefined) {
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
   * EXEC is on the wire: the next transaction may start now, on this connection, behind it (unless
   * this EXEC ends the lane's hold on the lock: then once it has landed).
   */
  passTurn(): void {
    if (this.#passAsked) return;
    this.#passAsked = true;
    this.#turnPassed = this.#lane.passTurn();
  }

  /** The EXEC settled: the lane's lock learns whether a release it carried ran. */
  execEnded(end: ExecEnd): void {
    this.#lane.execEnded(end);
  }

  /** After a conflict under the lock: throws `LockLostError` unless the lock is still the lane's. */
  confirmLock(): Promise<void> {
    return this.#lane.confirmLock();
  }

  /** The attempt is over; `exit` says what to do with the connection. */
  leave(exit: SeatExit): void {
    if (this.#left) return;
    this.#left = true;
    this.#lane.left(this.#held, exit, this.#turnPassed);
  }
}
