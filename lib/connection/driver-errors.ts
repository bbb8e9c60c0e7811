/**
 * What a client library's errors must answer for the engine: each driver (node-redis, ioredis)
 * implements it in its own errors module, and `errors.ts` asks every driver. The engine never
 * sees an error class.
 */

/** Every reply of an EXEC that ran with failed commands, and where the failures are. */
export interface FailedCommands {
  readonly replies: readonly unknown[];
  readonly errorIndexes: readonly number[];
}

/** One driver's reading of its own errors. */
export interface DriverErrors {
  /** EXEC aborted: a watched key changed (or the connection was replaced after WATCH). Nothing ran. */
  execAborted(err: unknown): boolean;
  /** An error reply from the server (its message starts with the reply's code: `WRONGTYPE`, `MOVED`...). */
  errorReply(err: unknown): err is Error;
  /** EXEC ran and some queued commands failed (the others were applied): what became of each. */
  failedCommands(err: unknown): FailedCommands | undefined;
  /** The command was refused by the client before anything of it was written (the connection was closed). */
  notSent(err: unknown): boolean;
}
