/**
 * What `fn` may not do with `t.read` and `t.write`, whichever client serves them: the refusals
 * both drivers' connections install, and the commands no MULTI of theirs may carry.
 */
import { TransactUsageError } from '../errors/usage-errors.js';

/**
 * Commands that must not run inside a transaction's MULTI however they were queued (a raw
 * command on `t.write`): they would end it early or move it, and the connection, to another
 * database or protocol.
 */
export const REFUSED_IN_MULTI: ReadonlySet<string> = new Set(['SELECT', 'SWAPDB', 'MULTI', 'EXEC', 'DISCARD', 'RESET', 'QUIT', 'HELLO', 'WATCH', 'UNWATCH']);

/** The error for a queued command {@link REFUSED_IN_MULTI} lists (nothing is sent). */
export function refusedInMulti(command: string): TransactUsageError {
  return new TransactUsageError(
    `${command.toUpperCase()} cannot be queued on t.write: it would end the transaction early or move it ` +
      'to another database; nothing was sent',
  );
}

/** Takes the place of a sealed builder's queueing: a write queued after its attempt ended. */
export function refuseLateWrite(): never {
  throw new TransactUsageError(
    't.write was used after its attempt ended (a write queued from a timer or a promise fn did not await): ' +
      'it would never be sent. Queue every write before fn returns',
  );
}

/** A method that throws `TransactUsageError`: `what` is how `fn` called it (`t.read.watch()`). */
export function refuse(what: string): () => never {
  return () => {
    throw new TransactUsageError(
      `${what} is not available inside a transaction: redis-transact owns WATCH, MULTI, EXEC and the connection; ` +
        'read with t.read, queue writes on t.write, and watch more keys with t.watch()',
    );
  };
}
