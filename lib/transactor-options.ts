import { z } from 'zod';
import { lockOptionsSchema, type LockOptions } from './lock/lock-options.js';
import { retryPolicyInputSchema, type RetryPolicyInput } from './retry/retry-policy.js';
import type { TransactHooks } from './transaction/run-transaction.js';

/** Options of {@link createTransactor}. */
export interface TransactorOptions {
  /** The retry policy for every call (a {@link RetryPolicy} from `loadRetryPolicy`, or any part of one). @defaultValue {@link DEFAULT_RETRY_POLICY} */
  retry?: RetryPolicyInput;
  /**
   * Most dedicated connections the transactor opens (each attempt holds one from WATCH to EXEC).
   * More allows more transactions in flight; on one hot key more only means more conflicts.
   * @defaultValue 16
   */
  maxConnections?: number;
  /** Callbacks that observe the retry loop. */
  hooks?: TransactHooks;
  /** Defaults for every lock this transactor takes (`lock`, `withLock`, lock mode). */
  lock?: Pick<LockOptions, 'ttlMs' | 'acquireTimeoutMs'>;
}

/**
 * How a transaction is protected. `optimistic`: WATCH, retry on conflict. `lock`: take a lock on
 * the keys first (waiting in line when busy), then commit with a fenced EXEC.
 */
export type TransactMode = 'optimistic' | 'lock';

/** Options of one `transact` call; they override the transactor's. */
export interface TransactOptions {
  /** Fields that override the transactor's retry policy for this call. */
  retry?: RetryPolicyInput;
  /** Aborts the call: no further attempt starts, a pending sleep or wait ends, `fn` sees `t.signal` abort. */
  signal?: AbortSignal;
  /**
   * The transaction may safely run twice (e.g. it checks an order id before writing). Then an
   * EXEC whose reply was lost is retried instead of failing with `TransactOutcomeUnknownError`.
   * @defaultValue false
   */
  idempotent?: boolean;
  /** @defaultValue `'optimistic'` */
  mode?: TransactMode;
  /** Lock mode: the lock's lease and wait (the wait also ends with the call's `signal` or deadline). */
  lock?: Omit<LockOptions, 'signal'>;
}

/** Transactor defaults, documented in {@link TransactorOptions}. */
export const DEFAULT_MAX_CONNECTIONS = 16;

const fn = z.custom<(...args: any[]) => unknown>((v) => typeof v === 'function', { error: 'must be a function' });

/** @internal */
export const transactorOptionsSchema = z.strictObject({
  retry: retryPolicyInputSchema.optional(),
  maxConnections: z
    .number({ error: 'must be a positive integer' })
    .int({ error: 'must be a positive integer' })
    .min(1, { error: 'must be a positive integer' })
    .max(10_000, { error: 'must be at most 10000' })
    .optional(),
  hooks: z.strictObject({ onRetry: fn.optional() }, { error: 'must be an object of callbacks' }).optional(),
  lock: lockOptionsSchema.pick({ ttlMs: true, acquireTimeoutMs: true }).optional(),
}, { error: 'must be an object' });

/** @internal */
export const transactOptionsSchema = z.strictObject({
  retry: retryPolicyInputSchema.optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  idempotent: z.boolean({ error: 'must be true or false' }).optional(),
  mode: z.enum(['optimistic', 'lock'], { error: 'must be "optimistic" or "lock"' }).optional(),
  lock: lockOptionsSchema.omit({ signal: true }).optional(),
}, { error: 'must be an object' });
