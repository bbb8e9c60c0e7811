import type { HookErrorEvent, HookName } from './events.js';
import { noop } from '../util/noop.js';

/** Where a hook's error goes: the `onHookError` option, if set. @internal */
export type HookErrorHandler = (event: HookErrorEvent) => void;

/** The `name` of the process warning a hook's error becomes when no `onHookError` is set. */
export const HOOK_WARNING_NAME = 'RedisTransactHookWarning';
/** The `code` of that warning. */
export const HOOK_WARNING_CODE = 'ERR_TRANSACT_HOOK';

/**
 * Reports an error a hook threw, without ever throwing itself: this runs inside the engine's
 * commit path and inside lock timers, where a throw would change an outcome or crash the process.
 * To `onHookError` when set (whose own error is swallowed: there is nowhere left to send it),
 * else as a process warning, so a broken hook is seen without taking anything down.
 * @internal
 */
export function reportHookError(handler: HookErrorHandler | undefined, hook: HookName | 'tracer', error: unknown): void {
  try {
    if (handler) {
      const returned: unknown = handler(Object.freeze({ hook, error }));
      if (isThenable(returned)) void returned.then(undefined, noop);
      return;
    }
    const detail = error instanceof Error ? error.message : String(error);
    const warning = Object.assign(new Error(`the ${hook} hook threw (ignored; set onHookError to handle it): ${detail}`, { cause: error }), {
      name: HOOK_WARNING_NAME,
      code: HOOK_WARNING_CODE,
      hook,
    });
    process.emitWarning(warning);
  } catch {
    // Swallowed on purpose: see above.
  }
}

/** Whether a hook returned a promise (an async hook), whose rejection must be handled too. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
