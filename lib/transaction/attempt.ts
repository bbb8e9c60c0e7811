/**
 * One attempt of a transaction, start to end: take the key set's turn (with the lane's lock, in
 * lock mode, and a connection), WATCH, run `fn`, commit what it queued, and classify what became of
 * it. `run-transaction.ts` runs attempts until one commits or the retry policy gives up.
 */
import type { ConflictLedger } from '../adaptive/conflict-ledger.js';
import type { CallLocking } from '../coalescing/call-locking.js';
import type { Lanes } from '../coalescing/lanes.js';
import type { ConnectionFate, Seat } from '../coalescing/seat.js';
import type { Transaction } from '../connection/connection.js';
import { failedCommandsOf } from '../connection/errors.js';
import { TransactCommandError, TransactOutcomeUnknownError } from '../errors/transaction-errors.js';
import { TransactUsageError } from '../errors/usage-errors.js';
import type { CommitMarker, CommitMarkerRef } from '../exactly-once/commit-marker.js';
import { settleOutcome, settleWindow } from '../exactly-once/settle-outcome.js';
import type { AttemptMode, RetryReason } from '../observability/events.js';
import type { Observer } from '../observability/observer.js';
import type { Route } from '../topology/topology.js';
import type { Cleanup } from '../util/cleanup.js';
import { noop } from '../util/noop.js';
import { raceAbortWithin } from '../util/race-abort.js';
import { STOPPED } from '../util/stopped.js';
import type { KeySet } from '../validation/key-set.js';
import { validateKeys } from '../validation/keys.js';
import type { CallScope } from './call-scope.js';
import { classify, type Phase, type Verdict } from './classify.js';
import type { AttemptFaults, BeforeExecPoint } from './attempt-faults.js';
import type { TransactionContext } from './context.js';
import { runAsFn } from './nesting.js';

/** The user's transaction function, as the engine sees it. */
export type TransactionFn<T> = (t: TransactionContext<any, any>) => T | Promise<T>;

/** Everything one `transact` call needs across its attempts. */
export interface TransactionCall<T> {
  readonly keySet: KeySet;
  readonly fn: TransactionFn<T>;
  readonly idempotent: boolean;
  readonly scope: CallScope;
  /** Where the keys live: the pool to lease from, slot checks and redirections on a cluster. */
  readonly route: Route;
  /** Where same-key transactions of this process wait their turn (and share their lock). */
  readonly lanes: Lanes;
  /** Whether attempts run under the lane's lock: the call's mode. */
  readonly locking: CallLocking;
  /** The transactor's recent EXECs, for auto mode to tell its own conflicts from other processes'. */
  readonly ledger: ConflictLedger;
  /** Counts and reports what happens. */
  readonly observer: Observer;
  /** Set for an exactly-once call: each attempt's commit marker, to settle a lost EXEC reply. */
  readonly marker: CommitMarker | undefined;
  /** Replicas to wait for after the commit (`WAIT`), if any. */
  readonly replication?: { readonly replicas: number; readonly timeoutMs: number; readonly required?: boolean | undefined } | undefined;
  /** Faults to inject (the testing kit): none for a call of the app. */
  readonly faults?: AttemptFaults | undefined;
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
      /** Replicas that acknowledged the commit, when the call waits for them. */
      readonly replicatedTo?: number;
    }
  | { readonly kind: 'retry'; readonly reason: RetryReason; readonly cause: unknown }
  /** Another process holds the keys' lock: run again at once, under the lock (not a failed attempt). */
  | { readonly kind: 'give-way' };

const GIVE_WAY = Object.freeze({ kind: 'give-way' as const });

/** How much longer than WAIT's own timeout its reply may take (a round trip on a busy machine). */
const WAIT_REPLY_MARGIN_MS = 1_000;

/**
 * Runs one attempt. WATCH is not awaited before `fn` runs, so it travels with `fn`'s first reads,
 * and MULTI, the queued commands and EXEC travel together: two round trips when uncontended. What
 * a mode adds (lock keys watched and read, the release sent with EXEC) comes from the seat's fence;
 * the attempt never waits for a lock (the lane does, before the attempt starts).
 *
 * Throws `fn`'s error unchanged, a stop error, a command error, a lock error, or outcome unknown;
 * returns a retry outcome for conflicts and for connections lost before EXEC was sent. Settles only
 * once the attempt's cleanup (its seat left, a lock let go of) is done.
 */
export async function runAttempt<T>(call: TransactionCall<T>, count: AttemptCount, retrying: boolean): Promise<AttemptOutcome<T>> {
  let seat: Seat;
  try {
    const taken = call.lanes.laneFor(call.keySet).take({
      route: call.route,
      signal: call.scope.abortable,
      remainingMs: () => call.scope.remainingMs(),
      priority: retrying,
      locking: call.locking,
    });
    seat = taken instanceof Promise ? await taken : taken;
  } catch (err) {
    const attempt = ++count.attempts;
    return conclude(classify(err, 'turn', factsOf(err, call, true)), err, call, attempt);
  }
  const attempt = ++count.attempts;
  let run: Attempt<T> | undefined;
  try {
    count.mode = seat.fence?.mode ?? 'optimistic';
    call.observer.attempt(call.keySet.keys, attempt, count.mode);
    run = new Attempt(call, seat, attempt);
    const outcome = await run.run();
    if (outcome.kind === 'give-way') {
      count.waits++; // not a failed attempt: it does not count against maxAttempts
      call.locking.gaveWay(attempt);
    }
    return outcome;
  } finally {
    const cleanup = run ? run.end() : seat.leave('keep');
    if (cleanup) await cleanup;
  }
}

/** One attempt on its seat: the protocol, top to bottom, in {@link Attempt.run}. */
class Attempt<T> {
  readonly #call: TransactionCall<T>;
  readonly #seat: Seat;
  readonly #number: number;
  readonly #transaction: Transaction;
  /** What becomes of the connection when the seat is left. */
  #fate: ConnectionFate = 'keep';
  /** `fn` has settled: `t.watch` refuses from then on. */
  #fnDone = false;

  constructor(call: TransactionCall<T>, seat: Seat, number: number) {
    this.#call = call;
    this.#seat = seat;
    this.#number = number;
    const transaction = seat.connection.transaction();
    this.#transaction = call.faults ? call.faults.transaction(number, transaction, seat.connection) : transaction;
  }

  async run(): Promise<AttemptOutcome<T>> {
    const call = this.#call;
    const { keys } = call.keySet;
    const { connection, fence } = this.#seat;

    // 1. WATCH the keys, with what the fence (lock keys) and the marker add, and the fence's probe:
    //    they go out in one write with fn's first reads.
    const mark = call.locking.attributesConflicts ? call.ledger.mark() : undefined;
    const fenced = fence?.begin(connection);
    if (fence && !fenced) return GIVE_WAY; // nothing sent, fn not run: again, with a fresh fence
    const markerKey = call.marker?.keyOf(this.#number);
    const watched = fenced || markerKey ? [...keys, ...(fenced ?? []), ...(markerKey ? [markerKey] : [])] : keys;
    const watches: Promise<unknown>[] = [connection.watch(watched)];
    watches[0]!.catch(noop);
    fence?.probe(connection);

    // 2. fn reads with t.read and queues its writes on t.write.
    let value: T;
    const running = runAsFn({ owner: call.lanes, keySet: call.keySet, pool: this.#seat.pool, connection }, () =>
      invoke(call.fn, this.#context(watches)),
    );
    try {
      value = await call.scope.race(running.result);
    } catch (err) {
      return this.#failed(err, 'run');
    } finally {
      this.#fnDone = true;
      running.settled();
    }

    // 3. Before EXEC: every WATCH answered (one that failed must never be followed by EXEC: it
    //    would commit unguarded), the call still on, the connection up, and the fence's verdict.
    try {
      // Most attempts watch once (fn called no t.watch()): that WATCH's reply, with no Promise.all.
      await call.scope.race(watches.length === 1 ? watches[0]! : Promise.all(watches));
    } catch (err) {
      return this.#failed(err, 'watch');
    }
    if (call.scope.stopped) return this.#failed(STOPPED, 'run');
    if (call.faults) {
      try {
        await call.scope.race(call.faults.beforeExec(this.#beforeExecPoint(fenced)));
      } catch (err) {
        return this.#failed(err, 'run');
      }
    }
    if (!connection.alive) return this.#failed(new Error('connection lost before EXEC'), 'run');
    if (fence) {
      try {
        if ((await call.scope.race(fence.check())) === 'give-way') {
          connection.abandonWatch();
          return GIVE_WAY;
        }
      } catch (err) {
        return this.#failed(err, 'run');
      }
    }

    // 4. Commit: MULTI, the marker (exactly-once), what fn queued, what the fence adds, EXEC.
    const write = call.marker?.writeOf(this.#number);
    const ref = write && call.marker!.refOf(write); // stamped before EXEC goes out
    // Whether the writer of a conflict may be this process: an EXEC of an overlapping key set went
    // out since this attempt's WATCH (judged before this attempt's own EXEC counts).
    const localWriter = mark !== undefined && call.ledger.execSinceOn(keys, mark);
    call.ledger.execSent(keys);
    const { replication } = call;
    // The replicas' wait ends by the call's deadline too: the server's timeout, and a local bound.
    const waitMs = replication ? Math.max(1, Math.min(replication.timeoutMs, Math.floor(call.scope.remainingMs()))) : 0;
    const exec = await this.#seat.commit(
      this.#transaction,
      write,
      { race: (reply) => call.scope.race(reply), classify: (err) => this.#classify(err, 'exec') },
      replication && ['WAIT', String(replication.replicas), String(waitMs)],
    );

    // 5. What became of it.
    if (exec.kind === 'committed') {
      if (!exec.after) return { kind: 'committed', value, replies: exec.replies };
      return { kind: 'committed', value, replies: exec.replies, replicatedTo: await this.#replicatedTo(exec.after, waitMs) };
    }
    if (exec.kind === 'lock-lost') throw exec.error;
    const { error, verdict } = exec;
    this.#fate = verdict.connection;
    if (verdict.abandonWatch) this.#seat.connection.abandonWatch();
    if (verdict.next.do === 'retry' && verdict.next.reason === 'conflict') call.locking.conflicted(this.#number, localWriter);
    if (verdict.ran === 'unknown') {
      // None of fn's commands went out (only the lock's release did): its data is untouched.
      if (!exec.wrote) return conclude(nothingWritten(error, call), error, call, this.#number);
      if (ref && exec.marked) {
        // Its connection is done for: drop it, and let the lane's next transaction go, before settling.
        await this.#seat.leave('destroy');
        return this.#settle(error, ref, value);
      }
    }
    return conclude(verdict, error, call, this.#number);
  }

  /** Seals `t.write` and leaves the seat; what the lane leaves to clean up, if anything. */
  end(): Cleanup {
    this.#transaction.seal();
    return this.#seat.leave(this.#fate);
  }

  #context(watches: Promise<unknown>[]): TransactionContext<unknown, unknown> {
    const call = this.#call;
    const { connection } = this.#seat;
    return {
      read: connection.reader,
      write: this.#transaction.builder,
      attempt: this.#number,
      signal: call.scope.signal,
      watch: (...more: string[]) => {
        if (this.#fnDone) return Promise.reject(new TransactUsageError('t.watch() was called after its attempt ended'));
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
  }

  /**
   * How many replicas acknowledged the commit: WAIT's answer. The commit stands whatever it is, so
   * nothing here fails the call: an error reply, a dropped connection, or no answer by the wait's
   * end (plus a margin) or the call's stop counts none. A connection whose WAIT is still pending
   * on the server is not reused.
   */
  async #replicatedTo(wait: Promise<unknown>, waitMs: number): Promise<number> {
    try {
      const count = await raceAbortWithin(wait, { signal: this.#call.scope.abortable, ms: waitMs + WAIT_REPLY_MARGIN_MS }, STOPPED);
      // A client set to return numbers as strings (ioredis's stringNumbers) hands '2' back.
      const replicas = Number(count);
      return Number.isInteger(replicas) && replicas >= 0 ? replicas : 0;
    } catch (err) {
      if (err === STOPPED || !this.#seat.connection.alive) this.#fate = 'destroy';
      return 0;
    }
  }

  #beforeExecPoint(fenced: readonly string[] | undefined): BeforeExecPoint {
    const { connection, fence } = this.#seat;
    const serverName = (key: string) => String(connection.prefixed(key));
    return {
      attempt: this.#number,
      serverKeys: this.#call.keySet.keys.map(serverName),
      // A lock-aware optimistic attempt watches the lock keys too, but holds no lock.
      serverLockKeys: fence?.mode === 'lock' && fenced ? fenced.map(serverName) : [],
    };
  }

  #classify(err: unknown, phase: Phase): Verdict {
    return classify(err, phase, factsOf(err, this.#call, this.#seat.connection.alive));
  }

  /** The attempt ended before EXEC was sent: what the classifier says, applied. */
  #failed(err: unknown, phase: Phase): AttemptOutcome<never> {
    const verdict = this.#classify(err, phase);
    this.#fate = verdict.connection;
    if (verdict.abandonWatch) this.#seat.connection.abandonWatch();
    return conclude(verdict, err, this.#call, this.#number);
  }

  /**
   * EXEC was sent and its reply lost (the connection dropped, or the call was stopped while it was
   * on its way): settle whether it ran by claiming its marker, within the call's deadline (at least
   * a grace period). Committed: the call's result, without replies. Not committed: nothing was
   * written and nothing can be, so the call retries (or ends with its stop error). Not settled:
   * outcome unknown, with what it takes to settle it later.
   */
  async #settle(err: unknown, marker: CommitMarkerRef, value: T): Promise<AttemptOutcome<T>> {
    const call = this.#call;
    const { keys } = call.keySet;
    const { scope } = call;
    const stopped = err === STOPPED || scope.stopped;
    const cause = err === STOPPED ? scope.stopError(keys, this.#number) : err;
    try {
      const window = settleWindow(scope.remainingMs(), scope.stopped);
      const outcome = await settleOutcome(call.route, marker, call.marker!.ttlMs, window);
      if (outcome === 'committed') return { kind: 'committed', value, replies: [], repliesLost: true };
    } catch (settleError) {
      if (call.idempotent && !stopped) return { kind: 'retry', reason: 'unknown', cause };
      throw new TransactOutcomeUnknownError({ keys, attempts: this.#number, cause, commitMarker: marker, settleError });
    }
    if (stopped) throw scope.stopError(keys, this.#number); // nothing was written
    return { kind: 'retry', reason: 'connection', cause: err };
  }
}

/** What the classifier needs besides the error. */
function factsOf(err: unknown, call: TransactionCall<unknown>, alive: boolean) {
  return { alive, redirected: call.route.redirected(err), idempotent: call.idempotent };
}

/** A lost EXEC reply that carried none of `fn`'s commands: nothing of the call was written. */
function nothingWritten(err: unknown, call: TransactionCall<unknown>): Verdict {
  const next = err === STOPPED || call.scope.stopped ? { do: 'stop' as const } : { do: 'retry' as const, reason: 'connection' as const };
  return { next, connection: 'destroy', ran: 'unknown', abandonWatch: false };
}

/** Applies a verdict's next step: an outcome to retry, or the error that ends the call. */
function conclude(verdict: Verdict, err: unknown, call: TransactionCall<unknown>, attempts: number): AttemptOutcome<never> {
  const { keys } = call.keySet;
  const { next } = verdict;
  switch (next.do) {
    case 'retry':
      return { kind: 'retry', reason: next.reason, cause: err };
    case 'stop':
      throw call.scope.stopError(keys, attempts);
    case 'rethrow':
      throw err;
    case 'refused':
      throw new TransactCommandError({ keys, attempts, applied: next.applied, cause: err, ...failedCommandsOf(err) });
    case 'unknown':
      throw new TransactOutcomeUnknownError({ keys, attempts, cause: err === STOPPED ? call.scope.stopError(keys, attempts) : err });
  }
}

function invoke<T>(fn: TransactionFn<T>, context: TransactionContext<unknown, unknown>): Promise<T> {
  try {
    return Promise.resolve(fn(context));
  } catch (err) {
    return Promise.reject(err);
  }
}
