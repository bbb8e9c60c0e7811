import { ClientClosedError, ErrorReply, MultiErrorReply, WatchError } from 'redis';

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

/** EXEC returned null: a watched key changed (or the client reconnected after WATCH). */
export const isWatchError = (err: unknown): err is Error => isA(err, WatchError);
/** EXEC ran and some queued commands failed; the others were applied. */
export const isMultiErrorReply = (err: unknown): err is MultiErrorReply => isA(err, MultiErrorReply);
/** An error reply from Redis (queue-time errors, MOVED, ASK, ...). */
export const isErrorReply = (err: unknown): err is Error => isA(err, ErrorReply);
/** The client was already closed: the command was refused before it was queued. */
export const isClientClosedError = (err: unknown): boolean => isA(err, ClientClosedError);
