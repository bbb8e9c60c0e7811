import { performance } from 'node:perf_hooks';
import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { MultiBuilder } from '../connection/node-redis-types.js';
import { LockLostError, LockUnavailableError } from '../errors/lock-errors.js';
import type { CallScope } from '../transaction/call-scope.js';
import type { CommitGuard } from '../transaction/commit-guard.js';
import { acquireLock, newLockToken } from './acquire-lock.js';
import type { AcquireResult } from './lock-backend.js';
import { Lock } from './lock-handle.js';
import type { ResolvedLockOptions } from './lock-options.js';
import type { Lane } from '../coalescing/lane.js';
import type { Lanes } from '../coalescing/lanes.js';
import { type Observer, SILENT } from '../observability/observer.js';
import { queueScript, runScript } from './run-script.js';
import { sleep } from '../retry/sleep.js';
import { isErrorReply } from '../transaction/node-redis-errors.js';
import { isTransientReply } from '../transaction/transient-replies.js';
import { settleWithin, withTimeout } from '../util/time-bounds.js';
import { driftMs, RELEASE_WAIT_MS } from './lock-backend.js';
import { ACQUIRE, EXTEND, RELEASE } from './scripts.js';
import { acquireResult, type CallLockKeys, QUEUE_ENTRY_TTL_MS, type SingleNodeBackend } from './single-node-backend.js';

const noop = () => {};

/** Pause between tries of that release when one got no answer. */
const RELEASE_RETRY_MS = 20;

/**
 * Lock mode for one `transact` call. The lock is taken in the same write as WATCH and the first
 * reads; the lock keys are watched with the data keys and read right after WATCH, so the commit
 * proves the token was ours at WATCH time and WATCH proves it stayed ours until EXEC (a lease that
 * runs out, or a new holder, aborts EXEC: the fenced EXEC). The release is queued inside the same
 * MULTI. Uncontended, that is two round trips, like optimistic mode.
 *
 * The lease is renewed at the start of an attempt, in the same write as WATCH, never between
 * WATCH and EXEC: a renewal touches the watched lock key and would abort the EXEC it protects.
 */
export class LockGuard implements CommitGuard {
  readonly mode = 'lock' as const;
  readonly #backend: SingleNodeBackend;
  readonly #observer: Observer;
  readonly #keys: readonly string[];
  readonly #names: CallLockKeys;
  readonly #options: ResolvedLockOptions;
  readonly #token = newLockToken();
  #lock: Lock | undefined;
  #acquiring: Promise<AcquireResult> | undefined;
  #probe: Promise<unknown[]> | undefined;
  #busy: AcquireResult | undefined;
  #settled = false;
  #waited = false;
  #validUntil = 0;
  /**
   * What this call sent that may still change its lock keys (an acquire or renewal on a dedicated
   * connection, EXEC with the release, a wait for the lock): the cleanup release goes after them.
   */
  readonly #outstanding = new Set<Promise<unknown>>();
  /** The lane of this call's keys while the lock is held: its siblings must not wait on it holding the turn. */
  #lane: Lane | undefined;
  readonly #lanes: Lanes | undefined;

  constructor(
    backend: SingleNodeBackend,
    keys: readonly string[],
    options: ResolvedLockOptions,
    observer: Observer = SILENT,
    lanes?: Lanes,
  ) {
    this.#backend = backend;
    this.#keys = keys;
    this.#options = options;
    this.#observer = observer;
    this.#lanes = lanes;
    this.#names = backend.keyspace.forCall(keys);
  }

  /** Whether this call found the lock busy, or lost to a writer that ignores the lock. */
  get waited(): boolean {
    return this.#waited;
  }

  prepare(): Promise<void> {
    return this.#backend.loadScripts();
  }

  begin(connection: DedicatedConnection): readonly string[] {
    const sentAt = performance.now();
    const { ttlMs } = this.#options;
    const { keys } = this.#names;
    if (!this.#lock) {
      this.#acquiring = runScript(connection.client, ACQUIRE, keys, [this.#token, String(ttlMs), String(QUEUE_ENTRY_TTL_MS), '1']).then(
        (reply) => acquireResult(reply, sentAt, ttlMs),
      );
      this.#acquiring.catch(noop);
      this.sentOn(connection, this.#acquiring);
    } else if (this.#options.autoExtend && this.#validUntil - sentAt < ttlMs / 2) {
      // The probe that follows tells whether the lock is still ours; this only moves the lease.
      const renewing = runScript(connection.client, EXTEND, keys, [this.#token, String(ttlMs)]).then((renewed) => {
        if (Number(renewed) === 1) this.#validUntil = sentAt + ttlMs - driftMs(ttlMs);
      }, noop);
      this.sentOn(connection, renewing);
    }
    return this.#names.lockKeys;
  }

  probe(connection: DedicatedConnection): void {
    const mGet = connection.client.mGet as (keys: string[]) => Promise<unknown[]>;
    this.#probe = mGet.call(connection.client, this.#names.lockKeys);
    this.#probe.catch(noop);
  }

  async check(): Promise<'go' | 'wait' | 'recheck'> {
    const acquiring = this.#acquiring;
    this.#acquiring = undefined;
    const holders = await this.#probe;
    if (acquiring) {
      const result = await acquiring;
      if (!result.acquired) {
        this.#busy = result;
        this.#waited = true;
        return 'wait';
      }
      this.#hold(result);
      // Taken after WATCH (the script had to be loaded first): our own SET would abort EXEC.
      if (!holders?.every((h) => h === this.#token)) return 'recheck';
      return 'go';
    }
    if (holders?.every((h) => h === this.#token)) return 'go';
    this.#drop();
    throw new LockLostError(this.#keys, 'its lease ran out before the commit; nothing was written');
  }

  beforeExec(builder: MultiBuilder): number {
    queueScript(builder, RELEASE, this.#names.keys, [this.#token, '1', ...this.#names.channels]);
    return 1;
  }

  sentOn(connection: DedicatedConnection, reply: Promise<unknown>): void {
    this.#track(reply);
    connection.mustLand(reply);
  }

  /** Cleanup waits for `work` (until it settles, when it is forgotten). */
  #track(work: Promise<unknown>): void {
    this.#outstanding.add(work);
    const settled = () => this.#outstanding.delete(work);
    work.then(settled, settled);
  }

  async afterAbort(): Promise<void> {
    // Unreachable now: retry; the next attempt's probe proves (or disproves) the lock is ours.
    const held = await this.#backend.extend(this.#keys, this.#token, this.#options.ttlMs).catch(() => undefined);
    this.#waited = true;
    if (held !== null) return; // a writer that ignores the lock changed a data key: retry under the lock
    this.#drop();
    throw new LockLostError(this.#keys, 'its lease ran out before the commit and EXEC was refused; nothing was written');
  }

  afterUnknown(): void {
    // The EXEC may have run, and released the lock with it: the next attempt acquires again (with
    // the same token, which takes it back if it is still ours). Until then it may still be ours:
    // the lane keeps counting it, so siblings do not wait on it holding the turn.
    this.#lock?.released();
    this.#lock = undefined;
  }

  committed(): void {
    this.#settled = true;
    this.#drop();
  }

  waitForTurn(scope: CallScope, attempt: number): Promise<void> {
    const waiting = this.#waitForTurn(scope, attempt);
    this.#track(waiting);
    return waiting;
  }

  async #waitForTurn(scope: CallScope, attempt: number): Promise<void> {
    const first = this.#busy;
    this.#busy = undefined;
    const cappedByDeadline = scope.remainingMs() < this.#options.acquireTimeoutMs;
    const remaining = Math.min(this.#options.acquireTimeoutMs, Math.max(0, scope.remainingMs()));
    try {
      const result = await acquireLock(
        this.#backend,
        this.#keys,
        this.#token,
        { ...this.#options, acquireTimeoutMs: Math.ceil(remaining), signal: scope.abortable },
        first,
      );
      this.#hold(result);
    } catch (err) {
      // The wait ran out because the call's deadline (or signal) did, not acquireTimeoutMs: say so.
      if (err instanceof LockUnavailableError && (scope.stopped || (cappedByDeadline && err.reason === 'timeout'))) {
        throw scope.stopError(this.#keys, attempt);
      }
      throw err;
    }
  }

  async dispose(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.#drop();
    // One budget for the whole cleanup: an unreachable server must not hold the call for long
    // (the lease and the queue entry expire by themselves).
    const until = performance.now() + RELEASE_WAIT_MS;
    // After every command of this call that could still take the lock or queue it (their replies
    // or failures): a release that overtook its own acquire would leave the lock held for a lease.
    await settleWithin(Promise.allSettled(this.#outstanding), until - performance.now());
    // Also when no lock was recorded: an acquire whose reply was lost may have taken it, or this
    // call may be waiting in the queue. By token: it never touches another holder's lock.
    await this.#releaseUntil(until);
  }

  /**
   * Releases by token, trying again until `until` when no answer came (the lock connection was
   * cut and is reconnecting, the server is restarting): a single lost reply must not leave the
   * lock held for a whole lease. A refusal from Redis (NOPERM...) will not change: no retry.
   */
  async #releaseUntil(until: number): Promise<void> {
    for (;;) {
      const left = until - performance.now();
      if (left <= 0) return;
      try {
        await withTimeout(this.#backend.release(this.#keys, this.#token), left);
        return;
      } catch (err) {
        if (isErrorReply(err) && !isTransientReply(err)) return;
        await sleep(Math.min(RELEASE_RETRY_MS, Math.max(0, until - performance.now()))).catch(noop);
      }
    }
  }

  /** Forgets the lock (released with the commit, lost, or about to be released by token). */
  #drop(): void {
    this.#lock?.released();
    this.#lock = undefined;
    this.#lane?.lockDropped();
    this.#lane = undefined;
  }

  #hold(result: AcquireResult & { acquired: true }): void {
    if (this.#settled) {
      // The call already ended (aborted, timed out): a grant that arrives now is let go at once.
      void this.#backend.release(this.#keys, this.#token).catch(noop);
      return;
    }
    this.#validUntil = result.validUntil;
    if (!this.#lane) {
      this.#lane = this.#lanes?.laneFor(this.#keys);
      this.#lane?.lockTaken();
    }
    this.#lock = Lock.held({
      backend: this.#backend,
      resources: this.#keys,
      token: this.#token,
      fencingToken: result.fencingToken,
      validUntil: result.validUntil,
      ttlMs: this.#options.ttlMs,
      autoExtend: false, // renewed in begin(), outside the WATCH window
      observer: this.#observer,
    });
  }
}
