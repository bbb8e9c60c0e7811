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
}

/** A snapshot of a transactor's counters since it was created. */
export interface TransactStats extends TransactCounters {
  /** The same counters by key prefix: a call counts under its first key's prefix. */
  readonly byPrefix: Readonly<Record<string, TransactCounters>>;
}

const zero = (): TransactCounters => ({ calls: 0, commits: 0, failures: 0, attempts: 0, conflicts: 0, escalations: 0 });

/**
 * The prefix a key counts under: its first segment, without hash-tag braces. `stock:42` and
 * `{stock:42}:orders` both count under `stock`.
 * @internal
 */
export function keyPrefixOf(key: string): string {
  const start = key.startsWith('{') ? 1 : 0;
  const end = key.slice(start).search(/[:}]/);
  return end < 0 ? key.slice(start) : key.slice(start, start + end);
}

/** Cheap counters: a few increments per attempt, copied only when a snapshot is asked for. @internal */
export class StatsRecorder {
  readonly #total = zero();
  readonly #byPrefix = new Map<string, TransactCounters>();

  count(keys: readonly string[], field: keyof TransactCounters): void {
    this.#total[field]++;
    const prefix = keyPrefixOf(keys[0]!);
    let group = this.#byPrefix.get(prefix);
    if (!group) this.#byPrefix.set(prefix, (group = zero()));
    group[field]++;
  }

  snapshot(): TransactStats {
    const byPrefix: Record<string, TransactCounters> = {};
    for (const [prefix, counters] of this.#byPrefix) byPrefix[prefix] = Object.freeze({ ...counters });
    return Object.freeze({ ...this.#total, byPrefix: Object.freeze(byPrefix) });
  }
}
