import { z } from 'zod';
import { durationMs } from './validation/duration.js';
import { lockOptionsSchema, type LockOptions } from './lock/lock-options.js';
import { retryPolicyInputSchema, type RetryPolicyInput } from './retry/retry-policy.js';
import { HOOK_NAMES, type HookErrorEvent, type TransactHooks } from './observability/events.js';
import type { TracerLike } from './observability/tracing.js';

/** Options of {@link createTransactor}. */
export interface TransactorOptions {
  /** The retry policy for every call (a {@link RetryPolicy} from `loadRetryPolicy`, or any part of one). @defaultValue {@link DEFAULT_RETRY_POLICY} */
  retry?: RetryPolicyInput;
  /**
   * Most dedicated connections the transactor opens (each attempt holds one from WATCH to EXEC).
   * More allows more transactions in flight; on one hot key more only means more conflicts.
   * @defaultValue 32
   */
  maxConnections?: number;
  /** Callbacks that observe transactions and locks (attempts, conflicts, retries, escalations, commits, lock events). */
  hooks?: TransactHooks;
  /**
   * Receives what a hook threw (or the rejection of a promise it returned), with the hook's name.
   * The call, lock or timer the hook observed goes on as if the hook had returned. An error this
   * callback throws is swallowed. Without it, each hook error becomes a process warning
   * (`process.emitWarning`) named `RedisTransactHookWarning`, code `ERR_TRANSACT_HOOK`, whose
   * `cause` is the hook's error.
   * @defaultValue a process warning
   * @example
   * ```ts
   * createTransactor(client, { hooks, onHookError: ({ hook, error }) => log.error({ hook, error }, 'hook failed') });
   * ```
   */
  onHookError?: (event: HookErrorEvent) => void;
  /**
   * An OpenTelemetry tracer (`trace.getTracer('redis-transact')` from `@opentelemetry/api`): one
   * span per `transact` call. Without it, tracing costs nothing.
   */
  tracer?: TracerLike;
  /** The default of every call's {@link TransactOptions.mode}. @defaultValue `'auto'` */
  mode?: TransactMode;
  /** Auto mode's tuning. */
  auto?: AutoModeOptions;
  /** Defaults for every lock this transactor takes (`lock`, `withLock`, lock mode). */
  lock?: Pick<LockOptions, 'ttlMs' | 'acquireTimeoutMs'>;
  /** The default of every call's {@link TransactOptions.exactlyOnce}. @defaultValue false */
  exactlyOnce?: boolean;
  /** The default of every call's {@link TransactOptions.markerTtlMs}. @defaultValue 600000 (10 minutes) */
  markerTtlMs?: number;
  /** The default of every call's {@link TransactOptions.replication}. @defaultValue none */
  replication?: ReplicationOptions;
}

/** Auto mode's tuning (see {@link TransactMode}). */
export interface AutoModeOptions {
  /** Conflicts with other processes in one call before it escalates to lock mode (ones this process may have caused do not count). @defaultValue 2 */
  escalateAfter?: number;
  /**
   * Lock holds in a row (a lane's burst each) that neither waited for the lock nor made another
   * process wait, before hot keys go back to optimistic. @defaultValue 8
   */
  relaxAfter?: number;
  /** Or this many milliseconds without contention on them. @defaultValue 1000 */
  coolDownMs?: number;
}

/**
 * How a transaction is protected. `optimistic`: WATCH, retry on conflict. `lock`: `fn` runs only
 * while the call holds the lock on the keys (taken once per burst of same-key transactions of the
 * process, waiting in line when busy), and commits with a fenced EXEC. `auto` (the default):
 * optimistic, lock-aware where another process contends the keys (it gives way to a lock instead
 * of competing), escalating to lock mode after repeated conflicts with other processes, and back
 * once contention fades.
 */
export type TransactMode = 'optimistic' | 'lock' | 'auto';

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
  /** @defaultValue the transactor's `mode`, else `'auto'` */
  mode?: TransactMode;
  /** Lock mode: the lock's lease and wait (the wait also ends with the call's `signal` or deadline). */
  lock?: Omit<LockOptions, 'signal'>;
  /**
   * Settle a lost EXEC reply instead of reporting it: each attempt also watches, and sets inside
   * its MULTI, a commit marker key of its own; when EXEC's reply is lost the call claims the marker
   * on another connection, which tells whether EXEC ran and stops it from running later. The call
   * then resolves (committed, with `repliesLost: true`) or retries (not committed). Only when Redis
   * cannot be reached in time does it reject with `TransactOutcomeUnknownError`, which
   * `tx.settle(error)` settles later. Costs one more watched key and one more queued command per
   * attempt, and one small key per call for `markerTtlMs`. See docs/exactly-once.md.
   * @defaultValue the transactor's `exactlyOnce`, else false
   */
  exactlyOnce?: boolean;
  /**
   * How long a commit marker lives. A lost reply can be settled (by the call, or `tx.settle`) until
   * 90% of it has passed since EXEC was sent: keep it well above the call's deadline. Whole
   * milliseconds, 1 s to 7 days.
   * @defaultValue the transactor's `markerTtlMs`, else 600000 (10 minutes)
   */
  markerTtlMs?: number;
  /**
   * Wait, after the commit, until `replicas` replicas acknowledged it or `timeoutMs` passed (Redis
   * `WAIT`, sent in the same write as EXEC: no extra round trip, the reply comes once replicas
   * caught up). The result's `replicatedTo` says how many did. It narrows, and does not close, the
   * window in which a failover loses an acknowledged commit (replication is asynchronous): see
   * docs/replication.md.
   * @defaultValue the transactor's `replication`, else none
   */
  replication?: ReplicationOptions;
}

/** Options of the replication wait after a commit (`WAIT replicas timeoutMs`). */
export interface ReplicationOptions {
  /** Replicas that must acknowledge the commit, 1 to 100. */
  replicas: number;
  /** The longest wait for them, in whole milliseconds, 1 to 2147483647 (`WAIT` with 0 would never end). */
  timeoutMs: number;
  /**
   * A commit fewer replicas acknowledged in time rejects with `TransactNotReplicatedError` (it
   * committed on the primary, and a failover could lose it) instead of resolving: a resolved call
   * then always had `replicas` replicas.
   * @defaultValue false
   */
  required?: boolean;
}

/** Options of `tx.settle`. */
export interface SettleOptions {
  /** Gives up the settlement (it rejects with `TransactConnectionError`); the outcome stays unknown. */
  signal?: AbortSignal;
}

/** Transactor defaults, documented in {@link TransactorOptions}. */
export const DEFAULT_MAX_CONNECTIONS = 32;

/** Auto mode defaults, documented in {@link AutoModeOptions}. */
export const DEFAULT_AUTO_MODE = Object.freeze({ escalateAfter: 2, relaxAfter: 8, coolDownMs: 1_000 });

const count = z
  .number({ error: 'must be a positive integer' })
  .int({ error: 'must be a positive integer' })
  .min(1, { error: 'must be a positive integer' })
  .max(1_000_000, { error: 'must be at most 1000000' });

/** Whole milliseconds, 1 s to 7 days: long enough to settle, short enough to not pile up keys. */
const markerTtlMs = durationMs({ min: 1_000, rule: 'must be at least 1000 (one second)', max: 604_800_000, maxReason: 'seven days' });
const exactlyOnce = z.boolean({ error: 'must be true or false' });
const mode = z.enum(['optimistic', 'lock', 'auto'], { error: 'must be "optimistic", "lock" or "auto"' });
const replication = z.strictObject(
  {
    replicas: z
      .number({ error: 'must be a whole number from 1 to 100' })
      .int({ error: 'must be a whole number from 1 to 100' })
      .min(1, { error: 'must be a whole number from 1 to 100' })
      .max(100, { error: 'must be a whole number from 1 to 100' }),
    timeoutMs: durationMs({ min: 1, rule: 'must be a whole number of milliseconds, at least 1 (WAIT with 0 never ends)' }),
    required: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: 'must be an object { replicas, timeoutMs }' },
);

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
  hooks: z
    .strictObject(Object.fromEntries(HOOK_NAMES.map((name) => [name, fn.optional()])), { error: 'must be an object of callbacks' })
    .optional(),
  onHookError: fn.optional(),
  tracer: z
    .custom<TracerLike>((v) => typeof (v as TracerLike | null)?.startSpan === 'function', { error: 'must be an OpenTelemetry tracer' })
    .optional(),
  mode: mode.optional(),
  auto: z
    .strictObject({ escalateAfter: count.optional(), relaxAfter: count.optional(), coolDownMs: count.optional() }, { error: 'must be an object' })
    .optional(),
  lock: lockOptionsSchema.pick({ ttlMs: true, acquireTimeoutMs: true }).optional(),
  exactlyOnce: exactlyOnce.optional(),
  markerTtlMs: markerTtlMs.optional(),
  replication: replication.optional(),
}, { error: 'must be an object' });

const abortSignal = z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'must be an AbortSignal' });

/** @internal */
export const settleOptionsSchema = z.strictObject({ signal: abortSignal.optional() }, { error: 'must be an object' });

/** @internal */
export const transactOptionsSchema = z.strictObject({
  retry: retryPolicyInputSchema.optional(),
  signal: abortSignal.optional(),
  idempotent: z.boolean({ error: 'must be true or false' }).optional(),
  mode: mode.optional(),
  lock: lockOptionsSchema.omit({ signal: true }).optional(),
  exactlyOnce: exactlyOnce.optional(),
  markerTtlMs: markerTtlMs.optional(),
  replication: replication.optional(),
}, { error: 'must be an object' });
