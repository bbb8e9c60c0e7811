/**
 * Which keys this transactor's EXECs wrote lately, so that auto mode can tell a conflict that may
 * be this process's own doing (overlapping key sets run in different lanes) from one with another
 * process. Records nothing until an auto-mode call asks.
 */
export class ConflictLedger {
  /** Per key, the sequence number of the latest EXEC this transactor sent that wrote under it. */
  readonly #execs = new Map<string, number>();
  #sequence = 0;
  /** Set once a call asks for a mark: until then (no auto-mode call yet) EXECs are not recorded. */
  #recording = false;

  /** A mark to compare later EXECs of this transactor against (see {@link ConflictLedger.execSinceOn}). */
  mark(): number {
    this.#recording = true;
    return this.#sequence;
  }

  /** An EXEC guarded by `keys` is on the wire. */
  execSent(keys: readonly string[]): void {
    if (!this.#recording) return;
    // A bounded memory: forgetting only makes a later conflict look like another process's.
    if (this.#execs.size > 100_000) this.#execs.clear();
    const sequence = ++this.#sequence;
    for (const key of keys) this.#execs.set(key, sequence);
  }

  /**
   * Whether another EXEC of this transactor on any of `keys` went out after `mark`: a conflict
   * since then may be this process's own doing.
   */
  execSinceOn(keys: readonly string[], mark: number): boolean {
    return keys.some((key) => (this.#execs.get(key) ?? 0) > mark);
  }
}
