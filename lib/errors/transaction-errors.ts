import { describeKeys, hasTransactCode, nameError, TransactError } from './base.js';

/** What every transaction failure tells the caller: which keys, after how many attempts. */
export interface TransactionFailure {
  /** The keys passed to `transact` (after de-duplication). */
  readonly keys: readonly string[];
  /** Attempts made, including the one that failed (1-based). */
  readonly attempts: number;
  /** The error behind this one, when there is one. */
  readonly cause?: unknown;
}

/**
 * What it takes to settle one attempt's lost EXEC later: the marker key its EXEC would have set,
 * the value it would have set it to, and until when the answer can be trusted.
 */
export interface CommitMarkerRef {
  /** The marker key, as node-redis commands take it (the client's key prefix is added by node-redis). */
  readonly key: string;
  /** The attempt's id: the marker holds it if, and only if, the attempt committed. */
  readonly attemptId: string;
  /**
   * Epoch milliseconds (`Date.now()`) after which the marker may have expired: from then on a
   * committed attempt is indistinguishable from one that did not commit, so it cannot be settled.
   */
  readonly settleBy: number;
}

abstract class TransactionError extends TransactError implements TransactionFailure {
  readonly keys: readonly string[];
  readonly attempts: number;
  constructor(message: string, failure: TransactionFailure) {
    super(message, failure.cause === undefined ? undefined : { cause: failure.cause });
    this.keys = failure.keys;
    this.attempts = failure.attempts;
  }
}

/**
 * Every attempt lost to a concurrent writer (EXEC aborted because a watched key changed) and the
 * retry policy allowed no more. Nothing was written by this call.
 */
export class TransactConflictError extends TransactionError {
  readonly code = 'ERR_TRANSACT_CONFLICT' as const;
  constructor(failure: TransactionFailure) {
    super(
      `gave up after ${attemptsText(failure.attempts)} on ${describeKeys(failure.keys)}: a watched key kept changing`,
      failure,
    );
  }
}
nameError(TransactConflictError, 'TransactConflictError');

/**
 * The call's `deadlineMs` passed before a commit. Nothing was written by this call: the deadline
 * is checked before EXEC is sent, and an EXEC already sent is reported as outcome unknown instead.
 */
export class TransactTimeoutError extends TransactionError {
  readonly code = 'ERR_TRANSACT_TIMEOUT' as const;
  /** The deadline that passed, in milliseconds from the start of the call. */
  readonly deadlineMs: number;
  constructor(failure: TransactionFailure & { deadlineMs: number }) {
    super(
      `deadline of ${failure.deadlineMs} ms passed after ${attemptsText(failure.attempts)} on ${describeKeys(failure.keys)}; nothing was written`,
      failure,
    );
    this.deadlineMs = failure.deadlineMs;
  }
}
nameError(TransactTimeoutError, 'TransactTimeoutError');

/** The call's `signal` aborted before a commit; `cause` is `signal.reason`. Nothing was written. */
export class TransactAbortedError extends TransactionError {
  readonly code = 'ERR_TRANSACT_ABORTED' as const;
  constructor(failure: TransactionFailure) {
    super(`aborted after ${attemptsText(failure.attempts)} on ${describeKeys(failure.keys)}; nothing was written`, failure);
  }
}
nameError(TransactAbortedError, 'TransactAbortedError');

/**
 * The connection dropped (or the deadline passed) after EXEC was sent and before its reply came
 * back: the transaction may or may not have committed. It is never retried silently; reconcile
 * (read back, or look for an idempotency marker) or pass `idempotent: true` to let it retry.
 *
 * An `exactlyOnce` call settles a lost reply itself and throws this only when Redis could not be
 * reached in time: then `commitMarker` is set, and `tx.settle(error)` answers later whether it
 * committed (before `commitMarker.settleBy`).
 */
export class TransactOutcomeUnknownError extends TransactionError {
  readonly code = 'ERR_TRANSACT_OUTCOME_UNKNOWN' as const;
  /** The attempt's commit marker, for `tx.settle(error)`: set on exactly-once calls only. */
  readonly commitMarker: CommitMarkerRef | undefined;
  /** Why the call could not settle the outcome itself (exactly-once calls only). */
  readonly settleError: unknown;
  constructor(failure: TransactionFailure & { commitMarker?: CommitMarkerRef; settleError?: unknown }) {
    super(
      `EXEC was sent for ${describeKeys(failure.keys)} (attempt ${failure.attempts}) but no reply came back: ` +
        (failure.commitMarker
          ? `the outcome could not be settled in time (${messageOf(innermost(failure.settleError))}); ` +
            `settle it with tx.settle(error) before ${new Date(failure.commitMarker.settleBy).toISOString()}`
          : 'the transaction may or may not have committed; reconcile, or pass idempotent: true to retry, or exactlyOnce: true to settle it'),
      failure,
    );
    this.commitMarker = failure.commitMarker;
    this.settleError = failure.settleError;
  }
}
nameError(TransactOutcomeUnknownError, 'TransactOutcomeUnknownError');

/**
 * The transaction committed on the primary, but fewer replicas than `replication.replicas`
 * acknowledged it within the wait, and the call's `replication.required` asked to hear of that as
 * a failure: a failover now could lose the commit (Redis replicates asynchronously). It carries
 * what a resolved call would have: `value`, `replies`, and `replicatedTo` (0 when no
 * acknowledgement could be read). Whether it survives depends on what happens to the primary:
 * read back to reconcile, like an unknown outcome.
 */
export class TransactNotReplicatedError extends TransactionError {
  readonly code = 'ERR_TRANSACT_NOT_REPLICATED' as const;
  /** What `fn` returned on the attempt that committed. */
  readonly value: unknown;
  /** EXEC's replies (empty when the reply was lost and an exactly-once call settled it). */
  readonly replies: readonly unknown[];
  /** Replicas that acknowledged the commit in time. */
  readonly replicatedTo: number;
  /** Replicas the call required. */
  readonly replicas: number;
  constructor(failure: TransactionFailure & { value: unknown; replies: readonly unknown[]; replicatedTo: number; replicas: number }) {
    super(
      `the transaction on ${describeKeys(failure.keys)} committed on the primary, but ${failure.replicatedTo} of the ` +
        `${failure.replicas} replicas required acknowledged it in time: a failover now could lose it`,
      failure,
    );
    this.value = failure.value;
    this.replies = failure.replies;
    this.replicatedTo = failure.replicatedTo;
    this.replicas = failure.replicas;
  }
}
nameError(TransactNotReplicatedError, 'TransactNotReplicatedError');

/**
 * Every attempt failed because the connection could not be opened or was lost before EXEC was
 * sent (or, on a cluster, the slot kept moving or the cluster was down), and the retry policy
 * allowed no more. Nothing was written; `cause` is the last error.
 */
export class TransactConnectionError extends TransactionError {
  readonly code = 'ERR_TRANSACT_CONNECTION' as const;
  constructor(failure: TransactionFailure) {
    super(
      `could not reach the Redis node serving ${describeKeys(failure.keys)} after ${attemptsText(failure.attempts)}: ${messageOf(failure.cause)}`,
      failure,
    );
  }
}
nameError(TransactConnectionError, 'TransactConnectionError');

/**
 * Redis refused a queued command. `applied` tells what happened to the data:
 * `'none'` when the command was refused while queueing (EXECABORT: nothing ran) and `'partial'`
 * when EXEC ran and some commands failed at run time (Redis does not roll back the others).
 * Not retried: the same commands would fail again.
 */
export class TransactCommandError extends TransactionError {
  readonly code = 'ERR_TRANSACT_COMMAND' as const;
  /** `'none'`: nothing was written. `'partial'`: the commands not listed in `errorIndexes` were applied. */
  readonly applied: 'none' | 'partial';
  /** EXEC replies, errors included, when EXEC ran (`applied: 'partial'`). */
  readonly replies: readonly unknown[];
  /** Indexes into `replies` of the commands that failed. */
  readonly errorIndexes: readonly number[];
  constructor(
    failure: TransactionFailure & { applied: 'none' | 'partial'; replies?: readonly unknown[]; errorIndexes?: readonly number[] },
  ) {
    const failed = failure.errorIndexes ?? [];
    const total = failure.replies?.length ?? 0;
    // EXEC ran: the first failed command's own reply says why (the cause only says how many failed).
    const first = failure.applied === 'partial' && failed.length > 0 ? failure.replies?.[failed[0]!] : undefined;
    const why = messageOf(first ?? failure.cause);
    const what =
      failure.applied === 'none'
        ? 'nothing was written'
        : `${failed.length} of ${total} commands failed (the first at index ${failed[0] ?? '?'}); the other ${total - failed.length} ${total - failed.length === 1 ? 'was' : 'were'} applied`;
    super(`Redis refused a command queued for ${describeKeys(failure.keys)}: ${why}; ${what}`, failure);
    this.applied = failure.applied;
    this.replies = failure.replies ?? [];
    this.errorIndexes = failure.errorIndexes ?? [];
  }
}
nameError(TransactCommandError, 'TransactCommandError');

/** True when `err` is a {@link TransactConflictError}, also across duplicate installs. */
export const isTransactConflictError = (err: unknown): err is TransactConflictError =>
  hasTransactCode(err, 'ERR_TRANSACT_CONFLICT');
/** True when `err` is a {@link TransactTimeoutError}, also across duplicate installs. */
export const isTransactTimeoutError = (err: unknown): err is TransactTimeoutError =>
  hasTransactCode(err, 'ERR_TRANSACT_TIMEOUT');
/** True when `err` is a {@link TransactAbortedError}, also across duplicate installs. */
export const isTransactAbortedError = (err: unknown): err is TransactAbortedError =>
  hasTransactCode(err, 'ERR_TRANSACT_ABORTED');
/** True when `err` is a {@link TransactOutcomeUnknownError}, also across duplicate installs. */
export const isTransactOutcomeUnknownError = (err: unknown): err is TransactOutcomeUnknownError =>
  hasTransactCode(err, 'ERR_TRANSACT_OUTCOME_UNKNOWN');
/** True when `err` is a {@link TransactNotReplicatedError}, also across duplicate installs. */
export const isTransactNotReplicatedError = (err: unknown): err is TransactNotReplicatedError =>
  hasTransactCode(err, 'ERR_TRANSACT_NOT_REPLICATED');
/** True when `err` is a {@link TransactConnectionError}, also across duplicate installs. */
export const isTransactConnectionError = (err: unknown): err is TransactConnectionError =>
  hasTransactCode(err, 'ERR_TRANSACT_CONNECTION');
/** True when `err` is a {@link TransactCommandError}, also across duplicate installs. */
export const isTransactCommandError = (err: unknown): err is TransactCommandError =>
  hasTransactCode(err, 'ERR_TRANSACT_COMMAND');

/** `1 attempt`, `3 attempts`. */
function attemptsText(attempts: number): string {
  return `${attempts} attempt${attempts === 1 ? '' : 's'}`;
}

/** What an error says, in words: its message, or the value itself. */
function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The error a wrapper (a failed settlement) carries, or the error itself. */
function innermost(err: unknown): unknown {
  return err instanceof Error && err.cause !== undefined ? err.cause : err;
}
