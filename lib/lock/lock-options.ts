import { z } from 'zod';

/** Options of a lock acquisition (`tx.lock`, `tx.withLock`, and `transact` in lock mode). */
export interface LockOptions {
  /**
   * Lease length in milliseconds: a holder that crashes keeps the lock at most this long.
   * @defaultValue 10000
   */
  ttlMs?: number;
  /**
   * How long to wait for a busy lock before failing with `LockUnavailableError`; 0 tries once.
   * @defaultValue 10000
   */
  acquireTimeoutMs?: number;
  /**
   * Renew the lease while it is held (at half its length), so long work keeps the lock. If a
   * renewal fails, `lock.signal` aborts before the lease ends. Default: `true` for `withLock` and
   * lock mode, `false` for `lock` (whose caller controls the lifetime).
   */
  autoExtend?: boolean;
  /** Aborts the wait for the lock (the lock is not taken). */
  signal?: AbortSignal;
}

/** Lock options with defaults applied. @internal */
export interface ResolvedLockOptions {
  readonly ttlMs: number;
  readonly acquireTimeoutMs: number;
  readonly autoExtend: boolean;
  readonly signal: AbortSignal | undefined;
}

/** Defaults of {@link LockOptions}. */
export const DEFAULT_LOCK_OPTIONS = Object.freeze({ ttlMs: 10_000, acquireTimeoutMs: 10_000 });

const ttlMs = z
  .number({ error: 'must be a positive number of milliseconds' })
  .int({ error: 'must be a whole number of milliseconds' })
  .min(20, { error: 'must be a positive number of milliseconds, at least 20 (a lease must outlast a round trip)' })
  .max(2_147_483_647, { error: 'must be at most 2147483647' });

/** Zod schema of {@link LockOptions}. @internal */
export const lockOptionsSchema = z.strictObject(
  {
    ttlMs: ttlMs.optional(),
    acquireTimeoutMs: z
      .number({ error: 'must be 0 or a positive number of milliseconds' })
      .int({ error: 'must be 0 or a positive whole number of milliseconds' })
      .min(0, { error: 'must be 0 or a positive number of milliseconds' })
      .max(2_147_483_647, { error: 'must be at most 2147483647' })
      .optional(),
    autoExtend: z.boolean({ error: 'must be true or false' }).optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  },
  { error: 'must be an object' },
);

/** Lays parsed options over defaults. @internal */
export function resolveLockOptions(
  parsed: z.output<typeof lockOptionsSchema> | undefined,
  base: { ttlMs: number; acquireTimeoutMs: number },
  autoExtend: boolean,
): ResolvedLockOptions {
  return {
    ttlMs: parsed?.ttlMs ?? base.ttlMs,
    acquireTimeoutMs: parsed?.acquireTimeoutMs ?? base.acquireTimeoutMs,
    autoExtend: parsed?.autoExtend ?? autoExtend,
    signal: parsed?.signal,
  };
}
