import type { CallLocking } from '../coalescing/call-locking.js';
import type { Lanes } from '../coalescing/lanes.js';
import type { Seat, SeatExit } from '../coalescing/lane.js';
import type { ExecEnd } from '../coalescing/lane-lock.js';
import type { AttemptMode, RetryReason } from '../observability/events.js';
import type { Observer } from '../observability/observer.js';
import type { Route } from '../topology/topology.js';
import { TransactCommandError, TransactOutcomeUnknownError } from '../errors/transaction-errors.js';
import { isTransactError } from '../errors/base.js';
import { TransactorClosedError, TransactUsageError } from '../errors/usage-errors.js';
import type { CallScope } from './call-scope.js';
import type { TransactionContext } from './context.js';
import { validateKeys } from '../validation/keys.js';
import { runAsFn } from './nesting.js';
import { isClientClosedError, isErrorReply, isMultiErrorReply, isWatchError } from '../connection/node-redis-errors.js';
import { isTransientReply } from '../connection/transient-replies.js';
import type { CommitMarker, CommitMarkerRef } from '../exactly-once/commit-marker.js';
import { settleOutcome, settleWindow } from '../exactly-once/settle-outcome.js';

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
  /** Where same-key transactions of this process wait their turn (and share their lock). */
  readonly lanes: Lanes;
  /** Whether attempts run under the lane's lock: the call's mode. */
  readonly locking: CallLocking;
  /** Counts and reports what happens. */
  readonly observer: Observer;
  /** Set for an exactly-once call: each attempt's commit marker, to settle a lost EXEC reply. */
  readonly marker: CommitMarker | undefined;
}

/** Attempts made so far by one call: runs of `fn`, and of those, the ones that gave way to a lock. */
export interface AttemptCount {
  attempts: number;
  waits: number;
  /** The mode of the latest attempt. */
  mode: AttemptMode;
}

/** How one attempt ended, when it did not throw. */
export type AttemptOutcome<T> =
  | {
      readonly kind: 'committed';
      readonly value: T;
      readonly replies: unknown[];
      /** EXEC's reply was lost and the commit was settled by its marker: `replies` is empty. */
      readonly repliesLost?: true;
    }
  | { readonly kind: 'retry'; readonly reason: RetryReason; readonly cause: unknown }
  /** Another process holds the keys' lock: run again at once, under the lock (not a failed attempt). */
  | { readonly kind: 'give-way' };

/** Thrown into races when the call's scope stops; never escapes this module. */
const STOPPED = Symbol('stopped');
const noop = () => {};

/**
 * One attempt: take this key set's turn (with its lock, in lock mode, and its connection), WATCH,
 * run `fn`, and EXEC what it queued. WATCH is not awaited before `fn` runs, so it travels with
 * `fn`'s first reads, and MULTI, the queued commands and EXEC travel together: two round trips
 * when uncontended. The turn passes to the next same-key transaction as soon as EXEC is on the
 * wire. What a mode adds (lock keys watched and read, the release queued) comes from the seat's
 * fence; the attempt never waits for a lock (the lane does, before the attempt starts).
 *
 * Throws `fn`'s error unchanged, a stop error, a command error, a lock error, or outcome unknown;
 * returns a retry outcome for conflicts and for connections lost before EXEC was sent.
 */
export async function runAttempt<T>(call: TransactionCall<T>, count: AttemptCount, retrying: boolean): Promise<AttemptOutcome<T>> {
  let seat: Seat;
  try {
    seat = await call.lanes.laneFor(call.keys).take({
      route: call.route,
      signal: call.scope.abortable,
      stopped: STOPPED,
      remainingMs: () => call.scope.remainingMs(),
      priority: retrying,
      locking: call.locking,
    });
  } catch (err) {
    count.attempts++;
    if (err === STOPPED) throw call.scope.stopError(call.keys, count.attempts);
    if (err instanceof TransactorClosedError || isTransactError(err)) throw err;
    if (isErrorReply(err) && !isTransientReply(err) && !call.route.redirected(err)) throw err; // NOPERM on the lock keys...
    return { kind: 'retry', reason: 'connection', cause: err };
  }
  const lease: Lease = { seat, exit: 'keep' };
  const attempt = ++count.attempts;
  try {
    count.mode = seat.fence?.mode ?? 'optimistic';
    call.observer.attempt(call.keys, attempt, count.mode);
    if (seat.fence?.mode === 'lock') call.locking.underLock(attempt);
    const outcome = await attemptOn(lease, call, attempt);
    if (outcome.kind === 'give-way') {
      count.waits++; // not a failed attempt: it does not count against maxAttempts
      call.locking.gaveWay(attempt);
    }
    return outcome;
  } catch (err) {
    if (err === STOPPED) throw call.scope.stopError(call.keys, attempt);
    throw err;
  } finally {
    seat.leave(lease.exit);
  }
}

interface Lease {
  seat: Seat;
  exit: SeatExit;
}

async function attemptOn<T>(lease: Lease, call: TransactionCall<T>, attempt: number): Promise<AttemptOutcome<T>> {
  const { connection, fence } = lease.seat;
  const { keys, scope } = call;
  // Only auto mode asks whether a conflict may be this process's own doing.
  const mark = call.locking.attributesConflicts ? call.lanes.mark() : undefined;
  const fenced = fence?.begin(connection);
  if (fence && !fenced) return { kind: 'give-way' }; // nothing sent, fn not run: again, with a fresh fence
  const markerKey = call.marker?.keyOf(attempt);
  const watched = fenced || markerKey ? [...keys, ...(fenced ?? []), ...(markerKey ? [markerKey] : [])] : keys;
  const watches: Promise<unknown>[] = [connection.watch(watched)];
  watches[0]!.catch(noop);
  fence?.probe(connection);
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
  let fenceCommands = 0;
  if (fence) {
    try {
      if ((await scope.race(fence.check(), STOPPED)) === 'give-way') {
        connection.abandonWatch();
        return { kind: 'give-way' };
      }
    } catch (err) {
      if (isTransactError(err)) connection.abandonWatch(); // the lock was lost: nothing is sent
      return failedBeforeExec(err, lease, call, attempt);
    }
    fenceCommands = fence.beforeExec(builder);
  }
  const markerWrite = call.marker?.writeOf(attempt);
  let marker: CommitMarkerRef | undefined;

  let replies: unknown[];
  // Whether the writer of a conflict may be this process: an EXEC of an overlapping key set
  // went out since this attempt's WATCH (judged before this attempt's own EXEC counts).
  const localWriter = mark !== undefined && call.lanes.execSinceOn(keys, mark);
  // MULTI..EXEC are queued on the connection now, with the marker first when fn queued anything
  // (when it queued nothing, there is nothing to apply exactly once).
  const sent = commit(markerWrite, fenceCommands);
  if (sent.refused) {
    connection.abandonWatch();
    throw sent.refused; // nothing was sent: fn queued a command that has no place in MULTI
  }
  try {
    const committing = sent.replies;
    if (sent.marked) marker = call.marker!.refOf(markerWrite!);
    call.lanes.execSent(keys);
    // It carries the lock's release: it must land before anything that cleans up after this call.
    if (fenceCommands > 0) connection.mustLand(committing);
    lease.seat.passTurn();
    replies = await scope.race(committing, STOPPED);
  } catch (err) {
    const partial = fenceCommands > 0 && isMultiErrorReply(err) ? err : undefined;
    const fenceFrom = partial ? partial.replies.length - fenceCommands : 0;
    const ownFailed = partial?.errorIndexes.some((i) => i >= fenceFrom) ?? false;
    if (partial && ownFailed && partial.errorIndexes.every((i) => i >= fenceFrom)) {
      // Only what the fence queued failed (its script missing from the cache after a restart or
      // SCRIPT FLUSH): the writes committed; the lane lets go of the lock by token instead.
      lease.seat.execEnded('committed-unreleased');
      return { kind: 'committed', value, replies: partial.replies.slice(0, fenceFrom) };
    }
    // EXEC ran; if the fence's release failed with fn's commands, the lane releases by token.
    const end = execEnd(err, call);
    lease.seat.execEnded(ownFailed ? 'committed-unreleased' : end);
    if (call.marker && end === 'unknown') {
      // Its connection is done for: drop it, and let the lane's next transaction go, before settling.
      lease.seat.leave('destroy');
      if (marker) return settleLostReply(err, marker, value, call, attempt);
      // Only the fence's commands went out (the lock's release): none of the caller's writes.
      if (err === STOPPED || call.scope.stopped) throw call.scope.stopError(keys, attempt);
      return { kind: 'retry', reason: 'connection', cause: err };
    }
    const outcome = failedAtExec(err, lease, call, attempt);
    if (outcome.reason === 'conflict') {
      call.locking.conflicted(attempt, localWriter);
      if (fence?.mode === 'lock') await scope.bound(lease.seat.confirmLock(), keys, attempt);
    }
    return outcome;
  }
  lease.seat.execEnded('committed');
  // What the fence queued after fn's commands (the lock's release) is not the caller's.
  if (fenceCommands > 0) replies = replies.slice(0, replies.length - fenceCommands);
  // (Nothing queued: EXEC was skipped and the WATCH marked for dropping, by the connection.)
  return { kind: 'committed', value, replies };
}

/**
 * EXEC was sent and its reply lost (the connection dropped, or the call was stopped while it was
 * on its way): settle whether it ran by claiming its marker, within the call's deadline (at least
 * a grace period). Committed: the call's result, without replies. Not committed: nothing was
 * written and nothing can be, so the call retries (or ends with its stop error). Not settled:
 * outcome unknown, with what it takes to settle it later.
 */
async function settleLostReply<T>(
  err: unknown,
  marker: CommitMarkerRef,
  value: T,
  call: TransactionCall<T>,
  attempt: number,
): Promise<AttemptOutcome<T>> {
  const { keys, scope } = call;
  const stopped = err === STOPPED;
  const cause = stopped ? scope.stopError(keys, attempt) : err;
  try {
    const window = settleWindow(scope.remainingMs(), scope.stopped);
    const outcome = await settleOutcome(call.route, marker, call.marker!.ttlMs, window);
    if (outcome === 'committed') return { kind: 'committed', value, replies: [], repliesLost: true };
  } catch (settleError) {
    if (call.idempotent && !stopped && !scope.stopped) return { kind: 'retry', reason: 'unknown', cause };
    throw new TransactOutcomeUnknownError({ keys, attempts: attempt, cause, commitMarker: marker, settleError });
  }
  if (stopped || scope.stopped) throw scope.stopError(keys, attempt); // nothing was written
  return { kind: 'retry', reason: 'connection', cause: err };
}

/** Whether an EXEC that failed ran (and with it a release it carried). */
function execEnd(err: unknown, call: TransactionCall<unknown>): ExecEnd {
  if (isWatchError(err) || isClientClosedError(err)) return 'aborted';
  if (isMultiErrorReply(err)) return 'committed';
  if (err !== STOPPED && (isErrorReply(err) || call.route.redirected(err))) return 'aborted'; // EXECABORT: nothing ran
  return 'unknown';
}

/** Nothing was sent past WATCH and reads: retry on a dead connection, otherwise end the call. */
function failedBeforeExec(err: unknown, lease: Lease, call: TransactionCall<unknown>, attempt: number): AttemptOutcome<never> {
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
function failedAtExec(err: unknown, lease: Lease, call: TransactionCall<unknown>, attempt: number): Extract<AttemptOutcome<never>, { kind: 'retry' }> {
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
