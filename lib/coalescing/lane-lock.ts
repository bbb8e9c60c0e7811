/**
 * The Redis lock a lane holds on its key set for a burst of this process's transactions, and the
 * fence of each attempt that runs under it. Owned by one lane; its seats drive the fence.
 */
import { performance } from 'node:perf_hooks';
import type { DedicatedConnection } from '../connection/connection.js';
import { isPermanentReply } from '../connection/errors.js';
import { LockLostError, LockUnavailableError } from '../errors/lock-errors.js';
import { acquireLock, newLockToken, refusedBy } from '../lock/acquire-lock.js';
import { type AcquireResult, driftMs, RELEASE_WAIT_MS, tryBoundMs, TRY_ONCE_MS } from '../lock/lock-backend.js';
import type { CallLockKeys } from '../lock/lock-keys.js';
import type { ResolvedLockOptions } from '../lock/lock-options.js';
import { releaseWithin } from '../lock/release-within.js';
import { notReplicatedReason, runScriptReplicated } from '../lock/replicated-script.js';
import { runScript, scriptCommand } from '../lock/run-script.js';
import { EXTEND, RELEASE } from '../lock/scripts.js';
import type { SingleNodeBackend } from '../lock/single-node-backend.js';
import type { Cleanup } from '../util/cleanup.js';
import { noop } from '../util/noop.js';
import { raceAbortWithin } from '../util/race-abort.js';
import { STOPPED } from '../util/stopped.js';
import type { LockWaitOutcome } from '../observability/events.js';
import type { Fence, FenceVerdict, TrailerEnd } from './fence.js';

/**
 * How long (ms) a lane keeps its lock for its own next transactions once a waiter from elsewhere
 * (another process or transactor) is seen queued for it: the release rides in the first EXEC after
 * the hold is this old. Across processes each hand-over costs a release, a notification and the
 * waiter's first WATCH and reads, so bursts are worth making long; a waiter waits about this long
 * per process ahead of it, so they must stay short next to the tail a caller accepts. Bounded by
 * time, not by a count: a count is ten times too long with a slow `fn` and too short with a fast one.
 */
export const DEFAULT_BURST_MS = 25;

/** What the lane tells its lock about itself. */
export interface LaneLockHost {
  /** Transactions of this lane waiting for the turn: the lock is handed to the next of them. */
  waiting(): number;
  /** A hold ended; `contended`: its acquisition waited, or a waiter from elsewhere was seen. */
  holdEnded(contended: boolean): void;
  /** An acquisition found the lock held and waited `waitedMs` for it, ending with `outcome`. */
  waited(waitedMs: number, outcome: LockWaitOutcome): void;
  /** How long a hold lasts once a waiter from elsewhere is seen, ms ({@link DEFAULT_BURST_MS}). */
  readonly burstMs: number;
}

/** How a call waits for the lane's lock. */
export interface LockWait {
  readonly options: ResolvedLockOptions;
  /** Gives up the wait (rejecting with `STOPPED`). */
  readonly signal: AbortSignal | undefined;
  /** What is left of the call's deadline (`Infinity` without one): the wait ends there too. */
  readonly remainingMs: number;
  /** The call met contention already: the hold counts as contended. */
  readonly contended: boolean;
}

/** One hold of the lock: taken by one transaction, handed on to the lane's next ones. */
class Hold {
  /** This hold had to wait for the lock, or a waiter from elsewhere was seen during it. */
  contended: boolean;
  /** A waiter from elsewhere was seen queued during this hold. */
  waitedFor = false;
  /** When it was taken (monotonic clock): its burst is timed from here. */
  readonly takenAt = performance.now();
  /** How it ended: released (by an EXEC, or let go), or lost (a probe found it taken, or its lease ran out). */
  ended: 'released' | 'lost' | undefined;
  /** The KEYS of its scripts (renewal, release), once one is needed. */
  scriptKeys: readonly string[] | undefined;

  constructor(
    readonly token: string,
    readonly options: ResolvedLockOptions,
    public validUntil: number,
    contended: boolean,
  ) {
    this.contended = contended;
  }

  /** Whether its lease is still good on the local (monotonic) clock. */
  get valid(): boolean {
    return performance.now() < this.validUntil;
  }
}

/**
 * The lock's state, and its transitions in one place: `free` → (acquire) → `held` → (an EXEC that
 * ends the burst carries the release) → `releasing` → `free` when it ran, back to `held` when it
 * did not; a hold that is lost, runs out or is let go goes to `free` from anywhere, released by
 * token.
 */
type LockState =
  | { readonly kind: 'free' }
  | { readonly kind: 'held'; readonly hold: Hold }
  | { readonly kind: 'releasing'; readonly hold: Hold };

const FREE: LockState = { kind: 'free' };

/**
 * The lock is taken once, by the first transaction of the lane that needs it, and handed with the
 * turn to the next ones (they run one at a time, so `fn` always runs alone and under the lock); the
 * release rides in the EXEC of the last transaction of the burst, or earlier once a waiter from
 * elsewhere is seen and the hold is older than its burst ({@link DEFAULT_BURST_MS}). Every EXEC is fenced: the lock
 * key is watched with the data keys and read right after WATCH, so a commit proves the lock was
 * ours at WATCH time, and WATCH proves it stayed ours until EXEC.
 */
export class LaneLock {
  readonly #backend: SingleNodeBackend;
  readonly #resources: readonly string[];
  readonly #names: CallLockKeys;
  readonly #host: LaneLockHost;
  #state: LockState = FREE;
  /** Releases by token on their way: a call that caused one and then stopped still waits for it. */
  readonly #releasing = new Set<Promise<void>>();

  constructor(backend: SingleNodeBackend, resources: readonly string[], names: CallLockKeys, host: LaneLockHost) {
    this.#backend = backend;
    this.#resources = resources;
    this.#names = names;
    this.#host = host;
  }

  /** Whether a transaction that takes the turn now may run under the lock: held, lease still good. */
  get usable(): boolean {
    return this.#state.kind === 'held' && this.#state.hold.valid;
  }

  /**
   * Takes the lock for the lane: one cheap try, then, if busy, waiting in line (woken by the
   * holder's release, never polling), at most `options.acquireTimeoutMs` and `remainingMs`.
   * Rejects with `STOPPED` when `signal` aborts or `remainingMs` runs out first, with
   * `LockUnavailableError` when `acquireTimeoutMs` does, or with the error of an unreachable
   * server; a token that may hold the lock anyway is let go of first.
   */
  async acquire(wait: LockWait): Promise<void> {
    // A hold whose lease ran out while it sat in the lane: gone, as far as this process can tell.
    if (this.#state.kind !== 'free') await this.#end(this.#state.hold, 'lost');
    const { options, signal } = wait;
    // Not awaited: it goes out on the lock connection ahead of the try, and a script missing from
    // the cache costs a fallback to EVAL, nothing more (a stalled server must not hold us here).
    void this.#backend.loadScripts();
    const startedAt = performance.now();
    const token = newLockToken();
    // The token may hold the lock though the call cannot use it: let go of it by token.
    const letGo = () => releaseWithin(this.#backend, this.#resources, token, RELEASE_WAIT_MS);
    let taken: AcquireResult;
    try {
      // A server that stalls, or a network that drops every byte, answers nothing: the try ends
      // with the call (its signal aborts at its deadline too), or with acquireTimeoutMs.
      const ms = tryBoundMs(options.acquireTimeoutMs, options.acquireTimeoutMs);
      taken = await raceAbortWithin(this.#backend.tryTake(this.#resources, token, options.ttlMs, options.replication), { signal, ms }, NO_ANSWER);
    } catch (err) {
      await letGo(); // the try may have taken it before its reply was lost
      // Taken, but too few replicas acknowledged it (and given back): wait in line, where every
      // try is followed by the replication wait too.
      if (isNotReplicated(err)) taken = { acquired: false, waitHintMs: 0 };
      else if (err !== NO_ANSWER) throw isPermanentReply(err) ? refusedBy(this.#resources, err) : err;
      else if (signal?.aborted) throw STOPPED;
      else throw new LockUnavailableError(this.#resources, 'timeout', `Redis did not answer within ${options.acquireTimeoutMs || TRY_ONCE_MS} ms`);
    }
    let contended = wait.contended;
    let granted: AcquireResult & { acquired: true };
    if (taken.acquired) granted = taken;
    else {
      contended = true;
      try {
        granted = await this.#waitInLine(token, wait, taken); // leaves the line by itself when it gives up
      } catch (err) {
        this.#host.waited(performance.now() - startedAt, waitOutcomeOf(err));
        throw err;
      }
      this.#host.waited(performance.now() - startedAt, signal?.aborted ? 'stopped' : 'acquired');
    }
    if (signal?.aborted) {
      await letGo();
      throw STOPPED;
    }
    if (granted.validUntil <= performance.now()) {
      // Granted, but the grant took longer than the lease (a stalled event loop): never run fn on it.
      await letGo();
      throw new LockUnavailableError(this.#resources, 'timeout', 'the lock was granted with no validity left');
    }
    this.#state = { kind: 'held', hold: new Hold(token, options, granted.validUntil, contended) };
  }

  /** The fence of one attempt under the current hold (the lock must be {@link usable}). */
  fence(): Fence {
    return new HeldLockFence(this, (this.#state as { hold: Hold }).hold, this.#names);
  }

  /** Lets go of the lock, by token (some of its resources may still be ours): the lane went idle, or the hold ran out. */
  letGo(): Cleanup {
    const state = this.#state;
    return state.kind === 'free' ? undefined : this.#end(state.hold, 'released');
  }

  /** @internal The hold is the current one, and its lease is still good. */
  current(hold: Hold): boolean {
    return this.#state.kind !== 'free' && this.#state.hold === hold && hold.valid;
  }

  /** @internal Renews the lease in front of WATCH when half of it is gone. */
  renewIfDue(hold: Hold, connection: DedicatedConnection): void {
    const sentAt = performance.now();
    const { ttlMs, autoExtend } = hold.options;
    if (!autoExtend || hold.validUntil - sentAt >= ttlMs / 2) return;
    const { replication } = hold.options;
    const args = [hold.token, String(ttlMs)];
    // With a replication wait, the renewal counts only once the replicas have it (WAIT right
    // behind it on this connection, ahead of the WATCH); else the lease stays as it was.
    const renewal = replication
      ? runScriptReplicated(connection, EXTEND, this.#scriptKeys(hold), args, replication).then((r) =>
          r.replicatedTo >= replication.replicas ? r.reply : 0,
        )
      : runScript(connection, EXTEND, this.#scriptKeys(hold), args);
    const renewing = renewal.then((renewed) => {
      if (Number(renewed) === 1 && this.current(hold)) hold.validUntil = sentAt + ttlMs - driftMs(ttlMs);
    }, noop);
    connection.mustLand(renewing);
  }

  /** @internal Judges the probe: the lock is still this hold's, and whether anyone else waits for it. */
  async judge(hold: Hold, holders: readonly unknown[], queued: number): Promise<void> {
    if (!holders.every((holder) => textOf(holder) === hold.token)) {
      await this.#end(hold, 'lost');
      throw new LockLostError(this.#resources, 'its lease ran out before the commit; nothing was written');
    }
    if (queued > 0 && !hold.waitedFor) {
      hold.waitedFor = true;
      hold.contended = true;
    }
  }

  /**
   * @internal The release to send in this EXEC when the burst ends here: nobody of this lane waits
   * for the turn, or a waiter from elsewhere was seen and the burst is used.
   */
  releaseIfLast(hold: Hold): readonly string[] | undefined {
    if (this.#state.kind !== 'held' || this.#state.hold !== hold) return undefined;
    const last = this.#host.waiting() === 0 || (hold.waitedFor && this.#burstUsed(hold));
    if (!last) return undefined;
    this.#state = { kind: 'releasing', hold };
    return scriptCommand(RELEASE, this.#scriptKeys(hold), [hold.token, '1', ...this.#names.channels]);
  }

  /**
   * @internal Whether this attempt's probe asks if a waiter from elsewhere is queued: only once
   * the answer can end the burst (it is used), or when this transaction may be the burst's
   * last (the answer says whether the hold was contended). One command less per transaction in
   * the middle of a burst.
   */
  asksForWaiters(hold: Hold): boolean {
    return !hold.waitedFor && (this.#host.waiting() === 0 || this.#burstUsed(hold));
  }

  /** The hold is older than its burst: a waiter from elsewhere, once seen, is served next. */
  #burstUsed(hold: Hold): boolean {
    return performance.now() - hold.takenAt >= this.#host.burstMs;
  }

  /** @internal What became of the EXEC that carried this hold's release. */
  async releaseEnded(hold: Hold, end: TrailerEnd): Promise<void> {
    if (this.#state.kind !== 'releasing' || this.#state.hold !== hold) return;
    if (end === 'not-run') {
      this.#state = { kind: 'held', hold }; // the lock is still the lane's
      return;
    }
    if (end === 'ran') {
      this.#state = FREE;
      hold.ended = 'released';
      this.#host.holdEnded(hold.contended);
      return;
    }
    // The server lost its script cache (restart, SCRIPT FLUSH): load the scripts again.
    if (end === 'failed') void this.#backend.reloadScripts();
    await this.#end(hold, 'released'); // maybe not released: by token
  }

  /** @internal After an aborted EXEC under `hold`: the error that ends the call when the hold was lost. */
  async afterConflict(hold: Hold): Promise<LockLostError | undefined> {
    if (hold.ended === 'released') return undefined; // a sibling's EXEC let it go: the next attempt takes it anew
    if (hold.ended === undefined && hold.valid) return undefined; // a writer that ignores the lock changed a key
    if (hold.ended === undefined) await this.#end(hold, 'lost');
    return new LockLostError(this.#resources, 'its lease ran out before the commit and EXEC was refused; nothing was written');
  }

  /** Releases by token still on their way; resolves once they are done (each bounded). */
  releases(): Cleanup {
    return this.#releasing.size === 0 ? undefined : Promise.all(this.#releasing).then(noop);
  }

  /** Ends `hold` if it is the current one, releasing it by token (bounded); resolves once that is done. */
  #end(hold: Hold, how: 'released' | 'lost'): Cleanup {
    if (this.#state.kind === 'free' || this.#state.hold !== hold) return undefined;
    this.#state = FREE;
    hold.ended = how;
    this.#host.holdEnded(hold.contended);
    const release = releaseWithin(this.#backend, this.#resources, hold.token, RELEASE_WAIT_MS);
    this.#releasing.add(release);
    void release.then(() => this.#releasing.delete(release));
    return release;
  }

  /** The KEYS of `hold`'s scripts: the lane's resource keys, then its token's waiter record. */
  #scriptKeys(hold: Hold): readonly string[] {
    return (hold.scriptKeys ??= [...this.#names.resourceKeys, this.#backend.keyspace.waiterKey(this.#resources, hold.token)]);
  }

  /** Waits in line for the lock, after a first try found it busy (that try counts). */
  async #waitInLine(token: string, wait: LockWait, first: AcquireResult): Promise<AcquireResult & { acquired: true }> {
    const { options, signal, remainingMs } = wait;
    const capped = remainingMs < options.acquireTimeoutMs;
    try {
      // A hand-over is taken as the grant it is: the lane's EXECs are fenced by WATCH on the lock
      // key and the holder read with it, not by a fencing token.
      return await acquireLock(this.#backend, this.#resources, token, {
        ...options,
        acquireTimeoutMs: Math.ceil(Math.min(options.acquireTimeoutMs, Math.max(0, remainingMs))),
        signal,
      }, first, true);
    } catch (err) {
      // The wait was cut short by the call, not by acquireTimeoutMs: the call reports its own stop.
      if (err instanceof LockUnavailableError && (signal?.aborted || (capped && err.reason === 'timeout'))) throw STOPPED;
      throw err;
    }
  }
}

/** A take that too few replicas acknowledged (it was given back). */
function isNotReplicated(err: unknown): boolean {
  return err instanceof LockUnavailableError && err.reason === notReplicatedReason;
}

/** How a wait in line that threw ended, for {@link LaneLockHost.waited}. */
function waitOutcomeOf(err: unknown): LockWaitOutcome {
  if (err === STOPPED) return 'stopped';
  return err instanceof LockUnavailableError && err.reason === 'timeout' ? 'timeout' : 'failed';
}

/** What a request of the acquisition rejects with when the acquisition ended before its answer. */
const NO_ANSWER = new Error('no answer before the acquisition ended');

/** A lock key's holder as read back (a client that maps strings to Buffers hands Buffers back). */
function textOf(holder: unknown): unknown {
  return Buffer.isBuffer(holder) ? holder.toString() : holder;
}

/** An attempt under one hold of the lane's lock. */
class HeldLockFence implements Fence {
  readonly mode = 'lock' as const;
  readonly #lock: LaneLock;
  readonly #hold: Hold;
  readonly #names: CallLockKeys;
  #holders: Promise<unknown> | undefined;
  #queued: Promise<unknown> | undefined;

  constructor(lock: LaneLock, hold: Hold, names: CallLockKeys) {
    this.#lock = lock;
    this.#hold = hold;
    this.#names = names;
  }

  begin(connection: DedicatedConnection): readonly string[] | undefined {
    // Lost (or run out) since this attempt's turn came: fn must not run on it.
    if (!this.#lock.current(this.#hold)) return undefined;
    this.#lock.renewIfDue(this.#hold, connection);
    return this.#names.watchKeys;
  }

  probe(connection: DedicatedConnection): void {
    this.#holders = connection.sendCommand(['MGET', ...this.#names.serverLockKeys]);
    this.#holders.catch(noop);
    if (!this.#lock.asksForWaiters(this.#hold)) return;
    this.#queued = connection.sendCommand(['EXISTS', ...this.#names.serverQueueKeys]);
    this.#queued.catch(noop);
  }

  async check(): Promise<FenceVerdict> {
    const [holders, queued] = await Promise.all([this.#holders, this.#queued ?? 0]);
    await this.#lock.judge(this.#hold, holders as unknown[], Number(queued));
    return 'go';
  }

  trailer(): readonly string[] | undefined {
    return this.#lock.releaseIfLast(this.#hold);
  }

  trailerEnded(end: TrailerEnd): Promise<void> {
    return this.#lock.releaseEnded(this.#hold, end);
  }

  afterConflict(): Promise<LockLostError | undefined> {
    return this.#lock.afterConflict(this.#hold);
  }
}

