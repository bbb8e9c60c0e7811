/**
 * node-redis's error classes, read for the engine ({@link DriverErrors}). Everything that
 * recognises a node-redis error class lives here; `errors.ts` asks it with the other drivers.
 */
import { ClientClosedError, ErrorReply, MultiErrorReply, WatchError } from 'redis';
import type { DriverErrors } from './driver-errors.js';

/**
 * node-redis's error classes do not set `name`, and a second copy of `@redis/client` makes
 * `instanceof` fail: match by class, then by constructor names along the prototype chain.
 */
function isA(err: unknown, ctor: abstract new (...args: any[]) => Error): boolean {
  if (err instanceof ctor) return true;
  for (let proto: unknown = err; proto; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === ctor.name) return true;
  }
  return false;
}

/** node-redis: `WatchError` for an aborted EXEC, `MultiErrorReply` for failed commands in one that ran. */
export const nodeRedisErrors: DriverErrors = {
  execAborted: (err) => isA(err, WatchError),
  errorReply: (err): err is Error => isA(err, ErrorReply),
  failedCommands: (err) => {
    if (!isA(err, MultiErrorReply)) return undefined;
    const { replies, errorIndexes } = err as MultiErrorReply;
    return { replies, errorIndexes };
  },
  notSent: (err) => isA(err, ClientClosedError),
};
