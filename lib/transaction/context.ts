/**
 * What `fn` receives on each attempt.
 *
 * @typeParam R - the node-redis client type (`t.read`).
 * @typeParam W - the node-redis MULTI builder type (`t.write`).
 */
export interface TransactionContext<R, W> {
  /**
   * Runs commands on the watched connection, now, and returns their replies. Use it for reads:
   * a write sent here is not part of the transaction (and, on a watched key, aborts it).
   */
  readonly read: R;
  /**
   * The MULTI builder: commands queued here are sent in one MULTI/EXEC after `fn` returns, and
   * only if no watched key changed. Queue nothing and nothing is executed.
   */
  readonly write: W;
  /**
   * Watches more keys, e.g. a record an index points to, found while reading. Goes out with the
   * next read; awaiting it is optional (the engine awaits it before EXEC).
   */
  watch(...keys: string[]): Promise<void>;
  /** This attempt's number, 1-based. */
  readonly attempt: number;
  /** Aborts when the caller's `signal` aborts or the deadline passes; pass it to slow work. */
  readonly signal: AbortSignal;
}
