import { TransactConflictError, TransactConnectionError, TransactOutcomeUnknownError } from '../errors/transaction-errors.js';
import { backoffDelay } from '../retry/backoff.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { sleep } from '../retry/sleep.js';
import { type AttemptOutcome, type RetryReason, runAttempt, type TransactionCall } from './attempt.js';

/** What `transact` resolves to. */
export interface TransactResult<T, Replies = unknown[]> {
  /** What `fn` returned on the attempt that committed. */
  readonly value: T;
  /** EXEC's replies, as node-redis types them; empty when `fn` queued nothing. */
  readonly replies: Replies;
  /** Attempts it took, 1 when nothing got in the way. */
  readonly attempts: number;
}

/** Handed to `onRetry` before each sleep; frozen. */
export interface RetryEvent {
  readonly keys: readonly string[];
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  /** Why it failed: a watched key changed, the connection was lost before EXEC, a cluster redirection, or (idempotent calls only) the outcome was unknown. */
  readonly reason: RetryReason;
  /** The sleep the policy chose before the next attempt, in milliseconds. */
  readonly delayMs: number;
  /** The error behind the failure. */
  readonly error: unknown;
}

/** Observes the retry loop. Called synchronously; an exception thrown here ends the call with it. */
export interface TransactHooks {
  /** Called after a failed attempt, before sleeping `delayMs` and trying again. */
  onRetry?: (event: RetryEvent) => void;
}

/** Runs attempts under `policy` until one commits, the policy gives up, or the call is stopped. */
export async function runTransaction<T>(
  call: TransactionCall<T>,
  policy: RetryPolicy,
  hooks: TransactHooks,
): Promise<TransactResult<T>> {
  const { keys, scope } = call;
  try {
    await call.guard?.prepare();
    let previousDelay = 0;
    let waits = 0;
    for (let attempt = 1; ; attempt++) {
      const outcome = await runAttempt(call, attempt);
      if (outcome.kind === 'committed') {
        return { value: outcome.value, replies: outcome.replies, attempts: attempt };
      }
      if (outcome.kind === 'wait') {
        // Lock mode: the lock was busy. Waiting for it is not a failed attempt.
        await call.guard!.waitForTurn(scope);
        waits++;
        continue;
      }
      if (attempt - waits >= policy.maxAttempts) throw exhausted(outcome, keys, attempt);
      const delayMs = backoffDelay(policy, attempt, previousDelay);
      previousDelay = delayMs;
      // Never sleep past the deadline just to fail after waking.
      if (delayMs >= scope.remainingMs() || scope.stopped) throw scope.stopError(keys, attempt);
      hooks.onRetry?.(Object.freeze({ keys, attempt, reason: outcome.reason, delayMs, error: outcome.cause }));
      try {
        await sleep(delayMs, scope.abortable);
      } catch {
        throw scope.stopError(keys, attempt);
      }
    }
  } finally {
    scope.dispose();
    await call.guard?.dispose();
  }
}

function exhausted(outcome: Extract<AttemptOutcome<unknown>, { kind: 'retry' }>, keys: string[], attempts: number): Error {
  const failure = { keys, attempts, cause: outcome.cause };
  switch (outcome.reason) {
    case 'conflict':
      return new TransactConflictError(failure);
    case 'connection':
    case 'redirect':
      return new TransactConnectionError(failure);
    case 'unknown':
      return new TransactOutcomeUnknownError(failure);
  }
}
