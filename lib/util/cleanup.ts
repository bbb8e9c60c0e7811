import { noop } from './noop.js';

/**
 * What is left to wait for before a call may settle (a lock released by token, say); `undefined`
 * when nothing is: the common path of every attempt then costs no promise at all (each one costs
 * the process's promise hooks, which `fn`'s AsyncLocalStorage context turns on).
 */
export type Cleanup = Promise<void> | undefined;

/** Both of two cleanups, as one. */
export function bothCleanups(a: Cleanup, b: Cleanup): Cleanup {
  return a && b ? Promise.all([a, b]).then(noop) : (a ?? b);
}
