import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LockUnavailableError } from '../errors/lock-errors.js';
import { type AcquireResult, driftMs, type LockBackend, RELEASE_WAIT_MS, type ReleaseListener, tryBoundMs, TRY_ONCE_MS } from './lock-backend.js';
import type { ResolvedLockOptions } from './lock-options.js';
import { QUEUE_ENTRY_TTL_MS } from './lock-keys.js';
import { sleep } from '../retry/sleep.js';
import { raceAbortWithin } from '../util/race-abort.js';
import { releaseWithin } from './release-within.js';
import { isPermanentReply } from '../connection/errors.js';
import { noop } from '../util/noop.js';

/** A fresh, unguessable lock token (128 bits from the OS CSPRNG). */
export function newLockToken(): string {
  return randomBytes(16).toString('hex');
}

/** Pause after a failed try that got no verdict (Redis unreachable), before trying again. */
const ERROR_BACKOFF_MS = 50;

/**
 * Acquires `resources` for `token`, waiting while they are busy. A waiter does not poll on a
 * fixed delay: it sleeps until a release names it (or everyone), bounded by the holder's
 * remaining lease and by its own queue-entry refresh, so a crashed holder or waiter costs at most
 * one lease. `first` is a try already made (lock mode sends it with the transaction's first
 * reads). Resolves to the successful try; throws {@link LockUnavailableError}.
 *
 * `acceptHandOver` (one node only: a lane's lock, which fences by WATCH, not by token): a release
 * that names this waiter and the place in line its last try held (its ticket) has already handed
 * it the lock, so it is taken as granted without the confirming try, a round trip and a script run
 * saved on every hand-over between processes. The lease then counts from when that try was sent
 * (the hand-over came after it ran: one before would have made it succeed), and `fencingToken` is 0.
 * A message about another place (a hand-over this waiter lost, say by stalling past its lease,
 * before it queued again) is only a wake-up: the next try says.
 */
export async function acquireLock(
  backend: LockBackend,
  resources: readonly string[],
  token: string,
  options: ResolvedLockOptions,
  first?: AcquireResult,
  acceptHandOver = false,
): Promise<AcquireResult & { acquired: true }> {
  const { ttlMs, acquireTimeoutMs, signal } = options;
  const deadline = performance.now() + acquireTimeoutMs;
  // Every request of the wait ends with it: a server that stalls (or a network that drops every
  // byte) answers nothing, and the wait must still end at its deadline, or when it is aborted.
  const bounded = <T>(work: Promise<T>, abandoned?: (late: T) => void) =>
    raceAbortWithin(work, { signal, ms: tryBoundMs(acquireTimeoutMs, deadline - performance.now()) }, NO_ANSWER, abandoned);
  let listener: ReleaseListener | undefined;
  let lastError: unknown;
  let result: AcquireResult | undefined = first;
  /** The last try that queued this waiter and found the lock busy (never `first`: it may not queue). */
  let queued: { sentAt: number; ticket: number | undefined } | undefined;
  try {
    for (;;) {
      if (signal?.aborted) throw new LockUnavailableError(resources, 'aborted', 'the wait was aborted', signal.reason);
      if (!result) {
        try {
          const sentAt = performance.now();
          result = await bounded(backend.tryAcquire(resources, token, ttlMs, options.replication));
          if (!result.acquired) queued = { sentAt, ticket: result.ticket };
        } catch (err) {
          // A refusal that will not change by waiting (NOPERM, OOM...) ends the wait now; READONLY (a
          // failover in progress: the primary moved) is tried again.
          if (isPermanentReply(err)) throw refusedBy(resources, err);
          // A try the wait's end cut off says less than an earlier failure (no quorum...).
          if (err !== NO_ANSWER || !lastError) lastError = err;
        }
      }
      if (result?.acquired) {
        if (signal?.aborted) {
          // Granted just as the wait was given up: nobody will use it.
          await releaseWithin(backend, resources, token, RELEASE_WAIT_MS);
          throw new LockUnavailableError(resources, 'aborted', 'the wait was aborted', signal.reason);
        }
        if (result.validUntil > performance.now()) return result;
        // Granted, but the grant took longer than the lease: never hand out a lock without validity.
        await releaseWithin(backend, resources, token, RELEASE_WAIT_MS);
        result = undefined;
        continue;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        if (lastError instanceof LockUnavailableError) throw lastError; // e.g. no quorum: say so
        if (lastError === NO_ANSWER) {
          throw new LockUnavailableError(resources, 'timeout', `Redis did not answer within ${acquireTimeoutMs || TRY_ONCE_MS} ms`);
        }
        const detail = `still busy after ${acquireTimeoutMs} ms`;
        throw new LockUnavailableError(resources, 'timeout', lastError ? `${detail} (last error: ${(lastError as Error).message})` : detail, lastError);
      }
      if (!result) {
        await sleep(Math.min(ERROR_BACKOFF_MS, remaining), signal).catch(noop);
      } else if (!listener) {
        // Subscribe, then look again at once: a release before the subscription was missed.
        try {
          listener = await bounded(backend.listen(resources, token), (late) => late.close());
        } catch (err) {
          if (err !== NO_ANSWER) throw err;
          continue; // the wait ended meanwhile: the loop says how
        }
      } else {
        const hint = Math.max(1, result.waitHintMs + 1);
        const handedTo = await listener.wait(Math.min(hint, QUEUE_ENTRY_TTL_MS / 3, remaining), signal);
        const validUntil = queued ? queued.sentAt + ttlMs - driftMs(ttlMs) : 0;
        // Handed over to the place in line it holds, with at least half of its lease left (a
        // long-stalled loop confirms instead).
        const ours = handedTo !== undefined && handedTo === queued?.ticket;
        // Not with a replication wait: the hand-over was written by the releaser, and only a try
        // of this waiter's own can be followed by a WAIT that covers it.
        if (acceptHandOver && !options.replication && ours && validUntil - performance.now() > ttlMs / 2) {
          result = { acquired: true, fencingToken: 0, validUntil };
          continue; // the checks above: given up meanwhile, validity
        }
      }
      result = undefined;
    }
  } catch (err) {
    // Out of the queue, and out of a lock a try the wait's end cut off may have taken, before the
    // caller hears of it: nothing of this wait is left behind.
    await releaseWithin(backend, resources, token, RELEASE_WAIT_MS);
    throw err;
  } finally {
    listener?.close();
  }
}

/** What a request of the wait rejects with when the wait ended (deadline or abort) before its answer. */
const NO_ANSWER = new Error('no answer before the wait ended');

/**
 * A lock script Redis refused (NOPERM: the ACL; OOM: `maxmemory` with `noeviction`): waiting will
 * not change it. Nothing is held.
 */
export function refusedBy(resources: readonly string[], reply: unknown): LockUnavailableError {
  return new LockUnavailableError(resources, 'refused', `Redis refused the lock script: ${(reply as Error).message}`, reply);
}
