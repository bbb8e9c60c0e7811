import { TransactConflictError, TransactConnectionError, TransactNotReplicatedError, TransactOutcomeUnknownError } from '../errors/transaction-errors.js';
import { backoffDelay } from '../retry/backoff.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { sleep } from '../retry/sleep.js';
import { performance } from 'node:perf_hooks';
import { type AttemptCount, type AttemptOutcome, runAttempt, type TransactionCall } from './attempt.js';

/** What `transact` resolves to. */
export interface TransactResult<T, Replies = unknown[]> {
  /** What `fn` returned on the attempt that committed. */
  readonly value: T;
  /** EXEC's replies, as node-redis types them; empty when `fn` queued nothing. */
  readonly replies: Replies;
  /** Attempts it took, 1 when nothing got in the way. */
  readonly attempts: number;
  /**
   * An exactly-once call whose EXEC reply was lost, and found committed by its marker: `replies`
   * is empty, since they cannot be recovered. Always false otherwise.
   */
  readonly repliesLost: boolean;
  /**
   * With `replication`: how many replicas acknowledged the commit within its `timeoutMs` (0 when
   * the acknowledgement could not be read; absent when EXEC's reply was lost). Absent otherwise.
   */
  readonly replicatedTo?: number;
}

/**
 * Runs attempts under `policy` until one commits, the policy gives up, or the call is stopped; a
 * commit that too few replicas acknowledged rejects when the call requires them.
 */
export function runTransaction<T>(call: TransactionCall<T>, policy: RetryPolicy): Promise<TransactResult<T>> {
  const attempts = runAttempts(call, policy);
  // Without required replicas, the attempts' own promise: no wrapper for a check that cannot fail.
  if (!call.replication?.required) return attempts;
  return attempts.then((result) => {
    if (notReplicatedEnough(call, result)) {
      // Committed on the primary: counted as a commit, never as a failure that wrote nothing.
      throw new TransactNotReplicatedError({ keys: call.keySet.keys, ...result, replicatedTo: result.replicatedTo ?? 0, replicas: call.replication!.replicas });
    }
    return result;
  });
}

async function runAttempts<T>(call: TransactionCall<T>, policy: RetryPolicy): Promise<TransactResult<T>> {
  const { scope, observer } = call;
  const { keys } = call.keySet;
  const startedAt = performance.now();
  // Set once an idempotent retry followed an EXEC whose outcome was unknown: from then on, no
  // failure may claim that nothing was written.
  let maybeApplied = false;
  try {
    let previousDelay = 0;
    const count: AttemptCount = { attempts: 0, waits: 0, mode: 'optimistic' };
    for (let retrying = false; ; retrying = true) {
      const outcome = await runAttempt(call, count, retrying);
      const attempt = count.attempts;
      if (outcome.kind === 'committed') {
        observer.commit(keys, attempt, count.mode, performance.now() - startedAt);
        const result = { value: outcome.value, replies: outcome.replies, attempts: attempt, repliesLost: outcome.repliesLost ?? false };
        return outcome.replicatedTo === undefined ? result : { ...result, replicatedTo: outcome.replicatedTo };
      }
      if (outcome.kind === 'give-way') continue; // at once, under the lock
      if (outcome.reason === 'conflict') observer.conflict(keys, attempt, count.mode);
      if (outcome.reason === 'unknown') maybeApplied = true;
      if (outcome.reason === 'connection') call.route.unreachable();
      // Giving way to a lock is not a failed attempt.
      if (attempt - count.waits >= policy.maxAttempts) throw exhausted(outcome, keys, attempt);
      const delayMs = backoffDelay(policy, attempt - count.waits, previousDelay);
      previousDelay = delayMs;
      // Never sleep past the deadline just to fail after waking.
      if (delayMs >= scope.remainingMs() || scope.stopped) throw scope.stopError(keys, attempt);
      observer.retry(keys, attempt, outcome.reason, delayMs, outcome.cause);
      try {
        await sleep(delayMs, scope.abortable);
      } catch {
        throw scope.stopError(keys, attempt);
      }
    }
  } catch (err) {
    observer.failure(keys);
    if (maybeApplied && !(err instanceof TransactOutcomeUnknownError)) {
      throw new TransactOutcomeUnknownError({ keys, attempts: (err as { attempts?: number }).attempts ?? 0, cause: err });
    }
    throw err;
  } finally {
    scope.dispose();
  }
}

/**
 * A commit the call required `replicas` acknowledgements for and got fewer (or none it could read:
 * an EXEC reply lost and settled). One that wrote nothing has nothing to replicate.
 */
function notReplicatedEnough(call: TransactionCall<unknown>, result: TransactResult<unknown>): boolean {
  const replication = call.replication;
  if (!replication?.required) return false;
  if (result.replicatedTo === undefined) return result.repliesLost;
  return result.replicatedTo < replication.replicas;
}

function exhausted(outcome: Extract<AttemptOutcome<unknown>, { kind: 'retry' }>, keys: readonly string[], attempts: number): Error {
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
