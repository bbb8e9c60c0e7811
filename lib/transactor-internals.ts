/**
 * What the `redis-transact/testing` entry needs of a transactor beyond its public API, kept off
 * that API: a transactor's internals are found by the transactor itself, in a registry only this
 * package's modules can read. The main entry never imports the testing kit.
 * @internal
 */
import type { ScriptClient } from './connection/connection.js';
import type { AttemptFaults } from './transaction/attempt-faults.js';
import type { TransactionFn } from './transaction/attempt.js';
import type { TransactResult } from './transaction/run-transaction.js';
import type { TransactOptions } from './transactor-options.js';

/** @internal */
export interface TransactorInternals {
  /** `transact`, with faults injected into the call's attempts. */
  transact<T>(keys: readonly string[], fn: TransactionFn<T>, options: TransactOptions | undefined, faults: AttemptFaults): Promise<TransactResult<T>>;
  /** A shared connection to the server of a key (a script's first key, on a cluster): another client's commands. */
  commands(): Promise<ScriptClient>;
  /** The lock keys of `resources`, as the server names them. */
  serverLockKeys(resources: readonly string[]): readonly string[];
}

const registry = new WeakMap<object, TransactorInternals>();

/** Called once by `createTransactor`. @internal */
export function registerInternals(transactor: object, internals: TransactorInternals): void {
  registry.set(transactor, internals);
}

/** The internals of a transactor made by `createTransactor`, else `undefined`. @internal */
export function internalsOf(transactor: unknown): TransactorInternals | undefined {
  return typeof transactor === 'object' && transactor !== null ? registry.get(transactor) : undefined;
}
