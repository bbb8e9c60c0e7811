/**
 * Where a fault injector (the `redis-transact/testing` kit) may act on one call's attempts: at two
 * fixed points of the attempt, with real commands on the call's own server. The engine never sets
 * one by itself; a call without one runs exactly as it would otherwise, with no extra step.
 * @internal
 */
import type { DedicatedConnection, Transaction } from '../connection/connection.js';

/** One attempt after `fn` ran and every WATCH was answered, before the fence's check and EXEC. @internal */
export interface BeforeExecPoint {
  readonly attempt: number;
  /** The call's keys as the server names them (the client's key prefix added). */
  readonly serverKeys: readonly string[];
  /** The lock keys the attempt runs under, as the server names them; empty when it holds no lock. */
  readonly serverLockKeys: readonly string[];
}

/** What may happen to one call's attempts. @internal */
export interface AttemptFaults {
  /** At {@link BeforeExecPoint}; raced against the call's deadline and signal. */
  beforeExec(point: BeforeExecPoint): Promise<void>;
  /** The attempt's MULTI, as the engine will send it: the injector may stand between it and the wire. */
  transaction(attempt: number, transaction: Transaction, connection: DedicatedConnection): Transaction;
}
