/** What one EXEC put on the wire, filled in by a driver's transaction as its answer comes. */
import type { ExecFlight } from './connection.js';

/** See {@link ExecFlight}. */
export class Flight implements ExecFlight {
  reply!: Promise<unknown[]>;
  trailerReplies: readonly unknown[] | undefined;
  after: Promise<unknown> | undefined;
  constructor(
    readonly wrote: boolean,
    readonly marked: boolean,
  ) {}
}
