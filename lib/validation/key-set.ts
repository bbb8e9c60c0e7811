/**
 * A call's keys as one value, made once when the call is validated and passed down: lanes,
 * contention tracking and nesting checks all name a key set by its {@link KeySet.id}.
 */

/** The validated keys of one call (or lock), with an exact identity and, on a cluster, their slot. */
export class KeySet {
  /** The keys, de-duplicated, in the order given. */
  readonly keys: readonly string[];
  /**
   * Equal for two key sets exactly when they hold the same keys, in any order. Keys may hold any
   * character (Redis keys are binary-safe), so this is an encoding no two different sets share
   * (each key JSON-quoted), never a plain join.
   */
  readonly id: string;
  /** The hash slot every key (with the client's key prefix) maps to, on a cluster; else `undefined`. */
  readonly slot: number | undefined;

  constructor(keys: readonly string[], slot?: number) {
    this.keys = keys;
    this.slot = slot;
    // One key: a quote and the key (cheap, and no JSON array starts with a quote); several: their
    // sorted JSON array (each key quoted and escaped, so no two different sets share it).
    this.id = keys.length === 1 ? `"${keys[0]!}` : JSON.stringify([...keys].sort());
  }
}
