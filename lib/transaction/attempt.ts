import type { Lanes } from '../coalescing/lanes.js';
import { Seat, type SeatExit } from '../coalescing/lane.js';
import type { RetryReason } from '../observability/events.js';
import type { Observer } from '../observability/observer.js';
import type { Route } from '../topology/topology.js';
import { TransactCommandError, TransactOutcomeUnknownError } from '../errors/transaction-errors.js';
import { isTransactError } from '../errors/base.js';
import { TransactorClosedError, TransactUsageError } from '../errors/usage-errors.js';
import type { CallScope } from './call-scope.js';
import type { CommitGuard } from './commit-guard.js';
import type { TransactionContext } from './context.js';
import { validateKeys } from './keys.js';
import { runAsFn } from './nesting.js';
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
  /** Where same-key transactions of this process wait their turn. */
  readonly lanes: Lanes;
  /** Lock mode's additions to each attempt; absent in optimistic mode. */
  readonly guard?: CommitGuard;
  /** Counts and reports what happens. */
  readonly observer: Observer;
}

/** Attempts made so far by one call: runs of `fn`, and of those, the ones that waited for a lock. */
export interface AttemptCount {
  attempts: number;
  waits: number;
}

/** How one attempt ended, when it did not throw. */
export type AttemptOutcome<T> =
  | { readonly kind: 'committed'; readonly value: T; readonly replies: unknown[] }
  | { readonly kind: 'retry'; readonly reason: RetryReason; readonly cause: unknown };

/** Besides an outcome: wait for the lock, then run again; or run again at once (lock taken after WATCH). */
type AttemptStep<T> = AttemptOutcome<T> | { readonly kind: 'wait' } | { readonly kind: 'again' };

/** Thrown into races when the call's scope stops; never escapes this module. */
const STOPPED = Symbol('stopped');
const noop = () => {};

/**
 * One attempt: take this key set's turn (and its connection), WATCH, run `fn`, and EXEC what it
 * queued. WATCH is not awaited before `fn` runs, so it travels with `fn`'s first reads, and MULTI,
 * the queued commands and EXEC travel together: two round trips when uncontended. The turn passes
 * to the next same-key transaction as soon as EXEC is on the wire.
 *
 * In lock mode, a busy lock is waited for while keeping the turn (so other transactions of this
 * process on these keys do not each queue in Redis), and the attempt runs again.
 *
 * Throws `fn`'s error unchanged, a stop error, a command error, or outcome unknown; returns a
 * retry outcome for conflicts and for connections lost before EXEC was sent.
 */
export async function runAttempt<T>(call: TransactionCall<T>, count: AttemptCount, retrying: boolean): Promise<AttemptOutcome<T>> {
  const taken = await takeSeat(call, count, retrying);
  if (!(taken instanceof Seat)) return taken;
  const lease: Lease = { seat: taken, exit: 'keep' };
  try {
    for (;;) {
      call.observer.attempt(call.keys, ++count.attempts, call.guard?.mode ?? 'optimistic');
      const step = await attemptOn(lease, call, count.attempts);
      if (step.kind !== 'wait' && step.kind !== 'again') return step;
      count.waits++; // not a failed attempt: it does not count against maxAttempts
      if (step.kind === 'again') continue;
      const attempt = count.attempts;
      const waiting = call.scope.bound(call.guard!.waitForTurn(call.scope, attempt), call.keys, attempt);
      waiting.catch(noop); // awaited below, on every path
      const lane = call.lanes.laneFor(call.keys);
      // Wait keeping the turn (other transactions of this process on these keys wait here, not
      // in Redis), unless a transaction of this lane holds the lock, or a retrying one (which may
      // hold it) comes for the turn meanwhile: then wait without the turn, and come back first.
      let aside = lane.lockHeldHere;
      if (!aside) {
        let stepAside!: () => void;
        const asked = new Promise<'aside'>((resolve) => (stepAside = () => resolve('aside')));
        lease.seat.park(stepAside);
        aside = (await Promise.race([waiting.then(() => 'locked' as const), asked])) === 'aside';
        if (!aside) {
          try {
            await lease.seat.resume(call.route, call.scope.abortable, STOPPED);
          } catch (err) {
            // The lock is ours, but no connection could be had to use it: retry like a lost one.
            if (err !== STOPPED && !(err instanceof TransactorClosedError)) return { kind: 'retry', reason: 'connection', cause: err };
            throw err;
          }
          continue;
        }
      }
      lease.seat.leave(lease.exit);
      await waiting;
      const again = await takeSeat(call, count, true);
      if (!(again instanceof Seat)) return again;
      lease.seat = again;
      lease.exit = 'keep';
    }
  } catch (err) {
    if (err === STOPPED) throw call.scope.stopError(call.keys, count.attempts);
    throw err;
  } finally {
    lease.seat.leave(lease.exit);
  }
}

/** Takes the keys' turn and a connection, or says why the attempt cannot start. */
async function takeSeat(call: TransactionCall<unknown>, count: AttemptCount, priority: boolean): Promise<Seat | AttemptOutcome<never>> {
  try {
    return await call.lanes.laneFor(call.keys).take(call.route, call.scope.abortable, STOPPED, priority);
  } catch (err) {
    count.attempts++;
    if (err === STOPPED) throw call.scope.stopError(call.keys, count.attempts);
    if (err instanceof TransactorClosedError) throw err;
    return { kind: 'retry', reason: 'connection', cause: err };
  }
}

interface Lease {
  seat: Seat;
  exit: SeatExit;
}

async function attemptOn<T>(lease: Lease, call: TransactionCall<T>, attempt: number): Promise<AttemptStep<T>> {
  const { connection } = lease.seat;
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
      let watched: Promise<unknown>;
      try {
        const valid = validateKeys(more, 't.watch()');
        call.route.check(valid);
        watched = connection.watch(valid);
      } catch (err) {
        watched = Promise.reject(err);
      }
      watches.push(watched);
      // Awaiting is optional: the engine awaits every WATCH before EXEC, so the promise handed
      // back must not count as unhandled when fn ignores it.
      const answer = watched.then(noop);
      answer.catch(noop);
      return answer;
    },
  };

  let value: T;
  const running = runAsFn({ owner: call.lanes, keys, pool: lease.seat.pool, connection }, () => invoke(call.fn, context));
  try {
    value = await scope.race(running.result, STOPPED);
  } catch (err) {
    ended = true;
    running.settled();
    return failedBeforeExec(err, lease, call, attempt);
  }
  ended = true;
  running.settled();
  try {
    // A WATCH that failed must not be followed by EXEC: it would commit unguarded.
    await scope.race(Promise.all(watches), STOPPED);
  } catch (err) {
    if (err === STOPPED || !connection.alive || call.route.redirected(err) || isTransientReply(err)) {
      return failedBeforeExec(err, lease, call, attempt);
    }
    connection.abandonWatch();
    if (isTransactError(err)) throw err; // a bad t.watch() argument fn did not await
    throw new TransactCommandError({ keys, attempts: attempt, applied: 'none', cause: err });
  }
  if (scope.stopped || !connection.alive) {
    return failedBeforeExec(scope.stopped ? STOPPED : new Error('connection lost before EXEC'), lease, call, attempt);
  }
  let ownCommands = 0;
  if (guard) {
    let verdict: 'go' | 'wait' | 'recheck';
    try {
      verdict = await scope.race(guard.check(), STOPPED);
    } catch (err) {
      return failedBeforeExec(err, lease, call, attempt);
    }
    if (verdict !== 'go') {
      connection.abandonWatch();
      return verdict === 'wait' ? { kind: 'wait' } : { kind: 'again' };
    }
    ownCommands = guard.beforeExec(builder);
  }

  let replies: unknown[];
  try {
    const committing = commit(); // MULTI..EXEC are queued on the connection now
    guard?.sentOn(connection, committing); // it carries the lock's release
    lease.seat.passTurn();
    replies = await scope.race(committing, STOPPED);
  } catch (err) {
    const outcome = failedAtExec(err, lease, call, attempt);
    if (guard && outcome.kind === 'retry' && outcome.reason === 'conflict') await scope.bound(guard.afterAbort(), keys, attempt);
    if (guard && outcome.kind === 'retry' && outcome.reason === 'unknown') guard.afterUnknown();
    return outcome;
  }
  guard?.committed();
  // What the guard queued after fn's commands (the lock release) is not the caller's.
  if (ownCommands > 0) replies = replies.slice(0, replies.length - ownCommands);
  // (Nothing queued: EXEC was skipped and the WATCH marked for dropping, by the connection.)
  return { kind: 'committed', value, replies };
}

/** Nothing was sent past WATCH and reads: retry on a dead connection, otherwise end the call. */
function failedBeforeExec(err: unknown, lease: Lease, call: TransactionCall<unknown>, attempt: number): AttemptStep<never> {
  if (err === STOPPED) {
    lease.exit = 'destroy'; // fn may still be running commands on it
    throw call.scope.stopError(call.keys, attempt);
  }
  if (!lease.seat.connection.alive) {
    lease.exit = 'destroy';
    return { kind: 'retry', reason: 'connection', cause: err };
  }
  lease.seat.connection.abandonWatch();
  // A read or WATCH answered MOVED/ASK/TRYAGAIN/CLUSTERDOWN (fn may have rethrown it): retry
  // where the slot lives now.
  if (call.route.redirected(err)) {
    lease.exit = 'return';
    return { kind: 'retry', reason: 'redirect', cause: err };
  }
  if (isTransientReply(err)) return { kind: 'retry', reason: 'connection', cause: err };
  throw err;
}

/** Sorts an EXEC failure into: not sent, conflict, refused by Redis, or outcome unknown. */
function failedAtExec(err: unknown, lease: Lease, call: TransactionCall<unknown>, attempt: number): AttemptStep<never> {
  const { keys } = call;
  if (isWatchError(err)) return { kind: 'retry', reason: 'conflict', cause: err };
  if (isMultiErrorReply(err)) {
    throw new TransactCommandError({
      keys, attempts: attempt, applied: 'partial', cause: err, replies: err.replies, errorIndexes: err.errorIndexes,
    });
  }
  // A queue-time error reply (EXECABORT): Redis discarded the whole transaction; on a cluster
  // MOVED/ASK/TRYAGAIN/CLUSTERDOWN are such replies, and worth another try on the right node.
  if (call.route.redirected(err)) {
    lease.exit = 'return';
    return { kind: 'retry', reason: 'redirect', cause: err };
  }
  if (isTransientReply(err)) return { kind: 'retry', reason: 'connection', cause: err };
  if (isErrorReply(err)) throw new TransactCommandError({ keys, attempts: attempt, applied: 'none', cause: err });
  lease.exit = 'destroy';
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
