import type { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { MultiBuilder } from '../connection/node-redis-types.js';
import { LockGuard } from '../lock/lock-guard.js';
import type { ResolvedLockOptions } from '../lock/lock-options.js';
import type { SingleNodeBackend } from '../lock/single-node-backend.js';
import type { AttemptMode } from '../observability/events.js';
import type { Observer } from '../observability/observer.js';
import type { CallScope } from '../transaction/call-scope.js';
import type { CommitGuard } from '../transaction/commit-guard.js';
import type { ContentionTracker } from './contention-tracker.js';
import type { Lanes } from '../coalescing/lanes.js';

const noop = () => {};

/**
 * Auto mode for one call. It starts optimistic but lock-aware: the lock keys are watched and read
 * in the same write as WATCH and the first reads (no extra round trip), so an attempt that finds
 * the keys held by an escalated transaction waits in line behind it instead of competing (and
 * one that was in flight when the lock was taken aborts on the watched lock key). After
 * `escalateAfter` conflicts, on finding the keys locked, or when the keys were recently hot, the
 * call escalates to lock mode. A hot key set goes back to optimistic once its lock keeps coming
 * free, or after a quiet `coolDownMs`.
 */
export class AutoGuard implements CommitGuard {
  readonly #backend: SingleNodeBackend;
  readonly #keys: readonly string[];
  readonly #lockOptions: ResolvedLockOptions;
  readonly #tracker: ContentionTracker;
  readonly #observer: Observer;
  readonly #escalateAfter: number;
  readonly #lanes: Lanes;
  readonly #lockKeys: string[];
  #lock: LockGuard | undefined;
  #probe: Promise<unknown[]> | undefined;
  #conflicts = 0;
  #attempt = 0;

  constructor(init: {
    backend: SingleNodeBackend;
    keys: readonly string[];
    lockOptions: ResolvedLockOptions;
    tracker: ContentionTracker;
    observer: Observer;
    escalateAfter: number;
    lanes: Lanes;
  }) {
    this.#lanes = init.lanes;
    this.#lockKeys = init.backend.keyspace.unprefixedLockKeys(init.keys);
    this.#backend = init.backend;
    this.#keys = init.keys;
    this.#lockOptions = init.lockOptions;
    this.#tracker = init.tracker;
    this.#observer = init.observer;
    this.#escalateAfter = init.escalateAfter;
  }

  get mode(): AttemptMode {
    return this.#lock ? 'lock' : 'optimistic';
  }

  async prepare(): Promise<void> {
    if (this.#tracker.isHot(this.#keys)) this.#escalate('hot-keys');
    await this.#backend.loadScripts();
  }

  begin(connection: DedicatedConnection): readonly string[] {
    this.#attempt++;
    if (this.#lock) return this.#lock.begin(connection);
    return this.#lockKeys;
  }

  probe(connection: DedicatedConnection): void {
    if (this.#lock) return this.#lock.probe(connection);
    const mGet = connection.client.mGet as (keys: string[]) => Promise<unknown[]>;
    this.#probe = mGet.call(connection.client, this.#lockKeys);
    this.#probe.catch(noop);
  }

  async check(): Promise<'go' | 'wait' | 'recheck'> {
    if (this.#lock) return this.#lock.check();
    const holders = await this.#probe;
    if (!holders?.some((holder) => holder !== null)) return 'go';
    // An escalated transaction holds these keys: wait in line behind it (in lock mode).
    this.#escalate('lock-held');
    return 'wait';
  }

  beforeExec(builder: MultiBuilder): number {
    return this.#lock ? this.#lock.beforeExec(builder) : 0;
  }

  sentOn(connection: DedicatedConnection, reply: Promise<unknown>): void {
    this.#lock?.sentOn(connection, reply);
  }

  async afterAbort(): Promise<void> {
    if (this.#lock) return this.#lock.afterAbort();
    if (++this.#conflicts >= this.#escalateAfter) this.#escalate('conflicts');
  }

  afterUnknown(): void {
    this.#lock?.afterUnknown();
  }

  committed(): void {
    if (!this.#lock) return;
    this.#lock.committed();
    // Contention it met on the way (conflicts before escalating, a busy lock) keeps the keys hot.
    const waited = this.#lock.waited || this.#conflicts > 0;
    if (this.#tracker.settled(this.#keys, waited)) this.#observer.deescalate(this.#keys);
  }

  waitForTurn(scope: CallScope, attempt: number): Promise<void> {
    return this.#lock!.waitForTurn(scope, attempt);
  }

  async dispose(): Promise<void> {
    await this.#lock?.dispose();
  }

  #escalate(reason: 'conflicts' | 'lock-held' | 'hot-keys'): void {
    this.#lock = new LockGuard(this.#backend, this.#keys, this.#lockOptions, this.#observer, this.#lanes);
    if (reason !== 'hot-keys') this.#tracker.escalated(this.#keys);
    this.#observer.escalate(this.#keys, this.#attempt, reason);
  }
}
