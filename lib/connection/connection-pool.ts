/**
 * A bounded set of dedicated connections to one Redis node, leased one attempt at a time. Made by
 * a topology per node; leased by the lanes.
 */
import { TransactorClosedError } from '../errors/usage-errors.js';
import { STOPPED } from '../util/stopped.js';
import { WaitQueue } from '../util/wait-queue.js';
import type { DedicatedConnection } from './connection.js';

/** Opens a new dedicated connection. */
export type ConnectionFactory = () => Promise<DedicatedConnection>;

/**
 * Waiters are served first come, first served; idle connections are reused most-recent-first
 * (warm sockets); a connection returned as unusable, or found dead, is dropped and replaced on
 * demand.
 */
export class ConnectionPool {
  readonly #open: ConnectionFactory;
  readonly #max: number;
  readonly #idle: DedicatedConnection[] = [];
  readonly #waiters = new WaitQueue<DedicatedConnection>();
  #size = 0;
  /** Dropped connections still waiting for replies that must land: close() waits for them too. */
  readonly #retiring = new Set<Promise<void>>();
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(open: ConnectionFactory, max: number) {
    this.#open = open;
    this.#max = max;
  }

  /** The most connections it opens at once. */
  get capacity(): number {
    return this.#max;
  }

  /**
   * Leases a connection, waiting (first come, first served) while all are in use. Gives up when
   * `signal` aborts, rejecting with `STOPPED`.
   */
  acquire(signal: AbortSignal | undefined): Promise<DedicatedConnection> {
    if (this.#closed) return Promise.reject(new TransactorClosedError());
    if (signal?.aborted) return Promise.reject(STOPPED);
    const idle = this.#takeIdle();
    if (idle) return Promise.resolve(idle);
    if (this.#size < this.#max) return this.#grow();
    return this.#waiters.wait(signal);
  }

  /**
   * An idle connection at once, when the pool has one (and is open, and `signal` has not aborted);
   * `undefined` otherwise, and then {@link acquire} says what to wait for. Spares the common case
   * of a free connection a promise and a turn of the microtask queue.
   */
  tryAcquire(signal: AbortSignal | undefined): DedicatedConnection | undefined {
    if (this.#closed || signal?.aborted) return undefined;
    return this.#takeIdle();
  }

  /**
   * Opens a connection outside the pool and its cap, for one short task that must not queue behind
   * the pool's waiters (settling a lost EXEC reply while every connection is busy). The caller
   * destroys it when done.
   */
  openOutside(): Promise<DedicatedConnection> {
    if (this.#closed) return Promise.reject(new TransactorClosedError());
    return this.#open();
  }

  /** Returns a leased connection. `reusable: false` (or a dead socket) drops it. */
  release(connection: DedicatedConnection, reusable: boolean): void {
    if (!reusable || !connection.alive || this.#closed) {
      this.#drop(connection);
      this.#serveWaitersWithNewConnections();
      return;
    }
    const waiter = this.#waiters.shift();
    if (!waiter?.resolve(connection)) this.#idle.push(connection);
  }

  /** Refuses new leases, fails waiters, closes idle connections and waits for leased ones. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiters.failAll(new TransactorClosedError());
    const idle = this.#idle.splice(0);
    this.#size -= idle.length;
    await Promise.all(idle.map((c) => c.close()));
    if (this.#size > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await Promise.all(this.#retiring);
  }

  #takeIdle(): DedicatedConnection | undefined {
    let connection: DedicatedConnection | undefined;
    while ((connection = this.#idle.pop())) {
      if (connection.alive) return connection;
      this.#drop(connection);
    }
    return undefined;
  }

  #grow(): Promise<DedicatedConnection> {
    this.#size++;
    return this.#open().then(
      (connection) => {
        if (!this.#closed) return connection;
        this.#drop(connection);
        throw new TransactorClosedError();
      },
      (err: unknown) => {
        this.#size--;
        this.#notifyDrained();
        // Waiters queued behind this open would otherwise wait for a release that never comes.
        this.#serveWaitersWithNewConnections();
        throw err;
      },
    );
  }

  #drop(connection: DedicatedConnection): void {
    const retiring = connection.retire();
    this.#retiring.add(retiring);
    void retiring.then(() => this.#retiring.delete(retiring));
    this.#size--;
    this.#notifyDrained();
  }

  #notifyDrained(): void {
    if (this.#closed && this.#size === 0) this.#drained?.();
  }

  #serveWaitersWithNewConnections(): void {
    while (this.#waiters.length > 0 && this.#size < this.#max && !this.#closed) {
      const waiter = this.#waiters.shift()!;
      this.#grow().then(
        // A waiter that gave up meanwhile leaves the new connection to the pool.
        (connection) => waiter.resolve(connection) || this.release(connection, true),
        (err: unknown) => waiter.reject(err),
      );
    }
  }
}
