import type { LockLostError } from '../errors/lock-errors.js';
import type { RetryReason } from '../transaction/attempt.js';
import type { AttemptMode, EscalationEvent, TransactHooks } from './events.js';
import type { StatsRecorder } from './stats.js';

/**
 * Where the engine reports what happens: counts it for `stats()` and calls the user's hooks,
 * building each (frozen) event only when its hook is set.
 * @internal
 */
export class Observer {
  readonly #hooks: TransactHooks;
  readonly #stats: StatsRecorder | undefined;

  constructor(hooks: TransactHooks, stats?: StatsRecorder) {
    this.#hooks = hooks;
    this.#stats = stats;
  }

  attempt(keys: readonly string[], attempt: number, mode: AttemptMode): void {
    this.#stats?.count(keys, 'attempts');
    this.#hooks.onAttempt?.(Object.freeze({ keys, attempt, mode }));
  }

  conflict(keys: readonly string[], attempt: number, mode: AttemptMode): void {
    this.#stats?.count(keys, 'conflicts');
    this.#hooks.onConflict?.(Object.freeze({ keys, attempt, mode }));
  }

  retry(keys: readonly string[], attempt: number, reason: RetryReason, delayMs: number, error: unknown): void {
    this.#hooks.onRetry?.(Object.freeze({ keys, attempt, reason, delayMs, error }));
  }

  escalate(keys: readonly string[], attempt: number, reason: EscalationEvent['reason']): void {
    this.#stats?.count(keys, 'escalations');
    this.#hooks.onEscalate?.(Object.freeze({ keys, attempt, reason }));
  }

  deescalate(keys: readonly string[]): void {
    this.#hooks.onDeescalate?.(Object.freeze({ keys }));
  }

  commit(keys: readonly string[], attempts: number, mode: AttemptMode, durationMs: number): void {
    this.#stats?.count(keys, 'calls');
    this.#stats?.count(keys, 'commits');
    this.#hooks.onCommit?.(Object.freeze({ keys, attempts, mode, durationMs }));
  }

  failure(keys: readonly string[]): void {
    this.#stats?.count(keys, 'calls');
    this.#stats?.count(keys, 'failures');
  }

  lockAcquired(resources: readonly string[], fencingToken: number): void {
    this.#hooks.onLockAcquired?.(Object.freeze({ resources, fencingToken }));
  }

  lockExtended(resources: readonly string[], validityMs: number): void {
    this.#hooks.onLockExtended?.(Object.freeze({ resources, validityMs }));
  }

  lockLost(resources: readonly string[], error: LockLostError): void {
    this.#hooks.onLockLost?.(Object.freeze({ resources, error }));
  }
}

/** An observer that reports to nobody (Redlock, and internal uses). @internal */
export const SILENT = new Observer({});
