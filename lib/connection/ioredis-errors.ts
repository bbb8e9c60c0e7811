/**
 * ioredis's errors, read for the engine ({@link DriverErrors}), and the errors the ioredis driver
 * raises where ioredis reports in other ways: an aborted EXEC (ioredis resolves `null`), failed
 * commands inside an EXEC that ran (ioredis resolves `[err, reply]` pairs), and a MULTI the driver
 * refused to send on a connection that is down. Recognised without loading ioredis.
 */
import type { DriverErrors, FailedCommands } from './driver-errors.js';

/** EXEC returned `null`: a watched key changed. Nothing ran. */
export class IoredisExecAbortedError extends Error {
  override readonly name = 'IoredisExecAbortedError';
  constructor() {
    super('EXEC aborted: a watched key changed');
  }
}

/** EXEC ran and some commands failed at run time: every reply (ioredis `ReplyError`s included) and where the errors are. */
export class IoredisFailedCommandsError extends Error implements FailedCommands {
  override readonly name = 'IoredisFailedCommandsError';
  constructor(
    readonly replies: readonly unknown[],
    readonly errorIndexes: readonly number[],
  ) {
    super(`${errorIndexes.length} of ${replies.length} commands failed in EXEC: ${(replies[errorIndexes[0]!] as Error).message}`);
  }
}

/** The connection was not ready: nothing of the MULTI was written. */
export class IoredisNotSentError extends Error {
  override readonly name = 'IoredisNotSentError';
  constructor() {
    super('the connection is closed: nothing was sent');
  }
}

/**
 * What ioredis rejects a command with when it writes nothing of it: the connection has ended, or
 * it is down and the offline queue is off (the driver's dedicated connections). `'Connection is
 * closed.'` is not one: ioredis also fails commands already written with it when the socket closes.
 */
const NOT_WRITTEN = "Stream isn't writeable and enableOfflineQueue options is false";

/** ioredis's error replies are `redis-errors`'s `ReplyError` (its `name` is the class name). */
function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReplyError';
}

/** ioredis: `ReplyError` for error replies; the driver's own errors above for the rest. */
export const ioredisErrors: DriverErrors = {
  execAborted: (err) => err instanceof IoredisExecAbortedError,
  errorReply: isReplyError,
  failedCommands: (err) => (err instanceof IoredisFailedCommandsError ? err : undefined),
  notSent: (err) => err instanceof IoredisNotSentError || (err instanceof Error && err.message === NOT_WRITTEN),
};
