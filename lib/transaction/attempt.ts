import type { ConnectionPool } from '../connection/connection-pool.js';
import type { Route } from '../topology/topology.js';
import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import { TransactCommandError, TransactOutcomeUnknownError } from '../errors/transaction-errors.js';
import { TransactorClosedError, TransactUsageError } from '../errors/usage-errors.js';
import type { CallScope } from './call-scope.js';
import type { CommitGuard } from './commit-guard.js';
import type { TransactionContext } from './context.js';
import { validateKeys } from './keys.js';
import { isClientClosedError, isErrorReply, isMultiErrorReply, isWatchError } from './node-redis-errors.js';
import { isTransientReply } from './transient-replies.js';

/** The user's transaction function, as the engine sees it. */
export type TransactionFn<T> = (t: TransactionContext<any, any>) => T | Promise<T>;

/** Everything one `transact` call needs across its attempts. */
export interface TransactionCall<T> {
  readonly keys: string[];
  readonly fn: TransactionFn<T>;
  readonly idempotent: boolean;
  readonly scope: CallScope;
  /** Where the keys live: the pool to lease from, slot checks and redirections on a cluster. */
  readonly route: Route;
  /** Lock mode's additions to each attempt; absent in optimistic mode. */
  readonly guard?: CommitGuard;
}

/**
 * Why an attempt ended without a commit and may be retried: a watched key changed, the connection
 * was lost before EXEC, a cluster redirection (MOVED, ASK, TRYAGAIN, CLUSTERDOWN), or (idempotent
 * calls only) EXEC's outcome was unknown.
 */
export type RetryReason = 'conflict' | 'connection' | 'redirect' | 'unknown';

/** How one attempt ended, when it did not throw. */
export type AttemptOutcome<T> =
  | { readonly kind: 'committed'; readonly value: T; readonly replies: unknown[] }
  | { readonly kind: 'retry'; readonly reason: RetryReason; readonly cause: unknown }
  | { readonly kind: 'wait' };

/** Thrown into races when the call's scope stops; never escapes this module. */
const STOPPED = Symbol('stopped');
const noop = () => {};

/**
 * One attempt: lease a connection, WATCH, run `fn`, and EXEC what it queued. WATCH is not awaited
 * before `fn` runs, so it travels with `fn`'s first reads, and MULTI, the queued commands and EXEC
 * travel together: two round trips when uncontended.
 *
 * Throws `fn`'s error unchanged, a stop error, a command error, or outcome unknown; returns a
 * retry outcome for conflicts and for connections lost before EXEC was sent.
 */
export async function runAttempt<T>(call: TransactionCall<T>, attempt: number): Promise<AttemptOutcome<T>> {
  let connection: DedicatedConnection;
  let pool: ConnectionPool;
  try {
    pool = call.route.pool();
    connection = await pool.acquire(call.scope.abortable, STOPPED);
  } catch (err) {
    if (err === STOPPED) throw call.scope.stopError(call.keys, attempt);
    if (err instanceof TransactorClosedError) throw err;
    return { kind: 'retry', reason: 'connection', cause: err };
  }
  const lease = { connection, reusable: true };
  try {
    return await attemptOn(lease, call, attempt);
  } finally {
    pool.release(connection, lease.reusable);
  }
}

interface Lease {
  readonly connection: DedicatedConnection;
  reusable: boolean;
}

async function attemptOn<T>(lease: Lease, call: TransactionCall<T>, attempt: number): Promise<AttemptOutcome<T>> {
  const { connection } = lease;
  const { keys, scope, guard } = call;
  const guarded = guard?.begin(connection);
  const watches: Promise<unknown>[] = [connection.watch(guarded ? [...keys, ...guarded] : keys)];
  watches[0]!.catch(noop);
  guard?.probe(connection);
  const { builder, commit } = connection.multi();
  let ended = false;
  const context: TransactionContext<unknown, unknown> = {
    read: connection.client,
    write: builder,
    attempt,
    signal: scope.signal,
    watch: (...more: string[]) => {
      if (ended) return Promise.reject(new TransactUsageError('t.watch() was called after its attempt ended'));
      let valid: string[];
      try {
        valid = validateKeys(more, 't.watch()');
        call.route.check(valid);
      } catch (err) {
        return Promise.reject(err);
      }
      const watched = connection.watch(valid);
      watched.catch(noop);
      watches.push(watched);
      return watched.then(noop);
    },
  };

  let value: T;
  try {
    value = await scope.race(invoke(call.fn, context), STOPPED);
  } catch (err) {
    ended = true;
    return failedBeforeExec(err, lease, call, attempt);
  }
  ended = true;
  try {
    // A WATCH that failed must not be followed by EXEC: it would commit unguarded.
    await Promise.all(watches);
  } catch (err) {
    if (!connection.alive || call.route.redirected(err) || isTransientReply(err)) return failedBeforeExec(err, lease, call, attempt);
    connection.abandonWatch();
    throw new TransactCommandError({ keys, attempts: attempt, applied: 'none', cause: err });
  }
  if (scope.stopped || !connection.alive) {
    return failedBeforeExec(scope.stopped ? STOPPED : new Error('connection lost before EXEC'), lease, call, attempt);
  }
  if (guard) {
    let verdict: 'go' | 'wait' | 'recheck';
    try {
      verdict = await guard.check();
    } catch (err) {
      return failedBeforeExec(err, lease, call, attempt);
    }
    if (verdict !== 'go') {
      connection.abandonWatch();
      return verdict === 'wait' ? { kind: 'wait' } : { kind: 'retry', reason: 'conflict', cause: undefined };
    }
    guard.beforeExec(builder);
  }

  let replies: unknown[];
  try {
    replies = await scope.race(commit(), STOPPED);
  } catch (err) {
    const outcome = failedAtExec(err, lease, call, attempt);
    if (guard && outcome.kind === 'retry' && outcome.reason === 'conflict') await guard.afterAbort();
    return outcome;
  }
  if (guard) {
    guard.committed();
    replies = replies.slice(0, -1); // the guard's own command (the lock release) is not the caller's
  }
  // No reply at all means nothing was queued and EXEC was skipped: drop the WATCH.
  if (replies.length === 0 && !guard) connection.abandonWatch();
  return { kind: 'committed', value, replies };
}

/** Nothing was sent past WATCH and reads: retry on a dead connection, otherwise end the call. */
function failedBeforeExec(err: unknown, lease: Lease, call: TransactionCall<unknown>, attempt: number): AttemptOutcome<never> {
  if (err === STOPPED) {
    lease.reusable = false; // fn may still be running commands on it
    throw call.scope.stopError(call.keys, attempt);
  }
  if (!lease.connection.alive) {
    lease.reusable = false;
    return { kind: 'retry', reason: 'connection', cause: err };
  }
  lease.connection.abandonWatch();
  // A read or WATCH answered MOVED/ASK/TRYAGAIN/CLUSTERDOWN (fn may have rethrown it): retry
  // where the slot lives now.
  if (call.route.redirected(err)) return { kind: 'retry', reason: 'redirect', cause: err };
  if (isTransientReply(err)) return { kind: 'retry', reason: 'connection', cause: err };
  throw err;
}

/** Sorts an EXEC failure into: not sent, conflict, refused by Redis, or outcome unknown. */
function failedAtExec(err: unknown, lease: Lease, call: TransactionCall<unknown>, attempt: number): AttemptOutcome<never> {
  const { keys } = call;
  if (isWatchError(err)) return { kind: 'retry', reason: 'conflict', cause: err };
  if (isMultiErrorReply(err)) {
    throw new TransactCommandError({
      keys, attempts: attempt, applied: 'partial', cause: err, replies: err.replies, errorIndexes: err.errorIndexes,
    });
  }
  // A queue-time error reply (EXECABORT): Redis discarded the whole transaction; on a cluster
  // MOVED/ASK/TRYAGAIN/CLUSTERDOWN are such replies, and worth another try on the right node.
  if (call.route.redirected(err)) return { kind: 'retry', reason: 'redirect', cause: err };
  if (isTransientReply(err)) return { kind: 'retry', reason: 'connection', cause: err };
  if (isErrorReply(err)) throw new TransactCommandError({ keys, attempts: attempt, applied: 'none', cause: err });
  lease.reusable = false;
  // Refused before anything was queued on the socket.
  if (isClientClosedError(err)) return { kind: 'retry', reason: 'connection', cause: err };
  const cause = err === STOPPED ? call.scope.stopError(keys, attempt) : err;
  if (call.idempotent && err !== STOPPED) return { kind: 'retry', reason: 'unknown', cause };
  throw new TransactOutcomeUnknownError({ keys, attempts: attempt, cause });
}

function invoke<T>(fn: TransactionFn<T>, context: TransactionContext<unknown, unknown>): Promise<T> {
  try {
    return Promise.resolve(fn(context));
  } catch (err) {
    return Promise.reject(err);
  }
}
