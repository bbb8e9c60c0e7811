import { performance } from 'node:perf_hooks';
import type { KeySet } from '../validation/key-set.js';

/** Past this many key sets, entries older than the cool-down are dropped before another is added. */
const PRUNE_AT = 1_000;

/**
 * Remembers which key sets are contended across processes, so that auto mode starts their next
 * transactions in lock mode right away, and lets go once that lock keeps coming free (contention
 * faded). Only escalated key sets are stored: the map stays as small as the set of hot keys.
 *
 * It also remembers which key sets met any contention lately (a conflict, a lock found held), so
 * that auto mode reads the lock keys only where a lock can be expected: an uncontended key set's
 * attempts cost what optimistic ones do.
 */
export class ContentionTracker {
  readonly #calmToRelax: number;
  readonly #coolDownMs: number;
  readonly #hot = new Map<string, { calm: number; lastContended: number }>();
  /** Per key set, when it last met contention (kept for `coolDownMs`). */
  readonly #lately = new Map<string, number>();

  /**
   * @param calmToRelax - lock-mode commits in a row that found the lock free, to go back to optimistic.
   * @param coolDownMs - or this long without contention: a key that was hot once, then rarely
   *   written, does not stay in lock mode for its next few transactions.
   */
  constructor(calmToRelax: number, coolDownMs: number) {
    this.#calmToRelax = calmToRelax;
    this.#coolDownMs = coolDownMs;
  }

  /** Whether transactions on `keys` start in lock mode. */
  isHot(keySet: KeySet): boolean {
    const id = keySet.id;
    const state = this.#hot.get(id);
    if (!state) return false;
    if (performance.now() - state.lastContended <= this.#coolDownMs) return true;
    this.#hot.delete(id);
    return false;
  }

  /** A transaction on `keys` escalated: start the next ones in lock mode. */
  escalated(keySet: KeySet): void {
    const now = performance.now();
    // Key sets that cooled down and were never asked about again are dropped now and then.
    if (this.#hot.size >= PRUNE_AT) {
      for (const [id, state] of this.#hot) if (now - state.lastContended > this.#coolDownMs) this.#hot.delete(id);
    }
    this.#hot.set(keySet.id, { calm: 0, lastContended: now });
  }

  /** A transaction on `keys` met contention: a conflict, or the lock held by another process. */
  contended(keySet: KeySet): void {
    const now = performance.now();
    if (this.#lately.size >= PRUNE_AT && !this.#lately.has(keySet.id)) {
      for (const [id, at] of this.#lately) if (now - at > this.#coolDownMs) this.#lately.delete(id);
      // Contention on this many key sets at once: forgetting some only costs their next attempts a read.
      if (this.#lately.size >= 10 * PRUNE_AT) this.#lately.clear();
    }
    this.#lately.set(keySet.id, now);
  }

  /** Whether `keys` met contention within the cool-down. (Hot keys never ask: they run under the lock.) */
  contendedLately(keySet: KeySet): boolean {
    const at = this.#lately.get(keySet.id);
    return at !== undefined && performance.now() - at <= this.#coolDownMs;
  }

  /**
   * A lock-mode transaction on hot `keys` committed; `waited` says whether it found the lock
   * busy or lost to a writer. Returns true when this de-escalated the keys.
   */
  settled(keySet: KeySet, waited: boolean): boolean {
    const id = keySet.id;
    const state = this.#hot.get(id);
    if (!state) return false;
    if (waited) {
      state.calm = 0;
      state.lastContended = performance.now();
    } else state.calm++;
    if (state.calm < this.#calmToRelax) return false;
    this.#hot.delete(id);
    return true;
  }
}
