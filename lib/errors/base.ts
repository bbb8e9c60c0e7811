/**
 * Every error this library throws extends {@link TransactError} and carries a stable `code`.
 * Match on `code` (or the `isXError` guards), never on messages: messages carry numbers and
 * keys for humans and may be reworded.
 */

const BRAND = Symbol.for('redis-transact.error');

/** The stable codes of every {@link TransactError}. */
export type TransactErrorCode =
  | 'ERR_TRANSACT_CONFLICT'
  | 'ERR_TRANSACT_TIMEOUT'
  | 'ERR_TRANSACT_ABORTED'
  | 'ERR_TRANSACT_INVALID_OPTIONS'
  | 'ERR_TRANSACT_OUTCOME_UNKNOWN'
  | 'ERR_TRANSACT_NOT_REPLICATED'
  | 'ERR_TRANSACT_CONNECTION'
  | 'ERR_TRANSACT_COMMAND'
  | 'ERR_TRANSACT_USAGE'
  | 'ERR_TRANSACT_CLOSED'
  | 'ERR_TRANSACT_CROSS_SLOT'
  | 'ERR_LOCK_UNAVAILABLE'
  | 'ERR_LOCK_LOST';

/**
 * Base class of every error thrown by redis-transact.
 *
 * @example
 * ```ts
 * try { await tx.transact(keys, fn); }
 * catch (err) { if (isTransactError(err)) metrics.count(err.code); throw err; }
 * ```
 */
export abstract class TransactError extends Error {
  /** Stable machine-readable code; see the errors table in the README. */
  abstract readonly code: TransactErrorCode;
}
Object.defineProperty(TransactError.prototype, BRAND, { value: true });

/** Sets `name` on the prototype so stack traces start with the class name. */
export function nameError(ctor: abstract new (...args: any[]) => TransactError, name: string): void {
  Object.defineProperty(ctor.prototype, 'name', { value: name, writable: true, configurable: true });
}

/**
 * True for any error thrown by redis-transact, also when two copies of the library are installed
 * (where `instanceof` fails).
 */
export function isTransactError(err: unknown): err is TransactError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** Narrows `err` to the redis-transact error with the given `code`. */
export function hasTransactCode<E extends TransactError>(err: unknown, code: E['code']): err is E {
  return isTransactError(err) && err.code === code;
}

/** Renders keys for messages without flooding logs when a transaction touches many keys. */
export function describeKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).join(', ');
  return keys.length > 5 ? `[${shown}, … ${keys.length - 5} more]` : `[${shown}]`;
}
