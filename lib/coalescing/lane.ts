import type { ConnectionPool } from '../connection/connection-pool.js';
import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { Route } from '../topology/topology.js';

/** What becomes of the connection when a seat is left. */
export type SeatExit =
  /** Healthy: the lane keeps using it. */
  | 'keep'
  /** Healthy but serving the wrong node (cluster redirection): back to its pool. */
  | 'return'
  /** Dead, or in an unknown state (a stalled EXEC): drop it once no other seat uses it. */
  | 'destroy';

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
 * can make it conflict. They also share one connection, and a turn passes as soon as the holder's
 * EXEC is on the wire: the next transaction's WATCH and reads go out right behind it (the server
 * runs them after that EXEC, so they see its writes), saving a round trip per hand-over.
 * @internal
 */
export class Lane {
  /** Transactions retrying after losing to another process: served first, in arrival order. */
  readonly #priority: Waiter[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #onIdle: () => void;
  #busy = false;
  #held: HeldConnection | undefined;
  #users = 0;
  #locksHeld = 0;
  /** Set while the turn's holder is parked waiting for a lock: how to make it step aside. */
  #yieldParked: (() => void) | undefined;

  constructor(onIdle: () => void) {
    this.#onIdle = onIdle;
  }

  /**
   * Waits for the turn (first come, first served; `priority` goes first, for a transaction
   * retrying after losing to another process), then for a connection to the route's node.
   * Rejects with `stopped` when `signal` aborts.
   */
  async take(route: Route, signal: AbortSignal | undefined, stopped: unknown, priority: boolean): Promise<Seat> {
    if (this.#busy) await this.#queue(signal, stopped, priority);
    else this.#busy = true;
    let held: HeldConnection;
    try {
      held = await this.#connection(route, signal, stopped);
    } catch (err) {
      this.#passTurn();
      throw err;
    }
    held.users++;
    this.#users++;
    return new Seat(this, held);
  }

  /** @internal */
  passTurn(): void {
    this.#passTurn();
  }

  /**
   * Whether a transaction of this lane holds the Redis lock on its keys (between its attempts,
   * or with its EXEC in flight). A sibling that finds the lock busy must then wait without the
   * turn: the holder may need the turn back to finish.
   */
  get lockHeldHere(): boolean {
    return this.#locksHeld > 0;
  }

  /** @internal */
  lockTaken(): void {
    this.#locksHeld++;
  }

  /** @internal */
  lockDropped(): void {
    this.#locksHeld--;
    this.#idleCheck();
  }

  /**
   * The seat keeps the turn but gives its connection back while it waits for a lock: a waiter
   * must never hold a connection the lock's holder may need to finish. `stepAside` is called if a
   * retrying transaction (which may hold that very lock) queues for the turn meanwhile.
   * @internal
   */
  park(held: HeldConnection, stepAside: () => void): void {
    held.users--;
    this.#users--;
    this.#yieldParked = stepAside;
    if (!held.retired) this.#retire(held, 'return');
    else if (held.users === 0) this.#release(held);
  }

  /** The parked seat has its lock: a connection again (the turn never left it). @internal */
  async resume(route: Route, signal: AbortSignal | undefined, stopped: unknown): Promise<HeldConnection> {
    this.#yieldParked = undefined;
    const held = await this.#connection(route, signal, stopped);
    held.users++;
    this.#users++;
    return held;
  }

  /** @internal */
  left(held: HeldConnection | undefined, exit: SeatExit): void {
    if (held) {
      held.users--;
      this.#users--;
      if (exit !== 'keep') this.#retire(held, exit);
      else if (held.retired && held.users === 0) this.#release(held);
    } else {
      this.#yieldParked = undefined; // a parked seat that leaves
    }
    this.#idleCheck();
  }

  #queue(signal: AbortSignal | undefined, stopped: unknown, priority: boolean): Promise<void> {
    if (signal?.aborted) return Promise.reject(stopped);
    return new Promise((resolve, reject) => {
      const queue = priority ? this.#priority : this.#waiters;
      const onAbort = () => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        reject(stopped);
      };
      const waiter: Waiter = {
        resume: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
      if (priority && this.#yieldParked) {
        // The turn's holder waits for a lock this retrying transaction may hold: it steps aside.
        const stepAside = this.#yieldParked;
        this.#yieldParked = undefined;
        stepAside();
      }
    });
  }

  #passTurn(): void {
    this.#yieldParked = undefined;
    const next = this.#priority.shift() ?? this.#waiters.shift();
    if (next) next.resume(); // the turn goes on: #busy stays true
    else {
      this.#busy = false;
      this.#idleCheck();
    }
  }

  /** The lane's connection to the node the route names now, leasing a fresh one if needed. */
  async #connection(route: Route, signal: AbortSignal | undefined, stopped: unknown): Promise<HeldConnection> {
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
    if (this.#busy || this.#priority.length > 0 || this.#waiters.length > 0 || this.#users > 0 || this.#locksHeld > 0) return;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.#release(held);
    this.#onIdle();
  }
}

/** One transaction attempt's place in a lane: the connection, until it leaves. */
export class Seat {
  readonly #lane: Lane;
  #held: HeldConnection | undefined;
  #turnPassed = false;
  #left = false;

  /** @internal */
  constructor(lane: Lane, held: HeldConnection) {
    this.#lane = lane;
    this.#held = held;
  }

  /** The pool the seat's connection came from (not while parked). */
  get pool(): ConnectionPool {
    return this.#held!.pool;
  }

  /** The seat's connection (not while parked). */
  get connection(): DedicatedConnection {
    return this.#held!.connection;
  }

  /**
   * Gives the connection back and keeps the turn while waiting for a lock. `stepAside` is called
   * when a retrying transaction of the lane queues for the turn meanwhile.
   */
  park(stepAside: () => void): void {
    this.#lane.park(this.#held!, stepAside);
    this.#held = undefined;
  }

  /** Takes a connection again after `park`. */
  async resume(route: Route, signal: AbortSignal | undefined, stopped: unknown): Promise<void> {
    this.#held = await this.#lane.resume(route, signal, stopped);
  }

  /** EXEC is on the wire: the next transaction may start now, on this connection, behind it. */
  passTurn(): void {
    if (this.#turnPassed) return;
    this.#turnPassed = true;
    this.#lane.passTurn();
  }

  /** The attempt is over; `exit` says what to do with the connection. */
  leave(exit: SeatExit): void {
    if (this.#left) return;
    this.#left = true;
    this.passTurn();
    this.#lane.left(this.#held, exit);
  }
}
