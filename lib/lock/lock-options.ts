import { z } from 'zod';
import { durationMs } from '../validation/duration.js';
import type { LockReplication } from './replicated-script.js';

/** Options of a lock acquisition (`tx.lock`, `tx.withLock`, and `transact` in lock mode). */
export interface LockOptions {
  /**
   * Lease length in whole milliseconds (20 to 2147483647): a holder that crashes keeps the lock at
   * most this long.
   * @defaultValue 10000
   */
  ttlMs?: number;
  /**
   * How long to wait for a busy lock before failing with `LockUnavailableError`, in whole
   * milliseconds (0 to 2147483647); 0 tries once.
   * @defaultValue 10000
   */
  acquireTimeoutMs?: number;
  /**
   * Renew the lease while it is held (at half its length), so long work keeps the lock. If a
   * renewal fails, `lock.signal` aborts before the lease ends. In lock mode (`transact`) the
   * renewal rides with an attempt's WATCH once half the lease is gone, never between WATCH and EXEC
   * (it would abort the EXEC it protects): one attempt's `fn` must finish within `ttlMs`. Default: `true` for
   * `withLock` and lock mode, `false` for `lock` (whose caller controls the lifetime).
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
  /** Replicas that must acknowledge each acquisition and renewal (the transactor's `replication`). */
  readonly replication?: LockReplication | undefined;
}

/** Defaults of {@link LockOptions}. */
export const DEFAULT_LOCK_OPTIONS = Object.freeze({ ttlMs: 10_000, acquireTimeoutMs: 10_000 });

/** Zod schema of a lease length: `ttlMs` options, and `lock.extend`'s argument. @internal */
export const leaseMsSchema = durationMs({
  min: 20,
  rule: 'must be a positive number of milliseconds, at least 20 (a lease must outlast a round trip)',
});

/** Zod schema of a wait that may be 0 (try once). @internal */
export const waitMsSchema = durationMs({ min: 0, rule: 'must be 0 or a positive number of milliseconds' });

/** Zod schema of {@link LockOptions}. @internal */
export const lockOptionsSchema = z.strictObject(
  {
    ttlMs: leaseMsSchema.optional(),
    acquireTimeoutMs: waitMsSchema.optional(),
    autoExtend: z.boolean({ error: 'must be true or false' }).optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  },
  { error: 'must be an object' },
);

/** Lays parsed options over defaults. @internal */
export function resolveLockOptions(
  parsed: z.output<typeof lockOptionsSchema> | undefined,
  base: { ttlMs: number; acquireTimeoutMs: number; replication?: LockReplication | undefined },
  autoExtend: boolean,
): ResolvedLockOptions {
  return {
    ttlMs: parsed?.ttlMs ?? base.ttlMs,
    acquireTimeoutMs: parsed?.acquireTimeoutMs ?? base.acquireTimeoutMs,
    autoExtend: parsed?.autoExtend ?? autoExtend,
    signal: parsed?.signal,
    replication: base.replication,
  };
}
