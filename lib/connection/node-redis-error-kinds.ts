/**
 * node-redis's error classes, read for the engine ({@link DriverErrors}). Everything that
 * recognises a node-redis error class lives here; `errors.ts` asks it with the other drivers.
 * node-redis is never imported: it is an optional peer dependency, and the library must load
 * without it (only its types are named, and those are erased).
 */
import type { MultiErrorReply } from 'redis';
import type { DriverErrors } from './driver-errors.js';

/**
 * Whether `err` is an instance of a class named `className`, or of a subclass of it (node-redis's
 * `SimpleError` is an `ErrorReply`), matched by the constructor names along its prototype chain.
 * By name, not `instanceof`: that would need node-redis's classes at load time, and it fails for a
 * second copy of `@redis/client` anyway. (node-redis's errors do not set `name`.)
 */
function isA(err: unknown, className: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  for (let proto: unknown = err; proto; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === className) return true;
  }
  return false;
}

/** node-redis: `WatchError` for an aborted EXEC, `MultiErrorReply` for failed commands in one that ran. */
export const nodeRedisErrors: DriverErrors = {
  execAborted: (err) => isA(err, 'WatchError'),
  errorReply: (err): err is Error => isA(err, 'ErrorReply'),
  failedCommands: (err) => {
    if (!isA(err, 'MultiErrorReply')) return undefined;
    const { replies, errorIndexes } = err as MultiErrorReply;
    return { replies, errorIndexes };
  },
  notSent: (err) => isA(err, 'ClientClosedError'),
};
