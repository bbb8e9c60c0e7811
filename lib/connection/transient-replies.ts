import { isErrorReply } from './node-redis-errors.js';

/**
 * Error replies that mean the server could not serve the command right now and ran nothing:
 * it is loading its dataset after a restart (LOADING), a script is hogging it (BUSY), or a replica
 * lost its master (MASTERDOWN). Worth another attempt, like a lost connection.
 */
const TRANSIENT = ['LOADING', 'BUSY', 'MASTERDOWN'];

/** Whether `err` is a transient server state (see {@link TRANSIENT}). */
export function isTransientReply(err: unknown): boolean {
  if (!isErrorReply(err)) return false;
  const kind = err.message.split(' ', 1)[0]!;
  return TRANSIENT.includes(kind);
}
