import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectionPool } from '../connection/connection-pool.js';
import { keySetId } from '../coalescing/key-set.js';
import { describeKeys } from '../errors/base.js';
import { TransactUsageError } from '../errors/usage-errors.js';

/** A `fn` that is running, and what its attempt holds while it runs. @internal */
export interface RunningFn {
  /** The transactor's lanes: calls of another transactor never wait on this one. */
  readonly owner: object;
  /** The keys whose turn the attempt holds. */
  readonly keys: readonly string[];
  /** The pool its connection came from, and the connection. */
  readonly pool: ConnectionPool;
  readonly connection: object;
  /** The `fn` this one was called from, if any. */
  readonly outer: RunningFn | undefined;
  /** Cleared when `fn` settles: work it left running may then wait like any other call. */
  running: boolean;
}

const runningFn = new AsyncLocalStorage<RunningFn>();

/** Runs `fn` so that calls made from inside it (awaited or not) can see what it holds. @internal */
export function runAsFn<T>(frame: Omit<RunningFn, 'outer' | 'running'>, fn: () => T): { result: T; frame: RunningFn } {
  const running: RunningFn = { ...frame, outer: runningFn.getStore(), running: true };
  return { result: runningFn.run(running, fn), frame: running };
}

/**
 * Refuses a call made from inside a running `fn` of the same transactor that could only wait for
 * something that `fn`'s own attempt holds until it returns: the turn of the same key set, or
 * every connection of the pool it needs. Such a call would never settle; it fails at once with
 * {@link TransactUsageError} instead, before anything is sent.
 * @internal
 */
export function refuseSelfDeadlock(owner: object, keys: readonly string[], pool: () => ConnectionPool): void {
  let frame = runningFn.getStore();
  if (!frame) return;
  const keySet = keySetId(keys);
  let target: ConnectionPool | undefined;
  const held = new Set<object>();
  for (; frame; frame = frame.outer) {
    if (!frame.running || frame.owner !== owner) continue;
    if (keySetId(frame.keys) === keySet) {
      throw new TransactUsageError(
        `transact() on ${describeKeys(keys)} was called from inside fn of a transaction on the same keys, which holds ` +
          'their turn until fn returns: it would wait forever. Do the work in the outer fn, or after it returns',
      );
    }
    target ??= pool();
    if (frame.pool === target) held.add(frame.connection);
  }
  if (target && held.size >= target.capacity) {
    throw new TransactUsageError(
      `transact() on ${describeKeys(keys)} was called from inside fn of a transaction that holds the last of the ` +
        `transactor's ${target.capacity} connection(s) it needs: it would wait forever. Raise maxConnections, ` +
        'or make the call after fn returns',
    );
  }
}
