/**
 * What node-redis's errors mean to the engine. Everything that recognises a node-redis error class
 * lives here, so the rest of the engine asks questions ("did EXEC abort?", "will waiting help?")
 * instead of knowing classes.
 */
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

/**
 * Error replies that mean the server could not serve the command right now and ran nothing:
 * it is loading its dataset after a restart (LOADING), a script is hogging it (BUSY), a replica
 * lost its master (MASTERDOWN), the node is a replica now (READONLY: a failover demoted it, and
 * the primary is elsewhere), or a primary with `min-replicas-to-write` has too few replicas
 * connected (NOREPLICAS: cut off from them, or a failover under way). Worth another attempt, like
 * a lost connection.
 */
const TRANSIENT = ['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'NOREPLICAS'];

/** Whether `err` is a transient server state (see {@link TRANSIENT}). */
export function isTransientReply(err: unknown): boolean {
  if (!isErrorReply(err)) return false;
  return TRANSIENT.includes(err.message.split(' ', 1)[0]!);
}

/**
 * Whether `err` says the connection's node is a replica (READONLY): a connection to a demoted
 * primary, never to be used for a commit again.
 */
export function isReadOnlyReply(err: unknown): boolean {
  return isErrorReply(err) && err.message.startsWith('READONLY');
}

/**
 * Whether `err` is a refusal that waiting will not change (NOPERM, WRONGTYPE, OOM...): an error
 * reply that is not transient. A lost connection or a timeout is not one: it may pass.
 */
export function isPermanentReply(err: unknown): boolean {
  return isErrorReply(err) && !isTransientReply(err);
}

/** For an EXEC that ran with failed commands: every reply (errors included), and where the errors are. */
export function failedCommandsOf(err: unknown): { replies: readonly unknown[]; errorIndexes: readonly number[] } | undefined {
  return isMultiErrorReply(err) ? { replies: err.replies, errorIndexes: err.errorIndexes } : undefined;
}
