import type { LockLostError } from '../errors/lock-errors.js';
import type { AttemptMode, EscalationEvent, HookName, LockWaitOutcome, RetryReason, TransactHooks } from './events.js';
import { type HookErrorHandler, isThenable, reportHookError } from './hook-errors.js';
import type { StatsRecorder } from './stats.js';

/**
 * Where the engine reports what happens: counts it for `stats()` and calls the user's hooks,
 * building each (frozen) event only when its hook is set. Every hook is called guarded: the
 * engine calls these methods in its commit path and in lock timers, and a hook only observes, so
 * nothing a hook throws may reach them.
 * @internal
 */
export class Observer {
  readonly #hooks: TransactHooks;
  readonly #stats: StatsRecorder | undefined;
  readonly #onHookError: HookErrorHandler | undefined;
  /** Hooks already reported as a process warning: a broken hook on a hot path warns once. */
  readonly #warned = new Set<HookName | 'tracer'>();

  constructor(hooks: TransactHooks, stats?: StatsRecorder, onHookError?: HookErrorHandler) {
    this.#hooks = hooks;
    this.#stats = stats;
    this.#onHookError = onHookError;
  }

  attempt(keys: readonly string[], attempt: number, mode: AttemptMode): void {
    this.#stats?.count(keys, 'attempts');
    const hook = this.#hooks.onAttempt;
    if (hook) this.#call('onAttempt', () => hook(Object.freeze({ keys, attempt, mode })));
  }

  conflict(keys: readonly string[], attempt: number, mode: AttemptMode): void {
    this.#stats?.count(keys, 'conflicts');
    const hook = this.#hooks.onConflict;
    if (hook) this.#call('onConflict', () => hook(Object.freeze({ keys, attempt, mode })));
  }

  retry(keys: readonly string[], attempt: number, reason: RetryReason, delayMs: number, error: unknown): void {
    const hook = this.#hooks.onRetry;
    if (hook) this.#call('onRetry', () => hook(Object.freeze({ keys, attempt, reason, delayMs, error })));
  }

  escalate(keys: readonly string[], attempt: number, reason: EscalationEvent['reason']): void {
    this.#stats?.count(keys, 'escalations');
    const hook = this.#hooks.onEscalate;
    if (hook) this.#call('onEscalate', () => hook(Object.freeze({ keys, attempt, reason })));
  }

  deescalate(keys: readonly string[]): void {
    const hook = this.#hooks.onDeescalate;
    if (hook) this.#call('onDeescalate', () => hook(Object.freeze({ keys })));
  }

  commit(keys: readonly string[], attempts: number, mode: AttemptMode, durationMs: number): void {
    this.#stats?.count(keys, 'calls');
    this.#stats?.count(keys, 'commits');
    const hook = this.#hooks.onCommit;
    if (hook) this.#call('onCommit', () => hook(Object.freeze({ keys, attempts, mode, durationMs })));
  }

  failure(keys: readonly string[]): void {
    this.#stats?.count(keys, 'calls');
    this.#stats?.count(keys, 'failures');
  }

  lockWait(keys: readonly string[], waitedMs: number, outcome: LockWaitOutcome): void {
    this.#stats?.count(keys, 'lockWaits');
    if (outcome !== 'acquired') this.#stats?.count(keys, 'lockWaitsGivenUp');
    this.#stats?.count(keys, 'lockWaitMs', waitedMs);
    const hook = this.#hooks.onLockWait;
    if (hook) this.#call('onLockWait', () => hook(Object.freeze({ keys, waitedMs, outcome })));
  }

  lockAcquired(resources: readonly string[], fencingToken: number): void {
    const hook = this.#hooks.onLockAcquired;
    if (hook) this.#call('onLockAcquired', () => hook(Object.freeze({ resources, fencingToken })));
  }

  lockExtended(resources: readonly string[], validityMs: number): void {
    const hook = this.#hooks.onLockExtended;
    if (hook) this.#call('onLockExtended', () => hook(Object.freeze({ resources, validityMs })));
  }

  lockLost(resources: readonly string[], error: LockLostError): void {
    const hook = this.#hooks.onLockLost;
    if (hook) this.#call('onLockLost', () => hook(Object.freeze({ resources, error })));
  }

  /** A span method of the `tracer` option threw: reported like a hook's error, the call goes on. */
  tracerFailed(error: unknown): void {
    this.#report('tracer', error);
  }

  #call(name: HookName, invoke: () => unknown): void {
    try {
      // Typed to return void, but an async hook returns a promise: its rejection is an error too.
      const returned = invoke();
      if (isThenable(returned)) void returned.then(undefined, (err: unknown) => this.#report(name, err));
    } catch (err) {
      this.#report(name, err);
    }
  }

  #report(name: HookName | 'tracer', error: unknown): void {
    if (!this.#onHookError) {
      if (this.#warned.has(name)) return;
      this.#warned.add(name);
    }
    reportHookError(this.#onHookError, name, error);
  }
}

/** An observer that reports to nobody (Redlock, and internal uses). @internal */
export const SILENT = new Observer({});
