import type { CallLocking } from '../coalescing/call-locking.js';
import type { ResolvedLockOptions } from '../lock/lock-options.js';
import type { EscalationEvent } from '../observability/events.js';
import type { Observer } from '../observability/observer.js';
import type { KeySet } from '../validation/key-set.js';
import type { ContentionTracker } from './contention-tracker.js';

/**
 * Auto mode for one call. Its attempts run optimistic, and aware of the lock where a holder can be
 * expected (see {@link AutoLocking.expectsLock}): the lane then watches and reads the lock keys
 * with the first reads (no extra round trip), so an attempt that finds the keys locked by another
 * process gives way and runs again under the lock instead of competing.
 * The call escalates to lock mode after `escalateAfter` conflicts with other processes (which also
 * marks the keys hot; a conflict that this process's own overlapping transactions may have caused
 * does not count),
 * on finding the keys locked, or when the tracker says the keys are hot; the lane then takes the
 * lock for its burst. The tracker
 * lets the keys go back to optimistic once the lane's holds keep coming uncontended.
 *
 * Only a switch is an escalation (`onEscalate`, `stats().escalations`): a call that met conflicts
 * or a held lock itself. A call that starts under the lock because its keys are hot, or joins a
 * hold its lane already has, was never optimistic: counting it would make every call of a hot key
 * an "escalation" and the counter would say nothing.
 */
export class AutoLocking implements CallLocking {
  readonly aware = true;
  readonly attributesConflicts = true;
  readonly options: ResolvedLockOptions;
  readonly #keySet: KeySet;
  readonly #tracker: ContentionTracker;
  readonly #observer: Observer;
  readonly #escalateAfter: number;
  /** Conflicts of this call with other processes (after the first, its attempts read the lock keys). */
  #conflicts = 0;
  /** Why it runs under the lock: a switch of its own, or its keys were hot when it started. */
  #escalated: EscalationEvent['reason'] | 'hot-keys' | undefined;

  constructor(init: {
    keySet: KeySet;
    options: ResolvedLockOptions;
    tracker: ContentionTracker;
    observer: Observer;
    escalateAfter: number;
  }) {
    this.#keySet = init.keySet;
    this.options = init.options;
    this.#tracker = init.tracker;
    this.#observer = init.observer;
    this.#escalateAfter = init.escalateAfter;
  }

  wantsLock(): boolean {
    return this.#escalated !== undefined || this.#startsHot();
  }

  get contended(): boolean {
    return this.#escalated === 'conflicts' || this.#escalated === 'lock-held';
  }

  /**
   * Whether an attempt without the lock watches and reads the lock keys to give way to a holder.
   * Only where a holder can be expected: this call conflicted with another process already, its
   * keys met such contention (or a holder) within the cool-down, or its lane is busy (other calls
   * of this process queue on the same keys: a hot key). Elsewhere the attempt is a plain optimistic
   * one and costs what one does: on keys no other process contends, a lock-awareness read per
   * attempt would buy nothing.
   *
   * What that gives up: an attempt of a process that met no contention on the keys lately may
   * commit while another process holds their lock. The holder's fenced EXEC then aborts and it
   * retries under its lock (nothing is lost); a process that keeps writing the keys meets the
   * contention soon (its own attempt aborts when the holder commits) and gives way from then on.
   */
  expectsLock(laneBusy: boolean): boolean {
    return this.#conflicts > 0 || laneBusy || this.#tracker.contendedLately(this.#keySet);
  }

  gaveWay(attempt: number): void {
    this.#tracker.contended(this.#keySet);
    this.#escalate('lock-held', attempt);
  }

  conflicted(attempt: number, local: boolean): void {
    // A lock answers contention between processes. Within one process, overlapping key sets that
    // conflict do better retrying optimistically (two round trips) than locking (three, plus waits),
    // and no lock of another process is to be expected from such a conflict.
    if (local) return;
    this.#tracker.contended(this.#keySet);
    if (++this.#conflicts >= this.#escalateAfter) this.#escalate('conflicts', attempt);
  }

  /** The tracker says the keys are hot: this call stays under the lock from now on. */
  #startsHot(): boolean {
    if (!this.#tracker.isHot(this.#keySet)) return false;
    this.#escalated = 'hot-keys';
    return true;
  }

  #escalate(reason: 'conflicts' | 'lock-held', attempt: number): void {
    if (this.#escalated) return;
    this.#escalated = reason;
    // Only this call's own conflicts mark the keys hot. A lock found held says another key set
    // (overlapping this one) is hot: marking this one too would spread lock mode over every key
    // set that shares a key with a hot one (many small key sets, as in transfers between accounts).
    if (reason === 'conflicts') this.#tracker.escalated(this.#keySet);
    this.#observer.escalate(this.#keySet.keys, attempt, reason);
  }
}
