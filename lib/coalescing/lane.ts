/**
 * Where transactions of one process on the same key set take turns, share a connection and, in
 * lock mode, the Redis lock on their keys. Made and kept by {@link Lanes}; the attempt takes a
 * {@link Seat} from it.
 */
import type { ConnectionPool } from '../connection/connection-pool.js';
import type { DedicatedConnection } from '../connection/connection.js';
import type { CallLockKeys } from '../lock/lock-keys.js';
import type { SingleNodeBackend } from '../lock/single-node-backend.js';
import type { LockWaitOutcome } from '../observability/events.js';
import type { KeySet } from '../validation/key-set.js';
import { bothCleanups, type Cleanup } from '../util/cleanup.js';
import { WaitQueue } from '../util/wait-queue.js';
import type { CallLocking } from './call-locking.js';
import type { Fence } from './fence.js';
import { LaneLock } from './lane-lock.js';
import { LockAwareFence } from './lock-aware-fence.js';
import { HeldConnection } from './held-connection.js';
import { type ConnectionFate, Seat, type SeatHost } from './seat.js';

/** Where a transaction's connection comes from: the pool of the node serving its keys now. */
export interface PoolRoute {
  pool(): ConnectionPool;
}

/** What a transaction asks of its lane for one attempt. */
export interface TurnRequest {
  readonly route: PoolRoute;
  /** Gives up the wait (for the turn, the lock, a connection), rejecting with `STOPPED`. */
  readonly signal: AbortSignal | undefined;
  /** `remainingMs()` of the call's deadline (`Infinity` without one); a lock wait ends there too. */
  readonly remainingMs: () => number;
  /** Served first: a transaction retrying after losing to another process. */
  readonly priority: boolean;
  readonly locking: CallLocking;
}

/** What a lane needs from the lanes it belongs to. */
export interface LaneHost {
  /** Where the lane's lock lives. */
  readonly backend: () => SingleNodeBackend;
  /** A lock hold ended; `contended`: it had to wait, or made another process wait. */
  holdEnded(keySet: KeySet, contended: boolean): void;
  /** A transaction waited `waitedMs` for the lane's lock, held elsewhere; the wait ended with `outcome`. */
  lockWaited(keySet: KeySet, waitedMs: number, outcome: LockWaitOutcome): void;
  /** How long (ms) the lane keeps its lock once a waiter from elsewhere is seen. */
  readonly burstMs: number;
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
 */
export class Lane implements SeatHost {
  readonly keySet: KeySet;
  /** Transactions retrying after losing to another process: served first, in arrival order. */
  readonly #priority = new WaitQueue<void>();
  readonly #waiters = new WaitQueue<void>();
  readonly #host: LaneHost;
  readonly #onIdle: () => void;
  #busy = false;
  #held: HeldConnection | undefined;
  /** Seats not yet left (one may await its EXEC's reply while the next one runs). */
  #seats = 0;
  #lockKeys: CallLockKeys | undefined;
  #awareKeys: Pick<CallLockKeys, 'watchKeys' | 'serverLockKeys'> | undefined;
  #lock: LaneLock | undefined;

  constructor(keySet: KeySet, host: LaneHost, onIdle: () => void) {
    this.keySet = keySet;
    this.#host = host;
    this.#onIdle = onIdle;
  }

  /** How many transactions wait for the turn. */
  get waiting(): number {
    return this.#priority.length + this.#waiters.length;
  }

  /**
   * Waits for the turn (first come, first served; `priority` first), then, when the call wants the
   * lock and the lane does not hold it, for the lock, then for a connection to the route's node.
   * A wait given up rejects with `STOPPED`, once what it leaves to clean up is done. The seat
   * comes at once, not as a promise, when nothing had to be waited for (a free turn, no lock to
   * take, the lane's connection up): the common case of an uncontended call, which would otherwise
   * pay several promises and turns of the microtask queue for nothing.
   */
  take(request: TurnRequest): Seat | Promise<Seat> {
    if (this.#busy) return this.#takeAfterWait(request);
    this.#busy = true;
    return this.#seatFor(request);
  }

  async #takeAfterWait(request: TurnRequest): Promise<Seat> {
    try {
      await (request.priority ? this.#priority : this.#waiters).wait(request.signal);
    } catch (err) {
      await this.#idleCheck();
      throw err;
    }
    return this.#seatFor(request);
  }

  /** The seat of the call that now holds the turn: its fence first, then its connection. */
  #seatFor(request: TurnRequest): Seat | Promise<Seat> {
    let fence: Fence | undefined | Promise<Fence>;
    let held: HeldConnection | undefined;
    try {
      fence = this.#fenceFor(request);
      held = fence instanceof Promise ? undefined : this.#connectionNow(request.route.pool(), request.signal);
    } catch (err) {
      return this.#turnFailed(err);
    }
    if (!held) return this.#seatWhenReady(fence, request);
    this.#seats++;
    return new Seat(this, held, fence as Fence | undefined);
  }

  async #seatWhenReady(pending: Fence | undefined | Promise<Fence>, request: TurnRequest): Promise<Seat> {
    let fence: Fence | undefined;
    let held: HeldConnection;
    try {
      fence = await pending;
      held = await this.#connection(request.route, request.signal);
    } catch (err) {
      return this.#turnFailed(err);
    }
    this.#seats++;
    return new Seat(this, held, fence);
  }

  /** Taking the seat failed while the call held the turn: the turn goes on, then the failure. */
  async #turnFailed(err: unknown): Promise<never> {
    await this.passTurn();
    throw err;
  }

  /** Hands the turn to the next waiter, or goes idle (what the idle lane leaves to clean up). */
  passTurn(): Cleanup {
    const next = this.#priority.shift() ?? this.#waiters.shift();
    if (next) {
      next.resolve(); // the turn goes on: #busy stays true
      return undefined;
    }
    this.#busy = false;
    return this.#idleCheck();
  }

  /**
   * A seat left: `fate` says what becomes of its connection (applied before the turn passes: the
   * next transaction must not start on a connection this one dooms); `passTurn`: it still held the
   * turn. Resolves once the lane's cleanup is done, including releases of its lock still on their
   * way (one that a stopped call's race left behind).
   */
  left(held: HeldConnection, fate: ConnectionFate, passTurn: boolean): Cleanup {
    held.users--;
    this.#seats--;
    if (fate !== 'keep') this.#retire(held, fate);
    else if (held.retired && held.users === 0) this.#release(held);
    return bothCleanups(passTurn ? this.passTurn() : this.#idleCheck(), this.#lock?.releases());
  }

  #fenceFor(request: TurnRequest): Fence | undefined | Promise<Fence> {
    const { locking } = request;
    if (this.#lock?.usable) return this.#lock.fence();
    if (locking.wantsLock()) return this.#lockedFence(request);
    // Busy: a seat still awaits its EXEC's reply, or others wait for the turn (a hot key).
    if (locking.aware && locking.expectsLock(this.#seats > 0 || this.waiting > 0)) {
      const names = (this.#awareKeys ??= this.#lockKeys ?? this.#host.backend().keyspace.lockKeys(this.keySet.keys));
      return new LockAwareFence(names.watchKeys, names.serverLockKeys);
    }
    return undefined;
  }

  /** The lock's fence, once the lane holds the lock (taken for it by this call). */
  async #lockedFence({ locking, signal, remainingMs }: TurnRequest): Promise<Fence> {
    this.#lock ??= new LaneLock(this.#host.backend(), this.keySet.keys, this.#names(), {
      waiting: () => this.waiting,
      holdEnded: (contended) => this.#host.holdEnded(this.keySet, contended),
      waited: (waitedMs, outcome) => this.#host.lockWaited(this.keySet, waitedMs, outcome),
      burstMs: this.#host.burstMs,
    });
    await this.#lock.acquire({
      options: locking.options,
      signal,
      remainingMs: remainingMs(),
      contended: locking.contended,
    });
    return this.#lock.fence();
  }

  /** The lane's lock keys, derived once. */
  #names(): CallLockKeys {
    return (this.#lockKeys ??= this.#host.backend().keyspace.forCall(this.keySet.keys));
  }

  /**
   * The lane's connection to the node the route names now, leasing a fresh one if needed. It counts
   * as used from the moment it is chosen: a seat leaving meanwhile must not hand it back.
   */
  async #connection(route: PoolRoute, signal: AbortSignal | undefined): Promise<HeldConnection> {
    const pool = route.pool();
    const now = this.#connectionNow(pool, signal);
    if (now) return now;
    const held = this.#held;
    if (held && !held.retired) this.#retire(held, held.connection.alive ? 'return' : 'destroy');
    return this.#hold(await pool.acquire(signal), pool);
  }

  /**
   * The lane's connection for an attempt on `pool` when one is at hand without waiting: its own,
   * or else an idle one of the pool; `undefined` when it must be waited for (or the lane's own must
   * be retired first).
   */
  #connectionNow(pool: ConnectionPool, signal: AbortSignal | undefined): HeldConnection | undefined {
    const held = this.#held;
    if (held && !held.retired && held.pool === pool && held.connection.alive) {
      held.users++;
      return held;
    }
    if (held && !held.retired) return undefined;
    const idle = pool.tryAcquire(signal);
    return idle && this.#hold(idle, pool);
  }

  /** `connection` as the lane's, counted as used from the moment it is chosen. */
  #hold(connection: DedicatedConnection, pool: ConnectionPool): HeldConnection {
    const fresh = new HeldConnection(connection, pool);
    fresh.users++;
    this.#held = fresh;
    return fresh;
  }

  #retire(held: HeldConnection, fate: 'return' | 'destroy'): void {
    held.retired = true;
    if (this.#held === held) this.#held = undefined;
    if (fate === 'destroy') held.doomed = true;
    // Not while another seat still uses it (its EXEC may be in flight on it): the last one to
    // leave returns or drops it. A dead connection has nothing left to protect.
    if (held.users === 0 || !held.connection.alive) this.#release(held);
  }

  #release(held: HeldConnection): void {
    if (held.released) return;
    held.released = true;
    held.pool.release(held.connection, !held.doomed);
  }

  /**
   * Once nobody holds or waits for the turn and no seat is left: the connection goes back, the
   * lock (nobody left to hand it to, no EXEC in flight that could still need it) is let go of, and
   * the lane leaves its lanes. Resolves once the lock is let go of.
   */
  #idleCheck(): Cleanup {
    if (this.#busy || this.waiting > 0 || this.#seats > 0) return undefined;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.#release(held);
    this.#onIdle();
    return this.#lock?.letGo();
  }
}
