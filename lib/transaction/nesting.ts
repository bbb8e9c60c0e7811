import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectionPool } from '../connection/connection-pool.js';
import { describeKeys } from '../errors/base.js';
import { TransactUsageError } from '../errors/usage-errors.js';
import type { KeySet } from '../validation/key-set.js';

/** What an attempt holds while its `fn` runs. */
export interface FnHolds {
  /** The transactor's lanes: calls of another transactor never wait on this one. */
  readonly owner: object;
  /** The key set whose turn the attempt holds. */
  readonly keySet: KeySet;
  /** The pool its connection came from, and the connection. */
  readonly pool: ConnectionPool;
  readonly connection: object;
}

/**
 * A `fn` that is running (or ran: timers it started keep its frame), and the one it was called
 * from, if any.
 */
export interface RunningFn {
  /** Cleared when `fn` settles: work it left running may then wait like any other call. */
  holds: FnHolds | undefined;
  readonly outer: RunningFn | undefined;
}

const runningFn = new AsyncLocalStorage<RunningFn>();

/** Runs `fn` so that calls made from inside it (awaited or not) can see what it holds. */
export function runAsFn<T>(holds: FnHolds, fn: () => T): { result: T; settled: () => void } {
  const frame: RunningFn = { holds, outer: runningFn.getStore() };
  return { result: runningFn.run(frame, fn), settled: () => (frame.holds = undefined) };
}

/**
 * The error for `close()` called from inside a running `fn` of the same transactor (it would wait
 * for that call forever), or `undefined` when it is not.
 */
export function closeFromInside(owner: object): TransactUsageError | undefined {
  for (let frame = runningFn.getStore(); frame; frame = frame.outer) {
    if (frame.holds?.owner === owner) {
      return new TransactUsageError(
        'close() was called from inside fn of one of the transactor’s own calls: it waits for every call in flight, ' +
          'that one included, so it would wait forever. Close the transactor after the call returns',
      );
    }
  }
  return undefined;
}

/**
 * Refuses a call made from inside a running `fn` of the same transactor that could only wait for
 * something that `fn`'s own attempt holds until it returns: the turn of the same key set, or
 * every connection of the pool it needs. Such a call would never settle; it fails at once with
 * {@link TransactUsageError} instead, before anything is sent.
 */
export function refuseSelfDeadlock(owner: object, keySet: KeySet, pool: () => ConnectionPool): void {
  let frame = runningFn.getStore();
  if (!frame) return;
  let target: ConnectionPool | undefined;
  const held = new Set<object>();
  for (; frame; frame = frame.outer) {
    const holds = frame.holds;
    if (holds?.owner !== owner) continue;
    if (holds.keySet.id === keySet.id) {
      throw new TransactUsageError(
        `transact() on ${describeKeys(keySet.keys)} was called from inside fn of a transaction on the same keys, which holds ` +
          'their turn until fn returns: it would wait forever. Do the work in the outer fn, or after it returns',
      );
    }
    target ??= pool();
    if (holds.pool === target) held.add(holds.connection);
  }
  if (target && held.size >= target.capacity) {
    throw new TransactUsageError(
      `transact() on ${describeKeys(keySet.keys)} was called from inside fn of a transaction that holds the last of the ` +
        `transactor's ${target.capacity} connection(s) it needs: it would wait forever. Raise maxConnections, ` +
        'or make the call after fn returns',
    );
  }
}
