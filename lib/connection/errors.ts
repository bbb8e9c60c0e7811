/**
 * What a client's errors mean to the engine, whichever client raised them: each question is put
 * to every driver's errors module (`node-redis-error-kinds.ts`, `ioredis-errors.ts`), so the rest
 * of the engine asks questions ("did EXEC abort?", "will waiting help?") instead of knowing classes.
 */
import type { DriverErrors, FailedCommands } from './driver-errors.js';
import { ioredisErrors } from './ioredis-errors.js';
import { nodeRedisErrors } from './node-redis-error-kinds.js';

const DRIVERS: readonly DriverErrors[] = [nodeRedisErrors, ioredisErrors];

/** EXEC aborted (node-redis's `WatchError`, ioredis's `null`): a watched key changed, or the client reconnected after WATCH. */
export const isWatchError = (err: unknown): err is Error => DRIVERS.some((d) => d.execAborted(err));
/** EXEC ran and some queued commands failed; the others were applied. */
export const isMultiErrorReply = (err: unknown): err is Error => failedCommandsOf(err) !== undefined;
/** An error reply from Redis (queue-time errors, MOVED, ASK, ...). */
export const isErrorReply = (err: unknown): err is Error => DRIVERS.some((d) => d.errorReply(err));
/** The client was already closed: the command was refused before it was written. */
export const isClientClosedError = (err: unknown): boolean => DRIVERS.some((d) => d.notSent(err));

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
export function failedCommandsOf(err: unknown): FailedCommands | undefined {
  for (const driver of DRIVERS) {
    const failed = driver.failedCommands(err);
    if (failed) return failed;
  }
  return undefined;
}
