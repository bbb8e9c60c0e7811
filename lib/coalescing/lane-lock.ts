import { performance } from 'node:perf_hooks';
import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { MultiBuilder } from '../connection/node-redis-types.js';
import { LockLostError, LockUnavailableError } from '../errors/lock-errors.js';
import { acquireLock, newLockToken } from '../lock/acquire-lock.js';
import { driftMs, RELEASE_WAIT_MS } from '../lock/lock-backend.js';
import type { ResolvedLockOptions } from '../lock/lock-options.js';
import { releaseWithin } from '../lock/release-within.js';
import { queueScript, runScript } from '../lock/run-script.js';
import { EXTEND, RELEASE } from '../lock/scripts.js';
import type { CallLockKeys, SingleNodeBackend } from '../lock/single-node-backend.js';
import type { Fence, FenceVerdict } from './fence.js';

const noop = () => {};

/**
 * How many times a lane may hand its lock to its next transaction while a waiter from elsewhere
 * (another process or transactor) is queued for it. Once such a waiter is seen and this many
 * hand-overs were made, the release rides in the next EXEC and the waiter is served: two processes
 * on one hot key take turns in bursts of about this many + 1 commits, and a waiter waits at most
 * that many transactions (once it is seen: a transaction whose WATCH went out before the waiter
 * queued cannot see it).
 */
export const LOCAL_HAND_OVERS = 32;

/** How an EXEC that may have carried the lane's release ended. @internal */
export type ExecEnd = 'committed' | 'committed-unreleased' | 'aborted' | 'unknown';

/** What the lane tells its lock about itself. @internal */
export interface LaneLockHost {
  /** Transactions of this lane waiting for the turn: the lock is handed to the next of them. */
  waiting(): number;
  /** A hold ended; `contended`: its acquisition waited, or a waiter from elsewhere was seen. */
  holdEnded(contended: boolean): void;
  /** A release that runs after the call that caused it settled: `close()` waits for it. */
  background(work: Promise<void>): void;
}

/**
 * The Redis lock a lane holds on its key set for a burst of this process's transactions. It is
 * taken once, by the first transaction that needs it, and handed with the turn to the next one
 * (they run one at a time, so `fn` always runs alone and under the lock); the release rides in the
 * EXEC of the last transaction of the burst, or earlier once a waiter from elsewhere has waited
 * through {@link LOCAL_HAND_OVERS} hand-overs. Every EXEC is fenced: the lock key is watched with
 * the data keys and read right after WATCH, so a commit proves the lock was ours at WATCH time,
 * and WATCH proves it stayed ours until EXEC.
 * @internal
 */
export class LaneLock {
  readonly #backend: SingleNodeBackend;
  readonly #resources: readonly string[];
  readonly #names: CallLockKeys;
  readonly #host: LaneLockHost;
  #token: string | undefined;
  #ttlMs = 0;
  #autoExtend = true;
  #validUntil = 0;
  /** A waiter from elsewhere was seen queued during this hold. */
  #waitedFor = false;
  /** Hand-overs to this lane's next transaction during this hold. */
  #handOvers = 0;
  /** This hold had to wait for the lock, or made someone wait. */
  #contended = false;
  /** The EXEC on the wire carries the release. */
  #releasing = false;

  constructor(backend: SingleNodeBackend, resources: readonly string[], host: LaneLockHost) {
    this.#backend = backend;
    this.#resources = resources;
    this.#host = host;
    this.#names = backend.keyspace.forCall(resources);
  }

  /** Whether the lane holds the lock and its lease is still good on the local (monotonic) clock. */
  get held(): boolean {
    if (this.#token === undefined) return false;
    if (performance.now() < this.#validUntil) return true;
    this.#end(true); // ran out while idle in the lane: take a fresh one (its key may hold another's token)
    return false;
  }

  /** The EXEC on the wire carries the release: the next transaction takes the lock anew, after it. */
  get releasing(): boolean {
    return this.#releasing;
  }

  /**
   * Takes the lock for the lane: one cheap try, then, if busy, waiting in line (woken by the
   * holder's release, never polling), at most `options.acquireTimeoutMs` and `remainingMs`.
   * Rejects with `stopped` when `signal` aborts or `remainingMs` runs out first, with
   * `LockUnavailableError` when `acquireTimeoutMs` does, or with the error of an unreachable server.
   */
  async acquire(options: ResolvedLockOptions, signal: AbortSignal | undefined, remainingMs: number, stopped: unknown, contended: boolean): Promise<void> {
    await this.#backend.loadScripts();
    const token = newLockToken();
    // The token may hold the lock though the call cannot use it: let go of it by token.
    const letGo = () => this.#host.background(releaseWithin(this.#backend, this.#resources, token, RELEASE_WAIT_MS));
    let taken;
    try {
      taken = await this.#backend.tryTake(this.#resources, token, options.ttlMs);
    } catch (err) {
      letGo(); // the try may have taken it before its reply was lost
      throw err;
    }
    let granted;
    if (taken.acquired) granted = taken;
    else {
      contended = true;
      const capped = remainingMs < options.acquireTimeoutMs;
      try {
        granted = await acquireLock(this.#backend, this.#resources, token, {
          ...options,
          acquireTimeoutMs: Math.ceil(Math.min(options.acquireTimeoutMs, Math.max(0, remainingMs))),
          signal,
        }, taken); // the busy try counts: subscribe, then queue
      } catch (err) {
        if (err instanceof LockUnavailableError && (signal?.aborted || (capped && err.reason === 'timeout'))) throw stopped;
        throw err;
      }
    }
    if (signal?.aborted) {
      letGo();
      throw stopped;
    }
    if (granted.validUntil <= performance.now()) {
      // Granted, but the grant took longer than the lease (a stalled event loop): never run fn on it.
      letGo();
      throw new LockUnavailableError(this.#resources, 'timeout', 'the lock was granted with no validity left');
    }
    this.#token = token;
    this.#ttlMs = options.ttlMs;
    this.#autoExtend = options.autoExtend;
    this.#validUntil = granted.validUntil;
    this.#waitedFor = false;
    this.#handOvers = 0;
    this.#contended = contended;
    this.#releasing = false;
  }

  /** The fence of one attempt under this hold. */
  fence(): Fence {
    return new HeldLockFence(this);
  }

  /** @internal Renews the lease in front of WATCH when half of it is gone. */
  renewIfDue(connection: DedicatedConnection): void {
    const sentAt = performance.now();
    const token = this.#token;
    if (token === undefined || !this.#autoExtend || this.#validUntil - sentAt >= this.#ttlMs / 2) return;
    const ttlMs = this.#ttlMs;
    const renewing = runScript(connection.client, EXTEND, this.#names.keys, [token, String(ttlMs)]).then((renewed) => {
      if (Number(renewed) === 1 && this.#token === token) this.#validUntil = sentAt + ttlMs - driftMs(ttlMs);
    }, noop);
    connection.mustLand(renewing);
  }

  /** @internal */
  get names(): CallLockKeys {
    return this.#names;
  }

  /** @internal Judges the probe: the lock is still the lane's, and whether anyone else waits for it. */
  judge(holders: readonly unknown[] | undefined, queued: number): void {
    const token = this.#token;
    if (token === undefined || !holders?.every((holder) => holder === token)) {
      this.#end(true); // by token: some of its resources may still be ours
      throw new LockLostError(this.#resources, 'its lease ran out before the commit; nothing was written');
    }
    if (queued > 0 && !this.#waitedFor) {
      this.#waitedFor = true;
      this.#contended = true;
    }
  }

  /**
   * @internal Queues the release in this EXEC when the burst ends here: nobody of this lane waits
   * for the turn, or a waiter from elsewhere has waited through enough hand-overs.
   */
  releaseIfLast(builder: MultiBuilder): number {
    const last = this.#host.waiting() === 0 || (this.#waitedFor && this.#handOvers >= LOCAL_HAND_OVERS);
    if (!last) {
      this.#handOvers++;
      return 0;
    }
    queueScript(builder, RELEASE, this.#names.keys, [this.#token!, '1', ...this.#names.channels]);
    this.#releasing = true;
    return 1;
  }

  /** The attempt's EXEC settled (its release, if it carried one, with it). */
  execEnded(end: ExecEnd): void {
    if (!this.#releasing) return;
    this.#releasing = false;
    if (end === 'committed') this.#end(false, true);
    else if (end !== 'aborted') this.#end(true); // maybe not released (or not run): release by token
    // The server lost its script cache (restart, SCRIPT FLUSH): load the scripts again.
    if (end === 'committed-unreleased') this.#host.background(this.#backend.reloadScripts());
    // aborted: the release did not run; the lock is still the lane's
  }

  /**
   * After a conflict under the lock: whether the lock is still the lane's (then a writer that
   * ignores the lock changed a data key). Renews it; when no verdict can be had, assumes it is (the
   * next attempt's probe proves or disproves it). Throws `LockLostError` when it is not.
   */
  async confirm(): Promise<void> {
    const token = this.#token;
    if (token === undefined) return;
    const validUntil = await this.#backend.extend(this.#resources, token, this.#ttlMs).catch(() => undefined);
    if (validUntil === undefined) return;
    if (validUntil !== null) {
      if (this.#token === token) this.#validUntil = validUntil;
      return;
    }
    if (this.#token === token) this.#end(true); // by token: some of its resources may still be ours
    throw new LockLostError(this.#resources, 'its lease ran out before the commit and EXEC was refused; nothing was written');
  }

  /** The lane went idle holding the lock (the last transaction did not commit): release it now. */
  releaseIdle(): void {
    if (this.#token !== undefined) this.#end(true);
  }

  /** Forgets the hold; `release`: let go of it by token (it may still be ours). */
  #end(release: boolean, released = false): void {
    const token = this.#token;
    if (token === undefined) return;
    this.#token = undefined;
    this.#releasing = false;
    if (release && !released) this.#host.background(releaseWithin(this.#backend, this.#resources, token, RELEASE_WAIT_MS));
    this.#host.holdEnded(this.#contended);
  }
}

/** Reads who holds each lock key, on the attempt's connection (awaited later, by `check`). */
function holdersOf(connection: DedicatedConnection, lockKeys: string[]): Promise<unknown[]> {
  const holders = (connection.client.mGet as (keys: string[]) => Promise<unknown[]>).call(connection.client, lockKeys);
  holders.catch(noop);
  return holders;
}

/** An attempt under the lane's lock. */
class HeldLockFence implements Fence {
  readonly mode = 'lock' as const;
  readonly #lock: LaneLock;
  #holders: Promise<unknown[]> | undefined;
  #queued: Promise<number> | undefined;

  constructor(lock: LaneLock) {
    this.#lock = lock;
  }

  begin(connection: DedicatedConnection): readonly string[] | undefined {
    // Lost since the turn came (a sibling's EXEC found it gone): fn must not run on it.
    if (!this.#lock.held) return undefined;
    this.#lock.renewIfDue(connection);
    return this.#lock.names.lockKeys;
  }

  probe(connection: DedicatedConnection): void {
    const { lockKeys, queueKeys } = this.#lock.names;
    this.#holders = holdersOf(connection, lockKeys);
    this.#queued = (connection.client.exists as (keys: string[]) => Promise<number>).call(connection.client, queueKeys);
    this.#queued.catch(noop);
  }

  async check(): Promise<FenceVerdict> {
    const [holders, queued] = await Promise.all([this.#holders, this.#queued]);
    this.#lock.judge(holders, Number(queued ?? 0));
    return 'go';
  }

  beforeExec(builder: MultiBuilder): number {
    return this.#lock.releaseIfLast(builder);
  }
}

/**
 * Auto mode's optimistic attempt, aware of the lock: the lock keys are watched and read with the
 * first reads (no extra round trip), so an attempt that finds them held by another process gives
 * way instead of competing, and one in flight when the lock is taken aborts on the watched key.
 * @internal
 */
export class LockAwareFence implements Fence {
  readonly mode = 'optimistic' as const;
  readonly #lockKeys: string[];
  #holders: Promise<unknown[]> | undefined;

  constructor(lockKeys: string[]) {
    this.#lockKeys = lockKeys;
  }

  begin(): readonly string[] {
    return this.#lockKeys;
  }

  probe(connection: DedicatedConnection): void {
    this.#holders = holdersOf(connection, this.#lockKeys);
  }

  async check(): Promise<FenceVerdict> {
    const holders = await this.#holders;
    return holders?.some((holder) => holder !== null) ? 'give-way' : 'go';
  }

  beforeExec(): number {
    return 0;
  }
}
