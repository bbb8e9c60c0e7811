import type { LockLostError } from '../errors/lock-errors.js';

/**
 * Why an attempt ended without a commit and may be retried: a watched key changed, the connection
 * was lost before EXEC, a cluster redirection (MOVED, ASK, TRYAGAIN, CLUSTERDOWN), or (idempotent
 * calls only) EXEC's outcome was unknown.
 */
export type RetryReason = 'conflict' | 'connection' | 'redirect' | 'unknown';

/** The mode an attempt ran in (auto mode runs optimistic attempts until it escalates). */
export type AttemptMode = 'optimistic' | 'lock';

/** An attempt starts (`fn` is about to run). */
export interface AttemptEvent {
  readonly keys: readonly string[];
  readonly attempt: number;
  readonly mode: AttemptMode;
}

/** EXEC aborted because a watched key changed. */
export interface ConflictEvent {
  readonly keys: readonly string[];
  readonly attempt: number;
  readonly mode: AttemptMode;
}

/** An attempt failed and another follows after `delayMs`. */
export interface RetryEvent {
  readonly keys: readonly string[];
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  /** A watched key changed, the connection was lost before EXEC, a cluster redirection, or (idempotent calls only) the outcome was unknown. */
  readonly reason: RetryReason;
  /** The sleep the policy chose before the next attempt, in milliseconds. */
  readonly delayMs: number;
  /** The error behind the failure. */
  readonly error: unknown;
}

/**
 * Auto mode switched a call from optimistic to lock mode: after `escalateAfter` conflicts with
 * other processes (`'conflicts'`, which also marks its keys hot), or on finding its keys locked by
 * another process (`'lock-held'`). Once per call. A call that starts under the lock because its
 * keys are hot, or that joins its lane's hold, did not switch and is not reported.
 */
export interface EscalationEvent {
  readonly keys: readonly string[];
  readonly attempt: number;
  readonly reason: 'conflicts' | 'lock-held';
}

/** Auto mode found the lock free often enough in a row: these keys start optimistic again. */
export interface DeescalationEvent {
  readonly keys: readonly string[];
}

/** A transaction committed (or finished without writes). */
export interface CommitEvent {
  readonly keys: readonly string[];
  readonly attempts: number;
  /** The mode of the attempt that committed. */
  readonly mode: AttemptMode;
  /** From the call to the commit, in milliseconds (monotonic clock). */
  readonly durationMs: number;
}

/** How a lock-mode transaction's wait for its keys' lock ended. */
export type LockWaitOutcome = 'acquired' | 'timeout' | 'stopped' | 'failed';

/**
 * A transaction that runs under its keys' lock (lock mode, or auto mode once escalated) found the
 * lock held by another process (or by an overlapping key set of this one) and waited for it. Fired
 * once per wait, when it ends; a lock taken at the first try is not a wait.
 */
export interface LockWaitEvent {
  readonly keys: readonly string[];
  /** From the lock's first try to the end of the wait, in milliseconds (monotonic clock). */
  readonly waitedMs: number;
  /**
   * `acquired`: the lock was handed over; `timeout`: `acquireTimeoutMs` ran out (the call rejects
   * with `LockUnavailableError`); `stopped`: the call's deadline or signal ended the wait; `failed`:
   * Redis could not be reached, or refused the lock script.
   */
  readonly outcome: LockWaitOutcome;
}

/** A lock was acquired. */
export interface LockAcquiredEvent {
  readonly resources: readonly string[];
  readonly fencingToken: number;
}

/** A lock's lease was renewed. */
export interface LockExtendedEvent {
  readonly resources: readonly string[];
  readonly validityMs: number;
}

/** A lock was lost before it was released (lease ran out unrenewed, or found taken). */
export interface LockLostEvent {
  readonly resources: readonly string[];
  readonly error: LockLostError;
}

/**
 * Callbacks that observe a transactor. Each is called synchronously with a frozen event. Hooks
 * observe, they never steer: an exception thrown by one (or a promise it returns that rejects)
 * changes nothing about the call, lock or timer it observed; it is reported to the transactor's
 * `onHookError` option, or, without one, as a process warning named `RedisTransactHookWarning`
 * (code `ERR_TRANSACT_HOOK`). Events are only built when their callback is set.
 *
 * (Aborting a call's own `signal` from a hook is a call of the API, not an error: it stops the call
 * like any abort.)
 */
export interface TransactHooks {
  onAttempt?: (event: AttemptEvent) => void;
  onConflict?: (event: ConflictEvent) => void;
  onRetry?: (event: RetryEvent) => void;
  onEscalate?: (event: EscalationEvent) => void;
  onDeescalate?: (event: DeescalationEvent) => void;
  onCommit?: (event: CommitEvent) => void;
  onLockWait?: (event: LockWaitEvent) => void;
  onLockAcquired?: (event: LockAcquiredEvent) => void;
  onLockExtended?: (event: LockExtendedEvent) => void;
  onLockLost?: (event: LockLostEvent) => void;
}

/** The name of one of {@link TransactHooks}. */
export type HookName = keyof TransactHooks;

/**
 * A hook threw (or its promise rejected). Given to the transactor's `onHookError` option; the
 * call, lock or timer the hook observed went on as if the hook had returned.
 */
export interface HookErrorEvent {
  /** Which hook threw, e.g. `'onCommit'`; `'tracer'` for a span method of the `tracer` option. */
  readonly hook: HookName | 'tracer';
  /** What it threw. */
  readonly error: unknown;
}

/** The names of {@link TransactHooks}. */
export const HOOK_NAMES = [
  'onAttempt', 'onConflict', 'onRetry', 'onEscalate', 'onDeescalate', 'onCommit', 'onLockWait', 'onLockAcquired', 'onLockExtended',
  'onLockLost',
] as const satisfies ReadonlyArray<keyof TransactHooks>;
