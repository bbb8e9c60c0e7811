import { InvalidOptionsError } from '../errors/usage-errors.js';
import { describeValue } from './parse-input.js';

/** Checks that `fn` (what `transact` and `withLock` run) is a function, before anything is sent. */
export function validateFn(fn: unknown, path = 'fn'): asserts fn is (...args: never[]) => unknown {
  if (typeof fn !== 'function') {
    throw new InvalidOptionsError([{ path, message: `must be a function, got ${describeValue(fn)}` }]);
  }
}
