import type { DedicatedConnection } from '../connection/connection.js';
import { isPermanentReply } from '../connection/errors.js';
import { TransactorClosedError } from '../errors/usage-errors.js';
import { backoffDelay } from '../retry/backoff.js';
import { DEFAULT_RETRY_POLICY } from '../retry/retry-policy.js';
import { sleep } from '../retry/sleep.js';
import { raceAbort } from '../util/race-abort.js';
import { STOPPED } from '../util/stopped.js';
import { CLAIM_VALUE, type CommitMarkerRef } from './commit-marker.js';

/** Where a settlement claims: the node serving the call's keys now (a topology's route). */
export interface SettleRoute {
  pool(): { openOutside(): Promise<DedicatedConnection> };
  /** Whether `err` is a cluster redirection (a MOVED also re-routes the next `pool()`). */
  redirected(err: unknown): boolean;
  /** The node could not be reached: let the topology find the slot's owner again. */
  unreachable(): void;
}

/** What a settlement found out: whether the attempt's EXEC ran. */
export type SettledOutcome = 'committed' | 'not-committed';

/**
 * The least time a settlement gets: a lost reply found after the call's deadline (or abort) is
 * still settled, within this many milliseconds.
 */
export const SETTLE_GRACE_MS = 1_000;

/** How long a settlement may try when the call has no deadline. */
export const SETTLE_WINDOW_MS = 10_000;

/**
 * Longest one try may take (opening a connection, then the claim): a server that accepts the
 * connection but never answers must not hold the whole window; the next try opens a fresh one.
 */
const TRY_TIMEOUT_MS = 1_000;

/** Redis could not be reached (or refused the claim) before the settlement's window closed. */
export class SettlementFailed extends Error {
  override readonly name = 'SettlementFailed';
  constructor(
    /** How many claims were tried. */
    readonly tries: number,
    cause: unknown,
  ) {
    super('the outcome could not be settled', { cause });
  }
}


/**
 * Settles whether the attempt behind `marker` committed, by claiming its marker on a connection
 * of its own (not the one whose EXEC reply was lost, nor one the pool's waiters queue for):
 * `SET marker claimed NX GET PX ttl`.
 *
 * - The claim set the key: the attempt did not commit, and never will: the claim changed a key its
 *   WATCH covers, so its EXEC, if it is still on its way, aborts.
 * - The key held the attempt's id: its EXEC ran first, and committed.
 * - The key held a claim: an earlier try of this settlement won (its reply was lost too).
 *
 * Redis runs one command at a time, so exactly one of the EXEC and the claim ran first. A claim
 * only proves "not committed" while the marker cannot have expired: every try ends at
 * `marker.settleBy`, and a claim answered after it proves nothing. Tries again on a lost
 * connection, a redirection, a transient reply or a try that hung (1 s), until `window` aborts or
 * `settleBy` passes;
 * throws {@link SettlementFailed} then, or at once on any other error reply (e.g. NOPERM).
 */
export async function settleOutcome(route: SettleRoute, marker: CommitMarkerRef, ttlMs: number, window: AbortSignal): Promise<SettledOutcome> {
  const untilExpiry = marker.settleBy - Date.now();
  if (untilExpiry <= 0) throw new SettlementFailed(0, new Error(`the marker ${marker.key} may have expired`));
  const signal = AbortSignal.any([window, AbortSignal.timeout(Math.ceil(untilExpiry))]);
  let lastError: unknown = new Error('no claim could be sent before the settlement window closed');
  for (let tries = 1; ; tries++) {
    let connection: DedicatedConnection | undefined;
    const attempt = AbortSignal.any([signal, AbortSignal.timeout(TRY_TIMEOUT_MS)]);
    try {
      connection = await raceAbort(route.pool().openOutside(), attempt, STOPPED, (late) => late.destroy());
      // The connection came just too late: send nothing.
      if (attempt.aborted) throw STOPPED;
      const outcome = await raceAbort(claim(connection, marker, ttlMs), attempt, STOPPED);
      if (outcome === 'not-committed' && Date.now() > marker.settleBy) {
        throw new SettlementFailed(tries, new Error(`the claim on ${marker.key} was answered after the marker may have expired`));
      }
      return outcome;
    } catch (err) {
      if (err === STOPPED && signal.aborted) throw new SettlementFailed(tries, lastError);
      if (err === STOPPED) {
        lastError = new Error(`a claim found no answer within ${TRY_TIMEOUT_MS} ms`);
        continue; // that try hung: a fresh connection, at once
      }
      if (err instanceof SettlementFailed || err instanceof TransactorClosedError) throw err;
      const redirected = route.redirected(err);
      if (isPermanentReply(err) && !redirected) throw new SettlementFailed(tries, err);
      lastError = err;
      if (!redirected) route.unreachable();
    } finally {
      connection?.destroy();
    }
    await backOff(tries, signal, lastError);
  }
}

/** The window a call's settlement gets: until its deadline, and at least {@link SETTLE_GRACE_MS}. */
export function settleWindow(remainingMs: number, stopped: boolean): AbortSignal {
  const ms = stopped ? SETTLE_GRACE_MS : remainingMs === Infinity ? SETTLE_WINDOW_MS : Math.max(remainingMs, SETTLE_GRACE_MS);
  return AbortSignal.timeout(Math.ceil(ms));
}

async function claim(connection: DedicatedConnection, marker: CommitMarkerRef, ttlMs: number): Promise<SettledOutcome> {
  const reply = await connection.sendCommand(['SET', connection.prefixed(marker.key), CLAIM_VALUE, 'NX', 'GET', 'PX', String(ttlMs)]);
  // A client that maps strings to Buffers (withTypeMapping) hands the old value back as one.
  const previous = Buffer.isBuffer(reply) ? reply.toString() : reply;
  if (previous === null || previous === CLAIM_VALUE) return 'not-committed';
  if (previous === marker.attemptId) return 'committed';
  throw new SettlementFailed(1, new Error(`the commit marker ${marker.key} holds ${JSON.stringify(previous)}, not this attempt's id`));
}

/** The library's default backoff (exponential, full jitter, 5 to 250 ms): the server is being restarted or failed over. */
async function backOff(tries: number, signal: AbortSignal, lastError: unknown): Promise<void> {
  try {
    await sleep(backoffDelay(DEFAULT_RETRY_POLICY, tries, 0), signal);
  } catch {
    throw new SettlementFailed(tries, lastError);
  }
}

