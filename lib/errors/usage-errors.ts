import { hasTransactCode, nameError, TransactError } from './base.js';

/** One problem found in user input: where it is and what rule it breaks. */
export interface OptionIssue {
  /** Dotted path of the bad field, e.g. `retry.maxAttempts` or `keys[2]`. */
  readonly path: string;
  /** The rule it breaks, e.g. `must be a positive integer, got 0`. */
  readonly message: string;
}

/**
 * Options, keys or a config file were invalid. Thrown before any command is sent, so nothing was
 * written. The message names every bad field; `issues` lists them for programs.
 *
 * @example
 * ```ts
 * createTransactor(client, { retry: { maxAttempts: 0 } });
 * // InvalidOptionsError: invalid options: retry.maxAttempts: must be a positive integer, got 0
 * ```
 */
export class InvalidOptionsError extends TransactError {
  readonly code = 'ERR_TRANSACT_INVALID_OPTIONS' as const;
  /** Every problem found, in input order. */
  readonly issues: readonly OptionIssue[];
  constructor(issues: readonly OptionIssue[], options?: { cause?: unknown; source?: string }) {
    const where = options?.source ? `invalid options in ${options.source}` : 'invalid options';
    super(`${where}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, options);
    this.issues = Object.freeze([...issues]);
  }
}
nameError(InvalidOptionsError, 'InvalidOptionsError');

/**
 * The API was used in a way that would break the transaction, e.g. calling `t.write.exec()` or
 * `t.read.watch()` inside `fn`: redis-transact owns WATCH, MULTI and EXEC on its connections.
 */
export class TransactUsageError extends TransactError {
  readonly code = 'ERR_TRANSACT_USAGE' as const;
}
nameError(TransactUsageError, 'TransactUsageError');

/** The transactor was closed; it sends no more commands. */
export class TransactorClosedError extends TransactError {
  readonly code = 'ERR_TRANSACT_CLOSED' as const;
  constructor() {
    super('the transactor is closed');
  }
}
nameError(TransactorClosedError, 'TransactorClosedError');

/** True when `err` is a {@link TransactUsageError}, also across duplicate installs. */
export const isTransactUsageError = (err: unknown): err is TransactUsageError => hasTransactCode(err, 'ERR_TRANSACT_USAGE');

/** True when `err` is a {@link TransactorClosedError}, also across duplicate installs. */
export const isTransactorClosedError = (err: unknown): err is TransactorClosedError => hasTransactCode(err, 'ERR_TRANSACT_CLOSED');

/** True when `err` is an {@link InvalidOptionsError}, also across duplicate installs. */
export const isInvalidOptionsError = (err: unknown): err is InvalidOptionsError =>
  hasTransactCode(err, 'ERR_TRANSACT_INVALID_OPTIONS');
