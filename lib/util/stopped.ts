/**
 * What every abortable wait of the engine rejects with when the call behind it was stopped (its
 * signal aborted or its deadline passed): a turn, a lock, a connection, a race with `fn` or EXEC.
 * One value, never seen by users: the attempt turns it into the call's stop error, which alone
 * knows whether the caller aborted or the deadline passed.
 */
export const STOPPED: Error = Object.freeze(new Error('the call was stopped (redis-transact internal)'));
