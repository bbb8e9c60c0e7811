/** Counters of one group of transactions. */
export interface TransactCounters {
  /** `transact` calls that ended (committed or failed). */
  calls: number;
  commits: number;
  /** Calls that ended with an error (including `fn`'s own). */
  failures: number;
  /** Attempts started (`fn` runs). */
  attempts: number;
  /** EXECs aborted because a watched key changed. */
  conflicts: number;
  /** Auto-mode calls switched to lock mode. */
  escalations: number;
  /** Waits for a held lock by transactions under their keys' lock (see `onLockWait`), however they ended. */
  lockWaits: number;
  /** Of those, the ones that ended without the lock (timeout, the call stopped, Redis failed). */
  lockWaitsGivenUp: number;
  /** Time spent in those waits, in milliseconds, summed. */
  lockWaitMs: number;
}

/** A snapshot of a transactor's counters since it was created. */
export interface TransactStats extends TransactCounters {
  /**
   * The same counters by key prefix: a call counts under its first key's prefix, the text before
   * that key's first `:` (a leading hash-tag `{` dropped, and a `}` ends it too): `stock:42` and
   * `{stock:42}:orders` count under `stock`. A key without a `:` counts under `(none)`. Only the
   * first 100 prefixes seen get a group of their own (`(none)` included); calls under any prefix
   * first seen after that count under `(other)`. So `byPrefix` holds at most 101 groups, however
   * many keys there are (ids used as the first segment, `{42}:cart`, fill the 100 quickly), and
   * its groups always add up to the totals.
   */
  readonly byPrefix: Readonly<Record<string, TransactCounters>>;
}

/** The group of keys without a `:`: each such key would otherwise be a group of its own. @internal */
export const NO_PREFIX = '(none)';

/** The group of the prefixes first seen once {@link MAX_PREFIX_GROUPS} have a group. @internal */
export const OTHER_PREFIXES = '(other)';

/**
 * How many prefixes get a group of their own. Prefixes name a few kinds of keys; a program that
 * puts ids first would otherwise grow one group per id, without bound (memory, and a snapshot that
 * copies them all). @internal
 */
export const MAX_PREFIX_GROUPS = 100;

const zero = (): TransactCounters => ({
  calls: 0, commits: 0, failures: 0, attempts: 0, conflicts: 0, escalations: 0, lockWaits: 0, lockWaitsGivenUp: 0, lockWaitMs: 0,
});

/**
 * The prefix a key counts under: its first segment, without hash-tag braces, or
 * {@link NO_PREFIX} when it has no `:`. `stock:42` and `{stock:42}:orders` both count under
 * `stock`; `sess-1` under `(none)`.
 * @internal
 */
export function keyPrefixOf(key: string): string {
  if (!key.includes(':')) return NO_PREFIX;
  const start = key.startsWith('{') ? 1 : 0;
  const end = key.slice(start).search(/[:}]/);
  return end < 0 ? key.slice(start) : key.slice(start, start + end);
}

/** Cheap counters: a few increments per attempt, copied only when a snapshot is asked for. @internal */
export class StatsRecorder {
  readonly #total = zero();
  /** At most {@link MAX_PREFIX_GROUPS} prefixes, then {@link OTHER_PREFIXES}. */
  readonly #byPrefix = new Map<string, TransactCounters>();

  count(keys: readonly string[], field: keyof TransactCounters, amount = 1): void {
    this.#total[field] += amount;
    this.#groupOf(keyPrefixOf(keys[0]!))[field] += amount;
  }

  snapshot(): TransactStats {
    const byPrefix: Record<string, TransactCounters> = {};
    for (const [prefix, counters] of this.#byPrefix) byPrefix[prefix] = Object.freeze({ ...counters });
    return Object.freeze({ ...this.#total, byPrefix: Object.freeze(byPrefix) });
  }

  #groupOf(prefix: string): TransactCounters {
    const known = this.#byPrefix.get(prefix);
    if (known) return known;
    // Once the cap is reached, (other) is the only group still added (the map's 101st entry).
    const name = this.#byPrefix.size < MAX_PREFIX_GROUPS ? prefix : OTHER_PREFIXES;
    let group = this.#byPrefix.get(name);
    if (!group) this.#byPrefix.set(name, (group = zero()));
    return group;
  }
}
